/*
 * RFC 2136 replies (providers/rfc2136.c through ldns): the TXT reads of
 * the names before an UPDATE, the UPDATE's rcode and prerequisites, the
 * SOA check of verify, and (config B) answers that must carry a TSIG.
 * Answers are raw DNS messages; the fake server puts the query's id in.
 * Harness and input: provider.h.
 */
#define FUZZ_BINARY_ANSWERS	1
#define FUZZ_CONFIG_A	"[provider ns]\ntype = rfc2136\nserver = 127.0.0.1\n"
#define FUZZ_CONFIG_B	"[provider ns]\ntype = rfc2136\nserver = [::1]:5353\n" \
			"tsig_key = dns01-key.example\ntsig_algorithm = hmac-sha256\n" \
			"tsig_secret = c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0LXNlY3JldA==\n"
#define FUZZ_ID1	"foreign-ttl:300:60"
#define FUZZ_ID2	""
#include "provider.h"
