/*
 * The cache ledger: for names whose TXT RRset dns01 changed, until when a
 * resolver may still hold an older answer.
 *
 * A CA validates through recursive resolvers that keep an answer for its
 * TTL.  When lego or uacme validate apex and wildcard one after the other,
 * the second value is written at the same name seconds after the first was
 * validated and removed; a resolver that cached the first answer keeps
 * serving it, and the validation fails.  So every change dns01 makes is
 * noted here (per name, shared by all dns01 processes of a state_dir), and
 * a later write at the name waits until no older answer can be cached.
 *
 * One file, <state_dir>/cache.ledger, read under a lock and replaced as a
 * whole (a new file renamed over it); entries whose times have passed, and
 * lines dns01 cannot have written, are dropped.
 */
#ifndef DNS01_LEDGER_H
#define DNS01_LEDGER_H

#include <stddef.h>

#include "config.h"
#include "name.h"

#define LEDGER_MAX_ENTRIES	1024
#define LEDGER_FILE		"cache.ledger"

/*
 * Bounds of an honest entry.  dns01 notes a change when it is on every
 * server (changed <= now) and its cache wait ends at most the largest TTL
 * it writes plus LEDGER_CACHE_SLACK_S after that.  A clock stepped back by
 * up to LEDGER_CLOCK_STEP_S (an NTP correction) moves honest entries that
 * far into the future.  Anything beyond is damage: honouring it would make
 * every later write at the name wait until its timeout.
 */
#define LEDGER_TTL_MAX		CONFIG_MAX_TTL	/* the largest TTL dns01 writes */
#define LEDGER_CACHE_SLACK_S	1	/* resolvers count whole seconds (run.c) */
#define LEDGER_CLOCK_STEP_S	300
#define LEDGER_AHEAD_MAX_S	(LEDGER_TTL_MAX + LEDGER_CACHE_SLACK_S + LEDGER_CLOCK_STEP_S)

/*
 * A removal nobody watched (a hook's cleanup does not wait; a rollback or
 * recovery neither): it is assumed to reach every server within
 * LEDGER_UNSEEN_S of the provider accepting it.  Until the next write at
 * the name bounds it better (see run.c: cache_waits), an answer with the
 * removed values may be cached until changed + LEDGER_UNSEEN_S + ttl +
 * LEDGER_CACHE_SLACK_S: ledger_pending_end().
 */
#define LEDGER_UNSEEN_S		60

struct ledger_entry {
	char	name[NAME_BUF];
	double	until;		/* older answers may be cached until then (epoch s) */
	double	changed;	/* dns01's last change was on every server then */
	int	live;		/* the RRset after that change had values */
	int	ttl;		/* and this TTL */
	int	pending;	/* a removal accepted at `changed`, not seen on the
				   servers (live is then 1: unknown) */
};

/* When an unwatched removal's answers are out of every cache; 0 if e is none. */
double	ledger_pending_end(const struct ledger_entry *e);

/*
 * The entry of name into *e; a name without a current entry gives an
 * all-zero entry.  A ledger that cannot be read (not a regular file, a
 * symbolic link, an I/O error) is reported and treated as empty: cache
 * waits are off, the command goes on.  Damaged lines are reported once per
 * process and ignored.  Never blocks on anything but the ledger's lock.
 */
void	ledger_get(const char *dir, const char *name, struct ledger_entry *e);

/*
 * The entries of the n names (each a canonical name) into e[0..n-1], under
 * one lock and one read; as ledger_get() for each.
 */
void	ledger_get_many(const char *dir, const char *const *names, size_t n,
	    struct ledger_entry *e);

/*
 * Note a change at e->name: e->changed, e->live, e->ttl and e->pending
 * replace the entry's, e->until is raised to the larger of the two.  The ledger is
 * written to a new file that replaces the old one (never written in
 * place, so a crash leaves the old or the new ledger, and a hard link to
 * it keeps its content); damaged lines are dropped.  Failure to write is
 * reported (the next run may then skip a cache wait) but is not fatal.
 */
void	ledger_put(const char *dir, const struct ledger_entry *e);

/* ledger_put() for each of e[0..n-1], in one read and one write. */
void	ledger_put_many(const char *dir, const struct ledger_entry *e, size_t n);

/* What one ledger entry is at a given time. */
enum ledger_verdict {
	LEDGER_CURRENT,		/* it still says something */
	LEDGER_EXPIRED,		/* well-formed, its times have passed */
	LEDGER_DAMAGED		/* nothing dns01 writes */
};

/*
 * Parse one line (len bytes, without its newline) into *e: "UNTIL CHANGED
 * LIVE TTL NAME", one space apart, times as decimal numbers; LIVE is 0, 1,
 * or p for a pending (unwatched) removal.  0, or -1 with
 * *why set to a static reason.  Only the syntax: ledger_judge() the rest.
 */
int	ledger_parse_line(const char *line, size_t len, struct ledger_entry *e,
	    const char **why);

/* Judge e at now; for LEDGER_DAMAGED *why is set to a static reason. */
enum ledger_verdict ledger_judge(const struct ledger_entry *e, double now, const char **why);

#define LEDGER_DAMAGE_SHOWN	8	/* damaged lines named one by one */

struct ledger_damage {
	size_t	line;		/* 1-based */
	const char *why;	/* static */
};

/* The result of ledger_parse(). */
struct ledger_parsed {
	struct ledger_entry *e;	/* in: room for max entries */
	size_t	max;
	size_t	n;		/* out: the current entries */
	struct ledger_damage bad[LEDGER_DAMAGE_SHOWN];	/* the first damaged lines */
	size_t	nbad;		/* all damaged lines */
};

/*
 * Parse ledger text (len bytes, NULs allowed) at now into p: current
 * entries in file order, each name once; damaged lines (and a last line
 * without a newline) are skipped and counted.
 */
void	ledger_parse(const char *text, size_t len, double now, struct ledger_parsed *p);

#endif
