/*
 * uacme's -h hook (core/hooks/uacme.c): "begin|done|failed TYPE IDENT
 * TOKEN AUTH"; a TYPE other than dns-01 is declined.  Harness: hook.h.
 */
#define FUZZ_WORDS	"begin", "done", "failed"
#include "hook.h"
