/*
 * What BIND, Knot DNS and PowerDNS mean by their answers to an UPDATE (or
 * to the SOA query doctor sends), see rfc2136_servers.h.
 *
 * Observed with dns01's requests against BIND 9.18.49, Knot DNS 3.2.6 and
 * PowerDNS Authoritative 4.7.3 (gsqlite3), Debian 12 packages, in the
 * integration test bed (tests/integration/test_servers.py checks each row
 * that dns01 can produce there):
 *
 *   case                   BIND                  Knot DNS              PowerDNS
 *   UPDATE, key not known  NOTAUTH BADKEY        NOTAUTH BADKEY        REFUSED, unsigned
 *   wrong secret           NOTAUTH BADSIG        NOTAUTH BADSIG        REFUSED, unsigned
 *   wrong algorithm        NOTAUTH BADKEY        NOTAUTH BADKEY        REFUSED, unsigned
 *   key not allowed        REFUSED, signed       NOTAUTH BADKEY        REFUSED, signed
 *   clock 1000 s off       NOTAUTH BADTIME, MAC  NOTAUTH BADTIME, MAC  REFUSED, unsigned
 *   zone not served        NOTAUTH, signed       NOTAUTH, unsigned     NOTAUTH, signed
 *   unsigned, key needed   REFUSED               NOTAUTH               REFUSED
 *   SOA query, key not known / wrong secret / algorithm / clock:
 *                          as the UPDATE         as the UPDATE         NOTAUTH, unsigned
 *   SOA query, key not allowed to update:
 *                          NOERROR, signed       NOTAUTH BADKEY        NOERROR, signed
 *   SOA query, zone not served:
 *                          REFUSED, signed       REFUSED, unsigned     REFUSED, signed
 *   CHAOS TXT version.bind "9.18.49-1~deb12u3-Debian" / "Knot DNS 3.2.6" /
 *                          "PowerDNS Authoritative Server 4.7.3"
 *
 * "unsigned": the answer has no TSIG record.  The sources agree:
 * - Knot: src/knot/nameserver/process_query.c, process_query_acl_check():
 *   a request the zone's acl does not allow (also a signed query whose key
 *   no acl rule names) gets NOTAUTH with TSIG error BADKEY, and
 *   process_query_verify() NOTAUTH with BADKEY/BADSIG/BADTIME for a TSIG
 *   that does not verify (knot.conf(5), "acl": the key and action of a rule).
 * - PowerDNS: pdns/packethandler.cc, PacketHandler::doQuestion(): a TSIG
 *   that does not validate gets an empty unsigned reply, "RFC3007 describes
 *   that a non-secure message should be sending Refused for DNS Updates",
 *   NOTAUTH for other opcodes; which keys may update a zone is its
 *   TSIG-ALLOW-DNSUPDATE metadata, which addresses allow-dnsupdate-from
 *   (https://doc.powerdns.com/authoritative/dnsupdate.html).
 * - BIND: RFC 8945 §5.2 (NOTAUTH with BADKEY, BADSIG, BADTIME); an UPDATE
 *   that update-policy / allow-update does not allow is REFUSED (BIND 9
 *   ARM, "Dynamic Update Policies").
 */
#include <stdio.h>
#include <string.h>

#include <ldns/ldns.h>

#include "../core/status.h"
#include "../core/tsig.h"
#include "rfc2136_servers.h"

#define SERVERS_SEP	"; "

static const char *const names[RFC2136_SERVERS] = { NULL, "BIND", "Knot DNS", "PowerDNS" };

/* The causes of one kind of answer, by server (NULL: it never answers so). */
struct causes {
	const char *by[RFC2136_SERVERS];
};

static const char UNKNOWN_KEY[] = "it has no key of this name and algorithm (see its key "
    "statement)";
static const char KNOT_BADKEY_UPDATE[] = "it does not know the key name and algorithm, "
    "or no acl rule of the zone lets this key update (see its key section and the zone's "
    "acl: action update, update-type TXT)";
static const char KNOT_BADKEY_QUERY[] = "it does not know the key name and algorithm, "
    "or no acl rule of the zone names this key (it checks the acl of signed queries too)";
static const char BAD_SECRET[] = "the secret differs from that of its key of this name";
static const char BAD_TIME[] = "its clock and this host's differ by more than 300 s (check "
    "NTP on both)";
static const char PDNS_REJECTED[] = "it did not accept the key (its answer is unsigned): "
    "unknown key name or algorithm, wrong secret, or clocks over 300 s apart (see "
    "pdnsutil list-tsig-keys)";
static const char BIND_DENIED[] = "it accepted the key, but the zone's update-policy "
    "(or allow-update) does not grant it TXT records at this name";
static const char PDNS_DENIED[] = "it accepted the key, but the zone's "
    "TSIG-ALLOW-DNSUPDATE metadata does not name it, or allow-dnsupdate-from leaves out "
    "this host";
static const char BIND_UNSIGNED[] = "allow-update / update-policy takes no unsigned "
    "UPDATE from this host: configure tsig_key and tsig_secret";
static const char PDNS_UNSIGNED[] = "the zone takes only signed UPDATEs "
    "(TSIG-ALLOW-DNSUPDATE), or allow-dnsupdate-from leaves out this host: configure "
    "tsig_key and tsig_secret";
static const char KNOT_UNSIGNED[] = "no acl rule of the zone takes an unsigned UPDATE "
    "from this host (configure tsig_key and tsig_secret), or it does not serve the zone";
static const char NOT_SERVED[] = "it does not serve the zone: send UPDATEs to the zone's "
    "primary ('server =')";
static const char KNOT_NOT_SERVED[] = "it does not serve the zone (Knot does not sign this "
    "answer): send UPDATEs to the zone's primary ('server =')";
static const char QUERY_NOT_SERVED[] = "it does not serve the zone to us (is it the zone's "
    "primary?)";

/* Which causes answer a has, and its status; NULL when no server gives it. */
static const struct causes *
causes_of(const struct rfc2136_answer *a, int *status)
{
	static const struct causes badkey_update = { { NULL, UNKNOWN_KEY, KNOT_BADKEY_UPDATE,
	    NULL } };
	static const struct causes badkey_query = { { NULL, UNKNOWN_KEY, KNOT_BADKEY_QUERY,
	    NULL } };
	static const struct causes badsig = { { NULL, BAD_SECRET, BAD_SECRET, NULL } };
	static const struct causes badtime = { { NULL, BAD_TIME, BAD_TIME, NULL } };
	static const struct causes pdns_rejected = { { NULL, NULL, NULL, PDNS_REJECTED } };
	static const struct causes denied = { { NULL, BIND_DENIED, NULL, PDNS_DENIED } };
	static const struct causes unsigned_refused = { { NULL, BIND_UNSIGNED, NULL,
	    PDNS_UNSIGNED } };
	static const struct causes unsigned_notauth = { { NULL, NOT_SERVED, KNOT_UNSIGNED,
	    NOT_SERVED } };
	static const struct causes not_served = { { NULL, NOT_SERVED, NULL, NOT_SERVED } };
	static const struct causes knot_not_served = { { NULL, NULL, KNOT_NOT_SERVED, NULL } };
	static const struct causes query_not_served = { { NULL, QUERY_NOT_SERVED,
	    QUERY_NOT_SERVED, QUERY_NOT_SERVED } };

	*status = ST_CONFIG;
	if (a->terr == TSIG_BADKEY)
		return a->update ? &badkey_update : &badkey_query;
	if (a->terr == TSIG_BADSIG)
		return &badsig;
	if (a->terr == TSIG_BADTIME)
		return &badtime;
	if (a->terr != 0)
		return NULL;
	if (a->rcode == LDNS_RCODE_NOERROR) {
		*status = ST_OK;
		return NULL;
	}
	if (a->rcode == LDNS_RCODE_NOTAUTH) {
		if (!a->has_key) {
			*status = a->update ? ST_CONFIG : ST_PROVIDER;
			return a->update ? &unsigned_notauth : NULL;
		}
		if (a->sig != RFC2136_SIG_NONE)
			return &not_served;
		return a->update ? &knot_not_served : &pdns_rejected;
	}
	if (a->rcode == LDNS_RCODE_REFUSED && !a->update) {
		*status = ST_PROVIDER;
		return &query_not_served;
	}
	if (a->rcode == LDNS_RCODE_REFUSED && a->has_key && a->sig == RFC2136_SIG_NONE)
		return &pdns_rejected;
	*status = ST_PROVIDER;
	if (a->rcode == LDNS_RCODE_REFUSED)
		return a->has_key ? &denied : &unsigned_refused;
	return NULL;
}

enum rfc2136_server
rfc2136_server_of(const char *v)
{
	if (v == NULL)
		return RFC2136_UNKNOWN;
	if (strstr(v, "PowerDNS") != NULL)
		return RFC2136_PDNS;
	if (strstr(v, "Knot DNS") != NULL)
		return RFC2136_KNOT;
	/* BIND answers its bare version ("9.18.49-1~deb12u3-Debian") by default. */
	if (strstr(v, "BIND") != NULL || (v[0] == '9' && v[1] == '.' && v[2] >= '0' &&
	    v[2] <= '9'))
		return RFC2136_BIND;
	return RFC2136_UNKNOWN;
}

const char *
rfc2136_server_name(enum rfc2136_server s)
{
	return s > RFC2136_UNKNOWN && s < RFC2136_SERVERS ? names[s] : NULL;
}

int
rfc2136_explain(const struct rfc2136_answer *a, enum rfc2136_server s, char *out,
    size_t outlen)
{
	const struct causes *c;
	char who[64];
	size_t i, j, len = 0;
	int status, n;

	out[0] = '\0';
	if ((c = causes_of(a, &status)) == NULL)
		return status;
	if (rfc2136_server_name(s) != NULL && c->by[s] != NULL) {
		snprintf(out, outlen, "%s: %s", names[s], c->by[s]);
		return status;
	}
	for (i = 1; i < RFC2136_SERVERS; i++) {
		for (j = 1; j < i && c->by[j] != c->by[i]; j++)
			;
		if (c->by[i] == NULL || j < i)		/* none, or said already */
			continue;
		who[0] = '\0';
		for (j = i; j < RFC2136_SERVERS; j++)
			if (c->by[j] == c->by[i])
				snprintf(who + strlen(who), sizeof(who) - strlen(who), "%s%s",
				    who[0] ? ", " : "", names[j]);
		n = snprintf(out + len, outlen - len, "%s%s: %s", len ? SERVERS_SEP : "", who,
		    c->by[i]);
		if (n < 0 || (size_t)n >= outlen - len)
			break;
		len += (size_t)n;
	}
	return status;
}

const char *
rfc2136_update_rule(enum rfc2136_server s)
{
	switch (s) {
	case RFC2136_BIND:
		return "BIND lets the key update only what the zone's update-policy (or "
		    "allow-update) grants it";
	case RFC2136_KNOT:
		return "Knot DNS lets the key update only what an acl rule of the zone with "
		    "action update grants it (update-type, update-owner)";
	case RFC2136_PDNS:
		return "PowerDNS lets the key update only a zone whose TSIG-ALLOW-DNSUPDATE "
		    "metadata names it, from an address in allow-dnsupdate-from";
	default:
		return NULL;
	}
}
