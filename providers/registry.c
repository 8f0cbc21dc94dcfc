/* The table of compiled-in providers.  Adding one is a file and a line here. */
#include <string.h>

#include "provider.h"

extern const struct provider_ops provider_cloudflare;
extern const struct provider_ops provider_rfc2136;
extern const struct provider_ops provider_sakuracloud;
extern const struct provider_ops provider_google;
extern const struct provider_ops provider_route53;

const struct provider_ops *const provider_table[] = {
	&provider_cloudflare,
	&provider_rfc2136,
	&provider_sakuracloud,
	&provider_google,
	&provider_route53,
	NULL
};

const struct provider_ops *
provider_find(const char *type)
{
	size_t i;

	for (i = 0; provider_table[i] != NULL; i++)
		if (strcmp(provider_table[i]->type, type) == 0)
			return provider_table[i];
	return NULL;
}
