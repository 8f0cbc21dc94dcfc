/* The propagation poll loop and `list`; see propagation.h. */
#include <errno.h>
#include <math.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "answer.h"
#include "log.h"
#include "propagation.h"
#include "run.h"
#include "status.h"

#define PROP_DESC	256	/* text of what an address last answered */
#define PROP_LINE	1024	/* the list part of a progress line */
#define PROP_LINE_MORE	48	/* room kept for "; N more not shown" */

/* A run's values at one name are never cut: see PROP_MAX_VALUES. */
_Static_assert(PROP_MAX_VALUES >= RUN_MAX_CHALLENGES,
    "prop_target.values must hold every challenge of a run");

struct paddr {
	const struct dns_addr *a;
	int	fd;
	double	next_send;
	int	inflight;
	int	resend;			/* the last query timed out: send it again */
	uint16_t qid;
	double	sent_at;
	size_t	probe;			/* the probe in flight */
	size_t	cursor;			/* round robin over this address's probes */
	struct addr_health h;		/* whether it still counts (core/answer.h) */
	int	have;			/* a learned arrival window [lo, hi] */
	double	lo, hi;
};

/* An address that cannot be reached does not block its nameserver. */
#define UNREACHABLE(p)	addr_unreachable(&(p)->h)

struct probe {
	size_t	target;
	size_t	ns;			/* index into the target zone's ns[] */
	size_t	addr;			/* index into paddr[] */
	enum addr_state state;		/* AS_NONE until it answers */
	int	others;			/* absent: the good answer had other values */
	int	lame_said;		/* its nameserver was reported lame */
	struct prop_arrival *arr;	/* its (zone, address) pair, or NULL */
	char	desc[PROP_DESC];
};

/* Every array is sized for the targets at hand: no name or address is left out. */
struct loop {
	struct prop_target *t;
	size_t	nt;
	enum prop_mode mode;
	double	start;			/* log_now() when the wait began */
	struct prop_arrival *arr;	/* learned arrivals, narr of them */
	size_t	narr;
	struct paddr *addrs;		/* distinct addresses; room for one per probe */
	size_t	naddrs;
	struct probe *probes;		/* one per target, nameserver and address */
	size_t	nprobes;
	struct pollfd *pfd;		/* one per address */
	uint8_t	**wire;			/* query per target, id patched per send */
	size_t	*wirelen;
	ldns_pkt **query;
};

/* Judge answer r for probe pr (core/answer.c); sets its state and desc. */
static void
judge(struct loop *l, struct probe *pr, const ldns_pkt *r)
{
	const struct prop_target *t = &l->t[pr->target];
	struct txt_want w = { .name = t->name, .values = t->values, .nvalues = t->nvalues,
	    .absent = l->mode != PROP_PRESENT };

	pr->state = answer_judge_txt(r, &w, &pr->others, pr->desc, sizeof(pr->desc));
}

/*
 * The state of nameserver ns for target t (core/answer.c: answer_ns_state):
 * done, still waited for, or lame (every address that counts answered as
 * a server that does not serve the zone; a CA's resolver moves on).
 */
static enum ns_state
group_state(const struct loop *l, size_t t, size_t ns)
{
	enum addr_state st[ZONE_MAX_ADDRS];
	int unreachable[ZONE_MAX_ADDRS];
	size_t i, n = 0;

	for (i = 0; i < l->nprobes && n < ZONE_MAX_ADDRS; i++) {
		const struct probe *pr = &l->probes[i];

		if (pr->target != t || pr->ns != ns)
			continue;
		st[n] = pr->state;
		unreachable[n++] = UNREACHABLE(&l->addrs[pr->addr]);
	}
	return answer_ns_state(st, unreachable, n);
}

static size_t
add_addr(struct loop *l, const struct dns_addr *a)
{
	size_t i;

	for (i = 0; i < l->naddrs; i++)
		if (l->addrs[i].a->salen == a->salen &&
		    memcmp(&l->addrs[i].a->sa, &a->sa, a->salen) == 0)
			return i;
	l->addrs[l->naddrs].a = a;
	l->addrs[l->naddrs].fd = -1;
	return l->naddrs++;
}

/* The arrays of l, sized for its targets.  0, or -1 after saying why. */
static int
alloc_loop(struct loop *l)
{
	size_t t, n, nprobes = 0;

	for (t = 0; t < l->nt; t++)
		for (n = 0; n < l->t[t].zone->nns; n++)
			nprobes += l->t[t].zone->ns[n].naddrs;
	l->addrs = calloc(nprobes ? nprobes : 1, sizeof(*l->addrs));
	l->probes = calloc(nprobes ? nprobes : 1, sizeof(*l->probes));
	l->pfd = calloc(nprobes ? nprobes : 1, sizeof(*l->pfd));
	l->wire = calloc(l->nt ? l->nt : 1, sizeof(*l->wire));
	l->wirelen = calloc(l->nt ? l->nt : 1, sizeof(*l->wirelen));
	l->query = calloc(l->nt ? l->nt : 1, sizeof(*l->query));
	if (l->addrs == NULL || l->probes == NULL || l->pfd == NULL || l->wire == NULL ||
	    l->wirelen == NULL || l->query == NULL) {
		log_err("out of memory");
		return -1;
	}
	return 0;
}

static void
free_loop(struct loop *l)
{
	size_t i;

	if (l == NULL)
		return;
	for (i = 0; l->addrs != NULL && i < l->naddrs; i++)
		if (l->addrs[i].fd != -1)
			close(l->addrs[i].fd);
	for (i = 0; i < l->nt; i++) {
		if (l->wire != NULL)
			free(l->wire[i]);
		if (l->query != NULL)
			ldns_pkt_free(l->query[i]);
	}
	free(l->addrs);
	free(l->probes);
	free(l->pfd);
	free(l->wire);
	free(l->wirelen);
	free(l->query);
	free(l);
}

/* The learned arrival of zone apex at address text, or NULL. */
static struct prop_arrival *
arrival_of(const struct loop *l, const char *apex, const char *text)
{
	size_t i;

	for (i = 0; i < l->narr; i++)
		if (strcmp(l->arr[i].zone, apex) == 0 && strcmp(l->arr[i].addr, text) == 0)
			return &l->arr[i];
	return NULL;
}

/* Widen p's window to cover a's (an address may serve several zones). */
static void
learn_window(struct paddr *p, const struct prop_arrival *a)
{
	if (a == NULL || !a->have)
		return;
	if (!p->have || a->lo < p->lo)
		p->lo = a->lo;
	if (!p->have || a->hi > p->hi)
		p->hi = a->hi;
	p->have = 1;
}

double
prop_poll_gap(double elapsed, int have, double lo, double hi)
{
	double gap = PROP_SPARSE_MS / 1000.0, dense = PROP_DENSE_MS / 1000.0;

	if (!have)
		return PROP_INTERVAL_MS / 1000.0;
	if (elapsed > hi)
		return gap;
	if (elapsed >= lo)
		return dense;
	if (elapsed + gap > lo)		/* the first dense query lands at lo */
		gap = lo - elapsed;
	return gap < dense ? dense : gap;
}

static int
setup(struct loop *l)
{
	size_t t, n, k, ai;

	if (alloc_loop(l) == -1)
		return -1;
	for (t = 0; t < l->nt; t++) {
		const struct zone *z = l->t[t].zone;

		if ((l->query[t] = dnsio_query_new(l->t[t].name, LDNS_RR_TYPE_TXT, 0)) == NULL ||
		    ldns_pkt2wire(&l->wire[t], l->query[t], &l->wirelen[t]) != LDNS_STATUS_OK) {
			log_err("%s: cannot build a query", l->t[t].name);
			return -1;
		}
		for (n = 0; n < z->nns; n++)
			for (k = 0; k < z->ns[n].naddrs; k++) {
				ai = add_addr(l, &z->ns[n].addrs[k]);
				l->probes[l->nprobes++] = (struct probe){ .target = t, .ns = n,
				    .addr = ai, .state = AS_NONE, .desc = "no answer yet",
				    .arr = arrival_of(l, z->apex, z->ns[n].addrs[k].text) };
				learn_window(&l->addrs[ai], l->probes[l->nprobes - 1].arr);
			}
	}
	for (ai = 0; ai < l->naddrs; ai++) {
		struct paddr *p = &l->addrs[ai];

		p->fd = socket(p->a->sa.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (p->fd == -1 || connect(p->fd, (const struct sockaddr *)&p->a->sa,
		    p->a->salen) == -1) {
			/* e.g. no IPv6 at all: the address is reported, never blocks. */
			log_debug("%s: %s", p->a->text, strerror(errno));
			if (p->fd != -1)
				close(p->fd);
			p->fd = -1;
			addr_note_error(&p->h);
			for (k = 0; k < l->nprobes; k++)
				if (l->probes[k].addr == ai) {
					l->probes[k].state = AS_ERR;
					snprintf(l->probes[k].desc, PROP_DESC, "cannot send: %s",
					    strerror(errno));
				}
		}
	}
	return 0;
}

/* 1 when probe k is a witness of its batch (see propagation.h) worth asking. */
static int
is_witness(const struct loop *l, size_t k)
{
	return l->mode == PROP_PRESENT && l->t[l->probes[k].target].witness;
}

/*
 * The next probe of address ai that still needs asking, after the cursor
 * (round robin), witnesses first (one of them answers for its whole
 * batch), or (size_t)-1.  Does not move the cursor.
 */
static size_t
next_probe(const struct loop *l, size_t ai)
{
	const struct paddr *p = &l->addrs[ai];
	size_t i, k;
	int pass;

	for (pass = 0; pass < 2; pass++)
		for (i = 0; i < l->nprobes; i++) {
			k = (p->cursor + i) % l->nprobes;
			if (l->probes[k].addr == ai && l->probes[k].state != AS_GOOD &&
			    (pass == 1 || is_witness(l, k)))
				return k;
		}
	return (size_t)-1;
}

/*
 * Probe pr (a witness) is served at its address: so is every member of its
 * batch there, being in the same change (see propagation.h).  They are
 * marked done without a query, saying why.
 */
static void
infer_batch(struct loop *l, const struct probe *pr)
{
	const struct prop_target *w = &l->t[pr->target];
	struct change_tag wt = { w->zone, w->batch, w->member, w->witness }, ot;
	size_t k;

	if (pr->state != AS_GOOD || !is_witness(l, (size_t)(pr - l->probes)))
		return;
	for (k = 0; k < l->nprobes; k++) {
		struct probe *o = &l->probes[k];
		const struct prop_target *t = &l->t[o->target];

		ot = (struct change_tag){ t->zone, t->batch, t->member, t->witness };
		if (o->addr != pr->addr || o->state == AS_GOOD || !answer_same_change(&wt, &ot))
			continue;
		o->state = AS_GOOD;
		snprintf(o->desc, PROP_DESC, "served: written in the same change as %s, which "
		    "it serves", w->name);
	}
}

/*
 * Mark the probe in flight at p as failed: a timeout (timeout = 1) counts
 * towards giving up on the address, an ICMP error or failed send gives up
 * on it at once unless it answered before (core/answer.h: addr_health).
 */
static void
probe_failed(struct loop *l, struct paddr *p, size_t k, const char *why, int timeout)
{
	l->probes[k].state = AS_ERR;
	snprintf(l->probes[k].desc, PROP_DESC, "%s", why);
	if (timeout)
		addr_note_timeout(&p->h);
	else
		addr_note_error(&p->h);
	p->resend = timeout;
	p->inflight = 0;
}

/*
 * Send address ai its next query.  After a timeout the same query goes
 * again with the same id (a retransmission), so that the answer of a
 * server slower than PROP_QUERY_TIMEOUT_MS still matches the query in
 * flight when it comes; with a new id it would be dropped every time.
 */
static void
send_query(struct loop *l, size_t ai, double now)
{
	struct paddr *p = &l->addrs[ai];
	size_t k = next_probe(l, ai);
	int again = p->resend;
	uint8_t *w;

	p->resend = 0;
	if (k == (size_t)-1)
		return;
	if (again && l->probes[p->probe].state != AS_GOOD)
		k = p->probe;
	else if (getrandom(&p->qid, sizeof(p->qid), 0) != sizeof(p->qid))
		p->qid = (uint16_t)(p->qid * 31421u + 6927u);
	p->cursor = k + 1;
	w = l->wire[l->probes[k].target];
	w[0] = (uint8_t)(p->qid >> 8);
	w[1] = (uint8_t)p->qid;
	p->sent_at = now;
	p->next_send = now + prop_poll_gap(now - l->start, p->have, p->lo, p->hi);
	if (send(p->fd, w, l->wirelen[l->probes[k].target], 0) == -1) {
		probe_failed(l, p, k, strerror(errno), 0);
		p->next_send = now + PROP_ERROR_RETRY_MS / 1000.0;
		return;
	}
	p->inflight = 1;
	p->probe = k;
}

/* Say once per name and nameserver that the nameserver turned out lame. */
static void
say_lame(struct loop *l, const struct probe *pr)
{
	const struct zone *z = l->t[pr->target].zone;
	size_t i;

	if (pr->state != AS_LAME || pr->lame_said ||
	    group_state(l, pr->target, pr->ns) != NS_LAME)
		return;
	for (i = 0; i < l->nprobes; i++)
		if (l->probes[i].target == pr->target && l->probes[i].ns == pr->ns)
			l->probes[i].lame_said = 1;
	log_note("%s: nameserver %s of zone %s is lame (it answers %s: it does not serve the "
	    "zone): not waiting for it; a CA's resolver moves on from it too",
	    l->t[pr->target].name, z->ns[pr->ns].name, z->apex, pr->desc);
}

/* Ask again over TCP after a truncated UDP answer.  The answer or NULL. */
static ldns_pkt *
ask_tcp(struct loop *l, struct paddr *p, struct probe *pr)
{
	ldns_pkt *q = l->query[pr->target], *r;
	const char *err;

	ldns_pkt_set_id(q, p->qid);
	log_debug("%s: truncated answer, asking again over TCP", p->a->text);
	r = dnsio_ask_tcp(p->a, q, PROP_QUERY_TIMEOUT_MS, &err);
	if (r == NULL) {
		pr->state = AS_ERR;
		snprintf(pr->desc, PROP_DESC, "TCP: %s", err);
	}
	return r;
}

/*
 * Read what arrived at address ai: anything that is not the answer to the
 * query in flight (late, stray, malformed, another question) is dropped; a
 * truncated answer is asked again over TCP; the answer is judged.
 */
static void
receive(struct loop *l, size_t ai, double now)
{
	struct paddr *p = &l->addrs[ai];
	uint8_t buf[DNS_TCP_MAX];
	ldns_pkt *r = NULL;
	struct probe *pr;
	enum reply_check rc;
	ssize_t n;

	for (;;) {
		n = recv(p->fd, buf, sizeof(buf), 0);
		if (n == -1) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || !p->inflight)
				return;
			probe_failed(l, p, p->probe, strerror(errno), 0);
			p->next_send = now + PROP_ERROR_RETRY_MS / 1000.0;
			return;
		}
		if (!p->inflight)
			continue;	/* late answer */
		pr = &l->probes[p->probe];
		ldns_pkt_set_id(l->query[pr->target], p->qid);
		if ((rc = answer_reply_check(l->query[pr->target], buf, (size_t)n, &r)) ==
		    REPLY_IGNORE)
			continue;
		if (rc == REPLY_TRUNCATED)
			r = ask_tcp(l, p, pr);
		p->inflight = 0;
		if (r != NULL) {
			addr_note_reply(&p->h);
			judge(l, pr, r);
			ldns_pkt_free(r);
			say_lame(l, pr);
			if (l->mode == PROP_PRESENT && pr->state == AS_GOOD && pr->arr != NULL &&
			    l->t[pr->target].member && pr->arr->seen == 0)
				pr->arr->seen = now - l->start;
			infer_batch(l, pr);
		}
		return;
	}
}

/*
 * Append one part of a progress line to line (len bytes, *o used), "; "
 * first unless it is the first part, when all of it fits with
 * PROP_LINE_MORE bytes to spare.  0, or -1 (line unchanged) when it does not.
 */
static int
line_add(char *line, size_t len, size_t *o, const char *fmt, ...) LOG_PRINTF(4, 5);

static int
line_add(char *line, size_t len, size_t *o, const char *fmt, ...)
{
	va_list ap;
	size_t sep = *o > 0 ? 2 : 0;
	int n;

	if (*o + sep + PROP_LINE_MORE >= len)
		return -1;
	va_start(ap, fmt);
	n = vsnprintf(line + *o + sep, len - *o - sep, fmt, ap);
	va_end(ap);
	if (n < 0 || *o + sep + (size_t)n + PROP_LINE_MORE >= len) {
		line[*o] = '\0';
		return -1;
	}
	if (sep > 0)
		memcpy(line + *o, "; ", sep);
	*o += sep + (size_t)n;
	return 0;
}

/*
 * One progress line: how many nameservers are ready (and lame), then each
 * one still waited for with what its addresses last answered.  Addresses
 * that never answered are left out (the timeout report lists them); a
 * nameserver none of whose addresses answered is named as such.  Parts
 * that do not fit are counted, never dropped silently.
 */
static void
progress(const struct loop *l, double elapsed)
{
	char line[PROP_LINE], lame[PROP_LINE_MORE] = "", more[PROP_LINE_MORE] = "";
	size_t t, n, i, o = 0, ready = 0, lamed = 0, total = 0, left = 0, shown;

	line[0] = '\0';
	for (t = 0; t < l->nt; t++)
		for (n = 0; n < l->t[t].zone->nns; n++) {
			const char *nsname = l->t[t].zone->ns[n].name;

			if (l->t[t].zone->ns[n].naddrs == 0)
				continue;
			total++;
			switch (group_state(l, t, n)) {
			case NS_DONE:
				ready++;
				continue;
			case NS_LAME:
				lamed++;
				continue;
			case NS_WAITING:
				break;
			}
			for (i = 0, shown = 0; i < l->nprobes; i++) {
				const struct probe *pr = &l->probes[i];

				if (pr->target != t || pr->ns != n || pr->state == AS_GOOD ||
				    UNREACHABLE(&l->addrs[pr->addr]))
					continue;
				shown++;
				if (line_add(line, sizeof(line), &o, "%s %s (%s): %s", l->t[t].name,
				    nsname, l->addrs[pr->addr].a->text, pr->desc) == -1)
					left++;
			}
			if (shown == 0 && line_add(line, sizeof(line), &o, "%s %s: no address "
			    "answered yet", l->t[t].name, nsname) == -1)
				left++;
		}
	if (lamed > 0)
		snprintf(lame, sizeof(lame), ", %zu lame (not waited for)", lamed);
	if (left > 0)
		snprintf(more, sizeof(more), "%s%zu more not shown", o > 0 ? "; " : "", left);
	log_info("waiting (%.0f s): %zu of %zu nameservers ready%s%s%s%s", elapsed, ready,
	    total, lame, o > 0 || left > 0 ? "; " : "", line, more);
}

/*
 * 1 when target t waits for resolver caches at wall-clock time wall: its
 * servers are done, but an older answer may be cached until not_before
 * (PROP_PRESENT; never for a servers_only target).
 */
static int
cache_waiting(const struct loop *l, size_t t, double wall)
{
	return l->mode == PROP_PRESENT && !l->t[t].servers_only && l->t[t].done_at > 0 &&
	    l->t[t].not_before > wall;
}

/*
 * The syslog summary's reason (core/summary.h) on timeout: the first
 * nameserver still waited for, at an address that answered if it has one
 * (an unreachable address alone blocks nothing), or else the cache wait.
 */
static void
summary_reason(const struct loop *l, double timeout_s)
{
	const struct probe *first = NULL, *pr;
	size_t i, t, n, nwait = 0;
	char more[48] = "", at[16];

	for (t = 0; t < l->nt; t++)
		for (n = 0; n < l->t[t].zone->nns; n++)
			nwait += l->t[t].zone->ns[n].naddrs > 0 &&
			    group_state(l, t, n) == NS_WAITING;
	for (i = 0; i < l->nprobes; i++) {
		pr = &l->probes[i];
		if (pr->state == AS_GOOD || pr->state == AS_LAME ||
		    group_state(l, pr->target, pr->ns) != NS_WAITING)
			continue;
		if (first == NULL || (UNREACHABLE(&l->addrs[first->addr]) &&
		    !UNREACHABLE(&l->addrs[pr->addr])))
			first = pr;
	}
	if (first == NULL) {
		for (t = 0; t < l->nt; t++)
			if (cache_waiting(l, t, prop_wall_now())) {
				log_reason("%s: every authoritative server has it, but resolvers may "
				    "cache an older answer until %s (cache wait)", l->t[t].name,
				    log_clock(l->t[t].not_before, at, sizeof(at)));
				return;
			}
		return;
	}
	if (nwait > 1)
		snprintf(more, sizeof(more), "; %zu more nameserver(s) too", nwait - 1);
	log_reason("%s (%s) %s within %.0f s%s", l->t[first->target].zone->ns[first->ns].name,
	    l->addrs[first->addr].a->text, UNREACHABLE(&l->addrs[first->addr]) ?
	    "never answered" : l->mode == PROP_PRESENT ? "never served the value" :
	    "did not drop the value", timeout_s, more);
}

/* The final report on timeout: every nameserver/address and its answer. */
static void
report(const struct loop *l, double timeout_s)
{
	size_t t, i;

	summary_reason(l, timeout_s);	/* also under -q: syslog has no -q */
	if (l->mode == PROP_ABSENT_WARN) {
		if (log_get_level() == LOG_QUIET)
			return;		/* -q: no warnings */
		log_warn("not yet removed on every authoritative server within %.0f s; only a "
		    "warning, the command still succeeds: the values are deleted at the "
		    "provider, and the servers below drop them once they catch up:", timeout_s);
	} else
		log_err("not %s on every authoritative server within %.0f s:",
		    l->mode == PROP_PRESENT ? "propagated" : "removed", timeout_s);
	for (t = 0; t < l->nt; t++) {
		fprintf(stderr, "  %s (zone %s):\n", l->t[t].name, l->t[t].zone->apex);
		for (i = 0; i < l->nprobes; i++) {
			const struct probe *pr = &l->probes[i];

			if (pr->target != t)
				continue;
			fprintf(stderr, "    %-4s %s %s: %s%s\n",
			    pr->state == AS_GOOD ? "ok" : pr->state == AS_LAME ? "lame" : "FAIL",
			    l->t[t].zone->ns[pr->ns].name, l->addrs[pr->addr].a->text,
			    UNREACHABLE(&l->addrs[pr->addr]) ? "never answered: " : "", pr->desc);
		}
		if (cache_waiting(l, t, prop_wall_now())) {
			char at[16];

			fprintf(stderr, "    every server has it, but an older answer may still be "
			    "cached by resolvers until %s (cache wait: see dns01(1), TTL)\n",
			    log_clock(l->t[t].not_before, at, sizeof(at)));
		}
	}
}

/*
 * 1 when target t is done: every nameserver is done or lame, and at least
 * one is done.
 */
static int
target_done(const struct loop *l, size_t t)
{
	size_t n;
	int done = 0;

	for (n = 0; n < l->t[t].zone->nns; n++) {
		if (l->t[t].zone->ns[n].naddrs == 0)
			continue;
		switch (group_state(l, t, n)) {
		case NS_DONE:
			done = 1;
			break;
		case NS_LAME:
			break;
		case NS_WAITING:
			return 0;
		}
	}
	return done;
}

/*
 * Note targets that became done (servers) and start their hold; say what
 * the cache waits are waiting for: until when (the wait ends on that whole
 * second) and how many seconds that is from the clock second now, so that
 * the two agree.  A servers_only target is done with its servers.  1 when
 * everything is done.
 */
static int
all_done(struct loop *l, int say)
{
	double wall = prop_wall_now();
	char at[16];
	size_t t, i;
	int done = 1;

	for (t = 0; t < l->nt; t++) {
		struct prop_target *pt = &l->t[t];

		if (pt->done_at == 0) {
			if (!target_done(l, t)) {
				done = 0;
				continue;
			}
			pt->done_at = wall;
			for (i = 0; i < l->nprobes; i++)
				if (l->probes[i].target == t && l->probes[i].state == AS_GOOD &&
				    l->probes[i].others)
					pt->others = 1;
			if (l->mode == PROP_PRESENT && pt->not_before < prop_hold_end(pt, wall))
				pt->not_before = prop_hold_end(pt, wall);
			if (cache_waiting(l, t, wall))
				say = 1;
		}
		if (!cache_waiting(l, t, wall))
			continue;
		done = 0;
		if (say)
			log_note("%s: every authoritative server has it, but an older answer may "
			    "still be cached by resolvers until %s: waiting %.0f s more",
			    pt->name, log_clock(pt->not_before, at, sizeof(at)),
			    pt->not_before - floor(wall));
	}
	return done;
}

/* 1 when every target's nameservers are done (cache waits aside). */
static int
target_all_done(const struct loop *l)
{
	size_t t;

	for (t = 0; t < l->nt; t++)
		if (l->t[t].done_at == 0)
			return 0;
	return 1;
}

/* The earliest cache wait still running, as a log_now() time; 0 if none. */
static double
next_cache_end(const struct loop *l, double now)
{
	double wall = prop_wall_now(), best = 0;
	size_t t;

	for (t = 0; t < l->nt; t++)
		if (cache_waiting(l, t, wall) &&
		    (best == 0 || now + l->t[t].not_before - wall < best))
			best = now + l->t[t].not_before - wall;
	return best;
}

double
prop_hold_end(const struct prop_target *t, double from)
{
	if (t->hold <= 0)
		return 0;
	if (t->hold_until > 0 && from + t->hold > t->hold_until)
		return prop_cache_end(t->hold_until);
	return prop_cache_end(from + t->hold);
}

double
prop_cache_end(double bound)
{
	return bound > 0 ? ceil(bound) : 0;
}

double
prop_wall_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int
propagation_wait(struct prop_target *t, size_t nt, enum prop_mode mode, double timeout_s,
    struct prop_arrival *arr, size_t narr)
{
	struct loop *l = calloc(1, sizeof(*l));
	struct pollfd *pfd;
	size_t i, np;
	double start = log_now(), now, wake, cache_end;
	double next_progress = start + PROP_PROGRESS_FIRST_S;
	double servers_done = 0;
	int rc = ST_FAIL, say = 0;

	if (l == NULL) {
		log_err("out of memory");
		return ST_FAIL;
	}
	l->t = t;
	l->nt = nt;
	l->mode = mode;
	l->start = start;
	l->arr = arr;
	l->narr = narr;
	if (setup(l) == -1)
		goto out;
	pfd = l->pfd;
	for (i = 0, np = 0; i < nt; i++) {
		t[i].done_at = 0;
		t[i].not_before = prop_cache_end(t[i].not_before);
		np += mode == PROP_PRESENT && t[i].witness;
	}
	log_debug("waiting for %zu name(s) at %zu address(es); %zu witness(es) of an atomic "
	    "change", nt, l->naddrs, np);
	for (;;) {
		now = log_now();
		if (all_done(l, say)) {
			if (servers_done == 0)
				servers_done = now;
			log_info("%s on every authoritative server after %.2f s",
			    mode == PROP_PRESENT ? "present" : "gone", servers_done - start);
			if (now - servers_done > PROP_INTERVAL_MS / 1000.0)
				log_info("older answers are out of every resolver cache after %.2f s",
				    now - start);
			rc = ST_OK;
			break;
		}
		say = 0;
		if (servers_done == 0 && target_all_done(l))
			servers_done = now;
		if (now - start >= timeout_s) {
			report(l, timeout_s);
			rc = ST_TIMEOUT;
			break;
		}
		if (now >= next_progress) {
			if (servers_done == 0)
				progress(l, now - start);
			else
				say = 1;	/* all_done() tells about the cache waits */
			next_progress = now + PROP_PROGRESS_S;
		}
		wake = start + timeout_s;
		if (next_progress < wake)
			wake = next_progress;
		if ((cache_end = next_cache_end(l, now)) > 0 && cache_end < wake)
			wake = cache_end;
		for (i = 0, np = 0; i < l->naddrs; i++) {
			struct paddr *p = &l->addrs[i];

			if (p->fd == -1)
				continue;
			if (p->inflight && now - p->sent_at >= PROP_QUERY_TIMEOUT_MS / 1000.0)
				probe_failed(l, p, p->probe, "timeout", 1);
			if (!p->inflight && now >= p->next_send)
				send_query(l, i, now);
			if (p->inflight && p->sent_at + PROP_QUERY_TIMEOUT_MS / 1000.0 < wake)
				wake = p->sent_at + PROP_QUERY_TIMEOUT_MS / 1000.0;
			if (!p->inflight && next_probe(l, i) != (size_t)-1 && p->next_send < wake)
				wake = p->next_send;
			pfd[np].fd = p->fd;
			pfd[np].events = POLLIN;
			pfd[np].revents = 0;
			np++;
		}
		now = log_now();
		if (poll(pfd, np, wake > now ? (int)((wake - now) * 1000.0) + 1 : 0) == -1 &&
		    errno != EINTR) {
			log_err("poll: %s", strerror(errno));
			break;
		}
		now = log_now();
		for (i = 0, np = 0; i < l->naddrs; i++) {
			if (l->addrs[i].fd == -1)
				continue;
			if (pfd[np++].revents != 0)
				receive(l, i, now);
		}
	}
out:
	free_loop(l);
	return rc;
}

struct prop_answer *
propagation_list(const struct zone *z, const char *name, size_t *n)
{
	struct prop_answer *out = NULL;
	size_t i, j, k = 0;
	ldns_pkt *q = dnsio_query_new(name, LDNS_RR_TYPE_TXT, 0), *r;
	int try, rc = -1;

	*n = 0;
	for (i = 0; i < z->nns; i++)
		k += z->ns[i].naddrs;
	if (q == NULL || (out = calloc(k ? k : 1, sizeof(*out))) == NULL)
		goto out;
	for (i = 0; i < z->nns; i++)
		for (j = 0; j < z->ns[i].naddrs; j++) {
			struct prop_answer *a = &out[(*n)++];

			a->ns = z->ns[i].name;
			a->addr = z->ns[i].addrs[j].text;
			for (try = 0, r = NULL; try < PROP_LIST_TRIES && r == NULL; try++)
				r = dnsio_ask(&z->ns[i].addrs[j], q, PROP_QUERY_TIMEOUT_MS, &a->error);
			if (r == NULL)
				continue;
			a->answered = 1;
			a->rcode = ldns_pkt_get_rcode(r);
			a->aa = ldns_pkt_aa(r);
			rc = answer_txt_values(r, name, &a->values, &a->nvalues);
			ldns_pkt_free(r);
			if (rc == -1)
				goto out;
		}
	rc = 0;
out:
	ldns_pkt_free(q);
	if (rc == -1) {
		propagation_answers_free(out, *n);
		out = NULL;
		*n = 0;
	}
	return out;
}

void
propagation_answers_free(struct prop_answer *a, size_t n)
{
	size_t i;

	if (a == NULL)
		return;
	for (i = 0; i < n; i++)
		answer_txt_values_free(a[i].values, a[i].nvalues);
	free(a);
}
