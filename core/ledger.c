/* The cache ledger; see ledger.h. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ledger.h"
#include "log.h"
#include "propagation.h"
#include "state.h"
#include "status.h"

#define LEDGER_LINE_MAX		(NAME_BUF + 64)
#define LEDGER_FILE_MAX		(LEDGER_MAX_ENTRIES * LEDGER_LINE_MAX)
#define LEDGER_LOCK		"cache"
#define LEDGER_NUM_MAX		24	/* characters of a time ("1732748000.123") */
#define LEDGER_INT_MAX		9	/* digits of the TTL */
#define LEDGER_FIELDS		5
#define DIGITS			"0123456789"

/* What stops working when the ledger cannot be used (state_file_open()). */
#define LEDGER_OFF	"cache waits are off"

/* The ledger while it is locked. */
struct ledger {
	struct state_file f;
	struct ledger_parsed p;
};

/* A time field: digits, optionally '.' and digits.  0 or -1. */
static int
parse_time(const char *s, size_t n, double *out)
{
	char buf[LEDGER_NUM_MAX + 1], *end;
	size_t digits, len, frac;

	if (n == 0 || n > LEDGER_NUM_MAX)
		return -1;
	memcpy(buf, s, n);
	buf[n] = '\0';
	len = digits = strspn(buf, DIGITS);
	if (buf[len] == '.' && (frac = strspn(buf + len + 1, DIGITS)) > 0)
		len += 1 + frac;
	if (digits == 0 || len != n)
		return -1;
	errno = 0;
	*out = strtod(buf, &end);
	return errno != 0 || end != buf + n ? -1 : 0;
}

/* A decimal integer field of 1..LEDGER_INT_MAX digits.  0 or -1. */
static int
parse_int(const char *s, size_t n, int *out)
{
	char buf[LEDGER_INT_MAX + 1], *end;
	long v;

	if (n == 0 || n > LEDGER_INT_MAX)
		return -1;
	memcpy(buf, s, n);
	buf[n] = '\0';
	if (strspn(buf, DIGITS) != n)
		return -1;
	errno = 0;
	v = strtol(buf, &end, 10);
	if (errno != 0 || end != buf + n)
		return -1;
	*out = (int)v;
	return 0;
}

int
ledger_parse_line(const char *line, size_t len, struct ledger_entry *e, const char **why)
{
	const char *f[LEDGER_FIELDS], *p = line, *end = line + len, *sp;
	size_t flen[LEDGER_FIELDS], i;
	char name[NAME_BUF];

	memset(e, 0, sizeof(*e));
	if (len >= LEDGER_LINE_MAX) {
		*why = "longer than any line dns01 writes";
		return -1;
	}
	if (memchr(line, '\0', len) != NULL) {
		*why = "a NUL byte";
		return -1;
	}
	for (i = 0; i < LEDGER_FIELDS; i++) {
		sp = i + 1 < LEDGER_FIELDS ? memchr(p, ' ', (size_t)(end - p)) : NULL;
		if (i + 1 < LEDGER_FIELDS && sp == NULL) {
			*why = "not five fields one space apart";
			return -1;
		}
		f[i] = p;
		flen[i] = (size_t)((sp != NULL ? sp : end) - p);
		p = sp != NULL ? sp + 1 : end;
	}
	if (parse_time(f[0], flen[0], &e->until) == -1 ||
	    parse_time(f[1], flen[1], &e->changed) == -1) {
		*why = "a time that is not a decimal number";
		return -1;
	}
	if (flen[2] != 1 || (f[2][0] != '0' && f[2][0] != '1' && f[2][0] != 'p')) {
		*why = "the live flag is neither 0, 1 nor p";
		return -1;
	}
	e->pending = f[2][0] == 'p';
	e->live = f[2][0] != '0';
	if (parse_int(f[3], flen[3], &e->ttl) == -1) {
		*why = "a TTL that is not a decimal number";
		return -1;
	}
	if (flen[4] >= sizeof(name)) {
		*why = "not a domain name";
		return -1;
	}
	memcpy(name, f[4], flen[4]);
	name[flen[4]] = '\0';
	if (name_check(name, 0, e->name, why) == -1) {
		*why = "not a domain name";
		return -1;
	}
	return 0;
}

double
ledger_pending_end(const struct ledger_entry *e)
{
	return e->pending ? e->changed + LEDGER_UNSEEN_S + e->ttl + LEDGER_CACHE_SLACK_S : 0;
}

enum ledger_verdict
ledger_judge(const struct ledger_entry *e, double now, const char **why)
{
	/* NaN compares false: the finiteness test comes first. */
	if (!isfinite(e->until) || !isfinite(e->changed))
		*why = "a time that is not a finite number";
	else if (e->until < 0 || e->changed < 0)
		*why = "a negative time";
	else if (e->live != 0 && e->live != 1)
		*why = "the live flag is neither 0 nor 1";
	else if (e->pending && !e->live)
		*why = "a pending removal whose RRset is said to be empty";
	else if (e->ttl < 0 || e->ttl > LEDGER_TTL_MAX)
		*why = "a TTL outside what dns01 writes";
	else if (e->changed > now + LEDGER_CLOCK_STEP_S)
		*why = "a change in the future";
	else if (e->until > now + LEDGER_AHEAD_MAX_S)
		*why = "a cache wait that ends later than any dns01 notes (beyond now + the "
		    "largest TTL)";
	else if (e->until > now || (e->live && e->changed + e->ttl > now) ||
	    ledger_pending_end(e) > now)
		return LEDGER_CURRENT;
	else
		return LEDGER_EXPIRED;
	return LEDGER_DAMAGED;
}

/* Count a damaged line; the first ones are kept for the report. */
static void
damaged(struct ledger_parsed *p, size_t line, const char *why)
{
	if (p->nbad < LEDGER_DAMAGE_SHOWN) {
		p->bad[p->nbad].line = line;
		p->bad[p->nbad].why = why;
	}
	p->nbad++;
}

/* 1 when p already holds an entry for name. */
static int
known(const struct ledger_parsed *p, const char *name)
{
	size_t i;

	for (i = 0; i < p->n; i++)
		if (strcmp(p->e[i].name, name) == 0)
			return 1;
	return 0;
}

void
ledger_parse(const char *text, size_t len, double now, struct ledger_parsed *p)
{
	const char *line = text, *end = text + len, *nl, *why = NULL;
	struct ledger_entry e;
	enum ledger_verdict v = LEDGER_DAMAGED;
	size_t lineno;

	p->n = 0;
	p->nbad = 0;
	for (lineno = 1; line < end; lineno++, line = nl + 1) {
		if ((nl = memchr(line, '\n', (size_t)(end - line))) == NULL) {
			damaged(p, lineno, "no newline at its end (a write cut short)");
			break;
		}
		if (ledger_parse_line(line, (size_t)(nl - line), &e, &why) == -1 ||
		    (v = ledger_judge(&e, now, &why)) == LEDGER_DAMAGED)
			damaged(p, lineno, why);
		else if (v == LEDGER_EXPIRED)
			continue;
		else if (known(p, e.name))
			damaged(p, lineno, "a second entry for the same name");
		else if (p->n == p->max)
			damaged(p, lineno, "more entries than the ledger holds");
		else
			p->e[p->n++] = e;
	}
}

/* Say what was wrong in the ledger l read as text (len bytes), once. */
static void
report_damage(const struct ledger *l, const char *text, size_t len, int truncated)
{
	size_t i;

	if ((l->p.nbad == 0 && !truncated) ||
	    !state_report_once(l->f.path, strlen(l->f.path), text, len))
		return;
	if (truncated)
		log_warn("%s is larger than any ledger dns01 writes: only its first %d bytes "
		    "are read", l->f.shown, LEDGER_FILE_MAX);
	for (i = 0; i < l->p.nbad && i < LEDGER_DAMAGE_SHOWN; i++)
		log_warn("%s line %zu ignored: %s", l->f.shown, l->p.bad[i].line, l->p.bad[i].why);
	if (l->p.nbad > LEDGER_DAMAGE_SHOWN)
		log_warn("%s: %zu more damaged lines ignored", l->f.shown,
		    l->p.nbad - LEDGER_DAMAGE_SHOWN);
	log_warn("%s: dns01 drops ignored lines the next time it updates the ledger; to drop "
	    "them now, delete those lines (not the whole file: that also forgets the pending "
	    "cache waits of other names)", l->f.shown);
}

/* Unlock and free what load() holds. */
static void
unload(struct ledger *l)
{
	state_file_close(&l->f);
	free(l->p.e);
	l->p.e = NULL;
}

/*
 * Lock the ledger of dir and read its current entries into l (release
 * with unload()): state_file_open() reads it (no FIFO, device, directory
 * or symbolic link; one with a second name, a cp -al backup, too; of a
 * larger one, the whole lines in its first LEDGER_FILE_MAX bytes); a
 * missing file is an empty ledger.  0, or -1 (reported) with nothing held.
 */
static int
load(const char *dir, struct ledger *l)
{
	char *text = NULL;
	size_t len = 0;
	int cut;

	memset(l, 0, sizeof(*l));
	if ((l->p.e = calloc(LEDGER_MAX_ENTRIES, sizeof(*l->p.e))) == NULL) {
		log_warn("out of memory reading the cache ledger: cache waits are off");
		return -1;
	}
	l->p.max = LEDGER_MAX_ENTRIES;
	if (state_file_open(dir, LEDGER_FILE, LEDGER_LOCK, LEDGER_FILE_MAX, LEDGER_OFF, &l->f,
	    &text, &len, &cut) == -1) {
		free(l->p.e);
		l->p.e = NULL;
		return -1;
	}
	if (text != NULL) {
		ledger_parse(text, len, prop_wall_now(), &l->p);
		report_damage(l, text, len, cut);
		free(text);
	}
	return 0;
}

void
ledger_get_many(const char *dir, const char *const *names, size_t n, struct ledger_entry *e)
{
	struct ledger l;
	size_t i, k;

	for (k = 0; k < n; k++) {
		memset(&e[k], 0, sizeof(e[k]));
		snprintf(e[k].name, sizeof(e[k].name), "%s", names[k]);
	}
	if (n == 0 || load(dir, &l) == -1)
		return;
	for (k = 0; k < n; k++)
		for (i = 0; i < l.p.n; i++)
			if (strcmp(l.p.e[i].name, names[k]) == 0)
				e[k] = l.p.e[i];
	unload(&l);
}

void
ledger_get(const char *dir, const char *name, struct ledger_entry *e)
{
	ledger_get_many(dir, &name, 1, e);
}

/*
 * Replace the ledger file with l's entries (state_write: a new file
 * renamed over it).  0 or -1 (reported).
 */
static int
save(const struct ledger *l)
{
	char *text;
	size_t len = 0, i;
	int n, rc = -1;

	if ((text = malloc(LEDGER_FILE_MAX)) == NULL) {
		log_warn("out of memory writing %s", l->f.shown);
		return -1;
	}
	for (i = 0; i < l->p.n; i++) {
		const struct ledger_entry *e = &l->p.e[i];

		n = snprintf(text + len, LEDGER_FILE_MAX - len, "%.3f %.3f %c %d %s\n",
		    e->until, e->changed, e->pending ? 'p' : e->live ? '1' : '0', e->ttl,
		    e->name);
		if (n < 0 || (size_t)n >= LEDGER_FILE_MAX - len) {
			log_warn("%s: the entries do not fit in %d bytes", l->f.shown,
			    LEDGER_FILE_MAX);
			goto out;
		}
		len += (size_t)n;
	}
	if (state_write(l->f.path, text, len) == ST_OK)
		rc = 0;
out:
	free(text);
	return rc;
}

/* Merge e into the loaded ledger l (see ledger_put()). */
static void
merge(struct ledger *l, const struct ledger_entry *e)
{
	size_t i;

	for (i = 0; i < l->p.n; i++)
		if (strcmp(l->p.e[i].name, e->name) == 0)
			break;
	if (i == l->p.n) {
		if (l->p.n == LEDGER_MAX_ENTRIES)	/* full: the oldest goes */
			memmove(&l->p.e[0], &l->p.e[1], --l->p.n * sizeof(l->p.e[0]));
		memset(&l->p.e[l->p.n], 0, sizeof(l->p.e[0]));
		memcpy(l->p.e[l->p.n].name, e->name, sizeof(e->name));
		i = l->p.n++;
	}
	if (e->until > l->p.e[i].until)
		l->p.e[i].until = e->until;
	l->p.e[i].changed = e->changed;
	l->p.e[i].live = e->live;
	l->p.e[i].ttl = e->ttl;
	l->p.e[i].pending = e->pending;
}

void
ledger_put_many(const char *dir, const struct ledger_entry *e, size_t n)
{
	struct ledger l;
	const char *why;
	double now = prop_wall_now();
	size_t k, ok = 0;

	for (k = 0; k < n; k++)
		if (ledger_judge(&e[k], now, &why) == LEDGER_DAMAGED)
			log_warn("not noting the change at %s in the cache ledger: %s", e[k].name,
			    why);
		else
			ok++;
	if (ok == 0 || load(dir, &l) == -1)
		return;		/* reported: cache waits are off */
	for (k = 0; k < n; k++)
		if (ledger_judge(&e[k], now, &why) != LEDGER_DAMAGED)
			merge(&l, &e[k]);
	if (save(&l) == -1)
		log_warn("cannot update the cache ledger %s: the next write at %s%s may not wait "
		    "for cached answers", l.f.shown, e[0].name, n > 1 ? " and the other names" : "");
	unload(&l);
}

void
ledger_put(const char *dir, const struct ledger_entry *e)
{
	ledger_put_many(dir, e, 1);
}
