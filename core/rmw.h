/*
 * A locked read-modify-write-verify change, for providers whose API
 * replaces a whole RRset or a whole zone (Sakura Cloud, Route 53, Google
 * Cloud DNS, Gandi, PowerDNS, ...).  Adding one TXT value there means
 * reading what is there, writing it back with the value, and making sure
 * that no other writer's change was lost in between.
 *
 * The provider gives two callbacks over a plain record list (struct
 * rr_list): read() the records the change can touch (at least every record
 * at the names changed; a whole-zone API gives the whole zone) with the
 * version the API hands out (a hash, an ETag; "" when it has none), and
 * write() making the zone hold `after` where it held `before`, conditional
 * on `before` where the API can be told (a precondition, a change batch
 * that deletes exactly `before`): a refused stale write returns
 * RMW_CONFLICT; an API that says "not now" (busy, locked) makes either
 * return RMW_BUSY.  rmw_change() does the rest: a per-zone lock file, the
 * modification (add exactly, remove exactly, nothing else touched), the
 * write, a read to verify, and bounded rounds with a randomised growing
 * pause, all within the run's deadline.  Its RMW_CONFIRM, for a provider's
 * confirm() op, checks after the propagation wait that the values are
 * still there and writes back what another writer erased.
 *
 * What the decisions mean is in pure functions (rmw_apply, rmw_verify,
 * rmw_pause), unit-tested in tests/unit/test_rmw.c.
 *
 * An rr_list owns its strings: rr_list_add() copies, rr_list_clear() frees.
 */
#ifndef DNS01_RMW_H
#define DNS01_RMW_H

#include <stddef.h>

#include "../providers/provider.h"
#include "zone.h"

#define RMW_MAX_ROUNDS		8	/* read-modify-write rounds of one change */
#define RMW_PAUSE_FIRST_S	0.25	/* the pause after round 1, before the random factor */
#define RMW_PAUSE_MAX_S		16	/* no pause longer, before the random factor */
#define RMW_PAUSE_MIN_FACTOR	0.5	/* each pause is this to 1 times its nominal length */
#define RMW_VERSION_MAX		128	/* octets of a version (hash, ETag) */
#define RMW_TYPE_MAX		16	/* octets of a record type */
#define RMW_WHY_MAX		512	/* a round's failure, as the messages say it */
#define RMW_CONFLICT		100	/* write(): the API refused a stale write */
#define RMW_BUSY		101	/* read() or write(): the API said "not now" */

/* One resource record as the API holds it. */
struct rr {
	char	*name;			/* absolute, lower case, no final dot */
	char	*type;			/* upper case: "TXT", "A", ... */
	char	*rdata;			/* as the API gives it (TXT: bare or "quoted") */
	int	 ttl;			/* 0: the API gave none */
};

struct rr_list {
	struct rr *rr;
	size_t	 n, cap;
	char	 version[RMW_VERSION_MAX];	/* "" when the API has none */
};

/* Append a copy of (name, type, rdata, ttl).  0, or -1 (out of memory). */
int	rr_list_add(struct rr_list *l, const char *name, const char *type, const char *rdata,
    int ttl);
/* dst = a copy of src (dst's old records freed).  0 or -1. */
int	rr_list_copy(struct rr_list *dst, const struct rr_list *src);
void	rr_list_clear(struct rr_list *l);

/* 1 when rdata is the TXT value v, bare or in double quotes. */
int	rmw_txt_is(const char *rdata, const char *v);

struct rmw_ops {
	const char *label;		/* for messages: "Sakura Cloud" */
	int	 quote_txt;		/* 1: a TXT value is written in double quotes */
	/*
	 * Read into *out (empty on entry) what the change at recs[0..n-1] can
	 * touch.  ST_OK, RMW_BUSY or a status (said).
	 */
	int	(*read)(void *priv, const struct zone *z, const struct record *recs, size_t n,
		    struct rr_list *out);
	/*
	 * Make zone z hold after where it held before.  Always called right
	 * after the read() that gave before (a provider may keep what else that
	 * read brought, to send it back).  ST_OK, RMW_CONFLICT, RMW_BUSY or a
	 * status (said).
	 */
	int	(*write)(void *priv, const struct zone *z, const struct rr_list *before,
		    const struct rr_list *after);
	/* Optional: what the API said with the last RMW_BUSY, for messages. */
	const char *(*busy_why)(void *priv);
};

enum rmw_op {
	RMW_ADD,			/* add each value to the TXT RRset at its name */
	RMW_DEL,			/* delete exactly these values */
	RMW_CONFIRM			/* after the wait: add back those that are gone */
};

/* One provider instance's use of the helper.  Strings are borrowed. */
struct rmw_ctx {
	const struct rmw_ops *ops;
	void	*priv;			/* passed to the callbacks */
	const char *state_dir;		/* where the per-zone lock file lives */
	const char *lock_prefix;	/* lock "<prefix>-<apex>", e.g. the provider type */
	double	 deadline;		/* log_now() seconds: no pause ends after it */
	unsigned timeout_s;		/* the timeout it stands for, for messages */
	int	 rounds;		/* 0: RMW_MAX_ROUNDS */
	double	 pause_first_s;		/* 0: RMW_PAUSE_FIRST_S */
	double	 pause_max_s;		/* 0: RMW_PAUSE_MAX_S */
};

/*
 * Change exactly recs[0..n-1] in zone z as op says (RMW_ADD with ttl,
 * RMW_DEL, RMW_CONFIRM with ttl: write back the values that are gone); no
 * other record changes.  Sets each recs[i].changed (RMW_CONFIRM: 1 for a
 * value written back).  ST_OK, or a status after saying why: ST_PROVIDER
 * when the zone kept changing under us or stayed busy for every round or
 * until the deadline.
 */
int	rmw_change(const struct rmw_ctx *c, const struct zone *z, struct record *recs, size_t n,
    int ttl, enum rmw_op op);

/*
 * The modification alone: after = before with each value of recs added
 * (when not there already, as a TXT record with ttl, quoted when quote) or
 * every record of it removed.  changed[i] is 1 when recs[i] changed the
 * list.  Returns the number of records added or removed, or -1.
 */
int	rmw_apply(const struct rr_list *before, const struct record *recs, size_t n, int ttl,
    int del, int quote, struct rr_list *after, int *changed);

/*
 * The check after a write: 1 when now holds every record of wrote (by name,
 * type and rdata; a TXT value bare or quoted) and, for a delete, none of
 * the values of recs; else 0.
 */
int	rmw_verify(const struct rr_list *now, const struct rr_list *wrote,
    const struct record *recs, size_t n, int del);

/*
 * One RRset (name, type) whose records differ between a write's before and
 * after: what an API that takes whole RRsets (Route 53, Google Cloud DNS,
 * PowerDNS) must be sent, and nothing else.  Pointers borrow from the lists.
 */
struct rmw_rrset {
	const char *name, *type;
	const struct rr **old;		/* its records in before */
	size_t	 nold;
	const struct rr **new;		/* in after (0: the RRset goes) */
	size_t	 nnew;
	int	 ttl;			/* the one TTL to give it (see rmw_rrsets) */
};

/*
 * The RRsets that differ between before and after (records compared by
 * rdata as sets), in the order they first appear, into *out (n of them;
 * free with rmw_rrsets_free).  An RRset has one TTL (RFC 2181 §5.2): ttl
 * is the one it had (so others' records keep theirs), or that of its new
 * records when it is new.  0, or -1 when out of memory.
 */
int	rmw_rrsets(const struct rr_list *before, const struct rr_list *after,
    struct rmw_rrset **out, size_t *n);
void	rmw_rrsets_free(struct rmw_rrset *s, size_t n);

/*
 * The pause before round + 1 (round >= 1): first * 2^(round - 1), at most
 * max, times a factor between RMW_PAUSE_MIN_FACTOR and 1 taken from r in
 * [0, 1) (the randomness, so that two writers stop colliding).
 */
double	rmw_pause(int round, double first, double max, double r);

#endif
