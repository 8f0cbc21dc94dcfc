/* The JSON-over-HTTPS client; see http.h. */
#include <arpa/inet.h>
#include <dlfcn.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <curl/curl.h>

#include "config.h"
#include "http.h"
#include "log.h"
#include "status.h"

#ifndef DNS01_VERSION
#define DNS01_VERSION "0"
#endif
#define HTTP_USER_AGENT		"dns01/" DNS01_VERSION
#define HTTP_TRACE_BODY_MAX	2048	/* body bytes shown at -v */
#define HTTP_TRACE_USER		" with user '"	/* libcurl's text before a user name */
#define HTTP_POLL_MS		1000	/* longest single wait in the loop */
#define HTTP_CA_MAX		(16 * 1024 * 1024)	/* bytes of a CA bundle */

/*
 * libcurl is loaded when the first HTTP client is made, not at start-up:
 * with its 25 libraries (GnuTLS, Kerberos, LDAP, ...) it made every dns01
 * process start 10-15 ms later and 4.5 MB larger, an rfc2136 hook call
 * (which never speaks HTTP) included.  HTTP_CURL_SONAME is the ABI that
 * pkg-config's libcurl (the headers compiled against) belongs to.  Every
 * function below is called through cu; setopt and getinfo only through the
 * typed helpers after it, which stand in for curl.h's type checks.
 */
#define HTTP_CURL_SONAME	"libcurl.so.4"

static struct {
	int	loaded;
	CURLcode (*global_init)(long);
	CURL	*(*easy_init)(void);
	void	(*easy_cleanup)(CURL *);
	void	(*easy_reset)(CURL *);
	CURLcode (*easy_setopt)(CURL *, CURLoption, ...);
	CURLcode (*easy_getinfo)(CURL *, CURLINFO, ...);
	const char *(*easy_strerror)(CURLcode);
	char	*(*easy_escape)(CURL *, const char *, int);
	void	(*free)(void *);
	CURLM	*(*multi_init)(void);
	CURLMcode (*multi_cleanup)(CURLM *);
	CURLMcode (*multi_add_handle)(CURLM *, CURL *);
	CURLMcode (*multi_remove_handle)(CURLM *, CURL *);
	CURLMcode (*multi_perform)(CURLM *, int *);
	CURLMsg	*(*multi_info_read)(CURLM *, int *);
	CURLMcode (*multi_poll)(CURLM *, struct curl_waitfd *, unsigned int, int, int *);
	struct curl_slist *(*slist_append)(struct curl_slist *, const char *);
	void	(*slist_free_all)(struct curl_slist *);
	CURLU	*(*url)(void);
	void	(*url_cleanup)(CURLU *);
	CURLUcode (*url_set)(CURLU *, CURLUPart, const char *, unsigned int);
	CURLUcode (*url_get)(const CURLU *, CURLUPart, char **, unsigned int);
} cu;

/* Bind one symbol of lib into *fn.  0 or -1. */
static int
bind_fn(void *lib, const char *name, void *fn, size_t size)
{
	void *sym = dlsym(lib, name);

	if (sym == NULL || size != sizeof(sym))
		return -1;
	memcpy(fn, &sym, size);	/* object to function pointer, as POSIX dlsym() allows */
	return 0;
}

#define BIND(lib, field, name)	bind_fn((lib), (name), &cu.field, sizeof(cu.field))

/* Load libcurl and initialise it, once.  0, or -1 after saying why. */
static int
load_curl(void)
{
	void *lib;
	int bad = 0;

	if (cu.loaded)
		return 0;
	if ((lib = dlopen(HTTP_CURL_SONAME, RTLD_NOW | RTLD_LOCAL)) == NULL) {
		log_err("cannot load %s (%s): the HTTP providers need libcurl (Debian: "
		    "apt-get install libcurl4)", HTTP_CURL_SONAME, dlerror());
		return -1;
	}
	bad |= BIND(lib, global_init, "curl_global_init");
	bad |= BIND(lib, easy_init, "curl_easy_init");
	bad |= BIND(lib, easy_cleanup, "curl_easy_cleanup");
	bad |= BIND(lib, easy_reset, "curl_easy_reset");
	bad |= BIND(lib, easy_setopt, "curl_easy_setopt");
	bad |= BIND(lib, easy_getinfo, "curl_easy_getinfo");
	bad |= BIND(lib, easy_strerror, "curl_easy_strerror");
	bad |= BIND(lib, easy_escape, "curl_easy_escape");
	bad |= BIND(lib, free, "curl_free");
	bad |= BIND(lib, multi_init, "curl_multi_init");
	bad |= BIND(lib, multi_cleanup, "curl_multi_cleanup");
	bad |= BIND(lib, multi_add_handle, "curl_multi_add_handle");
	bad |= BIND(lib, multi_remove_handle, "curl_multi_remove_handle");
	bad |= BIND(lib, multi_perform, "curl_multi_perform");
	bad |= BIND(lib, multi_info_read, "curl_multi_info_read");
	bad |= BIND(lib, multi_poll, "curl_multi_poll");
	bad |= BIND(lib, slist_append, "curl_slist_append");
	bad |= BIND(lib, slist_free_all, "curl_slist_free_all");
	bad |= BIND(lib, url, "curl_url");
	bad |= BIND(lib, url_cleanup, "curl_url_cleanup");
	bad |= BIND(lib, url_set, "curl_url_set");
	bad |= BIND(lib, url_get, "curl_url_get");
	if (bad || cu.global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		log_err("%s lacks a function dns01 needs, or does not start: libcurl 7.85 "
		    "or later is needed", HTTP_CURL_SONAME);
		dlclose(lib);
		memset(&cu, 0, sizeof(cu));
		return -1;
	}
	cu.loaded = 1;		/* never unloaded: libcurl keeps global state */
	return 0;
}

/* curl_easy_setopt() by the type of the option's argument.  1 when it took. */
static int
opt_long(CURL *c, CURLoption o, long v)
{
	return cu.easy_setopt(c, o, v) == CURLE_OK;
}

static int
opt_ptr(CURL *c, CURLoption o, const void *v)
{
	return cu.easy_setopt(c, o, v) == CURLE_OK;
}

static int
opt_write(CURL *c, curl_write_callback fn)
{
	return cu.easy_setopt(c, CURLOPT_WRITEFUNCTION, fn) == CURLE_OK;
}

static int
opt_debug(CURL *c, curl_debug_callback fn)
{
	return cu.easy_setopt(c, CURLOPT_DEBUGFUNCTION, fn) == CURLE_OK;
}

/* curl_easy_getinfo() by the type of what it gives. */
static void
info_long(CURL *c, CURLINFO i, long *v)
{
	if (cu.easy_getinfo(c, i, v) != CURLE_OK)
		*v = 0;
}

static void
info_off(CURL *c, CURLINFO i, curl_off_t *v)
{
	if (cu.easy_getinfo(c, i, v) != CURLE_OK)
		*v = 0;
}

static void
info_ptr(CURL *c, CURLINFO i, char **v)
{
	if (cu.easy_getinfo(c, i, v) != CURLE_OK)
		*v = NULL;
}

/* Headers libcurl itself may send with credentials (URL userinfo, proxy). */
static const char *const curl_secret_headers[] = { "Authorization", "Proxy-Authorization",
	NULL };

struct http {
	CURLM	*multi;			/* owns the connection cache: connections are reused */
	CURL	*easy[HTTP_MAX_PARALLEL];
	struct curl_slist *headers;
	char	*ca;			/* system bundle + ca_file, or NULL */
	size_t	 calen;
	/* for the trace: the headers' names and secret flags, no values */
	char	 names[HTTP_MAX_HEADERS][HTTP_NAME_MAX];
	struct http_header trace[HTTP_MAX_HEADERS];
	size_t	 ntrace;
	struct http_retry retry;
	double	 deadline;		/* log_now() seconds, 0: none */
	http_signer sign;		/* NULL: none */
	void	*sign_arg;
	char	 sigv4[HTTP_SIGV4_MAX];	/* CURLOPT_AWS_SIGV4, "" when not used */
	char	*sigv4_user, *sigv4_secret;	/* wiped when freed */
	double	 said_until;		/* the end of the last Retry-After wait said */
	double	 blocked_until;		/* a final answer's Retry-After: no request
					   is sent before this (log_now() seconds) */
	int	 metadata;		/* http_set_metadata(): plain HTTP to such hosts */
};

/* The policy of a client that sets none. */
static const struct http_retry default_retry = {
	.attempts = HTTP_MAX_ATTEMPTS,
	.first_s = HTTP_BACKOFF_MS / 1000.0,
	.max_s = HTTP_BACKOFF_MAX_S,
	.statuses = { 423, 429, 500, 502, 503, 504, 0 },
};

#define HTTP_TRACE_MAX	(HTTP_MAX_HEADERS + HTTP_REQ_HEADERS + HTTP_SIGN_HEADERS)

struct xfer {
	struct http_request *r;
	struct curl_slist *hdrs;	/* this attempt's headers (may hold credentials) */
	struct http_signed sig;		/* what the signer added to it */
	struct http_header trace[HTTP_TRACE_MAX];	/* names and secret flags, for -v */
	size_t	 ntrace;
	CURL	*easy;			/* NULL when not running */
	char	*body;			/* the answer */
	size_t	 len;
	int	 overflow;
	char	*sent;			/* the JSON body sent */
	double	 not_before;		/* earliest start of the next attempt */
	int	 done;
	int	 quiet_in;		/* -v shows the answer's length only (metadata:
					   its answers carry credentials) */
	char	 errbuf[CURL_ERROR_SIZE];
};

/* Append the contents of path to the CA buffer.  0 or -1. */
static int
ca_append(struct http *h, const char *path, int required)
{
	char *text = NULL;
	size_t n;

	if (access(path, R_OK) != 0) {
		if (required)
			log_err("ca_file %s: cannot read it", path);
		return required ? -1 : 0;
	}
	if (config_read_file_max(path, HTTP_CA_MAX, &text) != ST_OK)
		return -1;
	n = strlen(text);
	if ((h->ca = realloc(h->ca, h->calen + n + 2)) == NULL) {
		free(text);
		return -1;
	}
	memcpy(h->ca + h->calen, text, n);
	h->calen += n;
	h->ca[h->calen++] = '\n';
	free(text);
	return 0;
}

/* Free a string after wiping it (a credential). */
static void
wipe_free(char *p)
{
	if (p != NULL)
		explicit_bzero(p, strlen(p));
	free(p);
}

/* 1 when a header fits in a request: a token name, a value without CR or LF. */
static int
header_ok(const struct http_header *hd)
{
	size_t n = strlen(hd->name), i;

	for (i = 0; i < n; i++)
		if ((unsigned char)hd->name[i] <= ' ' || (unsigned char)hd->name[i] >= 0x7f ||
		    hd->name[i] == ':')
			return 0;
	return n > 0 && n < HTTP_NAME_MAX && strpbrk(hd->value, "\r\n") == NULL;
}

int
http_new(const char *ca_file, const struct http_header *headers, size_t n, struct http **out)
{
	struct http *h;
	char line[1024];
	size_t i;

	if (n > HTTP_MAX_HEADERS)
		return ST_FAIL;
	for (i = 0; i < n; i++)
		if (!header_ok(&headers[i])) {
			log_err("cannot set up the HTTP client: malformed header");
			return ST_FAIL;
		}
	if (load_curl() == -1)
		return ST_FAIL;
	if ((h = calloc(1, sizeof(*h))) == NULL) {
		log_err("out of memory");
		return ST_FAIL;
	}
	h->retry = default_retry;
	if ((h->multi = cu.multi_init()) == NULL)
		goto fail;
	if (ca_file != NULL && (ca_append(h, HTTP_SYSTEM_CA, 0) == -1 ||
	    ca_append(h, ca_file, 1) == -1)) {
		http_free(h);
		return ST_CONFIG;
	}
	for (i = 0; i < n; i++) {
		snprintf(line, sizeof(line), "%s: %s", headers[i].name, headers[i].value);
		h->headers = cu.slist_append(h->headers, line);
		explicit_bzero(line, sizeof(line));
		memcpy(h->names[i], headers[i].name, strlen(headers[i].name) + 1);
		h->trace[i].name = h->names[i];
		h->trace[i].value = "";
		h->trace[i].secret = headers[i].secret;
		if (h->headers == NULL)
			goto fail;
	}
	h->ntrace = n;
	*out = h;
	return ST_OK;
fail:
	log_err("cannot set up the HTTP client");
	http_free(h);
	return ST_FAIL;
}

void
http_set_retry(struct http *h, const struct http_retry *p)
{
	h->retry = *p;
	if (h->retry.attempts < 1)
		h->retry.attempts = 1;
	h->retry.statuses[HTTP_MAX_STATUSES - 1] = 0;
}

void
http_set_deadline(struct http *h, double deadline)
{
	h->deadline = deadline;
}

void
http_set_metadata(struct http *h)
{
	h->metadata = 1;
}

int
http_metadata_host(const char *host)
{
	unsigned char a[16];
	char buf[64];
	size_t len = strlen(host);

	if (len > 0 && host[len - 1] == '.')
		len--;
	if (len == strlen(HTTP_GCE_METADATA_NAME) &&
	    strncasecmp(host, HTTP_GCE_METADATA_NAME, len) == 0)
		return 1;
	if (host[0] == '[' && len >= 2 && host[len - 1] == ']' && len - 2 < sizeof(buf)) {
		memcpy(buf, host + 1, len - 2);
		buf[len - 2] = '\0';
		if (inet_pton(AF_INET6, buf, a) != 1)
			return 0;
		if (memcmp(a, in6addr_loopback.s6_addr, 16) == 0)
			return 1;			/* ::1 */
		if (a[0] == 0xfe && (a[1] & 0xc0) == 0x80)
			return 1;			/* fe80::/10, link-local */
		return inet_pton(AF_INET6, HTTP_AWS_METADATA_V6, buf) == 1 &&
		    memcmp(a, buf, 16) == 0;
	}
	if (inet_pton(AF_INET, host, a) != 1)
		return 0;
	return a[0] == 127 || (a[0] == 169 && a[1] == 254);
}

/*
 * May x's request go out?  An https URL always; an http URL only from a
 * metadata client and to a metadata host.  0, or -1 with r->error set.
 */
static int
url_allowed(const struct http *h, struct xfer *x)
{
	CURLU *u = cu.url();
	char *scheme = NULL, *host = NULL;
	int rc = -1;

	if (u == NULL || cu.url_set(u, CURLUPART_URL, x->r->url, 0) != CURLUE_OK ||
	    cu.url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
	    cu.url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK) {
		snprintf(x->r->error, sizeof(x->r->error), "malformed URL");
		goto out;
	}
	if (strcasecmp(scheme, "https") == 0 ||
	    (h->metadata && strcasecmp(scheme, "http") == 0 && http_metadata_host(host)))
		rc = 0;
	else
		snprintf(x->r->error, sizeof(x->r->error), "%s", h->metadata ?
		    "plain HTTP goes only to an instance metadata address (link-local or "
		    "loopback, or " HTTP_GCE_METADATA_NAME ")" : "HTTPS only");
out:
	cu.free(scheme);
	cu.free(host);
	if (u != NULL)
		cu.url_cleanup(u);
	return rc;
}

void
http_set_signer(struct http *h, http_signer fn, void *arg)
{
	h->sign = fn;
	h->sign_arg = arg;
}

int
http_set_aws_sigv4(struct http *h, const char *spec, const char *key_id, const char *secret)
{
	struct http_header k = { .name = "x", .value = key_id }, v = { .name = "x",
	    .value = secret };
	int n = snprintf(h->sigv4, sizeof(h->sigv4), "%s", spec);

	if (n <= 0 || (size_t)n >= sizeof(h->sigv4) || strncmp(spec, "aws:amz:", 8) != 0 ||
	    !header_ok(&k) || !header_ok(&v) || *key_id == '\0' || *secret == '\0') {
		h->sigv4[0] = '\0';
		log_err("cannot sign requests with AWS SigV4: malformed key or signing scope");
		return ST_CONFIG;
	}
	wipe_free(h->sigv4_user);
	wipe_free(h->sigv4_secret);
	h->sigv4_user = strdup(key_id);
	h->sigv4_secret = strdup(secret);
	if (h->sigv4_user == NULL || h->sigv4_secret == NULL) {
		h->sigv4[0] = '\0';
		log_err("out of memory");
		return ST_FAIL;
	}
	return ST_OK;
}

int
http_sign_add(struct http_signed *s, const char *name, const char *value, int secret)
{
	size_t nl = strlen(name) + 1, vl = strlen(value) + 1;
	struct http_header t = { .name = name, .value = value };

	if (s->n >= HTTP_SIGN_HEADERS || !header_ok(&t) || s->used + nl + vl > sizeof(s->buf))
		return -1;
	memcpy(s->buf + s->used, name, nl);
	s->h[s->n].name = s->buf + s->used;
	s->used += nl;
	memcpy(s->buf + s->used, value, vl);
	s->h[s->n].value = s->buf + s->used;
	s->used += vl;
	s->h[s->n].secret = secret;
	s->n++;
	return 0;
}

/* Free a header list after wiping it (its lines may hold credentials). */
static void
wipe_slist(struct curl_slist *l)
{
	struct curl_slist *s;

	for (s = l; s != NULL; s = s->next)
		explicit_bzero(s->data, strlen(s->data));
	if (l != NULL)
		cu.slist_free_all(l);
}

void
http_free(struct http *h)
{
	size_t i;

	if (h == NULL)
		return;
	for (i = 0; i < HTTP_MAX_PARALLEL; i++)
		if (h->easy[i] != NULL)
			cu.easy_cleanup(h->easy[i]);
	if (h->multi != NULL)
		cu.multi_cleanup(h->multi);
	wipe_slist(h->headers);		/* they hold credentials */
	wipe_free(h->sigv4_user);
	wipe_free(h->sigv4_secret);
	free(h->ca);
	free(h);
}

void
http_request_clear(struct http_request *r)
{
	json_decref(r->json);
	r->json = NULL;
	r->status = 0;
	r->error[0] = '\0';
	r->tls_error = 0;
	r->attempts = 0;
	r->retry_after = 0;
	r->out_of_time = 0;
	free(r->answer);
	r->answer = NULL;
	r->answer_len = 0;
	r->answer_type[0] = '\0';
}

int
http_url(char *url, size_t len, const char *base, const char *path, const char *const *query)
{
	size_t i;
	int n;

	n = snprintf(url, len, "%s%s", base, path);
	if (n < 0 || (size_t)n >= len)
		return -1;
	for (i = 0; query != NULL && query[i] != NULL; i += 2) {
		char *v = cu.easy_escape(NULL, query[i + 1], 0);
		size_t o = strlen(url);

		if (v == NULL)
			return -1;
		n = snprintf(url + o, len - o, "%c%s=%s", i == 0 ? '?' : '&', query[i], v);
		cu.free(v);
		if (n < 0 || (size_t)n >= len - o)
			return -1;
	}
	return 0;
}

int
http_url_json(char *url, size_t len, const char *base, const char *path, json_t *q)
{
	char *text = json_dumps(q, JSON_COMPACT), *esc = NULL;
	int n = -1;

	if (text != NULL && (esc = cu.easy_escape(NULL, text, 0)) != NULL)
		n = snprintf(url, len, "%s%s?%s", base, path, esc);
	free(text);
	cu.free(esc);
	return n < 0 || (size_t)n >= len ? -1 : 0;
}

static size_t
on_body(char *data, size_t size, size_t nmemb, void *arg)
{
	struct xfer *x = arg;
	size_t n = size * nmemb;
	char *p;

	if (x->len + n > HTTP_MAX_BODY) {
		x->overflow = 1;
		return 0;
	}
	if ((p = realloc(x->body, x->len + n + 1)) == NULL)
		return 0;
	x->body = p;
	memcpy(x->body + x->len, data, n);
	x->len += n;
	x->body[x->len] = '\0';
	return n;
}

/* Print at most max bytes of data on stderr with unprintables as '.'. */
static void
trace_bytes(const char *prefix, const char *data, size_t len, size_t max)
{
	size_t i;

	fprintf(stderr, "dns01: debug: %s", prefix);
	for (i = 0; i < len && i < max; i++) {
		unsigned char c = (unsigned char)data[i];

		fputc(c >= 0x20 && c < 0x7f ? c : '.', stderr);
	}
	fprintf(stderr, "%s\n", len > max ? "..." : "");
}

/* 1 when the name (len octets) is name, without regard to case. */
static int
same_name(const char *p, size_t len, const char *name)
{
	return strlen(name) == len && strncasecmp(p, name, len) == 0;
}

void
http_trace_header(const struct http_header *headers, size_t n, const char *line, size_t len,
    char *out, size_t outlen)
{
	const char *colon = memchr(line, ':', len);
	size_t i, o, name = colon != NULL ? (size_t)(colon - line) : 0;
	int secret = 0;

	for (i = 0; colon != NULL && curl_secret_headers[i] != NULL; i++)
		secret |= same_name(line, name, curl_secret_headers[i]);
	for (i = 0; colon != NULL && i < n; i++)
		secret |= headers[i].secret && same_name(line, name, headers[i].name);
	if (outlen == 0)
		return;
	if (secret)
		len = name;
	for (o = 0; o < len && o + 1 < outlen; o++) {
		unsigned char c = (unsigned char)line[o];

		out[o] = c >= 0x20 && c < 0x7f ? (char)c : '.';
	}
	out[o] = '\0';
	if (secret)
		snprintf(out + o, outlen - o, ": [redacted]");
	else if (o < len && o >= 3)
		memcpy(out + o - 3, "...", 3);	/* cut */
}

/* One header line per call; secret headers are shown redacted. */
static void
trace_headers(const struct xfer *x, const char *prefix, const char *data, size_t len)
{
	const char *p = data, *end = data + len, *nl;
	char line[HTTP_TRACE_BODY_MAX];
	size_t n;

	for (; p < end; p = nl + 1) {
		if ((nl = memchr(p, '\n', (size_t)(end - p))) == NULL)
			nl = end;
		if (nl - p <= 1)
			continue;
		n = (size_t)(nl - p) - (nl[-1] == '\r');
		http_trace_header(x->trace, x->ntrace, p, n, line, sizeof(line));
		fprintf(stderr, "dns01: debug: %s%s\n", prefix, line);
	}
}

static int
on_debug(CURL *c, curl_infotype type, char *data, size_t len, void *arg)
{
	const struct xfer *x = arg;
	const char *user;
	char shown[160];
	int n;

	(void)c;
	switch (type) {
	case CURLINFO_TEXT:
		if (len && data[len - 1] == '\n')
			len--;
		/*
		 * libcurl says "Server auth using AWS_SIGV4 with user '<key id>'"
		 * (lib/http.c output_auth_headers): the user is a credential.
		 */
		if ((user = memmem(data, len, HTTP_TRACE_USER, strlen(HTTP_TRACE_USER))) != NULL) {
			n = snprintf(shown, sizeof(shown), "%.*s with user [redacted]",
			    (int)(user - data < 128 ? user - data : 128), data);
			trace_bytes("* ", shown, (size_t)n, HTTP_TRACE_BODY_MAX);
			break;
		}
		trace_bytes("* ", data, len, HTTP_TRACE_BODY_MAX);
		break;
	case CURLINFO_HEADER_OUT:
		trace_headers(x, "> ", data, len);
		break;
	case CURLINFO_HEADER_IN:
		trace_headers(x, "< ", data, len);
		break;
	case CURLINFO_DATA_OUT:
	case CURLINFO_DATA_IN:
		/*
		 * Bodies that carry credentials are shown by their length: a
		 * request marked secret_body (a token exchange), and every
		 * answer of a metadata client (it may hold a role's keys).
		 */
		if (x->r->secret_body || (type == CURLINFO_DATA_IN && x->quiet_in))
			fprintf(stderr, "dns01: debug: %s[%zu octets, not shown: %s]\n",
			    type == CURLINFO_DATA_OUT ? "> " : "< ", len,
			    x->r->secret_body ? "credentials" : "an instance metadata answer "
			    "may hold credentials");
		else
			trace_bytes(type == CURLINFO_DATA_OUT ? "> " : "< ", data, len,
			    HTTP_TRACE_BODY_MAX);
		break;
	default:
		break;
	}
	return 0;
}

/* Append "name: value" to *l and name to x's trace table.  0 or -1. */
static int
add_header(struct xfer *x, struct curl_slist **l, const struct http_header *hd)
{
	char line[HTTP_URL_MAX + HTTP_NAME_MAX];
	struct curl_slist *n;
	int len;

	if (!header_ok(hd) || x->ntrace >= HTTP_TRACE_MAX)
		return -1;
	len = snprintf(line, sizeof(line), "%s: %s", hd->name, hd->value);
	n = len > 0 && (size_t)len < sizeof(line) ? cu.slist_append(*l, line) : NULL;
	explicit_bzero(line, sizeof(line));
	if (n == NULL)
		return -1;
	*l = n;
	x->trace[x->ntrace].name = hd->name;
	x->trace[x->ntrace].value = "";
	x->trace[x->ntrace++].secret = hd->secret;
	return 0;
}

/*
 * This attempt's headers in x->hdrs: the client's, Accept and Content-Type,
 * the request's own, then the signer's over the body to be sent.  The
 * request's own or the signer's Accept or Content-Type replaces the
 * default (libcurl would send both).  0, or -1 with r->error set.
 */
static int
build_headers(struct http *h, struct xfer *x)
{
	const struct http_request *r = x->r;
	const char *body = x->sent != NULL ? x->sent : r->data != NULL ? r->data : "";
	size_t blen = x->sent != NULL ? strlen(x->sent) : r->data != NULL ? r->datalen : 0;
	struct http_header acc = { "Accept", r->accept ? r->accept : "application/json", 0 };
	struct http_header ct = { "Content-Type", r->type && r->data ? r->type :
	    "application/json", 0 };
	struct curl_slist *l = NULL, *c;
	int own_acc = 0, own_ct = 0;
	size_t i;

	wipe_slist(x->hdrs);
	x->hdrs = NULL;
	memset(&x->sig, 0, sizeof(x->sig));
	memcpy(x->trace, h->trace, h->ntrace * sizeof(h->trace[0]));
	x->ntrace = h->ntrace;
	for (c = h->headers; c != NULL; c = c->next) {
		struct curl_slist *n = cu.slist_append(l, c->data);

		if (n == NULL)
			goto fail;
		l = n;
	}
	if (h->sign != NULL && h->sign(h->sign_arg, r, body, blen, &x->sig) == -1) {
		snprintf(x->r->error, sizeof(x->r->error), "cannot sign the request");
		goto out;
	}
	for (i = 0; i < r->nheaders; i++) {
		own_acc |= strcasecmp(r->headers[i].name, "Accept") == 0;
		own_ct |= strcasecmp(r->headers[i].name, "Content-Type") == 0;
	}
	for (i = 0; i < x->sig.n; i++) {
		own_acc |= strcasecmp(x->sig.h[i].name, "Accept") == 0;
		own_ct |= strcasecmp(x->sig.h[i].name, "Content-Type") == 0;
	}
	if ((!own_acc && add_header(x, &l, &acc) == -1) ||
	    (!own_ct && add_header(x, &l, &ct) == -1))
		goto fail;
	for (i = 0; i < r->nheaders; i++)
		if (add_header(x, &l, &r->headers[i]) == -1)
			goto fail;
	for (i = 0; i < x->sig.n; i++)
		if (add_header(x, &l, &x->sig.h[i]) == -1)
			goto fail;
	x->hdrs = l;
	return 0;
fail:
	snprintf(x->r->error, sizeof(x->r->error), "malformed or too many request headers");
out:
	wipe_slist(l);
	return -1;
}

/* Set up x's easy handle for one attempt (headers built).  0 or -1. */
static int
prepare(struct http *h, struct xfer *x)
{
	CURL *c = x->easy;
	int ok = 1;

	cu.easy_reset(c);
	free(x->body);
	x->body = NULL;
	x->len = 0;
	x->overflow = 0;
	x->errbuf[0] = '\0';
	ok &= opt_ptr(c, CURLOPT_URL, x->r->url);
	/* url_allowed() checked the host of a plain-HTTP URL */
	ok &= opt_ptr(c, CURLOPT_PROTOCOLS_STR, h->metadata ? "http,https" : "https");
	ok &= opt_long(c, CURLOPT_FOLLOWLOCATION, 0L);
	ok &= opt_long(c, CURLOPT_SSL_VERIFYPEER, 1L);
	ok &= opt_long(c, CURLOPT_SSL_VERIFYHOST, 2L);
	ok &= opt_long(c, CURLOPT_NOSIGNAL, 1L);
	ok &= opt_long(c, CURLOPT_CONNECTTIMEOUT, h->metadata ? (long)HTTP_METADATA_CONNECT_S :
	    (long)HTTP_CONNECT_TIMEOUT_S);
	ok &= opt_long(c, CURLOPT_TIMEOUT, h->metadata ? (long)HTTP_METADATA_TOTAL_S :
	    (long)HTTP_TOTAL_TIMEOUT_S);
	ok &= opt_ptr(c, CURLOPT_USERAGENT, HTTP_USER_AGENT);
	ok &= opt_ptr(c, CURLOPT_HTTPHEADER, x->hdrs);
	ok &= opt_write(c, on_body);
	ok &= opt_ptr(c, CURLOPT_WRITEDATA, x);
	ok &= opt_ptr(c, CURLOPT_ERRORBUFFER, x->errbuf);
	ok &= opt_ptr(c, CURLOPT_PRIVATE, x);
	ok &= opt_ptr(c, CURLOPT_CUSTOMREQUEST, x->r->method);
	if (x->sent != NULL) {
		ok &= opt_long(c, CURLOPT_POSTFIELDSIZE, (long)strlen(x->sent));
		ok &= opt_ptr(c, CURLOPT_POSTFIELDS, x->sent);
	} else if (x->r->data != NULL) {
		ok &= opt_long(c, CURLOPT_POSTFIELDSIZE, (long)x->r->datalen);
		ok &= opt_ptr(c, CURLOPT_POSTFIELDS, x->r->data);
	}
	if (h->sigv4[0] != '\0') {
		ok &= opt_ptr(c, CURLOPT_AWS_SIGV4, h->sigv4);
		ok &= opt_ptr(c, CURLOPT_USERNAME, h->sigv4_user);
		ok &= opt_ptr(c, CURLOPT_PASSWORD, h->sigv4_secret);
	}
	if (h->ca != NULL) {
		struct curl_blob blob = { .data = h->ca, .len = h->calen,
		    .flags = CURL_BLOB_NOCOPY };

		ok &= opt_ptr(c, CURLOPT_CAINFO_BLOB, &blob);
	}
	if (log_get_level() >= LOG_VERBOSE) {
		x->quiet_in = h->metadata;
		ok &= opt_debug(c, on_debug);
		ok &= opt_ptr(c, CURLOPT_DEBUGDATA, x);
		ok &= opt_long(c, CURLOPT_VERBOSE, 1L);
	}
	return ok ? 0 : -1;
}

/*
 * Whether r must not be sent because a final answer of this client's server
 * asked for a pause that has not ended (Retry-After beyond the deadline, or
 * after the last attempt): another request would only be refused again, and
 * one to an API that blocks the credentials can prolong the block.  Such a
 * request ends unsent (attempts 0), out of time, with the rest of the pause
 * as its retry_after.
 */
static int
blocked(const struct http *h, struct http_request *r, double now)
{
	char when[16];

	if (h->blocked_until <= now)
		return 0;
	r->retry_after = h->blocked_until - now;
	r->out_of_time = 1;
	snprintf(r->error, sizeof(r->error), "not sent: the server asked for a pause "
	    "until %s (Retry-After)", log_clock((double)time(NULL) + r->retry_after, when,
	    sizeof(when)));
	return 1;
}

/* Connection-level failures worth another attempt. */
static int
retryable_error(CURLcode rc)
{
	switch (rc) {
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_COULDNT_CONNECT:
	case CURLE_OPERATION_TIMEDOUT:
	case CURLE_SEND_ERROR:
	case CURLE_RECV_ERROR:
	case CURLE_GOT_NOTHING:
	case CURLE_PARTIAL_FILE:
	case CURLE_HTTP2:
	case CURLE_HTTP2_STREAM:
		return 1;
	default:
		return 0;
	}
}

int
http_retry_status(const struct http_retry *p, long status)
{
	size_t i;

	for (i = 0; i < HTTP_MAX_STATUSES && p->statuses[i] != 0; i++)
		if (p->statuses[i] == status)
			return 1;
	return 0;
}

/*
 * The retry policy's one decision.  The server's Retry-After wins over the
 * doubling pause, however long, because it says when the server will answer
 * (Cloudflare's rate limit blocks every call for five minutes and says how
 * much of them is left): cutting it short only spends attempts on more
 * refusals, and giving up before it ends throws away a run that could have
 * finished.  What bounds it is the run's deadline — a pause that would end
 * after it is not taken, so the caller can say at once when to try again.
 * Without a deadline Retry-After is cut to HTTP_MAX_RETRY_AFTER_S.
 */
double
http_retry_pause(const struct http_retry *p, int attempts, double retry_after, double now,
    double deadline)
{
	double s = p->first_s;
	int i;

	if (attempts >= p->attempts)
		return -1;
	if (retry_after > 0)
		s = deadline > 0 || retry_after < HTTP_MAX_RETRY_AFTER_S ? retry_after :
		    HTTP_MAX_RETRY_AFTER_S;
	else {
		for (i = 1; i < attempts && s < p->max_s; i++)
			s *= 2;
		if (s > p->max_s)
			s = p->max_s;
	}
	if (deadline > 0 && now + s > deadline)
		return -1;
	return s;
}

/* Judge a finished attempt: final (1) or to be retried (0). */
static int
finish(struct http *h, struct xfer *x, CURLcode rc)
{
	struct http_request *r = x->r;
	curl_off_t retry_after = 0;
	json_error_t jerr;
	long status = 0;
	double pause, now = log_now();
	char what[CURL_ERROR_SIZE + 32], *type = NULL;

	info_long(x->easy, CURLINFO_RESPONSE_CODE, &status);
	r->retry_after = 0;
	if (rc == CURLE_OK) {
		info_off(x->easy, CURLINFO_RETRY_AFTER, &retry_after);
		r->retry_after = retry_after > 0 ? (double)retry_after : 0;
	}
	if ((rc == CURLE_OK && http_retry_status(&h->retry, status)) ||
	    (rc != CURLE_OK && retryable_error(rc))) {
		pause = http_retry_pause(&h->retry, r->attempts, r->retry_after, now, h->deadline);
		if (rc == CURLE_OK)
			snprintf(what, sizeof(what), "HTTP %ld", status);
		else
			snprintf(what, sizeof(what), "%s", x->errbuf[0] ? x->errbuf :
			    cu.easy_strerror(rc));
		if (pause >= 0) {
			x->not_before = now + pause;
			if (r->retry_after > 0 && x->not_before - h->said_until < 1 &&
			    h->said_until - x->not_before < 1)
				log_debug("%s %s: %s, waiting with the others for the server's "
				    "Retry-After", r->method, r->url, what);
			else if (r->retry_after > 0) {
				h->said_until = x->not_before;
				log_warn("%s %s: %s, the server asks to wait %.0f s (Retry-After): "
				    "trying again then, within the timeout (attempt %d of %d)",
				    r->method, r->url, what, pause, r->attempts + 1,
				    h->retry.attempts);
			} else
				log_warn("%s %s: %s, trying again in %.1f s (attempt %d of %d)",
				    r->method, r->url, what, pause, r->attempts + 1,
				    h->retry.attempts);
			return 0;
		}
		r->out_of_time = r->attempts < h->retry.attempts;
		if (r->retry_after > 0 && now + r->retry_after > h->blocked_until)
			h->blocked_until = now + r->retry_after;
	}
	if (rc != CURLE_OK) {
		if (x->overflow)
			snprintf(r->error, sizeof(r->error), "answer too large (more than %d "
			    "octets; not read further)", HTTP_MAX_BODY);
		else
			snprintf(r->error, sizeof(r->error), "%s", x->errbuf[0] ? x->errbuf :
			    cu.easy_strerror(rc));
		r->tls_error = rc == CURLE_PEER_FAILED_VERIFICATION ||
		    rc == CURLE_SSL_CACERT_BADFILE || rc == CURLE_SSL_CONNECT_ERROR;
		r->status = 0;
		return 1;
	}
	r->status = status;
	info_ptr(x->easy, CURLINFO_CONTENT_TYPE, &type);
	if (type != NULL)
		snprintf(r->answer_type, sizeof(r->answer_type), "%s", type);
	if (x->body != NULL)
		r->json = json_loadb(x->body, x->len, 0, &jerr);
	r->answer = x->body;
	r->answer_len = x->len;
	x->body = NULL;
	return 1;
}

int
http_perform(struct http *h, struct http_request *reqs, size_t n)
{
	struct xfer *x = calloc(n ? n : 1, sizeof(*x));
	size_t i, left = n, running = 0, slot;
	int rc = ST_FAIL, still;
	CURLMsg *msg;

	if (x == NULL)
		return ST_FAIL;
	for (i = 0; i < n; i++) {
		x[i].r = &reqs[i];
		http_request_clear(&reqs[i]);
		if (reqs[i].body != NULL && (x[i].sent = json_dumps(reqs[i].body,
		    JSON_COMPACT)) == NULL)
			goto out;
	}
	while (left > 0) {
		double now = log_now(), wake = now + HTTP_POLL_MS / 1000.0;

		/* Start what may start, in the free slots. */
		for (i = 0; i < n && running < HTTP_MAX_PARALLEL; i++) {
			if (x[i].done || x[i].easy != NULL)
				continue;
			if (x[i].not_before > now) {
				if (x[i].not_before < wake)
					wake = x[i].not_before;
				continue;
			}
			if (blocked(h, x[i].r, now) ||
			    url_allowed(h, &x[i]) == -1 ||
			    build_headers(h, &x[i]) == -1) {	/* this request fails */
				x[i].r->status = 0;
				x[i].done = 1;
				left--;
				continue;
			}
			for (slot = 0; slot < HTTP_MAX_PARALLEL; slot++) {
				size_t j;

				for (j = 0; j < n; j++)
					if (x[j].easy != NULL && x[j].easy == h->easy[slot])
						break;
				if (j == n)
					break;
			}
			if (h->easy[slot] == NULL && (h->easy[slot] = cu.easy_init()) == NULL)
				goto out;
			x[i].easy = h->easy[slot];
			x[i].r->attempts++;
			if (prepare(h, &x[i]) == -1 ||
			    cu.multi_add_handle(h->multi, x[i].easy) != CURLM_OK)
				goto out;
			running++;
		}
		if (cu.multi_perform(h->multi, &still) != CURLM_OK)
			goto out;
		while ((msg = cu.multi_info_read(h->multi, &still)) != NULL) {
			struct xfer *done = NULL;

			if (msg->msg != CURLMSG_DONE)
				continue;
			info_ptr(msg->easy_handle, CURLINFO_PRIVATE, (char **)&done);
			cu.multi_remove_handle(h->multi, msg->easy_handle);
			running--;
			if (finish(h, done, msg->data.result)) {
				done->done = 1;
				left--;
			}
			done->easy = NULL;
		}
		if (left == 0)
			break;
		now = log_now();
		if (cu.multi_poll(h->multi, NULL, 0, wake > now ? (int)((wake - now) * 1000) + 1 :
		    0, NULL) != CURLM_OK)
			goto out;
	}
	rc = ST_OK;
out:
	for (i = 0; i < n; i++) {
		if (x[i].easy != NULL)
			cu.multi_remove_handle(h->multi, x[i].easy);
		free(x[i].body);
		free(x[i].sent);
		wipe_slist(x[i].hdrs);
	}
	free(x);
	if (rc != ST_OK)
		log_err("the HTTP client failed");
	return rc;
}
