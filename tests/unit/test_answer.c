/*
 * Unit tests for core/answer.[ch]: what a DNS answer means, as functions of
 * canned packets built with ldns.
 *
 *   answer_classify          discovery's "qname SOA" answers: the zone apex,
 *                            a child zone on the same servers (apex or
 *                            NODATA/NXDOMAIN), NXDOMAIN/NODATA with the
 *                            asked zone's SOA, referrals below the apex,
 *                            upward and sideways referrals, cached answers,
 *                            bad rcodes, unrelated SOAs, CNAME, DNAME (with
 *                            the 253-octet limit), label boundaries, mixed
 *                            case and trailing dots
 *   answer_none / answer_same / answer_agree
 *   answer_is_wildcard_cname the wildcard-CNAME probe
 *   answer_reply_check       is a wire message the answer to a query: id,
 *                            QR, question (0x20 case), garbage, TC
 *   answer_judge_txt         present and absent waits: all/some/none of the
 *                            values, NODATA, NXDOMAIN, AA=0, REFUSED,
 *                            NOTAUTH, SERVFAIL, multi-string TXT, other
 *                            owners, escaping in desc, desc truncation
 *                            150 TXT records in one answer (none is
 *                            dropped: the first have no precedence), the
 *                            values that do not fit in desc counted
 *   answer_txt_values        count, concatenation, NUL and high octets
 *                            kept with their length, 150 records
 *   answer_txt_escape        \DDD for NUL, quote, backslash, controls, DEL,
 *                            octets above 127; short buffers
 *   addr_health              one lost reply is not enough to give up on an
 *                            address; ADDR_TIMEOUTS_UNREACHABLE in a row is;
 *                            an address that answered once always counts
 *   answer_ns_state          DONE / WAITING / LAME from per-address states
 *
 * Table-driven: every row of every table becomes one cmocka test, named
 * "function: row", so a failure says exactly which case misbehaved.
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

#include "../../core/answer.h"

#define NELEM(a)	(sizeof(a) / sizeof((a)[0]))
#define MAX_RRS		6

/* ------------------------------------------------------------------ packets */

/*
 * A canned reply.  The question is qname (NULL: the case's qname) with
 * qtype (0: SOA) class IN; QR is set; RRs are in ldns text form.
 */
struct pkt_spec {
	const char *qname;
	ldns_rr_type qtype;
	int	aa;
	ldns_pkt_rcode rcode;
	const char *an[MAX_RRS];
	const char *ns[MAX_RRS];
	const char *ar[MAX_RRS];
};

static void
push_rrs(ldns_pkt *p, ldns_pkt_section sec, const char *const *rrs)
{
	size_t i;

	for (i = 0; i < MAX_RRS && rrs[i] != NULL; i++) {
		ldns_rr *rr = NULL;
		ldns_status st = ldns_rr_new_frm_str(&rr, rrs[i], 0, NULL, NULL);

		if (st != LDNS_STATUS_OK)
			print_error("cannot parse RR \"%s\": %s\n", rrs[i],
			    ldns_get_errorstr_by_id(st));
		assert_int_equal(st, LDNS_STATUS_OK);
		assert_true(ldns_pkt_push_rr(p, sec, rr));
	}
}

/* A query-shaped packet for qname/qtype/IN, RD=0, the given id. */
static ldns_pkt *
new_question(const char *qname, ldns_rr_type qtype, ldns_rr_class qclass, uint16_t id)
{
	ldns_rdf *d = ldns_dname_new_frm_str(qname);
	ldns_pkt *p;

	assert_non_null(d);
	p = ldns_pkt_query_new(d, qtype, qclass, 0);
	assert_non_null(p);
	ldns_pkt_set_id(p, id);
	ldns_pkt_set_rd(p, 0);
	return p;
}

static ldns_pkt *
build_pkt(const struct pkt_spec *s, const char *default_qname)
{
	ldns_pkt *p = new_question(s->qname != NULL ? s->qname : default_qname,
	    s->qtype != 0 ? s->qtype : LDNS_RR_TYPE_SOA, LDNS_RR_CLASS_IN, 0x1234);

	ldns_pkt_set_qr(p, 1);
	ldns_pkt_set_aa(p, s->aa != 0);
	ldns_pkt_set_rcode(p, (uint8_t)s->rcode);
	push_rrs(p, LDNS_SECTION_ANSWER, s->an);
	push_rrs(p, LDNS_SECTION_AUTHORITY, s->ns);
	push_rrs(p, LDNS_SECTION_ADDITIONAL, s->ar);
	return p;
}

/* Long labels for the DNAME length limit (string literals, concatenated). */
#define A10	"aaaaaaaaaa"
#define A50	A10 A10 A10 A10 A10
#define L63	A50 A10 "aaa"
#define A51	A50 "a"
#define LONGQ	L63 "." L63 "." L63 ".a.example.test"	/* 206 octets */

#define SOA_RD	" 60 IN SOA ns1.example.test. hostmaster.example.test. 1 3600 900 604800 60"
#define SOA(o)	o SOA_RD
#define NS(o, t) o " 60 IN NS " t
#define CNAME(o, t) o " 60 IN CNAME " t
#define DNAME(o, t) o " 60 IN DNAME " t
#define TXT(o, v) o " 60 IN TXT \"" v "\""

#define APEX	"example.test"
#define CH	"_acme-challenge.www.example.test"

/* ---------------------------------------------------------- answer_classify */

struct classify_case {
	const char *desc;
	const char *qname;		/* canonical, as given to answer_classify */
	const char *apex;
	struct pkt_spec pkt;
	enum answer_kind kind;
	const char *zone;		/* ZONE, REFERRAL */
	const char *target;		/* CNAME, DNAME */
	const char *owner;		/* DNAME */
	const char *why;		/* LAME: a substring of why, or NULL */
};

#define NOERR	LDNS_RCODE_NOERROR
#define NXD	LDNS_RCODE_NXDOMAIN

static const struct classify_case classify_cases[] = {
	/* ZONE */
	{ "zone apex: SOA at qname in the answer", APEX, APEX,
	  { .aa = 1, .rcode = NOERR, .an = { SOA("example.test.") } },
	  ANSWER_ZONE, APEX, NULL, NULL, NULL },
	{ "zone apex with NS in authority and glue", APEX, APEX,
	  { .aa = 1, .rcode = NOERR, .an = { SOA("example.test.") },
	    .ns = { NS("example.test.", "ns1.example.test."),
		    NS("example.test.", "ns2.other.test.") },
	    .ar = { "ns1.example.test. 60 IN A 192.0.2.1" } },
	  ANSWER_ZONE, APEX, NULL, NULL, NULL },
	{ "child zone on the same servers, qname is its apex", CH, APEX,
	  { .aa = 1, .rcode = NOERR, .an = { SOA(CH ".") } },
	  ANSWER_ZONE, CH, NULL, NULL, NULL },
	{ "child zone on the same servers, NODATA", CH, APEX,
	  { .aa = 1, .rcode = NOERR, .ns = { SOA("www.example.test.") } },
	  ANSWER_ZONE, "www.example.test", NULL, NULL, NULL },
	{ "child zone on the same servers, NXDOMAIN", CH, APEX,
	  { .aa = 1, .rcode = NXD, .ns = { SOA("www.example.test.") } },
	  ANSWER_ZONE, "www.example.test", NULL, NULL, NULL },
	{ "NXDOMAIN with the asked zone's SOA", CH, APEX,
	  { .aa = 1, .rcode = NXD, .ns = { SOA("example.test.") } },
	  ANSWER_ZONE, APEX, NULL, NULL, NULL },
	{ "NODATA with the asked zone's SOA", CH, APEX,
	  { .aa = 1, .rcode = NOERR, .ns = { SOA("example.test.") } },
	  ANSWER_ZONE, APEX, NULL, NULL, NULL },
	{ "NODATA, SOA several labels above qname", "a.b.c.example.test", APEX,
	  { .aa = 1, .rcode = NOERR, .ns = { SOA("example.test.") } },
	  ANSWER_ZONE, APEX, NULL, NULL, NULL },
	{ "asked apex is itself a child zone, NODATA", CH, "www.example.test",
	  { .aa = 1, .rcode = NOERR, .ns = { SOA("www.example.test.") } },
	  ANSWER_ZONE, "www.example.test", NULL, NULL, NULL },

	/* REFERRAL */
	{ "referral to a child on other servers, with glue", CH, APEX,
	  { .aa = 0, .rcode = NOERR,
	    .ns = { NS("www.example.test.", "ns1.other.test."),
		    NS("www.example.test.", "ns2.www.example.test.") },
	    .ar = { "ns2.www.example.test. 60 IN A 192.0.2.2",
		    "ns2.www.example.test. 60 IN AAAA 2001:db8::2" } },
	  ANSWER_REFERRAL, "www.example.test", NULL, NULL, NULL },
	{ "referral without glue", CH, APEX,
	  { .aa = 0, .rcode = NOERR,
	    .ns = { NS("www.example.test.", "ns1.other.test.") } },
	  ANSWER_REFERRAL, "www.example.test", NULL, NULL, NULL },
	{ "referral at qname itself", CH, APEX,
	  { .aa = 0, .rcode = NOERR, .ns = { NS(CH ".", "ns1.other.test.") } },
	  ANSWER_REFERRAL, CH, NULL, NULL, NULL },
	{ "referral, cut several labels above qname", "a.b.c.example.test", APEX,
	  { .aa = 0, .rcode = NOERR, .ns = { NS("c.example.test.", "ns1.other.test.") } },
	  ANSWER_REFERRAL, "c.example.test", NULL, NULL, NULL },

	/* LAME: referrals that are not below the apex, or not referrals */
	{ "upward referral to the root", CH, APEX,
	  { .aa = 0, .rcode = NOERR,
	    .ns = { ". 518400 IN NS a.root-servers.net.",
		    ". 518400 IN NS b.root-servers.net." } },
	  ANSWER_LAME, NULL, NULL, NULL, NULL },
	{ "upward referral to an ancestor of the apex", CH, APEX,
	  { .aa = 0, .rcode = NOERR, .ns = { NS("test.", "ns.nic.test.") } },
	  ANSWER_LAME, NULL, NULL, NULL, NULL },
	{ "sideways referral: NS at the apex, AA=0", CH, APEX,
	  { .aa = 0, .rcode = NOERR,
	    .ns = { NS("example.test.", "ns1.example.test."),
		    NS("example.test.", "ns2.example.test.") },
	    .ar = { "ns1.example.test. 60 IN A 192.0.2.1" } },
	  ANSWER_LAME, NULL, NULL, NULL, NULL },
	{ "sideways referral for the apex itself", APEX, APEX,
	  { .aa = 0, .rcode = NOERR, .ns = { NS("example.test.", "ns1.example.test.") } },
	  ANSWER_LAME, NULL, NULL, NULL, NULL },
	{ "referral to a sibling of qname", CH, APEX,
	  { .aa = 0, .rcode = NOERR, .ns = { NS("mail.example.test.", "ns1.other.test.") } },
	  ANSWER_LAME, NULL, NULL, NULL, NULL },
	{ "referral below qname", CH, APEX,
	  { .aa = 0, .rcode = NOERR,
	    .ns = { NS("sub._acme-challenge.www.example.test.", "ns1.other.test.") } },
	  ANSWER_LAME, NULL, NULL, NULL, NULL },
	{ "referral not on a label boundary", "x.www.example.test", APEX,
	  { .aa = 0, .rcode = NOERR, .ns = { NS("ww.example.test.", "ns1.other.test.") } },
	  ANSWER_LAME, NULL, NULL, NULL, NULL },
	{ "referral-shaped NXDOMAIN", CH, APEX,
	  { .aa = 0, .rcode = NXD, .ns = { NS("www.example.test.", "ns1.other.test.") } },
	  ANSWER_LAME, NULL, NULL, NULL, NULL },
	{ "AA=0 with an answer (cached)", APEX, APEX,
	  { .aa = 0, .rcode = NOERR, .an = { SOA("example.test.") } },
	  ANSWER_LAME, NULL, NULL, NULL, NULL },
	{ "AA=0 with an answer and NS below the apex (cached)", CH, APEX,
	  { .aa = 0, .rcode = NOERR, .an = { SOA(CH ".") },
	    .ns = { NS(CH ".", "ns1.other.test.") } },
	  ANSWER_LAME, NULL, NULL, NULL, NULL },
	{ "AA=0 negative answer with SOA (cached)", CH, APEX,
	  { .aa = 0, .rcode = NXD, .ns = { SOA("example.test.") } },
	  ANSWER_LAME, NULL, NULL, NULL, NULL },
	{ "AA=0 NODATA with SOA (cached)", CH, APEX,
	  { .aa = 0, .rcode = NOERR, .ns = { SOA("example.test.") } },
	  ANSWER_LAME, NULL, NULL, NULL, NULL },
	{ "AA=0, empty", CH, APEX,
	  { .aa = 0, .rcode = NOERR },
	  ANSWER_LAME, NULL, NULL, NULL, NULL },

	/* LAME: rcodes */
	{ "REFUSED", CH, APEX,
	  { .aa = 0, .rcode = LDNS_RCODE_REFUSED },
	  ANSWER_LAME, NULL, NULL, NULL, "REFUSED" },
	{ "REFUSED with AA", CH, APEX,
	  { .aa = 1, .rcode = LDNS_RCODE_REFUSED },
	  ANSWER_LAME, NULL, NULL, NULL, "REFUSED" },
	{ "SERVFAIL", CH, APEX,
	  { .aa = 0, .rcode = LDNS_RCODE_SERVFAIL },
	  ANSWER_LAME, NULL, NULL, NULL, "SERVFAIL" },
	{ "SERVFAIL with AA and the apex SOA", APEX, APEX,
	  { .aa = 1, .rcode = LDNS_RCODE_SERVFAIL, .an = { SOA("example.test.") } },
	  ANSWER_LAME, NULL, NULL, NULL, "SERVFAIL" },
	{ "NOTAUTH", CH, APEX,
	  { .aa = 0, .rcode = LDNS_RCODE_NOTAUTH },
	  ANSWER_LAME, NULL, NULL, NULL, "NOTAUTH" },
	{ "FORMERR", CH, APEX,
	  { .aa = 0, .rcode = LDNS_RCODE_FORMERR },
	  ANSWER_LAME, NULL, NULL, NULL, "FORMERR" },

	/* LAME: SOAs that do not place qname at or below the apex */
	{ "AA with the SOA of an unrelated zone", CH, APEX,
	  { .aa = 1, .rcode = NOERR, .ns = { SOA("other.test.") } },
	  ANSWER_LAME, NULL, NULL, NULL, NULL },
	{ "AA NXDOMAIN with the SOA of an unrelated zone", CH, APEX,
	  { .aa = 1, .rcode = NXD, .ns = { SOA("other.test.") } },
	  ANSWER_LAME, NULL, NULL, NULL, NULL },
	{ "AA with the SOA of a zone above the apex", CH, APEX,
	  { .aa = 1, .rcode = NOERR, .ns = { SOA("test.") } },
	  ANSWER_LAME, NULL, NULL, NULL, NULL },
	{ "AA with the root SOA", CH, APEX,
	  { .aa = 1, .rcode = NXD, .ns = { SOA(".") } },
	  ANSWER_LAME, NULL, NULL, NULL, NULL },
	{ "AA with the SOA of a sibling zone", CH, APEX,
	  { .aa = 1, .rcode = NOERR, .ns = { SOA("mail.example.test.") } },
	  ANSWER_LAME, NULL, NULL, NULL, NULL },
	{ "AA with an SOA not on a label boundary", "x.www.example.test", APEX,
	  { .aa = 1, .rcode = NOERR, .ns = { SOA("ww.example.test.") } },
	  ANSWER_LAME, NULL, NULL, NULL, NULL },
	{ "AA with the SOA of a zone below qname", "www.example.test", APEX,
	  { .aa = 1, .rcode = NOERR, .ns = { SOA("a.www.example.test.") } },
	  ANSWER_LAME, NULL, NULL, NULL, NULL },
	{ "AA with the apex SOA in the answer, qname below it", CH, APEX,
	  { .aa = 1, .rcode = NOERR, .an = { SOA("example.test.") } },
	  ANSWER_LAME, NULL, NULL, NULL, NULL },
	{ "AA NOERROR, empty", CH, APEX,
	  { .aa = 1, .rcode = NOERR },
	  ANSWER_LAME, NULL, NULL, NULL, NULL },

	/* CNAME */
	{ "CNAME at qname", CH, APEX,
	  { .aa = 1, .rcode = NOERR, .an = { CNAME(CH ".", "_acme-challenge.other.test.") } },
	  ANSWER_CNAME, NULL, "_acme-challenge.other.test", NULL, NULL },
	{ "CNAME followed by the target's records", CH, APEX,
	  { .aa = 1, .rcode = NOERR,
	    .an = { CNAME(CH ".", "dele.example.test."), SOA("dele.example.test.") } },
	  ANSWER_CNAME, NULL, "dele.example.test", NULL, NULL },
	{ "CNAME chain: the first target", CH, APEX,
	  { .aa = 1, .rcode = NOERR,
	    .an = { CNAME(CH ".", "a.example.test."), CNAME("a.example.test.", "b.other.test.") } },
	  ANSWER_CNAME, NULL, "a.example.test", NULL, NULL },
	{ "CNAME to a missing name (NXDOMAIN)", CH, APEX,
	  { .aa = 1, .rcode = NXD, .an = { CNAME(CH ".", "gone.example.test.") },
	    .ns = { SOA("example.test.") } },
	  ANSWER_CNAME, NULL, "gone.example.test", NULL, NULL },
	{ "CNAME without AA", CH, APEX,
	  { .aa = 0, .rcode = NOERR, .an = { CNAME(CH ".", "_acme-challenge.other.test.") } },
	  ANSWER_LAME, NULL, NULL, NULL, NULL },

	/* DNAME */
	{ "DNAME with the synthesized CNAME", "x.y.a.example.test", APEX,
	  { .aa = 1, .rcode = NOERR,
	    .an = { DNAME("a.example.test.", "b.other.test."),
		    CNAME("x.y.a.example.test.", "x.y.b.other.test.") } },
	  ANSWER_DNAME, NULL, "x.y.b.other.test", "a.example.test", NULL },
	{ "DNAME without the synthesized CNAME", "x.y.a.example.test", APEX,
	  { .aa = 1, .rcode = NOERR, .an = { DNAME("a.example.test.", "b.other.test.") } },
	  ANSWER_DNAME, NULL, "x.y.b.other.test", "a.example.test", NULL },
	{ "DNAME at the apex", "www.example.test", APEX,
	  { .aa = 1, .rcode = NOERR,
	    .an = { DNAME("example.test.", "example.other."),
		    CNAME("www.example.test.", "www.example.other.") } },
	  ANSWER_DNAME, NULL, "www.example.other", "example.test", NULL },
	{ "DNAME without AA (not from the zone's server) is lame", "x.y.a.example.test", APEX,
	  { .aa = 0, .rcode = NOERR,
	    .an = { DNAME("a.example.test.", "b.other.test."),
		    CNAME("x.y.a.example.test.", "x.y.b.other.test.") } },
	  ANSWER_LAME, NULL, NULL, NULL, NULL },
	{ "DNAME not an ancestor of qname is ignored", "x.y.a.example.test", APEX,
	  { .aa = 1, .rcode = NOERR, .an = { DNAME("z.example.test.", "b.other.test.") },
	    .ns = { SOA("example.test.") } },
	  ANSWER_ZONE, APEX, NULL, NULL, NULL },
	{ "DNAME owned by qname itself is ignored", "a.example.test", APEX,
	  { .aa = 1, .rcode = NOERR, .an = { DNAME("a.example.test.", "b.other.test.") },
	    .ns = { SOA("example.test.") } },
	  ANSWER_ZONE, APEX, NULL, NULL, NULL },
	{ "DNAME not on a label boundary is ignored", "x.ba.example.test", APEX,
	  { .aa = 1, .rcode = NOERR, .an = { DNAME("a.example.test.", "b.other.test.") },
	    .ns = { SOA("example.test.") } },
	  ANSWER_ZONE, APEX, NULL, NULL, NULL },
	{ "DNAME above the apex is ignored", CH, "www.example.test",
	  { .aa = 1, .rcode = NOERR, .an = { DNAME("example.test.", "other.test.") },
	    .ns = { SOA("www.example.test.") } },
	  ANSWER_ZONE, "www.example.test", NULL, NULL, NULL },
	{ "DNAME rewrite to exactly 253 octets", LONGQ, APEX,
	  { .aa = 1, .rcode = NOERR, .an = { DNAME("a.example.test.", A50 ".other.test.") } },
	  ANSWER_DNAME, NULL, L63 "." L63 "." L63 "." A50 ".other.test", "a.example.test",
	  NULL },
	{ "DNAME rewrite to 254 octets", LONGQ, APEX,
	  { .aa = 1, .rcode = NOERR, .an = { DNAME("a.example.test.", A51 ".other.test.") } },
	  ANSWER_LAME, NULL, NULL, NULL, NULL },
	{ "DNAME rewrite too long, YXDOMAIN", LONGQ, APEX,
	  { .aa = 1, .rcode = LDNS_RCODE_YXDOMAIN,
	    .an = { DNAME("a.example.test.", A51 ".other.test.") } },
	  ANSWER_LAME, NULL, NULL, NULL, NULL },

	/* mixed case and trailing dots */
	{ "mixed case: apex SOA", APEX, APEX,
	  { .qname = "EXAMPLE.Test.", .aa = 1, .rcode = NOERR, .an = { SOA("ExAmPlE.TEST.") } },
	  ANSWER_ZONE, APEX, NULL, NULL, NULL },
	{ "mixed case: child NODATA SOA", CH, APEX,
	  { .qname = "_ACME-Challenge.WWW.example.test.", .aa = 1, .rcode = NOERR,
	    .ns = { SOA("WWW.Example.Test.") } },
	  ANSWER_ZONE, "www.example.test", NULL, NULL, NULL },
	{ "mixed case: NXDOMAIN with the apex SOA", CH, APEX,
	  { .aa = 1, .rcode = NXD, .ns = { SOA("Example.TEST.") } },
	  ANSWER_ZONE, APEX, NULL, NULL, NULL },
	{ "mixed case: referral", CH, APEX,
	  { .aa = 0, .rcode = NOERR, .ns = { NS("WWW.EXAMPLE.TEST.", "NS1.Other.Test.") } },
	  ANSWER_REFERRAL, "www.example.test", NULL, NULL, NULL },
	{ "mixed case: sideways referral still lame", CH, APEX,
	  { .aa = 0, .rcode = NOERR, .ns = { NS("Example.Test.", "ns1.example.test.") } },
	  ANSWER_LAME, NULL, NULL, NULL, NULL },
	{ "mixed case: CNAME", CH, APEX,
	  { .aa = 1, .rcode = NOERR,
	    .an = { CNAME("_ACME-Challenge.WWW.example.TEST.", "_Acme-Challenge.OTHER.Test.") } },
	  ANSWER_CNAME, NULL, "_acme-challenge.other.test", NULL, NULL },
	{ "mixed case: DNAME", "x.y.a.example.test", APEX,
	  { .qname = "X.Y.A.example.test.", .aa = 1, .rcode = NOERR,
	    .an = { DNAME("A.Example.TEST.", "B.OTHER.test."),
		    CNAME("X.Y.A.example.test.", "X.Y.B.OTHER.test.") } },
	  ANSWER_DNAME, NULL, "x.y.b.other.test", "a.example.test", NULL },
};

static const char *
kind_name(enum answer_kind k)
{
	static const char *const names[] = { "NONE", "LAME", "ZONE", "CNAME", "DNAME",
	    "REFERRAL" };

	return (size_t)k < NELEM(names) ? names[k] : "?";
}

static void
test_classify_case(void **state)
{
	const struct classify_case *c = *state;
	ldns_pkt *p = build_pkt(&c->pkt, c->qname);
	struct answer a;

	memset(&a, 'Z', sizeof(a));	/* answer_classify always fills *out */
	answer_classify(p, c->qname, c->apex, &a);
	ldns_pkt_free(p);
	if (a.kind != c->kind) {
		print_error("kind %s, wanted %s\n", kind_name(a.kind), kind_name(c->kind));
		if (a.kind == ANSWER_LAME || a.kind == ANSWER_NONE)
			print_error("why: %.*s\n", (int)sizeof(a.why), a.why);
	}
	assert_int_equal(a.kind, c->kind);
	switch (c->kind) {
	case ANSWER_ZONE:
	case ANSWER_REFERRAL:
		assert_non_null(memchr(a.zone, '\0', sizeof(a.zone)));
		assert_string_equal(a.zone, c->zone);
		break;
	case ANSWER_DNAME:
		assert_non_null(memchr(a.owner, '\0', sizeof(a.owner)));
		assert_string_equal(a.owner, c->owner);
		/* FALLTHROUGH */
	case ANSWER_CNAME:
		assert_non_null(memchr(a.target, '\0', sizeof(a.target)));
		assert_string_equal(a.target, c->target);
		break;
	case ANSWER_LAME:
	case ANSWER_NONE:
		assert_non_null(memchr(a.why, '\0', sizeof(a.why)));
		assert_true(a.why[0] != '\0');
		if (c->why != NULL && strstr(a.why, c->why) == NULL)
			print_error("why = \"%s\", wanted it to mention \"%s\"\n", a.why, c->why);
		if (c->why != NULL)
			assert_non_null(strstr(a.why, c->why));
		break;
	}
}

/* The long names in the table are what their descriptions say. */
static void
test_classify_long_names(void **state)
{
	(void)state;
	assert_int_equal(strlen(L63), 63);
	assert_int_equal(strlen(LONGQ), 206);
	assert_int_equal(strlen(L63 "." L63 "." L63 "." A50 ".other.test"), 253);
	assert_int_equal(strlen(L63 "." L63 "." L63 "." A51 ".other.test"), 254);
}

/* -------------------------------------------------------------- answer_none */

static void
test_none_plain(void **state)
{
	struct answer a;

	(void)state;
	memset(&a, 'Z', sizeof(a));
	answer_none(&a, "timeout");
	assert_int_equal(a.kind, ANSWER_NONE);
	assert_string_equal(a.why, "timeout");
}

static void
test_none_long_why(void **state)
{
	char why[400];
	struct answer a;

	(void)state;
	memset(why, 'w', sizeof(why) - 1);
	why[sizeof(why) - 1] = '\0';
	memset(&a, 'Z', sizeof(a));
	answer_none(&a, why);
	assert_int_equal(a.kind, ANSWER_NONE);
	assert_non_null(memchr(a.why, '\0', sizeof(a.why)));
	assert_true(strlen(a.why) > 0);
	assert_memory_equal(a.why, why, strlen(a.why));
}

/* -------------------------------------------------- answer_same / answer_agree */

struct mini {
	enum answer_kind kind;
	const char *zone;
	const char *target;
	const char *why;
};

static void
mini_fill(struct answer *a, const struct mini *m)
{
	memset(a, 0, sizeof(*a));
	a->kind = m->kind;
	if (m->zone != NULL)
		snprintf(a->zone, sizeof(a->zone), "%s", m->zone);
	if (m->target != NULL)
		snprintf(a->target, sizeof(a->target), "%s", m->target);
	if (m->why != NULL)
		snprintf(a->why, sizeof(a->why), "%s", m->why);
}

struct same_case {
	const char *desc;
	struct mini a, b;
	int want;
};

static const struct same_case same_cases[] = {
	{ "same zone", { ANSWER_ZONE, APEX, NULL, NULL }, { ANSWER_ZONE, APEX, NULL, NULL }, 1 },
	{ "different zones", { ANSWER_ZONE, APEX, NULL, NULL },
	  { ANSWER_ZONE, "www.example.test", NULL, NULL }, 0 },
	{ "zone vs referral at the same name", { ANSWER_ZONE, "www.example.test", NULL, NULL },
	  { ANSWER_REFERRAL, "www.example.test", NULL, NULL }, 0 },
	{ "same referral", { ANSWER_REFERRAL, "www.example.test", NULL, NULL },
	  { ANSWER_REFERRAL, "www.example.test", NULL, NULL }, 1 },
	{ "same CNAME target", { ANSWER_CNAME, NULL, "x.other.test", NULL },
	  { ANSWER_CNAME, NULL, "x.other.test", NULL }, 1 },
	{ "different CNAME targets", { ANSWER_CNAME, NULL, "x.other.test", NULL },
	  { ANSWER_CNAME, NULL, "y.other.test", NULL }, 0 },
	{ "CNAME vs DNAME with the same target", { ANSWER_CNAME, NULL, "x.other.test", NULL },
	  { ANSWER_DNAME, NULL, "x.other.test", NULL }, 0 },
	{ "same zone, different why", { ANSWER_ZONE, APEX, NULL, "from 192.0.2.1" },
	  { ANSWER_ZONE, APEX, NULL, "from 192.0.2.2" }, 1 },
};

static void
test_same_case(void **state)
{
	const struct same_case *c = *state;
	struct answer a, b;

	mini_fill(&a, &c->a);
	mini_fill(&b, &c->b);
	assert_int_equal(answer_same(&a, &b), c->want);
	assert_int_equal(answer_same(&b, &a), c->want);
	assert_int_equal(answer_same(&a, &a), 1);
}

#define MAX_AGREE	5

struct agree_case {
	const char *desc;
	struct mini a[MAX_AGREE];
	size_t n;
	int want;
};

#define ZN(z)	{ ANSWER_ZONE, z, NULL, NULL }
#define RF(z)	{ ANSWER_REFERRAL, z, NULL, NULL }
#define CN(t)	{ ANSWER_CNAME, NULL, t, NULL }
#define LM	{ ANSWER_LAME, NULL, NULL, "REFUSED" }
#define NO	{ ANSWER_NONE, NULL, NULL, "timeout" }

static const struct agree_case agree_cases[] = {
	{ "all agree", { ZN(APEX), ZN(APEX), ZN(APEX) }, 3, 0 },
	{ "a single zone answer", { ZN(APEX) }, 1, 0 },
	{ "one LAME + one ZONE", { LM, ZN(APEX) }, 2, 1 },
	{ "NONE, LAME, then two agreeing", { NO, LM, ZN(APEX), ZN(APEX) }, 4, 2 },
	{ "ZONE, NONE, LAME, ZONE", { ZN(APEX), NO, LM, ZN(APEX) }, 4, 0 },
	{ "NONE only", { NO, NO }, 2, ANSWER_NO_AUTHORITY },
	{ "LAME only", { LM, LM, LM }, 3, ANSWER_NO_AUTHORITY },
	{ "NONE and LAME", { NO, LM }, 2, ANSWER_NO_AUTHORITY },
	{ "two ZONE with different zones", { ZN(APEX), ZN("www.example.test") }, 2,
	  ANSWER_DISAGREE },
	{ "different zones around a LAME", { ZN(APEX), LM, ZN("www.example.test") }, 3,
	  ANSWER_DISAGREE },
	{ "ZONE vs REFERRAL", { ZN("www.example.test"), RF("www.example.test") }, 2,
	  ANSWER_DISAGREE },
	{ "agreeing referrals", { RF("www.example.test"), NO, RF("www.example.test") }, 3, 0 },
	{ "agreeing CNAMEs", { CN("x.other.test"), CN("x.other.test") }, 2, 0 },
	{ "different CNAME targets", { CN("x.other.test"), CN("y.other.test") }, 2,
	  ANSWER_DISAGREE },
	{ "CNAME vs ZONE", { CN("x.other.test"), ZN(APEX) }, 2, ANSWER_DISAGREE },
	{ "empty array", { ZN(APEX) }, 0, ANSWER_NO_AUTHORITY },
};

static void
test_agree_case(void **state)
{
	const struct agree_case *c = *state;
	struct answer a[MAX_AGREE];
	size_t i;

	for (i = 0; i < MAX_AGREE; i++)
		mini_fill(&a[i], &c->a[i]);
	assert_int_equal(answer_agree(a, c->n), c->want);
}

/* ------------------------------------------------- answer_is_wildcard_cname */

#define PROBE	"p7c2x9q1.www.example.test"
#define WTARGET	"_acme-challenge.dele.other.test"

struct wild_case {
	const char *desc;
	struct pkt_spec pkt;
	int want;
};

static const struct wild_case wild_cases[] = {
	{ "CNAME from the probe to the target",
	  { .aa = 1, .rcode = NOERR, .an = { CNAME(PROBE ".", WTARGET ".") } }, 1 },
	{ "CNAME to the target, followed by the target's records",
	  { .aa = 1, .rcode = NOERR,
	    .an = { CNAME(PROBE ".", WTARGET "."), TXT(WTARGET ".", "v") } }, 1 },
	{ "mixed case",
	  { .qname = "P7C2x9q1.WWW.example.test.", .aa = 1, .rcode = NOERR,
	    .an = { CNAME("P7C2x9q1.WWW.example.test.", "_ACME-challenge.Dele.OTHER.test.") } },
	  1 },
	{ "CNAME to another target",
	  { .aa = 1, .rcode = NOERR, .an = { CNAME(PROBE ".", "elsewhere.other.test.") } }, 0 },
	{ "NXDOMAIN",
	  { .aa = 1, .rcode = NXD, .ns = { SOA("example.test.") } }, 0 },
	{ "CNAME to the target, NXDOMAIN for the target (RFC 6604)",
	  { .aa = 1, .rcode = NXD, .an = { CNAME(PROBE ".", WTARGET ".") },
	    .ns = { SOA("other.test.") } }, 1 },
	{ "NODATA",
	  { .aa = 1, .rcode = NOERR, .ns = { SOA("example.test.") } }, 0 },
	{ "AA=0",
	  { .aa = 0, .rcode = NOERR, .an = { CNAME(PROBE ".", WTARGET ".") } }, 0 },
	{ "CNAME owned by another name",
	  { .aa = 1, .rcode = NOERR, .an = { CNAME(CH ".", WTARGET ".") } }, 0 },
};

static void
test_wild_case(void **state)
{
	const struct wild_case *c = *state;
	ldns_pkt *p = build_pkt(&c->pkt, PROBE);
	int rc = answer_is_wildcard_cname(p, PROBE, WTARGET);

	ldns_pkt_free(p);
	assert_int_equal(rc, c->want);
}

/* ------------------------------------------------------ answer_reply_check */

#define RQNAME	"_acme-challenge.example.test."
#define RQID	0x4242

enum raw_kind { RAW_PKT, RAW_GARBAGE, RAW_SHORT5, RAW_CUT, RAW_EMPTY };

struct reply_case {
	const char *desc;
	const char *q_qname;		/* NULL: RQNAME */
	uint16_t id;
	int	qr, tc;
	const char *qname;		/* NULL: RQNAME */
	ldns_rr_type qtype;		/* 0: TXT */
	ldns_rr_class qclass;		/* 0: IN */
	int	noquestion;
	enum raw_kind raw;
	enum reply_check want;
};

static const struct reply_case reply_cases[] = {
	{ "matching answer", NULL, RQID, 1, 0, NULL, 0, 0, 0, RAW_PKT, REPLY_USE },
	{ "0x20: reply qname in other case", NULL, RQID, 1, 0,
	  "_ACME-Challenge.EXAMPLE.test.", 0, 0, 0, RAW_PKT, REPLY_USE },
	{ "0x20: query qname in other case", "_Acme-CHALLENGE.example.TEST.", RQID, 1, 0,
	  NULL, 0, 0, 0, RAW_PKT, REPLY_USE },
	{ "wrong id", NULL, RQID + 1, 1, 0, NULL, 0, 0, 0, RAW_PKT, REPLY_IGNORE },
	{ "QR=0", NULL, RQID, 0, 0, NULL, 0, 0, 0, RAW_PKT, REPLY_IGNORE },
	{ "other qname", NULL, RQID, 1, 0, "_acme-challenge.www.example.test.", 0, 0, 0,
	  RAW_PKT, REPLY_IGNORE },
	{ "other qtype", NULL, RQID, 1, 0, NULL, LDNS_RR_TYPE_SOA, 0, 0, RAW_PKT,
	  REPLY_IGNORE },
	{ "other qclass", NULL, RQID, 1, 0, NULL, 0, LDNS_RR_CLASS_CH, 0, RAW_PKT,
	  REPLY_IGNORE },
	{ "no question", NULL, RQID, 1, 0, NULL, 0, 0, 1, RAW_PKT, REPLY_IGNORE },
	{ "garbage", NULL, RQID, 1, 0, NULL, 0, 0, 0, RAW_GARBAGE, REPLY_IGNORE },
	{ "5-octet message", NULL, RQID, 1, 0, NULL, 0, 0, 0, RAW_SHORT5, REPLY_IGNORE },
	{ "empty message", NULL, RQID, 1, 0, NULL, 0, 0, 0, RAW_EMPTY, REPLY_IGNORE },
	{ "answer cut short", NULL, RQID, 1, 0, NULL, 0, 0, 0, RAW_CUT, REPLY_IGNORE },
	{ "TC=1", NULL, RQID, 1, 1, NULL, 0, 0, 0, RAW_PKT, REPLY_TRUNCATED },
	{ "TC=1, 0x20 case", NULL, RQID, 1, 1, "_ACME-CHALLENGE.Example.Test.", 0, 0, 0,
	  RAW_PKT, REPLY_TRUNCATED },
	{ "TC=1 with a wrong id", NULL, RQID ^ 0x0100, 1, 1, NULL, 0, 0, 0, RAW_PKT,
	  REPLY_IGNORE },
	{ "TC=1 with QR=0", NULL, RQID, 0, 1, NULL, 0, 0, 0, RAW_PKT, REPLY_IGNORE },
};

static const char *
reply_name(enum reply_check r)
{
	return r == REPLY_USE ? "USE" : r == REPLY_TRUNCATED ? "TRUNCATED" :
	    r == REPLY_IGNORE ? "IGNORE" : "?";
}

static void
test_reply_case(void **state)
{
	const struct reply_case *c = *state;
	ldns_pkt *q = new_question(c->q_qname ? c->q_qname : RQNAME, LDNS_RR_TYPE_TXT,
	    LDNS_RR_CLASS_IN, RQID);
	ldns_pkt *r, *out;
	uint8_t *wire = NULL, sentinel;
	size_t len = 0;
	enum reply_check rc;
	static const uint8_t garbage[] = {
		0x42, 0x42, 0x84, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
		0xff, 0xff, 0x3f, 0x01, 0x02, 0x03, 0xde, 0xad, 0xbe, 0xef,
	};

	if (c->noquestion) {
		r = ldns_pkt_new();
		assert_non_null(r);
		ldns_pkt_set_id(r, c->id);
	} else
		r = new_question(c->qname ? c->qname : RQNAME,
		    c->qtype ? c->qtype : LDNS_RR_TYPE_TXT,
		    c->qclass ? c->qclass : LDNS_RR_CLASS_IN, c->id);
	ldns_pkt_set_qr(r, c->qr != 0);
	ldns_pkt_set_aa(r, 1);
	ldns_pkt_set_tc(r, c->tc != 0);
	if (!c->tc) {
		const char *an[MAX_RRS] = { TXT(RQNAME, "hello") };

		push_rrs(r, LDNS_SECTION_ANSWER, an);
	}
	assert_int_equal(ldns_pkt2wire(&wire, r, &len), LDNS_STATUS_OK);
	ldns_pkt_free(r);

	switch (c->raw) {
	case RAW_PKT:
		break;
	case RAW_GARBAGE:
		free(wire);
		wire = malloc(sizeof(garbage));
		assert_non_null(wire);
		memcpy(wire, garbage, sizeof(garbage));
		len = sizeof(garbage);
		break;
	case RAW_SHORT5:
		len = 5;
		break;
	case RAW_CUT:
		assert_true(len > 12);
		len -= 3;
		break;
	case RAW_EMPTY:
		len = 0;
		break;
	}

	out = (ldns_pkt *)(void *)&sentinel;	/* must be overwritten */
	rc = answer_reply_check(q, wire, len, &out);
	free(wire);
	ldns_pkt_free(q);
	if (rc != c->want)
		print_error("got %s, wanted %s\n", reply_name(rc), reply_name(c->want));
	if (rc == REPLY_USE && out != NULL && out != (ldns_pkt *)(void *)&sentinel) {
		uint16_t id = ldns_pkt_id(out);
		size_t an = ldns_pkt_ancount(out);

		ldns_pkt_free(out);
		assert_int_equal(rc, c->want);
		assert_int_equal(id, RQID);
		assert_int_equal(an, 1);
		return;
	}
	assert_int_equal(rc, c->want);
	if (rc == REPLY_USE)
		assert_non_null(out);	/* fails: USE without a packet */
	assert_true(out != (ldns_pkt *)(void *)&sentinel);
	assert_null(out);
}

/* -------------------------------------------------------- answer_judge_txt */

#define TNAME	"_acme-challenge.example.test"
#define V1	"value-one"
#define V2	"value-two"
#define VOTHER	"someone-elses-value"
#define DESCLEN	256

struct judge_case {
	const char *desc;
	int	absent;
	const char *values[3];
	size_t	nvalues;
	struct pkt_spec pkt;
	enum addr_state want;
	int	others;			/* -1: not checked, else the wanted *others */
	const char *has;		/* a substring of desc, or NULL */
	const char *has2;		/* another, or NULL */
};

#define QTXT	.qtype = LDNS_RR_TYPE_TXT
#define APEXSOA	.ns = { SOA("example.test.") }

static const struct judge_case judge_cases[] = {
	/* present */
	{ "present: all values", 0, { V1, V2 }, 2,
	  { QTXT, .aa = 1, .rcode = NOERR, .an = { TXT(TNAME ".", V2), TXT(TNAME ".", V1) } },
	  AS_GOOD, -1, NULL, NULL },
	{ "present: all values and another", 0, { V1, V2 }, 2,
	  { QTXT, .aa = 1, .rcode = NOERR,
	    .an = { TXT(TNAME ".", V1), TXT(TNAME ".", VOTHER), TXT(TNAME ".", V2) } },
	  AS_GOOD, -1, NULL, NULL },
	{ "present: one value", 0, { V1 }, 1,
	  { QTXT, .aa = 1, .rcode = NOERR, .an = { TXT(TNAME ".", V1) } },
	  AS_GOOD, -1, NULL, NULL },
	{ "present: some values", 0, { V1, V2 }, 2,
	  { QTXT, .aa = 1, .rcode = NOERR, .an = { TXT(TNAME ".", V1) } },
	  AS_BAD, -1, "(1 of 2 values)", "\"" V1 "\"" },
	{ "present: only other values", 0, { V1, V2 }, 2,
	  { QTXT, .aa = 1, .rcode = NOERR, .an = { TXT(TNAME ".", VOTHER) } },
	  AS_BAD, -1, "(0 of 2 values)", "\"" VOTHER "\"" },
	{ "present: NODATA", 0, { V1 }, 1,
	  { QTXT, .aa = 1, .rcode = NOERR, APEXSOA },
	  AS_BAD, -1, "no TXT (NODATA)", NULL },
	{ "present: NXDOMAIN", 0, { V1 }, 1,
	  { QTXT, .aa = 1, .rcode = NXD, APEXSOA },
	  AS_BAD, -1, "NXDOMAIN", NULL },
	{ "present: AA=0", 0, { V1 }, 1,
	  { QTXT, .aa = 0, .rcode = NOERR, .an = { TXT(TNAME ".", V1) } },
	  AS_LAME, -1, NULL, NULL },
	{ "present: REFUSED", 0, { V1 }, 1,
	  { QTXT, .aa = 0, .rcode = LDNS_RCODE_REFUSED },
	  AS_LAME, -1, "REFUSED", NULL },
	{ "present: REFUSED with AA", 0, { V1 }, 1,
	  { QTXT, .aa = 1, .rcode = LDNS_RCODE_REFUSED },
	  AS_LAME, -1, "REFUSED", NULL },
	{ "present: NOTAUTH", 0, { V1 }, 1,
	  { QTXT, .aa = 0, .rcode = LDNS_RCODE_NOTAUTH },
	  AS_LAME, -1, "NOTAUTH", NULL },
	{ "present: NOTAUTH with AA", 0, { V1 }, 1,
	  { QTXT, .aa = 1, .rcode = LDNS_RCODE_NOTAUTH },
	  AS_LAME, -1, "NOTAUTH", NULL },
	{ "present: SERVFAIL with AA", 0, { V1 }, 1,
	  { QTXT, .aa = 1, .rcode = LDNS_RCODE_SERVFAIL },
	  AS_BAD, -1, "SERVFAIL", NULL },
	{ "present: SERVFAIL (AA=0, as servers send it)", 0, { V1 }, 1,
	  { QTXT, .aa = 0, .rcode = LDNS_RCODE_SERVFAIL },
	  AS_BAD, -1, "SERVFAIL", NULL },
	{ "present: multi-string TXT equals the concatenation", 0, { "abcdef" }, 1,
	  { QTXT, .aa = 1, .rcode = NOERR, .an = { TNAME ". 60 IN TXT \"abc\" \"def\"" } },
	  AS_GOOD, -1, NULL, NULL },
	{ "present: multi-string TXT does not match its first string", 0, { "abc" }, 1,
	  { QTXT, .aa = 1, .rcode = NOERR, .an = { TNAME ". 60 IN TXT \"abc\" \"def\"" } },
	  AS_BAD, -1, NULL, NULL },
	{ "present: TXT at another owner ignored", 0, { V1 }, 1,
	  { QTXT, .aa = 1, .rcode = NOERR,
	    .an = { TXT("_acme-challenge.www.example.test.", V1) } },
	  AS_BAD, -1, NULL, NULL },
	{ "present: owner in mixed case", 0, { V1 }, 1,
	  { QTXT, .aa = 1, .rcode = NOERR, .an = { TXT("_ACME-Challenge.Example.TEST.", V1) } },
	  AS_GOOD, -1, NULL, NULL },
	{ "present: values compared exactly (case)", 0, { V1 }, 1,
	  { QTXT, .aa = 1, .rcode = NOERR, .an = { TXT(TNAME ".", "VALUE-ONE") } },
	  AS_BAD, -1, NULL, NULL },
	{ "present: unprintable octets escaped", 0, { V1 }, 1,
	  { QTXT, .aa = 1, .rcode = NOERR, .an = { TXT(TNAME ".", "a\\001b\\255c") } },
	  AS_BAD, -1, "\"a\\001b\\255c\"", NULL },

	/* absent */
	{ "absent: NODATA", 1, { V1 }, 1,
	  { QTXT, .aa = 1, .rcode = NOERR, APEXSOA },
	  AS_GOOD, 0, NULL, NULL },
	{ "absent: NXDOMAIN", 1, { V1 }, 1,
	  { QTXT, .aa = 1, .rcode = NXD, APEXSOA },
	  AS_GOOD, 0, NULL, NULL },
	{ "absent: none of ours, others remain", 1, { V1, V2 }, 2,
	  { QTXT, .aa = 1, .rcode = NOERR, .an = { TXT(TNAME ".", VOTHER) } },
	  AS_GOOD, 1, NULL, NULL },
	{ "absent: one of ours remains", 1, { V1, V2 }, 2,
	  { QTXT, .aa = 1, .rcode = NOERR, .an = { TXT(TNAME ".", VOTHER), TXT(TNAME ".", V2) } },
	  AS_BAD, -1, "\"" V2 "\"", NULL },
	{ "absent: ours at another owner ignored", 1, { V1 }, 1,
	  { QTXT, .aa = 1, .rcode = NOERR,
	    .an = { TXT("_acme-challenge.www.example.test.", V1) } },
	  AS_GOOD, 0, NULL, NULL },
	{ "absent: AA=0", 1, { V1 }, 1,
	  { QTXT, .aa = 0, .rcode = NOERR, APEXSOA },
	  AS_LAME, -1, NULL, NULL },
	{ "absent: REFUSED", 1, { V1 }, 1,
	  { QTXT, .aa = 0, .rcode = LDNS_RCODE_REFUSED },
	  AS_LAME, -1, "REFUSED", NULL },
	{ "absent: SERVFAIL with AA", 1, { V1 }, 1,
	  { QTXT, .aa = 1, .rcode = LDNS_RCODE_SERVFAIL },
	  AS_BAD, -1, "SERVFAIL", NULL },
	{ "absent: SERVFAIL (AA=0, as servers send it)", 1, { V1 }, 1,
	  { QTXT, .aa = 0, .rcode = LDNS_RCODE_SERVFAIL },
	  AS_BAD, -1, "SERVFAIL", NULL },
};

static const char *
verdict_name(enum addr_state v)
{
	return v == AS_GOOD ? "GOOD" : v == AS_BAD ? "BAD" : v == AS_LAME ? "LAME" : "?";
}

/* desc holds has (nothing to check when has is NULL). */
static void
assert_desc_has(const char *desc, const char *has)
{
	if (has == NULL)
		return;
	if (strstr(desc, has) == NULL)
		print_error("desc \"%s\" lacks \"%s\"\n", desc, has);
	assert_non_null(strstr(desc, has));
}

/* A judged answer: verdict v and others as wanted (want_others -1: any). */
static void
assert_verdict(enum addr_state v, enum addr_state want, int others, int want_others,
    const char *desc)
{
	if (v != want)
		print_error("verdict %s, wanted %s; desc \"%s\"\n", verdict_name(v),
		    verdict_name(want), desc);
	assert_int_equal(v, want);
	if (want_others != -1)
		assert_int_equal(others, want_others);
}

static void
test_judge_case(void **state)
{
	const struct judge_case *c = *state;
	ldns_pkt *p = build_pkt(&c->pkt, TNAME ".");
	struct txt_want w = { TNAME, c->values, c->nvalues, c->absent };
	char desc[DESCLEN];
	int others = 0;
	enum addr_state v;

	memset(desc, 'Z', sizeof(desc));
	v = answer_judge_txt(p, &w, &others, desc, sizeof(desc));
	ldns_pkt_free(p);
	assert_non_null(memchr(desc, '\0', sizeof(desc)));
	assert_verdict(v, c->want, others, c->others, desc);
	assert_true(desc[0] != '\0');
	assert_desc_has(desc, c->has);
	assert_desc_has(desc, c->has2);
}

/*
 * A '"' or '\' inside a value never shows raw in desc: it is escaped, as
 * \DDD or with a backslash.
 */
static void
judge_escape(const char *rrtext, const char *ddd, const char *bs, const char *raw)
{
	const char *vals[] = { V1 };
	struct pkt_spec s = { QTXT, .aa = 1, .rcode = NOERR, .an = { rrtext } };
	ldns_pkt *p = build_pkt(&s, TNAME ".");
	struct txt_want w = { TNAME, vals, 1, 0 };
	char desc[DESCLEN];
	int others = 0;
	enum addr_state v = answer_judge_txt(p, &w, &others, desc, sizeof(desc));

	ldns_pkt_free(p);
	assert_int_equal(v, AS_BAD);
	if (strstr(desc, ddd) == NULL && strstr(desc, bs) == NULL)
		print_error("desc \"%s\": wanted \"%s\" or \"%s\"\n", desc, ddd, bs);
	assert_true(strstr(desc, ddd) != NULL || strstr(desc, bs) != NULL);
	assert_null(strstr(desc, raw));
}

static void
test_judge_quote_escaped(void **state)
{
	(void)state;
	judge_escape(TNAME ". 60 IN TXT \"say \\\"hi\\\" ok\"",
	    "say \\034hi\\034 ok", "say \\\"hi\\\" ok", "\"hi\" ");
}

static void
test_judge_backslash_escaped(void **state)
{
	(void)state;
	judge_escape(TNAME ". 60 IN TXT \"back\\\\slash\"",
	    "back\\092slash", "back\\\\slash", "back\\s");
}

/* A small desc buffer is never overrun and stays a string. */
static void
test_judge_desc_truncated(void **state)
{
	const char *vals[] = { V1, V2 };
	struct pkt_spec s = { QTXT, .aa = 1, .rcode = NOERR,
	    .an = { TXT(TNAME ".", VOTHER), TXT(TNAME ".", VOTHER "-2"), TXT(TNAME ".", V1) } };
	struct txt_want w = { TNAME, vals, 2, 0 };
	size_t sizes[] = { 1, 2, 5, 16, 30 }, i;

	(void)state;
	for (i = 0; i < NELEM(sizes); i++) {
		ldns_pkt *p = build_pkt(&s, TNAME ".");
		char *desc = malloc(sizes[i]);	/* exact size: ASan sees an overrun */
		int others = 0, terminated;
		enum addr_state v;

		assert_non_null(desc);
		v = answer_judge_txt(p, &w, &others, desc, sizes[i]);
		terminated = memchr(desc, '\0', sizes[i]) != NULL;
		free(desc);
		ldns_pkt_free(p);
		assert_int_equal(v, AS_BAD);
		assert_true(terminated);
	}
}

/* ------------------------------------------- many TXT records in one answer */

#define MANY_RRS	150	/* TXT records in one canned answer: more than any cap had */

/* An answer to "TNAME TXT" with TXT records "v-<first>" .. "v-<first + n - 1>". */
static ldns_pkt *
many_pkt(int first, int n)
{
	ldns_pkt *p = build_pkt(&(struct pkt_spec){ QTXT, .aa = 1, .rcode = NOERR }, TNAME ".");
	char rrtext[128];
	int i;

	for (i = first; i < first + n; i++) {
		ldns_rr *rr = NULL;

		snprintf(rrtext, sizeof(rrtext), TNAME ". 60 IN TXT \"v-%d\"", i);
		assert_int_equal(ldns_rr_new_frm_str(&rr, rrtext, 0, NULL, NULL), LDNS_STATUS_OK);
		assert_true(ldns_pkt_push_rr(p, LDNS_SECTION_ANSWER, rr));
	}
	return p;
}

/* Wanted values "v-<first>" .. "v-<first + n - 1>", in wvals/wbuf. */
static void
many_wanted(int first, int n, const char **wvals, char (*wbuf)[16])
{
	int i;

	for (i = 0; i < n; i++) {
		snprintf(wbuf[i], sizeof(wbuf[i]), "v-%d", first + i);
		wvals[i] = wbuf[i];
	}
}

struct many_case {
	const char *desc;
	int	absent;
	int	first, n;		/* the wanted values */
	enum addr_state want;
	int	others;			/* -1: not checked */
	const char *has;		/* a substring of desc, or NULL */
};

/* The answer always holds v-0 .. v-149; the last ones used to be dropped. */
static const struct many_case many_cases[] = {
	{ "present: the last of 150 records", 0, MANY_RRS - 1, 1, AS_GOOD, -1, NULL },
	{ "present: 100 values among 150 records", 0, MANY_RRS - 100, 100, AS_GOOD, -1, NULL },
	{ "present: 150 values, all there", 0, 0, MANY_RRS, AS_GOOD, -1, NULL },
	{ "present: one of 100 missing", 0, MANY_RRS - 99, 100, AS_BAD, -1,
	  "(99 of 100 values)" },
	{ "absent: ours is the last of 150 records", 1, MANY_RRS - 1, 1, AS_BAD, -1, NULL },
	{ "absent: none of ours among 150 records", 1, MANY_RRS, 3, AS_GOOD, 1, NULL },
	{ "absent: all 150 are ours", 1, 0, MANY_RRS, AS_BAD, -1, NULL },
};

static void
test_many_case(void **state)
{
	const struct many_case *c = *state;
	ldns_pkt *p = many_pkt(0, MANY_RRS);
	const char *wvals[MANY_RRS];
	char wbuf[MANY_RRS][16], desc[DESCLEN];
	struct txt_want w = { TNAME, wvals, (size_t)c->n, c->absent };
	int others = 0;
	enum addr_state v;

	many_wanted(c->first, c->n, wvals, wbuf);
	v = answer_judge_txt(p, &w, &others, desc, sizeof(desc));
	ldns_pkt_free(p);
	assert_non_null(memchr(desc, '\0', sizeof(desc)));
	assert_verdict(v, c->want, others, c->others, desc);
	assert_desc_has(desc, c->has);
}

/*
 * A desc too small for every value names as many as fit, then how many
 * more there are, then the tail: "TXT "v-0" ... and 140 more (0 of 1
 * values)".  Every value is either shown whole or counted.
 */
static void
test_judge_desc_counts_the_rest(void **state)
{
	ldns_pkt *p = many_pkt(0, MANY_RRS);
	const char *vals[] = { "not-there" };
	struct txt_want w = { TNAME, vals, 1, 0 };
	char desc[DESCLEN], want[64];
	const char *q;
	int others = 0;
	size_t shown = 0, i;

	(void)state;
	assert_int_equal(answer_judge_txt(p, &w, &others, desc, sizeof(desc)), AS_BAD);
	ldns_pkt_free(p);
	for (q = desc; (q = strstr(q, " \"v-")) != NULL; q++)
		shown++;
	for (i = 0; i < shown; i++) {
		snprintf(want, sizeof(want), "\"v-%zu\"", i);
		assert_non_null(strstr(desc, want));
	}
	assert_true(shown > 0 && shown < MANY_RRS);
	snprintf(want, sizeof(want), " and %zu more (0 of 1 values)", MANY_RRS - shown);
	assert_desc_has(desc, want);
}

/* ------------------------------------------------------- answer_txt_values */

struct values_case {
	const char *desc;
	const char *an[MAX_RRS];
	size_t	want_n;
	const char *want[MAX_RRS];	/* the values, any order */
	size_t	want_len[MAX_RRS];	/* 0: strlen(want[i]) */
};

static const struct values_case values_cases[] = {
	{ "none", { NULL }, 0, { NULL }, { 0 } },
	{ "one", { TXT(TNAME ".", V1) }, 1, { V1 }, { 0 } },
	{ "three", { TXT(TNAME ".", V1), TXT(TNAME ".", V2), TXT(TNAME ".", VOTHER) }, 3,
	  { V1, V2, VOTHER }, { 0 } },
	{ "strings concatenated", { TNAME ". 60 IN TXT \"abc\" \"def\" \"g\"" }, 1,
	  { "abcdefg" }, { 0 } },
	{ "empty string", { TNAME ". 60 IN TXT \"\"" }, 1, { "" }, { 0 } },
	{ "other owners and types skipped",
	  { TXT("www.example.test.", V2), CNAME("x.example.test.", "y.example.test."),
	    TXT(TNAME ".", V1), SOA("example.test."),
	    TXT("x." TNAME ".", VOTHER) }, 1, { V1 }, { 0 } },
	{ "owner in mixed case", { TXT("_ACME-challenge.EXAMPLE.Test.", V1) }, 1, { V1 },
	  { 0 } },
	{ "NUL inside a value kept", { TXT(TNAME ".", "a\\000b") }, 1, { "a\0b" }, { 3 } },
	{ "NUL across strings kept", { TNAME ". 60 IN TXT \"a\\000\" \"\\000b\"" }, 1,
	  { "a\0\0b" }, { 4 } },
	{ "octets above 127 kept", { TXT(TNAME ".", "\\255\\254") }, 1, { "\xff\xfe" },
	  { 0 } },
};

static void
test_values_case(void **state)
{
	const struct values_case *c = *state;
	struct pkt_spec s = { QTXT, .aa = 1, .rcode = NOERR };
	struct txt_value *out = NULL;
	ldns_pkt *p;
	size_t n = 0, i, j, ncand = 0;
	int bad = 0, used[MAX_RRS] = { 0 };

	memcpy(s.an, c->an, sizeof(s.an));
	p = build_pkt(&s, TNAME ".");
	assert_int_equal(answer_txt_values(p, TNAME, &out, &n), 0);
	ldns_pkt_free(p);
	for (i = 0; i < MAX_RRS && c->want[i] != NULL; i++)
		ncand++;
	for (i = 0; i < n; i++) {
		int found = 0;

		for (j = 0; j < ncand && !found; j++) {
			size_t len = c->want_len[j] ? c->want_len[j] : strlen(c->want[j]);

			if (!used[j] && out[i].len == len &&
			    memcmp(out[i].data, c->want[j], len) == 0 && out[i].data[len] == '\0')
				found = used[j] = 1;
		}
		if (!found) {
			print_error("unexpected or repeated value of %zu octets\n", out[i].len);
			bad++;
		}
	}
	answer_txt_values_free(out, n);
	assert_int_equal(n, c->want_n);
	assert_true(n > 0 || out == NULL);
	assert_int_equal(bad, 0);
}

/* Every one of 150 TXT records comes back, in answer order. */
static void
test_values_many(void **state)
{
	ldns_pkt *p = many_pkt(0, MANY_RRS);
	struct txt_value *out = NULL;
	char want[32];
	size_t n = 0, i;

	(void)state;
	assert_int_equal(answer_txt_values(p, TNAME, &out, &n), 0);
	ldns_pkt_free(p);
	assert_int_equal(n, MANY_RRS);
	for (i = 0; i < n; i++) {
		snprintf(want, sizeof(want), "v-%zu", i);
		assert_string_equal(out[i].data, want);
		assert_int_equal(out[i].len, strlen(want));
	}
	answer_txt_values_free(out, n);
}

/* ------------------------------------------------------- answer_txt_escape */

struct escape_case {
	const char *desc;
	const char *in;
	size_t	inlen;			/* 0: strlen(in) */
	const char *want;
};

static const struct escape_case escape_cases[] = {
	{ "empty", "", 0, "" },
	{ "printable ASCII as is", "abc XYZ 09 ~!", 0, "abc XYZ 09 ~!" },
	{ "NUL", "a\0b", 3, "a\\000b" },
	{ "quote and backslash", "\"\\", 0, "\\034\\092" },
	{ "control characters and DEL", "\x1b[2J\x7f\n", 0, "\\027[2J\\127\\010" },
	{ "octets above 127", "\xff\xfe\x80", 0, "\\255\\254\\128" },
	{ "UTF-8 is escaped too", "\xc3\xa9", 0, "\\195\\169" },
};

static void
test_escape_case(void **state)
{
	const struct escape_case *c = *state;
	size_t len = c->inlen ? c->inlen : strlen(c->in);
	char out[64];

	assert_int_equal(answer_txt_escape(c->in, len, NULL, 0), strlen(c->want));
	assert_true(strlen(c->want) <= ANSWER_ESCAPED_MAX(len));
	memset(out, 'Z', sizeof(out));
	assert_int_equal(answer_txt_escape(c->in, len, out, sizeof(out)), strlen(c->want));
	assert_string_equal(out, c->want);
}

/*
 * A short out buffer is never overrun, always a string, and cut only
 * between escapes: what it holds is a prefix of the whole form that ends
 * at an escape boundary.
 */
static void
test_escape_short(void **state)
{
	const char in[] = "a\0\xff\"z";
	const char *whole = "a\\000\\255\\034z";
	size_t size;

	(void)state;
	for (size = 1; size <= strlen(whole) + 1; size++) {
		char *out = malloc(size);	/* exact size: ASan sees an overrun */
		size_t got;

		assert_non_null(out);
		assert_int_equal(answer_txt_escape(in, sizeof(in) - 1, out, size), strlen(whole));
		got = strlen(out);
		assert_true(got < size);
		assert_memory_equal(out, whole, got);
		/* cut at a boundary: "a" "\000" "\255" "\034" "z" */
		assert_true(got == 0 || got == 1 || got == 5 || got == 9 || got == 13 ||
		    got == 14);
		/* and only when the next piece (at most 4 octets) did not fit */
		assert_true(got == strlen(whole) || got + 4 >= size);
		free(out);
	}
}

/* ------------------------------------------------------------ addr_health */

struct health_case {
	const char *desc;
	const char *events;	/* r: reply, t: timeout, e: error */
	const char *want;	/* addr_unreachable after each event */
};

static const struct health_case health_cases[] = {
	{ "fresh address counts", "", "" },
	{ "one timeout: still counts", "t", "0" },
	{ "two timeouts: still counts", "tt", "00" },
	{ "ADDR_TIMEOUTS_UNREACHABLE timeouts in a row: unreachable", "ttt", "001" },
	{ "many timeouts: stays unreachable", "tttttt", "001111" },
	{ "one reply: counts", "r", "0" },
	{ "timeouts, then a reply: counts again", "tttr", "0010" },
	{ "a reply, then many timeouts: counts", "rtttttt", "0000000" },
	{ "timeouts, reply, more timeouts: counts forever", "tttrtttttt", "0010000000" },
	{ "error, never answered: unreachable at once", "e", "1" },
	{ "timeout then error: unreachable", "te", "01" },
	{ "error after an answer: counts", "re", "00" },
	{ "error, then a reply: counts", "er", "10" },
	{ "reply, errors and timeouts: counts", "retettt", "0000000" },
};

static void
test_health_case(void **state)
{
	const struct health_case *c = *state;
	struct addr_health h;
	size_t i;

	memset(&h, 0, sizeof(h));
	assert_int_equal(strlen(c->events), strlen(c->want));
	assert_int_equal(addr_unreachable(&h), 0);
	for (i = 0; c->events[i] != '\0'; i++) {
		int u;

		switch (c->events[i]) {
		case 'r':
			addr_note_reply(&h);
			break;
		case 't':
			addr_note_timeout(&h);
			break;
		case 'e':
			addr_note_error(&h);
			break;
		default:
			fail_msg("bad event '%c'", c->events[i]);
		}
		u = addr_unreachable(&h);
		if (u != c->want[i] - '0')
			print_error("after event %zu ('%c' of \"%s\"): unreachable %d, wanted %c\n",
			    i + 1, c->events[i], c->events, u, c->want[i]);
		assert_int_equal(u, c->want[i] - '0');
	}
}

/* The threshold is the header's constant, not a number of this file. */
static void
test_health_threshold(void **state)
{
	struct addr_health h;
	unsigned i;

	(void)state;
	memset(&h, 0, sizeof(h));
	for (i = 1; i < ADDR_TIMEOUTS_UNREACHABLE; i++) {
		addr_note_timeout(&h);
		assert_int_equal(addr_unreachable(&h), 0);
	}
	addr_note_timeout(&h);
	assert_int_equal(addr_unreachable(&h), 1);
}

/* -------------------------------------------------------- answer_ns_state */

#define MAX_ADDRS	4

struct ns_case {
	const char *desc;
	enum addr_state st[MAX_ADDRS];
	int	unr[MAX_ADDRS];
	size_t	n;
	enum ns_state want;
};

static const struct ns_case ns_cases[] = {
	{ "one GOOD", { AS_GOOD }, { 0 }, 1, NS_DONE },
	{ "all GOOD", { AS_GOOD, AS_GOOD, AS_GOOD }, { 0, 0, 0 }, 3, NS_DONE },
	{ "GOOD + NONE", { AS_GOOD, AS_NONE }, { 0, 0 }, 2, NS_WAITING },
	{ "GOOD + NONE unreachable", { AS_GOOD, AS_NONE }, { 0, 1 }, 2, NS_DONE },
	{ "GOOD + BAD", { AS_GOOD, AS_BAD }, { 0, 0 }, 2, NS_WAITING },
	{ "GOOD + ERR, not unreachable", { AS_GOOD, AS_ERR }, { 0, 0 }, 2, NS_WAITING },
	{ "GOOD + ERR unreachable", { AS_GOOD, AS_ERR }, { 0, 1 }, 2, NS_DONE },
	{ "GOOD + LAME", { AS_GOOD, AS_LAME }, { 0, 0 }, 2, NS_DONE },
	{ "LAME + LAME", { AS_LAME, AS_LAME }, { 0, 0 }, 2, NS_LAME },
	{ "one LAME", { AS_LAME }, { 0 }, 1, NS_LAME },
	{ "LAME + unreachable", { AS_LAME, AS_ERR }, { 0, 1 }, 2, NS_LAME },
	{ "LAME + NONE unreachable", { AS_LAME, AS_NONE }, { 0, 1 }, 2, NS_LAME },
	{ "LAME + NONE", { AS_LAME, AS_NONE }, { 0, 0 }, 2, NS_WAITING },
	{ "LAME + ERR, not unreachable", { AS_LAME, AS_ERR }, { 0, 0 }, 2, NS_WAITING },
	{ "all unreachable", { AS_ERR, AS_NONE }, { 1, 1 }, 2, NS_WAITING },
	{ "one unreachable", { AS_ERR }, { 1 }, 1, NS_WAITING },
	{ "BAD + LAME", { AS_BAD, AS_LAME }, { 0, 0 }, 2, NS_WAITING },
	{ "one BAD", { AS_BAD }, { 0 }, 1, NS_WAITING },
	{ "all NONE", { AS_NONE, AS_NONE }, { 0, 0 }, 2, NS_WAITING },
	{ "n == 0", { AS_GOOD }, { 0 }, 0, NS_WAITING },
};

static const char *
ns_name(enum ns_state s)
{
	return s == NS_DONE ? "DONE" : s == NS_LAME ? "LAME" : s == NS_WAITING ? "WAITING" : "?";
}

static void
test_ns_case(void **state)
{
	const struct ns_case *c = *state;
	enum ns_state s = answer_ns_state(c->st, c->unr, c->n);

	if (s != c->want)
		print_error("state %s, wanted %s\n", ns_name(s), ns_name(c->want));
	assert_int_equal(s, c->want);
}

/* --------------------------------------------------------- answer_same_change */

static const int zone_a, zone_b;	/* two zones, by address */

struct change_case {
	const char *desc;
	struct change_tag a, b;
	int	want;
};

static const struct change_case change_cases[] = {
	{ "witness and member of one call", { &zone_a, 1, 1, 1 }, { &zone_a, 1, 1, 0 }, 1 },
	{ "two witnesses of one call", { &zone_a, 1, 1, 1 }, { &zone_a, 1, 1, 1 }, 1 },
	{ "the other is not a member (value there already)", { &zone_a, 1, 1, 1 },
	  { &zone_a, 1, 0, 0 }, 0 },
	{ "a member that is no witness (removal pending) says nothing",
	  { &zone_a, 1, 1, 0 }, { &zone_a, 1, 1, 1 }, 0 },
	{ "another call", { &zone_a, 1, 1, 1 }, { &zone_a, 2, 1, 1 }, 0 },
	{ "another zone", { &zone_a, 1, 1, 1 }, { &zone_b, 1, 1, 1 }, 0 },
	{ "a witness flag without membership counts for nothing", { &zone_a, 1, 0, 1 },
	  { &zone_a, 1, 1, 0 }, 0 },
	{ "no call at all (batch 0, not members)", { &zone_a, 0, 0, 0 }, { &zone_a, 0, 0, 0 },
	  0 },
};

static void
test_change_case(void **state)
{
	const struct change_case *c = *state;

	assert_int_equal(answer_same_change(&c->a, &c->b), c->want);
}

/* -------------------------------------------------------------------- runner */

int
main(void)
{
	size_t i;

	unit_add("answer_classify", "long names in the table", test_classify_long_names, NULL);
	for (i = 0; i < NELEM(classify_cases); i++)
		unit_add("answer_classify", classify_cases[i].desc, test_classify_case,
		    &classify_cases[i]);
	unit_add("answer_none", "timeout", test_none_plain, NULL);
	unit_add("answer_none", "long why is cut", test_none_long_why, NULL);
	for (i = 0; i < NELEM(same_cases); i++)
		unit_add("answer_same", same_cases[i].desc, test_same_case, &same_cases[i]);
	for (i = 0; i < NELEM(agree_cases); i++)
		unit_add("answer_agree", agree_cases[i].desc, test_agree_case, &agree_cases[i]);
	for (i = 0; i < NELEM(wild_cases); i++)
		unit_add("answer_is_wildcard_cname", wild_cases[i].desc, test_wild_case,
		    &wild_cases[i]);
	for (i = 0; i < NELEM(reply_cases); i++)
		unit_add("answer_reply_check", reply_cases[i].desc, test_reply_case,
		    &reply_cases[i]);
	for (i = 0; i < NELEM(judge_cases); i++)
		unit_add("answer_judge_txt", judge_cases[i].desc, test_judge_case, &judge_cases[i]);
	unit_add("answer_judge_txt", "quote escaped", test_judge_quote_escaped, NULL);
	unit_add("answer_judge_txt", "backslash escaped", test_judge_backslash_escaped, NULL);
	unit_add("answer_judge_txt", "small desc buffers", test_judge_desc_truncated, NULL);
	for (i = 0; i < NELEM(many_cases); i++)
		unit_add("answer_judge_txt", many_cases[i].desc, test_many_case, &many_cases[i]);
	unit_add("answer_judge_txt", "values that do not fit in desc are counted",
	    test_judge_desc_counts_the_rest, NULL);
	for (i = 0; i < NELEM(values_cases); i++)
		unit_add("answer_txt_values", values_cases[i].desc, test_values_case,
		    &values_cases[i]);
	unit_add("answer_txt_values", "150 records, none dropped", test_values_many, NULL);
	for (i = 0; i < NELEM(escape_cases); i++)
		unit_add("answer_txt_escape", escape_cases[i].desc, test_escape_case,
		    &escape_cases[i]);
	unit_add("answer_txt_escape", "short buffers", test_escape_short, NULL);
	for (i = 0; i < NELEM(health_cases); i++)
		unit_add("addr_health", health_cases[i].desc, test_health_case, &health_cases[i]);
	unit_add("addr_health", "threshold is ADDR_TIMEOUTS_UNREACHABLE", test_health_threshold,
	    NULL);
	for (i = 0; i < NELEM(ns_cases); i++)
		unit_add("answer_ns_state", ns_cases[i].desc, test_ns_case, &ns_cases[i]);
	for (i = 0; i < NELEM(change_cases); i++)
		unit_add("answer_same_change", change_cases[i].desc, test_change_case,
		    &change_cases[i]);
	return unit_run("answer", NULL, NULL);
}
