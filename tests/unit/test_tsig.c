/*
 * Unit tests for core/tsig.[ch] (RFC 8945).
 *
 * The expected MACs are computed two independent ways: here, with OpenSSL's
 * HMAC() over the RFC 8945 §4.3.3 layout this file assembles byte by byte,
 * and once offline with Python's hmac module (the hex strings below; the
 * script is reproduced in the comment above them).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/objects.h>

#include "../../core/tsig.h"

#define NELEM(a)	(sizeof(a) / sizeof((a)[0]))

/* Secret: the octets 0x01..0x20. */
#define SECRET_B64	"AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyA="
#define KEY_NAME	"dns01-key"
#define T0		((uint64_t)1700000000)

static uint8_t secret_bytes[32];

/* A query: id 0x1234, RD, one question example.com SOA IN. */
static const uint8_t query[] = {
	0x12, 0x34, 0x01, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	7, 'e', 'x', 'a', 'm', 'p', 'l', 'e', 3, 'c', 'o', 'm', 0,
	0x00, 0x06, 0x00, 0x01,
};

/*
 * The answer body (before the TSIG): id 0x1234, QR AA RD, one question
 * example.com TXT IN, one answer at a compressed name (0xc00c) TXT "hello".
 */
static const uint8_t answer[] = {
	0x12, 0x34, 0x85, 0x00, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00,
	7, 'e', 'x', 'a', 'm', 'p', 'l', 'e', 3, 'c', 'o', 'm', 0,
	0x00, 0x10, 0x00, 0x01,
	0xc0, 0x0c, 0x00, 0x10, 0x00, 0x01, 0x00, 0x00, 0x00, 0x3c, 0x00, 0x06,
	5, 'h', 'e', 'l', 'l', 'o',
};

struct alg_case {
	const char *in;		/* as given to tsig_key_init */
	const char *wire;	/* canonical algorithm name */
	int nid;		/* OpenSSL digest */
	size_t maclen;
	/*
	 * HMAC of query + TSIG variables (key dns01-key, time T0, fudge 300),
	 * computed with /usr/bin/python3:
	 *
	 *   secret = bytes(range(1, 33))
	 *   def wire(n): return b''.join(bytes([len(l)]) + l.encode()
	 *                                for l in n.split('.') if l) + b'\0'
	 *   msg = bytes.fromhex('123401000001000000000000') + wire('example.com') \
	 *         + struct.pack('>HH', 6, 1)
	 *   v = wire('dns01-key') + struct.pack('>HI', 255, 0) + wire(alg) \
	 *       + struct.pack('>HIHHH', T >> 32, T & 0xffffffff, 300, 0, 0)
	 *   hmac.new(secret, msg + v, hashlib.<digest>).hexdigest()
	 */
	const char *python_hex;
};

static const struct alg_case algs[] = {
	{ "hmac-md5", "hmac-md5.sig-alg.reg.int", NID_md5, 16,
	  "22abf7280c56dc185bb0117cbb5e8530" },
	{ "hmac-sha1", "hmac-sha1", NID_sha1, 20,
	  "c5017a8b4b60c98cd3775b72823cdb582bb9fdab" },
	{ "hmac-sha224", "hmac-sha224", NID_sha224, 28,
	  "293da04cd2ebebdf48420c73f85dcc23961defdce51f5c2a2a083a43" },
	{ "hmac-sha256", "hmac-sha256", NID_sha256, 32,
	  "9c176ac89ed382440420e3d8422c0224161c0af46d32b9dff148ee426e94d083" },
	{ "hmac-sha384", "hmac-sha384", NID_sha384, 48,
	  "17f2d27c2fd1ca4aa37ef78b1db69dafce9536b3b60db18d8507d2f538ee5a07"
	  "78fb4df068809ca5baf0e817ced1923e" },
	{ "hmac-sha512", "hmac-sha512", NID_sha512, 64,
	  "4ca022892fe137afcc0051c12d69fa38374ba151a965e61cbe127cc210f2cb8f"
	  "a04e812b9f8c10887464617226a7a3d1695b09206ae748d567fd0f7d2e2079f4" },
};

/* ------------------------------------------------------------------ helpers */

static void
init_secret(void)
{
	size_t i;

	for (i = 0; i < sizeof(secret_bytes); i++)
		secret_bytes[i] = (uint8_t)(i + 1);
}

static size_t
hex_decode(const char *hex, uint8_t *out, size_t max)
{
	size_t n = strlen(hex) / 2, i;

	assert_true(n <= max);
	for (i = 0; i < n; i++) {
		unsigned v;

		assert_int_equal(sscanf(hex + 2 * i, "%2x", &v), 1);
		out[i] = (uint8_t)v;
	}
	return n;
}

/* The test's own wire encoding of a dotted name (no compression). */
static size_t
wire_name(const char *name, uint8_t *out)
{
	size_t o = 0;

	while (*name != '\0') {
		const char *dot = strchr(name, '.');
		size_t l = dot ? (size_t)(dot - name) : strlen(name);

		out[o++] = (uint8_t)l;
		memcpy(out + o, name, l);
		o += l;
		name += l;
		if (*name == '.')
			name++;
	}
	out[o++] = 0;
	return o;
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
	int i;

	for (i = 5; i >= 0; i--, v >>= 8)
		p[i] = (uint8_t)v;
}

/* RFC 8945 §4.3.3 TSIG variables. */
static size_t
tsig_variables(const char *key, const char *alg, uint64_t t, unsigned fudge, unsigned error,
    const uint8_t *other, size_t otherlen, uint8_t *out)
{
	size_t o = wire_name(key, out);

	put16(out + o, 255);			/* class ANY */
	memset(out + o + 2, 0, 4);		/* TTL 0 */
	o += 6;
	o += wire_name(alg, out + o);
	put48(out + o, t);			/* 48-bit time signed */
	put16(out + o + 6, fudge);
	put16(out + o + 8, error);
	put16(out + o + 10, (unsigned)otherlen);
	o += 12;
	if (otherlen > 0)
		memcpy(out + o, other, otherlen);
	return o + otherlen;
}

static const EVP_MD *
md_of(int nid)
{
	const EVP_MD *md = EVP_get_digestbynid(nid);

	assert_non_null(md);
	return md;
}

static size_t
ref_hmac(int nid, const uint8_t *key, size_t keylen, const uint8_t *data, size_t n,
    uint8_t *mac)
{
	unsigned int ml = 0;

	assert_non_null(HMAC(md_of(nid), key, (int)keylen, data, n, mac, &ml));
	return ml;
}

static void
key_for(struct tsig_key *k, const struct alg_case *a)
{
	const char *why = NULL;

	if (tsig_key_init(k, KEY_NAME, a->in, SECRET_B64, &why) != 0)
		print_error("tsig_key_init(%s): %s\n", a->in, why ? why : "?");
	assert_int_equal(tsig_key_init(k, KEY_NAME, a->in, SECRET_B64, &why), 0);
}

/* -------------------------------------------------------------- tsig_key_init */

static void
test_key_init_algorithms(void **state)
{
	size_t i, j;

	(void)state;
	init_secret();
	for (i = 0; i < NELEM(algs); i++) {
		char variants[4][64];

		snprintf(variants[0], sizeof(variants[0]), "%s", algs[i].in);
		snprintf(variants[1], sizeof(variants[1]), "%s.", algs[i].in);
		snprintf(variants[2], sizeof(variants[2]), "%s", algs[i].in);
		for (j = 0; variants[2][j] != '\0'; j++)
			if (variants[2][j] >= 'a' && variants[2][j] <= 'z')
				variants[2][j] = (char)(variants[2][j] - 'a' + 'A');
		snprintf(variants[3], sizeof(variants[3]), "%s.", algs[i].wire);
		variants[3][0] = 'H';
		for (j = 0; j < 4; j++) {
			struct tsig_key k;
			const char *why = NULL;
			int rc = tsig_key_init(&k, "DNS01-Key.", variants[j], SECRET_B64, &why);

			if (rc != 0)
				print_error("'%s' refused: %s\n", variants[j], why ? why : "?");
			assert_int_equal(rc, 0);
			assert_non_null(k.alg);
			assert_string_equal(k.alg, algs[i].wire);
			assert_non_null(k.md);
			assert_int_equal(EVP_MD_type((const EVP_MD *)k.md), algs[i].nid);
			assert_string_equal(k.name, "dns01-key");
			assert_int_equal(k.secret_len, sizeof(secret_bytes));
			assert_memory_equal(k.secret, secret_bytes, sizeof(secret_bytes));
			tsig_key_clear(&k);
			assert_int_equal(k.secret_len, 0);
			for (size_t b = 0; b < sizeof(k.secret); b++)
				assert_int_equal(k.secret[b], 0);
		}
	}
}

struct bad_key {
	const char *desc;
	const char *name;
	const char *alg;
	const char *secret;
	const char *why;	/* substring of the reason */
};

/* Distinctive (partly valid) secrets so a leak into *why would be visible. */
#define BAD_B64		"Zm9vYmFy!S3cr3tValue"
#define LONG_B64	\
	"QUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFB" \
	"QUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFB" \
	"QUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFB"

static const struct bad_key bad_keys[] = {
	{ "unknown algorithm", KEY_NAME, "hmac-sha3-256", SECRET_B64, "algorithm" },
	{ "bare digest name", KEY_NAME, "sha256", SECRET_B64, "algorithm" },
	{ "gss-tsig", KEY_NAME, "gss-tsig", SECRET_B64, "algorithm" },
	{ "prefix of a name", KEY_NAME, "hmac-sha", SECRET_B64, "algorithm" },
	{ "suffix garbage", KEY_NAME, "hmac-sha256x", SECRET_B64, "algorithm" },
	{ "two trailing dots", KEY_NAME, "hmac-sha256..", SECRET_B64, "algorithm" },
	{ "empty algorithm", KEY_NAME, "", SECRET_B64, "algorithm" },
	{ "NULL algorithm", KEY_NAME, NULL, SECRET_B64, "algorithm" },
	{ "long algorithm", KEY_NAME,
	  "hmac-sha256-hmac-sha256-hmac-sha256-hmac-sha256-hmac-sha256-hmac-sha256-x",
	  SECRET_B64, "algorithm" },
	{ "bad base64", KEY_NAME, "hmac-sha256", BAD_B64, "base64" },
	{ "base64 of wrong length", KEY_NAME, "hmac-sha256", "abc", "base64" },
	{ "only padding", KEY_NAME, "hmac-sha256", "====", "base64" },
	{ "secret too long", KEY_NAME, "hmac-sha256", LONG_B64, "secret" },
	{ "empty secret", KEY_NAME, "hmac-sha256", "", "secret" },
	{ "NULL secret", KEY_NAME, "hmac-sha256", NULL, "secret" },
	{ "bad key name", "bad..name", "hmac-sha256", SECRET_B64, "label" },
	{ "empty key name", "", "hmac-sha256", SECRET_B64, "empty" },
	{ "NULL key name", NULL, "hmac-sha256", SECRET_B64, "name" },
};

static void
test_key_init_errors(void **state)
{
	size_t i;
	int failures = 0;

	(void)state;
	for (i = 0; i < NELEM(bad_keys); i++) {
		const struct bad_key *c = &bad_keys[i];
		struct tsig_key k;
		const char *why = NULL;
		int rc = tsig_key_init(&k, c->name, c->alg, c->secret, &why);

		if (rc != -1) {
			print_error("'%s': rc %d, want -1\n", c->desc, rc);
			failures++;
			continue;
		}
		if (why == NULL || strstr(why, c->why) == NULL) {
			print_error("'%s': why = '%s', want it to mention '%s'\n", c->desc,
			    why ? why : "(null)", c->why);
			failures++;
			continue;
		}
		/* the reason never repeats the secret, or a piece of it */
		if (c->secret != NULL && *c->secret != '\0' &&
		    (strstr(why, c->secret) != NULL || strstr(why, "S3cr3t") != NULL ||
		    strstr(why, "AQIDBAUG") != NULL || strstr(why, "QUFB") != NULL)) {
			print_error("'%s': the secret is in why: '%s'\n", c->desc, why);
			failures++;
		}
	}
	assert_int_equal(failures, 0);
}

/* ------------------------------------------------------------------ tsig_sign */

static void
test_sign_known_answer(void **state)
{
	size_t i;

	(void)state;
	init_secret();
	for (i = 0; i < NELEM(algs); i++) {
		const struct alg_case *a = &algs[i];
		struct tsig_key k;
		uint8_t buf[sizeof(query) + 600], want[TSIG_MAC_MAX], py[TSIG_MAC_MAX];
		uint8_t mac[TSIG_MAC_MAX], *out = NULL;
		size_t n, wantlen, pylen, maclen = 0, outlen = 0;

		key_for(&k, a);
		/* reference: message + variables, HMAC'd here */
		memcpy(buf, query, sizeof(query));
		n = sizeof(query);
		n += tsig_variables(KEY_NAME, a->wire, T0, 300, 0, NULL, 0, buf + n);
		wantlen = ref_hmac(a->nid, secret_bytes, sizeof(secret_bytes), buf, n, want);
		assert_int_equal(wantlen, a->maclen);
		pylen = hex_decode(a->python_hex, py, sizeof(py));
		assert_int_equal(pylen, a->maclen);
		/* the two references agree (so the layout above is the real one) */
		assert_memory_equal(want, py, pylen);

		assert_int_equal(tsig_sign(&k, query, sizeof(query), T0, &out, &outlen, mac,
		    &maclen), 0);
		assert_non_null(out);
		if (maclen != a->maclen || memcmp(mac, py, pylen) != 0)
			print_error("%s: MAC differs from the reference\n", a->in);
		assert_int_equal(maclen, a->maclen);
		assert_memory_equal(mac, py, pylen);
		free(out);
		tsig_key_clear(&k);
	}
}

static void
test_sign_layout(void **state)
{
	size_t i;

	(void)state;
	init_secret();
	for (i = 0; i < NELEM(algs); i++) {
		const struct alg_case *a = &algs[i];
		struct tsig_key k;
		uint8_t mac[TSIG_MAC_MAX], keyw[64], algw[64], *out = NULL, *p;
		size_t maclen = 0, outlen = 0, kl, al, rdlen;

		key_for(&k, a);
		assert_int_equal(tsig_sign(&k, query, sizeof(query), T0, &out, &outlen, mac,
		    &maclen), 0);
		kl = wire_name(KEY_NAME, keyw);
		al = wire_name(a->wire, algw);
		rdlen = al + 6 + 2 + 2 + maclen + 2 + 2 + 2;
		assert_int_equal(outlen, sizeof(query) + kl + 10 + rdlen);

		/* the message itself is unchanged but for ARCOUNT + 1 */
		assert_memory_equal(out, query, 10);
		assert_int_equal(get16(out + 10), get16(query + 10) + 1);
		assert_memory_equal(out + 12, query + 12, sizeof(query) - 12);

		p = out + sizeof(query);
		assert_memory_equal(p, keyw, kl);		/* owner: the key name */
		p += kl;
		assert_int_equal(get16(p), 250);		/* TYPE TSIG */
		assert_int_equal(get16(p + 2), 255);		/* CLASS ANY */
		assert_int_equal(get16(p + 4), 0);		/* TTL 0 */
		assert_int_equal(get16(p + 6), 0);
		assert_int_equal(get16(p + 8), rdlen);
		p += 10;
		assert_memory_equal(p, algw, al);
		p += al;
		assert_int_equal(get16(p), (unsigned)(T0 >> 32));
		assert_int_equal((uint32_t)get16(p + 2) << 16 | get16(p + 4),
		    (uint32_t)(T0 & 0xffffffff));
		assert_int_equal(get16(p + 6), 300);		/* fudge */
		assert_int_equal(get16(p + 8), maclen);
		p += 10;
		assert_memory_equal(p, mac, maclen);		/* the MAC handed back */
		p += maclen;
		assert_int_equal(get16(p), 0x1234);		/* original id */
		assert_int_equal(get16(p + 2), 0);		/* error */
		assert_int_equal(get16(p + 4), 0);		/* other len */
		assert_ptr_equal(p + 6, out + outlen);
		free(out);
		tsig_key_clear(&k);
	}
}

static void
test_sign_time_and_message_matter(void **state)
{
	struct tsig_key k;
	uint8_t m1[TSIG_MAC_MAX], m2[TSIG_MAC_MAX], m3[TSIG_MAC_MAX], q2[sizeof(query)];
	uint8_t *out = NULL;
	size_t l1 = 0, l2 = 0, l3 = 0, outlen = 0;

	(void)state;
	init_secret();
	key_for(&k, &algs[3]);
	assert_int_equal(tsig_sign(&k, query, sizeof(query), T0, &out, &outlen, m1, &l1), 0);
	free(out);
	assert_int_equal(tsig_sign(&k, query, sizeof(query), T0 + 1, &out, &outlen, m2, &l2), 0);
	free(out);
	memcpy(q2, query, sizeof(q2));
	q2[sizeof(q2) - 1] ^= 1;
	assert_int_equal(tsig_sign(&k, q2, sizeof(q2), T0, &out, &outlen, m3, &l3), 0);
	free(out);
	assert_int_equal(l1, 32);
	assert_memory_not_equal(m1, m2, 32);
	assert_memory_not_equal(m1, m3, 32);

	/* a 48-bit time above 32 bits goes on the wire whole */
	assert_int_equal(tsig_sign(&k, query, sizeof(query), (uint64_t)0x123456789aULL, &out,
	    &outlen, m2, &l2), 0);
	{
		static const uint8_t t48[] = { 0x00, 0x12, 0x34, 0x56, 0x78, 0x9a };
		size_t at = sizeof(query) + 11 + 10 + 13;	/* key, RR header, alg */

		assert_memory_equal(out + at, t48, 6);
	}
	free(out);

	/* shorter than a DNS header: refused */
	out = NULL;
	assert_int_equal(tsig_sign(&k, query, 11, T0, &out, &outlen, m1, &l1), -1);
	assert_null(out);
	tsig_key_clear(&k);
}

/* ---------------------------------------------------------------- tsig_verify */

struct resp_opts {
	const char *owner;		/* TSIG owner as written (case may differ) */
	const char *alg;		/* algorithm name written and MAC'd */
	int nid;
	const uint8_t *secret;
	size_t secretlen;
	const uint8_t *req_mac;
	size_t req_maclen;
	uint64_t signed_at;
	unsigned fudge;
	unsigned error;
	const uint8_t *other;
	size_t otherlen;
	int no_mac;			/* error answers carry an empty MAC */
};

static void
lowercase(const char *in, char *out)
{
	size_t i;

	for (i = 0; in[i] != '\0'; i++)
		out[i] = (char)((in[i] >= 'A' && in[i] <= 'Z') ? in[i] - 'A' + 'a' : in[i]);
	out[i] = '\0';
}

/*
 * Sign the answer body as a server would (RFC 8945 §4.3.1/§4.3.3): MAC over
 * request MAC length + request MAC, the answer without TSIG, the variables.
 */
static size_t
build_response(const struct resp_opts *o, const uint8_t *body, size_t bodylen, uint8_t *out)
{
	uint8_t buf[2048], mac[EVP_MAX_MD_SIZE];
	size_t n = 0, maclen = 0, pos, rdpos;
	char lower[256], lower_alg[256];

	lowercase(o->owner, lower);
	lowercase(o->alg, lower_alg);
	if (!o->no_mac) {
		put16(buf, (unsigned)o->req_maclen);
		memcpy(buf + 2, o->req_mac, o->req_maclen);
		n = 2 + o->req_maclen;
		memcpy(buf + n, body, bodylen);
		n += bodylen;
		n += tsig_variables(lower, lower_alg, o->signed_at, o->fudge, o->error, o->other,
		    o->otherlen, buf + n);
		maclen = ref_hmac(o->nid, o->secret, o->secretlen, buf, n, mac);
	}
	memcpy(out, body, bodylen);
	put16(out + 10, get16(body + 10) + 1);
	pos = bodylen;
	pos += wire_name(o->owner, out + pos);
	put16(out + pos, 250);
	put16(out + pos + 2, 255);
	memset(out + pos + 4, 0, 4);
	rdpos = pos + 8;
	pos += 10;
	pos += wire_name(o->alg, out + pos);
	put48(out + pos, o->signed_at);
	put16(out + pos + 6, o->fudge);
	put16(out + pos + 8, (unsigned)maclen);
	pos += 10;
	memcpy(out + pos, mac, maclen);
	pos += maclen;
	memcpy(out + pos, body, 2);			/* original id */
	put16(out + pos + 2, o->error);
	put16(out + pos + 4, (unsigned)o->otherlen);
	pos += 6;
	if (o->otherlen > 0)
		memcpy(out + pos, o->other, o->otherlen);
	pos += o->otherlen;
	put16(out + rdpos, (unsigned)(pos - rdpos - 2));
	return pos;
}

/* Fixture state: a key, the request MAC from signing the query, default options. */
struct vfix {
	struct tsig_key k;
	uint8_t req_mac[TSIG_MAC_MAX];
	size_t req_maclen;
	struct resp_opts o;
	uint8_t resp[2048];
	size_t resplen;
};

static int
vfix_setup(void **state)
{
	struct vfix *f = calloc(1, sizeof(*f));
	uint8_t *out = NULL;
	size_t outlen = 0;
	const char *why;

	if (f == NULL)
		return -1;
	init_secret();
	if (tsig_key_init(&f->k, KEY_NAME, "hmac-sha256", SECRET_B64, &why) != 0 ||
	    tsig_sign(&f->k, query, sizeof(query), T0, &out, &outlen, f->req_mac,
	    &f->req_maclen) != 0) {
		free(f);
		return -1;
	}
	free(out);
	f->o.owner = KEY_NAME;
	f->o.alg = "hmac-sha256";
	f->o.nid = NID_sha256;
	f->o.secret = secret_bytes;
	f->o.secretlen = sizeof(secret_bytes);
	f->o.req_mac = f->req_mac;
	f->o.req_maclen = f->req_maclen;
	f->o.signed_at = T0;
	f->o.fudge = 300;
	f->resplen = build_response(&f->o, answer, sizeof(answer), f->resp);
	*state = f;
	return 0;
}

static int
vfix_teardown(void **state)
{
	struct vfix *f = *state;

	tsig_key_clear(&f->k);
	free(f);
	return 0;
}

static int
verify(struct vfix *f, const uint8_t *msg, size_t len, uint64_t now, unsigned *err,
    const char **why)
{
	*err = 12345;
	*why = NULL;
	return tsig_verify(&f->k, msg, len, f->req_mac, f->req_maclen, now, err, why);
}

static void
test_verify_ok(void **state)
{
	struct vfix *f = *state;
	unsigned err;
	const char *why;

	if (verify(f, f->resp, f->resplen, T0, &err, &why) != 0)
		print_error("verify failed: %s\n", why ? why : "?");
	assert_int_equal(verify(f, f->resp, f->resplen, T0, &err, &why), 0);
	assert_int_equal(err, 0);
	/* inside the fudge window, both ways */
	assert_int_equal(verify(f, f->resp, f->resplen, T0 + 300, &err, &why), 0);
	assert_int_equal(verify(f, f->resp, f->resplen, T0 - 300, &err, &why), 0);
}

static void
test_verify_every_algorithm(void **state)
{
	struct vfix *f = *state;
	size_t i;

	for (i = 0; i < NELEM(algs); i++) {
		struct tsig_key k;
		uint8_t req_mac[TSIG_MAC_MAX], *out = NULL;
		size_t req_maclen = 0, outlen = 0, len;
		unsigned err = 99;
		const char *why = NULL;
		struct resp_opts o = f->o;
		int rc;

		key_for(&k, &algs[i]);
		assert_int_equal(tsig_sign(&k, query, sizeof(query), T0, &out, &outlen, req_mac,
		    &req_maclen), 0);
		free(out);
		o.alg = algs[i].wire;
		o.nid = algs[i].nid;
		o.req_mac = req_mac;
		o.req_maclen = req_maclen;
		len = build_response(&o, answer, sizeof(answer), f->resp);
		rc = tsig_verify(&k, f->resp, len, req_mac, req_maclen, T0, &err, &why);
		if (rc != 0)
			print_error("%s: %s\n", algs[i].in, why ? why : "?");
		assert_int_equal(rc, 0);
		assert_int_equal(err, 0);
		/* and a key of another algorithm with the same secret does not verify it */
		tsig_key_clear(&k);
		key_for(&k, &algs[(i + 1) % NELEM(algs)]);
		assert_int_equal(tsig_verify(&k, f->resp, len, req_mac, req_maclen, T0, &err,
		    &why), -1);
		tsig_key_clear(&k);
	}
}

static void
test_verify_owner_case(void **state)
{
	struct vfix *f = *state;
	unsigned err;
	const char *why;

	/*
	 * Names compare case-insensitively and the MAC covers their canonical
	 * (lower-case) form, whatever case the server wrote them in.
	 */
	f->o.owner = "DNS01-KEY";
	f->o.alg = "HMAC-SHA256";
	f->resplen = build_response(&f->o, answer, sizeof(answer), f->resp);
	assert_non_null(memchr(f->resp, 'K', f->resplen));	/* really upper case */
	if (verify(f, f->resp, f->resplen, T0, &err, &why) != 0)
		print_error("upper-case names: %s\n", why ? why : "?");
	assert_int_equal(verify(f, f->resp, f->resplen, T0, &err, &why), 0);
}

static void
test_verify_flipped_byte(void **state)
{
	struct vfix *f = *state;
	uint8_t m[2048];
	size_t i, tsig_class = sizeof(answer) + 11 + 2;	/* owner (11) + TYPE */
	unsigned err;
	const char *why;
	int failures = 0;

	for (i = 0; i < f->resplen; i++) {
		int rc;

		memcpy(m, f->resp, f->resplen);
		m[i] ^= 0x01;
		rc = verify(f, m, f->resplen, T0, &err, &why);
		if (i < 2) {
			/* the header id is not covered: the TSIG's original id is */
			if (rc != 0) {
				print_error("flipped id byte %zu: %s\n", i, why ? why : "?");
				failures++;
			}
			continue;
		}
		if (i >= tsig_class && i < tsig_class + 6)
			continue;	/* TSIG class and TTL are fixed, not MAC'd as sent */
		if (rc != -1) {
			print_error("flipped byte %zu (0x%02x) still verifies\n", i, f->resp[i]);
			failures++;
		}
		assert_non_null(why);
	}
	assert_int_equal(failures, 0);

	/* one named case: a byte of the answer's TXT data */
	memcpy(m, f->resp, f->resplen);
	m[sizeof(answer) - 1] = 'O';
	assert_int_equal(verify(f, m, f->resplen, T0, &err, &why), -1);
	assert_int_equal(err, 0);
	assert_non_null(strstr(why, "MAC"));
}

static void
test_verify_wrong_key(void **state)
{
	struct vfix *f = *state;
	struct tsig_key other;
	uint8_t s2[32];
	unsigned err = 7;
	const char *why = NULL;

	/* same name and algorithm, another secret */
	assert_int_equal(tsig_key_init(&other, KEY_NAME, "hmac-sha256",
	    "ICEiIyQlJicoKSorLC0uLzAxMjM0NTY3ODk6Ozw9Pj8=", &why), 0);
	assert_int_equal(tsig_verify(&other, f->resp, f->resplen, f->req_mac, f->req_maclen, T0,
	    &err, &why), -1);
	assert_int_equal(err, 0);
	assert_non_null(strstr(why, "MAC"));
	tsig_key_clear(&other);

	/* the answer signed with another secret, checked with ours */
	memset(s2, 0x42, sizeof(s2));
	f->o.secret = s2;
	f->resplen = build_response(&f->o, answer, sizeof(answer), f->resp);
	assert_int_equal(verify(f, f->resp, f->resplen, T0, &err, &why), -1);

	/* same secret, another key name */
	f->o.secret = secret_bytes;
	f->resplen = build_response(&f->o, answer, sizeof(answer), f->resp);
	assert_int_equal(verify(f, f->resp, f->resplen, T0, &err, &why), 0);	/* control */
	assert_int_equal(tsig_key_init(&other, "other-key", "hmac-sha256", SECRET_B64, &why), 0);
	assert_int_equal(tsig_verify(&other, f->resp, f->resplen, f->req_mac, f->req_maclen, T0,
	    &err, &why), -1);
	assert_non_null(strstr(why, "another key"));
	tsig_key_clear(&other);
}

static void
test_verify_wrong_request_mac(void **state)
{
	struct vfix *f = *state;
	uint8_t bad[TSIG_MAC_MAX];
	unsigned err;
	const char *why = NULL;

	memcpy(bad, f->req_mac, f->req_maclen);
	bad[0] ^= 0x80;
	assert_int_equal(tsig_verify(&f->k, f->resp, f->resplen, bad, f->req_maclen, T0, &err,
	    &why), -1);
	assert_int_equal(tsig_verify(&f->k, f->resp, f->resplen, f->req_mac, f->req_maclen - 1,
	    T0, &err, &why), -1);
	assert_int_equal(tsig_verify(&f->k, f->resp, f->resplen, f->req_mac, f->req_maclen, T0,
	    &err, &why), 0);	/* control */
}

static void
test_verify_tsig_errors(void **state)
{
	static const unsigned codes[] = { TSIG_BADSIG, TSIG_BADKEY };
	struct vfix *f = *state;
	unsigned err;
	const char *why;
	size_t i;

	for (i = 0; i < NELEM(codes); i++) {
		/* BADSIG / BADKEY answers carry no MAC (RFC 8945 §5.3.2) */
		f->o.error = codes[i];
		f->o.no_mac = 1;
		f->resplen = build_response(&f->o, answer, sizeof(answer), f->resp);
		assert_int_equal(verify(f, f->resp, f->resplen, T0, &err, &why), -1);
		assert_int_equal(err, codes[i]);
		assert_non_null(why);
	}
	assert_string_equal(tsig_error_name(TSIG_BADSIG), "BADSIG");
	assert_string_equal(tsig_error_name(TSIG_BADKEY), "BADKEY");
	assert_string_equal(tsig_error_name(TSIG_BADTIME), "BADTIME");

	/* BADSIG even when the answer happens to carry a valid MAC */
	f->o.error = TSIG_BADSIG;
	f->o.no_mac = 0;
	f->resplen = build_response(&f->o, answer, sizeof(answer), f->resp);
	assert_int_equal(verify(f, f->resp, f->resplen, T0, &err, &why), -1);
	assert_int_equal(err, TSIG_BADSIG);

	/* BADTIME is signed and carries the server's time as other data */
	{
		static const uint8_t server_time[6] = { 0, 0, 0x65, 0x53, 0xf1, 0x00 };

		f->o.error = TSIG_BADTIME;
		f->o.other = server_time;
		f->o.otherlen = sizeof(server_time);
		f->resplen = build_response(&f->o, answer, sizeof(answer), f->resp);
		assert_int_equal(verify(f, f->resp, f->resplen, T0, &err, &why), -1);
		assert_int_equal(err, TSIG_BADTIME);
	}
}

static void
test_verify_unsigned(void **state)
{
	struct vfix *f = *state;
	uint8_t m[sizeof(answer) + 11];
	unsigned err;
	const char *why;

	/* no additional records at all */
	assert_int_equal(verify(f, answer, sizeof(answer), T0, &err, &why), -1);
	assert_int_equal(err, 0);
	assert_non_null(strstr(why, "not signed"));

	/* an OPT record where the TSIG should be */
	memcpy(m, answer, sizeof(answer));
	put16(m + 10, 1);
	{
		static const uint8_t opt[] = { 0, 0x00, 0x29, 0x04, 0xd0, 0, 0, 0, 0, 0x00, 0x00 };

		memcpy(m + sizeof(answer), opt, sizeof(opt));
	}
	assert_int_equal(verify(f, m, sizeof(m), T0, &err, &why), -1);
	assert_int_equal(err, 0);
	assert_non_null(strstr(why, "not signed"));

	/* shorter than a header */
	assert_int_equal(verify(f, answer, 5, T0, &err, &why), -1);
}

static void
test_verify_time(void **state)
{
	struct vfix *f = *state;
	unsigned err;
	const char *why;

	assert_int_equal(verify(f, f->resp, f->resplen, T0 + 301, &err, &why), -1);
	assert_int_equal(err, 0);
	assert_non_null(strstr(why, "fudge"));
	assert_int_equal(verify(f, f->resp, f->resplen, T0 - 301, &err, &why), -1);
	assert_non_null(strstr(why, "fudge"));
	assert_int_equal(verify(f, f->resp, f->resplen, T0 + 86400, &err, &why), -1);
	assert_int_equal(verify(f, f->resp, f->resplen, 0, &err, &why), -1);

	/* the window is the fudge the answer states */
	f->o.fudge = 10;
	f->resplen = build_response(&f->o, answer, sizeof(answer), f->resp);
	assert_int_equal(verify(f, f->resp, f->resplen, T0 + 10, &err, &why), 0);
	assert_int_equal(verify(f, f->resp, f->resplen, T0 + 11, &err, &why), -1);
	assert_non_null(strstr(why, "fudge"));
}

static void
test_verify_truncated(void **state)
{
	struct vfix *f = *state;
	uint8_t *m;
	size_t len;
	unsigned err;
	const char *why;

	/* every prefix of a good answer is refused (and read in bounds: ASan) */
	for (len = 0; len < f->resplen; len++) {
		m = malloc(len ? len : 1);
		assert_non_null(m);
		memcpy(m, f->resp, len);
		if (verify(f, m, len, T0, &err, &why) != -1)
			print_error("prefix of %zu octets verifies\n", len);
		assert_int_equal(verify(f, m, len, T0, &err, &why), -1);
		free(m);
	}
	/* trailing garbage after the TSIG is refused too */
	m = malloc(f->resplen + 1);
	assert_non_null(m);
	memcpy(m, f->resp, f->resplen);
	m[f->resplen] = 0;
	assert_int_equal(verify(f, m, f->resplen + 1, T0, &err, &why), -1);

	/*
	 * and so is one octet inside the TSIG RDATA beyond its "other data"
	 * (RDLENGTH counts it, OTHER LEN does not)
	 */
	{
		size_t rdlen_at = sizeof(answer) + 11 + 8;

		memcpy(m, f->resp, f->resplen);
		m[f->resplen] = 0;
		put16(m + rdlen_at, get16(m + rdlen_at) + 1);
		assert_int_equal(verify(f, m, f->resplen + 1, T0, &err, &why), -1);
		/* control: the unmodified copy verifies */
		memcpy(m, f->resp, f->resplen);
		assert_int_equal(verify(f, m, f->resplen, T0, &err, &why), 0);
	}
	free(m);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_key_init_algorithms),
		cmocka_unit_test(test_key_init_errors),
		cmocka_unit_test(test_sign_known_answer),
		cmocka_unit_test(test_sign_layout),
		cmocka_unit_test(test_sign_time_and_message_matter),
		cmocka_unit_test_setup_teardown(test_verify_ok, vfix_setup, vfix_teardown),
		cmocka_unit_test_setup_teardown(test_verify_every_algorithm, vfix_setup,
		    vfix_teardown),
		cmocka_unit_test_setup_teardown(test_verify_owner_case, vfix_setup, vfix_teardown),
		cmocka_unit_test_setup_teardown(test_verify_flipped_byte, vfix_setup,
		    vfix_teardown),
		cmocka_unit_test_setup_teardown(test_verify_wrong_key, vfix_setup, vfix_teardown),
		cmocka_unit_test_setup_teardown(test_verify_wrong_request_mac, vfix_setup,
		    vfix_teardown),
		cmocka_unit_test_setup_teardown(test_verify_tsig_errors, vfix_setup, vfix_teardown),
		cmocka_unit_test_setup_teardown(test_verify_unsigned, vfix_setup, vfix_teardown),
		cmocka_unit_test_setup_teardown(test_verify_time, vfix_setup, vfix_teardown),
		cmocka_unit_test_setup_teardown(test_verify_truncated, vfix_setup, vfix_teardown),
	};

	return cmocka_run_group_tests_name("tsig", tests, NULL, NULL);
}
