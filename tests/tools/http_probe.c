/*
 * http_probe: one request through dns01's HTTP client (core/http.c), for
 * tests/integration/test_http.py.  Not installed.
 *
 *     http_probe [-v] [-X METHOD] [-C 'Name: value']... [-c 'Name: value']...
 *         [-H 'Name: value']... [-S 'Name: value']... [-d DATA] [-t TYPE]
 *         [-a ACCEPT] [-k CA_FILE] [-4 SPEC] [-s] [-T SECONDS] URL
 *
 * -C / -c: a client header, secret / not secret (sent with every request);
 * -H / -S: a header of this request, not secret / secret; -d, -t: a raw
 * body and its Content-Type; -a: Accept; -4 SPEC: AWS SigV4 by libcurl with
 * the key from PROBE_KEY_ID and PROBE_SECRET (never argv); -s: a signer
 * hook that adds X-Probe-Signature (hex SHA-256 of method, URL and body,
 * not secret) and X-Probe-Token (secret) to each attempt; -T: the deadline
 * in seconds from now.  Prints the result as "key value" lines, then the
 * answer after a line "answer:".  Exits with the status of http_perform.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "../../core/http.h"
#include "../../core/log.h"
#include "../../core/status.h"

#define PROBE_HEADERS	8

/* Split "Name: value" in place into h.  0 or -1. */
static int
split(char *arg, struct http_header *h, int secret)
{
	char *colon = strchr(arg, ':');

	if (colon == NULL)
		return -1;
	*colon++ = '\0';
	while (*colon == ' ')
		colon++;
	h->name = arg;
	h->value = colon;
	h->secret = secret;
	return 0;
}

/* The -s signer: a digest of what is sent, and a secret token. */
static int
sign(void *arg, const struct http_request *r, const char *body, size_t len,
    struct http_signed *out)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0, i;
	char hex[2 * EVP_MAX_MD_SIZE + 1];
	EVP_MD_CTX *c = EVP_MD_CTX_new();
	int ok;

	(void)arg;
	ok = c != NULL && EVP_DigestInit_ex(c, EVP_sha256(), NULL) &&
	    EVP_DigestUpdate(c, r->method, strlen(r->method)) && EVP_DigestUpdate(c, "\n", 1) &&
	    EVP_DigestUpdate(c, r->url, strlen(r->url)) && EVP_DigestUpdate(c, "\n", 1) &&
	    EVP_DigestUpdate(c, body, len) && EVP_DigestFinal_ex(c, md, &mdlen);
	EVP_MD_CTX_free(c);
	if (!ok)
		return -1;
	for (i = 0; i < mdlen; i++)
		snprintf(hex + 2 * i, 3, "%02x", md[i]);
	return http_sign_add(out, "X-Probe-Signature", hex, 0) == -1 ||
	    http_sign_add(out, "X-Probe-Token", "probe-signer-token-0123", 1) == -1 ? -1 : 0;
}

int
main(int argc, char **argv)
{
	struct http_header client[PROBE_HEADERS];
	struct http_request r = { .method = "GET" };
	struct http *h = NULL;
	const char *ca = NULL, *sigv4 = NULL;
	double deadline = 0;
	size_t nclient = 0;
	int ch, rc, use_signer = 0;

	while ((ch = getopt(argc, argv, "vX:C:c:H:S:d:t:a:k:4:sT:")) != -1) {
		switch (ch) {
		case 'v':
			log_set_level(LOG_VERBOSE);
			break;
		case 'X':
			r.method = optarg;
			break;
		case 'C':
		case 'c':
			if (nclient == PROBE_HEADERS || split(optarg, &client[nclient++],
			    ch == 'C') == -1)
				return ST_USAGE;
			break;
		case 'H':
		case 'S':
			if (r.nheaders == HTTP_REQ_HEADERS || split(optarg,
			    &r.headers[r.nheaders++], ch == 'S') == -1)
				return ST_USAGE;
			break;
		case 'd':
			r.data = optarg;
			r.datalen = strlen(optarg);
			break;
		case 't':
			r.type = optarg;
			break;
		case 'a':
			r.accept = optarg;
			break;
		case 'k':
			ca = optarg;
			break;
		case '4':
			sigv4 = optarg;
			break;
		case 's':
			use_signer = 1;
			break;
		case 'T':
			deadline = log_now() + strtod(optarg, NULL);
			break;
		default:
			return ST_USAGE;
		}
	}
	if (optind + 1 != argc || snprintf(r.url, sizeof(r.url), "%s", argv[optind]) >=
	    (int)sizeof(r.url))
		return ST_USAGE;
	if ((rc = http_new(ca, client, nclient, &h)) != ST_OK)
		return rc;
	if (sigv4 != NULL && (rc = http_set_aws_sigv4(h, sigv4, getenv("PROBE_KEY_ID") ?
	    getenv("PROBE_KEY_ID") : "", getenv("PROBE_SECRET") ? getenv("PROBE_SECRET") :
	    "")) != ST_OK)
		goto out;
	if (use_signer)
		http_set_signer(h, sign, NULL);
	http_set_deadline(h, deadline);
	if ((rc = http_perform(h, &r, 1)) != ST_OK)
		goto out;
	printf("status %ld\ntype %s\nattempts %d\nout_of_time %d\nretry_after %.0f\n"
	    "json %d\nerror %s\nanswer:\n", r.status, r.answer_type, r.attempts,
	    r.out_of_time, r.retry_after, r.json != NULL, r.error);
	if (r.answer != NULL)
		fwrite(r.answer, 1, r.answer_len, stdout);
out:
	http_request_clear(&r);
	http_free(h);
	return rc;
}
