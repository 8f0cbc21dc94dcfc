/*
 * Cloudflare's API answers (providers/cloudflare.c): the JSON envelope
 * (success, errors, result, result_info), zone lookups by name and by id,
 * TXT record lists, created and deleted records, token verification,
 * rate limits.  Harness and input: provider.h.
 */
#define FUZZ_CONFIG_A	"[provider cf]\ntype = cloudflare\napi_token = fuzz-token\n"
#define FUZZ_CONFIG_B	"[provider cf]\ntype = cloudflare\nemail = a@example.test\n" \
			"api_key = fuzz-key\nzone_id = 023e105f4ecef8ad9ca31a8372d0c353\n"
#define FUZZ_ID1	"023e105f4ecef8ad9ca31a8372d0c353:372e67954025e0ba6aaa6d586b9e0b59"
#define FUZZ_ID2	"023e105f4ecef8ad9ca31a8372d0c353:372e67954025e0ba6aaa6d586b9e0b60"
#include "provider.h"
