/* stderr logging; see log.h. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "log.h"

static enum log_level level = LOG_NORMAL;
static char last_error[LOG_LAST_ERROR_MAX];	/* the last log_err() text */
static char first_error[LOG_LAST_ERROR_MAX];	/* the first log_err() text */
static char first_note[LOG_LAST_ERROR_MAX];	/* the first log_warn()/log_note() text */
static char reason[LOG_LAST_ERROR_MAX];		/* the first log_reason() text */

void
log_set_level(enum log_level l)
{
	level = l;
}

enum log_level
log_get_level(void)
{
	return level;
}

static void LOG_PRINTF(2, 0)
vlog(const char *prefix, const char *fmt, va_list ap)
{
	fprintf(stderr, "dns01: %s", prefix);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	fflush(stderr);
}

void
log_err(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(last_error, sizeof(last_error), fmt, ap);
	va_end(ap);
	if (first_error[0] == '\0')
		memcpy(first_error, last_error, sizeof(first_error));
	va_start(ap, fmt);
	vlog("error: ", fmt, ap);
	va_end(ap);
}

/* Keep the text of fmt in slot (len bytes) unless the slot has one already. */
static void LOG_PRINTF(3, 0)
keep_first(char *slot, size_t len, const char *fmt, va_list ap)
{
	if (slot[0] == '\0')
		vsnprintf(slot, len, fmt, ap);
}

const char *
log_first_error(void)
{
	return first_error;
}

const char *
log_first_note(void)
{
	return first_note;
}

const char *
log_reason_text(void)
{
	return reason;
}

/* A warning or a note: kept as the first note, printed unless -q. */
static void LOG_PRINTF(2, 0)
vnote(const char *prefix, const char *fmt, va_list ap)
{
	va_list again;

	va_copy(again, ap);
	keep_first(first_note, sizeof(first_note), fmt, ap);
	if (level >= LOG_NORMAL)
		vlog(prefix, fmt, again);
	va_end(again);
}

void
log_note(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vnote("", fmt, ap);
	va_end(ap);
}

void
log_reason(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	keep_first(reason, sizeof(reason), fmt, ap);
	va_end(ap);
}

const char *
log_last_error(void)
{
	return last_error;
}

void
log_clear_last_error(void)
{
	last_error[0] = '\0';
}

void
log_warn(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vnote("warning: ", fmt, ap);
	va_end(ap);
}

void
log_info(const char *fmt, ...)
{
	va_list ap;

	if (level < LOG_NORMAL)
		return;
	va_start(ap, fmt);
	vlog("", fmt, ap);
	va_end(ap);
}

void
log_debug(const char *fmt, ...)
{
	va_list ap;

	if (level < LOG_VERBOSE)
		return;
	va_start(ap, fmt);
	vlog("debug: ", fmt, ap);
	va_end(ap);
}

char *
log_escape(const char *in, char *out, size_t outlen)
{
	size_t o = 0;

	if (outlen == 0)
		return out;
	/* 4 octets for "\xHH", 1 for the NUL */
	for (; *in != '\0' && o + 5 <= outlen; in++) {
		unsigned char c = (unsigned char)*in;

		if (c >= 0x20 && c < 0x7f && c != '\\')
			out[o++] = (char)c;
		else
			o += (size_t)snprintf(out + o, outlen - o, "\\x%02x", c);
	}
	out[o] = '\0';
	return out;
}

double
log_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

const char *
log_clock(double when, char *buf, size_t len)
{
	time_t s = (time_t)when;
	struct tm tm;

	if (localtime_r(&s, &tm) == NULL || strftime(buf, len, "%H:%M:%S", &tm) == 0)
		snprintf(buf, len, "?");
	return buf;
}

void
log_sleep(double s)
{
	struct timespec ts;

	if (s <= 0)
		return;
	ts.tv_sec = (time_t)s;
	ts.tv_nsec = (long)((s - (double)ts.tv_sec) * 1e9);
	while (nanosleep(&ts, &ts) == -1)
		;
}
