/*
 * redeem.h
 *		Spending points: internals shared by redemption, one-time codes,
 *		rewards and expiry.
 */
#ifndef PG_LOYALTY_REDEEM_H
#define PG_LOYALTY_REDEEM_H

#include "datatype/timestamp.h"

#include "points.h"
#include "rules.h"

/* A program's redemption policy, with defaults when it has no row */
typedef struct RedeemPolicy
{
	Points		min_balance;
	Points		min_points;
	int64		max_bill_percent;	/* hundredths of a percent (10000 = 100%) */
	Points		step;
	char	  **excluded_groups;
	int			nexcluded_groups;
	char	  **excluded_skus;
	int			nexcluded_skus;
	int32		hold_minutes;
	bool		require_otp;
	int32		otp_minutes;
	int32		otp_max_tries;
} RedeemPolicy;

/* A member looked up by customer key */
typedef struct RedeemMember
{
	int64		member_id;
	char	   *status;
	char	   *phone;
	char	   *email;
} RedeemMember;

extern void RedeemLoadPolicy(int64 program_id, RedeemPolicy *policy);
extern void RedeemFindMember(const ProgramConfig *prog, const char *customer_key, RedeemMember *m);
extern void RedeemCheckOtp(int64 member_id, int64 program_id, const char *purpose, const char *code);

#endif							/* PG_LOYALTY_REDEEM_H */
