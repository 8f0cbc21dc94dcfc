/*
 * Unit tests for core/state.[ch]: run keys, the state file round trip
 * (modes, locking, removal), lookup/add/remove, and state_parse's handling
 * of stale and malformed lines.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "../../core/state.h"
#include "../../core/status.h"

/* snprintf at p, never past end; returns the new end of the text. */
static char *
append(char *p, const char *end, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static char *
append(char *p, const char *end, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(p, (size_t)(end - p), fmt, ap);
	va_end(ap);
	assert_true(n >= 0 && n < end - p);
	return p + n;
}

#define NELEM(a)	(sizeof(a) / sizeof((a)[0]))

#define V1	"LoqXcYV8q5ONbJQxbmR7SCTNo3tiAXDfowyjxAjEuX0"
#define V2	"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
#define V3	"-_-_-_-_-_-_-_-_-_-_-_-_-_-_-_-_-_-_-_-_-_-"

static char tmpdir[256];

/* ------------------------------------------------------------------ helpers */

static int
rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static int
group_setup(void **state)
{
	char tmpl[] = "/tmp/dns01-test-state-XXXXXX";

	(void)state;
	if (mkdtemp(tmpl) == NULL)
		return -1;
	snprintf(tmpdir, sizeof(tmpdir), "%s", tmpl);
	return 0;
}

static int
group_teardown(void **state)
{
	(void)state;
	return nftw(tmpdir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* A fresh sub-directory path of tmpdir (not created). */
static const char *
subdir(const char *name)
{
	static char buf[4][512];
	static unsigned next;
	char *p = buf[next++ % 4];

	snprintf(p, 512, "%s/%s", tmpdir, name);
	return p;
}

/* Fixture: an in-memory state (no file) in *state, freed even on failure. */
static int
mem_setup(void **state)
{
	struct state *st = calloc(1, sizeof(*st));

	if (st == NULL)
		return -1;
	st->fd = -1;
	*state = st;
	return 0;
}

static int
mem_teardown(void **state)
{
	state_close(*state, 0);
	return 0;
}

static char *
slurp(const char *path)
{
	static char buf[STATE_FILE_MAX + 1];
	FILE *f = fopen(path, "r");
	size_t n;

	assert_non_null(f);
	n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = '\0';
	fclose(f);
	return buf;
}

static void
write_text(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	assert_true(fputs(text, f) >= 0);
	assert_int_equal(fclose(f), 0);
	assert_int_equal(chmod(path, 0600), 0);
}

/* ---------------------------------------------------------------- state_key */

static void
test_key_format(void **state)
{
	char k[STATE_KEY_MAX];
	size_t i;

	(void)state;
	state_key("certbot", "example.com,www.example.com", k, sizeof(k));
	assert_int_equal(strncmp(k, "certbot-", 8), 0);
	assert_int_equal(strlen(k), 8 + 16);
	for (i = 8; i < strlen(k); i++)
		assert_true(isxdigit((unsigned char)k[i]) && !isupper((unsigned char)k[i]));

	state_key("x", "", k, sizeof(k));
	assert_int_equal(strncmp(k, "x-", 2), 0);
	assert_int_equal(strlen(k), 2 + 16);

	/* a short buffer is truncated, never overrun */
	memset(k, 'Z', sizeof(k));
	state_key("certbot", "example.com", k, 10);
	assert_int_equal(strlen(k), 9);
	assert_int_equal(k[10], 'Z');
}

static void
test_key_stable(void **state)
{
	char a[STATE_KEY_MAX], b[STATE_KEY_MAX];
	char input[64];

	(void)state;
	state_key("certbot", "example.com,*.example.com", a, sizeof(a));
	snprintf(input, sizeof(input), "%s", "example.com,*.example.com");	/* other copy */
	state_key("certbot", input, b, sizeof(b));
	assert_string_equal(a, b);
}

static void
test_key_distinct(void **state)
{
	static const char *const inputs[] = {
		"", "a", "b", "ab", "ba", "example.com", "example.org", "example.co",
		"example.com,www.example.com", "example.com,www.example.net",
		"www.example.com", "*.example.com", "example.com ",
	};
	char keys[NELEM(inputs)][STATE_KEY_MAX], other[STATE_KEY_MAX];
	size_t i, j;

	(void)state;
	for (i = 0; i < NELEM(inputs); i++)
		state_key("certbot", inputs[i], keys[i], sizeof(keys[i]));
	for (i = 0; i < NELEM(inputs); i++)
		for (j = i + 1; j < NELEM(inputs); j++) {
			if (strcmp(keys[i], keys[j]) == 0)
				print_error("'%s' and '%s' share key %s\n", inputs[i], inputs[j],
				    keys[i]);
			assert_string_not_equal(keys[i], keys[j]);
		}
	/* the prefix is part of the key */
	state_key("lego", "example.com", other, sizeof(other));
	assert_string_not_equal(other, keys[5]);
	assert_string_equal(other + 4, keys[5] + 7);	/* same hash, other prefix */
}

/* -------------------------------------------------------- file round trip */

static void
test_round_trip(void **state)
{
	const char *dir = subdir("run/nested/state");	/* none of it exists yet */
	char key[STATE_KEY_MAX], path[600], parent[600];
	struct state *st = NULL;
	struct state_entry *e;
	struct stat sb;
	time_t before = time(NULL), created1;

	(void)state;
	state_key("certbot", "example.com,*.example.com", key, sizeof(key));
	assert_int_equal(state_open(dir, key, &st), ST_OK);
	assert_non_null(st);
	assert_int_equal(st->n, 0);

	/* directories 0700, file 0600 */
	assert_int_equal(stat(dir, &sb), 0);
	assert_true(S_ISDIR(sb.st_mode));
	assert_int_equal(sb.st_mode & 07777, 0700);
	snprintf(parent, sizeof(parent), "%s/run", tmpdir);
	assert_int_equal(stat(parent, &sb), 0);
	assert_int_equal(sb.st_mode & 07777, 0700);
	snprintf(path, sizeof(path), "%s/%s.state", dir, key);
	assert_int_equal(stat(path, &sb), 0);
	assert_true(S_ISREG(sb.st_mode));
	assert_int_equal(sb.st_mode & 07777, 0600);

	e = state_add(st, "example.com", V1);
	assert_non_null(e);
	assert_string_equal(e->domain, "example.com");
	assert_string_equal(e->value, V1);
	assert_string_equal(e->id, "");
	assert_int_equal(e->written, 0);
	assert_true(e->created >= before && e->created <= time(NULL));
	created1 = e->created;
	e = state_add(st, "*.example.com", V2);
	assert_non_null(e);
	snprintf(e->id, sizeof(e->id), "%s", "rec-123:abc.DEF_x");
	e->written = 1;
	assert_int_equal(st->n, 2);
	assert_int_equal(state_save(st), ST_OK);
	state_close(st, 0);
	st = NULL;

	/* the file is still there, private, and holds both entries */
	assert_int_equal(stat(path, &sb), 0);
	assert_int_equal(sb.st_mode & 07777, 0600);
	assert_non_null(strstr(slurp(path), V1));
	assert_non_null(strstr(slurp(path), "rec-123:abc.DEF_x"));

	assert_int_equal(state_open(dir, key, &st), ST_OK);
	assert_int_equal(st->n, 2);
	e = state_find(st, "example.com", V1);
	assert_non_null(e);
	assert_int_equal(e->created, created1);
	assert_int_equal(e->written, 0);
	assert_string_equal(e->id, "");
	e = state_find(st, "*.example.com", V2);
	assert_non_null(e);
	assert_int_equal(e->written, 1);
	assert_string_equal(e->id, "rec-123:abc.DEF_x");
	state_close(st, 0);
}

/* The longest fields the format allows survive a save and a reload. */
static void
test_round_trip_max_fields(void **state)
{
	const char *dir = subdir("maxfields");
	char domain[NAME_BUF], value[VALUE_BUF], id[RECORD_ID_MAX];
	struct state *st = NULL;
	struct state_entry *e;
	size_t i;

	(void)state;
	/* 253 octets: 63.63.63.61 */
	memset(domain, 'd', NAME_MAX_LEN);
	domain[63] = domain[127] = domain[191] = '.';
	domain[NAME_MAX_LEN] = '\0';
	for (i = 0; i < TXT_STRING_MAX; i++)
		value[i] = (char)('!' + i % 94);		/* printable, no space */
	value[TXT_STRING_MAX] = '\0';
	memset(id, 'i', RECORD_ID_MAX - 1);
	id[RECORD_ID_MAX - 1] = '\0';

	assert_int_equal(state_open(dir, "k-max", &st), ST_OK);
	e = state_add(st, domain, value);
	assert_non_null(e);
	memcpy(e->id, id, sizeof(id));
	e->written = 1;
	assert_int_equal(state_save(st), ST_OK);
	state_close(st, 0);
	st = NULL;

	assert_int_equal(state_open(dir, "k-max", &st), ST_OK);
	assert_int_equal(st->n, 1);
	e = state_find(st, domain, value);
	assert_non_null(e);
	assert_string_equal(e->id, id);
	assert_int_equal(e->written, 1);
	state_close(st, 1);
}

static void
test_find_add_remove(void **state)
{
	struct state *st = *state;
	struct state_entry *a, *b, *c;

	assert_null(state_find(st, "example.com", V1));
	a = state_add(st, "a.example.com", V1);
	b = state_add(st, "b.example.com", V2);
	c = state_add(st, "c.example.com", V3);
	assert_non_null(a);
	assert_non_null(b);
	assert_non_null(c);
	assert_int_equal(st->n, 3);

	/* adding the same pair again returns the existing entry */
	a->written = 1;
	assert_ptr_equal(state_add(st, "a.example.com", V1), a);
	assert_int_equal(st->n, 3);
	assert_int_equal(a->written, 1);

	/* both domain and value must match */
	assert_ptr_equal(state_find(st, "b.example.com", V2), b);
	assert_null(state_find(st, "b.example.com", V1));
	assert_null(state_find(st, "a.example.com", V2));
	assert_null(state_find(st, "example.com", V1));

	/* same domain, two values (apex + wildcard share a name) */
	assert_non_null(state_add(st, "a.example.com", V2));
	assert_int_equal(st->n, 4);

	/* remove the middle one: the others survive, in order */
	state_remove(st, state_find(st, "b.example.com", V2));
	assert_int_equal(st->n, 3);
	assert_null(state_find(st, "b.example.com", V2));
	assert_string_equal(st->e[0].domain, "a.example.com");
	assert_string_equal(st->e[1].domain, "c.example.com");
	assert_string_equal(st->e[2].value, V2);
	assert_non_null(state_find(st, "c.example.com", V3));

	/* remove first and last */
	state_remove(st, &st->e[0]);
	state_remove(st, &st->e[st->n - 1]);
	assert_int_equal(st->n, 1);
	assert_string_equal(st->e[0].domain, "c.example.com");

	/* a pointer past the used entries is ignored */
	state_remove(st, &st->e[st->n]);
	assert_int_equal(st->n, 1);
	state_remove(st, &st->e[0]);
	assert_int_equal(st->n, 0);
	assert_null(state_find(st, "c.example.com", V3));

}

static void
test_full(void **state)
{
	struct state *st = *state;
	char d[64];
	size_t i;

	for (i = 0; i < STATE_MAX_ENTRIES; i++) {
		snprintf(d, sizeof(d), "n%zu.example.com", i);
		assert_non_null(state_add(st, d, V1));
	}
	assert_int_equal(st->n, STATE_MAX_ENTRIES);
	assert_null(state_add(st, "one-more.example.com", V1));
	/* an existing pair is still found when full */
	assert_ptr_equal(state_add(st, "n7.example.com", V1), &st->e[7]);

}

static void
test_save_rewrites(void **state)
{
	const char *dir = subdir("rewrite");
	char path[600];
	struct state *st = NULL;
	struct state_entry *e;
	const char *text;

	(void)state;
	assert_int_equal(state_open(dir, "k-rewrite", &st), ST_OK);
	assert_non_null(state_add(st, "a.example.com", V1));
	assert_non_null(state_add(st, "b.example.com", V2));
	e = state_add(st, "c.example.com", V3);
	assert_non_null(e);
	/* an id that is not safe to write is written as "no id" */
	snprintf(e->id, sizeof(e->id), "%s", "../etc/passwd");
	assert_int_equal(state_save(st), ST_OK);
	snprintf(path, sizeof(path), "%s/k-rewrite.state", dir);
	text = slurp(path);
	assert_null(strstr(text, "passwd"));
	assert_non_null(strstr(text, "c.example.com " V3 " -"));

	/* saving after a removal leaves only what remains (no stale tail) */
	state_remove(st, state_find(st, "a.example.com", V1));
	state_remove(st, state_find(st, "c.example.com", V3));
	assert_int_equal(state_save(st), ST_OK);
	text = slurp(path);
	assert_null(strstr(text, "a.example.com"));
	assert_null(strstr(text, "c.example.com"));
	assert_non_null(strstr(text, "b.example.com"));
	assert_non_null(strchr(text, '\n'));
	assert_ptr_equal(strchr(text, '\n') + 1, text + strlen(text));	/* one line */
	state_close(st, 0);
}

static void
test_close_remove(void **state)
{
	const char *dir = subdir("remove");
	char path[600];
	struct state *st = NULL;

	(void)state;
	assert_int_equal(state_open(dir, "k-remove", &st), ST_OK);
	assert_non_null(state_add(st, "example.com", V1));
	assert_int_equal(state_save(st), ST_OK);
	snprintf(path, sizeof(path), "%s/k-remove.state", dir);
	assert_int_equal(access(path, F_OK), 0);
	state_close(st, 1);
	assert_int_equal(access(path, F_OK), -1);
	assert_int_equal(errno, ENOENT);

	/* and the next open starts empty */
	assert_int_equal(state_open(dir, "k-remove", &st), ST_OK);
	assert_int_equal(st->n, 0);
	state_close(st, 1);
	state_close(NULL, 1);	/* harmless */
}

static void
test_keys_isolated(void **state)
{
	const char *dir = subdir("shared");
	char ka[STATE_KEY_MAX], kb[STATE_KEY_MAX];
	struct state *a = NULL, *b = NULL;

	(void)state;
	state_key("certbot", "example.com,www.example.com", ka, sizeof(ka));
	state_key("certbot", "example.net", kb, sizeof(kb));
	assert_string_not_equal(ka, kb);

	/* both open at once (different files, different locks) */
	assert_int_equal(state_open(dir, ka, &a), ST_OK);
	assert_int_equal(state_open(dir, kb, &b), ST_OK);
	assert_non_null(state_add(a, "example.com", V1));
	assert_non_null(state_add(a, "www.example.com", V2));
	assert_non_null(state_add(b, "example.net", V3));
	assert_int_equal(state_save(a), ST_OK);
	assert_int_equal(state_save(b), ST_OK);
	state_close(a, 0);
	state_close(b, 0);

	assert_int_equal(state_open(dir, kb, &b), ST_OK);
	assert_int_equal(b->n, 1);
	assert_null(state_find(b, "example.com", V1));
	assert_non_null(state_find(b, "example.net", V3));
	state_close(b, 1);	/* removing b leaves a alone */

	assert_int_equal(state_open(dir, ka, &a), ST_OK);
	assert_int_equal(a->n, 2);
	assert_null(state_find(a, "example.net", V3));
	assert_non_null(state_find(a, "www.example.com", V2));
	state_close(a, 1);
}

static void
test_lock_held(void **state)
{
	const char *dir = subdir("lock");
	char path[600];
	struct state *st = NULL;
	int fd;

	(void)state;
	assert_int_equal(state_open(dir, "k-lock", &st), ST_OK);
	snprintf(path, sizeof(path), "%s/k-lock.state", dir);
	/* another open file description cannot take the lock while st holds it */
	fd = open(path, O_RDONLY);
	assert_true(fd >= 0);
	assert_int_equal(flock(fd, LOCK_EX | LOCK_NB), -1);
	assert_int_equal(errno, EWOULDBLOCK);
	state_close(st, 0);
	assert_int_equal(flock(fd, LOCK_EX | LOCK_NB), 0);
	close(fd);
}

static void
test_open_refuses_symlink(void **state)
{
	const char *dir = subdir("symlink");
	char path[600], target[600];
	struct state *st = NULL;

	(void)state;
	assert_int_equal(mkdir(dir, 0700), 0);
	snprintf(target, sizeof(target), "%s/target", tmpdir);
	write_text(target, "");
	snprintf(path, sizeof(path), "%s/k-link.state", dir);
	assert_int_equal(symlink(target, path), 0);
	assert_int_not_equal(state_open(dir, "k-link", &st), ST_OK);
	assert_null(st);
}

static void
test_open_bad_dir(void **state)
{
	char file[600], dir[700];
	struct state *st = NULL;

	(void)state;
	snprintf(file, sizeof(file), "%s/plain-file", tmpdir);
	write_text(file, "x");
	snprintf(dir, sizeof(dir), "%s/sub", file);	/* below a regular file */
	assert_int_equal(state_open(dir, "k", &st), ST_CONFIG);
	assert_null(st);
}

/* The state directory must be ours, a real directory, not writable by others. */
static void
test_open_checks_dir(void **state)
{
	const char *open_dir = subdir("dir-0777");
	const char *group_dir = subdir("dir-0770");
	const char *ok_dir = subdir("dir-0755");
	const char *link = subdir("dir-link");
	struct state *st = NULL;

	(void)state;
	assert_int_equal(mkdir(open_dir, 0700), 0);
	assert_int_equal(chmod(open_dir, 0777), 0);
	assert_int_equal(state_open(open_dir, "k", &st), ST_CONFIG);
	assert_null(st);

	assert_int_equal(mkdir(group_dir, 0700), 0);
	assert_int_equal(chmod(group_dir, 0770), 0);
	assert_int_equal(state_open(group_dir, "k", &st), ST_CONFIG);
	assert_null(st);

	/* a symlink to a good directory is refused too */
	assert_int_equal(mkdir(ok_dir, 0700), 0);
	assert_int_equal(chmod(ok_dir, 0755), 0);
	assert_int_equal(symlink(ok_dir, link), 0);
	assert_int_equal(state_open(link, "k", &st), ST_CONFIG);
	assert_null(st);

	/* control: readable by others is fine, only writable is not */
	assert_int_equal(state_open(ok_dir, "k", &st), ST_OK);
	assert_non_null(st);
	state_close(st, 1);
}

static void
test_open_drops_stale(void **state)
{
	const char *dir = subdir("stale");
	char path[600], text[1024];
	struct state *st = NULL;
	long long now = (long long)time(NULL);

	(void)state;
	assert_int_equal(mkdir(dir, 0700), 0);
	snprintf(path, sizeof(path), "%s/k-stale.state", dir);
	snprintf(text, sizeof(text),
	    "%lld 1 old.example.com " V1 " -\n"
	    "%lld 0 fresh.example.com " V2 " id-1\n"
	    "garbage line\n",
	    now - STATE_MAX_AGE - 60, now - 5);
	write_text(path, text);
	assert_int_equal(state_open(dir, "k-stale", &st), ST_OK);
	assert_int_equal(st->n, 1);
	assert_null(state_find(st, "old.example.com", V1));
	assert_non_null(state_find(st, "fresh.example.com", V2));
	assert_string_equal(st->e[0].id, "id-1");
	state_close(st, 0);
}

/* -------------------------------------------------------------- state_parse */

#define NOW	((time_t)1700000000)

static void
test_parse_age(void **state)
{
	struct state *st = *state;
	char text[2048];

	snprintf(text, sizeof(text),
	    "%lld 0 a.example.com " V1 " -\n"		/* now: kept */
	    "%lld 0 b.example.com " V1 " -\n"		/* exactly max age: kept */
	    "%lld 0 c.example.com " V1 " -\n"		/* one second too old */
	    "%lld 0 d.example.com " V1 " -\n"		/* from the future */
	    "%lld 0 e.example.com " V1 " -\n"		/* far past */
	    "%lld 0 f.example.com " V1 " -",		/* 1 s ago, no final newline */
	    (long long)NOW, (long long)NOW - STATE_MAX_AGE,
	    (long long)NOW - STATE_MAX_AGE - 1, (long long)NOW + 10, 0LL,
	    (long long)NOW - 1);
	state_parse(st, text, NOW);
	assert_int_equal(st->n, 3);
	assert_string_equal(st->e[0].domain, "a.example.com");
	assert_int_equal(st->e[0].created, NOW);
	assert_string_equal(st->e[1].domain, "b.example.com");
	assert_string_equal(st->e[2].domain, "f.example.com");

}

static void
test_parse_fields(void **state)
{
	struct state *st = *state;
	char text[1024];

	snprintf(text, sizeof(text),
	    "%lld 1 WWW.Example.COM. " V1 " abc-1.2:3_Z\n"	/* canonicalised */
	    "%lld 7 *.example.com " V2 " -\n"			/* written: any non-zero */
	    "%lld 0 example.org hello -\n",			/* any TXT value */
	    (long long)NOW, (long long)NOW, (long long)NOW);
	state_parse(st, text, NOW);
	assert_int_equal(st->n, 3);
	assert_string_equal(st->e[0].domain, "www.example.com");
	assert_string_equal(st->e[0].value, V1);
	assert_string_equal(st->e[0].id, "abc-1.2:3_Z");
	assert_int_equal(st->e[0].written, 1);
	assert_string_equal(st->e[1].domain, "*.example.com");
	assert_int_equal(st->e[1].written, 1);
	assert_string_equal(st->e[1].id, "");
	assert_string_equal(st->e[2].value, "hello");
	assert_int_equal(st->e[2].written, 0);

}

static void
test_parse_malformed(void **state)
{
	static const char *const bad[] = {
		"",						/* empty line */
		"garbage",
		"soon 0 example.com " V1 " -",			/* bad time */
		"-@ 0 example.com " V1 " -",			/* negative time */
		"@ x example.com " V1 " -",			/* bad written */
		"@ 0 example.com " V1,				/* missing id */
		"@ 0 example.com",				/* missing value and id */
		"@ 0 bad..example.com " V1 " -",		/* bad domain */
		"@ 0 -bad.example.com " V1 " -",
		"@ 0 a;b.example.com " V1 " -",
		"@ 0 a.*.example.com " V1 " -",
		"@ 0 example.com \x01value -",			/* bad value: control */
		"@ 0 example.com caf\xc3\xa9 -",		/* bad value: non-ASCII */
		"@ 0 example.com " V1 " ../../etc/passwd",	/* bad id: '/' */
		"@ 0 example.com " V1 " a/b",
		"@ 0 example.com " V1 " id\x01",		/* bad id: control */
		"@ 0 example.com " V1 " "			/* bad id: RECORD_ID_MAX (96) octets */
		    "0123456789012345678901234567890123456789012345678901234567890123"
		    "01234567890123456789012345678901",
	};
	struct state *st = *state;
	char text[8192], *p = text, line[512];
	size_t i;

	/* each bad line, then one good line after all of them */
	for (i = 0; i < NELEM(bad); i++) {
		const char *at = strchr(bad[i], '@');

		if (at != NULL)
			snprintf(line, sizeof(line), "%.*s%lld%s\n", (int)(at - bad[i]), bad[i],
			    (long long)NOW, at + 1);
		else
			snprintf(line, sizeof(line), "%s\n", bad[i]);
		p = append(p, text + sizeof(text), "%s", line);
	}
	append(p, text + sizeof(text), "%lld 0 good.example.com " V1 " -\n", (long long)NOW);
	state_parse(st, text, NOW);
	if (st->n != 1)
		for (i = 0; i < st->n; i++)
			print_error("accepted: %s %s '%s'\n", st->e[i].domain, st->e[i].value,
			    st->e[i].id);
	assert_int_equal(st->n, 1);
	assert_string_equal(st->e[0].domain, "good.example.com");

}

/*
 * A line with more than the five fields is malformed too: an id "a b" (with
 * a space) cannot have been written by state_save and must not be read back
 * as the id "a".
 */
static void
test_parse_id_with_space(void **state)
{
	struct state *st = *state;
	char text[512];

	snprintf(text, sizeof(text),
	    "%lld 0 example.com " V1 " rec 123\n"
	    "%lld 0 good.example.com " V1 " -\n",
	    (long long)NOW, (long long)NOW);
	state_parse(st, text, NOW);
	if (st->n != 1)
		print_error("accepted '%s' with id '%s'\n", st->e[0].domain, st->e[0].id);
	assert_int_equal(st->n, 1);
	assert_string_equal(st->e[0].domain, "good.example.com");

}

static void
test_parse_long_line_and_cap(void **state)
{
	struct state *st = *state;
	size_t cap = 2048 + (STATE_MAX_ENTRIES + 10) * 128, i;
	char *text = malloc(cap), *p;

	assert_non_null(text);
	/* a line longer than any valid one is skipped, the next one is read */
	p = append(text, text + cap, "%lld 0 long.example.com ", (long long)NOW);
	memset(p, 'x', 1500);
	p += 1500;
	append(p, text + cap, " -\n%lld 0 after.example.com " V1 " -\n", (long long)NOW);
	state_parse(st, text, NOW);
	assert_int_equal(st->n, 1);
	assert_string_equal(st->e[0].domain, "after.example.com");

	/* never more than STATE_MAX_ENTRIES */
	st->n = 0;
	p = text;
	for (i = 0; i < STATE_MAX_ENTRIES + 10; i++)
		p = append(p, text + cap, "%lld 0 n%zu.example.com " V1 " -\n", (long long)NOW, i);
	state_parse(st, text, NOW);
	assert_int_equal(st->n, STATE_MAX_ENTRIES);
	assert_string_equal(st->e[STATE_MAX_ENTRIES - 1].domain, "n199.example.com");

	/* entries are appended to what is there */
	st->n = 1;
	snprintf(text, cap, "%lld 0 extra.example.com " V2 " -\n", (long long)NOW);
	state_parse(st, text, NOW);
	assert_int_equal(st->n, 2);
	assert_string_equal(st->e[0].domain, "n0.example.com");
	assert_string_equal(st->e[1].domain, "extra.example.com");
	free(text);

}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_key_format),
		cmocka_unit_test(test_key_stable),
		cmocka_unit_test(test_key_distinct),
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_round_trip_max_fields),
		cmocka_unit_test_setup_teardown(test_find_add_remove, mem_setup, mem_teardown),
		cmocka_unit_test_setup_teardown(test_full, mem_setup, mem_teardown),
		cmocka_unit_test(test_save_rewrites),
		cmocka_unit_test(test_close_remove),
		cmocka_unit_test(test_keys_isolated),
		cmocka_unit_test(test_lock_held),
		cmocka_unit_test(test_open_refuses_symlink),
		cmocka_unit_test(test_open_bad_dir),
		cmocka_unit_test(test_open_checks_dir),
		cmocka_unit_test(test_open_drops_stale),
		cmocka_unit_test_setup_teardown(test_parse_age, mem_setup, mem_teardown),
		cmocka_unit_test_setup_teardown(test_parse_fields, mem_setup, mem_teardown),
		cmocka_unit_test_setup_teardown(test_parse_malformed, mem_setup, mem_teardown),
		cmocka_unit_test_setup_teardown(test_parse_id_with_space, mem_setup, mem_teardown),
		cmocka_unit_test_setup_teardown(test_parse_long_line_and_cap, mem_setup, mem_teardown),
	};

	return cmocka_run_group_tests_name("state", tests, group_setup, group_teardown);
}
