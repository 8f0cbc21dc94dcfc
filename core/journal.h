/*
 * The run journal: every TXT value a hook call wrote (or is about to
 * write), so that nothing a run wrote is ever forgotten.
 *
 * One file, <state_dir>/journal, shared by every hook dialect and every
 * dns01 process of the state_dir; read and rewritten (temp file + fsync +
 * rename) under <state_dir>/journal.lock, held only for that.  Each entry
 * belongs to a run, named by a random token; the run's token file
 * <state_dir>/run-<token>.lock exists while the run has entries and is
 * flock()ed by the process that acts for the run.  So:
 *
 *   - an entry whose token file is locked belongs to a live process;
 *   - an entry whose token file can be locked belongs to a run that is not
 *     running now: finished, between certbot's hook calls, or killed;
 *   - an entry whose token file does not exist was not written by dns01
 *     (a planted or damaged line): it is ignored and never acted upon.
 *
 * What an entry's status says (JOURNAL_*) decides what a later call does
 * with it; the policy is in core/run.c (run_recover).
 *
 * journal_open() returns a locked, loaded journal that the caller releases
 * with journal_close(); journal_token_new()/journal_token_take() give an
 * fd holding the token's lock that journal_token_release() closes.
 */
#ifndef DNS01_JOURNAL_H
#define DNS01_JOURNAL_H

#include <stddef.h>
#include <time.h>

#include "name.h"
#include "../providers/provider.h"

#define JOURNAL_FILE		"journal"
#define JOURNAL_LOCK		"journal"	/* <state_dir>/journal.lock */
#define JOURNAL_MAX_ENTRIES	2000		/* in the whole journal */
#define JOURNAL_LINE_MAX	1024		/* one entry, newline included */
#define JOURNAL_FILE_MAX	(JOURNAL_MAX_ENTRIES * JOURNAL_LINE_MAX)
#define JOURNAL_TOKEN_LEN	16		/* hex digits */
#define JOURNAL_TOKEN_BUF	(JOURNAL_TOKEN_LEN + 1)
#define JOURNAL_KEY_MAX		64		/* run key, e.g. "certbot-<16 hex>" */
/* An entry this old is abandoned: its client will not clean it up any more. */
#define JOURNAL_MAX_AGE		(6 * 3600)
/* Entries dated at most this far ahead are accepted (clocks step). */
#define JOURNAL_CLOCK_SLACK	300

enum journal_status {
	JOURNAL_RECORDED = 0,	/* certbot: known, not written yet */
	JOURNAL_WRITING = 1,	/* being written or waited for by its run */
	JOURNAL_WRITTEN = 2,	/* handed to the ACME client, which cleans it up */
	JOURNAL_CLEANUP = 3	/* certbot: its cleanup call came, the last one deletes */
};

struct journal_entry {
	time_t	created;
	enum journal_status status;
	char	token[JOURNAL_TOKEN_BUF];	/* the run's */
	char	key[JOURNAL_KEY_MAX];		/* the run key (certbot), "" if none */
	char	name[NAME_BUF];			/* the owner the value was asked for */
	char	value[VALUE_BUF];
	char	id[RECORD_ID_MAX];		/* provider record id, "" if none */
};

struct journal {
	char	*dir;
	char	*path;
	int	lockfd;
	struct journal_entry *e;	/* n entries, room for cap (at most
					   JOURNAL_MAX_ENTRIES); grown as needed */
	size_t	n, cap;
};

/* A run key "PREFIX-<16 hex digits>" from a string (e.g. CERTBOT_ALL_DOMAINS). */
void	journal_key(const char *prefix, const char *s, char *out, size_t outlen);

/*
 * Lock and read the journal of dir (creating dir 0700 if needed).  A
 * journal that is not a regular file of ours with one link is reported and
 * read as empty (the next save replaces it); damaged lines are reported by
 * line number and dropped at the next save.  ST_OK, or ST_CONFIG/ST_FAIL.
 */
int	journal_open(const char *dir, struct journal **out);

/* Write the entries back atomically.  ST_OK or ST_FAIL after saying why. */
int	journal_save(struct journal *j);

/* Unlock and free (NULL is fine). */
void	journal_close(struct journal *j);

/* Append an entry (created now); NULL when the journal is full. */
struct journal_entry *journal_add(struct journal *j, enum journal_status status,
    const char *token, const char *key, const char *name, const char *value);

/* Remove entry e (a pointer into j->e). */
void	journal_remove(struct journal *j, struct journal_entry *e);

/* How many entries belong to token. */
size_t	journal_count(const struct journal *j, const char *token);

/*
 * A new run token and its token file, created and locked.  Call with the
 * journal open (so no one sees the file before its entries).  ST_OK or
 * ST_FAIL; *fd holds the lock.
 */
int	journal_token_new(const char *dir, char token[JOURNAL_TOKEN_BUF], int *fd);

#define TOKEN_TAKEN	0	/* locked by us now */
#define TOKEN_BUSY	1	/* locked by a live process */
#define TOKEN_ABSENT	2	/* no token file: the token is not a dns01 run's */
#define TOKEN_ERROR	3

/*
 * Lock token's file: waiting for its holder when wait is set, else not.
 * TOKEN_TAKEN (*fd holds the lock), TOKEN_BUSY, TOKEN_ABSENT or TOKEN_ERROR.
 */
int	journal_token_take(const char *dir, const char *token, int wait, int *fd);

/* 1 when token is a dns01 run's: its token file exists. */
int	journal_token_exists(const char *dir, const char *token);

/* Release a token lock; with remove, delete the token file first. */
void	journal_token_release(const char *dir, const char *token, int fd, int remove);

/*
 * Parse journal text into j (entries appended), as of now.  Returns the
 * number of damaged lines; the first one's number and what is wrong with it
 * go to *bad_line and *why (when not NULL).  For journal_open and tests.
 */
size_t	journal_parse(struct journal *j, const char *text, time_t now, size_t *bad_line,
    const char **why);

/* The text of entry e, newline included.  -1 if it does not fit. */
int	journal_format(const struct journal_entry *e, char *out, size_t outlen);

#endif
