/*
 * redeem.c
 *		Spending points (B1, B2): quotes, redemptions, holds and captures,
 *		and refunds that give points back to the lots they came from.
 *
 * Lock order, as everywhere: the member's balance row first, then holds,
 * redemptions and lots.  The available balance is the balance less the
 * points of open holds that have not expired and less lots already past
 * their expiry that the expiry job has not burnt yet.
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

#include "errcodes.h"
#include "errcodes_redeem.h"
#include "ids.h"
#include "ledger.h"
#include "money.h"
#include "redeem.h"
#include "rules.h"
#include "spi_util.h"

PG_FUNCTION_INFO_V1(redeem_quote_lines);
PG_FUNCTION_INFO_V1(redeem_lines);
PG_FUNCTION_INFO_V1(redeem_hold_lines);
PG_FUNCTION_INFO_V1(redeem_capture);
PG_FUNCTION_INFO_V1(redeem_release);
PG_FUNCTION_INFO_V1(redeem_refund);
PG_FUNCTION_INFO_V1(redeem_available);

/* A bill as redemption sees it: money in hundredths */
typedef struct RedeemBill
{
	int64		total;
	int64		eligible;		/* the part of the total points may pay */
} RedeemBill;

/* What a quote found */
typedef struct RedeemQuote
{
	Points		available;
	Points		max_points;
	int64		max_amount;
	const char *bound_by;
} RedeemQuote;

static SPIPlanPtr PolicyPlan = NULL;
static SPIPlanPtr MemberPlan = NULL;
static SPIPlanPtr LockBalancePlan = NULL;
static SPIPlanPtr HeldPlan = NULL;
static SPIPlanPtr PriorRedemptionPlan = NULL;
static SPIPlanPtr OpenLotsPlan = NULL;
static SPIPlanPtr TakeLotPlan = NULL;
static SPIPlanPtr RedemptionLotPlan = NULL;
static SPIPlanPtr MoveBalancePlan = NULL;
static SPIPlanPtr InsertRedemptionPlan = NULL;
static SPIPlanPtr PriorHoldPlan = NULL;
static SPIPlanPtr InsertHoldPlan = NULL;
static SPIPlanPtr FindHoldPlan = NULL;
static SPIPlanPtr LockHoldPlan = NULL;
static SPIPlanPtr CloseHoldPlan = NULL;
static SPIPlanPtr FindRedemptionsPlan = NULL;
static SPIPlanPtr LockRedemptionPlan = NULL;
static SPIPlanPtr RestoreLotsPlan = NULL;
static SPIPlanPtr RestoreLotPlan = NULL;
static SPIPlanPtr MarkRefundedPlan = NULL;
static SPIPlanPtr ReleaseDocHoldPlan = NULL;

/* Load a program's redemption policy; defaults when it has no row */
void
RedeemLoadPolicy(int64 program_id, RedeemPolicy *p)
{
	Oid			types[1] = {INT8OID};
	Datum		values[1];
	HeapTuple	t;
	TupleDesc	d;
	bool		isnull;

	memset(p, 0, sizeof(*p));
	p->max_bill_percent = 10000;
	p->step = 1;
	p->hold_minutes = 15;
	p->otp_minutes = 5;
	p->otp_max_tries = 5;
	LoyaltyPlan(&PolicyPlan,
				"SELECT min_balance, min_points, max_bill_percent, redeem_step, excluded_groups,"
				" excluded_skus, hold_minutes, require_otp, otp_minutes, otp_max_tries"
				" FROM loyalty.redemption_policy WHERE program_id = $1",
				1, types);
	values[0] = Int64GetDatum(program_id);
	LoyaltyExec(PolicyPlan, values, NULL, false, 1);
	if (SPI_processed == 0)
		return;
	t = SPI_tuptable->vals[0];
	d = SPI_tuptable->tupdesc;
	p->min_balance = DatumGetPoints(SPI_getbinval(t, d, 1, &isnull));
	p->min_points = DatumGetPoints(SPI_getbinval(t, d, 2, &isnull));
	p->max_bill_percent = ScaledFromNumeric(DatumGetNumeric(SPI_getbinval(t, d, 3, &isnull)), 2,
											"max_bill_percent");
	p->step = DatumGetPoints(SPI_getbinval(t, d, 4, &isnull));
	LoyaltyTextArray(SPI_getbinval(t, d, 5, &isnull), &p->excluded_groups, &p->nexcluded_groups);
	LoyaltyTextArray(SPI_getbinval(t, d, 6, &isnull), &p->excluded_skus, &p->nexcluded_skus);
	p->hold_minutes = DatumGetInt32(SPI_getbinval(t, d, 7, &isnull));
	p->require_otp = DatumGetBool(SPI_getbinval(t, d, 8, &isnull));
	p->otp_minutes = DatumGetInt32(SPI_getbinval(t, d, 9, &isnull));
	p->otp_max_tries = DatumGetInt32(SPI_getbinval(t, d, 10, &isnull));
}

/* Find a member by customer key; an unknown customer is an error */
void
RedeemFindMember(const ProgramConfig *prog, const char *customer_key, RedeemMember *m)
{
	Oid			types[2] = {INT8OID, TEXTOID};
	Datum		values[2];
	HeapTuple	t;
	TupleDesc	d;

	LoyaltyPlan(&MemberPlan,
				"SELECT m.member_id, m.status, m.phone, m.email FROM loyalty.member_key k"
				" JOIN loyalty.member m ON m.member_id = k.member_id"
				" WHERE k.program_id = $1 AND k.customer_key = $2",
				2, types);
	values[0] = Int64GetDatum(prog->program_id);
	values[1] = CStringGetTextDatum(customer_key);
	LoyaltyExec(MemberPlan, values, NULL, false, 1);
	if (SPI_processed == 0)
		ereport(ERROR,
				(errcode(ERRCODE_LOYALTY_UNKNOWN_MEMBER),
				 errmsg("customer \"%s\" is not a member of loyalty program \"%s\"",
						customer_key, prog->code)));
	t = SPI_tuptable->vals[0];
	d = SPI_tuptable->tupdesc;
	m->member_id = LoyaltyGetInt64(t, d, 1, 0);
	m->status = LoyaltyGetText(t, d, 2);
	m->phone = LoyaltyGetText(t, d, 3);
	m->email = LoyaltyGetText(t, d, 4);
}

/* True when name is in the list */
static bool
InList(const char *name, char **list, int n)
{
	int			i;

	if (name == NULL)
		return false;
	for (i = 0; i < n; i++)
		if (strcmp(name, list[i]) == 0)
			return true;
	return false;
}

/* A numeric attribute of an order line composite, scaled to an integer */
static int64
LineScaled(HeapTupleHeader row, int attno, int digits, int64 when_null, const char *what)
{
	bool		isnull;
	Datum		d = GetAttributeByNum(row, attno, &isnull);

	return isnull ? when_null : ScaledFromNumeric(DatumGetNumeric(d), digits, what);
}

/* A text attribute of an order line composite */
static char *
LineString(HeapTupleHeader row, int attno)
{
	bool		isnull;
	Datum		d = GetAttributeByNum(row, attno, &isnull);

	return isnull ? NULL : TextDatumGetCString(d);
}

/* Read a bill from order lines and/or a total; excluded goods are not eligible */
static void
ReadBill(FunctionCallInfo fcinfo, int lines_arg, int total_arg, const RedeemPolicy *policy,
		 RedeemBill *bill)
{
	int64		sum = 0;
	int64		eligible = 0;
	int			nlines = 0;

	if (!PG_ARGISNULL(lines_arg))
	{
		ArrayType  *arr = PG_GETARG_ARRAYTYPE_P(lines_arg);
		Datum	   *elems;
		bool	   *nulls;
		int			n;
		int			i;

		deconstruct_array(arr, ARR_ELEMTYPE(arr), -1, false, TYPALIGN_DOUBLE, &elems, &nulls, &n);
		for (i = 0; i < n; i++)
		{
			HeapTupleHeader row;
			int64		qty;
			int64		price;
			int64		discount;
			int64		amount;
			char	   *sku;
			char	   *group;

			if (nulls[i])
				continue;
			row = DatumGetHeapTupleHeader(elems[i]);
			nlines++;
			sku = LineString(row, 2);
			group = LineString(row, 3);
			qty = LineScaled(row, 4, 3, 1000, "quantity");
			price = LineScaled(row, 5, 2, PG_INT64_MIN, "price");
			discount = LineScaled(row, 6, 2, 0, "discount");
			amount = LineScaled(row, 7, 2, PG_INT64_MIN, "amount");
			if (amount == PG_INT64_MIN)
			{
				int128		a;

				if (price == PG_INT64_MIN)
					ereport(ERROR,
							(errcode(ERRCODE_REDEEM_INVALID_BILL),
							 errmsg("line %d has neither a price nor an amount", nlines)));
				a = ((int128) price * qty + 500) / 1000 - discount;
				if (a > PG_INT64_MAX || a < PG_INT64_MIN)
					ereport(ERROR,
							(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
							 errmsg("amount of line %d is out of range", nlines),
							 errdetail("Quantity times price is more than 92,233,720,368,547,758.07.")));
				amount = (int64) a;
			}
			if (amount < 0)
				ereport(ERROR,
						(errcode(ERRCODE_REDEEM_INVALID_BILL),
						 errmsg("line %d has a negative amount", nlines)));
			if (pg_add_s64_overflow(sum, amount, &sum))
				ereport(ERROR,
						(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
						 errmsg("bill total is out of range")));
			if (!InList(sku, policy->excluded_skus, policy->nexcluded_skus) &&
				!InList(group, policy->excluded_groups, policy->nexcluded_groups))
				eligible += amount;
		}
	}
	if (!PG_ARGISNULL(total_arg))
	{
		bill->total = MoneyFromNumeric(PG_GETARG_NUMERIC(total_arg), "total");
		if (nlines == 0)
			eligible = bill->total;
	}
	else if (nlines > 0)
		bill->total = sum;
	else
		ereport(ERROR,
				(errcode(ERRCODE_REDEEM_INVALID_BILL),
				 errmsg("a redemption needs the bill"),
				 errdetail("Neither lines nor a total were given."),
				 errhint("Pass the bill's lines, or its total.")));
	if (bill->total < 0)
		ereport(ERROR,
				(errcode(ERRCODE_REDEEM_INVALID_BILL),
				 errmsg("bill total must not be negative")));
	bill->eligible = Min(eligible, bill->total);
}

/* Money (hundredths) that points pay at the program's point value */
static int64
MoneyOfPoints(const ProgramConfig *prog, Points p)
{
	int128		m = ((int128) p * prog->point_value) / POINTS_SCALE;

	if (m > PG_INT64_MAX || m < PG_INT64_MIN)
		ereport(ERROR,
				(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
				 errmsg("money value of %s points is out of range", PointsToCString(p))));
	return (int64) m;
}

/* Most points (hundredths) that money pays for, rounded down */
static Points
PointsForMoney(const ProgramConfig *prog, int64 money)
{
	int128		p = ((int128) money * POINTS_SCALE) / prog->point_value;

	return p > PG_INT64_MAX ? PG_INT64_MAX : (Points) p;
}

/* Round points down to a multiple of the policy's step */
static Points
FloorStep(const RedeemPolicy *policy, Points p)
{
	if (p <= 0)
		return 0;
	return p - p % policy->step;
}

/* The quote: how many points a member may use on a bill, and which limit decided */
static void
ComputeQuote(const ProgramConfig *prog, const RedeemPolicy *policy, bool active,
			 Points available, const RedeemBill *bill, RedeemQuote *q)
{
	Points		cap;

	q->available = available;
	q->max_points = FloorStep(policy, available);
	q->bound_by = "balance";
	cap = FloorStep(policy, PointsForMoney(prog, bill->eligible));
	if (cap < q->max_points)
	{
		q->max_points = cap;
		q->bound_by = bill->eligible < bill->total ? "excluded_items" : "bill_total";
	}
	cap = FloorStep(policy, PointsForMoney(prog, (int64) (((int128) bill->total * policy->max_bill_percent) / 10000)));
	if (cap < q->max_points)
	{
		q->max_points = cap;
		q->bound_by = "max_bill_percent";
	}
	if (!active)
	{
		q->max_points = 0;
		q->bound_by = "member_status";
	}
	else if (available < policy->min_balance)
	{
		q->max_points = 0;
		q->bound_by = "min_balance";
	}
	else if (q->max_points < policy->min_points)
	{
		q->max_points = 0;
		q->bound_by = "min_points";
	}
	q->max_amount = MoneyOfPoints(prog, q->max_points);
}

/* Lock the member's balance row and return its points (0 when there is none) */
static Points
LockBalance(int64 member_id, int64 program_id, bool *exists)
{
	Oid			types[2] = {INT8OID, INT8OID};
	Datum		values[2];
	bool		isnull;

	LoyaltyPlan(&LockBalancePlan,
				"SELECT points FROM loyalty.balance WHERE member_id = $1 AND program_id = $2 FOR UPDATE",
				2, types);
	values[0] = Int64GetDatum(member_id);
	values[1] = Int64GetDatum(program_id);
	LoyaltyExec(LockBalancePlan, values, NULL, false, 1);
	*exists = SPI_processed == 1;
	if (!*exists)
		return 0;
	return DatumGetPoints(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
}

/*
 * Points that are in the balance but may not be spent: reserved by open,
 * unexpired holds other than except_hold, or in lots past their expiry that
 * the expiry job has not burnt yet.
 */
static Points
HeldPoints(int64 member_id, int64 program_id, int64 except_hold)
{
	Oid			types[4] = {INT8OID, INT8OID, TIMESTAMPTZOID, INT8OID};
	Datum		values[4];
	bool		isnull;
	Datum		d;

	LoyaltyPlan(&HeldPlan,
				"SELECT coalesce((SELECT loyalty.sum(points) FROM loyalty.redemption_hold WHERE member_id = $1"
				" AND program_id = $2 AND status = 'open' AND expires_at > $3 AND hold_id <> $4), 0)"
				" OPERATOR(loyalty.+) coalesce((SELECT loyalty.sum(remaining) FROM loyalty.lot"
				" WHERE member_id = $1 AND program_id = $2 AND remaining OPERATOR(loyalty.>) 0"
				" AND expires_at <= $3), 0)",
				4, types);
	values[0] = Int64GetDatum(member_id);
	values[1] = Int64GetDatum(program_id);
	values[2] = TimestampTzGetDatum(GetCurrentTransactionStartTimestamp());
	values[3] = Int64GetDatum(except_hold);
	LoyaltyExec(HeldPlan, values, NULL, false, 1);
	d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
	return isnull ? 0 : DatumGetPoints(d);
}

/* Points must be positive and a multiple of the step */
static void
CheckPointsArg(const RedeemPolicy *policy, Points points)
{
	if (points <= 0)
		ereport(ERROR,
				(errcode(ERRCODE_REDEEM_INVALID_POINTS),
				 errmsg("points to redeem must be positive"),
				 errdetail("%s points were asked for.", PointsToCString(points))));
	if (points % policy->step != 0)
		ereport(ERROR,
				(errcode(ERRCODE_REDEEM_INVALID_POINTS),
				 errmsg("points to redeem must be a multiple of %s", PointsToCString(policy->step)),
				 errdetail("%s points were asked for.", PointsToCString(points))));
}

/* Points beyond the quote are an error: insufficient, or beyond the bill's limits */
static void
CheckAgainstQuote(const RedeemQuote *q, Points points)
{
	if (points <= q->max_points)
		return;
	if (points > q->available || strcmp(q->bound_by, "min_balance") == 0)
		ereport(ERROR,
				(errcode(ERRCODE_REDEEM_INSUFFICIENT_POINTS),
				 errmsg("not enough points"),
				 errdetail("%s points are available, %s were asked for; at most %s may be used (bound by %s).",
						   PointsToCString(q->available), PointsToCString(points),
						   PointsToCString(q->max_points), q->bound_by)));
	ereport(ERROR,
			(errcode(ERRCODE_REDEEM_EXCEEDS_QUOTE),
			 errmsg("points to redeem exceed what this bill allows"),
			 errdetail("At most %s points may be used on this bill (bound by %s); %s were asked for.",
					   PointsToCString(q->max_points), q->bound_by, PointsToCString(points))));
}

/* Blocked and closed members may not spend */
static void
CheckMemberActive(const RedeemMember *m)
{
	if (strcmp(m->status, "active") != 0)
		ereport(ERROR,
				(errcode(ERRCODE_REDEEM_MEMBER_NOT_ACTIVE),
				 errmsg("member is %s and may not spend points", m->status)));
}

/* An earlier redemption of the document: same points replays, different conflicts */
static bool
PriorRedemption(int64 member_id, int64 program_id, const char *source, const char *document,
				Points points, int64 *redemption_id, int64 *amount)
{
	Oid			types[4] = {INT8OID, INT8OID, TEXTOID, TEXTOID};
	Datum		values[4];
	HeapTuple	t;
	TupleDesc	d;
	bool		isnull;
	Points		prior;

	LoyaltyPlan(&PriorRedemptionPlan,
				"SELECT redemption_id, points, amount FROM loyalty.redemption WHERE member_id = $1"
				" AND program_id = $2 AND source = $3 AND document = $4",
				4, types);
	values[0] = Int64GetDatum(member_id);
	values[1] = Int64GetDatum(program_id);
	values[2] = CStringGetTextDatum(source);
	values[3] = CStringGetTextDatum(document);
	LoyaltyExec(PriorRedemptionPlan, values, NULL, false, 1);
	if (SPI_processed == 0)
		return false;
	t = SPI_tuptable->vals[0];
	d = SPI_tuptable->tupdesc;
	prior = DatumGetPoints(SPI_getbinval(t, d, 2, &isnull));
	if (prior != points)
		ereport(ERROR,
				(errcode(ERRCODE_REDEEM_IDEMPOTENCY_CONFLICT),
				 errmsg("bill \"%s\" was already paid with a different number of points", document),
				 errdetail("The first redemption used %s points, this one asks for %s.",
						   PointsToCString(prior), PointsToCString(points))));
	*redemption_id = LoyaltyGetInt64(t, d, 1, 0);
	*amount = MoneyFromNumeric(DatumGetNumeric(SPI_getbinval(t, d, 3, &isnull)), "amount");
	return true;
}

/* Add delta to the balance row (locked by the caller) */
static void
MoveBalance(int64 member_id, int64 program_id, Points delta)
{
	Oid			types[3] = {INT8OID, INT8OID, InvalidOid};
	Datum		values[3];

	types[2] = LoyaltyTypeOid("points");
	LoyaltyPlan(&MoveBalancePlan,
				"UPDATE loyalty.balance SET points = points OPERATOR(loyalty.+) $3, updated_at = now()"
				" WHERE member_id = $1 AND program_id = $2",
				3, types);
	values[0] = Int64GetDatum(member_id);
	values[1] = Int64GetDatum(program_id);
	values[2] = PointsGetDatum(delta);
	LoyaltyExec(MoveBalancePlan, values, NULL, false, 0);
}

/* Take points from open lots, soonest to expire first, recording each lot used */
static void
TakeLots(int64 member_id, int64 program_id, int64 redemption_id, Points amount)
{
	Oid			pt = LoyaltyTypeOid("points");
	Oid			types[3] = {INT8OID, INT8OID, TIMESTAMPTZOID};
	Oid			take_types[3] = {INT8OID, INT8OID, InvalidOid};
	Oid			rl_types[4] = {INT8OID, INT8OID, INT8OID, InvalidOid};
	Datum		values[4];
	SPITupleTable *lots;
	uint64		nlots;
	uint64		i;

	take_types[2] = pt;
	rl_types[3] = pt;
	LoyaltyPlan(&OpenLotsPlan,
				"SELECT lot_id, remaining FROM loyalty.lot WHERE member_id = $1 AND program_id = $2"
				" AND remaining OPERATOR(loyalty.>) 0 AND (expires_at IS NULL OR expires_at > $3)"
				" ORDER BY expires_at NULLS LAST, lot_id FOR UPDATE",
				3, types);
	LoyaltyPlan(&TakeLotPlan,
				"UPDATE loyalty.lot SET remaining = remaining OPERATOR(loyalty.-) $3"
				" WHERE member_id = $1 AND lot_id = $2",
				3, take_types);
	LoyaltyPlan(&RedemptionLotPlan,
				"INSERT INTO loyalty.redemption_lot (member_id, redemption_id, lot_id, points)"
				" VALUES ($1, $2, $3, $4)",
				4, rl_types);
	values[0] = Int64GetDatum(member_id);
	values[1] = Int64GetDatum(program_id);
	values[2] = TimestampTzGetDatum(GetCurrentTransactionStartTimestamp());
	LoyaltyExec(OpenLotsPlan, values, NULL, false, 0);
	lots = SPI_tuptable;
	nlots = SPI_processed;
	for (i = 0; i < nlots && amount > 0; i++)
	{
		bool		isnull;
		int64		lot_id = DatumGetInt64(SPI_getbinval(lots->vals[i], lots->tupdesc, 1, &isnull));
		Points		remaining = DatumGetPoints(SPI_getbinval(lots->vals[i], lots->tupdesc, 2, &isnull));
		Points		take = Min(remaining, amount);

		values[0] = Int64GetDatum(member_id);
		values[1] = Int64GetDatum(lot_id);
		values[2] = PointsGetDatum(take);
		LoyaltyExec(TakeLotPlan, values, NULL, false, 0);
		values[1] = Int64GetDatum(redemption_id);
		values[2] = Int64GetDatum(lot_id);
		values[3] = PointsGetDatum(take);
		LoyaltyExec(RedemptionLotPlan, values, NULL, false, 0);
		amount -= take;
	}
	if (amount != 0)
		elog(ERROR, "open lots of member " INT64_FORMAT " are short of the balance by %s points",
			 member_id, PointsToCString(amount));
}

/* Spend points under the balance lock: lots, entry, balance and the redemption row */
static int64
SpendPoints(const ProgramConfig *prog, int64 member_id, const char *source, const char *document,
			Points points, const RedeemBill *bill, const char *branch, int64 hold_id)
{
	Oid			types[13] = {INT8OID, INT8OID, INT8OID, TEXTOID, TEXTOID, InvalidOid, NUMERICOID,
	NUMERICOID, NUMERICOID, TEXTOID, INT8OID, INT8OID, TIMESTAMPTZOID};
	Datum		values[13];
	char		nulls[13];
	int64		redemption_id = LoyaltyGenerateId();
	LedgerEntry e;

	TakeLots(member_id, prog->program_id, redemption_id, points);

	memset(&e, 0, sizeof(e));
	e.member_id = member_id;
	e.entry_id = LoyaltyGenerateId();
	e.program_id = prog->program_id;
	e.kind = "redeem";
	e.amount = PointsNegate(points);
	e.source = source;
	e.document = document;
	e.branch = branch;
	e.created_at = GetCurrentTransactionStartTimestamp();
	LedgerInsertEntry(&e);
	MoveBalance(member_id, prog->program_id, PointsNegate(points));

	types[5] = LoyaltyTypeOid("points");
	LoyaltyPlan(&InsertRedemptionPlan,
				"INSERT INTO loyalty.redemption (member_id, redemption_id, program_id, source, document,"
				" points, amount, bill_total, eligible_amount, branch, hold_id, entry_id, created_at)"
				" VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
				13, types);
	memset(nulls, ' ', sizeof(nulls));
	values[0] = Int64GetDatum(member_id);
	values[1] = Int64GetDatum(redemption_id);
	values[2] = Int64GetDatum(prog->program_id);
	values[3] = CStringGetTextDatum(source);
	values[4] = CStringGetTextDatum(document);
	values[5] = PointsGetDatum(points);
	values[6] = NumericGetDatum(MoneyToNumeric(MoneyOfPoints(prog, points)));
	values[7] = NumericGetDatum(MoneyToNumeric(bill->total));
	values[8] = NumericGetDatum(MoneyToNumeric(bill->eligible));
	values[9] = LoyaltyTextOrNull(branch, &nulls[9]);
	values[10] = Int64GetDatum(hold_id);
	nulls[10] = hold_id ? ' ' : 'n';
	values[11] = Int64GetDatum(e.entry_id);
	values[12] = TimestampTzGetDatum(e.created_at);
	LoyaltyExec(InsertRedemptionPlan, values, nulls, false, 0);
	return redemption_id;
}

/* The (redemption_id, points_used, amount, replayed) result row */
static Datum
RedemptionResult(FunctionCallInfo fcinfo, int64 redemption_id, Points points, int64 amount,
				 bool replayed)
{
	TupleDesc	desc;
	Datum		values[4];
	bool		nulls[4] = {false, false, false, false};

	if (get_call_result_type(fcinfo, NULL, &desc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");
	values[0] = Int64GetDatum(redemption_id);
	values[1] = PointsGetDatum(points);
	values[2] = NumericGetDatum(MoneyToNumeric(amount));
	values[3] = BoolGetDatum(replayed);
	return HeapTupleGetDatum(heap_form_tuple(BlessTupleDesc(desc), values, nulls));
}

/* A text argument that must not be null */
static char *
RequiredText(FunctionCallInfo fcinfo, int arg, const char *what)
{
	if (PG_ARGISNULL(arg))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("%s must not be null", what)));
	return text_to_cstring(PG_GETARG_TEXT_PP(arg));
}

/* A text argument or NULL */
static char *
OptionalText(FunctionCallInfo fcinfo, int arg)
{
	return PG_ARGISNULL(arg) ? NULL : text_to_cstring(PG_GETARG_TEXT_PP(arg));
}

/* SQL: loyalty.quote_lines(program, customer_key, lines, total) */
Datum
redeem_quote_lines(PG_FUNCTION_ARGS)
{
	ProgramConfig *prog = LoyaltyGetProgramByCode(RequiredText(fcinfo, 0, "program"));
	char	   *customer_key = RequiredText(fcinfo, 1, "customer key");
	RedeemPolicy policy;
	RedeemMember m;
	RedeemBill bill;
	RedeemQuote q;
	bool		exists;
	Points		balance;
	TupleDesc	desc;
	Datum		values[6];
	bool		nulls[6] = {false, false, false, false, false, false};
	HeapTuple	tuple;

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	RedeemLoadPolicy(prog->program_id, &policy);
	ReadBill(fcinfo, 2, 3, &policy, &bill);
	RedeemFindMember(prog, customer_key, &m);
	/* a quote reads without locking: the redemption re-checks under the lock */
	{
		Oid			types[2] = {INT8OID, INT8OID};
		Datum		v[2];
		static SPIPlanPtr BalancePlan = NULL;
		bool		isnull;

		LoyaltyPlan(&BalancePlan,
					"SELECT points FROM loyalty.balance WHERE member_id = $1 AND program_id = $2",
					2, types);
		v[0] = Int64GetDatum(m.member_id);
		v[1] = Int64GetDatum(prog->program_id);
		LoyaltyExec(BalancePlan, v, NULL, true, 1);
		exists = SPI_processed == 1;
		balance = exists ? DatumGetPoints(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull)) : 0;
	}
	ComputeQuote(prog, &policy, strcmp(m.status, "active") == 0,
				 balance - HeldPoints(m.member_id, prog->program_id, 0), &bill, &q);

	if (get_call_result_type(fcinfo, NULL, &desc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");
	values[0] = PointsGetDatum(q.available);
	values[1] = PointsGetDatum(q.max_points);
	values[2] = NumericGetDatum(MoneyToNumeric(q.max_amount));
	values[3] = NumericGetDatum(MoneyToNumeric(bill.total));
	values[4] = NumericGetDatum(MoneyToNumeric(bill.eligible));
	values[5] = CStringGetTextDatum(q.bound_by);
	SPI_finish();
	tuple = heap_form_tuple(BlessTupleDesc(desc), values, nulls);
	PG_RETURN_DATUM(HeapTupleGetDatum(tuple));
}

/* SQL: loyalty.available_points(program, customer_key) */
Datum
redeem_available(PG_FUNCTION_ARGS)
{
	ProgramConfig *prog = LoyaltyGetProgramByCode(text_to_cstring(PG_GETARG_TEXT_PP(0)));
	RedeemMember m;
	Points		result;
	Oid			types[2] = {INT8OID, INT8OID};
	Datum		v[2];
	static SPIPlanPtr BalancePlan = NULL;
	bool		isnull;

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	RedeemFindMember(prog, text_to_cstring(PG_GETARG_TEXT_PP(1)), &m);
	LoyaltyPlan(&BalancePlan,
				"SELECT points FROM loyalty.balance WHERE member_id = $1 AND program_id = $2",
				2, types);
	v[0] = Int64GetDatum(m.member_id);
	v[1] = Int64GetDatum(prog->program_id);
	LoyaltyExec(BalancePlan, v, NULL, true, 1);
	result = SPI_processed == 1 ?
		DatumGetPoints(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull)) : 0;
	result -= HeldPoints(m.member_id, prog->program_id, 0);
	SPI_finish();
	PG_RETURN_POINTS(result);
}

/* The arguments redeem_lines and hold_lines share */
typedef struct SpendArgs
{
	ProgramConfig *prog;
	char	   *customer_key;
	char	   *document;
	Points		points;
	char	   *branch;
	char	   *otp;
	char	   *source;
} SpendArgs;

/* Read program, customer, document, points, branch, code and source; points must not be null */
static void
ReadSpendArgs(FunctionCallInfo fcinfo, SpendArgs *a)
{
	a->prog = LoyaltyGetProgramByCode(RequiredText(fcinfo, 0, "program"));
	a->customer_key = RequiredText(fcinfo, 1, "customer key");
	a->document = RequiredText(fcinfo, 2, "document");
	if (PG_ARGISNULL(3))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("points must not be null")));
	a->points = PG_GETARG_POINTS(3);
	a->branch = OptionalText(fcinfo, 6);
	a->otp = OptionalText(fcinfo, 7);
	a->source = PG_ARGISNULL(8) ? "pos" : text_to_cstring(PG_GETARG_TEXT_PP(8));
}

/*
 * SQL: loyalty.redeem_lines(program, customer_key, document, points, lines,
 * total, branch, otp, source)
 */
Datum
redeem_lines(PG_FUNCTION_ARGS)
{
	SpendArgs	a;
	RedeemPolicy policy;
	RedeemMember m;
	RedeemBill bill;
	RedeemQuote q;
	bool		exists;
	Points		balance;
	int64		redemption_id;
	int64		amount;
	Datum		result;

	ReadSpendArgs(fcinfo, &a);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	RedeemLoadPolicy(a.prog->program_id, &policy);
	CheckPointsArg(&policy, a.points);
	ReadBill(fcinfo, 4, 5, &policy, &bill);
	RedeemFindMember(a.prog, a.customer_key, &m);

	balance = LockBalance(m.member_id, a.prog->program_id, &exists);
	if (PriorRedemption(m.member_id, a.prog->program_id, a.source, a.document, a.points,
						&redemption_id, &amount))
	{
		result = RedemptionResult(fcinfo, redemption_id, a.points, amount, true);
		SPI_finish();
		PG_RETURN_DATUM(result);
	}
	CheckMemberActive(&m);
	ComputeQuote(a.prog, &policy, true, balance - HeldPoints(m.member_id, a.prog->program_id, 0),
				 &bill, &q);
	CheckAgainstQuote(&q, a.points);
	if (policy.require_otp)
		RedeemCheckOtp(m.member_id, a.prog->program_id, a.document, a.otp);
	redemption_id = SpendPoints(a.prog, m.member_id, a.source, a.document, a.points, &bill, a.branch, 0);
	result = RedemptionResult(fcinfo, redemption_id, a.points, MoneyOfPoints(a.prog, a.points), false);
	SPI_finish();
	PG_RETURN_DATUM(result);
}

/*
 * SQL: loyalty.hold_lines(program, customer_key, document, points, lines,
 * total, branch, otp, source, minutes)
 */
Datum
redeem_hold_lines(PG_FUNCTION_ARGS)
{
	SpendArgs	a;
	RedeemPolicy policy;
	RedeemMember m;
	RedeemBill bill;
	RedeemQuote q;
	bool		exists;
	Points		balance;
	int64		hold_id;
	int64		prior_id;
	int64		prior_amount;
	int32		minutes;
	Oid			ptype = LoyaltyTypeOid("points");
	Oid			prior_types[4] = {INT8OID, INT8OID, TEXTOID, TEXTOID};
	Oid			types[11] = {INT8OID, INT8OID, INT8OID, TEXTOID, TEXTOID, InvalidOid, NUMERICOID,
	NUMERICOID, TEXTOID, TIMESTAMPTZOID, INT4OID};
	Datum		values[11];
	char		nulls[11];
	TimestampTz now = GetCurrentTransactionStartTimestamp();

	ReadSpendArgs(fcinfo, &a);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	RedeemLoadPolicy(a.prog->program_id, &policy);
	CheckPointsArg(&policy, a.points);
	minutes = PG_ARGISNULL(9) ? policy.hold_minutes : PG_GETARG_INT32(9);
	if (minutes <= 0 || minutes > 7 * 24 * 60)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("a hold lasts from 1 minute to 7 days"),
				 errdetail("%d minutes were asked for.", minutes)));
	ReadBill(fcinfo, 4, 5, &policy, &bill);
	RedeemFindMember(a.prog, a.customer_key, &m);

	balance = LockBalance(m.member_id, a.prog->program_id, &exists);
	LoyaltyPlan(&PriorHoldPlan,
				"SELECT hold_id, points FROM loyalty.redemption_hold WHERE member_id = $1"
				" AND program_id = $2 AND source = $3 AND document = $4",
				4, prior_types);
	values[0] = Int64GetDatum(m.member_id);
	values[1] = Int64GetDatum(a.prog->program_id);
	values[2] = CStringGetTextDatum(a.source);
	values[3] = CStringGetTextDatum(a.document);
	LoyaltyExec(PriorHoldPlan, values, NULL, false, 1);
	if (SPI_processed == 1)
	{
		bool		isnull;
		Points		prior = DatumGetPoints(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2, &isnull));

		hold_id = LoyaltyGetInt64(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, 0);
		if (prior != a.points)
			ereport(ERROR,
					(errcode(ERRCODE_REDEEM_IDEMPOTENCY_CONFLICT),
					 errmsg("bill \"%s\" already holds a different number of points", a.document),
					 errdetail("The first hold was for %s points, this one asks for %s.",
							   PointsToCString(prior), PointsToCString(a.points))));
		SPI_finish();
		PG_RETURN_INT64(hold_id);
	}
	if (PriorRedemption(m.member_id, a.prog->program_id, a.source, a.document, a.points,
						&prior_id, &prior_amount))
		ereport(ERROR,
				(errcode(ERRCODE_REDEEM_IDEMPOTENCY_CONFLICT),
				 errmsg("bill \"%s\" was already paid with points", a.document)));
	CheckMemberActive(&m);
	ComputeQuote(a.prog, &policy, true, balance - HeldPoints(m.member_id, a.prog->program_id, 0),
				 &bill, &q);
	CheckAgainstQuote(&q, a.points);
	if (policy.require_otp)
		RedeemCheckOtp(m.member_id, a.prog->program_id, a.document, a.otp);

	hold_id = LoyaltyGenerateId();
	types[5] = ptype;
	LoyaltyPlan(&InsertHoldPlan,
				"INSERT INTO loyalty.redemption_hold (member_id, hold_id, program_id, source, document,"
				" points, bill_total, eligible_amount, branch, created_at, expires_at)"
				" VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10 + make_interval(mins => $11))",
				11, types);
	memset(nulls, ' ', sizeof(nulls));
	values[0] = Int64GetDatum(m.member_id);
	values[1] = Int64GetDatum(hold_id);
	values[2] = Int64GetDatum(a.prog->program_id);
	values[3] = CStringGetTextDatum(a.source);
	values[4] = CStringGetTextDatum(a.document);
	values[5] = PointsGetDatum(a.points);
	values[6] = NumericGetDatum(MoneyToNumeric(bill.total));
	values[7] = NumericGetDatum(MoneyToNumeric(bill.eligible));
	values[8] = LoyaltyTextOrNull(a.branch, &nulls[8]);
	values[9] = TimestampTzGetDatum(now);
	values[10] = Int32GetDatum(minutes);
	LoyaltyExec(InsertHoldPlan, values, nulls, false, 0);
	SPI_finish();
	PG_RETURN_INT64(hold_id);
}

/* A hold as capture and release see it */
typedef struct HoldRow
{
	int64		member_id;
	int64		program_id;
	char	   *source;
	char	   *document;
	char	   *branch;
	Points		points;
	char	   *status;
	TimestampTz expires_at;
	bool		has_captured;
	Points		captured;
	int64		redemption_id;
	RedeemBill	bill;
} HoldRow;

/* Find a hold's member, lock the balance, then lock and read the hold */
static void
LockHold(int64 hold_id, HoldRow *h)
{
	Oid			types[2] = {INT8OID, INT8OID};
	Datum		values[2];
	HeapTuple	t;
	TupleDesc	d;
	bool		isnull;
	bool		exists;

	LoyaltyPlan(&FindHoldPlan,
				"SELECT member_id, program_id FROM loyalty.redemption_hold WHERE hold_id = $1",
				1, types);
	values[0] = Int64GetDatum(hold_id);
	LoyaltyExec(FindHoldPlan, values, NULL, false, 1);
	if (SPI_processed == 0)
		ereport(ERROR,
				(errcode(ERRCODE_REDEEM_HOLD_NOT_OPEN),
				 errmsg("hold " INT64_FORMAT " does not exist", hold_id)));
	h->member_id = LoyaltyGetInt64(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, 0);
	h->program_id = LoyaltyGetInt64(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2, 0);
	LockBalance(h->member_id, h->program_id, &exists);

	LoyaltyPlan(&LockHoldPlan,
				"SELECT source, document, branch, points, status, expires_at, captured, redemption_id,"
				" bill_total, eligible_amount FROM loyalty.redemption_hold"
				" WHERE member_id = $1 AND hold_id = $2 FOR UPDATE",
				2, types);
	values[0] = Int64GetDatum(h->member_id);
	values[1] = Int64GetDatum(hold_id);
	LoyaltyExec(LockHoldPlan, values, NULL, false, 1);
	if (SPI_processed != 1)
		elog(ERROR, "hold " INT64_FORMAT " vanished", hold_id);
	t = SPI_tuptable->vals[0];
	d = SPI_tuptable->tupdesc;
	h->source = LoyaltyGetText(t, d, 1);
	h->document = LoyaltyGetText(t, d, 2);
	h->branch = LoyaltyGetText(t, d, 3);
	h->points = DatumGetPoints(SPI_getbinval(t, d, 4, &isnull));
	h->status = LoyaltyGetText(t, d, 5);
	h->expires_at = DatumGetTimestampTz(SPI_getbinval(t, d, 6, &isnull));
	h->captured = DatumGetPoints(SPI_getbinval(t, d, 7, &isnull));
	h->has_captured = !isnull;
	h->redemption_id = LoyaltyGetInt64(t, d, 8, 0);
	h->bill.total = MoneyFromNumeric(DatumGetNumeric(SPI_getbinval(t, d, 9, &isnull)), "bill_total");
	h->bill.eligible = MoneyFromNumeric(DatumGetNumeric(SPI_getbinval(t, d, 10, &isnull)), "eligible_amount");
}

/* Close a hold: captured (with points and redemption), released or expired */
static void
CloseHold(const HoldRow *h, int64 hold_id, const char *status, Points captured, int64 redemption_id)
{
	Oid			types[5] = {INT8OID, INT8OID, TEXTOID, InvalidOid, INT8OID};
	Datum		values[5];
	char		nulls[5] = {' ', ' ', ' ', ' ', ' '};

	types[3] = LoyaltyTypeOid("points");
	LoyaltyPlan(&CloseHoldPlan,
				"UPDATE loyalty.redemption_hold SET status = $3, captured = $4, redemption_id = $5,"
				" closed_at = now() WHERE member_id = $1 AND hold_id = $2",
				5, types);
	values[0] = Int64GetDatum(h->member_id);
	values[1] = Int64GetDatum(hold_id);
	values[2] = CStringGetTextDatum(status);
	values[3] = PointsGetDatum(captured);
	nulls[3] = redemption_id ? ' ' : 'n';
	values[4] = Int64GetDatum(redemption_id);
	nulls[4] = redemption_id ? ' ' : 'n';
	LoyaltyExec(CloseHoldPlan, values, nulls, false, 0);
}

/* SQL: loyalty.capture(hold, points) */
Datum
redeem_capture(PG_FUNCTION_ARGS)
{
	int64		hold_id;
	HoldRow		h;
	ProgramConfig *prog;
	RedeemPolicy policy;
	Points		points;
	Points		available;
	bool		exists;
	int64		redemption_id;
	Datum		result;
	TimestampTz now = GetCurrentTransactionStartTimestamp();

	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("hold must not be null")));
	hold_id = PG_GETARG_INT64(0);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	LockHold(hold_id, &h);
	prog = LoyaltyGetProgram(h.program_id);
	RedeemLoadPolicy(prog->program_id, &policy);
	points = PG_ARGISNULL(1) ? h.points : PG_GETARG_POINTS(1);

	if (strcmp(h.status, "captured") == 0)
	{
		if (points != h.captured && !PG_ARGISNULL(1))
			ereport(ERROR,
					(errcode(ERRCODE_REDEEM_IDEMPOTENCY_CONFLICT),
					 errmsg("hold for bill \"%s\" was already captured with a different number of points", h.document),
					 errdetail("The first capture spent %s points, this one asks for %s.",
							   PointsToCString(h.captured), PointsToCString(points))));
		result = RedemptionResult(fcinfo, h.redemption_id, h.captured, MoneyOfPoints(prog, h.captured), true);
		SPI_finish();
		PG_RETURN_DATUM(result);
	}
	if (strcmp(h.status, "open") != 0 || h.expires_at <= now)
		ereport(ERROR,
				(errcode(ERRCODE_REDEEM_HOLD_NOT_OPEN),
				 errmsg("hold for bill \"%s\" is %s", h.document,
						strcmp(h.status, "open") == 0 ? "expired" : h.status),
				 errhint("Hold the points again, or redeem them directly.")));
	CheckPointsArg(&policy, points);
	if (points > h.points)
		ereport(ERROR,
				(errcode(ERRCODE_REDEEM_EXCEEDS_HOLD),
				 errmsg("capture exceeds the hold"),
				 errdetail("The hold reserved %s points, %s were asked for.",
						   PointsToCString(h.points), PointsToCString(points))));
	available = LockBalance(h.member_id, h.program_id, &exists) -
		HeldPoints(h.member_id, h.program_id, hold_id);
	if (points > available)
		ereport(ERROR,
				(errcode(ERRCODE_REDEEM_INSUFFICIENT_POINTS),
				 errmsg("not enough points"),
				 errdetail("%s points are available, %s were asked for; points expired or were taken back since the hold.",
						   PointsToCString(available), PointsToCString(points))));
	redemption_id = SpendPoints(prog, h.member_id, h.source, h.document, points, &h.bill, h.branch, hold_id);
	CloseHold(&h, hold_id, "captured", points, redemption_id);
	result = RedemptionResult(fcinfo, redemption_id, points, MoneyOfPoints(prog, points), false);
	SPI_finish();
	PG_RETURN_DATUM(result);
}

/* SQL: loyalty.release(hold) */
Datum
redeem_release(PG_FUNCTION_ARGS)
{
	int64		hold_id = PG_GETARG_INT64(0);
	HoldRow		h;

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	LockHold(hold_id, &h);
	if (strcmp(h.status, "captured") == 0)
		ereport(ERROR,
				(errcode(ERRCODE_REDEEM_HOLD_NOT_OPEN),
				 errmsg("hold for bill \"%s\" was captured", h.document),
				 errhint("Give the points back with loyalty.refund_redemption().")));
	if (strcmp(h.status, "open") == 0)
		CloseHold(&h, hold_id,
				  h.expires_at <= GetCurrentTransactionStartTimestamp() ? "expired" : "released", 0, 0);
	SPI_finish();
	PG_RETURN_BOOL(true);
}

/* Give one redemption's points back, under the balance lock; returns points restored now */
static Points
RefundOne(int64 member_id, int64 program_id, int64 redemption_id, const char *source,
		  const char *document)
{
	Oid			pt = LoyaltyTypeOid("points");
	Oid			types[2] = {INT8OID, INT8OID};
	Oid			lot_types[4] = {INT8OID, INT8OID, INT8OID, InvalidOid};
	Oid			mark_types[5] = {INT8OID, INT8OID, INT8OID, InvalidOid, TIMESTAMPTZOID};
	Datum		values[5];
	HeapTuple	t;
	TupleDesc	d;
	bool		isnull;
	bool		exists;
	Points		balance;
	Points		points;
	Points		to_lots;
	Points		given = 0;
	SPITupleTable *lots;
	uint64		nlots;
	uint64		i;
	LedgerEntry e;

	balance = LockBalance(member_id, program_id, &exists);
	LoyaltyPlan(&LockRedemptionPlan,
				"SELECT status, points FROM loyalty.redemption WHERE member_id = $1 AND redemption_id = $2 FOR UPDATE",
				2, types);
	values[0] = Int64GetDatum(member_id);
	values[1] = Int64GetDatum(redemption_id);
	LoyaltyExec(LockRedemptionPlan, values, NULL, false, 1);
	t = SPI_tuptable->vals[0];
	d = SPI_tuptable->tupdesc;
	if (strcmp(LoyaltyGetText(t, d, 1), "refunded") == 0)
		return 0;
	points = DatumGetPoints(SPI_getbinval(t, d, 2, &isnull));

	/* lots hold greatest(balance, 0): a negative balance absorbs part of the refund */
	to_lots = Max(balance + points, 0) - Max(balance, 0);
	LoyaltyPlan(&RestoreLotsPlan,
				"SELECT r.lot_id, r.points FROM loyalty.redemption_lot r JOIN loyalty.lot l"
				" ON l.member_id = r.member_id AND l.lot_id = r.lot_id"
				" WHERE r.member_id = $1 AND r.redemption_id = $2"
				" ORDER BY l.expires_at DESC NULLS FIRST, r.lot_id DESC FOR UPDATE OF l",
				2, types);
	LoyaltyExec(RestoreLotsPlan, values, NULL, false, 0);
	lots = SPI_tuptable;
	nlots = SPI_processed;
	lot_types[3] = pt;
	LoyaltyPlan(&RestoreLotPlan,
				"WITH l AS (UPDATE loyalty.lot SET remaining = remaining OPERATOR(loyalty.+) $4"
				" WHERE member_id = $1 AND lot_id = $3)"
				" UPDATE loyalty.redemption_lot SET restored = $4"
				" WHERE member_id = $1 AND redemption_id = $2 AND lot_id = $3",
				4, lot_types);
	for (i = 0; i < nlots && to_lots > 0; i++)
	{
		int64		lot_id = DatumGetInt64(SPI_getbinval(lots->vals[i], lots->tupdesc, 1, &isnull));
		Points		taken = DatumGetPoints(SPI_getbinval(lots->vals[i], lots->tupdesc, 2, &isnull));
		Points		give = Min(taken, to_lots);
		Datum		v[4];

		v[0] = Int64GetDatum(member_id);
		v[1] = Int64GetDatum(redemption_id);
		v[2] = Int64GetDatum(lot_id);
		v[3] = PointsGetDatum(give);
		LoyaltyExec(RestoreLotPlan, v, NULL, false, 0);
		to_lots -= give;
		given += give;
	}

	memset(&e, 0, sizeof(e));
	e.member_id = member_id;
	e.entry_id = LoyaltyGenerateId();
	e.program_id = program_id;
	e.kind = "restore";
	e.amount = points;
	e.source = source;
	e.document = document;
	e.ref_document = document;
	e.created_at = GetCurrentTransactionStartTimestamp();
	e.note = "refund of a bill paid with points";
	LedgerInsertEntry(&e);
	MoveBalance(member_id, program_id, points);

	mark_types[3] = pt;
	LoyaltyPlan(&MarkRefundedPlan,
				"UPDATE loyalty.redemption SET status = 'refunded', refunded_at = $5, restore_entry_id = $3,"
				" restored = $4 WHERE member_id = $1 AND redemption_id = $2",
				5, mark_types);
	values[0] = Int64GetDatum(member_id);
	values[1] = Int64GetDatum(redemption_id);
	values[2] = Int64GetDatum(e.entry_id);
	values[3] = PointsGetDatum(given);
	values[4] = TimestampTzGetDatum(e.created_at);
	LoyaltyExec(MarkRefundedPlan, values, NULL, false, 0);
	return points;
}

/* SQL: loyalty.refund_redemption(program, document, source) */
Datum
redeem_refund(PG_FUNCTION_ARGS)
{
	ProgramConfig *prog = LoyaltyGetProgramByCode(RequiredText(fcinfo, 0, "program"));
	char	   *document = RequiredText(fcinfo, 1, "document");
	char	   *source = PG_ARGISNULL(2) ? "pos" : text_to_cstring(PG_GETARG_TEXT_PP(2));
	Oid			types[3] = {INT8OID, TEXTOID, TEXTOID};
	Datum		values[3];
	SPITupleTable *found;
	uint64		nfound;
	uint64		i;
	Points		restored = 0;

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	values[0] = Int64GetDatum(prog->program_id);
	values[1] = CStringGetTextDatum(source);
	values[2] = CStringGetTextDatum(document);

	/* an open hold for the bill is released: the bill will not be paid */
	LoyaltyPlan(&ReleaseDocHoldPlan,
				"UPDATE loyalty.redemption_hold SET status = 'released', closed_at = now()"
				" WHERE program_id = $1 AND source = $2 AND document = $3 AND status = 'open'"
				" RETURNING member_id",
				3, types);
	LoyaltyPlan(&FindRedemptionsPlan,
				"SELECT member_id, redemption_id FROM loyalty.redemption"
				" WHERE program_id = $1 AND source = $2 AND document = $3 ORDER BY member_id",
				3, types);
	LoyaltyExec(FindRedemptionsPlan, values, NULL, false, 0);
	found = SPI_tuptable;
	nfound = SPI_processed;
	for (i = 0; i < nfound; i++)
	{
		int64		member_id = LoyaltyGetInt64(found->vals[i], found->tupdesc, 1, 0);
		int64		redemption_id = LoyaltyGetInt64(found->vals[i], found->tupdesc, 2, 0);

		restored += RefundOne(member_id, prog->program_id, redemption_id, source, document);
	}
	if (nfound == 0)
	{
		LoyaltyExec(ReleaseDocHoldPlan, values, NULL, false, 0);
		if (SPI_processed == 0)
			ereport(ERROR,
					(errcode(ERRCODE_REDEEM_NOT_FOUND),
					 errmsg("bill \"%s\" was not paid with points in loyalty program \"%s\"",
							document, prog->code)));
	}
	SPI_finish();
	PG_RETURN_POINTS(restored);
}
