/*
 * campaign.c
 *		Campaign state and budgets kept in split counters.
 *
 * A campaign's budget is pre-split over N rows of campaign_budget_slot (day
 * -infinity, branch ''; a daily cap has its own N rows per local day, and a
 * per-branch cap its own N rows per branch, both made when first needed).
 * A taker locks one slot of each budget it must pay from (the whole budget,
 * then the day's, then the branch's), chosen from the key (member id) with
 * SKIP LOCKED so tills do not queue on one row; only when no single free slot
 * can pay does it lock every slot of that budget in slot order and take
 * across them.  The lifecycle functions lock every slot of the whole budget
 * before changing a campaign, and a taker reads the campaign again after it
 * holds its slots, so nothing is given after a campaign was paused, ended or
 * shortened, and the caps are never overspent.
 *
 * Everything a campaign gives goes through here: points of its earning rules
 * (with their money value at the point value), discounts of its policies
 * (money), prize values and points prizes of its draws, and race bonuses.
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "utils/builtins.h"
#include "utils/date.h"
#include "utils/timestamp.h"

#include "campaign.h"
#include "errcodes_campaign.h"
#include "money.h"
#include "rules.h"
#include "spi_util.h"

PG_FUNCTION_INFO_V1(campaign_active);
PG_FUNCTION_INFO_V1(campaign_take);
PG_FUNCTION_INFO_V1(campaign_give_back);
PG_FUNCTION_INFO_V1(campaign_take_money);
PG_FUNCTION_INFO_V1(campaign_give_back_money);

static SPIPlanPtr InfoPlan = NULL;
static SPIPlanPtr EnsurePlan = NULL;
static SPIPlanPtr FastPlan = NULL;
static SPIPlanPtr SlowPlan = NULL;
static SPIPlanPtr ApplyPlan = NULL;
static SPIPlanPtr GiveBackPlan = NULL;
static SPIPlanPtr LeftPlan = NULL;
static SPIPlanPtr TakeFastPlan = NULL;

/* The branch key of the whole budget and of the daily caps */
#define WHOLE_BUDGET	""
/* The branch key of orders that name no branch, under per-branch caps */
#define NO_BRANCH		"(no branch)"

/* What one budget (whole, a day's or a branch's) can still give */
typedef struct BudgetLeft
{
	bool		found;			/* its slots exist */
	bool		unlimited_p;
	Points		points;
	bool		unlimited_m;
	int64		money;
} BudgetLeft;

/* One slot's part of a reservation */
typedef struct SlotTake
{
	int32		slot;
	Points		points;
	int64		money;
} SlotTake;

/* Read a campaign (fresh snapshot); at gives the local day */
static void
ReadCampaign(int64 campaign_id, TimestampTz at, CampaignState *c)
{
	Oid			types[2] = {INT8OID, TIMESTAMPTZOID};
	Datum		values[2];
	HeapTuple	t;
	TupleDesc	d;
	bool		isnull;
	Datum		v;

	LoyaltyPlan(&InfoPlan,
				"SELECT c.status, c.starts_at, c.ends_at, c.gift_window_from, c.gift_window_to, "
				"c.budget_slots, c.daily_budget_points, (p.point_value * 100)::bigint, "
				"($2 AT TIME ZONE p.time_zone)::date, (c.budget_points::numeric * 100)::bigint, "
				"round(c.budget_money * 100)::bigint, (c.branch_budget_points::numeric * 100)::bigint, "
				"round(c.branch_budget_money * 100)::bigint, p.time_zone "
				"FROM loyalty.campaign c JOIN loyalty.program p ON p.program_id = c.program_id "
				"WHERE c.campaign_id = $1",
				2, types);
	values[0] = Int64GetDatum(campaign_id);
	values[1] = TimestampTzGetDatum(at);
	LoyaltyExec(InfoPlan, values, NULL, false, 1);
	memset(c, 0, sizeof(*c));
	if (SPI_processed != 1)
		return;
	t = SPI_tuptable->vals[0];
	d = SPI_tuptable->tupdesc;
	c->found = true;
	strlcpy(c->status, SPI_getvalue(t, d, 1), sizeof(c->status));
	c->starts_at = DatumGetTimestampTz(SPI_getbinval(t, d, 2, &isnull));
	c->ends_at = DatumGetTimestampTz(SPI_getbinval(t, d, 3, &isnull));
	v = SPI_getbinval(t, d, 4, &isnull);
	c->has_gift_from = !isnull;
	c->gift_from = isnull ? 0 : DatumGetTimestampTz(v);
	v = SPI_getbinval(t, d, 5, &isnull);
	c->has_gift_to = !isnull;
	c->gift_to = isnull ? 0 : DatumGetTimestampTz(v);
	c->slots = DatumGetInt32(SPI_getbinval(t, d, 6, &isnull));
	v = SPI_getbinval(t, d, 7, &isnull);
	c->has_daily = !isnull;
	c->daily = isnull ? 0 : DatumGetPoints(v);
	c->point_value = DatumGetInt64(SPI_getbinval(t, d, 8, &isnull));
	c->day = DatumGetDateADT(SPI_getbinval(t, d, 9, &isnull));
	v = SPI_getbinval(t, d, 10, &isnull);
	c->has_budget_points = !isnull;
	c->budget_points = isnull ? 0 : DatumGetInt64(v);
	v = SPI_getbinval(t, d, 11, &isnull);
	c->has_budget_money = !isnull;
	c->budget_money = isnull ? 0 : DatumGetInt64(v);
	v = SPI_getbinval(t, d, 12, &isnull);
	c->has_branch_points = !isnull;
	c->branch_points = isnull ? 0 : DatumGetInt64(v);
	v = SPI_getbinval(t, d, 13, &isnull);
	c->has_branch_money = !isnull;
	c->branch_money = isnull ? 0 : DatumGetInt64(v);
	strlcpy(c->time_zone, SPI_getvalue(t, d, 14), sizeof(c->time_zone));
}

/* Campaigns read by this backend since the rule cache last changed */
#define MAX_KEPT_CAMPAIGNS 16
static CampaignState KeptCampaigns[MAX_KEPT_CAMPAIGNS];
static int64 KeptCampaignIds[MAX_KEPT_CAMPAIGNS];
static int	NumKeptCampaigns = 0;
static uint64 KeptGeneration = 0;

/*
 * The first read of a reservation: the campaign as this backend last read it,
 * unless a campaign (or anything under the rule cache) changed since; the
 * caller reads again after locking its slots, as before.
 */
static void
ReadCampaignKept(int64 campaign_id, TimestampTz at, CampaignState *c)
{
	uint64		generation = LoyaltyRulesGeneration();
	int			i;

	if (generation != KeptGeneration)
	{
		NumKeptCampaigns = 0;
		KeptGeneration = generation;
	}
	for (i = 0; i < NumKeptCampaigns; i++)
	{
		if (KeptCampaignIds[i] == campaign_id)
		{
			*c = KeptCampaigns[i];
			c->day = DatumGetDateADT(DirectFunctionCall1(timestamp_date,
														 TimestampGetDatum(LoyaltyLocalTime(at, c->time_zone))));
			return;
		}
	}
	ReadCampaign(campaign_id, at, c);
	if (c->found && NumKeptCampaigns < MAX_KEPT_CAMPAIGNS)
	{
		KeptCampaignIds[NumKeptCampaigns] = campaign_id;
		KeptCampaigns[NumKeptCampaigns++] = *c;
	}
}

/* See campaign.h */
bool
CampaignStateGives(const CampaignState *c, CampaignWhen when, TimestampTz at)
{
	if (!c->found)
		return false;
	if (when == CAMPAIGN_BUDGET_ONLY)
		return strcmp(c->status, "draft") != 0;
	if (strcmp(c->status, "running") != 0 && strcmp(c->status, "scheduled") != 0)
		return false;
	if (when == CAMPAIGN_ANY_TIME)
		return true;
	if (strcmp(c->status, "scheduled") == 0 && at < c->starts_at)
		return false;
	if (at < c->starts_at || at >= c->ends_at)
		return false;
	if (when == CAMPAIGN_GIFT_WINDOW)
	{
		if (c->has_gift_from && at < c->gift_from)
			return false;
		if (c->has_gift_to && at >= c->gift_to)
			return false;
	}
	return true;
}

/* See campaign.h */
bool
CampaignBranchCapped(const CampaignState *c, Points points, int64 money)
{
	return (c->has_branch_points && points > 0) || (c->has_branch_money && money > 0);
}

/* See campaign.h */
const char *
CampaignBranchKey(const char *branch)
{
	return (branch == NULL || branch[0] == '\0') ? NO_BRANCH : branch;
}

/* See campaign.h */
bool
CampaignFits(bool unlimited_p, Points left_p, bool unlimited_m, int64 left_m, Points points, int64 money)
{
	return (unlimited_p || left_p >= points) && (unlimited_m || left_m >= money);
}

/*
 * Make sure the slots of a day's or a branch's budget exist, each cap split
 * evenly over them (has_* false: no cap of that kind)
 */
static void
EnsureSlots(int64 campaign_id, DateADT day, const char *branch, int32 nslots,
			bool has_points, int64 cap_points, bool has_money, int64 cap_money)
{
	Oid			types[6] = {INT8OID, DATEOID, TEXTOID, INT4OID, INT8OID, INT8OID};
	Datum		values[6];
	char		nulls[6] = {' ', ' ', ' ', ' ', ' ', ' '};

	LoyaltyPlan(&EnsurePlan,
				"INSERT INTO loyalty.campaign_budget_slot (campaign_id, day, branch, slot, remaining_points, remaining_money) "
				"SELECT $1, $2, $3, s, (($5 / $4 + CASE WHEN s < $5 % $4 THEN 1 ELSE 0 END) / 100.0)::loyalty.points, "
				"$6 / $4 + CASE WHEN s < $6 % $4 THEN 1 ELSE 0 END "
				"FROM generate_series(0, $4 - 1) s ON CONFLICT DO NOTHING",
				6, types);
	values[0] = Int64GetDatum(campaign_id);
	values[1] = DateADTGetDatum(day);
	values[2] = CStringGetTextDatum(branch);
	values[3] = Int32GetDatum(nslots);
	values[4] = Int64GetDatum(cap_points);
	nulls[4] = has_points ? ' ' : 'n';
	values[5] = Int64GetDatum(cap_money);
	nulls[5] = has_money ? ' ' : 'n';
	LoyaltyExec(EnsurePlan, values, nulls, false, 0);
}

/*
 * Lock the slots that pay points and money of one budget (a day, a branch)
 * and say how much each gives.  Returns the number of parts, 0 when the
 * budget cannot pay, -1 when the budget has no slots yet.
 */
static int
LockSlots(int64 campaign_id, DateADT day, const char *branch, int32 nslots, Points points,
		  int64 money, int64 key, SlotTake *parts)
{
	Oid			types[7] = {INT8OID, DATEOID, InvalidOid, INT8OID, INT4OID, INT4OID, TEXTOID};
	Oid			slow_types[3] = {INT8OID, DATEOID, TEXTOID};
	Datum		values[7];
	Datum		slow_values[3];
	uint64		i;
	int			n = 0;
	Points		need_p = points;
	int64		need_m = money;
	Points		have_p = 0;
	int64		have_m = 0;
	bool		unlimited_p = false;
	bool		unlimited_m = false;
	SPITupleTable *tab;
	uint64		nrows;

	types[2] = LoyaltyTypeOid("points");
	LoyaltyPlan(&FastPlan,
				"SELECT slot FROM loyalty.campaign_budget_slot "
				"WHERE campaign_id = $1 AND day = $2 AND branch = $7 AND slot < $6 "
				"AND (remaining_points IS NULL OR remaining_points OPERATOR(loyalty.>=) $3) "
				"AND (remaining_money IS NULL OR remaining_money >= $4) "
				"ORDER BY ((slot - $5) % $6 + $6) % $6 LIMIT 1 FOR UPDATE SKIP LOCKED",
				7, types);
	values[0] = Int64GetDatum(campaign_id);
	values[1] = DateADTGetDatum(day);
	values[2] = PointsGetDatum(points);
	values[3] = Int64GetDatum(money);
	values[4] = Int32GetDatum((int32) (key % nslots));
	values[5] = Int32GetDatum(nslots);
	values[6] = CStringGetTextDatum(branch);
	LoyaltyExec(FastPlan, values, NULL, false, 1);
	if (SPI_processed == 1)
	{
		bool		isnull;

		parts[0].slot = DatumGetInt32(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
		parts[0].points = points;
		parts[0].money = money;
		return 1;
	}

	/* No free slot can pay alone: lock them all in slot order and pay across them */
	LoyaltyPlan(&SlowPlan,
				"SELECT slot, remaining_points, remaining_money FROM loyalty.campaign_budget_slot "
				"WHERE campaign_id = $1 AND day = $2 AND branch = $3 ORDER BY slot FOR UPDATE",
				3, slow_types);
	slow_values[0] = values[0];
	slow_values[1] = values[1];
	slow_values[2] = values[6];
	LoyaltyExec(SlowPlan, slow_values, NULL, false, 0);
	tab = SPI_tuptable;
	nrows = SPI_processed;
	if (nrows == 0)
		return -1;
	if (nrows > CAMPAIGN_MAX_SLOTS)
		elog(ERROR, "campaign " INT64_FORMAT " has too many budget slots", campaign_id);
	for (i = 0; i < nrows; i++)
	{
		bool		np,
					nm;
		Datum		p = SPI_getbinval(tab->vals[i], tab->tupdesc, 2, &np);
		Datum		m = SPI_getbinval(tab->vals[i], tab->tupdesc, 3, &nm);

		if (np)
			unlimited_p = true;
		else
			have_p = PointsAdd(have_p, DatumGetPoints(p));
		if (nm)
			unlimited_m = true;
		else
			have_m += DatumGetInt64(m);
	}
	if (!CampaignFits(unlimited_p, have_p, unlimited_m, have_m, points, money))
		return 0;
	for (i = 0; i < nrows && (need_p > 0 || need_m > 0 || n == 0); i++)
	{
		bool		np,
					nm,
					isnull;
		Datum		p = SPI_getbinval(tab->vals[i], tab->tupdesc, 2, &np);
		Datum		m = SPI_getbinval(tab->vals[i], tab->tupdesc, 3, &nm);
		Points		tp = np ? need_p : Min(need_p, DatumGetPoints(p));
		int64		tm = nm ? need_m : Min(need_m, DatumGetInt64(m));

		if (tp == 0 && tm == 0 && n > 0)
			continue;
		parts[n].slot = DatumGetInt32(SPI_getbinval(tab->vals[i], tab->tupdesc, 1, &isnull));
		parts[n].points = tp;
		parts[n].money = tm;
		need_p -= tp;
		need_m -= tm;
		n++;
	}
	return n;
}

/* Lock the slots of a day's or a branch's budget, making them first if needed */
static int
LockOrMakeSlots(int64 campaign_id, DateADT day, const char *branch, const CampaignState *c,
				bool has_points, int64 cap_points, bool has_money, int64 cap_money,
				Points points, int64 money, int64 key, SlotTake *parts)
{
	int			n = LockSlots(campaign_id, day, branch, c->slots, points, money, key, parts);

	if (n >= 0)
		return n;
	EnsureSlots(campaign_id, day, branch, c->slots, has_points, cap_points, has_money, cap_money);
	n = LockSlots(campaign_id, day, branch, c->slots, points, money, key, parts);
	if (n < 0)
		elog(ERROR, "campaign " INT64_FORMAT " has no budget slots", campaign_id);
	return n;
}

/* Write a reservation's parts to their slots */
static void
ApplyParts(int64 campaign_id, DateADT day, const char *branch, const SlotTake *parts, int n)
{
	Oid			types[7] = {INT8OID, DATEOID, INT4OID, InvalidOid, INT8OID, INT8OID, TEXTOID};
	Datum		values[7];
	int			i;

	types[3] = LoyaltyTypeOid("points");
	LoyaltyPlan(&ApplyPlan,
				"UPDATE loyalty.campaign_budget_slot SET "
				"remaining_points = remaining_points OPERATOR(loyalty.-) $4, "
				"remaining_money = remaining_money - $5, "
				"taken_points = taken_points OPERATOR(loyalty.+) $4, "
				"taken_money = taken_money + $5, takes = takes + $6 "
				"WHERE campaign_id = $1 AND day = $2 AND branch = $7 AND slot = $3",
				7, types);
	for (i = 0; i < n; i++)
	{
		values[0] = Int64GetDatum(campaign_id);
		values[1] = DateADTGetDatum(day);
		values[2] = Int32GetDatum(parts[i].slot);
		values[3] = PointsGetDatum(parts[i].points);
		values[4] = Int64GetDatum(parts[i].money);
		values[5] = Int64GetDatum(i == 0 ? 1 : 0);
		values[6] = CStringGetTextDatum(branch);
		LoyaltyExec(ApplyPlan, values, NULL, false, 0);
	}
}

/* See campaign.h */
int64
CampaignPointsMoney(Points points, int64 point_value)
{
	int128		m = (int128) points * point_value;

	return (int64) ((m + (m >= 0 ? 50 : -50)) / 100);
}

/*
 * The common reservation in one statement: lock a slot of the whole budget
 * that can pay alone (SKIP LOCKED, starting at the key's slot) and take from
 * it.  False when no free slot can pay alone (the caller locks them all).
 */
static bool
TakeFast(int64 campaign_id, int32 nslots, Points points, int64 money, int64 key, int32 *slot)
{
	Oid			types[7] = {INT8OID, DATEOID, InvalidOid, INT8OID, INT4OID, INT4OID, TEXTOID};
	Datum		values[7];
	bool		isnull;

	types[2] = LoyaltyTypeOid("points");
	LoyaltyPlan(&TakeFastPlan,
				"UPDATE loyalty.campaign_budget_slot SET "
				"remaining_points = remaining_points OPERATOR(loyalty.-) $3, "
				"remaining_money = remaining_money - $4, "
				"taken_points = taken_points OPERATOR(loyalty.+) $3, "
				"taken_money = taken_money + $4, takes = takes + 1 "
				"WHERE campaign_id = $1 AND day = $2 AND branch = $7 AND slot = "
				"(SELECT slot FROM loyalty.campaign_budget_slot "
				"WHERE campaign_id = $1 AND day = $2 AND branch = $7 AND slot < $6 "
				"AND (remaining_points IS NULL OR remaining_points OPERATOR(loyalty.>=) $3) "
				"AND (remaining_money IS NULL OR remaining_money >= $4) "
				"ORDER BY ((slot - $5) % $6 + $6) % $6 LIMIT 1 FOR UPDATE SKIP LOCKED) "
				"RETURNING slot",
				7, types);
	values[0] = Int64GetDatum(campaign_id);
	values[1] = DateADTGetDatum(DATEVAL_NOBEGIN);
	values[2] = PointsGetDatum(points);
	values[3] = Int64GetDatum(money);
	values[4] = Int32GetDatum((int32) (key % nslots));
	values[5] = Int32GetDatum(nslots);
	values[6] = CStringGetTextDatum(WHOLE_BUDGET);
	LoyaltyExec(TakeFastPlan, values, NULL, false, 0);
	if (SPI_processed != 1)
		return false;
	*slot = DatumGetInt32(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	return true;
}

static void GiveBackSlot(int64 campaign_id, DateADT day, const char *branch, int32 slot, Points points,
						 int64 money);

/* The reservation itself, inside an SPI connection */
static bool
ReserveConnected(int64 campaign_id, Points points, int64 money, int64 key,
				 CampaignWhen when, TimestampTz at, const char *branch, const CampaignState *pre)
{
	CampaignState c;
	SlotTake   *total_parts;
	SlotTake   *daily_parts = NULL;
	SlotTake   *branch_parts = NULL;
	int			ntotal;
	int			ndaily = 0;
	int			nbranch = 0;
	const char *bkey = CampaignBranchKey(branch);

	if (points < 0 || money < 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("a campaign cannot take a negative amount")));
	/* a state read earlier in this call saves the first read (the one after locking stays) */
	if (pre != NULL)
		c = *pre;
	else
		ReadCampaign(campaign_id, at, &c);
	if (!CampaignStateGives(&c, when, at))
		return false;
	if (key < 0)
		key = -(key + 1);
	/*
	 * Only the whole budget to pay (no daily or branch cap concerned): take
	 * from a free slot in one statement, then read the campaign again now
	 * that the slot is ours (a pause, end or reschedule has committed or
	 * waits for us) and undo the take if it no longer gives
	 */
	if (!(c.has_daily && points > 0) && !CampaignBranchCapped(&c, points, money) && c.slots > 0)
	{
		int32		slot;

		if (TakeFast(campaign_id, c.slots, points, money, key, &slot))
		{
			ReadCampaign(campaign_id, at, &c);
			if (CampaignStateGives(&c, when, at))
				return true;
			GiveBackSlot(campaign_id, DATEVAL_NOBEGIN, WHOLE_BUDGET, slot, points, money);
			return false;
		}
	}
	total_parts = palloc0(sizeof(SlotTake) * CAMPAIGN_MAX_SLOTS);
	ntotal = LockSlots(campaign_id, DATEVAL_NOBEGIN, WHOLE_BUDGET, c.slots, points, money, key, total_parts);
	if (ntotal < 0)
		elog(ERROR, "campaign " INT64_FORMAT " has no budget slots", campaign_id);
	if (ntotal == 0)
		return false;
	if (c.has_daily && points > 0)
	{
		daily_parts = palloc0(sizeof(SlotTake) * CAMPAIGN_MAX_SLOTS);
		ndaily = LockOrMakeSlots(campaign_id, c.day, WHOLE_BUDGET, &c, true, c.daily, false, 0,
								 points, 0, key, daily_parts);
		if (ndaily == 0)
			return false;
	}
	if (CampaignBranchCapped(&c, points, money))
	{
		branch_parts = palloc0(sizeof(SlotTake) * CAMPAIGN_MAX_SLOTS);
		nbranch = LockOrMakeSlots(campaign_id, DATEVAL_NOBEGIN, bkey, &c,
								  c.has_branch_points, c.branch_points, c.has_branch_money, c.branch_money,
								  points, money, key, branch_parts);
		if (nbranch == 0)
			return false;
	}
	/* The slots are ours: a pause, end or reschedule has committed or waits for us */
	ReadCampaign(campaign_id, at, &c);
	if (!CampaignStateGives(&c, when, at))
		return false;
	ApplyParts(campaign_id, DATEVAL_NOBEGIN, WHOLE_BUDGET, total_parts, ntotal);
	if (ndaily > 0)
		ApplyParts(campaign_id, c.day, WHOLE_BUDGET, daily_parts, ndaily);
	if (nbranch > 0)
		ApplyParts(campaign_id, DATEVAL_NOBEGIN, bkey, branch_parts, nbranch);
	return true;
}

/* See campaign.h */
bool
CampaignReserveBranch(int64 campaign_id, Points points, int64 money, int64 key,
					  CampaignWhen when, TimestampTz at, const char *branch)
{
	bool		ok;

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	ok = ReserveConnected(campaign_id, points, money, key, when, at, branch, NULL);
	SPI_finish();
	return ok;
}

/* See campaign.h */
bool
CampaignReserveBranchState(int64 campaign_id, const CampaignState *state, Points points, int64 money,
						   int64 key, CampaignWhen when, TimestampTz at, const char *branch)
{
	bool		ok;

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	ok = ReserveConnected(campaign_id, points, money, key, when, at, branch, state);
	SPI_finish();
	return ok;
}

/* Reserve points and money from a campaign's budget (own SPI connection) */
bool
CampaignReserve(int64 campaign_id, Points points, int64 money, int64 key,
				CampaignWhen when, TimestampTz at)
{
	return CampaignReserveBranch(campaign_id, points, money, key, when, at, NULL);
}

/* Give back one budget's part of a reservation (to the key's slot) */
static void
GiveBackSlot(int64 campaign_id, DateADT day, const char *branch, int32 slot, Points points, int64 money)
{
	Oid			types[7] = {INT8OID, DATEOID, INT4OID, InvalidOid, INT8OID, INT8OID, TEXTOID};
	Datum		values[7];

	types[3] = LoyaltyTypeOid("points");
	LoyaltyPlan(&GiveBackPlan,
				"UPDATE loyalty.campaign_budget_slot SET "
				"remaining_points = remaining_points OPERATOR(loyalty.+) $4, "
				"remaining_money = remaining_money + $5, "
				"taken_points = taken_points OPERATOR(loyalty.-) $4, "
				"taken_money = taken_money - $5, takes = takes - $6 "
				"WHERE campaign_id = $1 AND day = $2 AND branch = $7 AND slot = $3",
				7, types);
	values[0] = Int64GetDatum(campaign_id);
	values[1] = DateADTGetDatum(day);
	values[2] = Int32GetDatum(slot);
	values[3] = PointsGetDatum(points);
	values[4] = Int64GetDatum(money);
	values[5] = Int64GetDatum(1);
	values[6] = CStringGetTextDatum(branch);
	LoyaltyExec(GiveBackPlan, values, NULL, false, 0);
}

/* See campaign.h */
void
CampaignGiveBackBranch(int64 campaign_id, Points points, int64 money, int64 key,
					   TimestampTz at, const char *branch)
{
	CampaignState c;
	int32		slot;

	if (points <= 0 && money <= 0)
		return;
	if (key < 0)
		key = -(key + 1);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	ReadCampaign(campaign_id, at, &c);
	if (c.found)
	{
		slot = (int32) (key % c.slots);
		GiveBackSlot(campaign_id, DATEVAL_NOBEGIN, WHOLE_BUDGET, slot, points, money);
		if (c.has_daily && points > 0)
			GiveBackSlot(campaign_id, c.day, WHOLE_BUDGET, slot, points, 0);
		if (CampaignBranchCapped(&c, points, money))
			GiveBackSlot(campaign_id, DATEVAL_NOBEGIN, CampaignBranchKey(branch), slot, points, money);
	}
	SPI_finish();
}

/* Reserve points and their money value; see campaign.h */
static bool
TakePoints(int64 campaign_id, Points points, int64 member_id, CampaignWhen when, TimestampTz at,
		   const char *branch)
{
	CampaignState c;
	bool		ok;

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	ReadCampaignKept(campaign_id, at, &c);
	ok = c.found && ReserveConnected(campaign_id, points, CampaignPointsMoney(points, c.point_value),
									 member_id, when, at, branch, &c);
	SPI_finish();
	return ok;
}

/* The money value of points in a campaign's program */
static int64
CampaignMoneyOf(int64 campaign_id, Points points, TimestampTz at)
{
	CampaignState c;

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	ReadCampaign(campaign_id, at, &c);
	SPI_finish();
	return CampaignPointsMoney(points, c.point_value);
}

/* See campaign.h */
bool
LoyaltyCampaignTake(int64 campaign_id, Points points, int64 member_id)
{
	return TakePoints(campaign_id, points, member_id, CAMPAIGN_ANY_TIME,
					  GetCurrentTransactionStartTimestamp(), NULL);
}

/* See campaign.h */
bool
LoyaltyCampaignTakeAt(int64 campaign_id, Points points, int64 member_id, TimestampTz at)
{
	return TakePoints(campaign_id, points, member_id, CAMPAIGN_AT, at, NULL);
}

/* See campaign.h */
bool
LoyaltyCampaignTakeAtBranch(int64 campaign_id, Points points, int64 member_id, TimestampTz at,
							const char *branch)
{
	return TakePoints(campaign_id, points, member_id, CAMPAIGN_AT, at, branch);
}

/* See campaign.h */
void
LoyaltyCampaignGiveBack(int64 campaign_id, Points points, int64 member_id, TimestampTz at)
{
	LoyaltyCampaignGiveBackBranch(campaign_id, points, member_id, at, NULL);
}

/* See campaign.h */
void
LoyaltyCampaignGiveBackBranch(int64 campaign_id, Points points, int64 member_id, TimestampTz at,
							  const char *branch)
{
	if (points <= 0)
		return;
	CampaignGiveBackBranch(campaign_id, points, CampaignMoneyOf(campaign_id, points, at),
						   member_id, at, branch);
}

/* What one budget of a campaign has left (read only) */
static void
ReadLeft(int64 campaign_id, DateADT day, const char *branch, BudgetLeft *left)
{
	Oid			types[3] = {INT8OID, DATEOID, TEXTOID};
	Datum		values[3];
	HeapTuple	t;
	TupleDesc	d;
	bool		isnull;

	LoyaltyPlan(&LeftPlan,
				"SELECT count(*), bool_or(remaining_points IS NULL), "
				"coalesce(sum((remaining_points::numeric * 100)::bigint), 0)::bigint, "
				"bool_or(remaining_money IS NULL), coalesce(sum(remaining_money), 0)::bigint "
				"FROM loyalty.campaign_budget_slot WHERE campaign_id = $1 AND day = $2 AND branch = $3",
				3, types);
	values[0] = Int64GetDatum(campaign_id);
	values[1] = DateADTGetDatum(day);
	values[2] = CStringGetTextDatum(branch);
	LoyaltyExec(LeftPlan, values, NULL, true, 1);
	t = SPI_tuptable->vals[0];
	d = SPI_tuptable->tupdesc;
	memset(left, 0, sizeof(*left));
	left->found = LoyaltyGetInt64(t, d, 1, 0) > 0;
	if (!left->found)
		return;
	left->unlimited_p = DatumGetBool(SPI_getbinval(t, d, 2, &isnull));
	left->points = (Points) LoyaltyGetInt64(t, d, 3, 0);
	left->unlimited_m = DatumGetBool(SPI_getbinval(t, d, 4, &isnull));
	left->money = LoyaltyGetInt64(t, d, 5, 0);
}

/* See campaign.h */
bool
CampaignCanPay(int64 campaign_id, Points points, int64 money, CampaignWhen when, TimestampTz at,
			   const char *branch)
{
	CampaignState c;
	bool		ok;

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	ReadCampaign(campaign_id, at, &c);
	ok = CampaignCanPayState(campaign_id, &c, points, money, when, at, branch);
	SPI_finish();
	return ok;
}

/* See campaign.h */
bool
CampaignCanPayState(int64 campaign_id, const CampaignState *state, Points points, int64 money,
					CampaignWhen when, TimestampTz at, const char *branch)
{
	CampaignState c = *state;
	BudgetLeft	left;
	bool		ok = false;

	if (!CampaignStateGives(&c, when, at))
		return false;
	/* a cap the amount does not touch needs no read */
	if (!((c.has_budget_points && points > 0) || (c.has_budget_money && money > 0)) &&
		!(c.has_daily && points > 0) && !CampaignBranchCapped(&c, points, money))
		return true;
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	/* a cap the amount does not touch needs no read */
	if ((c.has_budget_points && points > 0) || (c.has_budget_money && money > 0))
	{
		ReadLeft(campaign_id, DATEVAL_NOBEGIN, WHOLE_BUDGET, &left);
		if (!left.found || !CampaignFits(left.unlimited_p, left.points, left.unlimited_m, left.money, points, money))
			goto done;
	}
	if (c.has_daily && points > 0)
	{
		ReadLeft(campaign_id, c.day, WHOLE_BUDGET, &left);
		if (!CampaignFits(false, left.found ? left.points : c.daily, true, 0, points, 0))
			goto done;
	}
	if (CampaignBranchCapped(&c, points, money))
	{
		ReadLeft(campaign_id, DATEVAL_NOBEGIN, CampaignBranchKey(branch), &left);
		if (!left.found)
		{
			left.unlimited_p = !c.has_branch_points;
			left.points = c.branch_points;
			left.unlimited_m = !c.has_branch_money;
			left.money = c.branch_money;
		}
		if (!CampaignFits(left.unlimited_p, left.points, left.unlimited_m, left.money, points, money))
			goto done;
	}
	ok = true;
done:
	SPI_finish();
	return ok;
}

/* SQL: loyalty.campaign_give_back(campaign_id, points, member_id, at) */
Datum
campaign_give_back(PG_FUNCTION_ARGS)
{
	if (PG_ARGISNULL(0) || PG_ARGISNULL(1))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("campaign_give_back needs a campaign and an amount")));
	LoyaltyCampaignGiveBack(PG_GETARG_INT64(0), PG_GETARG_POINTS(1),
							PG_ARGISNULL(2) ? 0 : PG_GETARG_INT64(2),
							PG_ARGISNULL(3) ? GetCurrentTransactionStartTimestamp() : PG_GETARG_TIMESTAMPTZ(3));
	PG_RETURN_VOID();
}

/* Money argument in hundredths, not negative */
static int64
MoneyArg(FunctionCallInfo fcinfo, int n)
{
	int64		m = MoneyFromNumeric(PG_GETARG_NUMERIC(n), "amount");

	if (m < 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("a campaign cannot take a negative amount")));
	return m;
}

/* SQL: loyalty.campaign_take_money(campaign_id, money, key, at, branch) */
Datum
campaign_take_money(PG_FUNCTION_ARGS)
{
	if (PG_ARGISNULL(0) || PG_ARGISNULL(1))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("campaign_take_money needs a campaign and an amount")));
	PG_RETURN_BOOL(CampaignReserveBranch(PG_GETARG_INT64(0), 0, MoneyArg(fcinfo, 1),
										 PG_ARGISNULL(2) ? 0 : PG_GETARG_INT64(2), CAMPAIGN_AT,
										 PG_ARGISNULL(3) ? GetCurrentTransactionStartTimestamp() : PG_GETARG_TIMESTAMPTZ(3),
										 PG_ARGISNULL(4) ? NULL : text_to_cstring(PG_GETARG_TEXT_PP(4))));
}

/* SQL: loyalty.campaign_give_back_money(campaign_id, money, key, at, branch) */
Datum
campaign_give_back_money(PG_FUNCTION_ARGS)
{
	if (PG_ARGISNULL(0) || PG_ARGISNULL(1))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("campaign_give_back_money needs a campaign and an amount")));
	CampaignGiveBackBranch(PG_GETARG_INT64(0), 0, MoneyArg(fcinfo, 1),
						   PG_ARGISNULL(2) ? 0 : PG_GETARG_INT64(2),
						   PG_ARGISNULL(3) ? GetCurrentTransactionStartTimestamp() : PG_GETARG_TIMESTAMPTZ(3),
						   PG_ARGISNULL(4) ? NULL : text_to_cstring(PG_GETARG_TEXT_PP(4)));
	PG_RETURN_VOID();
}

/* See campaign.h */
bool
CampaignGives(int64 campaign_id, CampaignWhen when, TimestampTz at)
{
	CampaignState c;

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	ReadCampaign(campaign_id, at, &c);
	SPI_finish();
	return CampaignStateGives(&c, when, at);
}

/* See campaign.h */
void
CampaignRead(int64 campaign_id, TimestampTz at, CampaignState *c)
{
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	ReadCampaign(campaign_id, at, c);
	SPI_finish();
}

/* See campaign.h */
bool
LoyaltyCampaignActive(int64 campaign_id, TimestampTz at)
{
	return CampaignGives(campaign_id, CAMPAIGN_AT, at);
}

/* SQL: loyalty.campaign_active(campaign_id, at) */
Datum
campaign_active(PG_FUNCTION_ARGS)
{
	PG_RETURN_BOOL(LoyaltyCampaignActive(PG_GETARG_INT64(0), PG_GETARG_TIMESTAMPTZ(1)));
}

/* SQL: loyalty.campaign_take(campaign_id, points, member_id, at) */
Datum
campaign_take(PG_FUNCTION_ARGS)
{
	int64		member_id;

	if (PG_ARGISNULL(0) || PG_ARGISNULL(1))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("campaign_take needs a campaign and an amount")));
	member_id = PG_ARGISNULL(2) ? 0 : PG_GETARG_INT64(2);
	if (PG_ARGISNULL(3))
		PG_RETURN_BOOL(LoyaltyCampaignTake(PG_GETARG_INT64(0), PG_GETARG_POINTS(1), member_id));
	PG_RETURN_BOOL(LoyaltyCampaignTakeAt(PG_GETARG_INT64(0), PG_GETARG_POINTS(1), member_id,
										 PG_GETARG_TIMESTAMPTZ(3)));
}
