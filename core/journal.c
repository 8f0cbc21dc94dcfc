/* The run journal and its token files; see journal.h. */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "journal.h"
#include "log.h"
#include "state.h"
#include "status.h"

#define FNV_OFFSET	0xcbf29ce484222325ULL
#define FNV_PRIME	0x100000001b3ULL
#define JOURNAL_FIELDS	7	/* created status token key name value id */
#define JOURNAL_PATH_MAX	4096
#define HEX_DIGITS	"0123456789abcdef"
#define ID_CHARS	"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._:-"
#define KEY_CHARS	"abcdefghijklmnopqrstuvwxyz0123456789-"
/* Not a space, nor accepted by any field (nor skipped by strtol). */
#define NUL_STAND_IN	'\x01'

void
journal_key(const char *prefix, const char *s, char *out, size_t outlen)
{
	uint64_t h = FNV_OFFSET;

	for (; s != NULL && *s != '\0'; s++) {
		h ^= (unsigned char)*s;
		h *= FNV_PRIME;
	}
	snprintf(out, outlen, "%s-%016llx", prefix, (unsigned long long)h);
}

/* 1 when s is n characters of set, 0 < n < max. */
static int
made_of(const char *s, const char *set, size_t max)
{
	size_t n = strspn(s, set);

	return n > 0 && s[n] == '\0' && n < max;
}

static int
token_ok(const char *s)
{
	return strlen(s) == JOURNAL_TOKEN_LEN && made_of(s, HEX_DIGITS, JOURNAL_TOKEN_BUF);
}

/*
 * Split line (modified) at single spaces into exactly JOURNAL_FIELDS
 * fields.  0 or -1.
 */
static int
split(char *line, char *f[JOURNAL_FIELDS])
{
	char *p = line, *sp;
	size_t i;

	for (i = 0; i < JOURNAL_FIELDS; i++) {
		f[i] = p;
		sp = strchr(p, ' ');
		if (i + 1 == JOURNAL_FIELDS)
			return sp == NULL && *p != '\0' ? 0 : -1;
		if (sp == NULL || sp == p)
			return -1;
		*sp = '\0';
		p = sp + 1;
	}
	return -1;
}

/*
 * One line into *e, checked field by field, as of now.  NULL, or what is
 * wrong with it.  Times are parsed with strtoll and range-checked before
 * any arithmetic (a damaged line must not overflow anything).
 */
static const char *
parse_line(char *line, time_t now, struct journal_entry *e)
{
	char *f[JOURNAL_FIELDS], *end, canon[NAME_BUF];
	const char *why;
	long long created;
	long status;

	memset(e, 0, sizeof(*e));
	if (split(line, f) == -1)
		return "not 7 fields separated by single spaces";
	errno = 0;
	created = strtoll(f[0], &end, 10);
	if (*f[0] < '1' || *f[0] > '9' || *end != '\0' || errno != 0 || created <= 0)
		return "the time is not a positive decimal number";
	if (created > (long long)now + JOURNAL_CLOCK_SLACK)
		return "the time lies in the future";
	if (f[1][0] < '0' || f[1][0] > '0' + JOURNAL_CLEANUP || f[1][1] != '\0')
		return "unknown status";
	status = f[1][0] - '0';
	if (!token_ok(f[2]))
		return "bad run token";
	if (strcmp(f[3], "-") != 0 && !made_of(f[3], KEY_CHARS, JOURNAL_KEY_MAX))
		return "bad run key";
	if (name_check(f[4], 1, canon, &why) == -1 || strcmp(canon, f[4]) != 0)
		return "bad name";
	if (value_check_txt(f[5], &why) == -1)
		return "bad value";
	if (strcmp(f[6], "-") != 0 && !made_of(f[6], ID_CHARS, RECORD_ID_MAX))
		return "bad record id";
	e->created = (time_t)created;
	e->status = (enum journal_status)status;
	memcpy(e->token, f[2], JOURNAL_TOKEN_BUF);
	if (strcmp(f[3], "-") != 0)
		memcpy(e->key, f[3], strlen(f[3]) + 1);
	memcpy(e->name, canon, sizeof(e->name));
	memcpy(e->value, f[5], strlen(f[5]) + 1);
	if (strcmp(f[6], "-") != 0)
		memcpy(e->id, f[6], strlen(f[6]) + 1);
	return NULL;
}

#define JOURNAL_FIRST_CAP	16	/* entries of a journal's first allocation */

/* Room for one more entry in j.  0, or -1 when full or out of memory. */
static int
room(struct journal *j)
{
	struct journal_entry *e;
	size_t cap;

	if (j->n < j->cap)
		return 0;
	if (j->cap >= JOURNAL_MAX_ENTRIES)
		return -1;
	cap = j->cap ? 2 * j->cap : JOURNAL_FIRST_CAP;
	if (cap > JOURNAL_MAX_ENTRIES)
		cap = JOURNAL_MAX_ENTRIES;
	if ((e = realloc(j->e, cap * sizeof(*e))) == NULL)
		return -1;
	j->e = e;
	j->cap = cap;
	return 0;
}

size_t
journal_parse(struct journal *j, const char *text, time_t now, size_t *bad_line,
    const char **why)
{
	char line[JOURNAL_LINE_MAX];
	const char *p = text, *nl, *w;
	size_t len, lineno = 0, bad = 0;

	while (*p != '\0') {
		nl = strchr(p, '\n');
		len = nl ? (size_t)(nl - p) : strlen(p);
		lineno++;
		if (len >= sizeof(line))
			w = "too long";
		else if (j->n == JOURNAL_MAX_ENTRIES)
			w = "more entries than dns01 keeps";
		else if (room(j) == -1)
			w = "out of memory";
		else {
			memcpy(line, p, len);
			line[len] = '\0';
			if ((w = parse_line(line, now, &j->e[j->n])) == NULL)
				j->n++;
		}
		if (w != NULL && bad++ == 0) {
			if (bad_line != NULL)
				*bad_line = lineno;
			if (why != NULL)
				*why = w;
		}
		p += len + (nl ? 1 : 0);
	}
	return bad;
}

int
journal_format(const struct journal_entry *e, char *out, size_t outlen)
{
	int n = snprintf(out, outlen, "%lld %d %s %s %s %s %s\n", (long long)e->created,
	    (int)e->status, e->token, e->key[0] ? e->key : "-", e->name, e->value,
	    e->id[0] && made_of(e->id, ID_CHARS, RECORD_ID_MAX) ? e->id : "-");

	return n < 0 || (size_t)n >= outlen ? -1 : n;
}

int
journal_open(const char *dir, struct journal **out)
{
	struct journal *j = NULL;
	const char *why = NULL;
	char *text = NULL;
	size_t i, len, plen = strlen(dir) + sizeof("/" JOURNAL_FILE), bad, first = 0;
	int rc = ST_FAIL;

	if ((j = calloc(1, sizeof(*j))) == NULL || (j->path = malloc(plen)) == NULL ||
	    (j->dir = strdup(dir)) == NULL) {
		log_err("out of memory");
		goto out;
	}
	j->lockfd = -1;
	snprintf(j->path, plen, "%s/%s", dir, JOURNAL_FILE);
	if ((rc = state_lock(dir, JOURNAL_LOCK, &j->lockfd, NULL)) != ST_OK)
		goto out;
	if (state_read(j->path, JOURNAL_FILE_MAX, 0, &text, &len, &why) == -1)
		log_warn("%s is %s: dns01 ignores it and writes a new journal in its place",
		    j->path, why);
	else if (text != NULL) {
		/*
		 * A NUL byte (a damaged block) would end the text there and
		 * hide every line after it: make it a byte that no field
		 * accepts, so that only its own line counts as damaged.
		 */
		for (i = 0; i < len; i++)
			if (text[i] == '\0')
				text[i] = NUL_STAND_IN;
		if ((bad = journal_parse(j, text, time(NULL), &first, &why)) > 0)
			log_warn("%s: %zu damaged line(s), first line %zu (%s): ignored, and "
			    "dropped when the journal is next written; dns01 never acts on them",
			    j->path, bad, first, why);
	}
	*out = j;
	j = NULL;
	rc = ST_OK;
out:
	free(text);
	journal_close(j);
	return rc;
}

int
journal_save(struct journal *j)
{
	char *text = malloc(j->n * JOURNAL_LINE_MAX + 1);
	size_t i, len = 0;
	int n, rc = ST_FAIL;

	if (text == NULL) {
		log_err("out of memory");
		return ST_FAIL;
	}
	for (i = 0; i < j->n; i++) {
		if ((n = journal_format(&j->e[i], text + len, JOURNAL_LINE_MAX)) < 0) {
			log_err("%s: entry %zu does not fit a line", j->path, i + 1);
			goto out;
		}
		len += (size_t)n;
	}
	rc = state_write(j->path, text, len);
out:
	free(text);
	return rc;
}

void
journal_close(struct journal *j)
{
	if (j == NULL)
		return;
	state_unlock(j->lockfd);
	free(j->e);
	free(j->path);
	free(j->dir);
	free(j);
}

struct journal_entry *
journal_add(struct journal *j, enum journal_status status, const char *token,
    const char *key, const char *name, const char *value)
{
	struct journal_entry *e;

	if (room(j) == -1)
		return NULL;
	e = &j->e[j->n++];
	memset(e, 0, sizeof(*e));
	e->created = time(NULL);
	e->status = status;
	snprintf(e->token, sizeof(e->token), "%s", token);
	snprintf(e->key, sizeof(e->key), "%s", key ? key : "");
	snprintf(e->name, sizeof(e->name), "%s", name);
	snprintf(e->value, sizeof(e->value), "%s", value);
	return e;
}

void
journal_remove(struct journal *j, struct journal_entry *e)
{
	size_t i = (size_t)(e - j->e);

	if (i >= j->n)
		return;
	memmove(&j->e[i], &j->e[i + 1], (j->n - i - 1) * sizeof(j->e[0]));
	j->n--;
}

size_t
journal_count(const struct journal *j, const char *token)
{
	size_t i, n = 0;

	for (i = 0; i < j->n; i++)
		n += strcmp(j->e[i].token, token) == 0;
	return n;
}

/* <dir>/run-<token>.lock into path.  0 or -1. */
static int
token_path(const char *dir, const char *token, char *path, size_t len)
{
	int n = snprintf(path, len, "%s/run-%s.lock", dir, token);

	return n < 0 || (size_t)n >= len ? -1 : 0;
}

int
journal_token_new(const char *dir, char token[JOURNAL_TOKEN_BUF], int *fd)
{
	unsigned char raw[JOURNAL_TOKEN_LEN / 2];
	char path[JOURNAL_PATH_MAX];
	int rfd, tries;
	size_t i;

	*fd = -1;
	for (tries = 0; tries < 3 && *fd == -1; tries++) {
		if ((rfd = open("/dev/urandom", O_RDONLY | O_CLOEXEC)) == -1 ||
		    read(rfd, raw, sizeof(raw)) != (ssize_t)sizeof(raw)) {
			log_err("/dev/urandom: %s", strerror(errno));
			if (rfd != -1)
				close(rfd);
			return ST_FAIL;
		}
		close(rfd);
		for (i = 0; i < sizeof(raw); i++) {
			token[2 * i] = HEX_DIGITS[raw[i] >> 4];
			token[2 * i + 1] = HEX_DIGITS[raw[i] & 0xf];
		}
		token[JOURNAL_TOKEN_LEN] = '\0';
		if (token_path(dir, token, path, sizeof(path)) == -1)
			return ST_FAIL;
		*fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
		if (*fd == -1 && errno != EEXIST)
			break;
	}
	if (*fd == -1 || flock(*fd, LOCK_EX | LOCK_NB) == -1) {
		log_err("%s: %s", path, strerror(errno));
		if (*fd != -1)
			close(*fd);
		*fd = -1;
		return ST_FAIL;
	}
	return ST_OK;
}

int
journal_token_take(const char *dir, const char *token, int wait, int *fd)
{
	char path[JOURNAL_PATH_MAX];
	struct stat a, b;

	*fd = -1;
	if (!token_ok(token) || token_path(dir, token, path, sizeof(path)) == -1)
		return TOKEN_ABSENT;
	*fd = open(path, O_RDWR | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
	if (*fd == -1)	/* a symlink (ELOOP) is not a token file either */
		return errno == ENOENT || errno == ELOOP ? TOKEN_ABSENT : TOKEN_ERROR;
	if (fstat(*fd, &a) == -1 || !S_ISREG(a.st_mode) || a.st_nlink != 1)
		goto absent;
	if (flock(*fd, wait ? LOCK_EX : LOCK_EX | LOCK_NB) == -1) {
		close(*fd);
		*fd = -1;
		return errno == EWOULDBLOCK ? TOKEN_BUSY : TOKEN_ERROR;
	}
	/* Its holder may have removed it meanwhile: then the run is over. */
	if (stat(path, &b) == -1 || a.st_ino != b.st_ino || a.st_dev != b.st_dev)
		goto absent;
	return TOKEN_TAKEN;
absent:
	close(*fd);
	*fd = -1;
	return TOKEN_ABSENT;
}

int
journal_token_exists(const char *dir, const char *token)
{
	char path[JOURNAL_PATH_MAX];
	struct stat st;

	return token_ok(token) && token_path(dir, token, path, sizeof(path)) == 0 &&
	    lstat(path, &st) == 0 && S_ISREG(st.st_mode) && st.st_nlink == 1;
}

void
journal_token_release(const char *dir, const char *token, int fd, int remove)
{
	char path[JOURNAL_PATH_MAX];

	if (remove && token_ok(token) && token_path(dir, token, path, sizeof(path)) == 0)
		(void)unlink(path);
	if (fd != -1)
		close(fd);
}
