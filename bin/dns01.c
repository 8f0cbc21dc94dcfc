/*
 * dns01: answer ACME DNS-01 challenges.  main() reads the global options,
 * picks the front end and exits with its status (README "Exit codes").
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>

#include "../core/cli.h"
#include "../core/log.h"
#include "../core/status.h"
#include "../core/summary.h"
#include "../providers/provider.h"

#ifndef DNS01_VERSION
#define DNS01_VERSION "0.1.0"
#endif

#define MAX_TIMEOUT_S	86400
#define SHOWN_MAX	256	/* an argv word as shown in a message */

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
	{ "cleanup", "cleanup | cleanup FQDN VALUE | cleanup -- DOMAIN TOKEN KEYAUTH",
	    "without arguments: certbot --manual-cleanup-hook; with them: lego exec;\n"
	    "  remove exactly this value and confirm it is gone" },
	{ "deploy_challenge", "deploy_challenge DOMAIN TOKENFILE VALUE [DOMAIN TOKENFILE VALUE...]",
	    "dehydrated HOOK=: write every value, then wait once for all (HOOK_CHAIN=yes\n"
	    "  passes them all in one call); other dehydrated operations exit 0" },
	{ "clean_challenge", "clean_challenge DOMAIN TOKENFILE VALUE [...]",
	    "dehydrated HOOK=: remove exactly these values" },
	{ "present", "present FQDN VALUE | present -- DOMAIN TOKEN KEYAUTH",
	    "lego --dns exec (EXEC_PATH=): put VALUE at FQDN and wait; with EXEC_MODE=RAW\n"
	    "  the value is base64url(SHA-256(KEYAUTH)) at _acme-challenge.DOMAIN" },
	{ "begin", "begin TYPE IDENT TOKEN AUTH",
	    "uacme -h: TYPE dns-01 puts AUTH at _acme-challenge.IDENT and waits;\n"
	    "  any other TYPE exits 1 (declined), so uacme tries its next challenge type" },
	{ "done", "done TYPE IDENT TOKEN AUTH", "uacme -h: remove the value" },
	{ "failed", "failed TYPE IDENT TOKEN AUTH", "uacme -h: remove the value" },
	{ "set", "set NAME VALUE... [--no-wait] [--timeout S] [--json]",
	    "add the TXT values at NAME (never replacing others) and wait until every\n"
	    "  authoritative server has them" },
	{ "unset", "unset NAME VALUE... [--no-wait] [--timeout S] [--json]",
	    "remove exactly those TXT values and wait until no authoritative server has them" },
	{ "list", "list NAME [--json]", "what each authoritative server answers for NAME (TXT)" },
	{ "wait", "wait NAME VALUE... [--timeout S] [--json]",
	    "only wait until every authoritative server has the values" },
	{ "doctor", "doctor DOMAIN... [--ca NAME] [--check-cert HOST[:PORT]] [--warn-days N] "
	    "[--timeout S] [--json]",
	    "preflight for each DOMAIN (a leading *. is fine): config, credentials, zone and\n"
	    "  nameservers (SOA serials), _acme-challenge CNAME, CAA for --ca (default\n"
	    "  letsencrypt.org), negative-caching TTL, and a TXT round trip at\n"
	    "  _acme-challenge.DOMAIN; --check-cert also reads the certificate HOST serves\n"
	    "  (port 443) and fails when it expires within --warn-days (21) or misses a\n"
	    "  DOMAIN.  One OK/WARN/FAIL line per check; exit 0 unless a check failed" },
	{ "providers", "providers [TYPE]",
	    "the compiled-in providers; with TYPE, its config keys, environment variables\n"
	    "  (lego's names) and certbot credentials-file names" },
	{ NULL, NULL, NULL }
};

static void
usage(FILE *f)
{
	const struct command *c;

	fprintf(f, "usage: dns01 [-c FILE] [-v|-q] COMMAND ...\n\n"
	    "hooks (certbot, dehydrated, lego exec, uacme):\n");
	for (c = commands; c->name != NULL; c++) {
		if (strcmp(c->name, "set") == 0)
			fprintf(f, "\nby hand:\n");
		fprintf(f, "  %s\n", c->usage);
	}
	fprintf(f, "\noptions:\n"
	    "  -c FILE        config file (default: $DNS01_CONFIG, then /etc/dns01/dns01.conf)\n"
	    "  -v, -q         more / less talk on stderr\n"
	    "  --timeout S    seconds to wait for propagation (default: config, 300)\n"
	    "  --no-wait      set/unset: return after the provider accepted the change\n"
	    "  --json         set/unset/wait/list/doctor: machine-readable result on stdout\n"
	    "  --ca NAME, --check-cert HOST[:PORT], --warn-days N   doctor (see its --help)\n"
	    "  --             end of options (set/unset/wait/list/doctor: a value that\n"
	    "                 starts with '-' goes after it)\n"
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

/* 1 when key is one of the NULL-terminated list. */
static int
listed(const char *const *list, const char *key)
{
	for (; list != NULL && *list != NULL; list++)
		if (strcmp(*list, key) == 0)
			return 1;
	return 0;
}

/*
 * Everything a user can write for provider p, from its ops table alone (so
 * that the docs test, tests/integration/test_docs.py, can check that README
 * and the man page name each one).
 */
static void
provider_detail(const struct provider_ops *p)
{
	const struct env_map *e;
	const struct cred_map *c;
	const char *const *k;
	size_t i;

	printf("%s: %s\n\nkeys of [provider NAME] (besides type, zones, credentials):\n",
	    p->type, p->description);
	for (k = p->keys; k != NULL && *k != NULL; k++)
		printf(listed(p->secret_keys, *k) ? "  %-20s(secret)\n" : "  %s\n", *k);
	printf("\nenvironment (DNS01_PROVIDER=%s; each variable also as NAME_FILE):\n", p->type);
	for (e = p->env; e != NULL && e->key != NULL; e++) {
		printf("  %-20s", e->key);
		for (i = 0; i < sizeof(e->vars) / sizeof(e->vars[0]) && e->vars[i] != NULL; i++)
			printf("%s%s", i ? ", " : "", e->vars[i]);
		printf("\n");
	}
	printf("\ncertbot credentials file (credentials = FILE):\n");
	for (c = p->cred; c != NULL && c->key != NULL; c++)
		printf("  %-20s%s\n", c->key, c->certbot_key);
	if (p->cred == NULL || p->cred[0].key == NULL)
		printf("  (none: no certbot plugin with a credentials file)\n");
	printf("\nTTL: %d s by default, %d s at least\n", p->default_ttl, p->min_ttl);
}

/* `dns01 providers [TYPE]`.  Status. */
static int
providers(int nargs, char **args)
{
	const struct provider_ops *p;
	char esc[128];
	size_t i;

	if (nargs > 1) {
		log_err("providers takes at most one TYPE");
		return ST_USAGE;
	}
	if (nargs == 1) {
		if ((p = provider_find(args[0])) == NULL) {
			log_err("%s: unknown provider type (see: dns01 providers)",
			    log_escape(args[0], esc, sizeof(esc)));
			return ST_USAGE;
		}
		provider_detail(p);
		return ST_OK;
	}
	for (i = 0; provider_table[i] != NULL; i++)
		printf("%-12s %s\n", provider_table[i]->type, provider_table[i]->description);
	return ST_OK;
}

/*
 * --timeout: decimal seconds (digits, optionally a point and more digits;
 * no sign, hex or exponent), rounded up to whole seconds, 1..MAX_TIMEOUT_S.
 */
static int
parse_timeout(const char *s, double *out)
{
	size_t digits = strspn(s, "0123456789"), frac = 0;
	char *end;
	double v;

	if (s[digits] == '.')
		frac = strspn(s + digits + 1, "0123456789");
	errno = 0;
	v = strtod(s, &end);
	if (digits == 0 || (s[digits] != '\0' && (s[digits] != '.' ||
	    s[digits + 1 + frac] != '\0')) || *end != '\0' || errno != 0 ||
	    ceil(v) < 1 || ceil(v) > MAX_TIMEOUT_S) {
		log_err("--timeout: give whole or decimal seconds, 1 to %d (fractions are rounded "
		    "up)", MAX_TIMEOUT_S);
		return -1;
	}
	*out = ceil(v);
	return 0;
}

/* 1 for the commands a person types, whose options may come after the command. */
static int
by_hand(const struct command *cmd)
{
	static const char *const names[] = { "set", "unset", "wait", "list", "doctor" };
	size_t i;

	for (i = 0; cmd != NULL && i < sizeof(names) / sizeof(names[0]); i++)
		if (strcmp(cmd->name, names[i]) == 0)
			return 1;
	return 0;
}

/* Run the command with its arguments.  Status. */
static int
dispatch(const struct opts *o, const char *cmd, int nargs, char **args)
{
	if (strcmp(cmd, "auth") == 0 || (strcmp(cmd, "cleanup") == 0 && nargs == 0)) {
		if (nargs != 0 || o->dashdash) {
			log_err("%s takes no arguments: certbot passes CERTBOT_* variables", cmd);
			return ST_USAGE;
		}
		return cmd[0] == 'a' ? hook_certbot_auth(o) : hook_certbot_cleanup(o);
	}
	if (strcmp(cmd, "present") == 0 || strcmp(cmd, "cleanup") == 0)
		return hook_lego(o, cmd, o->dashdash, nargs, args);
	if (strcmp(cmd, "deploy_challenge") == 0 || strcmp(cmd, "clean_challenge") == 0)
		return hook_dehydrated(o, cmd, nargs, args);
	if (strcmp(cmd, "begin") == 0 || strcmp(cmd, "done") == 0 || strcmp(cmd, "failed") == 0)
		return hook_uacme(o, cmd, nargs, args);
	if (strcmp(cmd, "set") == 0)
		return cmd_set(o, nargs, args);
	if (strcmp(cmd, "unset") == 0)
		return cmd_unset(o, nargs, args);
	if (strcmp(cmd, "wait") == 0)
		return cmd_wait(o, nargs, args);
	if (strcmp(cmd, "list") == 0)
		return cmd_list(o, nargs, args);
	if (strcmp(cmd, "doctor") == 0)
		return cmd_doctor(o, nargs, args);
	return providers(nargs, args);
}

/*
 * dns01 holds TSIG secrets and API tokens in memory: it never leaves them
 * in a core dump, and (not dumpable) other processes of the same user
 * cannot ptrace it or read its memory through /proc.
 */
static void
no_core_dumps(void)
{
	const struct rlimit none = { 0, 0 };

	(void)setrlimit(RLIMIT_CORE, &none);
	(void)prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
}

int
main(int argc, char **argv)
{
	struct opts o = { 0 };
	struct summary_call call;
	const struct command *cmd = NULL;
	char **args, word[SHOWN_MAX];
	int i, nargs = 0, help = 0, rc, dashdash = 0;

	no_core_dumps();
	if ((args = calloc((size_t)argc + 1, sizeof(*args))) == NULL)
		return ST_FAIL;
	for (i = 1; i < argc; i++) {
		const char *a = argv[i];

		if (dashdash || (cmd != NULL && a[0] != '-')) {
			args[nargs++] = argv[i];
			continue;
		}
		if (strcmp(a, "--") == 0 && cmd != NULL)
			dashdash = o.dashdash = 1;
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
		} else if (strcmp(a, "--ca") == 0 || strcmp(a, "--check-cert") == 0 ||
		    strcmp(a, "--warn-days") == 0) {
			if (++i == argc) {
				log_err("%s needs a value", a);
				rc = ST_USAGE;
				goto out;
			}
			if (strcmp(a, "--ca") == 0)
				o.ca = argv[i];
			else if (strcmp(a, "--check-cert") == 0)
				o.check_cert = argv[i];
			else
				o.warn_days = argv[i];
		} else if (strcmp(a, "--no-wait") == 0)
			o.no_wait = 1;
		else if (strcmp(a, "--json") == 0)
			o.json = 1;
		else if (cmd != NULL && by_hand(cmd) && a[0] == '-' && a[1] != '\0') {
			/* A typo such as --no-wiat must not become a TXT value. */
			log_err("%s: unknown option %s; a value that starts with '-' goes after "
			    "'--' (dns01 %s NAME -- VALUE)", cmd->name, log_escape(a, word, sizeof(word)),
			    cmd->name);
			rc = ST_USAGE;
			goto out;
		} else if (cmd != NULL)
			args[nargs++] = argv[i];	/* a hook's value that starts with '-' */
		else if (a[0] == '-') {
			log_err("unknown option %s (see dns01 --help)", log_escape(a, word, sizeof(word)));
			rc = ST_USAGE;
			goto out;
		} else if ((cmd = find_command(a)) == NULL) {
			if (hook_dehydrated_other(a)) {
				log_debug("dehydrated %s: nothing to do", a);
				rc = ST_OK;
				goto out;
			}
			log_err("unknown command '%s' (see dns01 --help)", log_escape(a, word, sizeof(word)));
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
	summary_call_of(cmd->name, nargs, args, getenv("CERTBOT_DOMAIN"), &call);
	rc = dispatch(&o, cmd->name, nargs, args);
	summary_send(&call, rc);
out:
	free(args);
	fflush(stdout);
	return rc;
}
