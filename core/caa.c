/*
 * CAA records and the decision whether they let a CA issue (core/caa.h).
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "caa.h"
#include "status.h"
#include "text.h"

#define CAA_METHODS_KEY	"validationmethods"	/* RFC 8657 parameter */
#define CAA_METHOD	"dns-01"

int
caa_parse(const uint8_t *rdata, size_t len, struct caa_prop *out)
{
	size_t tl, vl;

	/* flags (1), tag length (1), tag, value (the rest) — RFC 8659 §4.1 */
	if (len < 2 || (tl = rdata[1]) == 0 || 2 + tl > len || tl >= sizeof(out->tag))
		return ST_FAIL;
	out->flags = rdata[0];
	memcpy(out->tag, rdata + 2, tl);
	out->tag[tl] = '\0';
	vl = len - 2 - tl;
	if (vl >= sizeof(out->value))
		vl = sizeof(out->value) - 1;
	memcpy(out->value, rdata + 2 + tl, vl);
	out->value[vl] = '\0';
	return memchr(out->value, '\0', vl) != NULL ? ST_FAIL : ST_OK;
}

int
caa_parse_rr(const ldns_rr *rr, struct caa_prop *out)
{
	ldns_buffer *b = ldns_buffer_new(LDNS_MAX_PACKETLEN);
	int rc = ST_FAIL;

	if (b == NULL)
		return ST_FAIL;
	if (ldns_rr_rdata2buffer_wire(b, rr) != LDNS_STATUS_OK)
		goto out;
	rc = caa_parse(ldns_buffer_begin(b), ldns_buffer_position(b), out);
out:
	ldns_buffer_free(b);
	return rc;
}

void
caa_text(const struct caa_prop *p, char *out, size_t len)
{
	const unsigned char *v;
	size_t o;

	snprintf(out, len, "%u %s \"", p->flags, p->tag);
	o = strlen(out);
	for (v = (const unsigned char *)p->value; *v != '\0' && o + 6 < len; v++) {
		if (*v < 0x20 || *v > 0x7e || *v == '"' || *v == '\\')
			o += (size_t)snprintf(out + o, len - o, "\\%03u", *v);
		else
			out[o++] = (char)*v;
	}
	if (o + 2 <= len) {
		out[o++] = '"';
		out[o] = '\0';
	} else
		out[len - 1] = '\0';
}

/*
 * 1 when the methods after "validationmethods=" (v, up to ';' or the end)
 * list dns-01, else 0.
 */
static int
methods_allow(const char *v)
{
	size_t n;

	while (*v != '\0' && *v != ';') {
		while (*v == ' ' || *v == '\t' || *v == ',')
			v++;
		n = strlen(CAA_METHOD);
		if (strncasecmp(v, CAA_METHOD, n) == 0 &&
		    (v[n] == '\0' || v[n] == ',' || v[n] == ';' || v[n] == ' '))
			return 1;
		while (*v != '\0' && *v != ';' && *v != ',')
			v++;
	}
	return 0;
}

int
caa_allows(const char *value, const char *ca)
{
	const char *p = value, *end;
	size_t n;

	/* RFC 8659 §4.2 "issuer-domain-name *(; parameter)" */
	while (*p == ' ' || *p == '\t')
		p++;
	for (end = p; *end != '\0' && *end != ';' && *end != ' ' && *end != '\t'; end++)
		;
	n = (size_t)(end - p);
	if (n > 0 && p[n - 1] == '.')
		n--;		/* a trailing dot is not in the syntax; be lenient */
	if (n == 0 || n != strlen(ca) || strncasecmp(p, ca, n) != 0)
		return 0;
	/* parameters: "; key=value", key validationmethods lists the methods */
	for (p = strchr(end, ';'); p != NULL; p = strchr(p + 1, ';')) {
		const char *k = p + 1, *v;

		while (*k == ' ' || *k == '\t')
			k++;
		if (strncasecmp(k, CAA_METHODS_KEY, strlen(CAA_METHODS_KEY)) != 0)
			continue;
		v = k + strlen(CAA_METHODS_KEY);
		while (*v == ' ' || *v == '\t')
			v++;
		if (*v != '=')
			continue;
		return methods_allow(v + 1);
	}
	return 1;
}

int
caa_known_tag(const char *tag)
{
	static const char *const known[] = { "issue", "issuewild", "iodef", "contactemail",
		"contactphone", "issuemail", NULL };
	size_t i;

	for (i = 0; known[i] != NULL; i++)
		if (strcasecmp(tag, known[i]) == 0)
			return 1;
	return 0;
}

/* How many CAA records rrs holds (malformed ones too). */
static size_t
caa_count(const ldns_rr_list *rrs)
{
	size_t i, n = 0;

	for (i = 0; i < ldns_rr_list_rr_count(rrs); i++)
		n += ldns_rr_get_type(ldns_rr_list_rr(rrs, i)) == LDNS_RR_TYPE_CAA;
	return n;
}

/* 1 when rrs has a well-formed issuewild property, else 0. */
static int
caa_has_issuewild(const ldns_rr_list *rrs)
{
	struct caa_prop p;
	size_t i;

	for (i = 0; i < ldns_rr_list_rr_count(rrs); i++) {
		const ldns_rr *rr = ldns_rr_list_rr(rrs, i);

		if (ldns_rr_get_type(rr) == LDNS_RR_TYPE_CAA && caa_parse_rr(rr, &p) == ST_OK &&
		    strcasecmp(p.tag, "issuewild") == 0)
			return 1;
	}
	return 0;
}

void
caa_judge(const char *domain, const char *at, const ldns_rr_list *rrs, const char *ca,
    struct caa_verdict *out)
{
	char rec[CAA_TEXT_BUF];
	struct caa_prop p;
	size_t i, nrel = 0;
	int allowed = 0;

	snprintf(out->at, sizeof(out->at), "%s", at);
	out->property = domain[0] == '*' && caa_has_issuewild(rrs) ? "issuewild" : "issue";
	out->seen[0] = out->critical[0] = '\0';
	for (i = 0; i < ldns_rr_list_rr_count(rrs); i++) {
		const ldns_rr *rr = ldns_rr_list_rr(rrs, i);

		if (ldns_rr_get_type(rr) != LDNS_RR_TYPE_CAA || caa_parse_rr(rr, &p) != ST_OK)
			continue;
		caa_text(&p, rec, sizeof(rec));
		if ((p.flags & CAA_FLAG_CRITICAL) && !caa_known_tag(p.tag))
			text_append(out->critical, sizeof(out->critical), ", ", rec);
		if (strcasecmp(p.tag, out->property) != 0)
			continue;
		if (nrel++ < CAA_SHOWN)
			text_append(out->seen, sizeof(out->seen), ", ", rec);
		allowed |= caa_allows(p.value, ca);
	}
	if (out->critical[0] != '\0')
		out->outcome = CAA_CRITICAL;
	else if (nrel == 0)
		out->outcome = CAA_NO_PROPERTY;
	else
		out->outcome = allowed ? CAA_ALLOWED : CAA_DENIED;
}

void
caa_check(const char *domain, const char *ca, caa_lookup_fn *lookup, void *ctx,
    struct caa_verdict *out)
{
	const char *base = domain[0] == '*' ? domain + 2 : domain, *cur;
	ldns_pkt *r = NULL;

	memset(out, 0, sizeof(*out));
	out->property = "issue";
	for (cur = base; cur != NULL; cur = name_parent(cur)) {
		if ((r = lookup(ctx, cur, out->why, sizeof(out->why))) == NULL) {
			out->outcome = CAA_LOOKUP_FAILED;
			snprintf(out->at, sizeof(out->at), "%s", cur);
			return;
		}
		if (caa_count(ldns_pkt_answer(r)) > 0)
			break;
		ldns_pkt_free(r);
		r = NULL;
	}
	if (r == NULL) {
		out->outcome = CAA_NONE;
		snprintf(out->at, sizeof(out->at), "%s", base);
		return;
	}
	caa_judge(domain, cur, ldns_pkt_answer(r), ca, out);
	ldns_pkt_free(r);
}
