/*
 * Route 53's XML answers (providers/route53.c through libexpat): hosted
 * zone lists, ListResourceRecordSets, ChangeResourceRecordSets and
 * GetChange polls, ErrorResponse documents, throttling.  Harness and
 * input: provider.h.
 */
#define FUZZ_ANSWER_TYPE	"text/xml"
#define FUZZ_CONFIG_A	"[provider r53]\ntype = route53\naccess_key_id = AKIDEXAMPLE\n" \
			"secret_access_key = fuzz-secret\n"
#define FUZZ_CONFIG_B	"[provider r53]\ntype = route53\naccess_key_id = AKIDEXAMPLE\n" \
			"secret_access_key = fuzz-secret\nsession_token = fuzz-session\n" \
			"hosted_zone_id = Z1D633PJN98FT9\n"
#define FUZZ_ID1	""
#define FUZZ_ID2	""
#include "provider.h"
