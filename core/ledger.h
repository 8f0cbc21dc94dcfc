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
 * One file, <state_dir>/cache.ledger, read and rewritten under a lock;
 * entries whose times have passed are dropped.
 */
#ifndef DNS01_LEDGER_H
#define DNS01_LEDGER_H

#include "name.h"

#define LEDGER_MAX_ENTRIES	1024
#define LEDGER_FILE		"cache.ledger"

struct ledger_entry {
	char	name[NAME_BUF];
	double	until;		/* older answers may be cached until then (epoch s) */
	double	changed;	/* dns01's last change was on every server then */
	int	live;		/* the RRset after that change had values */
	int	ttl;		/* and this TTL */
};

/*
 * The entry of name into *e; a name without a current entry gives an
 * all-zero entry.  A ledger that cannot be read is reported and treated as
 * empty.
 */
void	ledger_get(const char *dir, const char *name, struct ledger_entry *e);

/*
 * Note a change at e->name: e->changed, e->live and e->ttl replace the
 * entry's, e->until is raised to the larger of the two.  Failure to write
 * is reported (the next run may then skip a cache wait) but is not fatal.
 */
void	ledger_put(const char *dir, const struct ledger_entry *e);

/* Parse ledger text into e (at most max entries, current at now); for tests. */
size_t	ledger_parse(const char *text, double now, struct ledger_entry *e, size_t max);

#endif
