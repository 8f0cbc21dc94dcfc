/* Write-and-wait and delete for the hook dialects; see hook.h. */
#include <string.h>

#include "hook.h"
#include "../config.h"
#include "../log.h"
#include "../name.h"
#include "../status.h"

int
hook_challenge(struct challenge *c, const char *what, const char *domain, const char *value)
{
	char shown[NAME_BUF];
	const char *why;

	memset(c, 0, sizeof(*c));
	if (name_challenge(domain, c->name, &why) == -1) {
		log_err("%s: domain '%s': %s", what, log_escape(domain, shown, sizeof(shown)),
		    why);
		return ST_USAGE;
	}
	if (value_check_acme(value, &why) == -1) {
		log_err("%s: %s", what, why);
		return ST_USAGE;
	}
	memcpy(c->value, value, strlen(value) + 1);
	return ST_OK;
}

/* Load the config, start a run and delete what dead runs left. */
static int
prepare(const struct opts *o, struct config **cfg, struct run **r)
{
	int rc;

	if ((rc = cli_load_config(o, cfg)) != ST_OK || (rc = run_new(*cfg, r)) != ST_OK)
		return rc;
	if ((rc = run_token(*r, NULL)) != ST_OK)
		return rc;
	run_recover(*r, NULL);
	return ST_OK;
}

int
hook_present(const struct opts *o, struct challenge *c, size_t n)
{
	struct config *cfg = NULL;
	struct run *r = NULL;
	int rc;

	if ((rc = prepare(o, &cfg, &r)) == ST_OK)
		rc = run_present(r, c, n, NULL, cfg->timeout);
	run_free(r);
	config_free(cfg);
	return rc;
}

int
hook_remove(const struct opts *o, struct challenge *c, size_t n)
{
	struct config *cfg = NULL;
	struct run *r = NULL;
	int rc;

	if ((rc = prepare(o, &cfg, &r)) == ST_OK)
		rc = run_remove(r, c, n);
	run_free(r);
	config_free(cfg);
	return rc;
}
