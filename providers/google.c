/*
 * Provider "google": Google Cloud DNS, API v1
 * (https://cloud.google.com/dns/docs/reference/rest/v1;
 * ../shared/reference/route53-google-notes.md).
 *
 * Credentials, in this order: a service account key (the JSON file that
 * `gcloud iam service-accounts keys create` writes) named by
 * key_file, by `credentials =` (the same file certbot's
 * --dns-google-credentials took, or a certbot INI with
 * dns_google_credentials = PATH), or given whole in service_account (lego's
 * GCE_SERVICE_ACCOUNT); else the file GOOGLE_APPLICATION_CREDENTIALS names;
 * else the GCE metadata server of the instance dns01 runs on.  With a key,
 * dns01 signs a JWT (RS256, libcrypto) and trades it at the key's token_uri
 * for an access token (RFC 7523; google-auth service_account.py and
 * _client.py do the same); from the metadata server it GETs one.  Either
 * is fetched once per run, on the first API call, and sent as a secret
 * "Authorization: Bearer" header.
 *
 * The API takes whole RRsets: a change (changes.create) lists additions
 * and deletions, and a deletion must match the RRset as it is (TTL and
 * every value) or the whole change is refused (412 conditionNotMet; an
 * addition of an RRset that exists: 409 alreadyExists; a deletion of one
 * that does not: 404) and nothing changes.  So every write is a
 * read-modify-write (core/rmw.h) whose write is conditional on what was
 * read: a writer that changed the RRset in between makes ours fail, and
 * the loop reads again.  After a change is accepted, changes.get is asked
 * until it is "done" (the servers have it), then the core waits for DNS.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <jansson.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "../core/api.h"
#include "../core/config.h"
#include "../core/http.h"
#include "../core/log.h"
#include "../core/rmw.h"
#include "../core/status.h"
#include "google_jwt.h"
#include "provider.h"

#define GOOGLE_DEFAULT_URL	"https://dns.googleapis.com/dns/v1"
/* google-auth's default token endpoint (google/oauth2/_client.py), for a key
   without token_uri */
#define GOOGLE_TOKEN_URI	"https://oauth2.googleapis.com/token"
/* The scope of Cloud DNS read-write: what certbot-dns-google (dns_google.py
   scopes) and lego (gdns.NdevClouddnsReadwriteScope) ask for */
#define GOOGLE_SCOPE		"https://www.googleapis.com/auth/ndev.clouddns.readwrite"
#define GOOGLE_GRANT		"urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer"

#define GOOGLE_METADATA_HOST	HTTP_GCE_METADATA_NAME
#define GOOGLE_METADATA_ENV	"GCE_METADATA_HOST"	/* google-auth's override
							   (environment_vars.py) */
#define GOOGLE_ADC_ENV		"GOOGLE_APPLICATION_CREDENTIALS"
#define GOOGLE_MD_TOKEN		"/computeMetadata/v1/instance/service-accounts/default/token"
#define GOOGLE_MD_PROJECT	"/computeMetadata/v1/project/project-id"
/*
 * TTL: certbot-dns-google writes 60 s (dns_google.py: ttl = 60), lego
 * 120 s (dns01.DefaultTTL).  The API documents no lowest TTL (the
 * ResourceRecordSet schema's ttl is an integer); 1 is a guess.
 */
#define GOOGLE_DEFAULT_TTL	60
#define GOOGLE_MIN_TTL		1
#define GOOGLE_ID_MAX		128	/* octets of a project id or zone name */
#define GOOGLE_ZONE_CACHE	16
#define GOOGLE_MAX_PAGES	50	/* of one list */
#define GOOGLE_NAME_READS	3	/* more names: one read of the whole zone */
#define GOOGLE_MSG_MAX		300
#define GOOGLE_BUSY_MAX		(GOOGLE_MSG_MAX + 64)
#define GOOGLE_KEY_MAX		16384	/* octets of a PEM private key */
#define GOOGLE_WHO_MAX		(PATH_MAX_SHOWN + 64)
#define PATH_MAX_SHOWN		512
#define GOOGLE_POLL_FIRST_S	0.5	/* changes.get: the first pause, doubled */
#define GOOGLE_POLL_MAX_S	4.0	/* ... up to this */
#define GOOGLE_CHANGE_ID_MAX	64
/* The roles a service account needs (cloud.google.com/dns/docs/access-control;
   route53-google-notes.md: changes.create also needs the record set ones). */
#define GOOGLE_ROLE_HINT	"roles/dns.admin, or a custom role with dns.changes.create, " \
	"dns.changes.get, dns.resourceRecordSets.create, dns.resourceRecordSets.update, " \
	"dns.resourceRecordSets.delete, dns.resourceRecordSets.list and dns.managedZones.list"

/*
 * HTTP retries as Google's own client libraries make them:
 * google-api-python-client (googleapiclient/http.py, _should_retry_response
 * and _retry_request) retries every 5xx and 429 after rand() * 2^n s, and
 * google-api-go-client (internal/gensupport) 429 and 5xx with a doubling
 * backoff.  A 403 whose reason is rateLimitExceeded or
 * userRateLimitExceeded, which the Python client retries too, goes back
 * to the read-modify-write loop as "busy" (check()).  Within the run's
 * timeout.
 */
static const struct http_retry google_retry = {
	.attempts = 6,
	.first_s = 1,
	.max_s = 32,
	.statuses = { 429, 500, 502, 503, 504, 0 },
};

/* The metadata server answers at once or is not there (google-auth
   compute_engine/_metadata.py tries a few times). */
static const struct http_retry metadata_retry = {
	.attempts = 3,
	.first_s = 0.5,
	.max_s = 1,
	.statuses = { 429, 500, 502, 503, 504, 0 },
};

struct gzone {
	char	apex[NAME_BUF];
	char	name[GOOGLE_ID_MAX];	/* the managed zone's name (its id in URLs) */
};

struct google {
	char	 section[128];
	char	 url[HTTP_URL_MAX / 2];
	char	*ca_file;
	char	*state_dir;
	char	 project[GOOGLE_ID_MAX];
	char	 zone_id[GOOGLE_ID_MAX];	/* zone_id =, "" when not given */
	char	 who[GOOGLE_WHO_MAX];	/* where the credentials come from, for messages */
	/* a service account key: */
	EVP_PKEY *pkey;
	char	*email;			/* client_email */
	char	*key_id;		/* private_key_id, NULL when absent */
	char	 token_uri[HTTP_URL_MAX / 2];
	/* else the metadata server: */
	int	 metadata;
	char	 md_host[256];
	char	*auth;			/* "Bearer <token>" (secret) */
	struct http_header hdr;
	struct http *http;		/* the API, once a token is there */
	int	 token_rc;		/* ST_OK, or how getting the token failed */
	double	 deadline;		/* log_now() seconds: the run's timeout */
	unsigned timeout;
	char	 busy[GOOGLE_BUSY_MAX];	/* the last rate-limit 403 */
	char	 change_id[GOOGLE_CHANGE_ID_MAX];	/* the last change accepted, "" */
	char	 change_status[32];	/* ... and its status then */
	struct rmw_ctx rmw;
	struct gzone zones[GOOGLE_ZONE_CACHE];
	size_t	 nzones;
};

static const struct rmw_ops google_rmw;

static const char *const keys[] = { "key_file", "service_account", "project",
	"zone_id", "api_url", "ca_file", NULL };
static const char *const secret_keys[] = { "service_account", NULL };
/*
 * lego's names first (go-acme/lego providers/dns/gcloud: GCE_SERVICE_ACCOUNT
 * is the key itself, and as lego reads it with env.GetOrFile,
 * GCE_SERVICE_ACCOUNT_FILE is the key file; GCE_PROJECT; GCE_ZONE_ID), then
 * Application Default Credentials' (GOOGLE_APPLICATION_CREDENTIALS,
 * GOOGLE_CLOUD_PROJECT: google-auth _default.py).
 */
static const struct env_map env[] = {
	{ "key_file", { "GCE_SERVICE_ACCOUNT_FILE", GOOGLE_ADC_ENV, NULL } },
	{ "service_account", { "GCE_SERVICE_ACCOUNT", NULL } },
	{ "project", { "GCE_PROJECT", "GOOGLE_CLOUD_PROJECT", NULL } },
	{ "zone_id", { "GCE_ZONE_ID", NULL } },
	{ NULL, { NULL } }
};
/*
 * certbot-dns-google takes --dns-google-credentials PATH (the key file) and
 * --dns-google-project, stored as dns_google_credentials and
 * dns_google_project (certbot_dns_google/_internal/dns_google.py).
 */
static const struct cred_map cred[] = {
	{ "key_file", "dns_google_credentials" },
	{ "project", "dns_google_project" },
	{ NULL, NULL }
};

/* 1 when s is a project id or zone name dns01 can put in a URL path as is. */
static int
id_ok(const char *s)
{
	size_t n = strlen(s);

	return n > 0 && n < GOOGLE_ID_MAX && strspn(s, "abcdefghijklmnopqrstuvwxyz"
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.:") == n;
}

static void
free_secret(char *s)
{
	if (s != NULL) {
		explicit_bzero(s, strlen(s));
		free(s);
	}
}

static void
google_destroy(void *priv)
{
	struct google *g = priv;

	if (g == NULL)
		return;
	http_free(g->http);
	EVP_PKEY_free(g->pkey);
	free_secret(g->auth);
	free(g->email);
	free(g->key_id);
	free(g->ca_file);
	free(g->state_dir);
	explicit_bzero(g, sizeof(*g));
	free(g);
}

/* A passphrase callback that has none: an encrypted key is refused, never prompted for. */
static int
no_passphrase(char *buf, int size, int rwflag, void *u)
{
	(void)buf;
	(void)size;
	(void)rwflag;
	(void)u;
	return -1;
}

/*
 * Take a service account key (JSON text): its type, client_email,
 * private_key (an RSA key in PEM), private_key_id, token_uri and
 * project_id.  The private key's copies are wiped.  Status (ST_CONFIG
 * after a message naming g->who).
 */
static int
take_key(struct google *g, const char *text)
{
	const char *type = NULL, *email = NULL, *pem = NULL, *kid = NULL, *uri = NULL,
	    *proj = NULL;
	json_t *doc, *pk;
	json_error_t jerr;
	BIO *bio = NULL;
	int rc = ST_CONFIG;

	if ((doc = json_loads(text, 0, &jerr)) == NULL) {
		log_err("%s: not JSON (line %d): a service account key is the JSON file Google "
		    "Cloud gives (IAM > Service accounts > Keys)", g->who, jerr.line);
		return ST_CONFIG;
	}
	if (json_unpack_ex(doc, NULL, 0, "{s?s, s?s, s?s, s?s, s?s, s?s}", "type", &type,
	    "client_email", &email, "private_key", &pem, "private_key_id", &kid, "token_uri",
	    &uri, "project_id", &proj) != 0 || type == NULL ||
	    strcmp(type, "service_account") != 0) {
		log_err("%s: not a service account key (\"type\": \"service_account\"); dns01 takes "
		    "no other kind of Google credentials (user or external account)", g->who);
		goto out;
	}
	if (email == NULL || pem == NULL || !api_printable(email)) {
		log_err("%s: a service account key needs client_email and private_key", g->who);
		goto out;
	}
	if (uri == NULL)
		uri = GOOGLE_TOKEN_URI;
	if (strncmp(uri, "https://", 8) != 0 || !api_printable(uri) ||
	    strlen(uri) >= sizeof(g->token_uri)) {
		log_err("%s: token_uri must be an https:// URL", g->who);
		goto out;
	}
	if (strlen(pem) > GOOGLE_KEY_MAX ||
	    (bio = BIO_new_mem_buf(pem, (int)strlen(pem))) == NULL ||
	    (g->pkey = PEM_read_bio_PrivateKey(bio, NULL, no_passphrase, NULL)) == NULL ||
	    EVP_PKEY_base_id(g->pkey) != EVP_PKEY_RSA) {
		log_err("%s: private_key is not an unencrypted RSA private key in PEM "
		    "(\"-----BEGIN PRIVATE KEY-----\"); download a new key", g->who);
		ERR_clear_error();
		goto out;
	}
	snprintf(g->token_uri, sizeof(g->token_uri), "%s", uri);
	if ((g->email = strdup(email)) == NULL ||
	    (kid != NULL && api_printable(kid) && (g->key_id = strdup(kid)) == NULL)) {
		rc = ST_FAIL;
		goto out;
	}
	if (g->project[0] == '\0' && proj != NULL)
		snprintf(g->project, sizeof(g->project), "%s", proj);
	rc = ST_OK;
out:
	BIO_free(bio);
	if ((pk = json_object_get(doc, "private_key")) != NULL && json_is_string(pk))
		explicit_bzero((char *)json_string_value(pk), json_string_length(pk));
	json_decref(doc);
	return rc;
}

/* Read the key file path (private, as every secrets file) and take it.  Status. */
static int
take_key_file(struct google *g, const char *path)
{
	char *text = NULL;
	int rc;

	if ((rc = config_check_private(path)) != ST_OK ||
	    (rc = config_read_file(path, &text)) != ST_OK)
		return rc;
	rc = take_key(g, text);
	free_secret(text);
	return rc;
}

/*
 * `credentials = PATH` names either certbot's INI (the core has read it:
 * dns_google_credentials became key_file) or, as certbot's
 * --dns-google-credentials did, the key file itself.  1 when it is JSON.
 */
static int
credentials_is_key(const char *path)
{
	char *text = NULL;
	size_t i;
	int json;

	if (config_read_file(path, &text) != ST_OK)
		return 0;
	for (i = 0; text[i] == ' ' || text[i] == '\t' || text[i] == '\r' || text[i] == '\n'; i++)
		;
	json = text[i] == '{';
	free_secret(text);
	return json;
}

/* Where the credentials come from: a key somewhere, or the metadata server.  Status. */
static int
find_credentials(struct google *g, const struct provider_conf *pc)
{
	const char *file = provider_conf_get(pc, "key_file");
	const char *inline_key = provider_conf_get(pc, "service_account");
	const char *creds = provider_conf_get(pc, "credentials");
	const char *host = getenv(GOOGLE_METADATA_ENV);
	char shown[PATH_MAX_SHOWN];

	if (file == NULL && creds != NULL && credentials_is_key(creds))
		file = creds;
	if (file != NULL && *file != '\0') {
		snprintf(g->who, sizeof(g->who), "service account key file %s ([provider %s])",
		    log_escape(file, shown, sizeof(shown)), g->section);
		return take_key_file(g, file);
	}
	if (inline_key != NULL && *inline_key != '\0') {
		snprintf(g->who, sizeof(g->who), "the service account key in %s ([provider %s])",
		    strcmp(pc->origin, "environment") == 0 ?
		    "GCE_SERVICE_ACCOUNT (or GCE_SERVICE_ACCOUNT_FILE)" : "service_account",
		    g->section);
		return take_key(g, inline_key);
	}
	if ((file = getenv(GOOGLE_ADC_ENV)) != NULL && *file != '\0') {
		snprintf(g->who, sizeof(g->who), "service account key file %s (" GOOGLE_ADC_ENV
		    ", [provider %s])", log_escape(file, shown, sizeof(shown)), g->section);
		return take_key_file(g, file);
	}
	/* Application Default Credentials' last resort: the metadata server. */
	if (host == NULL || *host == '\0')
		host = GOOGLE_METADATA_HOST;
	if (strlen(host) >= sizeof(g->md_host) || !api_printable(host) ||
	    strpbrk(host, "/?#@") != NULL) {
		log_err(GOOGLE_METADATA_ENV " must be a host[:port]");
		return ST_CONFIG;
	}
	snprintf(g->md_host, sizeof(g->md_host), "%s", host);
	g->metadata = 1;
	snprintf(g->who, sizeof(g->who), "the instance's service account (GCE metadata "
	    "server %s, [provider %s])", log_escape(host, shown, sizeof(shown)), g->section);
	return ST_OK;
}

static int
google_create(const struct provider_conf *pc, const struct config *cfg, void **priv)
{
	const char *project = provider_conf_get(pc, "project");
	const char *zone_id = provider_conf_get(pc, "zone_id");
	const char *ca = provider_conf_get(pc, "ca_file");
	struct google *g;
	int rc = ST_CONFIG;

	if ((g = calloc(1, sizeof(*g))) == NULL)
		return ST_FAIL;
	g->timeout = cfg->timeout;
	g->deadline = log_now() + cfg->timeout;
	snprintf(g->section, sizeof(g->section), "%s", pc->name);
	if (project != NULL && !id_ok(project)) {
		log_err("%s: [provider %s]: project must be a Google Cloud project id (letters, "
		    "digits, '-')", pc->origin, pc->name);
		goto fail;
	}
	if (zone_id != NULL && !id_ok(zone_id)) {
		log_err("%s: [provider %s]: zone_id must be a managed zone's name or id (letters, "
		    "digits, '-')", pc->origin, pc->name);
		goto fail;
	}
	snprintf(g->project, sizeof(g->project), "%s", project ? project : "");
	snprintf(g->zone_id, sizeof(g->zone_id), "%s", zone_id ? zone_id : "");
	if ((rc = api_base_url(pc, GOOGLE_DEFAULT_URL, g->url, sizeof(g->url))) != ST_OK ||
	    (rc = find_credentials(g, pc)) != ST_OK)
		goto fail;
	rc = ST_CONFIG;
	if (!g->metadata && g->project[0] == '\0') {
		log_err("%s: no project: the key has no project_id; set project = in [provider "
		    "%s] (GCE_PROJECT)", g->who, pc->name);
		goto fail;
	}
	if (g->project[0] != '\0' && !id_ok(g->project)) {
		log_err("%s: project_id is not a Google Cloud project id", g->who);
		goto fail;
	}
	rc = ST_FAIL;
	if ((ca != NULL && (g->ca_file = strdup(ca)) == NULL) ||
	    (g->state_dir = strdup(cfg->state_dir)) == NULL)
		goto fail;
	g->rmw = (struct rmw_ctx){ .ops = &google_rmw, .priv = g, .state_dir = g->state_dir,
	    .lock_prefix = "google", .deadline = g->deadline, .timeout_s = g->timeout };
	*priv = g;
	return ST_OK;
fail:
	google_destroy(g);
	return rc;
}

/* The JWT a service account trades for an access token (google_jwt.h). */
static char *
make_jwt(struct google *g, time_t now)
{
	return google_jwt(g->pkey, g->email, g->key_id, g->token_uri, GOOGLE_SCOPE, now);
}

/* "Bearer <token>" from a token answer ({"access_token": ...}).  Status. */
static int
take_token(struct google *g, const struct http_request *r, const char *from)
{
	const char *tok = NULL;
	size_t n;

	if (r->json == NULL || json_unpack_ex(r->json, NULL, 0, "{s:s}", "access_token",
	    &tok) != 0 || !api_printable(tok)) {
		log_err("%s: malformed answer from %s (HTTP %ld, no access_token)", g->who, from,
		    r->status);
		return ST_PROVIDER;
	}
	n = strlen("Bearer ") + strlen(tok) + 1;
	if ((g->auth = malloc(n)) == NULL)
		return ST_FAIL;
	snprintf(g->auth, n, "Bearer %s", tok);
	explicit_bzero((char *)tok, strlen(tok));
	return ST_OK;
}

/*
 * The access token from the service account key: POST the signed JWT to
 * token_uri (grant_type jwt-bearer, RFC 7523 §2.1).  A refusal (400/401
 * invalid_grant, invalid_client, unauthorized_client: RFC 6749 §5.2; Google
 * says invalid_grant "Invalid JWT Signature." for a deleted or wrong key) is a
 * credentials problem: ST_CONFIG naming the key.  Status.
 */
static int
token_from_key(struct google *g, struct http *h)
{
	struct http_request r = { .method = "POST" };
	const char *err = NULL, *desc = NULL;
	char *jwt, *body = NULL, msg[GOOGLE_MSG_MAX];
	size_t n;
	int rc = ST_FAIL;

	if ((jwt = make_jwt(g, time(NULL))) == NULL) {
		log_err("%s: cannot sign the token request (libcrypto)", g->who);
		return ST_FAIL;
	}
	n = strlen("grant_type=&assertion=") + strlen(GOOGLE_GRANT) + strlen(jwt) + 1;
	if ((body = malloc(n)) == NULL)
		goto out;
	snprintf(body, n, "grant_type=%s&assertion=%s", GOOGLE_GRANT, jwt);
	snprintf(r.url, sizeof(r.url), "%s", g->token_uri);
	r.data = body;
	r.datalen = strlen(body);
	r.type = "application/x-www-form-urlencoded";
	r.secret_body = 1;
	if ((rc = http_perform(h, &r, 1)) != ST_OK)
		goto out;
	if ((rc = api_no_answer(&r, "Google OAuth token endpoint", g->token_uri,
	    "getting an access token")) != ST_OK)
		goto out;
	if (r.status == 200) {
		rc = take_token(g, &r, g->token_uri);
		goto out;
	}
	if (r.json != NULL)
		json_unpack_ex(r.json, NULL, 0, "{s?s, s?s}", "error", &err, "error_description",
		    &desc);
	api_clean_msg(desc ? desc : "no description", msg, sizeof(msg));
	if ((r.status == 400 || r.status == 401) && err != NULL &&
	    (strcmp(err, "invalid_grant") == 0 || strcmp(err, "invalid_client") == 0 ||
	    strcmp(err, "unauthorized_client") == 0)) {
		log_err("%s: the key was refused (%s: %s): it may have been deleted or disabled, "
		    "or belong to another account; make a new key for the service account "
		    "(gcloud iam service-accounts keys create) and point the configuration at it",
		    g->who, err, msg);
		rc = ST_CONFIG;
	} else {
		log_err("%s: getting an access token from %s: HTTP %ld%s%s: %s", g->who,
		    g->token_uri, r.status, err ? " " : "", err ? err : "", msg);
		rc = ST_PROVIDER;
	}
out:
	http_request_clear(&r);
	free_secret(body);
	free_secret(jwt);
	return rc;
}

/*
 * The access token of the instance's service account from the metadata
 * server (GET .../service-accounts/default/token with Metadata-Flavor:
 * Google: cloud.google.com/compute/docs/access/authenticate-workloads), and
 * the project from .../project/project-id when none is configured.  No
 * answer at all means dns01 does not run on Google Cloud: ST_CONFIG, naming
 * every place a key could have been given.  Status.
 */
static int
token_from_metadata(struct google *g)
{
	static const struct http_header flavor = { "Metadata-Flavor", "Google", 0 };
	struct http_request r = { .method = "GET", .secret_body = 1 };
	struct http *h = NULL;
	char msg[GOOGLE_MSG_MAX];
	size_t n;
	int rc;

	if ((rc = http_new(NULL, &flavor, 1, &h)) != ST_OK)
		return rc;
	http_set_metadata(h);
	http_set_retry(h, &metadata_retry);
	http_set_deadline(h, g->deadline);
	snprintf(r.url, sizeof(r.url), "http://%s" GOOGLE_MD_TOKEN, g->md_host);
	if ((rc = http_perform(h, &r, 1)) != ST_OK)
		goto out;
	rc = ST_CONFIG;
	if (r.status == 0) {
		log_err("[provider %s]: no credentials: no key_file, credentials or "
		    "service_account in the section, " GOOGLE_ADC_ENV " is not set, and the GCE "
		    "metadata server (%s) did not answer: %s", g->section, g->md_host, r.error);
		goto out;
	}
	if (r.status != 200) {
		api_clean_msg(r.answer ? r.answer : "", msg, sizeof(msg));
		log_err("%s: HTTP %ld getting a token%s (%s)", g->who, r.status, r.status == 404 ?
		    ": the instance has no service account" : "", msg);
		goto out;
	}
	if ((rc = take_token(g, &r, "the metadata server")) != ST_OK || g->project[0] != '\0')
		goto out;
	http_request_clear(&r);
	r = (struct http_request){ .method = "GET", .accept = "text/plain" };
	snprintf(r.url, sizeof(r.url), "http://%s" GOOGLE_MD_PROJECT, g->md_host);
	if ((rc = http_perform(h, &r, 1)) != ST_OK)
		goto out;
	n = r.answer ? strcspn(r.answer, "\r\n") : 0;
	if (r.status != 200 || n == 0 || n >= sizeof(g->project)) {
		log_err("%s: the metadata server did not give the project id (HTTP %ld); set "
		    "project = in [provider %s]", g->who, r.status, g->section);
		rc = ST_CONFIG;
		goto out;
	}
	memcpy(g->project, r.answer, n);
	g->project[n] = '\0';
	if (!id_ok(g->project)) {
		log_err("%s: the metadata server's project id is not one dns01 can use; set "
		    "project = in [provider %s]", g->who, g->section);
		rc = ST_CONFIG;
	}
out:
	http_request_clear(&r);
	http_free(h);
	return rc;
}

/*
 * Make sure there is an access token and the API client that sends it:
 * fetched once per run, on the first call; a failure is said once and
 * given back to every later call.  Status.
 */
static int
token(struct google *g)
{
	struct http *h = NULL;
	int rc;

	if (g->http != NULL)
		return ST_OK;
	if (g->token_rc != ST_OK)
		return g->token_rc;
	if (g->metadata)
		rc = token_from_metadata(g);
	else if ((rc = http_new(g->ca_file, NULL, 0, &h)) == ST_OK) {
		http_set_retry(h, &google_retry);
		http_set_deadline(h, g->deadline);
		rc = token_from_key(g, h);
		http_free(h);
	}
	if (rc == ST_OK) {
		g->hdr = (struct http_header){ "Authorization", g->auth, 1 };
		if ((rc = http_new(g->ca_file, &g->hdr, 1, &g->http)) == ST_OK) {
			http_set_retry(g->http, &google_retry);
			http_set_deadline(g->http, g->deadline);
			log_debug("Google Cloud DNS: access token for %s", g->who);
		}
	}
	g->token_rc = rc;
	return rc;
}

enum g_err {
	G_OK,
	G_NOTFOUND,		/* 404 (when asked for) */
	G_CONFLICT,		/* changes.create refused: 409 or 412 (when asked for) */
	G_BUSY,			/* 403 rateLimitExceeded (when asked for) */
	G_FAILED		/* reported; see the status */
};

#define G_ALLOW_404		1
#define G_ALLOW_CONFLICT	2
#define G_ALLOW_BUSY		4

/*
 * Judge an answer of the API, whose errors come in Google's envelope
 * {"error": {"code", "message", "errors": [{"domain", "reason",
 * "message"}], "status"}} (cloud.google.com/apis/design/errors).
 * allow: the answers returned, unreported, for the caller to handle.
 */
static enum g_err
check(struct google *g, const struct http_request *r, const char *what, int allow, int *status)
{
	const char *m = NULL, *reason = NULL, *st = NULL;
	json_t *errs = NULL;
	char msg[GOOGLE_MSG_MAX];

	if ((*status = api_no_answer(r, "Google Cloud DNS API", g->url, what)) != ST_OK)
		return G_FAILED;
	*status = ST_PROVIDER;
	if (r->status >= 200 && r->status < 300 && json_is_object(r->json))
		return G_OK;
	if (r->json != NULL)
		json_unpack_ex(r->json, NULL, 0, "{s:{s?s, s?s, s?o}}", "error", "message", &m,
		    "status", &st, "errors", &errs);
	json_unpack_ex(json_array_get(errs, 0), NULL, 0, "{s?s}", "reason", &reason);
	api_clean_msg(m ? m : "no message", msg, sizeof(msg));
	if (r->status == 404 && (allow & G_ALLOW_404))
		return G_NOTFOUND;
	if ((r->status == 409 || r->status == 412 || r->status == 404) &&
	    (allow & G_ALLOW_CONFLICT))
		return G_CONFLICT;
	if (r->status == 403 && reason != NULL && (strcmp(reason, "rateLimitExceeded") == 0 ||
	    strcmp(reason, "userRateLimitExceeded") == 0)) {
		snprintf(g->busy, sizeof(g->busy), "HTTP 403 %s: %s", reason, msg);
		if (allow & G_ALLOW_BUSY)
			return G_BUSY;
		log_err("Google Cloud DNS API: %s: %s", what, g->busy);
		return G_FAILED;
	}
	if (r->status == 401) {
		log_err("Google Cloud DNS API: %s: HTTP 401: the access token of %s was refused "
		    "(%s)", what, g->who, msg);
		*status = ST_CONFIG;
	} else if (r->status == 403) {
		log_err("Google Cloud DNS API: %s: HTTP 403 %s: %s; the service account (%s) "
		    "needs, on project %s, " GOOGLE_ROLE_HINT, what, reason ? reason : "", msg,
		    g->who, g->project);
		*status = ST_CONFIG;
	} else if (r->out_of_time)
		log_err("Google Cloud DNS API: %s: HTTP %ld %s: %s; still so after %d attempt(s), "
		    "and the next would start after the timeout (%u s): try again later", what,
		    r->status, reason ? reason : "", msg, r->attempts, g->timeout);
	else if (r->json == NULL || (r->status >= 200 && r->status < 300))
		log_err("Google Cloud DNS API: %s: malformed answer (HTTP %ld, not a JSON object)",
		    what, r->status);
	else
		log_err("Google Cloud DNS API: %s: HTTP %ld %s: %s", what, r->status,
		    reason ? reason : st ? st : "", msg);
	return G_FAILED;
}

/*
 * One API call: path below /projects/<project>, query pairs, a JSON body.
 * r is cleared first and holds the answer after.  *e says how it went.
 * Status (ST_OK also when *e is G_NOTFOUND, G_CONFLICT or G_BUSY).
 */
static int
call(struct google *g, struct http_request *r, const char *method, const char *path,
    const char *const *query, json_t *body, const char *what, int allow, enum g_err *e)
{
	char full[HTTP_URL_MAX / 2];
	int rc, st;

	*e = G_FAILED;
	if ((rc = token(g)) != ST_OK)
		return rc;
	http_request_clear(r);
	r->method = method;
	r->body = body;
	snprintf(full, sizeof(full), "/projects/%s%s", g->project, path);
	if (http_url(r->url, sizeof(r->url), g->url, full, query) == -1)
		return ST_FAIL;
	if ((rc = http_perform(g->http, r, 1)) != ST_OK)
		return rc;
	if ((*e = check(g, r, what, allow, &st)) == G_FAILED)
		return st;
	return ST_OK;
}

/* 1 when the API's name (with its final dot) is the name n (without). */
static int
same_name(const char *api, const char *n)
{
	size_t len = strlen(n);

	return strncasecmp(api, n, len) == 0 && strcmp(api + len, ".") == 0;
}

/*
 * The managed zone (its name) whose dnsName is apex: from zone_id = when
 * set (managedZones.get), else managedZones.list?dnsName=<apex>. with its
 * pages.  A private zone (visibility "private": it answers only inside
 * VPC networks, managedZones resource reference) is never used: the CA
 * sees the public one.  Cached for the run.  Status.
 */
static int
zone_of(struct google *g, const char *apex, const char **name)
{
	struct http_request r = { 0 };
	const char *zname, *dns, *vis, *next = NULL;
	char what[NAME_BUF + 64], dotted[NAME_BUF + 1], path[GOOGLE_ID_MAX + 32], page[512] = "";
	char found[GOOGLE_ID_MAX] = "";
	const char *q[5];
	size_t i, p, nprivate = 0;
	json_t *zones, *z;
	enum g_err e;
	int rc = ST_OK;

	for (i = 0; i < g->nzones; i++)
		if (strcmp(g->zones[i].apex, apex) == 0) {
			*name = g->zones[i].name;
			return ST_OK;
		}
	snprintf(what, sizeof(what), "finding the managed zone of %s", apex);
	snprintf(dotted, sizeof(dotted), "%s.", apex);
	if (g->zone_id[0] != '\0') {
		snprintf(path, sizeof(path), "/managedZones/%s", g->zone_id);
		if ((rc = call(g, &r, "GET", path, NULL, NULL, what, G_ALLOW_404, &e)) != ST_OK)
			goto out;
		dns = vis = NULL;
		if (e == G_NOTFOUND || json_unpack_ex(r.json, NULL, 0, "{s:s, s?s}", "dnsName", &dns,
		    "visibility", &vis) != 0 || !same_name(dns, apex) ||
		    (vis != NULL && strcmp(vis, "private") == 0)) {
			log_err("[provider %s]: zone_id %s is %s of project %s, but DNS says the "
			    "zone is %s: fix zone_id, or take it out to look the zone up", g->section,
			    g->zone_id, e == G_NOTFOUND ? "no managed zone" :
			    vis != NULL && strcmp(vis, "private") == 0 ? "a private zone" :
			    "another zone", g->project, apex);
			rc = ST_CONFIG;
			goto out;
		}
		snprintf(found, sizeof(found), "%s", g->zone_id);
	}
	for (p = 0; found[0] == '\0' && p < GOOGLE_MAX_PAGES; p++) {
		q[0] = "dnsName";
		q[1] = dotted;
		q[2] = page[0] != '\0' ? "pageToken" : NULL;
		q[3] = page;
		q[4] = NULL;
		if ((rc = call(g, &r, "GET", "/managedZones", q, NULL, what, G_ALLOW_404,
		    &e)) != ST_OK)
			goto out;
		if (e == G_NOTFOUND) {
			log_err("Google Cloud DNS API: %s: project %s not found (HTTP 404): check "
			    "project (or the key's project_id) in [provider %s]", what, g->project,
			    g->section);
			rc = ST_CONFIG;
			goto out;
		}
		/* an empty list is left out of the answer; anything else is a list */
		if ((zones = json_object_get(r.json, "managedZones")) != NULL &&
		    !json_is_array(zones)) {
			log_err("Google Cloud DNS API: %s: malformed answer (managedZones is not a "
			    "list)", what);
			rc = ST_PROVIDER;
			goto out;
		}
		json_array_foreach(zones, i, z) {
			vis = NULL;
			if (json_unpack_ex(z, NULL, 0, "{s:s, s:s, s?s}", "name", &zname, "dnsName",
			    &dns, "visibility", &vis) != 0) {
				log_err("Google Cloud DNS API: %s: malformed answer (a zone without a "
				    "name or dnsName)", what);
				rc = ST_PROVIDER;
				goto out;
			}
			if (!same_name(dns, apex))
				continue;
			if (vis != NULL && strcmp(vis, "private") == 0) {
				nprivate++;
				continue;
			}
			if (id_ok(zname)) {
				snprintf(found, sizeof(found), "%s", zname);
				break;
			}
		}
		next = NULL;
		json_unpack_ex(r.json, NULL, 0, "{s?s}", "nextPageToken", &next);
		if (next == NULL || *next == '\0' || strlen(next) >= sizeof(page))
			break;
		snprintf(page, sizeof(page), "%s", next);
	}
	if (found[0] == '\0') {
		log_err("Google Cloud DNS: no public managed zone %s in project %s of [provider "
		    "%s]%s (DNS says it is the zone)", dotted, g->project, g->section, nprivate ?
		    "; only a private one, which the CA cannot see" : "");
		rc = ST_DISCOVERY;
	} else if (g->nzones == GOOGLE_ZONE_CACHE) {
		log_err("Google Cloud DNS: more than %d zones in one run", GOOGLE_ZONE_CACHE);
		rc = ST_FAIL;
	} else {
		snprintf(g->zones[g->nzones].apex, NAME_BUF, "%s", apex);
		snprintf(g->zones[g->nzones].name, GOOGLE_ID_MAX, "%s", found);
		*name = g->zones[g->nzones++].name;
		log_debug("Google Cloud DNS: %s is managed zone %s of project %s", apex, found,
		    g->project);
	}
out:
	http_request_clear(&r);
	return rc;
}

/* 1 when the API's name is that of one of recs[0..n-1]; *which says which. */
static int
asked(const char *api, const struct record *recs, size_t n, size_t *which)
{
	for (*which = 0; *which < n; (*which)++)
		if (same_name(api, recs[*which].name))
			return 1;
	return 0;
}

/*
 * Add to out the TXT RRsets of a resourceRecordSets.list answer that are at
 * a name of recs (the filter is the API's: only what was asked for is
 * taken).  Status.
 */
static int
take_rrsets(json_t *answer, const struct record *recs, size_t n, struct rr_list *out,
    const char *apex)
{
	const char *rname, *type;
	json_int_t ttl;
	json_t *sets, *s, *datas, *d;
	size_t i, j, k;

	sets = json_object_get(answer, "rrsets");
	if (sets != NULL && !json_is_array(sets)) {
		log_err("Google Cloud DNS API: reading zone %s: malformed answer (rrsets is not a "
		    "list)", apex);
		return ST_PROVIDER;
	}
	json_array_foreach(sets, i, s) {
		ttl = 0;
		if (json_unpack_ex(s, NULL, 0, "{s:s, s:s, s?I, s:o}", "name", &rname, "type",
		    &type, "ttl", &ttl, "rrdatas", &datas) != 0 || !json_is_array(datas) ||
		    ttl < 0 || ttl > INT32_MAX) {
			log_err("Google Cloud DNS API: reading zone %s: malformed record set %zu",
			    apex, i + 1);
			return ST_PROVIDER;
		}
		if (strcmp(type, "TXT") != 0 || !asked(rname, recs, n, &k))
			continue;
		json_array_foreach(datas, j, d) {
			if (!json_is_string(d)) {
				log_err("Google Cloud DNS API: reading zone %s: malformed rrdata at %s",
				    apex, recs[k].name);
				return ST_PROVIDER;
			}
			if (rr_list_add(out, recs[k].name, "TXT", json_string_value(d),
			    (int)ttl) == -1)
				return ST_FAIL;
		}
	}
	return ST_OK;
}

/*
 * One resourceRecordSets.list, its pages followed: at name (with
 * type=TXT), or the whole zone when name is NULL.  What is at a name of
 * recs goes to out.  Status, or RMW_BUSY.
 */
static int
list_rrsets(struct google *g, const char *zname, const char *apex, const char *name,
    const struct record *recs, size_t n, struct rr_list *out)
{
	struct http_request r = { 0 };
	const char *next, *q[7];
	char path[GOOGLE_ID_MAX + 64], what[NAME_BUF + 64], dotted[NAME_BUF + 1], page[512] = "";
	size_t p, k;
	enum g_err e;
	int rc = ST_OK;

	snprintf(path, sizeof(path), "/managedZones/%s/rrsets", zname);
	snprintf(what, sizeof(what), "reading TXT at %s", name ? name : apex);
	snprintf(dotted, sizeof(dotted), "%s.", name ? name : "");
	for (p = 0; p < GOOGLE_MAX_PAGES; p++) {
		k = 0;
		if (name != NULL) {
			q[k++] = "name";
			q[k++] = dotted;
			q[k++] = "type";
			q[k++] = "TXT";
		}
		q[k] = page[0] != '\0' ? "pageToken" : NULL;
		q[k + 1] = page;
		q[k + 2] = NULL;
		if ((rc = call(g, &r, "GET", path, q, NULL, what, G_ALLOW_BUSY, &e)) != ST_OK)
			break;
		if (e == G_BUSY) {
			rc = RMW_BUSY;
			break;
		}
		if ((rc = take_rrsets(r.json, recs, n, out, apex)) != ST_OK)
			break;
		next = NULL;
		json_unpack_ex(r.json, NULL, 0, "{s?s}", "nextPageToken", &next);
		if (next == NULL || *next == '\0' || strlen(next) >= sizeof(page))
			break;
		if (p + 1 == GOOGLE_MAX_PAGES) {
			log_err("Google Cloud DNS API: %s: more than %d pages", what,
			    GOOGLE_MAX_PAGES);
			rc = ST_PROVIDER;
			break;
		}
		snprintf(page, sizeof(page), "%s", next);
	}
	http_request_clear(&r);
	return rc;
}

/*
 * rmw read(): the TXT RRsets at the names of recs.  Up to
 * GOOGLE_NAME_READS names, one resourceRecordSets.list?name=<name>.&type=TXT
 * each; more, one list of the whole zone (the API filters by type only
 * together with a name: the resourceRecordSets.list reference), which costs
 * fewer calls.  The API has no version: the change's deletions are its
 * condition.
 */
static int
rd(void *priv, const struct zone *z, const struct record *recs, size_t n, struct rr_list *out)
{
	struct google *g = priv;
	const char *zname = NULL;
	size_t i, j, names = 0;
	int rc;

	if ((rc = zone_of(g, z->apex, &zname)) != ST_OK)
		return rc;
	for (i = 0; i < n; i++) {
		for (j = 0; j < i && strcmp(recs[j].name, recs[i].name) != 0; j++)
			;
		names += j == i;
	}
	if (names > GOOGLE_NAME_READS)
		return list_rrsets(g, zname, z->apex, NULL, recs, n, out);
	for (i = 0; i < n; i++) {
		for (j = 0; j < i && strcmp(recs[j].name, recs[i].name) != 0; j++)
			;
		if (j == i && (rc = list_rrsets(g, zname, z->apex, recs[i].name, recs + i,
		    n - i, out)) != ST_OK)
			return rc;
	}
	return ST_OK;
}

/* A ResourceRecordSet {name, type, ttl, rrdatas} from n records. */
static json_t *
rrset_json(const char *name, const char *type, int ttl, const struct rr *const *rrs, size_t n)
{
	char dotted[NAME_BUF + 1];
	json_t *datas = json_array();
	size_t i;

	snprintf(dotted, sizeof(dotted), "%s.", name);
	for (i = 0; datas != NULL && i < n; i++)
		if (json_array_append_new(datas, json_string(rrs[i]->rdata)) == -1) {
			json_decref(datas);
			return NULL;
		}
	return datas == NULL ? NULL : json_pack("{s:s, s:s, s:s, s:i, s:o}", "kind",
	    "dns#resourceRecordSet", "name", dotted, "type", type, "ttl", ttl, "rrdatas", datas);
}

/*
 * Ask changes.get until the change is "done" (its status is "pending"
 * until every Cloud DNS server has it: the Change resource reference;
 * certbot-dns-google and lego poll it the same way), pausing from
 * GOOGLE_POLL_FIRST_S up to GOOGLE_POLL_MAX_S, within the run's deadline:
 * past it, say so and leave the rest to the propagation wait.  Status.
 */
static int
wait_done(struct google *g, const char *zname, const char *apex, const char *id,
    const char *status)
{
	struct http_request r = { 0 };
	char path[GOOGLE_ID_MAX + GOOGLE_CHANGE_ID_MAX + 32], what[NAME_BUF + GOOGLE_CHANGE_ID_MAX + 64];
	char st[32];
	double pause = GOOGLE_POLL_FIRST_S;
	enum g_err e;
	int rc = ST_OK;

	snprintf(st, sizeof(st), "%s", status);
	snprintf(path, sizeof(path), "/managedZones/%s/changes/%s", zname, id);
	snprintf(what, sizeof(what), "asking after change %s in zone %s", id, apex);
	while (strcmp(st, "done") != 0) {
		if (log_now() + pause > g->deadline) {
			log_warn("Google Cloud DNS: change %s in zone %s is still %s at the timeout",
			    id, apex, st);
			break;
		}
		log_sleep(pause);
		pause = pause * 2 > GOOGLE_POLL_MAX_S ? GOOGLE_POLL_MAX_S : pause * 2;
		if ((rc = call(g, &r, "GET", path, NULL, NULL, what, 0, &e)) != ST_OK)
			break;
		status = NULL;
		if (json_unpack_ex(r.json, NULL, 0, "{s:s}", "status", &status) != 0 ||
		    strlen(status) >= sizeof(st)) {
			log_err("Google Cloud DNS API: %s: malformed answer (no status)", what);
			rc = ST_PROVIDER;
			break;
		}
		snprintf(st, sizeof(st), "%s", status);
	}
	if (rc == ST_OK && strcmp(st, "done") == 0)
		log_debug("Google Cloud DNS: change %s in zone %s is done", id, apex);
	http_request_clear(&r);
	return rc;
}

/*
 * rmw write(): one changes.create for the zone with, for each RRset that
 * differs (rmw_rrsets), the exact RRset read as a deletion and the new one
 * as an addition, both with the TTL the RRset had (a new one: ours).  The
 * API refuses the whole change when a deletion does not match what is
 * there any more (412 conditionNotMet), an addition already exists (409
 * alreadyExists) or a deletion is gone (404): another writer came between,
 * and the loop reads again.  The change accepted is kept for wait_done(),
 * after the lock is released.
 */
static int
wr(void *priv, const struct zone *z, const struct rr_list *before, const struct rr_list *after)
{
	struct google *g = priv;
	struct http_request r = { 0 };
	struct rmw_rrset *sets = NULL;
	const char *zname = NULL, *id = NULL, *status = NULL;
	char path[GOOGLE_ID_MAX + 32], what[NAME_BUF + 64];
	json_t *change = NULL, *adds, *dels, *s;
	size_t n = 0, i;
	enum g_err e;
	int rc;

	if ((rc = zone_of(g, z->apex, &zname)) != ST_OK)
		return rc;
	rc = ST_FAIL;
	if (rmw_rrsets(before, after, &sets, &n) == -1 ||
	    (change = json_pack("{s:s, s:[], s:[]}", "kind", "dns#change", "additions",
	    "deletions")) == NULL)
		goto out;
	if (n == 0) {
		rc = ST_OK;
		goto out;
	}
	adds = json_object_get(change, "additions");
	dels = json_object_get(change, "deletions");
	for (i = 0; i < n; i++) {
		if (sets[i].nold > 0 && ((s = rrset_json(sets[i].name, sets[i].type, sets[i].ttl,
		    sets[i].old, sets[i].nold)) == NULL || json_array_append_new(dels, s) == -1))
			goto out;
		if (sets[i].nnew > 0 && ((s = rrset_json(sets[i].name, sets[i].type, sets[i].ttl,
		    sets[i].new, sets[i].nnew)) == NULL || json_array_append_new(adds, s) == -1))
			goto out;
	}
	if (json_array_size(adds) == 0)
		json_object_del(change, "additions");
	if (json_array_size(dels) == 0)
		json_object_del(change, "deletions");
	snprintf(path, sizeof(path), "/managedZones/%s/changes", zname);
	snprintf(what, sizeof(what), "changing zone %s", z->apex);
	if ((rc = call(g, &r, "POST", path, NULL, change, what,
	    G_ALLOW_CONFLICT | G_ALLOW_BUSY, &e)) != ST_OK)
		goto out;
	if (e == G_CONFLICT || e == G_BUSY) {
		if (e == G_CONFLICT)
			log_debug("Google Cloud DNS: %s: HTTP %ld: the record set changed since it "
			    "was read", what, r.status);
		rc = e == G_CONFLICT ? RMW_CONFLICT : RMW_BUSY;
		goto out;
	}
	if (json_unpack_ex(r.json, NULL, 0, "{s:s, s:s}", "id", &id, "status", &status) != 0 ||
	    !id_ok(id) || strlen(id) >= sizeof(g->change_id) ||
	    strlen(status) >= sizeof(g->change_status)) {
		log_err("Google Cloud DNS API: %s: malformed answer (no change id or status)", what);
		rc = ST_PROVIDER;
		goto out;
	}
	snprintf(g->change_id, sizeof(g->change_id), "%s", id);
	snprintf(g->change_status, sizeof(g->change_status), "%s", status);
	rc = ST_OK;
out:
	json_decref(change);
	rmw_rrsets_free(sets, n);
	http_request_clear(&r);
	return rc;
}

/* rmw busy_why(): the last rate-limit 403. */
static const char *
busy_why(void *priv)
{
	return ((struct google *)priv)->busy;
}

/*
 * The read-modify-write of core/rmw.h with its default rounds and pauses.
 * TXT values are written quoted: the API holds TXT rrdatas in zone-file
 * form, "\"value\"" (certbot-dns-google compares with the quoted form; lego
 * unquotes what it reads).
 */
static const struct rmw_ops google_rmw = {
	.label = "Google Cloud DNS",
	.quote_txt = 1,
	.read = rd,
	.write = wr,
	.busy_why = busy_why,
};

/*
 * Add, delete or confirm recs in zone z: the zone lookup, then the
 * read-modify-write under the lock, then (the lock released) the wait
 * until the change that made it is done.
 */
static int
change(struct google *g, const struct zone *z, struct record *recs, size_t n, int ttl,
    enum rmw_op op)
{
	const char *zname = NULL;
	int rc;

	if ((rc = zone_of(g, z->apex, &zname)) != ST_OK)
		return rc;
	g->change_id[0] = '\0';
	rc = rmw_change(&g->rmw, z, recs, n, ttl, op);
	if (rc == ST_OK && g->change_id[0] != '\0')
		rc = wait_done(g, zname, z->apex, g->change_id, g->change_status);
	return rc;
}

static int
google_add(void *priv, const struct zone *z, struct record *r, size_t n, int ttl)
{
	return change(priv, z, r, n, ttl, RMW_ADD);
}

static int
google_del(void *priv, const struct zone *z, struct record *r, size_t n)
{
	return change(priv, z, r, n, 0, RMW_DEL);
}

static int
google_confirm(void *priv, const struct zone *z, struct record *r, size_t n, int ttl)
{
	return change(priv, z, r, n, ttl, RMW_CONFIRM);
}

/*
 * Verify: the token (the key accepted), the zone lookup
 * (dns.managedZones.list) and one page of its record sets
 * (dns.resourceRecordSets.list), as every change starts.
 */
static int
google_verify(void *priv, const struct zone *z, char *what, size_t whatlen)
{
	struct google *g = priv;
	struct http_request r = { 0 };
	const char *zname = NULL, *q[] = { "maxResults", "1", NULL };
	char path[GOOGLE_ID_MAX + 32], act[NAME_BUF + 64];
	enum g_err e;
	int rc;

	if ((rc = zone_of(g, z->apex, &zname)) != ST_OK)
		return rc;
	snprintf(path, sizeof(path), "/managedZones/%s/rrsets", zname);
	snprintf(act, sizeof(act), "reading zone %s", z->apex);
	if ((rc = call(g, &r, "GET", path, q, NULL, act, 0, &e)) == ST_OK)
		snprintf(what, whatlen, "Google Cloud DNS accepts %s%s%s: managed zone %s (%s) "
		    "of project %s, record sets readable", g->who, g->email ? ", " : "",
		    g->email ? g->email : "", zname, z->apex, g->project);
	http_request_clear(&r);
	return rc;
}

const struct provider_ops provider_google = {
	.type = "google",
	.description = "Google Cloud DNS (API v1; service account key or GCE metadata server)",
	.keys = keys,
	.secret_keys = secret_keys,
	.env = env,
	.cred = cred,
	.default_ttl = GOOGLE_DEFAULT_TTL,
	.min_ttl = GOOGLE_MIN_TTL,
	.create = google_create,
	.add = google_add,
	.del = google_del,
	.verify = google_verify,
	.confirm = google_confirm,
	.destroy = google_destroy,
};
