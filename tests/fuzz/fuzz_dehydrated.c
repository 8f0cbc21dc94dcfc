/*
 * dehydrated's HOOK= interface (core/hooks/dehydrated.c):
 * deploy_challenge / clean_challenge with DOMAIN TOKENFILE VALUE triples,
 * and the operations dns01 has nothing to do for (BASEDIR and CERTDIR in
 * the environment make an unknown word one of them).  Harness: hook.h.
 */
#define FUZZ_WORDS	"deploy_challenge", "clean_challenge", "deploy_cert", "startup_hook", \
			"this_hookscript_is_broken__dehydrated_is_working_fine__please_ignore_unknown_hooks_in_your_script"
#include "hook.h"
