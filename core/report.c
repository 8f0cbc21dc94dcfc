/*
 * doctor's output: one line per check, or the JSON object (core/report.h).
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "report.h"
#include "status.h"
#include "text.h"

int
report_init(struct report *rp, int json)
{
	rp->json = json;
	rp->checks = NULL;
	rp->failed = 0;
	rp->status = ST_OK;
	if (json && (rp->checks = json_array()) == NULL)
		return ST_FAIL;
	return ST_OK;
}

void
report_emit(struct report *rp, enum verdict v, int status, const char *check,
    const char *domain, const char *fix, const char *fmt, ...)
{
	static const char *const label[] = { "OK", "WARN", "FAIL" };
	static const char *const jlabel[] = { "ok", "warn", "fail" };
	char raw[REPORT_TEXT_MAX], reason[REPORT_TEXT_MAX], fixed[REPORT_TEXT_MAX];
	json_t *o;
	va_list ap;
	int ascii;

	va_start(ap, fmt);
	vsnprintf(raw, sizeof(raw), fmt, ap);
	va_end(ap);
	if (v == V_FAIL && !rp->failed) {
		rp->failed = 1;
		rp->status = status == ST_OK ? ST_FAIL : status;
		/* doctor's syslog summary (core/summary.h) names the first FAIL */
		log_reason("%s%s%s: %s", check, domain ? " " : "", domain ? domain : "", raw);
	}
	for (ascii = 0; ascii <= 1; ascii++) {
		text_printable(raw, reason, sizeof(reason), ascii);
		text_printable(fix ? fix : "", fixed, sizeof(fixed), ascii);
		if (!rp->json)
			break;
		/* NULL when the text is not UTF-8: then again, ASCII only. */
		o = json_pack("{s:s, s:s?, s:s, s:s, s:s?}", "check", check, "domain", domain,
		    "status", jlabel[v], "reason", reason, "fix", fix ? fixed : NULL);
		if (o != NULL) {
			json_array_append_new(rp->checks, o);
			return;
		}
	}
	if (rp->json)
		return;
	printf("%-4s  %s%s%s: %s", label[v], check, domain ? " " : "", domain ? domain : "",
	    reason);
	if (fix != NULL)
		printf(" \xe2\x80\x94 fix: %s", fixed);	/* U+2014 EM DASH */
	putchar('\n');
	fflush(stdout);
}

int
report_finish(struct report *rp)
{
	json_t *res;
	char *s;

	if (rp->json) {
		res = json_pack("{s:b, s:O}", "ok", !rp->failed, "checks", rp->checks);
		if (res != NULL && (s = json_dumps(res, JSON_COMPACT)) != NULL) {
			puts(s);
			free(s);
		}
		json_decref(res);
	}
	return rp->failed ? rp->status : ST_OK;
}

void
report_free(struct report *rp)
{
	json_decref(rp->checks);
	rp->checks = NULL;
}
