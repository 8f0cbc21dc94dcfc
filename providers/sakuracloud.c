/*
 * Provider "sakuracloud": the Sakura Cloud DNS appliance, API 1.1
 * (../shared/reference/provider-apis.md §2, api-fidelity.md §2).
 *
 * A zone is one "common service item" whose record set is replaced as a
 * whole by PUT, so every change is a read-modify-write, and a writer that
 * read before us can erase our record.  The server very likely ignores the
 * settings hash a PUT carries (api-fidelity.md §2.6: the iaas-api-go
 * author found it has no effect on CommonServiceItem, sacloud/usacloud
 * #641), so the hash is sent but nothing rests on it.  What protects a
 * change: a per-zone lock file under state_dir serialises dns01 processes
 * on this host; after the PUT the item is read again to check that our
 * change is there and nothing we read was lost (else the round starts
 * over); and after the propagation wait, confirm() reads once more and
 * writes back a value that a writer elsewhere erased (provider.h).  What
 * it cannot see: our PUT erasing a record someone else wrote between our
 * read and our PUT.  All records of one zone go in one PUT, with every
 * field of Settings sent back as read.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <jansson.h>
#include <openssl/evp.h>

#include "../core/api.h"
#include "../core/http.h"
#include "../core/log.h"
#include "../core/rmw.h"
#include "../core/status.h"
#include "provider.h"

#define SAKURA_DEFAULT_URL	"https://secure.sakura.ad.jp/cloud/zone/is1a/api/cloud/1.1"
#define SAKURA_SANDBOX		"/zone/tk1v/"	/* the Sandbox endpoint, in api_url */
/*
 * TTL: Sakura's own CLI accepted 10..3600000 s (sacloud/usacloud v0
 * define/dns.go, validateIntRange(10, 3600000)), and its record names
 * 1..63 characters (validateStrLen(1, 63)); the server is believed to
 * refuse what lies outside, so dns01 never sends it.
 */
#define SAKURA_DEFAULT_TTL	10
#define SAKURA_MIN_TTL		10
#define SAKURA_NAME_MAX		63	/* characters of a relative record Name */
#define SAKURA_ID_MAX		32
#define SAKURA_PAGE		50	/* items asked for per list call */
#define SAKURA_MAX_PAGES	20
#define SAKURA_MAX_ROUNDS	10	/* read-modify-write attempts per change */
#define SAKURA_BUSY_FIRST_S	1.0	/* the pause after round 1 (see again()) */
#define SAKURA_BUSY_MAX_S	32.0	/* the longest pause */
#define SAKURA_ZONE_CACHE	16
#define SAKURA_MSG_MAX		300
#define SAKURA_BUSY_MAX		(SAKURA_MSG_MAX + 64)	/* "HTTP 409 <code>: <msg>" */
#define SAKURA_CRED_MAX		512

/*
 * HTTP retries as Sakura's own client makes them (sacloud/go-http client.go:
 * DefaultRetryMax 10 retries, DefaultRetryWaitMin 1 s, DefaultRetryWaitMax
 * 64 s, exponential; DefaultCheckRetryFunc retries 423 Locked and 503, and
 * sacloud/iaas-api-go client.go defaultCheckRetryStatusCodes names the
 * same two), bounded by the run's timeout.  429, 502 and 504 (a proxy or
 * gateway in front of the API) are retried too; a 500 is not, as there.
 */
static const struct http_retry sakura_retry = {
	.attempts = 11,
	.first_s = 1,
	.max_s = 64,
	.statuses = { 423, 429, 502, 503, 504, 0 },
};

struct sakura_zone {
	char	apex[NAME_BUF];
	char	id[SAKURA_ID_MAX];
};

struct sakura {
	char	section[128];
	char	url[HTTP_URL_MAX / 2];
	char	*ca_file;
	char	*state_dir;
	char	*auth;			/* "Basic ..." (secret) */
	struct http_header hdr;
	struct http *http;
	double	 deadline;		/* log_now() seconds: the run's timeout */
	unsigned timeout;		/* its length, for messages */
	char	 busy[SAKURA_BUSY_MAX];	/* the last 409, as check() saw it */
	json_t	*settings;		/* the item's Settings as last read (rd()) */
	struct rmw_ctx rmw;		/* core/rmw.h, for this instance */
	struct sakura_zone zones[SAKURA_ZONE_CACHE];
	size_t	 nzones;
};

static const struct rmw_ops sakura_rmw;

static const char *const keys[] = { "access_token", "access_token_secret", "api_url", "ca_file",
	NULL };
static const char *const secret_keys[] = { "access_token", "access_token_secret", NULL };
static const struct env_map env[] = {
	{ "access_token", { "SAKURACLOUD_ACCESS_TOKEN", NULL } },
	{ "access_token_secret", { "SAKURACLOUD_ACCESS_TOKEN_SECRET", NULL } },
	{ "api_url", { "SAKURACLOUD_API_URL", NULL } },
	{ NULL, { NULL } }
};
static const struct cred_map cred[] = {
	{ "access_token", "dns_sakuracloud_api_token" },
	{ "access_token_secret", "dns_sakuracloud_api_secret" },
	{ NULL, NULL }
};

static void
sakura_destroy(void *priv)
{
	struct sakura *sk = priv;

	if (sk == NULL)
		return;
	http_free(sk->http);
	json_decref(sk->settings);
	if (sk->auth != NULL) {
		explicit_bzero(sk->auth, strlen(sk->auth));
		free(sk->auth);
	}
	free(sk->ca_file);
	free(sk->state_dir);
	free(sk);
}

static int
sakura_create(const struct provider_conf *pc, const struct config *cfg, void **priv)
{
	const char *token = provider_conf_get(pc, "access_token");
	const char *secret = provider_conf_get(pc, "access_token_secret");
	const char *ca = provider_conf_get(pc, "ca_file");
	unsigned char plain[SAKURA_CRED_MAX * 2 + 2];
	struct sakura *sk;
	size_t n, tl, sl;

	if ((sk = calloc(1, sizeof(*sk))) == NULL)
		return ST_FAIL;
	sk->timeout = cfg->timeout;
	sk->deadline = log_now() + cfg->timeout;
	snprintf(sk->section, sizeof(sk->section), "%s", pc->name);
	if (token == NULL || secret == NULL || *token == '\0' || *secret == '\0') {
		log_err("%s: [provider %s]: needs access_token and access_token_secret",
		    pc->origin, pc->name);
		goto fail;
	}
	tl = strlen(token);
	sl = strlen(secret);
	if (!api_printable(token) || !api_printable(secret) || strchr(token, ':') != NULL ||
	    tl > SAKURA_CRED_MAX || sl > SAKURA_CRED_MAX) {
		log_err("%s: [provider %s]: access_token or access_token_secret contains spaces, "
		    "':' or control characters, or is too long", pc->origin, pc->name);
		goto fail;
	}
	/* HTTP Basic: base64(token ":" secret). */
	memcpy(plain, token, tl);
	plain[tl] = ':';
	memcpy(plain + tl + 1, secret, sl);
	n = 4 * ((tl + 1 + sl + 2) / 3) + 1;
	if ((sk->auth = malloc(strlen("Basic ") + n)) == NULL)
		goto fail;
	memcpy(sk->auth, "Basic ", strlen("Basic "));
	EVP_EncodeBlock((unsigned char *)sk->auth + strlen("Basic "), plain, (int)(tl + 1 + sl));
	explicit_bzero(plain, sizeof(plain));
	sk->hdr.name = "Authorization";
	sk->hdr.value = sk->auth;
	sk->hdr.secret = 1;
	if (api_base_url(pc, SAKURA_DEFAULT_URL, sk->url, sizeof(sk->url)) != ST_OK)
		goto fail;
	/*
	 * tk1v is the Sandbox: a test zone independent of the production ones
	 * (is1a is1b is1c tk1a tk1b), whose resources do not work as real ones
	 * do (manual.sakura.ad.jp/cloud/server/sandbox.html; iaas-api-go
	 * types/zone.go).  Only a user names it, so it is used, with a warning.
	 */
	if (strstr(sk->url, SAKURA_SANDBOX) != NULL)
		log_warn("[provider %s]: api_url is Sakura Cloud's Sandbox (tk1v), a test "
		    "environment separate from the production zones: it holds only zones made "
		    "in the Sandbox, and records written to them do not reach public DNS (the "
		    "production endpoints are is1a, is1b, is1c, tk1a, tk1b)", pc->name);
	if ((ca != NULL && (sk->ca_file = strdup(ca)) == NULL) ||
	    (sk->state_dir = strdup(cfg->state_dir)) == NULL)
		goto fail;
	sk->rmw = (struct rmw_ctx){ .ops = &sakura_rmw, .priv = sk, .state_dir = sk->state_dir,
	    .lock_prefix = "sakuracloud", .deadline = sk->deadline, .timeout_s = sk->timeout,
	    .rounds = SAKURA_MAX_ROUNDS, .pause_first_s = SAKURA_BUSY_FIRST_S,
	    .pause_max_s = SAKURA_BUSY_MAX_S };
	*priv = sk;
	return ST_OK;
fail:
	explicit_bzero(plain, sizeof(plain));
	sakura_destroy(sk);
	return ST_CONFIG;
}

/* Decode &amp; &lt; &gt; &quot; &apos; &#N; &#xN; in place (UTF-8 out), drop controls. */
static void
decode_entities(const char *in, char *out, size_t outlen)
{
	static const struct { const char *name; char c; } named[] = {
		{ "amp;", '&' }, { "lt;", '<' }, { "gt;", '>' }, { "quot;", '"' }, { "apos;", '\'' },
	};
	size_t o = 0, i;

	while (*in != '\0' && o + 5 < outlen) {
		if (*in == '&') {
			for (i = 0; i < sizeof(named) / sizeof(named[0]); i++)
				if (strncmp(in + 1, named[i].name, strlen(named[i].name)) == 0)
					break;
			if (i < sizeof(named) / sizeof(named[0])) {
				out[o++] = named[i].c;
				in += 1 + strlen(named[i].name);
				continue;
			}
			if (in[1] == '#') {
				char *end;
				int hex = in[2] == 'x' || in[2] == 'X';
				unsigned long cp = strtoul(in + 2 + hex, &end, hex ? 16 : 10);

				if (*end == ';' && end > in + 2 + hex && cp >= 0x20 && cp <= 0x10ffff) {
					if (cp < 0x80)
						out[o++] = (char)cp;
					else if (cp < 0x800) {
						out[o++] = (char)(0xc0 | (cp >> 6));
						out[o++] = (char)(0x80 | (cp & 0x3f));
					} else if (cp < 0x10000) {
						out[o++] = (char)(0xe0 | (cp >> 12));
						out[o++] = (char)(0x80 | ((cp >> 6) & 0x3f));
						out[o++] = (char)(0x80 | (cp & 0x3f));
					} else {
						out[o++] = (char)(0xf0 | (cp >> 18));
						out[o++] = (char)(0x80 | ((cp >> 12) & 0x3f));
						out[o++] = (char)(0x80 | ((cp >> 6) & 0x3f));
						out[o++] = (char)(0x80 | (cp & 0x3f));
					}
					in = end + 1;
					continue;
				}
			}
		}
		out[o++] = (unsigned char)*in < 0x20 || *in == 0x7f ? '?' : *in;
		in++;
	}
	out[o] = '\0';
}

enum sk_err {
	SK_OK,
	SK_BUSY,		/* 409: not now; sk->busy says what the API said */
	SK_FAILED		/* reported; see the status */
};

/*
 * Judge an answer; on success *json is the answer (borrowed).  A 409 is
 * Sakura's general "not in the current state of the resource" (error_code
 * "conflict", or a sub-code such as "still_creating": iaas-api-go error.go,
 * IsStillCreatingError), not a verdict on the settings hash: SK_BUSY, not
 * reported here, for the caller to read again later.
 */
static enum sk_err
check(struct sakura *sk, const struct http_request *r, const char *what, int *status)
{
	const char *code = NULL, *m = NULL;
	char msg[SAKURA_MSG_MAX];
	int ok = 1;

	if ((*status = api_no_answer(r, "Sakura Cloud API", sk->url, what)) != ST_OK)
		return SK_FAILED;
	*status = ST_PROVIDER;
	if (r->json != NULL)
		json_unpack_ex(r->json, NULL, 0, "{s?b, s?s, s?s}", "is_ok", &ok, "error_code",
		    &code, "error_msg", &m);
	if (r->status >= 200 && r->status < 300 && r->json != NULL && ok)
		return SK_OK;
	decode_entities(m ? m : "no message", msg, sizeof(msg));
	if (r->status == 409) {
		snprintf(sk->busy, sizeof(sk->busy), "HTTP 409 %s: %s", code ? code : "", msg);
		return SK_BUSY;
	}
	if (r->status == 401) {
		log_err("Sakura Cloud API: %s: access token or secret rejected ([provider %s] "
		    "access_token, access_token_secret; %s)", what, sk->section, msg);
		*status = ST_CONFIG;
	} else if (r->status == 403) {
		log_err("Sakura Cloud API: %s: forbidden: the API key of [provider %s] needs the "
		    "access level \"can modify settings\" (設定変更) (%s)", what, sk->section, msg);
		*status = ST_CONFIG;
	} else if (r->out_of_time)
		log_err("Sakura Cloud API: %s: HTTP %ld %s: %s; still so after %d attempt(s), and "
		    "the next would start after the timeout (%u s): try again later", what,
		    r->status, code ? code : "", msg, r->attempts, sk->timeout);
	else if (r->json == NULL)
		log_err("Sakura Cloud API: %s: malformed answer (HTTP %ld, not JSON)", what,
		    r->status);
	else
		log_err("Sakura Cloud API: %s: HTTP %ld %s: %s", what, r->status,
		    code ? code : "", msg);
	return SK_FAILED;
}

/* The id of an item as text (the API gives a string; accept a number too). */
static int
item_id(json_t *item, char *out)
{
	json_t *id = json_object_get(item, "ID");

	if (json_is_string(id) && strlen(json_string_value(id)) < SAKURA_ID_MAX &&
	    strspn(json_string_value(id), "0123456789") == strlen(json_string_value(id)) &&
	    json_string_length(id) > 0) {
		snprintf(out, SAKURA_ID_MAX, "%s", json_string_value(id));
		return 0;
	}
	if (json_is_integer(id) && json_integer_value(id) > 0) {
		snprintf(out, SAKURA_ID_MAX, "%lld", (long long)json_integer_value(id));
		return 0;
	}
	return -1;
}

/*
 * The item id of the zone apex: a list call with an exact Name filter (an
 * array), then Status.Zone must equal apex, pages followed.  Status.
 */
static int
zone_item(struct sakura *sk, const char *apex, const char **id)
{
	struct http_request r = { .method = "GET" };
	json_t *q = NULL, *items, *it;
	json_int_t from = 0, count = 0, total = 0;
	const char *zname;
	char what[NAME_BUF + 32], found[SAKURA_ID_MAX] = "";
	size_t i, page;
	int rc = ST_OK, st;
	enum sk_err e;

	for (i = 0; i < sk->nzones; i++)
		if (strcmp(sk->zones[i].apex, apex) == 0) {
			*id = sk->zones[i].id;
			return ST_OK;
		}
	if (sk->http == NULL) {
		if ((rc = http_new(sk->ca_file, &sk->hdr, 1, &sk->http)) != ST_OK)
			return rc;
		http_set_retry(sk->http, &sakura_retry);
		http_set_deadline(sk->http, sk->deadline);
	}
	snprintf(what, sizeof(what), "finding zone %s", apex);
	for (page = 0; page < SAKURA_MAX_PAGES && found[0] == '\0'; page++) {
		json_decref(q);
		q = json_pack("{s:{s:s, s:[s]}, s:I, s:i}", "Filter", "Provider.Class", "dns",
		    "Name", apex, "From", from, "Count", SAKURA_PAGE);
		if (q == NULL || http_url_json(r.url, sizeof(r.url), sk->url, "/commonserviceitem",
		    q) == -1) {
			rc = ST_FAIL;
			goto out;
		}
		if ((rc = http_perform(sk->http, &r, 1)) != ST_OK)
			goto out;
		if ((e = check(sk, &r, what, &st)) != SK_OK) {
			if (e == SK_BUSY)
				log_err("Sakura Cloud API: %s: %s", what, sk->busy);
			rc = st;
			goto out;
		}
		if (json_unpack_ex(r.json, NULL, 0, "{s:I, s:I, s:I, s:o}", "From", &from, "Count",
		    &count, "Total", &total, "CommonServiceItems", &items) != 0 ||
		    !json_is_array(items)) {
			log_err("Sakura Cloud API: %s: malformed answer (no item list)", what);
			rc = ST_PROVIDER;
			goto out;
		}
		json_array_foreach(items, i, it) {
			if (json_unpack_ex(it, NULL, 0, "{s:{s:s}}", "Status", "Zone", &zname) != 0) {
				log_err("Sakura Cloud API: %s: malformed answer (an item without "
				    "Status.Zone)", what);
				rc = ST_PROVIDER;
				goto out;
			}
			if (strcasecmp(zname, apex) == 0 && item_id(it, found) == 0)
				break;
		}
		if (from + count >= total || count == 0)
			break;
		from += count;
	}
	if (found[0] == '\0') {
		log_err("Sakura Cloud: zone %s is not in the account of [provider %s] (DNS says it "
		    "is the zone)", apex, sk->section);
		rc = ST_DISCOVERY;
	} else if (sk->nzones == SAKURA_ZONE_CACHE) {
		log_err("Sakura Cloud: more than %d zones in one run", SAKURA_ZONE_CACHE);
		rc = ST_FAIL;
	} else {
		snprintf(sk->zones[sk->nzones].apex, NAME_BUF, "%s", apex);
		memcpy(sk->zones[sk->nzones].id, found, SAKURA_ID_MAX);
		*id = sk->zones[sk->nzones++].id;
		rc = ST_OK;
	}
out:
	json_decref(q);
	http_request_clear(&r);
	return rc;
}

/*
 * Read the zone's item: a copy of its Settings, every field as read (such
 * as Settings.DNS.MonitoringSuiteLog, iaas-api-go naked/dns.go), and its
 * hash.  A zone without records may come with ResourceRecordSets null or
 * left out (not observed either way, api-fidelity.md §2.11): the copy then
 * has [].  With busy not NULL, a 409 sets *busy and returns ST_OK without
 * a copy; otherwise it is reported.  Status.
 */
static int
read_item(struct sakura *sk, const char *id, const char *apex, json_t **settings, char *hash,
    size_t hashlen, int *busy)
{
	struct http_request r = { .method = "GET" };
	char path[64], what[NAME_BUF + 32];
	const char *h = "";
	json_t *got = NULL, *dns, *rr;
	enum sk_err e;
	int rc, st;

	*settings = NULL;
	if (busy != NULL)
		*busy = 0;
	snprintf(path, sizeof(path), "/commonserviceitem/%s", id);
	snprintf(what, sizeof(what), "reading zone %s", apex);
	if (http_url(r.url, sizeof(r.url), sk->url, path, NULL) == -1)
		return ST_FAIL;
	if ((rc = http_perform(sk->http, &r, 1)) != ST_OK)
		goto out;
	if ((e = check(sk, &r, what, &st)) == SK_BUSY && busy != NULL) {
		*busy = 1;
		goto out;
	}
	if (e != SK_OK) {
		if (e == SK_BUSY)
			log_err("Sakura Cloud API: %s: %s", what, sk->busy);
		rc = st;
		goto out;
	}
	rc = ST_PROVIDER;
	if (json_unpack_ex(r.json, NULL, 0, "{s:{s?s, s:o}}", "CommonServiceItem",
	    "SettingsHash", &h, "Settings", &got) != 0 ||
	    !json_is_object(dns = json_object_get(got, "DNS")) ||
	    ((rr = json_object_get(dns, "ResourceRecordSets")) != NULL && !json_is_null(rr) &&
	    !json_is_array(rr))) {
		log_err("Sakura Cloud API: %s: malformed answer (no Settings.DNS, or its "
		    "ResourceRecordSets is not a list)", what);
		goto out;
	}
	rc = ST_FAIL;
	if ((*settings = json_deep_copy(got)) == NULL)
		goto out;
	if (!json_is_array(rr) && json_object_set_new(json_object_get(*settings, "DNS"),
	    "ResourceRecordSets", json_array()) == -1) {
		json_decref(*settings);
		*settings = NULL;
		goto out;
	}
	snprintf(hash, hashlen, "%s", h ? h : "");
	rc = ST_OK;
out:
	http_request_clear(&r);
	return rc;
}

/* The record list of Settings that read_item() gave (borrowed; an array). */
static json_t *
records_of(json_t *settings)
{
	return json_object_get(json_object_get(settings, "DNS"), "ResourceRecordSets");
}

/* The name relative to the zone: "@" for the apex. */
static void
relative(const char *name, const char *apex, char *out)
{
	size_t n = strlen(name), a = strlen(apex);

	if (strcmp(name, apex) == 0 || n <= a + 1)
		snprintf(out, NAME_BUF, "@");
	else
		snprintf(out, NAME_BUF, "%.*s", (int)(n - a - 1), name);
}

/* The absolute name of a record Name relative to apex ("@": the apex).  0 or -1. */
static int
absolute(const char *rel, const char *apex, char *out)
{
	int n = strcmp(rel, "@") == 0 ? snprintf(out, NAME_BUF, "%s", apex) :
	    snprintf(out, NAME_BUF, "%s.%s", rel, apex);

	return n > 0 && n < NAME_BUF ? 0 : -1;
}

/* The fields of a record {Name, Type, RData[, TTL]}.  0, or -1 if it has not those. */
static int
record_fields(json_t *rec, const char **name, const char **type, const char **rdata, int *ttl)
{
	json_int_t t = 0;

	if (json_unpack_ex(rec, NULL, 0, "{s:s, s:s, s:s, s?I}", "Name", name, "Type", type,
	    "RData", rdata, "TTL", &t) != 0 || t < 0 || t > INT32_MAX)
		return -1;
	*ttl = (int)t;
	return 0;
}

/*
 * rmw read(): the zone's whole record set as absolute names, and its hash
 * as the version.  The Settings read are kept (sk->settings) for the
 * write() that follows, which sends them back.  A record without the four
 * fields is refused rather than dropped from the next write.
 */
static int
rd(void *priv, const struct zone *z, const struct record *recs, size_t n, struct rr_list *out)
{
	struct sakura *sk = priv;
	const char *id = NULL, *name, *type, *rdata;
	char abs[NAME_BUF];
	size_t i;
	json_t *rec;
	int rc, busy, ttl;

	(void)recs;
	(void)n;
	json_decref(sk->settings);
	sk->settings = NULL;
	if ((rc = zone_item(sk, z->apex, &id)) != ST_OK ||
	    (rc = read_item(sk, id, z->apex, &sk->settings, out->version, sizeof(out->version),
	    &busy)) != ST_OK)
		return rc;
	if (busy)
		return RMW_BUSY;
	json_array_foreach(records_of(sk->settings), i, rec) {
		if (record_fields(rec, &name, &type, &rdata, &ttl) == -1 ||
		    absolute(name, z->apex, abs) == -1) {
			log_err("Sakura Cloud API: zone %s holds a record dns01 cannot read (record "
			    "%zu has no Name, Type and RData); not writing the zone, so as not to "
			    "lose it", z->apex, i + 1);
			return ST_PROVIDER;
		}
		if (rr_list_add(out, abs, type, rdata, ttl) == -1)
			return ST_FAIL;
	}
	return ST_OK;
}

/*
 * PUT the Settings read (changed only in ResourceRecordSets) with the hash
 * they were read with.  A 409 sets *busy.  Status.
 */
static int
write_set(struct sakura *sk, const char *id, const char *apex, json_t *settings,
    const char *hash, int *busy)
{
	struct http_request r = { .method = "PUT" };
	char path[64], what[NAME_BUF + 32];
	int rc, st;

	*busy = 0;
	snprintf(path, sizeof(path), "/commonserviceitem/%s", id);
	snprintf(what, sizeof(what), "writing zone %s", apex);
	/*
	 * The hash goes both where saklient puts it and where iaas-api-go
	 * does; harmless if, as is likely, the server ignores it.
	 */
	if (http_url(r.url, sizeof(r.url), sk->url, path, NULL) == -1 ||
	    (r.body = hash[0] != '\0' ?
	    json_pack("{s:{s:O, s:s}, s:s}", "CommonServiceItem", "Settings", settings,
	    "SettingsHash", hash, "OriginalSettingsHash", hash) :
	    json_pack("{s:{s:O}}", "CommonServiceItem", "Settings", settings)) == NULL)
		return ST_FAIL;
	if ((rc = http_perform(sk->http, &r, 1)) != ST_OK)
		goto out;
	switch (check(sk, &r, what, &st)) {
	case SK_OK:
		rc = ST_OK;
		break;
	case SK_BUSY:
		*busy = 1;
		rc = ST_OK;
		break;
	case SK_FAILED:
		rc = st;
		break;
	}
out:
	json_decref(r.body);
	http_request_clear(&r);
	return rc;
}

/*
 * rmw write(): the Settings last read, with ResourceRecordSets made from
 * after — each record that was read sent back as it came (every field),
 * a new one as {Name, Type, RData, TTL} — with the hash of before.
 */
static int
wr(void *priv, const struct zone *z, const struct rr_list *before, const struct rr_list *after)
{
	struct sakura *sk = priv;
	json_t *settings = NULL, *set = NULL, *rec, *old = records_of(sk->settings);
	const char *id = NULL, *name, *type, *rdata;
	char rel[NAME_BUF], abs[NAME_BUF];
	size_t i, j;
	int rc = ST_FAIL, busy, ttl;

	if ((rc = zone_item(sk, z->apex, &id)) != ST_OK)
		return rc;
	rc = ST_FAIL;
	if ((settings = json_deep_copy(sk->settings)) == NULL || (set = json_array()) == NULL)
		goto out;
	for (i = 0; i < after->n; i++) {
		const struct rr *rr = &after->rr[i];

		rec = NULL;
		json_array_foreach(old, j, rec) {
			if (record_fields(rec, &name, &type, &rdata, &ttl) == 0 &&
			    absolute(name, z->apex, abs) == 0 && strcasecmp(abs, rr->name) == 0 &&
			    strcasecmp(type, rr->type) == 0 && strcmp(rdata, rr->rdata) == 0)
				break;
			rec = NULL;
		}
		relative(rr->name, z->apex, rel);
		if (rec != NULL)
			rec = json_deep_copy(rec);
		else if (rr->ttl > 0)
			rec = json_pack("{s:s, s:s, s:s, s:i}", "Name", rel, "Type", rr->type,
			    "RData", rr->rdata, "TTL", rr->ttl);
		else
			rec = json_pack("{s:s, s:s, s:s}", "Name", rel, "Type", rr->type, "RData",
			    rr->rdata);
		if (json_array_append_new(set, rec) == -1)
			goto out;
	}
	if (json_object_set_new(json_object_get(settings, "DNS"), "ResourceRecordSets",
	    set) == -1) {
		set = NULL;
		goto out;
	}
	set = NULL;
	if ((rc = write_set(sk, id, z->apex, settings, before->version, &busy)) == ST_OK && busy)
		rc = RMW_BUSY;
out:
	json_decref(set);
	json_decref(settings);
	return rc;
}

/* rmw busy_why(): the last 409 as check() saw it. */
static const char *
busy_why(void *priv)
{
	return ((struct sakura *)priv)->busy;
}

/*
 * The read-modify-write of core/rmw.h.  Its rounds for a busy zone (409)
 * or a lost race: a pause from SAKURA_BUSY_FIRST_S doubling up to
 * SAKURA_BUSY_MAX_S (each random between half and all of that) — the scale
 * of Sakura's own client for 423 and 503 (sacloud/go-http: 1 s to 64 s),
 * since a 409 is Sakura's general "not in the current state of the
 * resource" (iaas-api-go error.go) and may last tens of seconds — at most
 * SAKURA_MAX_ROUNDS rounds, within the run's timeout.  TXT values are
 * written as they are: the API stores RData verbatim.
 */
static const struct rmw_ops sakura_rmw = {
	.label = "Sakura Cloud",
	.quote_txt = 0,
	.read = rd,
	.write = wr,
	.busy_why = busy_why,
};

/*
 * Refuse, before anything is sent, a record Name the API does not take:
 * longer than SAKURA_NAME_MAX relative to the zone.  Status.
 */
static int
names_fit(const struct zone *z, const struct record *recs, size_t n)
{
	char rel[NAME_BUF];
	size_t i;

	for (i = 0; i < n; i++) {
		relative(recs[i].name, z->apex, rel);
		if (strlen(rel) <= SAKURA_NAME_MAX)
			continue;
		log_err("%s: in zone %s at Sakura Cloud its record name would be \"%s\", %zu "
		    "characters: Sakura Cloud takes at most %d (its own CLI checks so, and the "
		    "API is believed to refuse longer ones); nothing was sent.  Point a CNAME "
		    "from the name to a shorter one in the zone, or use a zone closer to it",
		    recs[i].name, z->apex, rel, strlen(rel), SAKURA_NAME_MAX);
		return ST_PROVIDER;
	}
	return ST_OK;
}

/* Add, delete or confirm recs in zone z (the zone lookup outside the lock). */
static int
change(struct sakura *sk, const struct zone *z, struct record *recs, size_t n, int ttl,
    enum rmw_op op)
{
	const char *id = NULL;
	int rc;

	if (op != RMW_DEL && (rc = names_fit(z, recs, n)) != ST_OK)
		return rc;
	if ((rc = zone_item(sk, z->apex, &id)) != ST_OK)
		return rc;
	rc = rmw_change(&sk->rmw, z, recs, n, ttl, op);
	json_decref(sk->settings);
	sk->settings = NULL;
	return rc;
}

static int
sakura_add(void *priv, const struct zone *z, struct record *r, size_t n, int ttl)
{
	return change(priv, z, r, n, ttl, RMW_ADD);
}

static int
sakura_del(void *priv, const struct zone *z, struct record *r, size_t n)
{
	return change(priv, z, r, n, 0, RMW_DEL);
}

static int
sakura_confirm(void *priv, const struct zone *z, struct record *r, size_t n, int ttl)
{
	return change(priv, z, r, n, ttl, RMW_CONFIRM);
}

/* Verify: the zone lookup and the zone read that every change starts with. */
static int
sakura_verify(void *priv, const struct zone *z, char *what, size_t whatlen)
{
	struct sakura *sk = priv;
	char hash[128];
	const char *id = NULL;
	json_t *settings = NULL;
	int rc;

	if ((rc = zone_item(sk, z->apex, &id)) != ST_OK)
		return rc;
	if ((rc = read_item(sk, id, z->apex, &settings, hash, sizeof(hash), NULL)) != ST_OK)
		return rc;
	snprintf(what, whatlen, "Sakura Cloud accepts the API key of [provider %s] and reads "
	    "zone %s (item %s, %zu records)", sk->section, z->apex, id,
	    json_array_size(records_of(settings)));
	json_decref(settings);
	return ST_OK;
}

const struct provider_ops provider_sakuracloud = {
	.type = "sakuracloud",
	.description = "Sakura Cloud DNS appliance (API 1.1, access token + secret)",
	.keys = keys,
	.secret_keys = secret_keys,
	.env = env,
	.cred = cred,
	.default_ttl = SAKURA_DEFAULT_TTL,
	.min_ttl = SAKURA_MIN_TTL,
	.create = sakura_create,
	.add = sakura_add,
	.del = sakura_del,
	.verify = sakura_verify,
	.confirm = sakura_confirm,
	.destroy = sakura_destroy,
};
