/*
 * Arrival times: per zone and nameserver address, how many seconds after
 * dns01's write the address began serving the new records (its replication
 * lag), over the last few runs.
 *
 * A secondary's lag is usually about the same from one change to the next,
 * so the poll scheduler can query an address densely around the time its
 * records are expected (arrivals_window()) and sparsely elsewhere.  This is
 * only a hint: an address without history, or one whose file cannot be
 * read, is polled as before, and nothing here ever fails a command.
 *
 * One file, <state_dir>/arrivals, shared by all dns01 processes of a
 * state_dir: read under the lock <state_dir>/arrivals.lock and replaced as a
 * whole (a new file renamed over it, see state_write()).  One line per
 * (zone, address):
 *
 *	UPDATED ZONE ADDR D1,D2,...
 *
 * UPDATED the epoch seconds of the last observation, ZONE the canonical zone
 * apex, ADDR the address as struct dns_addr.text, then 1..ARRIVALS_KEEP
 * delays in seconds, oldest first; times with three decimals.  Lines dns01
 * cannot have written are reported and dropped at the next update; entries
 * not updated for ARRIVALS_MAX_AGE_S are dropped silently.
 */
#ifndef DNS01_ARRIVALS_H
#define DNS01_ARRIVALS_H

#include <stddef.h>

#include "dnsio.h"
#include "name.h"

#define ARRIVALS_FILE		"arrivals"	/* in state_dir; lock "arrivals.lock" */
#define ARRIVALS_KEEP		8	/* the last delays kept per zone and address */
#define ARRIVALS_MAX_ENTRIES	512	/* (zone, address) pairs; the least recently
					   updated go first */
#define ARRIVALS_MAX_DELAY_S	3600	/* a delay beyond (or negative, NaN, inf) is damage */
#define ARRIVALS_MAX_AGE_S	(30 * 86400)	/* an entry not updated for this long is
						   dropped (stale) */
#define ARRIVALS_CLOCK_STEP_S	300	/* an UPDATED further ahead of now is damage (a
					   clock stepped back by an NTP correction moves
					   honest entries this far into the future) */

/*
 * arrivals_window(): the prediction uses the most recent ARRIVALS_USE delays
 * (so a changed lag is learned within a few runs), needs ARRIVALS_MIN_SEEN of
 * them, and widens their range by ARRIVALS_MARGIN_S plus ARRIVALS_MARGIN_FRAC
 * of the delay on each side (the jitter of one poll round trip, and of a
 * transfer that takes longer when the lag is long).
 */
#define ARRIVALS_USE		4
#define ARRIVALS_MIN_SEEN	1
#define ARRIVALS_MARGIN_S	0.05
#define ARRIVALS_MARGIN_FRAC	0.01
/*
 * Delays further apart than this are not one lag with jitter but a lag
 * that changed: the window is then around the newest delay alone, so the
 * dense part stays short (propagation.h: the query budget).
 */
#define ARRIVALS_SPREAD_MAX_S	0.5

/* Characters of the fields of a line, and of a whole line (no newline). */
#define ARRIVALS_TIME_CHARS	24	/* UPDATED; dns01 writes "1732748000.123" */
#define ARRIVALS_DELAY_CHARS	12	/* one delay; dns01 writes at most "3600.000" */
#define ARRIVALS_DECIMALS	3	/* of a delay, at most */
#define ARRIVALS_LINE_MAX	(ARRIVALS_TIME_CHARS + NAME_BUF + DNS_ADDR_TEXT + \
				 ARRIVALS_KEEP * (ARRIVALS_DELAY_CHARS + 1) + 4)

struct arrival {
	char	zone[NAME_BUF];		/* canonical zone apex ("example.test") */
	char	addr[DNS_ADDR_TEXT];	/* address text as struct dns_addr.text */
	double	delay[ARRIVALS_KEEP];	/* seconds after the write, oldest first */
	size_t	n;			/* how many of delay[] hold values */
	double	updated;		/* epoch seconds of the last arrivals_add() */
};

/*
 * For each a[i] (zone and addr filled in by the caller), fill delay/n/updated
 * from the file (n = 0 and updated = 0 when there is no entry), under one lock
 * and one read.  Never fails: a file that cannot be read (not a regular file,
 * a symbolic link, an I/O error) is reported once per process and treated as
 * empty; damaged lines are reported once and skipped.  Never blocks on
 * anything but the file's lock.
 */
void	arrivals_get(const char *dir, struct arrival *a, size_t n);

/*
 * For each obs[i] (zone, addr, and exactly one delay in delay[0], n == 1):
 * append that delay to the entry of (zone, addr), keeping the last
 * ARRIVALS_KEEP, and set its updated to now; all in one lock, one read and
 * one atomic write (state_write()).  Damaged and stale lines are dropped;
 * when the file is full, the least recently updated entry goes.
 * Observations that are damage (a delay that is negative, not finite or
 * beyond ARRIVALS_MAX_DELAY_S; n != 1; a zone or address that is not one)
 * are skipped with a warning.  Failure to write is reported, never fatal.
 */
void	arrivals_add(const char *dir, const struct arrival *obs, size_t n);

/*
 * Parse one line (len bytes, without its newline) "UPDATED ZONE ADDR
 * D1,D2,...", one space apart: UPDATED epoch seconds (digits, optionally '.'
 * and digits), ZONE a domain name (name_check(), no wildcard; stored in
 * canonical form), ADDR an address text (dnsio_parse_addr(); stored as its
 * struct dns_addr.text), 1..ARRIVALS_KEEP delays, comma separated, each
 * digits with up to ARRIVALS_DECIMALS decimals and at most
 * ARRIVALS_MAX_DELAY_S.  Only the line: arrivals_parse() judges UPDATED
 * against now.  0, or -1 with *why set to a static reason.
 */
int	arrivals_parse_line(const char *line, size_t len, struct arrival *a,
	    const char **why);

/*
 * The window in which the next arrival is expected, from a's history, in
 * seconds after the write, over the most recent ARRIVALS_USE delays:
 *	*lo = min - ARRIVALS_MARGIN_S - ARRIVALS_MARGIN_FRAC * min (at least 0)
 *	*hi = max + ARRIVALS_MARGIN_S + ARRIVALS_MARGIN_FRAC * max
 * where min and max are the newest delay alone when they are more than
 * ARRIVALS_SPREAD_MAX_S apart.
 * 1 when there is a window; 0 (and *lo = *hi = 0) when a has fewer than
 * ARRIVALS_MIN_SEEN delays: no prediction.  Delays that are not finite or
 * outside 0..ARRIVALS_MAX_DELAY_S do not count.  Pure.
 */
int	arrivals_window(const struct arrival *a, double *lo, double *hi);

#define ARRIVALS_DAMAGE_SHOWN	4	/* damaged lines named in the warning */

struct arrivals_damage {
	size_t	line;		/* 1-based */
	const char *why;	/* static */
};

/* The result of arrivals_parse(). */
struct arrivals_parsed {
	struct arrival *e;	/* in: room for max entries */
	size_t	max;
	size_t	n;		/* out: the current entries, in file order */
	size_t	nstale;		/* entries dropped as not updated for ARRIVALS_MAX_AGE_S */
	struct arrivals_damage bad[ARRIVALS_DAMAGE_SHOWN];	/* the first damaged lines */
	size_t	nbad;		/* all damaged lines */
};

/*
 * Parse the text of an arrivals file (len bytes, NULs allowed) at now into
 * p: current entries in file order, each (zone, address) once; stale entries
 * are dropped and counted; damaged lines (an UPDATED more than
 * ARRIVALS_CLOCK_STEP_S ahead of now, a second line for a (zone, address),
 * more than max entries, a last line without a newline) skipped and counted.
 * Pure.
 */
void	arrivals_parse(const char *text, size_t len, double now, struct arrivals_parsed *p);

#endif
