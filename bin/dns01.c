/*
 * dns01: answer ACME DNS-01 challenges.  main() reads the global options,
 * picks the front end and exits with its status (README "Exit codes").
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/cli.h"
#include "../core/log.h"
#include "../core/status.h"
#include "../providers/provider.h"

#ifndef DNS01_VERSION
#define DNS01_VERSION "0.1.0"
#endif

#define MAX_TIMEOUT_S	86400

struct command {
	const char *name;
	const char *usage;
	const char *help;
};

static const struct command commands[] = {
	{ "auth", "auth", "certbot --manual-auth-hook: put CERTBOT_VALIDATION at "
	    "_acme-challenge.CERTBOT_DOMAIN\n  and wait until every authoritative server has it "
	    "(the last call of a run,\n  CERTBOT_REMAINING_CHALLENGES=0, writes and waits for "
	    "all of them)" },
	{ "cleanup", "cleanup", "certbot --manual-cleanup-hook: remove exactly this run's value "
	    "and confirm it is gone" },
	{ "set", "set NAME VALUE... [--no-wait] [--timeout S] [--json]",
	    "add the TXT values at NAME (never replacing others) and wait until every\n"
	    "  authoritative server has them" },
	{ "unset", "unset NAME VALUE... [--no-wait] [--timeout S] [--json]",
	    "remove exactly those TXT values and wait until no authoritative server has them" },
	{ "list", "list NAME [--json]", "what each authoritative server answers for NAME (TXT)" },
	{ "wait", "wait NAME VALUE... [--timeout S] [--json]",
	    "only wait until every authoritative server has the values" },
	{ "providers", "providers", "the compiled-in providers" },
	{ NULL, NULL, NULL }
};

static void
usage(FILE *f)
{
	const struct command *c;

	fprintf(f, "usage: dns01 [-c FILE] [-v|-q] COMMAND ...\n\ncommands:\n");
	for (c = commands; c->name != NULL; c++)
		fprintf(f, "  %s\n", c->usage);
	fprintf(f, "\noptions:\n"
	    "  -c FILE        config file (default: $DNS01_CONFIG, then /etc/dns01/dns01.conf)\n"
	    "  -v, -q         more / less talk on stderr\n"
	    "  --timeout S    seconds to wait for propagation (default: config, 300)\n"
	    "  --no-wait      set/unset: return after the provider accepted the change\n"
	    "  --json         set/unset/wait/list: machine-readable result on stdout\n"
	    "  --help         this text; dns01 COMMAND --help for one command\n"
	    "  --version      the version\n\n"
	    "exit codes: 0 done, 1 other failure, 2 bad input, 3 configuration or credentials,\n"
	    "4 provider refused, 5 not propagated in time, 6 DNS discovery failed.\n"
	    "See dns01(1).\n");
}

static const struct command *
find_command(const char *name)
{
	const struct command *c;

	for (c = commands; c->name != NULL; c++)
		if (strcmp(c->name, name) == 0)
			return c;
	return NULL;
}

static int
providers(void)
{
	size_t i;

	for (i = 0; provider_table[i] != NULL; i++)
		printf("%-12s %s\n", provider_table[i]->type, provider_table[i]->description);
	return ST_OK;
}

static int
parse_timeout(const char *s, double *out)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (s[0] < '0' || s[0] > '9' || *end != '\0' || errno != 0 || v <= 0 ||
	    v > MAX_TIMEOUT_S) {
		log_err("--timeout: give seconds, more than 0 and at most %d", MAX_TIMEOUT_S);
		return -1;
	}
	*out = v;
	return 0;
}

int
main(int argc, char **argv)
{
	struct opts o = { 0 };
	const struct command *cmd = NULL;
	char **args;
	int i, nargs = 0, help = 0, rc, dashdash = 0;

	if ((args = calloc((size_t)argc + 1, sizeof(*args))) == NULL)
		return ST_FAIL;
	for (i = 1; i < argc; i++) {
		const char *a = argv[i];

		if (dashdash || (cmd != NULL && a[0] != '-')) {
			args[nargs++] = argv[i];
			continue;
		}
		if (strcmp(a, "--") == 0 && cmd != NULL)
			dashdash = 1;
		else if (strcmp(a, "-c") == 0 || strcmp(a, "--config") == 0) {
			if (++i == argc) {
				log_err("%s needs a file", a);
				rc = ST_USAGE;
				goto out;
			}
			o.config = argv[i];
		} else if (strcmp(a, "-v") == 0 || strcmp(a, "--verbose") == 0)
			log_set_level(LOG_VERBOSE);
		else if (strcmp(a, "-q") == 0 || strcmp(a, "--quiet") == 0)
			log_set_level(LOG_QUIET);
		else if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0)
			help = 1;
		else if (strcmp(a, "--version") == 0) {
			printf("dns01 %s\n", DNS01_VERSION);
			rc = ST_OK;
			goto out;
		} else if (strcmp(a, "--timeout") == 0) {
			if (++i == argc || parse_timeout(argv[i], &o.timeout) == -1) {
				if (i == argc)
					log_err("--timeout needs seconds");
				rc = ST_USAGE;
				goto out;
			}
		} else if (strcmp(a, "--no-wait") == 0)
			o.no_wait = 1;
		else if (strcmp(a, "--json") == 0)
			o.json = 1;
		else if (cmd != NULL)
			args[nargs++] = argv[i];	/* e.g. a value that starts with '-' */
		else if (a[0] == '-') {
			log_err("unknown option %s (see dns01 --help)", a);
			rc = ST_USAGE;
			goto out;
		} else if ((cmd = find_command(a)) == NULL) {
			log_err("unknown command '%s' (see dns01 --help)", a);
			rc = ST_USAGE;
			goto out;
		}
	}
	if (help) {
		if (cmd != NULL)
			printf("usage: dns01 [-c FILE] [-v|-q] %s\n\n  %s\n", cmd->usage, cmd->help);
		else
			usage(stdout);
		rc = ST_OK;
		goto out;
	}
	if (cmd == NULL) {
		usage(stderr);
		rc = ST_USAGE;
		goto out;
	}
	if (strcmp(cmd->name, "auth") == 0 || strcmp(cmd->name, "cleanup") == 0) {
		if (nargs != 0) {
			log_err("%s takes no arguments: certbot passes CERTBOT_* variables",
			    cmd->name);
			rc = ST_USAGE;
			goto out;
		}
		rc = cmd->name[0] == 'a' ? hook_certbot_auth(&o) : hook_certbot_cleanup(&o);
	} else if (strcmp(cmd->name, "set") == 0)
		rc = cmd_set(&o, nargs, args);
	else if (strcmp(cmd->name, "unset") == 0)
		rc = cmd_unset(&o, nargs, args);
	else if (strcmp(cmd->name, "wait") == 0)
		rc = cmd_wait(&o, nargs, args);
	else if (strcmp(cmd->name, "list") == 0)
		rc = cmd_list(&o, nargs, args);
	else
		rc = providers();
out:
	free(args);
	fflush(stdout);
	return rc;
}
