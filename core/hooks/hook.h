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
 * Delete exactly these values, then confirm (at most CLEANUP_CONFIRM_MAX_S)
 * that no authoritative server still has them.  A value that lingers is
 * reported but is not a failure: the certificate is already issued or
 * refused by then.  Status of the deletion.
 */
int	hook_remove(const struct opts *o, struct challenge *c, size_t n);

/*
 * After run_del: wait at most CLEANUP_CONFIRM_MAX_S (or the timeout, if
 * lower) until no authoritative server serves the values; one that still
 * does is a warning, never a failure.
 */
void	hook_confirm_removed(struct run *r, const struct challenge *c, size_t n,
    const struct config *cfg);

/*
 * Fill c with _acme-challenge.<domain> and an ACME value, both checked.
 * what names the source in messages ("deploy_challenge #2").  ST_OK or
 * ST_USAGE after saying why.
 */
int	hook_challenge(struct challenge *c, const char *what, const char *domain,
    const char *value);

#endif
