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

#define STATE_PATH_MAX	4096

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
	struct stat st;

	if (make_dirs(dir) == -1 || lstat(dir, &st) == -1) {
		log_err("state_dir %s: %s", dir, strerror(errno));
		return ST_CONFIG;
	}
	if (!S_ISDIR(st.st_mode) || st.st_uid != geteuid() || (st.st_mode & 022) != 0) {
		log_err("state_dir %s must be a directory owned by uid %u that group and others "
		    "cannot write (fix: chown %u %s && chmod 700 %s)", dir, (unsigned)geteuid(),
		    (unsigned)geteuid(), dir, dir);
		return ST_CONFIG;
	}
	return ST_OK;
}

/* What kind of file st is, for messages. */
static const char *
file_kind(const struct stat *st)
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
	if (st->st_nlink != 1)
		return "a regular file with more than one link (a hard link planted here)";
	return NULL;
}

int
state_lock(const char *dir, const char *name, int *fd)
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
	if (*fd == -1) {
		log_err("%s: %s", path, strerror(errno));
		return ST_CONFIG;
	}
	if (fstat(*fd, &st) == -1 || (kind = file_kind(&st)) != NULL) {
		log_err("%s: %s; remove it", path, kind ? kind : strerror(errno));
		rc = ST_CONFIG;
		goto fail;
	}
	if (flock(*fd, LOCK_EX) == -1) {
		log_err("%s: lock: %s", path, strerror(errno));
		rc = ST_FAIL;
		goto fail;
	}
	return ST_OK;
fail:
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
state_read(const char *path, size_t max, char **text, size_t *len, const char **why)
{
	struct stat st;
	char *buf = NULL;
	ssize_t r;
	size_t n = 0;
	int fd, rc = -1;

	*text = NULL;
	*len = 0;
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
	if (fd == -1) {
		if (errno == ENOENT)
			return 0;
		*why = errno == ELOOP ? "a symbolic link, not a regular file" : strerror(errno);
		return -1;
	}
	if (fstat(fd, &st) == -1) {
		*why = strerror(errno);
		goto out;
	}
	if ((*why = file_kind(&st)) != NULL)
		goto out;
	if ((size_t)st.st_size > max) {
		*why = "larger than dns01 ever writes it";
		goto out;
	}
	if ((buf = malloc(max + 1)) == NULL) {
		*why = "out of memory";
		goto out;
	}
	while (n < max && (r = read(fd, buf + n, max - n)) != 0) {
		if (r < 0) {
			if (errno == EINTR)
				continue;
			*why = strerror(errno);
			goto out;
		}
		n += (size_t)r;
	}
	buf[n] = '\0';
	*text = buf;
	*len = n;
	buf = NULL;
	rc = 0;
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
		log_err("%s: path too long", path);
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
	log_err("%s: %s", path, strerror(errno));
	if (fd != -1)
		close(fd);
	(void)unlink(tmp);
	return ST_FAIL;
}
