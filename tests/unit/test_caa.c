/*
 * Unit tests for core/caa.[ch]: CAA records and the decision whether they
 * let a CA issue, as functions of records built in the test.
 *
 *   caa_parse / caa_parse_rr   wire RDATA: well-formed, critical flag, empty
 *                              value, too short, empty tag, tag past the
 *                              end, NUL in the value, the value cut
 *   caa_text                   zone-file text, \DDD escapes, short buffers
 *   caa_allows                 issuer domain (case, trailing dot, blanks),
 *                              parameters after ';', validationmethods,
 *                              the empty issuer ";" that denies every CA
 *   caa_known_tag              the tags a CA knows, any case
 *   caa_judge                  issue and issuewild for names and wildcards,
 *                              critical unknown tags, records shown
 *   caa_check                  the climb from a name up its parents: where
 *                              it stops, what it asks, lookup failures
 *
 * Table-driven: every row becomes one cmocka test (tests/unit/unit.h).
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

#include <ldns/ldns.h>

#include "../../core/caa.h"
#include "../../core/status.h"
#include "../../core/text.h"

#define MAX_RRS		12	/* records in one case */
#define MAX_WIRE	16	/* octets of a hand-made RDATA */
#define ASKED_MAX	512	/* names the fake lookup was asked, as text */
#define LE		"letsencrypt.org"

/* ------------------------------------------------------------------ records */

/* An RR from ldns text, or (text NULL) a CAA whose RDATA is the octets w. */
struct rr_spec {
	const char *text;
	uint8_t	w[MAX_WIRE];
	size_t	wlen;
};

static ldns_rr *
make_rr(const struct rr_spec *s, const char *owner)
{
	ldns_rr *rr = NULL;
	ldns_rdf *rdf;
	ldns_status st;

	if (s->text != NULL) {
		st = ldns_rr_new_frm_str(&rr, s->text, 0, NULL, NULL);
		if (st != LDNS_STATUS_OK)
			fail_msg("cannot parse RR \"%s\": %s", s->text,
			    ldns_get_errorstr_by_id(st));
		return rr;
	}
	rr = ldns_rr_new();
	assert_non_null(rr);
	ldns_rr_set_type(rr, LDNS_RR_TYPE_CAA);
	ldns_rr_set_class(rr, LDNS_RR_CLASS_IN);
	assert_int_equal(ldns_str2rdf_dname(&rdf, owner), LDNS_STATUS_OK);
	ldns_rr_set_owner(rr, rdf);
	rdf = ldns_rdf_new_frm_data(LDNS_RDF_TYPE_UNKNOWN, s->wlen, s->w);
	assert_non_null(rdf);
	assert_true(ldns_rr_push_rdf(rr, rdf));
	return rr;
}

/* The records of specs (up to the first empty one) as a list. */
static ldns_rr_list *
make_list(const struct rr_spec *specs, const char *owner)
{
	ldns_rr_list *l = ldns_rr_list_new();
	size_t i;

	assert_non_null(l);
	for (i = 0; i < MAX_RRS && (specs[i].text != NULL || specs[i].wlen > 0); i++)
		assert_true(ldns_rr_list_push_rr(l, make_rr(&specs[i], owner)));
	return l;
}

/* ---------------------------------------------------------------- caa_parse */

struct parse_case {
	const char *desc;
	uint8_t	w[MAX_WIRE];
	size_t	len;
	int	want;		/* ST_OK or ST_FAIL */
	unsigned flags;
	const char *tag, *value;
};

static const struct parse_case parse_cases[] = {
	{ "issue", { 0, 5, 'i', 's', 's', 'u', 'e', 'l', 'e', '.', 'o', 'r', 'g' }, 13, ST_OK,
	  0, "issue", "le.org" },
	{ "critical flag, unknown tag", { 128, 3, 't', 'b', 's', 'x' }, 6, ST_OK, 128, "tbs",
	  "x" },
	{ "empty value", { 0, 5, 'i', 's', 's', 'u', 'e' }, 7, ST_OK, 0, "issue", "" },
	{ "empty issuer ';'", { 0, 5, 'i', 's', 's', 'u', 'e', ';' }, 8, ST_OK, 0, "issue",
	  ";" },
	{ "no octet", { 0 }, 0, ST_FAIL, 0, NULL, NULL },
	{ "flags only", { 0 }, 1, ST_FAIL, 0, NULL, NULL },
	{ "empty tag", { 0, 0, 'x' }, 3, ST_FAIL, 0, NULL, NULL },
	{ "tag past the end", { 0, 6, 'i', 's', 's', 'u', 'e' }, 7, ST_FAIL, 0, NULL, NULL },
	{ "NUL in the value", { 0, 5, 'i', 's', 's', 'u', 'e', 'a', 0, 'b' }, 10, ST_FAIL, 0,
	  NULL, NULL },
};

static void
test_parse_case(void **state)
{
	const struct parse_case *c = *state;
	struct caa_prop p;

	assert_int_equal(caa_parse(c->w, c->len, &p), c->want);
	if (c->want != ST_OK)
		return;
	assert_int_equal(p.flags, c->flags);
	assert_string_equal(p.tag, c->tag);
	assert_string_equal(p.value, c->value);
}

/* A value longer than CAA_VALUE_BUF - 1 octets is cut; a NUL past the cut is not seen. */
static void
test_parse_long_value(void **state)
{
	uint8_t w[2 + 5 + CAA_VALUE_BUF + 10];
	struct caa_prop p;

	(void)state;
	w[0] = 0;
	w[1] = 5;
	memcpy(w + 2, "issue", 5);
	memset(w + 7, 'v', sizeof(w) - 7);
	w[sizeof(w) - 1] = '\0';
	assert_int_equal(caa_parse(w, sizeof(w), &p), ST_OK);
	assert_int_equal(strlen(p.value), CAA_VALUE_BUF - 1);
	w[7 + CAA_VALUE_BUF - 2] = '\0';	/* the last octet kept */
	assert_int_equal(caa_parse(w, sizeof(w), &p), ST_FAIL);
}

/* The longest tag (255 octets) fits. */
static void
test_parse_long_tag(void **state)
{
	uint8_t w[2 + 255 + 1];
	struct caa_prop p;

	(void)state;
	w[0] = 0;
	w[1] = 255;
	memset(w + 2, 't', 255);
	w[2 + 255] = 'v';
	assert_int_equal(caa_parse(w, sizeof(w), &p), ST_OK);
	assert_int_equal(strlen(p.tag), 255);
	assert_string_equal(p.value, "v");
}

/* caa_parse_rr reads what ldns parsed from text, and hand-made RDATA. */
static void
test_parse_rr(void **state)
{
	static const struct rr_spec text = { "x.test. 60 IN CAA 128 issuewild \"" LE "; "
	    "validationmethods=dns-01\"", { 0 }, 0 };
	static const struct rr_spec bad = { NULL, { 0, 0 }, 2 };
	struct caa_prop p;
	ldns_rr *rr;

	(void)state;
	rr = make_rr(&text, "x.test");
	assert_int_equal(caa_parse_rr(rr, &p), ST_OK);
	assert_int_equal(p.flags, 128);
	assert_string_equal(p.tag, "issuewild");
	assert_string_equal(p.value, LE "; validationmethods=dns-01");
	ldns_rr_free(rr);
	rr = make_rr(&bad, "x.test");
	assert_int_equal(caa_parse_rr(rr, &p), ST_FAIL);
	ldns_rr_free(rr);
}

/* ----------------------------------------------------------------- caa_text */

struct text_case {
	const char *desc;
	unsigned flags;
	const char *tag, *value;
	size_t	len;		/* of the output buffer */
	const char *want;
};

static const struct text_case text_cases[] = {
	{ "plain", 0, "issue", LE, CAA_TEXT_BUF, "0 issue \"" LE "\"" },
	{ "critical", 128, "tbs", "", CAA_TEXT_BUF, "128 tbs \"\"" },
	{ "quote and backslash", 0, "iodef", "a\"b\\c", CAA_TEXT_BUF,
	  "0 iodef \"a\\034b\\092c\"" },
	{ "control and high octets", 0, "issue", "a\nb\x7f\xc3\xa9", CAA_TEXT_BUF,
	  "0 issue \"a\\010b\\127\\195\\169\"" },
	{ "just enough room", 0, "issue", "ab", 17, "0 issue \"ab\"" },
	{ "value cut, still closed", 0, "issue", "abcdefgh", 16, "0 issue \"a\"" },
	{ "no room for the closing quote", 0, "issue", "ab", 10, "0 issue \"" },
};

static void
test_text_case(void **state)
{
	const struct text_case *c = *state;
	char out[CAA_TEXT_BUF];
	struct caa_prop p;

	p.flags = c->flags;
	snprintf(p.tag, sizeof(p.tag), "%s", c->tag);
	snprintf(p.value, sizeof(p.value), "%s", c->value);
	caa_text(&p, out, c->len);
	assert_string_equal(out, c->want);
	assert_true(strlen(out) < c->len);
}

/* --------------------------------------------------------------- caa_allows */

struct allows_case {
	const char *desc;
	const char *value, *ca;
	int	want;
};

static const struct allows_case allows_cases[] = {
	{ "the CA", LE, LE, 1 },
	{ "the CA domain in other case", "LetsEncrypt.ORG", LE, 1 },
	{ "--ca in other case", LE, "LETSENCRYPT.org", 1 },
	{ "trailing dot", LE ".", LE, 1 },
	{ "leading blanks", " \t" LE, LE, 1 },
	{ "another CA", "other-ca.example", LE, 0 },
	{ "the CA's name as a prefix", LE ".evil.example", LE, 0 },
	{ "the CA's name as a suffix", "evil" LE, LE, 0 },
	{ "shorter", "letsencrypt", LE, 0 },
	{ "empty issuer \"\": no CA", "", LE, 0 },
	{ "empty issuer \";\": no CA", ";", LE, 0 },
	{ "empty issuer with parameters", "; validationmethods=dns-01", LE, 0 },
	{ "a parameter", LE "; accounturi=https://acme.example/acct/1", LE, 1 },
	{ "a parameter, no blank", LE ";accounturi=https://acme.example/acct/1", LE, 1 },
	{ "blank before ';'", LE " ; accounturi=x", LE, 1 },
	{ "validationmethods dns-01", LE "; validationmethods=dns-01", LE, 1 },
	{ "validationmethods http-01 only", LE "; validationmethods=http-01", LE, 0 },
	{ "validationmethods list with dns-01", LE "; validationmethods=http-01,dns-01", LE, 1 },
	{ "validationmethods list with blanks", LE "; validationmethods = http-01, DNS-01", LE,
	  1 },
	{ "validationmethods empty", LE "; validationmethods=", LE, 0 },
	{ "validationmethods dns-01-like", LE "; validationmethods=dns-01x", LE, 0 },
	{ "validationmethods after another parameter",
	  LE "; accounturi=x; validationmethods=dns-01", LE, 1 },
	{ "validationmethods ends at ';'", LE "; validationmethods=http-01; x=dns-01", LE, 0 },
	{ "another key that starts like it", LE "; validationmethodsx=http-01", LE, 1 },
	{ "a key without '='", LE "; validationmethods http-01", LE, 1 },
};

static void
test_allows_case(void **state)
{
	const struct allows_case *c = *state;

	assert_int_equal(caa_allows(c->value, c->ca), c->want);
}

/* ------------------------------------------------------------ caa_known_tag */

static void
test_known_tags(void **state)
{
	static const char *const known[] = { "issue", "issuewild", "iodef", "contactemail",
		"contactphone", "issuemail", "ISSUE", "IssueWild" };
	static const char *const unknown[] = { "tbs", "", "issuex", "issu",
		"cansignhttpexchanges" };
	size_t i;

	(void)state;
	for (i = 0; i < UNIT_NELEM(known); i++)
		assert_int_equal(caa_known_tag(known[i]), 1);
	for (i = 0; i < UNIT_NELEM(unknown); i++)
		assert_int_equal(caa_known_tag(unknown[i]), 0);
}

/* ---------------------------------------------------------------- caa_judge */

#define RR_CAA(flags, tag, value) \
	{ "example.test. 60 IN CAA " #flags " " tag " \"" value "\"", { 0 }, 0 }

struct judge_case {
	const char *desc;
	const char *domain;
	struct rr_spec rrs[MAX_RRS];
	enum caa_outcome want;
	const char *property;
	const char *seen, *critical;	/* NULL: not checked */
};

static const struct judge_case judge_cases[] = {
	{ "issue allows", "example.test", { RR_CAA(0, "issue", LE) }, CAA_ALLOWED, "issue",
	  "0 issue \"" LE "\"", "" },
	{ "issue of another CA", "example.test", { RR_CAA(0, "issue", "other.example") },
	  CAA_DENIED, "issue", "0 issue \"other.example\"", "" },
	{ "issue \";\" denies all", "example.test", { RR_CAA(0, "issue", ";") }, CAA_DENIED,
	  "issue", NULL, NULL },
	{ "one of two issue allows", "example.test", { RR_CAA(0, "issue", "other.example"),
	  RR_CAA(0, "issue", LE) }, CAA_ALLOWED, "issue",
	  "0 issue \"other.example\", 0 issue \"" LE "\"", NULL },
	{ "tag in upper case", "example.test", { RR_CAA(0, "ISSUE", LE) }, CAA_ALLOWED, "issue",
	  NULL, NULL },
	{ "only iodef", "example.test", { RR_CAA(0, "iodef", "mailto:a@example.test") },
	  CAA_NO_PROPERTY, "issue", "", "" },
	{ "a name ignores issuewild", "example.test", { RR_CAA(0, "issuewild", LE),
	  RR_CAA(0, "issue", "other.example") }, CAA_DENIED, "issue",
	  "0 issue \"other.example\"", NULL },
	{ "a name with only issuewild", "example.test", { RR_CAA(0, "issuewild", LE) },
	  CAA_NO_PROPERTY, "issue", NULL, NULL },
	{ "a wildcard takes issuewild over issue", "*.example.test", { RR_CAA(0, "issue", LE),
	  RR_CAA(0, "issuewild", "other.example") }, CAA_DENIED, "issuewild",
	  "0 issuewild \"other.example\"", NULL },
	{ "a wildcard allowed by issuewild", "*.example.test", { RR_CAA(0, "issue",
	  "other.example"), RR_CAA(0, "issuewild", LE) }, CAA_ALLOWED, "issuewild", NULL,
	  NULL },
	{ "a wildcard without issuewild takes issue", "*.example.test", { RR_CAA(0, "issue",
	  LE) }, CAA_ALLOWED, "issue", NULL, NULL },
	{ "a wildcard: issuewild \";\"", "*.example.test", { RR_CAA(0, "issue", LE),
	  RR_CAA(0, "issuewild", ";") }, CAA_DENIED, "issuewild", NULL, NULL },
	{ "validationmethods without dns-01", "example.test", { RR_CAA(0, "issue",
	  LE "; validationmethods=http-01") }, CAA_DENIED, "issue", NULL, NULL },
	{ "critical unknown tag", "example.test", { RR_CAA(128, "tbs", "x"),
	  RR_CAA(0, "issue", LE) }, CAA_CRITICAL, "issue", NULL, "128 tbs \"x\"" },
	{ "critical unknown tag, no issue", "example.test", { RR_CAA(128, "tbs", "x") },
	  CAA_CRITICAL, "issue", NULL, "128 tbs \"x\"" },
	{ "critical known tag", "example.test", { RR_CAA(128, "issue", LE) }, CAA_ALLOWED,
	  "issue", NULL, "" },
	{ "unknown tag not critical", "example.test", { RR_CAA(0, "tbs", "x") },
	  CAA_NO_PROPERTY, "issue", NULL, "" },
	{ "malformed record passed over", "example.test", { { NULL, { 0, 0 }, 2 },
	  RR_CAA(0, "issue", LE) }, CAA_ALLOWED, "issue", "0 issue \"" LE "\"", NULL },
	{ "only a malformed record", "example.test", { { NULL, { 0, 9, 'i' }, 3 } },
	  CAA_NO_PROPERTY, "issue", "", "" },
	{ "other types passed over", "example.test", { { "example.test. 60 IN TXT \"issue\"",
	  { 0 }, 0 }, RR_CAA(0, "issue", LE) }, CAA_ALLOWED, "issue", NULL, NULL },
};

static void
test_judge_case(void **state)
{
	const struct judge_case *c = *state;
	ldns_rr_list *l = make_list(c->rrs, "example.test");
	struct caa_verdict v;

	memset(&v, 0x55, sizeof(v));
	caa_judge(c->domain, "example.test", l, LE, &v);
	assert_int_equal(v.outcome, c->want);
	assert_string_equal(v.at, "example.test");
	assert_string_equal(v.property, c->property);
	if (c->seen != NULL)
		assert_string_equal(v.seen, c->seen);
	if (c->critical != NULL)
		assert_string_equal(v.critical, c->critical);
	ldns_rr_list_deep_free(l);
}

/* Records of the property beyond CAA_SHOWN are judged, but not listed. */
static void
test_judge_shown(void **state)
{
	struct rr_spec specs[MAX_RRS];
	char text[MAX_RRS][128];
	ldns_rr_list *l;
	struct caa_verdict v;
	size_t i;

	(void)state;
	memset(specs, 0, sizeof(specs));
	for (i = 0; i < MAX_RRS; i++) {
		snprintf(text[i], sizeof(text[i]), "example.test. 60 IN CAA 0 issue \"%s\"",
		    i == MAX_RRS - 1 ? LE : "other.example");
		specs[i].text = text[i];
	}
	l = make_list(specs, "example.test");
	caa_judge("example.test", "example.test", l, LE, &v);
	assert_int_equal(v.outcome, CAA_ALLOWED);
	assert_int_equal(unit_count(v.seen, "0 issue"), CAA_SHOWN);
	assert_null(strstr(v.seen, LE));
	ldns_rr_list_deep_free(l);
}

/* ---------------------------------------------------------------- caa_check */

/* One name's CAA answer in the fake DNS (names not listed: an empty answer). */
struct zone_rec {
	const char *name;
	int	fail;			/* the lookup fails */
	struct rr_spec rrs[MAX_RRS];
};

struct climb_case {
	const char *desc;
	const char *domain;
	struct zone_rec dns[4];
	enum caa_outcome want;
	const char *at;
	const char *asked;		/* the names looked up, in order */
};

/* The fake lookup's state: the table and what was asked. */
struct fake_dns {
	const struct zone_rec *dns;
	size_t	ndns;
	char	asked[ASKED_MAX];
};

static ldns_pkt *
fake_lookup(void *ctx, const char *name, char *why, size_t whylen)
{
	struct fake_dns *f = ctx;
	ldns_pkt *p;
	size_t i, j;

	text_append(f->asked, sizeof(f->asked), " ", name);
	for (i = 0; i < f->ndns && f->dns[i].name != NULL; i++) {
		if (strcmp(f->dns[i].name, name) != 0)
			continue;
		if (f->dns[i].fail) {
			snprintf(why, whylen, "SERVFAIL from 192.0.2.53");
			return NULL;
		}
		p = ldns_pkt_new();
		assert_non_null(p);
		for (j = 0; j < MAX_RRS && f->dns[i].rrs[j].text != NULL; j++)
			assert_true(ldns_pkt_push_rr(p, LDNS_SECTION_ANSWER,
			    make_rr(&f->dns[i].rrs[j], name)));
		return p;
	}
	p = ldns_pkt_new();
	assert_non_null(p);
	return p;
}

#define AT(owner, flags, tag, value) \
	{ owner ". 60 IN CAA " #flags " " tag " \"" value "\"", { 0 }, 0 }

static const struct climb_case climb_cases[] = {
	{ "CAA at the name", "www.example.test",
	  { { "www.example.test", 0, { AT("www.example.test", 0, "issue", LE) } },
	    { "example.test", 0, { AT("example.test", 0, "issue", "other.example") } } },
	  CAA_ALLOWED, "www.example.test", "www.example.test" },
	{ "CAA two levels up", "www.sub.example.test",
	  { { "example.test", 0, { AT("example.test", 0, "issue", "other.example") } } },
	  CAA_DENIED, "example.test", "www.sub.example.test sub.example.test example.test" },
	{ "no CAA up to the TLD (the root is not asked)", "a.b.example.test", { { NULL } },
	  CAA_NONE, "a.b.example.test",
	  "a.b.example.test b.example.test example.test test" },
	{ "a wildcard starts at its base name", "*.sub.example.test",
	  { { "sub.example.test", 0, { AT("sub.example.test", 0, "issuewild", LE) } } },
	  CAA_ALLOWED, "sub.example.test", "sub.example.test" },
	{ "the first non-empty RRset applies, not a parent's", "www.example.test",
	  { { "www.example.test", 0, { AT("www.example.test", 0, "iodef", "mailto:a@b") } },
	    { "example.test", 0, { AT("example.test", 0, "issue", "other.example") } } },
	  CAA_NO_PROPERTY, "www.example.test", "www.example.test" },
	{ "a failed lookup stops the climb", "www.example.test",
	  { { "example.test", 1, { { NULL } } },
	    { "test", 0, { AT("test", 0, "issue", LE) } } },
	  CAA_LOOKUP_FAILED, "example.test", "www.example.test example.test" },
	{ "a failure above the RRset is not asked", "www.example.test",
	  { { "www.example.test", 0, { AT("www.example.test", 0, "issue", LE) } },
	    { "example.test", 1, { { NULL } } } },
	  CAA_ALLOWED, "www.example.test", "www.example.test" },
	{ "a CNAME's target's CAA counts", "www.example.test",
	  { { "www.example.test", 0, { { "www.example.test. 60 IN CNAME ca.example.net.",
	      { 0 }, 0 }, AT("ca.example.net", 0, "issue", LE) } },
	    { "example.test", 0, { AT("example.test", 0, "issue", "other.example") } } },
	  CAA_ALLOWED, "www.example.test", "www.example.test" },
	{ "a CNAME without CAA: climb on", "www.example.test",
	  { { "www.example.test", 0, { { "www.example.test. 60 IN CNAME ca.example.net.",
	      { 0 }, 0 } } },
	    { "example.test", 0, { AT("example.test", 0, "issue", "other.example") } } },
	  CAA_DENIED, "example.test", "www.example.test example.test" },
	{ "a single label", "localhost", { { NULL } }, CAA_NONE, "localhost", "localhost" },
};

static void
test_climb_case(void **state)
{
	const struct climb_case *c = *state;
	struct fake_dns f = { c->dns, UNIT_NELEM(c->dns), "" };
	struct caa_verdict v;

	caa_check(c->domain, LE, fake_lookup, &f, &v);
	assert_string_equal(f.asked, c->asked);
	assert_int_equal(v.outcome, c->want);
	assert_string_equal(v.at, c->at);
	if (v.outcome == CAA_LOOKUP_FAILED)
		assert_string_equal(v.why, "SERVFAIL from 192.0.2.53");
}

/* -------------------------------------------------------------------- runner */

int
main(void)
{
	size_t i;

	for (i = 0; i < UNIT_NELEM(parse_cases); i++)
		unit_add("caa_parse", parse_cases[i].desc, test_parse_case, &parse_cases[i]);
	unit_add("caa_parse", "long value cut", test_parse_long_value, NULL);
	unit_add("caa_parse", "255-octet tag", test_parse_long_tag, NULL);
	unit_add("caa_parse_rr", "text and hand-made RDATA", test_parse_rr, NULL);
	for (i = 0; i < UNIT_NELEM(text_cases); i++)
		unit_add("caa_text", text_cases[i].desc, test_text_case, &text_cases[i]);
	for (i = 0; i < UNIT_NELEM(allows_cases); i++)
		unit_add("caa_allows", allows_cases[i].desc, test_allows_case, &allows_cases[i]);
	unit_add("caa_known_tag", "known and unknown tags", test_known_tags, NULL);
	for (i = 0; i < UNIT_NELEM(judge_cases); i++)
		unit_add("caa_judge", judge_cases[i].desc, test_judge_case, &judge_cases[i]);
	unit_add("caa_judge", "records shown at most", test_judge_shown, NULL);
	for (i = 0; i < UNIT_NELEM(climb_cases); i++)
		unit_add("caa_check", climb_cases[i].desc, test_climb_case, &climb_cases[i]);
	return unit_run("caa", NULL, NULL);
}
