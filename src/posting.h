/*
 * posting.h
 *		Writing an order's earning (order row, ledger entry, lot, balance)
 *		straight through the executor's row routines, without SPI.
 */
#ifndef PG_LOYALTY_POSTING_H
#define PG_LOYALTY_POSTING_H

#include "postgres.h"

/* The values of an earning, in the order of the posting statement's parameters */
typedef enum EarnParam
{
	EP_MEMBER,					/* bigint */
	EP_PROGRAM,					/* bigint */
	EP_SOURCE,					/* text */
	EP_DOCUMENT,				/* text */
	EP_BRANCH,					/* text, may be null */
	EP_CHANNEL,					/* text, may be null */
	EP_ORDERED_AT,				/* timestamptz */
	EP_AMOUNT,					/* numeric: the bill */
	EP_POINTS,					/* points: the order's total */
	EP_VISIT_POINTS,			/* points */
	EP_ENTRY,					/* bigint: the earning entry and lot id */
	EP_LINE_NOS,				/* integer[] */
	EP_LINE_SKUS,				/* text[] */
	EP_LINE_GROUPS,				/* text[] */
	EP_LINE_QUANTITIES,			/* numeric[] */
	EP_LINE_AMOUNTS,			/* numeric[] */
	EP_LINE_POINTS,				/* points[] */
	EP_LINE_RULES,				/* bigint[] */
	EP_RULE,					/* bigint, may be null: the entry's rule */
	EP_CREATED_AT,				/* timestamptz */
	EP_EXPIRES_AT,				/* timestamptz, may be null */
	EP_CHECKSUM,				/* bigint */
	EP_EARNS,					/* boolean: the order earns more than zero */
	EP_ROUNDING,				/* points */
	EP_CAMPAIGN,				/* bigint, may be null */
	EP_COUNT
} EarnParam;

typedef struct EarnValues
{
	Datum		values[EP_COUNT];
	char		nulls[EP_COUNT];	/* SPI style: 'n' for null, ' ' otherwise */
	int			nlines;
	Oid			points_type;
} EarnValues;

typedef enum PostOutcome
{
	POST_WRITTEN,				/* order, entry, lot and balance written */
	POST_DUPLICATE,				/* the document is already posted: a replay or a conflict */
	POST_UNAVAILABLE			/* not taken: the caller posts through SQL */
} PostOutcome;

/* Post an earning through the executor's row routines when possible */
extern PostOutcome PostEarnDirect(const EarnValues *ev);

#endif							/* PG_LOYALTY_POSTING_H */
