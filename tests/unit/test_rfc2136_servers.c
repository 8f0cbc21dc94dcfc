/*
 * Unit tests for providers/rfc2136_servers.c: the answers BIND 9.18, Knot
 * DNS 3.2 and PowerDNS 4.7 gave dns01's UPDATE and SOA query in the test
 * bed (the table in rfc2136_servers.c), each explained with every server's
 * cause when the software is not known and with only the one server's when
 * it is; the exit status of each; version.bind strings to software.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <ldns/ldns.h>

#include "../../core/status.h"
#include "../../core/tsig.h"
#include "../../providers/rfc2136_servers.h"
#include "unit.h"

#define OUT_MAX		1024
#define U		1	/* UPDATE */
#define Q		0	/* SOA query */
#define KEY		1
#define NOKEY		0
#define NONE		RFC2136_SIG_NONE
#define SIGNED		RFC2136_SIG_OK
#define NOTAUTH		LDNS_RCODE_NOTAUTH
#define REFUSED		LDNS_RCODE_REFUSED

/*
 * One answer: the status; what the explanation without a known server
 * must hold (all of all[], none of not[]); and, with the server that gave
 * it known, what must be there (own) and what not (other).
 */
struct xcase {
	const char *desc;
	struct rfc2136_answer a;
	int	status;
	const char *all[3];
	const char *not;		/* NULL: nothing */
	enum rfc2136_server s;
	const char *own;
	const char *other;
};

static const struct xcase cases[] = {
	/* key unknown: BIND and Knot NOTAUTH + BADKEY, no MAC */
	{ "bind: unknown key", { U, NOTAUTH, TSIG_BADKEY, NONE, KEY }, ST_CONFIG,
	  { "BIND: it has no key of this name", "Knot DNS: it does not know the key",
	    "acl" }, "PowerDNS", RFC2136_BIND, "BIND: it has no key", "Knot" },
	/* Knot: also a key its acl does not let update */
	{ "knot: key not allowed", { U, NOTAUTH, TSIG_BADKEY, NONE, KEY }, ST_CONFIG,
	  { "Knot DNS:", "no acl rule of the zone lets this key update", NULL }, NULL,
	  RFC2136_KNOT, "Knot DNS: it does not know the key name and algorithm, or no acl "
	  "rule", "BIND" },
	{ "knot: SOA query, key in no acl", { Q, NOTAUTH, TSIG_BADKEY, NONE, KEY }, ST_CONFIG,
	  { "BIND: it has no key", "it checks the acl of signed queries", NULL }, NULL,
	  RFC2136_KNOT, "no acl rule of the zone names this key", "BIND" },
	/* wrong secret: BADSIG from BIND and Knot alike */
	{ "bind, knot: wrong secret", { U, NOTAUTH, TSIG_BADSIG, NONE, KEY }, ST_CONFIG,
	  { "BIND, Knot DNS: the secret differs", NULL, NULL }, "PowerDNS", RFC2136_KNOT,
	  "Knot DNS: the secret differs", "BIND" },
	{ "bind, knot: clock skew", { U, NOTAUTH, TSIG_BADTIME, SIGNED, KEY }, ST_CONFIG,
	  { "BIND, Knot DNS: its clock and this host's differ by more than 300 s", NULL,
	    NULL }, NULL, RFC2136_BIND, "BIND: its clock", "Knot" },
	/* PowerDNS: REFUSED, unsigned, for every key it does not accept */
	{ "pdns: unknown key / wrong secret / algorithm / clock",
	  { U, REFUSED, 0, NONE, KEY }, ST_CONFIG,
	  { "PowerDNS: it did not accept the key (its answer is unsigned)", "wrong secret",
	    "pdnsutil list-tsig-keys" }, "BIND", RFC2136_PDNS, "PowerDNS: it did not accept",
	  "update-policy" },
	{ "pdns: SOA query with a key it does not accept", { Q, NOTAUTH, 0, NONE, KEY },
	  ST_CONFIG, { "PowerDNS: it did not accept the key", NULL, NULL }, "BIND",
	  RFC2136_PDNS, "PowerDNS:", "Knot" },
	/* the key is accepted, not allowed: BIND and PowerDNS REFUSED, signed */
	{ "bind, pdns: key not allowed", { U, REFUSED, 0, SIGNED, KEY }, ST_PROVIDER,
	  { "BIND: it accepted the key, but the zone's update-policy",
	    "PowerDNS: it accepted the key, but the zone's TSIG-ALLOW-DNSUPDATE", NULL },
	  "Knot", RFC2136_PDNS, "TSIG-ALLOW-DNSUPDATE", "update-policy" },
	{ "bind: key not allowed, server known", { U, REFUSED, 0, SIGNED, KEY }, ST_PROVIDER,
	  { "update-policy", NULL, NULL }, NULL, RFC2136_BIND, "BIND: it accepted the key",
	  "TSIG-ALLOW-DNSUPDATE" },
	/* zone not served */
	{ "bind, pdns: zone not served", { U, NOTAUTH, 0, SIGNED, KEY }, ST_CONFIG,
	  { "BIND, PowerDNS: it does not serve the zone", "server =", NULL }, "Knot",
	  RFC2136_UNKNOWN, "BIND, PowerDNS", NULL },
	{ "knot: zone not served", { U, NOTAUTH, 0, NONE, KEY }, ST_CONFIG,
	  { "Knot DNS: it does not serve the zone (Knot does not sign this answer)", NULL,
	    NULL }, "BIND", RFC2136_KNOT, "Knot DNS:", "BIND" },
	{ "all: SOA query, zone not served", { Q, REFUSED, 0, SIGNED, KEY }, ST_PROVIDER,
	  { "BIND, Knot DNS, PowerDNS: it does not serve the zone to us", NULL, NULL }, NULL,
	  RFC2136_KNOT, "Knot DNS: it does not serve", "BIND" },
	/* no key configured */
	{ "bind, pdns: unsigned UPDATE refused", { U, REFUSED, 0, NONE, NOKEY }, ST_PROVIDER,
	  { "BIND: allow-update / update-policy takes no unsigned UPDATE",
	    "PowerDNS: the zone takes only signed UPDATEs", "configure tsig_key" }, "Knot",
	  RFC2136_BIND, "BIND:", "PowerDNS" },
	{ "knot: unsigned UPDATE", { U, NOTAUTH, 0, NONE, NOKEY }, ST_CONFIG,
	  { "Knot DNS: no acl rule of the zone takes an unsigned UPDATE",
	    "BIND, PowerDNS: it does not serve the zone", NULL }, NULL, RFC2136_KNOT,
	  "Knot DNS: no acl rule", "BIND" },
	/* answers no server is known to give, and no errors */
	{ "other TSIG error", { U, NOTAUTH, TSIG_BADTRUNC, NONE, KEY }, ST_CONFIG,
	  { NULL, NULL, NULL }, ":", RFC2136_BIND, NULL, ":" },
	{ "SERVFAIL", { U, LDNS_RCODE_SERVFAIL, 0, SIGNED, KEY }, ST_PROVIDER,
	  { NULL, NULL, NULL }, ":", RFC2136_UNKNOWN, NULL, ":" },
	{ "NOERROR", { U, LDNS_RCODE_NOERROR, 0, SIGNED, KEY }, ST_OK,
	  { NULL, NULL, NULL }, ":", RFC2136_UNKNOWN, NULL, ":" },
	{ "SOA query: unsigned, no key, NOTAUTH", { Q, NOTAUTH, 0, NONE, NOKEY }, ST_PROVIDER,
	  { NULL, NULL, NULL }, ":", RFC2136_UNKNOWN, NULL, ":" },
};

static void
test_case(void **state)
{
	const struct xcase *c = *state;
	char out[OUT_MAX];
	size_t i;

	assert_int_equal(rfc2136_explain(&c->a, RFC2136_UNKNOWN, out, sizeof(out)), c->status);
	for (i = 0; i < UNIT_NELEM(c->all); i++)
		if (c->all[i] != NULL && strstr(out, c->all[i]) == NULL)
			fail_msg("no \"%s\" in \"%s\"", c->all[i], out);
	if (c->not != NULL && strstr(out, c->not) != NULL)
		fail_msg("\"%s\" in \"%s\"", c->not, out);
	if (c->a.terr == 0 && c->a.rcode == LDNS_RCODE_NOERROR)
		assert_string_equal(out, "");
	assert_int_equal(rfc2136_explain(&c->a, c->s, out, sizeof(out)), c->status);
	if (c->own != NULL && strstr(out, c->own) == NULL)
		fail_msg("server %d: no \"%s\" in \"%s\"", c->s, c->own, out);
	if (c->other != NULL && strstr(out, c->other) != NULL)
		fail_msg("server %d: \"%s\" in \"%s\"", c->s, c->other, out);
}

/* A known server that never gives an answer: every server's causes. */
static void
test_fallback(void **state)
{
	const struct rfc2136_answer a = { U, NOTAUTH, TSIG_BADKEY, NONE, KEY };
	char all[OUT_MAX], out[OUT_MAX];

	(void)state;
	rfc2136_explain(&a, RFC2136_UNKNOWN, all, sizeof(all));
	rfc2136_explain(&a, RFC2136_PDNS, out, sizeof(out));
	assert_string_equal(out, all);
}

/* A small buffer cuts the text, never overruns it. */
static void
test_short_buffer(void **state)
{
	const struct rfc2136_answer a = { U, REFUSED, 0, SIGNED, KEY };
	char out[24];

	(void)state;
	memset(out, 'x', sizeof(out));
	assert_int_equal(rfc2136_explain(&a, RFC2136_UNKNOWN, out, 20), ST_PROVIDER);
	assert_true(strlen(out) < 20);
	assert_int_equal(out[21], 'x');
}

static void
test_server_of(void **state)
{
	static const struct { const char *v; enum rfc2136_server s; } v[] = {
		{ "9.18.49-1~deb12u3-Debian", RFC2136_BIND },	/* BIND's default */
		{ "BIND 9.20.1", RFC2136_BIND },
		{ "Knot DNS 3.2.6", RFC2136_KNOT },
		{ "PowerDNS Authoritative Server 4.7.3", RFC2136_PDNS },
		{ "Served by PowerDNS - https://www.powerdns.com/", RFC2136_PDNS },
		{ "", RFC2136_UNKNOWN }, { "none", RFC2136_UNKNOWN },
		{ "9", RFC2136_UNKNOWN }, { "9.x", RFC2136_UNKNOWN },
		{ "NSD 4.6.1", RFC2136_UNKNOWN }, { NULL, RFC2136_UNKNOWN },
	};
	size_t i;

	(void)state;
	for (i = 0; i < UNIT_NELEM(v); i++)
		if (rfc2136_server_of(v[i].v) != v[i].s)
			fail_msg("\"%s\": %d, not %d", v[i].v ? v[i].v : "(null)",
			    rfc2136_server_of(v[i].v), v[i].s);
	assert_null(rfc2136_server_name(RFC2136_UNKNOWN));
	assert_string_equal(rfc2136_server_name(RFC2136_KNOT), "Knot DNS");
	assert_null(rfc2136_update_rule(RFC2136_UNKNOWN));
	assert_non_null(strstr(rfc2136_update_rule(RFC2136_KNOT), "acl"));
	assert_non_null(strstr(rfc2136_update_rule(RFC2136_PDNS), "TSIG-ALLOW-DNSUPDATE"));
	assert_non_null(strstr(rfc2136_update_rule(RFC2136_BIND), "update-policy"));
}

int
main(void)
{
	size_t i;

	for (i = 0; i < UNIT_NELEM(cases); i++)
		unit_add("rfc2136_explain", cases[i].desc, test_case, &cases[i]);
	unit_add("rfc2136_explain", "known server without that answer", test_fallback, NULL);
	unit_add("rfc2136_explain", "short buffer", test_short_buffer, NULL);
	unit_add("rfc2136_server_of", "version.bind strings", test_server_of, NULL);
	return unit_run("rfc2136_servers", NULL, NULL);
}
