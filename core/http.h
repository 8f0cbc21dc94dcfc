/*
 * The one HTTPS client every API provider uses (libcurl, loaded on first
 * use; JSON through jansson).
 *
 * One struct http per provider instance and run: a curl multi handle whose
 * connections are reused between requests.  HTTPS only (a client made
 * for an instance metadata service excepted: http_set_metadata()), TLS
 * always verified (ca_file adds a trust anchor to the system bundle, it
 * never replaces verification), no redirects, a versioned User-Agent.  A
 * request carries a JSON body or a body of any content type, headers of its own besides the
 * client's, and gets back the raw answer with its content type (and the
 * parsed JSON when it is JSON).  Requests can be signed: AWS SigV4 by
 * libcurl itself (http_set_aws_sigv4), any other scheme by a hook called
 * before each attempt (http_set_signer).  Requests that fail
 * at the connection level or get a status the client's retry policy names
 * (struct http_retry; by default 423/429/500/502/503/504) are tried again
 * after a pause that doubles each time, or as long as Retry-After asks —
 * but never past the client's deadline (http_set_deadline: the run's
 * timeout): a pause that would end after it is not taken, and the request
 * ends with its last answer and out_of_time set.  Several requests
 * can be run at once (http_perform with n > 1), HTTP_MAX_PARALLEL at a time.
 * At -v every request and answer is traced on stderr; a header marked
 * secret (struct http_header: the client's, the request's or the signer's)
 * is shown as "[redacted]", and so are Authorization and
 * Proxy-Authorization, which libcurl may add itself.
 *
 * http_new() returns a handle freed with http_free().  A request's json and
 * answer are owned by the request; free them with http_request_clear().
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
#define HTTP_MAX_HEADERS	4	/* of a client */
#define HTTP_REQ_HEADERS	8	/* of one request */
#define HTTP_SIGN_HEADERS	8	/* a signer adds per attempt */
#define HTTP_SIGN_BUF		4096	/* bytes of their names and values */
#define HTTP_TYPE_MAX		128	/* octets of a Content-Type kept */
#define HTTP_SIGV4_MAX		128	/* octets of a CURLOPT_AWS_SIGV4 spec */
#define HTTP_NAME_MAX		64	/* octets of a header name */
#define HTTP_URL_MAX		2048
#define HTTP_SYSTEM_CA		"/etc/ssl/certs/ca-certificates.crt"
/* An instance metadata service answers at once or is not there (the AWS SDKs
   give IMDS 1 s per attempt: botocore's DEFAULT_METADATA_SERVICE_TIMEOUT). */
#define HTTP_METADATA_CONNECT_S	1
#define HTTP_METADATA_TOTAL_S	5
#define HTTP_GCE_METADATA_NAME	"metadata.google.internal"
#define HTTP_AWS_METADATA_V6	"fd00:ec2::254"	/* IMDS over IPv6 (Nitro) */

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
	const char *method;		/* "GET", "POST", "PUT", "DELETE", ... */
	char	url[HTTP_URL_MAX];
	json_t	*body;			/* sent as JSON when not NULL (borrowed) */
	const char *data;		/* else sent as is when not NULL (borrowed), */
	size_t	 datalen;		/* datalen octets */
	const char *type;		/* data's Content-Type; NULL: application/json */
	const char *accept;		/* Accept; NULL: application/json */
	int	 secret_body;		/* the body sent and the answer carry credentials
					   (an OAuth token exchange): -v shows only
					   their length */
	struct http_header headers[HTTP_REQ_HEADERS];	/* sent besides the client's */
	size_t	 nheaders;
	/* results: */
	long	status;			/* HTTP status, 0 when no answer */
	json_t	*json;			/* the parsed answer, NULL if not JSON */
	char	*answer;		/* the answer's body, NUL-terminated, or NULL */
	size_t	 answer_len;
	char	 answer_type[HTTP_TYPE_MAX];	/* its Content-Type, "" if none */
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

/*
 * Headers a signer adds to one attempt; http_sign_add() copies names and
 * values into buf.
 */
struct http_signed {
	struct http_header h[HTTP_SIGN_HEADERS];
	size_t	 n;
	char	 buf[HTTP_SIGN_BUF];
	size_t	 used;
};

/* Add a header to s.  0, or -1 when it is malformed or s is full. */
int	http_sign_add(struct http_signed *s, const char *name, const char *value, int secret);

/*
 * A signer is called before each attempt of every request of the client
 * (so a signature over a timestamp is fresh on a retry) with the body that
 * will be sent (len octets; "" for none), and adds its headers to out.
 * Returns 0, or -1 (the request then ends with status 0 and error set).
 */
typedef int (*http_signer)(void *arg, const struct http_request *r, const char *body,
    size_t len, struct http_signed *out);

/* Sign every request of h with fn (arg is passed on; borrowed). */
void	http_set_signer(struct http *h, http_signer fn, void *arg);

/*
 * Sign every request of h with AWS Signature Version 4, computed by libcurl
 * (CURLOPT_AWS_SIGV4): spec is "aws:amz:REGION:SERVICE", key_id and secret
 * the access key (copied; the copy is wiped by http_free()).  A session
 * token goes as a secret client header (X-Amz-Security-Token).  Returns
 * ST_OK, or ST_CONFIG when spec or the key cannot be used.
 */
int	http_set_aws_sigv4(struct http *h, const char *spec, const char *key_id,
    const char *secret);

/*
 * Let h reach an instance metadata service (AWS IMDS, the GCE metadata
 * server), which speaks plain HTTP: a request may then use an http:// URL,
 * but only to a host http_metadata_host() accepts; any other URL stays
 * HTTPS only (the request ends with status 0 and error set).  Connection
 * timeouts become HTTP_METADATA_CONNECT_S / HTTP_METADATA_TOTAL_S.  The -v
 * trace shows the length of its answers, not their bytes (an instance
 * role's keys, an access token).
 */
void	http_set_metadata(struct http *h);

/*
 * 1 when host (as in a URL: an IPv6 address in brackets) is where an
 * instance metadata service lives: a link-local address (169.254.0.0/16,
 * fe80::/10, fd00:ec2::254), metadata.google.internal, or a loopback
 * address (127.0.0.0/8, ::1: a local stand-in, as the tests run).
 */
int	http_metadata_host(const char *host);

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

/* Free a request's answer (json and raw) and make it ready to be sent again. */
void	http_request_clear(struct http_request *r);

/* Append "?k=v&k2=v2" style pairs, URL-escaped, to a URL.  0 or -1 (too long). */
int	http_url(char *url, size_t len, const char *base, const char *path,
    const char *const *query);

/* base + path + "?" + the JSON q, compact and URL-escaped (Sakura's query form). */
int	http_url_json(char *url, size_t len, const char *base, const char *path, json_t *q);

#endif
