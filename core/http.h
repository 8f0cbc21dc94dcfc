/*
 * The one JSON-over-HTTPS client every API provider uses (libcurl + jansson).
 *
 * One struct http per provider instance and run: a curl multi handle whose
 * connections are reused between requests.  HTTPS only, TLS always verified
 * (ca_file adds a trust anchor to the system bundle, it never replaces
 * verification), no redirects, a versioned User-Agent.  Requests that fail
 * at the connection level or get a status the client's retry policy names
 * (struct http_retry; by default 423/429/500/502/503/504) are tried again
 * after a pause that doubles each time, or as long as Retry-After asks —
 * but never past the client's deadline (http_set_deadline: the run's
 * timeout): a pause that would end after it is not taken, and the request
 * ends with its last answer and out_of_time set.  Several requests
 * can be run at once (http_perform with n > 1), HTTP_MAX_PARALLEL at a time.
 * At -v every request and answer is traced on stderr; a header the provider
 * marks secret (struct http_header) is shown as "[redacted]", and so are
 * Authorization and Proxy-Authorization, which libcurl may add itself.
 *
 * http_new() returns a handle freed with http_free().  A request's json is
 * owned by the request; free it with http_request_clear().
 */
#ifndef DNS01_HTTP_H
#define DNS01_HTTP_H

#include <stddef.h>

#include <jansson.h>

#define HTTP_CONNECT_TIMEOUT_S	10
#define HTTP_TOTAL_TIMEOUT_S	30	/* one attempt */
#define HTTP_MAX_ATTEMPTS	5	/* the default policy: attempts of one request */
#define HTTP_BACKOFF_MS		500	/* its first pause, doubled each retry */
#define HTTP_BACKOFF_MAX_S	8	/* its longest pause (Retry-After excepted) */
#define HTTP_MAX_RETRY_AFTER_S	60	/* without a deadline, longer Retry-After
					   values are cut to this */
#define HTTP_MAX_STATUSES	8	/* statuses one retry policy names */
#define HTTP_MAX_BODY		(4 * 1024 * 1024)
#define HTTP_MAX_PARALLEL	8
#define HTTP_MAX_HEADERS	4
#define HTTP_NAME_MAX		64	/* octets of a header name */
#define HTTP_URL_MAX		2048
#define HTTP_SYSTEM_CA		"/etc/ssl/certs/ca-certificates.crt"

struct http;

/*
 * A header sent with every request.  A provider sets secret on every header
 * that carries a credential: the -v trace then shows "Name: [redacted]".
 */
struct http_header {
	const char *name;		/* a token: no ':', space or control character */
	const char *value;		/* no CR or LF */
	int	 secret;
};

/*
 * When a request is tried again.  A pause is first_s, doubled after each
 * attempt up to max_s; a Retry-After in the answer replaces it (any length,
 * within the deadline).  Connection-level failures are always retried.
 */
struct http_retry {
	int	 attempts;		/* most attempts of one request, the first included */
	double	 first_s;
	double	 max_s;
	long	 statuses[HTTP_MAX_STATUSES];	/* retried HTTP statuses, 0-terminated */
};

struct http_request {
	const char *method;		/* "GET", "POST", "DELETE" */
	char	url[HTTP_URL_MAX];
	json_t	*body;			/* sent as JSON when not NULL (borrowed) */
	/* results: */
	long	status;			/* HTTP status, 0 when no answer */
	json_t	*json;			/* the parsed answer, NULL if not JSON */
	char	error[256];		/* transport problem when status == 0 */
	int	tls_error;		/* the server's certificate was not trusted */
	int	attempts;
	double	retry_after;		/* seconds the last answer's Retry-After asked
					   for, 0 when it had none */
	int	out_of_time;		/* not tried again: the pause would have ended
					   after the deadline */
};

/*
 * A client sending headers[0..n-1] with every request.  ca_file (may be NULL)
 * is trusted in addition to the system bundle.  Returns ST_OK or ST_CONFIG.
 */
int	http_new(const char *ca_file, const struct http_header *headers, size_t n,
    struct http **out);
void	http_free(struct http *h);

/* Replace the default retry policy (p is copied). */
void	http_set_retry(struct http *h, const struct http_retry *p);

/*
 * No retry pause may end after deadline (log_now() seconds; 0: none, and
 * Retry-After is then cut to HTTP_MAX_RETRY_AFTER_S).
 */
void	http_set_deadline(struct http *h, double deadline);

/*
 * The pause before attempt number attempts + 1 under policy p, given the
 * Retry-After of the last answer (seconds, 0: none) and the deadline (0:
 * none) as seen at now.  Returns the pause in seconds, or -1 when the
 * request must not be tried again: no attempts left, or the pause would end
 * after the deadline.
 */
double	http_retry_pause(const struct http_retry *p, int attempts, double retry_after,
    double now, double deadline);

/* 1 when policy p retries HTTP status. */
int	http_retry_status(const struct http_retry *p, long status);

/*
 * Run n requests, concurrently, each with its retries.  Every request ends
 * with either an HTTP status (and json when the body is JSON) or status 0
 * and error.  Returns ST_OK, or ST_FAIL when the client itself failed.
 */
int	http_perform(struct http *h, struct http_request *r, size_t n);

/*
 * One header line (len octets, no line end) as the -v trace shows it, into
 * out (outlen bytes, NUL-terminated): "Name: [redacted]" when the header is
 * secret in headers[0..n-1] (names compare without case) or is Authorization
 * or Proxy-Authorization; else the line with unprintable octets as '.' (and
 * "..." at the end when it was cut).
 */
void	http_trace_header(const struct http_header *headers, size_t n, const char *line,
    size_t len, char *out, size_t outlen);

/* Free a request's answer and make it ready to be sent again. */
void	http_request_clear(struct http_request *r);

/* Append "?k=v&k2=v2" style pairs, URL-escaped, to a URL.  0 or -1 (too long). */
int	http_url(char *url, size_t len, const char *base, const char *path,
    const char *const *query);

/* base + path + "?" + the JSON q, compact and URL-escaped (Sakura's query form). */
int	http_url_json(char *url, size_t len, const char *base, const char *path, json_t *q);

#endif
