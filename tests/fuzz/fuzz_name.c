/*
 * Name and value checks (core/name.c): every string a hook, the command
 * line or the environment gives passes through them before anything is
 * sent.  Input: up to three NUL-separated strings (name, value, keyauth).
 * Also checks what name.h promises: a canonical name is accepted again
 * unchanged, and lies under its parent.
 */
#include "fuzz.h"

#include "../../core/name.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *p[3] = { "", "", "" }, *buf, out[NAME_BUF], again[NAME_BUF], ch[NAME_BUF];
	char value[VALUE_BUF];
	const char *why, *parent;
	int n, wild;

	if ((n = fuzz_split(data, size, p, 3, &buf)) < 0)
		return 0;
	for (wild = 0; wild <= 1; wild++) {
		if (name_check(p[0], wild, out, &why) == 0) {
			if (strlen(out) > NAME_MAX_LEN || name_check(out, wild, again, &why) != 0 ||
			    strcmp(out, again) != 0)
				abort();	/* canonical form not stable */
			if ((parent = name_parent(out)) != NULL && out[0] != '*' &&
			    !name_is_under(out, parent))
				abort();
			(void)name_is_under(out, p[1]);
		}
	}
	if (name_challenge(p[0], ch, &why) == 0 && strlen(ch) > NAME_MAX_LEN)
		abort();
	(void)value_check_acme(p[1], &why);
	(void)value_check_txt(p[1], &why);
	if (value_from_keyauth(p[1], p[2], value, &why) == 0 &&
	    value_check_acme(value, &why) != 0)
		abort();	/* the DNS-01 value of a key authorization is an ACME value */
	free(buf);
	return 0;
}
