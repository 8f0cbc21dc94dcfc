/*
 * Provider "rfc2136": signed DNS UPDATE (RFC 2136, TSIG RFC 8945) to the
 * configured server, or to the zone's SOA MNAME (RFC 2136 §4.3).
 *
 * Add puts one RR into the TXT RRset and never deletes the RRset first, so
 * apex and wildcard values live side by side; delete removes exactly one RR
 * (class NONE, §2.5.4).  All records of one zone go in one UPDATE message,
 * over TCP.  No prerequisites: add and delete of single RRs are idempotent,
 * so concurrent runs cannot clobber each other.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <ldns/ldns.h>

#include "../core/dnsio.h"
#include "../core/log.h"
#include "../core/status.h"
#include "../core/tsig.h"
#include "provider.h"

#define RFC2136_TIMEOUT_MS	10000	/* one UPDATE exchange */
#define RFC2136_DEFAULT_ALG	"hmac-sha256"
#define RFC2136_DEFAULT_TTL	10
#define RFC2136_MIN_TTL		1

struct rfc2136 {
	char	name[128];		/* section name, for messages */
	struct dns_addr server;
	int	has_server;
	struct tsig_key key;
	int	has_key;
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

/* What a TSIG error in a server's answer means, for messages. */
static const char *
tsig_problem(unsigned terr)
{
	return terr == TSIG_BADSIG ? "BADSIG, the secret or algorithm is wrong" :
	    terr == TSIG_BADKEY ? "BADKEY, the server does not know this key name "
	    "and algorithm" : terr == TSIG_BADTIME ? "BADTIME, the clocks differ by "
	    "more than 300 s" : tsig_error_name(terr);
}

/* Judge an UPDATE answer.  Returns a status after saying what went wrong. */
static int
judge(const struct rfc2136 *p, const struct zone *z, const struct dns_addr *a,
    const uint8_t *resp, size_t rlen, const uint8_t *mac, size_t maclen)
{
	unsigned terr = 0;
	const char *why = NULL;
	ldns_pkt *r = NULL;
	int rcode, verified = 1, rc;

	if (ldns_wire2pkt(&r, resp, rlen) != LDNS_STATUS_OK) {
		log_err("UPDATE of zone %s: malformed answer from %s", z->apex, a->text);
		return ST_PROVIDER;
	}
	rcode = ldns_pkt_get_rcode(r);
	ldns_pkt_free(r);
	if (p->has_key && tsig_verify(&p->key, resp, rlen, mac, maclen, (uint64_t)time(NULL),
	    &terr, &why) == -1)
		verified = 0;
	if (terr != 0) {
		log_err("%s rejected TSIG key '%s' (%s): %s", a->text, p->key.name, p->key.alg,
		    tsig_problem(terr));
		return ST_CONFIG;
	}
	switch (rcode) {
	case LDNS_RCODE_NOERROR:
		rc = ST_OK;
		break;
	case LDNS_RCODE_NOTAUTH:
		if (p->has_key)
			log_err("%s answered NOTAUTH to UPDATE of zone %s signed with key '%s': "
			    "the key is not accepted or the server is not authoritative",
			    a->text, z->apex, p->key.name);
		else
			log_err("%s answered NOTAUTH to an unsigned UPDATE of zone %s: "
			    "configure tsig_key/tsig_secret", a->text, z->apex);
		return ST_CONFIG;
	case LDNS_RCODE_REFUSED:
		log_err("%s REFUSED the UPDATE of zone %s%s%s%s: the server does not allow "
		    "this update (check allow-update / update-policy for the zone)", a->text,
		    z->apex, p->has_key ? " (key '" : "", p->has_key ? p->key.name : "",
		    p->has_key ? "')" : "");
		return ST_PROVIDER;
	default:
		log_err("%s answered %s to the UPDATE of zone %s", a->text,
		    dnsio_rcode_name(rcode), z->apex);
		return ST_PROVIDER;
	}
	if (!verified) {
		log_err("UPDATE of zone %s: %s: %s", z->apex, a->text, why);
		return ST_PROVIDER;
	}
	return rc;
}

/*
 * Sign wire (when a key is configured) and send it over TCP to the first
 * server of the zone's UPDATE targets that answers (`server =`, else the
 * SOA MNAME's addresses).  what names the message in errors.  On ST_OK:
 * *resp (malloc'd, *rlen octets) with the request's id, *a the server that
 * answered, and the request's MAC in mac/maclen for verifying the answer.
 */
static int
exchange(struct rfc2136 *p, const struct zone *z, const char *what, const uint8_t *wire,
    size_t len, uint8_t **resp, size_t *rlen, const struct dns_addr **a, uint8_t *mac,
    size_t *maclen)
{
	const struct dns_addr *targets = p->has_server ? &p->server : z->mname_addrs;
	size_t ntargets = p->has_server ? 1 : z->nmname, i, slen = len;
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
		log_debug("%s for zone %s to %s%s", what, z->apex, targets[i].text,
		    p->has_key ? ", signed" : "");
		if (dnsio_tcp_exchange(&targets[i], send, slen, resp, rlen, RFC2136_TIMEOUT_MS,
		    &err) == 0)
			break;
		log_warn("%s for zone %s: %s: %s", what, z->apex, targets[i].text, err);
	}
	if (i == ntargets) {
		log_err("%s for zone %s failed: no server answered (last: %s)", what, z->apex,
		    err);
		rc = ST_PROVIDER;
		goto out;
	}
	*a = &targets[i];
	if (*rlen < 2 || memcmp(*resp, send, 2) != 0) {
		log_err("%s for zone %s: %s answered with another message id", what, z->apex,
		    targets[i].text);
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

/* Build, sign and send one UPDATE carrying every record for zone z. */
static int
update(struct rfc2136 *p, const struct zone *z, struct record *recs, size_t n, int del, int ttl)
{
	const struct dns_addr *server = NULL;
	size_t i, len = 0, rlen = 0, maclen = 0;
	uint8_t *wire = NULL, *resp = NULL, mac[TSIG_MAC_MAX];
	ldns_rr_list *up = ldns_rr_list_new();
	ldns_rdf *zname = ldns_dname_new_frm_str(z->apex);
	ldns_pkt *pkt = NULL;
	int rc = ST_FAIL;

	if (up == NULL || zname == NULL)
		goto out;
	for (i = 0; i < n; i++) {
		ldns_rr *rr = update_rr(&recs[i], del, ttl);

		if (rr == NULL || !ldns_rr_list_push_rr(up, rr)) {
			ldns_rr_free(rr);
			log_err("%s: cannot build the UPDATE", recs[i].name);
			goto out;
		}
	}
	/* The packet owns zname; the update section is copied. */
	pkt = ldns_update_pkt_new(zname, LDNS_RR_CLASS_IN, NULL, up, NULL);
	zname = NULL;
	if (pkt == NULL)
		goto out;
	ldns_pkt_set_random_id(pkt);
	if (ldns_pkt2wire(&wire, pkt, &len) != LDNS_STATUS_OK)
		goto out;
	if ((rc = exchange(p, z, "UPDATE", wire, len, &resp, &rlen, &server, mac,
	    &maclen)) != ST_OK)
		goto out;
	rc = judge(p, z, server, resp, rlen, mac, maclen);
	if (rc == ST_OK)
		log_info("%s %zu TXT record(s) %s zone %s at %s", del ? "deleted" : "added", n,
		    del ? "from" : "in", z->apex, server->text);
out:
	ldns_rdf_deep_free(zname);
	ldns_rr_list_deep_free(up);
	ldns_pkt_free(pkt);
	free(wire);
	free(resp);
	return rc;
}

static int
rfc2136_add(void *priv, const struct zone *z, struct record *r, size_t n, int ttl)
{
	return update(priv, z, r, n, 0, ttl);
}

static int
rfc2136_del(void *priv, const struct zone *z, struct record *r, size_t n)
{
	return update(priv, z, r, n, 1, 0);
}

/*
 * Judge the answer to the SOA query of verify(): signed by our key (when
 * there is one), NOERROR, authoritative, with the zone's SOA.  Status.
 */
static int
judge_soa(const struct rfc2136 *p, const struct zone *z, const struct dns_addr *a,
    const uint8_t *resp, size_t rlen, const uint8_t *mac, size_t maclen)
{
	unsigned terr = 0;
	const char *why = NULL;
	char owner[NAME_BUF];
	ldns_pkt *r = NULL;
	ldns_rr_list *ans;
	size_t i;
	int rcode, rc = ST_PROVIDER, soa = 0;

	if (ldns_wire2pkt(&r, resp, rlen) != LDNS_STATUS_OK) {
		log_err("SOA query for zone %s: malformed answer from %s", z->apex, a->text);
		return ST_PROVIDER;
	}
	rcode = ldns_pkt_get_rcode(r);
	if (p->has_key && tsig_verify(&p->key, resp, rlen, mac, maclen, (uint64_t)time(NULL),
	    &terr, &why) == -1) {
		if (terr != 0) {
			log_err("%s rejected TSIG key '%s' (%s): %s", a->text, p->key.name,
			    p->key.alg, tsig_problem(terr));
			rc = ST_CONFIG;
		} else if (rcode == LDNS_RCODE_NOTAUTH) {
			log_err("%s answered NOTAUTH to the SOA query for zone %s signed with key "
			    "'%s': the key is not accepted", a->text, z->apex, p->key.name);
			rc = ST_CONFIG;
		} else
			log_err("SOA query for zone %s: %s: %s", z->apex, a->text, why);
		goto out;
	}
	ans = ldns_pkt_answer(r);
	for (i = 0; i < ldns_rr_list_rr_count(ans); i++) {
		if (ldns_rr_get_type(ldns_rr_list_rr(ans, i)) != LDNS_RR_TYPE_SOA)
			continue;
		dnsio_dname_text(ldns_rr_owner(ldns_rr_list_rr(ans, i)), owner, sizeof(owner));
		soa |= strcmp(owner, z->apex) == 0;
	}
	if (rcode != LDNS_RCODE_NOERROR) {
		log_err("%s answered %s to the SOA query for zone %s%s", a->text,
		    dnsio_rcode_name(rcode), z->apex, rcode == LDNS_RCODE_REFUSED ?
		    ": it does not serve the zone to us (is it the zone's primary?)" : "");
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
 * Verify: a SOA query for the zone, TSIG-signed when a key is configured,
 * over TCP to the server the UPDATEs go to; the answer's TSIG is verified.
 * Whether the key may change the records only an UPDATE shows (doctor's
 * round trip).
 */
static int
rfc2136_verify(void *priv, const struct zone *z, char *what, size_t whatlen)
{
	struct rfc2136 *p = priv;
	const struct dns_addr *server = NULL;
	size_t len = 0, rlen = 0, maclen = 0;
	uint8_t *wire = NULL, *resp = NULL, mac[TSIG_MAC_MAX];
	ldns_pkt *q = NULL;
	int rc = ST_FAIL;

	if ((q = dnsio_query_new(z->apex, LDNS_RR_TYPE_SOA, 0)) == NULL ||
	    ldns_pkt2wire(&wire, q, &len) != LDNS_STATUS_OK)
		goto out;
	if ((rc = exchange(p, z, "SOA query", wire, len, &resp, &rlen, &server, mac,
	    &maclen)) != ST_OK)
		goto out;
	if ((rc = judge_soa(p, z, server, resp, rlen, mac, maclen)) != ST_OK)
		goto out;
	if (p->has_key)
		snprintf(what, whatlen, "%s answered a SOA query for %s signed with TSIG key "
		    "'%s' (%s), and signed its answer with it", server->text, z->apex,
		    p->key.name, p->key.alg);
	else
		snprintf(what, whatlen, "%s answers for %s; no TSIG key is configured, so "
		    "UPDATEs go unsigned (the server must allow them by address)",
		    server->text, z->apex);
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
	.create = rfc2136_create,
	.add = rfc2136_add,
	.del = rfc2136_del,
	.verify = rfc2136_verify,
	.destroy = rfc2136_destroy,
};
