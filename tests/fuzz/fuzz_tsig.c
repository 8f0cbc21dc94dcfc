/*
 * TSIG verification of answers (core/tsig.c: tsig_verify), which reads a
 * whole DNS message from the network before anything else looks at it.
 *
 * This target #includes core/tsig.c: to reach past the MAC check it signs
 * what it builds with the module's own hmac3() and tsig_vars(), internals
 * that are no decision of their own and stay static.
 *
 * Input: byte 0 picks the algorithm (bits 0-2) and the mode (bit 3);
 * byte 1 the request MAC's length (mod TSIG_MAC_MAX + 1), whose octets
 * follow.  Raw mode: the rest is the answer as it came.  Built mode: 2
 * octets time offset (signed, x 16 s), 2 fudge, 2 error, 1 other-data
 * length and that many octets, 1 MAC mode (0: right MAC, 1: one bit
 * flipped, 2: cut by one octet), then a message that gets a TSIG record
 * (key name, algorithm, MAC as chosen) appended and its ARCOUNT raised.
 */
#include "fuzz.h"

#include "../../core/tsig.c"

#define FUZZ_NOW	1700000000ULL	/* seconds since the epoch (2023-11) */
#define NALGS		(sizeof(algs) / sizeof(algs[0]))
#define KEY_NAME	"dns01-key.example."
#define KEY_SECRET	"c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0LXNlY3JldA=="

static struct tsig_key keys[NALGS];

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	static const char *const names[] = { "hmac-md5", "hmac-sha1", "hmac-sha224",
		"hmac-sha256", "hmac-sha384", "hmac-sha512" };
	const char *why;
	size_t i;

	(void)argc;
	(void)argv;
	_Static_assert(sizeof(names) / sizeof(names[0]) == NALGS, "one name per algorithm");
	for (i = 0; i < NALGS; i++)
		if (tsig_key_init(&keys[i], KEY_NAME, names[i], KEY_SECRET, &why) != 0) {
			fprintf(stderr, "tsig_key_init %s: %s\n", names[i], why);
			abort();
		}
	return 0;
}

/* A message of len octets with a TSIG by k appended (see above).  Length or 0. */
static size_t
build(const struct tsig_key *k, const uint8_t *in, size_t n, const uint8_t *req_mac,
    size_t req_maclen, uint8_t *out, size_t max)
{
	uint8_t vars[TSIG_VARS_MAX], prefix[2 + TSIG_MAC_MAX], mac[TSIG_MAC_MAX];
	uint8_t keyw[WIRE_NAME_MAX], algw[WIRE_NAME_MAX];
	const uint8_t *other, *body;
	size_t pos = 0, len, kl, al, nv, ml, otherlen;
	unsigned fudge, error, macmode;
	int16_t delta;

	if (n < 8)
		return 0;
	delta = (int16_t)get16(in);
	fudge = get16(in + 2);
	error = get16(in + 4);
	otherlen = in[6];
	if (n < 8 + otherlen)
		return 0;
	other = in + 7;
	macmode = in[7 + otherlen] % 3;
	body = in + 8 + otherlen;
	len = n - 8 - otherlen;
	if (len < DNS_HEADER)
		return 0;
	nv = tsig_vars(k, FUZZ_NOW + (int64_t)delta * 16, fudge, error, other,
	    (unsigned)otherlen, vars, sizeof(vars));
	put16(prefix, (unsigned)req_maclen);
	memcpy(prefix + 2, req_mac, req_maclen);
	if (nv == 0 || hmac3(k, prefix, 2 + req_maclen, body, len, vars, nv, mac, &ml) == -1)
		return 0;
	if (macmode == 1)
		mac[0] ^= 1;
	else if (macmode == 2)
		ml--;
	kl = name_to_wire(k->name, keyw, sizeof(keyw));
	al = name_to_wire(k->alg, algw, sizeof(algw));
	if (len + kl + 10 + al + 16 + ml + otherlen > max)
		return 0;
	memcpy(out, body, len);
	put16(out + 10, get16(out + 10) + 1);
	pos = len;
	memcpy(out + pos, keyw, kl);
	pos += kl;
	put16(out + pos, TSIG_RR_TYPE);
	put16(out + pos + 2, CLASS_ANY);
	memset(out + pos + 4, 0, 4);
	put16(out + pos + 8, (unsigned)(al + 16 + ml + otherlen));
	pos += 10;
	memcpy(out + pos, algw, al);
	pos += al;
	put48(out + pos, FUZZ_NOW + (int64_t)delta * 16);
	put16(out + pos + 6, fudge);
	put16(out + pos + 8, (unsigned)ml);
	pos += 10;
	memcpy(out + pos, mac, ml);
	pos += ml;
	memcpy(out + pos, body, 2);
	put16(out + pos + 2, error);
	put16(out + pos + 4, (unsigned)otherlen);
	pos += 6;
	memcpy(out + pos, other, otherlen);
	return pos + otherlen;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const struct tsig_key *k;
	const uint8_t *req_mac;
	uint8_t *msg = NULL;
	size_t req_maclen, len, n;
	unsigned err;
	const char *why;
	int built, rc;

	if (size < 2)
		return 0;
	k = &keys[(data[0] & 7) % NALGS];
	built = (data[0] & 8) != 0;
	req_maclen = data[1] % (TSIG_MAC_MAX + 1);
	if (size < 2 + req_maclen)
		return 0;
	req_mac = data + 2;
	data += 2 + req_maclen;
	size -= 2 + req_maclen;
	if (!built) {
		/* a copy of exactly size octets, so that ASan sees every overread */
		if ((msg = malloc(size ? size : 1)) == NULL)
			return 0;
		memcpy(msg, data, size);
		len = size;
	} else {
		n = size + 2 * WIRE_NAME_MAX + 64 + TSIG_MAC_MAX;
		if ((msg = malloc(n)) == NULL)
			return 0;
		if ((len = build(k, data, size, req_mac, req_maclen, msg, n)) == 0)
			goto out;
	}
	rc = tsig_verify(k, msg, len, req_mac, req_maclen, FUZZ_NOW, &err, &why);
	if (rc != 0 && why == NULL)
		abort();
	(void)tsig_error_name(err);
out:
	free(msg);
	return 0;
}
