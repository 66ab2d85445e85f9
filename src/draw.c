/*
 * draw.c
 *		Lucky draws with audited strong randomness, and bonus points for
 *		points races.
 *
 * A draw takes one random number r, uniform in [0, 2^62), from
 * pg_strong_random.  Each active pool of the campaign, in level order, gets
 * a band of width p * 2^62 where p is its chance (fixed odds, or paced: the
 * prizes left in the plan over the entries still expected), so r falls in at
 * most one pool.  The thresholds and r are stored, so anyone can check the
 * result later.  A win takes the pool's stock (UPDATE ... WHERE stock > 0,
 * so never below zero), the pool's daily cap and the campaign's money
 * budget in the same transaction; when one of them is exhausted the draw is
 * recorded as lost with the reason.  Chances are exact fractions: no floats.
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "funcapi.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/timestamp.h"

#include "accrual_engine.h"
#include "campaign.h"
#include "code.h"
#include "errcodes.h"
#include "errcodes_campaign.h"
#include "ids.h"
#include "ledger.h"
#include "money.h"
#include "rules.h"
#include "spi_util.h"

PG_FUNCTION_INFO_V1(campaign_draw);
PG_FUNCTION_INFO_V1(campaign_post_bonus);
PG_FUNCTION_INFO_V1(campaign_award_bonus);

#define DRAW_SCALE		(INT64CONST(1) << 62)
#define MAX_POOLS		64

static SPIPlanPtr DrawCampaignPlan = NULL;
static SPIPlanPtr DrawMemberPlan = NULL;
static SPIPlanPtr DrawOwnerPlan = NULL;
static SPIPlanPtr DrawClaimPlan = NULL;
static SPIPlanPtr DrawReplayPlan = NULL;
static SPIPlanPtr DrawPoolsPlan = NULL;
static SPIPlanPtr DrawStockPlan = NULL;
static SPIPlanPtr DrawStockBackPlan = NULL;
static SPIPlanPtr DrawDailyPlan = NULL;
static SPIPlanPtr DrawDailyBackPlan = NULL;
static SPIPlanPtr DrawFinishPlan = NULL;
static SPIPlanPtr BonusLockPlan = NULL;
static SPIPlanPtr BonusExistsPlan = NULL;
static SPIPlanPtr BonusPostPlan = NULL;

/* What crediting a bonus did */
typedef enum BonusResult
{
	BONUS_POSTED,
	BONUS_REPLAYED,				/* posted before for this (member, source, document) */
	BONUS_NO_BUDGET				/* the campaign's budget could not pay it */
} BonusResult;

static BonusResult PostBonus(int64 member_id, int64 program_id, Points amount, const char *source,
							 const char *document, int64 campaign_id, const char *note, bool reserve,
							 CampaignWhen when, TimestampTz at);

/* A pool as a draw sees it */
typedef struct DrawPool
{
	int64		pool_id;
	int32		level;
	char	   *name;
	int64		value;			/* hundredths */
	char	   *series;
	Points		points;			/* a points prize: the points credited (0: another kind) */
	bool		has_cap;
	int32		daily_cap;
	int64		threshold;		/* cumulative, out of 2^62 */
} DrawPool;

/* A uniform random number in [0, 2^62) from the strong random source */
static int64
StrongRandom62(void)
{
	uint64		r;

	if (!pg_strong_random(&r, sizeof(r)))
		ereport(ERROR,
				(errcode(ERRCODE_INTERNAL_ERROR),
				 errmsg("could not generate a random number")));
	return (int64) (r >> 2);
}

/* Build a bigint[] Datum */
static Datum
Int8Array(int64 *v, int n)
{
	Datum	   *d = palloc(sizeof(Datum) * Max(n, 1));
	int			i;

	for (i = 0; i < n; i++)
		d[i] = Int64GetDatum(v[i]);
	return LoyaltyMakeArray(d, NULL, n, INT8OID);
}

/* Load the campaign's active pools with their current chance as a band width */
static int
LoadPools(int64 campaign_id, TimestampTz at, DrawPool *pools)
{
	Oid			types[2] = {INT8OID, TIMESTAMPTZOID};
	Datum		values[2];
	uint64		i;
	int			n = 0;
	int128		cum = 0;

	/*
	 * Chance as a fraction num/den: fixed odds in billionths; paced, the
	 * prizes left in the current phase's plan (or in stock) over the entries
	 * still expected in it (at least 1).
	 */
	LoyaltyPlan(&DrawPoolsPlan,
				"SELECT p.pool_id, p.level, p.name, round(p.value * 100)::bigint, p.code_series, p.daily_cap, "
				"CASE WHEN p.pacing = 'fixed' THEN round(p.odds * 1000000000)::bigint "
				"     WHEN ph.pool_id IS NOT NULL THEN greatest(least(ph.planned_quantity - "
				"       (SELECT count(*) FROM loyalty.draw_log g WHERE g.campaign_id = p.campaign_id AND g.pool_id = p.pool_id "
				"         AND g.won AND g.drawn_at >= ph.phase_from AND g.drawn_at < ph.phase_to), p.stock), 0) "
				"     ELSE p.stock END, "
				"CASE WHEN p.pacing = 'fixed' THEN 1000000000 "
				"     WHEN ph.pool_id IS NOT NULL THEN greatest(ph.expected_entries - "
				"       (SELECT count(*) FROM loyalty.draw_log g WHERE g.campaign_id = p.campaign_id "
				"         AND g.drawn_at >= ph.phase_from AND g.drawn_at < ph.phase_to), 1) "
				"     ELSE greatest(p.expected_entries - "
				"       (SELECT count(*) FROM loyalty.draw_log g WHERE g.campaign_id = p.campaign_id), 1) END, "
				"CASE WHEN p.kind = 'points' THEN (p.prize_points::numeric * 100)::bigint ELSE 0 END "
				"FROM loyalty.prize_pool p "
				"LEFT JOIN loyalty.prize_phase ph ON ph.pool_id = p.pool_id AND ph.phase_from <= $2 AND $2 < ph.phase_to "
				"WHERE p.campaign_id = $1 AND p.active AND (p.pacing = 'fixed' OR NOT EXISTS ("
				"  SELECT 1 FROM loyalty.prize_phase x WHERE x.pool_id = p.pool_id) OR ph.pool_id IS NOT NULL) "
				"ORDER BY p.level, p.pool_id",
				2, types);
	values[0] = Int64GetDatum(campaign_id);
	values[1] = TimestampTzGetDatum(at);
	LoyaltyExec(DrawPoolsPlan, values, NULL, false, 0);
	for (i = 0; i < SPI_processed && n < MAX_POOLS; i++)
	{
		HeapTuple	t = SPI_tuptable->vals[i];
		TupleDesc	d = SPI_tuptable->tupdesc;
		DrawPool   *p = &pools[n++];
		bool		isnull;
		Datum		v;
		int64		num = LoyaltyGetInt64(t, d, 7, 0);
		int64		den = LoyaltyGetInt64(t, d, 8, 1);

		p->pool_id = DatumGetInt64(SPI_getbinval(t, d, 1, &isnull));
		p->level = DatumGetInt32(SPI_getbinval(t, d, 2, &isnull));
		p->name = SPI_getvalue(t, d, 3);
		p->value = LoyaltyGetInt64(t, d, 4, 0);
		p->series = SPI_getvalue(t, d, 5);
		v = SPI_getbinval(t, d, 6, &isnull);
		p->has_cap = !isnull;
		p->daily_cap = isnull ? 0 : DatumGetInt32(v);
		p->points = (Points) LoyaltyGetInt64(t, d, 9, 0);
		if (num < 0)
			num = 0;
		if (den <= 0)
			den = 1;
		if (num > den)
			num = den;
		cum += (int128) DRAW_SCALE * num / den;
		if (cum > DRAW_SCALE)
			cum = DRAW_SCALE;
		p->threshold = (int64) cum;
	}
	return n;
}

/* Undo a pool's stock take */
static void
GiveStockBack(int64 pool_id)
{
	Oid			types[1] = {INT8OID};
	Datum		values[1];

	LoyaltyPlan(&DrawStockBackPlan,
				"UPDATE loyalty.prize_pool SET stock = stock + 1, awarded = awarded - 1 WHERE pool_id = $1",
				1, types);
	values[0] = Int64GetDatum(pool_id);
	LoyaltyExec(DrawStockBackPlan, values, NULL, false, 0);
}

/* Try to take one prize from a pool; NULL on success, else why not */
static const char *
TakePrize(int64 campaign_id, int64 member_id, const DrawPool *p, TimestampTz at)
{
	Oid			stypes[1] = {INT8OID};
	Oid			dtypes[4] = {INT8OID, INT8OID, TIMESTAMPTZOID, INT4OID};
	Datum		values[4];

	LoyaltyPlan(&DrawStockPlan,
				"UPDATE loyalty.prize_pool SET stock = stock - 1, awarded = awarded + 1 "
				"WHERE pool_id = $1 AND stock > 0 RETURNING stock",
				1, stypes);
	values[0] = Int64GetDatum(p->pool_id);
	LoyaltyExec(DrawStockPlan, values, NULL, false, 0);
	if (SPI_processed == 0)
		return "out of stock";
	if (p->has_cap)
	{
		LoyaltyPlan(&DrawDailyPlan,
					"INSERT INTO loyalty.prize_daily AS d (pool_id, day, won) "
					"SELECT $1, ($3 AT TIME ZONE pr.time_zone)::date, 1 FROM loyalty.campaign c "
					"JOIN loyalty.program pr ON pr.program_id = c.program_id WHERE c.campaign_id = $2 AND $4 > 0 "
					"ON CONFLICT (pool_id, day) DO UPDATE SET won = d.won + 1 WHERE d.won < $4 RETURNING won",
					4, dtypes);
		values[0] = Int64GetDatum(p->pool_id);
		values[1] = Int64GetDatum(campaign_id);
		values[2] = TimestampTzGetDatum(at);
		values[3] = Int32GetDatum(p->daily_cap);
		LoyaltyExec(DrawDailyPlan, values, NULL, false, 0);
		if (SPI_processed == 0)
		{
			GiveStockBack(p->pool_id);
			return "daily cap reached";
		}
	}
	if (!CampaignReserve(campaign_id, p->points, p->value, member_id, CAMPAIGN_GIFT_WINDOW, at))
	{
		GiveStockBack(p->pool_id);
		if (p->has_cap)
		{
			LoyaltyPlan(&DrawDailyBackPlan,
						"UPDATE loyalty.prize_daily d SET won = won - 1 FROM loyalty.campaign c "
						"JOIN loyalty.program pr ON pr.program_id = c.program_id "
						"WHERE c.campaign_id = $2 AND d.pool_id = $1 AND d.day = ($3 AT TIME ZONE pr.time_zone)::date",
						3, dtypes);
			LoyaltyExec(DrawDailyBackPlan, values, NULL, false, 0);
		}
		return "campaign budget exhausted";
	}
	return NULL;
}

/* SQL: loyalty.draw(campaign, customer_key, document, source, at) */
Datum
campaign_draw(PG_FUNCTION_ARGS)
{
	char	   *code;
	char	   *customer_key;
	char	   *document;
	char	   *source = PG_ARGISNULL(3) ? "pos" : text_to_cstring(PG_GETARG_TEXT_PP(3));
	TimestampTz at = PG_ARGISNULL(4) ? GetCurrentTransactionStartTimestamp() : PG_GETARG_TIMESTAMPTZ(4);
	Oid			ctypes[1] = {TEXTOID};
	Oid			mtypes[3] = {INT8OID, TEXTOID, INT8OID};
	Oid			otypes[4] = {INT8OID, TEXTOID, TEXTOID, INT8OID};
	Oid			claim_types[8] = {INT8OID, INT8OID, TEXTOID, TEXTOID, TIMESTAMPTZOID, INT8OID, INT8ARRAYOID, INT8ARRAYOID};
	Oid			finish_types[8] = {INT8OID, INT8OID, TEXTOID, TEXTOID, INT8OID, BOOLOID, InvalidOid, NUMERICOID};
	Oid			ftypes9[9];
	Datum		values[9];
	char		nulls[9];
	bool		isnull;
	int64		campaign_id;
	int64		program_id;
	int64		member_id;
	DrawPool	pools[MAX_POOLS];
	int			npools;
	int64		ids[MAX_POOLS];
	int64		thresholds[MAX_POOLS];
	int64		r;
	int			i;
	DrawPool   *hit = NULL;
	const char *why = NULL;
	LoyaltyCode *prize = NULL;
	TupleDesc	tupdesc;
	Datum		out[6];
	bool		out_nulls[6] = {false, false, false, false, false, false};
	HeapTuple	result;

	if (PG_ARGISNULL(0) || PG_ARGISNULL(1) || PG_ARGISNULL(2))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("a draw needs a campaign, a customer and a document")));
	code = text_to_cstring(PG_GETARG_TEXT_PP(0));
	customer_key = text_to_cstring(PG_GETARG_TEXT_PP(1));
	document = text_to_cstring(PG_GETARG_TEXT_PP(2));
	if (document[0] == '\0')
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("a draw needs a document id")));
	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");
	tupdesc = BlessTupleDesc(tupdesc);

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	LoyaltyPlan(&DrawCampaignPlan,
				"SELECT campaign_id, program_id FROM loyalty.campaign WHERE code = $1", 1, ctypes);
	values[0] = CStringGetTextDatum(code);
	LoyaltyExec(DrawCampaignPlan, values, NULL, true, 1);
	if (SPI_processed != 1)
		ereport(ERROR,
				(errcode(ERRCODE_CAMPAIGN_NOT_FOUND),
				 errmsg("campaign \"%s\" does not exist", code)));
	campaign_id = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	program_id = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2, &isnull));

	/* the customer must be an active member of a target group */
	LoyaltyPlan(&DrawMemberPlan,
				"SELECT m.member_id, (c.target_groups = '{}' OR m.groups && c.target_groups) AND m.status = 'active' "
				"FROM loyalty.member_key k JOIN loyalty.member m ON m.member_id = k.member_id "
				"JOIN loyalty.campaign c ON c.campaign_id = $3 "
				"WHERE k.program_id = $1 AND k.customer_key = $2",
				3, mtypes);
	values[0] = Int64GetDatum(program_id);
	values[1] = CStringGetTextDatum(customer_key);
	values[2] = Int64GetDatum(campaign_id);
	LoyaltyExec(DrawMemberPlan, values, NULL, true, 1);
	if (SPI_processed != 1)
		ereport(ERROR,
				(errcode(ERRCODE_CAMPAIGN_NOT_ELIGIBLE),
				 errmsg("customer \"%s\" is not a member of the program of campaign \"%s\"", customer_key, code),
				 errhint("Enroll the customer with loyalty.enroll() first.")));
	member_id = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	if (!LoyaltyGetBool(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2))
		ereport(ERROR,
				(errcode(ERRCODE_CAMPAIGN_NOT_ELIGIBLE),
				 errmsg("customer \"%s\" may not take part in campaign \"%s\"", customer_key, code),
				 errdetail("The member is not active or not in the campaign's target groups.")));

	/* a document belongs to one customer */
	LoyaltyPlan(&DrawOwnerPlan,
				"SELECT 1 FROM loyalty.draw_log WHERE campaign_id = $1 AND source = $2 AND document = $3 "
				"AND member_id <> $4 LIMIT 1",
				4, otypes);
	values[0] = Int64GetDatum(campaign_id);
	values[1] = CStringGetTextDatum(source);
	values[2] = CStringGetTextDatum(document);
	values[3] = Int64GetDatum(member_id);
	LoyaltyExec(DrawOwnerPlan, values, NULL, false, 1);
	if (SPI_processed > 0)
		ereport(ERROR,
				(errcode(ERRCODE_CAMPAIGN_CONFLICT),
				 errmsg("document \"%s\" was already drawn for another customer in campaign \"%s\"", document, code)));

	/* claim the document first: a concurrent retry waits here, then replays */
	npools = LoadPools(campaign_id, at, pools);
	for (i = 0; i < npools; i++)
	{
		ids[i] = pools[i].pool_id;
		thresholds[i] = pools[i].threshold;
	}
	r = StrongRandom62();
	LoyaltyPlan(&DrawClaimPlan,
				"INSERT INTO loyalty.draw_log (member_id, campaign_id, source, document, drawn_at, random_value, "
				"pool_ids, thresholds) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT DO NOTHING RETURNING 1",
				8, claim_types);
	values[0] = Int64GetDatum(member_id);
	values[1] = Int64GetDatum(campaign_id);
	values[2] = CStringGetTextDatum(source);
	values[3] = CStringGetTextDatum(document);
	values[4] = TimestampTzGetDatum(at);
	values[5] = Int64GetDatum(r);
	values[6] = Int8Array(ids, npools);
	values[7] = Int8Array(thresholds, npools);

	if (!CampaignGives(campaign_id, CAMPAIGN_GIFT_WINDOW, at))
	{
		/* a retry of a draw made while it ran still replays */
		LoyaltyExec(DrawClaimPlan, values, NULL, false, 0);
		if (SPI_processed == 1)
			ereport(ERROR,
					(errcode(ERRCODE_CAMPAIGN_NOT_RUNNING),
					 errmsg("campaign \"%s\" is not handing out prizes at this time", code),
					 errhint("Draws take place while the campaign runs and within its gift window.")));
	}
	else
		LoyaltyExec(DrawClaimPlan, values, NULL, false, 0);

	if (SPI_processed == 0)
	{
		/* a retry: the first result */
		Oid			rtypes[4] = {INT8OID, INT8OID, TEXTOID, TEXTOID};

		LoyaltyPlan(&DrawReplayPlan,
					"SELECT g.won, p.level, p.name, g.prize_code, g.value FROM loyalty.draw_log g "
					"LEFT JOIN loyalty.prize_pool p ON p.pool_id = g.pool_id AND g.won "
					"WHERE g.member_id = $1 AND g.campaign_id = $2 AND g.source = $3 AND g.document = $4",
					4, rtypes);
		LoyaltyExec(DrawReplayPlan, values, NULL, false, 1);
		if (SPI_processed != 1)
			elog(ERROR, "draw of document \"%s\" conflicted but is not there", document);
		for (i = 0; i < 5; i++)
		{
			static const bool byval[5] = {true, true, false, false, false};
			static const int len[5] = {1, 4, -1, 16, -1};
			Datum		v = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, i + 1, &out_nulls[i]);

			out[i] = out_nulls[i] ? (Datum) 0 : SPI_datumTransfer(v, byval[i], len[i]);
		}
		out[5] = BoolGetDatum(true);
		SPI_finish();
		result = heap_form_tuple(tupdesc, out, out_nulls);
		PG_RETURN_DATUM(HeapTupleGetDatum(result));
	}

	for (i = 0; i < npools; i++)
		if (r < pools[i].threshold)
		{
			hit = &pools[i];
			break;
		}
	if (hit)
	{
		why = TakePrize(campaign_id, member_id, hit, at);
		if (why == NULL)
		{
			prize = LoyaltyCodeGenerate(hit->series);
			/* a points prize credits the member once per draw (its points were reserved above) */
			if (hit->points > 0)
				PostBonus(member_id, program_id, hit->points, "draw",
						  psprintf("%s/%s/%s", code, source, document), campaign_id,
						  psprintf("%s: %s", code, hit->name), false, CAMPAIGN_GIFT_WINDOW, at);
		}
	}

	finish_types[6] = LoyaltyTypeOid("code");
	memcpy(ftypes9, finish_types, sizeof(finish_types));
	ftypes9[8] = TEXTOID;
	LoyaltyPlan(&DrawFinishPlan,
				"UPDATE loyalty.draw_log SET pool_id = $5, won = $6, prize_code = $7, value = $8, note = $9 "
				"WHERE member_id = $1 AND campaign_id = $2 AND source = $3 AND document = $4",
				9, ftypes9);
	memset(nulls, ' ', sizeof(nulls));
	values[4] = Int64GetDatum(hit ? hit->pool_id : 0);
	nulls[4] = hit ? ' ' : 'n';
	values[5] = BoolGetDatum(prize != NULL);
	values[6] = PointerGetDatum(prize);
	nulls[6] = prize ? ' ' : 'n';
	values[7] = NumericGetDatum(MoneyToNumeric(prize ? hit->value : 0));
	values[8] = LoyaltyTextOrNull(why, &nulls[8]);
	LoyaltyExec(DrawFinishPlan, values, nulls, false, 0);
	SPI_finish();

	out[0] = BoolGetDatum(prize != NULL);
	out[1] = Int32GetDatum(prize ? hit->level : 0);
	out_nulls[1] = prize == NULL;
	out[2] = prize ? CStringGetTextDatum(hit->name) : (Datum) 0;
	out_nulls[2] = prize == NULL;
	out[3] = PointerGetDatum(prize);
	out_nulls[3] = prize == NULL;
	out[4] = NumericGetDatum(MoneyToNumeric(prize ? hit->value : 0));
	out[5] = BoolGetDatum(false);
	result = heap_form_tuple(tupdesc, out, out_nulls);
	PG_RETURN_DATUM(HeapTupleGetDatum(result));
}

/* Whether a bonus was posted for (member, program, source, document) */
static bool
BonusExists(int64 member_id, int64 program_id, const char *source, const char *document)
{
	Oid			etypes[4] = {INT8OID, INT8OID, TEXTOID, TEXTOID};
	Datum		values[4];

	LoyaltyPlan(&BonusExistsPlan,
				"SELECT 1 FROM loyalty.ledger WHERE member_id = $1 AND program_id = $2 AND source = $3 "
				"AND document = $4 AND kind = 'bonus'",
				4, etypes);
	values[0] = Int64GetDatum(member_id);
	values[1] = Int64GetDatum(program_id);
	values[2] = CStringGetTextDatum(source);
	values[3] = CStringGetTextDatum(document);
	LoyaltyExec(BonusExistsPlan, values, NULL, false, 1);
	return SPI_processed > 0;
}

/*
 * Credit bonus points once per (member, program, source, document): a ledger
 * entry of kind bonus, a lot and the balance, under the balance row lock.
 * With reserve, the points (and their money value) are first reserved from
 * the campaign's budget (slots before the balance row, as accrual does) and
 * given back when the bonus turns out to be posted already.
 */
static BonusResult
PostBonus(int64 member_id, int64 program_id, Points amount, const char *source, const char *document,
		  int64 campaign_id, const char *note, bool reserve, CampaignWhen when, TimestampTz at)
{
	Oid			ltypes[2] = {INT8OID, INT8OID};
	Oid			ptypes[6] = {INT8OID, INT8OID, InvalidOid, TIMESTAMPTZOID, TIMESTAMPTZOID, INT8OID};
	Datum		values[6];
	char		nulls[6] = {' ', ' ', ' ', ' ', ' ', ' '};
	LedgerEntry e;
	ProgramConfig *prog;
	int64		money = 0;

	if (amount <= 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("a bonus must be more than zero points")));
	prog = LoyaltyGetProgram(program_id);

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	if (reserve)
	{
		if (BonusExists(member_id, program_id, source, document))
		{
			SPI_finish();
			return BONUS_REPLAYED;
		}
		money = CampaignPointsMoney(amount, prog->point_value);
		if (!CampaignReserve(campaign_id, amount, money, member_id, when, at))
		{
			SPI_finish();
			return BONUS_NO_BUDGET;
		}
	}
	/* the member's balance row first, as every ledger writer does */
	LoyaltyPlan(&BonusLockPlan,
				"SELECT points FROM loyalty.balance WHERE member_id = $1 AND program_id = $2 FOR UPDATE",
				2, ltypes);
	values[0] = Int64GetDatum(member_id);
	values[1] = Int64GetDatum(program_id);
	LoyaltyExec(BonusLockPlan, values, NULL, false, 1);
	if (SPI_processed != 1)
		ereport(ERROR,
				(errcode(ERRCODE_LOYALTY_UNKNOWN_MEMBER),
				 errmsg("member " INT64_FORMAT " has no balance in program " INT64_FORMAT, member_id, program_id)));
	if (BonusExists(member_id, program_id, source, document))
	{
		if (reserve)
			CampaignGiveBackBranch(campaign_id, amount, money, member_id, at, NULL);
		SPI_finish();
		return BONUS_REPLAYED;
	}

	memset(&e, 0, sizeof(e));
	e.member_id = member_id;
	e.entry_id = LoyaltyGenerateId();
	e.program_id = program_id;
	e.kind = "bonus";
	e.amount = amount;
	e.source = source;
	e.document = document;
	e.campaign_id = campaign_id;
	e.note = note;
	e.created_at = GetCurrentTransactionStartTimestamp();
	e.has_expiry = LotExpiry(prog, e.created_at, &e.expires_at);
	LedgerInsertEntry(&e);

	ptypes[2] = LoyaltyTypeOid("points");
	LoyaltyPlan(&BonusPostPlan,
				"WITH b AS (UPDATE loyalty.balance SET points = points OPERATOR(loyalty.+) $3, updated_at = now() "
				" WHERE member_id = $1 AND program_id = $2 RETURNING points) "
				"INSERT INTO loyalty.lot (member_id, lot_id, program_id, earned, remaining, earned_at, expires_at) "
				"SELECT $1, $6, $2, $3, greatest(0, least($3, b.points)), $4, $5 FROM b",
				6, ptypes);
	values[0] = Int64GetDatum(member_id);
	values[1] = Int64GetDatum(program_id);
	values[2] = PointsGetDatum(amount);
	values[3] = TimestampTzGetDatum(e.created_at);
	values[4] = TimestampTzGetDatum(e.expires_at);
	nulls[4] = e.has_expiry ? ' ' : 'n';
	values[5] = Int64GetDatum(e.entry_id);
	LoyaltyExec(BonusPostPlan, values, nulls, false, 0);
	SPI_finish();
	return BONUS_POSTED;
}

/* SQL: loyalty.post_bonus(member_id, program_id, amount, source, document, campaign_id, note) */
Datum
campaign_post_bonus(PG_FUNCTION_ARGS)
{
	if (PG_ARGISNULL(0) || PG_ARGISNULL(1) || PG_ARGISNULL(2) || PG_ARGISNULL(3) || PG_ARGISNULL(4))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("a bonus needs a member, a program, an amount, a source and a document")));
	PG_RETURN_BOOL(PostBonus(PG_GETARG_INT64(0), PG_GETARG_INT64(1), PG_GETARG_POINTS(2),
							 text_to_cstring(PG_GETARG_TEXT_PP(3)), text_to_cstring(PG_GETARG_TEXT_PP(4)),
							 PG_ARGISNULL(5) ? 0 : PG_GETARG_INT64(5),
							 PG_ARGISNULL(6) ? NULL : text_to_cstring(PG_GETARG_TEXT_PP(6)),
							 false, CAMPAIGN_ANY_TIME, 0) == BONUS_POSTED);
}

/* SQL: loyalty.award_bonus(member_id, program_id, amount, source, document, campaign_id, note, at) */
Datum
campaign_award_bonus(PG_FUNCTION_ARGS)
{
	BonusResult r;
	int			i;

	for (i = 0; i < 6; i++)
		if (PG_ARGISNULL(i))
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("a campaign bonus needs a member, a program, an amount, a source, a document and a campaign")));
	r = PostBonus(PG_GETARG_INT64(0), PG_GETARG_INT64(1), PG_GETARG_POINTS(2),
				  text_to_cstring(PG_GETARG_TEXT_PP(3)), text_to_cstring(PG_GETARG_TEXT_PP(4)),
				  PG_GETARG_INT64(5), PG_ARGISNULL(6) ? NULL : text_to_cstring(PG_GETARG_TEXT_PP(6)),
				  true, CAMPAIGN_BUDGET_ONLY,
				  PG_ARGISNULL(7) ? GetCurrentTransactionStartTimestamp() : PG_GETARG_TIMESTAMPTZ(7));
	PG_RETURN_TEXT_P(cstring_to_text(r == BONUS_POSTED ? "posted" :
									 r == BONUS_REPLAYED ? "replayed" : "no budget"));
}
