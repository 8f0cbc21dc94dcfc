/*
 * doctor's output (core/doctor.c runs the checks, this renders them).
 * Every check gives one line on stdout at once,
 *
 *     OK|WARN|FAIL  <check> [<domain>]: <reason>[ — fix: <what to do>]
 *
 * or, with --json, one entry {check, domain?, status, reason, fix?} of the
 * object {"ok": bool, "checks": [...]} that report_finish() prints.  Reasons
 * and fixes are printed with control characters replaced (and, in JSON,
 * every non-ASCII octet too when the text is not UTF-8).
 *
 * The first FAIL decides the exit status of the command.
 */
#ifndef DNS01_REPORT_H
#define DNS01_REPORT_H

#include <jansson.h>

#include "log.h"

#define REPORT_TEXT_MAX	2048	/* one reason or fix, as printed */

enum verdict { V_OK, V_WARN, V_FAIL };

/* The output so far.  Owns checks (report_free). */
struct report {
	int	json;		/* --json: collect, print at report_finish() */
	json_t	*checks;	/* --json: the check objects */
	int	failed;		/* a check failed */
	int	status;		/* the first failed check's status */
};

/* An empty report, as text or (json) as JSON.  ST_OK, or ST_FAIL (memory). */
int	report_init(struct report *rp, int json);

/*
 * One check's result: printed at once, or kept for the JSON object.  The
 * first FAIL sets the exit status (its status, ST_FAIL for ST_OK).  domain
 * and fix may be NULL; reason and fix are cut at REPORT_TEXT_MAX.
 */
void	report_emit(struct report *rp, enum verdict v, int status, const char *check,
    const char *domain, const char *fix, const char *fmt, ...) LOG_PRINTF(7, 8);

/*
 * The end: with --json, print the object of every check.  Returns the exit
 * status: ST_OK, or the first failed check's status.
 */
int	report_finish(struct report *rp);

/* Free what rp holds (a zeroed report too). */
void	report_free(struct report *rp);

#endif
