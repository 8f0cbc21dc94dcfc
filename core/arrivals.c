/* Arrival times of dns01's changes per zone and nameserver address; see arrivals.h. */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arrivals.h"
#include "log.h"
#include "propagation.h"
#include "state.h"
#include "status.h"

#define ARR_FILE_MAX		(ARRIVALS_MAX_ENTRIES * ARRIVALS_LINE_MAX)
#define ARR_LOCK		"arrivals"	/* state_lock(): arrivals.lock */
#define ARR_OFF			"dns01 polls without learned arrival times"
#define ARR_NAME_SHOWN_MAX	(4 * NAME_BUF + 1)	/* a caller's zone, escaped */
#define ARR_ADDR_SHOWN_MAX	(4 * DNS_ADDR_TEXT + 1)	/* a caller's address, escaped */
#define ARR_REPORT_MAX		1024	/* the damaged lines named in the warning */
#define ARR_FIELDS		4
#define DIGITS			"0123456789"

/* The arrivals file while it is locked. */
struct arrivals {
	struct state_file f;
	struct arrivals_parsed p;
};

/*
 * A decimal number of n characters (at most max_chars): digits, optionally
 * '.' and 1..max_frac digits.  0 or -1.
 */
static int
parse_decimal(const char *s, size_t n, size_t max_chars, size_t max_frac, double *out)
{
	char buf[ARRIVALS_TIME_CHARS + 1], *end;
	size_t digits, len, frac = 0;

	if (n == 0 || n > max_chars || n >= sizeof(buf))
		return -1;
	memcpy(buf, s, n);
	buf[n] = '\0';
	len = digits = strspn(buf, DIGITS);
	if (buf[len] == '.' && (frac = strspn(buf + len + 1, DIGITS)) > 0)
		len += 1 + frac;
	if (digits == 0 || len != n || frac > max_frac)
		return -1;
	errno = 0;
	*out = strtod(buf, &end);
	return errno != 0 || end != buf + n || !isfinite(*out) ? -1 : 0;
}

/* The delays field "D1,D2,..." (n characters) into a->delay/a->n.  0 or -1. */
static int
parse_delays(const char *s, size_t n, struct arrival *a, const char **why)
{
	const char *p = s, *end = s + n, *comma;
	size_t flen;

	a->n = 0;
	for (;;) {
		comma = memchr(p, ',', (size_t)(end - p));
		flen = (size_t)((comma != NULL ? comma : end) - p);
		if (a->n == ARRIVALS_KEEP) {
			*why = "more delays than dns01 keeps";
			return -1;
		}
		if (parse_decimal(p, flen, ARRIVALS_DELAY_CHARS, ARRIVALS_DECIMALS,
		    &a->delay[a->n]) == -1) {
			*why = "a delay that is not a decimal number of seconds (at most 3 decimals)";
			return -1;
		}
		if (a->delay[a->n] > ARRIVALS_MAX_DELAY_S) {
			*why = "a delay longer than any dns01 notes";
			return -1;
		}
		a->n++;
		if (comma == NULL)
			return 0;
		p = comma + 1;
	}
}

/*
 * The canonical forms of a zone (name_check(), NAME_BUF bytes) and of an
 * address text (dnsio_parse_addr(), DNS_ADDR_TEXT bytes).  0, or -1 with
 * *why set.
 */
static int
canonical_key(const char *zone, const char *addr, char *czone, char *caddr, const char **why)
{
	struct dns_addr da;
	const char *ignored;

	if (name_check(zone, 0, czone, &ignored) == -1) {
		*why = "a zone that is not a domain name";
		return -1;
	}
	if (strlen(addr) >= DNS_ADDR_TEXT || dnsio_parse_addr(addr, &da) == -1) {
		*why = "an address that is not an IP address with an optional port";
		return -1;
	}
	memcpy(caddr, da.text, DNS_ADDR_TEXT);
	return 0;
}

int
arrivals_parse_line(const char *line, size_t len, struct arrival *a, const char **why)
{
	const char *f[ARR_FIELDS], *p = line, *end = line + len, *sp;
	size_t flen[ARR_FIELDS], i;
	char zone[NAME_BUF], addr[DNS_ADDR_TEXT];

	memset(a, 0, sizeof(*a));
	if (len >= ARRIVALS_LINE_MAX) {
		*why = "longer than any line dns01 writes";
		return -1;
	}
	if (memchr(line, '\0', len) != NULL) {
		*why = "a NUL byte";
		return -1;
	}
	for (i = 0; i < ARR_FIELDS; i++) {
		sp = i + 1 < ARR_FIELDS ? memchr(p, ' ', (size_t)(end - p)) : NULL;
		if (i + 1 < ARR_FIELDS && sp == NULL) {
			*why = "not four fields one space apart";
			return -1;
		}
		f[i] = p;
		flen[i] = (size_t)((sp != NULL ? sp : end) - p);
		p = sp != NULL ? sp + 1 : end;
	}
	if (memchr(f[3], ' ', flen[3]) != NULL) {
		*why = "not four fields one space apart";
		return -1;
	}
	if (parse_decimal(f[0], flen[0], ARRIVALS_TIME_CHARS, ARRIVALS_TIME_CHARS,
	    &a->updated) == -1) {
		*why = "an update time that is not a decimal number";
		return -1;
	}
	if (flen[1] == 0 || flen[1] >= sizeof(zone)) {
		*why = "a zone that is not a domain name";
		return -1;
	}
	memcpy(zone, f[1], flen[1]);
	zone[flen[1]] = '\0';
	if (flen[2] == 0 || flen[2] >= sizeof(addr)) {
		*why = "an address that is not an IP address with an optional port";
		return -1;
	}
	memcpy(addr, f[2], flen[2]);
	addr[flen[2]] = '\0';
	if (canonical_key(zone, addr, a->zone, a->addr, why) == -1 ||
	    parse_delays(f[3], flen[3], a, why) == -1)
		return -1;
	return 0;
}

int
arrivals_window(const struct arrival *a, double *lo, double *hi)
{
	size_t n = a->n < ARRIVALS_KEEP ? a->n : ARRIVALS_KEEP, i, used = 0;
	double min = 0, max = 0, last = 0, d;

	*lo = *hi = 0;
	for (i = n > ARRIVALS_USE ? n - ARRIVALS_USE : 0; i < n; i++) {
		d = a->delay[i];
		/* NaN compares false: isfinite() first. */
		if (!isfinite(d) || d < 0 || d > ARRIVALS_MAX_DELAY_S)
			continue;
		if (used == 0 || d < min)
			min = d;
		if (used == 0 || d > max)
			max = d;
		last = d;
		used++;
	}
	if (used < ARRIVALS_MIN_SEEN || used == 0)
		return 0;
	if (max - min > ARRIVALS_SPREAD_MAX_S)	/* the lag changed: the newest counts */
		min = max = last;
	*lo = min - ARRIVALS_MARGIN_S - ARRIVALS_MARGIN_FRAC * min;
	if (*lo < 0)
		*lo = 0;
	*hi = max + ARRIVALS_MARGIN_S + ARRIVALS_MARGIN_FRAC * max;
	return 1;
}

/* Count a damaged line; the first ones are kept for the report. */
static void
damaged(struct arrivals_parsed *p, size_t line, const char *why)
{
	if (p->nbad < ARRIVALS_DAMAGE_SHOWN) {
		p->bad[p->nbad].line = line;
		p->bad[p->nbad].why = why;
	}
	p->nbad++;
}

/* The index of the entry of (zone, addr) in e[0..n-1] (canonical), or n. */
static size_t
find(const struct arrival *e, size_t n, const char *zone, const char *addr)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (strcmp(e[i].zone, zone) == 0 && strcmp(e[i].addr, addr) == 0)
			break;
	return i;
}

void
arrivals_parse(const char *text, size_t len, double now, struct arrivals_parsed *p)
{
	const char *line = text, *end = text + len, *nl, *why = NULL;
	struct arrival a;
	size_t lineno;

	p->n = 0;
	p->nstale = 0;
	p->nbad = 0;
	for (lineno = 1; line < end; lineno++, line = nl + 1) {
		if ((nl = memchr(line, '\n', (size_t)(end - line))) == NULL) {
			damaged(p, lineno, "no newline at its end (a write cut short)");
			break;
		}
		if (arrivals_parse_line(line, (size_t)(nl - line), &a, &why) == -1)
			damaged(p, lineno, why);
		else if (a.updated > now + ARRIVALS_CLOCK_STEP_S)
			damaged(p, lineno, "an update time in the future");
		else if (a.updated < now - ARRIVALS_MAX_AGE_S)
			p->nstale++;
		else if (find(p->e, p->n, a.zone, a.addr) < p->n)
			damaged(p, lineno, "a second line for the same zone and address");
		else if (p->n == p->max)
			damaged(p, lineno, "more entries than the file holds");
		else
			p->e[p->n++] = a;
	}
}

/*
 * Say, in one warning and once for the same text, what was wrong in the
 * file of a read as text (len bytes): how many lines were ignored, the
 * first ones by number and reason (never their bytes).
 */
static void
report_damage(const struct arrivals *a, const char *text, size_t len, int truncated)
{
	char lines[ARR_REPORT_MAX];
	size_t i, off = 0;
	int n;

	if ((a->p.nbad == 0 && !truncated) ||
	    !state_report_once(a->f.path, strlen(a->f.path), text, len))
		return;
	lines[0] = '\0';
	for (i = 0; i < a->p.nbad && i < ARRIVALS_DAMAGE_SHOWN; i++) {
		n = snprintf(lines + off, sizeof(lines) - off, "%sline %zu: %s",
		    i > 0 ? "; " : "", a->p.bad[i].line, a->p.bad[i].why);
		if (n < 0 || (size_t)n >= sizeof(lines) - off)
			break;		/* cut: the count still says how many */
		off += (size_t)n;
	}
	if (a->p.nbad > ARRIVALS_DAMAGE_SHOWN)
		snprintf(lines + off, sizeof(lines) - off, "; and %zu more",
		    a->p.nbad - ARRIVALS_DAMAGE_SHOWN);
	if (a->p.nbad == 0)
		log_warn("%s is larger than any arrivals file dns01 writes: only the whole lines "
		    "in its first %d bytes are read, and dns01 drops the rest the next time it "
		    "updates the file", a->f.shown, ARR_FILE_MAX);
	else
		log_warn("%s%s: %zu damaged line%s ignored (%s); dns01 drops them the next time "
		    "it updates the file", a->f.shown, truncated ? " (only its first part is read)" :
		    "", a->p.nbad, a->p.nbad == 1 ? "" : "s", lines);
}

/* Unlock and free what load() holds. */
static void
unload(struct arrivals *a)
{
	state_file_close(&a->f);
	free(a->p.e);
	a->p.e = NULL;
}

/*
 * Lock the file of dir and read its current entries into a (release with
 * unload()): state_file_open() reads it (no FIFO, device, directory or
 * symbolic link; one with a second name, a cp -al backup, too; of a larger
 * one, the whole lines in its first ARR_FILE_MAX bytes); a missing file
 * has no entries.  0, or -1 (reported) with nothing held.
 */
static int
load(const char *dir, struct arrivals *a)
{
	char *text = NULL;
	size_t len = 0;
	int cut;

	memset(a, 0, sizeof(*a));
	if ((a->p.e = calloc(ARRIVALS_MAX_ENTRIES, sizeof(*a->p.e))) == NULL) {
		log_warn("out of memory reading the arrival times: %s", ARR_OFF);
		return -1;
	}
	a->p.max = ARRIVALS_MAX_ENTRIES;
	if (state_file_open(dir, ARRIVALS_FILE, ARR_LOCK, ARR_FILE_MAX, ARR_OFF, &a->f, &text,
	    &len, &cut) == -1) {
		free(a->p.e);
		a->p.e = NULL;
		return -1;
	}
	if (text != NULL) {
		arrivals_parse(text, len, prop_wall_now(), &a->p);
		report_damage(a, text, len, cut);
		free(text);
	}
	return 0;
}

void
arrivals_get(const char *dir, struct arrival *a, size_t n)
{
	struct arrivals f;
	char zone[NAME_BUF], addr[DNS_ADDR_TEXT];
	const char *why;
	size_t k, i;

	for (k = 0; k < n; k++) {
		memset(a[k].delay, 0, sizeof(a[k].delay));
		a[k].n = 0;
		a[k].updated = 0;
	}
	if (n == 0 || load(dir, &f) == -1)
		return;
	for (k = 0; k < n; k++) {
		/* the caller's zone and addr as the file holds them; none matches if not valid */
		if (canonical_key(a[k].zone, a[k].addr, zone, addr, &why) == -1 ||
		    (i = find(f.p.e, f.p.n, zone, addr)) == f.p.n)
			continue;
		memcpy(a[k].delay, f.p.e[i].delay, sizeof(a[k].delay));
		a[k].n = f.p.e[i].n;
		a[k].updated = f.p.e[i].updated;
	}
	unload(&f);
}

/*
 * Append to the size bytes at text, from *len on, what fmt says.  0, or -1
 * when it does not fit (*len unchanged).
 */
static int
put(char *text, size_t size, size_t *len, const char *fmt, ...) LOG_PRINTF(4, 5);
static int
put(char *text, size_t size, size_t *len, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(text + *len, size - *len, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= size - *len)
		return -1;
	*len += (size_t)n;
	return 0;
}

/*
 * Replace the file with a's entries (state_write(): a new file renamed over
 * it).  0 or -1 (reported).
 */
static int
save(const struct arrivals *a)
{
	char *text;
	size_t len = 0, i, k;
	int rc = -1;

	if ((text = malloc(ARR_FILE_MAX)) == NULL) {
		log_warn("out of memory writing %s", a->f.shown);
		return -1;
	}
	for (i = 0; i < a->p.n; i++) {
		const struct arrival *e = &a->p.e[i];

		if (put(text, ARR_FILE_MAX, &len, "%.3f %s %s", e->updated, e->zone,
		    e->addr) == -1)
			goto full;
		for (k = 0; k < e->n; k++)
			if (put(text, ARR_FILE_MAX, &len, "%c%.3f", k == 0 ? ' ' : ',',
			    e->delay[k]) == -1)
				goto full;
		if (put(text, ARR_FILE_MAX, &len, "\n") == -1)
			goto full;
	}
	if (state_write(a->f.path, text, len) == ST_OK)
		rc = 0;
	goto out;
full:
	log_warn("%s: the entries do not fit in %d bytes", a->f.shown, ARR_FILE_MAX);
out:
	free(text);
	return rc;
}

/* The index of the least recently updated entry of a (which has entries). */
static size_t
least_recent(const struct arrivals *a)
{
	size_t i, old = 0;

	for (i = 1; i < a->p.n; i++)
		if (a->p.e[i].updated < a->p.e[old].updated)
			old = i;
	return old;
}

/*
 * Append the delay of obs (checked; zone and addr canonical) to its entry
 * in a, made if new (evicting the least recently updated when full).
 */
static void
merge(struct arrivals *a, const struct arrival *obs, double now)
{
	struct arrival *e;
	size_t i, old;

	i = find(a->p.e, a->p.n, obs->zone, obs->addr);
	if (i == a->p.n) {
		if (a->p.n == ARRIVALS_MAX_ENTRIES) {	/* full: the least recent goes */
			old = least_recent(a);
			memmove(&a->p.e[old], &a->p.e[old + 1],
			    (a->p.n - old - 1) * sizeof(a->p.e[0]));
			i = --a->p.n;
		}
		memset(&a->p.e[i], 0, sizeof(a->p.e[0]));
		memcpy(a->p.e[i].zone, obs->zone, sizeof(obs->zone));
		memcpy(a->p.e[i].addr, obs->addr, sizeof(obs->addr));
		a->p.n++;
	}
	e = &a->p.e[i];
	if (e->n == ARRIVALS_KEEP)	/* the oldest delay goes */
		memmove(&e->delay[0], &e->delay[1], --e->n * sizeof(e->delay[0]));
	e->delay[e->n++] = obs->delay[0];
	e->updated = now;
}

/*
 * obs in canonical form into *c: 0, or -1 with *why set when it is not an
 * observation dns01 notes.
 */
static int
check_obs(const struct arrival *obs, struct arrival *c, const char **why)
{
	double d = obs->delay[0];

	memset(c, 0, sizeof(*c));
	if (obs->n != 1) {
		*why = "not exactly one delay";
		return -1;
	}
	/* NaN compares false: isfinite() first. */
	if (!isfinite(d) || d < 0 || d > ARRIVALS_MAX_DELAY_S) {
		*why = "a delay that is negative, not finite or longer than any dns01 notes";
		return -1;
	}
	if (memchr(obs->zone, '\0', sizeof(obs->zone)) == NULL ||
	    memchr(obs->addr, '\0', sizeof(obs->addr)) == NULL) {
		*why = "a zone or address without its end";
		return -1;
	}
	if (canonical_key(obs->zone, obs->addr, c->zone, c->addr, why) == -1)
		return -1;
	c->delay[0] = d;
	c->n = 1;
	return 0;
}

/* Say that obs[k] is not noted, and why. */
static void
not_noted(const struct arrival *obs, const char *why)
{
	char zone[NAME_BUF], addr[DNS_ADDR_TEXT];
	char zshown[ARR_NAME_SHOWN_MAX], ashown[ARR_ADDR_SHOWN_MAX];

	/* a zone or address without its NUL is shown cut at its buffer's end */
	memcpy(zone, obs->zone, sizeof(zone));
	zone[sizeof(zone) - 1] = '\0';
	memcpy(addr, obs->addr, sizeof(addr));
	addr[sizeof(addr) - 1] = '\0';
	log_warn("not noting the arrival time at %s in %s: %s",
	    log_escape(addr, ashown, sizeof(ashown)), log_escape(zone, zshown, sizeof(zshown)),
	    why);
}

void
arrivals_add(const char *dir, const struct arrival *obs, size_t n)
{
	struct arrivals f;
	struct arrival *c;
	const char *why = NULL;
	double now = prop_wall_now();
	size_t k, ok = 0;

	if (n == 0)
		return;
	if ((c = calloc(n, sizeof(*c))) == NULL) {
		log_warn("out of memory noting arrival times");
		return;
	}
	for (k = 0; k < n; k++)
		if (check_obs(&obs[k], &c[ok], &why) == 0)
			ok++;
		else
			not_noted(&obs[k], why);
	if (ok == 0 || load(dir, &f) == -1)
		goto out;	/* reported */
	for (k = 0; k < ok; k++)
		merge(&f, &c[k], now);
	if (save(&f) == -1)
		log_warn("cannot update the arrival times %s: later runs poll without this run's",
		    f.f.shown);
	unload(&f);
out:
	free(c);
}
