/*
 * Discovery: where a TXT record for a name is written, and who serves it.
 *
 * A first zone is found by an SOA walk through the recursive resolvers
 * (`resolvers =` or /etc/resolv.conf), starting at the *parent* of the name,
 * then the zone that really holds the name by asking authoritative servers
 * (see discovery_locate); what each of their answers means is decided in
 * core/answer.c.  NS sets and the addresses of nameservers come from the
 * resolvers.  The name itself — the challenge name, each CNAME target and
 * anything under a challenge label — is only ever asked of authoritative
 * servers, so no resolver caches a negative answer for it (RFC 2308
 * negative caching is what makes a CA's validation fail for minutes).
 */
#ifndef DNS01_ZONE_H
#define DNS01_ZONE_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "dnsio.h"
#include "name.h"

#define ZONE_MAX_NS		16	/* nameservers kept per zone */
#define ZONE_MAX_ADDRS		8	/* addresses kept per nameserver */
#define ZONE_MAX_CNAME_HOPS	8	/* CNAMEs followed from a challenge name */
#define ZONE_MAX_DELEGATIONS	4	/* zone cuts followed below a found zone */
#define ZONE_CACHE_MAX		32	/* zones remembered in one run */
#define DISCOVERY_TIMEOUT_MS	2000	/* per resolver query */
#define DISCOVERY_TRIES		2	/* rounds over the resolver list */
#define AUTH_TIMEOUT_MS		1500	/* per authoritative query during discovery */
#define AUTH_TRIES		3	/* rounds over a nameserver's addresses: one lost
					   packet must not make it "no answer" */

struct nameserver {
	char	name[NAME_BUF];
	struct dns_addr addrs[ZONE_MAX_ADDRS];
	size_t	naddrs;
};

struct zone {
	char	apex[NAME_BUF];
	char	mname[NAME_BUF];	/* SOA MNAME, the primary */
	uint32_t serial;		/* as the resolver saw it */
	uint32_t negative_ttl;		/* min(SOA TTL, SOA MINIMUM) */
	struct nameserver ns[ZONE_MAX_NS];
	size_t	nns;
	struct dns_addr mname_addrs[ZONE_MAX_ADDRS];
	size_t	nmname;			/* 0 when the MNAME has no address */
};

struct discovery;

/* A discovery context using cfg's resolvers.  ST_OK or ST_CONFIG/ST_DISCOVERY. */
int	discovery_new(const struct config *cfg, struct discovery **out);
void	discovery_free(struct discovery *d);

/*
 * Where a TXT record at name is written.  The SOA walk through the
 * resolvers starts at the parent of name (above any challenge label: no
 * resolver is asked about a challenge name or a name under one) and finds
 * a zone; from there, its nameservers are asked "name SOA" (RD=0) and
 * discovery goes where they agree: into a child zone they serve too (they
 * answer with its SOA), along a referral, along a CNAME (not one a wildcard
 * synthesizes; at most ZONE_MAX_CNAME_HOPS, loops refused) or a DNAME (the
 * name it rewrites to, as a CA's resolver follows it), until they answer
 * from the zone they were asked for.  Lame nameservers (listed, but not
 * serving the zone) are named and skipped; when no nameserver answers
 * authoritatively, or two disagree, it fails.
 *
 * Writes the final owner to target (NAME_BUF) and sets *zone (owned by d,
 * valid until discovery_free).  how (howlen bytes, may be NULL) receives
 * how the zone was found, for doctor.  Returns ST_OK, or ST_DISCOVERY after
 * saying why.
 */
#define LOCATE_HOW_MAX	1024	/* text of how a zone was found */
int	discovery_locate(struct discovery *d, const char *name, char *target,
    const struct zone **zone, char *how, size_t howlen);

/*
 * Ask every nameserver of z "name SOA" (RD=0) and name, in text (len
 * bytes), those that do not answer for name from zone z: from another zone,
 * lame, a CNAME.  Returns how many (0: each that answered agrees).  For
 * doctor, after a value written to z did not show up everywhere.
 */
size_t	discovery_misplaced(const struct zone *z, const char *name, char *text, size_t len);

/* Every A and AAAA of host, through the resolvers.  Returns the count (0 = none). */
size_t	discovery_addrs(struct discovery *d, const char *host, struct dns_addr *out,
    size_t max);

/*
 * Ask the resolvers (RD=1) for qname/qtype — for data about a domain, such
 * as CAA at a domain and its parents (doctor).  A name with an
 * "_acme-challenge" label is refused: those go only to authoritative
 * servers.  Returns an answer with rcode NOERROR or NXDOMAIN (the caller
 * frees it with ldns_pkt_free), or NULL with the reason in why.
 */
ldns_pkt *discovery_resolve(struct discovery *d, const char *qname, ldns_rr_type qtype,
    char *why, size_t whylen);

/* Read up to max resolver addresses from a resolv.conf file; returns the count. */
size_t	discovery_read_resolv_conf(const char *path, struct dns_addr *out, size_t max);

#endif
