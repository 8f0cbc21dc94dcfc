/*
 * dns01 doctor DOMAIN...: check a setup before the renewal that would fail.
 *
 * Every check gives one line on stdout,
 *
 *     OK|WARN|FAIL  <check> [<domain>]: <reason>[ — fix: <what to do>]
 *
 * or, with --json, one entry of the object printed at the end (core/report.h
 * renders both).  The checks, in output order:
 *
 *   config         the config parses; a file holding secrets is private
 *   then for each challenge name (example.com and *.example.com share one):
 *   zone           zone and nameservers found; every nameserver answers the
 *                  SOA query (RD=0) and all give the same serial
 *   cname          where the TXT record goes (CNAMEs followed), and that a
 *                  provider section serves that name
 *   credentials    the provider accepts the credentials (its verify op)
 *   caa            per DOMAIN: CAA at the name and its parents allows --ca
 *   negative-ttl   min(SOA TTL, SOA MINIMUM) of the zone is at most 300 s
 *   cache          the TTL the records get is at most 300 s; whether an older
 *                  answer may still be cached (core/ledger.h)
 *   round-trip     a random TXT value set through the provider, seen on every
 *                  authoritative server, removed, seen gone; both times
 *   and last, with --check-cert:
 *   certificate    the certificate HOST serves: trusted, covers every
 *                  DOMAIN, not expiring within --warn-days
 *
 * A check that needs one that failed (no zone: no credentials, no round
 * trip) is left out.  The exit status is that of the first failed check
 * (cli.h).  Reasons are printed with control characters replaced; they come
 * from log_err() texts (never holding secrets), DNS and certificates.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <arpa/inet.h>

#include <openssl/evp.h>

#include "answer.h"
#include "caa.h"
#include "certcheck.h"
#include "cli.h"
#include "config.h"
#include "dnsio.h"
#include "ledger.h"
#include "log.h"
#include "name.h"
#include "propagation.h"
#include "report.h"
#include "run.h"
#include "status.h"
#include "text.h"
#include "zone.h"

#define DOCTOR_MAX_DOMAINS	100	/* DOMAIN arguments */
#define DOCTOR_DEFAULT_CA	"letsencrypt.org"
#define DOCTOR_DEFAULT_WARN_DAYS 21
#define DOCTOR_MAX_WARN_DAYS	3650
#define DOCTOR_NEG_TTL_WARN_S	300	/* negative-caching TTL above this: WARN */
#define DOCTOR_CACHE_TTL_WARN_S	300	/* challenge record TTL above this: WARN */
#define DOCTOR_DEFAULT_PORT	443
#define DOCTOR_PORT_MAX		65535
#define DOCTOR_TEXT_MAX		2048	/* one reason or fix */
#define DOCTOR_LIST_MAX		1024	/* a list inside a reason */
#define DOCTOR_WHAT_MAX		512	/* a provider's verify() description */
#define DOCTOR_VALUE_BYTES	32	/* random octets: 43 base64url characters */
#define DOCTOR_HOSTPORT_MAX	(NAME_BUF + 16)

/* The arguments, checked, and the output collected so far. */
struct doctor {
	char	domains[DOCTOR_MAX_DOMAINS][NAME_BUF];	/* canonical, "*." kept */
	char	challenge[DOCTOR_MAX_DOMAINS][NAME_BUF];	/* _acme-challenge.<base> */
	size_t	ndomains;
	char	ca[NAME_BUF];
	long	warn_days;
	int	check_cert;
	char	host[NAME_BUF];			/* --check-cert: name or IP literal */
	int	host_is_ip;
	unsigned port;
	char	hostport[DOCTOR_HOSTPORT_MAX];	/* as shown: "host:port" */
	struct report rep;			/* the output */
};

/* What the nameservers said about the zone's SOA. */
struct soa_view {
	size_t	answered;		/* addresses that gave an authoritative SOA */
	uint32_t soa_ttl, minimum;	/* of the answer with the largest ... */
	uint32_t neg_ttl;		/* ... min(SOA TTL, MINIMUM) */
};

/* The last error message, or dflt when nothing was logged. */
static const char *
last_error(const char *dflt)
{
	return log_last_error()[0] != '\0' ? log_last_error() : dflt;
}

/* ---- arguments ---------------------------------------------------------- */

/* Parse HOST[:PORT], [IPv6]:PORT or a bare IPv6 address into dr.  0 or -1. */
static int
parse_hostport(const char *s, struct doctor *dr)
{
	char host[NAME_BUF], *end;
	const char *colon = NULL, *why;
	struct in6_addr a6;
	struct in_addr a4;
	unsigned long port = DOCTOR_DEFAULT_PORT;
	size_t hl;

	if (s[0] == '[') {
		const char *close = strchr(s, ']');

		if (close == NULL || (close[1] != '\0' && close[1] != ':'))
			return -1;
		hl = (size_t)(close - s - 1);
		if (hl == 0 || hl >= sizeof(host))
			return -1;
		memcpy(host, s + 1, hl);
		host[hl] = '\0';
		if (close[1] == ':')
			colon = close + 1;
	} else {
		colon = strchr(s, ':');
		if (colon != NULL && strchr(colon + 1, ':') != NULL)
			colon = NULL;		/* a bare IPv6 address */
		hl = colon ? (size_t)(colon - s) : strlen(s);
		if (hl == 0 || hl >= sizeof(host))
			return -1;
		memcpy(host, s, hl);
		host[hl] = '\0';
	}
	if (colon != NULL) {
		errno = 0;
		port = strtoul(colon + 1, &end, 10);
		if (colon[1] < '0' || colon[1] > '9' || *end != '\0' || errno != 0 || port == 0 ||
		    port > DOCTOR_PORT_MAX)
			return -1;
	}
	if (inet_pton(AF_INET, host, &a4) == 1 || inet_pton(AF_INET6, host, &a6) == 1) {
		dr->host_is_ip = 1;
		snprintf(dr->host, sizeof(dr->host), "%s", host);
	} else if (name_check(host, 0, dr->host, &why) == -1)
		return -1;
	dr->port = (unsigned)port;
	snprintf(dr->hostport, sizeof(dr->hostport), strchr(dr->host, ':') ? "[%s]:%u" :
	    "%s:%u", dr->host, dr->port);
	return 0;
}

/* Check the command line into dr.  ST_OK, or ST_USAGE after saying why. */
static int
parse_args(const struct opts *o, int argc, char **argv, struct doctor *dr)
{
	const char *why;
	char *end;
	size_t i, j;
	int k;

	if (argc < 1) {
		log_err("usage: dns01 doctor DOMAIN... [--ca NAME] [--check-cert HOST[:PORT]] "
		    "[--warn-days N] [--timeout S] [--json]");
		return ST_USAGE;
	}
	if (argc > DOCTOR_MAX_DOMAINS) {
		log_err("doctor: at most %d domains", DOCTOR_MAX_DOMAINS);
		return ST_USAGE;
	}
	for (k = 0; k < argc; k++) {
		char *d = dr->domains[dr->ndomains];
		const char *base;

		if (name_check(argv[k], 1, d, &why) == -1 ||
		    name_challenge(d, dr->challenge[dr->ndomains], &why) == -1) {
			log_err("doctor: invalid domain '%s': %s", argv[k], why);
			return ST_USAGE;
		}
		base = d[0] == '*' ? d + 2 : d;
		if (strncmp(base, CHALLENGE_LABEL ".", strlen(CHALLENGE_LABEL) + 1) == 0) {
			log_err("doctor: give the certificate's domain, not its challenge name (%s)",
			    d);
			return ST_USAGE;
		}
		for (j = 0; j < dr->ndomains && strcmp(dr->domains[j], d) != 0; j++)
			;
		if (j == dr->ndomains)
			dr->ndomains++;
	}
	if (name_check(o->ca ? o->ca : DOCTOR_DEFAULT_CA, 0, dr->ca, &why) == -1) {
		log_err("doctor: --ca: give the CA's CAA domain, e.g. letsencrypt.org (%s)", why);
		return ST_USAGE;
	}
	dr->warn_days = DOCTOR_DEFAULT_WARN_DAYS;
	if (o->warn_days != NULL) {
		errno = 0;
		dr->warn_days = strtol(o->warn_days, &end, 10);
		if (o->warn_days[0] < '0' || o->warn_days[0] > '9' || *end != '\0' ||
		    errno != 0 || dr->warn_days > DOCTOR_MAX_WARN_DAYS) {
			log_err("--warn-days: give whole days, 0 to %d", DOCTOR_MAX_WARN_DAYS);
			return ST_USAGE;
		}
	}
	if (o->check_cert != NULL) {
		if (parse_hostport(o->check_cert, dr) == -1) {
			log_err("--check-cert: give HOST, HOST:PORT or [IPv6]:PORT (a host name or "
			    "an IP address, port 1..%d)", DOCTOR_PORT_MAX);
			return ST_USAGE;
		}
		dr->check_cert = 1;
	}
	for (i = 0; i < dr->ndomains; i++)
		log_debug("doctor: %s -> %s", dr->domains[i], dr->challenge[i]);
	return ST_OK;
}

/* ---- config ------------------------------------------------------------- */

/* Report the config (loaded, or why not). */
static void
check_config(struct doctor *dr, int rc, const struct config *cfg)
{
	char sections[DOCTOR_LIST_MAX] = "", one[NAME_BUF + 64], reason[DOCTOR_TEXT_MAX];
	const char *fix = "correct what the message says, then run dns01 doctor again";
	char *cut;
	struct stat st;
	size_t i;

	if (rc != ST_OK) {
		snprintf(reason, sizeof(reason), "%s", last_error("cannot load the configuration"));
		/* config_check_private's message carries its fix: show it as the fix */
		if ((cut = strstr(reason, "; fix it with: ")) != NULL) {
			*cut = '\0';
			fix = cut + strlen("; fix it with: ");
		}
		report_emit(&dr->rep, V_FAIL, rc, "config", NULL, fix, "%s", reason);
		return;
	}
	for (i = 0; i < cfg->nproviders; i++) {
		snprintf(one, sizeof(one), "[provider %s] (%s)", cfg->providers[i].name,
		    cfg->providers[i].type);
		text_append(sections, sizeof(sections), ", ", one);
	}
	if (cfg->path == NULL)
		report_emit(&dr->rep, V_OK, ST_OK, "config", NULL, NULL, "from the "
		    "environment: %s", sections);
	else if (stat(cfg->path, &st) == 0)
		report_emit(&dr->rep, V_OK, ST_OK, "config", NULL, NULL, "%s (mode %03o) "
		    "parsed: %s", cfg->path, (unsigned)(st.st_mode & 0777), sections);
	else
		report_emit(&dr->rep, V_OK, ST_OK, "config", NULL, NULL, "%s parsed: %s",
		    cfg->path, sections);
}

/* ---- zone and nameservers ----------------------------------------------- */

/* The SOA of apex in an authoritative NOERROR answer, or NULL. */
static const ldns_rr *
answer_soa(const ldns_pkt *r, const char *apex)
{
	const ldns_rr *soa;

	if (ldns_pkt_get_rcode(r) != LDNS_RCODE_NOERROR || !ldns_pkt_aa(r))
		return NULL;
	soa = answer_find_rr(ldns_pkt_answer(r), LDNS_RR_TYPE_SOA, apex);
	return soa != NULL && ldns_rr_rd_count(soa) == 7 ? soa : NULL;
}

/*
 * Ask every address of the zone for its SOA (RD=0) and report: FAIL when
 * none answers, WARN when serials differ, a nameserver is lame (answers,
 * but not authoritatively for the zone) or answers at none of its
 * addresses, else OK (addresses that did not answer are named: as in the
 * wait, another address of the same nameserver stands in for them).  Each
 * line says which zone the record goes to and how discovery found it.
 */
static void
check_zone(struct doctor *dr, const char *domain, const struct challenge *c,
    struct soa_view *sv)
{
	const struct zone *z = c->zone;
	char silent[DOCTOR_LIST_MAX] = "", quiet[DOCTOR_LIST_MAX] = "";
	char lame[DOCTOR_LIST_MAX] = "";
	char serials[DOCTOR_LIST_MAX] = "", one[NAME_BUF + DNS_ADDR_TEXT + 64];
	ldns_pkt *q = dnsio_query_new(z->apex, LDNS_RR_TYPE_SOA, 0), *r;
	uint32_t first = 0, serial, ttl, min;
	size_t i, j, nsok = 0, naddrs = 0;
	int differ = 0;

	memset(sv, 0, sizeof(*sv));
	if (q == NULL) {
		report_emit(&dr->rep, V_FAIL, ST_FAIL, "zone", domain, NULL, "cannot build a "
		    "query for %s", z->apex);
		return;
	}
	for (i = 0; i < z->nns; i++) {
		size_t good = 0, lamed = 0;

		for (j = 0; j < z->ns[i].naddrs; j++) {
			const struct dns_addr *a = &z->ns[i].addrs[j];
			const char *err = NULL;
			const ldns_rr *soa;

			naddrs++;
			log_debug("asking %s (%s): %s SOA", z->ns[i].name, a->text, z->apex);
			if ((r = dnsio_ask(a, q, AUTH_TIMEOUT_MS, &err)) == NULL) {
				snprintf(one, sizeof(one), "%s (%s): %s", a->text, z->ns[i].name, err);
				text_append(quiet, sizeof(quiet), ", ", one);
				continue;
			}
			if ((soa = answer_soa(r, z->apex)) == NULL) {
				snprintf(one, sizeof(one), "%s (%s): %s%s", a->text, z->ns[i].name,
				    dnsio_rcode_name(ldns_pkt_get_rcode(r)),
				    ldns_pkt_aa(r) ? ", no SOA" : ", not authoritative");
				text_append(quiet, sizeof(quiet), ", ", one);
				ldns_pkt_free(r);
				lamed++;
				continue;
			}
			serial = ldns_rdf2native_int32(ldns_rr_rdf(soa, 2));
			if (sv->answered++ == 0)
				first = serial;
			else if (serial != first)
				differ = 1;
			ttl = ldns_rr_ttl(soa);
			min = ldns_rdf2native_int32(ldns_rr_rdf(soa, 6));
			if (sv->answered == 1 || (ttl < min ? ttl : min) > sv->neg_ttl) {
				sv->neg_ttl = ttl < min ? ttl : min;
				sv->soa_ttl = ttl;
				sv->minimum = min;
			}
			snprintf(one, sizeof(one), "%s %s %u", z->ns[i].name, a->text, serial);
			text_append(serials, sizeof(serials), ", ", one);
			good++;
			ldns_pkt_free(r);
		}
		if (good > 0)
			nsok++;
		else if (lamed > 0)
			text_append(lame, sizeof(lame), ", ", z->ns[i].name);
		else
			text_append(silent, sizeof(silent), ", ", z->ns[i].name);
	}
	ldns_pkt_free(q);
	if (sv->answered == 0)
		report_emit(&dr->rep, V_FAIL, ST_DISCOVERY, "zone", domain, "make the zone's "
		    "nameservers (its NS set) serve it, and let them answer queries from this "
		    "host", "the record goes to zone %s (%s), but no nameserver of it answered "
		    "the SOA query: %s", z->apex, c->how, quiet);
	else if (differ)
		report_emit(&dr->rep, V_WARN, ST_OK, "zone", domain, "check the zone transfers "
		    "to the secondary (NOTIFY, allow-transfer, its refresh); a CA may ask any "
		    "nameserver, and dns01 waits for the slowest", "the record goes to zone %s "
		    "(%s); the nameservers disagree on the SOA serial (%s): a secondary is "
		    "behind", z->apex, c->how, serials);
	else if (lame[0] != '\0')
		report_emit(&dr->rep, V_WARN, ST_OK, "zone", domain, "let the lame nameservers "
		    "serve the zone, or remove them from its NS set and from the delegation: a "
		    "CA's resolver loses time on them, and may even take a lame answer for "
		    "\"no such record\" (unbound does, now and then)", "the record goes to "
		    "zone %s (%s); lame nameserver: %s (listed for the zone, but it does not "
		    "serve it: %s), not waited for; the others have serial %u", z->apex, c->how,
		    lame, quiet, first);
	else if (nsok < z->nns)
		report_emit(&dr->rep, V_WARN, ST_OK, "zone", domain, "make every nameserver of "
		    "the NS set answer (or remove it from the NS set): a CA may ask it, and "
		    "dns01's wait ends only when every nameserver has the record", "the record "
		    "goes to zone %s (%s); no answer at any address of %s (%s); the others "
		    "have serial %u", z->apex, c->how, silent, quiet[0] ? quiet : "no address",
		    first);
	else
		report_emit(&dr->rep, V_OK, ST_OK, "zone", domain, NULL, "the record goes to "
		    "zone %s (%s); it has %zu nameserver%s, serial %u at every address that "
		    "answered (%zu of %zu)%s%s", z->apex, c->how, z->nns, z->nns == 1 ? "" :
		    "s", first, sv->answered, naddrs, quiet[0] ? "; no answer from " : "",
		    quiet);
}

/* ---- CNAME and routing -------------------------------------------------- */

/* Where the record goes, and who writes it.  Returns the provider or NULL. */
static const struct provider_conf *
check_cname(struct doctor *dr, const char *domain, const struct config *cfg,
    const struct challenge *c)
{
	const struct provider_conf *pc = config_route(cfg, c->target);
	char fix[DOCTOR_TEXT_MAX];
	int cname = strcmp(c->name, c->target) != 0;

	if (pc != NULL && cname)
		report_emit(&dr->rep, V_OK, ST_OK, "cname", domain, NULL, "%s is a CNAME to %s "
		    "(zone %s): the TXT record goes there, through [provider %s] (%s)", c->name,
		    c->target, c->zone->apex, pc->name, pc->type);
	else if (pc != NULL)
		report_emit(&dr->rep, V_OK, ST_OK, "cname", domain, NULL, "no CNAME at %s: the "
		    "TXT record goes there (zone %s), through [provider %s] (%s)", c->name,
		    c->zone->apex, pc->name, pc->type);
	else {
		snprintf(fix, sizeof(fix), "add %s to 'zones =' of the provider section that can "
		    "write it%s", c->zone->apex, cname ? ", or point the CNAME into a zone you "
		    "can write" : "");
		if (cname)
			report_emit(&dr->rep, V_FAIL, ST_CONFIG, "cname", domain, fix, "%s is "
			    "a CNAME to %s (zone %s), and no provider section serves that name",
			    c->name, c->target, c->zone->apex);
		else
			report_emit(&dr->rep, V_FAIL, ST_CONFIG, "cname", domain, fix, "no "
			    "provider section serves %s (zone %s)", c->name, c->zone->apex);
	}
	return pc;
}

/* ---- credentials -------------------------------------------------------- */

/*
 * Ask the provider of pc whether it accepts the credentials for zone z (a
 * fresh instance, destroyed again).  Returns the status of the check.
 */
static int
check_credentials(struct doctor *dr, const char *domain, struct run *r,
    const struct provider_conf *pc, const struct zone *z)
{
	char what[DOCTOR_WHAT_MAX] = "", fix[DOCTOR_TEXT_MAX];
	int rc, supported;

	log_clear_last_error();
	rc = run_verify(r, pc, z, &supported, what, sizeof(what));
	if (rc == ST_OK && !supported) {
		report_emit(&dr->rep, V_WARN, ST_OK, "credentials", domain, NULL, "[provider "
		    "%s] (%s) cannot check credentials without a change; the round trip below "
		    "tests them", pc->name, pc->type);
		return rc;
	}
	if (rc == ST_OK) {
		report_emit(&dr->rep, V_OK, ST_OK, "credentials", domain, NULL, "%s", what);
		return rc;
	}
	if (rc == ST_CONFIG)
		snprintf(fix, sizeof(fix), "correct the credentials of [provider %s] (%s) as the "
		    "reason says", pc->name, pc->origin);
	else
		snprintf(fix, sizeof(fix), "check that [provider %s] (%s) reaches its API or "
		    "server (api_url, server =) and that the service works", pc->name,
		    pc->origin);
	report_emit(&dr->rep, V_FAIL, rc, "credentials", domain, fix, "[provider %s] (%s): %s",
	    pc->name, pc->type, last_error("the provider refused the credentials"));
	return rc;
}

/* ---- CAA ---------------------------------------------------------------- */

/* caa_lookup_fn of check_caa: CAA of name through the resolvers (ctx: discovery). */
static ldns_pkt *
caa_lookup(void *ctx, const char *name, char *why, size_t whylen)
{
	return discovery_resolve(ctx, name, LDNS_RR_TYPE_CAA, why, whylen);
}

/*
 * CAA for domain (may start with "*."): the RRset that applies (core/caa.h),
 * asked of the resolvers — as the CA does.  FAIL when it does not allow
 * dr->ca.
 */
static void
check_caa(struct doctor *dr, struct discovery *d, const char *domain)
{
	struct caa_verdict v;
	char fix[DOCTOR_TEXT_MAX];

	caa_check(domain, dr->ca, caa_lookup, d, &v);
	switch (v.outcome) {
	case CAA_LOOKUP_FAILED:
		snprintf(fix, sizeof(fix), "make the DNS answer CAA queries for %s (NOERROR, "
		    "also when there are none)", v.at);
		report_emit(&dr->rep, V_FAIL, ST_FAIL, "caa", domain, fix, "the CAA lookup of %s "
		    "failed (%s): a CA does not issue when it cannot read CAA", v.at, v.why);
		break;
	case CAA_NONE:
		report_emit(&dr->rep, V_OK, ST_OK, "caa", domain, NULL, "no CAA records at %s "
		    "or its parents: any CA may issue", v.at);
		break;
	case CAA_CRITICAL:
		snprintf(fix, sizeof(fix), "remove the critical flag (128) from that record at %s, "
		    "or the record", v.at);
		report_emit(&dr->rep, V_FAIL, ST_FAIL, "caa", domain, fix, "CAA at %s has a "
		    "critical property a CA may not know (%s): such a CA must refuse to issue",
		    v.at, v.critical);
		break;
	case CAA_NO_PROPERTY:
		report_emit(&dr->rep, V_OK, ST_OK, "caa", domain, NULL, "CAA at %s has no %s "
		    "property: any CA may issue", v.at, v.property);
		break;
	case CAA_ALLOWED:
		report_emit(&dr->rep, V_OK, ST_OK, "caa", domain, NULL, "CAA at %s allows %s: %s",
		    v.at, dr->ca, v.seen);
		break;
	case CAA_DENIED:
		snprintf(fix, sizeof(fix), "add the record: %s. CAA 0 %s \"%s\" (or give --ca the "
		    "CAA domain of the CA you use)", v.at, v.property, dr->ca);
		report_emit(&dr->rep, V_FAIL, ST_FAIL, "caa", domain, fix, "CAA at %s does not "
		    "allow %s for %s with dns-01: %s", v.at, dr->ca, domain[0] == '*' ?
		    "a wildcard" : "this name", v.seen);
		break;
	}
}

/* ---- negative caching --------------------------------------------------- */

static void
check_negative_ttl(struct doctor *dr, const char *domain, const struct challenge *c,
    const struct soa_view *sv)
{
	char fix[DOCTOR_TEXT_MAX];

	if (sv->neg_ttl > DOCTOR_NEG_TTL_WARN_S) {
		snprintf(fix, sizeof(fix), "lower the SOA MINIMUM and the SOA TTL of %s to %d s "
		    "or less (dns01 itself never asks a resolver for that name)", c->zone->apex,
		    DOCTOR_NEG_TTL_WARN_S);
		report_emit(&dr->rep, V_WARN, ST_OK, "negative-ttl", domain, fix, "zone %s "
		    "caches \"no such name\" for %u s (the lower of SOA TTL %u and MINIMUM "
		    "%u): a resolver that asked for %s before the record existed keeps "
		    "NXDOMAIN for %u s", c->zone->apex, sv->neg_ttl, sv->soa_ttl, sv->minimum,
		    c->target, sv->neg_ttl);
	} else
		report_emit(&dr->rep, V_OK, ST_OK, "negative-ttl", domain, NULL, "zone %s "
		    "caches \"no such name\" for %u s (the lower of SOA TTL %u and MINIMUM %u)",
		    c->zone->apex, sv->neg_ttl, sv->soa_ttl, sv->minimum);
}

/* ---- cache -------------------------------------------------------------- */

/*
 * What a renewal started now would wait for in resolver caches at the
 * challenge's target (run_cache_plan: the same cache wait run_wait would
 * have), into out: which name, the change behind it and its TTL, until
 * when, and that the round trip does not wait for it.
 */
static void
cache_pending(struct run *r, const struct challenge *c, char *out, size_t len)
{
	struct prop_target t;
	struct ledger_entry e;
	char why[DOCTOR_WHAT_MAX], wait[DOCTOR_WHAT_MAX] = "", hold[DOCTOR_WHAT_MAX], at[16];
	double now = prop_wall_now();

	memset(&t, 0, sizeof(t));
	t.name = c->target;
	run_cache_plan(r, &t, &e);
	if (t.not_before <= now && t.hold <= 0) {
		snprintf(out, len, "no older answer of %s can still be cached", c->target);
		return;
	}
	if (e.pending)
		snprintf(why, sizeof(why), "dns01 changed %s %.0f s ago: it deleted values there "
		    "(TTL %d s) and did not wait for the servers to drop them", c->target,
		    now - e.changed, e.ttl);
	else
		snprintf(why, sizeof(why), "dns01 changed %s %.0f s ago (TTL %d s)", c->target,
		    now - e.changed, e.ttl);
	if (t.not_before > now)
		snprintf(wait, sizeof(wait), "until %s (%.0f s from now) for the older answer "
		    "to leave resolver caches", log_clock(t.not_before, at, sizeof(at)),
		    t.not_before - floor(now));
	if (t.hold > 0) {
		if (t.hold_until > 0)
			snprintf(hold, sizeof(hold), "%.0f s after its values are on every "
			    "authoritative server (until %s at the latest) for the answer it "
			    "replaces to leave resolver caches", t.hold, log_clock(
			    prop_cache_end(t.hold_until), at, sizeof(at)));
		else
			snprintf(hold, sizeof(hold), "%.0f s after its values are on every "
			    "authoritative server for the answer it replaces to leave resolver "
			    "caches", t.hold);
		text_append(wait, sizeof(wait), ", and ", hold);
	}
	snprintf(out, len, "%s; a renewal started now waits %s; the round trip below does not "
	    "wait for it", why, wait);
}

/*
 * The TTL dns01 gives the records, and whether an older answer it replaced
 * may still be in resolver caches (core/ledger.h): the next write there
 * would wait for it.  WARN when the TTL makes such waits long.
 */
static void
check_cache(struct doctor *dr, const char *domain, struct run *r, const struct config *cfg,
    const struct challenge *c, const struct provider_conf *pc)
{
	const struct provider_ops *ops = provider_find(pc->type);
	char pending[DOCTOR_TEXT_MAX], fix[DOCTOR_TEXT_MAX];
	int ttl;

	if (ops == NULL)
		return;
	ttl = run_ttl(cfg, ops);
	cache_pending(r, c, pending, sizeof(pending));
	if (ttl > DOCTOR_CACHE_TTL_WARN_S) {
		snprintf(fix, sizeof(fix), "remove 'ttl = %d' from [dns01]: the default is %d s",
		    cfg->ttl, ops->default_ttl);
		report_emit(&dr->rep, V_WARN, ST_OK, "cache", domain, fix, "TXT records get "
		    "TTL %d s: lego and uacme, and a renewal right after a failed attempt, "
		    "wait that long for cached answers before the second validation; %s", ttl,
		    pending);
	} else
		report_emit(&dr->rep, V_OK, ST_OK, "cache", domain, NULL, "TXT records get TTL "
		    "%d s (%s); %s", ttl, cfg->ttl < 0 ? "the provider's default" : "ttl =",
		    pending);
}

/* ---- round trip --------------------------------------------------------- */

/* A random ACME-like value: 43 base64url characters.  0 or -1. */
static int
random_value(char *out, size_t len)
{
	unsigned char raw[DOCTOR_VALUE_BYTES], b64[4 * ((DOCTOR_VALUE_BYTES + 2) / 3) + 1];
	size_t i, n;

	if (getrandom(raw, sizeof(raw), 0) != (ssize_t)sizeof(raw))
		return -1;
	n = (size_t)EVP_EncodeBlock(b64, raw, (int)sizeof(raw));
	while (n > 0 && b64[n - 1] == '=')
		n--;
	if (n + 1 > len)
		return -1;
	for (i = 0; i < n; i++)
		out[i] = b64[i] == '+' ? '-' : b64[i] == '/' ? '_' : (char)b64[i];
	out[n] = '\0';
	return 0;
}

/*
 * Set a random value at the challenge's target through the provider, wait
 * until every authoritative server has it, delete it, wait until it is gone.
 * A value that was added is always deleted again.  The time reported and
 * the timeout are those of propagation: a cache wait at the name is not
 * waited for (the cache line names it).
 */
static void
check_round_trip(struct doctor *dr, const char *domain, struct run *r,
    const struct config *cfg, struct challenge *c, const struct provider_conf *pc)
{
	double t0, t_add = 0, t_del = 0, gone_max = cfg->timeout;
	char fix[DOCTOR_TEXT_MAX], where[DOCTOR_LIST_MAX];
	int rc, drc = ST_OK, wrc = ST_OK;

	if (gone_max > DOCTOR_GONE_MAX_S)
		gone_max = DOCTOR_GONE_MAX_S;
	c->id[0] = '\0';
	if (random_value(c->value, sizeof(c->value)) == -1) {
		report_emit(&dr->rep, V_FAIL, ST_FAIL, "round-trip", domain, NULL, "no random "
		    "value");
		return;
	}
	log_clear_last_error();
	t0 = log_now();
	if ((rc = run_add(r, c, 1)) != ST_OK) {
		if (rc == ST_CONFIG)
			snprintf(fix, sizeof(fix), "correct the credentials or rights of [provider "
			    "%s] as the reason says", pc->name);
		else
			snprintf(fix, sizeof(fix), "give the credentials of [provider %s] the right "
			    "to change TXT records at %s", pc->name, c->target);
		report_emit(&dr->rep, V_FAIL, rc, "round-trip", domain, fix, "[provider %s] "
		    "could not add a TXT value at %s: %s", pc->name, c->target, last_error(
		    "the provider refused"));
		return;
	}
	rc = run_wait_servers(r, c, 1, cfg->timeout);
	t_add = log_now() - t0;
	t0 = log_now();
	log_clear_last_error();
	if ((drc = run_del(r, c, 1)) == ST_OK)
		wrc = run_wait(r, c, 1, PROP_ABSENT_WARN, gone_max);
	t_del = log_now() - t0;
	if (rc != ST_OK && discovery_misplaced(c->zone, c->target, where, sizeof(where)) > 0)
		report_emit(&dr->rep, V_FAIL, rc, "round-trip", domain, "make every nameserver "
		    "serve the name from the same zone: remove a stale zone from the server "
		    "that has it, or give every server the delegation", "a test value written "
		    "to zone %s at %s was not on every authoritative server within %u s, "
		    "because not every nameserver serves that name from zone %s: %s; %s",
		    c->zone->apex, c->target, cfg->timeout, c->zone->apex, where, drc == ST_OK ?
		    "it was removed again" : "removing it failed too");
	else if (rc != ST_OK)
		report_emit(&dr->rep, V_FAIL, rc, "round-trip", domain, "find out why the "
		    "servers named on stderr lag behind the primary (zone transfers, NOTIFY), "
		    "or raise 'timeout ='", "a test value at %s was not on every authoritative "
		    "server within %u s (stderr names each server and what it answered); %s",
		    c->target, cfg->timeout, drc == ST_OK ? "it was removed again" : "removing "
		    "it failed too");
	else if (drc != ST_OK) {
		snprintf(fix, sizeof(fix), "remove the TXT value \"%s\" at %s by hand, and give "
		    "[provider %s] the right to delete TXT records", c->value, c->target, pc->name);
		report_emit(&dr->rep, V_FAIL, drc, "round-trip", domain, fix, "the test value "
		    "at %s was on every authoritative server after %.2f s, but removing it "
		    "failed: %s", c->target, t_add, last_error("the provider refused"));
	} else if (wrc != ST_OK)
		report_emit(&dr->rep, V_WARN, ST_OK, "round-trip", domain, "find out why the "
		    "servers named on stderr lag behind the primary (zone transfers, NOTIFY)",
		    "set a random TXT value at %s through [provider %s]: on every "
		    "authoritative server after %.2f s; removed, but still served somewhere "
		    "after %.0f s", c->target, pc->name, t_add, gone_max);
	else
		report_emit(&dr->rep, V_OK, ST_OK, "round-trip", domain, NULL, "set a random "
		    "TXT value at %s through [provider %s]: on every authoritative server "
		    "after %.2f s; removed, gone from every one after %.2f s", c->target,
		    pc->name, t_add, t_del);
}

/* ---- one challenge name ------------------------------------------------- */

/* Every check of challenge name dr->challenge[first] and its domains. */
static void
check_name(struct doctor *dr, const struct config *cfg, struct run *r, size_t first)
{
	const char *domain = dr->domains[first][0] == '*' ? dr->domains[first] + 2 :
	    dr->domains[first];
	const struct provider_conf *pc;
	struct challenge c;
	struct soa_view sv;
	size_t i;
	int rc, cred = ST_OK;

	memset(&c, 0, sizeof(c));
	memset(&sv, 0, sizeof(sv));
	memcpy(c.name, dr->challenge[first], sizeof(c.name));
	log_clear_last_error();
	if ((rc = run_locate(r, &c, 1)) != ST_OK) {
		report_emit(&dr->rep, V_FAIL, rc, "zone", domain, "check that the domain is in "
		    "public DNS (its zone delegated, the nameservers answering and agreeing on "
		    "the zone, as the reason says) and that 'resolvers =' work", "%s",
		    last_error("the zone was not found"));
		pc = NULL;
	} else {
		check_zone(dr, domain, &c, &sv);
		pc = check_cname(dr, domain, cfg, &c);
		if (pc != NULL && sv.answered > 0)
			cred = check_credentials(dr, domain, r, pc, c.zone);
	}
	for (i = first; i < dr->ndomains; i++)
		if (strcmp(dr->challenge[i], dr->challenge[first]) == 0)
			check_caa(dr, run_discovery(r), dr->domains[i]);
	if (rc != ST_OK || sv.answered == 0)
		return;
	check_negative_ttl(dr, domain, &c, &sv);
	if (pc != NULL)
		check_cache(dr, domain, r, cfg, &c, pc);
	if (pc != NULL && cred == ST_OK)
		check_round_trip(dr, domain, r, cfg, &c, pc);
}

/* ---- certificate -------------------------------------------------------- */

/*
 * The certificate HOST:PORT serves (core/certcheck.h): trusted by the
 * system store for HOST, covering every DOMAIN, not expiring within
 * --warn-days.
 */
static void
check_cert(struct doctor *dr)
{
	const char *hp = dr->hostport, *domains[DOCTOR_MAX_DOMAINS];
	struct cert_check cc = { dr->host, dr->host_is_ip, dr->port, domains, dr->ndomains,
		dr->warn_days };
	struct cert_verdict v;
	char fix[DOCTOR_TEXT_MAX];
	size_t i;

	for (i = 0; i < dr->ndomains; i++)
		domains[i] = dr->domains[i];
	certcheck_run(&cc, &v);
	switch (v.outcome) {
	case CERT_NO_CONNECTION:
		report_emit(&dr->rep, V_FAIL, ST_FAIL, "certificate", hp, "start the server, or "
		    "check HOST and PORT (and a firewall in between)", "cannot connect to %s: %s",
		    hp, v.why);
		break;
	case CERT_NO_TLS:
		report_emit(&dr->rep, V_FAIL, ST_FAIL, "certificate", hp, NULL, "cannot set up "
		    "TLS: %s", v.why);
		break;
	case CERT_BAD_HOST:
		report_emit(&dr->rep, V_FAIL, ST_FAIL, "certificate", hp, NULL, "cannot set up "
		    "TLS for %s", dr->host);
		break;
	case CERT_HANDSHAKE_FAILED:
		report_emit(&dr->rep, V_FAIL, ST_FAIL, "certificate", hp, "make the server speak "
		    "TLS on that port, with a certificate for HOST", "TLS handshake with %s "
		    "failed: %s", hp, v.why);
		break;
	case CERT_NOT_SENT:
		report_emit(&dr->rep, V_FAIL, ST_FAIL, "certificate", hp, NULL, "%s sent no "
		    "certificate", hp);
		break;
	case CERT_EXPIRED:
		report_emit(&dr->rep, V_FAIL, ST_FAIL, "certificate", hp, "renew it (certbot "
		    "renew), then reload the server so that it serves the new one", "the "
		    "certificate %s serves expired on %s", hp, v.expires);
		break;
	case CERT_UNTRUSTED:
		snprintf(fix, sizeof(fix), v.wrong_host ? "serve a certificate for %s on that "
		    "port" : "serve the full chain (certificate and intermediates, e.g. certbot's "
		    "fullchain.pem) of a CA that %s's clients trust", dr->host);
		report_emit(&dr->rep, V_FAIL, ST_FAIL, "certificate", hp, fix, "the certificate "
		    "%s serves is not trusted by the system store: %s (names: %s; expires %s)",
		    hp, v.untrusted, v.names[0] ? v.names : "none", v.expires);
		break;
	case CERT_MISSING:
		report_emit(&dr->rep, V_FAIL, ST_FAIL, "certificate", hp, "get a certificate for "
		    "every name (certbot -d each) and make the server use it", "the certificate "
		    "%s serves does not cover %s (its names: %s; expires %s)", hp, v.missing,
		    v.names[0] ? v.names : "none", v.expires);
		break;
	case CERT_EXPIRING:
		report_emit(&dr->rep, V_FAIL, ST_FAIL, "certificate", hp, "renew it now (certbot "
		    "renew); if the renewal worked already, reload the server so that it serves "
		    "the new certificate", "the certificate %s serves expires in %d day%s (%s), "
		    "within --warn-days %ld", hp, v.days, v.days == 1 ? "" : "s", v.expires,
		    dr->warn_days);
		break;
	case CERT_GOOD:
		report_emit(&dr->rep, V_OK, ST_OK, "certificate", hp, NULL, "%s serves a trusted "
		    "certificate for %s, valid until %s (%d days)", hp, v.names[0] ? v.names :
		    "its subject", v.expires, v.days);
		break;
	}
}

/* ---- the command -------------------------------------------------------- */

int
cmd_doctor(const struct opts *o, int argc, char **argv)
{
	struct doctor *dr = calloc(1, sizeof(*dr));
	struct config *cfg = NULL;
	struct run *r = NULL;
	size_t i, j;
	int rc;

	if (dr == NULL) {
		log_err("out of memory");
		return ST_FAIL;
	}
	if ((rc = parse_args(o, argc, argv, dr)) != ST_OK)
		goto out;
	if ((rc = report_init(&dr->rep, o->json)) != ST_OK)
		goto out;
	log_clear_last_error();
	rc = cli_load_config(o, &cfg);
	if (rc == ST_OK && (rc = run_new(cfg, &r)) != ST_OK) {
		config_free(cfg);
		cfg = NULL;
	}
	check_config(dr, rc, cfg);
	for (i = 0; cfg != NULL && i < dr->ndomains; i++) {
		for (j = 0; j < i && strcmp(dr->challenge[j], dr->challenge[i]) != 0; j++)
			;
		if (j == i)
			check_name(dr, cfg, r, i);
	}
	if (dr->check_cert)
		check_cert(dr);
	rc = report_finish(&dr->rep);
out:
	report_free(&dr->rep);
	run_free(r);
	config_free(cfg);
	free(dr);
	return rc;
}
