/*
 * The signed JWT a Google service account trades for an OAuth access token
 * (RFC 7523 §2.1; RS256: RFC 7518 §3.3), built with libcrypto.  Pure: no
 * I/O, unit-tested in tests/unit/test_google_jwt.c.
 *
 * Both functions return a new string the caller frees (wiping a JWT first:
 * it is a credential for an hour), or NULL when out of memory or when
 * libcrypto fails.
 */
#ifndef DNS01_GOOGLE_JWT_H
#define DNS01_GOOGLE_JWT_H

#include <stddef.h>
#include <time.h>

#include <openssl/evp.h>

#define GOOGLE_JWT_LIFETIME	3600	/* s; the most Google accepts (google-auth
					   _DEFAULT_TOKEN_LIFETIME_SECS) */

/* base64url without padding (RFC 7515 §2) of in[0..n-1]. */
char	*google_b64url(const unsigned char *in, size_t n);

/*
 * header.claims.signature: header {"alg": "RS256", "typ": "JWT"[, "kid":
 * kid]}, claims {"iss": iss, "scope": scope, "aud": aud, "iat": now,
 * "exp": now + GOOGLE_JWT_LIFETIME} (google-auth service_account.py
 * _make_authorization_grant_assertion), signed with the RSA key.  kid may
 * be NULL.
 */
char	*google_jwt(EVP_PKEY *key, const char *iss, const char *kid, const char *aud,
    const char *scope, time_t now);

#endif
