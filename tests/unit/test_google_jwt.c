/*
 * Unit tests for the Google service account JWT (providers/google_jwt.c):
 * base64url without padding (RFC 4648 §10 vectors, '-' and '_'), and a JWT
 * whose header and claims are what google-auth sends and whose RS256
 * signature verifies with the key's public half (and not with another key).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>

#include "../../providers/google_jwt.h"
#include "unit.h"

#define NOW	1700000000

/* The RFC 4648 §10 vectors, unpadded, and the two URL-safe characters. */
static void
test_b64url(void **state)
{
	static const struct { const char *in; size_t n; const char *out; } v[] = {
		{ "", 0, "" }, { "f", 1, "Zg" }, { "fo", 2, "Zm8" }, { "foo", 3, "Zm9v" },
		{ "foob", 4, "Zm9vYg" }, { "fooba", 5, "Zm9vYmE" }, { "foobar", 6, "Zm9vYmFy" },
		{ "\xfb\xff", 2, "-_8" },
	};
	size_t i;
	char *s;

	(void)state;
	for (i = 0; i < UNIT_NELEM(v); i++) {
		s = google_b64url((const unsigned char *)v[i].in, v[i].n);
		assert_non_null(s);
		assert_string_equal(s, v[i].out);
		free(s);
	}
}

/* Decode one base64url part (len octets) into a new NUL-terminated buffer. */
static unsigned char *
unb64url(const char *p, size_t len, size_t *outlen)
{
	char *padded = calloc(1, len + 4);
	unsigned char *out = calloc(1, len + 4);
	size_t i, n = len;
	int r;

	assert_non_null(padded);
	assert_non_null(out);
	for (i = 0; i < len; i++)
		padded[i] = p[i] == '-' ? '+' : p[i] == '_' ? '/' : p[i];
	while (n % 4 != 0)
		padded[n++] = '=';
	r = EVP_DecodeBlock(out, (unsigned char *)padded, (int)n);
	assert_true(r >= 0);
	*outlen = (size_t)r - (len % 4 == 2 ? 2 : len % 4 == 3 ? 1 : 0);
	out[*outlen] = '\0';
	free(padded);
	return out;
}

static EVP_PKEY *
rsa_key(void)
{
	EVP_PKEY_CTX *c = EVP_PKEY_CTX_new_id(EVP_PKEY_RSA, NULL);
	EVP_PKEY *k = NULL;

	assert_non_null(c);
	assert_int_equal(EVP_PKEY_keygen_init(c), 1);
	assert_int_equal(EVP_PKEY_CTX_set_rsa_keygen_bits(c, 2048), 1);
	assert_int_equal(EVP_PKEY_keygen(c, &k), 1);
	EVP_PKEY_CTX_free(c);
	return k;
}

static int
verifies(EVP_PKEY *k, const char *input, size_t len, const unsigned char *sig, size_t siglen)
{
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	int ok;

	assert_non_null(md);
	ok = EVP_DigestVerifyInit(md, NULL, EVP_sha256(), NULL, k) == 1 &&
	    EVP_DigestVerify(md, sig, siglen, (const unsigned char *)input, len) == 1;
	EVP_MD_CTX_free(md);
	return ok;
}

/* Header, claims and an RS256 signature that verifies. */
static void
test_jwt(void **state)
{
	EVP_PKEY *k = rsa_key(), *other = rsa_key();
	const char *alg, *typ, *kid, *iss, *scope, *aud;
	json_int_t iat, exp;
	char *jwt, *dot1, *dot2;
	unsigned char *hdr, *claims, *sig;
	size_t n;
	json_t *j;

	(void)state;
	jwt = google_jwt(k, "sa@p.iam.gserviceaccount.com", "kid1", "https://t.example/token",
	    "https://www.googleapis.com/auth/ndev.clouddns.readwrite", NOW);
	assert_non_null(jwt);
	assert_null(strpbrk(jwt, "+/= "));
	assert_non_null(dot1 = strchr(jwt, '.'));
	assert_non_null(dot2 = strchr(dot1 + 1, '.'));
	assert_null(strchr(dot2 + 1, '.'));
	hdr = unb64url(jwt, (size_t)(dot1 - jwt), &n);
	assert_non_null(j = json_loads((char *)hdr, 0, NULL));
	assert_int_equal(json_unpack(j, "{s:s, s:s, s:s}", "alg", &alg, "typ", &typ, "kid",
	    &kid), 0);
	assert_string_equal(alg, "RS256");
	assert_string_equal(typ, "JWT");
	assert_string_equal(kid, "kid1");
	json_decref(j);
	claims = unb64url(dot1 + 1, (size_t)(dot2 - dot1 - 1), &n);
	assert_non_null(j = json_loads((char *)claims, 0, NULL));
	assert_int_equal(json_unpack(j, "{s:s, s:s, s:s, s:I, s:I}", "iss", &iss, "scope",
	    &scope, "aud", &aud, "iat", &iat, "exp", &exp), 0);
	assert_string_equal(iss, "sa@p.iam.gserviceaccount.com");
	assert_string_equal(aud, "https://t.example/token");
	assert_string_equal(scope, "https://www.googleapis.com/auth/ndev.clouddns.readwrite");
	assert_int_equal(iat, NOW);
	assert_int_equal(exp, NOW + GOOGLE_JWT_LIFETIME);
	json_decref(j);
	sig = unb64url(dot2 + 1, strlen(dot2 + 1), &n);
	assert_int_equal(n, 256);
	assert_true(verifies(k, jwt, (size_t)(dot2 - jwt), sig, n));
	assert_false(verifies(other, jwt, (size_t)(dot2 - jwt), sig, n));
	free(hdr);
	free(claims);
	free(sig);
	free(jwt);
	jwt = google_jwt(k, "a@b", NULL, "https://t", "s", NOW);
	assert_non_null(jwt);
	hdr = unb64url(jwt, strcspn(jwt, "."), &n);
	assert_null(strstr((char *)hdr, "kid"));
	free(hdr);
	free(jwt);
	EVP_PKEY_free(k);
	EVP_PKEY_free(other);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_b64url),
		cmocka_unit_test(test_jwt),
	};

	return cmocka_run_group_tests_name("google_jwt", tests, NULL, NULL);
}
