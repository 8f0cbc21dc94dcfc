/* Domain-name and TXT-value checks; see name.h. */
#include <string.h>

#include <openssl/evp.h>

#include "name.h"

static int
is_ldh(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || c == '-' || c == '_';
}

static int
lower(int c)
{
	return (c >= 'A' && c <= 'Z') ? c - 'A' + 'a' : c;
}

int
name_check(const char *in, int allow_wildcard, char *out, const char **why)
{
	size_t len, i, label = 0, o = 0;

	if (in == NULL || *in == '\0') {
		*why = "empty name";
		return -1;
	}
	len = strlen(in);
	if (len > 1 && in[len - 1] == '.')
		len--;
	if (len > NAME_MAX_LEN) {
		*why = "name longer than 253 octets";
		return -1;
	}
	if (in[0] == '*') {
		if (!allow_wildcard) {
			*why = "wildcard not allowed here";
			return -1;
		}
		if (len < 3 || in[1] != '.') {
			*why = "'*' must be a whole leftmost label ('*.example.com')";
			return -1;
		}
		out[o++] = '*';
		out[o++] = '.';
		i = 2;
	} else
		i = 0;
	for (; i < len; i++) {
		int c = (unsigned char)in[i];

		if (c == '.') {
			if (label == 0) {
				*why = "empty label ('..' or a leading dot)";
				return -1;
			}
			if (in[i - 1] == '-') {
				*why = "label ends with '-'";
				return -1;
			}
			label = 0;
			out[o++] = '.';
			continue;
		}
		if (c >= 0x80) {
			*why = "non-ASCII name: give IDNs as A-labels (xn--...)";
			return -1;
		}
		if (!is_ldh(c)) {
			*why = c == '*' ? "'*' allowed only as the whole leftmost label" :
			    "character not allowed in a host name (letters, digits, '-', '_')";
			return -1;
		}
		if (label == 0 && c == '-') {
			*why = "label starts with '-'";
			return -1;
		}
		if (++label > LABEL_MAX_LEN) {
			*why = "label longer than 63 octets";
			return -1;
		}
		out[o++] = (char)lower(c);
	}
	if (label == 0) {
		*why = "empty label ('..' or a leading dot)";
		return -1;
	}
	if (in[len - 1] == '-') {
		*why = "label ends with '-'";
		return -1;
	}
	out[o] = '\0';
	return 0;
}

int
name_challenge(const char *domain, char *out, const char **why)
{
	char tmp[NAME_BUF];
	const char *base;
	size_t need;

	if (name_check(domain, 1, tmp, why) == -1)
		return -1;
	base = (tmp[0] == '*') ? tmp + 2 : tmp;
	need = strlen(CHALLENGE_LABEL) + 1 + strlen(base);
	if (need > NAME_MAX_LEN) {
		*why = "_acme-challenge.<name> would be longer than 253 octets";
		return -1;
	}
	memcpy(out, CHALLENGE_LABEL ".", strlen(CHALLENGE_LABEL) + 1);
	memcpy(out + strlen(CHALLENGE_LABEL) + 1, base, strlen(base) + 1);
	return 0;
}

const char *
name_parent(const char *name)
{
	const char *dot = strchr(name, '.');

	return dot ? dot + 1 : NULL;
}

int
name_is_under(const char *name, const char *zone)
{
	size_t n = strlen(name), z = strlen(zone);

	if (z == 0)
		return 1;
	if (n == z)
		return strcmp(name, zone) == 0;
	if (n < z + 1)
		return 0;
	return name[n - z - 1] == '.' && strcmp(name + n - z, zone) == 0;
}

int
value_check_acme(const char *v, const char **why)
{
	size_t i;

	if (v == NULL || *v == '\0') {
		*why = "empty validation value";
		return -1;
	}
	for (i = 0; v[i] != '\0'; i++) {
		int c = (unsigned char)v[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || c == '-' || c == '_')) {
			*why = "validation value is not base64url (A-Z a-z 0-9 - _)";
			return -1;
		}
	}
	if (i != ACME_VALUE_LEN) {
		*why = "validation value must be exactly 43 characters";
		return -1;
	}
	return 0;
}

int
value_from_keyauth(const char *token, const char *keyauth, char *out, const char **why)
{
	static const char b64url[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0, i, bits = 0, acc = 0;
	size_t len, tlen, o = 0;
	const char *p;

	if (token == NULL || keyauth == NULL || (tlen = strlen(token)) == 0) {
		*why = "empty token";
		return -1;
	}
	len = strlen(keyauth);
	if (len > KEYAUTH_MAX) {
		*why = "key authorization too long";
		return -1;
	}
	for (p = token; *p != '\0'; p++)
		if (!is_ldh(*p) || *p == '.') {
			*why = "token is not base64url";
			return -1;
		}
	if (len < tlen + 2 || strncmp(keyauth, token, tlen) != 0 || keyauth[tlen] != '.') {
		*why = "key authorization does not start with the token and a '.'";
		return -1;
	}
	for (p = keyauth + tlen + 1; *p != '\0'; p++)
		if (!is_ldh(*p) || *p == '.') {
			*why = "key authorization thumbprint is not base64url";
			return -1;
		}
	if (EVP_Digest(keyauth, len, md, &mdlen, EVP_sha256(), NULL) != 1 || mdlen != 32) {
		*why = "SHA-256 failed";
		return -1;
	}
	/* base64url without padding: 32 octets give exactly ACME_VALUE_LEN characters. */
	for (i = 0; i < mdlen; i++) {
		acc = (acc << 8) | md[i];
		for (bits += 8; bits >= 6; bits -= 6)
			out[o++] = b64url[(acc >> (bits - 6)) & 0x3f];
	}
	if (bits > 0)
		out[o++] = b64url[(acc << (6 - bits)) & 0x3f];
	out[o] = '\0';
	return 0;
}

int
value_check_txt(const char *v, const char **why)
{
	size_t i;

	if (v == NULL || *v == '\0') {
		*why = "empty TXT value";
		return -1;
	}
	for (i = 0; v[i] != '\0'; i++) {
		int c = (unsigned char)v[i];

		if (c < 0x20 || c > 0x7e) {
			*why = "TXT value must be printable ASCII";
			return -1;
		}
	}
	if (i > TXT_STRING_MAX) {
		*why = "TXT value longer than 255 octets";
		return -1;
	}
	return 0;
}
