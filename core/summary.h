/*
 * One syslog line per hook call that failed or had to wait out something
 * unusual (README "When a renewal fails").  An ACME client run from a timer
 * (certbot -q renew) shows none of dns01's stderr, so the reason goes to
 * syslog as well: ident "dns01", LOG_PID, the facility of `syslog_facility`
 * (daemon), LOG_ERR for a failed call, LOG_WARNING for a call that
 * succeeded after a warning or a note (core/log.h).  For example
 *
 *     certbot auth example.com: ns2.example.com (192.0.2.2) never served
 *     the value within 300 s (exit 5)
 *
 * Which calls: the hook dialects (certbot, dehydrated, lego, uacme) and
 * doctor.  Not set/unset/wait/list/providers: a person or a script that
 * reads stderr runs those.  The line is built by summary_line() (no I/O)
 * from names, addresses, codes and log texts, which never hold secrets.
 */
#ifndef DNS01_SUMMARY_H
#define DNS01_SUMMARY_H

#include <stddef.h>

#define SUMMARY_MAX		768	/* octets of one line (RFC 3164 allows 1024 in all) */
#define SUMMARY_DOMAINS_SHOWN	3	/* then "and N more" */
#define SUMMARY_DOMAIN_MAX	256	/* of one domain, escaped, as shown */
#define SUMMARY_DEFAULT_FACILITY_NAME	"daemon"

/* What the call was, from its command line (summary_call_of). */
struct summary_call {
	const char *client;		/* "certbot", "dehydrated", "lego", "uacme",
					   "doctor"; NULL: a call that is never summed up */
	const char *action;		/* the command word: "auth", "present", ...;
					   NULL for doctor */
	const char *const *domains;	/* as given (not checked yet), may be NULL */
	size_t	ndomains;		/* entries in domains[] */
	size_t	stride;			/* the domains are [0], [stride], ... */
	int	failures_only;		/* doctor: a line only when it fails */
	const char *one;		/* certbot: domains points here (no copies of
					   the struct, then) */
};

/* What the call did (log.h's texts, "" when none). */
struct summary_facts {
	int	rc;			/* the exit status */
	const char *reason;		/* log_reason_text() */
	const char *error;		/* log_first_error() */
	const char *note;		/* log_first_note() */
};

/*
 * The call of command cmd with its nargs arguments (after the command word
 * and any "--"); certbot_domain is $CERTBOT_DOMAIN (may be NULL).  uacme
 * calls for another challenge type (declined, or nothing to do) and every
 * by-hand command get client NULL.
 */
void	summary_call_of(const char *cmd, int nargs, char *const *args,
    const char *certbot_domain, struct summary_call *out);

/*
 * The line for call c with facts f into out (len bytes): LOG_ERR (failed),
 * LOG_WARNING (succeeded after something unusual), or 0 when there is no
 * line (out is then "").  No I/O.
 */
int	summary_line(const struct summary_call *c, const struct summary_facts *f, char *out,
    size_t len);

/* The syslog facility named (daemon, user, local0..local7), or -1. */
int	summary_facility(const char *name);

/* The config's `syslog` and `syslog_facility`; until called: on, daemon. */
void	summary_configure(int enabled, int facility);

/* Build the line of call c ending with status rc from log.h and send it. */
void	summary_send(const struct summary_call *c, int rc);

#endif
