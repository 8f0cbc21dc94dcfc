/* TSIG signing and verification (RFC 8945); see tsig.h. */
#include <stdlib.h>
#include <string.h>

#include <ldns/ldns.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "tsig.h"

#define WIRE_NAME_MAX	255
#define DNS_HEADER	12
#define CLASS_ANY	255
#define TSIG_VARS_MAX	(2 * WIRE_NAME_MAX + 32)

struct alg {
	const char *name;		/* canonical, as on the wire without the root dot */
	const EVP_MD *(*md)(void);
};

static const struct alg algs[] = {
	{ "hmac-md5.sig-alg.reg.int", EVP_md5 },
	{ "hmac-sha1", EVP_sha1 },
	{ "hmac-sha224", EVP_sha224 },
	{ "hmac-sha256", EVP_sha256 },
	{ "hmac-sha384", EVP_sha384 },
	{ "hmac-sha512", EVP_sha512 },
};

/* Canonical wire form of a text name (lower case, uncompressed).  Length or 0. */
static size_t
name_to_wire(const char *name, uint8_t *out, size_t max)
{
	size_t o = 0, len;
	const char *p = name, *dot;

	while (*p != '\0' && strcmp(p, ".") != 0) {
		dot = strchr(p, '.');
		len = dot ? (size_t)(dot - p) : strlen(p);
		if (len == 0 || len > LABEL_MAX_LEN || o + len + 2 > max)
			return 0;
		out[o++] = (uint8_t)len;
		for (size_t i = 0; i < len; i++) {
			char c = p[i];

			out[o++] = (uint8_t)((c >= 'A' && c <= 'Z') ? c - 'A' + 'a' : c);
		}
		p += len;
		if (*p == '.')
			p++;
	}
	out[o++] = 0;
	return o;
}

int
tsig_key_init(struct tsig_key *k, const char *name, const char *alg, const char *secret_b64,
    const char **why)
{
	char canon[NAME_BUF], a[64];
	ldns_rdf *rd = NULL;
	size_t i, n;

	memset(k, 0, sizeof(*k));
	if (name == NULL || name_check(name, 0, canon, why) == -1) {
		if (name == NULL)
			*why = "no key name";
		return -1;
	}
	memcpy(k->name, canon, sizeof(k->name));
	n = alg ? strlen(alg) : 0;
	if (n == 0 || n >= sizeof(a)) {
		*why = "unknown TSIG algorithm (hmac-md5, hmac-sha1, hmac-sha224, hmac-sha256, "
		    "hmac-sha384, hmac-sha512)";
		return -1;
	}
	for (i = 0; i < n; i++)
		a[i] = (char)((alg[i] >= 'A' && alg[i] <= 'Z') ? alg[i] - 'A' + 'a' : alg[i]);
	a[n] = '\0';
	if (n > 1 && a[n - 1] == '.')
		a[n - 1] = '\0';
	if (strcmp(a, "hmac-md5") == 0)
		memcpy(a, algs[0].name, strlen(algs[0].name) + 1);
	for (i = 0; i < sizeof(algs) / sizeof(algs[0]); i++)
		if (strcmp(a, algs[i].name) == 0) {
			k->alg = algs[i].name;
			k->md = algs[i].md();
		}
	if (k->alg == NULL) {
		*why = "unknown TSIG algorithm (hmac-md5, hmac-sha1, hmac-sha224, hmac-sha256, "
		    "hmac-sha384, hmac-sha512)";
		return -1;
	}
	if (secret_b64 == NULL || *secret_b64 == '\0') {
		*why = "no TSIG secret";
		return -1;
	}
	if (strlen(secret_b64) > TSIG_SECRET_MAX * 4 / 3 + 4) {
		*why = "TSIG secret too long";
		return -1;
	}
	if (ldns_str2rdf_b64(&rd, secret_b64) != LDNS_STATUS_OK || rd == NULL ||
	    ldns_rdf_size(rd) == 0 || ldns_rdf_size(rd) > sizeof(k->secret)) {
		ldns_rdf_deep_free(rd);
		*why = "TSIG secret is not valid base64";
		return -1;
	}
	k->secret_len = ldns_rdf_size(rd);
	memcpy(k->secret, ldns_rdf_data(rd), k->secret_len);
	OPENSSL_cleanse(ldns_rdf_data(rd), k->secret_len);
	ldns_rdf_deep_free(rd);
	return 0;
}

void
tsig_key_clear(struct tsig_key *k)
{
	OPENSSL_cleanse(k->secret, sizeof(k->secret));
	k->secret_len = 0;
}

static void
put16(uint8_t *p, unsigned v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static unsigned
get16(const uint8_t *p)
{
	return ((unsigned)p[0] << 8) | p[1];
}

static void
put48(uint8_t *p, uint64_t v)
{
	for (int i = 5; i >= 0; i--, v >>= 8)
		p[i] = (uint8_t)v;
}

static uint64_t
get48(const uint8_t *p)
{
	uint64_t v = 0;

	for (int i = 0; i < 6; i++)
		v = (v << 8) | p[i];
	return v;
}

/*
 * The TSIG variables (RFC 8945 §4.3.3): key name, class ANY, TTL 0,
 * algorithm, time signed, fudge, error, other data.  Length or 0.
 */
static size_t
tsig_vars(const struct tsig_key *k, uint64_t signed_at, unsigned fudge, unsigned error,
    const uint8_t *other, unsigned otherlen, uint8_t *out, size_t max)
{
	size_t o, n;

	if ((o = name_to_wire(k->name, out, max)) == 0 || o + 6 > max)
		return 0;
	put16(out + o, CLASS_ANY);
	memset(out + o + 2, 0, 4);
	o += 6;
	if ((n = name_to_wire(k->alg, out + o, max - o)) == 0)
		return 0;
	o += n;
	if (o + 12 + otherlen > max)
		return 0;
	put48(out + o, signed_at);
	put16(out + o + 6, fudge);
	put16(out + o + 8, error);
	put16(out + o + 10, otherlen);
	o += 12;
	if (otherlen > 0)
		memcpy(out + o, other, otherlen);
	return o + otherlen;
}

/* HMAC over the concatenation of up to three parts. */
static int
hmac3(const struct tsig_key *k, const uint8_t *p1, size_t l1, const uint8_t *p2, size_t l2,
    const uint8_t *p3, size_t l3, uint8_t *mac, size_t *maclen)
{
	uint8_t *buf;
	unsigned int ml = 0;
	int rc = -1;

	if ((buf = malloc(l1 + l2 + l3 + 1)) == NULL)
		return -1;
	if (l1)
		memcpy(buf, p1, l1);
	if (l2)
		memcpy(buf + l1, p2, l2);
	if (l3)
		memcpy(buf + l1 + l2, p3, l3);
	if (HMAC((const EVP_MD *)k->md, k->secret, (int)k->secret_len, buf, l1 + l2 + l3,
	    mac, &ml) != NULL) {
		*maclen = ml;
		rc = 0;
	}
	free(buf);
	return rc;
}

int
tsig_sign(const struct tsig_key *k, const uint8_t *msg, size_t len, uint64_t now,
    uint8_t **out, size_t *outlen, uint8_t *mac, size_t *maclen)
{
	uint8_t vars[TSIG_VARS_MAX], keyw[WIRE_NAME_MAX], algw[WIRE_NAME_MAX], *o;
	size_t nv, kl, al, rdlen, pos;

	if (len < DNS_HEADER)
		return -1;
	if ((nv = tsig_vars(k, now, TSIG_FUDGE, 0, NULL, 0, vars, sizeof(vars))) == 0)
		return -1;
	if (hmac3(k, msg, len, vars, nv, NULL, 0, mac, maclen) == -1)
		return -1;
	kl = name_to_wire(k->name, keyw, sizeof(keyw));
	al = name_to_wire(k->alg, algw, sizeof(algw));
	rdlen = al + 6 + 2 + 2 + *maclen + 2 + 2 + 2;
	if ((o = malloc(len + kl + 10 + rdlen)) == NULL)
		return -1;
	memcpy(o, msg, len);
	put16(o + 10, get16(o + 10) + 1);	/* ARCOUNT */
	pos = len;
	memcpy(o + pos, keyw, kl);
	pos += kl;
	put16(o + pos, TSIG_RR_TYPE);
	put16(o + pos + 2, CLASS_ANY);
	memset(o + pos + 4, 0, 4);
	put16(o + pos + 8, (unsigned)rdlen);
	pos += 10;
	memcpy(o + pos, algw, al);
	pos += al;
	put48(o + pos, now);
	put16(o + pos + 6, TSIG_FUDGE);
	put16(o + pos + 8, (unsigned)*maclen);
	pos += 10;
	memcpy(o + pos, mac, *maclen);
	pos += *maclen;
	memcpy(o + pos, msg, 2);		/* original id */
	put16(o + pos + 2, 0);			/* error */
	put16(o + pos + 4, 0);			/* other len */
	pos += 6;
	*out = o;
	*outlen = pos;
	return 0;
}

/* Skip a (possibly compressed) name at *pos.  0 or -1. */
static int
skip_name(const uint8_t *m, size_t len, size_t *pos)
{
	while (*pos < len) {
		uint8_t l = m[*pos];

		if (l == 0) {
			(*pos)++;
			return 0;
		}
		if ((l & 0xc0) == 0xc0) {
			*pos += 2;
			return *pos <= len ? 0 : -1;
		}
		if ((l & 0xc0) != 0)
			return -1;
		*pos += 1 + l;
	}
	return -1;
}

/* Read an uncompressed name at *pos into canonical text.  0 or -1. */
static int
read_name(const uint8_t *m, size_t len, size_t *pos, char *out, size_t max)
{
	size_t o = 0;

	while (*pos < len) {
		uint8_t l = m[(*pos)++];

		if (l == 0) {
			if (o == 0 && max > 1)
				out[o++] = '.';
			out[o] = '\0';
			return 0;
		}
		if ((l & 0xc0) != 0 || *pos + l > len || o + l + 2 > max)
			return -1;
		if (o > 0)
			out[o++] = '.';
		for (size_t i = 0; i < l; i++) {
			uint8_t c = m[(*pos)++];

			out[o++] = (char)((c >= 'A' && c <= 'Z') ? c - 'A' + 'a' : c);
		}
	}
	return -1;
}

int
tsig_verify(const struct tsig_key *k, const uint8_t *msg, size_t len, const uint8_t *req_mac,
    size_t req_maclen, uint64_t now, unsigned *tsig_error, const char **why)
{
	uint8_t vars[TSIG_VARS_MAX], mac[TSIG_MAC_MAX], prefix[2 + TSIG_MAC_MAX], *copy = NULL;
	char kname[NAME_BUF + 1], aname[NAME_BUF + 1];
	size_t pos = DNS_HEADER, tsig_start, nv, maclen, ml;
	unsigned qd, an, ns, ar, i, rdlen, fudge, error, otherlen, origid;
	uint64_t signed_at;
	const uint8_t *macp, *other;
	int rc = -1;

	*tsig_error = 0;
	*why = "malformed answer";
	if (len < DNS_HEADER)
		return -1;
	qd = get16(msg + 4);
	an = get16(msg + 6);
	ns = get16(msg + 8);
	ar = get16(msg + 10);
	if (ar == 0) {
		*why = "the answer is not signed (no TSIG)";
		return -1;
	}
	for (i = 0; i < qd; i++) {
		if (skip_name(msg, len, &pos) == -1 || (pos += 4) > len)
			return -1;
	}
	for (i = 0; i < an + ns + ar - 1; i++) {
		if (skip_name(msg, len, &pos) == -1 || pos + 10 > len)
			return -1;
		pos += 10 + get16(msg + pos + 8);
		if (pos > len)
			return -1;
	}
	tsig_start = pos;
	if (read_name(msg, len, &pos, kname, sizeof(kname)) == -1 || pos + 10 > len)
		return -1;
	if (get16(msg + pos) != TSIG_RR_TYPE) {
		*why = "the answer is not signed (no TSIG)";
		return -1;
	}
	rdlen = get16(msg + pos + 8);
	pos += 10;
	if (pos + rdlen != len)
		return -1;
	if (read_name(msg, len, &pos, aname, sizeof(aname)) == -1 || pos + 10 > len)
		return -1;
	signed_at = get48(msg + pos);
	fudge = get16(msg + pos + 6);
	maclen = get16(msg + pos + 8);
	pos += 10;
	if (pos + maclen + 6 > len)
		return -1;
	macp = msg + pos;
	pos += maclen;
	origid = get16(msg + pos);
	error = get16(msg + pos + 2);
	otherlen = get16(msg + pos + 4);
	pos += 6;
	if (pos + otherlen != len)
		return -1;
	other = msg + pos;
	*tsig_error = error;
	if (error != 0) {
		*why = "the server rejected the TSIG signature";
		return -1;
	}
	if (strcmp(kname, k->name) != 0 || strcmp(aname, k->alg) != 0) {
		*why = "the answer is signed with another key or algorithm";
		return -1;
	}
	if (maclen == 0 || maclen > TSIG_MAC_MAX) {
		*why = "the answer carries no MAC";
		return -1;
	}
	/* Message as it was before the TSIG was added: original id, ARCOUNT - 1. */
	if ((copy = malloc(tsig_start)) == NULL)
		return -1;
	memcpy(copy, msg, tsig_start);
	put16(copy, origid);
	put16(copy + 10, ar - 1);
	nv = tsig_vars(k, signed_at, fudge, error, other, otherlen, vars, sizeof(vars));
	put16(prefix, (unsigned)req_maclen);
	memcpy(prefix + 2, req_mac, req_maclen);
	if (nv == 0 || hmac3(k, prefix, 2 + req_maclen, copy, tsig_start, vars, nv, mac, &ml) == -1)
		goto out;
	if (ml != maclen || CRYPTO_memcmp(mac, macp, ml) != 0) {
		*why = "the answer's TSIG MAC does not verify";
		goto out;
	}
	if (signed_at + fudge < now || now + fudge < signed_at) {
		*why = "the answer's TSIG time is outside the fudge window (check the clocks)";
		goto out;
	}
	rc = 0;
out:
	free(copy);
	return rc;
}

const char *
tsig_error_name(unsigned err)
{
	switch (err) {
	case TSIG_BADSIG:
		return "BADSIG";
	case TSIG_BADKEY:
		return "BADKEY";
	case TSIG_BADTIME:
		return "BADTIME";
	case TSIG_BADTRUNC:
		return "BADTRUNC";
	default:
		return "TSIG error";
	}
}
