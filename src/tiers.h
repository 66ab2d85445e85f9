/*
 * tiers.h
 *		Membership tiers and birthday offers: what accrual and the bill
 *		quote ask for.  All factors are in ten-thousandths: 10000 is x1,
 *		a 10% discount is 1000.
 */
#ifndef PG_LOYALTY_TIERS_H
#define PG_LOYALTY_TIERS_H

#include "postgres.h"

#include "datatype/timestamp.h"

extern int64 LoyaltyTierMultiplierE4(int64 member_id, int64 program_id);
extern int64 LoyaltyTierDiscountE4(int64 member_id, int64 program_id);
extern int64 LoyaltyBirthdayMultiplierE4(int64 member_id, int64 program_id, TimestampTz at);
extern int64 LoyaltyBirthdayDiscountE4(int64 member_id, int64 program_id, TimestampTz at);

#endif							/* PG_LOYALTY_TIERS_H */
