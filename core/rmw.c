/* The locked read-modify-write-verify change; see rmw.h. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <time.h>

#include "log.h"
#include "name.h"
#include "rmw.h"
#include "state.h"
#include "status.h"

int
rr_list_add(struct rr_list *l, const char *name, const char *type, const char *rdata, int ttl)
{
	struct rr *rr;

	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 16;

		if ((rr = realloc(l->rr, cap * sizeof(*rr))) == NULL)
			return -1;
		l->rr = rr;
		l->cap = cap;
	}
	rr = &l->rr[l->n];
	rr->name = strdup(name);
	rr->type = strdup(type);
	rr->rdata = strdup(rdata);
	rr->ttl = ttl;
	if (rr->name == NULL || rr->type == NULL || rr->rdata == NULL) {
		free(rr->name);
		free(rr->type);
		free(rr->rdata);
		return -1;
	}
	l->n++;
	return 0;
}

void
rr_list_clear(struct rr_list *l)
{
	size_t i;

	for (i = 0; i < l->n; i++) {
		free(l->rr[i].name);
		free(l->rr[i].type);
		free(l->rr[i].rdata);
	}
	free(l->rr);
	memset(l, 0, sizeof(*l));
}

int
rr_list_copy(struct rr_list *dst, const struct rr_list *src)
{
	size_t i;

	rr_list_clear(dst);
	for (i = 0; i < src->n; i++)
		if (rr_list_add(dst, src->rr[i].name, src->rr[i].type, src->rr[i].rdata,
		    src->rr[i].ttl) == -1)
			return -1;
	memcpy(dst->version, src->version, sizeof(dst->version));
	return 0;
}

int
rmw_txt_is(const char *rdata, const char *v)
{
	size_t len = strlen(v);

	if (strcmp(rdata, v) == 0)
		return 1;
	return strlen(rdata) == len + 2 && rdata[0] == '"' && rdata[len + 1] == '"' &&
	    strncmp(rdata + 1, v, len) == 0;
}

/* 1 when two owner names are the same (case and a final dot aside). */
static int
same_name(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);

	if (la > 0 && a[la - 1] == '.')
		la--;
	if (lb > 0 && b[lb - 1] == '.')
		lb--;
	return la == lb && strncasecmp(a, b, la) == 0;
}

/* The index of the first TXT record of l at name with value v, or -1. */
static long
find_txt(const struct rr_list *l, size_t from, const char *name, const char *v)
{
	size_t i;

	for (i = from; i < l->n; i++)
		if (strcasecmp(l->rr[i].type, "TXT") == 0 && same_name(l->rr[i].name, name) &&
		    rmw_txt_is(l->rr[i].rdata, v))
			return (long)i;
	return -1;
}

/* 1 when l holds a record equal to rr (a TXT value bare or quoted). */
static int
holds(const struct rr_list *l, const struct rr *rr)
{
	size_t i;

	for (i = 0; i < l->n; i++) {
		const struct rr *x = &l->rr[i];

		if (!same_name(x->name, rr->name) || strcasecmp(x->type, rr->type) != 0)
			continue;
		if (strcmp(x->rdata, rr->rdata) == 0)
			return 1;
		if (strcasecmp(x->type, "TXT") == 0 && (rmw_txt_is(x->rdata, rr->rdata) ||
		    rmw_txt_is(rr->rdata, x->rdata)))
			return 1;
	}
	return 0;
}

int
rmw_apply(const struct rr_list *before, const struct record *recs, size_t n, int ttl, int del,
    int quote, struct rr_list *after, int *changed)
{
	char q[VALUE_BUF + 2];
	size_t i, j;
	int count = 0;

	rr_list_clear(after);
	memcpy(after->version, before->version, sizeof(after->version));
	for (j = 0; j < before->n; j++) {
		const struct rr *rr = &before->rr[j];
		int drop = 0;

		for (i = 0; del && i < n && !drop; i++)
			drop = strcasecmp(rr->type, "TXT") == 0 && same_name(rr->name, recs[i].name) &&
			    rmw_txt_is(rr->rdata, recs[i].value);
		if (drop) {
			count++;
			continue;
		}
		if (rr_list_add(after, rr->name, rr->type, rr->rdata, rr->ttl) == -1)
			return -1;
	}
	for (i = 0; i < n; i++) {
		changed[i] = del && find_txt(before, 0, recs[i].name, recs[i].value) >= 0;
		if (del || find_txt(after, 0, recs[i].name, recs[i].value) >= 0)
			continue;
		if (snprintf(q, sizeof(q), quote ? "\"%s\"" : "%s", recs[i].value) >=
		    (int)sizeof(q) || rr_list_add(after, recs[i].name, "TXT", q, ttl) == -1)
			return -1;
		changed[i] = 1;
		count++;
	}
	return count;
}

int
rmw_verify(const struct rr_list *now, const struct rr_list *wrote, const struct record *recs,
    size_t n, int del)
{
	size_t i;

	for (i = 0; i < wrote->n; i++)
		if (!holds(now, &wrote->rr[i]))
			return 0;
	for (i = 0; del && i < n; i++)
		if (find_txt(now, 0, recs[i].name, recs[i].value) >= 0)
			return 0;
	return 1;
}

double
rmw_pause(int round, double first, double max, double r)
{
	double s = first;
	int i;

	for (i = 1; i < round && s < max; i++)
		s *= 2;
	if (s > max)
		s = max;
	return s * (RMW_PAUSE_MIN_FACTOR + (1 - RMW_PAUSE_MIN_FACTOR) * r);
}

/* A random number in [0, 1). */
static double
random01(void)
{
	uint32_t r = 0;

	if (getrandom(&r, sizeof(r), 0) != sizeof(r))
		r = (uint32_t)(log_now() * 1e6);
	return r / 4294967296.0;
}

static void
pause_for(double s)
{
	struct timespec ts = { .tv_sec = (time_t)s, .tv_nsec = (long)((s - (time_t)s) * 1e9) };

	while (nanosleep(&ts, &ts) == -1)
		;
}

/*
 * The rounds.  Each round reads the zone, applies the change to what it
 * read, writes, and reads again: the round counts only when the second read
 * holds everything the write meant (our change and every record read with
 * it — so a record another writer added between our read and our write and
 * that our write erased is not caught here, only what that writer erases
 * after; see rmw_confirm) and, for a delete, none of the values.  A refused
 * stale write (RMW_CONFLICT) or a failed check starts another round after
 * a pause that doubles and is randomised (two writers that collided must
 * not collide again in step); no pause may end after the deadline, and
 * after the last round dns01 gives up (ST_PROVIDER).  The lock file
 * serialises dns01 processes on this host, which then never collide.
 */
static int
rounds(const struct rmw_ctx *c, const struct zone *z, struct record *recs, size_t n, int ttl,
    int del, int *ch)
{
	const struct rmw_ops *o = c->ops;
	struct rr_list before = { 0 }, after = { 0 }, now = { 0 };
	int rc, round, max = c->rounds > 0 ? c->rounds : RMW_MAX_ROUNDS, k;
	const char *why;
	double pause;
	size_t i;

	for (round = 1;; round++) {
		rr_list_clear(&before);
		rr_list_clear(&now);
		if ((rc = o->read(c->priv, z, recs, n, &before)) != ST_OK)
			goto out;
		if ((k = rmw_apply(&before, recs, n, ttl, del, o->quote_txt, &after, ch)) < 0) {
			rc = ST_FAIL;
			goto out;
		}
		if (k == 0) {
			log_info("zone %s at %s: nothing to change (the value%s %s already)",
			    z->apex, o->label, n == 1 ? " is" : "s are", del ? "gone" : "there");
			rc = ST_OK;
			goto out;
		}
		rc = o->write(c->priv, z, &before, &after);
		if (rc == RMW_CONFLICT)
			why = "changed since we read it (the API refused the write)";
		else if (rc != ST_OK)
			goto out;
		else if ((rc = o->read(c->priv, z, recs, n, &now)) != ST_OK)
			goto out;
		else if (rmw_verify(&now, &after, recs, n, del)) {
			log_info("%s %d TXT record(s) %s zone %s at %s", del ? "deleted" : "added", k,
			    del ? "from" : "in", z->apex, o->label);
			goto out;
		} else
			why = "another writer replaced the records at the same time";
		if (round >= max) {
			log_err("zone %s at %s: %s, still after %d rounds; giving up", z->apex,
			    o->label, why, max);
			rc = ST_PROVIDER;
			goto out;
		}
		pause = rmw_pause(round, c->pause_first_s > 0 ? c->pause_first_s :
		    RMW_PAUSE_FIRST_S, c->pause_max_s > 0 ? c->pause_max_s : RMW_PAUSE_MAX_S,
		    random01());
		if (c->deadline > 0 && log_now() + pause > c->deadline) {
			log_err("zone %s at %s: %s, and another round would end after the timeout; "
			    "giving up after %d round(s)", z->apex, o->label, why, round);
			rc = ST_PROVIDER;
			goto out;
		}
		log_warn("zone %s at %s: %s; reading it again in %.1f s (round %d of %d)", z->apex,
		    o->label, why, pause, round + 1, max);
		pause_for(pause);
	}
out:
	if (rc == ST_OK)
		for (i = 0; i < n; i++)
			recs[i].changed = ch[i];
	rr_list_clear(&before);
	rr_list_clear(&after);
	rr_list_clear(&now);
	return rc;
}

/* rounds() under the zone's lock file. */
static int
locked(const struct rmw_ctx *c, const struct zone *z, struct record *recs, size_t n, int ttl,
    int del)
{
	char lockname[NAME_BUF + 64];
	int rc, fd = -1, *ch;

	if ((ch = calloc(n ? n : 1, sizeof(*ch))) == NULL)
		return ST_FAIL;
	snprintf(lockname, sizeof(lockname), "%s-%s", c->lock_prefix, z->apex);
	if ((rc = state_lock(c->state_dir, lockname, &fd, NULL)) == ST_OK) {
		rc = rounds(c, z, recs, n, ttl, del, ch);
		state_unlock(fd);
	}
	free(ch);
	return rc;
}

int
rmw_change(const struct rmw_ctx *c, const struct zone *z, struct record *recs, size_t n, int ttl,
    int del)
{
	return locked(c, z, recs, n, ttl, del);
}

int
rmw_confirm(const struct rmw_ctx *c, const struct zone *z, struct record *recs, size_t n,
    int ttl, int *rewritten)
{
	struct rr_list now = { 0 };
	struct record *lost = NULL;
	size_t i, nlost = 0;
	int rc;

	*rewritten = 0;
	if ((rc = c->ops->read(c->priv, z, recs, n, &now)) != ST_OK)
		goto out;
	if ((lost = calloc(n ? n : 1, sizeof(*lost))) == NULL) {
		rc = ST_FAIL;
		goto out;
	}
	for (i = 0; i < n; i++)
		if (find_txt(&now, 0, recs[i].name, recs[i].value) < 0) {
			lost[nlost] = recs[i];
			lost[nlost++].id[0] = '\0';
			log_warn("zone %s at %s: %s no longer holds the value %s that dns01 wrote "
			    "(another writer replaced the records); writing it again", z->apex,
			    c->ops->label, recs[i].name, recs[i].value);
		}
	if (nlost > 0 && (rc = locked(c, z, lost, nlost, ttl, 0)) == ST_OK)
		*rewritten = (int)nlost;
out:
	free(lost);
	rr_list_clear(&now);
	return rc;
}
