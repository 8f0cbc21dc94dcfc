/*
 * CAA (RFC 8659) as `dns01 doctor` judges it: which CAA RRset applies to a
 * domain, and whether it lets a CA issue for the domain with dns-01 (RFC
 * 8657 validationmethods).
 *
 * The RRset that applies is the first non-empty CAA RRset from the name up
 * its parents (RFC 8659 §3; the root is not asked).  For a wildcard
 * "*.example.com" the climb starts at example.com, and the RRset's
 * issuewild properties count instead of its issue properties when it has
 * any (§4.3).  A critical property (flag 128) of a tag a CA may not know
 * forbids issuance outright (§4.1).
 *
 * Everything here is a function of records: the lookups come from the
 * caller (caa_lookup_fn), so tests/unit/test_caa.c drives the climb from a
 * table.  Names are canonical text (core/name.h).
 */
#ifndef DNS01_CAA_H
#define DNS01_CAA_H

#include <stddef.h>
#include <stdint.h>

#include <ldns/ldns.h>

#include "name.h"

#define CAA_FLAG_CRITICAL	0x80	/* the Issuer Critical Flag */
#define CAA_TAG_BUF	256	/* a tag and its NUL: the tag length is one octet */
#define CAA_VALUE_BUF	300	/* a value's octets looked at, and the NUL */
#define CAA_TEXT_BUF	(CAA_TAG_BUF + 4 * CAA_VALUE_BUF)	/* a record as text */
#define CAA_LIST_MAX	1024	/* a list of records in a verdict */
#define CAA_SHOWN	8	/* records of the relevant property listed at most */
#define CAA_WHY_MAX	512	/* why a lookup failed */

/* One CAA property (a record's RDATA). */
struct caa_prop {
	unsigned flags;
	char	tag[CAA_TAG_BUF];
	char	value[CAA_VALUE_BUF];	/* cut after CAA_VALUE_BUF - 1 octets */
};

/*
 * Parse CAA RDATA in wire form (flags, tag length, tag, value: RFC 8659
 * §4.1) into *out.  ST_OK, or ST_FAIL when malformed: shorter than two
 * octets, an empty tag, a tag past the end, or a NUL in the value's first
 * CAA_VALUE_BUF - 1 octets.
 */
int	caa_parse(const uint8_t *rdata, size_t len, struct caa_prop *out);

/* caa_parse on the RDATA of a CAA record.  ST_FAIL also when out of memory. */
int	caa_parse_rr(const ldns_rr *rr, struct caa_prop *out);

/*
 * The property as zone-file text, `FLAGS TAG "VALUE"`, octets of the value
 * outside printable ASCII and '"' and '\' as \DDD, into out (len bytes).
 * A value cut to fit (where an escape might not fit) is still closed with
 * '"' when there is room for it.
 */
void	caa_text(const struct caa_prop *p, char *out, size_t len);

/*
 * 1 when an issue/issuewild value names CA domain ca (case-insensitively, a
 * trailing dot allowed) and, if it has a validationmethods parameter, that
 * lists dns-01; else 0 (an empty issuer, ";", denies every CA).
 */
int	caa_allows(const char *value, const char *ca);

/* 1 for a property tag a CA is expected to know (RFC 8659, 8657, 9495), else 0. */
int	caa_known_tag(const char *tag);

enum caa_outcome {
	CAA_LOOKUP_FAILED,	/* the lookup of `at` failed: `why`; a CA does not issue */
	CAA_NONE,		/* no CAA at `at` (the domain) or its parents: any CA */
	CAA_CRITICAL,		/* the RRset at `at` has `critical` properties: no CA */
	CAA_NO_PROPERTY,	/* the RRset at `at` has no `property` property: any CA */
	CAA_ALLOWED,		/* one of `seen` allows the CA */
	CAA_DENIED		/* none of `seen` allows the CA */
};

/* What caa_check() or caa_judge() found. */
struct caa_verdict {
	enum caa_outcome outcome;
	char	at[NAME_BUF];		/* the name whose RRset applies (or failed) */
	const char *property;		/* "issue", or "issuewild" (static text) */
	char	seen[CAA_LIST_MAX];	/* the first CAA_SHOWN records of `property` */
	char	critical[CAA_LIST_MAX];	/* the critical records of unknown tags */
	char	why[CAA_WHY_MAX];	/* LOOKUP_FAILED: why */
};

/*
 * The CAA answer for name (the resolvers asked, RD=1), or NULL with the
 * reason in why (whylen bytes).  caa_check() frees the answer.
 */
typedef ldns_pkt *caa_lookup_fn(void *ctx, const char *name, char *why, size_t whylen);

/*
 * Judge the CAA records in rrs (other types passed over, malformed ones
 * too) for domain ("*." first for a wildcard) and CA domain ca; the RRset
 * is the one at name at.  Fills every field of *out but why: CRITICAL,
 * NO_PROPERTY, ALLOWED or DENIED, in that precedence.
 */
void	caa_judge(const char *domain, const char *at, const ldns_rr_list *rrs, const char *ca,
    struct caa_verdict *out);

/*
 * Climb from domain's name (without "*.") up its parents, one lookup each,
 * until an answer has a CAA record (of any owner, so a CNAME's target
 * counts), a lookup fails, or no parent is left; then judge that RRset for
 * ca.  Always fills *out.
 */
void	caa_check(const char *domain, const char *ca, caa_lookup_fn *lookup, void *ctx,
    struct caa_verdict *out);

#endif
