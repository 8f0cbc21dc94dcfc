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

/* The records of l at (name, type), into a new array (*n of them).  0 or -1. */
static int
members(const struct rr_list *l, const char *name, const char *type, const struct rr ***out,
    size_t *n)
{
	size_t i;

	*n = 0;
	if ((*out = calloc(l->n ? l->n : 1, sizeof(**out))) == NULL)
		return -1;
	for (i = 0; i < l->n; i++)
		if (same_name(l->rr[i].name, name) && strcasecmp(l->rr[i].type, type) == 0)
			(*out)[(*n)++] = &l->rr[i];
	return 0;
}

/* 1 when every record of a has one of b with its rdata, and the counts agree. */
static int
same_records(const struct rr **a, size_t na, const struct rr **b, size_t nb)
{
	size_t i, j;

	if (na != nb)
		return 0;
	for (i = 0; i < na; i++) {
		for (j = 0; j < nb && strcmp(a[i]->rdata, b[j]->rdata) != 0; j++)
			;
		if (j == nb)
			return 0;
	}
	return 1;
}

/* 1 when (name, type) is already in s[0..n-1]. */
static int
listed(const struct rmw_rrset *s, size_t n, const char *name, const char *type)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (same_name(s[i].name, name) && strcasecmp(s[i].type, type) == 0)
			return 1;
	return 0;
}

int
rmw_rrsets(const struct rr_list *before, const struct rr_list *after, struct rmw_rrset **out,
    size_t *n)
{
	const struct rr_list *side[2] = { before, after };
	struct rmw_rrset *s, cur;
	size_t k, i, seen = 0;

	*out = NULL;
	*n = 0;
	if ((s = calloc(before->n + after->n + 1, sizeof(*s))) == NULL)
		return -1;
	for (k = 0; k < 2; k++)
		for (i = 0; i < side[k]->n; i++) {
			const struct rr *rr = &side[k]->rr[i];

			if (listed(s, seen, rr->name, rr->type))
				continue;
			memset(&cur, 0, sizeof(cur));
			cur.name = rr->name;
			cur.type = rr->type;
			if (members(before, rr->name, rr->type, &cur.old, &cur.nold) == -1 ||
			    members(after, rr->name, rr->type, &cur.new, &cur.nnew) == -1) {
				free(cur.old);
				rmw_rrsets_free(s, seen);
				return -1;
			}
			cur.ttl = cur.nold > 0 ? cur.old[0]->ttl : cur.new[0]->ttl;
			s[seen++] = cur;
		}
	/* keep the ones that changed, in order */
	for (i = 0, k = 0; i < seen; i++) {
		if (same_records(s[i].old, s[i].nold, s[i].new, s[i].nnew)) {
			free(s[i].old);
			free(s[i].new);
			continue;
		}
		s[k++] = s[i];
	}
	*out = s;
	*n = k;
	return 0;
}

void
rmw_rrsets_free(struct rmw_rrset *s, size_t n)
{
	size_t i;

	for (i = 0; s != NULL && i < n; i++) {
		free(s[i].old);
		free(s[i].new);
	}
	free(s);
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

/* Why a round failed, for the messages. */
static void
busy_text(const struct rmw_ctx *c, char *why, size_t len)
{
	const char *api = c->ops->busy_why != NULL ? c->ops->busy_why(c->priv) : NULL;

	if (api != NULL && *api != '\0')
		snprintf(why, len, "busy (%s)", api);
	else
		snprintf(why, len, "busy");
}

/*
 * Before round `round` + 1, after a round that failed for why: pause, or
 * give up and say why.  ST_OK after the pause, else ST_PROVIDER.
 *
 * The policy.  A refused stale write means another writer changed the zone
 * since we read it, a failed check that one wrote at the same time, and
 * "busy" that the API will not take the change now, for an unknown time:
 * each is read again later.  The pause doubles each round from
 * pause_first_s up to pause_max_s and is random between half and all of
 * that, so that two writers that collided drift apart and a busy zone gets
 * tens of seconds.  At most `rounds` rounds, and never a pause that would
 * end after the deadline: the change stops at once instead.
 */
static int
again(const struct rmw_ctx *c, const struct zone *z, int round, const char *why)
{
	int max = c->rounds > 0 ? c->rounds : RMW_MAX_ROUNDS;
	double pause;

	if (round >= max) {
		log_err("zone %s at %s: %s, still after %d rounds; giving up (try again later)",
		    z->apex, c->ops->label, why, round);
		return ST_PROVIDER;
	}
	pause = rmw_pause(round, c->pause_first_s > 0 ? c->pause_first_s : RMW_PAUSE_FIRST_S,
	    c->pause_max_s > 0 ? c->pause_max_s : RMW_PAUSE_MAX_S, random01());
	if (c->deadline > 0 && log_now() + pause > c->deadline) {
		log_err("zone %s at %s: %s, after %d round(s); the next would start after the "
		    "timeout (%u s): giving up, try again later", z->apex, c->ops->label, why,
		    round, c->timeout_s);
		return ST_PROVIDER;
	}
	log_warn("zone %s at %s: %s; reading it again in %.1f s (round %d of %d)", z->apex,
	    c->ops->label, why, pause, round + 1, max);
	log_sleep(pause);
	return ST_OK;
}

/*
 * The rounds.  Each round reads the zone, applies the change to what it
 * read, writes, and reads again: the round counts only when the second read
 * holds everything the write meant (our change and every record read with
 * it) and, for a delete, none of the values.  What the check cannot see: a
 * record another writer added between our read and our write, which our
 * write erased when the API does not refuse stale writes; and a writer who
 * read before our write and writes after our check (RMW_CONFIRM, after the
 * wait, catches that one for our values).  The lock file serialises dns01
 * processes on this host, which therefore never collide.
 */
static int
rounds(const struct rmw_ctx *c, const struct zone *z, struct record *recs, size_t n, int ttl,
    enum rmw_op op, int *ch)
{
	const struct rmw_ops *o = c->ops;
	struct rr_list before = { 0 }, after = { 0 }, now = { 0 };
	int rc, round, k, del = op == RMW_DEL;
	char why[RMW_WHY_MAX] = "";
	size_t i;

	for (round = 1;; round++) {
		if (round > 1 && (rc = again(c, z, round - 1, why)) != ST_OK)
			goto out;
		rr_list_clear(&before);
		rr_list_clear(&now);
		if ((rc = o->read(c->priv, z, recs, n, &before)) == RMW_BUSY) {
			busy_text(c, why, sizeof(why));
			continue;
		}
		if (rc != ST_OK)
			goto out;
		if ((k = rmw_apply(&before, recs, n, ttl, del, o->quote_txt, &after, ch)) < 0) {
			rc = ST_FAIL;
			goto out;
		}
		if (k == 0) {
			if (op == RMW_CONFIRM)
				log_debug("zone %s at %s: the value(s) are still there", z->apex,
				    o->label);
			else
				log_info("zone %s at %s: nothing to change (the value%s %s already)",
				    z->apex, o->label, n == 1 ? " is" : "s are", del ? "gone" : "there");
			goto out;
		}
		if (op == RMW_CONFIRM && round == 1)
			log_warn("zone %s at %s: %d value(s) dns01 wrote are gone after the wait "
			    "(another writer wrote back records it had read before); writing them "
			    "again", z->apex, o->label, k);
		if ((rc = o->write(c->priv, z, &before, &after)) == RMW_BUSY) {
			busy_text(c, why, sizeof(why));
			continue;
		}
		if (rc == RMW_CONFLICT) {
			snprintf(why, sizeof(why), "changed since we read it (the API refused the "
			    "write)");
			continue;
		}
		if (rc != ST_OK)
			goto out;
		if ((rc = o->read(c->priv, z, recs, n, &now)) == RMW_BUSY) {
			snprintf(why, sizeof(why), "busy after our write");
			continue;
		}
		if (rc != ST_OK)
			goto out;
		if (rmw_verify(&now, &after, recs, n, del)) {
			log_info("%s %d TXT record(s) %s zone %s at %s", del ? "deleted" :
			    op == RMW_ADD ? "added" : "wrote back", k, del ? "from" : "in", z->apex,
			    o->label);
			goto out;
		}
		snprintf(why, sizeof(why), "another writer replaced the records at the same time");
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

int
rmw_change(const struct rmw_ctx *c, const struct zone *z, struct record *recs, size_t n, int ttl,
    enum rmw_op op)
{
	char lockname[NAME_BUF + 64];
	int rc, fd = -1, *ch;

	if ((ch = calloc(n ? n : 1, sizeof(*ch))) == NULL)
		return ST_FAIL;
	snprintf(lockname, sizeof(lockname), "%s-%s", c->lock_prefix, z->apex);
	if ((rc = state_lock(c->state_dir, lockname, &fd, NULL)) == ST_OK) {
		rc = rounds(c, z, recs, n, ttl, op, ch);
		state_unlock(fd);
	}
	free(ch);
	return rc;
}
