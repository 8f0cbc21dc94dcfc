/*
 * Front ends: the hook dialects (core/hooks/) and the by-hand
 * commands set / unset / list / wait (core/cli.c).  Each checks its input
 * first (exit 2 before anything is read or sent), then loads the config,
 * then works.  Each returns a status (core/status.h).
 */
#ifndef DNS01_CLI_H
#define DNS01_CLI_H

#define DOCTOR_GONE_MAX_S	60	/* doctor waits at most this long for its removal */

struct opts {
	const char *config;		/* -c FILE, or NULL */
	double	timeout;		/* --timeout; 0: the config's */
	int	no_wait;		/* --no-wait */
	int	json;			/* --json */
	int	dashdash;		/* a "--" came after the command */
	/* doctor only; the strings are checked by cmd_doctor (exit 2): */
	const char *ca;			/* --ca: CAA issuer domain, NULL: letsencrypt.org */
	const char *check_cert;		/* --check-cert HOST[:PORT], or NULL */
	const char *warn_days;		/* --warn-days N, or NULL: 21 */
};

struct config;

/*
 * Load the config named in o and apply --timeout.  Status: an empty -c is
 * ST_USAGE, the rest is config_load's.
 */
int	cli_load_config(const struct opts *o, struct config **cfg);

int	cmd_set(const struct opts *o, int argc, char **argv);
int	cmd_unset(const struct opts *o, int argc, char **argv);
int	cmd_wait(const struct opts *o, int argc, char **argv);
int	cmd_list(const struct opts *o, int argc, char **argv);

/*
 * doctor DOMAIN... (core/doctor.c): run every check, print one line per
 * check (or one JSON object with --json) on stdout.  Returns ST_OK when no
 * check failed (warnings allowed), else the status of the first failed
 * check: ST_CONFIG config or credentials, ST_PROVIDER the provider refused
 * the round trip's change, ST_TIMEOUT it did not propagate, ST_DISCOVERY
 * zone or nameservers not found, ST_FAIL CAA or the certificate; ST_USAGE
 * (nothing checked) for bad arguments.
 */
int	cmd_doctor(const struct opts *o, int argc, char **argv);

/* The hook dialects (core/hooks/): argv after the command word. */
int	hook_certbot_auth(const struct opts *o);
int	hook_certbot_cleanup(const struct opts *o);
int	hook_dehydrated(const struct opts *o, const char *op, int argc, char **argv);
int	hook_lego(const struct opts *o, const char *op, int raw, int argc, char **argv);
int	hook_uacme(const struct opts *o, const char *method, int argc, char **argv);

/* 1 when op is a dehydrated operation dns01 has nothing to do for. */
int	hook_dehydrated_other(const char *op);

#endif
