/* The by-hand commands: set, unset, wait, list; see cli.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "cli.h"
#include "config.h"
#include "log.h"
#include "name.h"
#include "propagation.h"
#include "run.h"
#include "status.h"
#include "summary.h"

int
cli_load_config(const struct opts *o, struct config **cfg)
{
	int rc;

	if (o->config != NULL && o->config[0] == '\0') {
		log_err("-c: the file name is empty (give a path, or leave -c out for "
		    "%s or DNS01_CONFIG)", CONFIG_DEFAULT_PATH);
		return ST_USAGE;
	}
	rc = config_load(o->config, cfg);
	if (rc == ST_OK && o->timeout > 0)
		(*cfg)->timeout = (unsigned)(o->timeout + 0.999);
	if (rc == ST_OK)
		summary_configure((*cfg)->syslog, (*cfg)->syslog_facility);
	return rc;
}

/* Check NAME VALUE... into challenges.  ST_OK or ST_USAGE after saying why. */
static int
parse_name_values(const char *cmd, int argc, char **argv, int need_values,
    struct challenge *c, size_t *n)
{
	char name[NAME_BUF];
	const char *why;
	int i;

	if (argc < 1 || (need_values && argc < 2)) {
		log_err("usage: dns01 %s NAME%s", cmd, need_values ? " VALUE..." : "");
		return ST_USAGE;
	}
	if (argc - 1 > RUN_MAX_CHALLENGES) {
		log_err("%s: at most %d values", cmd, RUN_MAX_CHALLENGES);
		return ST_USAGE;
	}
	if (name_check(argv[0], 0, name, &why) == -1) {
		log_err("%s: invalid name: %s", cmd, why);
		return ST_USAGE;
	}
	for (i = 1; i < argc; i++)
		if (value_check_txt(argv[i], &why) == -1) {
			log_err("%s: invalid value #%d: %s", cmd, i, why);
			return ST_USAGE;
		}
	*n = 0;
	for (i = need_values ? 1 : 0; i < argc; i++) {
		struct challenge *ch = &c[(*n)++];

		memset(ch, 0, sizeof(*ch));
		memcpy(ch->name, name, sizeof(ch->name));
		snprintf(ch->value, sizeof(ch->value), "%s", need_values ? argv[i] : "");
	}
	return ST_OK;
}

static void
print_json(json_t *j)
{
	char *s;

	if (j == NULL)
		return;
	if ((s = json_dumps(j, JSON_COMPACT)) != NULL) {
		puts(s);
		free(s);
	}
	json_decref(j);
}

/* The JSON result of set/unset/wait. */
static void
json_result(const char *cmd, const struct challenge *c, size_t n, int rc, double secs,
    int waited)
{
	json_t *vals = json_array();
	size_t i;

	for (i = 0; i < n; i++)
		json_array_append_new(vals, json_string(c[i].value));
	print_json(json_pack("{s:s, s:s, s:s, s:s, s:o, s:b, s:b, s:i, s:f}",
	    "command", cmd, "name", c[0].name,
	    "target", c[0].target[0] ? c[0].target : c[0].name,
	    "zone", c[0].zone ? c[0].zone->apex : "",
	    "values", vals, "waited", waited, "ok", rc == ST_OK, "status", rc,
	    "seconds", secs));
}

/* set, unset and wait share one shape. */
static int
change_cmd(const struct opts *o, const char *cmd, int argc, char **argv, int del, int write)
{
	struct challenge *c = calloc(RUN_MAX_CHALLENGES, sizeof(*c));
	struct config *cfg = NULL;
	struct run *r = NULL;
	size_t n = 0;
	double start = log_now();
	int rc, waited = 0;

	if (c == NULL)
		return ST_FAIL;
	if ((rc = parse_name_values(cmd, argc, argv, 1, c, &n)) != ST_OK)
		goto out;
	if ((rc = cli_load_config(o, &cfg)) != ST_OK)
		goto out;
	if ((rc = run_new(cfg, &r)) != ST_OK)
		goto out;
	if ((write && (rc = run_precheck(r, c, n)) != ST_OK) ||
	    (rc = run_locate(r, c, n)) != ST_OK)
		goto out;
	if (write && (rc = del ? run_del(r, c, n) : run_add(r, c, n)) != ST_OK)
		goto out;
	if (!o->no_wait || !write) {
		waited = 1;
		rc = run_wait(r, c, n, del ? PROP_ABSENT : PROP_PRESENT, cfg->timeout);
	} else
		run_unwaited(r, c, n, del ? PROP_ABSENT : PROP_PRESENT);
out:
	if (o->json && n > 0)
		json_result(cmd, c, n, rc, log_now() - start, waited);
	run_free(r);
	config_free(cfg);
	free(c);
	return rc;
}

int
cmd_set(const struct opts *o, int argc, char **argv)
{
	return change_cmd(o, "set", argc, argv, 0, 1);
}

int
cmd_unset(const struct opts *o, int argc, char **argv)
{
	return change_cmd(o, "unset", argc, argv, 1, 1);
}

int
cmd_wait(const struct opts *o, int argc, char **argv)
{
	return change_cmd(o, "wait", argc, argv, 0, 0);
}

/* Value v as list shows it in text, without quotes (answer_txt_escape). */
static char *
escaped(const struct txt_value *v)
{
	size_t len = answer_txt_escape(v->data, v->len, NULL, 0) + 1;
	char *out = malloc(len);

	if (out != NULL)
		answer_txt_escape(v->data, v->len, out, len);
	return out;
}

/* Text of one list answer, to stdout.  0, or -1 when out of memory. */
static int
print_answer(const struct prop_answer *a)
{
	size_t i;
	char *e;

	printf("  %s %s: ", a->ns, a->addr);
	if (!a->answered) {
		printf("no answer (%s)\n", a->error);
		return 0;
	}
	printf("%s%s", dnsio_rcode_name(a->rcode), a->aa ? "" : " (not authoritative)");
	for (i = 0; i < a->nvalues; i++) {
		if ((e = escaped(&a->values[i])) == NULL)
			return -1;
		printf(" \"%s\"", e);
		free(e);
	}
	printf("\n");
	return 0;
}

/*
 * Value v for `list --json`: a JSON string of the value when it is UTF-8
 * (NUL as \u0000), else of its escaped text form; and its octets in hex.
 * 0, or -1 when out of memory.
 */
static int
json_value(const struct txt_value *v, json_t *vals, json_t *hex)
{
	static const char digits[] = "0123456789abcdef";
	json_t *s = json_stringn(v->data, v->len);
	char *h = malloc(2 * v->len + 1), *e = NULL;
	size_t i;
	int rc = -1;

	if (h == NULL)
		goto out;
	for (i = 0; i < v->len; i++) {
		h[2 * i] = digits[(unsigned char)v->data[i] >> 4];
		h[2 * i + 1] = digits[(unsigned char)v->data[i] & 0xf];
	}
	h[2 * v->len] = '\0';
	if (s == NULL && ((e = escaped(v)) == NULL || (s = json_string(e)) == NULL))
		goto out;
	if (json_array_append(vals, s) == -1 || json_array_append_new(hex, json_string(h)) == -1)
		goto out;
	rc = 0;
out:
	json_decref(s);
	free(h);
	free(e);
	return rc;
}

/* The JSON object of `list`, on stdout.  0, or -1 when out of memory. */
static int
print_list_json(const struct challenge *c, const struct prop_answer *a, size_t na)
{
	json_t *servers = json_array(), *vals, *hex;
	size_t i, j;
	int rc = -1;

	for (i = 0; servers != NULL && i < na; i++) {
		vals = json_array();
		hex = json_array();
		for (j = 0; vals != NULL && hex != NULL && j < a[i].nvalues; j++)
			if (json_value(&a[i].values[j], vals, hex) == -1)
				break;
		if (vals == NULL || hex == NULL || j < a[i].nvalues) {
			json_decref(vals);
			json_decref(hex);
			goto out;
		}
		if (json_array_append_new(servers, json_pack("{s:s, s:s, s:b, s:s?, s:b, s:o, "
		    "s:o}", "nameserver", a[i].ns, "address", a[i].addr, "answered",
		    a[i].answered, "rcode", a[i].answered ? dnsio_rcode_name(a[i].rcode) : NULL,
		    "authoritative", a[i].aa, "values", vals, "values_hex", hex)) == -1)
			goto out;
	}
	if (servers == NULL)
		goto out;
	print_json(json_pack("{s:s, s:s, s:s, s:O}", "name", c->name, "target", c->target,
	    "zone", c->zone->apex, "servers", servers));
	rc = 0;
out:
	json_decref(servers);
	return rc;
}

int
cmd_list(const struct opts *o, int argc, char **argv)
{
	struct challenge c;
	struct config *cfg = NULL;
	struct run *r = NULL;
	struct prop_answer *a = NULL;
	size_t n = 0, na = 0, i, j;
	int rc, prc = 0;

	if (argc != 1) {
		log_err("usage: dns01 list NAME");
		return ST_USAGE;
	}
	if ((rc = parse_name_values("list", argc, argv, 0, &c, &n)) != ST_OK)
		return rc;
	if ((rc = cli_load_config(o, &cfg)) != ST_OK)
		goto out;
	if ((rc = run_new(cfg, &r)) != ST_OK)
		goto out;
	if ((rc = discovery_locate(run_discovery(r), c.name, c.target, &c.zone, NULL, 0)) != ST_OK)
		goto out;
	if ((a = propagation_list(c.zone, c.target, &na)) == NULL) {
		log_err("out of memory");
		rc = ST_FAIL;
		goto out;
	}
	if (o->json)
		prc = print_list_json(&c, a, na);
	else {
		printf("%s", c.name);
		if (strcmp(c.name, c.target) != 0)
			printf(" -> %s", c.target);
		printf(" (zone %s)\n", c.zone->apex);
		for (i = 0; i < na && prc == 0; i++)
			prc = print_answer(&a[i]);
	}
	if (prc == -1) {
		log_err("out of memory");
		rc = ST_FAIL;
		goto out;
	}
	/* Addresses that did not answer are shown; only silence everywhere fails. */
	for (i = 0, j = 0; i < na; i++)
		j += a[i].answered;
	if (j == 0) {
		log_err("no authoritative server of %s answered", c.zone->apex);
		rc = ST_DISCOVERY;
	}
out:
	propagation_answers_free(a, na);
	run_free(r);
	config_free(cfg);
	return rc;
}
