/*
 * Unit tests for core/config.[ch]: config_parse_text, config_route,
 * config_load (files with modes, env-only mode, certbot credentials files),
 * config_check_private, config_read_file; and, since they guard what the
 * config holds, cli_load_config's empty -c, log_escape (core/log.c) and the
 * -v trace redaction of core/http.c (http_trace_header).
 *
 * Files live in a fresh mkdtemp() directory removed at the end.  Every test
 * starts from an environment without any DNS01_* / RFC2136_* variable.
 * config_load prints its errors to stderr; the tests that check what a
 * message says (and that it never holds a secret) capture stderr in a file.
 */
#include <setjmp.h>
#include <stddef.h>
#include <stdint.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "unit.h"

#include "../../core/cli.h"
#include "../../core/config.h"
#include "../../core/http.h"
#include "../../core/log.h"
#include "../../core/status.h"

/* A TSIG secret that must never show up in any message. */
#define SECRET		"c2VjcmV0LXNlY3JldC1kbnMwMS10ZXN0LXZhbHVl"
/* Its first characters: no message may show even a piece of it. */
#define SECRET_PIECE	"c2VjcmV0"
/* The same with base64 padding: a parser that splits at '=' cuts it there. */
#define SECRET_PAD	SECRET "=="
#define UTF8_BOM	"\xef\xbb\xbf"
#define NO_HANG_S	10	/* a test that would block forever on a FIFO dies instead */

/*
 * This program's free(): while watch_frees is set, count the freed blocks
 * that still hold SECRET (test_secrets_wiped).  glibc only, and not under
 * ASan (SANITIZE=1), which brings its own free().
 */
#if defined(__GLIBC__) && !defined(__SANITIZE_ADDRESS__)
#define CHECK_FREES	1
#include <malloc.h>

extern void __libc_free(void *);
static int watch_frees, secret_frees;

void
free(void *p)
{
	if (watch_frees && p != NULL &&
	    memmem(p, malloc_usable_size(p), SECRET, strlen(SECRET)) != NULL)
		secret_frees++;
	__libc_free(p);
}
#endif

static const char *const env_vars[] = {
	"DNS01_CONFIG", "DNS01_PROVIDER", "DNS01_TIMEOUT", "DNS01_TTL", "DNS01_RESOLVERS",
	"DNS01_STATE_DIR", "RFC2136_NAMESERVER", "RFC2136_NAMESERVER_FILE",
	"RFC2136_TSIG_KEY", "RFC2136_TSIG_KEY_FILE", "RFC2136_TSIG_SECRET",
	"RFC2136_TSIG_SECRET_FILE", "RFC2136_TSIG_ALGORITHM", "RFC2136_TSIG_ALGORITHM_FILE",
	"CLOUDFLARE_DNS_API_TOKEN", "CF_DNS_API_TOKEN", "CF_Zone_ID",
};

/* ------------------------------------------------------------------ helpers */

static int
clean_env(void **state)
{
	size_t i;
	char xdg[300];

	(void)state;
	for (i = 0; i < UNIT_NELEM(env_vars); i++)
		unsetenv(env_vars[i]);
	snprintf(xdg, sizeof(xdg), "%s/xdg-state", unit_tmpdir);
	setenv("XDG_STATE_HOME", xdg, 1);
	return 0;
}

/* Write a file in unit_tmpdir with exactly this mode; returns its path (static ring). */
static const char *
write_file(const char *name, const char *text, mode_t mode)
{
	static char paths[8][512];
	static unsigned next;
	char *path = paths[next++ % 8];
	FILE *f;

	snprintf(path, 512, "%s/%s", unit_tmpdir, name);
	unlink(path);
	f = fopen(path, "w");
	assert_non_null(f);
	assert_int_equal(fputs(text, f) >= 0, 1);
	assert_int_equal(fclose(f), 0);
	assert_int_equal(chmod(path, mode), 0);
	return path;
}

static struct config *
parse_ok(const char *text)
{
	struct config *cfg = NULL;
	int rc = config_parse_text(text, "test.conf", &cfg);

	assert_int_equal(rc, ST_OK);
	assert_non_null(cfg);
	return cfg;
}

static const struct provider_conf *
find_provider(const struct config *cfg, const char *name)
{
	size_t i;

	for (i = 0; i < cfg->nproviders; i++)
		if (strcmp(cfg->providers[i].name, name) == 0)
			return &cfg->providers[i];
	return NULL;
}

/* ------------------------------------------------------- config_parse_text */

static void
test_parse_full(void **state)
{
	static const char text[] =
	    "# dns01 test configuration\n"
	    "; another comment style\n"
	    "\n"
	    "[dns01]\n"
	    "timeout = 120          # two minutes\n"
	    "ttl=30\n"
	    "resolvers = 127.0.0.53 [::1]:53\n"
	    "state_dir = /var/tmp/dns01-state ; inline ; comment\n"
	    "\n"
	    "  [ provider ns ]  \n"
	    "type = rfc2136\n"
	    "zones = example.com, Example.NET.\n"
	    "server = 192.0.2.53:5353\n"
	    "tsig_key = \"dns01-key\"\n"
	    "tsig_algorithm = 'hmac-sha512'\n"
	    "tsig_secret = " SECRET "   # the secret\n"
	    "[provider other]\n"
	    "type=rfc2136\n";
	struct config *cfg = parse_ok(text);
	const struct provider_conf *pc;

	(void)state;
	assert_null(cfg->path);
	assert_int_equal(cfg->timeout, 120);
	assert_int_equal(cfg->ttl, 30);
	assert_int_equal(cfg->nresolvers, 2);
	assert_string_equal(cfg->resolvers[0], "127.0.0.53");
	assert_string_equal(cfg->resolvers[1], "[::1]:53");
	assert_non_null(cfg->state_dir);
	assert_string_equal(cfg->state_dir, "/var/tmp/dns01-state");
	assert_int_equal(cfg->nproviders, 2);

	pc = &cfg->providers[0];
	assert_string_equal(pc->name, "ns");
	assert_non_null(pc->type);
	assert_string_equal(pc->type, "rfc2136");
	assert_int_equal(pc->nzones, 2);
	assert_string_equal(pc->zones[0], "example.com");
	assert_string_equal(pc->zones[1], "example.net");
	assert_string_equal(provider_conf_get(pc, "server"), "192.0.2.53:5353");
	assert_string_equal(provider_conf_get(pc, "tsig_key"), "dns01-key");
	assert_string_equal(provider_conf_get(pc, "tsig_algorithm"), "hmac-sha512");
	assert_string_equal(provider_conf_get(pc, "tsig_secret"), SECRET);
	assert_null(provider_conf_get(pc, "type"));	/* generic keys are fields */
	assert_null(provider_conf_get(pc, "zones"));
	assert_null(provider_conf_get(pc, "nosuchkey"));
	assert_int_equal(pc->nkv, 4);
	assert_string_equal(pc->kv[0].key, "server");	/* file order */
	assert_string_equal(pc->kv[3].key, "tsig_secret");
	assert_non_null(pc->origin);
	assert_non_null(strstr(pc->origin, "test.conf:"));

	pc = &cfg->providers[1];
	assert_string_equal(pc->name, "other");
	assert_string_equal(pc->type, "rfc2136");
	assert_int_equal(pc->nzones, 0);
	assert_null(pc->zones);
	assert_int_equal(pc->nkv, 0);
	config_free(cfg);
}

/* A section header may carry an inline comment, like any other line. */
static void
test_parse_header_inline_comment(void **state)
{
	struct config *cfg = NULL;
	int rc;

	(void)state;
	rc = config_parse_text("[dns01]   # all optional\ntimeout = 60\n"
	    "[provider ns]\t; the name server\ntype = rfc2136\n", "hdr.conf", &cfg);
	assert_int_equal(rc, ST_OK);
	assert_int_equal(cfg->timeout, 60);
	assert_int_equal(cfg->nproviders, 1);
	assert_string_equal(cfg->providers[0].name, "ns");
	config_free(cfg);
}

/* The example configuration of design.md ("Configuration"), verbatim. */
static void
test_parse_design_example(void **state)
{
	static const char text[] =
	    "[dns01]                        # all optional\n"
	    "timeout = 300                  # seconds to wait for propagation\n"
	    "ttl = 10                       # TTL of created TXT records; default: the provider's lowest, at most 10 s\n"
	    "resolvers = 127.0.0.53 [::1]:53   # used only for discovery; default: /etc/resolv.conf\n"
	    "state_dir = /var/lib/dns01     # pending-challenge state; non-root default under $XDG_STATE_HOME\n"
	    "\n"
	    "[provider cf]                  # any name; one section per account / server\n"
	    "type = cloudflare\n"
	    "zones = example.com example.net   # which names this provider serves (longest suffix wins);\n"
	    "                                  # no `zones` = serves everything not claimed by another\n"
	    "api_token = ...                # or: email = ..., api_key = ... (global key)\n"
	    "api_url = https://api.cloudflare.com/client/v4   # override (tests, proxies)\n"
	    "ca_file = /path/ca.pem         # extra trust anchor for api_url (tests); TLS is always verified\n"
	    "\n"
	    "[provider sakura]\n"
	    "type = sakuracloud\n"
	    "access_token = ...\n"
	    "access_token_secret = ...\n"
	    "api_url = https://secure.sakura.ad.jp/cloud/zone/is1a/api/cloud/1.1\n"
	    "ca_file = ...\n"
	    "\n"
	    "[provider ns]\n"
	    "type = rfc2136\n"
	    "server = 192.0.2.53            # IP[:port] or [IPv6]:port; default: the zone's SOA MNAME\n"
	    "tsig_key = dns01-key\n"
	    "tsig_algorithm = hmac-sha256   # hmac-md5 hmac-sha1 hmac-sha224 hmac-sha256 hmac-sha512\n"
	    "tsig_secret = base64...\n"
	    "\n";
	struct config *cfg = NULL;
	const struct provider_conf *cf, *ns;

	(void)state;
	assert_int_equal(config_parse_text(text, "design.md", &cfg), ST_OK);
	assert_int_equal(cfg->timeout, 300);
	assert_int_equal(cfg->ttl, 10);
	assert_int_equal(cfg->nresolvers, 2);
	assert_string_equal(cfg->resolvers[1], "[::1]:53");
	assert_string_equal(cfg->state_dir, "/var/lib/dns01");
	assert_int_equal(cfg->nproviders, 3);
	cf = find_provider(cfg, "cf");
	assert_non_null(cf);
	assert_string_equal(cf->type, "cloudflare");
	assert_int_equal(cf->nzones, 2);
	assert_string_equal(cf->zones[1], "example.net");
	assert_string_equal(provider_conf_get(cf, "api_token"), "...");
	assert_string_equal(provider_conf_get(cf, "api_url"),
	    "https://api.cloudflare.com/client/v4");
	ns = find_provider(cfg, "ns");
	assert_non_null(ns);
	assert_string_equal(provider_conf_get(ns, "server"), "192.0.2.53");
	assert_string_equal(provider_conf_get(ns, "tsig_algorithm"), "hmac-sha256");
	assert_string_equal(provider_conf_get(ns, "tsig_secret"), "base64...");
	assert_ptr_equal(config_route(cfg, "_acme-challenge.www.example.net"), cf);
	config_free(cfg);
}

static void
test_parse_defaults(void **state)
{
	struct config *cfg = parse_ok("");

	(void)state;
	assert_int_equal(cfg->timeout, CONFIG_DEFAULT_TIMEOUT);
	assert_int_equal(cfg->ttl, -1);
	assert_int_equal(cfg->nresolvers, 0);
	assert_null(cfg->state_dir);
	assert_int_equal(cfg->nproviders, 0);
	config_free(cfg);

	cfg = parse_ok("# only a comment\n\n[dns01]\n");
	assert_int_equal(cfg->timeout, CONFIG_DEFAULT_TIMEOUT);
	assert_int_equal(cfg->ttl, -1);
	config_free(cfg);
}

static void
test_parse_comments_quotes(void **state)
{
	static const char text[] =
	    "[provider p]\r\n"
	    "type = rfc2136\r\n"				/* CRLF endings */
	    "server = 192.0.2.1\t# tab then comment\n"
	    "tsig_key = key#1\n"				/* '#' glued: part of the value */
	    "tsig_secret = \"quoted value\"  # comment after quotes\n"
	    "tsig_algorithm = 'single'\n"
	    "e = \"a #b\"\n"				/* '#' inside quotes is kept */
	    "b = \"\"\n"
	    "c =\n"
	    "d = x;y\n";
	struct config *cfg = parse_ok(text);
	const struct provider_conf *pc = &cfg->providers[0];

	(void)state;
	assert_string_equal(pc->type, "rfc2136");
	assert_string_equal(provider_conf_get(pc, "server"), "192.0.2.1");
	assert_string_equal(provider_conf_get(pc, "tsig_key"), "key#1");
	assert_string_equal(provider_conf_get(pc, "tsig_secret"), "quoted value");
	assert_string_equal(provider_conf_get(pc, "tsig_algorithm"), "single");
	assert_string_equal(provider_conf_get(pc, "e"), "a #b");
	assert_string_equal(provider_conf_get(pc, "b"), "");
	assert_string_equal(provider_conf_get(pc, "c"), "");
	assert_string_equal(provider_conf_get(pc, "d"), "x;y");
	config_free(cfg);
	/* Unbalanced quotes are an error, not part of the value. */
	cfg = NULL;
	assert_int_equal(config_parse_text("[provider p]\ntype = rfc2136\na = \"mismatched'\n",
	    "test.conf", &cfg), ST_CONFIG);
	assert_null(cfg);
}

static void
test_parse_repeated_keys(void **state)
{
	static const char text[] =
	    "[dns01]\ntimeout = 10\ntimeout = 20\nstate_dir = /a\nstate_dir = /b\n"
	    "[provider p]\ntype = x\ntype = rfc2136\nserver = 192.0.2.1\nserver = 192.0.2.2\n"
	    "zones = a.example\nzones = b.example\n";
	struct config *cfg = parse_ok(text);
	const struct provider_conf *pc = &cfg->providers[0];

	(void)state;
	assert_int_equal(cfg->timeout, 20);
	assert_string_equal(cfg->state_dir, "/b");
	assert_string_equal(pc->type, "rfc2136");
	assert_int_equal(pc->nkv, 1);
	assert_string_equal(provider_conf_get(pc, "server"), "192.0.2.2");
	/* zones lines add up */
	assert_int_equal(pc->nzones, 2);
	assert_string_equal(pc->zones[0], "a.example");
	assert_string_equal(pc->zones[1], "b.example");
	config_free(cfg);
}

struct bad_text {
	const char *desc;
	const char *text;
	const char *why;	/* the error message mentions this */
};

static const struct bad_text bad_texts[] = {
	{ "unknown section", "[dns02]\n", "unknown section" },
	{ "unknown section after good one", "[dns01]\ntimeout = 5\n[global]\n",
	  "bad.conf:3: unknown section" },
	{ "section glued to provider", "[providerfoo]\ntype = rfc2136\n", "unknown section" },
	{ "provider without name", "[provider]\n", "[provider" },
	{ "provider with blank name", "[provider   ]\n", "[provider" },
	{ "provider with two words", "[provider a b]\ntype = rfc2136\n", "one-word name" },
	{ "malformed header", "[dns01\ntimeout = 5\n", "malformed section header" },
	{ "text after header", "[dns01] x\n", "malformed section header" },
	/* an unknown word is not shown: it may be a secret (test_typos_never_show_secrets) */
	{ "unknown key in [dns01]", "[dns01]\ntimeot = 5\n",
	  "bad.conf:2: [dns01]: unknown key (it takes timeout, ttl, resolvers, state_dir, "
	  "syslog, syslog_facility)" },
	{ "provider key in [dns01]", "[dns01]\ntsig_secret = " SECRET "\n",
	  "unknown key 'tsig_secret'" },
	{ "key outside a section", "timeout = 5\n", "outside a section" },
	{ "line without =", "[dns01]\ntimeout 5\n", "bad.conf:2: expected 'timeout = value'" },
	{ "secret pasted without key", "[provider p]\n" SECRET "\n", "key = value" },
	{ "missing key", "[provider p]\n = value\n", "missing key" },
	{ "relative state_dir", "[dns01]\nstate_dir = var/lib/dns01\n", "absolute" },
	{ "empty state_dir", "[dns01]\nstate_dir =\n", "absolute" },
	{ "bad zone", "[provider p]\ntype = rfc2136\nzones = example..com\n", "zones" },
	{ "wildcard zone", "[provider p]\ntype = rfc2136\nzones = *.example.com\n", "zones" },
	{ "non-ASCII zone", "[provider p]\nzones = b\xc3\xbc" "cher.example\n", "zones" },
	{ "duplicate provider", "[provider a]\ntype = rfc2136\n[provider a]\ntype = rfc2136\n",
	  "[provider a] appears twice" },
	{ "duplicate provider, others between",
	  "[provider a]\ntype=rfc2136\n[provider b]\ntype=rfc2136\n[dns01]\n[provider a]\n",
	  "[provider a] appears twice" },
};

/* Expect ST_CONFIG with a message that mentions why and never (a piece of) the secret. */
static int
expect_config_error(const char *desc, int rc, struct config *cfg, const char *err,
    const char *why)
{
	int bad = 0;

	if (rc != ST_CONFIG) {
		print_error("case '%s': rc %d, want %d\n", desc, rc, ST_CONFIG);
		bad = 1;
		if (rc == ST_OK)
			config_free(cfg);
	} else if (why != NULL && strstr(err, why) == NULL) {
		print_error("case '%s': message does not mention \"%s\"\n", desc, why);
		bad = 1;
	}
	if (strstr(err, SECRET_PIECE) != NULL) {
		print_error("case '%s': the secret is in the message\n", desc);
		bad = 1;
	}
	return bad;
}

/* config_load(path) with stderr captured: *rc, *cfg and what it printed. */
static const char *
load_captured(const char *path, int *rc, struct config **cfg)
{
	*cfg = NULL;
	unit_cap_begin();
	*rc = config_load(path, cfg);
	return unit_cap_end();
}

/* config_load each case from a file; the number of cases that went wrong. */
static int
load_bad_texts(const struct bad_text *cases, size_t n)
{
	struct config *cfg;
	const char *err;
	size_t i;
	int rc, failures = 0;

	for (i = 0; i < n; i++) {
		err = load_captured(write_file("bad.conf", cases[i].text, 0600), &rc, &cfg);
		failures += expect_config_error(cases[i].desc, rc, cfg, err, cases[i].why);
	}
	return failures;
}

static void
test_parse_bad_structure(void **state)
{
	size_t i;
	int failures = 0;

	(void)state;
	for (i = 0; i < UNIT_NELEM(bad_texts); i++) {
		struct config *cfg = NULL;
		const char *err;
		int rc;

		unit_cap_begin();
		rc = config_parse_text(bad_texts[i].text, "bad.conf", &cfg);
		err = unit_cap_end();
		failures += expect_config_error(bad_texts[i].desc, rc, cfg, err, bad_texts[i].why);
	}
	assert_int_equal(failures, 0);
}

struct num_case {
	const char *key;
	const char *value;
	int ok;
	long want;
};

static const struct num_case num_cases[] = {
	{ "timeout", "1", 1, 1 },
	{ "timeout", "86400", 1, 86400 },
	{ "timeout", "600 # ten minutes", 1, 600 },
	{ "timeout", "0", 0, 0 },
	{ "timeout", "-1", 0, 0 },
	{ "timeout", "86401", 0, 0 },
	{ "timeout", "abc", 0, 0 },
	{ "timeout", "10s", 0, 0 },
	{ "timeout", "1e3", 0, 0 },
	{ "timeout", "", 0, 0 },
	{ "timeout", "+5", 0, 0 },
	{ "timeout", "99999999999999999999999", 0, 0 },
	{ "ttl", "1", 1, 1 },
	{ "ttl", "10", 1, 10 },
	{ "ttl", "86400", 1, 86400 },
	{ "ttl", "0", 0, 0 },
	{ "ttl", "-10", 0, 0 },
	{ "ttl", "86401", 0, 0 },
	{ "ttl", "ten", 0, 0 },
	{ "ttl", "5.5", 0, 0 },
	{ "ttl", "", 0, 0 },
};

static void
test_parse_timeout_ttl(void **state)
{
	size_t i;
	int failures = 0;

	(void)state;
	for (i = 0; i < UNIT_NELEM(num_cases); i++) {
		const struct num_case *c = &num_cases[i];
		char text[256];
		struct config *cfg = NULL;
		int rc;

		snprintf(text, sizeof(text), "[dns01]\n%s = %s\n", c->key, c->value);
		rc = config_parse_text(text, "num.conf", &cfg);
		if (c->ok) {
			long got;

			if (rc != ST_OK) {
				print_error("%s = '%s': rc %d, want OK\n", c->key, c->value, rc);
				failures++;
				continue;
			}
			got = strcmp(c->key, "ttl") == 0 ? (long)cfg->ttl : (long)cfg->timeout;
			if (got != c->want) {
				print_error("%s = '%s': got %ld want %ld\n", c->key, c->value, got,
				    c->want);
				failures++;
			}
			config_free(cfg);
		} else if (rc != ST_CONFIG) {
			print_error("%s = '%s': rc %d, want %d\n", c->key, c->value, rc, ST_CONFIG);
			failures++;
			if (rc == ST_OK)
				config_free(cfg);
		}
	}
	assert_int_equal(failures, 0);
}

static void
test_parse_zones_list(void **state)
{
	struct config *cfg = parse_ok(
	    "[provider p]\ntype = rfc2136\n"
	    "zones = a.example,b.example , C.Example.\t d.example,,  e.example  # five\n");
	const struct provider_conf *pc = &cfg->providers[0];
	static const char *const want[] = { "a.example", "b.example", "c.example", "d.example",
		"e.example" };
	size_t i;

	(void)state;
	assert_int_equal(pc->nzones, UNIT_NELEM(want));
	for (i = 0; i < UNIT_NELEM(want); i++)
		assert_string_equal(pc->zones[i], want[i]);
	config_free(cfg);

	/* an empty list is no zones (a catch-all) */
	cfg = parse_ok("[provider p]\ntype = rfc2136\nzones = , \n");
	assert_int_equal(cfg->providers[0].nzones, 0);
	config_free(cfg);
}

static void
test_parse_resolvers(void **state)
{
	struct config *cfg = parse_ok(
	    "[dns01]\nresolvers = 127.0.0.53 [::1]:53, 192.0.2.1:5353,2001:db8::1\t[2001:db8::2]\n");
	static const char *const want[] = { "127.0.0.53", "[::1]:53", "192.0.2.1:5353",
		"2001:db8::1", "[2001:db8::2]" };
	size_t i;

	(void)state;
	assert_int_equal(cfg->nresolvers, UNIT_NELEM(want));
	for (i = 0; i < UNIT_NELEM(want); i++)
		assert_string_equal(cfg->resolvers[i], want[i]);
	config_free(cfg);
}

static void
test_parse_resolvers_garbage(void **state)
{
	static const char *const bad[] = {
		"localhost",			/* names are not addresses */
		"resolver.example.net",
		"127.0.0.53 garbage",
		"1.2.3",
		"256.1.1.1",
		"1.2.3.4:",
		"1.2.3.4:0",
		"1.2.3.4:65536",
		"1.2.3.4:53x",
		"[::1",
		"[::1]53",
		"[::1]:",
		"[]:53",
		"[1.2.3.4.5]:53",
		"::g",
		"1.1.1.1 2.2.2.2 3.3.3.3 4.4.4.4 5.5.5.5 6.6.6.6 7.7.7.7 8.8.8.8 9.9.9.9",
	};
	size_t i;
	int failures = 0;

	(void)state;
	for (i = 0; i < UNIT_NELEM(bad); i++) {
		char text[512];
		struct config *cfg = NULL;
		int rc;

		snprintf(text, sizeof(text), "[dns01]\nresolvers = %s\n", bad[i]);
		rc = config_parse_text(text, "res.conf", &cfg);
		if (rc != ST_CONFIG) {
			print_error("resolvers = '%s': rc %d, want %d\n", bad[i], rc, ST_CONFIG);
			failures++;
			if (rc == ST_OK)
				config_free(cfg);
		}
	}
	assert_int_equal(failures, 0);
}

/*
 * A second `resolvers =` replaces the first list.  (Under SANITIZE=1 this
 * also checks that the replaced strings are freed: LeakSanitizer reports
 * them otherwise.)
 */
static void
test_parse_resolvers_twice(void **state)
{
	struct config *cfg = parse_ok(
	    "[dns01]\nresolvers = 192.0.2.1 192.0.2.2\nresolvers = [::1]:53\n");

	(void)state;
	assert_int_equal(cfg->nresolvers, 1);
	assert_string_equal(cfg->resolvers[0], "[::1]:53");
	config_free(cfg);
}

static void
test_parse_limits(void **state)
{
	char *text, *p, *end;
	struct config *cfg = NULL;
	size_t i;

	(void)state;
	/* CONFIG_MAX_KEYS keys fit, one more does not */
	end = (text = malloc(64 * (CONFIG_MAX_KEYS + 4))) + 64 * (CONFIG_MAX_KEYS + 4);
	assert_non_null(text);
	p = unit_append(text, end, "[provider p]\n");
	for (i = 0; i < CONFIG_MAX_KEYS; i++)
		p = unit_append(p, end, "k%zu = v\n", i);
	cfg = parse_ok(text);
	assert_int_equal(cfg->providers[0].nkv, CONFIG_MAX_KEYS);
	config_free(cfg);
	cfg = NULL;
	unit_append(p, end, "one_more = v\n");
	assert_int_equal(config_parse_text(text, "t", &cfg), ST_CONFIG);
	free(text);

	/* a line of CONFIG_MAX_LINE octets or more is refused */
	end = (text = malloc(CONFIG_MAX_LINE + 64)) + CONFIG_MAX_LINE + 64;
	assert_non_null(text);
	p = unit_append(text, end, "[provider p]\nk = ");
	memset(p, 'x', CONFIG_MAX_LINE);
	p[CONFIG_MAX_LINE] = '\0';
	cfg = NULL;
	assert_int_equal(config_parse_text(text, "t", &cfg), ST_CONFIG);
	free(text);
}

/* ------------------------------------------------------------ config_route */

static void
test_route_longest_suffix(void **state)
{
	/* the shorter zone comes first so file order cannot be what wins */
	struct config *cfg = parse_ok(
	    "[provider outer]\ntype = rfc2136\nzones = example.com other.org\n"
	    "[provider inner]\ntype = rfc2136\nzones = sub.example.com\n"
	    "[provider deep]\ntype = rfc2136\nzones = x.sub.example.com\n");
	const struct provider_conf *outer = find_provider(cfg, "outer");
	const struct provider_conf *inner = find_provider(cfg, "inner");
	const struct provider_conf *deep = find_provider(cfg, "deep");

	(void)state;
	assert_ptr_equal(config_route(cfg, "example.com"), outer);
	assert_ptr_equal(config_route(cfg, "_acme-challenge.example.com"), outer);
	assert_ptr_equal(config_route(cfg, "www.other.org"), outer);
	assert_ptr_equal(config_route(cfg, "sub.example.com"), inner);
	assert_ptr_equal(config_route(cfg, "_acme-challenge.a.sub.example.com"), inner);
	assert_ptr_equal(config_route(cfg, "x.sub.example.com"), deep);
	assert_ptr_equal(config_route(cfg, "_acme-challenge.x.sub.example.com"), deep);
	/* no catch-all: unclaimed names have no provider */
	assert_null(config_route(cfg, "example.net"));
	assert_null(config_route(cfg, "com"));
	config_free(cfg);

	/* same zones, reverse order: same answers */
	cfg = parse_ok(
	    "[provider deep]\ntype = rfc2136\nzones = x.sub.example.com\n"
	    "[provider inner]\ntype = rfc2136\nzones = sub.example.com\n"
	    "[provider outer]\ntype = rfc2136\nzones = other.org, example.com\n");
	assert_ptr_equal(config_route(cfg, "www.example.com"), find_provider(cfg, "outer"));
	assert_ptr_equal(config_route(cfg, "a.sub.example.com"), find_provider(cfg, "inner"));
	assert_ptr_equal(config_route(cfg, "a.x.sub.example.com"), find_provider(cfg, "deep"));
	config_free(cfg);
}

static void
test_route_catchall(void **state)
{
	struct config *cfg = parse_ok(
	    "[provider rest]\ntype = rfc2136\n"
	    "[provider ex]\ntype = rfc2136\nzones = example.com\n");
	const struct provider_conf *rest = find_provider(cfg, "rest");
	const struct provider_conf *ex = find_provider(cfg, "ex");

	(void)state;
	assert_ptr_equal(config_route(cfg, "www.example.com"), ex);
	assert_ptr_equal(config_route(cfg, "example.org"), rest);
	assert_ptr_equal(config_route(cfg, "_acme-challenge.example.net"), rest);
	assert_ptr_equal(config_route(cfg, "com"), rest);
	config_free(cfg);
}

static void
test_route_label_boundary(void **state)
{
	struct config *cfg = parse_ok(
	    "[provider rest]\ntype = rfc2136\n"
	    "[provider ex]\ntype = rfc2136\nzones = example.com\n"
	    "[provider sub]\ntype = rfc2136\nzones = sub.example.com\n");
	const struct provider_conf *rest = find_provider(cfg, "rest");
	const struct provider_conf *ex = find_provider(cfg, "ex");

	(void)state;
	/* string suffixes that are not label suffixes */
	assert_ptr_equal(config_route(cfg, "badexample.com"), rest);
	assert_ptr_equal(config_route(cfg, "_acme-challenge.badexample.com"), rest);
	assert_ptr_equal(config_route(cfg, "notsub.example.com"), ex);
	assert_ptr_equal(config_route(cfg, "_acme-challenge.notsub.example.com"), ex);
	assert_ptr_equal(config_route(cfg, "example.com.evil.net"), rest);
	config_free(cfg);

	/* and without a catch-all they go nowhere */
	cfg = parse_ok("[provider ex]\ntype = rfc2136\nzones = example.com\n");
	assert_null(config_route(cfg, "badexample.com"));
	assert_non_null(config_route(cfg, "a.example.com"));
	config_free(cfg);
}

/* ----------------------------------------------------- config_load: files */

#define RFC2136_SECTION(name) \
	"[provider " name "]\ntype = rfc2136\nserver = 192.0.2.53\ntsig_key = dns01-key\n" \
	"tsig_algorithm = hmac-sha256\n"

static void
test_load_0644_with_secret(void **state)
{
	const char *path = write_file("world.conf",
	    RFC2136_SECTION("ns") "tsig_secret = " SECRET "\n", 0644);
	struct config *cfg = NULL;
	const char *err;
	int rc;

	(void)state;
	unit_cap_begin();
	rc = config_load(path, &cfg);
	err = unit_cap_end();
	assert_int_equal(rc, ST_CONFIG);
	assert_non_null(strstr(err, "chmod 600"));
	assert_non_null(strstr(err, path));
	assert_null(strstr(err, SECRET));
}

static void
test_load_0640_with_secret(void **state)
{
	const char *path = write_file("group.conf",
	    RFC2136_SECTION("ns") "tsig_secret = " SECRET "\n", 0640);
	struct config *cfg = NULL;

	(void)state;
	assert_int_equal(config_load(path, &cfg), ST_CONFIG);
}

static void
test_load_0600(void **state)
{
	const char *path = write_file("private.conf",
	    "[dns01]\ntimeout = 42\n"
	    RFC2136_SECTION("ns") "tsig_secret = " SECRET "\nzones = example.com\n", 0600);
	struct config *cfg = NULL;
	const struct provider_conf *pc;

	(void)state;
	assert_int_equal(config_load(path, &cfg), ST_OK);
	assert_non_null(cfg);
	assert_non_null(cfg->path);
	assert_string_equal(cfg->path, path);
	assert_int_equal(cfg->timeout, 42);
	assert_int_equal(cfg->nproviders, 1);
	pc = &cfg->providers[0];
	assert_string_equal(pc->name, "ns");
	assert_string_equal(pc->type, "rfc2136");
	assert_string_equal(provider_conf_get(pc, "tsig_secret"), SECRET);
	assert_string_equal(provider_conf_get(pc, "server"), "192.0.2.53");
	assert_int_equal(pc->nzones, 1);
	/* a default state_dir is filled in */
	assert_non_null(cfg->state_dir);
	if (geteuid() == 0)
		assert_string_equal(cfg->state_dir, CONFIG_STATE_DIR_ROOT);
	else {
		char want[400];

		snprintf(want, sizeof(want), "%s/dns01", getenv("XDG_STATE_HOME"));
		assert_string_equal(cfg->state_dir, want);
	}
	config_free(cfg);
}

static void
test_load_0644_without_secret(void **state)
{
	/* no secret in the file: readable by others is fine */
	const char *path = write_file("public.conf",
	    "[provider ns]\ntype = rfc2136\nserver = 192.0.2.53\n", 0644);
	struct config *cfg = NULL;

	(void)state;
	assert_int_equal(config_load(path, &cfg), ST_OK);
	assert_int_equal(cfg->nproviders, 1);
	config_free(cfg);
}

static void
test_load_state_dir_kept(void **state)
{
	const char *path = write_file("sd.conf",
	    "[dns01]\nstate_dir = /srv/dns01-state\n[provider ns]\ntype = rfc2136\n", 0600);
	struct config *cfg = NULL;

	(void)state;
	assert_int_equal(config_load(path, &cfg), ST_OK);
	assert_string_equal(cfg->state_dir, "/srv/dns01-state");
	config_free(cfg);
}

static void
test_load_bad_files(void **state)
{
	static const struct bad_text cases[] = {
		{ "unknown provider type", "[provider x]\ntype = nosuchprovider\n",
		  "unknown provider type (see: dns01 providers)" },
		{ "unknown key for type", "[provider x]\ntype = rfc2136\napi_token = abc\n",
		  "unknown key 'api_token'" },
		{ "unknown key, secret-looking",
		  "[provider x]\ntype = rfc2136\ntsig_secrt = " SECRET "\n",
		  "bad.conf:3: [provider x] (type rfc2136): unknown key (it takes server," },
		{ "no type", "[provider x]\nserver = 192.0.2.1\n", "no 'type ='" },
		{ "no provider section", "[dns01]\ntimeout = 10\n", "no [provider NAME]" },
		{ "empty file", "", "no [provider NAME]" },
		{ "two providers without zones",
		  "[provider a]\ntype = rfc2136\n[provider b]\ntype = rfc2136\n",
		  "more than one provider without 'zones ='" },
		{ "syntax error", "[dns01\n", "malformed section header" },
		{ "unknown key in [dns01]", "[dns01]\nverbose = 1\n[provider a]\ntype = rfc2136\n",
		  "bad.conf:2: [dns01]: unknown key (it takes" },
	};

	(void)state;
	assert_int_equal(load_bad_texts(cases, UNIT_NELEM(cases)), 0);
}

static void
test_load_missing_file(void **state)
{
	char path[400];
	struct config *cfg = NULL;

	(void)state;
	snprintf(path, sizeof(path), "%s/does-not-exist.conf", unit_tmpdir);
	assert_int_equal(config_load(path, &cfg), ST_CONFIG);
	/* an explicit -c wins over env mode */
	setenv("DNS01_PROVIDER", "rfc2136", 1);
	assert_int_equal(config_load(path, &cfg), ST_CONFIG);
}

static void
test_load_dns01_config_env(void **state)
{
	const char *path = write_file("env.conf",
	    "[dns01]\ntimeout = 77\n[provider fromenv]\ntype = rfc2136\n", 0600);
	struct config *cfg = NULL;

	(void)state;
	setenv("DNS01_CONFIG", path, 1);
	assert_int_equal(config_load(NULL, &cfg), ST_OK);
	assert_string_equal(cfg->path, path);
	assert_int_equal(cfg->timeout, 77);
	assert_string_equal(cfg->providers[0].name, "fromenv");
	config_free(cfg);
}

/* ------------------------------------------------------ config_load: env */

/* Env-only mode needs the default file to be absent; skip when it is there. */
static int
env_setup(void **state)
{
	return clean_env(state);
}

#define NEED_NO_DEFAULT_FILE() do {					\
	if (access(CONFIG_DEFAULT_PATH, F_OK) == 0) {			\
		print_message("%s exists: env-only test skipped\n",	\
		    CONFIG_DEFAULT_PATH);				\
		skip();							\
	}								\
} while (0)

static void
test_env_rfc2136(void **state)
{
	struct config *cfg = NULL;
	const struct provider_conf *pc;

	(void)state;
	NEED_NO_DEFAULT_FILE();
	setenv("DNS01_PROVIDER", "rfc2136", 1);
	setenv("RFC2136_NAMESERVER", "192.0.2.53:53", 1);
	setenv("RFC2136_TSIG_KEY", "dns01-key.", 1);
	setenv("RFC2136_TSIG_SECRET", SECRET, 1);
	setenv("RFC2136_TSIG_ALGORITHM", "hmac-sha512", 1);
	assert_int_equal(config_load(NULL, &cfg), ST_OK);
	assert_non_null(cfg);
	assert_null(cfg->path);
	assert_int_equal(cfg->timeout, CONFIG_DEFAULT_TIMEOUT);
	assert_int_equal(cfg->nproviders, 1);
	pc = &cfg->providers[0];
	assert_string_equal(pc->type, "rfc2136");
	assert_string_equal(pc->name, "rfc2136");
	assert_int_equal(pc->nzones, 0);
	assert_string_equal(provider_conf_get(pc, "server"), "192.0.2.53:53");
	assert_string_equal(provider_conf_get(pc, "tsig_key"), "dns01-key.");
	assert_string_equal(provider_conf_get(pc, "tsig_secret"), SECRET);
	assert_string_equal(provider_conf_get(pc, "tsig_algorithm"), "hmac-sha512");
	assert_non_null(cfg->state_dir);
	/* env mode routes everything to its one provider */
	assert_ptr_equal(config_route(cfg, "_acme-challenge.example.com"), pc);
	config_free(cfg);
}

static void
test_env_partial(void **state)
{
	struct config *cfg = NULL;
	const struct provider_conf *pc;

	(void)state;
	NEED_NO_DEFAULT_FILE();
	setenv("DNS01_PROVIDER", "rfc2136", 1);
	setenv("RFC2136_NAMESERVER", "", 1);	/* empty counts as unset */
	setenv("RFC2136_TSIG_KEY", "k", 1);
	assert_int_equal(config_load(NULL, &cfg), ST_OK);
	pc = &cfg->providers[0];
	assert_null(provider_conf_get(pc, "server"));
	assert_string_equal(provider_conf_get(pc, "tsig_key"), "k");
	assert_null(provider_conf_get(pc, "tsig_secret"));
	assert_null(provider_conf_get(pc, "tsig_algorithm"));
	config_free(cfg);
}

static void
test_env_secret_file_0600(void **state)
{
	const char *sf = write_file("secret-0600", "  " SECRET "\n\n", 0600);
	struct config *cfg = NULL;
	const struct provider_conf *pc;

	(void)state;
	NEED_NO_DEFAULT_FILE();
	setenv("DNS01_PROVIDER", "rfc2136", 1);
	setenv("RFC2136_NAMESERVER", "192.0.2.53", 1);
	setenv("RFC2136_TSIG_KEY", "dns01-key", 1);
	setenv("RFC2136_TSIG_SECRET_FILE", sf, 1);
	assert_int_equal(config_load(NULL, &cfg), ST_OK);
	pc = &cfg->providers[0];
	assert_string_equal(provider_conf_get(pc, "tsig_secret"), SECRET);	/* trimmed */
	assert_string_equal(provider_conf_get(pc, "tsig_key"), "dns01-key");
	config_free(cfg);
}

static void
test_env_secret_file_0644(void **state)
{
	const char *sf = write_file("secret-0644", SECRET "\n", 0644);
	struct config *cfg = NULL;
	const char *err;
	int rc;

	(void)state;
	NEED_NO_DEFAULT_FILE();
	setenv("DNS01_PROVIDER", "rfc2136", 1);
	setenv("RFC2136_TSIG_KEY", "dns01-key", 1);
	setenv("RFC2136_TSIG_SECRET_FILE", sf, 1);
	unit_cap_begin();
	rc = config_load(NULL, &cfg);
	err = unit_cap_end();
	assert_int_equal(rc, ST_CONFIG);
	assert_non_null(strstr(err, "chmod 600"));
	assert_null(strstr(err, SECRET));
}

static void
test_env_secret_file_missing(void **state)
{
	char sf[400];
	struct config *cfg = NULL;

	(void)state;
	NEED_NO_DEFAULT_FILE();
	snprintf(sf, sizeof(sf), "%s/no-such-secret", unit_tmpdir);
	setenv("DNS01_PROVIDER", "rfc2136", 1);
	setenv("RFC2136_TSIG_SECRET_FILE", sf, 1);
	assert_int_equal(config_load(NULL, &cfg), ST_CONFIG);
}

static void
test_env_var_beats_file(void **state)
{
	const char *sf = write_file("secret-other", "b3RoZXI=\n", 0600);
	struct config *cfg = NULL;

	(void)state;
	NEED_NO_DEFAULT_FILE();
	setenv("DNS01_PROVIDER", "rfc2136", 1);
	setenv("RFC2136_TSIG_KEY", "k", 1);
	setenv("RFC2136_TSIG_SECRET", SECRET, 1);
	setenv("RFC2136_TSIG_SECRET_FILE", sf, 1);
	assert_int_equal(config_load(NULL, &cfg), ST_OK);
	assert_string_equal(provider_conf_get(&cfg->providers[0], "tsig_secret"), SECRET);
	config_free(cfg);
}

/* Cloudflare in env mode: lego's token variable, acme.sh's CF_Zone_ID. */
static void
test_env_cloudflare(void **state)
{
	struct config *cfg = NULL;
	const struct provider_conf *pc;

	(void)state;
	NEED_NO_DEFAULT_FILE();
	setenv("DNS01_PROVIDER", "cloudflare", 1);
	setenv("CF_DNS_API_TOKEN", SECRET, 1);
	setenv("CF_Zone_ID", "0123456789abcdef0123456789abcdef", 1);
	assert_int_equal(config_load(NULL, &cfg), ST_OK);
	pc = &cfg->providers[0];
	assert_string_equal(pc->type, "cloudflare");
	assert_string_equal(provider_conf_get(pc, "api_token"), SECRET);
	assert_string_equal(provider_conf_get(pc, "zone_id"), "0123456789abcdef0123456789abcdef");
	config_free(cfg);
}

static void
test_env_globals(void **state)
{
	struct config *cfg = NULL;

	(void)state;
	NEED_NO_DEFAULT_FILE();
	setenv("DNS01_PROVIDER", "rfc2136", 1);
	setenv("DNS01_TIMEOUT", "60", 1);
	setenv("DNS01_TTL", "20", 1);
	setenv("DNS01_RESOLVERS", "[::1]:53 127.0.0.1", 1);
	setenv("DNS01_STATE_DIR", "/srv/state", 1);
	assert_int_equal(config_load(NULL, &cfg), ST_OK);
	assert_int_equal(cfg->timeout, 60);
	assert_int_equal(cfg->ttl, 20);
	assert_int_equal(cfg->nresolvers, 2);
	assert_string_equal(cfg->resolvers[0], "[::1]:53");
	assert_string_equal(cfg->resolvers[1], "127.0.0.1");
	assert_string_equal(cfg->state_dir, "/srv/state");
	config_free(cfg);
}

static void
test_env_bad(void **state)
{
	static const char *const bad[][2] = {
		{ "DNS01_TIMEOUT", "0" },
		{ "DNS01_TIMEOUT", "soon" },
		{ "DNS01_TTL", "0" },
		{ "DNS01_RESOLVERS", "not-an-address" },
		{ "DNS01_STATE_DIR", "relative/dir" },
	};
	size_t i;
	int failures = 0;

	(void)state;
	NEED_NO_DEFAULT_FILE();
	for (i = 0; i < UNIT_NELEM(bad); i++) {
		struct config *cfg = NULL;
		int rc;

		clean_env(NULL);
		setenv("DNS01_PROVIDER", "rfc2136", 1);
		setenv(bad[i][0], bad[i][1], 1);
		rc = config_load(NULL, &cfg);
		if (rc != ST_CONFIG) {
			print_error("%s=%s: rc %d, want %d\n", bad[i][0], bad[i][1], rc, ST_CONFIG);
			failures++;
			if (rc == ST_OK)
				config_free(cfg);
		}
	}
	assert_int_equal(failures, 0);
}

static void
test_env_no_provider(void **state)
{
	struct config *cfg = NULL;

	(void)state;
	NEED_NO_DEFAULT_FILE();
	/* nothing at all: no file, no DNS01_PROVIDER */
	assert_int_equal(config_load(NULL, &cfg), ST_CONFIG);
	/* empty DNS01_CONFIG counts as unset */
	setenv("DNS01_CONFIG", "", 1);
	assert_int_equal(config_load(NULL, &cfg), ST_CONFIG);
	setenv("DNS01_PROVIDER", "", 1);
	assert_int_equal(config_load(NULL, &cfg), ST_CONFIG);
	setenv("DNS01_PROVIDER", "nosuchprovider", 1);
	assert_int_equal(config_load(NULL, &cfg), ST_CONFIG);
	setenv("DNS01_PROVIDER", "RFC2136", 1);		/* types are lower case */
	assert_int_equal(config_load(NULL, &cfg), ST_CONFIG);
}

/* --------------------------------------------- config_load: credentials */

static void
test_credentials_fill(void **state)
{
	const char *cred = write_file("rfc2136.ini",
	    "# certbot dns-rfc2136 credentials\n"
	    "dns_rfc2136_server = 192.0.2.99\n"
	    "dns_rfc2136_port = 53\n"			/* certbot key dns01 has no use for */
	    "dns_rfc2136_name = certbot-key.\n"
	    "dns_rfc2136_secret = " SECRET "\n"
	    "dns_rfc2136_algorithm = HMAC-SHA512\n", 0600);
	char text[1024];
	const char *path;
	struct config *cfg = NULL;
	const struct provider_conf *pc;

	(void)state;
	/* no secret in the config itself: mode 0644 is fine */
	snprintf(text, sizeof(text),
	    "[provider ns]\ntype = rfc2136\nzones = example.com\ncredentials = %s\n", cred);
	path = write_file("cred.conf", text, 0644);
	assert_int_equal(config_load(path, &cfg), ST_OK);
	pc = &cfg->providers[0];
	assert_string_equal(provider_conf_get(pc, "server"), "192.0.2.99");
	assert_string_equal(provider_conf_get(pc, "tsig_key"), "certbot-key.");
	assert_string_equal(provider_conf_get(pc, "tsig_secret"), SECRET);
	assert_string_equal(provider_conf_get(pc, "tsig_algorithm"), "HMAC-SHA512");
	assert_null(provider_conf_get(pc, "dns_rfc2136_port"));
	assert_null(provider_conf_get(pc, "port"));
	assert_int_equal(pc->nzones, 1);
	config_free(cfg);
}

static void
test_credentials_section_wins(void **state)
{
	const char *cred = write_file("rfc2136-b.ini",
	    "dns_rfc2136_server = 192.0.2.99\n"
	    "dns_rfc2136_name = certbot-key\n"
	    "dns_rfc2136_secret = " SECRET "\n", 0600);
	char text[1024];
	const char *path;
	struct config *cfg = NULL;
	const struct provider_conf *pc;

	(void)state;
	snprintf(text, sizeof(text),
	    "[provider ns]\ntype = rfc2136\nserver = 198.51.100.1\ncredentials = %s\n", cred);
	path = write_file("cred-b.conf", text, 0600);
	assert_int_equal(config_load(path, &cfg), ST_OK);
	pc = &cfg->providers[0];
	assert_string_equal(provider_conf_get(pc, "server"), "198.51.100.1");
	assert_string_equal(provider_conf_get(pc, "tsig_key"), "certbot-key");
	assert_string_equal(provider_conf_get(pc, "tsig_secret"), SECRET);
	assert_null(provider_conf_get(pc, "tsig_algorithm"));
	config_free(cfg);
}

static void
test_credentials_not_private(void **state)
{
	const char *cred = write_file("rfc2136-open.ini",
	    "dns_rfc2136_name = k\ndns_rfc2136_secret = " SECRET "\n", 0644);
	char text[1024], missing[400];
	const char *path, *err;
	struct config *cfg = NULL;
	int rc;

	(void)state;
	snprintf(text, sizeof(text), "[provider ns]\ntype = rfc2136\ncredentials = %s\n", cred);
	path = write_file("cred-open.conf", text, 0600);
	unit_cap_begin();
	rc = config_load(path, &cfg);
	err = unit_cap_end();
	assert_int_equal(rc, ST_CONFIG);
	assert_non_null(strstr(err, "chmod 600"));
	assert_null(strstr(err, SECRET));

	snprintf(missing, sizeof(missing), "%s/no-such.ini", unit_tmpdir);
	snprintf(text, sizeof(text), "[provider ns]\ntype = rfc2136\ncredentials = %s\n",
	    missing);
	path = write_file("cred-missing.conf", text, 0600);
	assert_int_equal(config_load(path, &cfg), ST_CONFIG);
}

/* ------------------------------------- config_check_private / read_file */

static void
test_check_private_and_read(void **state)
{
	const char *p600 = write_file("p600", "hello\n", 0600);
	const char *p400 = write_file("p400", "x", 0400);
	const char *p604 = write_file("p604", "x", 0604);
	const char *p660 = write_file("p660", "x", 0660);
	const char *p601 = write_file("p601", "x", 0601);
	char missing[400], *text = NULL;
	int fd;

	(void)state;
	assert_int_equal(config_check_private(p600), ST_OK);
	assert_int_equal(config_check_private(p400), ST_OK);
	assert_int_equal(config_check_private(p604), ST_CONFIG);
	assert_int_equal(config_check_private(p660), ST_CONFIG);
	assert_int_equal(config_check_private(p601), ST_CONFIG);
	snprintf(missing, sizeof(missing), "%s/missing", unit_tmpdir);
	assert_int_equal(config_check_private(missing), ST_CONFIG);

	assert_int_equal(config_read_file(p600, &text), ST_OK);
	assert_string_equal(text, "hello\n");
	free(text);
	text = NULL;
	assert_int_equal(config_read_file(missing, &text), ST_CONFIG);
	assert_null(text);

	/* a NUL byte inside is refused */
	snprintf(missing, sizeof(missing), "%s/nul", unit_tmpdir);
	fd = open(missing, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "ab\0cd", 5), 5);
	close(fd);
	assert_int_equal(config_read_file(missing, &text), ST_CONFIG);
	assert_null(text);
}

/* ------------------------------------------ typos never print a secret */

/*
 * Each text holds SECRET (or SECRET_PAD) where a typo put it.  config_load
 * must refuse it with exit 3, name the file and line, say what is wrong,
 * and print neither the secret nor the part of it before a '='.
 */
static const struct bad_text secret_typos[] = {
	{ "no '=', padded", "[provider p]\ntype = rfc2136\ntsig_secret " SECRET_PAD "\n",
	  "bad.conf:3: expected 'tsig_secret = value'" },
	{ "no '=', unpadded", "[provider p]\ntype = rfc2136\ntsig_secret " SECRET "\n",
	  "bad.conf:3: expected 'tsig_secret = value'" },
	{ "colon, padded", "[provider p]\ntype = rfc2136\ntsig_secret: " SECRET_PAD "\n",
	  "bad.conf:3: expected 'tsig_secret = value'" },
	{ "colon, unpadded", "[provider p]\ntype = rfc2136\ntsig_secret:" SECRET "\n",
	  "bad.conf:3: expected 'tsig_secret = value'" },
	{ "quote instead of '='",
	  "[provider p]\ntype = rfc2136\ntsig_secret \"" SECRET_PAD "\"\n",
	  "bad.conf:3: expected 'tsig_secret = value'" },
	{ "unbalanced quote", "[provider p]\ntype = rfc2136\ntsig_secret = \"" SECRET "\n",
	  "bad.conf:3: unbalanced quotes" },
	{ "text after the quote",
	  "[provider p]\ntype = rfc2136\ntsig_secret = '" SECRET "'x" SECRET "\n",
	  "bad.conf:3: unbalanced quotes" },
	{ "secret as a section", "[dns01]\n[" SECRET_PAD "]\n", "bad.conf:2: unknown section" },
	{ "secret as a section, unpadded", "[" SECRET "]\n", "bad.conf:1: unknown section" },
	{ "secret as a provider name with a space",
	  "[provider " SECRET " x]\n", "bad.conf:1: write [provider NAME] with a one-word name" },
	{ "secret as zones", "[provider p]\ntype = rfc2136\nzones = " SECRET_PAD "\n",
	  "bad.conf:3: zones: name 1 of the list:" },
	{ "secret as the second zone",
	  "[provider p]\ntype = rfc2136\nzones = example.com," SECRET_PAD "\n",
	  "bad.conf:3: zones: name 2 of the list:" },
	{ "secret as resolvers", "[dns01]\nresolvers = 192.0.2.1 " SECRET_PAD "\n",
	  "bad.conf:2: resolvers: address 2 of the list" },
	{ "secret as type", "[provider p]\ntype = " SECRET_PAD "\n",
	  "bad.conf:1: [provider p]: unknown provider type" },
	{ "secret alone, padded", "[provider p]\ntype = rfc2136\n" SECRET_PAD "\n",
	  "bad.conf:3: [provider p] (type rfc2136): unknown key (it takes" },
	{ "secret as a key", "[provider p]\ntype = rfc2136\n" SECRET " = x\n",
	  "bad.conf:3: [provider p] (type rfc2136): unknown key" },
	{ "secret as a key in [dns01]", "[dns01]\n" SECRET " = x\n",
	  "bad.conf:2: [dns01]: unknown key (it takes" },
	{ "secret before the key", "[provider p]\ntype = rfc2136\n" SECRET " tsig_secret = x\n",
	  "bad.conf:3: expected 'key = value'" },
	{ "secret outside a section", SECRET_PAD "\n", "bad.conf:1: key outside a section" },
	{ "cloudflare api_token without '='",
	  "[provider cf]\ntype = cloudflare\napi_token " SECRET "\n",
	  "bad.conf:3: expected 'api_token = value'" },
	{ "cloudflare api_key with ':'",
	  "[provider cf]\ntype = cloudflare\nemail = a@example.com\napi_key: " SECRET "\n",
	  "bad.conf:4: expected 'api_key = value'" },
	{ "sakura secret without '='",
	  "[provider s]\ntype = sakuracloud\naccess_token = t\naccess_token_secret " SECRET_PAD
	  "\n", "bad.conf:4: expected 'access_token_secret = value'" },
};

static void
test_typos_never_show_secrets(void **state)
{
	(void)state;
	assert_int_equal(load_bad_texts(secret_typos, UNIT_NELEM(secret_typos)), 0);
}

/* A provider name is one word of printable ASCII: it is shown in messages. */
static void
test_provider_name_printable(void **state)
{
	static const char *const bad[] = {
		"[provider a\x1b[2Jb]\n", "[provider b\xc3\xbcro]\n", "[provider a\x7f]\n",
	};
	char text[256], name[CONFIG_MAX_NAME + 2];
	struct config *cfg = NULL;
	const char *err;
	size_t i;
	int rc;

	(void)state;
	for (i = 0; i < UNIT_NELEM(bad); i++) {
		unit_cap_begin();
		rc = config_parse_text(bad[i], "bad.conf", &cfg);
		err = unit_cap_end();
		assert_int_equal(rc, ST_CONFIG);
		assert_non_null(strstr(err, "bad.conf:1: write [provider NAME] with a one-word name"));
		assert_null(strchr(err, '\x1b'));
	}
	memset(name, 'n', sizeof(name) - 1);
	name[CONFIG_MAX_NAME] = '\0';			/* the longest */
	snprintf(text, sizeof(text), "[provider %s]\ntype = rfc2136\n", name);
	cfg = parse_ok(text);
	config_free(cfg);
	name[CONFIG_MAX_NAME] = 'n';			/* one more */
	name[CONFIG_MAX_NAME + 1] = '\0';
	snprintf(text, sizeof(text), "[provider %s]\ntype = rfc2136\n", name);
	assert_int_equal(config_parse_text(text, "t", &cfg), ST_CONFIG);
}

/* A path with a terminal escape is shown escaped. */
static void
test_load_path_escaped(void **state)
{
	char path[400];
	struct config *cfg;
	const char *err;
	int rc;

	(void)state;
	snprintf(path, sizeof(path), "%s/\x1b[2J\\x.conf", unit_tmpdir);
	err = load_captured(path, &rc, &cfg);
	assert_int_equal(rc, ST_CONFIG);
	assert_null(strchr(err, '\x1b'));
	assert_non_null(strstr(err, "/\\x1b[2J\\x5cx.conf"));
}

/* -c '' is a usage error (exit 2), not an open() error. */
static void
test_empty_config_path(void **state)
{
	struct opts o = { .config = "" };
	struct config *cfg = NULL;
	const char *err;
	int rc;

	(void)state;
	unit_cap_begin();
	rc = cli_load_config(&o, &cfg);
	err = unit_cap_end();
	assert_int_equal(rc, ST_USAGE);
	assert_null(cfg);
	assert_non_null(strstr(err, "-c: the file name is empty"));
}

/* --------------------------------------------- a UTF-8 BOM is skipped */

static void
test_bom_skipped(void **state)
{
	const char *cred = write_file("bom.ini", UTF8_BOM "dns_rfc2136_secret = " SECRET "\n",
	    0600);
	const char *sf = write_file("bom-secret", UTF8_BOM SECRET "\n", 0600);
	char text[1024];
	const char *path;
	struct config *cfg = NULL;

	(void)state;
	/* the config file */
	path = write_file("bom.conf", UTF8_BOM "[dns01]\ntimeout = 7\n[provider p]\n"
	    "type = rfc2136\ntsig_key = k\ntsig_secret = " SECRET "\n", 0600);
	assert_int_equal(config_load(path, &cfg), ST_OK);
	assert_int_equal(cfg->timeout, 7);
	assert_string_equal(provider_conf_get(&cfg->providers[0], "tsig_secret"), SECRET);
	config_free(cfg);
	cfg = NULL;

	/* a certbot credentials file */
	snprintf(text, sizeof(text), "[provider p]\ntype = rfc2136\ntsig_key = k\n"
	    "credentials = %s\n", cred);
	path = write_file("bom-cred.conf", text, 0600);
	assert_int_equal(config_load(path, &cfg), ST_OK);
	assert_non_null(provider_conf_get(&cfg->providers[0], "tsig_secret"));
	assert_string_equal(provider_conf_get(&cfg->providers[0], "tsig_secret"), SECRET);
	config_free(cfg);
	cfg = NULL;

	/* a NAME_FILE file */
	setenv("DNS01_PROVIDER", "rfc2136", 1);
	setenv("RFC2136_TSIG_KEY", "k", 1);
	setenv("RFC2136_TSIG_SECRET_FILE", sf, 1);
	assert_int_equal(config_load(NULL, &cfg), ST_OK);
	assert_string_equal(provider_conf_get(&cfg->providers[0], "tsig_secret"), SECRET);
	config_free(cfg);

	/* only at the start: elsewhere it is a malformed line */
	cfg = NULL;
	assert_int_equal(config_parse_text("[dns01]\n" UTF8_BOM "timeout = 5\n", "t", &cfg),
	    ST_CONFIG);
}

/* --------------------------------- only regular files are read, never waited on */

/* config_load(path) fails with ST_CONFIG, a message with want and without "chmod". */
static void
expect_not_regular(const char *path, const char *want)
{
	struct config *cfg;
	int rc;
	const char *err = load_captured(path, &rc, &cfg);

	assert_int_equal(rc, ST_CONFIG);
	assert_null(cfg);
	assert_non_null(strstr(err, want));
	assert_null(strstr(err, "chmod"));
}

static void
test_not_regular_files(void **state)
{
	char fifo[400], text[1024];
	const char *conf;

	(void)state;
	alarm(NO_HANG_S);
	snprintf(fifo, sizeof(fifo), "%s/fifo", unit_tmpdir);
	unlink(fifo);
	assert_int_equal(mkfifo(fifo, 0600), 0);

	/* the config file itself */
	expect_not_regular(fifo, "is a FIFO; give the path of a regular file");
	expect_not_regular("/dev/zero", "/dev/zero is a device");
	expect_not_regular("/dev/null", "/dev/null is a device");
	expect_not_regular(unit_tmpdir, "is a directory");

	/* a credentials file */
	snprintf(text, sizeof(text), "[provider p]\ntype = rfc2136\ncredentials = %s\n", fifo);
	conf = write_file("fifo-cred.conf", text, 0600);
	expect_not_regular(conf, "is a FIFO");
	snprintf(text, sizeof(text), "[provider p]\ntype = rfc2136\ncredentials = /dev/zero\n");
	conf = write_file("zero-cred.conf", text, 0600);
	expect_not_regular(conf, "/dev/zero is a device");

	/* a NAME_FILE file */
	setenv("DNS01_PROVIDER", "rfc2136", 1);
	setenv("RFC2136_TSIG_SECRET_FILE", "/dev/zero", 1);
	expect_not_regular(NULL, "/dev/zero is a device");
	setenv("RFC2136_TSIG_SECRET_FILE", fifo, 1);
	expect_not_regular(NULL, "is a FIFO");

	/* the public helpers */
	assert_int_equal(config_check_private("/dev/zero"), ST_CONFIG);
	assert_int_equal(config_check_private(fifo), ST_CONFIG);
	alarm(0);
	unlink(fifo);
}

/* ------------------------------------- secrets are wiped before free() */

/* Load path (NULL: env mode) and free it, counting freed blocks with SECRET. */
static int
frees_with_secret(const char *path, int want)
{
#ifdef CHECK_FREES
	struct config *cfg = NULL;
	int rc;

	secret_frees = 0;
	watch_frees = 1;
	rc = config_load(path, &cfg);
	config_free(cfg);
	watch_frees = 0;
	assert_int_equal(rc, want);
	return secret_frees;
#else
	(void)path;
	(void)want;
	return 0;
#endif
}

static void
test_secrets_wiped(void **state)
{
	const char *cred = write_file("wipe.ini", "dns_rfc2136_secret = " SECRET "\n", 0600);
	const char *sf = write_file("wipe-secret", "  " SECRET "\n", 0600);
	char text[1024], nul[400];
	int fd;

	(void)state;
#ifndef CHECK_FREES
	print_message("free() cannot be watched in this build (ASan): skipped\n");
	skip();
#endif
	/* the config text, parsed and refused */
	assert_int_equal(frees_with_secret(write_file("wipe.conf", "[provider p]\n"
	    "type = rfc2136\ntsig_key = k\ntsig_secret = " SECRET "\n", 0600), ST_OK), 0);
	assert_int_equal(frees_with_secret(write_file("wipe-bad.conf", "[provider p]\n"
	    "type = rfc2136\ntsig_secret = " SECRET "\ntsig_secret = " SECRET "x\n[x]\n", 0600),
	    ST_CONFIG), 0);
	/* a credentials file */
	snprintf(text, sizeof(text), "[provider p]\ntype = rfc2136\ntsig_key = k\n"
	    "credentials = %s\n", cred);
	assert_int_equal(frees_with_secret(write_file("wipe-cred.conf", text, 0600), ST_OK), 0);
	/* a NAME_FILE file, and one refused after it was read */
	setenv("DNS01_PROVIDER", "rfc2136", 1);
	setenv("RFC2136_TSIG_SECRET_FILE", sf, 1);
	assert_int_equal(frees_with_secret(NULL, ST_OK), 0);
	snprintf(nul, sizeof(nul), "%s/wipe-nul", unit_tmpdir);
	fd = open(nul, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, SECRET "\0", strlen(SECRET) + 1), (ssize_t)strlen(SECRET) + 1);
	close(fd);
	setenv("RFC2136_TSIG_SECRET_FILE", nul, 1);
	assert_int_equal(frees_with_secret(NULL, ST_CONFIG), 0);
}

/* ------------------------------------------------ log_escape (core/log.c) */

static void
test_log_escape(void **state)
{
	char out[64], small[8];

	(void)state;
	assert_string_equal(log_escape("plain text", out, sizeof(out)), "plain text");
	assert_string_equal(log_escape("a\x1b[31m\\b\xff\n", out, sizeof(out)),
	    "a\\x1b[31m\\x5cb\\xff\\x0a");
	/* cut where it is full, never in the middle of an escape */
	assert_string_equal(log_escape("\x01\x02", small, sizeof(small)), "\\x01");
	assert_string_equal(log_escape("", out, sizeof(out)), "");
}

/* ------------------------------------ -v trace redaction (core/http.c) */

/*
 * A header is redacted because its provider marked it secret, whatever its
 * name (X-API-Key is not a name dns01 knows); one not marked is shown.
 */
static void
test_http_trace_redacts_flagged_headers(void **state)
{
	static const struct http_header hdrs[] = {
		{ "X-API-Key", "PDNS-SECRET-123", 1 },
		{ "X-Request-Id", "abc", 0 },
	};
	static const struct { const char *line, *want; } cases[] = {
		{ "X-API-Key: PDNS-SECRET-123", "X-API-Key: [redacted]" },
		{ "x-api-key:PDNS-SECRET-123", "x-api-key: [redacted]" },
		{ "X-Request-Id: abc", "X-Request-Id: abc" },
		{ "X-API-Key-2: abc", "X-API-Key-2: abc" },
		{ "X-Auth-Key: not marked here", "X-Auth-Key: not marked here" },
		/* libcurl's own credential headers (URL userinfo, proxy) */
		{ "Authorization: Bearer tok", "Authorization: [redacted]" },
		{ "proxy-authorization: Basic eDp5", "proxy-authorization: [redacted]" },
		{ "Accept: application/json", "Accept: application/json" },
		{ "X-Odd: a\x1b[2Jb", "X-Odd: a.[2Jb" },
		{ "HTTP/1.1 200 OK", "HTTP/1.1 200 OK" },
	};
	char out[128], small[16];
	size_t i;
	int failures = 0;

	(void)state;
	for (i = 0; i < UNIT_NELEM(cases); i++) {
		http_trace_header(hdrs, UNIT_NELEM(hdrs), cases[i].line, strlen(cases[i].line), out,
		    sizeof(out));
		if (strcmp(out, cases[i].want) != 0) {
			print_error("'%s': shown as '%s', want '%s'\n", cases[i].line, out,
			    cases[i].want);
			failures++;
		}
	}
	assert_int_equal(failures, 0);
	/* only len octets count; a long line is cut with "..." */
	http_trace_header(hdrs, UNIT_NELEM(hdrs), "X-Request-Id: abcdefghijklmnop", 17, out,
	    sizeof(out));
	assert_string_equal(out, "X-Request-Id: abc");
	http_trace_header(hdrs, UNIT_NELEM(hdrs), "X-Request-Id: abcdefghijklmnop", 31, small,
	    sizeof(small));
	assert_string_equal(small, "X-Request-Id...");
}

#define T(f)	cmocka_unit_test_setup(f, clean_env)
#define TE(f)	cmocka_unit_test_setup(f, env_setup)

int
main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_parse_full),
		T(test_parse_header_inline_comment),
		T(test_parse_design_example),
		T(test_parse_defaults),
		T(test_parse_comments_quotes),
		T(test_parse_repeated_keys),
		T(test_parse_bad_structure),
		T(test_parse_timeout_ttl),
		T(test_parse_zones_list),
		T(test_parse_resolvers),
		T(test_parse_resolvers_garbage),
		T(test_parse_resolvers_twice),
		T(test_parse_limits),
		T(test_route_longest_suffix),
		T(test_route_catchall),
		T(test_route_label_boundary),
		T(test_load_0644_with_secret),
		T(test_load_0640_with_secret),
		T(test_load_0600),
		T(test_load_0644_without_secret),
		T(test_load_state_dir_kept),
		T(test_load_bad_files),
		T(test_load_missing_file),
		T(test_load_dns01_config_env),
		TE(test_env_rfc2136),
		TE(test_env_partial),
		TE(test_env_secret_file_0600),
		TE(test_env_secret_file_0644),
		TE(test_env_secret_file_missing),
		TE(test_env_var_beats_file),
		TE(test_env_cloudflare),
		TE(test_env_globals),
		TE(test_env_bad),
		TE(test_env_no_provider),
		T(test_credentials_fill),
		T(test_credentials_section_wins),
		T(test_credentials_not_private),
		T(test_check_private_and_read),
		T(test_typos_never_show_secrets),
		T(test_provider_name_printable),
		T(test_load_path_escaped),
		T(test_empty_config_path),
		TE(test_bom_skipped),
		TE(test_not_regular_files),
		TE(test_secrets_wiped),
		T(test_log_escape),
		T(test_http_trace_redacts_flagged_headers),
	};

	return cmocka_run_group_tests_name("config", tests, unit_group_setup, unit_group_teardown);
}
