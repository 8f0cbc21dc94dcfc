/* What DNS answers mean, without any I/O; see answer.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "answer.h"
#include "dnsio.h"

const ldns_rr *
answer_find_rr(const ldns_rr_list *list, ldns_rr_type type, const char *name)
{
	char owner[NAME_BUF];
	size_t i;

	for (i = 0; i < ldns_rr_list_rr_count(list); i++) {
		const ldns_rr *rr = ldns_rr_list_rr(list, i);

		if (ldns_rr_get_type(rr) != type)
			continue;
		dnsio_dname_text(ldns_rr_owner(rr), owner, sizeof(owner));
		if (name == NULL || strcmp(owner, name) == 0)
			return rr;
	}
	return NULL;
}

/* The text of rdata field i of rr as a canonical name, or "?" */
static void
rdata_name(const ldns_rr *rr, size_t i, char *out)
{
	if (ldns_rr_rd_count(rr) <= i) {
		snprintf(out, NAME_BUF, "?");
		return;
	}
	dnsio_dname_text(ldns_rr_rdf(rr, i), out, NAME_BUF);
}


/*
 * qname rewritten by the DNAME owner -> target: the labels of qname above
 * owner, followed by target.  0, or -1 when the result is too long.
 */
static int
dname_rewrite(const char *qname, const char *owner, const char *target, char *out)
{
	size_t prefix = strlen(qname) - strlen(owner);	/* "x.y." before owner */
	int n;

	if (strcmp(target, ".") == 0)
		n = snprintf(out, NAME_BUF, "%.*s", (int)(prefix - 1), qname);
	else
		n = snprintf(out, NAME_BUF, "%.*s%s", (int)prefix, qname, target);
	return n < 0 || n > NAME_MAX_LEN ? -1 : 0;
}

/* A DNAME in r's answer owned by a proper ancestor of qname at or below apex. */
static int
classify_dname(const ldns_pkt *r, const char *qname, const char *apex, struct answer *out)
{
	const ldns_rr_list *ans = ldns_pkt_answer(r);
	char owner[NAME_BUF], target[NAME_BUF];
	size_t i;

	for (i = 0; i < ldns_rr_list_rr_count(ans); i++) {
		const ldns_rr *rr = ldns_rr_list_rr(ans, i);

		if (ldns_rr_get_type(rr) != LDNS_RR_TYPE_DNAME)
			continue;
		dnsio_dname_text(ldns_rr_owner(rr), owner, sizeof(owner));
		if (strcmp(owner, qname) == 0 || !name_is_under(qname, owner) ||
		    !name_is_under(owner, apex))
			continue;
		rdata_name(rr, 0, target);
		snprintf(out->owner, sizeof(out->owner), "%s", owner);
		if (dname_rewrite(qname, owner, target, out->target) == -1) {
			out->kind = ANSWER_LAME;
			snprintf(out->why, sizeof(out->why), "a DNAME at %s to %s makes the name "
			    "too long", owner, target);
			return 1;
		}
		out->kind = ANSWER_DNAME;
		return 1;
	}
	return 0;
}

/* The authoritative cases: ZONE, CNAME, or LAME for an unrelated SOA. */
static void
classify_authoritative(const ldns_pkt *r, const char *qname, const char *apex,
    struct answer *out)
{
	const ldns_rr *rr;
	char owner[NAME_BUF];

	if ((rr = answer_find_rr(ldns_pkt_answer(r), LDNS_RR_TYPE_CNAME, qname)) != NULL) {
		out->kind = ANSWER_CNAME;
		rdata_name(rr, 0, out->target);
		return;
	}
	if (answer_find_rr(ldns_pkt_answer(r), LDNS_RR_TYPE_SOA, qname) != NULL) {
		out->kind = ANSWER_ZONE;
		snprintf(out->zone, sizeof(out->zone), "%s", qname);
		if (!name_is_under(qname, apex)) {
			out->kind = ANSWER_LAME;
			snprintf(out->why, sizeof(out->why), "authoritative for %s, which is not "
			    "in zone %s", qname, apex);
		}
		return;
	}
	if ((rr = answer_find_rr(ldns_pkt_authority(r), LDNS_RR_TYPE_SOA, NULL)) == NULL) {
		out->kind = ANSWER_LAME;
		snprintf(out->why, sizeof(out->why), "%s without an SOA",
		    dnsio_rcode_name(ldns_pkt_get_rcode(r)));
		return;
	}
	dnsio_dname_text(ldns_rr_owner(rr), owner, sizeof(owner));
	if (!name_is_under(qname, owner) || !name_is_under(owner, apex)) {
		out->kind = ANSWER_LAME;
		snprintf(out->why, sizeof(out->why), "answered from zone %s, not from zone %s "
		    "or one below it", owner, apex);
		return;
	}
	out->kind = ANSWER_ZONE;
	snprintf(out->zone, sizeof(out->zone), "%s", owner);
}

void
answer_classify(const ldns_pkt *r, const char *qname, const char *apex, struct answer *out)
{
	int rcode = ldns_pkt_get_rcode(r);
	const ldns_rr *ns;
	char cut[NAME_BUF];

	memset(out, 0, sizeof(*out));
	if (rcode != LDNS_RCODE_NOERROR && rcode != LDNS_RCODE_NXDOMAIN) {
		out->kind = ANSWER_LAME;
		snprintf(out->why, sizeof(out->why), "%s", dnsio_rcode_name(rcode));
		return;
	}
	if (ldns_pkt_aa(r)) {
		if (!classify_dname(r, qname, apex, out))
			classify_authoritative(r, qname, apex, out);
		return;
	}
	ns = answer_find_rr(ldns_pkt_authority(r), LDNS_RR_TYPE_NS, NULL);
	if (rcode != LDNS_RCODE_NOERROR || ns == NULL ||
	    ldns_rr_list_rr_count(ldns_pkt_answer(r)) > 0) {
		out->kind = ANSWER_LAME;
		snprintf(out->why, sizeof(out->why), "%s, not authoritative",
		    dnsio_rcode_name(rcode));
		return;
	}
	dnsio_dname_text(ldns_rr_owner(ns), cut, sizeof(cut));
	if (!name_is_under(qname, cut) || !name_is_under(cut, apex) || strcmp(cut, apex) == 0) {
		out->kind = ANSWER_LAME;
		snprintf(out->why, sizeof(out->why), "not authoritative: it refers to the "
		    "servers of %s", cut);
		return;
	}
	out->kind = ANSWER_REFERRAL;
	snprintf(out->zone, sizeof(out->zone), "%s", cut);
}

void
answer_none(struct answer *out, const char *why)
{
	memset(out, 0, sizeof(*out));
	out->kind = ANSWER_NONE;
	snprintf(out->why, sizeof(out->why), "%s", why);
}

int
answer_same(const struct answer *a, const struct answer *b)
{
	return a->kind == b->kind && strcmp(a->zone, b->zone) == 0 &&
	    strcmp(a->target, b->target) == 0;
}

void
answer_describe(const struct answer *a, char *out, size_t len)
{
	switch (a->kind) {
	case ANSWER_NONE:
		snprintf(out, len, "no answer (%s)", a->why);
		break;
	case ANSWER_LAME:
		snprintf(out, len, "lame: %s", a->why);
		break;
	case ANSWER_ZONE:
		snprintf(out, len, "zone %s", a->zone);
		break;
	case ANSWER_CNAME:
		snprintf(out, len, "CNAME to %s", a->target);
		break;
	case ANSWER_DNAME:
		snprintf(out, len, "DNAME at %s to %s", a->owner, a->target);
		break;
	case ANSWER_REFERRAL:
		snprintf(out, len, "delegated to zone %s", a->zone);
		break;
	}
}

int
answer_agree(const struct answer *a, size_t n)
{
	size_t i;
	int pick = ANSWER_NO_AUTHORITY;

	for (i = 0; i < n; i++) {
		if (a[i].kind == ANSWER_NONE || a[i].kind == ANSWER_LAME)
			continue;
		if (pick == ANSWER_NO_AUTHORITY)
			pick = (int)i;
		else if (!answer_same(&a[pick], &a[i]))
			return ANSWER_DISAGREE;
	}
	return pick;
}

int
answer_is_wildcard_cname(const ldns_pkt *r, const char *probe, const char *target)
{
	const ldns_rr *cn;
	char got[NAME_BUF];

	/* NXDOMAIN too: the rcode is that of the CNAME's target (RFC 6604). */
	if (!ldns_pkt_aa(r) || (ldns_pkt_get_rcode(r) != LDNS_RCODE_NOERROR &&
	    ldns_pkt_get_rcode(r) != LDNS_RCODE_NXDOMAIN) ||
	    (cn = answer_find_rr(ldns_pkt_answer(r), LDNS_RR_TYPE_CNAME, probe)) == NULL)
		return 0;
	rdata_name(cn, 0, got);
	return strcmp(got, target) == 0;
}

/* ---- the propagation wait ------------------------------------------------ */

enum reply_check
answer_reply_check(const ldns_pkt *q, const uint8_t *wire, size_t len, ldns_pkt **out)
{
	ldns_pkt *r = NULL;

	*out = NULL;
	if (len < 2 || ((wire[0] << 8) | wire[1]) != ldns_pkt_id(q))
		return REPLY_IGNORE;
	if (ldns_wire2pkt(&r, wire, len) != LDNS_STATUS_OK)
		return REPLY_IGNORE;
	if (!dnsio_matches(q, r)) {
		ldns_pkt_free(r);
		return REPLY_IGNORE;
	}
	if (ldns_pkt_tc(r)) {
		ldns_pkt_free(r);
		return REPLY_TRUNCATED;
	}
	*out = r;
	return REPLY_USE;
}

/* 1 when rr is a TXT record owned by name. */
static int
txt_at(const ldns_rr *rr, const char *name)
{
	char owner[NAME_BUF];

	if (ldns_rr_get_type(rr) != LDNS_RR_TYPE_TXT)
		return 0;
	dnsio_dname_text(ldns_rr_owner(rr), owner, sizeof(owner));
	return strcmp(owner, name) == 0;
}

/* The character-strings of TXT record rr joined into v.  0, or -1 (memory). */
static int
txt_join(const ldns_rr *rr, struct txt_value *v)
{
	size_t j, len = 0;

	for (j = 0; j < ldns_rr_rd_count(rr); j++)
		if (ldns_rdf_size(ldns_rr_rdf(rr, j)) > 0)
			len += ldns_rdf_size(ldns_rr_rdf(rr, j)) - 1;
	if ((v->data = malloc(len + 1)) == NULL)
		return -1;
	v->len = 0;
	for (j = 0; j < ldns_rr_rd_count(rr); j++) {
		const ldns_rdf *rd = ldns_rr_rdf(rr, j);

		if (ldns_rdf_size(rd) < 1)
			continue;
		memcpy(v->data + v->len, ldns_rdf_data(rd) + 1, ldns_rdf_size(rd) - 1);
		v->len += ldns_rdf_size(rd) - 1;
	}
	v->data[v->len] = '\0';
	return 0;
}

int
answer_txt_values(const ldns_pkt *r, const char *name, struct txt_value **out, size_t *n)
{
	const ldns_rr_list *ans = ldns_pkt_answer(r);
	struct txt_value *v = NULL;
	size_t i, count = 0, got = 0;
	int rc = -1;

	*out = NULL;
	*n = 0;
	for (i = 0; i < ldns_rr_list_rr_count(ans); i++)
		count += (size_t)txt_at(ldns_rr_list_rr(ans, i), name);
	if (count == 0)
		return 0;
	if ((v = calloc(count, sizeof(*v))) == NULL)
		goto out;
	for (i = 0; i < ldns_rr_list_rr_count(ans) && got < count; i++) {
		const ldns_rr *rr = ldns_rr_list_rr(ans, i);

		if (!txt_at(rr, name))
			continue;
		if (txt_join(rr, &v[got]) == -1)
			goto out;
		got++;
	}
	*out = v;
	*n = got;
	rc = 0;
out:
	if (rc == -1)
		answer_txt_values_free(v, got);
	return rc;
}

void
answer_txt_values_free(struct txt_value *v, size_t n)
{
	size_t i;

	for (i = 0; v != NULL && i < n; i++)
		free(v[i].data);
	free(v);
}

size_t
answer_txt_escape(const char *s, size_t len, char *out, size_t outlen)
{
	char esc[sizeof("\\255")];
	size_t i, k, o = 0, total = 0;
	int full = outlen == 0;

	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c < 0x20 || c > 0x7e || c == '"' || c == '\\')
			k = (size_t)snprintf(esc, sizeof(esc), "\\%03u", c);
		else {
			esc[0] = (char)c;
			k = 1;
		}
		total += k;
		if (!full && o + k < outlen) {
			memcpy(out + o, esc, k);
			o += k;
		} else
			full = 1;
	}
	if (outlen > 0)
		out[o] = '\0';
	return total;
}

/* Room for " and N more" after the values that fit in a description. */
#define DESC_MORE_MAX	sizeof(" and 18446744073709551615 more")

/* Append text to desc (len bytes, *o used), cut to fit; *o follows. */
static void
desc_add(char *desc, size_t len, size_t *o, const char *text)
{
	if (*o + 1 >= len)
		return;
	snprintf(desc + *o, len - *o, "%s", text);
	*o += strlen(desc + *o);
}

/*
 * "TXT", each of the n values quoted and escaped (answer_txt_escape), then
 * tail, in desc (len bytes).  Values that do not fit are counted (" and N
 * more"): none is left out silently.  Never writes past len.
 */
static void
describe_values(char *desc, size_t len, const struct txt_value *v, size_t n,
    const char *tail)
{
	char more[DESC_MORE_MAX];
	size_t i, o = 0, need, room;

	if (len == 0)
		return;
	desc[0] = '\0';
	desc_add(desc, len, &o, "TXT");
	for (i = 0; i < n; i++) {
		need = answer_txt_escape(v[i].data, v[i].len, NULL, 0) + sizeof(" \"\"") - 1;
		room = strlen(tail) + (i + 1 < n ? DESC_MORE_MAX : 0);
		if (o + need + room >= len)
			break;
		desc_add(desc, len, &o, " \"");
		o += answer_txt_escape(v[i].data, v[i].len, desc + o, len - o);
		desc_add(desc, len, &o, "\"");
	}
	if (i < n) {
		snprintf(more, sizeof(more), " and %zu more", n - i);
		desc_add(desc, len, &o, more);
	}
	desc_add(desc, len, &o, tail);
}

/* 1 when the C string want is one of the n values. */
static int
value_in(const char *want, const struct txt_value *v, size_t n)
{
	size_t i, len = strlen(want);

	for (i = 0; i < n; i++)
		if (v[i].len == len && memcmp(v[i].data, want, len) == 0)
			return 1;
	return 0;
}

/* 1 when v is one of the values w names. */
static int
is_wanted(const struct txt_want *w, const struct txt_value *v)
{
	size_t i;

	for (i = 0; i < w->nvalues; i++)
		if (value_in(w->values[i], v, 1))
			return 1;
	return 0;
}

enum addr_state
answer_judge_txt(const ldns_pkt *r, const struct txt_want *w, int *others, char *desc,
    size_t desclen)
{
	struct txt_value *vals = NULL;
	size_t nv = 0, i, j, hits = 0;
	int rcode = ldns_pkt_get_rcode(r);
	char tail[sizeof(" (18446744073709551615 of 18446744073709551615 values)")] = "";
	enum addr_state v;

	*others = 0;
	if (rcode == LDNS_RCODE_REFUSED || rcode == LDNS_RCODE_NOTAUTH) {
		snprintf(desc, desclen, "%s", dnsio_rcode_name(rcode));
		return AS_LAME;
	}
	/* SERVFAIL and the like come without AA: a failure, not lameness. */
	if (rcode != LDNS_RCODE_NOERROR && rcode != LDNS_RCODE_NXDOMAIN) {
		snprintf(desc, desclen, "%s", dnsio_rcode_name(rcode));
		return AS_BAD;
	}
	if (!ldns_pkt_aa(r)) {
		snprintf(desc, desclen, "%s, not authoritative", dnsio_rcode_name(rcode));
		return AS_LAME;
	}
	if (rcode == LDNS_RCODE_NXDOMAIN) {
		snprintf(desc, desclen, "NXDOMAIN");
		return w->absent ? AS_GOOD : AS_BAD;
	}
	if (answer_txt_values(r, w->name, &vals, &nv) == -1) {
		snprintf(desc, desclen, "out of memory");
		return AS_ERR;
	}
	for (i = 0; i < w->nvalues; i++)
		hits += (size_t)value_in(w->values[i], vals, nv);
	if (w->absent) {
		v = hits == 0 ? AS_GOOD : AS_BAD;
		for (j = 0; j < nv; j++)
			if (!is_wanted(w, &vals[j]))
				*others = 1;
	} else
		v = hits == w->nvalues ? AS_GOOD : AS_BAD;
	if (v == AS_BAD && !w->absent && nv > 0)
		snprintf(tail, sizeof(tail), " (%zu of %zu values)", hits, w->nvalues);
	if (nv == 0)
		snprintf(desc, desclen, "no TXT (NODATA)");
	else
		describe_values(desc, desclen, vals, nv, tail);
	answer_txt_values_free(vals, nv);
	return v;
}

void
addr_note_reply(struct addr_health *h)
{
	h->answered = 1;
	h->timeouts = 0;
}

void
addr_note_timeout(struct addr_health *h)
{
	if (h->timeouts < ADDR_TIMEOUTS_UNREACHABLE)
		h->timeouts++;
}

void
addr_note_error(struct addr_health *h)
{
	h->refused = 1;
}

int
addr_unreachable(const struct addr_health *h)
{
	return !h->answered && (h->refused || h->timeouts >= ADDR_TIMEOUTS_UNREACHABLE);
}

enum ns_state
answer_ns_state(const enum addr_state *st, const int *unreachable, size_t n)
{
	size_t i;
	int good = 0, lame_ = 0;

	for (i = 0; i < n; i++) {
		if (st[i] == AS_GOOD)
			good = 1;
		else if (st[i] == AS_LAME)
			lame_ = 1;
		else if (!unreachable[i])
			return NS_WAITING;
	}
	if (good)
		return NS_DONE;
	return lame_ ? NS_LAME : NS_WAITING;
}

int
answer_same_change(const struct change_tag *a, const struct change_tag *b)
{
	return a->witness && a->member && b->member && a->batch == b->batch &&
	    a->zone == b->zone;
}
