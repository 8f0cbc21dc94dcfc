/* Zone apex, nameserver and CNAME discovery; see zone.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>

#include "log.h"
#include "answer.h"
#include "status.h"
#include "zone.h"

#define RESOLV_CONF	"/etc/resolv.conf"
#define RESOLV_LINE_MAX	512

struct discovery {
	struct dns_addr resolvers[CONFIG_MAX_RESOLVERS];
	size_t	nresolvers;
	struct zone *zones[ZONE_CACHE_MAX];
	size_t	nzones;
};

size_t
discovery_read_resolv_conf(const char *path, struct dns_addr *out, size_t max)
{
	char line[RESOLV_LINE_MAX], addr[RESOLV_LINE_MAX];
	FILE *f = fopen(path, "re");
	size_t n = 0;

	if (f == NULL)
		return 0;
	while (n < max && fgets(line, sizeof(line), f) != NULL) {
		if (sscanf(line, " nameserver %511s", addr) != 1)
			continue;
		if (strchr(addr, '%') != NULL)
			continue;	/* scoped link-local: not supported */
		if (dnsio_parse_addr(addr, &out[n]) == 0 && strchr(addr, '[') == NULL)
			n++;
	}
	fclose(f);
	return n;
}

int
discovery_new(const struct config *cfg, struct discovery **out)
{
	struct discovery *d = calloc(1, sizeof(*d));
	size_t i;

	if (d == NULL) {
		log_err("out of memory");
		return ST_FAIL;
	}
	for (i = 0; i < cfg->nresolvers; i++)
		if (dnsio_parse_addr(cfg->resolvers[i], &d->resolvers[d->nresolvers]) == 0)
			d->nresolvers++;
	if (d->nresolvers == 0)
		d->nresolvers = discovery_read_resolv_conf(RESOLV_CONF, d->resolvers,
		    CONFIG_MAX_RESOLVERS);
	if (d->nresolvers == 0) {
		log_err("no resolver: set 'resolvers =' in [dns01] or a nameserver in %s",
		    RESOLV_CONF);
		free(d);
		return ST_CONFIG;
	}
	*out = d;
	return ST_OK;
}

void
discovery_free(struct discovery *d)
{
	size_t i;

	if (d == NULL)
		return;
	for (i = 0; i < d->nzones; i++)
		free(d->zones[i]);
	free(d);
}

/*
 * Ask the recursive resolvers (RD=1).  Returns an answer whose rcode is
 * NOERROR or NXDOMAIN, or NULL with the last problem in why (static or buf).
 */
static ldns_pkt *
resolver_ask(struct discovery *d, const char *qname, ldns_rr_type qtype, char *why,
    size_t whylen)
{
	ldns_pkt *q, *r;
	const char *err;
	size_t i;
	int round;

	snprintf(why, whylen, "no resolver");
	if ((q = dnsio_query_new(qname, qtype, 1)) == NULL) {
		snprintf(why, whylen, "bad name %s", qname);
		return NULL;
	}
	for (round = 0; round < DISCOVERY_TRIES; round++)
		for (i = 0; i < d->nresolvers; i++) {
			log_debug("asking resolver %s: %s %s", d->resolvers[i].text, qname,
			    ldns_rr_descript(qtype) ? ldns_rr_descript(qtype)->_name : "?");
			r = dnsio_ask(&d->resolvers[i], q, DISCOVERY_TIMEOUT_MS, &err);
			if (r == NULL) {
				snprintf(why, whylen, "resolver %s: %s", d->resolvers[i].text, err);
				continue;
			}
			if (ldns_pkt_get_rcode(r) == LDNS_RCODE_NOERROR ||
			    ldns_pkt_get_rcode(r) == LDNS_RCODE_NXDOMAIN) {
				ldns_pkt_free(q);
				return r;
			}
			snprintf(why, whylen, "resolver %s answered %s", d->resolvers[i].text,
			    dnsio_rcode_name(ldns_pkt_get_rcode(r)));
			ldns_pkt_free(r);
		}
	ldns_pkt_free(q);
	return NULL;
}

size_t
discovery_addrs(struct discovery *d, const char *host, struct dns_addr *out, size_t max)
{
	static const ldns_rr_type types[] = { LDNS_RR_TYPE_A, LDNS_RR_TYPE_AAAA };
	char why[256];
	size_t n = 0, t, i;

	for (t = 0; t < sizeof(types) / sizeof(types[0]); t++) {
		ldns_pkt *r = resolver_ask(d, host, types[t], why, sizeof(why));
		ldns_rr_list *ans;

		if (r == NULL) {
			log_debug("%s %s: %s", host, t == 0 ? "A" : "AAAA", why);
			continue;
		}
		ans = ldns_pkt_answer(r);
		for (i = 0; i < ldns_rr_list_rr_count(ans) && n < max; i++) {
			if (dnsio_addr_from_rr(ldns_rr_list_rr(ans, i), &out[n]) == 0)
				n++;
		}
		ldns_pkt_free(r);
	}
	return n;
}

/*
 * The highest label of name that is the challenge label (name itself or one
 * of its parents starting there), or NULL when it has none.
 */
static const char *
highest_challenge_label(const char *name)
{
	size_t n = strlen(CHALLENGE_LABEL);
	const char *l, *found = NULL;

	for (l = name; l != NULL; l = name_parent(l))
		if (strncasecmp(l, CHALLENGE_LABEL, n) == 0 && (l[n] == '.' || l[n] == '\0'))
			found = l;
	return found;
}

ldns_pkt *
discovery_resolve(struct discovery *d, const char *qname, ldns_rr_type qtype, char *why,
    size_t whylen)
{
	/* A challenge name, or a name below one, goes only to authoritative servers. */
	if (highest_challenge_label(qname) != NULL) {
		snprintf(why, whylen, "%s: a challenge name is never asked of a resolver", qname);
		return NULL;
	}
	return resolver_ask(d, qname, qtype, why, whylen);
}

static struct zone *
cache_find(struct discovery *d, const char *apex)
{
	size_t i;

	for (i = 0; i < d->nzones; i++)
		if (strcmp(d->zones[i]->apex, apex) == 0)
			return d->zones[i];
	return NULL;
}

/* Keep z in the cache (which then owns it).  Returns z, or NULL if full. */
static struct zone *
cache_add(struct discovery *d, struct zone *z)
{
	if (d->nzones == ZONE_CACHE_MAX) {
		log_err("more than %d zones in one run", ZONE_CACHE_MAX);
		free(z);
		return NULL;
	}
	d->zones[d->nzones++] = z;
	return z;
}

static void
zone_set_soa(struct zone *z, const ldns_rr *soa)
{
	uint32_t ttl = ldns_rr_ttl(soa), min;

	if (ldns_rr_rd_count(soa) != 7) {	/* malformed: keep what is known */
		z->mname[0] = '\0';
		return;
	}
	dnsio_dname_text(ldns_rr_rdf(soa, 0), z->mname, sizeof(z->mname));
	z->serial = ldns_rdf2native_int32(ldns_rr_rdf(soa, 2));
	min = ldns_rdf2native_int32(ldns_rr_rdf(soa, 6));
	z->negative_ttl = ttl < min ? ttl : min;
}

/* Resolve every nameserver name of z (and the MNAME) through the resolvers. */
static int
zone_resolve_ns(struct discovery *d, struct zone *z)
{
	size_t i, usable = 0;

	for (i = 0; i < z->nns; i++) {
		if (z->ns[i].naddrs == 0)
			z->ns[i].naddrs = discovery_addrs(d, z->ns[i].name, z->ns[i].addrs,
			    ZONE_MAX_ADDRS);
		if (z->ns[i].naddrs == 0)
			log_warn("zone %s: nameserver %s has no address; it cannot be checked",
			    z->apex, z->ns[i].name);
		else
			usable++;
		if (strcmp(z->ns[i].name, z->mname) == 0 && z->nmname == 0) {
			memcpy(z->mname_addrs, z->ns[i].addrs, sizeof(z->mname_addrs));
			z->nmname = z->ns[i].naddrs;
		}
	}
	if (z->nmname == 0 && z->mname[0] != '\0')
		z->nmname = discovery_addrs(d, z->mname, z->mname_addrs, ZONE_MAX_ADDRS);
	if (usable == 0) {
		log_err("zone %s: no nameserver has an address", z->apex);
		return ST_DISCOVERY;
	}
	return ST_OK;
}

/* Add NS names at apex from list (owner apex) to z, skipping ones it has. */
static void
zone_merge_ns(struct zone *z, const ldns_rr_list *list)
{
	char owner[NAME_BUF], name[NAME_BUF];
	size_t i, k;

	for (i = 0; i < ldns_rr_list_rr_count(list) && z->nns < ZONE_MAX_NS; i++) {
		const ldns_rr *rr = ldns_rr_list_rr(list, i);

		if (ldns_rr_get_type(rr) != LDNS_RR_TYPE_NS || ldns_rr_rd_count(rr) < 1)
			continue;
		dnsio_dname_text(ldns_rr_owner(rr), owner, sizeof(owner));
		if (strcmp(owner, z->apex) != 0)
			continue;
		dnsio_dname_text(ldns_rr_rdf(rr, 0), name, sizeof(name));
		for (k = 0; k < z->nns && strcmp(z->ns[k].name, name) != 0; k++)
			;
		if (k == z->nns)
			memcpy(z->ns[z->nns++].name, name, NAME_BUF);
	}
}

/*
 * The zone that holds start: an SOA walk through the resolvers from start
 * upward, then the NS set and addresses.  start is never a challenge name.
 */
static int
find_zone(struct discovery *d, const char *start, struct zone **out)
{
	char why[256], apex[NAME_BUF] = "";
	const char *cur;
	ldns_pkt *r = NULL;
	const ldns_rr *soa = NULL;
	struct zone *z = NULL;
	int rc = ST_DISCOVERY;

	for (cur = start; cur != NULL && apex[0] == '\0'; cur = name_parent(cur)) {
		if ((r = resolver_ask(d, cur, LDNS_RR_TYPE_SOA, why, sizeof(why))) == NULL) {
			log_err("cannot find the zone of %s: %s", start, why);
			return ST_DISCOVERY;
		}
		if ((soa = answer_find_rr(ldns_pkt_answer(r), LDNS_RR_TYPE_SOA, cur)) != NULL)
			snprintf(apex, sizeof(apex), "%s", cur);
		else if (answer_find_rr(ldns_pkt_answer(r), LDNS_RR_TYPE_CNAME, cur) == NULL &&
		    (soa = answer_find_rr(ldns_pkt_authority(r), LDNS_RR_TYPE_SOA, NULL)) != NULL) {
			dnsio_dname_text(ldns_rr_owner(soa), apex, sizeof(apex));
			if (!name_is_under(cur, apex) || strcmp(apex, ".") == 0) {
				apex[0] = '\0';
				soa = NULL;
			}
		}
		if (apex[0] == '\0') {
			ldns_pkt_free(r);
			r = NULL;
		}
	}
	if (apex[0] == '\0') {
		log_err("no DNS zone holds %s (the resolvers know no SOA for it or its parents)",
		    start);
		goto out;
	}
	if ((*out = cache_find(d, apex)) != NULL) {
		rc = ST_OK;
		goto out;
	}
	if ((z = calloc(1, sizeof(*z))) == NULL) {
		log_err("out of memory");
		goto out;
	}
	snprintf(z->apex, sizeof(z->apex), "%s", apex);
	zone_set_soa(z, soa);
	ldns_pkt_free(r);
	if ((r = resolver_ask(d, apex, LDNS_RR_TYPE_NS, why, sizeof(why))) == NULL) {
		log_err("zone %s: cannot read its NS set: %s", apex, why);
		goto out;
	}
	zone_merge_ns(z, ldns_pkt_answer(r));
	if (z->nns == 0) {
		log_err("zone %s: the resolvers return no NS records", apex);
		goto out;
	}
	log_debug("zone %s: primary %s, %zu nameservers", apex, z->mname, z->nns);
	if ((rc = zone_resolve_ns(d, z)) != ST_OK)
		goto out;
	*out = cache_add(d, z);
	z = NULL;
	rc = *out ? ST_OK : ST_DISCOVERY;
out:
	free(z);
	ldns_pkt_free(r);
	return rc;
}

/* Append text to how (size howlen), "; " between parts. */
static void
how_add(char *how, size_t howlen, const char *text)
{
	size_t o = strlen(how);

	if (o + 3 >= howlen)
		return;
	snprintf(how + o, howlen - o, "%s%s", o > 0 ? "; " : "", text);
}

/*
 * Where the SOA walk through the resolvers starts for name: its parent, or,
 * when name lies at or under a challenge label, the parent of the highest
 * such label — no resolver is ever asked about a challenge name or a name
 * under one.  NULL when nothing is left.
 */
static const char *
walk_start(const char *name)
{
	const char *label = highest_challenge_label(name);

	return name_parent(label != NULL ? label : name);
}

/* What the nameservers of a zone answered to one question: one per nameserver. */
struct poll {
	struct answer a[ZONE_MAX_NS];
	ldns_pkt *pkt[ZONE_MAX_NS];	/* the reply each answer came from, or NULL */
	size_t	n;
};

static void
poll_clear(struct poll *p)
{
	size_t i;

	for (i = 0; i < p->n; i++)
		ldns_pkt_free(p->pkt[i]);
	p->n = 0;
}

/*
 * Ask every nameserver of z (RD=0) "qname qtype", each at its addresses in
 * turn until one replies (at most AUTH_TRIES rounds: a lost query or answer
 * is asked again; an ICMP error costs a round nothing), and classify each
 * reply for qname in zone z.
 */
static void
poll_zone(const struct zone *z, const char *qname, ldns_rr_type qtype, struct poll *p)
{
	ldns_pkt *q = dnsio_query_new(qname, qtype, 0);
	const char *err = "no address";
	size_t i, j;
	int round;

	memset(p, 0, sizeof(*p));
	for (i = 0; i < z->nns; i++) {
		p->n++;
		answer_none(&p->a[i], q == NULL ? "bad name" : "no address");
		for (round = 0; q != NULL && round < AUTH_TRIES && p->pkt[i] == NULL; round++)
			for (j = 0; j < z->ns[i].naddrs && p->pkt[i] == NULL; j++) {
				log_debug("asking %s (%s): %s", z->ns[i].name,
				    z->ns[i].addrs[j].text, qname);
				p->pkt[i] = dnsio_ask(&z->ns[i].addrs[j], q, AUTH_TIMEOUT_MS, &err);
				if (p->pkt[i] == NULL)
					answer_none(&p->a[i], err);
			}
		if (p->pkt[i] != NULL)
			answer_classify(p->pkt[i], qname, z->apex, &p->a[i]);
	}
	ldns_pkt_free(q);
}

/* "ns1: what; ns2: what" for every nameserver of z (kinds in mask only). */
static void
poll_text(const struct zone *z, const struct poll *p, unsigned mask, char *out, size_t len)
{
	char one[ANSWER_WHY + NAME_BUF + 16];
	size_t i;

	out[0] = '\0';
	for (i = 0; i < p->n; i++) {
		if (!(mask & (1u << p->a[i].kind)))
			continue;
		answer_describe(&p->a[i], one, sizeof(one));
		how_add(out, len, z->ns[i].name);
		if (strlen(out) + 3 < len)
			snprintf(out + strlen(out), len - strlen(out), ": %s", one);
	}
}

#define KIND(k)		(1u << (k))
#define POLL_TEXT_MAX	2048

/*
 * What the nameservers of z agree on for qname: ST_OK with *pick set, or
 * ST_DISCOVERY after saying why (none authoritative, or they disagree).
 * Unless quiet, lame nameservers of the zone that holds the name are named.
 */
static int
poll_agree(const struct zone *z, const char *qname, const struct poll *p, int quiet,
    size_t *pick)
{
	char text[POLL_TEXT_MAX];
	int k = answer_agree(p->a, p->n);

	if (k == ANSWER_NO_AUTHORITY) {
		poll_text(z, p, ~0u, text, sizeof(text));
		log_err("no nameserver of zone %s answered authoritatively for %s: %s", z->apex,
		    qname, text);
		return ST_DISCOVERY;
	}
	if (k == ANSWER_DISAGREE) {
		poll_text(z, p, ~(KIND(ANSWER_NONE) | KIND(ANSWER_LAME)), text, sizeof(text));
		log_err("the nameservers of zone %s disagree about %s: %s — a zone on one "
		    "server that the others do not have (a stale or forgotten zone), or a "
		    "delegation only some of them know; make them agree", z->apex, qname, text);
		return ST_DISCOVERY;
	}
	*pick = (size_t)k;
	if (!quiet && p->a[k].kind == ANSWER_ZONE && strcmp(p->a[k].zone, z->apex) == 0) {
		poll_text(z, p, KIND(ANSWER_LAME), text, sizeof(text));
		if (text[0] != '\0')
			log_warn("zone %s: lame nameserver (listed, but it does not serve the zone; "
			    "not waited for while it stays so): %s", z->apex, text);
	}
	return ST_OK;
}

/* Glue for z's nameservers from a referral's additional section. */
static void
zone_add_glue(struct zone *z, const ldns_rr_list *add)
{
	char owner[NAME_BUF];
	size_t i, j;

	for (i = 0; i < z->nns; i++)
		for (j = 0; j < ldns_rr_list_rr_count(add); j++) {
			const ldns_rr *rr = ldns_rr_list_rr(add, j);

			dnsio_dname_text(ldns_rr_owner(rr), owner, sizeof(owner));
			if (strcmp(owner, z->ns[i].name) != 0 || z->ns[i].naddrs == ZONE_MAX_ADDRS)
				continue;
			if (dnsio_addr_from_rr(rr, &z->ns[i].addrs[z->ns[i].naddrs]) == 0)
				z->ns[i].naddrs++;
		}
}

/*
 * Read the SOA and NS set of the zone at z->apex from its own servers: the
 * nameservers z has (from a referral, or the parent's servers that serve
 * the child too) are asked "apex SOA", and must agree that apex is a zone;
 * then "apex NS" adds the zone's own NS set.  ST_OK or ST_DISCOVERY.
 */
static int
zone_read_apex(struct discovery *d, struct zone *z)
{
	struct poll p;
	const ldns_rr *soa;
	size_t pick, i;
	int rc;

	poll_zone(z, z->apex, LDNS_RR_TYPE_SOA, &p);
	if ((rc = poll_agree(z, z->apex, &p, 1, &pick)) != ST_OK)
		goto out;
	if (p.a[pick].kind != ANSWER_ZONE || strcmp(p.a[pick].zone, z->apex) != 0 ||
	    (soa = answer_find_rr(ldns_pkt_answer(p.pkt[pick]), LDNS_RR_TYPE_SOA, z->apex)) == NULL) {
		log_err("zone %s: its servers give no SOA for it", z->apex);
		rc = ST_DISCOVERY;
		goto out;
	}
	zone_set_soa(z, soa);
	poll_clear(&p);
	poll_zone(z, z->apex, LDNS_RR_TYPE_NS, &p);
	for (i = 0; i < p.n; i++)
		if (p.pkt[i] != NULL && ldns_pkt_aa(p.pkt[i]) &&
		    ldns_pkt_get_rcode(p.pkt[i]) == LDNS_RCODE_NOERROR)
			zone_merge_ns(z, ldns_pkt_answer(p.pkt[i]));
	rc = zone_resolve_ns(d, z);
out:
	poll_clear(&p);
	return rc;
}

/*
 * The zone at apex, below parent: from the cache, or built from the
 * nameservers that pointed at it — a referral's NS set and glue, or (for a
 * child zone on the parent's own servers) the parent's nameservers — and
 * then its own SOA and NS set.
 */
static int
child_zone(struct discovery *d, const struct zone *parent, const char *apex,
    const ldns_pkt *referral, struct zone **out)
{
	struct zone *z;

	if ((*out = cache_find(d, apex)) != NULL)
		return ST_OK;
	if ((z = calloc(1, sizeof(*z))) == NULL) {
		log_err("out of memory");
		return ST_FAIL;
	}
	snprintf(z->apex, sizeof(z->apex), "%s", apex);
	if (referral != NULL) {
		zone_merge_ns(z, ldns_pkt_authority(referral));
		zone_add_glue(z, ldns_pkt_additional(referral));
	} else {
		memcpy(z->ns, parent->ns, sizeof(z->ns));
		z->nns = parent->nns;
	}
	if (zone_resolve_ns(d, z) != ST_OK || zone_read_apex(d, z) != ST_OK) {
		free(z);
		return ST_DISCOVERY;
	}
	log_debug("zone %s: below %s, primary %s, %zu nameservers", apex, parent->apex,
	    z->mname, z->nns);
	*out = cache_add(d, z);
	return *out ? ST_OK : ST_DISCOVERY;
}

/* The names of z's nameservers, ", " between them. */
static void
ns_names(const struct zone *z, char *out, size_t len)
{
	size_t i, o = 0;

	out[0] = '\0';
	for (i = 0; i < z->nns && o + 3 < len; i++)
		o += (size_t)snprintf(out + o, len - o, "%s%s", i ? ", " : "", z->ns[i].name);
}

/*
 * From zone *zp down to the zone that holds name: ask its nameservers
 * "name SOA" and go where they agree — a child zone they serve too (their
 * SOA is the child's), or a referral — until they answer from their own
 * zone, or say name is a CNAME or under a DNAME.  *res is that answer.
 */
static int
descend(struct discovery *d, struct zone **zp, const char *name, struct answer *res,
    char *how, size_t howlen)
{
	char text[NAME_BUF * 4 + 256], names[NAME_BUF];
	struct poll p;
	struct zone *child;
	size_t pick;
	int depth, rc;

	for (depth = 0; depth <= ZONE_MAX_DELEGATIONS; depth++) {
		poll_zone(*zp, name, LDNS_RR_TYPE_SOA, &p);
		if ((rc = poll_agree(*zp, name, &p, 0, &pick)) != ST_OK)
			goto out;
		*res = p.a[pick];
		switch (res->kind) {
		case ANSWER_ZONE:
			if (strcmp(res->zone, (*zp)->apex) == 0) {
				/* after a zone cut, the step into this zone said it all */
				snprintf(text, sizeof(text), "the SOA owner: its nameservers answer "
				    "for %s from zone %s", name, res->zone);
				if (depth == 0)
					how_add(how, howlen, text);
				goto out;
			}
			if ((rc = child_zone(d, *zp, res->zone, NULL, &child)) != ST_OK)
				goto out;
			snprintf(text, sizeof(text), "the nameservers of %s answer for %s with the "
			    "SOA of %s: a zone of its own on the same servers", (*zp)->apex, name,
			    res->zone);
			break;
		case ANSWER_REFERRAL:
			if ((rc = child_zone(d, *zp, res->zone, p.pkt[pick], &child)) != ST_OK)
				goto out;
			ns_names(child, names, sizeof(names));
			snprintf(text, sizeof(text), "the nameservers of %s refer %s to zone %s "
			    "(%s)", (*zp)->apex, name, res->zone, names);
			break;
		default:		/* CNAME, DNAME */
			goto out;
		}
		log_debug("%s", text);
		how_add(how, howlen, text);
		*zp = child;
		poll_clear(&p);
	}
	log_err("%s: more than %d zone cuts below the zone the resolvers found", name,
	    ZONE_MAX_DELEGATIONS);
	return ST_DISCOVERY;
out:
	poll_clear(&p);
	return rc;
}

/*
 * 1 when the CNAME at name -> target is one a wildcard synthesizes (a random
 * sibling of name gets the same CNAME), not a record at name.  Following it
 * would write into a zone the user may not own (lego#1816); a TXT written at
 * name itself makes a node there, and the wildcard then no longer applies.
 */
static int
cname_is_wildcard(const struct zone *z, const char *name, const char *target)
{
	char probe[NAME_BUF];
	const char *parent = name_parent(name);
	struct poll p;
	uint32_t rnd = 0;
	size_t i;
	int n, wild = 0;

	if (parent == NULL || getrandom(&rnd, sizeof(rnd), 0) != sizeof(rnd))
		return 0;
	n = snprintf(probe, sizeof(probe), "_dns01-probe-%08x.%s", (unsigned)rnd, parent);
	if (n < 0 || n > NAME_MAX_LEN)
		return 0;
	poll_zone(z, probe, LDNS_RR_TYPE_SOA, &p);
	for (i = 0; i < p.n && !wild; i++)
		wild = p.pkt[i] != NULL && answer_is_wildcard_cname(p.pkt[i], probe, target);
	poll_clear(&p);
	return wild;
}

int
discovery_locate(struct discovery *d, const char *name, char *target,
    const struct zone **zone, char *how, size_t howlen)
{
	char visited[ZONE_MAX_CNAME_HOPS + 1][NAME_BUF], cur[NAME_BUF], text[NAME_BUF * 4 + 256];
	char dummy[1];
	struct answer res;
	struct zone *z;
	const char *start;
	size_t hop, k;
	int rc;

	if (how == NULL) {
		how = dummy;
		howlen = sizeof(dummy);
	}
	how[0] = '\0';
	snprintf(cur, sizeof(cur), "%s", name);
	for (hop = 0; hop <= ZONE_MAX_CNAME_HOPS; hop++) {
		for (k = 0; k < hop; k++)
			if (strcmp(visited[k], cur) == 0) {
				log_err("CNAME loop at %s (starting from %s)", cur, name);
				return ST_DISCOVERY;
			}
		snprintf(visited[hop], NAME_BUF, "%s", cur);
		if ((start = walk_start(cur)) == NULL) {
			log_err("%s: a single-label name has no zone", cur);
			return ST_DISCOVERY;
		}
		if ((rc = find_zone(d, start, &z)) != ST_OK)
			return rc;
		if ((rc = descend(d, &z, cur, &res, how, howlen)) != ST_OK)
			return rc;
		if (res.kind == ANSWER_CNAME && cname_is_wildcard(z, cur, res.target)) {
			log_info("%s: the CNAME to %s comes from a wildcard (*.%s), not a record at "
			    "the name: writing at %s itself", cur, res.target, name_parent(cur), cur);
			snprintf(text, sizeof(text), "the CNAME at %s to %s comes from a wildcard, "
			    "so the record is written at %s itself, in zone %s", cur, res.target, cur,
			    z->apex);
			how_add(how, howlen, text);
			res.kind = ANSWER_ZONE;
		}
		if (res.kind == ANSWER_ZONE) {
			snprintf(target, NAME_BUF, "%s", cur);
			*zone = z;
			return ST_OK;
		}
		if (res.kind == ANSWER_DNAME)
			snprintf(text, sizeof(text), "%s is under a DNAME at %s: a CA's resolver "
			    "asks %s instead, and the record goes there", cur, res.owner, res.target);
		else
			snprintf(text, sizeof(text), "%s is a CNAME to %s: the record goes there",
			    cur, res.target);
		log_info("%s", text);
		how_add(how, howlen, text);
		memcpy(cur, res.target, sizeof(cur));
	}
	log_err("%s: more than %d CNAMEs in a row", name, ZONE_MAX_CNAME_HOPS);
	return ST_DISCOVERY;
}

size_t
discovery_misplaced(const struct zone *z, const char *name, char *text, size_t len)
{
	struct poll p;
	char one[ANSWER_WHY + NAME_BUF];
	size_t i, n = 0;

	text[0] = '\0';
	poll_zone(z, name, LDNS_RR_TYPE_SOA, &p);
	for (i = 0; i < p.n; i++) {
		if (p.a[i].kind == ANSWER_NONE ||
		    (p.a[i].kind == ANSWER_ZONE && strcmp(p.a[i].zone, z->apex) == 0))
			continue;
		answer_describe(&p.a[i], one, sizeof(one));
		how_add(text, len, z->ns[i].name);
		if (strlen(text) + 3 < len)
			snprintf(text + strlen(text), len - strlen(text), " answers for %s: %s", name,
			    one);
		n++;
	}
	poll_clear(&p);
	return n;
}
