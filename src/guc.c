/*
 * guc.c
 *		Every pg_loyalty setting is defined here.
 */
#include "postgres.h"

#include "utils/guc.h"

#include "compat.h"
#include "guc.h"

/* When off, host-table triggers record orders but post no points */
bool		loyalty_accrual_enabled = true;

/* Define the pg_loyalty.* settings and reserve the prefix */
void
LoyaltyGucInit(void)
{
	DefineCustomBoolVariable("pg_loyalty.accrual_enabled",
							 "Whether order triggers post points.",
							 "Turn off for a bulk import of historical orders that must not earn points.",
							 &loyalty_accrual_enabled,
							 true,
							 PGC_SUSET,
							 0,
							 NULL, NULL, NULL);

	MarkGUCPrefixReserved("pg_loyalty");
}
