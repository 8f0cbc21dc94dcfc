/* Zone apex, nameserver and CNAME discovery; see zone.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>

#include "log.h"
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

/* The first RR of type in list whose owner is name (canonical), or NULL. */
static ldns_rr *
find_rr(const ldns_rr_list *list, ldns_rr_type type, const char *name)
{
	char owner[NAME_BUF];
	size_t i;

	for (i = 0; i < ldns_rr_list_rr_count(list); i++) {
		ldns_rr *rr = ldns_rr_list_rr(list, i);

		if (ldns_rr_get_type(rr) != type)
			continue;
		dnsio_dname_text(ldns_rr_owner(rr), owner, sizeof(owner));
		if (name == NULL || strcmp(owner, name) == 0)
			return rr;
	}
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

ldns_pkt *
discovery_resolve(struct discovery *d, const char *qname, ldns_rr_type qtype, char *why,
    size_t whylen)
{
	const char *l;
	size_t n = strlen(CHALLENGE_LABEL);

	/* A challenge name, or a name below one, goes only to authoritative servers. */
	for (l = qname; l != NULL; l = name_parent(l))
		if (strncasecmp(l, CHALLENGE_LABEL, n) == 0 && (l[n] == '.' || l[n] == '\0')) {
			snprintf(why, whylen, "%s: a challenge name is never asked of a resolver",
			    qname);
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

/* Add the NS names found in list (owner apex) to z. */
static void
zone_add_ns(struct zone *z, const ldns_rr_list *list)
{
	char owner[NAME_BUF];
	size_t i;

	for (i = 0; i < ldns_rr_list_rr_count(list) && z->nns < ZONE_MAX_NS; i++) {
		ldns_rr *rr = ldns_rr_list_rr(list, i);

		if (ldns_rr_get_type(rr) != LDNS_RR_TYPE_NS)
			continue;
		dnsio_dname_text(ldns_rr_owner(rr), owner, sizeof(owner));
		if (strcmp(owner, z->apex) != 0)
			continue;
		dnsio_dname_text(ldns_rr_rdf(rr, 0), z->ns[z->nns].name, NAME_BUF);
		z->nns++;
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
	ldns_rr *soa = NULL;
	struct zone *z = NULL;
	int rc = ST_DISCOVERY;

	for (cur = start; cur != NULL && apex[0] == '\0'; cur = name_parent(cur)) {
		if ((r = resolver_ask(d, cur, LDNS_RR_TYPE_SOA, why, sizeof(why))) == NULL) {
			log_err("cannot find the zone of %s: %s", start, why);
			return ST_DISCOVERY;
		}
		if ((soa = find_rr(ldns_pkt_answer(r), LDNS_RR_TYPE_SOA, cur)) != NULL)
			snprintf(apex, sizeof(apex), "%s", cur);
		else if (find_rr(ldns_pkt_answer(r), LDNS_RR_TYPE_CNAME, cur) == NULL &&
		    (soa = find_rr(ldns_pkt_authority(r), LDNS_RR_TYPE_SOA, NULL)) != NULL) {
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
	zone_add_ns(z, ldns_pkt_answer(r));
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

enum auth_kind { AUTH_ANSWER, AUTH_REFERRAL };

/*
 * Ask z's authoritative servers (RD=0) until one gives an authoritative
 * answer or a referral below z.  Returns the answer or NULL after logging.
 */
static ldns_pkt *
auth_ask(const struct zone *z, const char *qname, ldns_rr_type qtype, enum auth_kind *kind)
{
	char problems[1024] = "", one[256];
	ldns_pkt *q, *r;
	const char *err;
	size_t i, j;

	if ((q = dnsio_query_new(qname, qtype, 0)) == NULL)
		return NULL;
	for (i = 0; i < z->nns; i++)
		for (j = 0; j < z->ns[i].naddrs; j++) {
			const struct dns_addr *a = &z->ns[i].addrs[j];
			ldns_rr *ns;

			log_debug("asking %s (%s): %s", z->ns[i].name, a->text, qname);
			if ((r = dnsio_ask(a, q, AUTH_TIMEOUT_MS, &err)) == NULL) {
				snprintf(one, sizeof(one), " %s (%s): %s;", z->ns[i].name, a->text, err);
				goto next;
			}
			if (ldns_pkt_aa(r) && (ldns_pkt_get_rcode(r) == LDNS_RCODE_NOERROR ||
			    ldns_pkt_get_rcode(r) == LDNS_RCODE_NXDOMAIN)) {
				*kind = AUTH_ANSWER;
				ldns_pkt_free(q);
				return r;
			}
			ns = find_rr(ldns_pkt_authority(r), LDNS_RR_TYPE_NS, NULL);
			if (!ldns_pkt_aa(r) && ldns_pkt_get_rcode(r) == LDNS_RCODE_NOERROR && ns) {
				char cut[NAME_BUF];

				dnsio_dname_text(ldns_rr_owner(ns), cut, sizeof(cut));
				if (name_is_under(qname, cut) && name_is_under(cut, z->apex) &&
				    strcmp(cut, z->apex) != 0) {
					*kind = AUTH_REFERRAL;
					ldns_pkt_free(q);
					return r;
				}
			}
			snprintf(one, sizeof(one), " %s (%s): %s%s;", z->ns[i].name, a->text,
			    dnsio_rcode_name(ldns_pkt_get_rcode(r)),
			    ldns_pkt_aa(r) ? "" : " not authoritative");
			ldns_pkt_free(r);
next:
			if (strlen(problems) + strlen(one) < sizeof(problems))
				memcpy(problems + strlen(problems), one, strlen(one) + 1);
		}
	ldns_pkt_free(q);
	log_err("no authoritative server of zone %s answered for %s:%s", z->apex, qname,
	    problems);
	return NULL;
}

/* The zone below z that a referral for a name introduces. */
static int
follow_referral(struct discovery *d, const struct zone *parent, const ldns_pkt *ref,
    struct zone **out)
{
	enum auth_kind kind;
	char cut[NAME_BUF];
	ldns_rr *ns = find_rr(ldns_pkt_authority(ref), LDNS_RR_TYPE_NS, NULL), *soa;
	ldns_pkt *r;
	struct zone *z;
	size_t i, j;

	dnsio_dname_text(ldns_rr_owner(ns), cut, sizeof(cut));
	if ((*out = cache_find(d, cut)) != NULL)
		return ST_OK;
	if ((z = calloc(1, sizeof(*z))) == NULL)
		return ST_FAIL;
	snprintf(z->apex, sizeof(z->apex), "%s", cut);
	zone_add_ns(z, ldns_pkt_authority(ref));
	/* Glue first; names without glue go through the resolvers. */
	for (i = 0; i < z->nns; i++)
		for (j = 0; j < ldns_rr_list_rr_count(ldns_pkt_additional(ref)); j++) {
			ldns_rr *rr = ldns_rr_list_rr(ldns_pkt_additional(ref), j);
			char owner[NAME_BUF];

			dnsio_dname_text(ldns_rr_owner(rr), owner, sizeof(owner));
			if (strcmp(owner, z->ns[i].name) != 0 || z->ns[i].naddrs == ZONE_MAX_ADDRS)
				continue;
			if (dnsio_addr_from_rr(rr, &z->ns[i].addrs[z->ns[i].naddrs]) == 0)
				z->ns[i].naddrs++;
		}
	if (zone_resolve_ns(d, z) != ST_OK ||
	    (r = auth_ask(z, cut, LDNS_RR_TYPE_SOA, &kind)) == NULL) {
		free(z);
		return ST_DISCOVERY;
	}
	soa = find_rr(ldns_pkt_answer(r), LDNS_RR_TYPE_SOA, cut);
	if (kind != AUTH_ANSWER || soa == NULL) {
		log_err("zone %s (delegated from %s): its servers give no SOA", cut, parent->apex);
		ldns_pkt_free(r);
		free(z);
		return ST_DISCOVERY;
	}
	zone_set_soa(z, soa);
	ldns_pkt_free(r);
	if (z->nmname == 0)
		z->nmname = discovery_addrs(d, z->mname, z->mname_addrs, ZONE_MAX_ADDRS);
	log_debug("zone %s is delegated from %s", cut, parent->apex);
	*out = cache_add(d, z);
	return *out ? ST_OK : ST_DISCOVERY;
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
	char probe[NAME_BUF], got[NAME_BUF];
	const char *parent = name_parent(name);
	enum auth_kind kind;
	uint32_t rnd = 0;
	ldns_pkt *r;
	ldns_rr *cn;
	int n, wild = 0;

	if (parent == NULL || getrandom(&rnd, sizeof(rnd), 0) != sizeof(rnd))
		return 0;
	n = snprintf(probe, sizeof(probe), "_dns01-probe-%08x.%s", (unsigned)rnd, parent);
	if (n < 0 || n > NAME_MAX_LEN)
		return 0;
	if ((r = auth_ask(z, probe, LDNS_RR_TYPE_TXT, &kind)) == NULL)
		return 0;
	if (kind == AUTH_ANSWER && (cn = find_rr(ldns_pkt_answer(r), LDNS_RR_TYPE_CNAME,
	    probe)) != NULL) {
		dnsio_dname_text(ldns_rr_rdf(cn, 0), got, sizeof(got));
		wild = strcmp(got, target) == 0;
	}
	ldns_pkt_free(r);
	return wild;
}

int
discovery_locate(struct discovery *d, const char *name, char *target, const struct zone **zone)
{
	char visited[ZONE_MAX_CNAME_HOPS + 1][NAME_BUF], cur[NAME_BUF], next[NAME_BUF];
	enum auth_kind kind;
	struct zone *z;
	ldns_pkt *r;
	ldns_rr *cname;
	size_t hop, k;
	int rc, depth;

	snprintf(cur, sizeof(cur), "%s", name);
	for (hop = 0; hop <= ZONE_MAX_CNAME_HOPS; hop++) {
		const char *parent = name_parent(cur);

		for (k = 0; k < hop; k++)
			if (strcmp(visited[k], cur) == 0) {
				log_err("CNAME loop at %s (starting from %s)", cur, name);
				return ST_DISCOVERY;
			}
		snprintf(visited[hop], NAME_BUF, "%s", cur);
		if (parent == NULL) {
			log_err("%s: a single-label name has no zone", cur);
			return ST_DISCOVERY;
		}
		if ((rc = find_zone(d, parent, &z)) != ST_OK)
			return rc;
		for (depth = 0;; depth++) {
			if ((r = auth_ask(z, cur, LDNS_RR_TYPE_TXT, &kind)) == NULL)
				return ST_DISCOVERY;
			if (kind == AUTH_ANSWER)
				break;
			if (depth == ZONE_MAX_DELEGATIONS) {
				log_err("%s: more than %d zone cuts", cur, ZONE_MAX_DELEGATIONS);
				ldns_pkt_free(r);
				return ST_DISCOVERY;
			}
			rc = follow_referral(d, z, r, &z);
			ldns_pkt_free(r);
			if (rc != ST_OK)
				return rc;
		}
		cname = find_rr(ldns_pkt_answer(r), LDNS_RR_TYPE_CNAME, cur);
		if (cname != NULL)
			dnsio_dname_text(ldns_rr_rdf(cname, 0), next, sizeof(next));
		ldns_pkt_free(r);
		if (cname != NULL && cname_is_wildcard(z, cur, next)) {
			log_info("%s: the CNAME to %s comes from a wildcard (*.%s), not a record at "
			    "the name: writing at %s itself", cur, next, name_parent(cur), cur);
			cname = NULL;
		}
		if (cname == NULL) {
			snprintf(target, NAME_BUF, "%s", cur);
			*zone = z;
			return ST_OK;
		}
		memcpy(cur, next, sizeof(cur));
		log_info("%s is a CNAME to %s: the record goes there", visited[hop], cur);
	}
	log_err("%s: more than %d CNAMEs in a row", name, ZONE_MAX_CNAME_HOPS);
	return ST_DISCOVERY;
}
