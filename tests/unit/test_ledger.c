/*
 * Unit tests for core/ledger.[ch]: the decisions (one line's syntax, one
 * entry judged against now, a whole text with damaged lines), and the file
 * handling (atomic replacement, hard links, FIFOs, symbolic links, a
 * leftover temporary file, a write that fails, messages said once and
 * escaped).  ledger_* messages go to stderr; the tests that check them
 * capture stderr in a file.
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

#include "../../core/ledger.h"

#define NOW		1700000000.0	/* for the pure functions */
#define NAME_A		"_acme-challenge.a.example.test"
#define NAME_B		"_acme-challenge.b.example.test"
#define NAME_C		"_acme-challenge.c.example.test"

/* ------------------------------------------------------------------ helpers */

/* A file in the test's state directory. */
#define in_dir(name)	unit_path(unit_state, (name))

/* The temporary file of this process's ledger writes (state_write()). */
static const char *
temp_file(void)
{
	char name[64];

	snprintf(name, sizeof(name), "%s.tmp-%ld", LEDGER_FILE, (long)getpid());
	return in_dir(name);
}


/* An entry at name, noted now, whose cache wait ends wait_s from now. */
static struct ledger_entry
entry(const char *name, double wait_s)
{
	struct ledger_entry e;
	double now = (double)time(NULL);

	memset(&e, 0, sizeof(e));
	snprintf(e.name, sizeof(e.name), "%s", name);
	e.changed = now;
	e.until = now + wait_s;
	e.live = 0;
	e.ttl = 10;
	return e;
}

/* A ledger line at name whose cache wait ends wait_s from now. */
static const char *
line(const char *name, double wait_s)
{
	static char buf[4][400];
	static unsigned next;
	char *p = buf[next++ % 4];
	double now = (double)time(NULL);

	snprintf(p, 400, "%.3f %.3f 0 10 %s\n", now + wait_s, now, name);
	return p;
}

/* ------------------------------------------------------- ledger_parse_line */

static void
test_parse_line_ok(void **state)
{
	static const char text[] = "1700000100.250 1700000090.125 1 10 _ACME-Challenge.Example.TEST.";
	struct ledger_entry e;
	const char *why = NULL;

	(void)state;
	assert_int_equal(ledger_parse_line(text, strlen(text), &e, &why), 0);
	assert_true(e.until == 1700000100.25);
	assert_true(e.changed == 1700000090.125);
	assert_int_equal(e.live, 1);
	assert_int_equal(e.ttl, 10);
	assert_string_equal(e.name, "_acme-challenge.example.test");

	/* whole seconds, and 0 (an addition without a hold writes until 0) */
	assert_int_equal(ledger_parse_line("0 5 0 0 a.test", 14, &e, &why), 0);
	assert_true(e.until == 0 && e.changed == 5 && e.live == 0 && e.ttl == 0);

	/* len counts: what follows is not part of the line */
	assert_int_equal(ledger_parse_line("1 2 0 3 a.test garbage", 14, &e, &why), 0);
	assert_string_equal(e.name, "a.test");
}

static void
test_parse_line_bad(void **state)
{
	static const char *const bad[] = {
		"",
		"1 2 0 10",			/* four fields */
		"1 2 0 10 ",			/* empty name */
		"1 2 0 10 a.test extra",	/* six */
		"1  2 0 10 a.test",		/* two spaces */
		"1\t2\t0\t10\ta.test",		/* tabs */
		" 1 2 0 10 a.test",		/* leading space */
		"1 2 0 10 a.test ",		/* trailing space */
		"inf 2 0 10 a.test",
		"INF 2 0 10 a.test",
		"infinity 2 0 10 a.test",
		"nan 2 0 10 a.test",
		"1 nan 0 10 a.test",
		"-1 2 0 10 a.test",
		"+1 2 0 10 a.test",
		"1e308 2 0 10 a.test",
		"0x10 2 0 10 a.test",
		"1. 2 0 10 a.test",
		".5 2 0 10 a.test",
		"1.2.3 2 0 10 a.test",
		"1 2 2 10 a.test",		/* live */
		"1 2 01 10 a.test",
		"1 2 0 -5 a.test",		/* ttl */
		"1 2 0 1234567890 a.test",
		"1 2 0 1x a.test",
		"1 2 0 10 a..test",		/* name */
		"1 2 0 10 *.a.test",
		"1 2 0 10 a.test\r",
		"1 2 0 10 \x1b[31ma.test",
		"1234567890123456789012345 2 0 10 a.test",	/* 25 characters */
	};
	struct ledger_entry e;
	const char *why;
	size_t i;

	(void)state;
	for (i = 0; i < UNIT_NELEM(bad); i++) {
		why = NULL;
		if (ledger_parse_line(bad[i], strlen(bad[i]), &e, &why) != -1)
			print_error("accepted: '%s'\n", bad[i]);
		assert_int_equal(ledger_parse_line(bad[i], strlen(bad[i]), &e, &why), -1);
		assert_non_null(why);
	}
}

static void
test_parse_line_nul_and_length(void **state)
{
	char text[2048];
	struct ledger_entry e;
	const char *why = NULL;

	(void)state;
	memcpy(text, "1 2 0 10 a\0b.test", 17);
	assert_int_equal(ledger_parse_line(text, 17, &e, &why), -1);
	assert_string_equal(why, "a NUL byte");

	/* longer than any line dns01 writes, even with a valid start */
	memset(text, 'a', sizeof(text));
	memcpy(text, "1 2 0 10 ", 9);
	assert_int_equal(ledger_parse_line(text, sizeof(text), &e, &why), -1);
	assert_string_equal(why, "longer than any line dns01 writes");
}

/* ----------------------------------------------------------- ledger_judge */

static void
test_judge(void **state)
{
	static const struct {
		double	until, changed;
		int	live, ttl;
		enum ledger_verdict v;
	} cases[] = {
		/* current: a cache wait ahead, or a live RRset younger than its TTL */
		{ NOW + 5, NOW - 1, 0, 10, LEDGER_CURRENT },
		{ 0, NOW - 5, 1, 10, LEDGER_CURRENT },
		/* expired */
		{ NOW - 1, NOW - 20, 0, 10, LEDGER_EXPIRED },
		{ 0, NOW - 20, 1, 10, LEDGER_EXPIRED },
		{ NOW, NOW - 10, 1, 10, LEDGER_EXPIRED },
		{ 0, 0, 0, 0, LEDGER_EXPIRED },
		/* the furthest an honest entry lies ahead, and just beyond */
		{ NOW + LEDGER_AHEAD_MAX_S, NOW, 0, LEDGER_TTL_MAX, LEDGER_CURRENT },
		{ NOW + LEDGER_AHEAD_MAX_S + 1, NOW, 0, 10, LEDGER_DAMAGED },
		{ NOW + 10.0 * 86400, NOW, 0, 10, LEDGER_DAMAGED },
		{ 1e300, NOW, 0, 10, LEDGER_DAMAGED },
		/* a change a clock step ahead is honest, further is not */
		{ NOW + 20, NOW + LEDGER_CLOCK_STEP_S, 0, 10, LEDGER_CURRENT },
		{ NOW + 20, NOW + LEDGER_CLOCK_STEP_S + 1, 0, 10, LEDGER_DAMAGED },
		{ NOW, NOW + 86353, 0, 10, LEDGER_DAMAGED },
		/* not finite, negative */
		{ INFINITY, 0, 0, 0, LEDGER_DAMAGED },
		{ NAN, NOW, 0, 10, LEDGER_DAMAGED },
		{ NOW + 5, NAN, 0, 10, LEDGER_DAMAGED },
		{ NOW + 5, INFINITY, 0, 10, LEDGER_DAMAGED },
		{ NOW + 5, -INFINITY, 0, 10, LEDGER_DAMAGED },
		{ -1, NOW, 1, 10, LEDGER_DAMAGED },
		{ NOW + 5, -1, 0, 10, LEDGER_DAMAGED },
		/* fields */
		{ NOW + 5, NOW, 2, 10, LEDGER_DAMAGED },
		{ NOW + 5, NOW, 0, -1, LEDGER_DAMAGED },
		{ NOW + 5, NOW, 0, LEDGER_TTL_MAX + 1, LEDGER_DAMAGED },
	};
	struct ledger_entry e;
	const char *why;
	size_t i;

	(void)state;
	memset(&e, 0, sizeof(e));
	snprintf(e.name, sizeof(e.name), "a.test");
	for (i = 0; i < UNIT_NELEM(cases); i++) {
		e.until = cases[i].until;
		e.changed = cases[i].changed;
		e.live = cases[i].live;
		e.ttl = cases[i].ttl;
		why = NULL;
		if (ledger_judge(&e, NOW, &why) != cases[i].v)
			print_error("case %zu: %f %f %d %d\n", i, e.until, e.changed, e.live, e.ttl);
		assert_int_equal(ledger_judge(&e, NOW, &why), cases[i].v);
		if (cases[i].v == LEDGER_DAMAGED)
			assert_non_null(why);
	}
}

/* A pending (unwatched) removal: its own syntax, end and verdict. */
static void
test_pending(void **state)
{
	struct ledger_entry e;
	const char *why = NULL;
	double end;

	(void)state;
	assert_int_equal(ledger_parse_line("0 1000 p 10 a.test", 18, &e, &why), 0);
	assert_int_equal(e.pending, 1);
	assert_int_equal(e.live, 1);	/* what remains at the name is unknown */
	end = 1000 + LEDGER_UNSEEN_S + 10 + LEDGER_CACHE_SLACK_S;
	assert_true(ledger_pending_end(&e) == end);
	assert_int_equal(ledger_judge(&e, end - 0.5, &why), LEDGER_CURRENT);
	assert_int_equal(ledger_judge(&e, end, &why), LEDGER_EXPIRED);

	/* anything else in the flag is damage, and a pending entry is live */
	assert_int_equal(ledger_parse_line("0 1000 q 10 a.test", 18, &e, &why), -1);
	assert_int_equal(ledger_parse_line("0 1000 P 10 a.test", 18, &e, &why), -1);
	assert_int_equal(ledger_parse_line("0 1000 p 10 a.test", 18, &e, &why), 0);
	e.live = 0;
	why = NULL;
	assert_int_equal(ledger_judge(&e, 1000, &why), LEDGER_DAMAGED);
	assert_non_null(why);

	/* an entry that is not pending has no pending end */
	assert_int_equal(ledger_parse_line("0 1000 1 10 a.test", 18, &e, &why), 0);
	assert_int_equal(e.pending, 0);
	assert_true(ledger_pending_end(&e) == 0);
}

/* The bound is what dns01 can write: the largest TTL it gives a record. */
static void
test_bound_covers_ttl(void **state)
{
	(void)state;
	assert_int_equal(LEDGER_TTL_MAX, CONFIG_MAX_TTL);
	assert_true(LEDGER_AHEAD_MAX_S >= CONFIG_MAX_TTL + LEDGER_CACHE_SLACK_S);
}

/* ----------------------------------------------------------- ledger_parse */

static void
test_parse_text(void **state)
{
	struct ledger_entry e[4];
	struct ledger_parsed p = { .e = e, .max = UNIT_NELEM(e) };
	char text[4096], *t = text, *end = text + sizeof(text);

	(void)state;
	t = unit_append(t, end, "%.3f %.3f 0 10 a.test\n", NOW + 5, NOW);	/* 1 current */
	t = unit_append(t, end, "inf 0.000 0 0 b.test\n");			/* 2 damaged */
	t = unit_append(t, end, "%.3f %.3f 0 10 c.test\n", NOW - 5, NOW - 20);	/* 3 expired */
	t = unit_append(t, end, "%.3f %.3f 0 10 a.test\n", NOW + 9, NOW);	/* 4 second a */
	t = unit_append(t, end, "\n");					/* 5 empty */
	t = unit_append(t, end, "%.3f %.3f 0 10 d.test\n", NOW + 1e6, NOW);	/* 6 far ahead */
	t = unit_append(t, end, "%.3f %.3f 1 10 e.test\n", 0.0, NOW - 1);	/* 7 current */
	t = unit_append(t, end, "%.3f %.3f 0 10 f.test", NOW + 5, NOW);	/* 8 torn */
	ledger_parse(text, (size_t)(t - text), NOW, &p);
	assert_int_equal(p.n, 2);
	assert_string_equal(e[0].name, "a.test");
	assert_true(e[0].until == NOW + 5);
	assert_string_equal(e[1].name, "e.test");
	assert_int_equal(p.nbad, 5);
	assert_int_equal(p.bad[0].line, 2);
	assert_int_equal(p.bad[1].line, 4);
	assert_string_equal(p.bad[1].why, "a second entry for the same name");
	assert_int_equal(p.bad[2].line, 5);
	assert_int_equal(p.bad[3].line, 6);
	assert_int_equal(p.bad[4].line, 8);
	assert_string_equal(p.bad[4].why, "no newline at its end (a write cut short)");

	/* empty text */
	ledger_parse("", 0, NOW, &p);
	assert_int_equal(p.n, 0);
	assert_int_equal(p.nbad, 0);
}

static void
test_parse_text_limits(void **state)
{
	struct ledger_entry e[3];
	struct ledger_parsed p = { .e = e, .max = UNIT_NELEM(e) };
	char text[8192], *t = text, *end = text + sizeof(text);
	size_t i;

	(void)state;
	/* more current entries than there is room for: the rest is damage */
	for (i = 0; i < 5; i++)
		t = unit_append(t, end, "%.3f %.3f 0 10 n%zu.test\n", NOW + 5, NOW, i);
	ledger_parse(text, (size_t)(t - text), NOW, &p);
	assert_int_equal(p.n, 3);
	assert_int_equal(p.nbad, 2);
	assert_string_equal(p.bad[0].why, "more entries than the ledger holds");

	/* many damaged lines: all counted, the first LEDGER_DAMAGE_SHOWN kept */
	t = text;
	for (i = 0; i < LEDGER_DAMAGE_SHOWN + 7; i++)
		t = unit_append(t, end, "junk\n");
	ledger_parse(text, (size_t)(t - text), NOW, &p);
	assert_int_equal(p.n, 0);
	assert_int_equal(p.nbad, LEDGER_DAMAGE_SHOWN + 7);
	assert_int_equal(p.bad[LEDGER_DAMAGE_SHOWN - 1].line, LEDGER_DAMAGE_SHOWN);

	/* a NUL inside the text spoils one line, not the rest */
	t = text;
	t = unit_append(t, end, "%.3f %.3f 0 10 a.test\n", NOW + 5, NOW);
	*t++ = '\0';
	t = unit_append(t, end, "x\n%.3f %.3f 0 10 b.test\n", NOW + 5, NOW);
	ledger_parse(text, (size_t)(t - text), NOW, &p);
	assert_int_equal(p.n, 2);
	assert_int_equal(p.nbad, 1);
	assert_int_equal(p.bad[0].line, 2);
}

/* ---------------------------------------------------------- files: basics */

static void
test_put_get_round_trip(void **state)
{
	struct ledger_entry e = entry(NAME_A, 30), got;
	struct stat st;

	(void)state;
	ledger_put(unit_state, &e);
	ledger_get(unit_state, NAME_A, &got);
	assert_string_equal(got.name, NAME_A);
	assert_true(fabs(got.until - e.until) < 0.01);
	assert_true(fabs(got.changed - e.changed) < 0.01);
	assert_int_equal(got.ttl, 10);
	assert_int_equal(stat(in_dir(LEDGER_FILE), &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	/* no temporary file is left behind */
	assert_int_equal(access(temp_file(), F_OK), -1);

	/* until only ever rises; the rest is replaced */
	e.until -= 20;
	e.live = 1;
	ledger_put(unit_state, &e);
	ledger_get(unit_state, NAME_A, &got);
	assert_true(got.until > e.until + 19);
	assert_int_equal(got.live, 1);

	/* another name has no entry */
	ledger_get(unit_state, NAME_B, &got);
	assert_string_equal(got.name, NAME_B);
	assert_true(got.until == 0 && got.changed == 0 && got.live == 0 && got.ttl == 0);
}

/* A pending entry survives the file; many names go in one read and write. */
static void
test_pending_and_many(void **state)
{
	struct ledger_entry e[3] = { entry(NAME_A, 0), entry(NAME_B, 30), entry(NAME_C, 0) },
	    got[3];
	const char *names[3] = { NAME_C, NAME_A, NAME_B };

	(void)state;
	e[0].until = 0;
	e[0].pending = e[0].live = 1;
	e[2].live = 1;
	ledger_put_many(unit_state, e, 3);
	ledger_get_many(unit_state, names, 3, got);
	assert_string_equal(got[0].name, NAME_C);
	assert_int_equal(got[0].live, 1);
	assert_int_equal(got[0].pending, 0);
	assert_string_equal(got[1].name, NAME_A);
	assert_int_equal(got[1].pending, 1);
	assert_int_equal(got[1].live, 1);
	assert_true(fabs(ledger_pending_end(&got[1]) - ledger_pending_end(&e[0])) < 0.01);
	assert_string_equal(got[2].name, NAME_B);
	assert_true(fabs(got[2].until - e[1].until) < 0.01);

	/* a confirmed change replaces the pending flag */
	e[0].pending = 0;
	e[0].live = 0;
	e[0].until = e[0].changed + 20;
	ledger_put(unit_state, &e[0]);
	ledger_get(unit_state, NAME_A, &got[0]);
	assert_int_equal(got[0].pending, 0);
	assert_int_equal(got[0].live, 0);
}

/* A rewrite replaces the file: a new inode, damaged lines gone, good kept. */
static void
test_put_drops_damage(void **state)
{
	char text[2048], *t = text, *end = text + sizeof(text);
	struct ledger_entry e = entry(NAME_A, 30), got;
	struct stat before, after;
	const char *err, *now_text;

	(void)state;
	t = unit_append(t, end, "inf 0.000 0 0 %s\n", NAME_A);
	t = unit_append(t, end, "%s", line(NAME_B, 60));
	t = unit_append(t, end, "99999999999.000 1.000 0 10 %s\n", NAME_C);
	t = unit_append(t, end, "\x1b]0;pwned\x07 \x1b[2J\n");
	unit_write_text(in_dir(LEDGER_FILE), text);
	assert_int_equal(stat(in_dir(LEDGER_FILE), &before), 0);

	unit_cap_begin();
	ledger_get(unit_state, NAME_A, &got);		/* the inf line is not NAME_A's entry */
	ledger_get(unit_state, NAME_C, &got);
	err = unit_cap_end();
	assert_true(got.until == 0);
	/* each damaged line named once, by number; no raw byte of the file */
	assert_int_equal(unit_count(err, "cache.ledger line 1 ignored"), 1);
	assert_int_equal(unit_count(err, "cache.ledger line 3 ignored"), 1);
	assert_int_equal(unit_count(err, "cache.ledger line 4 ignored"), 1);
	assert_int_equal(unit_count(err, "line 2 "), 0);
	assert_null(strchr(err, '\x1b'));
	assert_null(strstr(err, "pwned"));
	assert_non_null(strstr(err, "delete those lines"));

	unit_cap_begin();
	ledger_put(unit_state, &e);
	err = unit_cap_end();
	assert_int_equal(unit_count(err, "ignored"), 0);	/* said already */
	assert_int_equal(stat(in_dir(LEDGER_FILE), &after), 0);
	assert_true(after.st_ino != before.st_ino);
	now_text = unit_slurp(in_dir(LEDGER_FILE));
	assert_int_equal(unit_count(now_text, "\n"), 2);
	assert_non_null(strstr(now_text, NAME_B));
	assert_non_null(strstr(now_text, NAME_A));
	assert_null(strstr(now_text, "inf"));
	assert_null(strstr(now_text, NAME_C));
	ledger_get(unit_state, NAME_A, &got);
	assert_true(fabs(got.until - e.until) < 0.01);
}

/* ledger_put never writes an entry a reader would reject. */
static void
test_put_refuses_damaged_entry(void **state)
{
	struct ledger_entry e = entry(NAME_A, 30);
	const char *err;

	(void)state;
	ledger_put(unit_state, &e);
	e.until = INFINITY;
	unit_cap_begin();
	ledger_put(unit_state, &e);
	err = unit_cap_end();
	assert_non_null(strstr(err, "not noting the change at " NAME_A));
	assert_int_equal(unit_count(unit_slurp(in_dir(LEDGER_FILE)), "inf"), 0);
	e.until = e.changed + LEDGER_AHEAD_MAX_S + 10;
	ledger_put(unit_state, &e);
	assert_int_equal(unit_count(unit_slurp(in_dir(LEDGER_FILE)), "\n"), 1);
}

/* ------------------------------------------------- files: not ours to write */

/* A hard link to the ledger: the rewrite replaces the name, never the inode. */
static void
test_hard_link_untouched(void **state)
{
	static const char other_text[] = "a backup, or anything else\n";
	const char *other = in_dir("other");
	struct ledger_entry e = entry(NAME_A, 30), got;
	struct stat st;

	(void)state;
	unit_write_text(other, other_text);
	assert_int_equal(link(other, in_dir(LEDGER_FILE)), 0);
	ledger_put(unit_state, &e);
	assert_string_equal(unit_slurp(other), other_text);
	assert_int_equal(stat(other, &st), 0);
	assert_int_equal(st.st_nlink, 1);
	ledger_get(unit_state, NAME_A, &got);
	assert_true(fabs(got.until - e.until) < 0.01);
}

/* An honest ledger with a second name (a backup made with cp -al) is read. */
static void
test_hard_link_read(void **state)
{
	struct ledger_entry got;

	(void)state;
	unit_write_text(in_dir(LEDGER_FILE), line(NAME_A, 40));
	assert_int_equal(link(in_dir(LEDGER_FILE), in_dir("snapshot")), 0);
	ledger_get(unit_state, NAME_A, &got);
	assert_true(got.until > (double)time(NULL) + 30);
}

static void
test_fifo_ledger(void **state)
{
	struct ledger_entry e = entry(NAME_A, 30), got;
	struct stat st;
	const char *err;

	(void)state;
	assert_int_equal(mkfifo(in_dir(LEDGER_FILE), 0600), 0);
	unit_cap_begin();
	ledger_get(unit_state, NAME_A, &got);		/* returns: a hang trips the alarm */
	ledger_put(unit_state, &e);
	ledger_get(unit_state, NAME_A, &got);
	err = unit_cap_end();
	assert_true(got.until == 0);
	assert_int_equal(unit_count(err, "cache.ledger is a FIFO, not a regular file"), 1);
	assert_non_null(strstr(err, unit_state));
	/* left alone */
	assert_int_equal(lstat(in_dir(LEDGER_FILE), &st), 0);
	assert_true(S_ISFIFO(st.st_mode));
	assert_int_equal(access(temp_file(), F_OK), -1);
}

static void
test_fifo_lock(void **state)
{
	struct ledger_entry e = entry(NAME_A, 30), got;
	const char *err;

	(void)state;
	assert_int_equal(mkfifo(in_dir("cache.lock"), 0600), 0);
	unit_cap_begin();
	ledger_put(unit_state, &e);
	ledger_get(unit_state, NAME_A, &got);
	err = unit_cap_end();
	assert_true(got.until == 0);
	assert_int_equal(unit_count(err, "cache.lock is a FIFO, not a regular file"), 1);
	assert_int_equal(access(in_dir(LEDGER_FILE), F_OK), -1);
}

static void
test_symlink_not_followed(void **state)
{
	const char *target = in_dir("target");
	struct ledger_entry e = entry(NAME_A, 30), got;
	struct stat st;
	const char *err;

	(void)state;
	unit_write_text(target, line(NAME_A, 40));
	assert_int_equal(symlink(target, in_dir(LEDGER_FILE)), 0);
	unit_cap_begin();
	ledger_get(unit_state, NAME_A, &got);
	ledger_put(unit_state, &e);
	err = unit_cap_end();
	assert_true(got.until == 0);		/* not read through the link */
	assert_non_null(strstr(err, "cache.ledger is a symbolic link, not a regular file"));
	assert_int_equal(unit_count(unit_slurp(target), "\n"), 1);
	assert_int_equal(lstat(in_dir(LEDGER_FILE), &st), 0);
	assert_true(S_ISLNK(st.st_mode));
}

static void
test_directory_ledger(void **state)
{
	struct ledger_entry got;
	const char *err;

	(void)state;
	assert_int_equal(mkdir(in_dir(LEDGER_FILE), 0700), 0);
	unit_cap_begin();
	ledger_get(unit_state, NAME_A, &got);
	err = unit_cap_end();
	assert_non_null(strstr(err, "cache.ledger is a directory, not a regular file"));
}

/* A path with a control character is shown escaped. */
static void
test_path_escaped(void **state)
{
	struct ledger_entry got;
	char sub[600];
	const char *err;

	(void)state;
	snprintf(sub, sizeof(sub), "%s/esc\x1b[31m", unit_state);
	assert_int_equal(mkdir(sub, 0700), 0);
	snprintf(unit_state + strlen(unit_state), sizeof(unit_state) - strlen(unit_state), "/esc\x1b[31m");
	assert_int_equal(mkfifo(in_dir(LEDGER_FILE), 0600), 0);
	unit_cap_begin();
	ledger_get(unit_state, NAME_A, &got);
	err = unit_cap_end();
	assert_non_null(strstr(err, "esc\\x1b[31m/cache.ledger is a FIFO"));
	assert_null(strchr(err, '\x1b'));
}

/* ---------------------------------------------- files: crashes and failures */

/* A temporary file a killed writer with this pid left (of any kind) is replaced. */
static void
test_leftover_temp(void **state)
{
	struct ledger_entry e = entry(NAME_A, 30), got;

	(void)state;
	assert_int_equal(mkfifo(temp_file(), 0600), 0);
	ledger_put(unit_state, &e);
	ledger_get(unit_state, NAME_A, &got);
	assert_true(fabs(got.until - e.until) < 0.01);
	assert_int_equal(access(temp_file(), F_OK), -1);
}

/* A write that fails keeps the old ledger whole and leaves no temporary file. */
static void
test_failed_write(void **state)
{
	struct ledger_entry e = entry(NAME_C, 30), got;
	/* below the ledger's size, above a message's (stderr goes to a file too) */
	struct rlimit old, small = { .rlim_cur = 1024 };
	char before[4096], name[64], *t = before, *end = before + sizeof(before);
	const char *err;
	size_t i;

	(void)state;
	for (i = 0; i < 20; i++) {
		snprintf(name, sizeof(name), "_acme-challenge.n%zu.example.test", i);
		t = unit_append(t, end, "%s", line(name, 40));
	}
	unit_write_text(in_dir(LEDGER_FILE), before);
	assert_true(strlen(before) > small.rlim_cur);

	assert_int_equal(getrlimit(RLIMIT_FSIZE, &old), 0);
	small.rlim_max = old.rlim_max;
	signal(SIGXFSZ, SIG_IGN);
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &small), 0);
	unit_cap_begin();
	ledger_put(unit_state, &e);
	err = unit_cap_end();
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &old), 0);
	signal(SIGXFSZ, SIG_DFL);

	assert_non_null(strstr(err, "cannot update the cache ledger"));
	assert_non_null(strstr(err, "the next write at " NAME_C));
	assert_string_equal(unit_slurp(in_dir(LEDGER_FILE)), before);
	assert_int_equal(access(temp_file(), F_OK), -1);
	ledger_get(unit_state, "_acme-challenge.n7.example.test", &got);
	assert_true(got.until > (double)time(NULL) + 30);
}

/* A file larger than any ledger: its first part is read, the rest reported. */
static void
test_oversized(void **state)
{
	struct ledger_entry got;
	const char *err;
	FILE *f;
	size_t i;

	(void)state;
	f = fopen(in_dir(LEDGER_FILE), "w");
	assert_non_null(f);
	fputs(line(NAME_A, 40), f);
	for (i = 0; i < 400000; i++)
		fputs("# padding\n", f);
	assert_int_equal(fclose(f), 0);
	unit_cap_begin();
	ledger_get(unit_state, NAME_A, &got);
	err = unit_cap_end();
	assert_true(got.until > (double)time(NULL) + 30);
	assert_non_null(strstr(err, "is larger than any ledger dns01 writes"));
	assert_non_null(strstr(err, "more damaged lines ignored"));
}

#define F(t)	cmocka_unit_test_setup_teardown(t, unit_state_setup, unit_state_teardown)

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_line_ok),
		cmocka_unit_test(test_parse_line_bad),
		cmocka_unit_test(test_parse_line_nul_and_length),
		cmocka_unit_test(test_judge),
		cmocka_unit_test(test_pending),
		cmocka_unit_test(test_bound_covers_ttl),
		cmocka_unit_test(test_parse_text),
		cmocka_unit_test(test_parse_text_limits),
		F(test_put_get_round_trip),
		F(test_pending_and_many),
		F(test_put_drops_damage),
		F(test_put_refuses_damaged_entry),
		F(test_hard_link_untouched),
		F(test_hard_link_read),
		F(test_fifo_ledger),
		F(test_fifo_lock),
		F(test_symlink_not_followed),
		F(test_directory_ledger),
		F(test_path_escaped),
		F(test_leftover_temp),
		F(test_failed_write),
		F(test_oversized),
	};

	return cmocka_run_group_tests_name("ledger", tests, unit_group_setup, unit_group_teardown);
}
