/*
 * What a DNS answer means: the decisions of discovery (core/zone.c) and of
 * the propagation wait (core/propagation.c), kept apart from all I/O so
 * that each is a function of packets.  tests/unit/test_answer.c drives them
 * with canned packets built with ldns.
 *
 * Discovery asks the servers of a zone it knows about a name, always as
 * "qname SOA" with RD=0: an authoritative server then says which of its
 * zones holds the name — the SOA owner in the answer (the name is an apex)
 * or in the authority section (NXDOMAIN or NODATA) — or that the name is a
 * CNAME, or that a DNAME above it rewrites it; a server that does not hold
 * the name refers to the zone below (NS in the authority section, AA=0).
 * Anything else is lame: the server does not serve the zone it is listed
 * for.
 *
 * Names are canonical text (core/name.h): lower case, no trailing dot.
 */
#ifndef DNS01_ANSWER_H
#define DNS01_ANSWER_H

#include <stddef.h>
#include <stdint.h>

#include <ldns/ldns.h>

#include "name.h"

#define ANSWER_WHY	(2 * NAME_BUF + 128)	/* text of what a server answered */

enum answer_kind {
	ANSWER_NONE,		/* no reply at all; why says what happened */
	ANSWER_LAME,		/* a reply, but no authoritative one for the zone asked */
	ANSWER_ZONE,		/* authoritative: qname lies in zone `zone` (SOA owner) */
	ANSWER_CNAME,		/* authoritative: qname is a CNAME to `target` */
	ANSWER_DNAME,		/* a DNAME at `owner` rewrites qname to `target` */
	ANSWER_REFERRAL		/* not authoritative: the zone `zone` below is delegated */
};

struct answer {
	enum answer_kind kind;
	char	zone[NAME_BUF];		/* ZONE: the apex; REFERRAL: the zone cut */
	char	target[NAME_BUF];	/* CNAME, DNAME: where qname leads */
	char	owner[NAME_BUF];	/* DNAME: the owner of the DNAME record */
	char	why[ANSWER_WHY];	/* NONE, LAME: what came (or did not) */
};

/*
 * What reply r of a server listed for zone apex means for qname (r answers
 * "qname SOA", RD=0).  Always fills *out:
 *   ZONE      AA, NOERROR or NXDOMAIN, and an SOA whose owner is qname (in
 *             the answer) or an ancestor of qname at or below apex (in the
 *             authority section).  The zone may lie below apex: a child
 *             zone on the same servers.
 *   CNAME     AA and a CNAME owned by qname in the answer.
 *   DNAME     AA and a DNAME owned by a proper ancestor of qname, at or
 *             below apex, in the answer; target is qname rewritten (RFC
 *             6672).  LAME when the rewritten name would be too long.
 *   REFERRAL  AA=0, NOERROR, no answer, and NS records in the authority
 *             section owned by an ancestor of qname strictly below apex.
 *   LAME      everything else: another rcode (REFUSED, SERVFAIL, ...), AA=0
 *             without a referral below apex (an upward or sideways
 *             referral, a cached answer), an SOA of an unrelated zone.
 */
void	answer_classify(const ldns_pkt *r, const char *qname, const char *apex,
    struct answer *out);

/* The first RR of type in list whose owner is name (any owner when NULL). */
const ldns_rr *answer_find_rr(const ldns_rr_list *list, ldns_rr_type type, const char *name);

/* A query that got no reply: kind ANSWER_NONE with why (e.g. "timeout"). */
void	answer_none(struct answer *out, const char *why);

/* What a means, as text for messages ("zone X", "lame: REFUSED", ...). */
void	answer_describe(const struct answer *a, char *out, size_t len);

/* 1 when a and b mean the same (kind, zone and target), else 0. */
int	answer_same(const struct answer *a, const struct answer *b);

/*
 * What the servers of one zone agree on, from one answer per nameserver:
 * the index of the first answer that is neither NONE nor LAME when every
 * other such answer means the same; ANSWER_NO_AUTHORITY when every answer
 * is NONE or LAME; ANSWER_DISAGREE when two such answers differ (a stale
 * zone on one server, or a delegation only some servers know).
 */
#define ANSWER_NO_AUTHORITY	(-1)
#define ANSWER_DISAGREE		(-2)
int	answer_agree(const struct answer *a, size_t n);

/*
 * 1 when reply r for the random name probe (a sibling of a name that is a
 * CNAME to target) is an authoritative CNAME from probe to target: the
 * CNAME comes from a wildcard, not from a record at the name.
 */
int	answer_is_wildcard_cname(const ldns_pkt *r, const char *probe, const char *target);

/* ---- the propagation wait ------------------------------------------------ */

enum reply_check {
	REPLY_IGNORE,		/* not an answer to q: unparsable, other id, QR=0, other question */
	REPLY_TRUNCATED,	/* the answer to q, truncated: ask again over TCP */
	REPLY_USE		/* the answer to q */
};

/*
 * Whether the wire message (len octets) that arrived where q was sent is
 * q's answer.  For REPLY_USE *out is the parsed answer (the caller frees it
 * with ldns_pkt_free); otherwise *out is NULL.
 */
enum reply_check answer_reply_check(const ldns_pkt *q, const uint8_t *wire, size_t len,
    ldns_pkt **out);

/* What one polled address last did: nothing yet, answered (good, bad, lame), failed. */
enum addr_state { AS_NONE, AS_GOOD, AS_BAD, AS_LAME, AS_ERR };

/* What the wait wants at one name. */
struct txt_want {
	const char *name;		/* canonical owner */
	const char *const *values;
	size_t	nvalues;
	int	absent;			/* 1: none of the values may be served */
};

/*
 * One TXT value: the character-strings of one TXT record joined.  It may
 * hold any octet, NUL included: len counts them; data has a NUL after them.
 */
struct txt_value {
	char	*data;			/* malloc'd, len + 1 octets */
	size_t	len;
};

/*
 * What one address's state is after answer r to "name TXT", judged against
 * w (enum addr_state below): AS_GOOD when it serves the values (present) or
 * none of them (absent); AS_LAME when it is not authoritative (AA=0), or
 * answers REFUSED or NOTAUTH; AS_BAD otherwise (not yet as wanted, SERVFAIL,
 * ...); AS_ERR when out of memory.  Every TXT record of the answer is looked
 * at, however many there are.  desc (desclen bytes) says what the server
 * answered, with values quoted and escaped (answer_txt_escape); values that
 * do not fit are counted (" and N more"), never silently left out.  *others is
 * set to 1 when an absent-wait's good answer still holds other TXT values.
 */
enum addr_state answer_judge_txt(const ldns_pkt *r, const struct txt_want *w, int *others,
    char *desc, size_t desclen);

/*
 * Every TXT value at name in r's answer section, in answer order: *out is a
 * malloc'd array of *n values (NULL when there are none).  0, or -1 when out
 * of memory (then *out is NULL and *n 0).  Free with answer_txt_values_free().
 */
int	answer_txt_values(const ldns_pkt *r, const char *name, struct txt_value **out,
    size_t *n);
void	answer_txt_values_free(struct txt_value *v, size_t n);

/*
 * The len octets at s in DNS presentation form, without the quotes:
 * printable ASCII as it is; '"', the backslash and every other octet as \DDD
 * (decimal, three digits), so that nothing from the network reaches a
 * terminal raw and the text can be given back to nsupdate.  Writes at most
 * outlen bytes, always a string when outlen > 0, cut only between whole
 * characters or escapes; returns the length of the whole form, like
 * snprintf (at most ANSWER_ESCAPED_MAX(len)).
 */
#define ANSWER_ESCAPED_MAX(len)	(4 * (len))
size_t	answer_txt_escape(const char *s, size_t len, char *out, size_t outlen);

/*
 * Whether a polled address still counts.  One lost reply is not enough to
 * give up on an address: it is unreachable only when it never answered and
 * either ADDR_TIMEOUTS_UNREACHABLE queries in a row timed out, or an ICMP
 * error or a failed send said that nothing can reach it.  An address that
 * answered once always counts.
 */
#define ADDR_TIMEOUTS_UNREACHABLE	3

struct addr_health {
	int	answered;		/* it answered at least once */
	unsigned timeouts;		/* queries in a row that timed out */
	int	refused;		/* an ICMP error or send failure */
};

void	addr_note_reply(struct addr_health *h);
void	addr_note_timeout(struct addr_health *h);
void	addr_note_error(struct addr_health *h);
int	addr_unreachable(const struct addr_health *h);

/*
 * The state of one nameserver for one name, from the state of each of its
 * addresses: DONE when every address that counts is good and one is;
 * LAME when none is good and every address that counts answered lame
 * (a CA's resolver moves on from such a server, and so does the wait);
 * WAITING otherwise — also when no address counts at all (a server that
 * cannot be reached from here may still be asked by the CA).
 */
enum ns_state { NS_WAITING, NS_DONE, NS_LAME };

/* unreachable[i] is addr_unreachable() of address i. */
enum ns_state answer_ns_state(const enum addr_state *st, const int *unreachable, size_t n);

/*
 * One change, one arrival (core/propagation.h): what a name's values came
 * with.  batch: the provider call of the run that wrote them; member: that
 * call changed one of them, and the provider applies a call whole; witness:
 * a member whose values no older version of the zone held.
 */
struct change_tag {
	const void *zone;		/* the zone the call wrote to */
	int	batch;
	int	member;
	int	witness;
};

/*
 * 1 when an address that serves every value of name a (waiting for values
 * to appear) therefore serves those of name b too: a is a witness, b a
 * member of the same call to the same zone.  Pure.
 */
int	answer_same_change(const struct change_tag *a, const struct change_tag *b);

#endif
