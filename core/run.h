/*
 * One run: the challenges (name + value) a command or hook call handles,
 * and the steps every front end shares — locate (CNAME following, zone,
 * provider routing), write or delete through the providers (one call per
 * provider and zone), and wait on every authoritative server.
 *
 * run_new() takes a loaded config (still owned by the caller); run_free()
 * releases the discovery cache and the provider instances.
 */
#ifndef DNS01_RUN_H
#define DNS01_RUN_H

#include <stddef.h>

#include "config.h"
#include "propagation.h"
#include "zone.h"
#include "../providers/provider.h"

#define RUN_MAX_CHALLENGES	200	/* challenges handled in one run */

struct challenge {
	char	name[NAME_BUF];		/* where the value is asked for */
	char	value[VALUE_BUF];
	char	id[RECORD_ID_MAX];	/* provider record id, "" if none */
	char	target[NAME_BUF];	/* owner after CNAMEs (run_locate) */
	const struct zone *zone;	/* zone holding target (run_locate) */
	char	how[LOCATE_HOW_MAX];	/* how that zone was found (run_locate) */
	const struct provider_conf *pc;	/* its provider (run_add, run_del) */
};

struct run;

int	run_new(const struct config *cfg, struct run **out);
void	run_free(struct run *r);

/* Find target and zone of each challenge.  ST_OK or an error status. */
int	run_locate(struct run *r, struct challenge *c, size_t n);

/*
 * Add every value (after run_locate), each through the provider whose
 * `zones` match its target.  Record ids are written back into c[].id.
 */
int	run_add(struct run *r, struct challenge *c, size_t n);

/* Delete exactly these values (after run_locate). */
int	run_del(struct run *r, struct challenge *c, size_t n);

/*
 * Wait until every authoritative server has (or no longer has) the values.
 * After run_add, also until no resolver can still hold an older answer that
 * dns01 replaced (core/ledger.h); after run_add or run_del, note the change
 * in the ledger.
 */
int	run_wait(struct run *r, const struct challenge *c, size_t n, enum prop_mode mode,
    double timeout_s);

/* Instead of run_wait (--no-wait): note the change in the ledger as of now. */
void	run_unwaited(struct run *r, const struct challenge *c, size_t n, enum prop_mode mode);

/*
 * Check pc's credentials for zone z with its provider's verify op, through
 * the run's provider instance (so a later change reuses it).  *supported
 * is 0 when the provider has no verify op.  Status; what describes success.
 */
int	run_verify(struct run *r, const struct provider_conf *pc, const struct zone *z,
    int *supported, char *what, size_t whatlen);

/* The TTL records get from ops: `ttl =` raised to its minimum, or its default. */
int	run_ttl(const struct config *cfg, const struct provider_ops *ops);

/* The discovery context, for `list`. */
struct discovery *run_discovery(struct run *r);

#endif
