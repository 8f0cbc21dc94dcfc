/*
 * The cache ledger's parser (core/ledger.c: ledger_parse,
 * ledger_parse_line, ledger_judge): the file is in the state directory,
 * and a damaged one must be read, reported and survived.  Input: the
 * ledger text; "now" is fixed so that a run is repeatable.
 */
#include "fuzz.h"

#include "../../core/ledger.h"

#define FUZZ_NOW	1.7e9	/* seconds since the epoch (2023-11) */

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct ledger_entry e[LEDGER_MAX_ENTRIES];
	struct ledger_parsed p = { .e = e, .max = LEDGER_MAX_ENTRIES };
	struct ledger_entry one;
	const char *why;
	size_t i;

	ledger_parse((const char *)data, size, FUZZ_NOW, &p);
	if (p.n > p.max)
		abort();
	for (i = 0; i < p.n; i++) {
		if (ledger_judge(&e[i], FUZZ_NOW, &why) != LEDGER_CURRENT)
			abort();	/* only current entries are kept */
		(void)ledger_pending_end(&e[i]);
	}
	if (ledger_parse_line((const char *)data, size, &one, &why) == 0)
		(void)ledger_judge(&one, FUZZ_NOW, &why);
	return 0;
}
