/*
 * returns.c
 *		Returns and cancellations take back what an order earned, in
 *		proportion to what came back, and never more than it earned.
 *
 * Every take-back is computed cumulatively: after a return the order (or
 * line) has given back round(points * returned / bought), so several partial
 * returns add up exactly to the points earned when everything came back.
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "funcapi.h"
#include "lib/stringinfo.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/numeric.h"

#include "accrual.h"
#include "arith.h"
#include "errcodes.h"
#include "ledger.h"
#include "money.h"
#include "rules.h"
#include "spi_util.h"

PG_FUNCTION_INFO_V1(return_order_lines);

/* One returned line: which line and how much of it (thousandths) */
typedef struct ReturnLine
{
	int32		line_no;
	int64		quantity;
} ReturnLine;

/* A locked order as returns see it */
typedef struct LockedOrder
{
	int64		member_id;
	int64		amount;
	Points		points;
	int64		returned_amount;
	Points		reversed_points;
	int64		entry_id;
} LockedOrder;

static SPIPlanPtr LockOrderPlan = NULL;
static SPIPlanPtr PriorReturnPlan = NULL;
static SPIPlanPtr LockLinePlan = NULL;
static SPIPlanPtr UpdateLinePlan = NULL;
static SPIPlanPtr OpenLinesPlan = NULL;
static SPIPlanPtr ReturnAllLinesPlan = NULL;
static SPIPlanPtr UpdateOrderPlan = NULL;
static SPIPlanPtr InsertReturnPlan = NULL;
static SPIPlanPtr ReturnModesPlan = NULL;

/*
 * An order is returned either by lines or by amounts: mixing them would let
 * goods come back twice.  Refuse a return of the other kind.
 */
static void
CheckReturnMode(int64 program_id, const char *source, const char *document,
				const LockedOrder *o, bool by_lines)
{
	Oid			types[4] = {INT8OID, INT8OID, TEXTOID, TEXTOID};
	Datum		values[4];
	bool		isnull;
	Datum		other;

	LoyaltyPlan(&ReturnModesPlan,
				"SELECT coalesce(bool_or(digest LIKE 'lines%'), false), "
				"coalesce(bool_or(digest LIKE 'amount%'), false) FROM loyalty.member_return "
				"WHERE member_id = $1 AND program_id = $2 AND source = $3 AND document = $4",
				4, types);
	values[0] = Int64GetDatum(o->member_id);
	values[1] = Int64GetDatum(program_id);
	values[2] = CStringGetTextDatum(source);
	values[3] = CStringGetTextDatum(document);
	LoyaltyExec(ReturnModesPlan, values, NULL, false, 1);
	other = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, by_lines ? 2 : 1, &isnull);
	if (DatumGetBool(other))
		ereport(ERROR,
				(errcode(ERRCODE_LOYALTY_RETURN_EXCEEDS_ORDER),
				 errmsg("order \"%s\" was already returned by %s", document, by_lines ? "amount" : "lines"),
				 errhint("Keep returning this order the same way, or cancel what is left of it.")));
}

/* round(total * part / whole) half away from zero, exact; all of it once part reaches whole */
static Points
Proportion(Points total, int64 part, int64 whole)
{
	if (whole <= 0 || part >= whole)
		return total;
	return (Points) LoyaltyDivRound((int128) total * part, whole);
}

/* A numeric SPI column in hundredths or thousandths */
static int64
ScaledColumn(HeapTuple t, TupleDesc d, int attno, int digits)
{
	bool		isnull;
	Datum		v = SPI_getbinval(t, d, attno, &isnull);

	return isnull ? 0 : ScaledFromNumeric(DatumGetNumeric(v), digits, SPI_fname(d, attno));
}

/* A points SPI column */
static Points
PointsColumn(HeapTuple t, TupleDesc d, int attno)
{
	bool		isnull;
	Datum		v = SPI_getbinval(t, d, attno, &isnull);

	return isnull ? 0 : DatumGetPoints(v);
}

/* Lock the order being returned; false when it earned nothing (guest, unknown) */
static bool
LockOrder(int64 program_id, const char *source, const char *document, LockedOrder *o)
{
	Oid			types[3] = {INT8OID, TEXTOID, TEXTOID};
	Datum		values[3];
	HeapTuple	t;
	TupleDesc	d;

	LoyaltyPlan(&LockOrderPlan,
				"SELECT member_id, amount, points, returned_amount, reversed_points, entry_id "
				"FROM loyalty.member_order WHERE program_id = $1 AND source = $2 AND document = $3 "
				"FOR UPDATE",
				3, types);
	values[0] = Int64GetDatum(program_id);
	values[1] = CStringGetTextDatum(source);
	values[2] = CStringGetTextDatum(document);
	LoyaltyExec(LockOrderPlan, values, NULL, false, 1);
	if (SPI_processed == 0)
		return false;
	t = SPI_tuptable->vals[0];
	d = SPI_tuptable->tupdesc;
	o->member_id = LoyaltyGetInt64(t, d, 1, 0);
	o->amount = ScaledColumn(t, d, 2, 2);
	o->points = PointsColumn(t, d, 3);
	o->returned_amount = ScaledColumn(t, d, 4, 2);
	o->reversed_points = PointsColumn(t, d, 5);
	o->entry_id = LoyaltyGetInt64(t, d, 6, 0);
	return true;
}

/* A retried return: same content gives the first result, different is an error */
static bool
PriorReturn(int64 program_id, const LockedOrder *o, const char *source, const char *return_document,
			const char *document, const char *digest, Points *taken)
{
	Oid			types[4] = {INT8OID, INT8OID, TEXTOID, TEXTOID};
	Datum		values[4];
	HeapTuple	t;
	TupleDesc	d;

	LoyaltyPlan(&PriorReturnPlan,
				"SELECT document, digest, taken FROM loyalty.member_return "
				"WHERE member_id = $1 AND program_id = $2 AND source = $3 AND return_document = $4",
				4, types);
	values[0] = Int64GetDatum(o->member_id);
	values[1] = Int64GetDatum(program_id);
	values[2] = CStringGetTextDatum(source);
	values[3] = CStringGetTextDatum(return_document);
	/* not read-only: a fresh snapshot sees a return committed while we waited for the lock */
	LoyaltyExec(PriorReturnPlan, values, NULL, false, 1);
	if (SPI_processed == 0)
		return false;
	t = SPI_tuptable->vals[0];
	d = SPI_tuptable->tupdesc;
	if (strcmp(SPI_getvalue(t, d, 1), document) != 0 || strcmp(SPI_getvalue(t, d, 2), digest) != 0)
		ereport(ERROR,
				(errcode(ERRCODE_LOYALTY_IDEMPOTENCY_CONFLICT),
				 errmsg("return \"%s\" was already recorded with different content", return_document),
				 errdetail("The first return was \"%s\" of order \"%s\"; this one is \"%s\" of order \"%s\".",
						   SPI_getvalue(t, d, 2), SPI_getvalue(t, d, 1), digest, document)));
	*taken = PointsColumn(t, d, 3);
	return true;
}

/* Take back the points of some returned lines; returns the points due */
static Points
ReturnLines(int64 program_id, const char *source, const char *document, const LockedOrder *o,
			const ReturnLine *lines, int nlines, int64 *returned_amount, bool *all_back)
{
	Oid			lock_types[5] = {INT8OID, INT8OID, TEXTOID, TEXTOID, INT4OID};
	Oid			upd_types[7] = {INT8OID, INT8OID, TEXTOID, TEXTOID, INT4OID, NUMERICOID, InvalidOid};
	Points		due = 0;
	int			i;

	LoyaltyPlan(&LockLinePlan,
				"SELECT x.p, o.line_quantities[x.p], o.line_amounts[x.p], o.line_points[x.p], "
				"o.line_returned[x.p], o.line_reversed[x.p] FROM loyalty.member_order o, "
				"LATERAL (SELECT array_position(o.line_nos, $5) AS p) x "
				"WHERE o.member_id = $1 AND o.program_id = $2 AND o.source = $3 AND o.document = $4 "
				"AND x.p IS NOT NULL",
				5, lock_types);
	upd_types[6] = LoyaltyTypeOid("points");
	LoyaltyPlan(&UpdateLinePlan,
				"UPDATE loyalty.member_order SET line_returned[$5] = line_returned[$5] + $6, "
				"line_reversed[$5] = line_reversed[$5] OPERATOR(loyalty.+) $7 WHERE member_id = $1 "
				"AND program_id = $2 AND source = $3 AND document = $4",
				7, upd_types);
	for (i = 0; i < nlines; i++)
	{
		Datum		values[7];
		HeapTuple	t;
		TupleDesc	d;
		int32		position;
		int64		bought;
		int64		line_amount;
		Points		line_points;
		int64		before;
		Points		reversed;
		Points		target;

		values[0] = Int64GetDatum(o->member_id);
		values[1] = Int64GetDatum(program_id);
		values[2] = CStringGetTextDatum(source);
		values[3] = CStringGetTextDatum(document);
		values[4] = Int32GetDatum(lines[i].line_no);
		LoyaltyExec(LockLinePlan, values, NULL, false, 1);
		if (SPI_processed == 0)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("order \"%s\" has no line %d", document, lines[i].line_no)));
		t = SPI_tuptable->vals[0];
		d = SPI_tuptable->tupdesc;
		position = (int32) LoyaltyGetInt64(t, d, 1, 0);
		bought = ScaledColumn(t, d, 2, 3);
		line_amount = ScaledColumn(t, d, 3, 2);
		line_points = PointsColumn(t, d, 4);
		before = ScaledColumn(t, d, 5, 3);
		reversed = PointsColumn(t, d, 6);
		if (lines[i].quantity <= 0 || before + lines[i].quantity > bought)
			ereport(ERROR,
					(errcode(ERRCODE_LOYALTY_RETURN_EXCEEDS_ORDER),
					 errmsg("line %d of order \"%s\" cannot take a return of that quantity",
							lines[i].line_no, document),
					 errdetail("The line had " INT64_FORMAT ".%03d units, of which " INT64_FORMAT ".%03d were already returned.",
							   bought / 1000, (int) (bought % 1000), before / 1000, (int) (before % 1000))));
		target = Proportion(line_points, before + lines[i].quantity, bought);
		due += target - reversed;
		*returned_amount += (int64) (((int128) line_amount * lines[i].quantity + bought / 2) / bought);
		values[5] = DirectFunctionCall2(numeric_round,
										DirectFunctionCall2(numeric_div,
															DirectFunctionCall1(int8_numeric, Int64GetDatum(lines[i].quantity)),
															DirectFunctionCall1(int8_numeric, Int64GetDatum(1000))),
										Int32GetDatum(3));
		values[6] = PointsGetDatum(target - reversed);
		values[4] = Int32GetDatum(position);
		LoyaltyExec(UpdateLinePlan, values, NULL, false, 0);
	}

	/* When every line is back, the visit points go back too */
	{
		Oid			types[4] = {INT8OID, INT8OID, TEXTOID, TEXTOID};
		Datum		values[4];

		LoyaltyPlan(&OpenLinesPlan,
					"SELECT count(*) FROM loyalty.member_order o, "
					"unnest(o.line_quantities, o.line_returned) AS u(quantity, returned) "
					"WHERE o.member_id = $1 AND o.program_id = $2 AND o.source = $3 "
					"AND o.document = $4 AND u.returned < u.quantity",
					4, types);
		values[0] = Int64GetDatum(o->member_id);
		values[1] = Int64GetDatum(program_id);
		values[2] = CStringGetTextDatum(source);
		values[3] = CStringGetTextDatum(document);
		LoyaltyExec(OpenLinesPlan, values, NULL, false, 1);
		*all_back = LoyaltyGetInt64(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, 0) == 0;
	}
	if (*all_back)
		due = o->points - o->reversed_points;
	return due;
}

/* Mark every line of an order fully returned (whole-order cancellation) */
static void
ReturnAllLines(int64 program_id, const char *source, const char *document, int64 member_id)
{
	Oid			types[4] = {INT8OID, INT8OID, TEXTOID, TEXTOID};
	Datum		values[4];

	LoyaltyPlan(&ReturnAllLinesPlan,
				"UPDATE loyalty.member_order SET line_returned = line_quantities, "
				"line_reversed = line_points WHERE member_id = $1 AND program_id = $2 "
				"AND source = $3 AND document = $4",
				4, types);
	values[0] = Int64GetDatum(member_id);
	values[1] = Int64GetDatum(program_id);
	values[2] = CStringGetTextDatum(source);
	values[3] = CStringGetTextDatum(document);
	LoyaltyExec(ReturnAllLinesPlan, values, NULL, false, 0);
}

/* Record the order's new totals and the return itself */
static void
RecordReturn(int64 program_id, const char *source, const char *document, const char *return_document,
			 const LockedOrder *o, int64 returned_amount, Points due, Points taken,
			 const char *status, const char *digest)
{
	Oid			points_type = LoyaltyTypeOid("points");
	Oid			order_types[7] = {INT8OID, INT8OID, TEXTOID, TEXTOID, NUMERICOID, InvalidOid, TEXTOID};
	Oid			ret_types[8] = {INT8OID, INT8OID, TEXTOID, TEXTOID, TEXTOID, TEXTOID, InvalidOid, InvalidOid};
	Datum		values[8];

	order_types[5] = points_type;
	ret_types[6] = ret_types[7] = points_type;
	LoyaltyPlan(&UpdateOrderPlan,
				"UPDATE loyalty.member_order SET returned_amount = $5, "
				"reversed_points = reversed_points OPERATOR(loyalty.+) $6, status = $7 "
				"WHERE member_id = $1 AND program_id = $2 AND source = $3 AND document = $4",
				7, order_types);
	LoyaltyPlan(&InsertReturnPlan,
				"INSERT INTO loyalty.member_return (member_id, program_id, source, return_document, "
				"document, digest, due, taken) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
				8, ret_types);
	values[0] = Int64GetDatum(o->member_id);
	values[1] = Int64GetDatum(program_id);
	values[2] = CStringGetTextDatum(source);
	values[3] = CStringGetTextDatum(document);
	values[4] = NumericGetDatum(MoneyToNumeric(returned_amount));
	values[5] = PointsGetDatum(due);
	values[6] = CStringGetTextDatum(status);
	LoyaltyExec(UpdateOrderPlan, values, NULL, false, 0);

	values[3] = CStringGetTextDatum(return_document);
	values[4] = CStringGetTextDatum(document);
	values[5] = CStringGetTextDatum(digest);
	values[6] = PointsGetDatum(due);
	values[7] = PointsGetDatum(taken);
	LoyaltyExec(InsertReturnPlan, values, NULL, false, 0);
}

/*
 * Take back the points of a return: whole order, some lines, or an amount.
 * Returns the points taken from the member.  Caller is connected to SPI.
 */
static Points
ProcessReturn(const ProgramConfig *prog, const char *source, const char *document,
			  const char *return_document, const ReturnLine *lines, int nlines,
			  bool has_amount, int64 amount, const char *branch, const char *digest,
			  const char *whole_status, bool tell_unknown)
{
	LockedOrder o;
	Points		taken = 0;
	Points		due;
	Points		unrecovered = 0;
	int64		returned_amount;
	bool		all_back = false;

	if (!LockOrder(prog->program_id, source, document, &o))
	{
		if (tell_unknown)
			ereport(NOTICE,
					(errmsg("order \"%s\" from source \"%s\" earned no points, so the return takes none back",
							document, source),
					 errdetail("No member's order with that document id was found; it was a guest's, or the id is mistyped.")));
		return 0;
	}
	if (PriorReturn(prog->program_id, &o, source, return_document, document, digest, &taken))
		return taken;

	if (nlines > 0 || has_amount)
		CheckReturnMode(prog->program_id, source, document, &o, nlines > 0);
	if (nlines > 0)
	{
		returned_amount = o.returned_amount;
		due = ReturnLines(prog->program_id, source, document, &o, lines, nlines, &returned_amount, &all_back);
		if (all_back)
			returned_amount = o.amount;
	}
	else if (has_amount)
	{
		if (amount <= 0 || o.returned_amount + amount > o.amount)
			ereport(ERROR,
					(errcode(ERRCODE_LOYALTY_RETURN_EXCEEDS_ORDER),
					 errmsg("order \"%s\" cannot take a return of that amount", document),
					 errdetail("The order was for %s, of which %s was already returned.",
							   numeric_normalize(MoneyToNumeric(o.amount)),
							   numeric_normalize(MoneyToNumeric(o.returned_amount)))));
		returned_amount = o.returned_amount + amount;
		due = Proportion(o.points, returned_amount, o.amount) - o.reversed_points;
		all_back = returned_amount == o.amount;
	}
	else
	{
		returned_amount = o.amount;
		due = o.points - o.reversed_points;
		all_back = true;
		ReturnAllLines(prog->program_id, source, document, o.member_id);
	}

	/* Never more than the order earned */
	due = Max(0, Min(due, o.points - o.reversed_points));
	if (due > 0)
		taken = LedgerTakeBack(o.member_id, prog->program_id, "reverse", source, return_document,
							   document, branch, NULL, due, o.entry_id, prog->cap_at_balance,
							   &unrecovered);
	RecordReturn(prog->program_id, source, document, return_document, &o, returned_amount, due,
				 taken, all_back ? whole_status : "open", digest);
	return taken;
}

/* Read loyalty.return_line[] (line_no, quantity) */
static ReturnLine *
ReadReturnLines(ArrayType *arr, int *n, StringInfo digest)
{
	Datum	   *elems;
	bool	   *nulls;
	int			count;
	int			i;
	ReturnLine *lines;

	deconstruct_array(arr, ARR_ELEMTYPE(arr), -1, false, TYPALIGN_DOUBLE, &elems, &nulls, &count);
	lines = palloc0(sizeof(ReturnLine) * Max(count, 1));
	*n = 0;
	appendStringInfoString(digest, "lines");
	for (i = 0; i < count; i++)
	{
		HeapTupleHeader row;
		bool		isnull1;
		bool		isnull2;
		Datum		no;
		Datum		qty;

		if (nulls[i])
			continue;
		row = DatumGetHeapTupleHeader(elems[i]);
		no = GetAttributeByNum(row, 1, &isnull1);
		qty = GetAttributeByNum(row, 2, &isnull2);
		if (isnull1)
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("a returned line needs its line number")));
		lines[*n].line_no = DatumGetInt32(no);
		lines[*n].quantity = isnull2 ? 1000 : ScaledFromNumeric(DatumGetNumeric(qty), 3, "quantity");
		appendStringInfo(digest, " %d:" INT64_FORMAT, lines[*n].line_no, lines[*n].quantity);
		(*n)++;
	}
	return lines;
}

/*
 * SQL: loyalty.return_order_lines(program, document, return_document, lines,
 * amount, source, branch) -> points taken back
 */
Datum
return_order_lines(PG_FUNCTION_ARGS)
{
	ProgramConfig *prog;
	const char *document;
	const char *return_document;
	const char *source;
	const char *branch;
	ReturnLine *lines = NULL;
	int			nlines = 0;
	int64		amount = 0;
	StringInfoData digest;
	Points		taken;

	if (PG_ARGISNULL(0) || PG_ARGISNULL(1) || PG_ARGISNULL(2))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("program, document and return document must not be null")));
	if (!PG_ARGISNULL(3) && !PG_ARGISNULL(4))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("a return names either lines or an amount, not both")));
	prog = LoyaltyGetProgramByCode(text_to_cstring(PG_GETARG_TEXT_PP(0)));
	document = text_to_cstring(PG_GETARG_TEXT_PP(1));
	return_document = text_to_cstring(PG_GETARG_TEXT_PP(2));
	source = PG_ARGISNULL(5) ? "pos" : text_to_cstring(PG_GETARG_TEXT_PP(5));
	branch = PG_ARGISNULL(6) ? NULL : text_to_cstring(PG_GETARG_TEXT_PP(6));
	initStringInfo(&digest);
	if (!PG_ARGISNULL(3))
	{
		lines = ReadReturnLines(PG_GETARG_ARRAYTYPE_P(3), &nlines, &digest);
		if (nlines == 0)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("a return by lines needs at least one line")));
	}
	else if (!PG_ARGISNULL(4))
	{
		amount = MoneyFromNumeric(PG_GETARG_NUMERIC(4), "amount");
		appendStringInfo(&digest, "amount " INT64_FORMAT, amount);
	}
	else
		appendStringInfoString(&digest, "whole order");

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	taken = ProcessReturn(prog, source, document, return_document, lines, nlines,
						  !PG_ARGISNULL(4), amount, branch, digest.data,
						  strcmp(document, return_document) == 0 ? "cancelled" : "returned", true);
	SPI_finish();
	PG_RETURN_POINTS(taken);
}

/* Take back everything an order earned (cancelled or deleted); idempotent */
Points
ReverseWholeOrder(int64 program_id, const char *source, const char *document, const char *reason)
{
	ProgramConfig *prog = LoyaltyGetProgram(program_id);
	Points		taken;

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	taken = ProcessReturn(prog, source, document, document, NULL, 0, false, 0, NULL,
						  "whole order", "cancelled", false);
	SPI_finish();
	return taken;
}
