/*
 * The state directory (config `state_dir`): where dns01 keeps what must
 * outlive one process — the run journal (core/journal.h) and the cache
 * ledger (core/ledger.h) — and the lock files that serialise dns01
 * processes on one host.
 *
 * Everything in it is ours: the directory is created 0700 and must be owned
 * by the effective uid and not writable by group or others; files are
 * opened without following symlinks and must be regular files.
 */
#ifndef DNS01_STATE_H
#define DNS01_STATE_H

#include <stddef.h>
#include <sys/types.h>

/*
 * Create dir (mode 0700, parents too) if needed and check it is a
 * directory of ours that nobody else can write.  ST_OK or ST_CONFIG after
 * saying why.
 */
int	state_dir_ready(const char *dir);

/*
 * Take an exclusive lock on <dir>/<name>.lock (creating dir 0700 and the
 * file 0600), waiting for other holders; release it with state_unlock().
 * Serialises dns01 processes on one host, e.g. per zone.  ST_OK or an error
 * after saying why; but a lock file that is not a regular file of one name
 * (a FIFO, a directory, a symlink, a hard link) is, when why is not NULL,
 * not reported: *why says what it is (ST_CONFIG).
 */
int	state_lock(const char *dir, const char *name, int *fd, const char **why);
void	state_unlock(int fd);

#define STATE_READ_LINKED	1	/* a regular file with other names is read too */
#define STATE_READ_HEAD		2	/* a file larger than max: its first max bytes */

/*
 * Read the regular file path (at most max bytes, more is an error) into a
 * NUL-terminated malloc'd buffer.  Never blocks on a FIFO or follows a
 * symlink.  flags: 0 or STATE_READ_*.  0 and *text (NULL, *len 0 when the
 * file does not exist); 1 when STATE_READ_HEAD cut it at max; -1 after
 * setting *why to what it is, for "<path> is <why>": "a FIFO, not a regular
 * file" and the like, "a regular file with more than one link ...",
 * "larger than ...", "not readable (<strerror>)".
 */
int	state_read(const char *path, size_t max, int flags, char **text, size_t *len,
	    const char **why);

/*
 * A state file read and replaced whole under its own lock: the cache
 * ledger, the learned arrival times.  Its path, that path as messages show
 * it (escaped), and the lock held.
 */
#define STATE_PATH_MAX	4096
#define STATE_SHOWN_MAX	(4 * STATE_PATH_MAX + 1)	/* a path, every byte \xHH */

struct state_file {
	int	lockfd;
	char	path[STATE_PATH_MAX];
	char	shown[STATE_SHOWN_MAX];
};

/*
 * Lock <dir>/<lock>.lock and read <dir>/<file> (state_read(): a file with
 * other names is read too; of one larger than max, the whole lines in its
 * first max bytes, and *cut is 1).  *text is NULL when there is no file
 * yet.  A file or lock that cannot be used (a FIFO, a symbolic link, ...)
 * is reported once per process: "<path> is <what>: dns01 leaves it alone,
 * and <off> until it is removed".  0, or -1 (reported, nothing held).
 * Release with state_file_close().
 */
int	state_file_open(const char *dir, const char *file, const char *lock, size_t max,
	    const char *off, struct state_file *f, char **text, size_t *len, int *cut);
void	state_file_close(struct state_file *f);

/*
 * 1 the first time this process asks about the text at a (alen bytes) and
 * b (blen bytes) together, 0 after (the last STATE_REPORTS_KEPT are
 * remembered): a run reads a state file several times and says what is
 * wrong with it once.
 */
#define STATE_REPORTS_KEPT	8
int	state_report_once(const char *a, size_t alen, const char *b, size_t blen);

/*
 * Replace path with the len bytes of text, atomically: a temp file in the
 * same directory (<path>.tmp-<pid>, mode 0600; one left by a killed process
 * with this pid is removed first), fsync, rename, fsync of the directory.  A
 * crash leaves either the old or the new content.  ST_OK or ST_FAIL after
 * saying why.
 */
int	state_write(const char *path, const char *text, size_t len);

#endif
