/*
 * One run: the challenges (name + value) a command or hook call handles,
 * and the steps every front end shares — locate (CNAME following, zone,
 * provider routing), write or delete through the providers (one call per
 * provider and zone), and wait on every authoritative server.
 *
 * run_new() takes a loaded config (still owned by the caller); run_free()
 * releases the discovery cache and the provider instances.
 */
#ifndef DNS01_RUN_H
#define DNS01_RUN_H

#include <stddef.h>

#include "config.h"
#include "journal.h"
#include "ledger.h"
#include "propagation.h"
#include "zone.h"
#include "../providers/provider.h"

#define RUN_MAX_CHALLENGES	200	/* challenges handled in one run */

struct challenge {
	char	name[NAME_BUF];		/* where the value is asked for */
	char	value[VALUE_BUF];
	char	id[RECORD_ID_MAX];	/* provider record id, "" if none */
	char	target[NAME_BUF];	/* owner after CNAMEs (run_locate) */
	const struct zone *zone;	/* zone holding target (run_locate) */
	char	how[LOCATE_HOW_MAX];	/* how that zone was found (run_locate) */
	const struct provider_conf *pc;	/* its provider (run_add, run_del) */
	int	sent;			/* run_add: CH_* below */
	int	batch;			/* run_add: which provider call of the run */
	int	fresh;			/* run_add: that call put the value there, in one
					   change with the rest of the batch (provider.h:
					   atomic) */
};

#define CH_REFUSED	-1	/* its provider call failed at the credentials or
				   TLS (ST_CONFIG): nothing of it was written */
#define CH_UNSENT	0	/* not sent (an earlier provider call failed) */
#define CH_FAILED	1	/* its provider call failed: may or may not be there */
#define CH_ADDED	2	/* the provider accepted it */

struct run;

int	run_new(const struct config *cfg, struct run **out);
void	run_free(struct run *r);

/*
 * Make the provider instance of each challenge name's own route (its
 * `zones =` match) before anything is sent, so that a provider section with
 * a bad key fails before a single DNS query: ST_OK, or the status create()
 * gave after saying why.  (A CNAME target may route to another provider,
 * whose instance is made when the target is known.)
 */
int	run_precheck(struct run *r, const struct challenge *c, size_t n);

/* Find target and zone of each challenge.  ST_OK or an error status. */
int	run_locate(struct run *r, struct challenge *c, size_t n);

/*
 * Add every value (after run_locate), each through the provider whose
 * `zones` match its target.  Record ids are written back into c[].id.
 */
int	run_add(struct run *r, struct challenge *c, size_t n);

/* Delete exactly these values (after run_locate). */
int	run_del(struct run *r, struct challenge *c, size_t n);

/*
 * Wait until every authoritative server has (or no longer has) the values.
 * After run_add, also until no resolver can still hold an older answer that
 * dns01 replaced (core/ledger.h); after run_add or run_del, note the change
 * in the ledger.
 *
 * After run_add, once every server has the values, a provider with a
 * confirm op (provider.h) checks that they are still there and writes back
 * those another writer erased; the wait then starts over for the rest of
 * timeout_s.  At most RUN_CONFIRM_ROUNDS confirmations: one that still
 * finds values gone after the last wait fails the call (ST_PROVIDER).
 */
#define RUN_CONFIRM_ROUNDS	3
int	run_wait(struct run *r, struct challenge *c, size_t n, enum prop_mode mode,
    double timeout_s);

/*
 * As run_wait(PROP_PRESENT), but the wait ends when every authoritative
 * server has the values: timeout_s bounds only that.  A cache wait is
 * worked out and noted in the ledger as by run_wait, but not waited for
 * nor announced (doctor measures propagation and reports the cache wait in
 * its own line: run_cache_plan).
 */
int	run_wait_servers(struct run *r, struct challenge *c, size_t n, double timeout_s);

/*
 * The cache wait a write at t->name started now would have, as run_wait
 * works it out: t->not_before, t->hold and t->hold_until (propagation.h),
 * and the ledger entry behind them into *e.  Nothing is announced.
 */
void	run_cache_plan(const struct run *r, struct prop_target *t, struct ledger_entry *e);

/* Instead of run_wait (--no-wait): note the change in the ledger as of now. */
void	run_unwaited(struct run *r, const struct challenge *c, size_t n, enum prop_mode mode);

/*
 * Check pc's credentials for zone z with its provider's verify op, through
 * the run's provider instance (so a later change reuses it).  *supported
 * is 0 when the provider has no verify op.  Status; what describes success.
 */
int	run_verify(struct run *r, const struct provider_conf *pc, const struct zone *z,
    int *supported, char *what, size_t whatlen);

/* The TTL records get from ops: `ttl =` raised to its minimum, or its default. */
int	run_ttl(const struct config *cfg, const struct provider_ops *ops);

/*
 * The run journal (core/journal.h), for the hook dialects.  A hook call
 * acts for one run, named by a token: run_token() makes the call that run
 * (taking an existing token, as certbot's later calls do, or a new one).
 * The token is released by run_free().
 *
 * Every value is journaled before it is written, with its record id once
 * the provider gave one, so that whatever happens to the process, what it
 * wrote is known to the next dns01 call at this state_dir.
 */

/*
 * Act for run token (NULL or "": a new run).  A token that is not a
 * dns01 run's any more gives a new run too.  ST_OK or ST_FAIL.
 */
int	run_token(struct run *r, const char *token);

/* The run's token ("" before run_token). */
const char *run_token_of(const struct run *r);

/*
 * The token of run key's current run (its newest entry not yet written)
 * into token, "" if none.  ST_OK or an error status.
 */
int	run_key_token(struct run *r, const char *key, char token[JOURNAL_TOKEN_BUF]);

/*
 * Delete what earlier runs left at the provider, saying so: values whose
 * run died while writing or waiting (SIGKILL, a crash, a failed
 * rollback), values handed to an ACME client more than JOURNAL_MAX_AGE
 * ago that it never cleaned up, and — with stale_key, when a new run of
 * that key begins — everything an earlier run of the key left.  Entries of
 * live processes are left alone; entries whose token is not a dns01 run's
 * are dropped from the journal and never acted on.  Problems are warnings:
 * the caller goes on.
 */
void	run_recover(struct run *r, const char *stale_key);

/* Journal c[] as known but not written (certbot's earlier auth calls). */
int	run_record(struct run *r, const struct challenge *c, size_t n, const char *key);

/*
 * Locate, journal, write, wait: on success the values are journaled as
 * handed to the client (its cleanup call deletes them).  On any failure
 * after writing, the values are deleted again before returning (a value
 * that cannot be deleted stays journaled, and the next call deletes it).
 * Status of the write or the wait.
 */
int	run_present(struct run *r, struct challenge *c, size_t n, const char *key,
    double timeout_s);

/*
 * Mark c[] (journaled by this run) as cleaned up by their client; certbot's
 * last cleanup call deletes them.  The number of entries marked.
 */
size_t	run_mark_cleanup(struct run *r, const struct challenge *c, size_t n);

/*
 * This run's journaled values with status (JOURNAL_RECORDED: certbot's
 * earlier auth calls; JOURNAL_CLEANUP: marked by run_mark_cleanup) as
 * challenges in c[] (room for max), ids included.  The number filled in.
 */
size_t	run_entries(struct run *r, enum journal_status status, struct challenge *c,
    size_t max);

/*
 * Delete exactly these values (located here) and drop them from the
 * journal; an id journaled for a value is used when c[] has none.  Does
 * not wait for the servers: the removal goes into the cache ledger as
 * pending (ledger.h).  Status of the deletion; a value that cannot be
 * deleted stays journaled.
 */
int	run_remove(struct run *r, struct challenge *c, size_t n);

/* The discovery context, for `list`. */
struct discovery *run_discovery(struct run *r);

#endif
