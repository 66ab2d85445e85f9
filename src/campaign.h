/*
 * campaign.h
 *		Campaigns as the rule engine, the discount code, the draw code and the
 *		simulation see them: whether a campaign gives at a time, and reserving
 *		from its budgets (whole, per local day, per branch).
 */
#ifndef PG_LOYALTY_CAMPAIGN_H
#define PG_LOYALTY_CAMPAIGN_H

#include "datatype/timestamp.h"
#include "utils/date.h"

#include "points.h"

/* At most this many slots per budget (campaign.budget_slots is at most 256) */
#define CAMPAIGN_MAX_SLOTS	512

/* What a reservation checks about time */
typedef enum CampaignWhen
{
	CAMPAIGN_ANY_TIME,			/* status only: not draft, paused or ended */
	CAMPAIGN_AT,				/* active at the given time */
	CAMPAIGN_GIFT_WINDOW,		/* active and within the gift window at the given time */
	CAMPAIGN_BUDGET_ONLY		/* any status but draft (prizes of an ended race) */
} CampaignWhen;

/* A campaign as a reservation needs it (money and caps in hundredths) */
typedef struct CampaignState
{
	bool		found;
	char		status[16];
	TimestampTz starts_at;
	TimestampTz ends_at;
	bool		has_gift_from;
	TimestampTz gift_from;
	bool		has_gift_to;
	TimestampTz gift_to;
	int32		slots;
	bool		has_daily;
	Points		daily;
	int64		point_value;	/* hundredths of money per point */
	DateADT		day;			/* local date of the reservation's time */
	bool		has_budget_points;
	Points		budget_points;
	bool		has_budget_money;
	int64		budget_money;
	bool		has_branch_points;
	Points		branch_points;	/* cap per branch */
	bool		has_branch_money;
	int64		branch_money;	/* cap per branch */
	char		time_zone[TZ_STRLEN_MAX + 1];	/* the program's, for day */
} CampaignState;

/* Whether a campaign gives at a time (running, or scheduled and started; within its dates) */
extern bool LoyaltyCampaignActive(int64 campaign_id, TimestampTz at);

/*
 * Reserve points (and their money value at the program's point value) from a
 * campaign's budget in the current transaction; false when the campaign is
 * paused or ended or a cap is exhausted.  member_id picks the budget slot.
 */
extern bool LoyaltyCampaignTake(int64 campaign_id, Points points, int64 member_id);

/* The same, also requiring the campaign to be active at the order's time */
extern bool LoyaltyCampaignTakeAt(int64 campaign_id, Points points, int64 member_id, TimestampTz at);

/* The same, also paying from the branch's budget when the campaign caps branches */
extern bool LoyaltyCampaignTakeAtBranch(int64 campaign_id, Points points, int64 member_id,
										TimestampTz at, const char *branch);

/*
 * Give back points reserved earlier in this transaction (an order that turned
 * out to be a replay); at gives the day of a daily cap.
 */
extern void LoyaltyCampaignGiveBack(int64 campaign_id, Points points, int64 member_id, TimestampTz at);
extern void LoyaltyCampaignGiveBackBranch(int64 campaign_id, Points points, int64 member_id,
										  TimestampTz at, const char *branch);

/* Reserve points and money (hundredths) from a campaign's budget; see LoyaltyCampaignTake */
extern bool CampaignReserve(int64 campaign_id, Points points, int64 money, int64 key,
							CampaignWhen when, TimestampTz at);

/* The same, for an order of a branch (NULL: no branch) */
extern bool CampaignReserveBranch(int64 campaign_id, Points points, int64 money, int64 key,
								  CampaignWhen when, TimestampTz at, const char *branch);

/* Give back points and money reserved earlier in this transaction with the same key */
extern void CampaignGiveBackBranch(int64 campaign_id, Points points, int64 money, int64 key,
								   TimestampTz at, const char *branch);

/* Whether a reservation would succeed now (read only: a quote's test) */
extern bool CampaignCanPay(int64 campaign_id, Points points, int64 money, CampaignWhen when,
						   TimestampTz at, const char *branch);

/* CampaignCanPay with the campaign's state already read (CampaignRead) in this call */
extern bool CampaignCanPayState(int64 campaign_id, const CampaignState *state, Points points, int64 money,
								CampaignWhen when, TimestampTz at, const char *branch);

/*
 * CampaignReserveBranch with the campaign's state read earlier in this call:
 * saves the first read; the state is still read again once the slots are locked
 */
extern bool CampaignReserveBranchState(int64 campaign_id, const CampaignState *state, Points points,
									   int64 money, int64 key, CampaignWhen when, TimestampTz at,
									   const char *branch);

/* Whether a campaign gives at a time, by the given test */
extern bool CampaignGives(int64 campaign_id, CampaignWhen when, TimestampTz at);

/* Read a campaign's state and caps; at gives the local day */
extern void CampaignRead(int64 campaign_id, TimestampTz at, CampaignState *c);

/* Decisions shared by the live reservation and the simulation */
extern bool CampaignStateGives(const CampaignState *c, CampaignWhen when, TimestampTz at);
extern bool CampaignBranchCapped(const CampaignState *c, Points points, int64 money);
extern const char *CampaignBranchKey(const char *branch);
extern bool CampaignFits(bool unlimited_p, Points left_p, bool unlimited_m, int64 left_m,
						 Points points, int64 money);
extern int64 CampaignPointsMoney(Points points, int64 point_value);

#endif							/* PG_LOYALTY_CAMPAIGN_H */
