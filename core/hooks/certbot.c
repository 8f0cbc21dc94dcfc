/*
 * certbot's --manual-auth-hook and --manual-cleanup-hook.
 *
 * certbot runs the auth hook once per challenge, all before the CA
 * validates, with CERTBOT_REMAINING_CHALLENGES counting down to 0.  Calls
 * above 0 only record their challenge in the run's state file and return;
 * the call with 0 writes every record of the run (one UPDATE per zone) and
 * waits once for all of them.  The auth hook's stdout comes back to the
 * cleanup hook as CERTBOT_AUTH_OUTPUT: "dns01 <run key> <record id|->".
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
#include "../state.h"
#include "../status.h"

#define AUTH_OUTPUT_TAG	"dns01"

struct certbot_env {
	char	domain[NAME_BUF];	/* CERTBOT_DOMAIN, checked */
	char	name[NAME_BUF];		/* _acme-challenge.<domain> */
	char	value[VALUE_BUF];	/* CERTBOT_VALIDATION, checked */
	unsigned long remaining;	/* CERTBOT_REMAINING_CHALLENGES */
	size_t	ndomains;		/* entries in CERTBOT_ALL_DOMAINS, 0 if unset */
	char	key[STATE_KEY_MAX];	/* the run's state key */
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
	state_key("certbot", all && *all ? all : e->domain, e->key, sizeof(e->key));
	return ST_OK;
}

int
hook_certbot_auth(const struct opts *o)
{
	struct challenge *c = NULL;
	struct certbot_env e;
	struct config *cfg = NULL;
	struct state *st = NULL;
	struct state_entry *se;
	struct run *r = NULL;
	size_t i, n = 0;
	int rc;

	if ((rc = read_env(&e)) != ST_OK)
		return rc;
	if ((rc = cli_load_config(o, &cfg)) != ST_OK)
		return rc;
	if ((rc = state_open(cfg->state_dir, e.key, &st)) != ST_OK)
		goto out;
	/* The first call of a run starts afresh: whatever is there is stale. */
	if (e.ndomains > 0 && e.remaining + 1 == e.ndomains && st->n > 0) {
		log_debug("dropping %zu stale entries from an earlier run", st->n);
		st->n = 0;
	}
	if ((se = state_add(st, e.domain, e.value)) == NULL) {
		log_err("more than %d challenges in one run", STATE_MAX_ENTRIES);
		rc = ST_FAIL;
		goto out;
	}
	if (e.remaining > 0) {
		if ((rc = state_save(st)) != ST_OK)
			goto out;
		log_info("%s: recorded; %lu more challenge(s) to come, the last call writes "
		    "and waits", e.name, e.remaining);
		printf("%s %s -\n", AUTH_OUTPUT_TAG, e.key);
		goto out;
	}
	if ((c = calloc(st->n, sizeof(*c))) == NULL) {
		rc = ST_FAIL;
		goto out;
	}
	for (n = 0; n < st->n; n++) {
		const char *why;

		/* Entries were checked when recorded and again when the file was read. */
		if (name_challenge(st->e[n].domain, c[n].name, &why) == -1) {
			log_err("state %s: %s: %s", st->path, st->e[n].domain, why);
			rc = ST_FAIL;
			goto out;
		}
		memcpy(c[n].value, st->e[n].value, sizeof(c[n].value));
		memcpy(c[n].id, st->e[n].id, sizeof(c[n].id));
	}
	if ((rc = run_new(cfg, &r)) != ST_OK || (rc = run_locate(r, c, n)) != ST_OK)
		goto out;
	/* Adding is idempotent, so records of earlier calls are simply added again. */
	if ((rc = run_add(r, c, n)) != ST_OK)
		goto out;
	for (i = 0; i < n; i++) {
		st->e[i].written = STATE_WRITTEN;
		memcpy(st->e[i].id, c[i].id, sizeof(st->e[i].id));
	}
	if ((rc = state_save(st)) != ST_OK)
		goto out;
	se = state_find(st, e.domain, e.value);
	printf("%s %s %s\n", AUTH_OUTPUT_TAG, e.key, se && se->id[0] ? se->id : "-");
	fflush(stdout);
	rc = run_wait(r, c, n, PROP_PRESENT, cfg->timeout);
out:
	run_free(r);
	free(c);
	state_close(st, 0);
	config_free(cfg);
	return rc;
}

/* The record id in CERTBOT_AUTH_OUTPUT ("dns01 KEY ID"), if any. */
static void
auth_output_id(char *id, size_t idlen)
{
	const char *out = getenv("CERTBOT_AUTH_OUTPUT");
	char tag[16], key[STATE_KEY_MAX], rid[RECORD_ID_MAX];

	id[0] = '\0';
	if (out == NULL)
		return;
	_Static_assert(RECORD_ID_MAX == 96 && STATE_KEY_MAX == 64, "sscanf widths below");
	if (sscanf(out, "%15s %63s %95s", tag, key, rid) == 3 &&
	    strcmp(tag, AUTH_OUTPUT_TAG) == 0 && strcmp(rid, "-") != 0 &&
	    strspn(rid, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._:-") ==
	    strlen(rid))
		snprintf(id, idlen, "%s", rid);
}

int
hook_certbot_cleanup(const struct opts *o)
{
	struct challenge *c = NULL;
	struct certbot_env e;
	struct config *cfg = NULL;
	struct state *st = NULL;
	struct state_entry *se = NULL;
	struct run *r = NULL;
	size_t i, n = 0;
	int rc;

	if ((rc = read_env(&e)) != ST_OK)
		return rc;
	if ((rc = cli_load_config(o, &cfg)) != ST_OK)
		return rc;
	if (state_open(cfg->state_dir, e.key, &st) == ST_OK)
		se = state_find(st, e.domain, e.value);
	/*
	 * Like auth, cleanup batches: calls above 0 only mark their entry, and
	 * the call with 0 deletes every marked record of the run at once (one
	 * UPDATE, one PUT per zone) and confirms once.  Entries the last auth
	 * call never wrote (it failed) are marked too: the last call's delete
	 * covers whatever part of them did reach the provider.
	 */
	if (e.remaining > 0 && se != NULL) {
		se->written = STATE_CLEANUP;
		rc = state_save(st);
		log_info("%s: cleanup recorded; the last cleanup call deletes the run's values",
		    e.name);
		goto out;
	}
	if ((c = calloc(st ? st->n + 1 : 1, sizeof(*c))) == NULL) {
		rc = ST_FAIL;
		goto out;
	}
	memcpy(c[0].name, e.name, sizeof(c[0].name));
	memcpy(c[0].value, e.value, sizeof(c[0].value));
	auth_output_id(c[0].id, sizeof(c[0].id));
	if (se != NULL && c[0].id[0] == '\0')
		memcpy(c[0].id, se->id, sizeof(c[0].id));
	n = 1;
	for (i = 0; st != NULL && i < st->n; i++) {
		const char *why;

		if (&st->e[i] == se || st->e[i].written != STATE_CLEANUP ||
		    name_challenge(st->e[i].domain, c[n].name, &why) == -1)
			continue;
		memcpy(c[n].value, st->e[i].value, sizeof(c[n].value));
		memcpy(c[n].id, st->e[i].id, sizeof(c[n].id));
		n++;
	}
	if ((rc = run_new(cfg, &r)) != ST_OK || (rc = run_locate(r, c, n)) != ST_OK ||
	    (rc = run_del(r, c, n)) != ST_OK)
		goto out;
	/* Entries deleted now leave the state; the file goes when it is empty. */
	for (i = st ? st->n : 0; i-- > 0;)
		if (&st->e[i] == se || st->e[i].written == STATE_CLEANUP)
			state_remove(st, &st->e[i]);
	hook_confirm_removed(r, c, n, cfg);
out:
	if (st != NULL) {
		if (st->n == 0)
			state_close(st, 1);
		else {
			state_save(st);
			state_close(st, 0);
		}
	}
	free(c);
	run_free(r);
	config_free(cfg);
	return rc;
}
