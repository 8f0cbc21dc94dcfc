/*
 * What every HTTP API provider needs besides core/http.h: its api_url
 * checked, credentials checked before they go into a header, the API's own
 * messages made printable, and the one way to say that a request got no
 * answer.  Stateless; nothing here allocates.
 */
#ifndef DNS01_API_H
#define DNS01_API_H

#include <stddef.h>

#include "config.h"
#include "http.h"

/* 1 when s is printable ASCII without spaces: safe in a header or a URL. */
int	api_printable(const char *s);

/* in as printable ASCII (anything else as '?'), cut to fit out (outlen bytes). */
void	api_clean_msg(const char *in, char *out, size_t outlen);

/*
 * The section's api_url (dflt when it has none) into out (outlen bytes):
 * https:// only, printable without spaces, no user:password@ (credentials
 * go in their own keys, which dns01 never prints), final slashes dropped.
 * ST_OK, or ST_CONFIG after saying what is wrong.
 */
int	api_base_url(const struct provider_conf *pc, const char *dflt, char *out,
    size_t outlen);

/*
 * For a request that got no HTTP answer (r->status 0): say why — an
 * untrusted certificate (naming ca_file; ST_CONFIG) or the transport error
 * after the attempts made (ST_PROVIDER) — and return that status.  label
 * names the API ("Cloudflare API"), url its base, what the request.
 * ST_OK when there was an answer.
 */
int	api_no_answer(const struct http_request *r, const char *label, const char *url,
    const char *what);

#endif
