/*
 * The certificate a TLS server serves, and what it means (core/certcheck.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>
#include <arpa/inet.h>

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "certcheck.h"
#include "name.h"
#include "status.h"
#include "text.h"

#define CERT_PORT_TEXT	16	/* a port number as text */

/* ---- the pure part ------------------------------------------------------ */

/* cert_covers, with the certificate's subjectAltName (may be NULL). */
static int
covers(X509 *cert, const GENERAL_NAMES *sans, const char *name)
{
	int i;

	if (name[0] != '*')
		return X509_check_host(cert, name, strlen(name), 0, NULL) == 1;
	for (i = 0; i < sk_GENERAL_NAME_num(sans); i++) {
		const GENERAL_NAME *g = sk_GENERAL_NAME_value(sans, i);
		const ASN1_IA5STRING *s;

		if (g->type != GEN_DNS)
			continue;
		s = g->d.dNSName;
		if ((size_t)ASN1_STRING_length(s) == strlen(name) &&
		    strncasecmp((const char *)ASN1_STRING_get0_data(s), name, strlen(name)) == 0)
			return 1;
	}
	return 0;
}

int
cert_covers(X509 *cert, const char *name)
{
	GENERAL_NAMES *sans = X509_get_ext_d2i(cert, NID_subject_alt_name, NULL, NULL);
	int rc = covers(cert, sans, name);

	GENERAL_NAMES_free(sans);
	return rc;
}

/* The DNS names of sans, printable ASCII, " " between, into out (len bytes). */
static void
dns_names(const GENERAL_NAMES *sans, char *out, size_t len)
{
	char one[NAME_BUF], raw[NAME_BUF];
	int i, n;

	out[0] = '\0';
	for (i = 0; i < sk_GENERAL_NAME_num(sans); i++) {
		const GENERAL_NAME *g = sk_GENERAL_NAME_value(sans, i);

		if (g->type != GEN_DNS)
			continue;
		n = ASN1_STRING_length(g->d.dNSName);
		snprintf(raw, sizeof(raw), "%.*s", n < (int)sizeof(raw) ? n : (int)sizeof(raw) - 1,
		    (const char *)ASN1_STRING_get0_data(g->d.dNSName));
		text_printable(raw, one, sizeof(one), 1);	/* names from the network: ASCII */
		text_append(out, len, " ", one);
	}
}

void
cert_judge(const struct cert_check *cc, X509 *cert, long verify, time_t now,
    struct cert_verdict *out)
{
	const ASN1_TIME *na = X509_get0_notAfter(cert);
	GENERAL_NAMES *sans;
	struct tm tnow, tna;
	long remain;
	size_t i;
	int pday = 0, psec = 0, readable;

	readable = ASN1_TIME_to_tm(na, &tna) == 1;
	if (!readable || strftime(out->expires, sizeof(out->expires), "%Y-%m-%d %H:%M UTC",
	    &tna) == 0)
		snprintf(out->expires, sizeof(out->expires), "(unreadable date)");
	/* what ASN1_TIME_diff(&pday, &psec, NULL, na) gives at time now */
	if (!readable || gmtime_r(&now, &tnow) == NULL ||
	    OPENSSL_gmtime_diff(&pday, &psec, &tnow, &tna) != 1)
		pday = psec = -1;
	out->days = pday;
	remain = (long)pday * CERT_SECONDS_PER_DAY + psec;
	sans = X509_get_ext_d2i(cert, NID_subject_alt_name, NULL, NULL);
	dns_names(sans, out->names, sizeof(out->names));
	out->missing[0] = '\0';
	for (i = 0; i < cc->ndomains; i++)
		if (!covers(cert, sans, cc->domains[i]))
			text_append(out->missing, sizeof(out->missing), " ", cc->domains[i]);
	GENERAL_NAMES_free(sans);
	out->untrusted = verify != X509_V_OK ? X509_verify_cert_error_string(verify) : NULL;
	out->wrong_host = verify == X509_V_ERR_HOSTNAME_MISMATCH;
	if (remain <= 0)
		out->outcome = CERT_EXPIRED;
	else if (verify != X509_V_OK)
		out->outcome = CERT_UNTRUSTED;
	else if (out->missing[0] != '\0')
		out->outcome = CERT_MISSING;
	else if (remain < cc->warn_days * CERT_SECONDS_PER_DAY)
		out->outcome = CERT_EXPIRING;
	else
		out->outcome = CERT_GOOD;
}

/* ---- the I/O ------------------------------------------------------------ */

/*
 * A TCP connection to host:port within CERT_TIMEOUT_S, blocking afterwards
 * with that limit per read and write.  The socket, or -1 with the reason
 * (every address tried) in why.
 */
static int
tcp_connect(const char *host, unsigned port, char *why, size_t whylen)
{
	struct addrinfo hints, *res = NULL, *ai;
	struct timeval tv = { .tv_sec = CERT_TIMEOUT_S, .tv_usec = 0 };
	char sport[CERT_PORT_TEXT], addr[INET6_ADDRSTRLEN], one[INET6_ADDRSTRLEN + 128];
	struct pollfd pfd;
	socklen_t len;
	int fd = -1, e, err, fl;

	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICSERV;
	snprintf(sport, sizeof(sport), "%u", port);
	why[0] = '\0';
	if ((e = getaddrinfo(host, sport, &hints, &res)) != 0) {
		snprintf(why, whylen, "cannot resolve %s: %s", host, gai_strerror(e));
		return -1;
	}
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		if (getnameinfo(ai->ai_addr, ai->ai_addrlen, addr, sizeof(addr), NULL, 0,
		    NI_NUMERICHOST) != 0)
			snprintf(addr, sizeof(addr), "?");
		err = 0;
		fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (fd == -1)
			err = errno;
		else if (connect(fd, ai->ai_addr, ai->ai_addrlen) == -1 && errno != EINPROGRESS)
			err = errno;
		else {
			pfd.fd = fd;
			pfd.events = POLLOUT;
			len = sizeof(err);
			if ((e = poll(&pfd, 1, CERT_TIMEOUT_S * 1000)) <= 0)
				err = e == 0 ? ETIMEDOUT : errno;
			else if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) == -1)
				err = errno;
		}
		if (err == 0 && ((fl = fcntl(fd, F_GETFL)) == -1 ||
		    fcntl(fd, F_SETFL, fl & ~O_NONBLOCK) == -1 ||
		    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) == -1 ||
		    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) == -1))
			err = errno;
		if (err == 0)
			break;
		snprintf(one, sizeof(one), "%s port %u: %s", addr, port, strerror(err));
		text_append(why, whylen, "; ", one);
		if (fd != -1)
			close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	return fd;
}

/* The reason of the last TLS failure (OpenSSL's queue, else errno). */
static const char *
tls_error(int saved_errno)
{
	unsigned long e = ERR_peek_last_error();

	if (e != 0 && ERR_reason_error_string(e) != NULL)
		return ERR_reason_error_string(e);
	if (saved_errno == EAGAIN || saved_errno == EWOULDBLOCK)
		return "timed out";
	return saved_errno != 0 ? strerror(saved_errno) : "the server closed the connection";
}

/* out->outcome = outcome, out->why = why ("" for NULL); returns ST_FAIL. */
static int
fetch_failed(struct cert_verdict *out, enum cert_outcome outcome, const char *why)
{
	out->outcome = outcome;
	snprintf(out->why, sizeof(out->why), "%s", why ? why : "");
	return ST_FAIL;
}

int
certcheck_fetch(const struct cert_check *cc, X509 **cert, long *verify,
    struct cert_verdict *out)
{
	struct sigaction ign, old;
	SSL_CTX *ctx = NULL;
	SSL *ssl = NULL;
	int fd, rc = ST_OK;

	*cert = NULL;
	*verify = X509_V_OK;
	if ((fd = tcp_connect(cc->host, cc->port, out->why, sizeof(out->why))) == -1) {
		out->outcome = CERT_NO_CONNECTION;
		return ST_FAIL;
	}
	/* A server that closes early: a write fails (EPIPE) instead of ending dns01. */
	memset(&ign, 0, sizeof(ign));
	ign.sa_handler = SIG_IGN;
	sigemptyset(&ign.sa_mask);
	sigaction(SIGPIPE, &ign, &old);
	ERR_clear_error();
	if ((ctx = SSL_CTX_new(TLS_client_method())) == NULL ||
	    SSL_CTX_set_default_verify_paths(ctx) != 1 || (ssl = SSL_new(ctx)) == NULL ||
	    SSL_set_fd(ssl, fd) != 1) {
		rc = fetch_failed(out, CERT_NO_TLS, tls_error(0));
		goto out;
	}
	/* Verified, but the handshake goes on: see certcheck.h. */
	SSL_set_verify(ssl, SSL_VERIFY_NONE, NULL);
	if (cc->host_is_ip)
		X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), cc->host);
	else if (SSL_set_tlsext_host_name(ssl, cc->host) != 1 ||
	    SSL_set1_host(ssl, cc->host) != 1) {
		rc = fetch_failed(out, CERT_BAD_HOST, NULL);
		goto out;
	}
	errno = 0;
	if (SSL_connect(ssl) != 1) {
		rc = fetch_failed(out, CERT_HANDSHAKE_FAILED, tls_error(errno));
		goto out;
	}
	if ((*cert = SSL_get1_peer_certificate(ssl)) == NULL) {
		rc = fetch_failed(out, CERT_NOT_SENT, NULL);
		goto out;
	}
	*verify = SSL_get_verify_result(ssl);
out:
	if (ssl != NULL)
		SSL_free(ssl);
	SSL_CTX_free(ctx);
	close(fd);
	sigaction(SIGPIPE, &old, NULL);
	return rc;
}

void
certcheck_run(const struct cert_check *cc, struct cert_verdict *out)
{
	X509 *cert;
	long verify;

	memset(out, 0, sizeof(*out));
	if (certcheck_fetch(cc, &cert, &verify, out) != ST_OK)
		return;
	cert_judge(cc, cert, verify, time(NULL), out);
	X509_free(cert);
}
