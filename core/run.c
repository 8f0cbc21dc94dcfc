/* Locate, write, delete and wait for a set of challenges; see run.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ledger.h"
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
};

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

/* Add or delete, one provider call per (provider, zone). */
static int
change(struct run *r, struct challenge *c, size_t n, int del)
{
	struct record *recs = calloc(n ? n : 1, sizeof(*recs));
	size_t *idx = calloc(n ? n : 1, sizeof(*idx));
	char *done = calloc(n ? n : 1, 1);
	struct instance *in;
	size_t i, j, k;
	int rc = ST_OK;

	if (recs == NULL || idx == NULL || done == NULL) {
		log_err("out of memory");
		rc = ST_FAIL;
		goto out;
	}
	if ((rc = route(r, c, n)) != ST_OK)
		goto out;
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
		rc = del ? in->ops->del(in->priv, c[i].zone, recs, k) :
		    in->ops->add(in->priv, c[i].zone, recs, k, ttl_for_write(r, in->ops));
		for (j = 0; rc == ST_OK && !del && j < k; j++)
			memcpy(c[idx[j]].id, recs[j].id, sizeof(c[idx[j]].id));
	}
out:
	free(recs);
	free(idx);
	free(done);
	return rc;
}

int
run_add(struct run *r, struct challenge *c, size_t n)
{
	return change(r, c, n, 0);
}

int
run_del(struct run *r, struct challenge *c, size_t n)
{
	return change(r, c, n, 1);
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

/*
 * Before a wait for written values: the cache waits of each name (see
 * ledger.h).  An older answer noted in the ledger sets not_before; an
 * RRset dns01 itself made less than its TTL ago is replaced now, and may
 * be cached for its TTL after the new one is everywhere: that is the hold.
 */
static void
cache_waits(const struct run *r, struct prop_target *t, size_t nt)
{
	struct ledger_entry e;
	double now = prop_wall_now();
	size_t i;

	for (i = 0; i < nt; i++) {
		ledger_get(r->cfg->state_dir, t[i].name, &e);
		t[i].not_before = e.until;
		t[i].hold = e.live && e.changed + e.ttl > now ? e.ttl + CACHE_CLOCK_SLACK_S : 0;
		if (e.until > now)
			log_info("%s: dns01 changed it %.0f s ago; resolvers may cache the older "
			    "answer until %.0f s from now", t[i].name, now - e.changed,
			    e.until - now);
		else if (t[i].hold > 0)
			log_info("%s: dns01 wrote it %.0f s ago (TTL %d s); the answer this write "
			    "replaces may stay in resolver caches for %d s after it",
			    t[i].name, now - e.changed, e.ttl, e.ttl);
	}
}

/* After a wait (or instead of one): note each name's change in the ledger. */
static void
note_changes(const struct run *r, const struct challenge *c, size_t n,
    const struct prop_target *t, size_t nt, enum prop_mode mode)
{
	struct ledger_entry e, old;
	double now = prop_wall_now();
	size_t i;

	for (i = 0; i < nt; i++) {
		memset(&e, 0, sizeof(e));
		snprintf(e.name, sizeof(e.name), "%s", t[i].name);
		e.changed = t[i].done_at > 0 ? t[i].done_at : now;
		e.ttl = target_ttl(r, c, n, t[i].name);
		if (mode == PROP_PRESENT) {
			e.live = 1;
			e.until = t[i].hold > 0 ? e.changed + t[i].hold : 0;
		} else {
			/* The answer with the deleted values may be cached for their TTL. */
			ledger_get(r->cfg->state_dir, t[i].name, &old);
			e.until = e.changed + (old.live && old.ttl > e.ttl ? old.ttl : e.ttl) +
			    CACHE_CLOCK_SLACK_S;
			e.live = t[i].others;
		}
		ledger_put(r->cfg->state_dir, &e);
	}
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
	}
	return t;
}

int
run_wait(struct run *r, const struct challenge *c, size_t n, enum prop_mode mode,
    double timeout_s)
{
	struct prop_target *t;
	size_t nt;
	int rc;

	if ((t = targets(c, n, &nt)) == NULL)
		return ST_FAIL;
	if (r->wrote && mode == PROP_PRESENT)
		cache_waits(r, t, nt);
	rc = propagation_wait(t, nt, mode, timeout_s);
	if (r->wrote)
		note_changes(r, c, n, t, nt, mode);
	free(t);
	return rc;
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
