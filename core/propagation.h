/*
 * Propagation: ask every authoritative address of every zone, all at once,
 * until each nameserver serves every expected value (or, when removing, none
 * of them).
 *
 * Schedule: each address gets at most one query in flight and at most one
 * query per PROP_INTERVAL_MS (10 queries/s), so the wait ends within about
 * PROP_INTERVAL_MS + one round trip of the moment the last server has the
 * record.  Names that share an address take turns, witnesses first.
 *
 * One change, one arrival: values a provider wrote in one atomic change
 * (one RFC 2136 UPDATE) reach each server together, since a server serves
 * whole zone versions.  So when an address serves every value of a witness
 * target (PROP_PRESENT), every member target of the same batch counts as
 * served there without being asked: 100 names cost one query per address
 * and poll, not 100.  A witness must have a value the change put there that
 * no older version held: a name with a removal still pending (ledger.h) may
 * show a stale copy of a re-used value on a lagging server, so it is only
 * a member, asked for itself or inferred from another name.  UDP with RD=0; a
 * truncated answer is asked again over TCP.  An address that never answered
 * (no IPv6 route, firewalled) does not block its nameserver when another
 * address of that nameserver has answered; it is reported.
 */
#ifndef DNS01_PROPAGATION_H
#define DNS01_PROPAGATION_H

#include <stddef.h>

#include "answer.h"
#include "zone.h"

#define PROP_INTERVAL_MS	100	/* per address: at most 10 queries/s */
#define PROP_SPARSE_MS		120	/* outside a learned arrival window: 8.3/s */
#define PROP_DENSE_MS		40	/* inside it (at most 0.6 s wide): 25/s */
#define PROP_QUERY_TIMEOUT_MS	1500	/* a query unanswered this long is retransmitted */
#define PROP_ERROR_RETRY_MS	1000	/* after an ICMP error (refused, unreachable) */
#define PROP_PROGRESS_FIRST_S	1	/* the first progress line after this long */
#define PROP_PROGRESS_S		5	/* then one this often */
/*
 * Values waited for at one name: every value one run may hold
 * (RUN_MAX_CHALLENGES, asserted in propagation.c), so none is ever dropped.
 * An answer is looked at whole, however many TXT records it has.
 */
#define PROP_MAX_VALUES		200
#define PROP_LIST_TRIES		2	/* queries per address for `list` */

/*
 * One name to check: the values expected there, on the zone's nameservers.
 *
 * Cache wait (PROP_PRESENT): once every nameserver serves the values, the
 * wait goes on until not_before and for hold seconds more, because a
 * resolver may still hold an older answer for the name until then
 * (core/ledger.h).  Both ends are taken up to the next whole second
 * (prop_cache_end), so the clock time announced is when the wait ends.
 * With servers_only the wait ends when every nameserver is done: the cache
 * wait is worked out (not_before out) but not waited for.  Times are wall
 * clock, seconds since the epoch.
 */
struct prop_target {
	const char *name;		/* canonical owner */
	const struct zone *zone;
	const char *values[PROP_MAX_VALUES];
	size_t	nvalues;
	double	not_before;		/* in: 0, or an older answer's cache expiry;
					   out: when the cache wait ends (whole s) */
	double	hold;			/* in: seconds after done_at, 0 for none */
	double	hold_until;		/* in: the hold ends by then at the latest; 0: no cap */
	int	batch;			/* in: the provider call that wrote the values */
	int	member;			/* in: that call changed a value here, in one
					   atomic change (provider.h) with its batch */
	int	servers_only;		/* in: do not wait for the cache (doctor) */
	int	witness;		/* in: a member whose values cannot be on a
					   server from before the change (no pending
					   removal at the name): see below */
	double	done_at;		/* out: when every nameserver was done; 0: never */
	int	others;			/* out (absent): other TXT values remain */
};

enum prop_mode {
	PROP_PRESENT,			/* every value must be served */
	PROP_ABSENT,			/* none of the values may be served */
	PROP_ABSENT_WARN		/* the same, for a caller that succeeds anyway
					   (cleanup, doctor): the timeout report is a
					   warning, not an error */
};

/*
 * When one zone's values reached one nameserver address in earlier waits
 * (core/arrivals.h keeps them): secondaries are late by about the same time
 * each change.  An address with a window [lo, hi] (seconds after the wait
 * starts) is asked every PROP_DENSE_MS inside it and every PROP_SPARSE_MS
 * outside; one without, every PROP_INTERVAL_MS.  So a known lag is caught
 * within PROP_DENSE_MS of the arrival, a lag that changed within
 * PROP_SPARSE_MS, and the queries the window adds (its width / DENSE less
 * its width / SPARSE: about 5 for a typical 0.25 s window) are fewer than
 * the sparse rate saves against 10 per second in any wait of 3 s or more:
 * an address still gets at most 10 queries per second on average.
 */
struct prop_arrival {
	const char *zone;		/* canonical apex */
	const char *addr;		/* address text (struct dns_addr.text) */
	int	have;			/* in: lo and hi hold a window */
	double	lo, hi;			/* in */
	double	seen;			/* out: seconds after the start when this address
					   first served a value the run changed (a
					   member, PROP_PRESENT); 0: not seen */
};

/* The gap before the next query to an address at elapsed seconds (see above). */
double	prop_poll_gap(double elapsed, int have, double lo, double hi);

/*
 * Wait until every nameserver of every target is done and every cache wait
 * is over, at most timeout_s.  arr[0..narr-1] (may be empty): the learned
 * windows of (zone, address) pairs in, what was seen out.  Progress goes to
 * stderr.  Returns ST_OK, or ST_TIMEOUT after printing per nameserver and
 * address what it last answered, and which cache waits had not ended (an
 * error; with PROP_ABSENT_WARN a warning, which -q leaves out).
 */
int	propagation_wait(struct prop_target *t, size_t n, enum prop_mode mode,
    double timeout_s, struct prop_arrival *arr, size_t narr);

/*
 * The end of t's hold when its values were everywhere at `from` (a whole
 * second, prop_cache_end); 0: no hold.
 */
double	prop_hold_end(const struct prop_target *t, double from);

/*
 * When a cache wait for an answer that may be cached until `bound` ends:
 * the whole second at or after it (0 stays 0).  Announcements show clock
 * time in whole seconds; a wait that ends on one is over when its
 * announced "until HH:MM:SS" comes, not up to a second later.
 */
double	prop_cache_end(double bound);

/* Wall-clock time, seconds since the epoch. */
double	prop_wall_now(void);

/* What one address answered for `list`. */
struct prop_answer {
	const char *ns;			/* nameserver name (points into the zone) */
	const char *addr;		/* address text (points into the zone) */
	int	answered;		/* 0: no answer; see error */
	const char *error;		/* static reason when !answered */
	int	rcode;
	int	aa;
	struct txt_value *values;	/* every TXT value at name (malloc'd) */
	size_t	nvalues;
};

/*
 * Ask every address of zone for the TXT values at name.  Returns an array of
 * *n answers, or NULL when out of memory; free with
 * propagation_answers_free().
 */
struct prop_answer *propagation_list(const struct zone *z, const char *name, size_t *n);
void	propagation_answers_free(struct prop_answer *a, size_t n);

#endif
