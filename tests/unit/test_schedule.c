/*
 * Unit tests for the poll schedule of core/propagation.c (prop_poll_gap):
 * the gap before an address's next query, with and without a learned
 * arrival window, and the query budget it implies; and the ends of cache
 * waits (prop_cache_end, prop_hold_end): whole seconds, never before the
 * bound, less than a second after it.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "../../core/propagation.h"
#include "unit.h"

#define MS(x)	((x) / 1000.0)
#define EPS	1e-9

/* No window: the plain interval, whatever the time. */
static void
test_no_window(void **state)
{
	(void)state;
	assert_true(prop_poll_gap(0, 0, 0, 0) == MS(PROP_INTERVAL_MS));
	assert_true(prop_poll_gap(7.3, 0, 1, 2) == MS(PROP_INTERVAL_MS));
}

/* Outside the window sparse (the last gap before it ends at lo), dense inside. */
static void
test_window(void **state)
{
	(void)state;
	assert_true(prop_poll_gap(0, 1, 5, 5.3) == MS(PROP_SPARSE_MS));
	assert_true(prop_poll_gap(4.9, 1, 5, 5.3) - 0.1 < EPS);	/* lands at lo */
	assert_true(prop_poll_gap(4.9, 1, 5, 5.3) - 0.1 > -EPS);
	assert_true(prop_poll_gap(4.99, 1, 5, 5.3) == MS(PROP_DENSE_MS));	/* never below */
	assert_true(prop_poll_gap(5, 1, 5, 5.3) == MS(PROP_DENSE_MS));
	assert_true(prop_poll_gap(5.3, 1, 5, 5.3) == MS(PROP_DENSE_MS));
	assert_true(prop_poll_gap(5.31, 1, 5, 5.3) == MS(PROP_SPARSE_MS));	/* missed */
	/* a window from the start (lag 0): dense at once */
	assert_true(prop_poll_gap(0, 1, 0, 0.2) == MS(PROP_DENSE_MS));
}

/* Queries an address gets from 0 to end when nothing arrives (instant answers). */
static unsigned
queries(double end, int have, double lo, double hi)
{
	double t = 0;
	unsigned n = 0;

	while (t < end) {
		n++;
		t += prop_poll_gap(t, have, lo, hi);
	}
	return n;
}

/*
 * The budget: a 5 s lag learned as [4.9, 5.15] costs no more queries up to
 * the arrival than 10 per second, nor does a window that missed (the lag
 * changed to 5 s from 2 s); no gap is longer than PROP_SPARSE_MS.
 */
static void
test_budget(void **state)
{
	(void)state;
	assert_true(queries(5.05, 1, 4.9, 5.15) <= 5.05 * 1000 / PROP_INTERVAL_MS);
	assert_true(queries(5.05, 1, 1.93, 2.17) <= 5.05 * 1000 / PROP_INTERVAL_MS);
	assert_true(queries(3.05, 1, 2.9, 3.15) <= 3.05 * 1000 / PROP_INTERVAL_MS);
	/* the dense part is short: at most its width / PROP_DENSE_MS + 1 queries */
	assert_true(queries(5.15, 1, 4.9, 5.15) - queries(4.9, 1, 4.9, 5.15) <=
	    (unsigned)(0.25 / MS(PROP_DENSE_MS)) + 1);
	for (double t = 0; t < 12; t += 0.01)
		assert_true(prop_poll_gap(t, 1, 4.9, 5.15) <= MS(PROP_SPARSE_MS) + EPS);
}

/* A cache wait ends on the whole second at or after its bound; none stays none. */
static void
test_cache_end(void **state)
{
	(void)state;
	assert_true(prop_cache_end(0) == 0);
	assert_true(prop_cache_end(1795876690.343) == 1795876691.0);
	assert_true(prop_cache_end(1795876690.999) == 1795876691.0);
	assert_true(prop_cache_end(1795876690.0) == 1795876690.0);	/* already whole */
	assert_true(prop_cache_end(1795876690.001) == 1795876691.0);
}

/* The hold: from + hold, or its cap, up to the whole second; no hold: 0. */
static void
test_hold_end(void **state)
{
	struct prop_target t = { .hold = 11 };

	(void)state;
	assert_true(prop_hold_end(&t, 1000.25) == 1012.0);
	t.hold_until = 1005.5;				/* the cap comes first */
	assert_true(prop_hold_end(&t, 1000.25) == 1006.0);
	t.hold_until = 1100;				/* a cap that does not bite */
	assert_true(prop_hold_end(&t, 1000.25) == 1012.0);
	t.hold = 0;
	assert_true(prop_hold_end(&t, 1000.25) == 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_no_window),
		cmocka_unit_test(test_window),
		cmocka_unit_test(test_budget),
		cmocka_unit_test(test_cache_end),
		cmocka_unit_test(test_hold_end),
	};

	return cmocka_run_group_tests_name("schedule", tests, NULL, NULL);
}
