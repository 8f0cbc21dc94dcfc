/* The JWT of a Google service account (google_jwt.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <openssl/err.h>
#include <openssl/evp.h>

#include "google_jwt.h"

char *
google_b64url(const unsigned char *in, size_t n)
{
	char *out = malloc(4 * ((n + 2) / 3) + 1);
	size_t i, len;

	if (out == NULL)
		return NULL;
	EVP_EncodeBlock((unsigned char *)out, in, (int)n);
	len = strlen(out);
	while (len > 0 && out[len - 1] == '=')
		out[--len] = '\0';
	for (i = 0; i < len; i++)
		out[i] = out[i] == '+' ? '-' : out[i] == '/' ? '_' : out[i];
	return out;
}

/* base64url of a JSON object, compact (j may be NULL: returns NULL). */
static char *
b64url_json(json_t *j)
{
	char *text = j != NULL ? json_dumps(j, JSON_COMPACT) : NULL, *out;

	if (text == NULL)
		return NULL;
	out = google_b64url((unsigned char *)text, strlen(text));
	free(text);
	return out;
}

char *
google_jwt(EVP_PKEY *key, const char *iss, const char *kid, const char *aud,
    const char *scope, time_t now)
{
	json_t *hdr = NULL, *claims = NULL;
	char *h = NULL, *c = NULL, *input = NULL, *sig64 = NULL, *jwt = NULL;
	unsigned char *sig = NULL;
	size_t siglen = 0, len, total;
	EVP_MD_CTX *md = NULL;

	hdr = kid != NULL ? json_pack("{s:s, s:s, s:s}", "alg", "RS256", "typ", "JWT", "kid",
	    kid) : json_pack("{s:s, s:s}", "alg", "RS256", "typ", "JWT");
	claims = json_pack("{s:s, s:s, s:s, s:I, s:I}", "iss", iss, "scope", scope, "aud", aud,
	    "iat", (json_int_t)now, "exp", (json_int_t)(now + GOOGLE_JWT_LIFETIME));
	if ((h = b64url_json(hdr)) == NULL || (c = b64url_json(claims)) == NULL)
		goto out;
	len = strlen(h) + 1 + strlen(c);
	if ((input = malloc(len + 1)) == NULL)
		goto out;
	snprintf(input, len + 1, "%s.%s", h, c);
	if ((md = EVP_MD_CTX_new()) == NULL ||
	    EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, key) != 1 ||
	    EVP_DigestSign(md, NULL, &siglen, (unsigned char *)input, len) != 1 ||
	    (sig = malloc(siglen)) == NULL ||
	    EVP_DigestSign(md, sig, &siglen, (unsigned char *)input, len) != 1 ||
	    (sig64 = google_b64url(sig, siglen)) == NULL) {
		ERR_clear_error();
		goto out;
	}
	total = len + 1 + strlen(sig64) + 1;
	if ((jwt = malloc(total)) != NULL)
		snprintf(jwt, total, "%s.%s", input, sig64);
out:
	EVP_MD_CTX_free(md);
	json_decref(hdr);
	json_decref(claims);
	free(h);
	free(c);
	free(input);
	free(sig);
	free(sig64);
	return jwt;
}
