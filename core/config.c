/* Configuration file and environment; see config.h. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "dnsio.h"
#include "log.h"
#include "summary.h"
#include "name.h"
#include "status.h"
#include "../providers/provider.h"

#define SECRET_FILE_MAX	65536	/* bytes; config and secret files are small */
#define PATH_SHOWN_MAX	512	/* a path as shown in a message, escaped */
#define WHERE_MAX	(PATH_SHOWN_MAX + 32)	/* "path:line" */
#define KEYS_SHOWN_MAX	256	/* "timeout, ttl, ..." in a message */
#define UTF8_BOM	"\xef\xbb\xbf"

static const char *const global_keys[] = { "timeout", "ttl", "resolvers", "state_dir",
    "syslog", "syslog_facility", NULL };
static const char *const generic_keys[] = { "type", "zones", "credentials", NULL };

static int
in_list(const char *const *list, const char *s)
{
	for (; list != NULL && *list != NULL; list++)
		if (strcmp(*list, s) == 0)
			return 1;
	return 0;
}

/*
 * 1 when key is a key of some section: [dns01], every provider section, or
 * one provider type.  Only such words are named in messages: an unknown
 * word on a malformed line may be a secret pasted in the wrong place.
 */
static int
known_key(const char *key)
{
	size_t i;

	if (in_list(global_keys, key) || in_list(generic_keys, key))
		return 1;
	for (i = 0; provider_table[i] != NULL; i++)
		if (in_list(provider_table[i]->keys, key))
			return 1;
	return 0;
}

/* 1 when s can be a key: one word of letters, digits, '_' and '-'. */
static int
key_word(const char *s)
{
	size_t n = strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-");

	return n > 0 && s[n] == '\0';
}

/* 1 when s can be a provider name: one word of printable ASCII, not too long. */
static int
name_word(const char *s)
{
	size_t n;

	for (n = 0; s[n] != '\0'; n++)
		if ((unsigned char)s[n] <= ' ' || (unsigned char)s[n] >= 0x7f)
			return 0;
	return n > 0 && n <= CONFIG_MAX_NAME;
}

/* The length of a UTF-8 byte order mark at s (Windows editors add one), or 0. */
static size_t
bom_len(const char *s)
{
	return strncmp(s, UTF8_BOM, strlen(UTF8_BOM)) == 0 ? strlen(UTF8_BOM) : 0;
}

/* Append the words of list to buf, separated by ", ". */
static void
append_list(char *buf, size_t len, const char *const *list)
{
	size_t o;

	for (; list != NULL && *list != NULL; list++) {
		o = strlen(buf);
		snprintf(buf + o, len - o, "%s%s", o > 0 ? ", " : "", *list);
	}
}

/*
 * Report a key that its section does not take, with the keys it does take;
 * the key itself only when known_key() (see there).
 */
static void
unknown_key(const char *where, const char *section, const char *key,
    const char *const *keys, const char *const *more)
{
	char takes[KEYS_SHOWN_MAX] = "";

	append_list(takes, sizeof(takes), keys);
	append_list(takes, sizeof(takes), more);
	if (known_key(key))
		log_err("%s: %s: unknown key '%s' here (it takes %s)", where, section, key, takes);
	else
		log_err("%s: %s: unknown key (it takes %s)", where, section, takes);
}

/*
 * Report a line that is not `key = value`.  It names the line's first word
 * only when that is a known key (`tsig_secret: ...`, `tsig_secret ...`).
 */
static void
bad_line(const char *where, const char *l)
{
	char word[CONFIG_MAX_LINE];
	size_t n = strcspn(l, " \t:=");

	memcpy(word, l, n);
	word[n] = '\0';
	if (known_key(word))
		log_err("%s: expected '%s = value'", where, word);
	else
		log_err("%s: expected 'key = value' (a key is one word: letters, digits, '_')",
		    where);
	explicit_bzero(word, n);
}

/* free() a string that may hold a secret, wiping it first. */
static void
free_secret(char *s)
{
	if (s == NULL)
		return;
	explicit_bzero(s, strlen(s));
	free(s);
}

static char *
xstrdup(const char *s)
{
	char *p = strdup(s);

	if (p == NULL) {
		log_err("out of memory");
		exit(ST_FAIL);
	}
	return p;
}

/* Parse a decimal number in [0, max].  Returns 0 or -1. */
static int
parse_uint(const char *s, unsigned long max, unsigned long *out)
{
	char *end;
	unsigned long v;

	if (*s < '0' || *s > '9')
		return -1;
	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno != 0 || *end != '\0' || v > max)
		return -1;
	*out = v;
	return 0;
}

static char *
trim(char *s)
{
	char *e;

	while (*s == ' ' || *s == '\t')
		s++;
	e = s + strlen(s);
	while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r' || e[-1] == '\n'))
		*--e = '\0';
	return s;
}

/* Cut a comment that starts with whitespace + '#' or ';' (or starts s). */
static char *
strip_comment(char *s)
{
	char *p;

	for (p = s; *p != '\0'; p++)
		if ((*p == '#' || *p == ';') && (p == s || p[-1] == ' ' || p[-1] == '\t')) {
			*p = '\0';
			break;
		}
	return trim(s);
}

/*
 * A value: a quoted string ("..." or '...', kept as written, then only a
 * comment may follow), or the text up to a comment.  NULL when malformed.
 */
static char *
clean_value(char *v)
{
	char *end;

	v = trim(v);
	if (v[0] == '"' || v[0] == '\'') {
		if ((end = strchr(v + 1, v[0])) == NULL || *strip_comment(end + 1) != '\0')
			return NULL;
		*end = '\0';
		return v + 1;
	}
	return strip_comment(v);
}

const char *
provider_conf_get(const struct provider_conf *pc, const char *key)
{
	size_t i;

	for (i = 0; i < pc->nkv; i++)
		if (strcmp(pc->kv[i].key, key) == 0)
			return pc->kv[i].value;
	return NULL;
}

/* Set key (from line of the file, 0: elsewhere) to value.  0 or -1 (too many). */
static int
provider_conf_set(struct provider_conf *pc, const char *key, const char *value, size_t line)
{
	size_t i;

	for (i = 0; i < pc->nkv; i++)
		if (strcmp(pc->kv[i].key, key) == 0) {
			free_secret(pc->kv[i].value);
			pc->kv[i].value = xstrdup(value);
			pc->kv[i].line = line;
			return 0;
		}
	if (pc->nkv == CONFIG_MAX_KEYS)
		return -1;
	pc->kv[pc->nkv].key = xstrdup(key);
	pc->kv[pc->nkv].value = xstrdup(value);
	pc->kv[pc->nkv].line = line;
	pc->nkv++;
	return 0;
}

/*
 * The next item of a list separated by spaces, tabs or commas, cut in place
 * at *p; NULL at the end.
 */
static char *
next_item(char **p)
{
	char *tok;

	*p += strspn(*p, " \t,");
	if (**p == '\0')
		return NULL;
	tok = *p;
	*p += strcspn(*p, " \t,");
	if (**p != '\0')
		*(*p)++ = '\0';
	return tok;
}

/* `zones =`: a list of names, kept in canonical form. */
static int
set_zones(struct provider_conf *pc, char *list, const char *where)
{
	char *p = list, *tok, canon[NAME_BUF];
	const char *why;
	size_t item = 0;

	while ((tok = next_item(&p)) != NULL) {
		item++;
		if (name_check(tok, 0, canon, &why) == -1) {
			log_err("%s: zones: name %zu of the list: %s", where, item, why);
			return -1;
		}
		if (pc->nzones == CONFIG_MAX_ZONES) {
			log_err("%s: more than %d zones", where, CONFIG_MAX_ZONES);
			return -1;
		}
		pc->zones = realloc(pc->zones, (pc->nzones + 1) * sizeof(*pc->zones));
		if (pc->zones == NULL) {
			log_err("out of memory");
			exit(ST_FAIL);
		}
		pc->zones[pc->nzones++] = xstrdup(canon);
	}
	return 0;
}

/* `resolvers =`: a list of addresses, replacing any earlier list. */
static int
set_resolvers(struct config *cfg, char *list, const char *where)
{
	char *p = list, *tok;
	struct dns_addr a;
	size_t item = 0;

	while (cfg->nresolvers > 0)
		free(cfg->resolvers[--cfg->nresolvers]);
	while ((tok = next_item(&p)) != NULL) {
		item++;
		if (dnsio_parse_addr(tok, &a) == -1) {
			log_err("%s: resolvers: address %zu of the list is not IP, IP:port or "
			    "[IPv6]:port", where, item);
			return -1;
		}
		if (cfg->nresolvers == CONFIG_MAX_RESOLVERS) {
			log_err("%s: more than %d resolvers", where, CONFIG_MAX_RESOLVERS);
			return -1;
		}
		cfg->resolvers[cfg->nresolvers++] = xstrdup(tok);
	}
	return 0;
}

/* One key of the [dns01] section. */
static int
set_global(struct config *cfg, const char *key, const char *value, const char *where)
{
	unsigned long v;

	if (strcmp(key, "timeout") == 0) {
		if (parse_uint(value, CONFIG_MAX_TIMEOUT, &v) == -1 || v == 0) {
			log_err("%s: timeout must be 1..%d seconds", where, CONFIG_MAX_TIMEOUT);
			return -1;
		}
		cfg->timeout = (unsigned)v;
	} else if (strcmp(key, "ttl") == 0) {
		if (parse_uint(value, CONFIG_MAX_TTL, &v) == -1 || v == 0) {
			log_err("%s: ttl must be 1..%d seconds", where, CONFIG_MAX_TTL);
			return -1;
		}
		cfg->ttl = (int)v;
	} else if (strcmp(key, "resolvers") == 0) {
		char buf[CONFIG_MAX_LINE];

		if (strlen(value) >= sizeof(buf)) {
			log_err("%s: resolvers: list too long", where);
			return -1;
		}
		memcpy(buf, value, strlen(value) + 1);
		return set_resolvers(cfg, buf, where);
	} else if (strcmp(key, "state_dir") == 0) {
		if (value[0] != '/') {
			log_err("%s: state_dir must be an absolute path", where);
			return -1;
		}
		free(cfg->state_dir);
		cfg->state_dir = xstrdup(value);
	} else if (strcmp(key, "syslog") == 0) {
		if (strcmp(value, "yes") != 0 && strcmp(value, "no") != 0) {
			log_err("%s: syslog must be yes or no", where);
			return -1;
		}
		cfg->syslog = strcmp(value, "yes") == 0;
	} else if (strcmp(key, "syslog_facility") == 0) {
		if ((cfg->syslog_facility = summary_facility(value)) == -1) {
			log_err("%s: syslog_facility must be daemon, user or local0 to local7", where);
			return -1;
		}
	} else {
		unknown_key(where, "[dns01]", key, global_keys, NULL);
		return -1;
	}
	return 0;
}

static struct config *
config_new(void)
{
	struct config *cfg = calloc(1, sizeof(*cfg));

	if (cfg == NULL) {
		log_err("out of memory");
		exit(ST_FAIL);
	}
	cfg->timeout = CONFIG_DEFAULT_TIMEOUT;
	cfg->ttl = -1;
	cfg->syslog = 1;
	cfg->syslog_facility = summary_facility(SUMMARY_DEFAULT_FACILITY_NAME);
	return cfg;
}

static struct provider_conf *
add_provider(struct config *cfg, const char *name, const char *origin)
{
	struct provider_conf *pc;
	size_t i;

	for (i = 0; i < cfg->nproviders; i++)
		if (strcmp(cfg->providers[i].name, name) == 0) {
			log_err("%s: [provider %s] appears twice", origin, name);
			return NULL;
		}
	if (cfg->nproviders == CONFIG_MAX_PROVIDERS) {
		log_err("%s: more than %d providers", origin, CONFIG_MAX_PROVIDERS);
		return NULL;
	}
	pc = &cfg->providers[cfg->nproviders++];
	pc->name = xstrdup(name);
	pc->origin = xstrdup(origin);
	return pc;
}

/* A `[section]` line l: sets *pc (NULL for [dns01]) and *global.  0 or -1. */
static int
parse_header(struct config *cfg, char *l, const char *where, struct provider_conf **pc,
    int *global)
{
	char *end = strchr(l, ']'), *sect, *name;

	if (end == NULL || *strip_comment(end + 1) != '\0') {
		log_err("%s: malformed section header", where);
		return -1;
	}
	*end = '\0';
	sect = trim(l + 1);
	*global = 0;
	*pc = NULL;
	if (strcmp(sect, "dns01") == 0) {
		*global = 1;
		return 0;
	}
	if (strncmp(sect, "provider", 8) != 0 || (sect[8] != ' ' && sect[8] != '\t')) {
		/* not named: it may be a secret pasted in the wrong place */
		log_err("%s: unknown section (expected [dns01] or [provider NAME])", where);
		return -1;
	}
	name = trim(sect + 8);
	if (!name_word(name)) {
		log_err("%s: write [provider NAME] with a one-word name (printable ASCII, "
		    "at most %d characters)", where, CONFIG_MAX_NAME);
		return -1;
	}
	return (*pc = add_provider(cfg, name, where)) == NULL ? -1 : 0;
}

/* A `key = value` line l of the section pc (or [dns01] when global).  0 or -1. */
static int
parse_pair(struct config *cfg, struct provider_conf *pc, int global, char *l,
    const char *where, size_t lineno)
{
	char *eq = strchr(l, '='), *key, *val;

	if (eq == NULL) {
		bad_line(where, l);
		return -1;
	}
	*eq = '\0';
	key = trim(l);
	if (*key == '\0') {
		log_err("%s: missing key before '='", where);
		return -1;
	}
	if (!key_word(key)) {
		bad_line(where, key);
		return -1;
	}
	if ((val = clean_value(eq + 1)) == NULL) {
		log_err("%s: unbalanced quotes in the value", where);
		return -1;
	}
	if (global)
		return set_global(cfg, key, val, where);
	if (pc == NULL) {
		log_err("%s: key outside a section (start with [dns01] or [provider NAME])",
		    where);
		return -1;
	}
	if (strcmp(key, "type") == 0) {
		free_secret(pc->type);
		pc->type = xstrdup(val);
	} else if (strcmp(key, "zones") == 0)
		return set_zones(pc, val, where);
	else if (provider_conf_set(pc, key, val, lineno) == -1) {
		log_err("%s: too many keys", where);
		return -1;
	}
	return 0;
}

/*
 * Messages about a malformed line name the file, the line and what is
 * wrong, never the line's text: a typo must not print a secret.
 */
int
config_parse_text(const char *text, const char *origin, struct config **out)
{
	struct config *cfg = config_new();
	struct provider_conf *pc = NULL;
	char line[CONFIG_MAX_LINE], shown[PATH_SHOWN_MAX], where[WHERE_MAX], *l;
	const char *p = text + bom_len(text), *nl;
	size_t len, lineno = 0;
	int global = 0, rc = ST_CONFIG;

	log_escape(origin, shown, sizeof(shown));
	while (*p != '\0') {
		nl = strchr(p, '\n');
		len = nl ? (size_t)(nl - p) : strlen(p);
		lineno++;
		snprintf(where, sizeof(where), "%s:%zu", shown, lineno);
		if (len >= sizeof(line)) {
			log_err("%s: line too long", where);
			goto out;
		}
		memcpy(line, p, len);
		line[len] = '\0';
		p += len + (nl ? 1 : 0);
		l = trim(line);
		if (*l == '\0' || *l == '#' || *l == ';')
			continue;
		if (*l == '[' ? parse_header(cfg, l, where, &pc, &global) == -1 :
		    parse_pair(cfg, pc, global, l, where, lineno) == -1)
			goto out;
	}
	rc = ST_OK;
out:
	explicit_bzero(line, sizeof(line));
	if (rc == ST_OK)
		*out = cfg;
	else
		config_free(cfg);
	return rc;
}

/* What a file that is not a regular one is, for a message. */
static const char *
file_kind(mode_t mode)
{
	if (S_ISDIR(mode))
		return "a directory";
	if (S_ISFIFO(mode))
		return "a FIFO";
	if (S_ISCHR(mode) || S_ISBLK(mode))
		return "a device";
	return "not a regular file";
}

/*
 * Open path for reading and fstat what was opened: a regular file only (a
 * FIFO would block, a device never end).  O_NONBLOCK: opening a FIFO does
 * not wait for a writer.  Symbolic links are followed (NixOS /etc and
 * Kubernetes secret volumes are links); the checks hold for the file the
 * descriptor reads, so there is no stat-then-open race.  Returns the
 * descriptor, or -1 after a message.
 */
static int
open_regular(const char *path, const char *shown, struct stat *st)
{
	int fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY)) == -1) {
		log_err("cannot read %s: %s", shown, strerror(errno));
		return -1;
	}
	if (fstat(fd, st) == -1) {
		log_err("cannot read %s: %s", shown, strerror(errno));
		close(fd);
		return -1;
	}
	if (!S_ISREG(st->st_mode)) {
		log_err("%s is %s; give the path of a regular file", shown,
		    file_kind(st->st_mode));
		close(fd);
		return -1;
	}
	return fd;
}

/* Refuse a secrets file (mode) that group or others may access.  Status. */
static int
check_mode(const char *shown, mode_t mode)
{
	if ((mode & (S_IRWXG | S_IRWXO)) == 0)
		return ST_OK;
	log_err("%s holds secrets and group or others can read it (mode %03o); "
	    "fix it with: chmod 600 %s", shown, (unsigned)(mode & 0777), shown);
	return ST_CONFIG;
}

int
config_check_private(const char *path)
{
	char shown[PATH_SHOWN_MAX];
	struct stat st;
	int fd;

	log_escape(path, shown, sizeof(shown));
	if ((fd = open_regular(path, shown, &st)) == -1)
		return ST_CONFIG;
	close(fd);
	return check_mode(shown, st.st_mode);
}

/*
 * Read the regular file path whole: at most max bytes, no NUL.  With
 * private, refuse it unless check_mode() passes; else *mode (when not NULL)
 * is its mode.  Returns ST_OK and *out, a string the caller wipes and frees,
 * or ST_CONFIG after a message.  What was read is wiped on every failure.
 */
static int
read_file(const char *path, size_t max, int private, mode_t *mode, char **out)
{
	char shown[PATH_SHOWN_MAX], *buf = NULL;
	struct stat st;
	ssize_t n = 0;
	size_t len = 0, cap = 0;
	int fd, rc = ST_CONFIG;

	log_escape(path, shown, sizeof(shown));
	if ((fd = open_regular(path, shown, &st)) == -1)
		return ST_CONFIG;
	if (private && check_mode(shown, st.st_mode) != ST_OK)
		goto out;
	if ((size_t)st.st_size > max) {
		log_err("%s: larger than %zu bytes", shown, max);
		goto out;
	}
	/* One byte more than the size, to notice a file that grew. */
	cap = (size_t)st.st_size + 1;
	if ((buf = malloc(cap + 1)) == NULL) {
		log_err("out of memory");
		goto out;
	}
	while (len < cap && (n = read(fd, buf + len, cap - len)) > 0)
		len += (size_t)n;
	if (n == -1) {
		log_err("cannot read %s: %s", shown, strerror(errno));
		goto out;
	}
	if (len == cap) {
		log_err("%s: grew while it was read; try again", shown);
		goto out;
	}
	if (memchr(buf, '\0', len) != NULL) {
		log_err("%s: contains a NUL byte", shown);
		goto out;
	}
	buf[len] = '\0';
	if (mode != NULL)
		*mode = st.st_mode;
	*out = buf;
	buf = NULL;
	rc = ST_OK;
out:
	if (buf != NULL)
		explicit_bzero(buf, cap + 1);
	free(buf);
	close(fd);
	return rc;
}

int
config_read_file(const char *path, char **out)
{
	return read_file(path, SECRET_FILE_MAX, 0, NULL, out);
}

int
config_read_file_max(const char *path, size_t max, char **out)
{
	return read_file(path, max, 0, NULL, out);
}

char *
config_ini_get(const char *text, const char *section, const char *key, int *has_section)
{
	char line[CONFIG_MAX_LINE], *l, *end, *val = NULL;
	const char *p = text + bom_len(text), *start, *nl;
	size_t len, klen;
	int in = 0;

	if (has_section != NULL)
		*has_section = 0;
	while (*p != '\0' && val == NULL) {
		start = p;
		nl = strchr(p, '\n');
		len = nl ? (size_t)(nl - p) : strlen(p);
		p += len + (nl ? 1 : 0);
		if (len >= sizeof(line))
			continue;		/* too long for a key line: not ours */
		memcpy(line, start, len);
		line[len] = '\0';
		l = trim(line);
		if (*l == '\0' || *l == '#' || *l == ';')
			continue;
		if (*l == '[') {
			if ((end = strrchr(l, ']')) == NULL)
				continue;
			*end = '\0';
			in = strcmp(l + 1, section) == 0;
			if (in && has_section != NULL)
				*has_section = 1;
			continue;
		}
		klen = strcspn(l, "=:");
		/* not in it, not a key, or indented: a continuation (botocore's nested values) */
		if (!in || l[klen] == '\0' || l != line)
			continue;
		end = l + klen;
		while (end > l && (end[-1] == ' ' || end[-1] == '\t'))
			end--;
		if ((size_t)(end - l) == strlen(key) && strncasecmp(l, key, strlen(key)) == 0)
			val = strdup(trim(l + klen + 1));
	}
	explicit_bzero(line, sizeof(line));
	return val;
}

/* Read a secret from a NAME_FILE file: private, whitespace and a BOM trimmed. */
static int
read_secret_file(const char *path, char **out)
{
	char *buf, *t;
	size_t len;
	int rc;

	if ((rc = read_file(path, SECRET_FILE_MAX, 1, NULL, &buf)) != ST_OK)
		return rc;
	len = strlen(buf);
	t = trim(buf + bom_len(buf));
	*out = xstrdup(t);
	explicit_bzero(buf, len);
	free(buf);
	return ST_OK;
}

/*
 * Apply a certbot plugin credentials file (`credentials = PATH`): its keys
 * fill the section's keys that are not set already.
 */
static int
apply_credentials(struct provider_conf *pc, const struct provider_ops *ops)
{
	const char *path = provider_conf_get(pc, "credentials");
	char *text = NULL, *line, *next, *eq, *val;
	const struct cred_map *m;
	size_t len;
	int rc;

	if (path == NULL)
		return ST_OK;
	if (ops->cred == NULL || ops->cred[0].key == NULL) {
		log_err("%s: provider type %s does not read certbot credentials files",
		    pc->origin, ops->type);
		return ST_CONFIG;
	}
	if ((rc = read_file(path, SECRET_FILE_MAX, 1, NULL, &text)) != ST_OK)
		return rc;
	len = strlen(text);
	for (line = text + bom_len(text); line != NULL; line = next) {
		if ((next = strchr(line, '\n')) != NULL)
			*next++ = '\0';
		line = trim(line);
		if (*line == '#' || *line == ';' || (eq = strchr(line, '=')) == NULL)
			continue;
		*eq = '\0';
		val = clean_value(eq + 1);
		for (m = ops->cred; val != NULL && m->key != NULL; m++)
			if (strcmp(trim(line), m->certbot_key) == 0 &&
			    provider_conf_get(pc, m->key) == NULL)
				provider_conf_set(pc, m->key, val, 0);
	}
	explicit_bzero(text, len);	/* cut into pieces above: strlen would stop early */
	free(text);
	return ST_OK;
}

/* Report a key that pc's type does not take, at the key's line when known. */
static void
unknown_provider_key(const struct config *cfg, const struct provider_conf *pc,
    const struct provider_ops *ops, const struct kv *kv)
{
	char shown[PATH_SHOWN_MAX], where[WHERE_MAX], section[CONFIG_MAX_NAME + 64];

	if (kv->line > 0 && cfg->path != NULL)
		snprintf(where, sizeof(where), "%s:%zu",
		    log_escape(cfg->path, shown, sizeof(shown)), kv->line);
	else
		snprintf(where, sizeof(where), "%s", pc->origin);
	snprintf(section, sizeof(section), "[provider %s] (type %s)", pc->name, ops->type);
	unknown_key(where, section, kv->key, ops->keys, generic_keys);
}

/* Check every provider section against its provider's keys. */
static int
validate(struct config *cfg)
{
	size_t i, j, catchall = 0;

	if (cfg->nproviders == 0) {
		log_err("%s: no [provider NAME] section", cfg->path ? cfg->path : "config");
		return ST_CONFIG;
	}
	for (i = 0; i < cfg->nproviders; i++) {
		struct provider_conf *pc = &cfg->providers[i];
		const struct provider_ops *ops;
		int rc;

		if (pc->type == NULL) {
			log_err("%s: [provider %s] has no 'type ='", pc->origin, pc->name);
			return ST_CONFIG;
		}
		if ((ops = provider_find(pc->type)) == NULL) {
			/* the value is not shown: it may be a secret on the wrong line */
			log_err("%s: [provider %s]: unknown provider type (see: dns01 providers)",
			    pc->origin, pc->name);
			return ST_CONFIG;
		}
		for (j = 0; j < pc->nkv; j++)
			if (!in_list(ops->keys, pc->kv[j].key) &&
			    !in_list(generic_keys, pc->kv[j].key)) {
				unknown_provider_key(cfg, pc, ops, &pc->kv[j]);
				return ST_CONFIG;
			}
		if ((rc = apply_credentials(pc, ops)) != ST_OK)
			return rc;
		if (pc->nzones == 0)
			catchall++;
	}
	if (catchall > 1) {
		log_err("%s: more than one provider without 'zones ='; "
		    "give each but one the zones it serves", cfg->path ? cfg->path : "config");
		return ST_CONFIG;
	}
	return ST_OK;
}

/* 1 when some provider section holds a secret key. */
static int
has_secrets(const struct config *cfg)
{
	size_t i, j;

	for (i = 0; i < cfg->nproviders; i++) {
		const struct provider_ops *ops = provider_find(cfg->providers[i].type ?
		    cfg->providers[i].type : "");

		for (j = 0; j < cfg->providers[i].nkv; j++)
			if (ops == NULL || in_list(ops->secret_keys, cfg->providers[i].kv[j].key))
				return 1;
	}
	return 0;
}

/* Build the one provider of env mode from DNS01_PROVIDER and its variables. */
static int
load_env(struct config **out)
{
	const char *type = getenv("DNS01_PROVIDER"), *v;
	const struct provider_ops *ops;
	const struct env_map *m;
	struct provider_conf *pc;
	struct config *cfg;
	char var[128], *secret;
	unsigned long n;
	size_t i;
	int rc = ST_CONFIG;

	if (type == NULL || *type == '\0') {
		log_err("no configuration: create %s (see dns01(1)), pass -c FILE, or set "
		    "DNS01_PROVIDER and the provider's variables", CONFIG_DEFAULT_PATH);
		return ST_CONFIG;
	}
	if ((ops = provider_find(type)) == NULL) {
		log_err("DNS01_PROVIDER: unknown provider type (see: dns01 providers)");
		return ST_CONFIG;
	}
	cfg = config_new();
	if ((pc = add_provider(cfg, type, "environment")) == NULL)
		goto out;
	pc->type = xstrdup(type);
	for (m = ops->env; m != NULL && m->key != NULL; m++) {
		for (i = 0; i < sizeof(m->vars) / sizeof(m->vars[0]) && m->vars[i]; i++) {
			if ((v = getenv(m->vars[i])) != NULL && *v != '\0') {
				provider_conf_set(pc, m->key, v, 0);
				break;
			}
			snprintf(var, sizeof(var), "%s_FILE", m->vars[i]);
			if ((v = getenv(var)) != NULL && *v != '\0') {
				if (read_secret_file(v, &secret) != ST_OK)
					goto out;
				provider_conf_set(pc, m->key, secret, 0);
				free_secret(secret);
				break;
			}
		}
	}
	if ((v = getenv("DNS01_TIMEOUT")) != NULL) {
		if (parse_uint(v, CONFIG_MAX_TIMEOUT, &n) == -1 || n == 0) {
			log_err("DNS01_TIMEOUT must be 1..%d seconds", CONFIG_MAX_TIMEOUT);
			goto out;
		}
		cfg->timeout = (unsigned)n;
	}
	if ((v = getenv("DNS01_TTL")) != NULL && set_global(cfg, "ttl", v, "DNS01_TTL") == -1)
		goto out;
	if ((v = getenv("DNS01_RESOLVERS")) != NULL &&
	    set_global(cfg, "resolvers", v, "DNS01_RESOLVERS") == -1)
		goto out;
	if ((v = getenv("DNS01_STATE_DIR")) != NULL &&
	    set_global(cfg, "state_dir", v, "DNS01_STATE_DIR") == -1)
		goto out;
	if ((v = getenv("DNS01_SYSLOG")) != NULL && set_global(cfg, "syslog", v, "DNS01_SYSLOG") == -1)
		goto out;
	if ((v = getenv("DNS01_SYSLOG_FACILITY")) != NULL &&
	    set_global(cfg, "syslog_facility", v, "DNS01_SYSLOG_FACILITY") == -1)
		goto out;
	rc = ST_OK;
out:
	if (rc == ST_OK)
		*out = cfg;
	else
		config_free(cfg);
	return rc;
}

/* The default state directory: root's, or $XDG_STATE_HOME/dns01. */
static char *
default_state_dir(void)
{
	const char *x = getenv("XDG_STATE_HOME"), *home = getenv("HOME");
	char buf[4096];

	if (geteuid() == 0)
		return xstrdup(CONFIG_STATE_DIR_ROOT);
	if (x != NULL && x[0] == '/')
		snprintf(buf, sizeof(buf), "%s/dns01", x);
	else if (home != NULL && home[0] == '/')
		snprintf(buf, sizeof(buf), "%s/.local/state/dns01", home);
	else
		snprintf(buf, sizeof(buf), "/tmp/dns01-%u", (unsigned)geteuid());
	return xstrdup(buf);
}

int
config_load(const char *path, struct config **out)
{
	struct config *cfg = NULL;
	char *text = NULL, shown[PATH_SHOWN_MAX];
	mode_t mode = 0;
	int rc, explicit = 1;

	if (path == NULL && (path = getenv("DNS01_CONFIG")) != NULL && *path == '\0')
		path = NULL;
	if (path == NULL) {
		explicit = 0;
		if (access(CONFIG_DEFAULT_PATH, F_OK) == 0)
			path = CONFIG_DEFAULT_PATH;
	}
	if (path == NULL || (!explicit && getenv("DNS01_PROVIDER") != NULL)) {
		if ((rc = load_env(&cfg)) != ST_OK)
			return rc;
	} else {
		if ((rc = read_file(path, SECRET_FILE_MAX, 0, &mode, &text)) != ST_OK)
			return rc;
		rc = config_parse_text(text, path, &cfg);
		free_secret(text);
		if (rc != ST_OK)
			return rc;
		cfg->path = xstrdup(path);
		/* the mode of the file that was read (no second open) */
		if (has_secrets(cfg) && (rc = check_mode(log_escape(path, shown, sizeof(shown)),
		    mode)) != ST_OK)
			goto out;
	}
	if ((rc = validate(cfg)) != ST_OK)
		goto out;
	if (cfg->state_dir == NULL)
		cfg->state_dir = default_state_dir();
	rc = ST_OK;
out:
	if (rc == ST_OK)
		*out = cfg;
	else
		config_free(cfg);
	return rc;
}

const struct provider_conf *
config_route(const struct config *cfg, const char *name)
{
	const struct provider_conf *best = NULL, *catchall = NULL;
	size_t i, j, bestlen = 0;

	for (i = 0; i < cfg->nproviders; i++) {
		const struct provider_conf *pc = &cfg->providers[i];

		if (pc->nzones == 0)
			catchall = pc;
		for (j = 0; j < pc->nzones; j++)
			if (name_is_under(name, pc->zones[j]) &&
			    (best == NULL || strlen(pc->zones[j]) > bestlen)) {
				best = pc;
				bestlen = strlen(pc->zones[j]);
			}
	}
	return best ? best : catchall;
}

void
config_free(struct config *cfg)
{
	size_t i, j;

	if (cfg == NULL)
		return;
	for (i = 0; i < cfg->nproviders; i++) {
		struct provider_conf *pc = &cfg->providers[i];

		free(pc->name);
		free_secret(pc->type);	/* a secret typed on the wrong line, maybe */
		free(pc->origin);
		for (j = 0; j < pc->nzones; j++)
			free(pc->zones[j]);
		free(pc->zones);
		for (j = 0; j < pc->nkv; j++) {
			free_secret(pc->kv[j].key);
			free_secret(pc->kv[j].value);
		}
	}
	for (i = 0; i < cfg->nresolvers; i++)
		free(cfg->resolvers[i]);
	free(cfg->state_dir);
	free(cfg->path);
	free(cfg);
}
