/* The state directory: its checks, lock files, safe reads, atomic writes; see state.h. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"
#include "state.h"
#include "status.h"

#define STATE_WHY_MAX	128

/* path for a message (log_escape), in a static buffer. */
static const char *
shown(const char *path)
{
	static char buf[STATE_SHOWN_MAX];

	return log_escape(path, buf, sizeof(buf));
}

/* mkdir -p with mode 0700 for the parts that do not exist. */
static int
make_dirs(const char *dir)
{
	char path[STATE_PATH_MAX];
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
int
state_dir_ready(const char *dir)
{
	const char *d = shown(dir);
	struct stat st;

	if (make_dirs(dir) == -1 || lstat(dir, &st) == -1) {
		log_err("state_dir %s: %s", d, strerror(errno));
		return ST_CONFIG;
	}
	if (!S_ISDIR(st.st_mode) || st.st_uid != geteuid() || (st.st_mode & 022) != 0) {
		log_err("state_dir %s must be a directory owned by uid %u that group and others "
		    "cannot write (fix: chown %u %s && chmod 700 %s)", d, (unsigned)geteuid(),
		    (unsigned)geteuid(), d, d);
		return ST_CONFIG;
	}
	return ST_OK;
}

/*
 * What st is when it is not a regular file of one name (of any number with
 * links_ok), for "<path> is <kind>"; NULL when it is.
 */
static const char *
file_kind(const struct stat *st, int links_ok)
{
	if (S_ISFIFO(st->st_mode))
		return "a FIFO, not a regular file";
	if (S_ISDIR(st->st_mode))
		return "a directory, not a regular file";
	if (S_ISCHR(st->st_mode) || S_ISBLK(st->st_mode))
		return "a device, not a regular file";
	if (S_ISSOCK(st->st_mode))
		return "a socket, not a regular file";
	if (!S_ISREG(st->st_mode))
		return "not a regular file";
	if (st->st_nlink != 1 && !links_ok)
		return "a regular file with more than one link (a hard link planted here)";
	return NULL;
}

/* What an open(O_NOFOLLOW) that failed with err found, as file_kind(); or NULL. */
static const char *
open_kind(int err)
{
	if (err == ELOOP)
		return "a symbolic link, not a regular file";
	if (err == EISDIR)
		return "a directory, not a regular file";
	return NULL;
}

/* "not readable (<strerror(errno)>)", in a static buffer. */
static const char *
unreadable(void)
{
	static char buf[STATE_WHY_MAX];

	snprintf(buf, sizeof(buf), "not readable (%s)", strerror(errno));
	return buf;
}

int
state_lock(const char *dir, const char *name, int *fd, const char **why)
{
	char path[STATE_PATH_MAX];
	const char *kind = NULL;
	struct stat st;
	int n, rc;

	*fd = -1;
	if ((rc = state_dir_ready(dir)) != ST_OK)
		return rc;
	n = snprintf(path, sizeof(path), "%s/%s.lock", dir, name);
	if (n < 0 || (size_t)n >= sizeof(path))
		return ST_CONFIG;
	*fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK, 0600);
	if (*fd == -1 && (kind = open_kind(errno)) == NULL) {
		log_err("%s: %s", shown(path), strerror(errno));
		return ST_CONFIG;
	}
	if (*fd != -1 && fstat(*fd, &st) == -1) {
		log_err("%s: %s", shown(path), strerror(errno));
		rc = ST_CONFIG;
		goto fail;
	}
	if (kind != NULL || (kind = file_kind(&st, 0)) != NULL) {
		if (why != NULL)
			*why = kind;
		else
			log_err("%s is %s; remove it", shown(path), kind);
		rc = ST_CONFIG;
		goto fail;
	}
	if (flock(*fd, LOCK_EX) == -1) {
		log_err("%s: lock: %s", shown(path), strerror(errno));
		rc = ST_FAIL;
		goto fail;
	}
	return ST_OK;
fail:
	if (*fd != -1)
		close(*fd);
	*fd = -1;
	return rc;
}

void
state_unlock(int fd)
{
	if (fd != -1)
		close(fd);	/* releases the lock */
}

int
state_read(const char *path, size_t max, int flags, char **text, size_t *len,
    const char **why)
{
	struct stat st;
	char *buf = NULL;
	ssize_t r;
	size_t n = 0;
	int fd, rc = -1, cut = 0;

	*text = NULL;
	*len = 0;
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
	if (fd == -1) {
		if (errno == ENOENT)
			return 0;
		if ((*why = open_kind(errno)) == NULL)
			*why = unreadable();
		return -1;
	}
	if (fstat(fd, &st) == -1) {
		*why = unreadable();
		goto out;
	}
	if ((*why = file_kind(&st, flags & STATE_READ_LINKED)) != NULL)
		goto out;
	if ((size_t)st.st_size > max) {
		if (!(flags & STATE_READ_HEAD)) {
			*why = "larger than dns01 ever writes it";
			goto out;
		}
		cut = 1;
	}
	/* dns01 replaces these files, never appends: the size it has now is all */
	if (!cut)
		max = (size_t)st.st_size;
	if ((buf = malloc(max + 1)) == NULL) {
		errno = ENOMEM;
		*why = unreadable();
		goto out;
	}
	while (n < max && (r = read(fd, buf + n, max - n)) != 0) {
		if (r < 0) {
			if (errno == EINTR)
				continue;
			*why = unreadable();
			goto out;
		}
		n += (size_t)r;
	}
	buf[n] = '\0';
	*text = buf;
	*len = n;
	buf = NULL;
	rc = cut;
out:
	free(buf);
	close(fd);
	return rc;
}

/* fsync the directory holding path, so a rename in it is durable. */
static int
sync_dir_of(const char *path)
{
	char dir[STATE_PATH_MAX];
	const char *slash = strrchr(path, '/');
	size_t n = slash ? (size_t)(slash - path) : 0;
	int fd, rc;

	if (n == 0 || n >= sizeof(dir))
		return 0;
	memcpy(dir, path, n);
	dir[n] = '\0';
	if ((fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1)
		return -1;
	rc = fsync(fd);
	close(fd);
	return rc;
}

int
state_write(const char *path, const char *text, size_t len)
{
	char tmp[STATE_PATH_MAX];
	size_t off = 0;
	ssize_t w;
	int n, fd = -1;

	n = snprintf(tmp, sizeof(tmp), "%s.tmp-%ld", path, (long)getpid());
	if (n < 0 || (size_t)n >= sizeof(tmp)) {
		log_err("%s: path too long", shown(path));
		return ST_FAIL;
	}
	(void)unlink(tmp);	/* one left by a killed process with our pid */
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd == -1)
		goto fail;
	while (off < len) {
		if ((w = write(fd, text + off, len - off)) < 0) {
			if (errno == EINTR)
				continue;
			goto fail;
		}
		off += (size_t)w;
	}
	if (fsync(fd) == -1)
		goto fail;
	n = close(fd);
	fd = -1;
	if (n == -1)
		goto fail;
	if (rename(tmp, path) == -1 || sync_dir_of(path) == -1)
		goto fail;
	return ST_OK;
fail:
	log_err("%s: %s", shown(path), strerror(errno));
	if (fd != -1)
		close(fd);
	(void)unlink(tmp);
	return ST_FAIL;
}

#define FNV_BASIS	14695981039346656037ULL	/* 64-bit FNV-1a */
#define FNV_PRIME	1099511628211ULL

/* The FNV-1a hash of the n bytes at s, going on from h. */
static unsigned long long
fnv(unsigned long long h, const char *s, size_t n)
{
	while (n-- > 0)
		h = (h ^ (unsigned char)*s++) * FNV_PRIME;
	return h;
}

int
state_report_once(const char *a, size_t alen, const char *b, size_t blen)
{
	static unsigned long long seen[STATE_REPORTS_KEPT];
	static size_t nseen, next;
	unsigned long long key = fnv(fnv(FNV_BASIS, a, alen), b, blen);
	size_t i;

	for (i = 0; i < nseen; i++)
		if (seen[i] == key)
			return 0;
	seen[next] = key;
	next = (next + 1) % STATE_REPORTS_KEPT;
	if (nseen < STATE_REPORTS_KEPT)
		nseen++;
	return 1;
}

/* Say (once) that the file shown is why: what stops working is off. */
static void
refused(const char *shown, const char *why, const char *off)
{
	if (state_report_once(shown, strlen(shown), why, strlen(why)))
		log_warn("%s is %s: dns01 leaves it alone, and %s until it is removed", shown,
		    why, off);
}

int
state_file_open(const char *dir, const char *file, const char *lock, size_t max,
    const char *off, struct state_file *f, char **text, size_t *len, int *cut)
{
	char path[STATE_PATH_MAX], shown[STATE_SHOWN_MAX];
	const char *why = NULL;
	int n, r;

	memset(f, 0, sizeof(*f));
	f->lockfd = -1;
	*text = NULL;
	*len = 0;
	*cut = 0;
	n = snprintf(f->path, sizeof(f->path), "%s/%s", dir, file);
	if (n < 0 || (size_t)n >= sizeof(f->path)) {
		log_warn("state_dir path too long: %s", off);
		return -1;
	}
	log_escape(f->path, f->shown, sizeof(f->shown));
	if (state_lock(dir, lock, &f->lockfd, &why) != ST_OK) {
		f->lockfd = -1;
		if (why == NULL) {
			log_warn("cannot lock %s: %s", f->shown, off);
			return -1;
		}
		snprintf(path, sizeof(path), "%s/%s.lock", dir, lock);
		refused(log_escape(path, shown, sizeof(shown)), why, off);
		return -1;
	}
	r = state_read(f->path, max, STATE_READ_LINKED | STATE_READ_HEAD, text, len, &why);
	if (r == -1) {
		refused(f->shown, why, off);
		state_file_close(f);
		return -1;
	}
	if (r == 1) {	/* cut at max: whole lines only */
		*cut = 1;
		while (*len > 0 && (*text)[*len - 1] != '\n')
			(*len)--;
	}
	return 0;
}

void
state_file_close(struct state_file *f)
{
	state_unlock(f->lockfd);
	f->lockfd = -1;
}
