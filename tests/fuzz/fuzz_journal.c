/*
 * The run journal's parser (core/journal.c: journal_parse,
 * journal_format): the journal decides which values dns01 deletes, so a
 * damaged or planted line must be dropped, never misread.  Input: journal
 * text.  Every entry parsed is formatted again and must parse back to the
 * same entry.
 */
#include "fuzz.h"

#include "../../core/journal.h"

#define FUZZ_NOW	1700000000	/* seconds since the epoch (2023-11) */

/* Field by field: the bytes after a string's NUL are no part of an entry. */
static int
same(const struct journal_entry *a, const struct journal_entry *b)
{
	return a->created == b->created && a->status == b->status &&
	    strcmp(a->token, b->token) == 0 && strcmp(a->key, b->key) == 0 &&
	    strcmp(a->name, b->name) == 0 && strcmp(a->value, b->value) == 0 &&
	    strcmp(a->id, b->id) == 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct journal j = { 0 }, back = { 0 };
	char *text, line[JOURNAL_LINE_MAX];
	const char *why;
	size_t i, bad;

	if ((text = malloc(size + 1)) == NULL)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	(void)journal_parse(&j, text, FUZZ_NOW, &bad, &why);
	if (j.n > JOURNAL_MAX_ENTRIES)
		abort();
	for (i = 0; i < j.n; i++) {
		if (journal_format(&j.e[i], line, sizeof(line)) == -1)
			continue;
		if (journal_parse(&back, line, FUZZ_NOW, &bad, &why) != 0 || back.n != 1 ||
		    !same(&back.e[0], &j.e[i]))
			abort();	/* what dns01 writes it must read back */
		back.n = 0;
	}
	free(back.e);
	free(j.e);
	free(text);
	return 0;
}
