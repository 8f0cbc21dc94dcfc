/*
 * certbot's --manual-auth-hook and --manual-cleanup-hook.
 *
 * certbot runs the auth hook once per challenge, all before the CA
 * validates, with CERTBOT_REMAINING_CHALLENGES counting down to 0.  Calls
 * above 0 only journal their challenge under the run (core/journal.h) and
 * return; the call with 0 writes every value of the run (one UPDATE per
 * zone) and waits once for all of them.  The first call of a run (the
 * count is one less than CERTBOT_ALL_DOMAINS has names) starts a new run
 * and deletes what an earlier run of the same certificate left.  The auth
 * hook's stdout comes back to the cleanup hook as CERTBOT_AUTH_OUTPUT:
 * "dns01 <run key> <run token> <record id|->".
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hook.h"
#include "../cli.h"
#include "../config.h"
#include "../log.h"
#include "../name.h"
#include "../run.h"
#include "../status.h"

#define AUTH_OUTPUT_TAG	"dns01"

struct certbot_env {
	char	domain[NAME_BUF];	/* CERTBOT_DOMAIN, checked */
	char	name[NAME_BUF];		/* _acme-challenge.<domain> */
	char	value[VALUE_BUF];	/* CERTBOT_VALIDATION, checked */
	unsigned long remaining;	/* CERTBOT_REMAINING_CHALLENGES */
	size_t	ndomains;		/* entries in CERTBOT_ALL_DOMAINS, 0 if unset */
	char	key[JOURNAL_KEY_MAX];	/* the run key */
};

/* Read and check the CERTBOT_* variables.  ST_OK or ST_USAGE. */
static int
read_env(struct certbot_env *e)
{
	const char *d = getenv("CERTBOT_DOMAIN"), *v = getenv("CERTBOT_VALIDATION");
	const char *rem = getenv("CERTBOT_REMAINING_CHALLENGES");
	const char *all = getenv("CERTBOT_ALL_DOMAINS"), *why, *p;
	char *end;

	memset(e, 0, sizeof(*e));
	if (d == NULL || v == NULL) {
		log_err("CERTBOT_DOMAIN and CERTBOT_VALIDATION are not set: run me as certbot's "
		    "--manual-auth-hook / --manual-cleanup-hook (or use dns01 set)");
		return ST_USAGE;
	}
	if (name_check(d, 1, e->domain, &why) == -1 ||
	    name_challenge(e->domain, e->name, &why) == -1) {
		log_err("CERTBOT_DOMAIN: %s", why);
		return ST_USAGE;
	}
	if (value_check_acme(v, &why) == -1) {
		log_err("CERTBOT_VALIDATION: %s", why);
		return ST_USAGE;
	}
	memcpy(e->value, v, strlen(v) + 1);
	if (rem != NULL && *rem != '\0') {
		errno = 0;
		e->remaining = strtoul(rem, &end, 10);
		if (*rem < '0' || *rem > '9' || *end != '\0' || errno != 0 ||
		    e->remaining >= RUN_MAX_CHALLENGES) {
			log_err("CERTBOT_REMAINING_CHALLENGES: not a number below %d",
			    RUN_MAX_CHALLENGES);
			return ST_USAGE;
		}
	}
	if (all != NULL && *all != '\0') {
		e->ndomains = 1;
		for (p = all; *p != '\0'; p++)
			if (*p == ',')
				e->ndomains++;
	}
	journal_key("certbot", all && *all ? all : e->domain, e->key, sizeof(e->key));
	return ST_OK;
}

/*
 * Load the config, act for the run (token, else the key's current run;
 * with first, a new one) and delete what dead runs left.
 */
static int
begin(const struct opts *o, const struct certbot_env *e, char *token, int first,
    struct config **cfg, struct run **r)
{
	int rc;

	if ((rc = cli_load_config(o, cfg)) != ST_OK || (rc = run_new(*cfg, r)) != ST_OK)
		return rc;
	if (!first && token[0] == '\0' && (rc = run_key_token(*r, e->key, token)) != ST_OK)
		return rc;
	if ((rc = run_token(*r, first ? NULL : token)) != ST_OK)
		return rc;
	run_recover(*r, first ? e->key : NULL);
	return ST_OK;
}

int
hook_certbot_auth(const struct opts *o)
{
	struct challenge *c = NULL;
	struct certbot_env e;
	struct config *cfg = NULL;
	struct run *r = NULL;
	char token[JOURNAL_TOKEN_BUF] = "";
	size_t i, n;
	int rc, first;

	if ((rc = read_env(&e)) != ST_OK)
		return rc;
	first = e.ndomains > 0 && e.remaining + 1 == e.ndomains;
	if ((c = calloc(RUN_MAX_CHALLENGES + 1, sizeof(*c))) == NULL) {
		rc = ST_FAIL;
		goto out;
	}
	memcpy(c[0].name, e.name, sizeof(c[0].name));
	memcpy(c[0].value, e.value, sizeof(c[0].value));
	if ((rc = begin(o, &e, token, first, &cfg, &r)) != ST_OK)
		goto out;
	if ((rc = run_record(r, c, 1, e.key)) != ST_OK)
		goto out;
	if (e.remaining > 0) {
		log_info("%s: recorded; %lu more challenge(s) to come, the last call writes "
		    "and waits", e.name, e.remaining);
		printf("%s %s %s -\n", AUTH_OUTPUT_TAG, e.key, run_token_of(r));
		goto out;
	}
	n = run_entries(r, JOURNAL_RECORDED, c, RUN_MAX_CHALLENGES + 1);
	if (n > RUN_MAX_CHALLENGES) {
		log_err("more than %d challenges in one run", RUN_MAX_CHALLENGES);
		rc = ST_USAGE;
		goto out;
	}
	rc = run_present(r, c, n, e.key, cfg->timeout);
	for (i = 0; i < n; i++)
		if (strcmp(c[i].name, e.name) == 0 && strcmp(c[i].value, e.value) == 0)
			break;
	printf("%s %s %s %s\n", AUTH_OUTPUT_TAG, e.key, run_token_of(r),
	    i < n && c[i].id[0] ? c[i].id : "-");
out:
	fflush(stdout);
	run_free(r);
	free(c);
	config_free(cfg);
	return rc;
}

/*
 * The run token and record id in CERTBOT_AUTH_OUTPUT ("dns01 KEY TOKEN
 * ID"; dns01 before the journal wrote "dns01 KEY ID"), each "" if absent.
 */
static void
auth_output(char *token, size_t toklen, char *id, size_t idlen)
{
	const char *out = getenv("CERTBOT_AUTH_OUTPUT");
	char tag[16], key[JOURNAL_KEY_MAX], f3[RECORD_ID_MAX], f4[RECORD_ID_MAX];
	int nf;

	token[0] = id[0] = '\0';
	if (out == NULL)
		return;
	_Static_assert(RECORD_ID_MAX == 96 && JOURNAL_KEY_MAX == 64, "sscanf widths below");
	nf = sscanf(out, "%15s %63s %95s %95s", tag, key, f3, f4);
	if (nf < 3 || strcmp(tag, AUTH_OUTPUT_TAG) != 0)
		return;
	if (nf == 4 && strlen(f3) == JOURNAL_TOKEN_LEN &&
	    strspn(f3, "0123456789abcdef") == JOURNAL_TOKEN_LEN)
		snprintf(token, toklen, "%s", f3);
	else if (nf == 4)
		return;
	const char *rid = nf == 4 ? f4 : f3;
	if (strcmp(rid, "-") != 0 && strspn(rid, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMN"
	    "OPQRSTUVWXYZ0123456789._:-") == strlen(rid))
		snprintf(id, idlen, "%s", rid);
}

int
hook_certbot_cleanup(const struct opts *o)
{
	struct challenge *c = NULL;
	struct certbot_env e;
	struct config *cfg = NULL;
	struct run *r = NULL;
	char token[JOURNAL_TOKEN_BUF];
	size_t n;
	int rc;

	if ((rc = read_env(&e)) != ST_OK)
		return rc;
	if ((c = calloc(RUN_MAX_CHALLENGES + 1, sizeof(*c))) == NULL)
		return ST_FAIL;
	memcpy(c[0].name, e.name, sizeof(c[0].name));
	memcpy(c[0].value, e.value, sizeof(c[0].value));
	auth_output(token, sizeof(token), c[0].id, sizeof(c[0].id));
	if ((rc = begin(o, &e, token, 0, &cfg, &r)) != ST_OK)
		goto out;
	/*
	 * Like auth, cleanup batches: calls above 0 only mark their value in
	 * the journal, and the call with 0 deletes every marked value of the
	 * run at once (one UPDATE, one PUT per zone) and returns.  Only
	 * values this run journaled are marked, so a line planted in the
	 * journal never makes dns01 delete a value it did not write.
	 */
	if (e.remaining > 0 && run_mark_cleanup(r, c, 1) == 1) {
		log_info("%s: cleanup recorded; the last cleanup call deletes the run's values",
		    e.name);
		goto out;
	}
	n = 1;
	if (e.remaining == 0)
		n += run_entries(r, JOURNAL_CLEANUP, c + 1, RUN_MAX_CHALLENGES);
	rc = run_remove(r, c, n);
out:
	run_free(r);
	free(c);
	config_free(cfg);
	return rc;
}
