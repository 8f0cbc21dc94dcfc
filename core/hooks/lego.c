/*
 * lego's exec provider (EXEC_PATH).  Default mode: "present FQDN VALUE" and
 * "cleanup FQDN VALUE", where FQDN (trailing dot) is the record's owner —
 * lego has already followed any CNAME — and VALUE the TXT value.  With
 * EXEC_MODE=RAW: "present -- DOMAIN TOKEN KEYAUTH", and the TXT value is
 * base64url(SHA-256(KEYAUTH)), computed here.  lego solves one name at a
 * time, so each present writes and waits.
 */
#include <string.h>

#include "hook.h"
#include "../log.h"
#include "../name.h"
#include "../status.h"

int
hook_lego(const struct opts *o, const char *op, int raw, int argc, char **argv)
{
	struct challenge c;
	const char *why;
	char value[VALUE_BUF], shown[NAME_BUF];
	int rc;

	memset(&c, 0, sizeof(c));
	if (raw) {
		if (argc != 3) {
			log_err("usage: dns01 %s -- DOMAIN TOKEN KEYAUTH (lego EXEC_MODE=RAW)", op);
			return ST_USAGE;
		}
		if (value_from_keyauth(argv[1], argv[2], value, &why) == -1) {
			log_err("%s: %s", op, why);
			return ST_USAGE;
		}
		if ((rc = hook_challenge(&c, op, argv[0], value)) != ST_OK)
			return rc;
	} else {
		if (argc != 2) {
			log_err("usage: dns01 %s FQDN VALUE (lego exec), or dns01 %s -- DOMAIN "
			    "TOKEN KEYAUTH (EXEC_MODE=RAW)", op, op);
			return ST_USAGE;
		}
		if (name_check(argv[0], 0, c.name, &why) == -1) {
			log_err("%s: FQDN '%s': %s", op, log_escape(argv[0], shown, sizeof(shown)),
			    why);
			return ST_USAGE;
		}
		if (value_check_acme(argv[1], &why) == -1) {
			log_err("%s: %s", op, why);
			return ST_USAGE;
		}
		memcpy(c.value, argv[1], strlen(argv[1]) + 1);
	}
	return strcmp(op, "present") == 0 ? hook_present(o, &c, 1) : hook_remove(o, &c, 1);
}
