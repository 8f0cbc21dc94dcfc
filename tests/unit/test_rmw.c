/*
 * Unit tests for the read-modify-write helper (core/rmw.c): the
 * modification (add exactly, remove exactly, foreign records and their TTLs
 * untouched, a TXT value bare or quoted), the check after a write, the
 * pause, and whole changes against a fake whole-zone API into which other
 * writers are injected at the moments that matter: between our read and
 * our write (a refused stale write when the API checks versions) and after
 * our write (a stale writer erasing our records, caught by the check or,
 * after the wait, by rmw_confirm).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "../../core/log.h"
#include "../../core/rmw.h"
#include "../../core/status.h"
#include "unit.h"

#define NAME	"_acme-challenge.example.test"

/* The fake API: one zone, replaced whole by each write. */
struct fake {
	struct rr_list zone;		/* what the server holds */
	unsigned version;		/* bumped by every write */
	int	 check_version;		/* refuse a write whose before is stale */
	int	 stale_after_write;	/* the next N writes: a stale writer then erases ours */
	int	 foreign_before_write;	/* the next N writes: another writer adds a record first */
	int	 busy_reads;		/* the next N reads: "not now" */
	int	 reads, writes, conflicts;
};

static void
set_version(struct rr_list *l, unsigned v)
{
	snprintf(l->version, sizeof(l->version), "v%u", v);
}

static int
fake_read(void *priv, const struct zone *z, const struct record *recs, size_t n,
    struct rr_list *out)
{
	struct fake *f = priv;

	(void)z;
	(void)recs;
	(void)n;
	f->reads++;
	if (f->busy_reads > 0) {
		f->busy_reads--;
		return RMW_BUSY;
	}
	if (rr_list_copy(out, &f->zone) == -1)
		return ST_FAIL;
	set_version(out, f->version);
	return ST_OK;
}

static int
fake_write(void *priv, const struct zone *z, const struct rr_list *before,
    const struct rr_list *after)
{
	struct fake *f = priv;
	struct rr_list stale = { 0 }, now = { 0 };
	int erase = 0;

	(void)z;
	f->writes++;
	if (f->foreign_before_write > 0) {	/* another writer gets in first */
		f->foreign_before_write--;
		rr_list_add(&f->zone, "www.example.test", "A", "192.0.2.7", 300);
		f->version++;
	}
	set_version(&now, f->version);
	if (f->check_version && strcmp(before->version, now.version) != 0) {
		f->conflicts++;
		return RMW_CONFLICT;
	}
	if (f->stale_after_write > 0) {		/* a writer that read before us */
		f->stale_after_write--;
		erase = rr_list_copy(&stale, &f->zone) == 0;
	}
	rr_list_copy(&f->zone, after);
	f->version++;
	if (erase) {				/* ... writes after us */
		rr_list_copy(&f->zone, &stale);
		f->version++;
	}
	rr_list_clear(&stale);
	return ST_OK;
}

static const char *
fake_busy_why(void *priv)
{
	(void)priv;
	return "HTTP 409 still_creating";
}

static const struct rmw_ops fake_ops = {
	.label = "Fake DNS", .quote_txt = 0, .read = fake_read, .write = fake_write,
	.busy_why = fake_busy_why,
};

static void
fake_init(struct fake *f)
{
	memset(f, 0, sizeof(*f));
	rr_list_add(&f->zone, "example.test", "A", "192.0.2.1", 3600);
	rr_list_add(&f->zone, NAME, "TXT", "\"foreign\"", 3600);
}

static struct rmw_ctx
ctx(struct fake *f)
{
	struct rmw_ctx c = { .ops = &fake_ops, .priv = f, .state_dir = unit_tmpdir,
		.lock_prefix = "fake", .pause_first_s = 0.001, .pause_max_s = 0.004 };

	return c;
}

static struct zone zone_example = { .apex = "example.test" };

/* Each test's fake API, helper context and two values at NAME. */
struct fx {
	struct fake f;
	struct rmw_ctx c;
	struct record r[2];
	struct rr_list after;
	int	 ch[2];
};

static int
fx_setup(void **state)
{
	struct fx *x = calloc(1, sizeof(*x));

	if (x == NULL)
		return -1;
	fake_init(&x->f);
	x->c = ctx(&x->f);
	x->r[0] = (struct record){ .name = NAME, .value = "v1" };
	x->r[1] = (struct record){ .name = NAME, .value = "v2" };
	*state = x;
	return 0;
}

static int
fx_teardown(void **state)
{
	struct fx *x = *state;

	rr_list_clear(&x->f.zone);
	rr_list_clear(&x->after);
	free(x);
	return 0;
}

/* Apex and wildcard: two values at one name, both added; foreign kept. */
static void
test_apply_add(void **state)
{
	struct fx *x = *state;

	assert_int_equal(rmw_apply(&x->f.zone, x->r, 2, 60, 0, 0, &x->after, x->ch), 2);
	assert_int_equal(x->after.n, 4);
	assert_true(x->ch[0] && x->ch[1]);
	assert_string_equal(x->after.rr[1].rdata, "\"foreign\"");
	assert_int_equal(x->after.rr[1].ttl, 3600);
	assert_string_equal(x->after.rr[2].rdata, "v1");
	assert_int_equal(x->after.rr[2].ttl, 60);
	/* again: nothing to add; quoted in the zone counts as there */
	rr_list_copy(&x->f.zone, &x->after);
	assert_int_equal(rmw_apply(&x->f.zone, x->r, 2, 60, 0, 1, &x->after, x->ch), 0);
	assert_true(!x->ch[0] && !x->ch[1]);
	rr_list_clear(&x->f.zone);
	rr_list_add(&x->f.zone, NAME, "TXT", "\"v1\"", 60);
	assert_int_equal(rmw_apply(&x->f.zone, x->r, 2, 60, 0, 1, &x->after, x->ch), 1);
	assert_string_equal(x->after.rr[1].rdata, "\"v2\"");	/* written quoted */
	assert_true(!x->ch[0] && x->ch[1]);
}

/* Exactly the values go, bare or quoted; a value that is not there changes nothing. */
static void
test_apply_remove(void **state)
{
	struct fx *x = *state;

	x->r[1].value = "gone";
	rr_list_add(&x->f.zone, NAME, "TXT", "\"v1\"", 60);
	rr_list_add(&x->f.zone, NAME, "TXT", "v2", 60);
	rr_list_add(&x->f.zone, "_acme-challenge.other.example.test", "TXT", "v1", 60);
	assert_int_equal(rmw_apply(&x->f.zone, x->r, 2, 0, 1, 0, &x->after, x->ch), 1);
	assert_true(x->ch[0] && !x->ch[1]);
	assert_int_equal(x->after.n, 4);
	assert_string_equal(x->after.rr[1].rdata, "\"foreign\"");
	assert_int_equal(x->after.rr[1].ttl, 3600);
	assert_string_equal(x->after.rr[2].rdata, "v2");
	assert_string_equal(x->after.rr[3].name, "_acme-challenge.other.example.test");
}

static void
test_verify(void **state)
{
	struct fx *x = *state;

	rmw_apply(&x->f.zone, x->r, 1, 60, 0, 0, &x->after, x->ch);
	assert_false(rmw_verify(&x->f.zone, &x->after, x->r, 1, 0));	/* v1 missing */
	assert_true(rmw_verify(&x->after, &x->after, x->r, 1, 0));
	assert_true(rmw_verify(&x->after, &x->f.zone, x->r, 1, 0));	/* a superset is fine */
	assert_false(rmw_verify(&x->after, &x->f.zone, x->r, 1, 1));	/* v1 should be gone */
	assert_true(rmw_verify(&x->f.zone, &x->f.zone, x->r, 1, 1));
}

static void
test_pause(void **state)
{
	(void)state;
	assert_true(rmw_pause(1, 0.25, 16, 0.999999) <= 0.25 + 1e-9);
	assert_true(rmw_pause(1, 0.25, 16, 0) >= 0.125 - 1e-9);
	assert_true(rmw_pause(3, 0.25, 16, 0.999999) <= 1 + 1e-9);
	assert_true(rmw_pause(3, 0.25, 16, 0.999999) > 0.99);
	assert_true(rmw_pause(30, 0.25, 16, 0.999999) <= 16 + 1e-9);
	assert_true(rmw_pause(30, 0.25, 16, 0) >= 8 - 1e-9);
}

/* A stale writer erases our records right after our write: the check sees it. */
static void
test_change_lost_update(void **state)
{
	struct fx *x = *state;

	x->f.stale_after_write = 1;
	unit_cap_begin();
	assert_int_equal(rmw_change(&x->c, &zone_example, x->r, 2, 60, RMW_ADD), ST_OK);
	assert_non_null(strstr(unit_cap_end(), "another writer replaced the records"));
	assert_int_equal(x->f.writes, 2);
	assert_int_equal(x->f.reads, 4);
	assert_true(x->r[0].changed && x->r[1].changed);
	assert_int_equal(x->f.zone.n, 4);
}

/* An API that checks versions refuses the stale write; the next round keeps the new record. */
static void
test_change_conflict(void **state)
{
	struct fx *x = *state;

	x->f.check_version = 1;
	x->f.foreign_before_write = 1;
	unit_cap_begin();
	assert_int_equal(rmw_change(&x->c, &zone_example, x->r, 1, 60, RMW_ADD), ST_OK);
	assert_non_null(strstr(unit_cap_end(), "the API refused the write"));
	assert_int_equal(x->f.conflicts, 1);
	assert_int_equal(x->f.zone.n, 4);		/* A, foreign TXT, www A, v1 */
	assert_string_equal(x->f.zone.rr[2].name, "www.example.test");
}

/* Without version checks, that record is lost: the limit rmw.h states. */
static void
test_change_blind_write_loses_foreign(void **state)
{
	struct fx *x = *state;

	x->f.foreign_before_write = 1;
	assert_int_equal(rmw_change(&x->c, &zone_example, x->r, 1, 60, RMW_ADD), ST_OK);
	assert_int_equal(x->f.zone.n, 3);		/* the www A record is gone */
}

/* Every round loses: give up after the rounds, with the reason. */
static void
test_change_gives_up(void **state)
{
	struct fx *x = *state;
	const char *err;

	x->c.rounds = 3;
	x->f.stale_after_write = 1;
	x->f.check_version = 1;
	x->f.foreign_before_write = 100;	/* a foreign change before each write */
	unit_cap_begin();
	assert_int_equal(rmw_change(&x->c, &zone_example, x->r, 1, 60, RMW_ADD), ST_PROVIDER);
	err = unit_cap_end();
	assert_non_null(strstr(err, "still after 3 rounds; giving up"));
	assert_int_equal(x->f.writes, 3);
}

/* A pause that would end after the deadline is not taken. */
static void
test_change_deadline(void **state)
{
	struct fx *x = *state;

	x->c.pause_first_s = 30;
	x->c.pause_max_s = 60;
	x->c.deadline = log_now() + 5;
	x->f.check_version = 1;
	x->f.foreign_before_write = 100;
	unit_cap_begin();
	assert_int_equal(rmw_change(&x->c, &zone_example, x->r, 1, 60, RMW_ADD), ST_PROVIDER);
	assert_non_null(strstr(unit_cap_end(), "the next would start after the timeout"));
	assert_int_equal(x->f.writes, 1);
}

/* After the wait: a value erased by another writer is written again. */
static void
test_confirm(void **state)
{
	struct fx *x = *state;

	assert_int_equal(rmw_change(&x->c, &zone_example, x->r, 2, 60, RMW_ADD), ST_OK);
	assert_int_equal(rmw_change(&x->c, &zone_example, x->r, 2, 60, RMW_CONFIRM), ST_OK);
	assert_true(!x->r[0].changed && !x->r[1].changed);
	assert_int_equal(x->f.writes, 1);
	/* another writer drops v2 */
	rmw_apply(&x->f.zone, &x->r[1], 1, 0, 1, 0, &x->after, x->ch);
	rr_list_copy(&x->f.zone, &x->after);
	unit_cap_begin();
	assert_int_equal(rmw_change(&x->c, &zone_example, x->r, 2, 60, RMW_CONFIRM), ST_OK);
	assert_non_null(strstr(unit_cap_end(), "1 value(s) dns01 wrote are gone after the wait"));
	assert_true(!x->r[0].changed && x->r[1].changed);
	assert_true(rmw_verify(&x->f.zone, &x->f.zone, x->r, 2, 0));
	assert_int_equal(x->f.zone.n, 4);
}

/* An API that is busy for a while: read again later, then done. */
static void
test_busy(void **state)
{
	struct fx *x = *state;

	x->f.busy_reads = 2;
	unit_cap_begin();
	assert_int_equal(rmw_change(&x->c, &zone_example, x->r, 1, 60, RMW_ADD), ST_OK);
	assert_non_null(strstr(unit_cap_end(), "busy (HTTP 409 still_creating); reading it again"));
	assert_int_equal(x->f.reads, 4);
	assert_int_equal(x->f.writes, 1);
}

/*
 * What an RRset API is sent: only the RRsets that changed, each with the
 * TTL it had (a foreign value's 3600 kept), or ours when it is new; a
 * deleted last value leaves an RRset with no records.
 */
static void
test_rrsets(void **state)
{
	struct fx *x = *state;
	struct rmw_rrset *d = NULL;
	size_t n = 0;

	/* add v1, v2 beside "foreign" (3600): one RRset, TTL 3600 */
	assert_int_equal(rmw_apply(&x->f.zone, x->r, 2, 60, 0, 1, &x->after, x->ch), 2);
	assert_int_equal(rmw_rrsets(&x->f.zone, &x->after, &d, &n), 0);
	assert_int_equal(n, 1);
	assert_string_equal(d[0].name, NAME);
	assert_string_equal(d[0].type, "TXT");
	assert_int_equal(d[0].nold, 1);
	assert_int_equal(d[0].nnew, 3);
	assert_int_equal(d[0].ttl, 3600);
	rmw_rrsets_free(d, n);
	/* nothing changed: nothing to send */
	assert_int_equal(rmw_rrsets(&x->after, &x->after, &d, &n), 0);
	assert_int_equal(n, 0);
	rmw_rrsets_free(d, n);
	/* a new RRset elsewhere gets our TTL; removing it again empties it */
	rr_list_clear(&x->f.zone);
	x->r[0].name = "_acme-challenge.new.example.test";
	assert_int_equal(rmw_apply(&x->f.zone, x->r, 1, 60, 0, 1, &x->after, x->ch), 1);
	assert_int_equal(rmw_rrsets(&x->f.zone, &x->after, &d, &n), 0);
	assert_true(n == 1 && d[0].nold == 0 && d[0].nnew == 1 && d[0].ttl == 60);
	rmw_rrsets_free(d, n);
	assert_int_equal(rmw_rrsets(&x->after, &x->f.zone, &d, &n), 0);
	assert_true(n == 1 && d[0].nold == 1 && d[0].nnew == 0 && d[0].ttl == 60);
	rmw_rrsets_free(d, n);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_rrsets, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_apply_add, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_apply_remove, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_verify, fx_setup, fx_teardown),
		cmocka_unit_test(test_pause),
		cmocka_unit_test_setup_teardown(test_change_lost_update, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_change_conflict, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_change_blind_write_loses_foreign, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_change_gives_up, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_change_deadline, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_confirm, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_busy, fx_setup, fx_teardown),
	};

	return cmocka_run_group_tests_name("rmw", tests, unit_group_setup, unit_group_teardown);
}
