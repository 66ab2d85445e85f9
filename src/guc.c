/*
 * guc.c
 *		Every pg_loyalty setting is defined here.
 */
#include "postgres.h"

#include "utils/guc.h"

#include "compat.h"
#include "guc.h"

/* When off, orders post no points (host triggers and record_order do nothing) */
bool		loyalty_accrual_enabled = true;

/* This server's number in a sharded cluster: the top bits of every id */
int			loyalty_node_id = 0;

/* When off, accrual reads members and posts earnings through SQL (see posting.c, member_lookup.c) */
bool		loyalty_direct_posting = true;

/* Define the pg_loyalty.* settings and reserve the prefix */
void
LoyaltyGucInit(void)
{
	DefineCustomBoolVariable("pg_loyalty.accrual_enabled",
							 "Whether order triggers post points.",
							 "Turn off for a bulk import of historical orders that must not earn points; nothing is recorded for them.",
							 &loyalty_accrual_enabled,
							 true,
							 PGC_SUSET,
							 0,
							 NULL, NULL, NULL);

	DefineCustomIntVariable("pg_loyalty.node_id",
							"This server's number among the servers of a sharded cluster.",
							"Ids of member-scoped rows carry it in their top bits, so servers never hand out the same id. Give every server a different number; a single server keeps 0.",
							&loyalty_node_id,
							0, 0, 32767,
							PGC_SIGHUP,
							0,
							NULL, NULL, NULL);

	DefineCustomBoolVariable("pg_loyalty.direct_posting",
							 "Whether accrual reads members and writes earnings through index scans and the executor's row routines.",
							 "On (the default), an order's member is read and its earning written without planning SQL; off, both go through SQL statements. Both give the same rows; the switch exists for measurement and diagnosis.",
							 &loyalty_direct_posting,
							 true,
							 PGC_SUSET,
							 GUC_NOT_IN_SAMPLE,
							 NULL, NULL, NULL);

	MarkGUCPrefixReserved("pg_loyalty");
}
