/*
 * The harness of the provider targets (fuzz_cloudflare.c, ...): one
 * provider (providers/, through its provider_ops) does add, del,
 * verify or confirm for a zone, and every answer it gets comes from the
 * fuzz input.  So everything that interprets an API's answer (JSON through
 * jansson, Route 53's XML through libexpat, RFC 2136 replies through ldns)
 * is driven by the fuzzer, in the order the provider asks.
 *
 * The targets are linked with -Wl,--wrap for http_perform (core/http.c:
 * the one HTTP client), dnsio_tcp_exchange (core/dnsio.c: RFC 2136's one
 * exchange) and log_sleep (the providers' pauses between polls and
 * retries); the fakes below answer from the input and sleep not at all.
 * Nothing is sent; DNS01_FUZZ_TRACE=1 shows what would be.  Every URL the provider asks for must be printable
 * ASCII without spaces (ids from answers go into paths).
 *
 * Input: byte 0 picks what is done: bits 0-1 the operation (add, del,
 * verify, confirm), bit 2 two records instead of one, bit 3 record ids
 * set (as a hook's cleanup has them), bit 4 the second config
 * (FUZZ_CONFIG_B), bit 5 a del after the operation, on the same
 * instance.  The rest is the answers, in order:
 *   HTTP (text):  split at NULs, each "STATUS[ RETRY_AFTER[ OUT_OF_TIME]]\n"
 *                 then the body; STATUS 0 is a transport failure.
 *   DNS (FUZZ_BINARY_ANSWERS): each a 2-octet length and that many
 *                 octets of reply, its id replaced by the query's.
 * When the answers run out, every further request fails as unreachable.
 */
#ifndef DNS01_FUZZ_PROVIDER_H
#define DNS01_FUZZ_PROVIDER_H

#include "fuzz.h"

#include "../../core/config.h"
#include "../../core/dnsio.h"
#include "../../core/http.h"
#include "../../core/log.h"
#include "../../core/status.h"
#include "../../core/zone.h"
#include "../../providers/provider.h"

#ifndef FUZZ_ANSWER_TYPE
#define FUZZ_ANSWER_TYPE	"application/json"
#endif
#define FUZZ_VALUE1	"LoqXcYV8q5ONbJQxbmR7SCTNo3tiAXDfowyjxAjEuX0"
#define FUZZ_VALUE2	"Ma9Y0c7bDt0xJ6cQh4n8pP3p5x8X2sF1yQeWzYqR2kA"

int	__wrap_http_perform(struct http *h, struct http_request *reqs, size_t n);
int	__wrap_dnsio_tcp_exchange(const struct dns_addr *a, const uint8_t *msg, size_t len,
    uint8_t **resp, size_t *resplen, int timeout_ms, const char **err);
void	__wrap_log_sleep(double s);

/* The answers of the current input. */
static const uint8_t *ans;
static size_t ans_left;

void
__wrap_log_sleep(double s)
{
	(void)s;
}

/* The next answer: NUL-terminated text (HTTP) or length-prefixed octets (DNS). */
static int
next_answer(const uint8_t **p, size_t *len)
{
#ifdef FUZZ_BINARY_ANSWERS
	size_t n;

	if (ans_left < 2)
		return -1;
	n = ((size_t)ans[0] << 8) | ans[1];
	if (n > ans_left - 2)
		n = ans_left - 2;
	*p = ans + 2;
	*len = n;
	ans += 2 + n;
	ans_left -= 2 + n;
#else
	const uint8_t *nul;

	if (ans == NULL)
		return -1;
	*p = ans;
	if ((nul = memchr(ans, '\0', ans_left)) != NULL) {
		*len = (size_t)(nul - ans);
		ans_left -= *len + 1;
		ans = nul + 1;
	} else {
		*len = ans_left;
		ans = NULL;
		ans_left = 0;
	}
#endif
	return 0;
}

/* A URL must be printable ASCII without spaces. */
static void
check_url(const char *url)
{
	for (; *url != '\0'; url++)
		if ((unsigned char)*url <= 0x20 || (unsigned char)*url >= 0x7f)
			abort();
}

int
__wrap_http_perform(struct http *h, struct http_request *reqs, size_t n)
{
	const uint8_t *a;
	size_t i, len, head;
	char line[64], *end;
	json_error_t jerr;

	(void)h;
	for (i = 0; i < n; i++) {
		struct http_request *r = &reqs[i];

		http_request_clear(r);
		check_url(r->url);
		if (getenv("DNS01_FUZZ_TRACE") != NULL)	/* for writing seeds (seeds.py) */
			fprintf(stderr, "fuzz: %s %s\n", r->method, r->url);
		r->attempts = 1;
		if (next_answer(&a, &len) == -1) {
			snprintf(r->error, sizeof(r->error), "Could not connect (fuzz: no answer)");
			continue;
		}
		for (head = 0; head < len && a[head] != '\n'; head++)
			;
		snprintf(line, sizeof(line), "%.*s", (int)(head < sizeof(line) ? head :
		    sizeof(line) - 1), (const char *)a);
		r->status = strtol(line, &end, 10);
		r->retry_after = strtod(end, &end);
		r->out_of_time = (int)strtol(end, &end, 10);
		if (r->status < 0 || r->status > 999 || !(r->retry_after >= 0 &&
		    r->retry_after <= 86400))
			r->status = 0, r->retry_after = 0;
		if (r->status == 0) {
			snprintf(r->error, sizeof(r->error), "Connection reset (fuzz)");
			continue;
		}
		head = head < len ? head + 1 : len;
		if ((r->answer = malloc(len - head + 1)) == NULL)
			abort();
		memcpy(r->answer, a + head, len - head);
		r->answer[len - head] = '\0';
		r->answer_len = len - head;
		snprintf(r->answer_type, sizeof(r->answer_type), "%s", FUZZ_ANSWER_TYPE);
		r->json = json_loadb(r->answer, r->answer_len, 0, &jerr);
	}
	return ST_OK;
}

int
__wrap_dnsio_tcp_exchange(const struct dns_addr *addr, const uint8_t *msg, size_t len,
    uint8_t **resp, size_t *resplen, int timeout_ms, const char **err)
{
	const uint8_t *a;
	size_t n;

	(void)addr;
	(void)timeout_ms;
	*resp = NULL;
	*resplen = 0;
	if (next_answer(&a, &n) == -1) {
		*err = "connection refused (fuzz: no answer)";
		return -1;
	}
	if ((*resp = malloc(n ? n : 1)) == NULL)
		abort();
	memcpy(*resp, a, n);
	if (n >= 2 && len >= 2)
		memcpy(*resp, msg, 2);	/* a server answers the query's id */
	*resplen = n;
	return 0;
}

/* Run one operation; status. */
static int
run_op(const struct provider_ops *ops, void *priv, const struct zone *z, int op,
    struct record *r, size_t n)
{
	char what[256];

	switch (op) {
	case 0:
		return ops->add(priv, z, r, n, 60);
	case 1:
		return ops->del(priv, z, r, n);
	case 2:
		return ops->verify ? ops->verify(priv, z, what, sizeof(what)) : ST_OK;
	default:
		return ops->confirm ? ops->confirm(priv, z, r, n, 60) : ops->add(priv, z, r, n, 60);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const configs[2] = { FUZZ_CONFIG_A, FUZZ_CONFIG_B };
	const struct provider_ops *ops;
	struct config *cfg = NULL;
	struct record r[2];
	struct zone z;
	void *priv = NULL;
	char text[1024];
	size_t n;
	int op;

	if (size < 1)
		return 0;
	op = data[0] & 3;
	n = (data[0] & 4) ? 2 : 1;
	snprintf(text, sizeof(text), "[dns01]\nstate_dir = %s\ntimeout = 300\n%s", fuzz_dir(),
	    configs[(data[0] >> 4) & 1]);
	if (config_parse_text(text, "fuzz", &cfg) != ST_OK || cfg->nproviders != 1 ||
	    (ops = provider_find(cfg->providers[0].type)) == NULL)
		abort();
	ans = data + 1;
	ans_left = size - 1;
	memset(&z, 0, sizeof(z));
	snprintf(z.apex, sizeof(z.apex), "example.test");
	snprintf(z.mname, sizeof(z.mname), "ns1.example.test");
	memset(r, 0, sizeof(r));
	r[0].name = "_acme-challenge.example.test";
	r[0].value = FUZZ_VALUE1;
	r[1].name = (data[0] & 64) ? "_acme-challenge.example.test" :
	    "_acme-challenge.www.example.test";
	r[1].value = FUZZ_VALUE2;
	if (data[0] & 8) {
		snprintf(r[0].id, sizeof(r[0].id), "%s", FUZZ_ID1);
		snprintf(r[1].id, sizeof(r[1].id), "%s", FUZZ_ID2);
	}
	if (ops->create(&cfg->providers[0], cfg, &priv) == ST_OK) {
		(void)run_op(ops, priv, &z, op, r, n);
		if (data[0] & 32)
			(void)run_op(ops, priv, &z, 1, r, n);
		ops->destroy(priv);
	}
	config_free(cfg);
	return 0;
}

#endif
