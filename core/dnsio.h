/*
 * DNS on the wire: addresses, building queries, and blocking exchanges over
 * UDP and TCP with timeouts.  The propagation loop (propagation.c) does its
 * own non-blocking UDP; everything else asks through here.
 */
#ifndef DNS01_DNSIO_H
#define DNS01_DNSIO_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include <ldns/ldns.h>

#define DNS_PORT		53
#define DNS_EDNS_UDP_SIZE	1232	/* octets; the DNS flag day 2020 value */
#define DNS_TCP_MAX		65535
#define DNS_ADDR_TEXT		64	/* "[v6addr]:port" */

struct dns_addr {
	struct sockaddr_storage sa;
	socklen_t salen;
	char	text[DNS_ADDR_TEXT];	/* "192.0.2.1" or "[2001:db8::1]:5353" */
};

/* Parse "IP", "IP:port", "IPv6" or "[IPv6]:port" (default port 53).  0 or -1. */
int	dnsio_parse_addr(const char *s, struct dns_addr *out);

/* The address in an A or AAAA record (port 53).  0, or -1 for other records. */
int	dnsio_addr_from_rr(const ldns_rr *rr, struct dns_addr *out);

/* An address from a sockaddr (port 53 when port is 0). */
void	dnsio_addr_from_sa(const struct sockaddr *sa, socklen_t len, struct dns_addr *out);

/*
 * A new query packet for qname/qtype with the given RD bit, EDNS0 and a random
 * id.  The caller frees it with ldns_pkt_free().  NULL when qname is bad.
 */
ldns_pkt *dnsio_query_new(const char *qname, ldns_rr_type qtype, int rd);

/*
 * Send a query to one address and wait up to timeout_ms for the matching
 * answer: UDP first, TCP when the answer is truncated.  Returns the answer
 * (caller frees) or NULL with *err set to a short static reason ("timeout",
 * "connection refused", ...).
 */
ldns_pkt *dnsio_ask(const struct dns_addr *a, const ldns_pkt *q, int timeout_ms,
    const char **err);

/* The same over TCP only (after a truncated UDP answer). */
ldns_pkt *dnsio_ask_tcp(const struct dns_addr *a, const ldns_pkt *q, int timeout_ms,
    const char **err);

/*
 * One TCP exchange of raw wire: send msg, read one answer into *resp
 * (malloc'd, caller frees).  Returns 0, or -1 with *err set.
 */
int	dnsio_tcp_exchange(const struct dns_addr *a, const uint8_t *msg, size_t len,
    uint8_t **resp, size_t *resplen, int timeout_ms, const char **err);

/* 1 when resp answers q: same id, QR set, same question (name, type, class). */
int	dnsio_matches(const ldns_pkt *q, const ldns_pkt *resp);

/* Canonical text (lower case, no trailing dot) of a dname into out (NAME_BUF). */
void	dnsio_dname_text(const ldns_rdf *d, char *out, size_t outlen);

/* The rcode name ("NOERROR", "NXDOMAIN", ...). */
const char *dnsio_rcode_name(int rcode);

#endif
