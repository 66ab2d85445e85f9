/*
 * intake.c
 *		The extension's own order intake for POS systems written against
 *		pg_loyalty: loyalty.record_order_lines() and loyalty.explain_accrual_lines().
 */
#include "postgres.h"

#include "common/int.h"

#include "access/htup_details.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/timestamp.h"
#include "utils/tuplestore.h"

#include "accrual.h"
#include "accrual_engine.h"
#include "guc.h"
#include "money.h"
#include "rules.h"
#include "spi_util.h"

PG_FUNCTION_INFO_V1(record_order_lines);
PG_FUNCTION_INFO_V1(explain_accrual_lines);

/* Marks a line number the caller left out */
#define NO_VALUE PG_INT64_MIN

/* A numeric attribute of an order line composite in hundredths (or thousandths) */
static int64
LineNumber(HeapTupleHeader row, int attno, int digits, int64 when_null, const char *what)
{
	bool		isnull;
	Datum		d = GetAttributeByNum(row, attno, &isnull);

	if (isnull)
		return when_null;
	return ScaledFromNumeric(DatumGetNumeric(d), digits, what);
}

/* A text attribute of an order line composite */
static char *
LineText(HeapTupleHeader row, int attno)
{
	bool		isnull;
	Datum		d = GetAttributeByNum(row, attno, &isnull);

	return isnull ? NULL : TextDatumGetCString(d);
}

/* A line's computed amount or price as int64 hundredths, failing when out of range */
static int64
LineInt64(int128 value, int line_no, const char *what)
{
	if (value > PG_INT64_MAX || value < PG_INT64_MIN)
		ereport(ERROR,
				(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
				 errmsg("%s of line %d is out of range", what, line_no),
				 errdetail("Amounts are kept as 64-bit integers of hundredths.")));
	return (int64) value;
}

/*
 * Read loyalty.order_line[] into AccrualLines.  The composite is
 * (line_no, sku, item_group, quantity, price, discount, amount, is_service);
 * quantity defaults to 1, discount to 0, amount to quantity * price - discount.
 */
static void
ReadLines(ArrayType *arr, AccrualOrder *order)
{
	Datum	   *elems;
	bool	   *nulls;
	int			n;
	int			i;

	deconstruct_array(arr, ARR_ELEMTYPE(arr), -1, false, TYPALIGN_DOUBLE, &elems, &nulls, &n);
	order->lines = palloc0(sizeof(AccrualLine) * Max(n, 1));
	order->nlines = 0;
	for (i = 0; i < n; i++)
	{
		HeapTupleHeader row;
		AccrualLine *l;
		bool		isnull;
		Datum		d;

		if (nulls[i])
			continue;
		row = DatumGetHeapTupleHeader(elems[i]);
		l = &order->lines[order->nlines++];
		d = GetAttributeByNum(row, 1, &isnull);
		l->line_no = isnull ? order->nlines : DatumGetInt32(d);
		l->sku = LineText(row, 2);
		l->item_group = LineText(row, 3);
		l->quantity = LineNumber(row, 4, 3, 1000, "quantity");
		l->unit_price = LineNumber(row, 5, 2, NO_VALUE, "price");
		l->discount = LineNumber(row, 6, 2, 0, "discount");
		l->amount = LineNumber(row, 7, 2, NO_VALUE, "amount");
		d = GetAttributeByNum(row, 8, &isnull);
		l->is_service = !isnull && DatumGetBool(d);
		if (l->amount == NO_VALUE && l->unit_price != NO_VALUE)
			l->amount = LineInt64(((int128) l->unit_price * l->quantity + 500) / 1000 - l->discount,
								  l->line_no, "amount");
		if (l->unit_price == NO_VALUE && l->amount != NO_VALUE)
			l->unit_price = l->quantity > 0 ?
				LineInt64(((int128) l->amount + l->discount) * 1000 / l->quantity, l->line_no, "price") : 0;
		if (l->amount == NO_VALUE || l->unit_price == NO_VALUE)
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("line %d has neither a price nor an amount", l->line_no)));
	}
}

/* Fill an AccrualOrder from the common arguments of the intake functions */
static void
OrderFromArgs(FunctionCallInfo fcinfo, int first, AccrualOrder *order)
{
	/* args from first: lines, total, branch, channel, ordered_at, source, bill_discount, paid_with_points, card_no */
	int64		sum = 0;
	int			i;

	if (!PG_ARGISNULL(first))
		ReadLines(PG_GETARG_ARRAYTYPE_P(first), order);
	order->bill_discount = PG_ARGISNULL(first + 6) ? 0 :
		MoneyFromNumeric(PG_GETARG_NUMERIC(first + 6), "bill_discount");
	order->paid_with_points = PG_ARGISNULL(first + 7) ? 0 :
		MoneyFromNumeric(PG_GETARG_NUMERIC(first + 7), "paid_with_points");
	for (i = 0; i < order->nlines; i++)
		if (pg_add_s64_overflow(sum, order->lines[i].amount, &sum))
			ereport(ERROR,
					(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
					 errmsg("total of the order's lines is out of range")));
	if (!PG_ARGISNULL(first + 1))
		order->total = MoneyFromNumeric(PG_GETARG_NUMERIC(first + 1), "total");
	else if (pg_sub_s64_overflow(sum, order->bill_discount, &order->total))
		ereport(ERROR,
				(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
				 errmsg("total of the order is out of range")));
	order->branch = PG_ARGISNULL(first + 2) ? NULL : text_to_cstring(PG_GETARG_TEXT_PP(first + 2));
	order->channel = PG_ARGISNULL(first + 3) ? NULL : text_to_cstring(PG_GETARG_TEXT_PP(first + 3));
	order->ordered_at = PG_ARGISNULL(first + 4) ? GetCurrentTransactionStartTimestamp() :
		PG_GETARG_TIMESTAMPTZ(first + 4);
	order->source = PG_ARGISNULL(first + 5) ? "pos" : text_to_cstring(PG_GETARG_TEXT_PP(first + 5));
	order->card_no = PG_ARGISNULL(first + 8) ? NULL : text_to_cstring(PG_GETARG_TEXT_PP(first + 8));

	/* An order without lines earns on its total as one line of all goods */
	if (order->nlines == 0)
	{
		order->lines = palloc0(sizeof(AccrualLine));
		order->nlines = 1;
		order->lines[0].line_no = 1;
		order->lines[0].quantity = 1000;
		order->lines[0].unit_price = order->total;
		order->lines[0].amount = order->total;
	}
}

/*
 * SQL: loyalty.record_order_lines(program, customer_key, document, lines,
 * total, branch, channel, ordered_at, source, bill_discount,
 * paid_with_points, card_no) -> (member_id, points, entry_id, replayed)
 */
Datum
record_order_lines(PG_FUNCTION_ARGS)
{
	AccrualOrder order;
	AccrualResult result;
	TupleDesc	tupdesc;
	Datum		values[4];
	bool		nulls[4] = {false, false, false, false};

	if (PG_ARGISNULL(0) || PG_ARGISNULL(2))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("program and document must not be null")));
	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");
	memset(&order, 0, sizeof(order));
	order.program_id = LoyaltyProgramIdByCode(text_to_cstring(PG_GETARG_TEXT_PP(0)));
	order.customer_key = PG_ARGISNULL(1) ? NULL : text_to_cstring(PG_GETARG_TEXT_PP(1));
	order.document = text_to_cstring(PG_GETARG_TEXT_PP(2));
	OrderFromArgs(fcinfo, 3, &order);

	if (loyalty_accrual_enabled)
		AccrueOrder(&order, &result);
	else
		memset(&result, 0, sizeof(result));

	values[0] = Int64GetDatum(result.member_id);
	nulls[0] = !result.has_member;
	values[1] = PointsGetDatum(result.points);
	values[2] = Int64GetDatum(result.entry_id);
	nulls[2] = result.entry_id == 0;
	values[3] = BoolGetDatum(result.replayed);
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(BlessTupleDesc(tupdesc), values, nulls)));
}

/* A multiplier in ten-thousandths as short text: 15000 -> "1.5" */
static char *
MultiplierText(int64 e4)
{
	char	   *text = psprintf(INT64_FORMAT ".%04d", e4 / 10000, (int) (e4 % 10000));
	int			len = strlen(text);

	while (text[len - 1] == '0')
		text[--len] = '\0';
	if (text[len - 1] == '.')
		text[--len] = '\0';
	return text;
}

/* Start a materialized set-returning call */
static Tuplestorestate *
BeginMaterialized(FunctionCallInfo fcinfo, TupleDesc *tupdesc)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	MemoryContext old;
	Tuplestorestate *store;

	if (rsinfo == NULL || !IsA(rsinfo, ReturnSetInfo) || !(rsinfo->allowedModes & SFRM_Materialize))
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("set-valued function called in context that cannot accept a set")));
	if (get_call_result_type(fcinfo, NULL, tupdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");
	old = MemoryContextSwitchTo(rsinfo->econtext->ecxt_per_query_memory);
	*tupdesc = CreateTupleDescCopy(*tupdesc);
	store = tuplestore_begin_heap(true, false, work_mem);
	rsinfo->returnMode = SFRM_Materialize;
	rsinfo->setResult = store;
	rsinfo->setDesc = *tupdesc;
	MemoryContextSwitchTo(old);
	return store;
}

/*
 * SQL: loyalty.explain_accrual_lines(program, customer_key, lines, total,
 * branch, channel, ordered_at, source, bill_discount, paid_with_points,
 * card_no) -> one row per line and one for the visit: the rule that
 * decided it, the points, and why.  Writes nothing.
 */
Datum
explain_accrual_lines(PG_FUNCTION_ARGS)
{
	AccrualOrder order;
	ProgramConfig *prog;
	MemberInfo	m;
	AccrualComputation c;
	TupleDesc	tupdesc;
	Tuplestorestate *store;
	int			i;

	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("program must not be null")));
	store = BeginMaterialized(fcinfo, &tupdesc);
	memset(&order, 0, sizeof(order));
	prog = LoyaltyGetProgramByCode(text_to_cstring(PG_GETARG_TEXT_PP(0)));
	order.program_id = prog->program_id;
	order.customer_key = PG_ARGISNULL(1) ? NULL : text_to_cstring(PG_GETARG_TEXT_PP(1));
	order.document = "(explain)";
	OrderFromArgs(fcinfo, 2, &order);
	ValidateOrder(&order);

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	ResolveMember(prog, order.customer_key, order.card_no, &m);
	MemberMultiplier(prog, &m, order.ordered_at);
	SPI_finish();
	memset(&c, 0, sizeof(c));
	ComputeAccrual(prog, &order, &m, &c);

	for (i = 0; i <= order.nlines + 1; i++)
	{
		Datum		values[7];
		bool		nulls[7] = {false, false, false, false, false, false, false};
		const EarnRule *rule;
		const char *reason;

		if (i < order.nlines)
		{
			const AccrualLine *l = &order.lines[i];

			rule = c.lines[i].rule;
			reason = c.lines[i].reason;
			values[0] = Int32GetDatum(l->line_no);
			values[1] = l->sku ? CStringGetTextDatum(l->sku) : (Datum) 0;
			nulls[1] = l->sku == NULL;
			values[2] = NumericGetDatum(MoneyToNumeric(l->amount));
			values[5] = PointsGetDatum(c.lines[i].points);
		}
		else if (i == order.nlines + 1)
		{
			if (c.rounding == 0)
				break;
			rule = NULL;
			reason = PointsRoundModeToString(prog->rounding);
			nulls[0] = true;
			values[1] = CStringGetTextDatum("(rounding)");
			nulls[2] = true;
			values[5] = PointsGetDatum(c.rounding);
		}
		else
		{
			if (c.visit_rule == NULL)
				continue;
			rule = c.visit_rule;
			reason = NULL;
			nulls[0] = true;
			values[1] = CStringGetTextDatum("(visit)");
			values[2] = NumericGetDatum(MoneyToNumeric(order.total));
			values[5] = PointsGetDatum(c.visit_points);
		}
		values[3] = Int64GetDatum(rule ? rule->rule_id : 0);
		nulls[3] = rule == NULL;
		values[4] = rule ? CStringGetTextDatum(rule->name) : (Datum) 0;
		nulls[4] = rule == NULL;
		if (reason == NULL && m.multiplier_e4 != 10000)
			reason = psprintf("earns x%s (tier and birthday)", MultiplierText(m.multiplier_e4));
		values[6] = CStringGetTextDatum(reason ? reason : "earns");
		tuplestore_putvalues(store, tupdesc, values, nulls);
	}
	return (Datum) 0;
}
