/* DNS addresses, queries and blocking exchanges; see dnsio.h. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dnsio.h"
#include "log.h"

static void
addr_text(struct dns_addr *a)
{
	char host[INET6_ADDRSTRLEN];
	unsigned port;

	if (a->sa.ss_family == AF_INET6) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&a->sa;

		inet_ntop(AF_INET6, &s6->sin6_addr, host, sizeof(host));
		port = ntohs(s6->sin6_port);
		if (port == DNS_PORT)
			snprintf(a->text, sizeof(a->text), "%s", host);
		else
			snprintf(a->text, sizeof(a->text), "[%s]:%u", host, port);
	} else {
		struct sockaddr_in *s4 = (struct sockaddr_in *)&a->sa;

		inet_ntop(AF_INET, &s4->sin_addr, host, sizeof(host));
		port = ntohs(s4->sin_port);
		if (port == DNS_PORT)
			snprintf(a->text, sizeof(a->text), "%s", host);
		else
			snprintf(a->text, sizeof(a->text), "%s:%u", host, port);
	}
}

static int
parse_port(const char *s, unsigned *port)
{
	char *end;
	unsigned long v;

	if (*s < '0' || *s > '9')
		return -1;
	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno != 0 || *end != '\0' || v == 0 || v > 65535)
		return -1;
	*port = (unsigned)v;
	return 0;
}

int
dnsio_parse_addr(const char *s, struct dns_addr *out)
{
	char host[INET6_ADDRSTRLEN + 1];
	const char *colon, *end;
	unsigned port = DNS_PORT;
	size_t n;

	memset(out, 0, sizeof(*out));
	if (s[0] == '[') {
		if ((end = strchr(s, ']')) == NULL)
			return -1;
		n = (size_t)(end - s - 1);
		if (end[1] == ':') {
			if (parse_port(end + 2, &port) == -1)
				return -1;
		} else if (end[1] != '\0')
			return -1;
		s++;
	} else if ((colon = strchr(s, ':')) != NULL && strchr(colon + 1, ':') == NULL) {
		n = (size_t)(colon - s);
		if (parse_port(colon + 1, &port) == -1)
			return -1;
	} else
		n = strlen(s);
	if (n == 0 || n >= sizeof(host))
		return -1;
	memcpy(host, s, n);
	host[n] = '\0';
	if (strchr(host, ':') != NULL) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&out->sa;

		if (inet_pton(AF_INET6, host, &s6->sin6_addr) != 1)
			return -1;
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons((uint16_t)port);
		out->salen = sizeof(*s6);
	} else {
		struct sockaddr_in *s4 = (struct sockaddr_in *)&out->sa;

		if (inet_pton(AF_INET, host, &s4->sin_addr) != 1)
			return -1;
		s4->sin_family = AF_INET;
		s4->sin_port = htons((uint16_t)port);
		out->salen = sizeof(*s4);
	}
	addr_text(out);
	return 0;
}

void
dnsio_addr_from_sa(const struct sockaddr *sa, socklen_t len, struct dns_addr *out)
{
	memset(out, 0, sizeof(*out));
	memcpy(&out->sa, sa, len);
	out->salen = len;
	if (sa->sa_family == AF_INET6) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&out->sa;

		if (s6->sin6_port == 0)
			s6->sin6_port = htons(DNS_PORT);
	} else {
		struct sockaddr_in *s4 = (struct sockaddr_in *)&out->sa;

		if (s4->sin_port == 0)
			s4->sin_port = htons(DNS_PORT);
	}
	addr_text(out);
}

int
dnsio_addr_from_rr(const ldns_rr *rr, struct dns_addr *out)
{
	ldns_rdf *rd = ldns_rr_rdf(rr, 0);

	if (rd == NULL)
		return -1;
	if (ldns_rr_get_type(rr) == LDNS_RR_TYPE_A && ldns_rdf_size(rd) == 4) {
		struct sockaddr_in s4 = { .sin_family = AF_INET };

		memcpy(&s4.sin_addr, ldns_rdf_data(rd), 4);
		dnsio_addr_from_sa((struct sockaddr *)&s4, sizeof(s4), out);
		return 0;
	}
	if (ldns_rr_get_type(rr) == LDNS_RR_TYPE_AAAA && ldns_rdf_size(rd) == 16) {
		struct sockaddr_in6 s6 = { .sin6_family = AF_INET6 };

		memcpy(&s6.sin6_addr, ldns_rdf_data(rd), 16);
		dnsio_addr_from_sa((struct sockaddr *)&s6, sizeof(s6), out);
		return 0;
	}
	return -1;
}

ldns_pkt *
dnsio_query_new(const char *qname, ldns_rr_type qtype, int rd)
{
	ldns_rdf *dname = ldns_dname_new_frm_str(qname);
	ldns_pkt *q;

	if (dname == NULL)
		return NULL;
	/* The packet takes ownership of dname. */
	q = ldns_pkt_query_new(dname, qtype, LDNS_RR_CLASS_IN, rd ? LDNS_RD : 0);
	if (q == NULL)
		return NULL;
	ldns_pkt_set_random_id(q);
	ldns_pkt_set_edns_udp_size(q, DNS_EDNS_UDP_SIZE);
	return q;
}

/* Remaining milliseconds until deadline (seconds), at least 0. */
static int
ms_left(double deadline)
{
	double left = (deadline - log_now()) * 1000.0;

	return left > 0 ? (int)left + 1 : 0;
}

/* Wait for fd to be ready for events; 1 ready, 0 timeout, -1 error. */
static int
wait_fd(int fd, short events, double deadline)
{
	struct pollfd pfd = { .fd = fd, .events = events };
	int n;

	for (;;) {
		n = poll(&pfd, 1, ms_left(deadline));
		if (n == -1 && errno == EINTR)
			continue;
		return n > 0 ? 1 : n;
	}
}

static const char *
errno_reason(int e)
{
	switch (e) {
	case ECONNREFUSED:
		return "connection refused";
	case ENETUNREACH:
		return "network unreachable";
	case EHOSTUNREACH:
		return "host unreachable";
	case EADDRNOTAVAIL:
		return "address not available";
	default:
		return "network error";
	}
}

/* Read exactly len bytes before deadline; 0 or -1. */
static int
read_full(int fd, uint8_t *buf, size_t len, double deadline, const char **err)
{
	size_t got = 0;
	ssize_t n;

	while (got < len) {
		if (wait_fd(fd, POLLIN, deadline) != 1) {
			*err = "timeout";
			return -1;
		}
		n = read(fd, buf + got, len - got);
		if (n == 0) {
			*err = "connection closed";
			return -1;
		}
		if (n == -1) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			*err = errno_reason(errno);
			return -1;
		}
		got += (size_t)n;
	}
	return 0;
}

int
dnsio_tcp_exchange(const struct dns_addr *a, const uint8_t *msg, size_t len,
    uint8_t **resp, size_t *resplen, int timeout_ms, const char **err)
{
	double deadline = log_now() + timeout_ms / 1000.0;
	uint8_t *out = NULL, lenbuf[2];
	size_t sent = 0, rlen;
	socklen_t elen = sizeof(int);
	int fd, e = 0, rc = -1;
	ssize_t n;

	if (len > DNS_TCP_MAX) {
		*err = "message too large";
		return -1;
	}
	fd = socket(a->sa.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd == -1) {
		*err = errno_reason(errno);
		return -1;
	}
	if (connect(fd, (const struct sockaddr *)&a->sa, a->salen) == -1) {
		if (errno != EINPROGRESS) {
			*err = errno_reason(errno);
			goto out;
		}
		if (wait_fd(fd, POLLOUT, deadline) != 1) {
			*err = "timeout";
			goto out;
		}
		if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &elen) == -1 || e != 0) {
			*err = errno_reason(e);
			goto out;
		}
	}
	/* Length prefix and message in one buffer, so one segment usually. */
	if ((out = malloc(len + 2)) == NULL) {
		*err = "out of memory";
		goto out;
	}
	out[0] = (uint8_t)(len >> 8);
	out[1] = (uint8_t)len;
	memcpy(out + 2, msg, len);
	while (sent < len + 2) {
		if (wait_fd(fd, POLLOUT, deadline) != 1) {
			*err = "timeout";
			goto out;
		}
		n = write(fd, out + sent, len + 2 - sent);
		if (n == -1) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			*err = errno_reason(errno);
			goto out;
		}
		sent += (size_t)n;
	}
	free(out);
	out = NULL;
	if (read_full(fd, lenbuf, 2, deadline, err) == -1)
		goto out;
	rlen = ((size_t)lenbuf[0] << 8) | lenbuf[1];
	if (rlen < LDNS_HEADER_SIZE) {
		*err = "short answer";
		goto out;
	}
	if ((out = malloc(rlen)) == NULL) {
		*err = "out of memory";
		goto out;
	}
	if (read_full(fd, out, rlen, deadline, err) == -1)
		goto out;
	*resp = out;
	*resplen = rlen;
	out = NULL;
	rc = 0;
out:
	free(out);
	close(fd);
	return rc;
}

/* One UDP exchange; the matching answer or NULL. */
static ldns_pkt *
udp_ask(const struct dns_addr *a, const ldns_pkt *q, const uint8_t *wire, size_t len,
    double deadline, const char **err)
{
	uint8_t buf[DNS_TCP_MAX];
	ldns_pkt *resp = NULL;
	ssize_t n;
	int fd;

	fd = socket(a->sa.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd == -1) {
		*err = errno_reason(errno);
		return NULL;
	}
	/* A connected socket accepts answers only from a and reports ICMP errors. */
	if (connect(fd, (const struct sockaddr *)&a->sa, a->salen) == -1 ||
	    send(fd, wire, len, 0) == -1) {
		*err = errno_reason(errno);
		goto out;
	}
	for (;;) {
		if (wait_fd(fd, POLLIN, deadline) != 1) {
			*err = "timeout";
			goto out;
		}
		n = recv(fd, buf, sizeof(buf), 0);
		if (n == -1) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			*err = errno_reason(errno);
			goto out;
		}
		if (ldns_wire2pkt(&resp, buf, (size_t)n) != LDNS_STATUS_OK)
			continue;	/* garbage: keep waiting for the real answer */
		if (dnsio_matches(q, resp))
			break;
		ldns_pkt_free(resp);
		resp = NULL;
	}
out:
	close(fd);
	return resp;
}

/* One query over TCP; the matching answer or NULL. */
static ldns_pkt *
tcp_ask(const struct dns_addr *a, const ldns_pkt *q, const uint8_t *wire, size_t len,
    int timeout_ms, const char **err)
{
	uint8_t *rwire = NULL;
	ldns_pkt *resp = NULL;
	size_t rlen;

	if (dnsio_tcp_exchange(a, wire, len, &rwire, &rlen, timeout_ms, err) == -1)
		return NULL;
	if (ldns_wire2pkt(&resp, rwire, rlen) != LDNS_STATUS_OK) {
		*err = "malformed answer";
		resp = NULL;
	} else if (!dnsio_matches(q, resp)) {
		*err = "answer does not match the query";
		ldns_pkt_free(resp);
		resp = NULL;
	}
	free(rwire);
	return resp;
}

ldns_pkt *
dnsio_ask_tcp(const struct dns_addr *a, const ldns_pkt *q, int timeout_ms, const char **err)
{
	uint8_t *wire = NULL;
	ldns_pkt *resp;
	size_t len;

	if (ldns_pkt2wire(&wire, q, &len) != LDNS_STATUS_OK) {
		*err = "cannot build query";
		return NULL;
	}
	resp = tcp_ask(a, q, wire, len, timeout_ms, err);
	free(wire);
	return resp;
}

ldns_pkt *
dnsio_ask(const struct dns_addr *a, const ldns_pkt *q, int timeout_ms, const char **err)
{
	double deadline = log_now() + timeout_ms / 1000.0;
	uint8_t *wire = NULL;
	ldns_pkt *resp = NULL;
	size_t len;

	if (ldns_pkt2wire(&wire, q, &len) != LDNS_STATUS_OK) {
		*err = "cannot build query";
		return NULL;
	}
	resp = udp_ask(a, q, wire, len, deadline, err);
	if (resp != NULL && ldns_pkt_tc(resp)) {
		log_debug("%s: truncated answer, asking again over TCP", a->text);
		ldns_pkt_free(resp);
		resp = tcp_ask(a, q, wire, len, ms_left(deadline), err);
	}
	free(wire);
	return resp;
}

int
dnsio_matches(const ldns_pkt *q, const ldns_pkt *resp)
{
	ldns_rr *qq, *rq;

	if (ldns_pkt_id(q) != ldns_pkt_id(resp) || !ldns_pkt_qr(resp))
		return 0;
	if (ldns_pkt_qdcount(resp) != 1 || ldns_pkt_qdcount(q) != 1)
		return 0;
	qq = ldns_rr_list_rr(ldns_pkt_question(q), 0);
	rq = ldns_rr_list_rr(ldns_pkt_question(resp), 0);
	return ldns_rr_get_type(qq) == ldns_rr_get_type(rq) &&
	    ldns_rr_get_class(qq) == ldns_rr_get_class(rq) &&
	    ldns_dname_compare(ldns_rr_owner(qq), ldns_rr_owner(rq)) == 0;
}

void
dnsio_dname_text(const ldns_rdf *d, char *out, size_t outlen)
{
	char *s = d != NULL && ldns_rdf_get_type(d) == LDNS_RDF_TYPE_DNAME ? ldns_rdf2str(d) : NULL;
	size_t n, i;

	if (s == NULL) {
		snprintf(out, outlen, "?");
		return;
	}
	n = strlen(s);
	if (n > 1 && s[n - 1] == '.')
		s[--n] = '\0';
	for (i = 0; i < n; i++)
		if (s[i] >= 'A' && s[i] <= 'Z')
			s[i] = (char)(s[i] - 'A' + 'a');
	snprintf(out, outlen, "%s", s);
	free(s);
}

const char *
dnsio_rcode_name(int rcode)
{
	static const char *const names[] = { "NOERROR", "FORMERR", "SERVFAIL",
	    "NXDOMAIN", "NOTIMP", "REFUSED", "YXDOMAIN", "YXRRSET", "NXRRSET",
	    "NOTAUTH", "NOTZONE" };

	if (rcode >= 0 && (size_t)rcode < sizeof(names) / sizeof(names[0]))
		return names[rcode];
	return "RCODE?";
}
