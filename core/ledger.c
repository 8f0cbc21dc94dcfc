/* The cache ledger; see ledger.h. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ledger.h"
#include "log.h"
#include "propagation.h"
#include "state.h"
#include "status.h"

#define LEDGER_LINE_MAX	(NAME_BUF + 64)
#define LEDGER_FILE_MAX	(LEDGER_MAX_ENTRIES * LEDGER_LINE_MAX)
#define LEDGER_LOCK	"cache"
#define LEDGER_TTL_MAX	(7 * 86400)	/* larger TTLs in the file are damage */

/* 1 while an entry still says something at now. */
static int
current(const struct ledger_entry *e, double now)
{
	return e->until > now || (e->live && e->changed + e->ttl > now);
}

size_t
ledger_parse(const char *text, double now, struct ledger_entry *e, size_t max)
{
	const char *line = text, *nl;
	size_t n = 0;

	for (; *line != '\0' && n < max; line = nl + 1) {
		char name[LEDGER_LINE_MAX], canon[NAME_BUF];
		const char *why;
		double until, changed;
		int live, ttl;
		size_t len;

		if ((nl = strchr(line, '\n')) == NULL)
			break;		/* a torn last line is ignored */
		len = (size_t)(nl - line);
		if (len >= LEDGER_LINE_MAX)
			continue;
		_Static_assert(LEDGER_LINE_MAX > 300, "sscanf width below");
		if (sscanf(line, "%lf %lf %d %d %299s", &until, &changed, &live, &ttl,
		    name) != 5 || (live != 0 && live != 1) || ttl < 0 || ttl > LEDGER_TTL_MAX ||
		    name_check(name, 0, canon, &why) == -1)
			continue;
		memset(&e[n], 0, sizeof(e[n]));
		memcpy(e[n].name, canon, sizeof(canon));
		e[n].until = until;
		e[n].changed = changed;
		e[n].live = live;
		e[n].ttl = ttl;
		if (current(&e[n], now))
			n++;
	}
	return n;
}

/*
 * Lock the ledger and read its current entries into *out (malloc'd, *n of
 * them).  Returns the open file (the lock is on *lockfd), or -1.
 */
static int
load(const char *dir, int *lockfd, struct ledger_entry **out, size_t *n)
{
	char path[4096], *text = NULL;
	ssize_t r;
	size_t len = 0;
	int fd = -1;

	*out = NULL;
	*n = 0;
	if (state_lock(dir, LEDGER_LOCK, lockfd) != ST_OK)
		return -1;
	if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, LEDGER_FILE) >= sizeof(path))
		goto fail;
	if ((fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600)) == -1) {
		log_warn("%s: %s", path, strerror(errno));
		goto fail;
	}
	if ((text = malloc(LEDGER_FILE_MAX + 1)) == NULL ||
	    (*out = calloc(LEDGER_MAX_ENTRIES + 1, sizeof(**out))) == NULL)
		goto fail;
	while (len < LEDGER_FILE_MAX && (r = read(fd, text + len, LEDGER_FILE_MAX - len)) > 0)
		len += (size_t)r;
	text[len] = '\0';
	*n = ledger_parse(text, prop_wall_now(), *out, LEDGER_MAX_ENTRIES);
	free(text);
	return fd;
fail:
	free(text);
	free(*out);
	*out = NULL;
	if (fd != -1)
		close(fd);
	state_unlock(*lockfd);
	*lockfd = -1;
	return -1;
}

void
ledger_get(const char *dir, const char *name, struct ledger_entry *e)
{
	struct ledger_entry *all = NULL;
	size_t n, i;
	int fd, lockfd = -1;

	memset(e, 0, sizeof(*e));
	snprintf(e->name, sizeof(e->name), "%s", name);
	if ((fd = load(dir, &lockfd, &all, &n)) == -1) {
		log_warn("cannot read the cache ledger in %s: cache waits are off", dir);
		return;
	}
	for (i = 0; i < n; i++)
		if (strcmp(all[i].name, name) == 0)
			*e = all[i];
	close(fd);
	state_unlock(lockfd);
	free(all);
}

void
ledger_put(const char *dir, const struct ledger_entry *e)
{
	struct ledger_entry *all = NULL;
	FILE *f = NULL;
	size_t n, i;
	int fd, lockfd = -1, ok = 0;

	if ((fd = load(dir, &lockfd, &all, &n)) == -1)
		goto out;
	for (i = 0; i < n; i++)
		if (strcmp(all[i].name, e->name) == 0)
			break;
	if (i == n) {
		if (n == LEDGER_MAX_ENTRIES)	/* full: the oldest goes */
			memmove(&all[0], &all[1], --n * sizeof(all[0]));
		memset(&all[n], 0, sizeof(all[n]));
		memcpy(all[n].name, e->name, sizeof(e->name));
		i = n++;
	}
	if (e->until > all[i].until)
		all[i].until = e->until;
	all[i].changed = e->changed;
	all[i].live = e->live;
	all[i].ttl = e->ttl;
	if (ftruncate(fd, 0) == -1 || lseek(fd, 0, SEEK_SET) == -1 ||
	    (f = fdopen(fd, "w")) == NULL)
		goto out;
	fd = -1;
	for (i = 0; i < n; i++)
		fprintf(f, "%.3f %.3f %d %d %s\n", all[i].until, all[i].changed, all[i].live,
		    all[i].ttl, all[i].name);
	ok = fflush(f) == 0 && fsync(fileno(f)) == 0;
out:
	if (!ok)
		log_warn("cannot update the cache ledger in %s: the next write at %s may not "
		    "wait for cached answers", dir, e->name);
	if (f != NULL)
		fclose(f);
	else if (fd != -1)
		close(fd);
	if (lockfd != -1)
		state_unlock(lockfd);
	free(all);
}
