/*
 * accrual.h
 *		Earning points on orders: the interface used by the SQL intake
 *		functions and by the host-table triggers.
 */
#ifndef PG_LOYALTY_ACCRUAL_H
#define PG_LOYALTY_ACCRUAL_H

#include "datatype/timestamp.h"

#include "points.h"

/* One order line; money in hundredths, quantity in thousandths */
typedef struct AccrualLine
{
	int32		line_no;
	char	   *sku;			/* NULL when unknown */
	char	   *item_group;		/* NULL when unknown */
	int64		quantity;		/* thousandths of a unit */
	int64		unit_price;		/* hundredths */
	int64		discount;		/* item discount on the line, hundredths */
	int64		amount;			/* what the line costs after its discount */
	bool		is_service;
} AccrualLine;

/* An order as accrual sees it */
typedef struct AccrualOrder
{
	int64		program_id;
	const char *source;			/* source system, e.g. 'pos' */
	const char *document;		/* order id in that system */
	const char *customer_key;	/* NULL for a guest */
	const char *card_no;		/* card shown at the till, or NULL */
	const char *branch;			/* NULL when unknown */
	const char *channel;		/* NULL when unknown */
	TimestampTz ordered_at;
	int64		total;			/* bill total, hundredths */
	int64		bill_discount;	/* bill-level discount, hundredths */
	int64		paid_with_points;	/* part of the total paid with points */
	int			nlines;
	AccrualLine *lines;			/* may be empty: the total then earns */
} AccrualOrder;

/* What accrual did */
typedef struct AccrualResult
{
	bool		has_member;		/* false for guests and ignored customers */
	int64		member_id;
	Points		points;
	int64		entry_id;		/* 0 when nothing was posted */
	bool		replayed;		/* the document had been posted before */
} AccrualResult;

extern void AccrueOrder(const AccrualOrder *order, AccrualResult *result);
extern Points ReverseWholeOrder(int64 program_id, const char *source,
								const char *document, const char *reason);
extern int64 LoyaltyProgramIdByCode(const char *code);

#endif							/* PG_LOYALTY_ACCRUAL_H */
