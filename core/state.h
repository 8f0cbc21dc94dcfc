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
 * Serialises dns01 processes on one host, e.g. per zone.  ST_OK or an error.
 */
int	state_lock(const char *dir, const char *name, int *fd);
void	state_unlock(int fd);

/*
 * Read the regular file path (at most max bytes, more is an error) into a
 * NUL-terminated malloc'd buffer.  Never blocks on a FIFO or follows a
 * symlink.  0 and *text (NULL, *len 0 when the file does not exist); -1
 * after setting *why: "not a regular file", "has N links", "larger than
 * max", or strerror(errno).
 */
int	state_read(const char *path, size_t max, char **text, size_t *len, const char **why);

/*
 * Replace path with the len bytes of text, atomically: a temp file in the
 * same directory (mode 0600), fsync, rename, fsync of the directory.  A
 * crash leaves either the old or the new content.  ST_OK or ST_FAIL after
 * saying why.
 */
int	state_write(const char *path, const char *text, size_t len);

#endif
