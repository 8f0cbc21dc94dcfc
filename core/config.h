/*
 * Configuration: the [dns01] section, one [provider NAME] section per
 * account or server, or — with no file — one provider from the environment
 * (DNS01_PROVIDER plus lego's variable names, each also as NAME_FILE).
 *
 * config_load() returns a struct config the caller frees with config_free().
 * Strings inside belong to the config.  Secret values are held only here and
 * are never printed; error messages name keys and files, not values.
 */
#ifndef DNS01_CONFIG_H
#define DNS01_CONFIG_H

#include <stddef.h>

#define CONFIG_DEFAULT_PATH	"/etc/dns01/dns01.conf"
#define CONFIG_DEFAULT_TIMEOUT	300	/* seconds */
#define CONFIG_MAX_TIMEOUT	86400
#define CONFIG_MAX_TTL		86400
#define CONFIG_MAX_LINE		4096
#define CONFIG_MAX_PROVIDERS	64
#define CONFIG_MAX_KEYS		32
#define CONFIG_MAX_NAME		64	/* octets of a [provider NAME] */
#define CONFIG_MAX_ZONES	256
#define CONFIG_MAX_RESOLVERS	8
#define CONFIG_STATE_DIR_ROOT	"/var/lib/dns01"

struct kv {
	char	*key;
	char	*value;
	size_t	 line;			/* line in the file; 0: environment, credentials */
};

struct provider_conf {
	char	*name;			/* section name, or the type in env mode */
	char	*type;			/* "rfc2136", "cloudflare", ... */
	char	**zones;		/* canonical names; NULL if nzones == 0 */
	size_t	 nzones;		/* 0: serves what no other claims */
	struct kv kv[CONFIG_MAX_KEYS];	/* provider keys, in file order */
	size_t	 nkv;
	char	*origin;		/* "file:line" or "environment", for messages */
};

struct config {
	char	*path;			/* file read, or NULL in env mode */
	unsigned timeout;		/* seconds */
	int	 ttl;			/* -1: provider default */
	char	*resolvers[CONFIG_MAX_RESOLVERS];
	size_t	 nresolvers;		/* 0: /etc/resolv.conf */
	char	*state_dir;
	int	 syslog;		/* 1: summaries to syslog (core/summary.h) */
	int	 syslog_facility;	/* LOG_DAEMON, ...: summary_facility() */
	struct provider_conf providers[CONFIG_MAX_PROVIDERS];
	size_t	 nproviders;
};

/*
 * Load the configuration from path (the -c argument; NULL: DNS01_CONFIG, then
 * CONFIG_DEFAULT_PATH, then the environment).  Returns ST_OK and *out, or
 * ST_CONFIG after printing what is wrong and how to fix it.
 */
int	config_load(const char *path, struct config **out);
void	config_free(struct config *cfg);

/*
 * Parse a whole config text (no file, no permission check); for tests.  A
 * UTF-8 byte order mark at the start is skipped.  Messages about a line
 * name origin and the line number, never the line's text.
 */
int	config_parse_text(const char *text, const char *origin, struct config **out);

/* The value of key in a provider section, or NULL. */
const char *provider_conf_get(const struct provider_conf *pc, const char *key);

/*
 * The provider that serves name: the one with the longest `zones` suffix
 * matching name, else the one without `zones`.  NULL when none does.
 */
const struct provider_conf *config_route(const struct config *cfg, const char *name);

/*
 * Refuse a secrets file that group or others may read.  Returns ST_OK, or
 * ST_CONFIG after saying "chmod 600 <path>" (only for a regular file: any
 * other kind is refused as such).
 */
int	config_check_private(const char *path);

/*
 * Read a whole small file (secret or config) into a new NUL-terminated
 * string the caller frees (wiping it first when it may hold secrets).  Only
 * a regular file is read (a FIFO or a device is refused, never waited on).
 * Returns ST_OK or ST_CONFIG with a message.
 */
int	config_read_file(const char *path, char **out);

/*
 * The value of key in [section] of an INI text such as the AWS shared
 * credentials file, read as Python's configparser reads it for the AWS
 * tools (botocore configloader.raw_config_parse): section names compared
 * exactly, keys without case, "key = value" or "key: value", whole-line
 * comments (# ;), the value trimmed and kept as written.  *has_section
 * (may be NULL) is set when the section is there.  Returns a new string
 * the caller wipes and frees, or NULL (none, or out of memory).
 */
char	*config_ini_get(const char *text, const char *section, const char *key,
    int *has_section);

/* The same with a size limit of max bytes (CA bundles are larger). */
int	config_read_file_max(const char *path, size_t max, char **out);

#endif
