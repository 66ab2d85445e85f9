/*
 * campaign.c
 *		Campaign state and budgets kept in split counters.
 *
 * A campaign's budget is pre-split over N rows of campaign_budget_slot (day
 * -infinity; a daily cap has its own N rows per local day).  A taker locks
 * one slot, chosen from the key (member id) with SKIP LOCKED so tills do not
 * queue on one row; only when no single free slot can pay does it lock every
 * slot in slot order and take across them.  The lifecycle functions lock
 * every slot before changing a campaign, and a taker reads the campaign
 * again after it holds its slots, so nothing is given after a campaign was
 * paused, ended or shortened, and the caps are never overspent.
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "utils/builtins.h"
#include "utils/date.h"
#include "utils/timestamp.h"

#include "campaign.h"
#include "errcodes_campaign.h"
#include "spi_util.h"

PG_FUNCTION_INFO_V1(campaign_active);
PG_FUNCTION_INFO_V1(campaign_take);
PG_FUNCTION_INFO_V1(campaign_give_back);

static SPIPlanPtr InfoPlan = NULL;
static SPIPlanPtr DailyPlan = NULL;
static SPIPlanPtr FastPlan = NULL;
static SPIPlanPtr SlowPlan = NULL;
static SPIPlanPtr ApplyPlan = NULL;
static SPIPlanPtr GiveBackPlan = NULL;

/* A campaign as a reservation needs it */
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
} CampaignState;

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
				"($2 AT TIME ZONE p.time_zone)::date "
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
}

/* Whether a campaign in this state gives at a time */
static bool
StateGives(const CampaignState *c, CampaignWhen when, TimestampTz at)
{
	if (!c->found)
		return false;
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

/* Make sure today's daily-cap slots exist, the cap split evenly over them */
static void
EnsureDailySlots(int64 campaign_id, const CampaignState *c)
{
	Oid			types[4] = {INT8OID, DATEOID, INT4OID, INT8OID};
	Datum		values[4];

	LoyaltyPlan(&DailyPlan,
				"INSERT INTO loyalty.campaign_budget_slot (campaign_id, day, slot, remaining_points) "
				"SELECT $1, $2, s, (($4 / $3 + CASE WHEN s < $4 % $3 THEN 1 ELSE 0 END) / 100.0)::loyalty.points "
				"FROM generate_series(0, $3 - 1) s ON CONFLICT DO NOTHING",
				4, types);
	values[0] = Int64GetDatum(campaign_id);
	values[1] = DateADTGetDatum(c->day);
	values[2] = Int32GetDatum(c->slots);
	values[3] = Int64GetDatum((int64) c->daily);
	LoyaltyExec(DailyPlan, values, NULL, false, 0);
}

/*
 * Lock the slots that pay points and money of one budget (one day) and say
 * how much each gives.  Returns the number of parts, 0 when the budget
 * cannot pay.
 */
static int
LockSlots(int64 campaign_id, DateADT day, int32 nslots, Points points, int64 money, int64 key,
		  SlotTake *parts)
{
	Oid			types[6] = {INT8OID, DATEOID, InvalidOid, INT8OID, INT4OID, INT4OID};
	Oid			slow_types[2] = {INT8OID, DATEOID};
	Datum		values[6];
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
				"WHERE campaign_id = $1 AND day = $2 AND slot < $6 "
				"AND (remaining_points IS NULL OR remaining_points OPERATOR(loyalty.>=) $3) "
				"AND (remaining_money IS NULL OR remaining_money >= $4) "
				"ORDER BY ((slot - $5) % $6 + $6) % $6 LIMIT 1 FOR UPDATE SKIP LOCKED",
				6, types);
	values[0] = Int64GetDatum(campaign_id);
	values[1] = DateADTGetDatum(day);
	values[2] = PointsGetDatum(points);
	values[3] = Int64GetDatum(money);
	values[4] = Int32GetDatum((int32) (key % nslots));
	values[5] = Int32GetDatum(nslots);
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
				"WHERE campaign_id = $1 AND day = $2 ORDER BY slot FOR UPDATE",
				2, slow_types);
	LoyaltyExec(SlowPlan, values, NULL, false, 0);
	tab = SPI_tuptable;
	nrows = SPI_processed;
	if (nrows == 0)
		elog(ERROR, "campaign " INT64_FORMAT " has no budget slots", campaign_id);
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
	if ((!unlimited_p && have_p < points) || (!unlimited_m && have_m < money))
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

/* Write a reservation's parts to their slots */
static void
ApplyParts(int64 campaign_id, DateADT day, const SlotTake *parts, int n)
{
	Oid			types[6] = {INT8OID, DATEOID, INT4OID, InvalidOid, INT8OID, INT8OID};
	Datum		values[6];
	int			i;

	types[3] = LoyaltyTypeOid("points");
	LoyaltyPlan(&ApplyPlan,
				"UPDATE loyalty.campaign_budget_slot SET "
				"remaining_points = remaining_points OPERATOR(loyalty.-) $4, "
				"remaining_money = remaining_money - $5, "
				"taken_points = taken_points OPERATOR(loyalty.+) $4, "
				"taken_money = taken_money + $5, takes = takes + $6 "
				"WHERE campaign_id = $1 AND day = $2 AND slot = $3",
				6, types);
	for (i = 0; i < n; i++)
	{
		values[0] = Int64GetDatum(campaign_id);
		values[1] = DateADTGetDatum(day);
		values[2] = Int32GetDatum(parts[i].slot);
		values[3] = PointsGetDatum(parts[i].points);
		values[4] = Int64GetDatum(parts[i].money);
		values[5] = Int64GetDatum(i == 0 ? 1 : 0);
		LoyaltyExec(ApplyPlan, values, NULL, false, 0);
	}
}

/* Money value of points at a point value (both hundredths), half away from zero */
static int64
PointsMoney(Points points, int64 point_value)
{
	int128		m = (int128) points * point_value;

	return (int64) ((m + (m >= 0 ? 50 : -50)) / 100);
}

/* The reservation itself, inside an SPI connection */
static bool
ReserveConnected(int64 campaign_id, Points points, int64 money, int64 key,
				 CampaignWhen when, TimestampTz at)
{
	CampaignState c;
	SlotTake   *total_parts;
	SlotTake   *daily_parts = NULL;
	int			ntotal;
	int			ndaily = 0;
	DateADT		all_days = DATEVAL_NOBEGIN;

	if (points < 0 || money < 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("a campaign cannot take a negative amount")));
	ReadCampaign(campaign_id, at, &c);
	if (!StateGives(&c, when, at))
		return false;
	if (key < 0)
		key = -(key + 1);
	total_parts = palloc0(sizeof(SlotTake) * 512);
	ntotal = LockSlots(campaign_id, all_days, c.slots, points, money, key, total_parts);
	if (ntotal == 0)
		return false;
	if (c.has_daily && points > 0)
	{
		EnsureDailySlots(campaign_id, &c);
		daily_parts = palloc0(sizeof(SlotTake) * 512);
		ndaily = LockSlots(campaign_id, c.day, c.slots, points, 0, key, daily_parts);
		if (ndaily == 0)
			return false;
	}
	/* The slots are ours: a pause, end or reschedule has committed or waits for us */
	ReadCampaign(campaign_id, at, &c);
	if (!StateGives(&c, when, at))
		return false;
	ApplyParts(campaign_id, all_days, total_parts, ntotal);
	if (ndaily > 0)
		ApplyParts(campaign_id, c.day, daily_parts, ndaily);
	return true;
}

/* Reserve points and money from a campaign's budget (own SPI connection) */
bool
CampaignReserve(int64 campaign_id, Points points, int64 money, int64 key,
				CampaignWhen when, TimestampTz at)
{
	bool		ok;

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	ok = ReserveConnected(campaign_id, points, money, key, when, at);
	SPI_finish();
	return ok;
}


/* Reserve points and their money value; see campaign.h */
static bool
TakePoints(int64 campaign_id, Points points, int64 member_id, CampaignWhen when, TimestampTz at)
{
	CampaignState c;
	bool		ok;

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	ReadCampaign(campaign_id, at, &c);
	ok = c.found && ReserveConnected(campaign_id, points, PointsMoney(points, c.point_value),
									 member_id, when, at);
	SPI_finish();
	return ok;
}

/* See campaign.h */
bool
LoyaltyCampaignTake(int64 campaign_id, Points points, int64 member_id)
{
	return TakePoints(campaign_id, points, member_id, CAMPAIGN_ANY_TIME,
					  GetCurrentTransactionStartTimestamp());
}

/* See campaign.h */
bool
LoyaltyCampaignTakeAt(int64 campaign_id, Points points, int64 member_id, TimestampTz at)
{
	return TakePoints(campaign_id, points, member_id, CAMPAIGN_AT, at);
}

/* See campaign.h */
void
LoyaltyCampaignGiveBack(int64 campaign_id, Points points, int64 member_id, TimestampTz at)
{
	CampaignState c;
	Oid			types[6] = {INT8OID, DATEOID, INT4OID, InvalidOid, INT8OID, INT8OID};
	Datum		values[6];
	int			pass;

	if (points <= 0)
		return;
	if (member_id < 0)
		member_id = -(member_id + 1);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	ReadCampaign(campaign_id, at, &c);
	if (c.found)
	{
		types[3] = LoyaltyTypeOid("points");
		LoyaltyPlan(&GiveBackPlan,
					"UPDATE loyalty.campaign_budget_slot SET "
					"remaining_points = remaining_points OPERATOR(loyalty.+) $4, "
					"remaining_money = remaining_money + $5, "
					"taken_points = taken_points OPERATOR(loyalty.-) $4, "
					"taken_money = taken_money - $5, takes = takes - $6 "
					"WHERE campaign_id = $1 AND day = $2 AND slot = $3",
					6, types);
		for (pass = 0; pass < (c.has_daily ? 2 : 1); pass++)
		{
			values[0] = Int64GetDatum(campaign_id);
			values[1] = DateADTGetDatum(pass == 0 ? DATEVAL_NOBEGIN : c.day);
			values[2] = Int32GetDatum((int32) (member_id % c.slots));
			values[3] = PointsGetDatum(points);
			values[4] = Int64GetDatum(pass == 0 ? PointsMoney(points, c.point_value) : 0);
			values[5] = Int64GetDatum(1);
			LoyaltyExec(GiveBackPlan, values, NULL, false, 0);
		}
	}
	SPI_finish();
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

/* See campaign.h */
bool
CampaignGives(int64 campaign_id, CampaignWhen when, TimestampTz at)
{
	CampaignState c;

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	ReadCampaign(campaign_id, at, &c);
	SPI_finish();
	return StateGives(&c, when, at);
}

/* See campaign.h */
bool
LoyaltyCampaignActive(int64 campaign_id, TimestampTz at)
{
	CampaignState c;

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	ReadCampaign(campaign_id, at, &c);
	SPI_finish();
	return StateGives(&c, CAMPAIGN_AT, at);
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
