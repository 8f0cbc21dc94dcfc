/*
 * stderr logging.  stdout is data (certbot keeps the auth hook's stdout),
 * so everything here goes to stderr.  Messages never contain secrets: callers
 * pass names, addresses and codes, never key material.
 */
#ifndef DNS01_LOG_H
#define DNS01_LOG_H

#include <stddef.h>

enum log_level {
	LOG_QUIET = 0,		/* -q: errors only */
	LOG_NORMAL = 1,		/* default: errors, warnings, progress */
	LOG_VERBOSE = 2		/* -v: also debug traces */
};

#define LOG_PRINTF(a, b) __attribute__((format(printf, a, b)))

void	log_set_level(enum log_level level);
enum log_level log_get_level(void);

/* "dns01: error: ..." — always printed. */
void	log_err(const char *fmt, ...) LOG_PRINTF(1, 2);
/*
 * The text of the last log_err() message (no "dns01: error: " prefix, cut
 * at LOG_LAST_ERROR_MAX), "" after log_clear_last_error(); for `doctor`,
 * which shows it as the reason of a failed check.
 */
#define LOG_LAST_ERROR_MAX	512
const char *log_last_error(void);
void	log_clear_last_error(void);

/* "dns01: warning: ..." — printed unless -q; remembered as a note (below). */
void	log_warn(const char *fmt, ...) LOG_PRINTF(1, 2);

/*
 * What the call's syslog summary (core/summary.h) is built from; each
 * keeps its first text of the process (cut at LOG_LAST_ERROR_MAX), "" when
 * none.  log_first_error(): the first log_err() (doctor clearing the last
 * error does not clear it).  log_first_note(): the first log_warn() or
 * log_note(), also under -q.  log_reason_text(): the first log_reason().
 */
const char *log_first_error(void);
const char *log_first_note(void);
const char *log_reason_text(void);
/*
 * Progress like log_info(), for something unusual the call waits out or
 * works around (a lame nameserver, a cache wait): remembered as a note, so
 * the call's summary says it.
 */
void	log_note(const char *fmt, ...) LOG_PRINTF(1, 2);
/*
 * The most telling reason of a failure (or of a warning) in one line, for
 * the summary only (nothing is printed): e.g. the first server that never
 * served the value.  Only the first call counts.
 */
void	log_reason(const char *fmt, ...) LOG_PRINTF(1, 2);
/* "dns01: ..." — progress, printed unless -q. */
void	log_info(const char *fmt, ...) LOG_PRINTF(1, 2);
/* "dns01: debug: ..." — printed only with -v. */
void	log_debug(const char *fmt, ...) LOG_PRINTF(1, 2);

/*
 * in for a message, into out (outlen bytes, NUL-terminated): printable ASCII
 * as is, every other octet and '\\' as \xHH, cut where out is full.  For
 * text from files, the environment or argv, so that a terminal escape is
 * never written raw to stderr.  Returns out.
 */
char	*log_escape(const char *in, char *out, size_t outlen);

/* Seconds since an arbitrary fixed point (CLOCK_MONOTONIC). */
double	log_now(void);

/* Sleep s seconds (fractions too; nothing when s <= 0), through signals. */
void	log_sleep(double s);

/* The wall-clock time `when` (seconds since the epoch) as local HH:MM:SS in
   buf, "?" when it cannot be shown.  Returns buf. */
const char *log_clock(double when, char *buf, size_t len);

#endif
