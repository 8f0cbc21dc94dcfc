/*
 * What the hook dialects share.  Each dialect (certbot.c, dehydrated.c,
 * lego.c, uacme.c) only turns its argv/environment into a list of
 * challenges; hook_present() and hook_remove() do the rest.
 */
#ifndef DNS01_HOOK_H
#define DNS01_HOOK_H

#include <stddef.h>

#include "../cli.h"
#include "../run.h"

/*
 * Write every value (one provider call per provider and zone) and wait
 * until every authoritative server has all of them.  c[] is the caller's;
 * the config named in o is loaded here.  Status.
 */
int	hook_present(const struct opts *o, struct challenge *c, size_t n);

/*
 * Delete exactly these values and return once the provider accepted the
 * deletion: no wait for the servers to drop them (that would hold the
 * client up for another round of secondary lag).  The removal is noted in
 * the cache ledger as pending, so the next write at the name still waits
 * until no older answer can be cached (run.h: run_remove).  Status of the
 * deletion.
 */
int	hook_remove(const struct opts *o, struct challenge *c, size_t n);

/*
 * Fill c with _acme-challenge.<domain> and an ACME value, both checked.
 * what names the source in messages ("deploy_challenge #2").  ST_OK or
 * ST_USAGE after saying why.
 */
int	hook_challenge(struct challenge *c, const char *what, const char *domain,
    const char *value);

#endif
