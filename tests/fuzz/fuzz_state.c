/*
 * The state files as dns01 reads and rewrites them (core/state.c reading
 * under the lock, core/ledger.c and core/arrivals.c parsing, merging and
 * writing back).  Input: byte 0 picks the file (even: the cache ledger,
 * odd: the learned arrival times); the rest is its content, written to
 * the target's private state directory before each round.
 */
#include <fcntl.h>

#include "fuzz.h"

#include "../../core/arrivals.h"
#include "../../core/ledger.h"
#include "../../core/state.h"

static const char *const names[] = { "_acme-challenge.example.test", "example.test",
	"_acme-challenge.www.example.test" };
#define NNAMES	(sizeof(names) / sizeof(names[0]))

static void
put_file(const char *dir, const char *file, const uint8_t *data, size_t size)
{
	char path[256];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", dir, file);
	if ((fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600)) == -1 ||
	    write(fd, data, size) != (ssize_t)size)
		abort();
	close(fd);
}

static void
ledger(const char *dir)
{
	struct ledger_entry e[NNAMES], put;
	size_t i;

	ledger_get_many(dir, names, NNAMES, e);
	for (i = 0; i < NNAMES; i++)
		if (e[i].name[0] != '\0' && strcmp(e[i].name, names[i]) != 0)
			abort();	/* another name's entry */
	memset(&put, 0, sizeof(put));
	snprintf(put.name, sizeof(put.name), "%s", names[0]);
	put.changed = put.until = 1.7e9;
	put.live = 1;
	put.ttl = 60;
	ledger_put(dir, &put);
}

static void
arrivals(const char *dir)
{
	struct arrival a[2];
	double lo, hi;
	size_t i;

	memset(a, 0, sizeof(a));
	snprintf(a[0].zone, sizeof(a[0].zone), "example.test");
	snprintf(a[0].addr, sizeof(a[0].addr), "127.0.0.1");
	snprintf(a[1].zone, sizeof(a[1].zone), "example.test");
	snprintf(a[1].addr, sizeof(a[1].addr), "[::1]:5353");
	arrivals_get(dir, a, 2);
	for (i = 0; i < 2; i++) {
		if (a[i].n > ARRIVALS_KEEP)
			abort();
		if (arrivals_window(&a[i], &lo, &hi) == 1 && !(lo <= hi))
			abort();
	}
	a[0].delay[0] = 1.5;
	a[0].n = 1;
	arrivals_add(dir, a, 1);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *dir = fuzz_dir();

	if (size < 1)
		return 0;
	if (state_dir_ready(dir) != 0)
		abort();
	if (data[0] % 2 == 0) {
		put_file(dir, LEDGER_FILE, data + 1, size - 1);
		ledger(dir);
	} else {
		put_file(dir, ARRIVALS_FILE, data + 1, size - 1);
		arrivals(dir);
	}
	return 0;
}
