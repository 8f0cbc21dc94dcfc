/*
 * Unit tests for core/journal.[ch] and core/state.[ch]: run keys, the
 * journal line format (parse/format round trip, every kind of damaged
 * line), the journal file on disk (modes, atomic replacement, FIFOs,
 * symlinks, hard links, size cap, locking), the state directory checks,
 * state_read/state_write, the in-memory entry list and the run token files.
 *
 * Every test that could block on a FIFO runs under alarm(HANG_GUARD): a
 * hang kills the test binary instead of stalling `make unit`.
 */
#include <setjmp.h>
#include <stddef.h>
#include <stdint.h>
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "unit.h"

#include "../../core/journal.h"
#include "../../core/state.h"
#include "../../core/status.h"

#define HANG_GUARD	5	/* seconds */
#define PATH_BUF	600

#define V1	"LoqXcYV8q5ONbJQxbmR7SCTNo3tiAXDfowyjxAjEuX0"
#define V2	"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
#define V3	"-_-_-_-_-_-_-_-_-_-_-_-_-_-_-_-_-_-_-_-_-_-"
#define TOK1	"0123456789abcdef"
#define TOK2	"fedcba9876543210"
#define TOK3	"00000000ffffffff"
#define NAME1	"_acme-challenge.example.com"

/* The "now" of the parse tests. */
#define NOW	((time_t)1700000000)

/* ------------------------------------------------------------------ helpers */

/* A sub-directory of unit_tmpdir, created 0700. */
static const char *
new_dir(const char *name)
{
	const char *dir = unit_path(unit_tmpdir, name);

	assert_int_equal(mkdir(dir, 0700), 0);
	return dir;
}

/* dir/name into out. */
static char *
path_in(char *out, const char *dir, const char *name)
{
	int n = snprintf(out, PATH_BUF, "%s/%s", dir, name);

	assert_true(n > 0 && n < PATH_BUF);
	return out;
}

static void
write_bytes(const char *path, const char *text, size_t len)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	assert_int_equal(fwrite(text, 1, len, f), len);
	assert_int_equal(fclose(f), 0);
	assert_int_equal(chmod(path, 0600), 0);
}

/* How many '\n' text holds. */
static size_t
count_lines(const char *text)
{
	size_t n = 0;

	for (; *text != '\0'; text++)
		n += *text == '\n';
	return n;
}

static mode_t
mode_of(const char *path)
{
	struct stat sb;

	assert_int_equal(lstat(path, &sb), 0);
	return sb.st_mode;
}

/* The names in dir other than "." and "..", as "a b c " (readdir order). */
static size_t
dir_entries(const char *dir, char *out, size_t outlen)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	char *p = out;
	size_t n = 0;

	assert_non_null(d);
	*p = '\0';
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		p = unit_append(p, out + outlen, "%s ", de->d_name);
		n++;
	}
	closedir(d);
	return n;
}

/* Fixture: an empty in-memory journal (no file, no lock) in *state. */
static int
mem_setup(void **state)
{
	struct journal *j = calloc(1, sizeof(*j));

	if (j == NULL)
		return -1;
	j->lockfd = -1;		/* journal_close must not close fd 0 */
	*state = j;
	return 0;
}

static int
mem_teardown(void **state)
{
	journal_close(*state);
	return 0;
}

/* A journal entry from its fields (key and id "" for none). */
static struct journal_entry
entry(time_t created, enum journal_status status, const char *token, const char *key,
    const char *name, const char *value, const char *id)
{
	struct journal_entry e;

	memset(&e, 0, sizeof(e));
	e.created = created;
	e.status = status;
	snprintf(e.token, sizeof(e.token), "%s", token);
	snprintf(e.key, sizeof(e.key), "%s", key);
	snprintf(e.name, sizeof(e.name), "%s", name);
	snprintf(e.value, sizeof(e.value), "%s", value);
	snprintf(e.id, sizeof(e.id), "%s", id);
	return e;
}

/* Field by field (struct padding and bytes after a NUL do not count). */
static void
assert_entry_equal(const struct journal_entry *a, const struct journal_entry *b)
{
	assert_int_equal(a->created, b->created);
	assert_int_equal(a->status, b->status);
	assert_string_equal(a->token, b->token);
	assert_string_equal(a->key, b->key);
	assert_string_equal(a->name, b->name);
	assert_string_equal(a->value, b->value);
	assert_string_equal(a->id, b->id);
}

/* The line of the 7 fields f (with a newline), into out. */
static char *
line_of(char *out, size_t outlen, const char *const f[7])
{
	char *p = out;
	size_t i;

	for (i = 0; i < 7; i++)
		p = unit_append(p, out + outlen, "%s%s", i ? " " : "", f[i]);
	unit_append(p, out + outlen, "\n");
	return out;
}

/* A valid journal line created at t, for files read with today's clock. */
static char *
good_line(char *out, size_t outlen, time_t t, const char *token, const char *name,
    const char *value)
{
	int n = snprintf(out, outlen, "%lld 2 %s - %s %s -\n", (long long)t, token, name, value);

	assert_true(n > 0 && (size_t)n < outlen);
	return out;
}

/* ------------------------------------------------------------- journal_key */

/* "certbot-" and 16 lowercase hex digits; a short buffer is cut, not overrun. */
static void
test_key_format(void **state)
{
	char k[JOURNAL_KEY_MAX];
	size_t i;

	(void)state;
	journal_key("certbot", "example.com,www.example.com", k, sizeof(k));
	assert_int_equal(strncmp(k, "certbot-", 8), 0);
	assert_int_equal(strlen(k), 8 + 16);
	for (i = 8; i < strlen(k); i++)
		assert_true(isxdigit((unsigned char)k[i]) && !isupper((unsigned char)k[i]));

	journal_key("certbot", "", k, sizeof(k));
	assert_int_equal(strlen(k), 8 + 16);

	/* a short buffer is truncated, never overrun */
	memset(k, 'Z', sizeof(k));
	journal_key("certbot", "example.com", k, 10);
	assert_int_equal(strlen(k), 9);
	assert_int_equal(k[10], 'Z');
	memset(k, 'Z', sizeof(k));
	journal_key("certbot", "example.com", k, 1);
	assert_int_equal(k[0], '\0');
	assert_int_equal(k[1], 'Z');
}

/* The same input (another copy of it) gives the same key; NULL is "". */
static void
test_key_stable(void **state)
{
	char a[JOURNAL_KEY_MAX], b[JOURNAL_KEY_MAX], input[64];

	(void)state;
	journal_key("certbot", "example.com,*.example.com", a, sizeof(a));
	snprintf(input, sizeof(input), "%s", "example.com,*.example.com");
	journal_key("certbot", input, b, sizeof(b));
	assert_string_equal(a, b);

	journal_key("certbot", NULL, a, sizeof(a));
	journal_key("certbot", "", b, sizeof(b));
	assert_string_equal(a, b);
}

/* Different inputs (even one character apart) give different keys. */
static void
test_key_distinct(void **state)
{
	static const char *const inputs[] = {
		"", "a", "b", "ab", "ba", "example.com", "example.org", "example.co",
		"example.com,www.example.com", "example.com,www.example.net",
		"www.example.com", "*.example.com", "example.com ",
	};
	char keys[UNIT_NELEM(inputs)][JOURNAL_KEY_MAX], other[JOURNAL_KEY_MAX];
	size_t i, k;

	(void)state;
	for (i = 0; i < UNIT_NELEM(inputs); i++)
		journal_key("certbot", inputs[i], keys[i], sizeof(keys[i]));
	for (i = 0; i < UNIT_NELEM(inputs); i++)
		for (k = i + 1; k < UNIT_NELEM(inputs); k++) {
			if (strcmp(keys[i], keys[k]) == 0)
				print_error("'%s' and '%s' share key %s\n", inputs[i], inputs[k],
				    keys[i]);
			assert_string_not_equal(keys[i], keys[k]);
		}
	/* the prefix is part of the key, the hash is not changed by it */
	journal_key("lego", "example.com", other, sizeof(other));
	assert_string_not_equal(other, keys[5]);
	assert_string_equal(other + 4, keys[5] + 7);
}

/* ------------------------------------------------ journal_parse and _format */

/*
 * Entries of all four statuses, with and without key and id, and with the
 * longest fields the format allows, survive format then parse unchanged,
 * and format again to the same text.
 */
static void
test_parse_format_round_trip(void **state)
{
	struct journal *j = *state;
	char name[NAME_BUF], value[VALUE_BUF], id[RECORD_ID_MAX], key[JOURNAL_KEY_MAX];
	char text[JOURNAL_LINE_MAX], again[JOURNAL_LINE_MAX];
	struct journal_entry es[8];
	size_t i, bad_line = 77;
	const char *why = NULL;

	/* 253 octets: 63.63.63.61; 255 printable non-space octets; 95; 63 */
	memset(name, 'd', NAME_MAX_LEN);
	name[63] = name[127] = name[191] = '.';
	name[NAME_MAX_LEN] = '\0';
	for (i = 0; i < TXT_STRING_MAX; i++)
		value[i] = (char)('!' + i % 94);
	value[TXT_STRING_MAX] = '\0';
	memset(id, 'i', RECORD_ID_MAX - 1);
	id[RECORD_ID_MAX - 1] = '\0';
	memset(key, 'k', JOURNAL_KEY_MAX - 1);
	key[JOURNAL_KEY_MAX - 1] = '\0';

	es[0] = entry(NOW, JOURNAL_RECORDED, TOK1, "certbot-0123456789abcdef", NAME1, V1, "");
	es[1] = entry(NOW - 1, JOURNAL_WRITING, TOK2, "", "*.example.com", V2, "zone:rec-1");
	es[2] = entry(1, JOURNAL_WRITTEN, TOK3, "", "example.com", V3, "Ab.9_:-");
	es[3] = entry(NOW + JOURNAL_CLOCK_SLACK, JOURNAL_CLEANUP, TOK1, "certbot-x", NAME1, V1,
	    "123");
	es[4] = entry(NOW, JOURNAL_WRITTEN, TOK2, key, name, value, id);
	es[5] = entry(NOW, JOURNAL_CLEANUP, TOK3, "-x-", "*." NAME1, "a", "-x");
	es[6] = entry(NOW, JOURNAL_RECORDED, TOK1, "", "x", "~", "");
	es[7] = entry(NOW, JOURNAL_WRITING, TOK2, "", NAME1, V1, "");

	for (i = 0; i < UNIT_NELEM(es); i++) {
		int n = journal_format(&es[i], text, sizeof(text));

		assert_true(n > 0);
		assert_int_equal((size_t)n, strlen(text));
		assert_int_equal(text[n - 1], '\n');
		j->n = 0;
		assert_int_equal(journal_parse(j, text, NOW, &bad_line, &why), 0);
		assert_int_equal(bad_line, 77);	/* untouched: no bad line */
		assert_null(why);
		assert_int_equal(j->n, 1);
		assert_entry_equal(&j->e[0], &es[i]);
		assert_int_equal(journal_format(&j->e[0], again, sizeof(again)), n);
		assert_string_equal(again, text);
	}
}

/* The exact text of a line: "-" stands for no key and no id. */
static void
test_format_text(void **state)
{
	struct journal_entry e;
	char text[JOURNAL_LINE_MAX];
	size_t len;
	int n;

	(void)state;
	e = entry(NOW, JOURNAL_WRITTEN, TOK1, "certbot-0123456789abcdef", NAME1, V1, "z:r");
	n = journal_format(&e, text, sizeof(text));
	assert_int_equal(n, (int)strlen(text));
	assert_string_equal(text, "1700000000 2 " TOK1 " certbot-0123456789abcdef " NAME1
	    " " V1 " z:r\n");

	e = entry(NOW, JOURNAL_RECORDED, TOK1, "", NAME1, V1, "");
	journal_format(&e, text, sizeof(text));
	assert_string_equal(text, "1700000000 0 " TOK1 " - " NAME1 " " V1 " -\n");

	/* an id that is not safe to write is written as no id */
	e = entry(NOW, JOURNAL_WRITING, TOK1, "", NAME1, V1, "../etc/passwd");
	journal_format(&e, text, sizeof(text));
	assert_string_equal(text, "1700000000 1 " TOK1 " - " NAME1 " " V1 " -\n");
	e = entry(NOW, JOURNAL_WRITING, TOK1, "", NAME1, V1, "a b");
	journal_format(&e, text, sizeof(text));
	assert_string_equal(text, "1700000000 1 " TOK1 " - " NAME1 " " V1 " -\n");

	/* a buffer one byte short of the line and its NUL: -1 */
	e = entry(NOW, JOURNAL_RECORDED, TOK1, "", NAME1, V1, "");
	len = strlen(text);
	assert_int_equal(journal_format(&e, text, len), -1);
	assert_int_equal(journal_format(&e, text, len + 1), (int)len);
}

struct bad_field {
	int		field;		/* which of the 7 is replaced */
	const char	*text;		/* by this */
	const char	*why;		/* what journal_parse says */
};

#define WHY_FIELDS	"not 7 fields separated by single spaces"
#define WHY_TIME	"the time is not a positive decimal number"
#define WHY_FUTURE	"the time lies in the future"
#define WHY_STATUS	"unknown status"
#define WHY_TOKEN	"bad run token"
#define WHY_KEY		"bad run key"
#define WHY_NAME	"bad name"
#define WHY_VALUE	"bad value"
#define WHY_ID		"bad record id"

/*
 * Each damaged line (a good line with one field replaced), placed between
 * two good lines, is counted, named by line number 2 and reason, and
 * skipped; both good lines are read.  created -9223372036854775808 must
 * not overflow anything (run under make SANITIZE=1: UBSan aborts on signed
 * overflow).
 */
static void
test_parse_bad_fields(void **state)
{
	static const struct bad_field bad[] = {
		{ 0, "0", WHY_TIME },
		{ 0, "-1", WHY_TIME },
		{ 0, "-9223372036854775808", WHY_TIME },
		{ 0, "-9223372036854775809", WHY_TIME },
		{ 0, "99999999999999999999", WHY_TIME },	/* ERANGE */
		{ 0, "+1699999999", WHY_TIME },
		{ 0, "1699999999x", WHY_TIME },
		{ 0, "soon", WHY_TIME },
		{ 0, "0x10", WHY_TIME },
		{ 0, "1700000301", WHY_FUTURE },		/* now + slack + 1 */
		{ 0, "9223372036854775807", WHY_FUTURE },
		{ 1, "4", WHY_STATUS },
		{ 1, "-1", WHY_STATUS },
		{ 1, "x", WHY_STATUS },
		{ 1, "1x", WHY_STATUS },
		{ 1, "99999999999999999999", WHY_STATUS },
		{ 2, "0123456789abcde", WHY_TOKEN },		/* 15 */
		{ 2, "0123456789abcdef0", WHY_TOKEN },		/* 17 */
		{ 2, "0123456789ABCDEF", WHY_TOKEN },		/* upper case */
		{ 2, "0123456789abcdeg", WHY_TOKEN },		/* not hex */
		{ 2, "../../../etc/pas", WHY_TOKEN },
		{ 3, "Certbot-1", WHY_KEY },
		{ 3, "certbot_1", WHY_KEY },
		{ 3, "certbot/1", WHY_KEY },
		{ 3, "kkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkk", WHY_KEY },
		{ 4, "_acme-challenge.Example.com", WHY_NAME },	/* not canonical */
		{ 4, "_acme-challenge.example.com.", WHY_NAME },	/* not canonical */
		{ 4, "a..example.com", WHY_NAME },
		{ 4, "-a.example.com", WHY_NAME },
		{ 4, "a;b.example.com", WHY_NAME },
		{ 4, "a.*.example.com", WHY_NAME },
		{ 4, "caf\xc3\xa9.example.com", WHY_NAME },
		{ 4, "-", WHY_NAME },
		{ 5, "\x01value", WHY_VALUE },
		{ 5, "caf\xc3\xa9", WHY_VALUE },
		{ 5, "del\x7f", WHY_VALUE },
		{ 6, "x/y", WHY_ID },
		{ 6, "../../etc/passwd", WHY_ID },
		{ 6, "id,1", WHY_ID },
		{ 6, "id+1", WHY_ID },
		{ 6, "id\x01", WHY_ID },
		{ 6, "0123456789012345678901234567890123456789012345678901234567890123"
		    "01234567890123456789012345678901", WHY_ID },	/* RECORD_ID_MAX octets */
		/* '\x01', journal_open's stand-in for a NUL byte, in each field */
		{ 0, "\x01" "1699999000", WHY_TIME },
		{ 0, "1699999000\x01", WHY_TIME },
		{ 1, "\x01" "2", WHY_STATUS },
		{ 1, "2\x01", WHY_STATUS },
		{ 2, "0123456789abcde\x01", WHY_TOKEN },
		{ 3, "\x01", WHY_KEY },
		{ 3, "certbot-\x01", WHY_KEY },
		{ 4, "a\x01.example.com", WHY_NAME },
		{ 5, "\x01", WHY_VALUE },
		{ 6, "\x01", WHY_ID },
	};
	const char *f[7] = { "1699999000", "2", TOK1, "-", NAME1, V1, "-" };
	struct journal *j = *state;
	char text[4096], *p, line[JOURNAL_LINE_MAX];
	const char *why;
	size_t i, bad_line;

	for (i = 0; i < UNIT_NELEM(bad); i++) {
		const char *keep = f[bad[i].field];

		p = unit_append(text, text + sizeof(text), "%s", line_of(line, sizeof(line), f));
		f[bad[i].field] = bad[i].text;
		p = unit_append(p, text + sizeof(text), "%s", line_of(line, sizeof(line), f));
		f[bad[i].field] = keep;
		unit_append(p, text + sizeof(text), "%s", line_of(line, sizeof(line), f));

		j->n = 0;
		bad_line = 0;
		why = NULL;
		if (journal_parse(j, text, NOW, &bad_line, &why) != 1 || j->n != 2)
			print_error("case %zu: field %d '%s' gave n %zu, why '%s'\n", i,
			    bad[i].field, bad[i].text, j->n, why ? why : "(none)");
		assert_int_equal(j->n, 2);
		assert_int_equal(bad_line, 2);
		assert_non_null(why);
		if (strcmp(why, bad[i].why) != 0)
			print_error("case %zu: field %d '%s'\n", i, bad[i].field, bad[i].text);
		assert_string_equal(why, bad[i].why);
	}
}

/* Lines that do not split into 7 fields at single spaces. */
static void
test_parse_bad_shape(void **state)
{
	static const char *const bad[] = {
		"1699999000 2 " TOK1 " - " NAME1 " " V1,		/* 6 fields */
		"1699999000 2 " TOK1 " - " NAME1 " " V1 " - x",	/* 8 fields */
		"1699999000 2 " TOK1 " - " NAME1 " " V1 " a b",	/* id "a b" */
		"1699999000 2 " TOK1 " - " NAME1 "  " V1 " -",	/* double space */
		"1699999000 2 " TOK1 " - " NAME1 " " V1 " - ",	/* trailing space */
		" 1699999000 2 " TOK1 " - " NAME1 " " V1 " -",	/* leading space */
		"1699999000\t2 " TOK1 " - " NAME1 " " V1 " -",	/* a tab: 6 fields */
		"",						/* empty line */
		"garbage",
	};
	struct journal *j = *state;
	char text[2048];
	const char *why;
	size_t i, bad_line;

	for (i = 0; i < UNIT_NELEM(bad); i++) {
		snprintf(text, sizeof(text), "%s\n%s\n%s\n",
		    "1699999000 2 " TOK1 " - a.example.com " V1 " -", bad[i],
		    "1699999000 2 " TOK1 " - b.example.com " V1 " -");
		j->n = 0;
		bad_line = 0;
		why = NULL;
		if (journal_parse(j, text, NOW, &bad_line, &why) != 1 || j->n != 2)
			print_error("case %zu: '%s' gave n %zu\n", i, bad[i], j->n);
		assert_int_equal(j->n, 2);
		assert_int_equal(bad_line, 2);
		assert_non_null(why);
		assert_string_equal(why, WHY_FIELDS);
		assert_string_equal(j->e[0].name, "a.example.com");
		assert_string_equal(j->e[1].name, "b.example.com");
	}
}

/*
 * The clock: created exactly now + JOURNAL_CLOCK_SLACK is accepted, one
 * second more is not; old entries are parsed (age is run.c's business).
 */
static void
test_parse_clock(void **state)
{
	struct journal *j = *state;
	char text[1024];
	size_t bad_line = 0;
	const char *why = NULL;

	snprintf(text, sizeof(text),
	    "%lld 0 " TOK1 " - a.example.com " V1 " -\n"
	    "%lld 0 " TOK1 " - b.example.com " V1 " -\n"
	    "%lld 0 " TOK1 " - c.example.com " V1 " -\n"
	    "1 0 " TOK1 " - d.example.com " V1 " -\n",
	    (long long)NOW + JOURNAL_CLOCK_SLACK, (long long)NOW + JOURNAL_CLOCK_SLACK + 1,
	    (long long)NOW - JOURNAL_MAX_AGE - 1);
	assert_int_equal(journal_parse(j, text, NOW, &bad_line, &why), 1);
	assert_int_equal(bad_line, 2);
	assert_string_equal(why, WHY_FUTURE);
	assert_int_equal(j->n, 3);
	assert_int_equal(j->e[0].created, NOW + JOURNAL_CLOCK_SLACK);
	assert_string_equal(j->e[1].name, "c.example.com");
	assert_int_equal(j->e[2].created, 1);
}

/*
 * Several damaged lines: all counted, the first one named; NULL bad_line
 * and why are fine; entries are appended to what j holds.
 */
static void
test_parse_first_bad(void **state)
{
	struct journal *j = *state;
	char text[1024];
	size_t bad_line = 0;
	const char *why = NULL;

	snprintf(text, sizeof(text),
	    "1699999000 0 " TOK1 " - a.example.com " V1 " -\n"
	    "1699999000 0 " TOK1 " - b.example.com " V1 " x/y\n"	/* 2: first bad */
	    "1699999000 0 " TOK1 " - c.example.com " V1 " -\n"
	    "1699999000 9 " TOK1 " - d.example.com " V1 " -\n"	/* 4 */
	    "\n"							/* 5 */
	    "1699999000 0 " TOK1 " - f.example.com " V1 " -\n");
	assert_int_equal(journal_parse(j, text, NOW, &bad_line, &why), 3);
	assert_int_equal(bad_line, 2);
	assert_string_equal(why, WHY_ID);
	assert_int_equal(j->n, 3);
	assert_string_equal(j->e[2].name, "f.example.com");

	/* the same again, appended, without bad_line and why */
	assert_int_equal(journal_parse(j, text, NOW, NULL, NULL), 3);
	assert_int_equal(j->n, 6);
	assert_string_equal(j->e[0].name, "a.example.com");
	assert_string_equal(j->e[3].name, "a.example.com");
}

/* Empty text: nothing, nothing damaged; the last line needs no newline. */
static void
test_parse_empty_and_no_newline(void **state)
{
	struct journal *j = *state;
	size_t bad_line = 77;
	const char *why = NULL;

	assert_int_equal(journal_parse(j, "", NOW, &bad_line, &why), 0);
	assert_int_equal(j->n, 0);
	assert_int_equal(bad_line, 77);
	assert_null(why);

	assert_int_equal(journal_parse(j,
	    "1699999000 0 " TOK1 " - a.example.com " V1 " -\n"
	    "1699999000 3 " TOK2 " - b.example.com " V2 " id-9",
	    NOW, &bad_line, &why), 0);
	assert_int_equal(j->n, 2);
	assert_string_equal(j->e[1].id, "id-9");
	assert_int_equal(j->e[1].status, JOURNAL_CLEANUP);

	/* a damaged last line without a newline is counted too */
	j->n = 0;
	assert_int_equal(journal_parse(j, "1699999000 0 " TOK1 " - a.example.com " V1 " -\nx",
	    NOW, &bad_line, &why), 1);
	assert_int_equal(bad_line, 2);
	assert_int_equal(j->n, 1);
}

/*
 * Line length: a line of JOURNAL_LINE_MAX - 1 characters is looked at (and
 * found damaged for what it holds), one of JOURNAL_LINE_MAX or far more is
 * "too long"; the line after it is read either way.
 */
static void
test_parse_long_lines(void **state)
{
	static const size_t lens[] = { JOURNAL_LINE_MAX - 1, JOURNAL_LINE_MAX, 5000 };
	struct journal *j = *state;
	char *text = malloc(8192), *p;
	const char *why;
	size_t i, bad_line;

	assert_non_null(text);
	for (i = 0; i < UNIT_NELEM(lens); i++) {
		memset(text, 'x', lens[i]);
		p = text + lens[i];
		unit_append(p, text + 8192, "\n1699999000 0 " TOK1 " - after.example.com " V1 " -\n");
		j->n = 0;
		why = NULL;
		bad_line = 0;
		assert_int_equal(journal_parse(j, text, NOW, &bad_line, &why), 1);
		assert_int_equal(bad_line, 1);
		assert_string_equal(why, i == 0 ? WHY_FIELDS : "too long");
		assert_int_equal(j->n, 1);
		assert_string_equal(j->e[0].name, "after.example.com");
	}
	free(text);
}

/*
 * Never more than JOURNAL_MAX_ENTRIES: the lines beyond are damaged ones,
 * the first of them named; when j already holds entries, fewer fit.
 */
static void
test_parse_cap(void **state)
{
	struct journal *j = *state;
	size_t cap = (JOURNAL_MAX_ENTRIES + 3) * 128, i, bad_line = 0;
	char *text = malloc(cap), *p = text;
	const char *why = NULL;

	assert_non_null(text);
	for (i = 0; i < JOURNAL_MAX_ENTRIES + 3; i++)
		p = unit_append(p, text + cap, "1699999000 0 " TOK1 " - n%zu.example.com " V1 " -\n", i);
	assert_int_equal(journal_parse(j, text, NOW, &bad_line, &why), 3);
	assert_int_equal(j->n, JOURNAL_MAX_ENTRIES);
	assert_int_equal(bad_line, JOURNAL_MAX_ENTRIES + 1);
	assert_string_equal(why, "more entries than dns01 keeps");
	assert_string_equal(j->e[JOURNAL_MAX_ENTRIES - 1].name, "n1999.example.com");

	/* appended to what is there: one place left */
	j->n = JOURNAL_MAX_ENTRIES - 1;
	snprintf(text, cap, "1699999000 0 " TOK2 " - x.example.com " V2 " -\n"
	    "1699999000 0 " TOK2 " - y.example.com " V2 " -\n");
	assert_int_equal(journal_parse(j, text, NOW, &bad_line, &why), 1);
	assert_int_equal(bad_line, 2);
	assert_int_equal(j->n, JOURNAL_MAX_ENTRIES);
	assert_string_equal(j->e[JOURNAL_MAX_ENTRIES - 1].name, "x.example.com");
	free(text);
}

/* ------------------------------------------------ journal_add/remove/count */

/* journal_add fills every field (created now, no key, no id). */
static void
test_add_fields(void **state)
{
	struct journal *j = *state;
	struct journal_entry *e;
	time_t before = time(NULL);

	e = journal_add(j, JOURNAL_WRITING, TOK1, NULL, NAME1, V1);
	assert_ptr_equal(e, &j->e[0]);
	assert_int_equal(j->n, 1);
	assert_true(e->created >= before && e->created <= time(NULL));
	assert_int_equal(e->status, JOURNAL_WRITING);
	assert_string_equal(e->token, TOK1);
	assert_string_equal(e->key, "");
	assert_string_equal(e->name, NAME1);
	assert_string_equal(e->value, V1);
	assert_string_equal(e->id, "");

	e = journal_add(j, JOURNAL_RECORDED, TOK2, "certbot-0123456789abcdef", "*.example.com", V2);
	assert_ptr_equal(e, &j->e[1]);
	assert_string_equal(e->key, "certbot-0123456789abcdef");
	assert_int_equal(e->status, JOURNAL_RECORDED);
}

/* Up to JOURNAL_MAX_ENTRIES, then NULL and nothing changes. */
static void
test_add_full(void **state)
{
	struct journal *j = *state;
	struct journal_entry *e;
	char name[64];
	size_t i;

	for (i = 0; i < JOURNAL_MAX_ENTRIES; i++) {
		snprintf(name, sizeof(name), "n%zu.example.com", i);
		e = journal_add(j, JOURNAL_WRITTEN, TOK1, NULL, name, V1);
		assert_ptr_equal(e, &j->e[i]);	/* the array grows: compare after */
	}
	assert_int_equal(j->n, JOURNAL_MAX_ENTRIES);
	assert_null(journal_add(j, JOURNAL_WRITTEN, TOK2, NULL, "more.example.com", V2));
	assert_int_equal(j->n, JOURNAL_MAX_ENTRIES);
	assert_string_equal(j->e[JOURNAL_MAX_ENTRIES - 1].name, "n1999.example.com");
	assert_int_equal(journal_count(j, TOK1), JOURNAL_MAX_ENTRIES);
	assert_int_equal(journal_count(j, TOK2), 0);
}

/*
 * Remove the middle, the first and the last entry: the others stay, in
 * order; a pointer past the used entries (or one past the array) is ignored.
 */
static void
test_remove(void **state)
{
	struct journal *j = *state;

	assert_non_null(journal_add(j, JOURNAL_WRITTEN, TOK1, NULL, "a.example.com", V1));
	assert_non_null(journal_add(j, JOURNAL_WRITTEN, TOK1, NULL, "b.example.com", V1));
	assert_non_null(journal_add(j, JOURNAL_WRITTEN, TOK1, NULL, "c.example.com", V1));
	assert_non_null(journal_add(j, JOURNAL_WRITTEN, TOK1, NULL, "d.example.com", V1));
	assert_non_null(journal_add(j, JOURNAL_WRITTEN, TOK1, NULL, "e.example.com", V1));

	journal_remove(j, &j->e[2]);				/* middle */
	assert_int_equal(j->n, 4);
	assert_string_equal(j->e[0].name, "a.example.com");
	assert_string_equal(j->e[1].name, "b.example.com");
	assert_string_equal(j->e[2].name, "d.example.com");
	assert_string_equal(j->e[3].name, "e.example.com");

	journal_remove(j, &j->e[0]);				/* first */
	assert_int_equal(j->n, 3);
	assert_string_equal(j->e[0].name, "b.example.com");
	assert_string_equal(j->e[2].name, "e.example.com");

	journal_remove(j, &j->e[j->n - 1]);			/* last */
	assert_int_equal(j->n, 2);
	assert_string_equal(j->e[0].name, "b.example.com");
	assert_string_equal(j->e[1].name, "d.example.com");

	journal_remove(j, &j->e[j->n]);				/* unused: ignored */
	journal_remove(j, &j->e[JOURNAL_MAX_ENTRIES - 1]);
	journal_remove(j, j->e + JOURNAL_MAX_ENTRIES);		/* one past the array */
	assert_int_equal(j->n, 2);
	assert_string_equal(j->e[1].name, "d.example.com");

	journal_remove(j, &j->e[0]);
	journal_remove(j, &j->e[0]);
	assert_int_equal(j->n, 0);
	journal_remove(j, &j->e[0]);				/* empty: ignored */
	assert_int_equal(j->n, 0);
}

/* journal_count counts the entries of one token only. */
static void
test_count(void **state)
{
	struct journal *j = *state;

	assert_int_equal(journal_count(j, TOK1), 0);
	assert_non_null(journal_add(j, JOURNAL_WRITTEN, TOK1, NULL, "a.example.com", V1));
	assert_non_null(journal_add(j, JOURNAL_WRITTEN, TOK2, NULL, "a.example.com", V1));
	assert_non_null(journal_add(j, JOURNAL_WRITTEN, TOK1, NULL, "b.example.com", V1));
	assert_non_null(journal_add(j, JOURNAL_CLEANUP, TOK1, NULL, "c.example.com", V1));
	assert_int_equal(journal_count(j, TOK1), 3);
	assert_int_equal(journal_count(j, TOK2), 1);
	assert_int_equal(journal_count(j, TOK3), 0);
	assert_int_equal(journal_count(j, ""), 0);
	journal_remove(j, &j->e[1]);
	assert_int_equal(journal_count(j, TOK2), 0);
	assert_int_equal(journal_count(j, TOK1), 3);
}

/* --------------------------------------------------- the journal on disk */

/*
 * open (creating the directories 0700), add, save (file 0600), close,
 * open again: the same entries; no temp file is left behind.
 */
static void
test_open_round_trip(void **state)
{
	const char *dir = unit_path(unit_tmpdir, "rt/nested/state");	/* none of it exists yet */
	char path[PATH_BUF], parent[PATH_BUF], names[PATH_BUF];
	struct journal *j = NULL;
	struct journal_entry *e, a, b;

	(void)state;
	assert_int_equal(journal_open(dir, &j), ST_OK);
	assert_non_null(j);
	assert_int_equal(j->n, 0);
	assert_int_equal(mode_of(dir) & 07777, 0700);
	assert_int_equal(mode_of(path_in(parent, unit_tmpdir, "rt")) & 07777, 0700);
	assert_true(S_ISDIR(mode_of(dir)));

	e = journal_add(j, JOURNAL_WRITING, TOK1, "certbot-0123456789abcdef", NAME1, V1);
	assert_non_null(e);
	a = *e;
	e = journal_add(j, JOURNAL_WRITTEN, TOK2, NULL, "*.example.com", V2);
	assert_non_null(e);
	snprintf(e->id, sizeof(e->id), "%s", "zone:rec-1");
	b = *e;
	assert_int_equal(journal_save(j), ST_OK);
	journal_close(j);
	j = NULL;

	path_in(path, dir, JOURNAL_FILE);
	assert_true(S_ISREG(mode_of(path)));
	assert_int_equal(mode_of(path) & 07777, 0600);
	assert_int_equal(count_lines(unit_slurp(path)), 2);
	/* the journal, its lock file and nothing else */
	assert_int_equal(dir_entries(dir, names, sizeof(names)), 2);
	assert_non_null(strstr(names, "journal "));
	assert_non_null(strstr(names, "journal.lock "));

	assert_int_equal(journal_open(dir, &j), ST_OK);
	assert_int_equal(j->n, 2);
	assert_entry_equal(&j->e[0], &a);
	assert_entry_equal(&j->e[1], &b);

	/* an empty journal saves as an empty file */
	j->n = 0;
	assert_int_equal(journal_save(j), ST_OK);
	assert_string_equal(unit_slurp(path), "");
	journal_close(j);
	journal_close(NULL);	/* harmless */
}

/*
 * journal_save writes a new file and renames it into place: a hard link
 * to the old journal, made before the save, still holds the old content,
 * and the journal has a new inode.
 */
static void
test_save_atomic(void **state)
{
	const char *dir = unit_path(unit_tmpdir, "atomic");
	char path[PATH_BUF], old[PATH_BUF], names[PATH_BUF];
	struct journal *j = NULL;
	struct stat before, after;
	char *first;

	(void)state;
	assert_int_equal(journal_open(dir, &j), ST_OK);
	assert_non_null(journal_add(j, JOURNAL_WRITTEN, TOK1, NULL, "a.example.com", V1));
	assert_int_equal(journal_save(j), ST_OK);
	path_in(path, dir, JOURNAL_FILE);
	path_in(old, dir, "old-journal");
	first = strdup(unit_slurp(path));
	assert_non_null(first);
	assert_int_equal(stat(path, &before), 0);
	assert_int_equal(link(path, old), 0);

	assert_non_null(journal_add(j, JOURNAL_WRITTEN, TOK2, NULL, "b.example.com", V2));
	assert_int_equal(journal_save(j), ST_OK);
	assert_int_equal(stat(path, &after), 0);
	assert_true(before.st_ino != after.st_ino);
	assert_int_equal(after.st_nlink, 1);
	assert_string_equal(unit_slurp(old), first);			/* not written */
	assert_int_equal(count_lines(unit_slurp(path)), 2);
	journal_close(j);
	free(first);

	/* no temp file left: journal, journal.lock, old-journal */
	assert_int_equal(dir_entries(dir, names, sizeof(names)), 3);
}

/*
 * A FIFO at <dir>/journal: journal_open does not block on it and reads an
 * empty journal; the next save replaces it with a regular file.
 */
static void
test_open_fifo(void **state)
{
	const char *dir = new_dir("fifo");
	char path[PATH_BUF];
	struct journal *j = NULL;

	(void)state;
	path_in(path, dir, JOURNAL_FILE);
	assert_int_equal(mkfifo(path, 0600), 0);
	alarm(HANG_GUARD);
	assert_int_equal(journal_open(dir, &j), ST_OK);
	assert_int_equal(j->n, 0);
	assert_non_null(journal_add(j, JOURNAL_WRITTEN, TOK1, NULL, NAME1, V1));
	assert_int_equal(journal_save(j), ST_OK);
	alarm(0);
	assert_true(S_ISREG(mode_of(path)));
	assert_int_equal(count_lines(unit_slurp(path)), 1);
	journal_close(j);
}

/*
 * A symlink at <dir>/journal is neither followed nor read: the entries of
 * its target are not loaded, and the save replaces the link, leaving the
 * target as it was.
 */
static void
test_open_symlink(void **state)
{
	const char *dir = new_dir("symlink");
	char path[PATH_BUF], target[PATH_BUF], line[JOURNAL_LINE_MAX];
	struct journal *j = NULL;

	(void)state;
	path_in(target, unit_tmpdir, "symlink-target");
	unit_write_text(target, good_line(line, sizeof(line), time(NULL) - 10, TOK1, NAME1, V1));
	path_in(path, dir, JOURNAL_FILE);
	assert_int_equal(symlink(target, path), 0);

	assert_int_equal(journal_open(dir, &j), ST_OK);
	assert_int_equal(j->n, 0);
	assert_non_null(journal_add(j, JOURNAL_WRITTEN, TOK2, NULL, "b.example.com", V2));
	assert_int_equal(journal_save(j), ST_OK);
	journal_close(j);
	assert_true(S_ISREG(mode_of(path)));
	assert_string_equal(unit_slurp(target), line);
	assert_null(strstr(unit_slurp(path), NAME1));
}

/*
 * A journal with a second hard link is read as empty (it may be a file of
 * someone else's); the save gives the journal its own inode again and
 * leaves the other link alone.
 */
static void
test_open_hard_link(void **state)
{
	const char *dir = new_dir("hardlink");
	char path[PATH_BUF], other[PATH_BUF], line[JOURNAL_LINE_MAX];
	struct journal *j = NULL;
	struct stat sb;

	(void)state;
	path_in(path, dir, JOURNAL_FILE);
	path_in(other, unit_tmpdir, "hardlink-other");
	unit_write_text(other, good_line(line, sizeof(line), time(NULL) - 10, TOK1, NAME1, V1));
	assert_int_equal(link(other, path), 0);

	assert_int_equal(journal_open(dir, &j), ST_OK);
	assert_int_equal(j->n, 0);
	assert_int_equal(journal_save(j), ST_OK);
	journal_close(j);
	assert_int_equal(stat(path, &sb), 0);
	assert_int_equal(sb.st_nlink, 1);
	assert_string_equal(unit_slurp(path), "");
	assert_string_equal(unit_slurp(other), line);
}

/*
 * Size: a journal of exactly JOURNAL_FILE_MAX bytes is read, one byte more
 * and it is read as empty.
 */
static void
test_open_size_cap(void **state)
{
	const char *dir = new_dir("big");
	char path[PATH_BUF], line[JOURNAL_LINE_MAX];
	struct journal *j = NULL;
	char *text = malloc(JOURNAL_FILE_MAX + 1);
	size_t n;

	(void)state;
	assert_non_null(text);
	good_line(line, sizeof(line), time(NULL) - 10, TOK1, NAME1, V1);
	n = strlen(line);
	memcpy(text, line, n);
	memset(text + n, '\n', JOURNAL_FILE_MAX + 1 - n);	/* empty (damaged) lines */
	path_in(path, dir, JOURNAL_FILE);

	write_bytes(path, text, JOURNAL_FILE_MAX);
	assert_int_equal(journal_open(dir, &j), ST_OK);
	assert_int_equal(j->n, 1);
	journal_close(j);
	j = NULL;

	write_bytes(path, text, JOURNAL_FILE_MAX + 1);
	assert_int_equal(journal_open(dir, &j), ST_OK);
	assert_int_equal(j->n, 0);
	journal_close(j);
	free(text);
}

/* Damaged lines are skipped when read and gone after the next save. */
static void
test_save_drops_damaged(void **state)
{
	const char *dir = new_dir("damaged");
	char path[PATH_BUF], text[2048], *p = text, line[JOURNAL_LINE_MAX];
	struct journal *j = NULL;
	const char *saved;
	time_t t = time(NULL) - 10;

	(void)state;
	p = unit_append(p, text + sizeof(text), "%s", good_line(line, sizeof(line), t, TOK1,
	    "a.example.com", V1));
	p = unit_append(p, text + sizeof(text), "garbage\n");
	p = unit_append(p, text + sizeof(text), "%lld 7 " TOK1 " - x.example.com " V1 " -\n",
	    (long long)t);
	unit_append(p, text + sizeof(text), "%s", good_line(line, sizeof(line), t, TOK2,
	    "b.example.com", V2));
	path_in(path, dir, JOURNAL_FILE);
	unit_write_text(path, text);

	assert_int_equal(journal_open(dir, &j), ST_OK);
	assert_int_equal(j->n, 2);
	assert_int_equal(journal_save(j), ST_OK);
	journal_close(j);
	saved = unit_slurp(path);
	assert_int_equal(count_lines(saved), 2);
	assert_null(strstr(saved, "garbage"));
	assert_null(strstr(saved, "x.example.com"));
	assert_non_null(strstr(saved, "a.example.com"));
	assert_non_null(strstr(saved, line));		/* b's line, byte for byte */
}

/*
 * A NUL byte in the journal (a damaged block) damages its own line only:
 * the valid lines after it are still read, and the next save keeps them.
 */
static void
test_open_nul_byte(void **state)
{
	const char *dir = new_dir("nul");
	char path[PATH_BUF], text[2048], *p = text;
	char line[JOURNAL_LINE_MAX], c_line[JOURNAL_LINE_MAX];
	struct journal *j = NULL;
	const char *saved;
	time_t t = time(NULL) - 10;
	size_t len;

	(void)state;
	p = unit_append(p, text + sizeof(text), "%s", good_line(line, sizeof(line), t, TOK1,
	    "a.example.com", V1));
	p = unit_append(p, text + sizeof(text), "%s", good_line(line, sizeof(line), t, TOK1,
	    "b.example.com", V1));
	p[-20] = '\0';					/* inside b's value */
	p = unit_append(p, text + sizeof(text), "%s", good_line(c_line, sizeof(c_line), t, TOK2,
	    "c.example.com", V2));
	*p++ = '\0';					/* a line of its own */
	*p++ = '\n';
	p = unit_append(p, text + sizeof(text), "%s", good_line(line, sizeof(line), t, TOK2,
	    "d.example.com", V2));
	len = (size_t)(p - text);
	path_in(path, dir, JOURNAL_FILE);
	write_bytes(path, text, len);

	assert_int_equal(journal_open(dir, &j), ST_OK);
	assert_int_equal(j->n, 3);
	assert_string_equal(j->e[0].name, "a.example.com");
	assert_string_equal(j->e[1].name, "c.example.com");
	assert_string_equal(j->e[2].name, "d.example.com");
	assert_int_equal(journal_save(j), ST_OK);
	journal_close(j);
	saved = unit_slurp(path);
	assert_int_equal(count_lines(saved), 3);
	assert_non_null(strstr(saved, c_line));
	assert_non_null(strstr(saved, line));		/* d's */
}

/* A state directory below a regular file: ST_CONFIG, no journal. */
static void
test_open_bad_dir(void **state)
{
	char file[PATH_BUF], dir[PATH_BUF];
	struct journal *j = NULL;

	(void)state;
	unit_write_text(path_in(file, unit_tmpdir, "open-plain-file"), "x");
	path_in(dir, file, "sub");
	assert_int_equal(journal_open(dir, &j), ST_CONFIG);
	assert_null(j);
}

/* ------------------------------------------------------------------ locks */

/*
 * While a journal is open, <dir>/journal.lock is locked: another open file
 * description cannot flock it; after journal_close it can.
 */
static void
test_journal_lock_held(void **state)
{
	const char *dir = unit_path(unit_tmpdir, "lock");
	char path[PATH_BUF];
	struct journal *j = NULL;
	int fd;

	(void)state;
	assert_int_equal(journal_open(dir, &j), ST_OK);
	path_in(path, dir, JOURNAL_LOCK ".lock");
	assert_int_equal(mode_of(path) & 07777, 0600);
	fd = open(path, O_RDONLY);
	assert_true(fd >= 0);
	assert_int_equal(flock(fd, LOCK_EX | LOCK_NB), -1);
	assert_int_equal(errno, EWOULDBLOCK);
	journal_close(j);
	assert_int_equal(flock(fd, LOCK_EX | LOCK_NB), 0);
	close(fd);
}

/*
 * state_lock refuses a FIFO, a directory, a symlink or a hard link at
 * <dir>/<name>.lock (ST_CONFIG, fd -1) without hanging: with why, it says
 * in *why what the file is and reports nothing; without, it reports it
 * with its path.  A plain lock file is created 0600 and locked.
 */
static void
test_state_lock_kinds(void **state)
{
	static const char *const kinds[][2] = {
		{ "fifo", "a FIFO, not a regular file" },
		{ "dir", "a directory, not a regular file" },
		{ "sym", "a symbolic link, not a regular file" },
		{ "hard", "a regular file with more than one link" },
	};
	const char *dir = new_dir("lockkinds"), *why, *err;
	char path[PATH_BUF], target[PATH_BUF];
	int fd = 7, other;
	size_t i;

	(void)state;
	assert_int_equal(mkfifo(path_in(path, dir, "fifo.lock"), 0600), 0);
	assert_int_equal(mkdir(path_in(path, dir, "dir.lock"), 0700), 0);
	unit_write_text(path_in(target, dir, "target"), "");
	assert_int_equal(symlink(target, path_in(path, dir, "sym.lock")), 0);
	assert_int_equal(link(target, path_in(path, dir, "hard.lock")), 0);

	alarm(HANG_GUARD);
	for (i = 0; i < UNIT_NELEM(kinds); i++) {
		why = NULL;
		fd = 7;
		unit_cap_begin();
		assert_int_equal(state_lock(dir, kinds[i][0], &fd, &why), ST_CONFIG);
		err = unit_cap_end();
		assert_int_equal(fd, -1);
		assert_non_null(why);
		assert_non_null(strstr(why, kinds[i][1]));
		assert_string_equal(err, "");

		fd = 7;
		unit_cap_begin();
		assert_int_equal(state_lock(dir, kinds[i][0], &fd, NULL), ST_CONFIG);
		err = unit_cap_end();
		assert_int_equal(fd, -1);
		assert_non_null(strstr(err, kinds[i][1]));
		assert_non_null(strstr(err, path_in(path, dir, kinds[i][0])));
	}
	alarm(0);

	why = NULL;
	assert_int_equal(state_lock(dir, "zone-example.com", &fd, &why), ST_OK);
	assert_null(why);
	assert_true(fd >= 0);
	path_in(path, dir, "zone-example.com.lock");
	assert_int_equal(mode_of(path) & 07777, 0600);
	other = open(path, O_RDONLY);
	assert_true(other >= 0);
	assert_int_equal(flock(other, LOCK_EX | LOCK_NB), -1);
	state_unlock(fd);
	assert_int_equal(flock(other, LOCK_EX | LOCK_NB), 0);
	close(other);
	state_unlock(-1);	/* harmless */
}

/* ------------------------------------------------------- state_dir_ready */

/*
 * The state directory must be a real directory of ours that group and
 * others cannot write: 0777, 0770, a symlink (even to a good directory),
 * a regular file and a path below a regular file are refused; 0755 and
 * 0700 are fine; a missing one is made 0700, parents too.
 */
static void
test_dir_ready(void **state)
{
	const char *open_dir = new_dir("dir-0777");
	const char *group_dir = new_dir("dir-0770");
	const char *ok_dir = new_dir("dir-0755");
	const char *sym = unit_path(unit_tmpdir, "dir-link");
	char file[PATH_BUF], below[PATH_BUF], fresh[PATH_BUF];

	(void)state;
	assert_int_equal(chmod(open_dir, 0777), 0);
	assert_int_equal(state_dir_ready(open_dir), ST_CONFIG);
	assert_int_equal(chmod(group_dir, 0770), 0);
	assert_int_equal(state_dir_ready(group_dir), ST_CONFIG);

	assert_int_equal(chmod(ok_dir, 0755), 0);
	assert_int_equal(state_dir_ready(ok_dir), ST_OK);
	assert_int_equal(symlink(ok_dir, sym), 0);
	assert_int_equal(state_dir_ready(sym), ST_CONFIG);

	unit_write_text(path_in(file, unit_tmpdir, "dir-plain-file"), "x");
	assert_int_equal(state_dir_ready(file), ST_CONFIG);
	assert_int_equal(state_dir_ready(path_in(below, file, "sub")), ST_CONFIG);

	path_in(fresh, unit_tmpdir, "dir-new/a/b");
	assert_int_equal(state_dir_ready(fresh), ST_OK);
	assert_int_equal(mode_of(fresh) & 07777, 0700);
	assert_int_equal(mode_of(path_in(below, unit_tmpdir, "dir-new")) & 07777, 0700);
	assert_int_equal(state_dir_ready(fresh), ST_OK);	/* again: fine */
	assert_int_equal(state_dir_ready(""), ST_CONFIG);
}

/* ------------------------------------------------------------ state_read */

/* A missing file: 0, NULL text, length 0. */
static void
test_read_missing(void **state)
{
	char path[PATH_BUF], *text = (char *)"x";
	const char *why = NULL;
	size_t len = 99;

	(void)state;
	assert_int_equal(state_read(path_in(path, unit_tmpdir, "no-such-file"), 100, 0, &text, &len,
	    &why), 0);
	assert_null(text);
	assert_int_equal(len, 0);
}

/* Read -1 with a reason, NULL text, for path. */
static const char *
read_refused(const char *path, size_t max)
{
	char *text = (char *)"x";
	const char *why = NULL;
	size_t len = 99;

	alarm(HANG_GUARD);
	assert_int_equal(state_read(path, max, 0, &text, &len, &why), -1);
	alarm(0);
	assert_null(text);
	assert_int_equal(len, 0);
	assert_non_null(why);
	return why;
}

/*
 * A FIFO (without blocking), a directory, a symlink, a hard-linked file and
 * a file larger than max: -1 with a reason that says which.
 */
static void
test_read_refused(void **state)
{
	const char *dir = new_dir("read");
	char path[PATH_BUF], target[PATH_BUF];

	(void)state;
	unit_write_text(path_in(target, dir, "target"), "hello\n");

	assert_int_equal(mkfifo(path_in(path, dir, "fifo"), 0600), 0);
	assert_non_null(strstr(read_refused(path, 100), "FIFO"));
	assert_int_equal(mkdir(path_in(path, dir, "subdir"), 0700), 0);
	assert_non_null(strstr(read_refused(path, 100), "directory"));
	assert_int_equal(symlink(target, path_in(path, dir, "sym")), 0);
	assert_non_null(strstr(read_refused(path, 100), "symbolic link"));
	assert_int_equal(link(target, path_in(path, dir, "hard")), 0);
	assert_non_null(strstr(read_refused(path, 100), "link"));
	assert_non_null(strstr(read_refused(target, 100), "link"));	/* both names */
	assert_int_equal(unlink(path), 0);

	/* one byte over max */
	assert_non_null(strstr(read_refused(target, 5), "larger"));
}

/*
 * STATE_READ_LINKED reads a regular file with a second name;
 * STATE_READ_HEAD reads the first max bytes of a larger file and says so
 * (1), and a file within max as without it (0).  Neither lets a FIFO in.
 */
static void
test_read_flags(void **state)
{
	const char *dir = new_dir("readflags"), *why = NULL;
	char path[PATH_BUF], other[PATH_BUF], *text = NULL;
	size_t len = 0;

	(void)state;
	unit_write_text(path_in(path, dir, "file"), "hello\n");
	assert_int_equal(link(path, path_in(other, dir, "backup")), 0);
	assert_int_equal(state_read(path, 100, STATE_READ_LINKED, &text, &len, &why), 0);
	assert_string_equal(text, "hello\n");
	free(text);
	assert_int_equal(unlink(other), 0);

	assert_int_equal(state_read(path, 3, STATE_READ_HEAD, &text, &len, &why), 1);
	assert_int_equal(len, 3);
	assert_string_equal(text, "hel");
	free(text);
	assert_int_equal(state_read(path, 6, STATE_READ_HEAD, &text, &len, &why), 0);
	assert_string_equal(text, "hello\n");
	free(text);

	assert_int_equal(mkfifo(path_in(path, dir, "fifo"), 0600), 0);
	alarm(HANG_GUARD);
	assert_int_equal(state_read(path, 100, STATE_READ_LINKED | STATE_READ_HEAD, &text, &len,
	    &why), -1);
	alarm(0);
	assert_null(text);
	assert_non_null(strstr(why, "FIFO"));
}

/* A regular file is read completely (max bytes exactly too), NUL-terminated. */
static void
test_read_normal(void **state)
{
	const char *dir = new_dir("readok");
	size_t big = 300000, len = 0, i;
	char path[PATH_BUF], *text = NULL, *want = malloc(big);
	const char *why = NULL;

	(void)state;
	assert_non_null(want);
	for (i = 0; i < big; i++)
		want[i] = (char)('a' + i % 26);
	want[17] = '\n';
	write_bytes(path_in(path, dir, "file"), want, big);

	assert_int_equal(state_read(path, big, 0, &text, &len, &why), 0);
	assert_non_null(text);
	assert_int_equal(len, big);
	assert_memory_equal(text, want, big);
	assert_int_equal(text[big], '\0');
	free(text);

	unit_write_text(path, "");
	assert_int_equal(state_read(path, big, 0, &text, &len, &why), 0);
	assert_non_null(text);		/* exists, empty: "" */
	assert_int_equal(len, 0);
	assert_string_equal(text, "");
	free(text);
	free(want);
}

/* ----------------------------------------------------------- state_write */

/*
 * The content is replaced (longer and shorter), the file is 0600 whatever
 * it was, and no temp file is left in the directory.
 */
static void
test_write_replaces(void **state)
{
	const char *dir = new_dir("write");
	char path[PATH_BUF], names[PATH_BUF];

	(void)state;
	path_in(path, dir, "data");
	unit_write_text(path, "old content\n");
	assert_int_equal(chmod(path, 0644), 0);

	assert_int_equal(state_write(path, "new and longer content\n", 23), ST_OK);
	assert_string_equal(unit_slurp(path), "new and longer content\n");
	assert_int_equal(mode_of(path) & 07777, 0600);
	assert_int_equal(state_write(path, "x", 1), ST_OK);
	assert_string_equal(unit_slurp(path), "x");
	assert_int_equal(state_write(path, "", 0), ST_OK);
	assert_string_equal(unit_slurp(path), "");
	assert_int_equal(dir_entries(dir, names, sizeof(names)), 1);
	assert_string_equal(names, "data ");

	/* a new file */
	assert_int_equal(state_write(path_in(path, dir, "fresh"), "1\n", 2), ST_OK);
	assert_int_equal(mode_of(path) & 07777, 0600);
	assert_int_equal(dir_entries(dir, names, sizeof(names)), 2);
}

/* A directory that does not exist: ST_FAIL, nothing created. */
static void
test_write_no_dir(void **state)
{
	char path[PATH_BUF];

	(void)state;
	assert_int_equal(state_write(path_in(path, unit_tmpdir, "no-such-dir/data"), "x", 1),
	    ST_FAIL);
	assert_int_equal(access(path_in(path, unit_tmpdir, "no-such-dir"), F_OK), -1);
}

/*
 * A leftover temp name of ours (<path>.tmp-<pid>) that is a symlink does
 * not redirect the write: the link is removed, its target untouched.
 */
static void
test_write_stale_temp(void **state)
{
	const char *dir = new_dir("stale-tmp");
	char path[PATH_BUF], tmp[PATH_BUF + 32], target[PATH_BUF], names[PATH_BUF];
	int n;

	(void)state;
	path_in(path, dir, "data");
	n = snprintf(tmp, sizeof(tmp), "%s.tmp-%ld", path, (long)getpid());
	assert_true(n > 0 && (size_t)n < sizeof(tmp));
	unit_write_text(path_in(target, unit_tmpdir, "stale-tmp-target"), "keep\n");
	assert_int_equal(symlink(target, tmp), 0);

	assert_int_equal(state_write(path, "new\n", 4), ST_OK);
	assert_string_equal(unit_slurp(path), "new\n");
	assert_string_equal(unit_slurp(target), "keep\n");
	assert_int_equal(dir_entries(dir, names, sizeof(names)), 1);
}

/* ------------------------------------------------------------ run tokens */

/* <dir>/run-<token>.lock into out. */
static char *
token_file(char *out, const char *dir, const char *token)
{
	char name[PATH_BUF];

	unit_append(name, name + sizeof(name), "run-%s.lock", token);
	return path_in(out, dir, name);
}

/*
 * A new token is 16 lowercase hex digits, its file is 0600 and locked:
 * another open file description gets TOKEN_BUSY (flock locks belong to
 * open file descriptions, so one process can test this); after a release
 * without remove the token can be taken; after one with remove the file is
 * gone and the token is TOKEN_ABSENT.
 */
static void
test_token_life(void **state)
{
	const char *dir = new_dir("tokens");
	char tok[JOURNAL_TOKEN_BUF], path[PATH_BUF];
	int fd = -1, fd2 = 7, fd3 = 7;
	size_t i;

	(void)state;
	assert_int_equal(journal_token_new(dir, tok, &fd), ST_OK);
	assert_true(fd >= 0);
	assert_int_equal(strlen(tok), JOURNAL_TOKEN_LEN);
	for (i = 0; i < JOURNAL_TOKEN_LEN; i++)
		assert_non_null(strchr("0123456789abcdef", tok[i]));
	token_file(path, dir, tok);
	assert_true(S_ISREG(mode_of(path)));
	assert_int_equal(mode_of(path) & 07777, 0600);
	assert_true(journal_token_exists(dir, tok));

	/* held by fd */
	assert_int_equal(journal_token_take(dir, tok, 0, &fd2), TOKEN_BUSY);
	assert_int_equal(fd2, -1);

	/* released, kept: free to take (and then busy for others) */
	journal_token_release(dir, tok, fd, 0);
	assert_true(journal_token_exists(dir, tok));
	assert_int_equal(journal_token_take(dir, tok, 0, &fd2), TOKEN_TAKEN);
	assert_true(fd2 >= 0);
	assert_int_equal(journal_token_take(dir, tok, 0, &fd3), TOKEN_BUSY);
	assert_int_equal(fd3, -1);

	/* released and removed: absent */
	journal_token_release(dir, tok, fd2, 1);
	assert_int_equal(access(path, F_OK), -1);
	assert_false(journal_token_exists(dir, tok));
	assert_int_equal(journal_token_take(dir, tok, 0, &fd3), TOKEN_ABSENT);
	assert_int_equal(fd3, -1);
	assert_int_equal(journal_token_take(dir, tok, 1, &fd3), TOKEN_ABSENT);
	assert_int_equal(fd3, -1);
	journal_token_release(dir, tok, -1, 0);	/* harmless */
}

/* Two tokens differ; taking a free token with wait set does not wait. */
static void
test_token_two(void **state)
{
	const char *dir = new_dir("tokens2");
	char a[JOURNAL_TOKEN_BUF], b[JOURNAL_TOKEN_BUF];
	int fa = -1, fb = -1, fd = -1;

	(void)state;
	assert_int_equal(journal_token_new(dir, a, &fa), ST_OK);
	assert_int_equal(journal_token_new(dir, b, &fb), ST_OK);
	assert_string_not_equal(a, b);
	journal_token_release(dir, a, fa, 0);
	alarm(HANG_GUARD);
	assert_int_equal(journal_token_take(dir, a, 1, &fd), TOKEN_TAKEN);
	alarm(0);
	journal_token_release(dir, a, fd, 1);
	journal_token_release(dir, b, fb, 1);
}

/* A token string that is not 16 lowercase hex digits is never a run's. */
static void
test_token_invalid(void **state)
{
	static const char *const bad[] = {
		"", "0123", "0123456789abcde", "0123456789abcdef0", "0123456789ABCDEF",
		"../../etc/passw", "0123456789abcdeg", "01234567/9abcdef",
	};
	const char *dir = new_dir("badtokens");
	char path[PATH_BUF];
	size_t i;
	int fd;

	(void)state;
	for (i = 0; i < UNIT_NELEM(bad); i++) {
		if (bad[i][0] != '\0' && strchr(bad[i], '/') == NULL)
			unit_write_text(token_file(path, dir, bad[i]), "");	/* a file is there */
		fd = 7;
		assert_int_equal(journal_token_take(dir, bad[i], 0, &fd), TOKEN_ABSENT);
		assert_int_equal(fd, -1);
		assert_false(journal_token_exists(dir, bad[i]));
	}
}

/*
 * A token file that is a FIFO: TOKEN_ABSENT, without hanging, and not
 * "exists"; nor is a hard-linked token file a run's.
 */
static void
test_token_not_regular(void **state)
{
	const char *dir = new_dir("tokenkinds");
	char path[PATH_BUF], other[PATH_BUF];
	int fd = 7;

	(void)state;
	assert_int_equal(mkfifo(token_file(path, dir, TOK1), 0600), 0);
	alarm(HANG_GUARD);
	assert_int_equal(journal_token_take(dir, TOK1, 0, &fd), TOKEN_ABSENT);
	assert_int_equal(fd, -1);
	fd = 7;
	assert_int_equal(journal_token_take(dir, TOK1, 1, &fd), TOKEN_ABSENT);
	assert_int_equal(fd, -1);
	alarm(0);
	assert_false(journal_token_exists(dir, TOK1));

	unit_write_text(path_in(other, dir, "other"), "");
	assert_int_equal(link(other, token_file(path, dir, TOK2)), 0);
	fd = 7;
	assert_int_equal(journal_token_take(dir, TOK2, 0, &fd), TOKEN_ABSENT);
	assert_int_equal(fd, -1);
}

/* journal_token_new in a directory that does not exist: ST_FAIL, fd -1. */
static void
test_token_new_no_dir(void **state)
{
	char tok[JOURNAL_TOKEN_BUF];
	int fd = 7;

	(void)state;
	assert_int_equal(journal_token_new(unit_path(unit_tmpdir, "no-token-dir"), tok, &fd), ST_FAIL);
	assert_int_equal(fd, -1);
}

/* A test on an empty in-memory journal. */
#define M(t)	cmocka_unit_test_setup_teardown(t, mem_setup, mem_teardown)

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_key_format),
		cmocka_unit_test(test_key_stable),
		cmocka_unit_test(test_key_distinct),
		M(test_parse_format_round_trip),
		cmocka_unit_test(test_format_text),
		M(test_parse_bad_fields),
		M(test_parse_bad_shape),
		M(test_parse_clock),
		M(test_parse_first_bad),
		M(test_parse_empty_and_no_newline),
		M(test_parse_long_lines),
		M(test_parse_cap),
		M(test_add_fields),
		M(test_add_full),
		M(test_remove),
		M(test_count),
		cmocka_unit_test(test_open_round_trip),
		cmocka_unit_test(test_save_atomic),
		cmocka_unit_test(test_open_fifo),
		cmocka_unit_test(test_open_symlink),
		cmocka_unit_test(test_open_hard_link),
		cmocka_unit_test(test_open_size_cap),
		cmocka_unit_test(test_save_drops_damaged),
		cmocka_unit_test(test_open_nul_byte),
		cmocka_unit_test(test_open_bad_dir),
		cmocka_unit_test(test_journal_lock_held),
		cmocka_unit_test(test_state_lock_kinds),
		cmocka_unit_test(test_dir_ready),
		cmocka_unit_test(test_read_missing),
		cmocka_unit_test(test_read_refused),
		cmocka_unit_test(test_read_flags),
		cmocka_unit_test(test_read_normal),
		cmocka_unit_test(test_write_replaces),
		cmocka_unit_test(test_write_no_dir),
		cmocka_unit_test(test_write_stale_temp),
		cmocka_unit_test(test_token_life),
		cmocka_unit_test(test_token_two),
		cmocka_unit_test(test_token_invalid),
		cmocka_unit_test(test_token_not_regular),
		cmocka_unit_test(test_token_new_no_dir),
	};

	return cmocka_run_group_tests_name("journal", tests, unit_group_setup, unit_group_teardown);
}
