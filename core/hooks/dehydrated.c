/*
 * dehydrated's HOOK= interface.  deploy_challenge and clean_challenge carry
 * one "DOMAIN TOKENFILE VALUE" triple, or (HOOK_CHAIN=yes) all of them in
 * one call; dns01 writes every value, then waits once for all.  dehydrated
 * calls the hook for many other operations (deploy_cert, startup_hook, ...,
 * and a deliberately unknown one to test that hooks ignore what they do not
 * know): those exit 0 and print nothing — generate_csr's stdout would be
 * taken for a CSR.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hook.h"
#include "../log.h"
#include "../status.h"

#define TRIPLE	3	/* DOMAIN TOKENFILE VALUE */

/* The operations dehydrated 0.7 calls a hook with, other than the two above. */
static const char *const other_ops[] = {
	"sync_cert", "deploy_cert", "deploy_ocsp", "unchanged_cert", "invalid_challenge",
	"request_failure", "generate_csr", "startup_hook", "exit_hook", NULL
};

int
hook_dehydrated_other(const char *op)
{
	const char *p;
	size_t i;

	for (i = 0; other_ops[i] != NULL; i++)
		if (strcmp(op, other_ops[i]) == 0)
			return 1;
	/*
	 * Operations newer dehydrated versions add: dehydrated exports BASEDIR
	 * and CERTDIR to its hooks, so an unknown lower-case word seen with
	 * both set is one of its calls.  Anywhere else it is a typo (exit 2).
	 */
	if (getenv("BASEDIR") == NULL || getenv("CERTDIR") == NULL)
		return 0;
	for (p = op; *p != '\0'; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '_'))
			return 0;
	return op[0] != '\0';
}

int
hook_dehydrated(const struct opts *o, const char *op, int argc, char **argv)
{
	struct challenge *c = NULL;
	char what[64];
	size_t n, i;
	int rc;

	if (argc == 0 || argc % TRIPLE != 0) {
		log_err("usage: dns01 %s DOMAIN TOKENFILE VALUE [DOMAIN TOKENFILE VALUE ...]", op);
		return ST_USAGE;
	}
	n = (size_t)argc / TRIPLE;
	if (n > RUN_MAX_CHALLENGES) {
		log_err("%s: at most %d challenges in one call", op, RUN_MAX_CHALLENGES);
		return ST_USAGE;
	}
	if ((c = calloc(n, sizeof(*c))) == NULL)
		return ST_FAIL;
	for (i = 0; i < n; i++) {
		snprintf(what, sizeof(what), "%s #%zu", op, i + 1);
		/* The token file name (argv[1]) is for http-01; dns-01 needs only the value. */
		if ((rc = hook_challenge(&c[i], what, argv[i * TRIPLE],
		    argv[i * TRIPLE + 2])) != ST_OK)
			goto out;
	}
	if (strcmp(op, "deploy_challenge") == 0)
		rc = hook_present(o, c, n);
	else
		rc = hook_remove(o, c, n);
out:
	free(c);
	return rc;
}
