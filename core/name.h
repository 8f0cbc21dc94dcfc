/*
 * Domain-name and TXT-value checks.  Everything that comes from a hook, the
 * command line or the environment passes through here before any packet is
 * sent.  Names are kept in one canonical text form: lower case, no trailing
 * dot, at most NAME_MAX_LEN octets.
 */
#ifndef DNS01_NAME_H
#define DNS01_NAME_H

#include <stddef.h>

#define NAME_MAX_LEN	253	/* octets of a name in text form, no trailing dot */
#define LABEL_MAX_LEN	63	/* octets per label */
#define NAME_BUF	(NAME_MAX_LEN + 2)
#define ACME_VALUE_LEN	43	/* base64url(SHA-256), no padding */
#define TXT_STRING_MAX	255	/* octets of one TXT character-string */
#define VALUE_BUF	(TXT_STRING_MAX + 1)
#define CHALLENGE_LABEL	"_acme-challenge"

/*
 * Check a domain name and write its canonical form to out (NAME_BUF bytes).
 * Labels are letters, digits, '-' (not first or last) and '_'; IDNs must be
 * A-labels already.  One trailing dot is accepted.  With allow_wildcard a
 * leading "*." is accepted and kept.  Returns 0, or -1 with *why set to a
 * static reason.
 */
int	name_check(const char *in, int allow_wildcard, char *out, const char **why);

/*
 * The challenge name of a domain: "_acme-challenge.<domain>" with a leading
 * "*." dropped.  The domain is checked as by name_check.  Returns 0 or -1.
 */
int	name_challenge(const char *domain, char *out, const char **why);

/* The name without its first label, or NULL for a single label. */
const char *name_parent(const char *name);

/* 1 when name equals zone or lies below it (both canonical), else 0. */
int	name_is_under(const char *name, const char *zone);

/* Check an ACME value: exactly ACME_VALUE_LEN base64url characters. */
int	value_check_acme(const char *v, const char **why);

/*
 * The DNS-01 value of a key authorization ("TOKEN.THUMBPRINT", RFC 8555
 * §8.1): base64url(SHA-256(keyauth)) without padding, written to out
 * (VALUE_BUF bytes).  The key authorization must be base64url text with one
 * '.', at most KEYAUTH_MAX octets, starting with token + ".".  Returns 0, or
 * -1 with *why set.
 */
#define KEYAUTH_MAX	512
int	value_from_keyauth(const char *token, const char *keyauth, char *out,
    const char **why);

/* Check a standalone TXT value: 1..TXT_STRING_MAX printable ASCII octets. */
int	value_check_txt(const char *v, const char **why);

#endif
