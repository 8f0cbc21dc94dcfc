/*
 * Unit tests for core/arrivals.[ch]: the decisions (one line's syntax, the
 * expected-arrival window, a whole text with damaged, stale and duplicate
 * lines), and the file handling (round trips, the last ARRIVALS_KEEP delays,
 * eviction of the least recently updated entry, FIFOs, symbolic links and
 * directories in place of the file, a write that fails, messages said once
 * and never echoing the file's bytes).  arrivals_* messages go to stderr;
 * the tests that check them capture stderr in a file.
 */
#include <setjmp.h>
#include <stddef.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "unit.h"

#include "../../core/arrivals.h"

#define NOW		1700000000.0	/* for the pure functions */
#define ZONE_A		"a.example.test"
#define ZONE_B		"b.example.test"
#define ADDR_4		"192.0.2.1"
#define ADDR_6		"[2001:db8::1]:5353"
#define EPS		1e-9		/* for computed window bounds */
/* The window arrivals_window() gives around the delays min and max. */
#define WLO(min)	((min) - ARRIVALS_MARGIN_S - ARRIVALS_MARGIN_FRAC * (min))
#define WHI(max)	((max) + ARRIVALS_MARGIN_S + ARRIVALS_MARGIN_FRAC * (max))
#define FILE_EPS	0.0005		/* a delay through the file (%.3f) */
#define BIG_FILE	(ARRIVALS_MAX_ENTRIES * ARRIVALS_LINE_MAX)

/* ------------------------------------------------------------------ helpers */

/* A file in the test's state directory. */
#define in_dir(name)	unit_path(unit_state, (name))

/* The temporary file of this process's writes (state_write()). */
static const char *
temp_file(void)
{
	char name[64];

	snprintf(name, sizeof(name), "%s.tmp-%ld", ARRIVALS_FILE, (long)getpid());
	return in_dir(name);
}


/* An observation: delay seconds at (zone, addr). */
static struct arrival
obs(const char *zone, const char *addr, double delay)
{
	struct arrival a;

	memset(&a, 0, sizeof(a));
	snprintf(a.zone, sizeof(a.zone), "%s", zone);
	snprintf(a.addr, sizeof(a.addr), "%s", addr);
	a.delay[0] = delay;
	a.n = 1;
	return a;
}

/* A key to look up: (zone, addr), nothing else. */
static struct arrival
key(const char *zone, const char *addr)
{
	struct arrival a = obs(zone, addr, 0);

	a.n = 0;
	return a;
}

/* A file line for (zone, addr) updated age_s ago, with the given delays. */
static const char *
line(double age_s, const char *zone, const char *addr, const char *delays)
{
	static char buf[4][ARRIVALS_LINE_MAX + 2];
	static unsigned next;
	char *p = buf[next++ % 4];

	snprintf(p, sizeof(buf[0]), "%.3f %s %s %s\n", (double)time(NULL) - age_s, zone, addr,
	    delays);
	return p;
}

/* A file's contents (larger than unit_slurp()'s). */
static const char *
slurp_big(const char *path)
{
	static char buf[BIG_FILE + 1];
	FILE *f = fopen(path, "r");
	size_t n;

	assert_non_null(f);
	n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = '\0';
	fclose(f);
	return buf;
}

/* ---------------------------------------------------- arrivals_parse_line */

static void
test_parse_line_ok(void **state)
{
	static const char text[] = "1700000000.250 A.Example.TEST. 192.0.2.1 1.5,2,0.125";
	static const struct {
		const char *in, *out;
	} addrs[] = {	/* the address in its canonical text form (struct dns_addr.text) */
		{ "[2001:DB8:0::1]:5353", "[2001:db8::1]:5353" },
		{ "2001:db8::1", "2001:db8::1" },
		{ "[2001:db8::1]", "2001:db8::1" },
		{ "[2001:db8::1]:53", "2001:db8::1" },
		{ "192.0.2.1:53", "192.0.2.1" },
		{ "127.0.0.1:5353", "127.0.0.1:5353" },
	};
	struct arrival a;
	const char *why = NULL;
	char buf[ARRIVALS_LINE_MAX], *t = buf, *end = buf + sizeof(buf);
	size_t i;

	(void)state;
	assert_int_equal(arrivals_parse_line(text, strlen(text), &a, &why), 0);
	assert_true(a.updated == 1700000000.25);
	assert_string_equal(a.zone, "a.example.test");
	assert_string_equal(a.addr, "192.0.2.1");
	assert_int_equal(a.n, 3);
	assert_true(a.delay[0] == 1.5 && a.delay[1] == 2 && a.delay[2] == 0.125);

	/* IPv6 with a port; the address in its canonical text form */
	for (i = 0; i < UNIT_NELEM(addrs); i++) {
		t = buf;
		t = unit_append(t, end, "5 a.test %s 0", addrs[i].in);
		assert_int_equal(arrivals_parse_line(buf, (size_t)(t - buf), &a, &why), 0);
		assert_string_equal(a.addr, addrs[i].out);
		assert_true(a.updated == 5 && a.n == 1 && a.delay[0] == 0);
	}

	/* the largest delay, and exactly ARRIVALS_KEEP of them */
	t = buf;
	t = unit_append(t, end, "1 _x.test 192.0.2.1 ");
	for (i = 0; i < ARRIVALS_KEEP; i++)
		t = unit_append(t, end, "%s%d.000", i > 0 ? "," : "", ARRIVALS_MAX_DELAY_S);
	assert_int_equal(arrivals_parse_line(buf, (size_t)(t - buf), &a, &why), 0);
	assert_int_equal(a.n, ARRIVALS_KEEP);
	assert_true(a.delay[ARRIVALS_KEEP - 1] == ARRIVALS_MAX_DELAY_S);

	/* len counts: what follows is not part of the line */
	assert_int_equal(arrivals_parse_line("1 a.test 192.0.2.1 3 garbage", 20, &a, &why), 0);
	assert_true(a.n == 1 && a.delay[0] == 3);
}

static void
test_parse_line_bad(void **state)
{
	static const char *const bad[] = {
		"",
		"1 a.test 192.0.2.1",			/* three fields */
		"1 a.test 192.0.2.1 ",			/* no delays */
		"1 a.test 192.0.2.1 1 2",		/* five */
		"1  a.test 192.0.2.1 1",		/* two spaces */
		"1\ta.test\t192.0.2.1\t1",		/* tabs */
		" 1 a.test 192.0.2.1 1",		/* leading space */
		"1 a.test 192.0.2.1 1 ",		/* trailing space */
		"1 a.test 192.0.2.1 1\r",
		/* UPDATED */
		"x a.test 192.0.2.1 1",
		"-1 a.test 192.0.2.1 1",
		"+1 a.test 192.0.2.1 1",
		"inf a.test 192.0.2.1 1",
		"nan a.test 192.0.2.1 1",
		"1e9 a.test 192.0.2.1 1",
		"0x10 a.test 192.0.2.1 1",
		"1. a.test 192.0.2.1 1",
		".5 a.test 192.0.2.1 1",
		"1234567890123456789012345 a.test 192.0.2.1 1",	/* 25 characters */
		/* ZONE */
		"1 a..test 192.0.2.1 1",
		"1 *.a.test 192.0.2.1 1",
		"1 -a.test 192.0.2.1 1",
		"1 a.test- 192.0.2.1 1",
		"1 . 192.0.2.1 1",
		"1 \x1b[31ma.test 192.0.2.1 1",
		"1 a\xc3\xa9.test 192.0.2.1 1",
		/* ADDR */
		"1 a.test 192.0.2 1",
		"1 a.test 192.0.2.256 1",
		"1 a.test host.example 1",
		"1 a.test 192.0.2.1:0 1",
		"1 a.test 192.0.2.1:65536 1",
		"1 a.test 192.0.2.1:x 1",
		"1 a.test [192.0.2.1 1",
		"1 a.test 2001:db8::g 1",
		"1 a.test [2001:db8::1]5353 1",
		"1 a.test [2001:db8::1]:0 1",
		"1 a.test [2001:db8::1]:99999 1",
		"1 a.test [2001:db8::1]: 1",
		"1 a.test [2001:db8::1:5353 1",
		"1 a.test 2001:db8::1]:5353 1",
		"1 a.test [2001:db8:::1]:5353 1",
		"1 a.test [fe80::1%eth0]:5353 1",
		/* delays */
		"1 a.test 192.0.2.1 -1",
		"1 a.test 192.0.2.1 -0.5",
		"1 a.test 192.0.2.1 nan",
		"1 a.test 192.0.2.1 NaN",
		"1 a.test 192.0.2.1 inf",
		"1 a.test 192.0.2.1 infinity",
		"1 a.test 192.0.2.1 1e3",
		"1 a.test 192.0.2.1 0x1",
		"1 a.test 192.0.2.1 3600.001",		/* beyond ARRIVALS_MAX_DELAY_S */
		"1 a.test 192.0.2.1 3601",
		"1 a.test 192.0.2.1 99999999999",
		"1 a.test 192.0.2.1 1.2345",		/* four decimals */
		"1 a.test 192.0.2.1 1.",
		"1 a.test 192.0.2.1 .5",
		"1 a.test 192.0.2.1 1,",
		"1 a.test 192.0.2.1 ,1",
		"1 a.test 192.0.2.1 1,,2",
		"1 a.test 192.0.2.1 1;2",
		"1 a.test 192.0.2.1 1,2,3,4,5,6,7,8,9",	/* more than ARRIVALS_KEEP */
	};
	struct arrival a;
	const char *why;
	size_t i;

	(void)state;
	for (i = 0; i < UNIT_NELEM(bad); i++) {
		why = NULL;
		if (arrivals_parse_line(bad[i], strlen(bad[i]), &a, &why) != -1)
			print_error("accepted: '%s'\n", bad[i]);
		assert_int_equal(arrivals_parse_line(bad[i], strlen(bad[i]), &a, &why), -1);
		assert_non_null(why);
	}
}

static void
test_parse_line_reasons(void **state)
{
	static const struct {
		const char *text, *why;
	} cases[] = {
		{ "1 a.test 192.0.2.1", "not four fields one space apart" },
		{ "1 a.test 192.0.2.1 1 2", "not four fields one space apart" },
		{ "nan a.test 192.0.2.1 1", "an update time that is not a decimal number" },
		{ "1 a..test 192.0.2.1 1", "a zone that is not a domain name" },
		{ "1 a.test [::1]:0 1", "an address that is not an IP address with an optional port" },
		{ "1 a.test 192.0.2.1 -1",
		    "a delay that is not a decimal number of seconds (at most 3 decimals)" },
		{ "1 a.test 192.0.2.1 3600.5", "a delay longer than any dns01 notes" },
		{ "1 a.test 192.0.2.1 1,2,3,4,5,6,7,8,9", "more delays than dns01 keeps" },
	};
	struct arrival a;
	const char *why;
	size_t i;

	(void)state;
	for (i = 0; i < UNIT_NELEM(cases); i++) {
		why = NULL;
		assert_int_equal(arrivals_parse_line(cases[i].text, strlen(cases[i].text), &a,
		    &why), -1);
		assert_string_equal(why, cases[i].why);
	}
}

static void
test_parse_line_nul_and_length(void **state)
{
	char text[2048], zone[NAME_BUF];
	struct arrival a;
	const char *why = NULL;
	size_t n;

	(void)state;
	memcpy(text, "1 a\0b.test 192.0.2.1 1", 22);
	assert_int_equal(arrivals_parse_line(text, 22, &a, &why), -1);
	assert_string_equal(why, "a NUL byte");
	memcpy(text, "1 a.test 192.0.2.1 1\0", 21);
	assert_int_equal(arrivals_parse_line(text, 21, &a, &why), -1);
	assert_string_equal(why, "a NUL byte");

	/* longer than any line dns01 writes, even with a valid start */
	memset(text, '1', sizeof(text));
	memcpy(text, "1 a.test 192.0.2.1 ", 19);
	assert_int_equal(arrivals_parse_line(text, sizeof(text), &a, &why), -1);
	assert_string_equal(why, "longer than any line dns01 writes");
	assert_int_equal(arrivals_parse_line(text, ARRIVALS_LINE_MAX, &a, &why), -1);
	assert_string_equal(why, "longer than any line dns01 writes");

	/* the longest line dns01 writes fits: a 253-octet zone, a long address, 8 delays */
	memset(zone, 0, sizeof(zone));
	for (n = 0; n < NAME_MAX_LEN; n++)
		zone[n] = n % 50 == 49 ? '.' : 'a';	/* labels of 49, the last of 3 */
	n = (size_t)snprintf(text, sizeof(text), "99999999999.999 %s "
	    "[ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255]:65535 "
	    "3600.000,3600.000,3600.000,3600.000,3600.000,3600.000,3600.000,3600.000", zone);
	assert_true(n < ARRIVALS_LINE_MAX);
	assert_int_equal(arrivals_parse_line(text, n, &a, &why), 0);
	assert_int_equal(strlen(a.zone), NAME_MAX_LEN);
	assert_int_equal(a.n, ARRIVALS_KEEP);
}

/* -------------------------------------------------------- arrivals_window */

static struct arrival
history(const double *d, size_t n)
{
	struct arrival a = key(ZONE_A, ADDR_4);

	memcpy(a.delay, d, n * sizeof(d[0]));
	a.n = n;
	return a;
}

static void
test_window(void **state)
{
	static const double four[] = { 5.1, 5.0, 5.3, 5.2 };
	static const double eight[] = { 100, 200, 0.5, 300, 5.1, 5.0, 5.3, 5.2 };
	struct arrival a;
	double lo = -1, hi = -1;

	(void)state;
	/* no history: no prediction */
	a = history(four, 0);
	assert_int_equal(arrivals_window(&a, &lo, &hi), 0);
	assert_true(lo == 0 && hi == 0);

	/* one delay (ARRIVALS_MIN_SEEN): both margins around it */
	a = history(four, 1);
	assert_int_equal(arrivals_window(&a, &lo, &hi), 1);
	assert_true(fabs(lo - (5.1 - ARRIVALS_MARGIN_S - ARRIVALS_MARGIN_FRAC * 5.1)) < EPS);
	assert_true(fabs(hi - (5.1 + ARRIVALS_MARGIN_S + ARRIVALS_MARGIN_FRAC * 5.1)) < EPS);

	/* four within ARRIVALS_SPREAD_MAX_S: the range of all four */
	a = history(four, 4);
	assert_int_equal(arrivals_window(&a, &lo, &hi), 1);
	assert_true(fabs(lo - WLO(5.0)) < EPS);
	assert_true(fabs(hi - WHI(5.3)) < EPS);

	/* eight: only the last ARRIVALS_USE count (the old, long lags are forgotten) */
	assert_int_equal(ARRIVALS_USE, 4);
	a = history(eight, 8);
	assert_int_equal(arrivals_window(&a, &lo, &hi), 1);
	assert_true(fabs(lo - WLO(5.0)) < EPS);
	assert_true(fabs(hi - WHI(5.3)) < EPS);
	/* five: the oldest one is out */
	a = history(eight + 3, 5);
	assert_int_equal(arrivals_window(&a, &lo, &hi), 1);
	assert_true(fabs(lo - WLO(5.0)) < EPS && fabs(hi - WHI(5.3)) < EPS);

	/* a lag that changed (delays further apart than ARRIVALS_SPREAD_MAX_S): the newest */
	a = history((const double[]){ 2.1, 2.0, 5.1, 5.0 }, 4);
	assert_int_equal(arrivals_window(&a, &lo, &hi), 1);
	assert_true(fabs(lo - WLO(5.0)) < EPS && fabs(hi - WHI(5.0)) < EPS);
	a = history((const double[]){ 5.0, 2.0 }, 2);
	assert_int_equal(arrivals_window(&a, &lo, &hi), 1);
	assert_true(fabs(lo - WLO(2.0)) < EPS && fabs(hi - WHI(2.0)) < EPS);
	/* just within: the range */
	a = history((const double[]){ 1.0, 1.0 + ARRIVALS_SPREAD_MAX_S }, 2);
	assert_int_equal(arrivals_window(&a, &lo, &hi), 1);
	assert_true(fabs(lo - WLO(1.0)) < EPS &&
	    fabs(hi - WHI(1.0 + ARRIVALS_SPREAD_MAX_S)) < EPS);

	/* lo never goes below 0 */
	a = history((const double[]){ 0 }, 1);
	assert_int_equal(arrivals_window(&a, &lo, &hi), 1);
	assert_true(lo == 0 && fabs(hi - ARRIVALS_MARGIN_S) < EPS);
	a = history((const double[]){ 0.02, 0.04 }, 2);
	assert_int_equal(arrivals_window(&a, &lo, &hi), 1);
	assert_true(lo == 0 && fabs(hi - WHI(0.04)) < EPS);

	/* the largest delay */
	a = history((const double[]){ ARRIVALS_MAX_DELAY_S }, 1);
	assert_int_equal(arrivals_window(&a, &lo, &hi), 1);
	assert_true(fabs(hi - WHI(3600)) < EPS && fabs(lo - WLO(3600)) < EPS);
}

/* Values no file holds (a struct filled by hand) do not count. */
static void
test_window_damage(void **state)
{
	struct arrival a;
	double lo, hi;

	(void)state;
	a = history((const double[]){ NAN, -1, INFINITY, 1e9 }, 4);
	assert_int_equal(arrivals_window(&a, &lo, &hi), 0);
	assert_true(lo == 0 && hi == 0);
	a = history((const double[]){ NAN, 2.8, -INFINITY, 3 }, 4);
	assert_int_equal(arrivals_window(&a, &lo, &hi), 1);
	assert_true(fabs(lo - WLO(2.8)) < EPS && fabs(hi - WHI(3)) < EPS);
	/* n beyond the array is read as ARRIVALS_KEEP */
	a = history((const double[]){ 1, 1, 1, 1, 5, 5, 5, 5 }, 8);
	a.n = 1000;
	assert_int_equal(arrivals_window(&a, &lo, &hi), 1);
	assert_true(fabs(lo - WLO(5)) < EPS);
}

/* --------------------------------------------------------- arrivals_parse */

static void
test_parse_text(void **state)
{
	struct arrival e[4];
	struct arrivals_parsed p = { .e = e, .max = UNIT_NELEM(e) };
	char text[4096], *t = text, *end = text + sizeof(text);

	(void)state;
	t = unit_append(t, end, "%.3f a.test 192.0.2.1 1.5\n", NOW - 10);		/* 1 ok */
	t = unit_append(t, end, "%.3f b.test 192.0.2.1 nan\n", NOW);		/* 2 bad */
	t = unit_append(t, end, "%.3f c.test 192.0.2.1 1\n",
	    NOW - ARRIVALS_MAX_AGE_S - 1);					/* 3 stale */
	t = unit_append(t, end, "%.3f A.test 192.0.2.1:53 9\n", NOW);		/* 4 second a */
	t = unit_append(t, end, "\n");						/* 5 empty */
	t = unit_append(t, end, "%.3f d.test 192.0.2.1 1\n",
	    NOW + ARRIVALS_CLOCK_STEP_S + 1);					/* 6 future */
	t = unit_append(t, end, "%.3f d.test 192.0.2.1 2\n",
	    NOW + ARRIVALS_CLOCK_STEP_S);					/* 7 ok */
	t = unit_append(t, end, "%.3f a.test 192.0.2.2 3\n",
	    NOW - ARRIVALS_MAX_AGE_S + 1);					/* 8 ok */
	t = unit_append(t, end, "%.3f e.test 192.0.2.1 1", NOW);		/* 9 torn */
	arrivals_parse(text, (size_t)(t - text), NOW, &p);
	assert_int_equal(p.n, 3);
	assert_string_equal(e[0].zone, "a.test");
	assert_true(e[0].delay[0] == 1.5 && e[0].updated == NOW - 10);
	assert_string_equal(e[1].zone, "d.test");
	assert_true(e[1].delay[0] == 2);
	assert_string_equal(e[2].addr, "192.0.2.2");
	assert_int_equal(p.nstale, 1);
	assert_int_equal(p.nbad, 5);
	assert_int_equal(p.bad[0].line, 2);
	assert_int_equal(p.bad[1].line, 4);
	assert_string_equal(p.bad[1].why, "a second line for the same zone and address");
	assert_int_equal(p.bad[2].line, 5);
	assert_int_equal(p.bad[3].line, 6);
	assert_string_equal(p.bad[3].why, "an update time in the future");
	assert_int_equal(p.nbad, 5);	/* line 9 counted, not kept (ARRIVALS_DAMAGE_SHOWN) */

	/* empty text */
	arrivals_parse("", 0, NOW, &p);
	assert_true(p.n == 0 && p.nbad == 0 && p.nstale == 0);
}

static void
test_parse_text_limits(void **state)
{
	struct arrival e[3];
	struct arrivals_parsed p = { .e = e, .max = UNIT_NELEM(e) };
	char text[8192], *t = text, *end = text + sizeof(text);
	size_t i;

	(void)state;
	/* more entries than there is room for: the rest is damage */
	for (i = 0; i < 5; i++)
		t = unit_append(t, end, "%.3f n%zu.test 192.0.2.1 1\n", NOW, i);
	arrivals_parse(text, (size_t)(t - text), NOW, &p);
	assert_int_equal(p.n, 3);
	assert_int_equal(p.nbad, 2);
	assert_string_equal(p.bad[0].why, "more entries than the file holds");

	/* many damaged lines: all counted, the first ARRIVALS_DAMAGE_SHOWN kept */
	t = text;
	for (i = 0; i < ARRIVALS_DAMAGE_SHOWN + 7; i++)
		t = unit_append(t, end, "junk\n");
	arrivals_parse(text, (size_t)(t - text), NOW, &p);
	assert_int_equal(p.n, 0);
	assert_int_equal(p.nbad, ARRIVALS_DAMAGE_SHOWN + 7);
	assert_int_equal(p.bad[ARRIVALS_DAMAGE_SHOWN - 1].line, ARRIVALS_DAMAGE_SHOWN);

	/* a NUL inside the text spoils one line, not the rest */
	t = text;
	t = unit_append(t, end, "%.3f a.test 192.0.2.1 1\n", NOW);
	*t++ = '\0';
	t = unit_append(t, end, "x\n%.3f b.test 192.0.2.1 1\n", NOW);
	arrivals_parse(text, (size_t)(t - text), NOW, &p);
	assert_int_equal(p.n, 2);
	assert_int_equal(p.nbad, 1);
	assert_int_equal(p.bad[0].line, 2);
}

/* ---------------------------------------------------------- files: basics */

static void
test_add_get_round_trip(void **state)
{
	struct arrival o = obs(ZONE_A, ADDR_4, 2.25), got = key(ZONE_A, ADDR_4);
	double before = (double)time(NULL);
	struct stat st;

	(void)state;
	/* nothing yet: n = 0, and no file is made by a read */
	got.n = 5;
	got.updated = 7;
	arrivals_get(unit_state, &got, 1);
	assert_true(got.n == 0 && got.updated == 0);
	assert_string_equal(got.zone, ZONE_A);
	assert_string_equal(got.addr, ADDR_4);
	assert_int_equal(access(in_dir(ARRIVALS_FILE), F_OK), -1);

	arrivals_add(unit_state, &o, 1);
	arrivals_get(unit_state, &got, 1);
	assert_int_equal(got.n, 1);
	assert_true(fabs(got.delay[0] - 2.25) < FILE_EPS);
	assert_true(got.updated >= before - 1 && got.updated <= (double)time(NULL) + 1);
	assert_int_equal(stat(in_dir(ARRIVALS_FILE), &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_true(S_ISREG(st.st_mode));
	/* no temporary file is left behind; the lock file is arrivals.lock */
	assert_int_equal(access(temp_file(), F_OK), -1);
	assert_int_equal(access(in_dir("arrivals.lock"), F_OK), 0);

	/* the file says it in the documented format */
	assert_non_null(strstr(unit_slurp(in_dir(ARRIVALS_FILE)), " " ZONE_A " " ADDR_4
	    " 2.250\n"));

	/* another address, another zone: no entry */
	got = key(ZONE_A, "192.0.2.2");
	arrivals_get(unit_state, &got, 1);
	assert_int_equal(got.n, 0);
	got = key(ZONE_B, ADDR_4);
	arrivals_get(unit_state, &got, 1);
	assert_int_equal(got.n, 0);

	/* the caller's key is matched in canonical form */
	got = key("A.Example.Test.", "192.0.2.1:53");
	arrivals_get(unit_state, &got, 1);
	assert_int_equal(got.n, 1);
	assert_string_equal(got.zone, "A.Example.Test.");	/* left as given */
}

/* Many observations go in one read and one write; each key gets its own. */
static void
test_many(void **state)
{
	struct arrival o[4] = {
		obs(ZONE_A, ADDR_4, 1), obs(ZONE_A, ADDR_6, 2.5), obs(ZONE_B, ADDR_4, 3),
		obs(ZONE_A, ADDR_4, 1.125),	/* the same key twice: both, in order */
	};
	struct arrival got[4] = {
		key(ZONE_B, ADDR_4), key(ZONE_A, ADDR_6), key(ZONE_A, ADDR_4),
		key(ZONE_B, ADDR_6),
	};
	struct stat st1, st2;

	(void)state;
	arrivals_add(unit_state, o, 4);
	assert_int_equal(unit_count(unit_slurp(in_dir(ARRIVALS_FILE)), "\n"), 3);
	assert_int_equal(stat(in_dir(ARRIVALS_FILE), &st1), 0);
	arrivals_get(unit_state, got, 4);
	assert_true(got[0].n == 1 && fabs(got[0].delay[0] - 3) < FILE_EPS);
	assert_true(got[1].n == 1 && fabs(got[1].delay[0] - 2.5) < FILE_EPS);
	assert_string_equal(got[1].addr, ADDR_6);
	assert_int_equal(got[2].n, 2);
	assert_true(fabs(got[2].delay[0] - 1) < FILE_EPS);
	assert_true(fabs(got[2].delay[1] - 1.125) < FILE_EPS);
	assert_int_equal(got[3].n, 0);

	/* a write replaces the file: a new inode */
	arrivals_add(unit_state, o, 1);
	assert_int_equal(stat(in_dir(ARRIVALS_FILE), &st2), 0);
	assert_true(st1.st_ino != st2.st_ino);
	assert_int_equal(access(temp_file(), F_OK), -1);
}

/* The last ARRIVALS_KEEP delays are kept, oldest first. */
static void
test_keeps_last(void **state)
{
	struct arrival o, got = key(ZONE_A, ADDR_6);
	size_t i;
	double lo, hi;

	(void)state;
	for (i = 0; i < ARRIVALS_KEEP + 3; i++) {
		o = obs(ZONE_A, ADDR_6, (double)i + 0.5);
		arrivals_add(unit_state, &o, 1);
	}
	arrivals_get(unit_state, &got, 1);
	assert_int_equal(got.n, ARRIVALS_KEEP);
	for (i = 0; i < ARRIVALS_KEEP; i++)
		assert_true(fabs(got.delay[i] - ((double)i + 3.5)) < FILE_EPS);
	/* and the window is that of the newest (the last ARRIVALS_USE are 3 s apart) */
	assert_int_equal(arrivals_window(&got, &lo, &hi), 1);
	assert_true(fabs(lo - WLO(10.5)) < 1e-3);
	assert_true(fabs(hi - WHI(10.5)) < 1e-3);
}

/* Observations that are damage are not noted, and said so; the others are. */
static void
test_add_refuses_damage(void **state)
{
	struct arrival o[9] = {
		obs(ZONE_A, ADDR_4, -1), obs(ZONE_A, ADDR_4, NAN), obs(ZONE_A, ADDR_4, INFINITY),
		obs(ZONE_A, ADDR_4, ARRIVALS_MAX_DELAY_S + 0.5), obs(ZONE_A, ADDR_4, 1),
		obs("a..test", ADDR_4, 1), obs(ZONE_A, "[2001:db8::1]:0", 1),
		obs("\x1b[2Jx.test", ADDR_4, 1), obs(ZONE_B, ADDR_4, 4),
	};
	struct arrival got = key(ZONE_B, ADDR_4);
	const char *err, *text;

	(void)state;
	o[4].n = 2;
	unit_cap_begin();
	arrivals_add(unit_state, o, 9);
	err = unit_cap_end();
	assert_int_equal(unit_count(err, "not noting the arrival time at"), 8);
	assert_non_null(strstr(err, "not exactly one delay"));
	assert_non_null(strstr(err, "a zone that is not a domain name"));
	assert_non_null(strstr(err, "an address that is not an IP address"));
	assert_null(strchr(err, '\x1b'));
	text = unit_slurp(in_dir(ARRIVALS_FILE));
	assert_int_equal(unit_count(text, "\n"), 1);
	assert_non_null(strstr(text, ZONE_B));
	arrivals_get(unit_state, &got, 1);
	assert_true(got.n == 1 && fabs(got.delay[0] - 4) < FILE_EPS);

	/* all of them damage: the file is not touched */
	unit_cap_begin();
	arrivals_add(unit_state, o, 4);
	err = unit_cap_end();
	assert_int_equal(unit_count(err, "not noting"), 4);
	assert_string_equal(unit_slurp(in_dir(ARRIVALS_FILE)), text);

	/* a zone without its NUL is not read past its buffer */
	memset(o[0].zone, 'a', sizeof(o[0].zone));
	o[0].delay[0] = 1;
	unit_cap_begin();
	arrivals_add(unit_state, o, 1);
	err = unit_cap_end();
	assert_non_null(strstr(err, "without its end"));
}

/* Damaged lines: skipped, said once by number (never their bytes), dropped at the next write. */
static void
test_damage_dropped(void **state)
{
	char text[4096], *t = text, *end = text + sizeof(text);
	struct arrival got[2] = { key(ZONE_A, ADDR_4), key(ZONE_B, ADDR_4) };
	struct arrival o = obs(ZONE_A, ADDR_4, 5);
	const char *err, *now_text;

	(void)state;
	t = unit_append(t, end, "%s", line(10, ZONE_A, ADDR_4, "inf"));		/* 1 */
	t = unit_append(t, end, "%s", line(10, ZONE_B, ADDR_4, "1.5,2.5"));	/* 2 ok */
	t = unit_append(t, end, "%s", line(-86400, "c.example.test", ADDR_4, "1"));/* 3 */
	t = unit_append(t, end, "\x1b]0;pwned\x07 \x1b[2J\n");			/* 4 */
	t = unit_append(t, end, "%s", line(10, ZONE_B, ADDR_4, "9"));		/* 5 dup */
	unit_write_text(in_dir(ARRIVALS_FILE), text);

	unit_cap_begin();
	arrivals_get(unit_state, got, 2);
	arrivals_get(unit_state, got, 2);		/* said once */
	err = unit_cap_end();
	assert_int_equal(got[0].n, 0);		/* the inf line is not its entry */
	assert_int_equal(got[1].n, 2);
	assert_int_equal(unit_count(err, "warning"), 1);
	assert_int_equal(unit_count(err, "4 damaged lines ignored"), 1);
	assert_non_null(strstr(err, "line 1: "));
	assert_non_null(strstr(err, "line 3: an update time in the future"));
	assert_non_null(strstr(err, "line 4: "));
	assert_non_null(strstr(err, "line 5: a second line"));
	assert_null(strstr(err, "line 2:"));
	assert_null(strchr(err, '\x1b'));
	assert_null(strstr(err, "pwned"));
	assert_non_null(strstr(err, unit_state));

	unit_cap_begin();
	arrivals_add(unit_state, &o, 1);
	err = unit_cap_end();
	assert_int_equal(unit_count(err, "ignored"), 0);	/* said already */
	now_text = unit_slurp(in_dir(ARRIVALS_FILE));
	assert_int_equal(unit_count(now_text, "\n"), 2);
	assert_int_equal(unit_count(now_text, ZONE_B), 1);
	assert_non_null(strstr(now_text, " 1.500,2.500\n"));
	assert_null(strstr(now_text, "inf"));
	assert_null(strstr(now_text, "c.example.test"));
	assert_null(strstr(now_text, "pwned"));
	arrivals_get(unit_state, got, 2);
	assert_true(got[0].n == 1 && fabs(got[0].delay[0] - 5) < FILE_EPS);
}

/* Entries not updated for ARRIVALS_MAX_AGE_S are gone, silently. */
static void
test_stale_dropped(void **state)
{
	char text[2048], *t = text, *end = text + sizeof(text);
	struct arrival got[2] = { key(ZONE_A, ADDR_4), key(ZONE_B, ADDR_4) };
	struct arrival o = obs(ZONE_B, ADDR_6, 1);
	const char *err, *now_text;

	(void)state;
	t = unit_append(t, end, "%s", line(ARRIVALS_MAX_AGE_S + 60, ZONE_A, ADDR_4, "1,2"));
	t = unit_append(t, end, "%s", line(ARRIVALS_MAX_AGE_S - 60, ZONE_B, ADDR_4, "3"));
	unit_write_text(in_dir(ARRIVALS_FILE), text);
	unit_cap_begin();
	arrivals_get(unit_state, got, 2);
	arrivals_add(unit_state, &o, 1);
	err = unit_cap_end();
	assert_int_equal(got[0].n, 0);
	assert_int_equal(got[1].n, 1);
	assert_string_equal(err, "");
	now_text = unit_slurp(in_dir(ARRIVALS_FILE));
	assert_int_equal(unit_count(now_text, "\n"), 2);
	assert_null(strstr(now_text, ZONE_A));
}

/* Full: a new (zone, address) evicts the least recently updated entry. */
static void
test_eviction(void **state)
{
	static char text[BIG_FILE];
	char *t = text, *end = text + sizeof(text), zone[64];
	struct arrival o = obs(ZONE_A, ADDR_4, 1.5), got[3];
	const char *now_text;
	size_t i;

	(void)state;
	/* entry i updated (1000 + i) s ago, but entry 100 the longest ago */
	for (i = 0; i < ARRIVALS_MAX_ENTRIES; i++) {
		snprintf(zone, sizeof(zone), "z%zu.example.test", i);
		t = unit_append(t, end, "%s", line(i == 100 ? 86400 : 1000.0 + (double)i, zone,
		    ADDR_4, "2"));
	}
	unit_write_text(in_dir(ARRIVALS_FILE), text);
	arrivals_add(unit_state, &o, 1);
	now_text = slurp_big(in_dir(ARRIVALS_FILE));
	assert_int_equal(unit_count(now_text, "\n"), ARRIVALS_MAX_ENTRIES);
	assert_null(strstr(now_text, " z100.example.test "));
	assert_non_null(strstr(now_text, " z511.example.test "));
	assert_non_null(strstr(now_text, " z0.example.test "));
	assert_non_null(strstr(now_text, " " ZONE_A " "));

	/* the next one: now z511 is the least recent (updated 1511 s ago) */
	o = obs(ZONE_B, ADDR_4, 1);
	arrivals_add(unit_state, &o, 1);
	got[0] = key("z511.example.test", ADDR_4);
	got[1] = key(ZONE_A, ADDR_4);
	got[2] = key("z510.example.test", ADDR_4);
	arrivals_get(unit_state, got, 3);
	assert_int_equal(got[0].n, 0);
	assert_int_equal(got[1].n, 1);
	assert_int_equal(got[2].n, 1);
	assert_int_equal(unit_count(slurp_big(in_dir(ARRIVALS_FILE)), "\n"), ARRIVALS_MAX_ENTRIES);

	/* an update of an existing entry evicts nothing */
	o = obs("z0.example.test", ADDR_4, 3);
	arrivals_add(unit_state, &o, 1);
	got[0] = key("z0.example.test", ADDR_4);
	got[1] = key("z1.example.test", ADDR_4);
	arrivals_get(unit_state, got, 2);
	assert_int_equal(got[0].n, 2);
	assert_int_equal(got[1].n, 1);
	assert_int_equal(unit_count(slurp_big(in_dir(ARRIVALS_FILE)), "\n"), ARRIVALS_MAX_ENTRIES);
}

/* ------------------------------------------------- files: not ours to write */

static void
test_fifo_file(void **state)
{
	struct arrival o = obs(ZONE_A, ADDR_4, 1), got = key(ZONE_A, ADDR_4);
	struct stat st;
	const char *err;

	(void)state;
	assert_int_equal(mkfifo(in_dir(ARRIVALS_FILE), 0600), 0);
	unit_cap_begin();
	arrivals_get(unit_state, &got, 1);		/* returns: a hang trips the alarm */
	arrivals_add(unit_state, &o, 1);
	arrivals_get(unit_state, &got, 1);
	err = unit_cap_end();
	assert_int_equal(got.n, 0);
	assert_int_equal(unit_count(err, "arrivals is a FIFO, not a regular file"), 1);
	assert_non_null(strstr(err, unit_state));
	/* left alone */
	assert_int_equal(lstat(in_dir(ARRIVALS_FILE), &st), 0);
	assert_true(S_ISFIFO(st.st_mode));
	assert_int_equal(access(temp_file(), F_OK), -1);
}

static void
test_fifo_lock(void **state)
{
	struct arrival o = obs(ZONE_A, ADDR_4, 1), got = key(ZONE_A, ADDR_4);
	const char *err;

	(void)state;
	assert_int_equal(mkfifo(in_dir("arrivals.lock"), 0600), 0);
	unit_cap_begin();
	arrivals_add(unit_state, &o, 1);
	arrivals_get(unit_state, &got, 1);
	err = unit_cap_end();
	assert_int_equal(got.n, 0);
	assert_int_equal(unit_count(err, "arrivals.lock is a FIFO, not a regular file"), 1);
	assert_int_equal(access(in_dir(ARRIVALS_FILE), F_OK), -1);
}

static void
test_symlink_not_followed(void **state)
{
	const char *target = in_dir("target");
	struct arrival o = obs(ZONE_A, ADDR_4, 1), got = key(ZONE_A, ADDR_4);
	struct stat st;
	const char *err;

	(void)state;
	unit_write_text(target, line(10, ZONE_A, ADDR_4, "7"));
	assert_int_equal(symlink(target, in_dir(ARRIVALS_FILE)), 0);
	unit_cap_begin();
	arrivals_get(unit_state, &got, 1);
	arrivals_add(unit_state, &o, 1);
	err = unit_cap_end();
	assert_int_equal(got.n, 0);		/* not read through the link */
	assert_non_null(strstr(err, "arrivals is a symbolic link, not a regular file"));
	assert_int_equal(unit_count(unit_slurp(target), "\n"), 1);
	assert_non_null(strstr(unit_slurp(target), " 7\n"));
	assert_int_equal(lstat(in_dir(ARRIVALS_FILE), &st), 0);
	assert_true(S_ISLNK(st.st_mode));
}

static void
test_directory_file(void **state)
{
	struct arrival o = obs(ZONE_A, ADDR_4, 1), got = key(ZONE_A, ADDR_4);
	struct stat st;
	const char *err;

	(void)state;
	assert_int_equal(mkdir(in_dir(ARRIVALS_FILE), 0700), 0);
	unit_cap_begin();
	arrivals_get(unit_state, &got, 1);
	arrivals_add(unit_state, &o, 1);
	err = unit_cap_end();
	assert_int_equal(got.n, 0);
	assert_int_equal(unit_count(err, "arrivals is a directory, not a regular file"), 1);
	assert_int_equal(lstat(in_dir(ARRIVALS_FILE), &st), 0);
	assert_true(S_ISDIR(st.st_mode));
}

/* A hard link to the file: the rewrite replaces the name, never the inode. */
static void
test_hard_link_untouched(void **state)
{
	const char *other = in_dir("other");
	struct arrival o = obs(ZONE_A, ADDR_4, 1), got = key(ZONE_A, ADDR_4);
	char before[ARRIVALS_LINE_MAX + 2];

	(void)state;
	snprintf(before, sizeof(before), "%s", line(10, ZONE_A, ADDR_4, "7"));
	unit_write_text(other, before);
	assert_int_equal(link(other, in_dir(ARRIVALS_FILE)), 0);
	arrivals_add(unit_state, &o, 1);
	assert_string_equal(unit_slurp(other), before);
	arrivals_get(unit_state, &got, 1);
	assert_int_equal(got.n, 2);
	assert_true(fabs(got.delay[0] - 7) < FILE_EPS && fabs(got.delay[1] - 1) < FILE_EPS);
}

/* ---------------------------------------------- files: crashes and failures */

/* A write that fails keeps the old file whole and leaves no temporary file. */
static void
test_failed_write(void **state)
{
	struct arrival o = obs(ZONE_A, ADDR_4, 1), got = key("n7.example.test", ADDR_4);
	/* below the file's size, above a message's (stderr goes to a file too) */
	struct rlimit old, small = { .rlim_cur = 1024 };
	char before[4096], zone[64], *t = before, *end = before + sizeof(before);
	const char *err;
	size_t i;

	(void)state;
	for (i = 0; i < 30; i++) {
		snprintf(zone, sizeof(zone), "n%zu.example.test", i);
		t = unit_append(t, end, "%s", line(10, zone, ADDR_4, "2"));
	}
	unit_write_text(in_dir(ARRIVALS_FILE), before);
	assert_true(strlen(before) > small.rlim_cur);

	assert_int_equal(getrlimit(RLIMIT_FSIZE, &old), 0);
	small.rlim_max = old.rlim_max;
	signal(SIGXFSZ, SIG_IGN);
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &small), 0);
	unit_cap_begin();
	arrivals_add(unit_state, &o, 1);
	err = unit_cap_end();
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &old), 0);
	signal(SIGXFSZ, SIG_DFL);

	assert_non_null(strstr(err, "cannot update the arrival times"));
	assert_string_equal(unit_slurp(in_dir(ARRIVALS_FILE)), before);
	assert_int_equal(access(temp_file(), F_OK), -1);
	arrivals_get(unit_state, &got, 1);
	assert_int_equal(got.n, 1);
}

/* A leftover temporary file of this pid (any kind) is replaced. */
static void
test_leftover_temp(void **state)
{
	struct arrival o = obs(ZONE_A, ADDR_4, 1), got = key(ZONE_A, ADDR_4);

	(void)state;
	assert_int_equal(mkfifo(temp_file(), 0600), 0);
	arrivals_add(unit_state, &o, 1);
	arrivals_get(unit_state, &got, 1);
	assert_int_equal(got.n, 1);
	assert_int_equal(access(temp_file(), F_OK), -1);
}

/* A file larger than any dns01 writes: its first whole lines are read, the rest reported. */
static void
test_oversized(void **state)
{
	struct arrival got = key(ZONE_A, ADDR_4);
	const char *err;
	FILE *f;
	size_t i;

	(void)state;
	f = fopen(in_dir(ARRIVALS_FILE), "w");
	assert_non_null(f);
	fputs(line(10, ZONE_A, ADDR_4, "4"), f);
	for (i = 0; i < 100000; i++)
		fputs("# padding\n", f);
	assert_int_equal(fclose(f), 0);
	unit_cap_begin();
	arrivals_get(unit_state, &got, 1);
	err = unit_cap_end();
	assert_int_equal(got.n, 1);
	assert_non_null(strstr(err, "(only its first part is read)"));
	assert_non_null(strstr(err, "and "));
	assert_non_null(strstr(err, "more)"));
}

#define F(t)	cmocka_unit_test_setup_teardown(t, unit_state_setup, unit_state_teardown)

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_line_ok),
		cmocka_unit_test(test_parse_line_bad),
		cmocka_unit_test(test_parse_line_reasons),
		cmocka_unit_test(test_parse_line_nul_and_length),
		cmocka_unit_test(test_window),
		cmocka_unit_test(test_window_damage),
		cmocka_unit_test(test_parse_text),
		cmocka_unit_test(test_parse_text_limits),
		F(test_add_get_round_trip),
		F(test_many),
		F(test_keeps_last),
		F(test_add_refuses_damage),
		F(test_damage_dropped),
		F(test_stale_dropped),
		F(test_eviction),
		F(test_fifo_file),
		F(test_fifo_lock),
		F(test_symlink_not_followed),
		F(test_directory_file),
		F(test_hard_link_untouched),
		F(test_failed_write),
		F(test_leftover_temp),
		F(test_oversized),
	};

	return cmocka_run_group_tests_name("arrivals", tests, unit_group_setup,
	    unit_group_teardown);
}
