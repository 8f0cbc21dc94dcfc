/*
 * Discovery: where a TXT record for a name is written, and who serves it.
 *
 * The zone apex is found by an SOA walk through the recursive resolvers
 * (`resolvers =` or /etc/resolv.conf), starting at the *parent* of the name;
 * the NS set and every A/AAAA of every nameserver come from the resolvers
 * too.  The name itself — the challenge name, and each CNAME target — is only
 * ever asked of the zone's authoritative servers, so no resolver caches a
 * negative answer for it (RFC 2308 negative caching is what makes a CA's
 * validation fail for minutes).
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
 * Where a TXT record at name is written: follow CNAMEs at name (asking only
 * authoritative servers, at most ZONE_MAX_CNAME_HOPS, loops refused), then
 * the zone holding the final owner.  Writes the owner to target (NAME_BUF)
 * and sets *zone (owned by d, valid until discovery_free).  Returns ST_OK or
 * ST_DISCOVERY after saying why.
 */
int	discovery_locate(struct discovery *d, const char *name, char *target,
    const struct zone **zone);

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
