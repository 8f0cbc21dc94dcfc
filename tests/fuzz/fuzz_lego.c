/*
 * lego's exec provider (core/hooks/lego.c): "present FQDN VALUE",
 * "cleanup FQDN VALUE", and with EXEC_MODE=RAW "present -- DOMAIN TOKEN
 * KEYAUTH" (the value computed from the key authorization).  The "--" is
 * an argv piece of the input.  Harness: hook.h.
 */
#define FUZZ_WORDS	"present", "cleanup"
#include "hook.h"
