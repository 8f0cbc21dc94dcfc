/*
 * DNS answer handling (core/answer.c, and what else reads a packet from a
 * server: core/caa.c, core/dnsio.c).  Input: "QNAME\0APEX\0" and then the
 * raw answer as it came off the wire (the first two strings are made
 * canonical names with name_check, else a default is used: callers never
 * pass unchecked names).  The answer goes through answer_reply_check()
 * against a TXT and an SOA query for QNAME, as the propagation wait and
 * discovery get it, and every parsed packet through each interpreter.
 */
#include "fuzz.h"

#include "../../core/answer.h"
#include "../../core/caa.h"
#include "../../core/dnsio.h"

#define DEFAULT_QNAME	"_acme-challenge.www.example.test"
#define DEFAULT_APEX	"example.test"
#define ACME_VALUE	"LoqXcYV8q5ONbJQxbmR7SCTNo3tiAXDfowyjxAjEuX0"

/* The canonical form of in, or dflt. */
static const char *
canon(const char *in, char *out, const char *dflt)
{
	const char *why;

	if (name_check(in, 0, out, &why) == -1)
		return dflt;
	return out;
}

static void
interpret(const ldns_pkt *r, const char *qname, const char *apex)
{
	static const char *const values[] = { ACME_VALUE, "x" };
	struct txt_want want = { qname, values, 2, 0 };
	struct answer a[2];
	struct txt_value *v;
	struct caa_verdict verdict;
	struct caa_prop prop;
	struct dns_addr addr;
	ldns_rr_list *ans = ldns_pkt_answer(r);
	char desc[512], text[CAA_TEXT_BUF];
	size_t n, i;
	int others;

	answer_classify(r, qname, apex, &a[0]);
	answer_describe(&a[0], desc, sizeof(desc));
	answer_classify(r, qname, qname, &a[1]);
	(void)answer_same(&a[0], &a[1]);
	(void)answer_agree(a, 2);
	(void)answer_is_wildcard_cname(r, qname, apex);
	(void)answer_judge_txt(r, &want, &others, desc, sizeof(desc));
	want.absent = 1;
	(void)answer_judge_txt(r, &want, &others, desc, 40);
	if (answer_txt_values(r, qname, &v, &n) == 0) {
		for (i = 0; i < n; i++)
			if (v[i].data[v[i].len] != '\0')
				abort();
		answer_txt_values_free(v, n);
	}
	for (i = 0; ans != NULL && i < ldns_rr_list_rr_count(ans); i++) {
		const ldns_rr *rr = ldns_rr_list_rr(ans, i);

		dnsio_dname_text(ldns_rr_owner(rr), desc, sizeof(desc));
		if (caa_parse_rr(rr, &prop) == 0)
			caa_text(&prop, text, sizeof(text));
		(void)dnsio_addr_from_rr(rr, &addr);
	}
	caa_judge(qname, apex, ans, "letsencrypt.org", &verdict);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *p[3], *buf, qbuf[NAME_BUF], abuf[NAME_BUF];
	const char *qname, *apex;
	const uint8_t *wire;
	size_t len;
	ldns_pkt *q, *r;
	ldns_rr_type types[2] = { LDNS_RR_TYPE_TXT, LDNS_RR_TYPE_SOA };
	int n, t;

	if ((n = fuzz_split(data, size, p, 3, &buf)) < 3) {
		free(buf);
		return 0;
	}
	qname = canon(p[0], qbuf, DEFAULT_QNAME);
	apex = canon(p[1], abuf, DEFAULT_APEX);
	wire = (const uint8_t *)p[2];
	len = size - (size_t)(p[2] - buf);
	/* the raw packet, as received: interpreted whatever its question */
	if (ldns_wire2pkt(&r, wire, len) == LDNS_STATUS_OK) {
		interpret(r, qname, apex);
		ldns_pkt_free(r);
	}
	for (t = 0; t < 2; t++) {
		if ((q = dnsio_query_new(qname, types[t], 0)) == NULL)
			continue;
		if (len >= 2)	/* the query's id is random: the answer's, to go on */
			ldns_pkt_set_id(q, (uint16_t)((wire[0] << 8) | wire[1]));
		if (answer_reply_check(q, wire, len, &r) == REPLY_USE) {
			if (!dnsio_matches(q, r))
				abort();	/* answer_reply_check took another's answer */
			ldns_pkt_free(r);
		}
		ldns_pkt_free(q);
	}
	free(buf);
	return 0;
}
