/*
 * Unit tests for core/summary.[ch]: what the syslog summary of a call says,
 * without any I/O.
 *
 *   summary_call_of   which commands get a line (hook dialects, doctor),
 *                     their client word and domains; uacme's other
 *                     challenge types and the by-hand commands get none
 *   summary_line      err for a failed call, warning for a call that
 *                     succeeded after something unusual, none for a clean
 *                     one; which reason wins; the domain list and its cut;
 *                     a long reason cut before the exit code; control
 *                     characters; a short buffer
 *   summary_facility  the names syslog_facility takes
 *   config            syslog = yes|no and syslog_facility in [dns01], bad
 *                     values refused (ST_CONFIG)
 *
 * Table-driven: every row becomes one cmocka test (tests/unit/unit.h).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include <cmocka.h>

#include "unit.h"

#include "../../core/config.h"
#include "../../core/status.h"
#include "../../core/summary.h"

#define MAX_ARGS	12

/* --------------------------------------------------------- summary_line */

struct line_case {
	const char *desc;
	const char *cmd;
	const char *args[MAX_ARGS];	/* NULL-terminated */
	const char *certbot_domain;
	int	rc;
	const char *reason, *error, *note;
	int	prio;			/* 0: no line */
	const char *line;		/* expected, when prio != 0 */
};

static const struct line_case line_cases[] = {
	{ "certbot auth timeout: the server named, exit 5", "auth", { NULL }, "example.com", 5,
	    "ns2.example.com (192.0.2.2) never served the value within 300 s",
	    "not propagated on every authoritative server within 300 s:", "", LOG_ERR,
	    "certbot auth example.com: ns2.example.com (192.0.2.2) never served the value "
	    "within 300 s (exit 5)" },
	{ "certbot auth: the first error when no reason", "auth", { NULL }, "example.com", 3,
	    "", "[provider ns] (rfc2136): the server does not know key x (BADKEY)", "", LOG_ERR,
	    "certbot auth example.com: [provider ns] (rfc2136): the server does not know key x "
	    "(BADKEY) (exit 3)" },
	{ "error wins over a note", "cleanup", { NULL }, "example.com", 4, "", "REFUSED",
	    "a lame server", LOG_ERR, "certbot cleanup example.com: REFUSED (exit 4)" },
	{ "trailing colon of a list heading dropped", "auth", { NULL }, "a.example", 5, "",
	    "not propagated on every authoritative server within 9 s: ", "", LOG_ERR,
	    "certbot auth a.example: not propagated on every authoritative server within 9 s "
	    "(exit 5)" },
	{ "failure without any text", "auth", { NULL }, "a.example", 1, "", "", "", LOG_ERR,
	    "certbot auth a.example: failed (exit 1)" },
	{ "certbot without CERTBOT_DOMAIN (usage)", "auth", { NULL }, NULL, 2, "",
	    "CERTBOT_DOMAIN and CERTBOT_VALIDATION are not set", "", LOG_ERR,
	    "certbot auth: CERTBOT_DOMAIN and CERTBOT_VALIDATION are not set (exit 2)" },
	{ "clean success: no line", "auth", { NULL }, "example.com", 0, "", "", "", 0, NULL },
	{ "success after a note: warning", "auth", { NULL }, "far.example.com", 0, "", "",
	    "_acme-challenge.far.example.com: nameserver ns2.example.com of zone x is lame",
	    LOG_WARNING, "certbot auth far.example.com: _acme-challenge.far.example.com: "
	    "nameserver ns2.example.com of zone x is lame (exit 0)" },
	{ "success: the reason wins over the note", "cleanup", { NULL }, "example.com", 0,
	    "ns2.example.com (192.0.2.2) did not drop the value within 5 s", "", "a warning",
	    LOG_WARNING, "certbot cleanup example.com: ns2.example.com (192.0.2.2) did not drop "
	    "the value within 5 s (exit 0)" },
	{ "dehydrated: every third argument, the rest counted", "deploy_challenge",
	    { "a.example", "t1", "v1", "b.example", "t2", "v2", "c.example", "t3", "v3",
	    "d.example", "t4", "v4" }, NULL, 5, "x", "", "", LOG_ERR,
	    "dehydrated deploy_challenge a.example,b.example,c.example and 1 more: x (exit 5)" },
	{ "lego present FQDN VALUE", "present", { "_acme-challenge.example.com.", "v" }, NULL, 4,
	    "", "REFUSED", "", LOG_ERR, "lego present _acme-challenge.example.com.: REFUSED "
	    "(exit 4)" },
	{ "lego cleanup with arguments is lego's", "cleanup", { "example.com", "tok", "ka" },
	    NULL, 0, "", "", "retrying", LOG_WARNING,
	    "lego cleanup example.com: retrying (exit 0)" },
	{ "uacme begin dns-01: IDENT", "begin", { "dns-01", "example.com", "tok", "auth" }, NULL,
	    6, "", "no DNS zone holds x", "", LOG_ERR,
	    "uacme begin example.com: no DNS zone holds x (exit 6)" },
	{ "uacme declines http-01: no line", "begin", { "http-01", "example.com", "t", "a" },
	    NULL, 1, "", "", "", 0, NULL },
	{ "uacme done for tls-alpn-01: no line", "done", { "tls-alpn-01", "x", "t", "a" }, NULL,
	    0, "", "", "a note", 0, NULL },
	{ "uacme with too few arguments (usage)", "begin", { NULL }, NULL, 2, "", "usage", "",
	    LOG_ERR, "uacme begin: usage (exit 2)" },
	{ "doctor failure: the first FAIL", "doctor", { "example.com", "*.example.com" }, NULL,
	    5, "round-trip example.com: not on every server", "", "", LOG_ERR,
	    "doctor example.com,*.example.com: round-trip example.com: not on every server "
	    "(exit 5)" },
	{ "doctor success with a warning: no line", "doctor", { "example.com" }, NULL, 0, "",
	    "", "a lame server", 0, NULL },
	{ "set: never a line", "set", { "_acme-challenge.example.com", "v" }, NULL, 5, "x",
	    "y", "", 0, NULL },
	{ "unset: never a line", "unset", { "x", "v" }, NULL, 0, "", "", "note", 0, NULL },
	{ "list, wait, providers: never a line", "wait", { "x", "v" }, NULL, 5, "", "e", "", 0,
	    NULL },
	{ "control characters in a domain escaped, in a reason replaced", "auth", { NULL },
	    "ex\nample.com", 2, "", "bad\tthing\r\n", "", LOG_ERR,
	    "certbot auth ex\\x0aample.com: bad?thing?? (exit 2)" },
};

static size_t
nargs_of(const struct line_case *c)
{
	size_t n = 0;

	while (n < MAX_ARGS && c->args[n] != NULL)
		n++;
	return n;
}

static void
test_line_case(void **state)
{
	const struct line_case *c = *state;
	struct summary_call call;
	struct summary_facts f = { c->rc, c->reason, c->error, c->note };
	char out[SUMMARY_MAX];
	int prio;

	summary_call_of(c->cmd, (int)nargs_of(c), (char *const *)c->args, c->certbot_domain,
	    &call);
	prio = summary_line(&call, &f, out, sizeof(out));
	assert_int_equal(prio, c->prio);
	assert_string_equal(out, c->prio ? c->line : "");
}

/* A long reason is cut, the exit code stays; a short buffer is never overrun. */
static void
test_line_cut(void **state)
{
	static const char *const none[] = { NULL };
	char reason[4 * SUMMARY_MAX], out[SUMMARY_MAX], tiny[16];
	struct summary_call call;
	struct summary_facts f = { 5, reason, "", "" };

	(void)state;
	memset(reason, 'r', sizeof(reason) - 1);
	reason[sizeof(reason) - 1] = '\0';
	summary_call_of("auth", 0, (char *const *)none, "example.com", &call);
	assert_int_equal(summary_line(&call, &f, out, sizeof(out)), LOG_ERR);
	assert_int_equal(strlen(out), SUMMARY_MAX - 1);
	assert_string_equal(out + strlen(out) - strlen(" (exit 5)"), " (exit 5)");
	assert_int_equal(strncmp(out, "certbot auth example.com: rrr", 29), 0);
	assert_int_equal(summary_line(&call, &f, tiny, sizeof(tiny)), LOG_ERR);
	assert_int_equal(strlen(tiny), sizeof(tiny) - 1);
	assert_int_equal(summary_line(&call, &f, tiny, 0), 0);
}

/* ----------------------------------------------------- summary_facility */

static void
test_facilities(void **state)
{
	static const struct {
		const char *name;
		int code;
	} ok[] = {
		{ "daemon", LOG_DAEMON }, { "user", LOG_USER }, { "local0", LOG_LOCAL0 },
		{ "local3", LOG_LOCAL3 }, { "local7", LOG_LOCAL7 },
	};
	static const char *const bad[] = { "", "Daemon", "local8", "kern", "auth", "mail",
	    "local", "daemon ", "3" };
	size_t i;

	(void)state;
	for (i = 0; i < UNIT_NELEM(ok); i++)
		assert_int_equal(summary_facility(ok[i].name), ok[i].code);
	for (i = 0; i < UNIT_NELEM(bad); i++)
		assert_int_equal(summary_facility(bad[i]), -1);
}

/* --------------------------------------------------------------- config */

static void
test_config_keys(void **state)
{
	static const char *const bad[] = {
		"[dns01]\nsyslog = maybe\n", "[dns01]\nsyslog = 1\n", "[dns01]\nsyslog =\n",
		"[dns01]\nsyslog_facility = kern\n", "[dns01]\nsyslog_facility = local8\n",
	};
	struct config *cfg = NULL;
	size_t i;

	(void)state;
	assert_int_equal(config_parse_text("", "t.conf", &cfg), ST_OK);
	assert_int_equal(cfg->syslog, 1);
	assert_int_equal(cfg->syslog_facility, LOG_DAEMON);
	config_free(cfg);
	cfg = NULL;
	assert_int_equal(config_parse_text("[dns01]\nsyslog = no\nsyslog_facility = local3\n",
	    "t.conf", &cfg), ST_OK);
	assert_int_equal(cfg->syslog, 0);
	assert_int_equal(cfg->syslog_facility, LOG_LOCAL3);
	config_free(cfg);
	cfg = NULL;
	assert_int_equal(config_parse_text("[dns01]\nsyslog = yes\n", "t.conf", &cfg), ST_OK);
	assert_int_equal(cfg->syslog, 1);
	config_free(cfg);
	for (i = 0; i < UNIT_NELEM(bad); i++) {
		cfg = NULL;
		assert_int_equal(config_parse_text(bad[i], "t.conf", &cfg), ST_CONFIG);
		assert_null(cfg);
	}
}

int
main(void)
{
	size_t i;

	for (i = 0; i < UNIT_NELEM(line_cases); i++)
		unit_add("summary_line", line_cases[i].desc, test_line_case, &line_cases[i]);
	unit_add("summary_line", "long reason cut, exit code kept", test_line_cut, NULL);
	unit_add("summary_facility", "names", test_facilities, NULL);
	unit_add("config", "syslog and syslog_facility", test_config_keys, NULL);
	return unit_run("summary", NULL, NULL);
}
