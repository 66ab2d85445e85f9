/*
 * errcodes_tiers.h
 *		SQLSTATEs of tiers, birthdays, customers, notifications and jobs (class LT).
 */
#ifndef PG_LOYALTY_ERRCODES_TIERS_H
#define PG_LOYALTY_ERRCODES_TIERS_H

#include "utils/elog.h"

/* A retried write with the same key but different content */
#define ERRCODE_TIERS_CONFLICT				MAKE_SQLSTATE('L','T','0','0','1')
/* A template uses a macro that is not known */
#define ERRCODE_TIERS_UNKNOWN_MACRO			MAKE_SQLSTATE('L','T','0','0','2')
/* pg_cron is not installed in this database */
#define ERRCODE_TIERS_NO_PG_CRON			MAKE_SQLSTATE('L','T','0','0','3')
/* The customer is not a member of the program */
#define ERRCODE_TIERS_UNKNOWN_MEMBER		MAKE_SQLSTATE('L','T','0','0','4')
/* The program has no template with this code for the channel */
#define ERRCODE_TIERS_NO_TEMPLATE			MAKE_SQLSTATE('L','T','0','0','5')

#endif							/* PG_LOYALTY_ERRCODES_TIERS_H */
