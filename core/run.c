/* Locate, write, delete and wait for a set of challenges; see run.h. */
#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "arrivals.h"
#include "journal.h"
#include "ledger.h"
#include "state.h"
#include "log.h"
#include "run.h"
#include "status.h"

/*
 * Resolvers keep time in whole seconds: an answer fetched at f with TTL T
 * can be served until just before floor(f) + T + 1.  Cache waits add this.
 */
#define CACHE_CLOCK_SLACK_S	1

struct instance {
	const struct provider_conf *pc;
	const struct provider_ops *ops;
	void	*priv;
};

struct run {
	const struct config *cfg;
	struct discovery *d;
	struct instance inst[CONFIG_MAX_PROVIDERS];
	size_t	ninst;
	int	wrote;			/* run_add or run_del changed something */
	int	batches;		/* provider calls so far (challenge.batch) */
	char	token[JOURNAL_TOKEN_BUF];	/* the journal run this call acts for */
	int	tokfd;			/* holding its token lock; -1 if none */
};

static void release_token(struct run *r);

int
run_new(const struct config *cfg, struct run **out)
{
	struct run *r = calloc(1, sizeof(*r));
	int rc;

	if (r == NULL) {
		log_err("out of memory");
		return ST_FAIL;
	}
	r->cfg = cfg;
	r->tokfd = -1;
	if ((rc = discovery_new(cfg, &r->d)) != ST_OK) {
		free(r);
		return rc;
	}
	*out = r;
	return ST_OK;
}

void
run_free(struct run *r)
{
	size_t i;

	if (r == NULL)
		return;
	release_token(r);
	for (i = 0; i < r->ninst; i++)
		r->inst[i].ops->destroy(r->inst[i].priv);
	discovery_free(r->d);
	free(r);
}

struct discovery *
run_discovery(struct run *r)
{
	return r->d;
}

/* The provider instance for pc, created on first use. */
static int
instance(struct run *r, const struct provider_conf *pc, struct instance **out)
{
	struct instance *in;
	size_t i;
	int rc;

	for (i = 0; i < r->ninst; i++)
		if (r->inst[i].pc == pc) {
			*out = &r->inst[i];
			return ST_OK;
		}
	in = &r->inst[r->ninst];
	in->pc = pc;
	in->ops = provider_find(pc->type);
	if ((rc = in->ops->create(pc, r->cfg, &in->priv)) != ST_OK)
		return rc;
	r->ninst++;
	*out = in;
	return ST_OK;
}

int
run_verify(struct run *r, const struct provider_conf *pc, const struct zone *z,
    int *supported, char *what, size_t whatlen)
{
	struct instance *in;
	int rc;

	*supported = 0;
	if ((rc = instance(r, pc, &in)) != ST_OK || in->ops->verify == NULL)
		return rc;
	*supported = 1;
	return in->ops->verify(in->priv, z, what, whatlen);
}

int
run_locate(struct run *r, struct challenge *c, size_t n)
{
	size_t i;
	int rc;

	for (i = 0; i < n; i++) {
		if ((rc = discovery_locate(r->d, c[i].name, c[i].target, &c[i].zone, c[i].how,
		    sizeof(c[i].how))) != ST_OK)
			return rc;
		log_debug("%s: zone %s (%s)", c[i].target, c[i].zone->apex, c[i].how);
	}
	return ST_OK;
}

int
run_precheck(struct run *r, const struct challenge *c, size_t n)
{
	const struct provider_conf *pc;
	struct instance *in;
	size_t i;
	int rc;

	for (i = 0; i < n; i++)
		if ((pc = config_route(r->cfg, c[i].name)) != NULL &&
		    (rc = instance(r, pc, &in)) != ST_OK)
			return rc;
	return ST_OK;
}

/* Pick the provider of every challenge.  ST_OK or ST_CONFIG. */
static int
route(struct run *r, struct challenge *c, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if ((c[i].pc = config_route(r->cfg, c[i].target)) == NULL) {
			log_err("no provider serves %s (zone %s): add it to some provider's "
			    "'zones ='", c[i].target, c[i].zone->apex);
			return ST_CONFIG;
		}
		log_debug("%s: provider %s", c[i].target, c[i].pc->name);
	}
	return ST_OK;
}

int
run_ttl(const struct config *cfg, const struct provider_ops *ops)
{
	if (cfg->ttl < 0)
		return ops->default_ttl;
	return cfg->ttl < ops->min_ttl ? ops->min_ttl : cfg->ttl;
}

/* run_ttl(), saying so on stderr when `ttl =` is raised to the minimum. */
static int
ttl_for_write(const struct run *r, const struct provider_ops *ops)
{
	if (r->cfg->ttl >= 0 && r->cfg->ttl < ops->min_ttl)
		log_info("ttl = %d is below what %s accepts: the records get TTL %d",
		    r->cfg->ttl, ops->type, ops->min_ttl);
	return run_ttl(r->cfg, ops);
}

enum change_op {
	OP_ADD,
	OP_DEL,
	OP_CONFIRM		/* providers with a confirm op: write back what is gone */
};

/*
 * Add, delete or confirm, one provider call per (provider, zone).  *nchanged
 * (may be NULL): how many values the calls reported changed (record.changed).
 */
static int
change(struct run *r, struct challenge *c, size_t n, enum change_op op, size_t *nchanged)
{
	struct record *recs = calloc(n ? n : 1, sizeof(*recs));
	size_t *idx = calloc(n ? n : 1, sizeof(*idx));
	char *done = calloc(n ? n : 1, 1);
	struct instance *in;
	size_t i, j, k, changed = 0;
	int rc = ST_OK;

	if (recs == NULL || idx == NULL || done == NULL) {
		log_err("out of memory");
		rc = ST_FAIL;
		goto out;
	}
	if ((rc = route(r, c, n)) != ST_OK)
		goto out;
	for (i = 0; i < n && op == OP_ADD; i++)
		c[i].sent = CH_UNSENT;
	r->wrote = 1;
	for (i = 0; i < n && rc == ST_OK; i++) {
		if (done[i])
			continue;
		for (j = i, k = 0; j < n; j++) {
			if (done[j] || c[j].pc != c[i].pc || c[j].zone != c[i].zone)
				continue;
			/* the same value twice at one name is one record */
			for (size_t m = 0; m < k; m++)
				if (strcmp(recs[m].name, c[j].target) == 0 &&
				    strcmp(recs[m].value, c[j].value) == 0)
					goto same;
			recs[k].name = c[j].target;
			recs[k].value = c[j].value;
			memcpy(recs[k].id, c[j].id, sizeof(recs[k].id));
			idx[k++] = j;
same:
			done[j] = 1;
		}
		if ((rc = instance(r, c[i].pc, &in)) != ST_OK)
			break;
		for (j = 0; j < k; j++)
			recs[j].changed = 0;
		if (op == OP_CONFIRM) {
			if (in->ops->confirm == NULL)
				continue;
			rc = in->ops->confirm(in->priv, c[i].zone, recs, k, run_ttl(r->cfg, in->ops));
		} else {
			rc = op == OP_DEL ? in->ops->del(in->priv, c[i].zone, recs, k) :
			    in->ops->add(in->priv, c[i].zone, recs, k, ttl_for_write(r, in->ops));
			r->batches++;
		}
		for (j = 0; j < k; j++)
			changed += rc == ST_OK && recs[j].changed;
		for (j = 0; op == OP_ADD && j < k; j++) {
			if (rc == ST_OK)
				memcpy(c[idx[j]].id, recs[j].id, sizeof(c[idx[j]].id));
			c[idx[j]].sent = rc == ST_OK ? CH_ADDED : rc == ST_CONFIG ? CH_REFUSED :
			    CH_FAILED;
			c[idx[j]].batch = r->batches;
			c[idx[j]].fresh = rc == ST_OK && in->ops->atomic && recs[j].changed;
		}
	}
	if (nchanged != NULL)
		*nchanged = changed;
out:
	free(recs);
	free(idx);
	free(done);
	return rc;
}

int
run_add(struct run *r, struct challenge *c, size_t n)
{
	return change(r, c, n, OP_ADD, NULL);
}

int
run_del(struct run *r, struct challenge *c, size_t n)
{
	return change(r, c, n, OP_DEL, NULL);
}

/* The TTL the run's records at target have (the largest of its challenges'). */
static int
target_ttl(const struct run *r, const struct challenge *c, size_t n, const char *target)
{
	size_t i;
	int ttl = 0, v;

	for (i = 0; i < n; i++)
		if (c[i].pc != NULL && strcmp(c[i].target, target) == 0 &&
		    (v = run_ttl(r->cfg, provider_find(c[i].pc->type))) > ttl)
			ttl = v;
	return ttl;
}

/* The entries of the names of t[] (ledger_get_many).  NULL when out of memory. */
static struct ledger_entry *
ledger_of(const struct run *r, const struct prop_target *t, size_t nt)
{
	struct ledger_entry *e = calloc(nt ? nt : 1, sizeof(*e));
	const char **names = calloc(nt ? nt : 1, sizeof(*names));
	size_t i;

	if (e == NULL || names == NULL) {
		log_err("out of memory");
		free(e);
		e = NULL;
		goto out;
	}
	for (i = 0; i < nt; i++)
		names[i] = t[i].name;
	ledger_get_many(r->cfg->state_dir, names, nt, e);
out:
	free(names);
	return e;
}

/*
 * The cache wait of t (a name about to be written) from its ledger entry e
 * at now (see ledger.h).  An older answer noted in the ledger sets
 * not_before (up to the whole second: prop_cache_end); an RRset dns01
 * itself made less than its TTL ago is replaced now, and may be cached for
 * its TTL after the new one is everywhere: that is the hold.
 *
 * A removal nobody watched (pending) is bounded here: an answer with the
 * removed values that lacks the new ones was fetched before the new values
 * were on every server, so it is out of every cache one TTL after that,
 * and in any case by ledger_pending_end().  A hold capped there.  With say,
 * each wait is announced.
 */
static void
cache_wait_of(const struct ledger_entry *e, struct prop_target *t, double now, int say)
{
	char at[16];

	t->not_before = prop_cache_end(e->until);
	t->hold = t->hold_until = 0;
	t->witness = t->member && ledger_pending_end(e) <= now;
	if (say && t->not_before > now)
		log_info("%s: dns01 changed it %.0f s ago; resolvers may cache the older "
		    "answer until %s (%.0f s from now)", t->name, now - e->changed,
		    log_clock(t->not_before, at, sizeof(at)), t->not_before - floor(now));
	if (ledger_pending_end(e) > now) {
		t->hold = e->ttl + CACHE_CLOCK_SLACK_S;
		t->hold_until = ledger_pending_end(e);
		if (say)
			log_info("%s: dns01 deleted values here %.0f s ago and did not wait for "
			    "the servers to drop them (TTL %d s); the answer this write replaces "
			    "may stay in resolver caches for %d s after it", t->name,
			    now - e->changed, e->ttl, e->ttl);
	} else if (e->live && e->changed + e->ttl > now) {
		t->hold = e->ttl + CACHE_CLOCK_SLACK_S;
		if (say && e->until <= now)
			log_info("%s: dns01 wrote it %.0f s ago (TTL %d s); the answer this "
			    "write replaces may stay in resolver caches for %d s after it",
			    t->name, now - e->changed, e->ttl, e->ttl);
	}
}

/*
 * Before a wait for written values: the cache waits of each name
 * (cache_wait_of), announced unless servers_only.  ST_OK, or ST_FAIL when
 * out of memory.
 */
static int
cache_waits(const struct run *r, struct prop_target *t, size_t nt, int servers_only)
{
	struct ledger_entry *all = ledger_of(r, t, nt);
	double now = prop_wall_now();
	size_t i;

	if (all == NULL)
		return ST_FAIL;
	for (i = 0; i < nt; i++) {
		t[i].servers_only = servers_only;
		cache_wait_of(&all[i], &t[i], now, !servers_only);
	}
	free(all);
	return ST_OK;
}

void
run_cache_plan(const struct run *r, struct prop_target *t, struct ledger_entry *e)
{
	ledger_get(r->cfg->state_dir, t->name, e);
	cache_wait_of(e, t, prop_wall_now(), 0);
}

/*
 * After a wait (or instead of one): note each name's change in the ledger,
 * all names in one write.  A removal that was not seen on every server
 * (not waited for, or the wait ended first) is noted as pending.  An
 * earlier pending removal that this change could not bound (its wait did
 * not end) keeps its conservative end.
 */
static void
note_changes(const struct run *r, const struct challenge *c, size_t n,
    const struct prop_target *t, size_t nt, enum prop_mode mode)
{
	struct ledger_entry *old = ledger_of(r, t, nt), *e = calloc(nt ? nt : 1, sizeof(*e));
	double now = prop_wall_now();
	size_t i;
	int oldttl;

	if (old == NULL || e == NULL) {
		log_warn("out of memory: the cache ledger is not updated");
		goto out;
	}
	for (i = 0; i < nt; i++) {
		snprintf(e[i].name, sizeof(e[i].name), "%s", t[i].name);
		e[i].changed = t[i].done_at > 0 ? t[i].done_at : now;
		e[i].ttl = target_ttl(r, c, n, t[i].name);
		oldttl = old[i].live && old[i].ttl > e[i].ttl ? old[i].ttl : e[i].ttl;
		if (mode == PROP_PRESENT) {
			e[i].live = 1;
			e[i].until = prop_hold_end(&t[i], e[i].changed);
		} else if (t[i].done_at > 0) {
			/* The answer with the deleted values may be cached for their TTL. */
			e[i].until = e[i].changed + oldttl + CACHE_CLOCK_SLACK_S;
			e[i].live = t[i].others;
		} else {
			e[i].pending = e[i].live = 1;
			e[i].ttl = oldttl;
		}
		/*
		 * An earlier pending removal: a write whose values reached every
		 * server bounded it by its hold; anything else leaves it its end.
		 */
		if (!e[i].pending && !(mode == PROP_PRESENT && t[i].done_at > 0) &&
		    ledger_pending_end(&old[i]) > e[i].until)
			e[i].until = ledger_pending_end(&old[i]);
	}
	ledger_put_many(r->cfg->state_dir, e, nt);
out:
	free(old);
	free(e);
}

/* The distinct names of c[] with their values.  NULL when out of memory. */
static struct prop_target *
targets(const struct challenge *c, size_t n, size_t *nt)
{
	struct prop_target *t = calloc(n ? n : 1, sizeof(*t));
	size_t i, j;

	*nt = 0;
	if (t == NULL) {
		log_err("out of memory");
		return NULL;
	}
	for (i = 0; i < n; i++) {
		for (j = 0; j < *nt; j++)
			if (strcmp(t[j].name, c[i].target) == 0)
				break;
		if (j == *nt) {
			t[*nt].name = c[i].target;
			t[*nt].zone = c[i].zone;
			(*nt)++;
		}
		if (t[j].nvalues < PROP_MAX_VALUES)
			t[j].values[t[j].nvalues++] = c[i].value;
		if (c[i].fresh) {
			t[j].member = 1;
			t[j].batch = c[i].batch;
		}
	}
	return t;
}

/* The learned arrivals of a wait: the file's entries and the loop's view. */
struct learned {
	struct arrival *a;
	struct prop_arrival *pa;
	size_t	n;
};

/*
 * The distinct (zone, address) pairs of t[] with their arrival windows
 * from earlier waits (arrivals.h).  Out of memory leaves l empty: the wait
 * then polls without windows.
 */
static void
learned_get(const struct run *r, const struct prop_target *t, size_t nt, struct learned *l)
{
	size_t i, j, k, m, max = 0;

	memset(l, 0, sizeof(*l));
	for (i = 0; i < nt; i++)
		for (j = 0; j < t[i].zone->nns; j++)
			max += t[i].zone->ns[j].naddrs;
	if (max == 0 || (l->a = calloc(max, sizeof(*l->a))) == NULL ||
	    (l->pa = calloc(max, sizeof(*l->pa))) == NULL) {
		free(l->a);
		l->a = NULL;
		return;
	}
	for (i = 0; i < nt; i++)
		for (j = 0; j < t[i].zone->nns; j++)
			for (k = 0; k < t[i].zone->ns[j].naddrs; k++) {
				const char *text = t[i].zone->ns[j].addrs[k].text;

				for (m = 0; m < l->n; m++)
					if (strcmp(l->a[m].zone, t[i].zone->apex) == 0 &&
					    strcmp(l->a[m].addr, text) == 0)
						break;
				if (m < l->n)
					continue;
				snprintf(l->a[m].zone, sizeof(l->a[m].zone), "%s", t[i].zone->apex);
				snprintf(l->a[m].addr, sizeof(l->a[m].addr), "%s", text);
				l->n++;
			}
	arrivals_get(r->cfg->state_dir, l->a, l->n);
	for (m = 0; m < l->n; m++) {
		l->pa[m].zone = l->a[m].zone;
		l->pa[m].addr = l->a[m].addr;
		l->pa[m].have = arrivals_window(&l->a[m], &l->pa[m].lo, &l->pa[m].hi);
		if (l->pa[m].have)
			log_debug("%s at %s: its values usually arrive %.2f to %.2f s after the "
			    "write", l->a[m].zone, l->a[m].addr, l->pa[m].lo, l->pa[m].hi);
	}
}

/* Note when each address first served the run's values; free l. */
static void
learned_put(const struct run *r, struct learned *l)
{
	size_t m, k = 0;

	for (m = 0; m < l->n; m++)
		if (l->pa[m].seen > 0) {
			l->a[k] = l->a[m];
			l->a[k].delay[0] = l->pa[m].seen;
			l->a[k++].n = 1;
		}
	if (k > 0)
		arrivals_add(r->cfg->state_dir, l->a, k);
	free(l->a);
	free(l->pa);
	memset(l, 0, sizeof(*l));
}

/* 1 when every value of c[] was accepted by its provider in this run. */
static int
all_added(const struct challenge *c, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (c[i].sent != CH_ADDED)
			return 0;
	return n > 0;
}

/*
 * The wait, and for values this run wrote, the confirmation: a provider
 * with a confirm op (provider.h) reads again once every server has the
 * values, and writes back those another writer erased meanwhile; then the
 * wait starts over for the time left, at most RUN_CONFIRM_ROUNDS times.
 * run_wait and run_wait_servers; with servers_only, cache waits are worked
 * out and noted, but not waited for.
 */
static int
wait_for(struct run *r, struct challenge *c, size_t n, enum prop_mode mode, double timeout_s,
    int servers_only)
{
	struct prop_target *t;
	struct learned l = { 0 };
	double deadline = log_now() + timeout_s;
	int confirming = r->wrote && mode == PROP_PRESENT && all_added(c, n);
	size_t nt, back = 0;
	int rc, round;

	if ((t = targets(c, n, &nt)) == NULL)
		return ST_FAIL;
	if (r->wrote && mode == PROP_PRESENT && cache_waits(r, t, nt, servers_only) != ST_OK) {
		free(t);
		return ST_FAIL;
	}
	if (r->wrote)
		learned_get(r, t, nt, &l);
	for (round = 1;; round++) {
		rc = propagation_wait(t, nt, mode, deadline - log_now(), l.pa, l.n);
		if (rc != ST_OK || !confirming ||
		    (rc = change(r, c, n, OP_CONFIRM, &back)) != ST_OK || back == 0)
			break;
		if (round == RUN_CONFIRM_ROUNDS) {
			log_err("%zu value(s) were gone from the provider again after the wait "
			    "(%d times): another writer keeps replacing the records; giving up",
			    back, round);
			rc = ST_PROVIDER;
			break;
		}
		log_info("waiting again for the %zu value(s) written back", back);
	}
	if (r->wrote) {
		learned_put(r, &l);
		note_changes(r, c, n, t, nt, mode);
	}
	free(t);
	return rc;
}

int
run_wait(struct run *r, struct challenge *c, size_t n, enum prop_mode mode, double timeout_s)
{
	return wait_for(r, c, n, mode, timeout_s, 0);
}

int
run_wait_servers(struct run *r, struct challenge *c, size_t n, double timeout_s)
{
	return wait_for(r, c, n, PROP_PRESENT, timeout_s, 1);
}

void
run_unwaited(struct run *r, const struct challenge *c, size_t n, enum prop_mode mode)
{
	struct prop_target *t;
	size_t nt;

	if (!r->wrote || (t = targets(c, n, &nt)) == NULL)
		return;
	note_changes(r, c, n, t, nt, mode);
	free(t);
}

/* ------------------------------------------------------------ the journal */

/*
 * Token locks this call took to act for other runs (recovery, cleanup of a
 * value an earlier call wrote).  Each distinct token is tried once; the
 * state says whether the call may act for it.
 */
struct held {
	char	token[JOURNAL_TOKEN_BUF];
	int	state;			/* TOKEN_* of journal.h, or HELD_MINE */
	int	fd;
};

struct holds {
	struct held *h;
	size_t	n, cap;
};

#define HELD_MINE	(-1)

/* The state of token for this call, taking its lock (without waiting) once. */
static int
hold(struct run *r, struct holds *hs, const char *token)
{
	struct held *grown;
	size_t i;

	if (r->token[0] != '\0' && strcmp(token, r->token) == 0)
		return HELD_MINE;
	for (i = 0; i < hs->n; i++)
		if (strcmp(hs->h[i].token, token) == 0)
			return hs->h[i].state;
	if (hs->n == hs->cap) {
		size_t cap = hs->cap ? 2 * hs->cap : 16;

		if ((grown = realloc(hs->h, cap * sizeof(*grown))) == NULL)
			return TOKEN_ERROR;
		hs->h = grown;
		hs->cap = cap;
	}
	grown = &hs->h[hs->n++];
	snprintf(grown->token, sizeof(grown->token), "%s", token);
	grown->state = journal_token_take(r->cfg->state_dir, token, 0, &grown->fd);
	return grown->state;
}

/* 1 when this call may act on entries of token: its own, or taken. */
static int
acting_for(struct run *r, struct holds *hs, const char *token)
{
	int st = hold(r, hs, token);

	return st == HELD_MINE || st == TOKEN_TAKEN;
}

/*
 * Token files in the state directory that no entry names and no process
 * holds: a run killed between creating its token and journaling.  Removed.
 */
static void
remove_orphan_tokens(struct run *r, struct holds *hs, const struct journal *j)
{
	char token[JOURNAL_TOKEN_BUF];
	struct dirent *de;
	DIR *dir;
	size_t len;

	if ((dir = opendir(r->cfg->state_dir)) == NULL)
		return;
	while ((de = readdir(dir)) != NULL) {
		len = strlen(de->d_name);
		if (len != strlen("run-.lock") + JOURNAL_TOKEN_LEN ||
		    strncmp(de->d_name, "run-", 4) != 0 ||
		    strcmp(de->d_name + len - 5, ".lock") != 0)
			continue;
		memcpy(token, de->d_name + 4, JOURNAL_TOKEN_LEN);
		token[JOURNAL_TOKEN_LEN] = '\0';
		if (journal_count(j, token) == 0)
			(void)hold(r, hs, token);
	}
	closedir(dir);
}

/*
 * Release the token locks of hs; with j (the journal, open and current),
 * remove the token files of runs that have no entries left.
 */
static void
release_holds(struct run *r, struct holds *hs, const struct journal *j)
{
	size_t i;

	for (i = 0; i < hs->n; i++)
		if (hs->h[i].state == TOKEN_TAKEN)
			journal_token_release(r->cfg->state_dir, hs->h[i].token, hs->h[i].fd,
			    j != NULL && journal_count(j, hs->h[i].token) == 0);
	free(hs->h);
	memset(hs, 0, sizeof(*hs));
}

/* Release the holds of hs other than tokens tok[0..n), as release_holds. */
static void
let_go_but(struct run *r, struct holds *hs, const struct journal *j,
    char (*tok)[JOURNAL_TOKEN_BUF], size_t n)
{
	size_t i, k, kept = 0;

	for (i = 0; i < hs->n; i++) {
		for (k = 0; k < n; k++)
			if (strcmp(hs->h[i].token, tok[k]) == 0)
				break;
		if (k < n || hs->h[i].state != TOKEN_TAKEN)
			hs->h[kept++] = hs->h[i];
		else
			journal_token_release(r->cfg->state_dir, hs->h[i].token, hs->h[i].fd,
			    journal_count(j, hs->h[i].token) == 0);
	}
	hs->n = kept;
}

/* Give up this call's own token; its file goes when the run has no entries. */
static void
release_token(struct run *r)
{
	struct journal *j = NULL;

	if (r->tokfd == -1)
		return;
	if (journal_open(r->cfg->state_dir, &j) == ST_OK) {
		journal_token_release(r->cfg->state_dir, r->token, r->tokfd,
		    journal_count(j, r->token) == 0);
		journal_close(j);
	} else
		journal_token_release(r->cfg->state_dir, r->token, r->tokfd, 0);
	r->tokfd = -1;
}

int
run_token(struct run *r, const char *token)
{
	int rc;

	if (r->tokfd != -1)
		return ST_OK;
	if ((rc = state_dir_ready(r->cfg->state_dir)) != ST_OK)
		return rc;
	if (token != NULL && *token != '\0' &&
	    journal_token_take(r->cfg->state_dir, token, 1, &r->tokfd) == TOKEN_TAKEN) {
		snprintf(r->token, sizeof(r->token), "%s", token);
		return ST_OK;
	}
	if (journal_token_new(r->cfg->state_dir, r->token, &r->tokfd) != ST_OK) {
		r->token[0] = '\0';
		return ST_FAIL;
	}
	return ST_OK;
}

const char *
run_token_of(const struct run *r)
{
	return r->token;
}

int
run_key_token(struct run *r, const char *key, char token[JOURNAL_TOKEN_BUF])
{
	struct journal *j;
	time_t newest = 0;
	size_t i;
	int rc;

	token[0] = '\0';
	if ((rc = journal_open(r->cfg->state_dir, &j)) != ST_OK)
		return rc;
	for (i = 0; i < j->n; i++)
		if (strcmp(j->e[i].key, key) == 0 && j->e[i].status == JOURNAL_RECORDED &&
		    j->e[i].created >= newest &&
		    journal_token_exists(r->cfg->state_dir, j->e[i].token)) {
			newest = j->e[i].created;
			memcpy(token, j->e[i].token, JOURNAL_TOKEN_BUF);
		}
	journal_close(j);
	return ST_OK;
}

/* This run's entry for c, or NULL. */
static struct journal_entry *
own_entry(struct run *r, struct journal *j, const struct challenge *c)
{
	size_t i;

	for (i = 0; i < j->n; i++)
		if (strcmp(j->e[i].token, r->token) == 0 && strcmp(j->e[i].name, c->name) == 0 &&
		    strcmp(j->e[i].value, c->value) == 0)
			return &j->e[i];
	return NULL;
}

/*
 * Journal c[] for this run with status (ids included), adding entries
 * that are not there.  With keep, an existing entry is left as it is.
 * ST_OK or ST_FAIL (nothing may be written then).
 */
static int
journal_put(struct run *r, const struct challenge *c, size_t n, const char *key,
    enum journal_status status, int keep)
{
	struct journal_entry *e;
	struct journal *j;
	size_t i;
	int rc;

	if (r->tokfd == -1 && (rc = run_token(r, NULL)) != ST_OK)
		return rc;
	if ((rc = journal_open(r->cfg->state_dir, &j)) != ST_OK)
		return rc;
	for (i = 0; i < n; i++) {
		if ((e = own_entry(r, j, &c[i])) != NULL && keep)
			continue;
		if (e == NULL &&
		    (e = journal_add(j, status, r->token, key, c[i].name, c[i].value)) == NULL) {
			log_err("%s: the journal holds %d entries already: clean up with the "
			    "ACME client's cleanup, or see `dns01 list`", j->path,
			    JOURNAL_MAX_ENTRIES);
			rc = ST_FAIL;
			goto out;
		}
		e->status = status;
		if (c[i].id[0] != '\0')
			memcpy(e->id, c[i].id, sizeof(e->id));
	}
	rc = journal_save(j);
out:
	journal_close(j);
	return rc;
}

/*
 * Drop from the journal the entries of c[] whose runs this call acts for
 * (own[i] names each one's token).  Then the token files of runs left
 * without entries go, and hs is released.
 */
static void
journal_drop(struct run *r, const struct challenge *c, char (*tok)[JOURNAL_TOKEN_BUF],
    size_t n, struct holds *hs)
{
	struct journal *j = NULL;
	size_t i, k;

	if (journal_open(r->cfg->state_dir, &j) == ST_OK) {
		for (k = 0; k < n; k++)
			for (i = j->n; i-- > 0;)
				if (strcmp(j->e[i].token, tok[k]) == 0 &&
				    strcmp(j->e[i].name, c[k].name) == 0 &&
				    strcmp(j->e[i].value, c[k].value) == 0)
					journal_remove(j, &j->e[i]);
		(void)journal_save(j);
	}
	release_holds(r, hs, j);
	journal_close(j);
}

int
run_record(struct run *r, const struct challenge *c, size_t n, const char *key)
{
	return journal_put(r, c, n, key, JOURNAL_RECORDED, 1);
}

/* Why a later call deletes entry e (its run's token taken), or NULL. */
static const char *
leftover(const struct journal_entry *e, const char *stale_key, time_t now)
{
	if (e->status == JOURNAL_WRITING)
		return "its dns01 run ended while writing or waiting (killed, or it could not "
		    "delete it)";
	if (stale_key != NULL && strcmp(e->key, stale_key) == 0)
		return "an earlier run for the same certificate never cleaned it up";
	if (now - e->created > JOURNAL_MAX_AGE)
		return "its ACME client never called the cleanup hook";
	return NULL;
}

void
run_recover(struct run *r, const char *stale_key)
{
	struct challenge *c = NULL, *ok = NULL;
	char (*tok)[JOURNAL_TOKEN_BUF] = NULL, (*oktok)[JOURNAL_TOKEN_BUF] = NULL;
	struct holds hs = { 0 };
	struct journal *j = NULL;
	size_t i, n = 0, m = 0, foreign = 0;
	time_t now = time(NULL);
	const char *why;
	int dirty = 0;

	if (journal_open(r->cfg->state_dir, &j) != ST_OK) {
		log_warn("the run journal cannot be read: what earlier runs left is not checked");
		return;
	}
	if ((c = calloc(j->n + 1, sizeof(*c))) == NULL ||
	    (ok = calloc(j->n + 1, sizeof(*ok))) == NULL ||
	    (tok = calloc(j->n + 1, sizeof(*tok))) == NULL ||
	    (oktok = calloc(j->n + 1, sizeof(*oktok))) == NULL)
		goto out;
	for (i = j->n; i-- > 0;) {
		struct journal_entry *e = &j->e[i];
		int st = hold(r, &hs, e->token);

		if (st == TOKEN_ABSENT) {
			journal_remove(j, e);
			foreign++;
			dirty = 1;
			continue;
		}
		if (st != TOKEN_TAKEN || (why = leftover(e, stale_key, now)) == NULL)
			continue;
		if (e->status == JOURNAL_RECORDED) {	/* never written */
			journal_remove(j, e);
			dirty = 1;
			continue;
		}
		memcpy(c[n].name, e->name, sizeof(c[n].name));
		memcpy(c[n].value, e->value, sizeof(c[n].value));
		memcpy(c[n].id, e->id, sizeof(c[n].id));
		memcpy(tok[n], e->token, sizeof(tok[n]));
		log_warn("%s: deleting the value %.*s... that an earlier dns01 call wrote %lld s "
		    "ago: %s", e->name, 8, e->value, (long long)(now - e->created), why);
		n++;
	}
	if (foreign > 0)
		log_warn("%s: %zu entr%s not written by a dns01 run (no run-<token>.lock for it): "
		    "dropped, and nothing is done at the provider for %s", j->path, foreign,
		    foreign == 1 ? "y" : "ies", foreign == 1 ? "it" : "them");
	remove_orphan_tokens(r, &hs, j);
	if (dirty)
		(void)journal_save(j);
	/* Only the leftovers' token locks stay held while they are deleted. */
	let_go_but(r, &hs, j, tok, n);
	journal_close(j);
	j = NULL;
	for (i = 0; i < n; i++) {
		if (run_locate(r, &c[i], 1) != ST_OK) {
			log_warn("%s: not deleted now (see above); a later call tries again",
			    c[i].name);
			continue;
		}
		ok[m] = c[i];
		memcpy(oktok[m++], tok[i], sizeof(oktok[0]));
	}
	if (m > 0 && run_del(r, ok, m) != ST_OK) {
		log_warn("the values above could not be deleted; a later dns01 call tries again");
		m = 0;
	}
	if (m > 0)
		run_unwaited(r, ok, m, PROP_ABSENT);
	journal_drop(r, ok, oktok, m, &hs);
out:
	if (hs.h != NULL)
		release_holds(r, &hs, NULL);
	journal_close(j);
	free(c);
	free(ok);
	free(tok);
	free(oktok);
}

/* Drop this run's entries of c[] from the journal. */
static void
forget(struct run *r, const struct challenge *c, size_t n)
{
	char (*tok)[JOURNAL_TOKEN_BUF] = calloc(n ? n : 1, sizeof(*tok));
	struct holds hs = { 0 };
	size_t i;

	if (tok == NULL)
		return;
	for (i = 0; i < n; i++)
		memcpy(tok[i], r->token, sizeof(tok[i]));
	journal_drop(r, c, tok, n, &hs);
	free(tok);
}

/*
 * Delete what a failed run_present wrote: the values the provider accepted
 * (ST_OK only when they are gone), and, as far as it goes, those of a
 * provider call that failed (it may have done part of its work; a provider
 * that refused to write usually refuses to delete too, so its failure here
 * is only reported).  A call refused at the credentials or TLS (CH_REFUSED)
 * wrote nothing and would be refused again: no delete is sent for it.
 */
static int
rollback(struct run *r, struct challenge *c, size_t n)
{
	struct challenge *one = calloc(n ? n : 1, sizeof(*one));
	size_t i, m, added = 0;
	int pass, rc = ST_OK;

	if (one == NULL)
		return ST_FAIL;
	for (i = 0; i < n; i++)
		added += c[i].sent == CH_ADDED;
	log_info("deleting the %zu value(s) this call wrote, since it failed", added);
	for (pass = CH_ADDED; pass >= CH_FAILED; pass--) {
		for (i = m = 0; i < n; i++)
			if (c[i].sent == pass)
				one[m++] = c[i];
		if (m == 0 || run_del(r, one, m) == ST_OK) {
			if (m > 0)
				run_unwaited(r, one, m, PROP_ABSENT);
			continue;
		}
		if (pass == CH_ADDED) {
			log_warn("they could not be deleted now: the next dns01 call at %s deletes "
			    "them", r->cfg->state_dir);
			rc = ST_FAIL;
		} else
			log_info("the values of the failed provider call could not be deleted "
			    "either (see above)");
	}
	free(one);
	return rc;
}

int
run_present(struct run *r, struct challenge *c, size_t n, const char *key, double timeout_s)
{
	char (*tok)[JOURNAL_TOKEN_BUF] = NULL;
	struct holds hs = { 0 };
	size_t i;
	int rc;

	if ((rc = run_precheck(r, c, n)) != ST_OK || (rc = run_locate(r, c, n)) != ST_OK) {
		/* Nothing was written; the run is over (certbot's recorded values too). */
		forget(r, c, n);
		return rc;
	}
	/* Journaled before anything is sent: a kill from here on leaves a trace. */
	if ((rc = journal_put(r, c, n, key, JOURNAL_WRITING, 0)) != ST_OK)
		return rc;
	rc = run_add(r, c, n);
	if (journal_put(r, c, n, key, JOURNAL_WRITING, 0) != ST_OK)
		log_warn("the record ids could not be journaled; cleanup finds the values "
		    "by content");
	if (rc == ST_OK)
		rc = run_wait(r, c, n, PROP_PRESENT, timeout_s);
	/*
	 * Handed to the client only once the journal says so: an entry left
	 * "being written" would be taken for a dead run's by the next call.
	 */
	if (rc == ST_OK && journal_put(r, c, n, key, JOURNAL_WRITTEN, 0) == ST_OK)
		return ST_OK;
	if (rc == ST_OK) {
		log_err("the values are everywhere, but the run journal cannot be updated (see "
		    "above): failing rather than leaving them unaccounted for");
		rc = ST_FAIL;
	}
	/*
	 * Failed after writing (or while writing): delete what this call
	 * wrote, since uacme and dehydrated never call their cleanup for a
	 * failed deploy.  A client that does (certbot, lego) then finds
	 * nothing left to delete.
	 */
	if (rollback(r, c, n) == ST_OK) {
		forget(r, c, n);
		return rc;
	}
	/* The values the provider accepted stay journaled. */
	if ((tok = calloc(n ? n : 1, sizeof(*tok))) == NULL)
		return rc;
	for (i = 0; i < n; i++)
		if (c[i].sent != CH_ADDED)
			memcpy(tok[i], r->token, sizeof(tok[i]));
	journal_drop(r, c, tok, n, &hs);
	free(tok);
	return rc;
}

size_t
run_mark_cleanup(struct run *r, const struct challenge *c, size_t n)
{
	struct journal_entry *e;
	struct journal *j;
	size_t i, marked = 0;

	if (r->token[0] == '\0' || journal_open(r->cfg->state_dir, &j) != ST_OK)
		return 0;
	for (i = 0; i < n; i++)
		if ((e = own_entry(r, j, &c[i])) != NULL && e->status != JOURNAL_RECORDED) {
			e->status = JOURNAL_CLEANUP;
			marked++;
		}
	if (marked > 0 && journal_save(j) != ST_OK)
		marked = 0;
	journal_close(j);
	return marked;
}

size_t
run_entries(struct run *r, enum journal_status status, struct challenge *c, size_t max)
{
	struct journal *j;
	size_t i, n = 0;

	if (r->token[0] == '\0' || journal_open(r->cfg->state_dir, &j) != ST_OK)
		return 0;
	for (i = 0; i < j->n && n < max; i++) {
		const struct journal_entry *e = &j->e[i];

		if (strcmp(e->token, r->token) != 0 || e->status != status)
			continue;
		memset(&c[n], 0, sizeof(c[n]));
		memcpy(c[n].name, e->name, sizeof(c[n].name));
		memcpy(c[n].value, e->value, sizeof(c[n].value));
		memcpy(c[n].id, e->id, sizeof(c[n].id));
		n++;
	}
	journal_close(j);
	return n;
}

int
run_remove(struct run *r, struct challenge *c, size_t n)
{
	char (*tok)[JOURNAL_TOKEN_BUF] = NULL;
	struct holds hs = { 0 };
	struct journal *j = NULL;
	size_t i, k, m = 0;
	int rc;

	/* Each value's journal entry, where there is one this call may act for. */
	if ((tok = calloc(n ? n : 1, sizeof(*tok))) == NULL)
		return ST_FAIL;
	if (journal_open(r->cfg->state_dir, &j) == ST_OK) {
		for (k = 0; k < n; k++)
			for (i = 0; i < j->n; i++) {
				const struct journal_entry *e = &j->e[i];

				if (strcmp(e->name, c[k].name) != 0 ||
				    strcmp(e->value, c[k].value) != 0 ||
				    !acting_for(r, &hs, e->token))
					continue;
				memcpy(tok[k], e->token, sizeof(tok[k]));
				if (c[k].id[0] == '\0')
					memcpy(c[k].id, e->id, sizeof(c[k].id));
				m++;
				break;
			}
		journal_close(j);
	}
	if ((rc = run_precheck(r, c, n)) == ST_OK && (rc = run_locate(r, c, n)) == ST_OK &&
	    (rc = run_del(r, c, n)) == ST_OK) {
		run_unwaited(r, c, n, PROP_ABSENT);
		journal_drop(r, c, tok, n, &hs);
	} else
		release_holds(r, &hs, NULL);
	log_debug("%zu of %zu value(s) were in the run journal", m, n);
	free(tok);
	return rc;
}
