/*
 * Unit tests for core/name.[ch]: name_check, name_challenge, name_parent,
 * name_is_under, value_check_acme, value_check_txt.
 *
 * Table-driven: every row of every table becomes one cmocka test, named
 * after the row, so a failure says exactly which input misbehaved.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "unit.h"

#include "../../core/name.h"

/* Placeholders expanded at run time to long inputs (see expand()). */
#define L63	"@L63@"		/* 63 x 'a' */
#define L64	"@L64@"		/* 64 x 'a' */
#define N253	"@N253@"	/* a 253-octet name */
#define N254	"@N254@"	/* a 254-octet name */
#define N237	"@N237@"	/* a 237-octet name: _acme-challenge. + it = 253 */
#define N238	"@N238@"	/* a 238-octet name: _acme-challenge. + it = 254 */
#define V255	"@V255@"	/* 255 printable octets */
#define V256	"@V256@"	/* 256 printable octets */

/* A name of exactly n octets (n >= 3): labels of 'a'..'z' runs, max 63 each. */
static void
make_name(char *out, size_t n, char fill)
{
	size_t o = 0;

	while (o < n) {
		size_t left = n - o, lab = left > 63 ? 63 : left;

		/* never leave a final fragment that would need an empty label */
		if (left > 63 && left - 63 < 2)
			lab = 61;
		memset(out + o, fill, lab);
		o += lab;
		if (o < n)
			out[o++] = '.';
	}
	out[o] = '\0';
}

/*
 * Expand the placeholders above into buf.  Only one placeholder per string,
 * with optional literal text before and after.
 */
static const char *
expand(const char *in, char *buf, size_t max)
{
	static const struct {
		const char *tag;
		int kind;	/* 0: label of 'a', 1: name, 2: printable run */
		size_t n;
	} tags[] = {
		{ L63, 0, 63 }, { L64, 0, 64 }, { N253, 1, 253 }, { N254, 1, 254 },
		{ N237, 1, 237 }, { N238, 1, 238 }, { V255, 2, 255 }, { V256, 2, 256 },
	};
	const char *at;
	size_t i, pre;

	if (in == NULL)
		return NULL;
	for (i = 0; i < sizeof(tags) / sizeof(tags[0]); i++) {
		if ((at = strstr(in, tags[i].tag)) == NULL)
			continue;
		pre = (size_t)(at - in);
		assert_true(pre + tags[i].n + strlen(at + strlen(tags[i].tag)) + 1 <= max);
		memcpy(buf, in, pre);
		if (tags[i].kind == 0) {
			memset(buf + pre, 'a', tags[i].n);
			buf[pre + tags[i].n] = '\0';
		} else if (tags[i].kind == 1)
			make_name(buf + pre, tags[i].n, 'b');
		else {
			size_t j;

			for (j = 0; j < tags[i].n; j++)
				buf[pre + j] = (char)(0x20 + j % 95);	/* ' ' .. '~' */
			buf[pre + tags[i].n] = '\0';
		}
		assert_true(strlen(buf) + strlen(at + strlen(tags[i].tag)) < max);
		memcpy(buf + strlen(buf), at + strlen(tags[i].tag),
		    strlen(at + strlen(tags[i].tag)) + 1);
		return buf;
	}
	assert_true(strlen(in) < max);
	memcpy(buf, in, strlen(in) + 1);
	return buf;
}

/* ------------------------------------------------------------------ name_check */

struct name_case {
	const char *desc;
	const char *in;
	int wildcard;
	int ok;
	const char *want;	/* ok: canonical output; fail: substring of why */
};

static const struct name_case name_cases[] = {
	/* valid */
	{ "plain LDH", "example.com", 0, 1, "example.com" },
	{ "digits and hyphens", "a-1.b-2.example-3.com", 0, 1, "a-1.b-2.example-3.com" },
	{ "single label", "localhost", 0, 1, "localhost" },
	{ "underscore label", "_acme-challenge.example.com", 0, 1, "_acme-challenge.example.com" },
	{ "underscore inside label", "_dmarc.sub_domain.example.com", 0, 1,
	  "_dmarc.sub_domain.example.com" },
	{ "trailing dot dropped", "example.com.", 0, 1, "example.com" },
	{ "upper case lowered", "WWW.Example.COM", 0, 1, "www.example.com" },
	{ "upper case + trailing dot", "Example.Com.", 0, 1, "example.com" },
	{ "A-label", "xn--bcher-kva.example", 0, 1, "xn--bcher-kva.example" },
	{ "A-label upper case", "XN--BCHER-KVA.Example", 0, 1, "xn--bcher-kva.example" },
	{ "63-octet label", L63 ".com", 0, 1, L63 ".com" },
	{ "253-octet name", N253, 0, 1, N253 },
	{ "253-octet name + trailing dot", N253 ".", 0, 1, N253 },
	{ "wildcard allowed", "*.example.com", 1, 1, "*.example.com" },
	{ "wildcard upper case + dot", "*.EXAMPLE.com.", 1, 1, "*.example.com" },
	{ "wildcard flag, plain name", "example.com", 1, 1, "example.com" },
	/* invalid */
	{ "empty", "", 0, 0, "empty name" },
	{ "NULL", NULL, 0, 0, "empty name" },
	{ "root dot only", ".", 0, 0, "empty label" },
	{ "double dot", "a..example.com", 0, 0, "empty label" },
	{ "leading dot", ".example.com", 0, 0, "empty label" },
	{ "two trailing dots", "example.com..", 0, 0, "empty label" },
	{ "64-octet label", L64 ".com", 0, 0, "label longer than 63" },
	{ "64-octet last label", "x." L64, 0, 0, "label longer than 63" },
	{ "254-octet name", N254, 0, 0, "longer than 253" },
	{ "non-ASCII UTF-8 (U-label)", "b\xc3\xbc" "cher.example", 0, 0, "non-ASCII" },
	{ "non-ASCII last octet", "example.co\xc3\xa9", 0, 0, "non-ASCII" },
	{ "space", "exa mple.com", 0, 0, "not allowed" },
	{ "tab", "exa\tmple.com", 0, 0, "not allowed" },
	{ "semicolon", "a;b.example.com", 0, 0, "not allowed" },
	{ "dollar", "a$b.example.com", 0, 0, "not allowed" },
	{ "backtick", "a`id`.example.com", 0, 0, "not allowed" },
	{ "pipe", "a|b.example.com", 0, 0, "not allowed" },
	{ "slash", "a/b.example.com", 0, 0, "not allowed" },
	{ "newline", "example.com\nx", 0, 0, "not allowed" },
	{ "wildcard not allowed", "*.example.com", 0, 0, "wildcard not allowed" },
	{ "star inside label", "a*.example.com", 1, 0, "'*'" },
	{ "star not leftmost", "www.*.example.com", 1, 0, "'*'" },
	{ "star as last label", "example.*", 1, 0, "'*'" },
	{ "star glued to label", "*a.example.com", 1, 0, "'*'" },
	{ "double wildcard", "*.*.example.com", 1, 0, "'*'" },
	{ "star alone", "*", 1, 0, "'*'" },
	{ "star dot only", "*.", 1, 0, "'*'" },
	{ "label starts with -", "-a.example.com", 0, 0, "starts with '-'" },
	{ "inner label starts with -", "a.-b.example.com", 0, 0, "starts with '-'" },
	{ "label ends with -", "a-.example.com", 0, 0, "ends with '-'" },
	{ "last label ends with -", "example.com-", 0, 0, "ends with '-'" },
	{ "last label ends with - + dot", "example.com-.", 0, 0, "ends with '-'" },
	{ "label is only -", "a.-.com", 0, 0, "'-'" },
};

static void
test_name_check_case(void **state)
{
	const struct name_case *c = *state;
	char inbuf[600], wantbuf[600], out[NAME_BUF];
	const char *in = expand(c->in, inbuf, sizeof(inbuf));
	const char *want = expand(c->want, wantbuf, sizeof(wantbuf));
	const char *why = NULL;
	int rc;

	memset(out, 'Z', sizeof(out));
	rc = name_check(in, c->wildcard, out, &why);
	if (c->ok) {
		if (rc != 0)
			print_error("name_check(\"%s\") failed: %s\n", c->desc, why ? why : "?");
		assert_int_equal(rc, 0);
		assert_string_equal(out, want);
		assert_true(strlen(out) <= NAME_MAX_LEN);
	} else {
		assert_int_equal(rc, -1);
		assert_non_null(why);
		if (strstr(why, want) == NULL)
			print_error("why = \"%s\", wanted it to mention \"%s\"\n", why, want);
		assert_non_null(strstr(why, want));
	}
}

/* -------------------------------------------------------------- name_challenge */

struct chal_case {
	const char *desc;
	const char *in;
	int ok;
	const char *want;	/* ok: output; fail: substring of why (or NULL: any) */
};

static const struct chal_case chal_cases[] = {
	{ "plain", "example.com", 1, "_acme-challenge.example.com" },
	{ "wildcard dropped", "*.example.com", 1, "_acme-challenge.example.com" },
	{ "canonicalised", "WWW.Example.Com.", 1, "_acme-challenge.www.example.com" },
	{ "wildcard + upper + dot", "*.Sub.EXAMPLE.com.", 1, "_acme-challenge.sub.example.com" },
	{ "237-octet domain fits exactly", N237, 1, "_acme-challenge." N237 },
	{ "238-octet domain too long", N238, 0, "longer than 253" },
	{ "253-octet domain too long", N253, 0, "longer than 253" },
	{ "wildcard + 238 too long", "*." N238, 0, "longer than 253" },
	{ "invalid domain", "a..b", 0, "empty label" },
	{ "empty domain", "", 0, "empty name" },
	{ "star in the middle", "a.*.example.com", 0, "'*'" },
};

static void
test_name_challenge_case(void **state)
{
	const struct chal_case *c = *state;
	char inbuf[600], wantbuf[600], out[NAME_BUF];
	const char *in = expand(c->in, inbuf, sizeof(inbuf));
	const char *want = expand(c->want, wantbuf, sizeof(wantbuf));
	const char *why = NULL;
	int rc;

	rc = name_challenge(in, out, &why);
	if (c->ok) {
		if (rc != 0)
			print_error("name_challenge failed: %s\n", why ? why : "?");
		assert_int_equal(rc, 0);
		assert_string_equal(out, want);
		assert_true(strlen(out) <= NAME_MAX_LEN);
	} else {
		assert_int_equal(rc, -1);
		assert_non_null(why);
		if (strstr(why, want) == NULL)
			print_error("why = \"%s\", wanted \"%s\"\n", why, want);
		assert_non_null(strstr(why, want));
	}
}

/* ----------------------------------------------------------------- name_parent */

struct parent_case {
	const char *desc;
	const char *in;
	const char *want;	/* NULL: no parent */
};

static const struct parent_case parent_cases[] = {
	{ "three labels", "www.example.com", "example.com" },
	{ "two labels", "example.com", "com" },
	{ "challenge name", "_acme-challenge.a.example.com", "a.example.com" },
	{ "wildcard", "*.example.com", "example.com" },
	{ "single label", "com", NULL },
};

static void
test_name_parent_case(void **state)
{
	const struct parent_case *c = *state;
	const char *p = name_parent(c->in);

	if (c->want == NULL) {
		assert_null(p);
		return;
	}
	assert_non_null(p);
	assert_string_equal(p, c->want);
	/* a pointer into the argument, not a copy */
	assert_ptr_equal(p, c->in + strlen(c->in) - strlen(c->want));
}

/* --------------------------------------------------------------- name_is_under */

struct under_case {
	const char *desc;
	const char *name;
	const char *zone;
	int want;
};

static const struct under_case under_cases[] = {
	{ "equal", "example.com", "example.com", 1 },
	{ "equal single label", "com", "com", 1 },
	{ "one below", "www.example.com", "example.com", 1 },
	{ "deep below", "_acme-challenge.a.b.example.com", "example.com", 1 },
	{ "below a TLD", "example.com", "com", 1 },
	{ "string suffix, not a label boundary", "badexample.com", "example.com", 0 },
	{ "string suffix with hyphen", "my-example.com", "example.com", 0 },
	{ "zone below name", "example.com", "www.example.com", 0 },
	{ "different TLD", "example.org", "example.com", 0 },
	{ "zone is prefix", "example.com.evil.net", "example.com", 0 },
	{ "same length, different", "example.net", "example.com", 0 },
	{ "one char longer no dot", "xexample.com", "example.com", 0 },
};

static void
test_name_is_under_case(void **state)
{
	const struct under_case *c = *state;

	assert_int_equal(name_is_under(c->name, c->zone), c->want);
}

/* ------------------------------------------------------------ value_check_acme */

#define ACME_OK	"LoqXcYV8q5ONbJQxbmR7SCTNo3tiAXDfowyjxAjEuX0"	/* 43 */

struct value_case {
	const char *desc;
	const char *in;
	int ok;
};

static const struct value_case acme_cases[] = {
	{ "43 base64url", ACME_OK, 1 },
	{ "43 with - and _", "abcdefghijklmnopqrstuvwxyz-_ABCDEFGHIJ01234", 1 },
	{ "all digits 43", "0123456789012345678901234567890123456789012", 1 },
	{ "42 chars", "LoqXcYV8q5ONbJQxbmR7SCTNo3tiAXDfowyjxAjEuX", 0 },
	{ "44 chars", ACME_OK "A", 0 },
	{ "44 chars with padding", ACME_OK "=", 0 },
	{ "plus (base64, not url)", "LoqXcYV8q5ONbJQxbmR7SCTNo3tiAXDfowyjxAjEu+0", 0 },
	{ "slash (base64, not url)", "LoqXcYV8q5ONbJQxbmR7SCTNo3tiAXDfowyjxAjEu/0", 0 },
	{ "equals at 43", "LoqXcYV8q5ONbJQxbmR7SCTNo3tiAXDfowyjxAjEuX=", 0 },
	{ "empty", "", 0 },
	{ "NULL", NULL, 0 },
	{ "space inside", "LoqXcYV8q5ONbJQxbmR7SCTNo3 iAXDfowyjxAjEuX0", 0 },
	{ "leading space", " oqXcYV8q5ONbJQxbmR7SCTNo3tiAXDfowyjxAjEuX0", 0 },
	{ "trailing newline", ACME_OK "\n", 0 },
	{ "non-ASCII", "LoqXcYV8q5ONbJQxbmR7SCTNo3tiAXDfowyjxAjE\xc3\xa9" "0", 0 },
	{ "quote", "LoqXcYV8q5ONbJQxbmR7SCTNo3tiAXDfowyjxAjEuX\"", 0 },
};

static void
test_value_acme_case(void **state)
{
	const struct value_case *c = *state;
	const char *why = NULL;
	int rc = value_check_acme(c->in, &why);

	if (c->ok) {
		if (rc != 0)
			print_error("rejected: %s\n", why ? why : "?");
		assert_int_equal(rc, 0);
	} else {
		assert_int_equal(rc, -1);
		assert_non_null(why);
		assert_true(strlen(why) > 0);
	}
}

/* ------------------------------------------------------------- value_check_txt */

static const struct value_case txt_cases[] = {
	{ "short word", "hello", 1 },
	{ "SPF-like with spaces", "v=spf1 include:_spf.example.com ~all", 1 },
	{ "single space", " ", 1 },
	{ "punctuation", "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~", 1 },
	{ "ACME value", ACME_OK, 1 },
	{ "255 octets", V255, 1 },
	{ "256 octets", V256, 0 },
	{ "empty", "", 0 },
	{ "NULL", NULL, 0 },
	{ "tab", "a\tb", 0 },
	{ "newline", "a\nb", 0 },
	{ "carriage return", "ab\r", 0 },
	{ "escape", "\x1b[31m", 0 },
	{ "DEL", "a\x7f", 0 },
	{ "non-ASCII UTF-8", "caf\xc3\xa9", 0 },
	{ "0x80", "\x80", 0 },
};

static void
test_value_txt_case(void **state)
{
	const struct value_case *c = *state;
	char buf[600];
	const char *in = expand(c->in, buf, sizeof(buf));
	const char *why = NULL;
	int rc = value_check_txt(in, &why);

	if (c->ok) {
		if (rc != 0)
			print_error("rejected: %s\n", why ? why : "?");
		assert_int_equal(rc, 0);
	} else {
		assert_int_equal(rc, -1);
		assert_non_null(why);
		assert_true(strlen(why) > 0);
	}
}

/* value_from_keyauth: expected values computed with Python's hashlib + base64. */
struct keyauth_case {
	const char *desc, *token, *keyauth, *want;	/* want NULL: rejected */
};

#define KA_TOKEN	"evaGxfADs6pSRb2LAv9IZf17Dt3juxGJ-PCt92wr-oA"
#define KA_THUMB	"9jg46WB3rR_AHD-EBXdN7cBkH1WOu0tA3M9fm21mqTI"

static const struct keyauth_case keyauth_cases[] = {
	{ "RFC 8555 style key authorization", KA_TOKEN, KA_TOKEN "." KA_THUMB,
	    "lCM7cZyQXcVHK2nnW3jjAhNT3Fvm18UN-kWZZknKoYM" },
	{ "short token", "a", "a.b", "LnM23I66h-9HLfVow1SCq_JXXcPl6sDFxiuP-urCyTQ" },
	{ "token does not match", "other", KA_TOKEN "." KA_THUMB, NULL },
	{ "no dot after the token", KA_TOKEN, KA_TOKEN KA_THUMB, NULL },
	{ "empty thumbprint", KA_TOKEN, KA_TOKEN ".", NULL },
	{ "two dots", "a", "a.b.c", NULL },
	{ "space in thumbprint", "a", "a.b c", NULL },
	{ "empty token", "", ".b", NULL },
	{ "token with a dot", "a.b", "a.b.c", NULL },
};

static void
test_keyauth_case(void **state)
{
	const struct keyauth_case *c = *state;
	char out[VALUE_BUF];
	const char *why = NULL;
	int rc = value_from_keyauth(c->token, c->keyauth, out, &why);

	if (c->want != NULL) {
		assert_int_equal(rc, 0);
		assert_string_equal(out, c->want);
		assert_int_equal(value_check_acme(out, &why), 0);
	} else {
		assert_int_equal(rc, -1);
		assert_non_null(why);
	}
}

static void
test_keyauth_too_long(void **state)
{
	char ka[KEYAUTH_MAX + 8], out[VALUE_BUF];
	const char *why = NULL;

	(void)state;
	memset(ka, 'b', sizeof(ka) - 1);
	ka[sizeof(ka) - 1] = '\0';
	ka[0] = 'a';
	ka[1] = '.';
	assert_int_equal(value_from_keyauth("a", ka, out, &why), -1);
	ka[KEYAUTH_MAX] = '\0';
	assert_int_equal(value_from_keyauth("a", ka, out, &why), 0);
}

/* A sanity test of the helpers themselves, so the long cases test what they say. */
static void
test_helpers(void **state)
{
	char buf[600];

	(void)state;
	assert_int_equal(strlen(expand(L63, buf, sizeof(buf))), 63);
	assert_int_equal(strlen(expand(L64, buf, sizeof(buf))), 64);
	assert_int_equal(strlen(expand(N253, buf, sizeof(buf))), 253);
	assert_null(strstr(buf, ".."));
	assert_int_equal(strlen(expand(N254, buf, sizeof(buf))), 254);
	assert_int_equal(strlen(expand(N237, buf, sizeof(buf))), 237);
	assert_int_equal(strlen(expand(N238, buf, sizeof(buf))), 238);
	assert_int_equal(strlen(expand("*." N238, buf, sizeof(buf))), 240);
	assert_int_equal(strlen(expand(V255, buf, sizeof(buf))), 255);
	assert_int_equal(strlen(expand(V256, buf, sizeof(buf))), 256);
	assert_int_equal(strlen(ACME_OK), ACME_VALUE_LEN);
}

/* -------------------------------------------------------------------- runner */

#define NELEM(a)	(sizeof(a) / sizeof((a)[0]))

int
main(void)
{
	size_t i;

	unit_add("helpers", "long inputs", test_helpers, NULL);
	for (i = 0; i < NELEM(name_cases); i++)
		unit_add("name_check", name_cases[i].desc, test_name_check_case, &name_cases[i]);
	for (i = 0; i < NELEM(chal_cases); i++)
		unit_add("name_challenge", chal_cases[i].desc, test_name_challenge_case,
		    &chal_cases[i]);
	for (i = 0; i < NELEM(parent_cases); i++)
		unit_add("name_parent", parent_cases[i].desc, test_name_parent_case,
		    &parent_cases[i]);
	for (i = 0; i < NELEM(under_cases); i++)
		unit_add("name_is_under", under_cases[i].desc, test_name_is_under_case,
		    &under_cases[i]);
	for (i = 0; i < NELEM(acme_cases); i++)
		unit_add("value_check_acme", acme_cases[i].desc, test_value_acme_case,
		    &acme_cases[i]);
	for (i = 0; i < NELEM(txt_cases); i++)
		unit_add("value_check_txt", txt_cases[i].desc, test_value_txt_case, &txt_cases[i]);
	for (i = 0; i < NELEM(keyauth_cases); i++)
		unit_add("value_from_keyauth", keyauth_cases[i].desc, test_keyauth_case,
		    &keyauth_cases[i]);
	unit_add("value_from_keyauth", "length limit", test_keyauth_too_long, NULL);
	return unit_run("name", NULL, NULL);
}
