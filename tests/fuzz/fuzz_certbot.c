/*
 * certbot's --manual-auth-hook and --manual-cleanup-hook
 * (core/hooks/certbot.c): "dns01 auth" / "dns01 cleanup" with CERTBOT_*
 * variables (CERTBOT_DOMAIN, CERTBOT_VALIDATION,
 * CERTBOT_REMAINING_CHALLENGES, CERTBOT_ALL_DOMAINS, and
 * CERTBOT_AUTH_OUTPUT for cleanup).  Harness: hook.h.
 */
#define FUZZ_WORDS	"auth", "cleanup"
#include "hook.h"
