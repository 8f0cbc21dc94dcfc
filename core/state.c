/* Pending-challenge state files; see state.h. */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"
#include "state.h"
#include "status.h"

#define FNV_OFFSET	0xcbf29ce484222325ULL
#define FNV_PRIME	0x100000001b3ULL

void
state_key(const char *prefix, const char *s, char *out, size_t outlen)
{
	uint64_t h = FNV_OFFSET;

	for (; s != NULL && *s != '\0'; s++) {
		h ^= (unsigned char)*s;
		h *= FNV_PRIME;
	}
	snprintf(out, outlen, "%s-%016llx", prefix, (unsigned long long)h);
}

/* 1 when s is a safe record id: 1..RECORD_ID_MAX-1 of [A-Za-z0-9._:-]. */
static int
id_ok(const char *s)
{
	size_t n = strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "0123456789._:-");

	return n > 0 && s[n] == '\0' && n < RECORD_ID_MAX;
}

void
state_parse(struct state *st, const char *text, time_t now)
{
	char line[1024], domain[1024], value[1024], id[1024], canon[NAME_BUF];
	const char *p = text, *nl, *why;
	long long created;
	int written;
	size_t len;

	while (*p != '\0' && st->n < STATE_MAX_ENTRIES) {
		nl = strchr(p, '\n');
		len = nl ? (size_t)(nl - p) : strlen(p);
		if (len < sizeof(line)) {
			memcpy(line, p, len);
			line[len] = '\0';
			int end = -1;

			/* Exactly five fields; anything after them spoils the line. */
			if (sscanf(line, "%lld %d %1023s %1023s %1023s %n", &created, &written,
			    domain, value, id, &end) == 5 && end >= 0 && line[end] == '\0' &&
			    created <= (long long)now && now - created <= STATE_MAX_AGE &&
			    name_check(domain, 1, canon, &why) == 0 &&
			    value_check_txt(value, &why) == 0 &&
			    (strcmp(id, "-") == 0 || id_ok(id))) {
				struct state_entry *e = &st->e[st->n++];

				memset(e, 0, sizeof(*e));
				e->created = (time_t)created;
				e->written = written == STATE_CLEANUP ? STATE_CLEANUP :
				    written != 0 ? STATE_WRITTEN : STATE_RECORDED;
				memcpy(e->domain, canon, sizeof(e->domain));
				memcpy(e->value, value, strlen(value) + 1);
				if (strcmp(id, "-") != 0)
					memcpy(e->id, id, strlen(id) + 1);
			}
		}
		p += len + (nl ? 1 : 0);
	}
}

/* mkdir -p with mode 0700 for the parts that do not exist. */
static int
make_dirs(const char *dir)
{
	char path[4096];
	size_t i, n = strlen(dir);

	if (n == 0 || n >= sizeof(path))
		return -1;
	memcpy(path, dir, n + 1);
	for (i = 1; i <= n; i++) {
		if (path[i] != '/' && path[i] != '\0')
			continue;
		path[i] = '\0';
		if (mkdir(path, 0700) == -1 && errno != EEXIST)
			return -1;
		path[i] = dir[i];
	}
	return 0;
}

/*
 * The state directory must be a real directory of ours that nobody else can
 * write (a fallback under /tmp could have been made by another user).
 */
static int
check_dir(const char *dir)
{
	struct stat st;

	if (lstat(dir, &st) == -1) {
		log_err("state_dir %s: %s", dir, strerror(errno));
		return -1;
	}
	if (!S_ISDIR(st.st_mode) || st.st_uid != geteuid() || (st.st_mode & 022) != 0) {
		log_err("state_dir %s must be a directory owned by uid %u that group and others "
		    "cannot write (fix: chown %u %s && chmod 700 %s)", dir, (unsigned)geteuid(),
		    (unsigned)geteuid(), dir, dir);
		return -1;
	}
	return 0;
}

int
state_open(const char *dir, const char *key, struct state **out)
{
	struct state *st = NULL;
	char *text = NULL;
	size_t plen = strlen(dir) + strlen(key) + 16;
	ssize_t n;
	size_t len = 0;
	int rc = ST_FAIL;

	if (make_dirs(dir) == -1) {
		log_err("state_dir %s: %s", dir, strerror(errno));
		return ST_CONFIG;
	}
	if (check_dir(dir) == -1)
		return ST_CONFIG;
	if ((st = calloc(1, sizeof(*st))) == NULL || (st->path = malloc(plen)) == NULL ||
	    (text = malloc(STATE_FILE_MAX + 1)) == NULL) {
		log_err("out of memory");
		goto out;
	}
	st->fd = -1;
	snprintf(st->path, plen, "%s/%s.state", dir, key);
	for (;;) {
		struct stat a, b;

		st->fd = open(st->path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
		if (st->fd == -1) {
			log_err("%s: %s", st->path, strerror(errno));
			rc = ST_CONFIG;
			goto out;
		}
		if (flock(st->fd, LOCK_EX) == -1) {
			log_err("%s: lock: %s", st->path, strerror(errno));
			goto out;
		}
		/* The holder before us may have removed the file: then open it anew. */
		if (fstat(st->fd, &a) == 0 && stat(st->path, &b) == 0 &&
		    a.st_ino == b.st_ino && a.st_dev == b.st_dev)
			break;
		close(st->fd);
		st->fd = -1;
	}
	while ((n = read(st->fd, text + len, STATE_FILE_MAX - len)) > 0)
		len += (size_t)n;
	text[len] = '\0';
	state_parse(st, text, time(NULL));
	*out = st;
	st = NULL;
	rc = ST_OK;
out:
	free(text);
	if (st != NULL)
		state_close(st, 0);
	return rc;
}

int
state_lock(const char *dir, const char *name, int *fd)
{
	char path[4096];
	int n;

	if (make_dirs(dir) == -1) {
		log_err("state_dir %s: %s", dir, strerror(errno));
		return ST_CONFIG;
	}
	if (check_dir(dir) == -1)
		return ST_CONFIG;
	n = snprintf(path, sizeof(path), "%s/%s.lock", dir, name);
	if (n < 0 || (size_t)n >= sizeof(path))
		return ST_CONFIG;
	if ((*fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600)) == -1) {
		log_err("%s: %s", path, strerror(errno));
		return ST_CONFIG;
	}
	if (flock(*fd, LOCK_EX) == -1) {
		log_err("%s: lock: %s", path, strerror(errno));
		close(*fd);
		*fd = -1;
		return ST_FAIL;
	}
	return ST_OK;
}

void
state_unlock(int fd)
{
	if (fd != -1)
		close(fd);	/* releases the lock */
}

int
state_save(struct state *st)
{
	char line[1024];
	size_t i;
	int n;

	if (ftruncate(st->fd, 0) == -1 || lseek(st->fd, 0, SEEK_SET) == -1)
		goto fail;
	for (i = 0; i < st->n; i++) {
		const struct state_entry *e = &st->e[i];

		n = snprintf(line, sizeof(line), "%lld %d %s %s %s\n", (long long)e->created,
		    e->written, e->domain, e->value, e->id[0] && id_ok(e->id) ? e->id : "-");
		if (n < 0 || (size_t)n >= sizeof(line) || write(st->fd, line, (size_t)n) != n)
			goto fail;
	}
	if (fsync(st->fd) == -1)
		goto fail;
	return ST_OK;
fail:
	log_err("%s: %s", st->path, strerror(errno));
	return ST_FAIL;
}

void
state_close(struct state *st, int remove)
{
	if (st == NULL)
		return;
	if (remove && st->path != NULL)
		unlink(st->path);
	if (st->fd != -1)
		close(st->fd);	/* releases the lock */
	free(st->path);
	free(st);
}

struct state_entry *
state_find(struct state *st, const char *domain, const char *value)
{
	size_t i;

	for (i = 0; i < st->n; i++)
		if (strcmp(st->e[i].domain, domain) == 0 && strcmp(st->e[i].value, value) == 0)
			return &st->e[i];
	return NULL;
}

struct state_entry *
state_add(struct state *st, const char *domain, const char *value)
{
	struct state_entry *e = state_find(st, domain, value);

	if (e != NULL)
		return e;
	if (st->n == STATE_MAX_ENTRIES)
		return NULL;
	e = &st->e[st->n++];
	memset(e, 0, sizeof(*e));
	e->created = time(NULL);
	snprintf(e->domain, sizeof(e->domain), "%s", domain);
	snprintf(e->value, sizeof(e->value), "%s", value);
	return e;
}

void
state_remove(struct state *st, struct state_entry *e)
{
	size_t i = (size_t)(e - st->e);

	if (i >= st->n)
		return;
	memmove(&st->e[i], &st->e[i + 1], (st->n - i - 1) * sizeof(st->e[0]));
	st->n--;
}
