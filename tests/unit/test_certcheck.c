/*
 * Unit tests for core/certcheck.[ch], with certificates made here with
 * libcrypto (an EC key, a test CA, leaves signed by it; no key is stored).
 *
 *   cert_covers      exact names, a wildcard name covering a name, the
 *                    wildcard domain matched literally, names not covered
 *   cert_judge       days left against --warn-days (the boundary), already
 *                    expired, not yet valid, untrusted (and which comes
 *                    first), names missing, names made printable
 *   certcheck_fetch  a TLS server on 127.0.0.1 (a forked child) trusted
 *                    through SSL_CERT_FILE: a good certificate, one not yet
 *                    valid, one for another host, a server that closes at
 *                    once (no SIGPIPE), a closed port
 *
 * Table-driven: every row becomes one cmocka test (tests/unit/unit.h).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include <cmocka.h>

#include "unit.h"

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "../../core/certcheck.h"
#include "../../core/status.h"

#define DAY		86400L
#define NOW		1767225600L	/* 2026-01-01 00:00:00 UTC */
#define MAX_DOMAINS	4
#define SANS		"DNS:www.example.test,DNS:*.example.test"

/* The test CA and the key of every leaf (made at group setup). */
static EVP_PKEY *ca_key, *leaf_key;
static X509 *ca_cert;

/* ------------------------------------------------------------ certificates */

static void
add_ext(X509 *x, X509V3_CTX *ctx, int nid, const char *value)
{
	X509_EXTENSION *ext = X509V3_EXT_conf_nid(NULL, ctx, nid, value);

	assert_non_null(ext);
	assert_int_equal(X509_add_ext(x, ext, -1), 1);
	X509_EXTENSION_free(ext);
}

/*
 * A certificate for key with subject CN cn, valid from now + nb to now + na
 * seconds, subjectAltName san (openssl config syntax; NULL: none), signed
 * by the test CA — or, without ca_cert yet, the self-signed test CA.
 */
static X509 *
make_cert(EVP_PKEY *key, const char *cn, const char *san, time_t now, long nb, long na)
{
	static long serial = 1;
	X509 *x = X509_new();
	X509_NAME *name;
	X509V3_CTX ctx;

	assert_non_null(x);
	assert_int_equal(X509_set_version(x, 2), 1);
	assert_int_equal(ASN1_INTEGER_set(X509_get_serialNumber(x), serial++), 1);
	assert_non_null(ASN1_TIME_adj(X509_getm_notBefore(x), now, 0, nb));
	assert_non_null(ASN1_TIME_adj(X509_getm_notAfter(x), now, 0, na));
	assert_int_equal(X509_set_pubkey(x, key), 1);
	name = X509_get_subject_name(x);
	assert_int_equal(X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
	    (const unsigned char *)cn, -1, -1, 0), 1);
	assert_int_equal(X509_set_issuer_name(x, ca_cert ? X509_get_subject_name(ca_cert) :
	    name), 1);
	X509V3_set_ctx(&ctx, ca_cert ? ca_cert : x, x, NULL, NULL, 0);
	if (ca_cert == NULL) {
		add_ext(x, &ctx, NID_basic_constraints, "critical,CA:TRUE");
		add_ext(x, &ctx, NID_key_usage, "critical,keyCertSign,cRLSign");
	} else {
		add_ext(x, &ctx, NID_basic_constraints, "CA:FALSE");
		add_ext(x, &ctx, NID_ext_key_usage, "serverAuth");
	}
	if (san != NULL)
		add_ext(x, &ctx, NID_subject_alt_name, san);
	assert_true(X509_sign(x, ca_cert ? ca_key : key, EVP_sha256()) > 0);
	return x;
}

/* A leaf for the pure tests: SANS, valid from NOW + nb to NOW + na. */
static X509 *
leaf(const char *san, long nb, long na)
{
	return make_cert(leaf_key, "www.example.test", san, NOW, nb, na);
}

/* The test CA, trusted through SSL_CERT_FILE (OpenSSL's system store override). */
static int
group_setup(void **state)
{
	const char *path;
	FILE *f;

	if (unit_group_setup(state) != 0)
		return -1;
	ca_key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	leaf_key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	if (ca_key == NULL || leaf_key == NULL)
		return -1;
	ca_cert = make_cert(ca_key, "dns01 certcheck test CA", NULL, time(NULL), -DAY,
	    365 * DAY);
	path = unit_path(unit_tmpdir, "ca.pem");
	if ((f = fopen(path, "w")) == NULL || PEM_write_X509(f, ca_cert) != 1 || fclose(f) != 0)
		return -1;
	return setenv("SSL_CERT_FILE", path, 1);
}

static int
group_teardown(void **state)
{
	X509_free(ca_cert);
	EVP_PKEY_free(ca_key);
	EVP_PKEY_free(leaf_key);
	return unit_group_teardown(state);
}

/* ---------------------------------------------------------------- cert_covers */

struct covers_case {
	const char *desc;
	const char *san;	/* NULL: no subjectAltName (CN www.example.test) */
	const char *name;
	int	want;
};

static const struct covers_case covers_cases[] = {
	{ "exact name", SANS, "www.example.test", 1 },
	{ "wildcard domain, literally", SANS, "*.example.test", 1 },
	{ "a name under the wildcard name", SANS, "a.example.test", 1 },
	{ "the apex is missing", SANS, "example.test", 0 },
	{ "two labels under the wildcard", SANS, "a.b.example.test", 0 },
	{ "another wildcard is missing", SANS, "*.b.example.test", 0 },
	{ "wildcard domain without the wildcard name", "DNS:a.example.test,DNS:example.test",
	  "*.example.test", 0 },
	{ "wildcard name in upper case", "DNS:*.EXAMPLE.test", "*.example.test", 1 },
	{ "another domain", SANS, "www.example.org", 0 },
	{ "only an IP address name: the subject CN", "IP:192.0.2.1", "www.example.test", 1 },
	{ "no subjectAltName: the subject CN", NULL, "www.example.test", 1 },
	{ "no subjectAltName: a wildcard is missing", NULL, "*.example.test", 0 },
};

static void
test_covers_case(void **state)
{
	const struct covers_case *c = *state;
	X509 *x = leaf(c->san, -DAY, 90 * DAY);

	assert_int_equal(cert_covers(x, c->name), c->want);
	X509_free(x);
}

/*
 * A wildcard domain needs the wildcard among the DNS names: a subject CN
 * "*.example.test" (which X509_check_host would take) does not count.
 */
static void
test_covers_wildcard_cn(void **state)
{
	X509 *x = make_cert(leaf_key, "*.example.test", NULL, NOW, -DAY, 90 * DAY);

	(void)state;
	assert_int_equal(X509_check_host(x, "*.example.test", 0, 0, NULL), 1);
	assert_int_equal(cert_covers(x, "*.example.test"), 0);
	X509_free(x);
}

/* ----------------------------------------------------------------- cert_judge */

struct judge_case {
	const char *desc;
	const char *san;
	long	nb, na;			/* validity from NOW, in seconds */
	long	verify;			/* the handshake's verification */
	long	warn_days;
	const char *domains[MAX_DOMAINS];
	enum cert_outcome want;
	int	days;
	const char *expires;		/* NULL: not checked */
	const char *missing;
	const char *untrusted;		/* NULL: none */
	int	wrong_host;
};

static const struct judge_case judge_cases[] = {
	{ "good", SANS, -DAY, 90 * DAY, X509_V_OK, 21, { "www.example.test", "*.example.test" },
	  CERT_GOOD, 90, "2026-04-01 00:00 UTC", "", NULL, 0 },
	{ "10 days left, --warn-days 21", SANS, -DAY, 10 * DAY + 3600, X509_V_OK, 21,
	  { "www.example.test" }, CERT_EXPIRING, 10, "2026-01-11 01:00 UTC", "", NULL, 0 },
	{ "10 days left, --warn-days 5", SANS, -DAY, 10 * DAY, X509_V_OK, 5,
	  { "www.example.test" }, CERT_GOOD, 10, NULL, "", NULL, 0 },
	{ "exactly --warn-days left", SANS, -DAY, 21 * DAY, X509_V_OK, 21,
	  { "www.example.test" }, CERT_GOOD, 21, NULL, "", NULL, 0 },
	{ "a second less than --warn-days", SANS, -DAY, 21 * DAY - 1, X509_V_OK, 21,
	  { "www.example.test" }, CERT_EXPIRING, 20, NULL, "", NULL, 0 },
	{ "--warn-days 0, a second left", SANS, -DAY, 1, X509_V_OK, 0,
	  { "www.example.test" }, CERT_GOOD, 0, NULL, "", NULL, 0 },
	{ "expired yesterday", SANS, -90 * DAY, -DAY, X509_V_OK, 21, { "www.example.test" },
	  CERT_EXPIRED, -1, "2025-12-31 00:00 UTC", "", NULL, 0 },
	{ "expires this second", SANS, -90 * DAY, 0, X509_V_OK, 21, { "www.example.test" },
	  CERT_EXPIRED, 0, NULL, "", NULL, 0 },
	{ "expired comes before untrusted", SANS, -90 * DAY, -DAY,
	  X509_V_ERR_CERT_HAS_EXPIRED, 21, { "www.example.test" }, CERT_EXPIRED, -1, NULL, "",
	  "certificate has expired", 0 },
	{ "not yet valid", SANS, 2 * DAY, 92 * DAY, X509_V_ERR_CERT_NOT_YET_VALID, 21,
	  { "www.example.test" }, CERT_UNTRUSTED, 92, NULL, "", "certificate is not yet valid",
	  0 },
	{ "untrusted issuer", SANS, -DAY, 90 * DAY, X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY,
	  21, { "www.example.test" }, CERT_UNTRUSTED, 90, NULL, "",
	  "unable to get local issuer certificate", 0 },
	{ "for another host", SANS, -DAY, 90 * DAY, X509_V_ERR_HOSTNAME_MISMATCH, 21,
	  { "www.example.test" }, CERT_UNTRUSTED, 90, NULL, "", "hostname mismatch", 1 },
	{ "untrusted comes before missing", SANS, -DAY, 90 * DAY,
	  X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY, 21, { "example.test" },
	  CERT_UNTRUSTED, 90, NULL, "example.test", "unable to get local issuer certificate",
	  0 },
	{ "names missing", SANS, -DAY, 90 * DAY, X509_V_OK, 21, { "www.example.test",
	  "example.test", "a.example.test", "*.b.example.test" }, CERT_MISSING, 90, NULL,
	  "example.test *.b.example.test", NULL, 0 },
	{ "missing comes before expiring", SANS, -DAY, 3 * DAY, X509_V_OK, 21,
	  { "example.test" }, CERT_MISSING, 3, NULL, "example.test", NULL, 0 },
};

static void
test_judge_case(void **state)
{
	const struct judge_case *c = *state;
	const char *domains[MAX_DOMAINS];
	struct cert_check cc = { "www.example.test", 0, 443, domains, 0, c->warn_days };
	struct cert_verdict v;
	X509 *x = leaf(c->san, c->nb, c->na);

	for (; cc.ndomains < MAX_DOMAINS && c->domains[cc.ndomains]; cc.ndomains++)
		domains[cc.ndomains] = c->domains[cc.ndomains];
	memset(&v, 0x55, sizeof(v));
	cert_judge(&cc, x, c->verify, NOW, &v);
	assert_int_equal(v.outcome, c->want);
	assert_int_equal(v.days, c->days);
	assert_string_equal(v.names, "www.example.test *.example.test");
	assert_string_equal(v.missing, c->missing);
	if (c->expires != NULL)
		assert_string_equal(v.expires, c->expires);
	if (c->untrusted == NULL)
		assert_null(v.untrusted);
	else
		assert_string_equal(v.untrusted, c->untrusted);
	assert_int_equal(v.wrong_host, c->wrong_host);
	X509_free(x);
}

/* DNS names from the certificate are printable ASCII; other kinds are left out. */
static void
test_judge_names(void **state)
{
	static const char raw[] = "a\x1b[31m\xc3\xa9.example.test";
	const char *domains[] = { "www.example.test" };
	struct cert_check cc = { "www.example.test", 0, 443, domains, 1, 21 };
	GENERAL_NAMES *gens = GENERAL_NAMES_new();
	GENERAL_NAME *g = GENERAL_NAME_new();
	ASN1_IA5STRING *s = ASN1_IA5STRING_new();
	struct cert_verdict v;
	X509 *x = leaf("DNS:www.example.test,IP:192.0.2.1", -DAY, 90 * DAY);

	(void)state;
	assert_true(gens != NULL && g != NULL && s != NULL);
	assert_int_equal(ASN1_STRING_set(s, raw, (int)strlen(raw)), 1);
	GENERAL_NAME_set0_value(g, GEN_DNS, s);
	assert_true(sk_GENERAL_NAME_push(gens, g) > 0);
	assert_int_equal(X509_add1_ext_i2d(x, NID_subject_alt_name, gens, 0, X509V3_ADD_REPLACE),
	    1);
	GENERAL_NAMES_free(gens);
	cert_judge(&cc, x, X509_V_OK, NOW, &v);
	assert_string_equal(v.names, "a?[31m??.example.test");
	assert_int_equal(v.outcome, CERT_MISSING);
	X509_free(x);

	x = leaf("DNS:www.example.test,IP:192.0.2.1", -DAY, 90 * DAY);
	cert_judge(&cc, x, X509_V_OK, NOW, &v);
	assert_string_equal(v.names, "www.example.test");
	assert_int_equal(v.outcome, CERT_GOOD);
	X509_free(x);
}

/* ------------------------------------------------------------ certcheck_fetch */

/*
 * Listen on 127.0.0.1 (the port in *port) and fork a child that takes one
 * connection: a TLS handshake with cert, or (cert NULL) a close at once.
 */
static pid_t
serve_once(X509 *cert, unsigned *port)
{
	struct sockaddr_in sa;
	socklen_t len = sizeof(sa);
	SSL_CTX *ctx;
	SSL *ssl;
	pid_t pid;
	char b;
	int lfd, fd;

	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	lfd = socket(AF_INET, SOCK_STREAM, 0);
	assert_true(lfd >= 0);
	assert_int_equal(bind(lfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(lfd, 1), 0);
	assert_int_equal(getsockname(lfd, (struct sockaddr *)&sa, &len), 0);
	*port = ntohs(sa.sin_port);
	pid = fork();
	assert_true(pid >= 0);
	if (pid > 0) {
		close(lfd);
		return pid;
	}
	alarm(UNIT_HANG_GUARD_S);
	if ((fd = accept(lfd, NULL, NULL)) < 0 || cert == NULL)
		_exit(0);
	if ((ctx = SSL_CTX_new(TLS_server_method())) == NULL ||
	    SSL_CTX_use_certificate(ctx, cert) != 1 ||
	    SSL_CTX_use_PrivateKey(ctx, leaf_key) != 1 || (ssl = SSL_new(ctx)) == NULL ||
	    SSL_set_fd(ssl, fd) != 1)
		_exit(1);
	if (SSL_accept(ssl) == 1)
		(void)SSL_read(ssl, &b, 1);	/* until the client closes */
	_exit(0);
}

/* A port on 127.0.0.1 that nothing listens on (it was free a moment ago). */
static unsigned
closed_port(void)
{
	struct sockaddr_in sa;
	socklen_t len = sizeof(sa);
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	assert_true(fd >= 0);
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
	close(fd);
	return ntohs(sa.sin_port);
}

struct fetch_case {
	const char *desc;
	const char *host;
	int	host_is_ip;
	int	serve;			/* 0: a closed port, 1: TLS, 2: no TLS */
	long	nb;			/* notBefore from now */
	enum cert_outcome want;
	long	verify;			/* outcomes with a certificate */
	const char *why;		/* in why, for the others */
};

static const struct fetch_case fetch_cases[] = {
	{ "trusted, for the IP address", "127.0.0.1", 1, 1, -DAY, CERT_GOOD, X509_V_OK, NULL },
	{ "not yet valid", "127.0.0.1", 1, 1, 2 * DAY, CERT_UNTRUSTED,
	  X509_V_ERR_CERT_NOT_YET_VALID, NULL },
	{ "for another host", "localhost", 0, 1, -DAY, CERT_UNTRUSTED,
	  X509_V_ERR_HOSTNAME_MISMATCH, NULL },
	{ "no TLS: the server closes at once", "127.0.0.1", 1, 2, 0, CERT_HANDSHAKE_FAILED, 0,
	  "" },
	{ "a closed port", "127.0.0.1", 1, 0, 0, CERT_NO_CONNECTION, 0,
	  "Connection refused" },
};

static void
test_fetch_case(void **state)
{
	const struct fetch_case *c = *state;
	const char *domains[] = { "www.example.test" };
	struct cert_check cc = { c->host, c->host_is_ip, 0, domains, 1, 21 };
	struct cert_verdict v;
	struct sigaction sa;
	X509 *served = NULL, *got;
	pid_t pid = -1;
	long verify;
	int rc, st, fd_free = dup(0);

	close(fd_free);
	alarm(UNIT_HANG_GUARD_S);
	if (c->serve == 1)
		served = make_cert(leaf_key, "www.example.test", SANS ",IP:127.0.0.1", time(NULL),
		    c->nb, 90 * DAY);
	if (c->serve > 0)
		pid = serve_once(served, &cc.port);
	else
		cc.port = closed_port();
	memset(&v, 0, sizeof(v));
	rc = certcheck_fetch(&cc, &got, &verify, &v);
	if (pid > 0)
		assert_int_equal(waitpid(pid, &st, 0), pid);
	if (c->want >= CERT_EXPIRED) {
		assert_int_equal(rc, ST_OK);
		assert_int_equal(verify, c->verify);
		assert_int_equal(X509_cmp(got, served), 0);
		cert_judge(&cc, got, verify, time(NULL), &v);
		assert_int_equal(v.outcome, c->want);
		X509_free(got);
	} else {
		assert_int_equal(rc, ST_FAIL);
		assert_null(got);
		assert_int_equal(v.outcome, c->want);
		assert_true(v.why[0] != '\0');
		assert_non_null(strstr(v.why, c->why));
	}
	X509_free(served);
	/* SIGPIPE is as it was, and no socket is left open */
	assert_int_equal(sigaction(SIGPIPE, NULL, &sa), 0);
	assert_ptr_equal(sa.sa_handler, SIG_DFL);
	assert_int_equal(dup(0), fd_free);
	close(fd_free);
	alarm(0);
}

/* certcheck_run on a closed port: the fetch's outcome, nothing judged. */
static void
test_run_no_connection(void **state)
{
	const char *domains[] = { "www.example.test" };
	struct cert_check cc = { "127.0.0.1", 1, 0, domains, 1, 21 };
	struct cert_verdict v;

	(void)state;
	cc.port = closed_port();
	certcheck_run(&cc, &v);
	assert_int_equal(v.outcome, CERT_NO_CONNECTION);
	assert_string_equal(v.names, "");
}

/* -------------------------------------------------------------------- runner */

int
main(void)
{
	size_t i;

	for (i = 0; i < UNIT_NELEM(covers_cases); i++)
		unit_add("cert_covers", covers_cases[i].desc, test_covers_case, &covers_cases[i]);
	unit_add("cert_covers", "a wildcard only in the subject CN", test_covers_wildcard_cn,
	    NULL);
	for (i = 0; i < UNIT_NELEM(judge_cases); i++)
		unit_add("cert_judge", judge_cases[i].desc, test_judge_case, &judge_cases[i]);
	unit_add("cert_judge", "names printable, other kinds left out", test_judge_names, NULL);
	for (i = 0; i < UNIT_NELEM(fetch_cases); i++)
		unit_add("certcheck_fetch", fetch_cases[i].desc, test_fetch_case, &fetch_cases[i]);
	unit_add("certcheck_run", "a closed port", test_run_no_connection, NULL);
	return unit_run("certcheck", group_setup, group_teardown);
}
