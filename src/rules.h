/*
 * rules.h
 *		Programs and their earning rules, cached per backend.
 */
#ifndef PG_LOYALTY_RULES_H
#define PG_LOYALTY_RULES_H

#include "datatype/timestamp.h"
#include "utils/timestamp.h"

#include "points.h"

typedef enum RuleKind
{
	RULE_PER_AMOUNT,			/* points per per_amount of money */
	RULE_PERCENT,				/* percent of value at the point value */
	RULE_PER_QUANTITY,			/* points per unit bought */
	RULE_PER_ORDER,				/* points per visit */
	RULE_EXCLUDE				/* the line earns nothing */
} RuleKind;

typedef enum UnknownCustomer
{
	UNKNOWN_CUSTOMER_IGNORE,
	UNKNOWN_CUSTOMER_ENROLL,
	UNKNOWN_CUSTOMER_ERROR
} UnknownCustomer;

/* One earning rule, numbers pre-scaled to integers */
typedef struct EarnRule
{
	int64		rule_id;
	char	   *name;
	RuleKind	kind;
	Points		points;			/* per_amount, per_quantity, per_order */
	int64		per_amount;		/* hundredths of money */
	int64		percent;		/* ten-thousandths of a percent */
	char	   *item_sku;
	char	   *item_group;
	char	   *customer_group;
	char	   *card_series;
	char	   *branch;
	char	   *channel;
	int32		priority;
	int64		min_bill;		/* hundredths */
	int64		min_item_price; /* hundredths */
	TimestampTz valid_from;
	TimestampTz valid_to;
	int64		campaign_id;	/* 0 when none */
	char	  **target_groups;	/* the campaign's target customer groups (none: all) */
	int			ntarget_groups;
	char	  **target_tiers;	/* the campaign's target tiers (none: all) */
	int			ntarget_tiers;
} EarnRule;

/* A program's settings and rules, rules sorted so the first match wins */
typedef struct ProgramConfig
{
	int64		program_id;
	char	   *code;
	int64		point_value;	/* hundredths of money per point */
	char	   *time_zone;
	PointsRoundMode rounding;
	bool		earn_on_discounted_items;
	bool		earn_on_points_paid;	/* false: bills paid with points earn nothing */
	bool		earn_with_bill_discount;
	bool		services_earn;
	int64		min_item_price;
	int64		min_bill;
	UnknownCustomer unknown_customer;
	bool		has_lifetime;
	Interval	lifetime;		/* points lifetime when has_lifetime */
	char	   *expiry_rounding;	/* exact, end_of_month, end_of_quarter, end_of_year */
	bool		cap_at_balance;
	bool		active;
	bool		uses_card_series;
	bool		has_birthday_offers;
	bool		has_tiers;
	bool		has_reward_thresholds;
	int			nrules;
	EarnRule   *rules;
} ProgramConfig;

extern void LoyaltyRulesInit(void);
extern uint64 LoyaltyRulesGeneration(void);
extern Timestamp LoyaltyLocalTime(TimestampTz at, const char *zone);
extern ProgramConfig *LoyaltyGetProgram(int64 program_id);
extern ProgramConfig *LoyaltyGetProgramByCode(const char *code);
extern bool LoyaltyProgramHasTiers(int64 program_id);
extern bool LoyaltyProgramHasRewardThresholds(int64 program_id);

/* Sort rules in precedence order: priority, then specificity, then the older rule */
extern void LoyaltySortRules(EarnRule *rules, int n);

/* The rule kind named by loyalty.rule.kind */
extern RuleKind RuleKindFromName(const char *kind);

#endif							/* PG_LOYALTY_RULES_H */
