/*
 * TSIG (RFC 8945) signing and verification of whole DNS messages.
 *
 * ldns 1.8 signs only hmac-md5, -sha1, -sha256 and -sha512 (its SHA-384
 * entry is misspelt) and has no hmac-sha224, so dns01 computes TSIG itself
 * with OpenSSL's HMAC (already loaded by ldns and libcurl).  A tsig_key
 * holds the decoded secret; wipe it with tsig_key_clear().
 */
#ifndef DNS01_TSIG_H
#define DNS01_TSIG_H

#include <stddef.h>
#include <stdint.h>

#include "name.h"

#define TSIG_FUDGE		300	/* seconds of clock skew allowed */
#define TSIG_SECRET_MAX		128	/* decoded octets */
#define TSIG_MAC_MAX		64	/* SHA-512 */
#define TSIG_RR_TYPE		250
#define TSIG_BADSIG		16
#define TSIG_BADKEY		17
#define TSIG_BADTIME		18
#define TSIG_BADTRUNC		22

struct tsig_key {
	char	name[NAME_BUF];		/* canonical key name */
	const char *alg;		/* canonical algorithm name, e.g. "hmac-sha256" */
	const void *md;			/* OpenSSL EVP_MD */
	uint8_t	secret[TSIG_SECRET_MAX];
	size_t	secret_len;
};

/*
 * Set up a key from its name, algorithm (hmac-md5, hmac-sha1, hmac-sha224,
 * hmac-sha256, hmac-sha384, hmac-sha512; case and a trailing dot ignored)
 * and base64 secret.  Returns 0, or -1 with *why (never containing the secret).
 */
int	tsig_key_init(struct tsig_key *k, const char *name, const char *alg,
    const char *secret_b64, const char **why);
void	tsig_key_clear(struct tsig_key *k);

/*
 * Sign msg (a complete DNS message without TSIG) at time now: writes the
 * signed message to *out (malloc'd; caller frees) and the request MAC to
 * mac/maclen (TSIG_MAC_MAX bytes) for verifying the answer.  0 or -1.
 */
int	tsig_sign(const struct tsig_key *k, const uint8_t *msg, size_t len, uint64_t now,
    uint8_t **out, size_t *outlen, uint8_t *mac, size_t *maclen);

/*
 * Verify the TSIG of an answer to a request whose MAC is req_mac.  Returns 0
 * when signed correctly by k; -1 otherwise with *why, and *tsig_error set to
 * the answer's TSIG error field (BADSIG, BADKEY, BADTIME) or 0.
 */
int	tsig_verify(const struct tsig_key *k, const uint8_t *msg, size_t len,
    const uint8_t *req_mac, size_t req_maclen, uint64_t now, unsigned *tsig_error,
    const char **why);

/* "BADSIG", "BADKEY", ... for a TSIG error code. */
const char *tsig_error_name(unsigned err);

#endif
