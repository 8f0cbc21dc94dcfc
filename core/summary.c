/* The syslog summary of a hook call; see summary.h. */
#include <stdio.h>
#include <string.h>
#include <syslog.h>

#include "log.h"
#include "summary.h"
#include "text.h"

#define SUMMARY_IDENT	"dns01"
#define UACME_DNS_TYPE	"dns-01"
#define DEHYDRATED_STRIDE	3	/* DOMAIN TOKENFILE VALUE */
#define UACME_STRIDE		4	/* TYPE IDENT TOKEN AUTH */

static int enabled = 1;
static int facility = LOG_DAEMON;

static const struct {
	const char *name;
	int	code;
} facilities[] = {
	{ "daemon", LOG_DAEMON }, { "user", LOG_USER },
	{ "local0", LOG_LOCAL0 }, { "local1", LOG_LOCAL1 }, { "local2", LOG_LOCAL2 },
	{ "local3", LOG_LOCAL3 }, { "local4", LOG_LOCAL4 }, { "local5", LOG_LOCAL5 },
	{ "local6", LOG_LOCAL6 }, { "local7", LOG_LOCAL7 },
};

int
summary_facility(const char *name)
{
	size_t i;

	for (i = 0; i < sizeof(facilities) / sizeof(facilities[0]); i++)
		if (strcmp(facilities[i].name, name) == 0)
			return facilities[i].code;
	return -1;
}

void
summary_call_of(const char *cmd, int nargs, char *const *args, const char *certbot_domain,
    struct summary_call *out)
{
	size_t n = nargs > 0 ? (size_t)nargs : 0;

	memset(out, 0, sizeof(*out));
	out->action = cmd;
	out->stride = 1;
	if ((strcmp(cmd, "auth") == 0 || strcmp(cmd, "cleanup") == 0) && n == 0) {
		out->client = "certbot";
		out->one = certbot_domain;
		out->domains = &out->one;
		out->ndomains = certbot_domain != NULL;
		return;
	}
	out->domains = (const char *const *)args;
	if (strcmp(cmd, "present") == 0 || strcmp(cmd, "cleanup") == 0) {
		out->client = "lego";
		out->ndomains = n > 0;
	} else if (strcmp(cmd, "deploy_challenge") == 0 || strcmp(cmd, "clean_challenge") == 0) {
		out->client = "dehydrated";
		out->ndomains = n;
		out->stride = DEHYDRATED_STRIDE;
	} else if (strcmp(cmd, "begin") == 0 || strcmp(cmd, "done") == 0 ||
	    strcmp(cmd, "failed") == 0) {
		/* another challenge type: declined (begin) or nothing to do */
		if (n >= 1 && strcmp(args[0], UACME_DNS_TYPE) != 0)
			return;
		out->client = "uacme";
		out->domains = n >= 2 ? (const char *const *)args + 1 : NULL;
		out->ndomains = n >= 2;
		out->stride = UACME_STRIDE;
	} else if (strcmp(cmd, "doctor") == 0) {
		out->client = "doctor";
		out->action = NULL;	/* "doctor example.com: ..." */
		out->ndomains = n;
		out->failures_only = 1;
	} else
		out->domains = NULL;	/* by hand: no summary */
}

/* The domains of c, comma-separated, at most SUMMARY_DOMAINS_SHOWN, into buf. */
static void
domain_list(const struct summary_call *c, char *buf, size_t len)
{
	char shown[SUMMARY_DOMAIN_MAX], more[32];
	size_t i, k = 0;

	buf[0] = '\0';
	for (i = 0; c->domains != NULL && i < c->ndomains; i += c->stride, k++)
		if (k < SUMMARY_DOMAINS_SHOWN && c->domains[i] != NULL)
			text_append(buf, len, ",", log_escape(c->domains[i], shown, sizeof(shown)));
	if (k > SUMMARY_DOMAINS_SHOWN) {
		snprintf(more, sizeof(more), " and %zu more", k - SUMMARY_DOMAINS_SHOWN);
		text_append(buf, len, "", more);
	}
}

/* 1 when s holds text (not NULL, not ""). */
static int
given(const char *s)
{
	return s != NULL && s[0] != '\0';
}

int
summary_line(const struct summary_call *c, const struct summary_facts *f, char *out,
    size_t len)
{
	/* head: the client and command words (short) before the domain list */
	char doms[SUMMARY_MAX], why[SUMMARY_MAX], head[2 * SUMMARY_MAX], tail[32];
	const char *text;
	size_t n, room;
	int prio;

	if (len == 0)
		return 0;
	out[0] = '\0';
	if (c->client == NULL)
		return 0;
	if (f->rc != 0) {
		prio = LOG_ERR;
		text = given(f->reason) ? f->reason : given(f->error) ? f->error : "failed";
	} else if (!c->failures_only && (given(f->reason) || given(f->note))) {
		prio = LOG_WARNING;
		text = given(f->reason) ? f->reason : f->note;
	} else
		return 0;
	text_printable(text, why, sizeof(why), 1);
	/* "not propagated ... within 300 s:" introduces a list on stderr */
	for (n = strlen(why); n > 0 && (why[n - 1] == ':' || why[n - 1] == ' '); n--)
		why[n - 1] = '\0';
	domain_list(c, doms, sizeof(doms));
	snprintf(head, sizeof(head), "%s%s%s%s%s: ", c->client, c->action ? " " : "",
	    c->action ? c->action : "", doms[0] ? " " : "", doms);
	snprintf(tail, sizeof(tail), " (exit %d)", f->rc);
	/* cut the reason, never the exit code */
	room = strlen(head) + strlen(tail) < len ? len - 1 - strlen(head) - strlen(tail) : 0;
	snprintf(out, len, "%s%.*s%s", head, (int)room, why, tail);
	return prio;
}

void
summary_configure(int on, int fac)
{
	enabled = on;
	facility = fac;
}

void
summary_send(const struct summary_call *c, int rc)
{
	struct summary_facts f = { rc, log_reason_text(), log_first_error(), log_first_note() };
	char line[SUMMARY_MAX];
	int prio;

	if (!enabled || (prio = summary_line(c, &f, line, sizeof(line))) == 0)
		return;
	openlog(SUMMARY_IDENT, LOG_PID, facility);
	syslog(prio, "%s", line);
	closelog();
}
