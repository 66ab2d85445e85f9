/*
 * tiers.c
 *		Membership tiers (C1-C3, C5) and birthday offers (C4).
 *
 * A member's tier is the highest-ranked tier of the program whose mark the
 * member's qualifying measure reaches: spend (order amounts less returns)
 * or points earned (less points taken back), within the tier's window
 * (rolling months before the moment judged, or the current calendar period
 * in the program's time zone, or the whole history).  The current balance
 * never counts.
 *
 * The AFTER INSERT trigger on loyalty.member_order only upgrades, judged at
 * the order's time; loyalty.recalculate_tiers() moves both ways.  Both lock
 * the member's loyalty.member_tier row first and measure afterwards, so an
 * upgrade racing a downgrade job always ends at the tier the committed
 * orders give.
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "commands/trigger.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "funcapi.h"
#include "utils/builtins.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/date.h"
#include "utils/datetime.h"
#include "utils/numeric.h"
#include "utils/timestamp.h"

#include "errcodes_tiers.h"
#include "money.h"
#include "spi_util.h"
#include "rules.h"
#include "tiers.h"
#include "invalidation.h"

PG_FUNCTION_INFO_V1(tier_upgrade_trigger);
PG_FUNCTION_INFO_V1(apply_member_tier);
PG_FUNCTION_INFO_V1(tier_progress);
PG_FUNCTION_INFO_V1(next_birthday);
PG_FUNCTION_INFO_V1(birthday_multiplier_member);
PG_FUNCTION_INFO_V1(birthday_discount_member);

/* One tier of a program with the member's qualifying measure for it */
typedef struct TierRow
{
	int64		tier_id;
	int32		rank;
	char	   *name;
	char	   *measure;
	int64		threshold;		/* hundredths of money or points */
	int64		value;			/* the member's measure in the tier's window */
	int32		almost_percent;
} TierRow;

/* The member's current tier as locked */
typedef struct CurrentTier
{
	bool		has_tier;
	int64		tier_id;
	int32		rank;
	char	   *name;
	TimestampTz since;
} CurrentTier;

static SPIPlanPtr LoadTiersPlan = NULL;
static SPIPlanPtr LockTierPlan = NULL;
static SPIPlanPtr ReadTierPlan = NULL;
static SPIPlanPtr InsertTierPlan = NULL;
static SPIPlanPtr SetTierPlan = NULL;
static SPIPlanPtr NotifyPlan = NULL;
static SPIPlanPtr FactorPlan = NULL;
static SPIPlanPtr BirthdayPlan = NULL;
static SPIPlanPtr HasTiersPlan = NULL;
static SPIPlanPtr ThankYouLoadPlan = NULL;
static SPIPlanPtr ThankYouPlan = NULL;

/*
 * Programs with a "thank_you" notification template (J3), cached per
 * backend.  Template changes invalidate the rule table's relcache entry
 * (the notification_template_invalidate trigger), which resets this too.
 */
static bool ThankYouValid = false;
static bool ThankYouCallbackRegistered = false;
static Oid	ThankYouRuleRelid = InvalidOid;
static int	ThankYouCount = 0;
static int64 *ThankYouPrograms = NULL;

/* Whether the program has any tier (most orders of tier-less programs stop here) */
static bool
ProgramHasTiers(int64 program_id)
{
	Oid			types[1] = {INT8OID};
	Datum		values[1];

	LoyaltyPlan(&HasTiersPlan, "SELECT 1 FROM loyalty.tier WHERE program_id = $1 LIMIT 1", 1, types);
	values[0] = Int64GetDatum(program_id);
	LoyaltyExec(HasTiersPlan, values, NULL, true, 1);
	return SPI_processed > 0;
}

/* Every tier of the program with the member's measure in its window at as_of */
static int
LoadTiers(int64 member_id, int64 program_id, TimestampTz as_of, bool read_only, TierRow **out)
{
	Oid			types[3] = {INT8OID, INT8OID, TIMESTAMPTZOID};
	Datum		values[3];
	TierRow    *rows;
	uint64		i;

	LoyaltyPlan(&LoadTiersPlan,
				"SELECT t.tier_id, t.rank, t.name, t.measure, t.threshold, t.almost_percent,"
				" (SELECT CASE WHEN t.measure = 'spend'"
				"   THEN coalesce(sum(o.amount - o.returned_amount), 0)"
				"   ELSE coalesce(sum(o.points::numeric - o.reversed_points::numeric), 0) END"
				"  FROM loyalty.member_order o"
				"  WHERE o.member_id = $1 AND o.program_id = $2 AND o.ordered_at <= $3"
				"   AND o.ordered_at >= CASE"
				"    WHEN t.window_months IS NULL THEN '-infinity'::timestamptz"
				"    WHEN t.window_kind = 'rolling' THEN $3 - make_interval(months => t.window_months)"
				"    ELSE (date_trunc('year', $3 AT TIME ZONE p.time_zone)"
				"      + make_interval(months => ((extract(month FROM $3 AT TIME ZONE p.time_zone)::integer - 1)"
				"         / t.window_months) * t.window_months)) AT TIME ZONE p.time_zone END)"
				" FROM loyalty.tier t JOIN loyalty.program p ON p.program_id = t.program_id"
				" WHERE t.program_id = $2 ORDER BY t.rank",
				3, types);
	values[0] = Int64GetDatum(member_id);
	values[1] = Int64GetDatum(program_id);
	values[2] = TimestampTzGetDatum(as_of);
	/* writers pass read_only = false: the trigger must see the order its own statement inserted */
	LoyaltyExec(LoadTiersPlan, values, NULL, read_only, 0);
	rows = palloc0(sizeof(TierRow) * Max(SPI_processed, 1));
	for (i = 0; i < SPI_processed; i++)
	{
		HeapTuple	tup = SPI_tuptable->vals[i];
		TupleDesc	desc = SPI_tuptable->tupdesc;
		bool		isnull;

		rows[i].tier_id = LoyaltyGetInt64(tup, desc, 1, 0);
		rows[i].rank = DatumGetInt32(SPI_getbinval(tup, desc, 2, &isnull));
		rows[i].name = LoyaltyGetText(tup, desc, 3);
		rows[i].measure = LoyaltyGetText(tup, desc, 4);
		rows[i].threshold = MoneyFromNumeric(DatumGetNumeric(SPI_getbinval(tup, desc, 5, &isnull)),
											 "tier threshold");
		rows[i].almost_percent = DatumGetInt32(SPI_getbinval(tup, desc, 6, &isnull));
		rows[i].value = MoneyFromNumeric(DatumGetNumeric(SPI_getbinval(tup, desc, 7, &isnull)),
										 "qualifying measure");
	}
	*out = rows;
	return (int) SPI_processed;
}

/* The highest-ranked tier whose mark is reached, or -1 when none is */
static int
TargetTier(TierRow *tiers, int n)
{
	int			i;

	for (i = n - 1; i >= 0; i--)
		if (tiers[i].value >= tiers[i].threshold)
			return i;
	return -1;
}

/* Read the member's tier row, locking it when lock is set */
static bool
ReadCurrentTier(int64 member_id, bool lock, CurrentTier *cur)
{
	Oid			types[1] = {INT8OID};
	Datum		values[1];
	SPIPlanPtr	plan;
	HeapTuple	tup;
	TupleDesc	desc;
	bool		isnull;

	if (lock)
		plan = LoyaltyPlan(&LockTierPlan,
						   "SELECT mt.tier_id, t.rank, t.name, mt.since FROM loyalty.member_tier mt"
						   " LEFT JOIN loyalty.tier t ON t.tier_id = mt.tier_id"
						   " WHERE mt.member_id = $1 FOR UPDATE OF mt", 1, types);
	else
		plan = LoyaltyPlan(&ReadTierPlan,
						   "SELECT mt.tier_id, t.rank, t.name, mt.since FROM loyalty.member_tier mt"
						   " LEFT JOIN loyalty.tier t ON t.tier_id = mt.tier_id"
						   " WHERE mt.member_id = $1", 1, types);
	values[0] = Int64GetDatum(member_id);
	LoyaltyExec(plan, values, NULL, !lock, 1);
	memset(cur, 0, sizeof(*cur));
	if (SPI_processed == 0)
		return false;
	tup = SPI_tuptable->vals[0];
	desc = SPI_tuptable->tupdesc;
	SPI_getbinval(tup, desc, 1, &isnull);
	cur->has_tier = !isnull;
	cur->tier_id = LoyaltyGetInt64(tup, desc, 1, 0);
	if (cur->has_tier)
	{
		cur->rank = DatumGetInt32(SPI_getbinval(tup, desc, 2, &isnull));
		cur->name = LoyaltyGetText(tup, desc, 3);
	}
	cur->since = DatumGetTimestampTz(SPI_getbinval(tup, desc, 4, &isnull));
	return true;
}

/* Lock the member's tier row, creating an empty one first if needed */
static void
LockMemberTier(int64 member_id, int64 program_id, TimestampTz as_of, CurrentTier *cur)
{
	Oid			types[3] = {INT8OID, INT8OID, TIMESTAMPTZOID};
	Datum		values[3];

	if (ReadCurrentTier(member_id, true, cur))
		return;
	LoyaltyPlan(&InsertTierPlan,
				"INSERT INTO loyalty.member_tier (member_id, program_id, tier_id, since)"
				" VALUES ($1, $2, NULL, $3) ON CONFLICT DO NOTHING", 3, types);
	values[0] = Int64GetDatum(member_id);
	values[1] = Int64GetDatum(program_id);
	values[2] = TimestampTzGetDatum(as_of);
	LoyaltyExec(InsertTierPlan, values, NULL, false, 0);
	if (!ReadCurrentTier(member_id, true, cur))
		elog(ERROR, "tier row of member " INT64_FORMAT " vanished", member_id);
}

/* Queue a notification event (nothing when the program has no template for it) */
static void
NotifyEvent(int64 member_id, const char *kind, const char *template_code, const char *tier,
			const char *dedupe_key)
{
	Oid			types[5] = {INT8OID, TEXTOID, TEXTOID, TEXTOID, TEXTOID};
	Datum		values[5];

	LoyaltyPlan(&NotifyPlan,
				"SELECT loyalty.notify_event($1, $2, $3, pg_catalog.jsonb_build_object('tier', $4::text), $5)",
				5, types);
	values[0] = Int64GetDatum(member_id);
	values[1] = CStringGetTextDatum(kind);
	values[2] = CStringGetTextDatum(template_code);
	values[3] = CStringGetTextDatum(tier);
	values[4] = CStringGetTextDatum(dedupe_key);
	LoyaltyExec(NotifyPlan, values, NULL, false, 0);
}

/*
 * Move a member to the tier its measure gives at as_of: up always, down only
 * when allow_down.  Records the move in tier_history and queues the
 * "upgraded" and "almost at the next tier" notices.  Returns whether the
 * tier changed.  The caller is connected to SPI.
 */
static bool
ApplyTier(int64 member_id, int64 program_id, TimestampTz as_of, bool allow_down,
		  const char *branch, const char *reason, const char *document)
{
	CurrentTier cur;
	TierRow    *tiers;
	int			n;
	int			target;
	int			next;
	int32		target_rank;
	bool		changed = false;

	if (!ProgramHasTiers(program_id))
		return false;
	LockMemberTier(member_id, program_id, as_of, &cur);
	n = LoadTiers(member_id, program_id, as_of, false, &tiers);
	if (n == 0)
		return false;
	target = TargetTier(tiers, n);
	target_rank = target >= 0 ? tiers[target].rank : PG_INT32_MIN;

	if ((!cur.has_tier && target >= 0) ||
		(cur.has_tier && target_rank > cur.rank) ||
		(cur.has_tier && allow_down && target_rank < cur.rank))
	{
		Oid			types[9] = {INT8OID, INT8OID, INT8OID, INT8OID, TIMESTAMPTZOID, TEXTOID,
		TEXTOID, TEXTOID, INT8OID};
		Datum		values[9];
		char		nulls[9];
		bool		up = !cur.has_tier || target_rank > cur.rank;

		LoyaltyPlan(&SetTierPlan,
					"WITH u AS (UPDATE loyalty.member_tier SET tier_id = $3, since = $5,"
					"  qualifying = $9::numeric / 100"
					"  WHERE member_id = $1 RETURNING member_id)"
					" INSERT INTO loyalty.tier_history (member_id, history_id, program_id, from_tier,"
					"  to_tier, at, branch, reason, document)"
					" SELECT $1, loyalty.generate_id(), $2, $4, $3, $5, $6, $7, $8 FROM u",
					9, types);
		memset(nulls, ' ', sizeof(nulls));
		values[0] = Int64GetDatum(member_id);
		values[1] = Int64GetDatum(program_id);
		values[2] = Int64GetDatum(target >= 0 ? tiers[target].tier_id : 0);
		nulls[2] = target >= 0 ? ' ' : 'n';
		values[3] = Int64GetDatum(cur.tier_id);
		nulls[3] = cur.has_tier ? ' ' : 'n';
		/* the clock, not the transaction start: a move made after waiting for the row lock sorts after the move it waited for */
		values[4] = TimestampTzGetDatum(GetCurrentTimestamp());
		values[5] = LoyaltyTextOrNull(branch, &nulls[5]);
		values[6] = CStringGetTextDatum(reason);
		values[7] = LoyaltyTextOrNull(document, &nulls[7]);
		values[8] = Int64GetDatum(target >= 0 ? tiers[target].value : 0);
		LoyaltyExec(SetTierPlan, values, nulls, false, 0);
		changed = true;
		if (up && cur.has_tier && target >= 0)
		{
			char	   *key = psprintf("tier_upgraded:" INT64_FORMAT ":%s", tiers[target].tier_id,
									   timestamptz_to_str(GetCurrentTransactionStartTimestamp()));

			NotifyEvent(member_id, "tier_upgraded", "tier_upgraded", tiers[target].name, key);
		}
	}

	/* Close to the next tier: tell the member once per tier and current tier */
	next = target + 1;
	if (next < n && tiers[next].almost_percent > 0 && tiers[next].threshold > 0)
	{
		int64		needed = tiers[next].threshold - tiers[next].value;

		if (needed > 0 &&
			(int128) needed * 100 <= (int128) tiers[next].threshold * tiers[next].almost_percent)
		{
			char	   *key = psprintf("tier_almost:" INT64_FORMAT ":" INT64_FORMAT, tiers[next].tier_id,
									   target >= 0 ? tiers[target].tier_id : (int64) 0);

			NotifyEvent(member_id, "tier_almost", "tier_almost", tiers[next].name, key);
		}
	}
	return changed;
}

/* A relcache invalidation of the rule table (or of everything) makes the thank-you cache stale */
static void
ThankYouInvalidate(Datum arg, Oid relid)
{
	if (relid == InvalidOid || relid == ThankYouRuleRelid)
		ThankYouValid = false;
}

/* Whether a program has a thank_you template (cached; needs an SPI connection) */
static bool
ProgramThanksCustomers(int64 program_id)
{
	int			i;

	if (!ThankYouCallbackRegistered)
	{
		LoyaltyOnRelcacheInvalidation(ThankYouInvalidate);
		ThankYouCallbackRegistered = true;
	}
	if (!ThankYouValid)
	{
		MemoryContext old;

		ThankYouRuleRelid = get_relname_relid("rule", LoyaltyNamespaceOid());
		LoyaltyPlan(&ThankYouLoadPlan,
					"SELECT DISTINCT program_id FROM loyalty.notification_template WHERE code = 'thank_you'",
					0, NULL);
		LoyaltyExec(ThankYouLoadPlan, NULL, NULL, true, 0);
		old = MemoryContextSwitchTo(TopMemoryContext);
		if (ThankYouPrograms)
			pfree(ThankYouPrograms);
		ThankYouPrograms = palloc(sizeof(int64) * (SPI_processed + 1));
		MemoryContextSwitchTo(old);
		ThankYouCount = 0;
		for (i = 0; i < (int) SPI_processed; i++)
		{
			bool		isnull;

			ThankYouPrograms[ThankYouCount++] =
				DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1, &isnull));
		}
		ThankYouValid = true;
	}
	for (i = 0; i < ThankYouCount; i++)
		if (ThankYouPrograms[i] == program_id)
			return true;
	return false;
}

/* Queue the thank-you message of a member's order (J3), once per order */
static void
ThankCustomer(int64 member_id, HeapTuple row, TupleDesc desc)
{
	Oid			types[5] = {INT8OID, NUMERICOID, TEXTOID, TEXTOID, TEXTOID};
	Datum		values[5];
	char		nulls[5] = {' ', ' ', ' ', ' ', ' '};
	bool		isnull;

	LoyaltyPlan(&ThankYouPlan,
				"SELECT loyalty.notify_event($1, 'thank_you', 'thank_you', "
				"pg_catalog.jsonb_strip_nulls(pg_catalog.jsonb_build_object("
				"'amount', pg_catalog.trim_scale($2), 'branch', $3, 'code', $5)), "
				"'thank_you:' || $4 || ':' || $5)",
				5, types);
	values[0] = Int64GetDatum(member_id);
	values[1] = heap_getattr(row, SPI_fnumber(desc, "amount"), desc, &isnull);
	nulls[1] = isnull ? 'n' : ' ';
	values[2] = heap_getattr(row, SPI_fnumber(desc, "branch"), desc, &isnull);
	nulls[2] = isnull ? 'n' : ' ';
	values[3] = heap_getattr(row, SPI_fnumber(desc, "source"), desc, &isnull);
	nulls[3] = isnull ? 'n' : ' ';
	values[4] = heap_getattr(row, SPI_fnumber(desc, "document"), desc, &isnull);
	nulls[4] = isnull ? 'n' : ' ';
	LoyaltyExec(ThankYouPlan, values, nulls, false, 1);
}

/*
 * AFTER INSERT FOR EACH ROW trigger on loyalty.member_order: upgrade the
 * member when this order's measure crosses a tier's mark (never downgrades).
 */
Datum
tier_upgrade_trigger(PG_FUNCTION_ARGS)
{
	TriggerData *trigdata = (TriggerData *) fcinfo->context;
	TupleDesc	desc;
	HeapTuple	row;
	bool		isnull;
	int64		member_id;
	int64		program_id;
	TimestampTz ordered_at;
	char	   *branch;
	char	   *document;
	char	   *reason;

	if (!CALLED_AS_TRIGGER(fcinfo))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("tier_upgrade_trigger() was not called by the trigger manager")));
	if (!TRIGGER_FIRED_AFTER(trigdata->tg_event) || !TRIGGER_FIRED_FOR_ROW(trigdata->tg_event) ||
		!TRIGGER_FIRED_BY_INSERT(trigdata->tg_event))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("tier_upgrade_trigger() must be fired AFTER INSERT FOR EACH ROW")));
	desc = RelationGetDescr(trigdata->tg_relation);
	row = trigdata->tg_trigtuple;
	member_id = DatumGetInt64(heap_getattr(row, SPI_fnumber(desc, "member_id"), desc, &isnull));
	program_id = DatumGetInt64(heap_getattr(row, SPI_fnumber(desc, "program_id"), desc, &isnull));
	ordered_at = DatumGetTimestampTz(heap_getattr(row, SPI_fnumber(desc, "ordered_at"), desc, &isnull));
	branch = SPI_getvalue(row, desc, SPI_fnumber(desc, "branch"));
	document = SPI_getvalue(row, desc, SPI_fnumber(desc, "document"));
	reason = psprintf("order %s", document);

	/* J3: the thank-you message goes with the order (programs with that template only) */
	if (!ThankYouValid || ThankYouCount > 0)
	{
		if (SPI_connect() != SPI_OK_CONNECT)
			elog(ERROR, "SPI_connect failed");
		if (ProgramThanksCustomers(program_id))
			ThankCustomer(member_id, row, desc);
		SPI_finish();
	}

	/* most programs have no tiers: the cached program settings say so without a query */
	if (!LoyaltyProgramHasTiers(program_id))
		return PointerGetDatum(NULL);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	ApplyTier(member_id, program_id, ordered_at, false, branch, reason, document);
	SPI_finish();
	return PointerGetDatum(NULL);
}

/*
 * apply_member_tier(member_id, program_id, as_of, allow_down, reason):
 * the tier job's step for one member; returns whether the tier changed.
 */
Datum
apply_member_tier(PG_FUNCTION_ARGS)
{
	int64		member_id = PG_GETARG_INT64(0);
	int64		program_id = PG_GETARG_INT64(1);
	TimestampTz as_of = PG_GETARG_TIMESTAMPTZ(2);
	bool		allow_down = PG_GETARG_BOOL(3);
	char	   *reason = text_to_cstring(PG_GETARG_TEXT_PP(4));
	bool		changed;

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	changed = ApplyTier(member_id, program_id, as_of, allow_down, NULL, reason, NULL);
	SPI_finish();
	PG_RETURN_BOOL(changed);
}

/* A hundredths amount as numeric */
static Datum
HundredthsDatum(int64 v)
{
	return NumericGetDatum(MoneyToNumeric(v));
}

/*
 * tier_progress(member_id, program_id, as_of): the member's current tier,
 * the next one, its measure, what the member has and what is still needed.
 */
Datum
tier_progress(PG_FUNCTION_ARGS)
{
	int64		member_id = PG_GETARG_INT64(0);
	int64		program_id = PG_GETARG_INT64(1);
	TimestampTz as_of = PG_GETARG_TIMESTAMPTZ(2);
	TupleDesc	tupdesc;
	Datum		values[7];
	bool		nulls[7];
	CurrentTier cur;
	TierRow    *tiers;
	int			n;
	int			i;
	int			next = -1;
	HeapTuple	result;
	Datum		ret;

	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "tier_progress must return a row");
	tupdesc = BlessTupleDesc(tupdesc);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	ReadCurrentTier(member_id, false, &cur);
	n = LoadTiers(member_id, program_id, as_of, true, &tiers);
	for (i = 0; i < n; i++)
		if (!cur.has_tier || tiers[i].rank > cur.rank)
		{
			next = i;
			break;
		}
	memset(nulls, true, sizeof(nulls));
	if (cur.has_tier)
	{
		values[0] = CStringGetTextDatum(cur.name);
		nulls[0] = false;
	}
	if (next >= 0)
	{
		TierRow    *t = &tiers[next];

		values[1] = CStringGetTextDatum(t->name);
		values[2] = CStringGetTextDatum(t->measure);
		values[3] = HundredthsDatum(t->value);
		values[4] = HundredthsDatum(t->threshold);
		values[5] = HundredthsDatum(Max(t->threshold - t->value, 0));
		nulls[1] = nulls[2] = nulls[3] = nulls[4] = nulls[5] = false;
	}
	else
	{
		values[5] = HundredthsDatum(0);
		nulls[5] = false;
	}
	values[6] = Int32GetDatum(n);
	nulls[6] = false;
	result = heap_form_tuple(tupdesc, values, nulls);
	/* copies the row into the caller's memory before SPI_finish frees ours */
	ret = PointerGetDatum(SPI_returntuple(result, tupdesc));
	SPI_finish();
	PG_RETURN_DATUM(ret);
}

/* A factor (multiplier or discount) of the member's current tier, in ten-thousandths */
static int64
TierFactorE4(int64 member_id, int64 program_id, bool discount)
{
	Oid			types[2] = {INT8OID, INT8OID};
	Datum		values[2];
	int64		result = discount ? 0 : 10000;

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	LoyaltyPlan(&FactorPlan,
				"SELECT t.points_multiplier, t.discount_percent FROM loyalty.member_tier mt"
				" JOIN loyalty.tier t ON t.tier_id = mt.tier_id"
				" WHERE mt.member_id = $1 AND mt.program_id = $2", 2, types);
	values[0] = Int64GetDatum(member_id);
	values[1] = Int64GetDatum(program_id);
	LoyaltyExec(FactorPlan, values, NULL, true, 1);
	if (SPI_processed == 1)
	{
		bool		isnull;
		Datum		d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc,
									  discount ? 2 : 1, &isnull);

		if (!isnull)
			result = ScaledFromNumeric(DatumGetNumeric(d), discount ? 2 : 4, "tier factor");
	}
	SPI_finish();
	return result;
}

/* The points multiplier of the member's tier: 10000 is x1, 15000 is x1.5 */
int64
LoyaltyTierMultiplierE4(int64 member_id, int64 program_id)
{
	return TierFactorE4(member_id, program_id, false);
}

/* The discount of the member's tier as a fraction in ten-thousandths: 10% is 1000 */
int64
LoyaltyTierDiscountE4(int64 member_id, int64 program_id)
{
	return TierFactorE4(member_id, program_id, true);
}

/* Birthdays -------------------------------------------------------------- */

/* Days in a month of a year */
static int
DaysInMonth(int year, int month)
{
	return day_tab[isleap(year)][month - 1];
}

/* The birthday as celebrated in a year: 29 February is 28 February in other years */
static int
BirthdayInYear(int bmonth, int bday, int year)
{
	if (bmonth == 2 && bday == 29 && !isleap(year))
		bday = 28;
	return date2j(year, bmonth, bday) - POSTGRES_EPOCH_JDATE;
}

/* Whether the local date falls in an offer's scope around the birthday */
static bool
OfferMatches(DateADT birthday, DateADT local, const char *scope, int day_of_month)
{
	int			by, bm, bd, ly, lm, ld;
	int			y;

	j2date(birthday + POSTGRES_EPOCH_JDATE, &by, &bm, &bd);
	j2date(local + POSTGRES_EPOCH_JDATE, &ly, &lm, &ld);
	if (strcmp(scope, "day") == 0)
		return local == BirthdayInYear(bm, bd, ly);
	if (strcmp(scope, "month") == 0)
		return lm == bm;
	if (strcmp(scope, "day_of_month") == 0)
		return lm == bm && ld == Min(day_of_month, DaysInMonth(ly, lm));
	if (strcmp(scope, "week") == 0)
	{
		/* the Monday-to-Sunday week holding the birthday, across new year */
		for (y = ly - 1; y <= ly + 1; y++)
		{
			int			b = BirthdayInYear(bm, bd, y);
			int			monday = b - (j2day(b + POSTGRES_EPOCH_JDATE) + 6) % 7;

			if (local >= monday && local <= monday + 6)
				return true;
		}
		return false;
	}
	elog(ERROR, "unknown birthday offer scope \"%s\"", scope);
	return false;
}

/* The best birthday multiplier or discount of the member's offers at a moment */
static int64
BirthdayFactorE4(int64 member_id, int64 program_id, TimestampTz at, bool discount)
{
	Oid			types[3] = {INT8OID, INT8OID, TIMESTAMPTZOID};
	Datum		values[3];
	int64		best = discount ? 0 : 10000;
	uint64		i;

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	LoyaltyPlan(&BirthdayPlan,
				"SELECT m.birthday, ($3 AT TIME ZONE p.time_zone)::date, o.scope, o.day_of_month,"
				" o.multiplier, o.discount_percent"
				" FROM loyalty.member m JOIN loyalty.program p ON p.program_id = m.program_id"
				" JOIN loyalty.birthday_offer o ON o.program_id = p.program_id AND o.active"
				" WHERE m.member_id = $1 AND m.program_id = $2 AND m.birthday IS NOT NULL",
				3, types);
	values[0] = Int64GetDatum(member_id);
	values[1] = Int64GetDatum(program_id);
	values[2] = TimestampTzGetDatum(at);
	LoyaltyExec(BirthdayPlan, values, NULL, true, 0);
	for (i = 0; i < SPI_processed; i++)
	{
		HeapTuple	tup = SPI_tuptable->vals[i];
		TupleDesc	desc = SPI_tuptable->tupdesc;
		bool		isnull;
		DateADT		birthday = DatumGetDateADT(SPI_getbinval(tup, desc, 1, &isnull));
		DateADT		local = DatumGetDateADT(SPI_getbinval(tup, desc, 2, &isnull));
		char	   *scope = LoyaltyGetText(tup, desc, 3);
		Datum		dom = SPI_getbinval(tup, desc, 4, &isnull);
		int			day_of_month = isnull ? 0 : DatumGetInt32(dom);
		Datum		f = SPI_getbinval(tup, desc, discount ? 6 : 5, &isnull);
		int64		factor;

		if (isnull || !OfferMatches(birthday, local, scope, day_of_month))
			continue;
		factor = ScaledFromNumeric(DatumGetNumeric(f), discount ? 2 : 4, "birthday factor");
		if (factor > best)
			best = factor;
	}
	SPI_finish();
	return best;
}

/* The birthday points multiplier at a moment: 10000 is x1, 20000 is x2 */
int64
LoyaltyBirthdayMultiplierE4(int64 member_id, int64 program_id, TimestampTz at)
{
	return BirthdayFactorE4(member_id, program_id, at, false);
}

/* The birthday discount at a moment as a fraction in ten-thousandths: 10% is 1000 */
int64
LoyaltyBirthdayDiscountE4(int64 member_id, int64 program_id, TimestampTz at)
{
	return BirthdayFactorE4(member_id, program_id, at, true);
}

/* birthday_multiplier_member(member_id, program_id, at): the multiplier as numeric */
Datum
birthday_multiplier_member(PG_FUNCTION_ARGS)
{
	int64		e4 = LoyaltyBirthdayMultiplierE4(PG_GETARG_INT64(0), PG_GETARG_INT64(1),
												 PG_GETARG_TIMESTAMPTZ(2));

	Datum		n = DirectFunctionCall2(numeric_div,
										DirectFunctionCall1(int8_numeric, Int64GetDatum(e4)),
										DirectFunctionCall1(int8_numeric, Int64GetDatum(10000)));

	PG_RETURN_DATUM(DirectFunctionCall1(numeric_trim_scale, n));
}

/* birthday_discount_member(member_id, program_id, at): the birthday discount in percent */
Datum
birthday_discount_member(PG_FUNCTION_ARGS)
{
	int64		e4 = LoyaltyBirthdayDiscountE4(PG_GETARG_INT64(0), PG_GETARG_INT64(1),
											   PG_GETARG_TIMESTAMPTZ(2));

	Datum		n = DirectFunctionCall2(numeric_div,
										DirectFunctionCall1(int8_numeric, Int64GetDatum(e4)),
										DirectFunctionCall1(int8_numeric, Int64GetDatum(100)));

	PG_RETURN_DATUM(DirectFunctionCall1(numeric_trim_scale, n));
}

/* next_birthday(birthday, on): the first celebrated birthday on or after a date */
Datum
next_birthday(PG_FUNCTION_ARGS)
{
	DateADT		birthday = PG_GETARG_DATEADT(0);
	DateADT		on = PG_GETARG_DATEADT(1);
	int			by, bm, bd, y, m, d;
	DateADT		b;

	if (DATE_NOT_FINITE(birthday) || DATE_NOT_FINITE(on))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("birthday and date must be finite")));
	j2date(birthday + POSTGRES_EPOCH_JDATE, &by, &bm, &bd);
	j2date(on + POSTGRES_EPOCH_JDATE, &y, &m, &d);
	b = BirthdayInYear(bm, bd, y);
	if (b < on)
		b = BirthdayInYear(bm, bd, y + 1);
	PG_RETURN_DATEADT(b);
}
