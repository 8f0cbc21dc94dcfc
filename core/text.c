/*
 * Bounded text for messages (core/text.h).
 */
#include <stdio.h>
#include <string.h>

#include "text.h"

void
text_append(char *buf, size_t len, const char *sep, const char *text)
{
	size_t n = strlen(buf);

	if (n + 1 < len)
		snprintf(buf + n, len - n, "%s%s", n > 0 ? sep : "", text);
}

void
text_printable(const char *in, char *out, size_t len, int ascii_only)
{
	size_t o = 0;

	for (; *in != '\0' && o + 1 < len; in++) {
		unsigned char ch = (unsigned char)*in;

		out[o++] = ch < 0x20 || ch == 0x7f || (ascii_only && ch > 0x7e) ? '?' : (char)ch;
	}
	out[o] = '\0';
}
