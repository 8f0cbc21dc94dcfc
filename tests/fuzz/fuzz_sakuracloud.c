/*
 * Sakura Cloud's API answers (providers/sakuracloud.c): the commonserviceitem
 * list and item (Settings.DNS.ResourceRecordSets), HTML entities in
 * record data, error envelopes, the read-modify-write of the whole record
 * set (core/rmw.c).  Harness and input: provider.h.
 */
#define FUZZ_CONFIG_A	"[provider sk]\ntype = sakuracloud\naccess_token = fuzz-token\n" \
			"access_token_secret = fuzz-secret\n"
#define FUZZ_CONFIG_B	"[provider sk]\ntype = sakuracloud\naccess_token = fuzz-token\n" \
			"access_token_secret = fuzz-secret\n" \
			"api_url = https://secure.sakura.ad.jp/cloud/zone/is1a/api/cloud/1.1/\n"
#define FUZZ_ID1	""
#define FUZZ_ID2	""
#include "provider.h"
