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

/* Apex and wildcard: two values at one name, both added; foreign kept. */
static void
test_apply_add(void **state)
{
	struct fake f;
	struct rr_list after = { 0 };
	struct record r[2] = { { .name = NAME, .value = "v1" }, { .name = NAME, .value = "v2" } };
	int ch[2];

	(void)state;
	fake_init(&f);
	assert_int_equal(rmw_apply(&f.zone, r, 2, 60, 0, 0, &after, ch), 2);
	assert_int_equal(after.n, 4);
	assert_true(ch[0] && ch[1]);
	assert_string_equal(after.rr[1].rdata, "\"foreign\"");
	assert_int_equal(after.rr[1].ttl, 3600);
	assert_string_equal(after.rr[2].rdata, "v1");
	assert_int_equal(after.rr[2].ttl, 60);
	/* again: nothing to add; quoted in the zone counts as there */
	rr_list_copy(&f.zone, &after);
	assert_int_equal(rmw_apply(&f.zone, r, 2, 60, 0, 1, &after, ch), 0);
	assert_true(!ch[0] && !ch[1]);
	rr_list_clear(&f.zone);
	rr_list_add(&f.zone, NAME, "TXT", "\"v1\"", 60);
	assert_int_equal(rmw_apply(&f.zone, r, 2, 60, 0, 1, &after, ch), 1);
	assert_string_equal(after.rr[1].rdata, "\"v2\"");	/* written quoted */
	assert_true(!ch[0] && ch[1]);
	rr_list_clear(&after);
	rr_list_clear(&f.zone);
}

/* Exactly the values go, bare or quoted; a value that is not there changes nothing. */
static void
test_apply_remove(void **state)
{
	struct fake f;
	struct rr_list after = { 0 };
	struct record r[2] = { { .name = NAME, .value = "v1" }, { .name = NAME, .value = "gone" } };
	int ch[2];

	(void)state;
	fake_init(&f);
	rr_list_add(&f.zone, NAME, "TXT", "\"v1\"", 60);
	rr_list_add(&f.zone, NAME, "TXT", "v2", 60);
	rr_list_add(&f.zone, "_acme-challenge.other.example.test", "TXT", "v1", 60);
	assert_int_equal(rmw_apply(&f.zone, r, 2, 0, 1, 0, &after, ch), 1);
	assert_true(ch[0] && !ch[1]);
	assert_int_equal(after.n, 4);
	assert_string_equal(after.rr[1].rdata, "\"foreign\"");
	assert_int_equal(after.rr[1].ttl, 3600);
	assert_string_equal(after.rr[2].rdata, "v2");
	assert_string_equal(after.rr[3].name, "_acme-challenge.other.example.test");
	rr_list_clear(&after);
	rr_list_clear(&f.zone);
}

static void
test_verify(void **state)
{
	struct fake f;
	struct rr_list after = { 0 };
	struct record r[1] = { { .name = NAME, .value = "v1" } };
	int ch[1];

	(void)state;
	fake_init(&f);
	rmw_apply(&f.zone, r, 1, 60, 0, 0, &after, ch);
	assert_false(rmw_verify(&f.zone, &after, r, 1, 0));	/* v1 missing */
	assert_true(rmw_verify(&after, &after, r, 1, 0));
	assert_true(rmw_verify(&after, &f.zone, r, 1, 0));	/* a superset is fine */
	assert_false(rmw_verify(&after, &f.zone, r, 1, 1));	/* v1 should be gone */
	assert_true(rmw_verify(&f.zone, &f.zone, r, 1, 1));
	rr_list_clear(&after);
	rr_list_clear(&f.zone);
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
	struct fake f;
	struct rmw_ctx c;
	struct record r[2] = { { .name = NAME, .value = "v1" }, { .name = NAME, .value = "v2" } };

	(void)state;
	fake_init(&f);
	c = ctx(&f);
	f.stale_after_write = 1;
	unit_cap_begin();
	assert_int_equal(rmw_change(&c, &zone_example, r, 2, 60, RMW_ADD), ST_OK);
	assert_non_null(strstr(unit_cap_end(), "another writer replaced the records"));
	assert_int_equal(f.writes, 2);
	assert_int_equal(f.reads, 4);
	assert_true(r[0].changed && r[1].changed);
	assert_int_equal(f.zone.n, 4);
	rr_list_clear(&f.zone);
}

/* An API that checks versions refuses the stale write; the next round keeps the new record. */
static void
test_change_conflict(void **state)
{
	struct fake f;
	struct rmw_ctx c;
	struct record r[1] = { { .name = NAME, .value = "v1" } };

	(void)state;
	fake_init(&f);
	c = ctx(&f);
	f.check_version = 1;
	f.foreign_before_write = 1;
	unit_cap_begin();
	assert_int_equal(rmw_change(&c, &zone_example, r, 1, 60, RMW_ADD), ST_OK);
	assert_non_null(strstr(unit_cap_end(), "the API refused the write"));
	assert_int_equal(f.conflicts, 1);
	assert_int_equal(f.zone.n, 4);		/* A, foreign TXT, www A, v1 */
	assert_string_equal(f.zone.rr[2].name, "www.example.test");
	rr_list_clear(&f.zone);
}

/* Without version checks, that record is lost: the limit rmw.h states. */
static void
test_change_blind_write_loses_foreign(void **state)
{
	struct fake f;
	struct rmw_ctx c;
	struct record r[1] = { { .name = NAME, .value = "v1" } };

	(void)state;
	fake_init(&f);
	c = ctx(&f);
	f.foreign_before_write = 1;
	assert_int_equal(rmw_change(&c, &zone_example, r, 1, 60, RMW_ADD), ST_OK);
	assert_int_equal(f.zone.n, 3);		/* the www A record is gone */
	rr_list_clear(&f.zone);
}

/* Every round loses: give up after the rounds, with the reason. */
static void
test_change_gives_up(void **state)
{
	struct fake f;
	struct rmw_ctx c;
	struct record r[1] = { { .name = NAME, .value = "v1" } };
	const char *err;

	(void)state;
	fake_init(&f);
	c = ctx(&f);
	c.rounds = 3;
	f.stale_after_write = 1;
	f.check_version = 1;
	f.foreign_before_write = 100;	/* a foreign change before each write */
	unit_cap_begin();
	assert_int_equal(rmw_change(&c, &zone_example, r, 1, 60, RMW_ADD), ST_PROVIDER);
	err = unit_cap_end();
	assert_non_null(strstr(err, "still after 3 rounds; giving up"));
	assert_int_equal(f.writes, 3);
	rr_list_clear(&f.zone);
}

/* A pause that would end after the deadline is not taken. */
static void
test_change_deadline(void **state)
{
	struct fake f;
	struct rmw_ctx c;
	struct record r[1] = { { .name = NAME, .value = "v1" } };

	(void)state;
	fake_init(&f);
	c = ctx(&f);
	c.pause_first_s = 30;
	c.pause_max_s = 60;
	c.deadline = log_now() + 5;
	f.check_version = 1;
	f.foreign_before_write = 100;
	unit_cap_begin();
	assert_int_equal(rmw_change(&c, &zone_example, r, 1, 60, RMW_ADD), ST_PROVIDER);
	assert_non_null(strstr(unit_cap_end(), "the next would start after the timeout"));
	assert_int_equal(f.writes, 1);
	rr_list_clear(&f.zone);
}

/* After the wait: a value erased by another writer is written again. */
static void
test_confirm(void **state)
{
	struct fake f;
	struct rmw_ctx c;
	struct record r[2] = { { .name = NAME, .value = "v1" }, { .name = NAME, .value = "v2" } };
	struct rr_list after = { 0 };
	int ch[2];

	(void)state;
	fake_init(&f);
	c = ctx(&f);
	assert_int_equal(rmw_change(&c, &zone_example, r, 2, 60, RMW_ADD), ST_OK);
	assert_int_equal(rmw_change(&c, &zone_example, r, 2, 60, RMW_CONFIRM), ST_OK);
	assert_true(!r[0].changed && !r[1].changed);
	assert_int_equal(f.writes, 1);
	/* another writer drops v2 */
	rmw_apply(&f.zone, &r[1], 1, 0, 1, 0, &after, ch);
	rr_list_copy(&f.zone, &after);
	unit_cap_begin();
	assert_int_equal(rmw_change(&c, &zone_example, r, 2, 60, RMW_CONFIRM), ST_OK);
	assert_non_null(strstr(unit_cap_end(), "1 value(s) dns01 wrote are gone after the wait"));
	assert_true(!r[0].changed && r[1].changed);
	assert_true(rmw_verify(&f.zone, &f.zone, r, 2, 0));
	assert_int_equal(f.zone.n, 4);
	rr_list_clear(&after);
	rr_list_clear(&f.zone);
}

/* An API that is busy for a while: read again later, then done. */
static void
test_busy(void **state)
{
	struct fake f;
	struct rmw_ctx c;
	struct record r[1] = { { .name = NAME, .value = "v1" } };

	(void)state;
	fake_init(&f);
	c = ctx(&f);
	f.busy_reads = 2;
	unit_cap_begin();
	assert_int_equal(rmw_change(&c, &zone_example, r, 1, 60, RMW_ADD), ST_OK);
	assert_non_null(strstr(unit_cap_end(), "busy (HTTP 409 still_creating); reading it again"));
	assert_int_equal(f.reads, 4);
	assert_int_equal(f.writes, 1);
	rr_list_clear(&f.zone);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_apply_add),
		cmocka_unit_test(test_apply_remove),
		cmocka_unit_test(test_verify),
		cmocka_unit_test(test_pause),
		cmocka_unit_test(test_change_lost_update),
		cmocka_unit_test(test_change_conflict),
		cmocka_unit_test(test_change_blind_write_loses_foreign),
		cmocka_unit_test(test_change_gives_up),
		cmocka_unit_test(test_change_deadline),
		cmocka_unit_test(test_confirm),
		cmocka_unit_test(test_busy),
	};

	return cmocka_run_group_tests_name("rmw", tests, unit_group_setup, unit_group_teardown);
}
