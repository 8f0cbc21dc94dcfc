/*
 * Pending challenges shared between the hook calls of one ACME run.
 *
 * certbot calls the auth hook once per challenge; the calls with
 * CERTBOT_REMAINING_CHALLENGES > 0 only record theirs here, and the last one
 * writes every record of the run and waits once.  One file per run key
 * (derived from the run's domain list, so runs for different certificates
 * never share a file), locked with flock() while in use.  Entries older
 * than STATE_MAX_AGE are dropped on load, so a file left by a killed run
 * cannot leak into a later one.
 *
 * state_open() returns a locked state the caller releases with
 * state_close().
 */
#ifndef DNS01_STATE_H
#define DNS01_STATE_H

#include <stddef.h>
#include <time.h>

#include "name.h"
#include "../providers/provider.h"

#define STATE_MAX_ENTRIES	200
#define STATE_MAX_AGE		(6 * 3600)	/* seconds */
#define STATE_KEY_MAX		64
#define STATE_FILE_MAX		(STATE_MAX_ENTRIES * 512)

#define STATE_RECORDED	0	/* known, not written yet */
#define STATE_WRITTEN	1	/* at the provider */
#define STATE_CLEANUP	2	/* at the provider; its cleanup call has come */

struct state_entry {
	time_t	created;
	char	domain[NAME_BUF];	/* as the hook gave it, checked */
	char	value[VALUE_BUF];
	char	id[RECORD_ID_MAX];	/* provider record id, "" if none */
	int	written;		/* STATE_* below */
};

struct state {
	int	fd;
	char	*path;
	struct state_entry e[STATE_MAX_ENTRIES];
	size_t	n;
};

/* A run key "PREFIX-<16 hex digits>" from a string (e.g. CERTBOT_ALL_DOMAINS). */
void	state_key(const char *prefix, const char *s, char *out, size_t outlen);

/*
 * Open (creating dir 0700 and the file 0600) and lock the state of key,
 * dropping entries older than STATE_MAX_AGE.  ST_OK or ST_CONFIG/ST_FAIL.
 */
int	state_open(const char *dir, const char *key, struct state **out);

/* Write the entries back.  ST_OK or ST_FAIL. */
int	state_save(struct state *st);

/* Unlock and free; with remove, delete the file first. */
void	state_close(struct state *st, int remove);

/* The entry for domain+value, or NULL. */
struct state_entry *state_find(struct state *st, const char *domain, const char *value);

/* Add domain+value (or return the existing entry).  NULL when full. */
struct state_entry *state_add(struct state *st, const char *domain, const char *value);

/* Remove one entry. */
void	state_remove(struct state *st, struct state_entry *e);

/*
 * Take an exclusive lock on <dir>/<name>.lock (creating dir 0700 and the
 * file 0600), waiting for other holders; release it with state_unlock().
 * Serialises dns01 processes on one host, e.g. per zone.  ST_OK or an error.
 */
int	state_lock(const char *dir, const char *name, int *fd);
void	state_unlock(int fd);

/* Parse state text into st (entries appended); for tests.  Bad lines are skipped. */
void	state_parse(struct state *st, const char *text, time_t now);

#endif
