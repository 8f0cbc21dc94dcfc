/*
 * Provider "cloudflare": the Cloudflare API v4 (../shared/reference/
 * provider-apis.md §1, api-fidelity.md §1).
 *
 * The zone id comes from the zone found in DNS: one GET /zones?name=<apex>
 * per zone and run, never a walk over every label (or zone_id = in the
 * section, for a name in several accounts and for tokens without
 * Zone:Read).  Each value is one POST of a TXT record, all of a run's values
 * at once, its content quoted as the dashboard wants it; "already exists"
 * (81057, 81058) counts as done and yields the existing record's id.
 * Record ids are handed back as "<zone id>:<record id>", so a cleanup
 * deletes with one DELETE and no lookup; without an id it looks the record
 * up by type, name and content (unquoted and quoted) and deletes only that.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <strings.h>

#include <jansson.h>

#include "../core/api.h"
#include "../core/http.h"
#include "../core/log.h"
#include "../core/name.h"
#include "../core/status.h"
#include "provider.h"

#define CF_DEFAULT_URL		"https://api.cloudflare.com/client/v4"
#define CF_DEFAULT_TTL		60	/* the lowest Cloudflare accepts for DNS-only records */
#define CF_MIN_TTL		60
#define CF_ID_MAX		40	/* Cloudflare ids are 32 hex digits */
#define CF_ZONE_CACHE		16
#define CF_ZONES_PER_PAGE	"50"
#define CF_RECORDS_PER_PAGE	"100"
#define CF_MSG_MAX		200	/* of an API message, in our messages */
#define CF_CODE_EXISTS_OLD	81057
#define CF_CODE_EXISTS		81058
#define CF_CODE_NO_RECORD	81044
#define CF_CODE_RATE		971	/* "Please wait and consider throttling..." */
#define CF_CODE_INVALID_TOKEN	1000	/* "Invalid API Token" (verify) */
#define CF_CODE_BAD_TOKEN	9109	/* "Invalid access token", and others */
#define CF_MAX_PAGES		50	/* of one TXT list */
#define CF_DEL_MAX		4	/* records deleted per value (unquoted, quoted, spares) */
#define CF_ZONE_ID_LEN		32	/* hex digits of a zone id */
#define CF_CONTENT_MAX		(2 * TXT_STRING_MAX + 3)	/* a value quoted, every octet escaped */
#define CF_LIST_MAX		400	/* of the list of zones in an ambiguity message */

enum cf_err {
	CF_OK,
	CF_EXISTS,		/* 81057 / 81058: the record is there already */
	CF_GONE,		/* 404 / 81044: no such record */
	CF_FAILED		/* reported; the status says what kind */
};

struct cf_zone {
	char	name[NAME_BUF];
	char	id[CF_ID_MAX];
	char	account[CF_ID_MAX];	/* its account's id, "" when not read */
	int	 trusted;		/* zone_id taken unread: the credentials
					   cannot read the zone */
};

struct cf {
	char	section[128];
	char	url[HTTP_URL_MAX / 2];
	char	*ca_file;
	struct http_header hdr[2];
	char	*hval[2];		/* header values: credentials */
	size_t	 nhdr;
	int	 global;		/* email + global API key, not a token */
	char	 zone_id[CF_ID_MAX];	/* zone_id =, "" when not given */
	struct http *http;
	double	 deadline;		/* log_now() seconds: the run's timeout */
	unsigned timeout;		/* its length, for messages */
	struct cf_zone zones[CF_ZONE_CACHE];
	size_t	 nzones;
};

static const char *const keys[] = { "api_token", "email", "api_key", "api_url", "ca_file",
    "zone_id", NULL };
static const char *const secret_keys[] = { "api_token", "api_key", NULL };
static const struct env_map env[] = {
	{ "api_token", { "CLOUDFLARE_DNS_API_TOKEN", "CF_DNS_API_TOKEN", NULL } },
	{ "email", { "CLOUDFLARE_EMAIL", NULL } },
	{ "api_key", { "CLOUDFLARE_API_KEY", NULL } },
	{ "api_url", { "CLOUDFLARE_BASE_URL", NULL } },
	/*
	 * lego has no zone-id variable (go-acme/lego providers/dns/cloudflare:
	 * only CLOUDFLARE_ZONE_API_TOKEN, a second token for the lookup);
	 * acme.sh's dnsapi/dns_cf.sh reads CF_Zone_ID, so that name it is.
	 */
	{ "zone_id", { "CF_Zone_ID", NULL } },
	{ NULL, { NULL } }
};
static const struct cred_map cred[] = {
	{ "api_token", "dns_cloudflare_api_token" },
	{ "email", "dns_cloudflare_email" },
	{ "api_key", "dns_cloudflare_api_key" },
	{ NULL, NULL }
};

/* 1 when s looks like a Cloudflare id (safe in a URL path and a state file). */
static int
id_safe(const char *s)
{
	size_t n = strspn(s, "0123456789abcdefABCDEF");

	return n > 0 && n < CF_ID_MAX && s[n] == '\0';
}

/* 1 when s is a zone id as the dashboard shows it: 32 lowercase hex digits. */
static int
zone_id_ok(const char *s)
{
	return strlen(s) == CF_ZONE_ID_LEN && strspn(s, "0123456789abcdef") == CF_ZONE_ID_LEN;
}

/* A new string: prefix followed by v. */
static char *
header_value(const char *prefix, const char *v)
{
	size_t a = strlen(prefix), b = strlen(v);
	char *p = malloc(a + b + 1);

	if (p != NULL) {
		memcpy(p, prefix, a);
		memcpy(p + a, v, b + 1);
	}
	return p;
}

static void
cf_destroy(void *priv)
{
	struct cf *cf = priv;
	size_t i;

	if (cf == NULL)
		return;
	http_free(cf->http);
	for (i = 0; i < 2; i++)
		if (cf->hval[i] != NULL) {
			explicit_bzero(cf->hval[i], strlen(cf->hval[i]));
			free(cf->hval[i]);
		}
	free(cf->ca_file);
	free(cf);
}

static int
cf_create(const struct provider_conf *pc, const struct config *cfg, void **priv)
{
	const char *token = provider_conf_get(pc, "api_token");
	const char *email = provider_conf_get(pc, "email");
	const char *key = provider_conf_get(pc, "api_key");
	const char *ca = provider_conf_get(pc, "ca_file");
	const char *zid = provider_conf_get(pc, "zone_id");
	struct cf *cf;
	size_t n;

	if ((cf = calloc(1, sizeof(*cf))) == NULL)
		return ST_FAIL;
	cf->timeout = cfg->timeout;
	cf->deadline = log_now() + cfg->timeout;
	snprintf(cf->section, sizeof(cf->section), "%s", pc->name);
	if (token != NULL && *token != '\0') {
		if (email != NULL || key != NULL) {
			log_err("%s: [provider %s]: give api_token, or email and api_key, not both",
			    pc->origin, pc->name);
			goto fail;
		}
		if (!api_printable(token)) {
			log_err("%s: [provider %s]: api_token contains spaces or control characters",
			    pc->origin, pc->name);
			goto fail;
		}
		cf->hdr[0].name = "Authorization";
		cf->hdr[0].secret = 1;
		cf->hval[0] = header_value("Bearer ", token);
		cf->nhdr = 1;
	} else if (email != NULL && key != NULL && *email != '\0' && *key != '\0') {
		if (!api_printable(email) || !api_printable(key)) {
			log_err("%s: [provider %s]: email or api_key contains spaces or control "
			    "characters", pc->origin, pc->name);
			goto fail;
		}
		cf->hdr[0].name = "X-Auth-Email";
		cf->hdr[0].secret = 1;
		cf->hval[0] = header_value("", email);
		cf->hdr[1].name = "X-Auth-Key";
		cf->hdr[1].secret = 1;
		cf->hval[1] = header_value("", key);
		cf->nhdr = 2;
		cf->global = 1;
	} else {
		log_err("%s: [provider %s]: needs api_token (recommended), or email and api_key",
		    pc->origin, pc->name);
		goto fail;
	}
	for (n = 0; n < cf->nhdr; n++) {
		if (cf->hval[n] == NULL)
			goto fail;
		cf->hdr[n].value = cf->hval[n];
	}
	if (api_base_url(pc, CF_DEFAULT_URL, cf->url, sizeof(cf->url)) != ST_OK)
		goto fail;
	if (zid != NULL) {
		if (!zone_id_ok(zid)) {
			log_err("%s: [provider %s]: zone_id must be 32 lowercase hex digits (the "
			    "Zone ID on the zone's Overview page in the dashboard)", pc->origin,
			    pc->name);
			goto fail;
		}
		snprintf(cf->zone_id, sizeof(cf->zone_id), "%s", zid);
	}
	if (ca != NULL && (cf->ca_file = strdup(ca)) == NULL)
		goto fail;
	*priv = cf;
	return ST_OK;
fail:
	cf_destroy(cf);
	return ST_CONFIG;
}

/* The HTTP client, made on first use.  Status. */
static int
client(struct cf *cf)
{
	int rc;

	if (cf->http != NULL)
		return ST_OK;
	if ((rc = http_new(cf->ca_file, cf->hdr, cf->nhdr, &cf->http)) == ST_OK)
		http_set_deadline(cf->http, cf->deadline);
	return rc;
}

/* One GET of path (below api_url, with query pairs or NULL) into r.  Status. */
static int
get(struct cf *cf, const char *path, const char *const *query, struct http_request *r)
{
	http_request_clear(r);
	r->method = "GET";
	if (http_url(r->url, sizeof(r->url), cf->url, path, query) == -1)
		return ST_FAIL;
	return http_perform(cf->http, r, 1);
}

/* 1 when the errors array (or an error_chain in it) holds code. */
static int
has_code(json_t *errors, json_int_t code)
{
	size_t i;
	json_t *e;

	json_array_foreach(errors, i, e) {
		json_int_t c = -1;
		json_t *chain = NULL;

		if (json_unpack_ex(e, NULL, 0, "{s?I, s?o}", "code", &c, "error_chain", &chain) == 0 &&
		    (c == code || (chain != NULL && has_code(chain, code))))
			return 1;
	}
	return 0;
}

/*
 * Say that Cloudflare's rate limit stopped the call, and when to try again.
 * Cloudflare allows 1200 calls per 5 minutes per user or account token,
 * counted over dashboard, API key and tokens, and then refuses every call
 * with 429 for five minutes, Retry-After giving what is left of them
 * (developers.cloudflare.com/fundamentals/api/reference/limits/).  The
 * HTTP client waited for it when it ended within the timeout; here it did
 * not, or the attempts ran out.
 */
static void
rate_limited(const struct cf *cf, const struct http_request *r, const char *what)
{
	char when[32] = "";

	if (r->retry_after > 0)
		log_clock((double)time(NULL) + r->retry_after, when, sizeof(when));
	if (r->out_of_time && when[0] != '\0')
		log_err("Cloudflare API: %s: the rate limit blocks the credentials of [provider %s] "
		    "for another %.0f s, beyond the timeout (%u s): try again after %s (Cloudflare "
		    "allows 1200 calls per 5 minutes, counted with every other tool that uses "
		    "these credentials)", what, cf->section, r->retry_after, cf->timeout, when);
	else
		log_err("Cloudflare API: %s: rate-limited (HTTP 429) after %d attempt(s)%s%s "
		    "(Cloudflare allows 1200 calls per 5 minutes, counted with every other tool "
		    "that uses these credentials)", what, r->attempts, when[0] ? "; try again "
		    "after " : "", when);
}

/* The config keys that hold the credentials in use, for messages. */
static const char *
keys_of(const struct cf *cf)
{
	return cf->global ? "email, api_key" : "api_token";
}

/*
 * 1 when an error answer says the credentials themselves are refused (not
 * their rights).  Seen on the live API (api-fidelity.md §1.9): a revoked or
 * unknown token gets 401 code 1000 "Invalid API Token" from
 * /user/tokens/verify, 401 code 10000 "Authentication error" from
 * /zones/{id}/dns_records, and 403 code 9109 "Invalid access token" from
 * /zones and /accounts.  9109 also comes as "Cannot use the access token
 * from location: ..." (the token's IP filter: home-assistant/addons#3243,
 * said as such in the message), and as "Unauthorized to
 * access requested resource" for a valid token without the permission
 * (octodns/octodns-cloudflare#60): that one is not a refusal.
 */
static int
rejected(const struct http_request *r, json_t *errors, const char *msg)
{
	if (r->status == 401 || has_code(errors, CF_CODE_INVALID_TOKEN))
		return 1;
	return has_code(errors, CF_CODE_BAD_TOKEN) && strstr(msg, "Unauthorized to access") == NULL;
}

/*
 * Judge an answer.  On success sets *result (borrowed from r->json).  On
 * failure says what is wrong and how to fix it, and sets *status.
 */
static enum cf_err
check(const struct cf *cf, const struct http_request *r, const char *what, const char *zone,
    json_t **result, int *status)
{
	json_t *errors = NULL, *res = NULL, *first;
	json_int_t code = 0;
	const char *m = NULL;
	char msg[CF_MSG_MAX];
	int success = 0;

	if ((*status = api_no_answer(r, "Cloudflare API", cf->url, what)) != ST_OK)
		return CF_FAILED;
	*status = ST_PROVIDER;
	if (r->status == 429) {
		rate_limited(cf, r, what);
		return CF_FAILED;
	}
	if (r->json == NULL || json_unpack_ex(r->json, NULL, 0, "{s:b, s?o, s?o}", "success",
	    &success, "errors", &errors, "result", &res) != 0) {
		log_err("Cloudflare API: %s: malformed answer (HTTP %ld, not the API's JSON "
		    "envelope)%s", what, r->status, r->attempts > 1 ? " after retries" : "");
		return CF_FAILED;
	}
	if (success && r->status >= 200 && r->status < 300) {
		*result = res;
		return CF_OK;
	}
	if (has_code(errors, CF_CODE_RATE)) {
		rate_limited(cf, r, what);
		return CF_FAILED;
	}
	if (has_code(errors, CF_CODE_EXISTS) || has_code(errors, CF_CODE_EXISTS_OLD))
		return CF_EXISTS;
	if (r->status == 404 || has_code(errors, CF_CODE_NO_RECORD))
		return CF_GONE;
	if ((first = json_array_get(errors, 0)) != NULL)
		json_unpack_ex(first, NULL, 0, "{s?I, s?s}", "code", &code, "message", &m);
	api_clean_msg(m ? m : "no message", msg, sizeof(msg));
	*status = ST_CONFIG;
	if (has_code(errors, 6003) || has_code(errors, 6103) || has_code(errors, 6111)) {
		log_err("Cloudflare API: %s: the %s malformed ([provider %s] %s; code %lld: %s)",
		    what, cf->global ? "e-mail or global API key is" : "API token is", cf->section,
		    keys_of(cf), (long long)code, msg);
	} else if (has_code(errors, 9103)) {
		log_err("Cloudflare API: %s: wrong email or global API key ([provider %s]; code "
		    "%lld: %s)", what, cf->section, (long long)code, msg);
	} else if (rejected(r, errors, msg)) {
		log_err("Cloudflare API: %s: the %s of [provider %s] (%s) %s rejected: %s (HTTP "
		    "%ld, code %lld: %s); %s", what, cf->global ? "e-mail and global API key" :
		    "API token", cf->section, keys_of(cf), cf->global ? "were" : "was",
		    strstr(msg, "from location") != NULL ? "not from this address (the token's "
		    "IP filter)" : "invalid, revoked or expired", r->status, (long long)code, msg,
		    cf->global ? "check both" : "make a new one with Zone:Read and Zone:DNS:Edit");
	} else if (has_code(errors, 10000) || has_code(errors, CF_CODE_BAD_TOKEN) ||
	    r->status == 403 || strstr(msg, "zone.list")) {
		log_err("Cloudflare API: %s: the credentials of [provider %s] lack Zone:Read or "
		    "Zone:DNS:Edit for %s (code %lld: %s)%s", what, cf->section, zone,
		    (long long)code, msg, strstr(msg, "zone.list") == NULL ? "" : "; a token "
		    "without Zone:Read needs the zone's id as zone_id =");
	} else {
		log_err("Cloudflare API: %s: HTTP %ld, code %lld: %s", what, r->status,
		    (long long)code, msg);
		*status = ST_PROVIDER;
	}
	return CF_FAILED;
}

/*
 * An answer that must be a success: ST_OK with *result, or the status after
 * saying what is wrong (an unexpected 404 or "exists" included).
 */
static int
expect_ok(const struct cf *cf, const struct http_request *r, const char *what,
    const char *zone, json_t **result)
{
	int st;

	switch (check(cf, r, what, zone, result, &st)) {
	case CF_OK:
		return ST_OK;
	case CF_FAILED:
		return st;
	case CF_GONE:
	case CF_EXISTS:
		break;
	}
	log_err("Cloudflare API: %s: HTTP %ld (is api_url %s right?)", what, r->status, cf->url);
	return ST_PROVIDER;
}

/*
 * The fields of a zone object that dns01 reads: name and id (0, or -1
 * without them), status and account ("" when absent).
 */
static int
zone_fields(json_t *z, const char **name, const char **id, const char **status,
    const char **acct, const char **acct_name)
{
	json_t *a = json_object_get(z, "account");

	*status = *acct = *acct_name = "";
	if (json_unpack_ex(z, NULL, 0, "{s:s, s:s}", "name", name, "id", id) != 0)
		return -1;
	json_unpack_ex(z, NULL, 0, "{s:s}", "status", status);
	json_unpack_ex(a, NULL, 0, "{s:s}", "id", acct);
	json_unpack_ex(a, NULL, 0, "{s:s}", "name", acct_name);
	return 0;
}

/* Append what fmt says to the string in buf (size bytes), cut where it is full. */
static void __attribute__((format(printf, 3, 4)))
append(char *buf, size_t size, const char *fmt, ...)
{
	size_t len = strlen(buf);
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf + len, size - len, fmt, ap);
	va_end(ap);
}

/* Cache zone id (account: its account id or "") as the zone named name. */
static struct cf_zone *
zone_put(struct cf *cf, const char *name, const char *id, const char *account, int trusted)
{
	struct cf_zone *zc;

	if (cf->nzones == CF_ZONE_CACHE) {
		log_err("Cloudflare: more than %d zones in one run", CF_ZONE_CACHE);
		return NULL;
	}
	zc = &cf->zones[cf->nzones++];
	snprintf(zc->name, sizeof(zc->name), "%s", name);
	snprintf(zc->id, sizeof(zc->id), "%s", id);
	snprintf(zc->account, sizeof(zc->account), "%s", id_safe(account) ? account : "");
	zc->trusted = trusted;
	return zc;
}

/*
 * apex by GET /zones?name=: the zone of that name or, of several (a user in
 * several accounts, a zone being moved), the only one that is active.  Any
 * other number is said, with the accounts, and zone_id = as the way out.
 * Status; *out on ST_OK.
 */
static int
zone_by_name(struct cf *cf, const char *apex, struct cf_zone **out)
{
	const char *q[] = { "name", apex, "per_page", CF_ZONES_PER_PAGE, NULL };
	struct http_request r = { .method = "GET" };
	json_t *result = NULL, *z, *only = NULL, *act = NULL, *pick;
	const char *name, *zid, *status, *acct, *acct_name;
	char what[NAME_BUF + 32], list[CF_LIST_MAX] = "", an[CF_MSG_MAX], st[CF_MSG_MAX];
	size_t i, found = 0, active = 0;
	int rc;

	snprintf(what, sizeof(what), "finding zone %s", apex);
	if ((rc = get(cf, "/zones", q, &r)) != ST_OK ||
	    (rc = expect_ok(cf, &r, what, apex, &result)) != ST_OK)
		goto out;
	rc = ST_PROVIDER;
	if (!json_is_array(result)) {
		log_err("Cloudflare API: %s: malformed answer (no list of zones)", what);
		goto out;
	}
	json_array_foreach(result, i, z) {
		if (zone_fields(z, &name, &zid, &status, &acct, &acct_name) != 0) {
			log_err("Cloudflare API: %s: malformed answer (a zone without a name or id)",
			    what);
			goto out;
		}
		if (strcasecmp(name, apex) != 0)
			continue;
		if (!id_safe(zid)) {
			log_err("Cloudflare API: %s: malformed zone id", what);
			goto out;
		}
		found++;
		only = z;
		if (strcmp(status, "active") == 0 && active++ == 0)
			act = z;
		api_clean_msg(acct_name, an, sizeof(an));
		api_clean_msg(status, st, sizeof(st));
		append(list, sizeof(list), "%szone %s in account \"%s\" (%s), %s",
		    list[0] != '\0' ? "; " : "", zid, an, id_safe(acct) ? acct : "?", st);
	}
	pick = found == 1 ? only : active == 1 ? act : NULL;
	if (found == 0) {
		log_err("Cloudflare: zone %s is not in the account of [provider %s] (DNS says it is "
		    "the zone; check the account, or the token's zone scope)", apex, cf->section);
		rc = ST_CONFIG;
	} else if (pick == NULL) {
		log_err("Cloudflare: %zu zones named %s are visible to [provider %s], and %s of them "
		    "is active: %s; give the right one as zone_id = in [provider %s]", found, apex,
		    cf->section, active == 0 ? "none" : "more than one", list, cf->section);
		rc = ST_CONFIG;
	} else {
		zone_fields(pick, &name, &zid, &status, &acct, &acct_name);
		if (found > 1)
			log_info("Cloudflare: %zu zones named %s; using the active one (%s)", found,
			    apex, list);
		rc = (*out = zone_put(cf, apex, zid, acct, 0)) != NULL ? ST_OK : ST_FAIL;
	}
out:
	http_request_clear(&r);
	return rc;
}

/*
 * zone_id = for apex: GET /zones/<zone_id>.  A zone_id applies only to its
 * own zone: when the zone read is another one, it is cached under its own
 * name and *out stays NULL (apex is then looked up by name).  A 403 is a
 * token without Zone:Read, which cannot read the zone: the id is then
 * trusted as apex's, and that is said at -v (a bad token shows at the next
 * call).  Status.
 */
static int
zone_by_id(struct cf *cf, const char *apex, struct cf_zone **out)
{
	struct http_request r = { .method = "GET" };
	const char *name, *zid, *status, *acct, *acct_name, *why;
	char path[64], what[64], canon[NAME_BUF];
	json_t *result = NULL;
	int rc;

	*out = NULL;
	snprintf(path, sizeof(path), "/zones/%s", cf->zone_id);
	snprintf(what, sizeof(what), "reading zone_id %s", cf->zone_id);
	if ((rc = get(cf, path, NULL, &r)) != ST_OK)
		goto out;
	if (r.status == 403) {
		log_debug("Cloudflare: [provider %s] may not read zone %s (HTTP 403: no Zone:Read): "
		    "trusting that zone_id is zone %s", cf->section, cf->zone_id, apex);
		rc = (*out = zone_put(cf, apex, cf->zone_id, "", 1)) != NULL ? ST_OK : ST_FAIL;
		goto out;
	}
	if (r.status == 404) {
		log_err("Cloudflare API: %s: no such zone (HTTP 404); check zone_id in [provider %s]",
		    what, cf->section);
		rc = ST_CONFIG;
		goto out;
	}
	if ((rc = expect_ok(cf, &r, what, apex, &result)) != ST_OK)
		goto out;
	rc = ST_PROVIDER;
	if (zone_fields(result, &name, &zid, &status, &acct, &acct_name) != 0 ||
	    name_check(name, 0, canon, &why) != 0 || strcmp(zid, cf->zone_id) != 0) {
		log_err("Cloudflare API: %s: malformed answer (no zone name or id)", what);
		goto out;
	}
	if (strcmp(canon, apex) == 0) {
		rc = (*out = zone_put(cf, apex, zid, acct, 0)) != NULL ? ST_OK : ST_FAIL;
		goto out;
	}
	log_info("Cloudflare: zone_id of [provider %s] is zone %s; %s is another zone, looked up "
	    "by name", cf->section, canon, apex);
	rc = zone_put(cf, canon, zid, acct, 0) != NULL ? ST_OK : ST_FAIL;
out:
	http_request_clear(&r);
	return rc;
}

/*
 * The zone of apex: from the cache, zone_id = (when it is apex's zone), or
 * the lookup by name.  A zone_id trusted unread for one zone cannot stand
 * for a second one.  Status; *out on ST_OK.
 */
static int
locate(struct cf *cf, const char *apex, struct cf_zone **out)
{
	struct cf_zone *known = NULL;
	size_t i;
	int rc;

	for (i = 0; i < cf->nzones; i++) {
		if (strcmp(cf->zones[i].name, apex) == 0) {
			*out = &cf->zones[i];
			return ST_OK;
		}
		if (strcmp(cf->zones[i].id, cf->zone_id) == 0)
			known = &cf->zones[i];
	}
	if ((rc = client(cf)) != ST_OK)
		return rc;
	if (known != NULL && known->trusted) {
		log_err("Cloudflare: [provider %s] may not read zones, and its zone_id stands for "
		    "zone %s already; zone %s needs a [provider] section of its own (zones = %s)",
		    cf->section, known->name, apex, apex);
		return ST_CONFIG;
	}
	if (cf->zone_id[0] != '\0' && known == NULL &&
	    ((rc = zone_by_id(cf, apex, out)) != ST_OK || *out != NULL))
		return rc;
	return zone_by_name(cf, apex, out);
}

/*
 * Every TXT record at each distinct name of recs[0..n-1]: one list call per
 * name, all names at once, further pages as result_info asks.  lists[i] gets
 * a new array for recs[i] (records at one name share the array).  Status.
 */
static int
list_txt(struct cf *cf, const char *zid, const char *apex, const struct record *recs,
    size_t n, json_t **lists)
{
	struct http_request *r = calloc(n ? n : 1, sizeof(*r));
	size_t *idx = calloc(n ? n : 1, sizeof(*idx)), *page = calloc(n ? n : 1, sizeof(*page));
	char path[HTTP_URL_MAX / 2], pg[24], what[NAME_BUF + 32];
	json_t *result, *info;
	size_t i, j, nr, k;
	int rc = ST_FAIL, st;

	if (r == NULL || idx == NULL || page == NULL)
		goto out;
	snprintf(path, sizeof(path), "/zones/%s/dns_records", zid);
	for (i = 0; i < n; i++) {
		for (j = 0; j < i && strcmp(recs[j].name, recs[i].name) != 0; j++)
			;
		lists[i] = j < i ? json_incref(lists[j]) : json_array();
		page[i] = j < i ? 0 : 1;	/* 0: nothing (more) to fetch */
	}
	for (;;) {
		for (i = 0, nr = 0; i < n; i++) {
			const char *q[] = { "type", "TXT", "name", recs[i].name, "per_page",
			    CF_RECORDS_PER_PAGE, "page", pg, NULL };

			if (page[i] == 0)
				continue;
			snprintf(pg, sizeof(pg), "%zu", page[i]);
			http_request_clear(&r[nr]);
			r[nr].method = "GET";
			if (http_url(r[nr].url, sizeof(r[nr].url), cf->url, path, q) == -1)
				goto out;
			idx[nr++] = i;
		}
		if (nr == 0)
			break;
		if ((rc = http_perform(cf->http, r, nr)) != ST_OK)
			goto out;
		for (k = 0; k < nr; k++) {
			json_int_t total = 1;

			i = idx[k];
			snprintf(what, sizeof(what), "listing TXT %s", recs[i].name);
			if (check(cf, &r[k], what, apex, &result, &st) != CF_OK) {
				rc = st == ST_OK ? ST_PROVIDER : st;
				goto out;
			}
			if (!json_is_array(result)) {
				log_err("Cloudflare API: %s: malformed answer (no list)", what);
				rc = ST_PROVIDER;
				goto out;
			}
			json_array_extend(lists[i], result);
			info = json_object_get(r[k].json, "result_info");
			json_unpack_ex(info, NULL, 0, "{s?I}", "total_pages", &total);
			page[i] = (json_int_t)page[i] < total && json_array_size(result) > 0 &&
			    page[i] < CF_MAX_PAGES ? page[i] + 1 : 0;
		}
	}
	rc = ST_OK;
out:
	for (i = 0; r != NULL && i < n; i++)
		http_request_clear(&r[i]);
	free(r);
	free(idx);
	free(page);
	return rc;
}

/*
 * value as TXT content in presentation format: one quoted character-string,
 * '"' and '\\' escaped (RFC 1035 §5.1).  Cloudflare's dashboard warns on TXT
 * content without quotes, and the API documents quoted strings
 * (cloudflare-python types/dns/txt_record_param.py); lego quotes too since
 * go-acme/lego#2521.  The value is printable ASCII (value_check_txt), so
 * these are the only escapes.  out has CF_CONTENT_MAX bytes.
 */
static void
quote_txt(const char *value, char *out)
{
	size_t o = 0;

	out[o++] = '"';
	for (; *value != '\0' && o + 3 < CF_CONTENT_MAX; value++) {
		if (*value == '"' || *value == '\\')
			out[o++] = '\\';
		out[o++] = *value;
	}
	out[o++] = '"';
	out[o] = '\0';
}

/*
 * The ids of the records in list whose content is value, quoted (as dns01
 * and lego write it) or not (as older dns01, certbot and acme.sh do).
 * Returns how many went into ids.
 */
static size_t
match_ids(json_t *list, const char *value, char ids[][CF_ID_MAX], size_t max)
{
	const char *rid, *content;
	char quoted[CF_CONTENT_MAX];
	size_t i, n = 0;
	json_t *rec;

	quote_txt(value, quoted);
	json_array_foreach(list, i, rec) {
		if (json_unpack_ex(rec, NULL, 0, "{s:s, s:s}", "id", &rid, "content", &content) != 0 ||
		    !id_safe(rid))
			continue;
		if (strcmp(content, value) != 0 && strcmp(content, quoted) != 0)
			continue;
		if (n < max)
			snprintf(ids[n++], CF_ID_MAX, "%s", rid);
	}
	return n;
}

static void
free_lists(json_t **lists, size_t n)
{
	size_t i;

	for (i = 0; lists != NULL && i < n; i++)
		json_decref(lists[i]);
	free(lists);
}

static int
cf_add(void *priv, const struct zone *z, struct record *recs, size_t n, int ttl)
{
	struct cf *cf = priv;
	struct http_request *r = calloc(n ? n : 1, sizeof(*r));
	struct record *dup = calloc(n ? n : 1, sizeof(*dup));
	size_t *dupof = calloc(n ? n : 1, sizeof(*dupof));
	json_t **lists = NULL;
	char path[HTTP_URL_MAX / 2], what[NAME_BUF + 32], found[1][CF_ID_MAX];
	char content[CF_CONTENT_MAX];
	struct cf_zone *zc;
	const char *zid, *rid;
	json_t *result;
	size_t i, ndup = 0;
	int rc, st, worst = ST_OK;

	if (r == NULL || dup == NULL || dupof == NULL) {
		rc = ST_FAIL;
		goto out;
	}
	if ((rc = locate(cf, z->apex, &zc)) != ST_OK)
		goto out;
	zid = zc->id;
	snprintf(path, sizeof(path), "/zones/%s/dns_records", zid);
	for (i = 0; i < n; i++) {
		r[i].method = "POST";
		quote_txt(recs[i].value, content);
		if (http_url(r[i].url, sizeof(r[i].url), cf->url, path, NULL) == -1 ||
		    (r[i].body = json_pack("{s:s, s:s, s:s, s:i}", "type", "TXT", "name",
		    recs[i].name, "content", content, "ttl", ttl)) == NULL) {
			rc = ST_FAIL;
			goto out;
		}
	}
	if ((rc = http_perform(cf->http, r, n)) != ST_OK)
		goto out;
	for (i = 0; i < n; i++) {
		snprintf(what, sizeof(what), "adding TXT %s", recs[i].name);
		switch (check(cf, &r[i], what, z->apex, &result, &st)) {
		case CF_OK:
			if (json_unpack_ex(result, NULL, 0, "{s:s}", "id", &rid) != 0 ||
			    !id_safe(rid)) {
				log_err("Cloudflare API: %s: malformed answer (no record id)", what);
				st = ST_PROVIDER;
				break;
			}
			snprintf(recs[i].id, RECORD_ID_MAX, "%s:%s", zid, rid);
			continue;
		case CF_EXISTS:
			log_info("%s: the value is there already", recs[i].name);
			dup[ndup] = recs[i];
			dupof[ndup++] = i;
			continue;
		case CF_GONE:
			log_err("Cloudflare API: %s: HTTP %ld (zone %s gone?)", what, r[i].status,
			    z->apex);
			st = ST_PROVIDER;
			break;
		case CF_FAILED:
			break;
		}
		if (worst == ST_OK || st == ST_CONFIG)
			worst = st;
	}
	/* "Already exists": the existing records' ids, for the cleanup. */
	if (ndup > 0 && worst == ST_OK) {
		if ((lists = calloc(ndup, sizeof(*lists))) == NULL) {
			rc = ST_FAIL;
			goto out;
		}
		if ((worst = list_txt(cf, zid, z->apex, dup, ndup, lists)) == ST_OK)
			for (i = 0; i < ndup; i++)
				if (match_ids(lists[i], dup[i].value, found, 1) == 1)
					snprintf(recs[dupof[i]].id, RECORD_ID_MAX, "%s:%s", zid,
					    found[0]);
	}
	rc = worst;
	if (rc == ST_OK)
		log_info("added %zu TXT record(s) in zone %s at Cloudflare", n, z->apex);
out:
	for (i = 0; r != NULL && i < n; i++) {
		json_decref(r[i].body);
		http_request_clear(&r[i]);
	}
	free_lists(lists, ndup);
	free(r);
	free(dup);
	free(dupof);
	return rc;
}

/* The zone and record id in "zone:record", or -1. */
static int
split_id(const char *id, char *zid, char *rid)
{
	const char *colon = strchr(id, ':');

	if (colon == NULL || (size_t)(colon - id) >= CF_ID_MAX || strlen(colon + 1) >= CF_ID_MAX)
		return -1;
	memcpy(zid, id, (size_t)(colon - id));
	zid[colon - id] = '\0';
	memcpy(rid, colon + 1, strlen(colon + 1) + 1);
	return id_safe(zid) && id_safe(rid) ? 0 : -1;
}

static int
cf_del(void *priv, const struct zone *z, struct record *recs, size_t n)
{
	struct cf *cf = priv;
	struct http_request *r = calloc(n * CF_DEL_MAX + 1, sizeof(*r));
	struct record *look = calloc(n ? n : 1, sizeof(*look));
	char zid[CF_ID_MAX], rids[CF_DEL_MAX][CF_ID_MAX], path[HTTP_URL_MAX / 2];
	char what[NAME_BUF + 32];
	const char *lzid;
	struct cf_zone *zc;
	json_t **lists = NULL, *result;
	size_t i, k, nr = 0, nids, nlook = 0, gone = 0;
	int rc, st, worst = ST_OK;

	if (r == NULL || look == NULL) {
		rc = ST_FAIL;
		goto out;
	}
	if ((rc = client(cf)) != ST_OK)
		goto out;
	/* With an id: one DELETE.  Without: look the value up first. */
	for (i = 0; i < n; i++)
		if (recs[i].id[0] != '\0' && split_id(recs[i].id, zid, rids[0]) == 0) {
			snprintf(path, sizeof(path), "/zones/%s/dns_records/%s", zid, rids[0]);
			r[nr].method = "DELETE";
			if (http_url(r[nr++].url, sizeof(r[0].url), cf->url, path, NULL) == -1) {
				rc = ST_FAIL;
				goto out;
			}
		} else
			look[nlook++] = recs[i];
	if (nlook > 0) {
		if ((rc = locate(cf, z->apex, &zc)) != ST_OK)
			goto out;
		lzid = zc->id;
		if ((lists = calloc(nlook, sizeof(*lists))) == NULL) {
			rc = ST_FAIL;
			goto out;
		}
		if ((rc = list_txt(cf, lzid, z->apex, look, nlook, lists)) != ST_OK)
			goto out;
		for (i = 0; i < nlook; i++) {
			if ((nids = match_ids(lists[i], look[i].value, rids, CF_DEL_MAX)) == 0)
				log_info("%s: no such TXT value at Cloudflare (gone already)",
				    look[i].name);
			for (k = 0; k < nids; k++) {
				snprintf(path, sizeof(path), "/zones/%s/dns_records/%s", lzid, rids[k]);
				r[nr].method = "DELETE";
				if (http_url(r[nr++].url, sizeof(r[0].url), cf->url, path, NULL) == -1) {
					rc = ST_FAIL;
					goto out;
				}
			}
		}
	}
	if (nr > 0 && (rc = http_perform(cf->http, r, nr)) != ST_OK)
		goto out;
	snprintf(what, sizeof(what), "deleting a TXT record in %s", z->apex);
	for (i = 0; i < nr; i++) {
		switch (check(cf, &r[i], what, z->apex, &result, &st)) {
		case CF_OK:
			gone++;
			continue;
		case CF_GONE:
			log_info("a TXT record in %s was gone already", z->apex);
			continue;
		case CF_EXISTS:
			st = ST_PROVIDER;
			break;
		case CF_FAILED:
			break;
		}
		if (worst == ST_OK || st == ST_CONFIG)
			worst = st;
	}
	rc = worst;
	if (rc == ST_OK && gone > 0)	/* what was there: a 404 or no match is said above */
		log_info("deleted %zu TXT record(s) from zone %s at Cloudflare", gone, z->apex);
out:
	for (i = 0; r != NULL && i < nr; i++)
		http_request_clear(&r[i]);
	free_lists(lists, nlook);
	free(r);
	free(look);
	return rc;
}

/* A token verify answer (r, for act) that must say "active".  Status. */
static int
token_active(const struct cf *cf, const struct http_request *r, const char *act,
    const char *apex)
{
	const char *status;
	char clean[CF_MSG_MAX];
	json_t *result = NULL;
	int rc;

	if ((rc = expect_ok(cf, r, act, apex, &result)) != ST_OK)
		return rc;
	if (json_unpack_ex(result, NULL, 0, "{s:s}", "status", &status) != 0) {
		log_err("Cloudflare API: %s: malformed answer (no token status)", act);
		return ST_PROVIDER;
	}
	if (strcmp(status, "active") != 0) {
		api_clean_msg(status, clean, sizeof(clean));
		log_err("Cloudflare API: the API token of [provider %s] is %s, not active: make a "
		    "new one with Zone:Read and Zone:DNS:Edit", cf->section, clean);
		return ST_CONFIG;
	}
	return ST_OK;
}

/*
 * Verify, changing nothing.  Email + global key: GET /user, then the zone.
 * A token: GET /user/tokens/verify must say "active".  That endpoint knows
 * only the tokens of users; an account-owned token (cfat_..., "not
 * associated with users") gets 401 code 1000 there and is verified at GET
 * /accounts/<id>/tokens/verify instead (cloudflare/cloudflare-docs#29486,
 * api-fidelity.md §1.2), <id> being the account of the zone.  A token that
 * may not read the zone (zone_id trusted) leaves no account to ask: a list
 * of the zone's TXT records at its apex then shows that Cloudflare takes it.
 */
static int
cf_verify(void *priv, const struct zone *z, char *what, size_t whatlen)
{
	struct cf *cf = priv;
	struct http_request r = { .method = "GET" };
	const char *q[] = { "type", "TXT", "name", z->apex, "per_page", CF_RECORDS_PER_PAGE, NULL };
	const char *act = "verifying the API token", *note;
	char path[HTTP_URL_MAX / 2];
	struct cf_zone *zc;
	json_t *result = NULL;
	int rc;

	if ((rc = client(cf)) != ST_OK)
		return rc;
	if (cf->global) {
		if ((rc = get(cf, "/user", NULL, &r)) != ST_OK || (rc = expect_ok(cf, &r,
		    "checking the email and global API key", z->apex, &result)) != ST_OK ||
		    (rc = locate(cf, z->apex, &zc)) != ST_OK)
			goto out;
		snprintf(what, whatlen, "Cloudflare accepts the email and global API key of "
		    "[provider %s] (GET /user), and zone %s is in its account", cf->section, z->apex);
		goto out;
	}
	if ((rc = get(cf, "/user/tokens/verify", NULL, &r)) != ST_OK)
		goto out;
	if (r.status != 401) {
		if ((rc = token_active(cf, &r, act, z->apex)) != ST_OK ||
		    (rc = locate(cf, z->apex, &zc)) != ST_OK)
			goto out;
		note = zc->trusted ? "is zone_id, which it may not read" : "is in its account";
		snprintf(what, whatlen, "Cloudflare accepts the user API token of [provider %s] "
		    "(GET /user/tokens/verify: active), and zone %s %s", cf->section, z->apex, note);
		goto out;
	}
	/* Not a user's token, or no token at all. */
	if ((rc = locate(cf, z->apex, &zc)) != ST_OK)
		goto out;
	if (zc->account[0] != '\0') {
		snprintf(path, sizeof(path), "/accounts/%s/tokens/verify", zc->account);
		if ((rc = get(cf, path, NULL, &r)) != ST_OK ||
		    (rc = token_active(cf, &r, act, z->apex)) != ST_OK)
			goto out;
		snprintf(what, whatlen, "Cloudflare accepts the account-owned API token of "
		    "[provider %s] (GET /accounts/%s/tokens/verify: active), and zone %s is in "
		    "that account", cf->section, zc->account, z->apex);
		goto out;
	}
	snprintf(path, sizeof(path), "/zones/%s/dns_records", zc->id);
	if ((rc = get(cf, path, q, &r)) != ST_OK ||
	    (rc = expect_ok(cf, &r, "listing the zone's TXT records", z->apex, &result)) != ST_OK)
		goto out;
	snprintf(what, whatlen, "Cloudflare accepts the API token of [provider %s] for zone %s "
	    "(GET /zones/%s/dns_records works; not a user's token, and it may not read the zone, "
	    "so zone_id is trusted and its account is unknown)", cf->section, z->apex, zc->id);
out:
	http_request_clear(&r);
	return rc;
}

const struct provider_ops provider_cloudflare = {
	.type = "cloudflare",
	.description = "Cloudflare API v4 (API token, or email + global API key)",
	.keys = keys,
	.secret_keys = secret_keys,
	.env = env,
	.cred = cred,
	.default_ttl = CF_DEFAULT_TTL,
	.min_ttl = CF_MIN_TTL,
	.create = cf_create,
	.add = cf_add,
	.del = cf_del,
	.verify = cf_verify,
	.destroy = cf_destroy,
};
