/*
 * What the libFuzzer targets in tests/fuzz/ share (`make fuzz`, README
 * "Fuzzing").  Header-only: each target is one program.
 *
 * Inputs made of several strings (argv, environment, HTTP answers, a name
 * and a packet) are split at NUL bytes: fuzz_split() copies the input into
 * a NUL-terminated buffer and points pieces[] at its strings.  Targets that
 * need files work in one private temp dir (fuzz_dir(), under /dev/shm or
 * /tmp), removed at exit (a crash leaves it: libFuzzer then _exit()s).
 */
#ifndef DNS01_FUZZ_H
#define DNS01_FUZZ_H

#include <ftw.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define FUZZ_MAX_PIECES	64

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int	LLVMFuzzerInitialize(int *argc, char ***argv);

/*
 * Split data at NUL bytes into at most max pieces (the last one takes the
 * rest, NULs and all being cut there).  *buf is a malloc'd copy the caller
 * frees; returns the number of pieces (0 for empty input), or -1.
 */
static inline int
fuzz_split(const uint8_t *data, size_t size, char **pieces, size_t max, char **buf)
{
	size_t i, n = 0;
	char *b;

	if ((b = malloc(size + 1)) == NULL)
		return -1;
	memcpy(b, data, size);
	b[size] = '\0';
	*buf = b;
	if (size == 0 || max == 0)
		return 0;
	pieces[n++] = b;
	for (i = 0; i < size && n < max; i++)
		if (b[i] == '\0')
			pieces[n++] = b + i + 1;
	return (int)n;
}

static int
fuzz_rm(const char *path, const struct stat *st, int flag, struct FTW *f)
{
	(void)st;
	(void)flag;
	(void)f;
	return remove(path);
}

static char fuzz_dir_path[64];

static void
fuzz_dir_remove(void)
{
	if (fuzz_dir_path[0] != '\0')
		nftw(fuzz_dir_path, fuzz_rm, 16, FTW_DEPTH | FTW_PHYS);
}

/* A private directory for this process, removed when it exits. */
static inline const char *
fuzz_dir(void)
{
	if (fuzz_dir_path[0] == '\0') {
		/* tmpfs where there is one: the state files are fsync()ed */
		snprintf(fuzz_dir_path, sizeof(fuzz_dir_path), "%s/dns01-fuzz-XXXXXX",
		    access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp");
		if (mkdtemp(fuzz_dir_path) == NULL) {
			perror("mkdtemp");
			abort();
		}
		atexit(fuzz_dir_remove);
	}
	return fuzz_dir_path;
}

#endif
