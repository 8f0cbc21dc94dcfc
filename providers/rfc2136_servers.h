/*
 * What an RFC 2136 server's answer means, server by server: BIND, Knot DNS
 * and PowerDNS answer the same mistake differently (a key their acl denies:
 * Knot NOTAUTH + BADKEY, BIND and PowerDNS a signed REFUSED; a wrong secret:
 * BIND and Knot NOTAUTH + BADSIG, PowerDNS an unsigned REFUSED).  Pure
 * functions, no I/O: providers/rfc2136.c passes what it saw, and gets the
 * exit status and the causes to print.  The table of answers, and where
 * each fact comes from, is in rfc2136_servers.c.
 */
#ifndef DNS01_RFC2136_SERVERS_H
#define DNS01_RFC2136_SERVERS_H

#include <stddef.h>

/* Server software, as a CHAOS TXT version.bind answer names it. */
enum rfc2136_server {
	RFC2136_UNKNOWN = 0,	/* hidden, or another program */
	RFC2136_BIND,
	RFC2136_KNOT,
	RFC2136_PDNS,
	RFC2136_SERVERS		/* how many, with UNKNOWN */
};

/* How an answer to a request was signed. */
enum rfc2136_sig {
	RFC2136_SIG_NONE,	/* no TSIG record */
	RFC2136_SIG_OK,		/* a TSIG that verifies with our key */
	RFC2136_SIG_BAD		/* a TSIG that does not (another key, no MAC, ...) */
};

/* An answer to dns01's UPDATE or (update = 0) to its SOA query. */
struct rfc2136_answer {
	int	update;
	int	rcode;		/* LDNS_RCODE_* */
	unsigned terr;		/* the TSIG error field (TSIG_BADKEY, ...), 0 when none */
	enum rfc2136_sig sig;
	int	has_key;	/* the request was TSIG signed */
};

/* The software a version.bind string names ("Knot DNS 3.2.6", "9.18.28-..."). */
enum rfc2136_server rfc2136_server_of(const char *version);

/* "BIND", "Knot DNS", "PowerDNS"; NULL for RFC2136_UNKNOWN. */
const char *rfc2136_server_name(enum rfc2136_server s);

/*
 * What answer a means, into out (outlen bytes): the causes each of BIND,
 * Knot DNS and PowerDNS gives that answer for ("BIND: ...; Knot DNS: ..."),
 * or only server s's when s is known and has one.  out is "" when no
 * server is known to give it (the caller says what it saw).  Returns the
 * status (core/status.h): ST_CONFIG when the key or the server address is
 * wrong, ST_PROVIDER when the server refused the change, ST_OK for an
 * answer that is no error (NOERROR without a TSIG error).
 */
int	rfc2136_explain(const struct rfc2136_answer *a, enum rfc2136_server s, char *out,
    size_t outlen);

/*
 * For a key server s accepted on a query: what that server needs before
 * the key may also update (its acl, update-policy or metadata), or NULL.
 */
const char *rfc2136_update_rule(enum rfc2136_server s);

#endif
