/*
 * Bounded text for messages: lists built up in fixed buffers, and text
 * from DNS, certificates or other programs made safe to print.  Every
 * function writes at most len bytes, always leaves a NUL-terminated string
 * (len > 0), and cuts what does not fit; none can fail.
 */
#ifndef DNS01_TEXT_H
#define DNS01_TEXT_H

#include <stddef.h>

/* Append text to buf (len bytes), with sep first when buf is not empty. */
void	text_append(char *buf, size_t len, const char *sep, const char *text);

/*
 * Copy in to out (len bytes) with control characters replaced by '?'; with
 * ascii_only, also every octet above 0x7e (for JSON when in is not UTF-8,
 * and for names from the network).
 */
void	text_printable(const char *in, char *out, size_t len, int ascii_only);

#endif
