/*
 * campaign.h
 *		Campaigns as the rule engine and the draw code see them: whether a
 *		campaign gives at a time, and reserving from its budget.
 */
#ifndef PG_LOYALTY_CAMPAIGN_H
#define PG_LOYALTY_CAMPAIGN_H

#include "datatype/timestamp.h"

#include "points.h"

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

/*
 * Give back points reserved earlier in this transaction (an order that turned
 * out to be a replay); at gives the day of a daily cap.
 */
extern void LoyaltyCampaignGiveBack(int64 campaign_id, Points points, int64 member_id, TimestampTz at);

/* What a reservation checks about time */
typedef enum CampaignWhen
{
	CAMPAIGN_ANY_TIME,			/* status only: not draft, paused or ended */
	CAMPAIGN_AT,				/* active at the given time */
	CAMPAIGN_GIFT_WINDOW		/* active and within the gift window at the given time */
} CampaignWhen;

/* Reserve points and money (hundredths) from a campaign's budget; see LoyaltyCampaignTake */
extern bool CampaignReserve(int64 campaign_id, Points points, int64 money, int64 key,
							CampaignWhen when, TimestampTz at);

/* Whether a campaign gives at a time, by the given test */
extern bool CampaignGives(int64 campaign_id, CampaignWhen when, TimestampTz at);

#endif							/* PG_LOYALTY_CAMPAIGN_H */
