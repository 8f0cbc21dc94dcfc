/* Helpers of the HTTP API providers; see api.h. */
#include <stdio.h>
#include <string.h>

#include "api.h"
#include "log.h"
#include "status.h"

int
api_printable(const char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s <= 0x20 || (unsigned char)*s >= 0x7f)
			return 0;
	return 1;
}

void
api_clean_msg(const char *in, char *out, size_t outlen)
{
	size_t o = 0;

	if (outlen == 0)
		return;
	for (; in != NULL && *in != '\0' && o + 1 < outlen; in++)
		out[o++] = ((unsigned char)*in >= 0x20 && (unsigned char)*in < 0x7f) ? *in : '?';
	out[o] = '\0';
}

int
api_base_url(const struct provider_conf *pc, const char *dflt, char *out, size_t outlen)
{
	const char *url = provider_conf_get(pc, "api_url"), *host, *end;
	size_t n;

	if (url == NULL)
		url = dflt;
	n = strlen(url);
	while (n > 0 && url[n - 1] == '/')
		n--;
	if (strncmp(url, "https://", 8) != 0 || n <= 8 || n >= outlen || !api_printable(url)) {
		log_err("%s: [provider %s]: api_url must be an https:// URL", pc->origin, pc->name);
		return ST_CONFIG;
	}
	host = url + 8;
	end = host + strcspn(host, "/?#");
	if (memchr(host, '@', (size_t)(end - host)) != NULL) {
		log_err("%s: [provider %s]: api_url must not carry user:password@ (give the "
		    "credentials in their own keys)", pc->origin, pc->name);
		return ST_CONFIG;
	}
	memcpy(out, url, n);
	out[n] = '\0';
	return ST_OK;
}

int
api_no_answer(const struct http_request *r, const char *label, const char *url,
    const char *what)
{
	if (r->status != 0)
		return ST_OK;
	if (r->tls_error) {
		log_err("%s %s: TLS: %s (the server's certificate is not trusted; ca_file adds a "
		    "trust anchor)", label, url, r->error);
		return ST_CONFIG;
	}
	if (r->attempts == 0)		/* not sent (core/http.c: blocked()) */
		log_err("%s: %s: %s", label, what, r->error);
	else
		log_err("%s: %s: %s after %d attempt(s)", label, what, r->error, r->attempts);
	return ST_PROVIDER;
}
