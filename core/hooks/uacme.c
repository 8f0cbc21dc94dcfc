/*
 * uacme's -h hook: "METHOD TYPE IDENT TOKEN AUTH".  begin with TYPE dns-01
 * writes _acme-challenge.IDENT = AUTH (already the TXT value) and waits;
 * begin with any other type exits 1, which tells uacme to try its next
 * challenge type.  done and failed delete the value.  uacme handles one
 * authorization at a time.
 */
#include <string.h>

#include "hook.h"
#include "../log.h"
#include "../name.h"
#include "../status.h"

#define UACME_ARGS	4	/* TYPE IDENT TOKEN AUTH */
#define DNS01_TYPE	"dns-01"
#define UACME_TYPE_SHOWN	64	/* of an unknown TYPE in a message */

int
hook_uacme(const struct opts *o, const char *method, int argc, char **argv)
{
	char type[UACME_TYPE_SHOWN], ident[NAME_BUF];
	struct challenge c;
	int rc;

	if (argc != UACME_ARGS) {
		log_err("usage: dns01 %s TYPE IDENT TOKEN AUTH (uacme -h)", method);
		return ST_USAGE;
	}
	if (strcmp(argv[0], DNS01_TYPE) != 0) {
		/* Declining is how a uacme hook says "not this type"; not an error. */
		if (strcmp(method, "begin") == 0) {
			/* TYPE and IDENT come from the CA: shown escaped. */
			log_info("declining a %s challenge for %s: dns01 answers only %s",
			    log_escape(argv[0], type, sizeof(type)),
			    log_escape(argv[1], ident, sizeof(ident)), DNS01_TYPE);
			return ST_FAIL;
		}
		return ST_OK;
	}
	if ((rc = hook_challenge(&c, method, argv[1], argv[3])) != ST_OK)
		return rc;
	return strcmp(method, "begin") == 0 ? hook_present(o, &c, 1) : hook_remove(o, &c, 1);
}
