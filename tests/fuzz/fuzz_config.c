/*
 * The configuration (core/config.c): config_load() of a file holding the
 * input (parse, then the checks of each provider section, a certbot
 * credentials file it names included), the routing of names to providers,
 * and config_ini_get() (the AWS shared credentials file) on the same text.
 * The file is written to the target's private temp dir, mode 0600.
 */
#include <fcntl.h>

#include "fuzz.h"

#include "../../core/config.h"

/* Names config_route() is asked about. */
static const char *const routed[] = { "_acme-challenge.example.com", "example.org", "a.b.c",
	"_acme-challenge.www.example.test" };

/* Sections and keys config_ini_get() is asked for (route53.c asks these). */
static const char *const ini_sections[] = { "default", "profile default", "dns01", "" };
static const char *const ini_keys[] = { "aws_access_key_id", "aws_secret_access_key",
	"aws_session_token", "" };

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char path[128], *text, *v;
	struct config *cfg = NULL;
	size_t i, j;
	int fd, has;

	snprintf(path, sizeof(path), "%s/dns01.conf", fuzz_dir());
	if ((fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600)) == -1)
		abort();
	if (write(fd, data, size) != (ssize_t)size)
		abort();
	close(fd);
	if (config_load(path, &cfg) == 0) {
		for (i = 0; i < sizeof(routed) / sizeof(routed[0]); i++)
			(void)config_route(cfg, routed[i]);
		for (i = 0; i < cfg->nproviders; i++)
			(void)provider_conf_get(&cfg->providers[i], "zones");
		config_free(cfg);
	}
	if ((text = malloc(size + 1)) == NULL)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	for (i = 0; i < sizeof(ini_sections) / sizeof(ini_sections[0]); i++)
		for (j = 0; j < sizeof(ini_keys) / sizeof(ini_keys[0]); j++) {
			v = config_ini_get(text, ini_sections[i], ini_keys[j], &has);
			if (v != NULL && has == 0)
				abort();	/* a value without its section */
			free(v);
		}
	free(text);
	return 0;
}
