/*
 * accrual_engine.h
 *		Internals of accrual shared by the intake, explain and return code.
 */
#ifndef PG_LOYALTY_ACCRUAL_ENGINE_H
#define PG_LOYALTY_ACCRUAL_ENGINE_H

#include "accrual.h"
#include "rules.h"

/* A member as accrual needs it */
typedef struct MemberInfo
{
	bool		found;
	int64		member_id;
	char	   *status;
	char	  **groups;
	int			ngroups;
	char	  **series;			/* card series held (only loaded when rules use them) */
	int			nseries;
	bool		has_birthday;
	char	   *tier;			/* name of the member's tier, NULL when none */
	int64		multiplier_e4;	/* tier x birthday multiplier, 10000 = x1 */
} MemberInfo;

/* What happened to one line */
typedef struct LineOutcome
{
	const EarnRule *rule;		/* deciding rule, NULL when none */
	const char *reason;			/* why the line earns nothing, NULL when it earns */
	Points		points;
} LineOutcome;

#define MAX_SKIPPED_CAMPAIGNS 16

/* What an order earns */
typedef struct AccrualComputation
{
	int			nlines;
	LineOutcome *lines;
	const char *order_reason;	/* why the whole order earns nothing */
	const EarnRule *visit_rule;
	Points		visit_points;
	Points		rounding;		/* order rounding: total minus lines and visit */
	Points		total;
	int64		main_rule_id;	/* the rule recorded on the ledger entry */
	int64		main_campaign_id;	/* its campaign, 0 when none */
	int			nskip;			/* campaigns whose budget ran out: their rules are passed over */
	int64		skip_campaigns[MAX_SKIPPED_CAMPAIGNS];
} AccrualComputation;

extern void ValidateOrder(const AccrualOrder *order);
extern void ResolveMember(const ProgramConfig *prog, const char *customer_key,
						  const char *card_no, MemberInfo *m);
extern void ComputeAccrual(const ProgramConfig *prog, const AccrualOrder *order,
						   const MemberInfo *m, AccrualComputation *c);
extern void MemberMultiplier(const ProgramConfig *prog, MemberInfo *m, TimestampTz at);
extern bool LotExpiry(const ProgramConfig *prog, TimestampTz earned_at, TimestampTz *expires_at);

#endif							/* PG_LOYALTY_ACCRUAL_ENGINE_H */
