/*
 * The harness of the hook dialect targets (fuzz_certbot.c, ...): dns01's
 * own main() (bin/dns01.c, #included with main renamed: its option
 * parsing and dispatch are what a hook call goes through) with the
 * dialect's command word, the argv pieces of the input after it, and an
 * environment made of the input's environment pieces.
 *
 * Input: byte 0 picks the command word (FUZZ_WORDS, defined by the
 * target); the rest is split at NULs: argv pieces up to the first empty
 * one, then NAME=VALUE environment pieces.  The environment is exactly
 * those (environ is pointed at them for the call).
 *
 * Everything after the parsing needs the config and then the network:
 * the targets are linked with -Wl,--wrap=cli_load_config, and the
 * wrapper below fails as a missing config would, so a call ends where the
 * dialect has checked its input.  Nothing is written or sent.
 */
#ifndef DNS01_FUZZ_HOOK_H
#define DNS01_FUZZ_HOOK_H

#include "fuzz.h"

#include "../../core/config.h"
#include "../../core/status.h"

#define FUZZ_MAX_ARGS	(FUZZ_MAX_PIECES + 2)

struct opts;
int	dns01_main(int argc, char **argv);
int	__wrap_cli_load_config(const struct opts *o, struct config **cfg);

#define main dns01_main
#include "../../bin/dns01.c"
#undef main

extern char **environ;

int
__wrap_cli_load_config(const struct opts *o, struct config **cfg)
{
	(void)o;
	*cfg = NULL;
	return ST_CONFIG;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const words[] = { FUZZ_WORDS };
	char *p[FUZZ_MAX_PIECES], *argv[FUZZ_MAX_ARGS + 1], *env[FUZZ_MAX_PIECES + 1];
	char **saved = environ, *buf, word[32];
	int n, i, argc = 0, nenv = 0, in_env = 0;

	if (size < 1)
		return 0;
	snprintf(word, sizeof(word), "%s", words[data[0] % (sizeof(words) / sizeof(words[0]))]);
	if ((n = fuzz_split(data + 1, size - 1, p, FUZZ_MAX_PIECES, &buf)) < 0)
		return 0;
	argv[argc++] = "dns01";
	argv[argc++] = word;
	for (i = 0; i < n; i++) {
		if (!in_env && p[i][0] == '\0')
			in_env = 1;
		else if (!in_env)
			argv[argc++] = p[i];
		else if (strchr(p[i], '=') != NULL && p[i][0] != '=')
			env[nenv++] = p[i];
	}
	argv[argc] = NULL;
	env[nenv] = NULL;
	log_set_level(LOG_NORMAL);
	environ = env;
	(void)dns01_main(argc, argv);
	environ = saved;
	free(buf);
	return 0;
}

#endif
