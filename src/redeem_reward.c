/*
 * redeem_reward.c
 *		Automatic rewards (B4): an AFTER trigger on loyalty.balance gives the
 *		reward of every threshold the balance or the earned total just crossed
 *		upwards, in the same transaction and exactly once per crossing.
 *
 * The trigger runs while the balance row is locked by the statement that
 * changed it, so counting earlier crossings and inserting the award cannot
 * race; the award's unique key (member_id, threshold_id, crossing) guards
 * it anyway.
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "catalog/pg_type.h"
#include "commands/trigger.h"
#include "executor/spi.h"
#include "utils/builtins.h"
#include "utils/rel.h"
#include "utils/timestamp.h"

#include "code.h"
#include "ids.h"
#include "ledger.h"
#include "rules.h"
#include "spi_util.h"

PG_FUNCTION_INFO_V1(redeem_reward_on_balance);

static SPIPlanPtr ThresholdsPlan = NULL;
static SPIPlanPtr AwardPlan = NULL;
static SPIPlanPtr CouponPlan = NULL;
static SPIPlanPtr TierPlan = NULL;
static SPIPlanPtr AwardEntryPlan = NULL;

/* A points column of the trigger's tuple by name */
static Points
TupPoints(HeapTuple tuple, TupleDesc desc, const char *name)
{
	int			attno = SPI_fnumber(desc, name);
	bool		isnull;
	Datum		d;

	if (attno <= 0)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_COLUMN),
				 errmsg("column \"%s\" does not exist", name)));
	d = SPI_getbinval(tuple, desc, attno, &isnull);
	return isnull ? 0 : DatumGetPoints(d);
}

/* A bigint column of the trigger's tuple by name */
static int64
TupInt64(HeapTuple tuple, TupleDesc desc, const char *name)
{
	int			attno = SPI_fnumber(desc, name);
	bool		isnull;
	Datum		d;

	if (attno <= 0)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_COLUMN),
				 errmsg("column \"%s\" does not exist", name)));
	d = SPI_getbinval(tuple, desc, attno, &isnull);
	return isnull ? 0 : DatumGetInt64(d);
}

/* Trigger: AFTER INSERT OR UPDATE ON loyalty.balance FOR EACH ROW */
Datum
redeem_reward_on_balance(PG_FUNCTION_ARGS)
{
	TriggerData *trigdata = (TriggerData *) fcinfo->context;
	TupleDesc	desc;
	HeapTuple	newtup;
	Points		old_points = 0;
	Points		old_earned = 0;
	Points		new_points;
	Points		new_earned;
	int64		member_id;
	int64		program_id;
	Oid			pt;
	Oid			types[5] = {INT8OID, InvalidOid, InvalidOid, InvalidOid, InvalidOid};
	Datum		values[8];
	SPITupleTable *thresholds;
	uint64		n;
	uint64		i;
	TimestampTz now = GetCurrentTransactionStartTimestamp();

	if (!CALLED_AS_TRIGGER(fcinfo))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("reward_on_balance() was not called by the trigger manager")));
	if (!TRIGGER_FIRED_AFTER(trigdata->tg_event) || !TRIGGER_FIRED_FOR_ROW(trigdata->tg_event) ||
		TRIGGER_FIRED_BY_DELETE(trigdata->tg_event))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("reward_on_balance() must be an AFTER INSERT OR UPDATE row trigger")));

	desc = trigdata->tg_relation->rd_att;
	if (TRIGGER_FIRED_BY_UPDATE(trigdata->tg_event))
	{
		newtup = trigdata->tg_newtuple;
		old_points = TupPoints(trigdata->tg_trigtuple, desc, "points");
		old_earned = TupPoints(trigdata->tg_trigtuple, desc, "earned_total");
	}
	else
		newtup = trigdata->tg_trigtuple;
	new_points = TupPoints(newtup, desc, "points");
	new_earned = TupPoints(newtup, desc, "earned_total");
	if (new_points <= old_points && new_earned <= old_earned)
		return PointerGetDatum(NULL);
	member_id = TupInt64(newtup, desc, "member_id");
	program_id = TupInt64(newtup, desc, "program_id");
	if (!LoyaltyProgramHasRewardThresholds(program_id))
		return PointerGetDatum(NULL);

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	pt = LoyaltyTypeOid("points");
	types[1] = types[2] = types[3] = types[4] = pt;
	LoyaltyPlan(&ThresholdsPlan,
				"SELECT threshold_id, measure, threshold, action, coupon_percent, coupon_amount,"
				" coupon_series, coupon_days, tier, deduct_points, name FROM loyalty.reward_threshold"
				" WHERE program_id = $1 AND active AND ("
				" (measure = 'balance' AND threshold OPERATOR(loyalty.>) $2 AND threshold OPERATOR(loyalty.<=) $3)"
				" OR (measure = 'earned_total' AND threshold OPERATOR(loyalty.>) $4 AND threshold OPERATOR(loyalty.<=) $5))"
				" ORDER BY threshold, threshold_id",
				5, types);
	values[0] = Int64GetDatum(program_id);
	values[1] = PointsGetDatum(old_points);
	values[2] = PointsGetDatum(new_points);
	values[3] = PointsGetDatum(old_earned);
	values[4] = PointsGetDatum(new_earned);
	LoyaltyExec(ThresholdsPlan, values, NULL, false, 0);
	thresholds = SPI_tuptable;
	n = SPI_processed;

	for (i = 0; i < n; i++)
	{
		HeapTuple	t = thresholds->vals[i];
		TupleDesc	d = thresholds->tupdesc;
		bool		isnull;
		int64		threshold_id = LoyaltyGetInt64(t, d, 1, 0);
		char	   *measure = LoyaltyGetText(t, d, 2);
		Points		threshold = DatumGetPoints(SPI_getbinval(t, d, 3, &isnull));
		char	   *action = LoyaltyGetText(t, d, 4);
		Datum		percent = SPI_getbinval(t, d, 5, &isnull);
		bool		percent_null = isnull;
		Datum		amount = SPI_getbinval(t, d, 6, &isnull);
		bool		amount_null = isnull;
		char	   *series = LoyaltyGetText(t, d, 7);
		Datum		days = SPI_getbinval(t, d, 8, &isnull);
		bool		days_null = isnull;
		char	   *tier = LoyaltyGetText(t, d, 9);
		bool		deduct = LoyaltyGetBool(t, d, 10);
		char	   *name = LoyaltyGetText(t, d, 11);
		int64		award_id = LoyaltyGenerateId();
		Oid			atypes[6] = {INT8OID, INT8OID, INT8OID, INT8OID, InvalidOid, TIMESTAMPTZOID};
		char		nulls[8];

		/* the n-th crossing of this threshold by this member */
		atypes[4] = pt;
		LoyaltyPlan(&AwardPlan,
					"INSERT INTO loyalty.reward_award (member_id, award_id, program_id, threshold_id,"
					" crossing, measured, awarded_at)"
					" SELECT $1, $2, $3, $4, count(*) + 1, $5, $6 FROM loyalty.reward_award"
					" WHERE member_id = $1 AND threshold_id = $4"
					" ON CONFLICT (member_id, threshold_id, crossing) DO NOTHING",
					6, atypes);
		values[0] = Int64GetDatum(member_id);
		values[1] = Int64GetDatum(award_id);
		values[2] = Int64GetDatum(program_id);
		values[3] = Int64GetDatum(threshold_id);
		values[4] = PointsGetDatum(strcmp(measure, "balance") == 0 ? new_points : new_earned);
		values[5] = TimestampTzGetDatum(now);
		LoyaltyExec(AwardPlan, values, NULL, false, 0);
		if (SPI_processed == 0)
			continue;

		if (strcmp(action, "coupon") == 0)
		{
			LoyaltyCode *code = LoyaltyCodeGenerate(series);
			Oid			ctypes[8] = {INT8OID, InvalidOid, INT8OID, INT8OID, NUMERICOID, NUMERICOID,
			TIMESTAMPTZOID, INT4OID};

			ctypes[1] = LoyaltyTypeOid("code");
			LoyaltyPlan(&CouponPlan,
						"INSERT INTO loyalty.reward_coupon (member_id, coupon, program_id, award_id, percent,"
						" amount, issued_at, valid_until)"
						" VALUES ($1, $2, $3, $4, $5, $6, $7, $7 + make_interval(days => $8))",
						8, ctypes);
			memset(nulls, ' ', sizeof(nulls));
			values[0] = Int64GetDatum(member_id);
			values[1] = LoyaltyCodePGetDatum(code);
			values[2] = Int64GetDatum(program_id);
			values[3] = Int64GetDatum(award_id);
			values[4] = percent;
			nulls[4] = percent_null ? 'n' : ' ';
			values[5] = amount;
			nulls[5] = amount_null ? 'n' : ' ';
			values[6] = TimestampTzGetDatum(now);
			values[7] = days;
			nulls[7] = days_null ? 'n' : ' ';
			LoyaltyExec(CouponPlan, values, nulls, false, 0);
		}
		else
		{
			Oid			ttypes[5] = {INT8OID, INT8OID, TEXTOID, INT8OID, TIMESTAMPTZOID};

			LoyaltyPlan(&TierPlan,
						"INSERT INTO loyalty.reward_tier AS r (member_id, program_id, tier, threshold_id, awarded_at)"
						" VALUES ($1, $2, $3, $4, $5) ON CONFLICT (member_id, program_id) DO UPDATE"
						" SET tier = excluded.tier, threshold_id = excluded.threshold_id,"
						" awarded_at = excluded.awarded_at",
						5, ttypes);
			values[0] = Int64GetDatum(member_id);
			values[1] = Int64GetDatum(program_id);
			values[2] = CStringGetTextDatum(tier);
			values[3] = Int64GetDatum(threshold_id);
			values[4] = TimestampTzGetDatum(now);
			LoyaltyExec(TierPlan, values, NULL, false, 0);
		}

		if (deduct)
		{
			char	   *document = psprintf("award-" INT64_FORMAT, award_id);
			Points		unrecovered;
			Points		cost = Min(threshold, new_points);
			Oid			etypes[4] = {INT8OID, INT8OID, TEXTOID, INT8OID};

			/* the balance row is already locked by the statement that fired us */
			if (cost > 0 &&
				LedgerTakeBack(member_id, program_id, "reward", "reward", document, NULL, NULL,
							   name, cost, 0, true, &unrecovered) > 0)
			{
				new_points -= cost;
				LoyaltyPlan(&AwardEntryPlan,
							"UPDATE loyalty.reward_award SET entry_id = (SELECT entry_id FROM loyalty.ledger"
							" WHERE member_id = $1 AND program_id = $2 AND source = 'reward'"
							" AND document = $3 AND kind = 'reward') WHERE member_id = $1 AND award_id = $4",
							4, etypes);
				values[0] = Int64GetDatum(member_id);
				values[1] = Int64GetDatum(program_id);
				values[2] = CStringGetTextDatum(document);
				values[3] = Int64GetDatum(award_id);
				LoyaltyExec(AwardEntryPlan, values, NULL, false, 0);
			}
		}
	}
	SPI_finish();
	return PointerGetDatum(NULL);
}
