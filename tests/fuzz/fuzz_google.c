/*
 * Google Cloud DNS answers (providers/google.c): the metadata server's
 * access token, managed zone lists, rrset lists, changes and their status
 * polls, error envelopes, the read-modify-write (core/rmw.c).  The
 * credentials are the metadata server's (no key file).  Harness and input:
 * provider.h.
 */
#define FUZZ_CONFIG_A	"[provider g]\ntype = google\nproject = fuzz-project\n"
#define FUZZ_CONFIG_B	"[provider g]\ntype = google\nproject = fuzz-project\n" \
			"zone_id = example-test\n"
#define FUZZ_ID1	""
#define FUZZ_ID2	""
#include "provider.h"
