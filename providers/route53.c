/*
 * Provider "route53": Amazon Route 53, REST API version 2013-04-01
 * (docs.aws.amazon.com/Route53/latest/APIReference/; the shapes and paths
 * are those of botocore's service model, botocore/data/route53/2013-04-01/
 * service-2.json).  Requests are signed with AWS Signature Version 4 by
 * libcurl (core/http.h http_set_aws_sigv4; Route 53 is a global service
 * signed for us-east-1); answers are XML, read with libexpat.
 *
 * Credentials come from where the AWS tools find them, in this order
 * (botocore credentials.py, the default chain; certbot-dns-route53 and
 * lego's route53 use that chain, so a user switching changes nothing):
 * the section's keys (access_key_id, secret_access_key, session_token);
 * AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY / AWS_SESSION_TOKEN; the
 * shared credentials file (AWS_SHARED_CREDENTIALS_FILE, default
 * ~/.aws/credentials, profile AWS_PROFILE, default "default"); the
 * instance role through IMDSv2.  Role assumption, SSO, credential_process
 * and the container credentials endpoint are not read.
 *
 * Route 53 replaces RRsets whole, so a change is a read-modify-write on
 * core/rmw.h.  What protects it: ChangeResourceRecordSets applies a batch
 * all or nothing, a DELETE must match the RRset exactly (TTL and every
 * value) and a CREATE fails when the RRset exists (InvalidChangeBatch;
 * the API reference, ChangeResourceRecordSets), so adding to an RRset is
 * DELETE of the RRset as read + CREATE of the new one in one batch (never
 * UPSERT): a writer that changed it between our read and our write makes
 * the batch fail, and rmw_change() reads again and retries.  After the
 * change, GetChange is polled until INSYNC; the core then still waits for
 * every authoritative server.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <expat.h>
#include <jansson.h>

#include "../core/api.h"
#include "../core/config.h"
#include "../core/http.h"
#include "../core/log.h"
#include "../core/rmw.h"
#include "../core/status.h"
#include "provider.h"

#define R53_DEFAULT_URL		"https://route53.amazonaws.com"
#define R53_API			"/2013-04-01"
#define R53_XMLNS		"https://route53.amazonaws.com/doc/2013-04-01/"
#define R53_XML			"text/xml"	/* Route 53 speaks REST-XML only */
/* Route 53 is global: signed for us-east-1 (botocore endpoints.json, aws-global). */
#define R53_SIGV4		"aws:amz:us-east-1:route53"
/*
 * TTL: certbot-dns-route53 writes 10 (dns_route53.py, Authenticator.ttl),
 * and so does lego (route53.go NewDefaultConfig: AWS_TTL, default 10).
 * The API takes 0 to 2147483647 (API reference, ResourceRecordSet.TTL);
 * dns01's own ttl is at least 1.
 */
#define R53_DEFAULT_TTL		10
#define R53_MIN_TTL		1
#define R53_ZONE_PAGE		"100"	/* ListHostedZonesByName: at most 100 per page */
#define R53_ZONE_PAGES		50
#define R53_RRSET_PAGE		"300"	/* ListResourceRecordSets: at most 300 per page */
#define R53_RRSET_PAGES		200
#define R53_PER_NAME_MAX	2	/* more names than this: one listing of the zone */
#define R53_ID_MAX		64	/* a hosted zone or change id */
#define R53_CODE_MAX		64
#define R53_MSG_MAX		400
#define R53_SOURCE_MAX		1200	/* where the credentials came from, for messages */
#define R53_LOOKED_MAX		2400	/* every place looked at, for the message */
#define R53_KEY_MAX		128	/* octets of an access key id or secret */
#define R53_TOKEN_MAX		8192	/* octets of a session token */
#define R53_ZONE_CACHE		16
#define R53_XML_PATH		256
#define R53_XML_TEXT		8192	/* a Value is at most 4000 characters */
#define R53_POLL_FIRST_S	1.0	/* GetChange: first pause, doubled ... */
#define R53_POLL_MAX_S		5.0	/* ... up to certbot's 5 s (dns_route53.py) */
/*
 * IMDSv2 (docs.aws.amazon.com/AWSEC2/latest/UserGuide/instancedata-data-
 * retrieval.html): PUT /latest/api/token with the token's lifetime, then
 * every GET with the token.  21600 s is botocore's (utils.py IMDSFetcher
 * _TOKEN_TTL); the endpoint and the switch are botocore's variables
 * (AWS_EC2_METADATA_SERVICE_ENDPOINT, AWS_EC2_METADATA_DISABLED).
 */
#define IMDS_DEFAULT		"http://169.254.169.254"
#define IMDS_TOKEN_PATH		"/latest/api/token"
#define IMDS_ROLE_PATH		"/latest/meta-data/iam/security-credentials/"
#define IMDS_TOKEN_TTL		"21600"
#define IMDS_ROLE_MAX		64	/* IAM role names: 1..64 characters */
#define IMDS_ROLE_CHARS		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+=,.@_-"

/*
 * Retries as botocore makes them for Route 53.  Legacy mode, boto3's
 * default (boto3 docs guide/retries.rst): 5 attempts, exponential backoff
 * of base 2; statuses 429, 500, 502, 503, 504 (and 509) and the throttling
 * codes, which for Route 53 come as HTTP 400 Throttling and
 * PriorRequestNotComplete (botocore data/_retry.json, "route53":
 * request_limit_exceeded, still_processing).  Standard mode retries the
 * same codes (botocore retries/standard.py: _TRANSIENT_ERROR_CODES has
 * PriorRequestNotComplete, throttling codes Throttling) with 3 attempts
 * and at most 20 s of pause.  dns01: 5 attempts, 0.5 s doubling up to
 * 20 s (no random factor), within the run's timeout.
 */
static const struct http_retry r53_retry = {
	.attempts = 5,
	.first_s = 0.5,
	.max_s = 20,
	.statuses = { 429, 500, 502, 503, 504, 509, 0 },
};

/* botocore's instance metadata fetcher tries once by default (num_attempts 1). */
static const struct http_retry imds_retry = {
	.attempts = 1,
	.first_s = 1,
	.max_s = 1,
	.statuses = { 0 },
};

enum r53_answer {
	R53_CONFLICT = RMW_CONFLICT,	/* InvalidChangeBatch: the RRset changed */
	R53_BUSY = RMW_BUSY		/* throttled after every attempt */
};

struct r53_zone {
	char	apex[NAME_BUF];
	char	id[R53_ID_MAX];
};

struct r53 {
	char	section[CONFIG_MAX_NAME + 1];
	char	url[HTTP_URL_MAX / 2];
	char	*ca_file;
	char	*state_dir;
	char	*key, *secret, *token;	/* the credentials found (secret; NULL: not yet) */
	char	 source[R53_SOURCE_MAX];	/* where they came from */
	const struct provider_conf *pc;
	struct http_header tok_hdr;
	struct http *http;
	char	 fixed_id[R53_ID_MAX];	/* hosted_zone_id, "" when looked up */
	double	 deadline;
	unsigned timeout;
	char	 change[R53_ID_MAX];	/* the change id of the last write, "" none */
	char	 busy[R53_MSG_MAX + R53_CODE_MAX + 32];	/* the last throttling answer */
	struct rmw_ctx rmw;
	struct r53_zone zones[R53_ZONE_CACHE];
	size_t	 nzones;
};

static const struct rmw_ops r53_rmw;

static const char *const keys[] = { "access_key_id", "secret_access_key", "session_token",
	"hosted_zone_id", "api_url", "ca_file", NULL };
static const char *const secret_keys[] = { "access_key_id", "secret_access_key",
	"session_token", NULL };
/* lego's names (route53.toml): AWS_ACCESS_KEY_ID, ..., AWS_HOSTED_ZONE_ID. */
static const struct env_map env[] = {
	{ "access_key_id", { "AWS_ACCESS_KEY_ID", NULL } },
	{ "secret_access_key", { "AWS_SECRET_ACCESS_KEY", NULL } },
	{ "session_token", { "AWS_SESSION_TOKEN", NULL } },
	{ "hosted_zone_id", { "AWS_HOSTED_ZONE_ID", NULL } },
	{ NULL, { NULL } }
};
/* certbot-dns-route53 has no credentials INI: it uses the AWS chain above. */
static const struct cred_map cred[] = {
	{ NULL, NULL }
};

/* ---- small helpers ------------------------------------------------------ */

static void
wipe_free(char *s)
{
	if (s != NULL) {
		explicit_bzero(s, strlen(s));
		free(s);
	}
}

/* A growing text buffer (request bodies). */
struct buf {
	char	*p;
	size_t	 len, cap;
	int	 failed;
};

static void
buf_add(struct buf *b, const char *s, size_t n)
{
	char *p;

	if (b->failed)
		return;
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 1024;

		while (cap < b->len + n + 1)
			cap *= 2;
		if ((p = realloc(b->p, cap)) == NULL) {
			b->failed = 1;
			return;
		}
		b->p = p;
		b->cap = cap;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

static void
buf_str(struct buf *b, const char *s)
{
	buf_add(b, s, strlen(s));
}

/* Append s as XML character data: & < > " ' as entities. */
static void
buf_xml(struct buf *b, const char *s)
{
	for (; *s != '\0'; s++)
		switch (*s) {
		case '&': buf_str(b, "&amp;"); break;
		case '<': buf_str(b, "&lt;"); break;
		case '>': buf_str(b, "&gt;"); break;
		case '"': buf_str(b, "&quot;"); break;
		case '\'': buf_str(b, "&apos;"); break;
		default: buf_add(b, s, 1);
		}
}

/* <tag>escaped text</tag> */
static void
buf_elem(struct buf *b, const char *tag, const char *text)
{
	buf_str(b, "<");
	buf_str(b, tag);
	buf_str(b, ">");
	buf_xml(b, text);
	buf_str(b, "</");
	buf_str(b, tag);
	buf_str(b, ">");
}

/*
 * A domain name as Route 53 gives it, canonical: \ooo octal escapes
 * decoded (API reference, "DNS domain name format"), lower case, no
 * final dot.  0, or -1 when it does not fit or is malformed.
 */
static int
r53_name(const char *in, char *out, size_t outlen)
{
	size_t o = 0;

	if (*in == '\0')		/* never from Route 53: the root is "." */
		return -1;
	while (*in != '\0') {
		char c = *in;

		if (c == '\\' && in[1] >= '0' && in[1] <= '3' && in[2] >= '0' && in[2] <= '7' &&
		    in[3] >= '0' && in[3] <= '7') {
			c = (char)((in[1] - '0') * 64 + (in[2] - '0') * 8 + (in[3] - '0'));
			in += 4;
		} else
			in++;
		if (c == '\0' || o + 1 >= outlen)
			return -1;
		out[o++] = c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
	}
	if (o > 0 && out[o - 1] == '.')
		o--;
	out[o] = '\0';
	return 0;
}

/* A hosted zone id without its "/hostedzone/" prefix; 0, or -1 if not one. */
static int
zone_id_of(const char *in, char *out)
{
	const char *id = strncmp(in, "/hostedzone/", 12) == 0 ? in + 12 : in;
	size_t n = strlen(id);

	if (n == 0 || n >= R53_ID_MAX ||
	    strspn(id, "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789") != n)
		return -1;
	memcpy(out, id, n + 1);
	return 0;
}

/* ---- XML answers (libexpat) --------------------------------------------- */

/*
 * Called at the end of every element with its path from the root
 * ("/GetChangeResponse/ChangeInfo/Status") and its text (character data
 * since its last child or its start).
 */
typedef void (*xml_end_fn)(void *arg, const char *path, const char *text);

struct xml_walk {
	char	 path[R53_XML_PATH];
	size_t	 plen;
	char	 text[R53_XML_TEXT];
	size_t	 tlen;
	int	 bad;
	xml_end_fn fn;
	void	*arg;
};

static void XMLCALL
xml_start(void *ud, const XML_Char *name, const XML_Char **attrs)
{
	struct xml_walk *w = ud;
	size_t n = strlen(name);

	(void)attrs;
	if (w->plen + 1 + n >= sizeof(w->path)) {
		w->bad = 1;
		return;
	}
	w->path[w->plen++] = '/';
	memcpy(w->path + w->plen, name, n + 1);
	w->plen += n;
	w->tlen = 0;
	w->text[0] = '\0';
}

static void XMLCALL
xml_end(void *ud, const XML_Char *name)
{
	struct xml_walk *w = ud;
	char *slash;

	(void)name;
	if (w->bad)
		return;
	w->fn(w->arg, w->path, w->text);
	if ((slash = strrchr(w->path, '/')) != NULL) {
		*slash = '\0';
		w->plen = (size_t)(slash - w->path);
	}
	w->tlen = 0;
	w->text[0] = '\0';
}

static void XMLCALL
xml_chars(void *ud, const XML_Char *s, int len)
{
	struct xml_walk *w = ud;

	if (w->tlen + (size_t)len >= sizeof(w->text)) {
		w->bad = 1;
		return;
	}
	memcpy(w->text + w->tlen, s, (size_t)len);
	w->tlen += (size_t)len;
	w->text[w->tlen] = '\0';
}

/* Walk an XML answer, calling fn at every element's end.  0, or -1 if malformed. */
static int
xml_walk(const char *doc, size_t len, xml_end_fn fn, void *arg)
{
	struct xml_walk *w;
	XML_Parser x;
	int rc = -1;

	if (doc == NULL || len == 0 || len > INT32_MAX || (w = calloc(1, sizeof(*w))) == NULL)
		return -1;
	w->fn = fn;
	w->arg = arg;
	if ((x = XML_ParserCreate("UTF-8")) != NULL) {
		XML_SetUserData(x, w);
		XML_SetElementHandler(x, xml_start, xml_end);
		XML_SetCharacterDataHandler(x, xml_chars);
		if (XML_Parse(x, doc, (int)len, 1) == XML_STATUS_OK && !w->bad)
			rc = 0;
		XML_ParserFree(x);
	}
	free(w);
	return rc;
}

/* An error answer: ErrorResponse/Error/{Code,Message}, or InvalidChangeBatch/Messages. */
struct r53_err {
	char	code[R53_CODE_MAX];
	char	msg[R53_MSG_MAX];
};

static void
err_end(void *arg, const char *path, const char *text)
{
	struct r53_err *e = arg;
	size_t o = strlen(e->msg);

	if (strcmp(path, "/ErrorResponse/Error/Code") == 0)
		snprintf(e->code, sizeof(e->code), "%s", text);
	else if (strcmp(path, "/ErrorResponse/Error/Message") == 0)
		api_clean_msg(text, e->msg, sizeof(e->msg));
	else if (strcmp(path, "/InvalidChangeBatch/Messages/Message") == 0) {
		/* aws-sdk-go service/route53/unmarshal_error.go: this second shape */
		snprintf(e->code, sizeof(e->code), "InvalidChangeBatch");
		if (o > 0 && o + 2 < sizeof(e->msg))
			memcpy(e->msg + o, "; ", 3), o += 2;
		api_clean_msg(text, e->msg + o, sizeof(e->msg) - o);
	}
}

/* ---- credentials ------------------------------------------------------- */

/* Take (key, secret, token) as the credentials, from source.  Status. */
static int
take_creds(struct r53 *p, const char *key, const char *secret, const char *token,
    const char *source)
{
	if (!api_printable(key) || !api_printable(secret) || strlen(key) > R53_KEY_MAX ||
	    strlen(secret) > R53_KEY_MAX || (token != NULL && (!api_printable(token) ||
	    strlen(token) > R53_TOKEN_MAX))) {
		log_err("[provider %s]: the AWS credentials from %s contain spaces or control "
		    "characters, or are too long", p->section, source);
		return ST_CONFIG;
	}
	if ((p->key = strdup(key)) == NULL || (p->secret = strdup(secret)) == NULL ||
	    (token != NULL && *token != '\0' && (p->token = strdup(token)) == NULL))
		return ST_FAIL;
	snprintf(p->source, sizeof(p->source), "%s", source);
	return ST_OK;
}

/* Add a place looked at to the list (for the message when none had credentials). */
static void LOG_PRINTF(3, 4)
looked(char *list, size_t len, const char *fmt, ...)
{
	size_t o = strlen(list);
	va_list ap;

	if (o + 3 < len) {
		if (o > 0)
			memcpy(list + o, "; ", 3), o += 2;
		va_start(ap, fmt);
		vsnprintf(list + o, len - o, fmt, ap);
		va_end(ap);
	}
}

/* The profile from AWS_PROFILE (botocore: then AWS_DEFAULT_PROFILE), or NULL. */
static const char *
profile_env(void)
{
	const char *v = getenv("AWS_PROFILE");

	if (v == NULL || *v == '\0')
		v = getenv("AWS_DEFAULT_PROFILE");
	return v != NULL && *v != '\0' ? v : NULL;
}

/*
 * The shared credentials file, as botocore's SharedCredentialProvider
 * reads it: aws_access_key_id, aws_secret_access_key, aws_session_token
 * (or the older aws_security_token) of the profile.  ST_OK with *found
 * set or not (what was seen added to list), or ST_CONFIG when the profile
 * named by AWS_PROFILE is not usable there (botocore: ProfileNotFound).
 */
static int
from_file(struct r53 *p, char *list, size_t len, int *found)
{
	const char *path = getenv("AWS_SHARED_CREDENTIALS_FILE"), *home = getenv("HOME");
	const char *named = profile_env(), *profile = named ? named : "default";
	char file[1024], shown[512], pshown[128], source[R53_SOURCE_MAX];
	char *text = NULL, *key = NULL, *secret = NULL, *token = NULL;
	int has = 0, rc = ST_OK;

	*found = 0;
	if (path != NULL && *path != '\0')
		snprintf(file, sizeof(file), "%s", path);
	else if (home != NULL && *home == '/')
		snprintf(file, sizeof(file), "%s/.aws/credentials", home);
	else {
		looked(list, len, "%s", "no shared credentials file (HOME is not set)");
		return ST_OK;
	}
	log_escape(file, shown, sizeof(shown));
	log_escape(profile, pshown, sizeof(pshown));
	if (access(file, F_OK) != 0 && errno == ENOENT) {
		if (named != NULL) {
			log_err("[provider %s]: AWS_PROFILE names profile %s, but the shared "
			    "credentials file %s is not there", p->section, pshown, shown);
			return ST_CONFIG;
		}
		looked(list, len, "the shared credentials file %s (not there)", shown);
		return ST_OK;
	}
	if ((rc = config_read_file(file, &text)) != ST_OK)
		return rc;
	key = config_ini_get(text, profile, "aws_access_key_id", &has);
	secret = config_ini_get(text, profile, "aws_secret_access_key", NULL);
	if ((token = config_ini_get(text, profile, "aws_session_token", NULL)) == NULL)
		token = config_ini_get(text, profile, "aws_security_token", NULL);
	if (key != NULL && *key != '\0' && secret != NULL && *secret != '\0') {
		snprintf(source, sizeof(source), "the shared credentials file %s, profile [%s]",
		    shown, pshown);
		rc = take_creds(p, key, secret, token, source);
		*found = rc == ST_OK;
	} else if (named != NULL || (key != NULL && *key != '\0')) {
		log_err("[provider %s]: the shared credentials file %s has %s: it needs "
		    "aws_access_key_id and aws_secret_access_key there (dns01 reads static keys; "
		    "role_arn, sso_*, credential_process are not read)", p->section, shown,
		    !has ? "no such profile" : "not both keys in that profile");
		if (!has)
			log_err("(profile [%s], from %s)", pshown, named ? "AWS_PROFILE" : "default");
		rc = ST_CONFIG;
	} else
		looked(list, len, "the shared credentials file %s (no profile [%s] with keys)",
		    shown, pshown);
	explicit_bzero(text, strlen(text));
	free(text);
	wipe_free(key);
	wipe_free(secret);
	wipe_free(token);
	return rc;
}

/* One IMDS request; its answer in r (status 0 or not 200: *why says). */
static int
imds_get(struct http *h, struct http_request *r, const char *method, const char *url,
    const char *token, char *why, size_t whylen)
{
	http_request_clear(r);
	r->method = method;
	r->accept = "*/*";
	r->nheaders = 0;
	snprintf(r->url, sizeof(r->url), "%s", url);
	if (token == NULL) {
		r->headers[0] = (struct http_header){ "X-aws-ec2-metadata-token-ttl-seconds",
		    IMDS_TOKEN_TTL, 0 };
		r->data = "";
		r->datalen = 0;
		r->type = "text/plain";
	} else {
		r->headers[0] = (struct http_header){ "X-aws-ec2-metadata-token", token, 1 };
		r->data = NULL;
	}
	r->nheaders = 1;
	if (http_perform(h, r, 1) != ST_OK)
		return -1;
	if (r->status == 200 && r->answer != NULL)
		return 0;
	if (r->status == 0)
		snprintf(why, whylen, "not reachable: %s", r->error);
	else
		snprintf(why, whylen, "HTTP %ld on %s", r->status, method);
	return -1;
}

/*
 * The instance role's credentials from IMDSv2 (see IMDS_*).  ST_OK with
 * *found set or not (why added to list).
 */
static int
from_imds(struct r53 *p, char *list, size_t len, int *found)
{
	const char *ep = getenv("AWS_EC2_METADATA_SERVICE_ENDPOINT"), *dis;
	const char *key = NULL, *secret = NULL, *token = NULL, *code = "Success";
	struct http_request r = { .method = "PUT" };
	struct http *h = NULL;
	char base[512], url[1024], role[IMDS_ROLE_MAX + 1], why[320] = "", shown[512];
	char source[R53_SOURCE_MAX], *tok = NULL;
	size_t n;
	int rc = ST_OK;

	*found = 0;
	if ((dis = getenv("AWS_EC2_METADATA_DISABLED")) != NULL && strcasecmp(dis, "true") == 0) {
		looked(list, len, "%s", "the instance metadata service (disabled by "
		    "AWS_EC2_METADATA_DISABLED)");
		return ST_OK;
	}
	snprintf(base, sizeof(base), "%s", ep != NULL && *ep != '\0' ? ep : IMDS_DEFAULT);
	for (n = strlen(base); n > 0 && base[n - 1] == '/'; n--)
		base[n - 1] = '\0';
	log_escape(base, shown, sizeof(shown));
	if (!api_printable(base)) {
		log_err("AWS_EC2_METADATA_SERVICE_ENDPOINT: not a URL");
		return ST_CONFIG;
	}
	if ((rc = http_new(NULL, NULL, 0, &h)) != ST_OK)
		return rc;
	http_set_metadata(h);
	http_set_retry(h, &imds_retry);
	http_set_deadline(h, p->deadline);
	snprintf(url, sizeof(url), "%s%s", base, IMDS_TOKEN_PATH);
	if (imds_get(h, &r, "PUT", url, NULL, why, sizeof(why)) == -1)
		goto none;
	if ((tok = strndup(r.answer, r.answer_len)) == NULL || !api_printable(tok)) {
		snprintf(why, sizeof(why), "a malformed token");
		goto none;
	}
	snprintf(url, sizeof(url), "%s%s", base, IMDS_ROLE_PATH);
	if (imds_get(h, &r, "GET", url, tok, why, sizeof(why)) == -1)
		goto none;
	n = strcspn(r.answer, "\r\n");
	if (n == 0 || n > IMDS_ROLE_MAX || strspn(r.answer, IMDS_ROLE_CHARS) != n) {
		snprintf(why, sizeof(why), "no instance role (or a malformed role name)");
		goto none;
	}
	memcpy(role, r.answer, n);
	role[n] = '\0';
	snprintf(url, sizeof(url), "%s%s%s", base, IMDS_ROLE_PATH, role);
	if (imds_get(h, &r, "GET", url, tok, why, sizeof(why)) == -1)
		goto none;
	if (r.json == NULL || json_unpack_ex(r.json, NULL, 0, "{s?s, s:s, s:s, s?s}", "Code",
	    &code, "AccessKeyId", &key, "SecretAccessKey", &secret, "Token", &token) != 0 ||
	    strcmp(code, "Success") != 0) {
		snprintf(why, sizeof(why), "role %s: no usable credentials in the answer", role);
		goto none;
	}
	snprintf(source, sizeof(source), "the instance role %s (IMDSv2 at %s)", role, shown);
	rc = take_creds(p, key, secret, token, source);
	*found = rc == ST_OK;
	goto out;
none:
	looked(list, len, "the instance metadata service at %s (IMDSv2: %s)", shown, why);
out:
	wipe_free(tok);
	if (r.answer != NULL)
		explicit_bzero(r.answer, r.answer_len);
	http_request_clear(&r);
	http_free(h);
	return rc;
}

/*
 * Find the credentials, in the AWS tools' order (see the top of the file),
 * and say at -v which source gave them.  ST_CONFIG naming every place
 * looked at when none did.
 */
static int
find_creds(struct r53 *p)
{
	const char *k = provider_conf_get(p->pc, "access_key_id");
	const char *s = provider_conf_get(p->pc, "secret_access_key");
	const char *t = provider_conf_get(p->pc, "session_token");
	int envmode = strcmp(p->pc->origin, "environment") == 0, found = 0, rc;
	char list[R53_LOOKED_MAX] = "", src[R53_SOURCE_MAX];

	if (p->key != NULL)
		return ST_OK;
	if (k != NULL || s != NULL) {
		if (k == NULL || s == NULL || *k == '\0' || *s == '\0') {
			log_err("%s: [provider %s]: give both %s", p->pc->origin, p->section, envmode ?
			    "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY" :
			    "access_key_id and secret_access_key");
			return ST_CONFIG;
		}
		if (envmode)
			snprintf(src, sizeof(src), "the environment (AWS_ACCESS_KEY_ID, "
			    "AWS_SECRET_ACCESS_KEY%s)", t ? ", AWS_SESSION_TOKEN" : "");
		else
			snprintf(src, sizeof(src), "[provider %s] access_key_id, secret_access_key%s",
			    p->section, t ? ", session_token" : "");
		rc = take_creds(p, k, s, t, src);
		goto out;
	}
	looked(list, sizeof(list), "[provider %s] access_key_id, secret_access_key (not set)",
	    p->section);
	if (!envmode) {
		k = getenv("AWS_ACCESS_KEY_ID");
		s = getenv("AWS_SECRET_ACCESS_KEY");
		if ((t = getenv("AWS_SESSION_TOKEN")) == NULL || *t == '\0')
			t = getenv("AWS_SECURITY_TOKEN");
		if ((k != NULL && *k != '\0') != (s != NULL && *s != '\0')) {
			/* botocore EnvProvider: PartialCredentialsError */
			log_err("[provider %s]: %s is set in the environment but %s is not",
			    p->section, k && *k ? "AWS_ACCESS_KEY_ID" : "AWS_SECRET_ACCESS_KEY",
			    k && *k ? "AWS_SECRET_ACCESS_KEY" : "AWS_ACCESS_KEY_ID");
			return ST_CONFIG;
		}
		if (k != NULL && *k != '\0') {
			snprintf(src, sizeof(src), "the environment (AWS_ACCESS_KEY_ID, "
			    "AWS_SECRET_ACCESS_KEY%s)", t && *t ? ", AWS_SESSION_TOKEN" : "");
			rc = take_creds(p, k, s, t && *t ? t : NULL, src);
			goto out;
		}
		looked(list, sizeof(list), "%s", "the environment (AWS_ACCESS_KEY_ID, "
		    "AWS_SECRET_ACCESS_KEY: not set)");
	}
	if ((rc = from_file(p, list, sizeof(list), &found)) != ST_OK || found)
		goto out;
	if ((rc = from_imds(p, list, sizeof(list), &found)) != ST_OK || found)
		goto out;
	log_err("[provider %s]: no AWS credentials found; looked at: %s", p->section, list);
	return ST_CONFIG;
out:
	if (rc == ST_OK)
		log_debug("Route 53: [provider %s]: AWS credentials from %s", p->section,
		    p->source);
	return rc;
}

/* The signed client, made on first use (with the credentials).  Status. */
static int
client(struct r53 *p)
{
	int rc;

	if (p->http != NULL)
		return ST_OK;
	if ((rc = find_creds(p)) != ST_OK)
		return rc;
	p->tok_hdr = (struct http_header){ "X-Amz-Security-Token", p->token, 1 };
	if ((rc = http_new(p->ca_file, &p->tok_hdr, p->token ? 1 : 0, &p->http)) != ST_OK)
		return rc;
	if ((rc = http_set_aws_sigv4(p->http, R53_SIGV4, p->key, p->secret)) != ST_OK)
		return rc;
	http_set_retry(p->http, &r53_retry);
	http_set_deadline(p->http, p->deadline);
	return ST_OK;
}

/* ---- requests and their errors ------------------------------------------ */

/* 1 for Route 53's "not now" answers (see r53_retry). */
static int
throttled(long status, const char *code)
{
	return status == 400 && (strcmp(code, "Throttling") == 0 ||
	    strcmp(code, "PriorRequestNotComplete") == 0);
}

/*
 * 1 when an InvalidChangeBatch says the RRset is not as our batch read it
 * (someone changed it): "Tried to create resource record set [...] but it
 * already exists", "Tried to delete ... but it was not found", "... but
 * the values provided do not match the current values" (the messages as
 * the API gives them: boto/boto#2887, kubernetes-sigs/external-dns#732).
 */
static int
stale_batch(const char *msg)
{
	return strstr(msg, "already exists") != NULL || strstr(msg, "was not found") != NULL ||
	    strstr(msg, "do not match") != NULL;
}

/*
 * Send r and judge the answer.  Route 53's throttling (HTTP 400 with the
 * codes of throttled()) is tried again here, with the client's pauses,
 * within the deadline.  action is the IAM action the request needs
 * (route53:...), what the request for messages.  ST_OK on 2xx (the answer
 * in r); R53_CONFLICT for a stale batch; R53_BUSY when still throttled and
 * busy_ok; else a status after saying why.
 */
static int
call(struct r53 *p, struct http_request *r, const char *action, const char *what, int busy_ok)
{
	struct r53_err e;
	double pause;
	int rc, tries = 0;

	for (;;) {
		memset(&e, 0, sizeof(e));
		http_request_clear(r);
		if ((rc = http_perform(p->http, r, 1)) != ST_OK)
			return rc;
		if ((rc = api_no_answer(r, "Route 53 API", p->url, what)) != ST_OK)
			return rc;
		tries += r->attempts;
		if (r->status >= 200 && r->status < 300)
			return ST_OK;
		if (xml_walk(r->answer, r->answer_len, err_end, &e) == -1)
			memset(&e, 0, sizeof(e));
		if (!throttled(r->status, e.code))
			break;
		snprintf(p->busy, sizeof(p->busy), "HTTP %ld %s: %s", r->status, e.code, e.msg);
		pause = http_retry_pause(&r53_retry, tries, 0, log_now(), p->deadline);
		if (pause < 0)
			break;
		log_info("Route 53: %s: %s; trying again in %.1f s", what, e.code, pause);
		log_sleep(pause);
	}
	if (throttled(r->status, e.code) && busy_ok)
		return R53_BUSY;
	if (r->status == 400 && strcmp(e.code, "InvalidChangeBatch") == 0 && stale_batch(e.msg))
		return R53_CONFLICT;
	if (strcmp(e.code, "AccessDenied") == 0 || strcmp(e.code, "AccessDeniedException") == 0) {
		log_err("Route 53: %s: access denied: the credentials from %s may not call %s; "
		    "allow it in their IAM policy (%s)", what, p->source, action, e.msg);
		return ST_CONFIG;
	}
	if (strcmp(e.code, "InvalidClientTokenId") == 0 ||
	    strcmp(e.code, "UnrecognizedClientException") == 0) {
		log_err("Route 53: %s: the access key id is rejected (not known to AWS): fix the "
		    "credentials from %s", what, p->source);
		return ST_CONFIG;
	}
	if (strcmp(e.code, "SignatureDoesNotMatch") == 0 ||
	    strcmp(e.code, "IncompleteSignature") == 0) {
		log_err("Route 53: %s: the signature is rejected: the secret access key does not "
		    "belong to the access key id (or the clock is off by more than 5 minutes): "
		    "fix the credentials from %s", what, p->source);
		return ST_CONFIG;
	}
	if (strcmp(e.code, "ExpiredToken") == 0 || strcmp(e.code, "ExpiredTokenException") == 0 ||
	    strcmp(e.code, "RequestExpired") == 0) {
		log_err("Route 53: %s: the session token is rejected as expired: renew the "
		    "credentials from %s", what, p->source);
		return ST_CONFIG;
	}
	if (strcmp(e.code, "NoSuchHostedZone") == 0) {
		log_err("Route 53: %s: no such hosted zone in the account (%s)", what, e.msg);
		return ST_DISCOVERY;
	}
	if (r->status == 401 || r->status == 403) {
		log_err("Route 53: %s: HTTP %ld %s: %s (credentials from %s)", what, r->status,
		    e.code, e.msg, p->source);
		return ST_CONFIG;
	}
	if (r->status == 404 && e.code[0] == '\0') {
		log_err("Route 53: %s: HTTP 404 without a Route 53 error: is [provider %s] api_url "
		    "right (%s)?", what, p->section, p->url);
		return ST_CONFIG;
	}
	if (r->out_of_time || throttled(r->status, e.code))
		log_err("Route 53: %s: HTTP %ld %s: %s; still so after %d attempt(s), and the next "
		    "would start after the timeout (%u s): try again later", what, r->status,
		    e.code, e.msg, tries, p->timeout);
	else if (e.code[0] == '\0')
		log_err("Route 53: %s: HTTP %ld and a malformed answer (not a Route 53 error)",
		    what, r->status);
	else
		log_err("Route 53: %s: HTTP %ld %s: %s", what, r->status, e.code, e.msg);
	return ST_PROVIDER;
}

/* ---- hosted zones -------------------------------------------------------- */

#define HZ "/ListHostedZonesByNameResponse/HostedZones/HostedZone"

struct hz_page {
	const char *apex;
	char	id[R53_ID_MAX + 16], name[NAME_BUF], priv[8];
	char	found[R53_ID_MAX];
	char	next_name[NAME_BUF + 8], next_id[R53_ID_MAX + 16], truncated[8];
	int	past;			/* a name after apex was seen: no more to look at */
	int	privates;		/* private zones of that name skipped */
	int	publics;		/* public zones of that name (the first is taken) */
	int	bad, seen_root;
};

static void
hz_end(void *arg, const char *path, const char *text)
{
	struct hz_page *h = arg;
	char name[NAME_BUF];

	if (strcmp(path, "/ListHostedZonesByNameResponse") == 0)
		h->seen_root = 1;
	else if (strcmp(path, HZ "/Id") == 0)
		snprintf(h->id, sizeof(h->id), "%s", text);
	else if (strcmp(path, HZ "/Name") == 0)
		snprintf(h->name, sizeof(h->name), "%s", text);
	else if (strcmp(path, HZ "/Config/PrivateZone") == 0)
		snprintf(h->priv, sizeof(h->priv), "%s", text);
	else if (strcmp(path, HZ) == 0) {
		/* dnsname is where the list starts, not a filter: check each name */
		if (r53_name(h->name, name, sizeof(name)) == -1)
			h->bad = 1;
		else if (strcmp(name, h->apex) != 0)
			h->past = 1;
		else if (strcmp(h->priv, "true") == 0)
			h->privates++;
		else if (h->publics++ == 0 && zone_id_of(h->id, h->found) == -1)
			h->bad = 1;
		h->id[0] = h->name[0] = h->priv[0] = '\0';
	} else if (strcmp(path, "/ListHostedZonesByNameResponse/IsTruncated") == 0)
		snprintf(h->truncated, sizeof(h->truncated), "%s", text);
	else if (strcmp(path, "/ListHostedZonesByNameResponse/NextDNSName") == 0)
		snprintf(h->next_name, sizeof(h->next_name), "%s", text);
	else if (strcmp(path, "/ListHostedZonesByNameResponse/NextHostedZoneId") == 0)
		snprintf(h->next_id, sizeof(h->next_id), "%s", text);
}

/*
 * The id of the public hosted zone apex (hosted_zone_id when set; cached):
 * ListHostedZonesByName from apex, pages followed while the zones listed
 * are still named apex; a private zone of that name is never taken
 * (certbot-dns-route53 skips them too: dns_route53.py
 * _find_zone_id_for_domain).  Status.
 */
static int
zone_id(struct r53 *p, const char *apex, const char **id)
{
	struct http_request r = { .method = "GET", .accept = R53_XML };
	struct hz_page h;
	char what[NAME_BUF + 64], dns[NAME_BUF + 1], nn[NAME_BUF], next_id[R53_ID_MAX] = "";
	size_t i, page;
	int rc;

	if ((rc = client(p)) != ST_OK)
		return rc;
	if (p->fixed_id[0] != '\0') {
		*id = p->fixed_id;
		return ST_OK;
	}
	for (i = 0; i < p->nzones; i++)
		if (strcmp(p->zones[i].apex, apex) == 0) {
			*id = p->zones[i].id;
			return ST_OK;
		}
	memset(&h, 0, sizeof(h));
	h.apex = apex;
	snprintf(what, sizeof(what), "finding hosted zone %s", apex);
	snprintf(dns, sizeof(dns), "%s.", apex);
	for (page = 0; page < R53_ZONE_PAGES; page++) {
		/* query keys in SigV4's canonical (sorted) order */
		const char *q[] = { "dnsname", dns, next_id[0] ? "hostedzoneid" : "maxitems",
		    next_id[0] ? next_id : R53_ZONE_PAGE, next_id[0] ? "maxitems" : NULL,
		    R53_ZONE_PAGE, NULL };

		if (http_url(r.url, sizeof(r.url), p->url, R53_API "/hostedzonesbyname", q) == -1) {
			rc = ST_FAIL;
			goto out;
		}
		if ((rc = call(p, &r, "route53:ListHostedZonesByName", what, 0)) != ST_OK)
			goto out;
		h.truncated[0] = h.next_name[0] = h.next_id[0] = '\0';
		h.seen_root = 0;
		/* IsTruncated is required (API reference, ListHostedZonesByName) */
		if (xml_walk(r.answer, r.answer_len, hz_end, &h) == -1 || h.bad || !h.seen_root ||
		    (strcmp(h.truncated, "true") != 0 && strcmp(h.truncated, "false") != 0)) {
			log_err("Route 53 API: %s: malformed answer", what);
			rc = ST_PROVIDER;
			goto out;
		}
		if (h.past || strcmp(h.truncated, "true") != 0)
			break;
		if (r53_name(h.next_name, nn, sizeof(nn)) == -1 ||
		    zone_id_of(h.next_id, next_id) == -1) {
			log_err("Route 53 API: %s: malformed answer (next page)", what);
			rc = ST_PROVIDER;
			goto out;
		}
		if (strcmp(nn, apex) != 0)
			break;
		snprintf(dns, sizeof(dns), "%s.", nn);
	}
	if (h.found[0] == '\0') {
		log_err("Route 53: no public hosted zone %s in the account of the credentials from "
		    "%s (DNS says it is the zone)%s", apex, p->source, h.privates ?
		    "; a private hosted zone of that name is there, but DNS-01 is validated "
		    "through the public one" : "");
		rc = ST_DISCOVERY;
	} else if (p->nzones == R53_ZONE_CACHE) {
		log_err("Route 53: more than %d zones in one run", R53_ZONE_CACHE);
		rc = ST_FAIL;
	} else {
		snprintf(p->zones[p->nzones].apex, NAME_BUF, "%s", apex);
		memcpy(p->zones[p->nzones].id, h.found, R53_ID_MAX);
		*id = p->zones[p->nzones++].id;
		log_debug("Route 53: hosted zone %s is %s%s", apex, *id, h.privates ?
		    " (a private zone of that name skipped)" : "");
		if (h.publics > 1)
			log_warn("Route 53: %d public hosted zones are named %s; dns01 writes to the "
			    "first, %s: if another is the one delegated, set hosted_zone_id",
			    h.publics, apex, *id);
		rc = ST_OK;
	}
out:
	http_request_clear(&r);
	return rc;
}

/* ---- record sets ---------------------------------------------------------- */

#define RS "/ListResourceRecordSetsResponse/ResourceRecordSets/ResourceRecordSet"

struct rs_page {
	const struct record *recs;
	size_t	 n;
	const char *only;		/* one name's TXT RRset only, or NULL */
	struct rr_list *out;
	char	 name[NAME_BUF + 8], type[RMW_TYPE_MAX], ttl[16];
	struct rr_list vals;		/* the values of the RRset being read */
	int	 routed;		/* SetIdentifier or AliasTarget in it */
	char	 next_name[NAME_BUF + 8], next_type[RMW_TYPE_MAX], truncated[8];
	char	 next_id[R53_ID_MAX * 2];	/* NextRecordIdentifier, "" none */
	int	 bad, failed, seen_root, refused, past;
	char	 refused_name[NAME_BUF];
};

/* 1 when name is one of recs' names. */
static int
wanted(const struct rs_page *s, const char *name)
{
	size_t i;

	if (s->only != NULL)
		return strcmp(name, s->only) == 0;
	for (i = 0; i < s->n; i++)
		if (strcmp(name, s->recs[i].name) == 0)
			return 1;
	return 0;
}

/* End of one ResourceRecordSet: keep its TXT values when at a wanted name. */
static void
rs_set(struct rs_page *s)
{
	char name[NAME_BUF];
	char *end;
	long ttl;
	size_t i;

	if (r53_name(s->name, name, sizeof(name)) == -1) {
		s->bad = 1;
		return;
	}
	if (s->only != NULL && (strcmp(name, s->only) != 0 || strcmp(s->type, "TXT") != 0)) {
		s->past = 1;		/* the list started after where ours would be */
		return;
	}
	if (strcmp(s->type, "TXT") != 0 || !wanted(s, name))
		return;
	if (s->routed) {
		s->refused = 1;
		snprintf(s->refused_name, sizeof(s->refused_name), "%s", name);
		return;
	}
	errno = 0;
	ttl = strtol(s->ttl, &end, 10);
	if (errno != 0 || end == s->ttl || *end != '\0' || ttl < 0 || ttl > INT32_MAX) {
		s->bad = 1;
		return;
	}
	for (i = 0; i < s->vals.n; i++)
		if (rr_list_add(s->out, name, "TXT", s->vals.rr[i].rdata, (int)ttl) == -1)
			s->failed = 1;
}

static void
rs_end(void *arg, const char *path, const char *text)
{
	struct rs_page *s = arg;

	if (strcmp(path, "/ListResourceRecordSetsResponse") == 0)
		s->seen_root = 1;
	else if (strcmp(path, RS "/Name") == 0)
		snprintf(s->name, sizeof(s->name), "%s", text);
	else if (strcmp(path, RS "/Type") == 0)
		snprintf(s->type, sizeof(s->type), "%s", text);
	else if (strcmp(path, RS "/TTL") == 0)
		snprintf(s->ttl, sizeof(s->ttl), "%s", text);
	else if (strcmp(path, RS "/SetIdentifier") == 0 || strcmp(path, RS "/AliasTarget") == 0)
		s->routed = 1;
	else if (strcmp(path, RS "/ResourceRecords/ResourceRecord/Value") == 0) {
		if (rr_list_add(&s->vals, "", "", text, 0) == -1)
			s->failed = 1;
	} else if (strcmp(path, RS) == 0) {
		if (!s->past)
			rs_set(s);
		rr_list_clear(&s->vals);
		s->name[0] = s->type[0] = s->ttl[0] = '\0';
		s->routed = 0;
	} else if (strcmp(path, "/ListResourceRecordSetsResponse/IsTruncated") == 0)
		snprintf(s->truncated, sizeof(s->truncated), "%s", text);
	else if (strcmp(path, "/ListResourceRecordSetsResponse/NextRecordName") == 0)
		snprintf(s->next_name, sizeof(s->next_name), "%s", text);
	else if (strcmp(path, "/ListResourceRecordSetsResponse/NextRecordType") == 0)
		snprintf(s->next_type, sizeof(s->next_type), "%s", text);
	else if (strcmp(path, "/ListResourceRecordSetsResponse/NextRecordIdentifier") == 0)
		snprintf(s->next_id, sizeof(s->next_id), "%s", text);
}

/*
 * Read into out the TXT records at the names of recs in zone id:
 * ListResourceRecordSets from (only, TXT) with one item when only is set
 * (one name), else the whole zone, page by page (NextRecordName,
 * NextRecordType).  name and type are where the list starts, not filters:
 * each RRset's name and type is checked.  Status, or R53_BUSY.
 */
static int
list_rrsets(struct r53 *p, const char *id, const char *apex, const char *only,
    const struct record *recs, size_t n, struct rr_list *out, int busy_ok)
{
	struct http_request r = { .method = "GET", .accept = R53_XML };
	struct rs_page s;
	char path[R53_ID_MAX + 64], what[NAME_BUF + 64], name[NAME_BUF + 1] = "";
	char type[RMW_TYPE_MAX] = "", nn[NAME_BUF], ident[R53_ID_MAX * 2] = "";
	size_t page;
	int rc = ST_OK;

	memset(&s, 0, sizeof(s));
	s.recs = recs;
	s.n = n;
	s.only = only;
	s.out = out;
	snprintf(path, sizeof(path), R53_API "/hostedzone/%s/rrset", id);
	snprintf(what, sizeof(what), "reading %s in hosted zone %s", only ? only : "the records",
	    apex);
	if (only != NULL) {
		snprintf(name, sizeof(name), "%s.", only);
		snprintf(type, sizeof(type), "TXT");
	}
	for (page = 0; page < R53_RRSET_PAGES; page++) {
		/* keys sorted for SigV4: identifier, maxitems, name, type */
		const char *q0[] = { "identifier", ident, "maxitems", R53_RRSET_PAGE, "name",
		    name, "type", type, NULL };
		const char *q1[] = { "maxitems", only ? "1" : R53_RRSET_PAGE,
		    name[0] ? "name" : NULL, name, "type", type, NULL };
		const char *const *q = ident[0] ? q0 : q1;

		if (http_url(r.url, sizeof(r.url), p->url, path, q) == -1) {
			rc = ST_FAIL;
			break;
		}
		if ((rc = call(p, &r, "route53:ListResourceRecordSets", what, busy_ok)) != ST_OK)
			break;
		s.truncated[0] = s.next_name[0] = s.next_type[0] = s.next_id[0] = '\0';
		s.seen_root = 0;
		if (xml_walk(r.answer, r.answer_len, rs_end, &s) == -1 || s.bad || !s.seen_root) {
			log_err("Route 53 API: %s: malformed answer", what);
			rc = ST_PROVIDER;
			break;
		}
		if (s.failed) {
			rc = ST_FAIL;
			break;
		}
		if (s.refused) {
			log_err("Route 53: %s: the TXT records at %s have a routing policy "
			    "(SetIdentifier or alias); dns01 writes only simple records", what,
			    s.refused_name);
			rc = ST_PROVIDER;
			break;
		}
		if (only != NULL || strcmp(s.truncated, "true") != 0)
			break;
		if (s.next_name[0] == '\0' || s.next_type[0] == '\0' ||
		    r53_name(s.next_name, nn, sizeof(nn)) == -1 || !api_printable(s.next_type)) {
			log_err("Route 53 API: %s: malformed answer (next page)", what);
			rc = ST_PROVIDER;
			break;
		}
		snprintf(name, sizeof(name), "%s.", nn);
		snprintf(type, sizeof(type), "%s", s.next_type);
		/* RRsets with a routing policy continue at their identifier */
		snprintf(ident, sizeof(ident), "%s", api_printable(s.next_id) ? s.next_id : "");
	}
	rr_list_clear(&s.vals);
	http_request_clear(&r);
	return rc;
}

/* The distinct names of recs (at most max), into names; their count, or max + 1. */
static size_t
distinct(const struct record *recs, size_t n, const char **names, size_t max)
{
	size_t i, j, k = 0;

	for (i = 0; i < n; i++) {
		for (j = 0; j < k && strcmp(names[j], recs[i].name) != 0; j++)
			;
		if (j < k)
			continue;
		if (k == max)
			return max + 1;
		names[k++] = recs[i].name;
	}
	return k;
}

/*
 * rmw read(): the TXT RRsets at the names of recs — one short listing per
 * name for up to R53_PER_NAME_MAX names (apex + wildcard is one name),
 * else one listing of the zone (fewer requests: Route 53 allows five per
 * second per account, API reference "Quotas").
 */
static int
rd(void *priv, const struct zone *z, const struct record *recs, size_t n, struct rr_list *out)
{
	struct r53 *p = priv;
	const char *id = NULL, *names[R53_PER_NAME_MAX];
	size_t k, i;
	int rc;

	if ((rc = zone_id(p, z->apex, &id)) != ST_OK)
		return rc;
	k = distinct(recs, n, names, R53_PER_NAME_MAX);
	if (k > R53_PER_NAME_MAX)
		return list_rrsets(p, id, z->apex, NULL, recs, n, out, 1);
	for (i = 0; i < k; i++)
		if ((rc = list_rrsets(p, id, z->apex, names[i], recs, n, out, 1)) != ST_OK)
			return rc;
	return ST_OK;
}

/* One <Change>: action on the RRset (name, TXT, ttl) with values. */
static void
change_xml(struct buf *b, const char *action, const char *name, int ttl, const struct rr **v,
    size_t n)
{
	char num[16];
	size_t i;

	snprintf(num, sizeof(num), "%d", ttl);
	buf_str(b, "<Change>");
	buf_elem(b, "Action", action);
	buf_str(b, "<ResourceRecordSet>");
	buf_str(b, "<Name>");
	buf_xml(b, name);
	buf_str(b, ".</Name>");
	buf_elem(b, "Type", "TXT");
	buf_elem(b, "TTL", num);
	buf_str(b, "<ResourceRecords>");
	for (i = 0; i < n; i++) {
		buf_str(b, "<ResourceRecord>");
		buf_elem(b, "Value", v[i]->rdata);
		buf_str(b, "</ResourceRecord>");
	}
	buf_str(b, "</ResourceRecords></ResourceRecordSet></Change>");
}

#define CI_CHANGE "/ChangeResourceRecordSetsResponse/ChangeInfo/Id"
#define CI_GET "/GetChangeResponse/ChangeInfo"

struct change_info {
	char	id[R53_ID_MAX + 16];
	char	status[16];
};

static void
ci_end(void *arg, const char *path, const char *text)
{
	struct change_info *c = arg;

	if (strcmp(path, CI_CHANGE) == 0 || strcmp(path, CI_GET "/Id") == 0)
		snprintf(c->id, sizeof(c->id), "%s", text);
	else if (strcmp(path, CI_GET "/Status") == 0 ||
	    strcmp(path, "/ChangeResourceRecordSetsResponse/ChangeInfo/Status") == 0)
		snprintf(c->status, sizeof(c->status), "%s", text);
}

/* A change id without its "/change/" prefix; 0, or -1 if not one. */
static int
change_id_of(const char *in, char *out)
{
	const char *id = strncmp(in, "/change/", 8) == 0 ? in + 8 : in;
	size_t n = strlen(id);

	if (n == 0 || n >= R53_ID_MAX ||
	    strspn(id, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-") != n)
		return -1;
	memcpy(out, id, n + 1);
	return 0;
}

/*
 * rmw write(): one ChangeResourceRecordSets for every RRset that changed
 * (rmw_rrsets): DELETE of the RRset exactly as read (its TTL, every
 * value), then CREATE of the new one with the TTL it had; never UPSERT,
 * so a change by someone else since the read fails the whole batch
 * (R53_CONFLICT).  The change id is kept for change_insync().
 */
static int
wr(void *priv, const struct zone *z, const struct rr_list *before, const struct rr_list *after)
{
	struct r53 *p = priv;
	struct http_request r = { .method = "POST" };
	struct change_info ci = { "", "" };
	struct rmw_rrset *s = NULL;
	struct buf b = { NULL, 0, 0, 0 };
	const char *id = NULL;
	char path[R53_ID_MAX + 64], what[NAME_BUF + 64];
	size_t ns = 0, i;
	int rc;

	if ((rc = zone_id(p, z->apex, &id)) != ST_OK)
		return rc;
	if (rmw_rrsets(before, after, &s, &ns) == -1)
		return ST_FAIL;
	if (ns == 0)
		goto out;
	buf_str(&b, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
	    "<ChangeResourceRecordSetsRequest xmlns=\"" R53_XMLNS "\"><ChangeBatch>"
	    "<Comment>dns01</Comment><Changes>");
	for (i = 0; i < ns; i++) {
		if (s[i].nold > 0)
			change_xml(&b, "DELETE", s[i].name, s[i].old[0]->ttl, s[i].old, s[i].nold);
		if (s[i].nnew > 0)
			change_xml(&b, "CREATE", s[i].name, s[i].ttl, s[i].new, s[i].nnew);
	}
	buf_str(&b, "</Changes></ChangeBatch></ChangeResourceRecordSetsRequest>");
	rc = ST_FAIL;
	if (b.failed)
		goto out;
	/* botocore's requestUri ends with a slash: /2013-04-01/hostedzone/{Id}/rrset/ */
	snprintf(path, sizeof(path), R53_API "/hostedzone/%s/rrset/", id);
	snprintf(what, sizeof(what), "changing TXT records in hosted zone %s", z->apex);
	if (http_url(r.url, sizeof(r.url), p->url, path, NULL) == -1)
		goto out;
	r.data = b.p;
	r.datalen = b.len;
	r.type = R53_XML;
	r.accept = R53_XML;
	if ((rc = call(p, &r, "route53:ChangeResourceRecordSets", what, 1)) != ST_OK)
		goto out;
	if (xml_walk(r.answer, r.answer_len, ci_end, &ci) == -1 ||
	    change_id_of(ci.id, p->change) == -1) {
		log_err("Route 53 API: %s: malformed answer (no ChangeInfo Id)", what);
		p->change[0] = '\0';
		rc = ST_PROVIDER;
		goto out;
	}
	log_debug("Route 53: change %s (%s)", p->change, ci.status);
	rc = ST_OK;
out:
	free(b.p);
	rmw_rrsets_free(s, ns);
	http_request_clear(&r);
	return rc;
}

static const char *
busy_why(void *priv)
{
	return ((struct r53 *)priv)->busy;
}

/*
 * TXT values go quoted: Route 53 refuses them bare ("Value should be enclosed
 * in quotation marks": rusoto/rusoto#1046; Developer Guide, "Supported DNS
 * record types", TXT).
 */
static const struct rmw_ops r53_rmw = {
	.label = "Route 53",
	.quote_txt = 1,
	.read = rd,
	.write = wr,
	.busy_why = busy_why,
};

/*
 * Poll GetChange for the last write until it is INSYNC (Route 53 has
 * applied it on all its servers; API reference, GetChange), pausing
 * R53_POLL_FIRST_S doubling up to R53_POLL_MAX_S, within the deadline.
 * Still PENDING at the deadline: a warning (the core's wait then reports
 * each server).  Status.
 */
static int
change_insync(struct r53 *p)
{
	struct http_request r = { .method = "GET", .accept = R53_XML };
	struct change_info ci;
	char path[R53_ID_MAX + 32], what[R53_ID_MAX + 64];
	double pause = R53_POLL_FIRST_S;
	int rc = ST_OK, polls = 0;

	if (p->change[0] == '\0')
		return ST_OK;
	snprintf(path, sizeof(path), R53_API "/change/%s", p->change);
	snprintf(what, sizeof(what), "checking change %s", p->change);
	if (http_url(r.url, sizeof(r.url), p->url, path, NULL) == -1)
		return ST_FAIL;
	for (;;) {
		memset(&ci, 0, sizeof(ci));
		polls++;
		if ((rc = call(p, &r, "route53:GetChange", what, 0)) != ST_OK)
			break;
		if (xml_walk(r.answer, r.answer_len, ci_end, &ci) == -1 || ci.status[0] == '\0') {
			log_err("Route 53 API: %s: malformed answer (no ChangeInfo Status)", what);
			rc = ST_PROVIDER;
			break;
		}
		if (strcmp(ci.status, "INSYNC") == 0) {
			log_debug("Route 53: change %s is INSYNC (%d GetChange)", p->change, polls);
			break;
		}
		if (log_now() + pause > p->deadline) {
			log_warn("Route 53: change %s still %s at the timeout (%u s)", p->change,
			    ci.status, p->timeout);
			break;
		}
		log_sleep(pause);
		if ((pause *= 2) > R53_POLL_MAX_S)
			pause = R53_POLL_MAX_S;
	}
	p->change[0] = '\0';
	http_request_clear(&r);
	return rc;
}

/*
 * Refuse, before anything is sent, a value that cannot go inside our
 * quotes as it is (a '"' or '\\' would need escaping in Route 53's
 * presentation form, and rmw matches values bare or in plain quotes).
 */
static int
values_fit(const struct record *recs, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (strpbrk(recs[i].value, "\"\\") != NULL) {
			log_err("%s: Route 53: a TXT value with '\"' or '\\' is not supported by "
			    "dns01's route53 provider; nothing was sent", recs[i].name);
			return ST_USAGE;
		}
	return ST_OK;
}

/* Add, delete or confirm recs in zone z, then wait for INSYNC. */
static int
change(struct r53 *p, const struct zone *z, struct record *recs, size_t n, int ttl,
    enum rmw_op op)
{
	const char *id = NULL;
	int rc;

	if (op != RMW_DEL && (rc = values_fit(recs, n)) != ST_OK)
		return rc;
	if ((rc = zone_id(p, z->apex, &id)) != ST_OK)
		return rc;
	p->change[0] = '\0';
	if ((rc = rmw_change(&p->rmw, z, recs, n, ttl, op)) != ST_OK)
		return rc;
	return change_insync(p);
}

static int
r53_add(void *priv, const struct zone *z, struct record *r, size_t n, int ttl)
{
	return change(priv, z, r, n, ttl, RMW_ADD);
}

static int
r53_del(void *priv, const struct zone *z, struct record *r, size_t n)
{
	return change(priv, z, r, n, 0, RMW_DEL);
}

static int
r53_confirm(void *priv, const struct zone *z, struct record *r, size_t n, int ttl)
{
	return change(priv, z, r, n, ttl, RMW_CONFIRM);
}

/* Verify: the credentials, the hosted zone, one read of its records; nothing changed. */
static int
r53_verify(void *priv, const struct zone *z, char *what, size_t whatlen)
{
	struct r53 *p = priv;
	struct rr_list l = { 0 };
	struct record none = { .name = "", .value = "" };
	const char *id = NULL;
	int rc;

	if ((rc = zone_id(p, z->apex, &id)) != ST_OK)
		return rc;
	rc = list_rrsets(p, id, z->apex, z->apex, &none, 0, &l, 0);
	rr_list_clear(&l);
	if (rc != ST_OK)
		return rc;
	snprintf(what, whatlen, "Route 53 accepts the credentials from %s and reads public "
	    "hosted zone %s (%s%s)", p->source, z->apex, id, p->fixed_id[0] ?
	    ", hosted_zone_id" : "");
	return ST_OK;
}

static void
r53_destroy(void *priv)
{
	struct r53 *p = priv;

	if (p == NULL)
		return;
	http_free(p->http);
	wipe_free(p->key);
	wipe_free(p->secret);
	wipe_free(p->token);
	free(p->ca_file);
	free(p->state_dir);
	free(p);
}

static int
r53_create(const struct provider_conf *pc, const struct config *cfg, void **priv)
{
	const char *ca = provider_conf_get(pc, "ca_file");
	const char *zid = provider_conf_get(pc, "hosted_zone_id");
	struct r53 *p;

	if ((p = calloc(1, sizeof(*p))) == NULL)
		return ST_FAIL;
	p->pc = pc;
	p->timeout = cfg->timeout;
	p->deadline = log_now() + cfg->timeout;
	snprintf(p->section, sizeof(p->section), "%s", pc->name);
	if (zid != NULL && zone_id_of(zid, p->fixed_id) == -1) {
		log_err("%s: [provider %s]: hosted_zone_id must be a Route 53 hosted zone id "
		    "(upper-case letters and digits, as Z0123456789ABC)", pc->origin, pc->name);
		goto fail;
	}
	if (api_base_url(pc, R53_DEFAULT_URL, p->url, sizeof(p->url)) != ST_OK)
		goto fail;
	if ((ca != NULL && (p->ca_file = strdup(ca)) == NULL) ||
	    (p->state_dir = strdup(cfg->state_dir)) == NULL)
		goto fail;
	p->rmw = (struct rmw_ctx){ .ops = &r53_rmw, .priv = p, .state_dir = p->state_dir,
	    .lock_prefix = "route53", .deadline = p->deadline, .timeout_s = p->timeout };
	*priv = p;
	return ST_OK;
fail:
	r53_destroy(p);
	return ST_CONFIG;
}

const struct provider_ops provider_route53 = {
	.type = "route53",
	.description = "Amazon Route 53 (API 2013-04-01, AWS credentials chain, SigV4)",
	.keys = keys,
	.secret_keys = secret_keys,
	.env = env,
	.cred = cred,
	.default_ttl = R53_DEFAULT_TTL,
	.min_ttl = R53_MIN_TTL,
	.create = r53_create,
	.add = r53_add,
	.del = r53_del,
	.verify = r53_verify,
	.confirm = r53_confirm,
	.destroy = r53_destroy,
};
