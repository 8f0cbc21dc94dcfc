/*
 * Provider "rfc2136": signed DNS UPDATE (RFC 2136, TSIG RFC 8945) to the
 * configured server, or to the zone's SOA MNAME (RFC 2136 §4.3).
 *
 * Add puts one RR into the TXT RRset and never deletes the RRset first, so
 * apex and wildcard values live side by side; delete removes exactly one RR
 * (class NONE, §2.5.4).  All records of one zone go in one UPDATE message,
 * over TCP.  Before it, the TXT RRset of each name is read from the same
 * server, and the UPDATE is conditional on it (§2.4): so other records at
 * the name get back the TTL dns01's value took from them ("Foreign
 * records" below), and the log says what really changed.
 */
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <ldns/ldns.h>

#include "../core/dnsio.h"
#include "../core/log.h"
#include "../core/status.h"
#include "../core/text.h"
#include "../core/tsig.h"
#include "provider.h"
#include "rfc2136_servers.h"

#define RFC2136_TIMEOUT_MS	10000	/* one exchange: UPDATE or TXT query */
#define RFC2136_DEFAULT_ALG	"hmac-sha256"
#define RFC2136_DEFAULT_TTL	10
#define RFC2136_MIN_TTL		1
#define RFC2136_RACE_TRIES	4	/* conditional UPDATEs of a change, each after a read */
#define RFC2136_TTL_MAX		2147483647UL	/* RFC 2181 §8 */
#define RFC2136_ID_TAG		"foreign-ttl:"	/* id: foreign-ttl:<theirs>:<ours> */
#define RFC2136_TTL_DIGITS	10	/* of RFC2136_TTL_MAX */
#define RFC2136_HINT_MAX	1536	/* an error message's "not the primary" part */
#define RFC2136_CAUSES_MAX	1024	/* an error message's causes (rfc2136_servers.h) */
#define RFC2136_VERSION_TIMEOUT_MS 3000	/* the CHAOS TXT version.bind query */
#define RFC2136_VERSION_MAX	64	/* of its answer, as shown */

_Static_assert(sizeof(RFC2136_ID_TAG) + 2 * RFC2136_TTL_DIGITS + 1 <= RECORD_ID_MAX,
    "a foreign-ttl record id fits");

struct rfc2136 {
	char	name[128];		/* section name, for messages */
	struct dns_addr server;
	int	has_server;
	struct tsig_key key;
	int	has_key;
	const struct zone *last_zone;	/* the zone of the last exchange, */
	size_t	last_target;		/* and the target that answered it */
};

static const char *const keys[] = { "server", "tsig_key", "tsig_algorithm", "tsig_secret",
	NULL };
static const char *const secret_keys[] = { "tsig_secret", NULL };
static const struct env_map env[] = {
	{ "server", { "RFC2136_NAMESERVER", NULL } },
	{ "tsig_key", { "RFC2136_TSIG_KEY", NULL } },
	{ "tsig_secret", { "RFC2136_TSIG_SECRET", NULL } },
	{ "tsig_algorithm", { "RFC2136_TSIG_ALGORITHM", NULL } },
	{ NULL, { NULL } }
};
static const struct cred_map cred[] = {
	{ "server", "dns_rfc2136_server" },
	{ "tsig_key", "dns_rfc2136_name" },
	{ "tsig_secret", "dns_rfc2136_secret" },
	{ "tsig_algorithm", "dns_rfc2136_algorithm" },
	{ NULL, NULL }
};

static int
rfc2136_create(const struct provider_conf *pc, const struct config *cfg, void **priv)
{
	const char *server = provider_conf_get(pc, "server");
	const char *kname = provider_conf_get(pc, "tsig_key");
	const char *alg = provider_conf_get(pc, "tsig_algorithm");
	const char *secret = provider_conf_get(pc, "tsig_secret");
	struct rfc2136 *p;
	const char *why;

	(void)cfg;
	if ((p = calloc(1, sizeof(*p))) == NULL) {
		log_err("out of memory");
		return ST_FAIL;
	}
	snprintf(p->name, sizeof(p->name), "%s", pc->name);
	if (server != NULL && *server != '\0') {
		if (dnsio_parse_addr(server, &p->server) == -1) {
			log_err("%s: [provider %s] server: '%s' is not IP, IP:port or [IPv6]:port",
			    pc->origin, pc->name, server);
			goto fail;
		}
		p->has_server = 1;
	}
	if (kname != NULL || secret != NULL) {
		if (kname == NULL || secret == NULL) {
			log_err("%s: [provider %s] needs both tsig_key and tsig_secret",
			    pc->origin, pc->name);
			goto fail;
		}
		if (tsig_key_init(&p->key, kname, alg ? alg : RFC2136_DEFAULT_ALG, secret,
		    &why) == -1) {
			log_err("%s: [provider %s] TSIG key '%s': %s", pc->origin, pc->name,
			    kname, why);
			goto fail;
		}
		p->has_key = 1;
	} else if (alg != NULL) {
		log_err("%s: [provider %s] tsig_algorithm without tsig_key", pc->origin, pc->name);
		goto fail;
	}
	*priv = p;
	return ST_OK;
fail:
	tsig_key_clear(&p->key);
	free(p);
	return ST_CONFIG;
}

static void
rfc2136_destroy(void *priv)
{
	struct rfc2136 *p = priv;

	if (p == NULL)
		return;
	tsig_key_clear(&p->key);
	free(p);
}

/*
 * Foreign records.  An RRset has one TTL (RFC 2181 §5.2).  BIND 9.18 gives
 * the whole RRset the TTL of the RR an UPDATE adds last, also when that RR
 * was there already (RFC 2136 §3.4.2.2: the update RR replaces it).  So
 * adding dns01's value with TTL 10 at a name where someone else keeps TXT
 * records with TTL 3600 lowers theirs to 10, and deleting our value again
 * (class NONE, §2.5.4) leaves them at 10.  Therefore:
 *
 * - add reads the RRset first.  When records other than the change's values
 *   are there with another TTL, the record id of each value at that name
 *   remembers both TTLs: "foreign-ttl:<theirs>:<ours>".  The caller keeps
 *   the id and hands it to del.  Other records with our TTL (another dns01
 *   run's values, or records an earlier value lowered) leave nothing to
 *   remember; an id the caller passes to add again is kept.
 * - del reads the RRset.  When an id remembers a TTL, other records remain,
 *   and they still have our TTL (another TTL means someone set one since,
 *   and it is theirs to keep), one UPDATE deletes our values and adds every
 *   remaining record again with the remembered TTL, which gives the RRset
 *   that TTL back.  Its prerequisite is the RRset exactly as read ("RRset
 *   exists (value dependent)", §2.4.2; TTLs are not compared), so a record
 *   that someone removed after the read is never re-created, and one they
 *   added or removed before the UPDATE arrives fails it (NXRRSET, §3.2.3)
 *   with nothing changed (an UPDATE is atomic, §3.7).  Then dns01 reads
 *   again and retries, at most RFC2136_RACE_TRIES UPDATEs in all; after
 *   that it only deletes its own values and warns that the others' TTL was
 *   left.  (A change of TTL alone between read and UPDATE is not seen.)
 * - values of other dns01 runs at the name are other records like any:
 *   never deleted, and (one TTL per RRset) they take the restored TTL too.
 *
 * Every UPDATE whose names were read carries the reads as prerequisites,
 * add too (an empty read as "RRset does not exist", §2.4.3): what it then
 * reports ("added N", "deleted N", "had no such value") and the TTL it
 * remembers are what the server changed.  A read that does not work
 * (REFUSED, no TSIG answer) only costs that exactness, and the TTL.
 */

/* One owner name of a change: its TXT RRset as read, and what to do. */
struct site {
	const char *name;		/* canonical owner (one of the records') */
	ldns_rr_list *rrset;		/* the TXT RRs read; NULL: not read */
	const char *why;		/* why not, for messages */
	int	remembered;		/* an id says: our add, with our_ttl, */
	uint32_t foreign_ttl;		/* found others with foreign_ttl */
	uint32_t our_ttl;
	/* plan(): */
	size_t	others;			/* RRs of rrset other than the change's values */
	uint32_t ttl;			/* the largest TTL in rrset */
	int	mixed;			/* not every RR of rrset has that TTL */
	int	lowered;		/* del: the others still have the TTL we gave them */
	int	restore;		/* del: add the others again with foreign_ttl */
};

/* A decimal TTL (at most RFC2136_TTL_MAX) from s; *end after it.  0 or -1. */
static int
parse_ttl(const char *s, const char **end, uint32_t *ttl)
{
	unsigned long v = 0;

	if (*s < '0' || *s > '9')
		return -1;
	for (; *s >= '0' && *s <= '9'; s++)
		if ((v = v * 10 + (unsigned long)(*s - '0')) > RFC2136_TTL_MAX)
			return -1;
	*end = s;
	*ttl = (uint32_t)v;
	return 0;
}

/* The TTLs in a record id "foreign-ttl:<theirs>:<ours>".  0, or -1 for any other id. */
static int
id_parse(const char *id, uint32_t *theirs, uint32_t *ours)
{
	const char *p = id;

	if (strncmp(id, RFC2136_ID_TAG, strlen(RFC2136_ID_TAG)) != 0 ||
	    parse_ttl(p + strlen(RFC2136_ID_TAG), &p, theirs) == -1 || *p++ != ':' ||
	    parse_ttl(p, &p, ours) == -1 || *p != '\0')
		return -1;
	return 0;
}

/* 1 when rr is a TXT RR of exactly one character-string, value. */
static int
txt_is(const ldns_rr *rr, const char *value)
{
	size_t len = strlen(value);
	const ldns_rdf *rd;

	if (ldns_rr_get_type(rr) != LDNS_RR_TYPE_TXT || ldns_rr_rd_count(rr) != 1)
		return 0;
	rd = ldns_rr_rdf(rr, 0);
	return ldns_rdf_size(rd) == len + 1 && ldns_rdf_data(rd)[0] == len &&
	    memcmp(ldns_rdf_data(rd) + 1, value, len) == 0;
}

/* 1 when one RR of rrset is r's value. */
static int
rrset_has(const ldns_rr_list *rrset, const struct record *r)
{
	size_t i;

	for (i = 0; i < ldns_rr_list_rr_count(rrset); i++)
		if (txt_is(ldns_rr_list_rr(rrset, i), r->value))
			return 1;
	return 0;
}

/* 1 when rr (at name) is one of the values of the change. */
static int
change_value(const ldns_rr *rr, const char *name, const struct record *r, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (strcmp(r[i].name, name) == 0 && txt_is(rr, r[i].value))
			return 1;
	return 0;
}

/*
 * The distinct names of r[] into s[] (returns how many), the site of each
 * record in at[], and the TTLs the first id at each name remembers.
 */
static size_t
sites_of(const struct record *r, size_t n, struct site *s, size_t *at)
{
	size_t i, j, ns = 0;

	for (i = 0; i < n; i++) {
		for (j = 0; j < ns && strcmp(s[j].name, r[i].name) != 0; j++)
			;
		if (j == ns)
			s[ns++].name = r[i].name;
		at[i] = j;
		if (!s[j].remembered && id_parse(r[i].id, &s[j].foreign_ttl,
		    &s[j].our_ttl) == 0)
			s[j].remembered = 1;
	}
	return ns;
}

/*
 * Decide from the RRset read at s->name, without I/O: how many other
 * records than the change's values are there, their TTL, and for del
 * whether they get their TTL back (see "Foreign records";
 * conditional: the UPDATE will carry the read as its prerequisite).
 */
static void
plan(struct site *s, const struct record *r, size_t n, int del, int conditional)
{
	size_t i, count = s->rrset ? ldns_rr_list_rr_count(s->rrset) : 0;
	const ldns_rr *rr;

	s->others = 0;
	s->ttl = 0;
	s->mixed = s->lowered = s->restore = 0;
	for (i = 0; i < count; i++) {
		rr = ldns_rr_list_rr(s->rrset, i);
		if (!change_value(rr, s->name, r, n))
			s->others++;
		if (i > 0 && ldns_rr_ttl(rr) != s->ttl)
			s->mixed = 1;
		if (ldns_rr_ttl(rr) > s->ttl)
			s->ttl = ldns_rr_ttl(rr);
	}
	s->lowered = del && s->remembered && s->others > 0 && !s->mixed &&
	    s->ttl == s->our_ttl && s->foreign_ttl != s->our_ttl;
	s->restore = s->lowered && conditional;
}

/* Push a copy of rr with class c and TTL ttl onto l.  0 or -1. */
static int
push_copy(ldns_rr_list *l, const ldns_rr *rr, ldns_rr_class c, uint32_t ttl)
{
	ldns_rr *copy = ldns_rr_clone(rr);

	if (copy == NULL)
		return -1;
	ldns_rr_set_class(copy, c);
	ldns_rr_set_ttl(copy, ttl);
	if (!ldns_rr_list_push_rr(l, copy)) {
		ldns_rr_free(copy);
		return -1;
	}
	return 0;
}

/*
 * The prerequisite that s->name's TXT RRset is still what was read: each
 * RR with class IN and TTL 0 ("RRset exists (value dependent)", §2.4.2),
 * or, when nothing was there, class NONE and no RDATA ("RRset does not
 * exist", §2.4.3).  0 or -1.
 */
static int
push_prereq(ldns_rr_list *pr, const struct site *s)
{
	size_t i, count = ldns_rr_list_rr_count(s->rrset);
	ldns_rdf *owner;
	ldns_rr *rr;

	for (i = 0; i < count; i++)
		if (push_copy(pr, ldns_rr_list_rr(s->rrset, i), LDNS_RR_CLASS_IN, 0) == -1)
			return -1;
	if (count > 0)
		return 0;
	if ((rr = ldns_rr_new()) == NULL || (owner = ldns_dname_new_frm_str(s->name)) == NULL) {
		ldns_rr_free(rr);
		return -1;
	}
	ldns_rr_set_owner(rr, owner);
	ldns_rr_set_type(rr, LDNS_RR_TYPE_TXT);
	ldns_rr_set_class(rr, LDNS_RR_CLASS_NONE);
	ldns_rr_set_ttl(rr, 0);
	if (!ldns_rr_list_push_rr(pr, rr)) {
		ldns_rr_free(rr);
		return -1;
	}
	return 0;
}

/* One update RR: add (class IN, ttl) or delete one RR (class NONE, ttl 0). */
static ldns_rr *
update_rr(const struct record *r, int del, int ttl)
{
	size_t len = strlen(r->value);
	uint8_t buf[1 + TXT_STRING_MAX];
	ldns_rdf *owner, *txt;
	ldns_rr *rr;

	if (len > TXT_STRING_MAX || (rr = ldns_rr_new()) == NULL)
		return NULL;
	buf[0] = (uint8_t)len;
	memcpy(buf + 1, r->value, len);
	if ((owner = ldns_dname_new_frm_str(r->name)) == NULL ||
	    (txt = ldns_rdf_new_frm_data(LDNS_RDF_TYPE_STR, len + 1, buf)) == NULL) {
		ldns_rdf_deep_free(owner);
		ldns_rr_free(rr);
		return NULL;
	}
	ldns_rr_set_owner(rr, owner);
	ldns_rr_set_type(rr, LDNS_RR_TYPE_TXT);
	ldns_rr_set_class(rr, del ? LDNS_RR_CLASS_NONE : LDNS_RR_CLASS_IN);
	ldns_rr_set_ttl(rr, del ? 0 : (uint32_t)ttl);
	ldns_rr_push_rdf(rr, txt);
	return rr;
}

/*
 * The UPDATE message of a change, in wire format (*wire malloc'd): the
 * prerequisites of every site that was read (when conditional), adds or
 * deletes of every record, and for del the other records of each site
 * that gets its TTL back, added again with it.  *prereqs: how many
 * prerequisite RRs it carries.  Status.
 */
static int
build(const struct zone *z, const struct site *s, size_t ns, const struct record *recs,
    size_t n, int del, int ttl, int conditional, uint8_t **wire, size_t *len,
    size_t *prereqs)
{
	ldns_rr_list *pr = ldns_rr_list_new(), *up = ldns_rr_list_new();
	ldns_rdf *zname = ldns_dname_new_frm_str(z->apex);
	ldns_pkt *pkt = NULL;
	size_t i, j;
	ldns_rr *rr;
	int rc = ST_FAIL;

	*wire = NULL;
	if (pr == NULL || up == NULL || zname == NULL)
		goto out;
	for (i = 0; conditional && i < ns; i++)
		if (s[i].rrset != NULL && push_prereq(pr, &s[i]) == -1)
			goto out;
	for (i = 0; i < n; i++)
		if ((rr = update_rr(&recs[i], del, ttl)) == NULL ||
		    !ldns_rr_list_push_rr(up, rr)) {
			ldns_rr_free(rr);
			goto out;
		}
	for (i = 0; i < ns; i++)
		for (j = 0; s[i].restore && j < ldns_rr_list_rr_count(s[i].rrset); j++) {
			rr = ldns_rr_list_rr(s[i].rrset, j);
			if (!change_value(rr, s[i].name, recs, n) &&
			    push_copy(up, rr, LDNS_RR_CLASS_IN, s[i].foreign_ttl) == -1)
				goto out;
		}
	*prereqs = ldns_rr_list_rr_count(pr);
	/* The packet owns zname; the lists are copied. */
	pkt = ldns_update_pkt_new(zname, LDNS_RR_CLASS_IN, *prereqs ? pr : NULL, up, NULL);
	zname = NULL;
	if (pkt == NULL)
		goto out;
	ldns_pkt_set_random_id(pkt);
	if (ldns_pkt2wire(wire, pkt, len) != LDNS_STATUS_OK)
		goto out;
	rc = ST_OK;
out:
	if (rc != ST_OK)
		log_err("zone %s: cannot build the UPDATE", z->apex);
	ldns_rdf_deep_free(zname);
	ldns_rr_list_deep_free(pr);
	ldns_rr_list_deep_free(up);
	ldns_pkt_free(pkt);
	return rc;
}

/* 1 when a and b are the same IP address (ports aside). */
static int
same_host(const struct dns_addr *a, const struct dns_addr *b)
{
	const struct sockaddr_in *a4 = (const struct sockaddr_in *)&a->sa;
	const struct sockaddr_in *b4 = (const struct sockaddr_in *)&b->sa;
	const struct sockaddr_in6 *a6 = (const struct sockaddr_in6 *)&a->sa;
	const struct sockaddr_in6 *b6 = (const struct sockaddr_in6 *)&b->sa;

	if (a->sa.ss_family != b->sa.ss_family)
		return 0;
	if (a->sa.ss_family == AF_INET)
		return a4->sin_addr.s_addr == b4->sin_addr.s_addr;
	return memcmp(&a6->sin6_addr, &b6->sin6_addr, sizeof(a6->sin6_addr)) == 0;
}

/*
 * When a, where an UPDATE went, is not an address of the zone's SOA MNAME
 * (RFC 1035 §3.3.13, the primary; RFC 2136 §4.3), what that means for an
 * error message, into out ("" when a is the MNAME's or the MNAME has no
 * address).  A secondary forwards UPDATEs to the primary (§3.1.1, §6) only
 * when told to; BIND 9.18 on a secondary answers REFUSED ("update
 * forwarding denied"), with TSIG error BADKEY when it does not know the key.
 * Only `server =` can point at a secondary: without it UPDATEs go to the
 * MNAME.
 */
static void
primary_hint(const struct rfc2136 *p, const struct zone *z, const struct dns_addr *a,
    char *out, size_t outlen)
{
	char mname[ZONE_MAX_ADDRS * (DNS_ADDR_TEXT + 2) + NAME_BUF + 4];
	const char *ns = NULL;
	size_t i, j, len;

	out[0] = '\0';
	for (i = 0; i < z->nmname; i++)
		if (same_host(a, &z->mname_addrs[i]))
			return;
	if (z->nmname == 0)
		return;
	for (i = 0; i < z->nns && ns == NULL; i++)
		for (j = 0; j < z->ns[i].naddrs && ns == NULL; j++)
			if (same_host(a, &z->ns[i].addrs[j]))
				ns = z->ns[i].name;
	len = (size_t)snprintf(mname, sizeof(mname), "%s (", z->mname);
	for (i = 0; i < z->nmname && len < sizeof(mname); i++)
		len += (size_t)snprintf(mname + len, sizeof(mname) - len, "%s%s", i ? ", " : "",
		    z->mname_addrs[i].text);
	if (len < sizeof(mname))
		snprintf(mname + len, sizeof(mname) - len, ")");
	if (ns != NULL)
		snprintf(out, outlen, ": it is %s, a secondary for %s (its SOA MNAME, the "
		    "primary, is %s), and a secondary refuses UPDATEs it does not forward; "
		    "send them to the primary: 'server = %s' in [provider %s], or no "
		    "'server =' at all", ns, z->apex, mname, z->mname_addrs[0].text, p->name);
	else
		snprintf(out, outlen, ": it is neither the primary of %s (its SOA MNAME is %s) "
		    "nor one of its nameservers; if it is a secondary, send UPDATEs to the "
		    "primary ('server = %s' in [provider %s]); if it is the primary, check "
		    "allow-update / update-policy for the zone", z->apex, mname,
		    z->mname_addrs[0].text, p->name);
}

/*
 * Say what the answer ans from a to our UPDATE or SOA query for zone z
 * means (rfc2136_servers.h: every cause BIND, Knot DNS and PowerDNS give
 * it, or only those of server software s; version: what a answered to
 * version.bind, or NULL), or for an UPDATE to a server that is not the
 * primary, that.  Returns the status of the answer.
 */
static int
explain(const struct rfc2136 *p, const struct zone *z, const struct dns_addr *a,
    const struct rfc2136_answer *ans, enum rfc2136_server s, const char *version)
{
	char hint[RFC2136_HINT_MAX] = "", causes[RFC2136_CAUSES_MAX], who[DNS_ADDR_TEXT +
	    RFC2136_VERSION_MAX + 4], key[NAME_BUF + 64] = " (unsigned)";
	const char *what = ans->update ? "the UPDATE of" : "the SOA query for";
	int rc = rfc2136_explain(ans, s, causes, sizeof(causes));

	if (causes[0] == '\0')
		snprintf(causes, sizeof(causes), "no server dns01 knows of gives this answer");
	if (ans->terr != 0 || (ans->update && ans->rcode == LDNS_RCODE_REFUSED))
		primary_hint(p, z, a, hint, sizeof(hint));
	snprintf(who, sizeof(who), "%s%s%s%s", a->text, version ? " (" : "", version ?
	    version : "", version ? ")" : "");
	if (p->has_key)
		snprintf(key, sizeof(key), " signed with TSIG key '%s' (%s)", p->key.name,
		    p->key.alg);
	if (ans->update && ans->terr == 0 && ans->rcode == LDNS_RCODE_REFUSED && hint[0])
		log_err("%s REFUSED the UPDATE of zone %s%s", who, z->apex, hint);
	else if (p->has_key && ans->terr != 0)
		log_err("%s rejected TSIG key '%s' (%s) in %s zone %s with %s/%s%s%s", who,
		    p->key.name, p->key.alg, what, z->apex, dnsio_rcode_name(ans->rcode),
		    tsig_error_name(ans->terr), hint[0] ? "" : ": ", hint[0] ? hint : causes);
	else
		log_err("%s answered %s to %s zone %s%s%s%s", who, dnsio_rcode_name(ans->rcode),
		    what, z->apex, key, hint[0] ? "" : ": ", hint[0] ? hint : causes);
	return rc;
}

/* How the answer resp (parsed: r) to a request signed with mac was signed. */
static enum rfc2136_sig
answer_sig(const struct rfc2136 *p, const ldns_pkt *r, const uint8_t *resp, size_t rlen,
    const uint8_t *mac, size_t maclen, unsigned *terr, const char **why)
{
	*terr = 0;
	*why = p->has_key ? "the answer is not signed (no TSIG)" : NULL;
	if (!p->has_key || ldns_pkt_tsig(r) == NULL)
		return RFC2136_SIG_NONE;
	return tsig_verify(&p->key, resp, rlen, mac, maclen, (uint64_t)time(NULL), terr,
	    why) == 0 ? RFC2136_SIG_OK : RFC2136_SIG_BAD;
}

/*
 * Judge an UPDATE answer.  Returns a status after saying what went wrong;
 * when prereqs is set and the answer is a verified NXRRSET or YXRRSET (a
 * prerequisite failed: the RRset changed since it was read), returns
 * ST_PROVIDER silently with that rcode in *raced.
 */
static int
judge(const struct rfc2136 *p, const struct zone *z, const struct dns_addr *a,
    const uint8_t *resp, size_t rlen, const uint8_t *mac, size_t maclen, int prereqs,
    int *raced)
{
	struct rfc2136_answer ans = { .update = 1, .has_key = p->has_key };
	const char *why = NULL;
	ldns_pkt *r = NULL;

	if (ldns_wire2pkt(&r, resp, rlen) != LDNS_STATUS_OK) {
		log_err("UPDATE of zone %s: malformed answer from %s", z->apex, a->text);
		return ST_PROVIDER;
	}
	ans.rcode = ldns_pkt_get_rcode(r);
	ans.sig = answer_sig(p, r, resp, rlen, mac, maclen, &ans.terr, &why);
	ldns_pkt_free(r);
	if (prereqs && ans.terr == 0 && (ans.sig == RFC2136_SIG_OK || !p->has_key) &&
	    (ans.rcode == LDNS_RCODE_NXRRSET || ans.rcode == LDNS_RCODE_YXRRSET)) {
		*raced = ans.rcode;
		return ST_PROVIDER;
	}
	if (ans.terr != 0 || ans.rcode == LDNS_RCODE_NOTAUTH ||
	    ans.rcode == LDNS_RCODE_REFUSED)
		return explain(p, z, a, &ans, RFC2136_UNKNOWN, NULL);
	if (ans.rcode != LDNS_RCODE_NOERROR) {
		log_err("%s answered %s to the UPDATE of zone %s", a->text,
		    dnsio_rcode_name(ans.rcode), z->apex);
		return ST_PROVIDER;
	}
	if (p->has_key && ans.sig != RFC2136_SIG_OK) {
		log_err("UPDATE of zone %s: %s: %s", z->apex, a->text, why);
		return ST_PROVIDER;
	}
	return ST_OK;
}

/*
 * Sign wire (when a key is configured) and send it over TCP to the first
 * server of the zone's UPDATE targets that answers (`server =`, else the
 * SOA MNAME's addresses), starting with the one that answered last for
 * this zone.  what names the message in errors.  On ST_OK: *resp
 * (malloc'd, *rlen octets) with the request's id, *a the server that
 * answered, and the request's MAC in mac/maclen for verifying the answer.
 */
static int
exchange(struct rfc2136 *p, const struct zone *z, const char *what, const uint8_t *wire,
    size_t len, uint8_t **resp, size_t *rlen, const struct dns_addr **a, uint8_t *mac,
    size_t *maclen)
{
	const struct dns_addr *targets = p->has_server ? &p->server : z->mname_addrs;
	size_t ntargets = p->has_server ? 1 : z->nmname, i, t = 0, slen = len;
	size_t first = p->last_zone == z ? p->last_target : 0;
	uint8_t *signed_wire = NULL;
	const uint8_t *send = wire;
	const char *err = "no address";
	int rc = ST_FAIL;

	*resp = NULL;
	*maclen = 0;
	if (ntargets == 0) {
		log_err("zone %s: its primary %s has no address; set 'server =' in "
		    "[provider %s]", z->apex, z->mname, p->name);
		return ST_CONFIG;
	}
	if (p->has_key) {
		if (tsig_sign(&p->key, wire, len, (uint64_t)time(NULL), &signed_wire, &slen,
		    mac, maclen) == -1) {
			log_err("zone %s: cannot sign the %s", z->apex, what);
			goto out;
		}
		send = signed_wire;
	}
	for (i = 0; i < ntargets; i++) {
		t = (first + i) % ntargets;
		log_debug("%s for zone %s to %s%s", what, z->apex, targets[t].text,
		    p->has_key ? ", signed" : "");
		if (dnsio_tcp_exchange(&targets[t], send, slen, resp, rlen, RFC2136_TIMEOUT_MS,
		    &err) == 0)
			break;
		log_warn("%s for zone %s: %s: %s", what, z->apex, targets[t].text, err);
	}
	if (i == ntargets) {
		log_err("%s for zone %s failed: no server answered (last: %s)", what, z->apex,
		    err);
		rc = ST_PROVIDER;
		goto out;
	}
	*a = &targets[t];
	p->last_zone = z;
	p->last_target = t;
	if (*rlen < 2 || memcmp(*resp, send, 2) != 0) {
		log_err("%s for zone %s: %s answered with another message id", what, z->apex,
		    targets[t].text);
		rc = ST_PROVIDER;
		goto out;
	}
	rc = ST_OK;
out:
	if (rc != ST_OK) {
		free(*resp);
		*resp = NULL;
	}
	free(signed_wire);
	return rc;
}

/*
 * Read the TXT RRset at s->name from the server UPDATEs go to (TCP, signed
 * and verified like an UPDATE, RD=0, the answer must be authoritative)
 * into s->rrset.  An answer that will not do leaves s->rrset NULL with the
 * reason in s->why and returns ST_OK: the change goes on without the read.
 * No server answering is the change's failure (the UPDATE would not get
 * through either): its status, after saying so.
 */
static int
read_rrset(struct rfc2136 *p, const struct zone *z, struct site *s)
{
	const struct dns_addr *server = NULL;
	size_t i, len = 0, rlen = 0, maclen = 0;
	uint8_t *wire = NULL, *resp = NULL, mac[TSIG_MAC_MAX];
	unsigned terr = 0;
	const char *why = NULL;
	ldns_pkt *q = NULL, *r = NULL;
	ldns_rdf *owner = NULL;
	ldns_rr_list *ans;
	ldns_rr *rr;
	int rc = ST_FAIL, rcode;

	ldns_rr_list_deep_free(s->rrset);
	s->rrset = NULL;
	s->why = "out of memory";
	if ((q = dnsio_query_new(s->name, LDNS_RR_TYPE_TXT, 0)) == NULL ||
	    (owner = ldns_dname_new_frm_str(s->name)) == NULL ||
	    ldns_pkt2wire(&wire, q, &len) != LDNS_STATUS_OK)
		goto out;
	if ((rc = exchange(p, z, "TXT query", wire, len, &resp, &rlen, &server, mac,
	    &maclen)) != ST_OK)
		goto out;
	if (ldns_wire2pkt(&r, resp, rlen) != LDNS_STATUS_OK) {
		s->why = "malformed answer";
		goto out;
	}
	rcode = ldns_pkt_get_rcode(r);
	if (p->has_key && tsig_verify(&p->key, resp, rlen, mac, maclen, (uint64_t)time(NULL),
	    &terr, &why) == -1)
		s->why = terr != 0 ? tsig_error_name(terr) : why;
	else if (rcode != LDNS_RCODE_NOERROR && rcode != LDNS_RCODE_NXDOMAIN)
		s->why = dnsio_rcode_name(rcode);
	else if (!ldns_pkt_aa(r))
		s->why = "the answer is not authoritative";
	else if ((s->rrset = ldns_rr_list_new()) != NULL) {
		ans = ldns_pkt_answer(r);
		for (i = 0; i < ldns_rr_list_rr_count(ans); i++) {
			rr = ldns_rr_list_rr(ans, i);
			if (ldns_rr_get_type(rr) == LDNS_RR_TYPE_TXT &&
			    ldns_dname_compare(ldns_rr_owner(rr), owner) == 0 &&
			    push_copy(s->rrset, rr, LDNS_RR_CLASS_IN, ldns_rr_ttl(rr)) == -1)
				goto out;
		}
		s->why = NULL;
	}
	if (s->rrset == NULL)
		log_debug("%s: could not read its TXT records from %s: %s", s->name,
		    server->text, s->why);
	rc = ST_OK;
out:
	if (rc != ST_OK && s->rrset != NULL) {
		ldns_rr_list_deep_free(s->rrset);
		s->rrset = NULL;
	}
	ldns_pkt_free(q);
	ldns_pkt_free(r);
	ldns_rdf_deep_free(owner);
	free(wire);
	free(resp);
	return rc;
}

/* Send one UPDATE and judge the answer (see judge()).  *server: who answered. */
static int
send_update(struct rfc2136 *p, const struct zone *z, const uint8_t *wire, size_t len,
    int prereqs, int *raced, const struct dns_addr **server)
{
	uint8_t *resp = NULL, mac[TSIG_MAC_MAX];
	size_t rlen = 0, maclen = 0;
	int rc;

	if ((rc = exchange(p, z, "UPDATE", wire, len, &resp, &rlen, server, mac,
	    &maclen)) == ST_OK)
		rc = judge(p, z, *server, resp, rlen, mac, maclen, prereqs, raced);
	free(resp);
	return rc;
}

/* The record id of a value added at s with TTL ttl ("" when nothing to remember). */
static void
site_id(const struct site *s, int ttl, char *id, size_t idlen)
{
	id[0] = '\0';
	if (s->remembered)
		snprintf(id, idlen, RFC2136_ID_TAG "%lu:%lu", (unsigned long)s->foreign_ttl,
		    (unsigned long)s->our_ttl);
	else if (s->rrset != NULL && s->others > 0 && s->ttl != (uint32_t)ttl)
		snprintf(id, idlen, RFC2136_ID_TAG "%lu:%d", (unsigned long)s->ttl, ttl);
}

/*
 * After a successful add: the records' ids, and what happened on stderr.
 * exact: the UPDATE carried the reads as its prerequisites.
 */
static void
added(const struct zone *z, const struct dns_addr *server, const struct site *s, size_t ns,
    struct record *recs, const size_t *at, size_t n, int ttl, int exact)
{
	size_t i, count = 0;

	for (i = 0; i < n; i++) {
		site_id(&s[at[i]], ttl, recs[i].id, sizeof(recs[i].id));
		recs[i].changed = 0;
		if (exact && s[at[i]].rrset != NULL && rrset_has(s[at[i]].rrset, &recs[i]))
			log_info("%s: TXT value \"%s\" is there already", recs[i].name,
			    recs[i].value);
		else {
			recs[i].changed = exact && s[at[i]].rrset != NULL;
			count++;
		}
	}
	for (i = 0; i < ns; i++)
		if (s[i].rrset == NULL)
			log_warn("%s: could not read its TXT records first (%s): other records "
			    "there, if any, now have TTL %d s too, and dns01 cannot set theirs "
			    "back", s[i].name, s[i].why, ttl);
		else if (!s[i].remembered && s[i].others > 0 && s[i].ttl != (uint32_t)ttl)
			log_info("%s: the %zu other TXT record(s) there had TTL %lu s; an RRset "
			    "has one TTL (RFC 2181 §5.2), so they have %d s now, until a cleanup "
			    "given the record id sets %lu s back", s[i].name, s[i].others,
			    (unsigned long)s[i].ttl, ttl, (unsigned long)s[i].ttl);
	if (count > 0)
		log_info("added %zu TXT record(s) in zone %s at %s", count, z->apex,
		    server->text);
}

/* After a successful delete: what happened, on stderr.  exact: as for added(). */
static void
deleted(const struct zone *z, const struct dns_addr *server, const struct site *s,
    size_t ns, const struct record *recs, const size_t *at, size_t n, int exact)
{
	size_t i, gone = 0, sent = 0;

	for (i = 0; i < n; i++)
		if (!exact || s[at[i]].rrset == NULL)
			sent++;
		else if (rrset_has(s[at[i]].rrset, &recs[i]))
			gone++;
		else
			log_info("nothing to delete: %s had no TXT value \"%s\"", recs[i].name,
			    recs[i].value);
	for (i = 0; i < ns; i++) {
		if (!s[i].remembered)
			continue;
		if (s[i].restore)
			log_info("%s: the %zu other TXT record(s) there have their TTL of %lu s "
			    "back", s[i].name, s[i].others, (unsigned long)s[i].foreign_ttl);
		else if (s[i].rrset == NULL)
			log_warn("%s: could not read its TXT records (%s), so the TTL of the "
			    "other records there, if any, was left at %lu s (it was %lu s before "
			    "dns01 added its value)", s[i].name, s[i].why,
			    (unsigned long)s[i].our_ttl, (unsigned long)s[i].foreign_ttl);
		else if (s[i].lowered)
			log_warn("%s: its TXT records changed under each of %d UPDATEs that "
			    "would have set the TTL of the other records back, so dns01 only "
			    "deleted its values: their TTL was left at %lu s (it was %lu s "
			    "before dns01 added its value)", s[i].name, RFC2136_RACE_TRIES,
			    (unsigned long)s[i].our_ttl, (unsigned long)s[i].foreign_ttl);
		else if (s[i].others > 0)
			log_info("%s: the other TXT record(s) there have TTL %lu s now, not the "
			    "%lu s dns01 gave them: someone set it since, and dns01 leaves it (it "
			    "was %lu s before dns01 added its value)", s[i].name,
			    (unsigned long)s[i].ttl, (unsigned long)s[i].our_ttl,
			    (unsigned long)s[i].foreign_ttl);
	}
	if (gone > 0)
		log_info("deleted %zu TXT record(s) from zone %s at %s", gone, z->apex,
		    server->text);
	if (sent > 0)
		log_info("sent a delete of %zu TXT record(s) to zone %s at %s (whether they "
		    "were there is not known)", sent, z->apex, server->text);
}

/*
 * Add (ttl) or delete every record of zone z in one UPDATE: read each
 * name's TXT RRset, decide, send with the reads as prerequisites; when
 * one failed (someone changed an RRset meanwhile) read again, at most
 * RFC2136_RACE_TRIES times, then send without prerequisites (and without
 * restoring TTLs).  See "Foreign records" above.
 */
static int
change(struct rfc2136 *p, const struct zone *z, struct record *recs, size_t n, int del,
    int ttl)
{
	struct site *s = calloc(n ? n : 1, sizeof(*s));
	size_t *at = calloc(n ? n : 1, sizeof(*at));
	const struct dns_addr *server = NULL;
	size_t i, ns = 0, len = 0, prereqs = 0;
	uint8_t *wire = NULL;
	int rc = ST_FAIL, tries, conditional = 1, raced;

	if (s == NULL || at == NULL) {
		log_err("out of memory");
		goto out;
	}
	ns = sites_of(recs, n, s, at);
	for (tries = 1;; tries++) {
		conditional = tries <= RFC2136_RACE_TRIES;
		for (i = 0; conditional && i < ns; i++)
			if ((rc = read_rrset(p, z, &s[i])) != ST_OK)
				goto out;
		for (i = 0; i < ns; i++)
			plan(&s[i], recs, n, del, conditional);
		free(wire);
		if ((rc = build(z, s, ns, recs, n, del, ttl, conditional, &wire, &len,
		    &prereqs)) != ST_OK)
			goto out;
		raced = 0;
		if ((rc = send_update(p, z, wire, len, prereqs > 0, &raced, &server)) == ST_OK ||
		    raced == 0)
			break;
		log_info("zone %s: TXT records changed between dns01's read and its UPDATE "
		    "(%s); %s", z->apex, dnsio_rcode_name(raced), tries < RFC2136_RACE_TRIES ?
		    "reading them again" : "sending the UPDATE without prerequisites");
	}
	if (rc != ST_OK)
		goto out;
	if (del)
		deleted(z, server, s, ns, recs, at, n, conditional);
	else
		added(z, server, s, ns, recs, at, n, ttl, conditional);
out:
	for (i = 0; s != NULL && i < ns; i++)
		ldns_rr_list_deep_free(s[i].rrset);
	free(s);
	free(at);
	free(wire);
	return rc;
}

static int
rfc2136_add(void *priv, const struct zone *z, struct record *r, size_t n, int ttl)
{
	return change(priv, z, r, n, 0, ttl);
}

static int
rfc2136_del(void *priv, const struct zone *z, struct record *r, size_t n)
{
	return change(priv, z, r, n, 1, 0);
}

/*
 * Judge the answer to the SOA query of verify(): signed by our key (when
 * there is one), NOERROR, authoritative, with the zone's SOA.  s and
 * version: the server software a is (explain()).  Status.
 */
static int
judge_soa(const struct rfc2136 *p, const struct zone *z, const struct dns_addr *a,
    const uint8_t *resp, size_t rlen, const uint8_t *mac, size_t maclen,
    enum rfc2136_server s, const char *version)
{
	struct rfc2136_answer ans = { .update = 0, .has_key = p->has_key };
	const char *why = NULL;
	char owner[NAME_BUF];
	ldns_pkt *r = NULL;
	ldns_rr_list *rrs;
	size_t i;
	int rc = ST_PROVIDER, soa = 0;

	if (ldns_wire2pkt(&r, resp, rlen) != LDNS_STATUS_OK) {
		log_err("SOA query for zone %s: malformed answer from %s", z->apex, a->text);
		return ST_PROVIDER;
	}
	ans.rcode = ldns_pkt_get_rcode(r);
	ans.sig = answer_sig(p, r, resp, rlen, mac, maclen, &ans.terr, &why);
	if (ans.terr != 0 || ans.rcode == LDNS_RCODE_NOTAUTH ||
	    ans.rcode == LDNS_RCODE_REFUSED) {
		rc = explain(p, z, a, &ans, s, version);
		goto out;
	}
	if (p->has_key && ans.sig != RFC2136_SIG_OK) {
		log_err("SOA query for zone %s: %s: %s", z->apex, a->text, why);
		goto out;
	}
	rrs = ldns_pkt_answer(r);
	for (i = 0; i < ldns_rr_list_rr_count(rrs); i++) {
		if (ldns_rr_get_type(ldns_rr_list_rr(rrs, i)) != LDNS_RR_TYPE_SOA)
			continue;
		dnsio_dname_text(ldns_rr_owner(ldns_rr_list_rr(rrs, i)), owner, sizeof(owner));
		soa |= strcmp(owner, z->apex) == 0;
	}
	if (ans.rcode != LDNS_RCODE_NOERROR) {
		log_err("%s answered %s to the SOA query for zone %s", a->text,
		    dnsio_rcode_name(ans.rcode), z->apex);
		goto out;
	}
	if (!ldns_pkt_aa(r) || !soa) {
		log_err("%s is not authoritative for zone %s, so it would refuse the UPDATE "
		    "(NOTAUTH): set 'server =' in [provider %s] to the zone's primary", a->text,
		    z->apex, p->name);
		rc = ST_CONFIG;
		goto out;
	}
	rc = ST_OK;
out:
	ldns_pkt_free(r);
	return rc;
}

/*
 * Ask a for its software (CHAOS TXT version.bind, unsigned, over TCP like
 * every exchange with the UPDATE server) into version (printable ASCII,
 * at most len bytes, the software's name put first when the answer lacks
 * it, as BIND's bare number does; "" when it does not say).  Which
 * software that is.
 */
static enum rfc2136_server
server_version(const struct dns_addr *a, char *version, size_t len)
{
	uint8_t *wire = NULL, *resp = NULL;
	size_t wlen = 0, rlen = 0, i;
	const char *err = NULL;
	char text[RFC2136_VERSION_MAX] = "";
	const char *name;
	enum rfc2136_server s;
	ldns_pkt *q = NULL, *r = NULL;
	const ldns_rdf *rd;
	ldns_rr *rr;

	version[0] = '\0';
	if ((q = dnsio_query_new("version.bind", LDNS_RR_TYPE_TXT, 0)) == NULL)
		goto out;
	ldns_rr_set_class(ldns_rr_list_rr(ldns_pkt_question(q), 0), LDNS_RR_CLASS_CH);
	if (ldns_pkt2wire(&wire, q, &wlen) != LDNS_STATUS_OK ||
	    dnsio_tcp_exchange(a, wire, wlen, &resp, &rlen, RFC2136_VERSION_TIMEOUT_MS,
	    &err) == -1 || ldns_wire2pkt(&r, resp, rlen) != LDNS_STATUS_OK ||
	    ldns_pkt_get_rcode(r) != LDNS_RCODE_NOERROR)
		goto out;
	for (i = 0; i < ldns_rr_list_rr_count(ldns_pkt_answer(r)); i++) {
		rr = ldns_rr_list_rr(ldns_pkt_answer(r), i);
		if (ldns_rr_get_type(rr) != LDNS_RR_TYPE_TXT || ldns_rr_rd_count(rr) < 1 ||
		    ldns_rdf_size(rd = ldns_rr_rdf(rr, 0)) < 1)
			continue;
		snprintf(text, sizeof(text), "%.*s", (int)(ldns_rdf_size(rd) - 1),
		    (const char *)ldns_rdf_data(rd) + 1);
		text_printable(text, version, len, 1);
		break;
	}
out:
	if (err != NULL)
		log_debug("version.bind query to %s: %s", a->text, err);
	ldns_pkt_free(q);
	ldns_pkt_free(r);
	free(wire);
	free(resp);
	s = rfc2136_server_of(version);
	if ((name = rfc2136_server_name(s)) != NULL && strstr(version, name) == NULL) {
		snprintf(text, sizeof(text), "%s", version);
		snprintf(version, len, "%s %s", name, text);
	}
	return s;
}

/*
 * Verify: a SOA query for the zone, TSIG-signed when a key is configured,
 * over TCP to the server the UPDATEs go to; the answer's TSIG is verified.
 * Whether the key may change the records only an UPDATE shows (doctor's
 * round trip); but the server's software (version.bind) says what it
 * takes, and narrows what a rejection means (rfc2136_servers.h).
 */
static int
rfc2136_verify(void *priv, const struct zone *z, char *what, size_t whatlen)
{
	struct rfc2136 *p = priv;
	const struct dns_addr *server = NULL;
	size_t len = 0, rlen = 0, maclen = 0;
	uint8_t *wire = NULL, *resp = NULL, mac[TSIG_MAC_MAX];
	char version[RFC2136_VERSION_MAX], who[DNS_ADDR_TEXT + RFC2136_VERSION_MAX + 16];
	const char *rule;
	enum rfc2136_server s;
	ldns_pkt *q = NULL;
	int rc = ST_FAIL;

	if ((q = dnsio_query_new(z->apex, LDNS_RR_TYPE_SOA, 0)) == NULL ||
	    ldns_pkt2wire(&wire, q, &len) != LDNS_STATUS_OK)
		goto out;
	if ((rc = exchange(p, z, "SOA query", wire, len, &resp, &rlen, &server, mac,
	    &maclen)) != ST_OK)
		goto out;
	s = server_version(server, version, sizeof(version));
	if ((rc = judge_soa(p, z, server, resp, rlen, mac, maclen, s, version[0] ? version :
	    NULL)) != ST_OK)
		goto out;
	snprintf(who, sizeof(who), "%s (%s)", server->text, version[0] ? version :
	    "its software hides its version");
	rule = rfc2136_update_rule(s);
	if (p->has_key)
		snprintf(what, whatlen, "%s answered a SOA query for %s signed with TSIG key "
		    "'%s' (%s), and signed its answer with it%s%s", who, z->apex, p->key.name,
		    p->key.alg, rule ? "; " : "", rule ? rule : "");
	else
		snprintf(what, whatlen, "%s answers for %s; no TSIG key is configured, so "
		    "UPDATEs go unsigned (the server must allow them by address)", who, z->apex);
out:
	ldns_pkt_free(q);
	free(wire);
	free(resp);
	return rc;
}

const struct provider_ops provider_rfc2136 = {
	.type = "rfc2136",
	.description = "any RFC 2136 server (BIND, Knot, PowerDNS, ...), TSIG signed",
	.keys = keys,
	.secret_keys = secret_keys,
	.env = env,
	.cred = cred,
	.default_ttl = RFC2136_DEFAULT_TTL,
	.min_ttl = RFC2136_MIN_TTL,
	.atomic = 1,			/* one UPDATE per zone and add() */
	.create = rfc2136_create,
	.add = rfc2136_add,
	.del = rfc2136_del,
	.verify = rfc2136_verify,
	.destroy = rfc2136_destroy,
};
