/*
 * Helpers for the unit tests: table-driven test lists, a temporary
 * directory per test group, text building, whole-file reads and writes, and
 * capturing stderr (where dns01's messages go) to check what a message says.
 * Include after <cmocka.h>.
 * static inline: a test file that uses only some of them gets no warnings.
 */
#ifndef DNS01_UNIT_H
#define DNS01_UNIT_H

#include <fcntl.h>
#include <ftw.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define UNIT_NELEM(a)		(sizeof(a) / sizeof((a)[0]))
#define UNIT_FILE_MAX		(1 << 16)	/* what unit_slurp() reads */
#define UNIT_CAPTURE_MAX	16384		/* what unit_cap_end() returns */
#define UNIT_TESTS_MAX		512		/* tests unit_add() takes */

/*
 * Table-driven tests: every row of a table becomes one cmocka test, named
 * "group: desc", so a failure says exactly which case misbehaved.
 * unit_add() adds one (fn gets c as its state); unit_run() runs them all
 * as one group, with the group's setup and teardown (each may be NULL),
 * and returns cmocka's result.
 */
static size_t unit_ntests;
static struct CMUnitTest unit_tests[UNIT_TESTS_MAX];

static inline void
unit_add(const char *group, const char *desc, CMUnitTestFunction fn, const void *c)
{
	size_t n = strlen(group) + strlen(desc) + 3;
	char *name;

	if (unit_ntests >= UNIT_TESTS_MAX || (name = malloc(n)) == NULL) {
		fprintf(stderr, "unit_add: more than %d tests, or out of memory\n",
		    UNIT_TESTS_MAX);
		exit(1);
	}
	snprintf(name, n, "%s: %s", group, desc);
	unit_tests[unit_ntests].name = name;
	unit_tests[unit_ntests].test_func = fn;
	unit_tests[unit_ntests].setup_func = NULL;
	unit_tests[unit_ntests].teardown_func = NULL;
	unit_tests[unit_ntests].initial_state = (void *)(uintptr_t)c;
	unit_ntests++;
}

static inline int
unit_run(const char *group, CMFixtureFunction setup, CMFixtureFunction teardown)
{
	size_t i;
	int rc = _cmocka_run_group_tests(group, unit_tests, unit_ntests, setup, teardown);

	for (i = 0; i < unit_ntests; i++)
		free((void *)(uintptr_t)unit_tests[i].name);
	return rc;
}

/* The group's directory, made by unit_group_setup(). */
static char unit_tmpdir[256];

static inline int
unit_rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(path);
}

/* cmocka group setup and teardown: unit_tmpdir, and everything in it. */
static inline int
unit_group_setup(void **state)
{
	char tmpl[] = "/tmp/dns01-test-XXXXXX";

	(void)state;
	if (mkdtemp(tmpl) == NULL)
		return -1;
	snprintf(unit_tmpdir, sizeof(unit_tmpdir), "%s", tmpl);
	return 0;
}

static inline int
unit_group_teardown(void **state)
{
	(void)state;
	return nftw(unit_tmpdir, unit_rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* dir/name, in one of a few static buffers (so a call can take two). */
static inline const char *
unit_path(const char *dir, const char *name)
{
	static char buf[4][768];
	static unsigned next;
	char *p = buf[next++ % 4];

	assert_true((size_t)snprintf(p, sizeof(buf[0]), "%s/%s", dir, name) < sizeof(buf[0]));
	return p;
}

/* snprintf at p, never past end; returns the new end of the text. */
static inline char *
unit_append(char *p, const char *end, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static inline char *
unit_append(char *p, const char *end, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(p, (size_t)(end - p), fmt, ap);
	va_end(ap);
	assert_true(n >= 0 && n < end - p);
	return p + n;
}

/*
 * Fixture of a file test: a fresh state directory (0700) in unit_state,
 * and an alarm after UNIT_HANG_GUARD_S against a test that blocks.
 */
#define UNIT_HANG_GUARD_S	20
static char unit_state[512];

static inline int
unit_state_setup(void **state)
{
	static unsigned next;

	(void)state;
	snprintf(unit_state, sizeof(unit_state), "%s/state%u", unit_tmpdir, next++);
	alarm(UNIT_HANG_GUARD_S);
	return mkdir(unit_state, 0700);
}

static inline int
unit_state_teardown(void **state)
{
	(void)state;
	alarm(0);
	return 0;
}

/* How many times needle occurs in hay (overlapping ones too). */
static inline size_t
unit_count(const char *hay, const char *needle)
{
	size_t n = 0;

	for (; (hay = strstr(hay, needle)) != NULL; hay++)
		n++;
	return n;
}

/* The whole of a file, at most UNIT_FILE_MAX - 1 bytes (static buffer). */
static inline const char *
unit_slurp(const char *path)
{
	static char buf[UNIT_FILE_MAX];
	FILE *f = fopen(path, "r");
	size_t n;

	assert_non_null(f);
	n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = '\0';
	fclose(f);
	return buf;
}

/* Write text to path, mode 0600. */
static inline void
unit_write_text(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	assert_true(fputs(text, f) >= 0);
	assert_int_equal(fclose(f), 0);
	assert_int_equal(chmod(path, 0600), 0);
}

static int unit_saved_stderr = -1;

/* Send stderr to a file in unit_tmpdir until unit_cap_end(). */
static inline void
unit_cap_begin(void)
{
	char path[512];
	int fd;

	snprintf(path, sizeof(path), "%s/stderr.txt", unit_tmpdir);
	fflush(stderr);
	unit_saved_stderr = dup(2);
	assert_true(unit_saved_stderr >= 0);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(dup2(fd, 2), 2);
	close(fd);
}

/* Restore stderr; what was written (static buffer), echoed to the test log. */
static inline const char *
unit_cap_end(void)
{
	static char buf[UNIT_CAPTURE_MAX];
	char path[512];
	FILE *f;
	size_t n;

	fflush(stderr);
	dup2(unit_saved_stderr, 2);
	close(unit_saved_stderr);
	unit_saved_stderr = -1;
	snprintf(path, sizeof(path), "%s/stderr.txt", unit_tmpdir);
	f = fopen(path, "r");
	assert_non_null(f);
	n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = '\0';
	fclose(f);
	fputs(buf, stderr);
	return buf;
}

#endif
