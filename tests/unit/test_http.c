/*
 * Unit tests for the HTTP client's retry policy (http_retry_pause,
 * http_retry_status in core/http.c): the doubling pause and its cap, a
 * Retry-After that is honoured however long when a deadline bounds it, and
 * a pause that would end after the deadline not taken.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "../../core/http.h"
#include "unit.h"

#define EPS	1e-9

static const struct http_retry p = {
	.attempts = 5, .first_s = 0.5, .max_s = 3, .statuses = { 423, 503, 0 },
};

static int
near(double a, double b)
{
	return a - b < EPS && b - a < EPS;
}

/* 0.5, 1, 2, then the cap; none after the last attempt. */
static void
test_doubling(void **state)
{
	(void)state;
	assert_true(near(http_retry_pause(&p, 1, 0, 100, 0), 0.5));
	assert_true(near(http_retry_pause(&p, 2, 0, 100, 0), 1));
	assert_true(near(http_retry_pause(&p, 3, 0, 100, 0), 2));
	assert_true(near(http_retry_pause(&p, 4, 0, 100, 0), 3));
	assert_true(http_retry_pause(&p, 5, 0, 100, 0) < 0);
	assert_true(http_retry_pause(&p, 9, 0, 100, 0) < 0);
}

/*
 * Retry-After wins: a 287 s block is waited for whole when the deadline is
 * later (not cut to 60 s), refused when it is earlier; with no deadline it
 * is cut to HTTP_MAX_RETRY_AFTER_S.
 */
static void
test_retry_after(void **state)
{
	(void)state;
	assert_true(near(http_retry_pause(&p, 1, 287, 100, 400), 287));
	assert_true(http_retry_pause(&p, 1, 287, 100, 386) < 0);
	assert_true(near(http_retry_pause(&p, 1, 287, 100, 387), 287));
	assert_true(near(http_retry_pause(&p, 1, 287, 100, 0), HTTP_MAX_RETRY_AFTER_S));
	assert_true(near(http_retry_pause(&p, 1, 2, 100, 0), 2));
	/* shorter than the doubling pause: the server's word still counts */
	assert_true(near(http_retry_pause(&p, 4, 1, 100, 0), 1));
	/* attempts run out whatever the server says */
	assert_true(http_retry_pause(&p, 5, 1, 100, 400) < 0);
}

/* The doubling pause is bounded by the deadline too. */
static void
test_deadline(void **state)
{
	(void)state;
	assert_true(near(http_retry_pause(&p, 3, 0, 100, 102), 2));
	assert_true(http_retry_pause(&p, 3, 0, 100, 101.9) < 0);
}

static void
test_statuses(void **state)
{
	struct http_retry full = { .attempts = 1 };
	size_t i;

	(void)state;
	assert_true(http_retry_status(&p, 423));
	assert_true(http_retry_status(&p, 503));
	assert_false(http_retry_status(&p, 500));
	assert_false(http_retry_status(&p, 0));
	/* a full list without its terminator is read only to its end */
	for (i = 0; i < HTTP_MAX_STATUSES; i++)
		full.statuses[i] = 500 + (long)i;
	assert_true(http_retry_status(&full, 500 + HTTP_MAX_STATUSES - 1));
	assert_false(http_retry_status(&full, 500 + HTTP_MAX_STATUSES));
}

/* Plain HTTP goes to link-local and loopback metadata hosts only. */
static void
test_metadata_hosts(void **state)
{
	static const char *yes[] = { "169.254.169.254", "169.254.0.1", "127.0.0.1",
	    "127.53.0.9", "[::1]", "[fd00:ec2::254]", "[fe80::1]", "metadata.google.internal",
	    "METADATA.google.internal.", NULL };
	static const char *no[] = { "example.com", "10.0.0.1", "169.255.169.254",
	    "128.0.0.1", "[fd00:ec2::253]", "[2001:db8::1]", "metadata.google.internal.evil",
	    "xmetadata.google.internal", "[::1", "::1", "", "1.2.3", NULL };
	size_t i;

	(void)state;
	for (i = 0; yes[i] != NULL; i++)
		if (!http_metadata_host(yes[i]))
			fail_msg("%s refused", yes[i]);
	for (i = 0; no[i] != NULL; i++)
		if (http_metadata_host(no[i]))
			fail_msg("%s accepted", no[i]);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_doubling),
		cmocka_unit_test(test_retry_after),
		cmocka_unit_test(test_deadline),
		cmocka_unit_test(test_statuses),
		cmocka_unit_test(test_metadata_hosts),
	};

	return cmocka_run_group_tests_name("http", tests, NULL, NULL);
}
