/*
 * The one interface every DNS provider implements.  A provider knows its API
 * and nothing about hooks; the core calls it with records grouped by zone.
 *
 * Lifecycle: create() once per run for each [provider] section used, then any
 * number of add()/del()/verify()/confirm() calls, then destroy().  They
 * return a status (core/status.h) and print their own error messages.
 */
#ifndef DNS01_PROVIDER_H
#define DNS01_PROVIDER_H

#include <stddef.h>

#include "../core/config.h"
#include "../core/zone.h"

#define RECORD_ID_MAX	96	/* provider record ids, in bytes (Cloudflare: zone:record) */

/* One TXT value at one name.  The core owns the strings. */
struct record {
	const char *name;		/* owner, canonical (the CNAME target if any) */
	const char *value;		/* TXT value, checked */
	char	id[RECORD_ID_MAX];	/* provider record id, "" if none */
	int	changed;		/* out: this add() put the value there (del():
					   took it away; confirm(): wrote it back); 0
					   when it was there (gone) already, or the
					   provider cannot tell */
};

/* An environment variable that can stand for a config key (env mode). */
struct env_map {
	const char *key;		/* config key */
	const char *vars[3];		/* variable names, first found wins */
};

/* A certbot plugin credentials key that can stand for a config key. */
struct cred_map {
	const char *key;
	const char *certbot_key;
};

struct provider_ops {
	const char *type;			/* config `type =` */
	const char *description;		/* for `dns01 providers` */
	const char *const *keys;		/* accepted keys, NULL-terminated */
	const char *const *secret_keys;	/* keys whose values are secrets */
	const struct env_map *env;		/* env mode, {NULL} terminated */
	const struct cred_map *cred;		/* `credentials =`, {NULL} terminated */
	int	 default_ttl;			/* seconds */
	int	 min_ttl;			/* the lowest the provider accepts */
	/*
	 * 1 when one add() is one change that every server applies whole (one
	 * RFC 2136 UPDATE: RFC 2136 §3.7, and zone transfers move whole
	 * versions, RFC 1995 §4): a server that serves one value the call
	 * changed serves all of them.  The wait uses that (propagation.h).
	 */
	int	 atomic;

	/* Check the section and make an instance in *priv (cfg: state_dir, ...). */
	int	(*create)(const struct provider_conf *pc, const struct config *cfg, void **priv);
	/* Add each value to its TXT RRset (never replace the RRset). */
	int	(*add)(void *priv, const struct zone *z, struct record *r, size_t n, int ttl);
	/* Delete exactly these values (by id where r->id is set). */
	int	(*del)(void *priv, const struct zone *z, struct record *r, size_t n);
	/*
	 * Optional (NULL: the provider cannot tell without a change; `doctor`
	 * then relies on its round trip).  Check, changing nothing, that the API
	 * or server accepts the credentials and knows zone z.  On ST_OK writes
	 * what was checked to what (whatlen bytes; no secrets).  Otherwise
	 * returns the status add() would give for the same problem — ST_CONFIG
	 * when the credentials are rejected — after saying why, as add() does.
	 */
	int	(*verify)(void *priv, const struct zone *z, char *what, size_t whatlen);
	/*
	 * Optional (NULL: what add() wrote stays until someone deletes it).
	 * For an API where another writer can erase a value without meaning
	 * to — a record set replaced as a whole, from a read taken before our
	 * add() — and nobody is told: called after every authoritative server
	 * served the values, it reads again and writes back each value of
	 * r[] that is gone, setting r[i].changed for it (as add() would, ttl
	 * included).  The core then waits again (run_wait, RUN_CONFIRM_ROUNDS).
	 * Status as add().
	 */
	int	(*confirm)(void *priv, const struct zone *z, struct record *r, size_t n, int ttl);
	void	(*destroy)(void *priv);
};

/* The compiled-in providers (providers/registry.c), NULL-terminated. */
extern const struct provider_ops *const provider_table[];

/* The provider of that type, or NULL. */
const struct provider_ops *provider_find(const char *type);

#endif
