/*
 * The certificate a TLS server serves, judged for the domains it should
 * cover: `dns01 doctor --check-cert HOST[:PORT]`.
 *
 * certcheck_fetch() is the I/O: a TCP connection within CERT_TIMEOUT_S, a
 * TLS handshake with SNI HOST (none for an IP address), the chain verified
 * against the system store (OpenSSL's default paths; SSL_CERT_FILE
 * overrides them) for HOST.  The handshake goes on when verification
 * fails, only so that the certificate can still be described; no data is
 * sent.  cert_judge() and cert_covers() are functions of the certificate
 * and the time, so tests/unit/test_certcheck.c checks them with
 * certificates it makes.  certcheck_run() is the two in a row.
 */
#ifndef DNS01_CERTCHECK_H
#define DNS01_CERTCHECK_H

#include <stddef.h>
#include <time.h>

#include <openssl/x509.h>

#define CERT_TIMEOUT_S		10	/* connect, and each read/write of the handshake */
#define CERT_LIST_MAX		1024	/* a list of names */
#define CERT_DATE_MAX		64	/* a date as text */
#define CERT_WHY_MAX		2048	/* why there is no certificate */
#define CERT_SECONDS_PER_DAY	86400

/* What to check.  Nothing here is owned by the check. */
struct cert_check {
	const char *host;		/* a host name (SNI) or an IP address */
	int	host_is_ip;
	unsigned port;
	const char *const *domains;	/* canonical names, "*." for a wildcard */
	size_t	ndomains;
	long	warn_days;		/* expiring within this many days: EXPIRING */
};

enum cert_outcome {
	/* certcheck_fetch: no certificate */
	CERT_NO_CONNECTION,	/* no TCP connection: why, for every address tried */
	CERT_NO_TLS,		/* TLS could not be set up here: why */
	CERT_BAD_HOST,		/* host could not be set for SNI and verification */
	CERT_HANDSHAKE_FAILED,	/* the TLS handshake failed: why */
	CERT_NOT_SENT,		/* the server sent no certificate */
	/* cert_judge, in this precedence */
	CERT_EXPIRED,		/* notAfter is past (or unreadable) */
	CERT_UNTRUSTED,		/* not verified for host: untrusted, wrong_host */
	CERT_MISSING,		/* does not cover the domains in missing */
	CERT_EXPIRING,		/* expires within warn_days */
	CERT_GOOD
};

/* What was found.  The judgement's fields are set from CERT_EXPIRED on. */
struct cert_verdict {
	enum cert_outcome outcome;
	char	why[CERT_WHY_MAX];	/* the fetch outcomes: why */
	const char *untrusted;		/* OpenSSL's reason it is not verified (static) */
	int	wrong_host;		/* not verified because it is not for host */
	char	names[CERT_LIST_MAX];	/* its DNS names, printable ASCII, " " between */
	char	missing[CERT_LIST_MAX];	/* the domains it does not cover, " " between */
	char	expires[CERT_DATE_MAX];	/* notAfter, "YYYY-MM-DD HH:MM UTC" */
	int	days;			/* whole days from now to notAfter */
};

/*
 * 1 when cert covers name, else 0.  A wildcard domain is matched literally:
 * "*.x" needs the DNS name "*.x" (any case; a subject CN does not count).
 * Any other name as OpenSSL's TLS client checks a host (X509_check_host): a
 * wildcard DNS name covers it, and without DNS names the subject CN does.
 */
int	cert_covers(X509 *cert, const char *name);

/*
 * Judge cert, whose verification for host gave verify (X509_V_OK or an
 * X509_V_ERR_*), at time now, for cc's domains and warn_days.  Fills the
 * judgement's fields of *out: EXPIRED, UNTRUSTED, MISSING, EXPIRING or GOOD.
 */
void	cert_judge(const struct cert_check *cc, X509 *cert, long verify, time_t now,
    struct cert_verdict *out);

/*
 * Connect to cc->host, cc->port with TLS and get the certificate.  ST_OK
 * with *cert (the caller frees it with X509_free) and *verify, the result
 * of verifying it; or ST_FAIL with out->outcome and out->why set.
 */
int	certcheck_fetch(const struct cert_check *cc, X509 **cert, long *verify,
    struct cert_verdict *out);

/* certcheck_fetch, then cert_judge at the time now.  Always fills *out. */
void	certcheck_run(const struct cert_check *cc, struct cert_verdict *out);

#endif
