/*
 * stored_cards.c
 *		Prepaid product cards: using units (at most the per-visit limit, never
 *		below zero) and buying extra units.  Each movement locks the card row,
 *		appends one loyalty.product_card_move row and moves units_left in the
 *		same statement, so units_left always equals the sum of the movements.
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "common/int.h"
#include "executor/spi.h"
#include "funcapi.h"
#include "utils/builtins.h"
#include "utils/numeric.h"

#include "code.h"
#include "errcodes_stored.h"
#include "money.h"
#include "spi_util.h"
#include "stored.h"

PG_FUNCTION_INFO_V1(stored_product_card_use);
PG_FUNCTION_INFO_V1(stored_product_card_top_up);

static SPIPlanPtr LockCardPlan = NULL;
static SPIPlanPtr PriorMovePlan = NULL;
static SPIPlanPtr MovePlan = NULL;

/* A locked card and what its type says */
typedef struct CardState
{
	int64		card_id;
	int32		units_left;
	bool		expired;
	char	   *valid_date;		/* valid_to as YYYY-MM-DD (UTC), NULL when none */
	char	   *sku;
	char	   *type_name;
	bool		has_visit_limit;
	int32		visit_limit;
	bool		has_extra_price;
	int64		extra_unit_price;	/* hundredths */
} CardState;

/* Lock a card by its number and read its type, or raise LS020 */
static void
LockCard(LoyaltyCode *code, CardState *c)
{
	Oid			types[1];
	Datum		values[1];
	HeapTuple	t;
	TupleDesc	d;
	bool		isnull;
	Datum		v;

	types[0] = LoyaltyTypeOid("code");
	LoyaltyPlan(&LockCardPlan,
				"SELECT c.card_id, c.units_left, c.valid_to IS NOT NULL AND now() >= c.valid_to,"
				" to_char(c.valid_to AT TIME ZONE 'UTC', 'YYYY-MM-DD'), t.item_sku, t.name,"
				" t.visit_limit, t.extra_unit_price"
				" FROM loyalty.product_card c JOIN loyalty.product_card_type t ON t.type_id = c.type_id"
				" WHERE c.code OPERATOR(loyalty.=) $1 FOR UPDATE OF c",
				1, types);
	values[0] = PointerGetDatum(code);
	LoyaltyExec(LockCardPlan, values, NULL, false, 1);
	if (SPI_processed == 0)
		ereport(ERROR,
				(errcode(ERRCODE_STORED_CARD_UNKNOWN),
				 errmsg("product card %s does not exist", LoyaltyCodeToCString(code))));
	t = SPI_tuptable->vals[0];
	d = SPI_tuptable->tupdesc;
	c->card_id = LoyaltyGetInt64(t, d, 1, 0);
	c->units_left = DatumGetInt32(SPI_getbinval(t, d, 2, &isnull));
	c->expired = LoyaltyGetBool(t, d, 3);
	c->valid_date = SPI_getvalue(t, d, 4);
	c->sku = SPI_getvalue(t, d, 5);
	c->type_name = SPI_getvalue(t, d, 6);
	v = SPI_getbinval(t, d, 7, &isnull);
	c->has_visit_limit = !isnull;
	c->visit_limit = isnull ? 0 : DatumGetInt32(v);
	v = SPI_getbinval(t, d, 8, &isnull);
	c->has_extra_price = !isnull;
	c->extra_unit_price = isnull ? 0 : MoneyFromNumeric(DatumGetNumeric(v), "extra unit price");
}

/* An earlier movement of this kind and document: its units and amount */
static bool
PriorMove(int64 card_id, const char *kind, const char *document, int32 *units, int64 *amount)
{
	Oid			types[3] = {INT8OID, TEXTOID, TEXTOID};
	Datum		values[3];
	bool		isnull;

	LoyaltyPlan(&PriorMovePlan,
				"SELECT units, amount FROM loyalty.product_card_move"
				" WHERE card_id = $1 AND kind = $2 AND document = $3",
				3, types);
	values[0] = Int64GetDatum(card_id);
	values[1] = CStringGetTextDatum(kind);
	values[2] = CStringGetTextDatum(document);
	LoyaltyExec(PriorMovePlan, values, NULL, false, 1);
	if (SPI_processed == 0)
		return false;
	*units = DatumGetInt32(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	*amount = MoneyFromNumeric(DatumGetNumeric(SPI_getbinval(SPI_tuptable->vals[0],
															 SPI_tuptable->tupdesc, 2, &isnull)),
							   "movement amount");
	return true;
}

/* Append a movement and move units_left (card row locked); returns the units left */
static int32
PostMove(const CardState *c, const char *kind, int32 units, int64 amount, const char *document,
		 const char *branch)
{
	Oid			types[7] = {INT8OID, TEXTOID, INT4OID, TEXTOID, NUMERICOID, TEXTOID, TEXTOID};
	Datum		values[7];
	char		nulls[7] = {' ', ' ', ' ', ' ', ' ', ' ', ' '};
	bool		isnull;

	LoyaltyPlan(&MovePlan,
				"WITH m AS (INSERT INTO loyalty.product_card_move (card_id, kind, units, sku, amount, document,"
				" branch) VALUES ($1, $2, $3, $4, $5, $6, $7))"
				" UPDATE loyalty.product_card SET units_left = units_left + $3 WHERE card_id = $1"
				" RETURNING units_left",
				7, types);
	values[0] = Int64GetDatum(c->card_id);
	values[1] = CStringGetTextDatum(kind);
	values[2] = Int32GetDatum(units);
	values[3] = CStringGetTextDatum(c->sku);
	values[4] = NumericGetDatum(MoneyToNumeric(amount));
	values[5] = CStringGetTextDatum(document);
	values[6] = LoyaltyTextOrNull(branch, &nulls[6]);
	LoyaltyExec(MovePlan, values, nulls, false, 0);
	if (SPI_processed != 1)
		elog(ERROR, "product card " INT64_FORMAT " vanished", c->card_id);
	return DatumGetInt32(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
}

/* Common argument checks of use and top-up */
static void
CardArguments(FunctionCallInfo fcinfo, LoyaltyCode **code, int32 *units, char **document, char **branch)
{
	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("card code must not be null")));
	if (PG_ARGISNULL(1) || PG_ARGISNULL(2))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("units and document must not be null")));
	*code = PG_GETARG_LOYALTY_CODE_P(0);
	*units = PG_GETARG_INT32(1);
	*document = text_to_cstring(PG_GETARG_TEXT_PP(2));
	*branch = PG_ARGISNULL(3) ? NULL : text_to_cstring(PG_GETARG_TEXT_PP(3));
}

/* Raise LS021 when the card is past its validity */
static void
CheckNotExpired(const CardState *c, LoyaltyCode *code)
{
	if (c->expired)
		ereport(ERROR,
				(errcode(ERRCODE_STORED_CARD_EXPIRED),
				 errmsg("product card expired on %s", c->valid_date),
				 errdetail("Card %s is no longer valid.", LoyaltyCodeToCString(code))));
}

/*
 * SQL: loyalty.product_card_use(card_code, units, document, branch)
 * -> TABLE (sku, quantity, price): the bill line at price 0
 */
Datum
stored_product_card_use(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	LoyaltyCode *code;
	int32		units;
	char	   *document;
	char	   *branch;
	CardState	c;
	int32		prior_units;
	int64		prior_amount;
	char	   *sku;
	Datum		values[3];
	bool		nulls[3] = {false, false, false};

	CardArguments(fcinfo, &code, &units, &document, &branch);
	if (units <= 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("a use takes at least one unit, not %d", units)));
	InitMaterializedSRF(fcinfo, 0);

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	LockCard(code, &c);
	if (PriorMove(c.card_id, "use", document, &prior_units, &prior_amount))
	{
		if (-prior_units != units)
			ereport(ERROR,
					(errcode(ERRCODE_STORED_CONFLICT),
					 errmsg_plural("card use \"%s\" was already posted with %d unit",
								"card use \"%s\" was already posted with %d units",
								-prior_units, document, -prior_units),
					 errdetail("This retry asks for %d.", units)));
	}
	else
	{
		CheckNotExpired(&c, code);
		if (c.has_visit_limit && units > c.visit_limit)
			ereport(ERROR,
					(errcode(ERRCODE_STORED_CARD_VISIT_LIMIT),
					 errmsg_plural("a visit may take at most %d unit of \"%s\"",
								   "a visit may take at most %d units of \"%s\"",
								   c.visit_limit, c.visit_limit, c.type_name),
					 errdetail("The use asked for %d.", units)));
		if (units > c.units_left)
			ereport(ERROR,
					(errcode(ERRCODE_STORED_CARD_NO_UNITS),
					 errmsg_plural("product card has %d unit left", "product card has %d units left",
								   c.units_left, c.units_left),
					 errdetail("Card %s has %d units, the use asked for %d.",
							   LoyaltyCodeToCString(code), c.units_left, units),
					 errhint(c.has_extra_price ? "Buy more units with loyalty.product_card_top_up()." :
							 "This card type sells no extra units.")));
		PostMove(&c, "use", -units, 0, document, branch);
	}
	sku = MemoryContextStrdup(rsinfo->econtext->ecxt_per_query_memory, c.sku);
	SPI_finish();

	values[0] = CStringGetTextDatum(sku);
	values[1] = Int32GetDatum(units);
	values[2] = DirectFunctionCall1(int4_numeric, Int32GetDatum(0));
	tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	return (Datum) 0;
}

/*
 * SQL: loyalty.product_card_top_up(card_code, units, document, branch)
 * -> (amount to charge, units_left)
 */
Datum
stored_product_card_top_up(PG_FUNCTION_ARGS)
{
	LoyaltyCode *code;
	int32		units;
	char	   *document;
	char	   *branch;
	CardState	c;
	int32		prior_units;
	int64		amount;
	int32		units_left;
	TupleDesc	desc;
	Datum		values[2];
	bool		nulls[2] = {false, false};

	CardArguments(fcinfo, &code, &units, &document, &branch);
	if (units <= 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("a top-up adds at least one unit, not %d", units)));
	if (get_call_result_type(fcinfo, NULL, &desc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");
	desc = BlessTupleDesc(desc);

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	LockCard(code, &c);
	if (PriorMove(c.card_id, "top_up", document, &prior_units, &amount))
	{
		if (prior_units != units)
			ereport(ERROR,
					(errcode(ERRCODE_STORED_CONFLICT),
					 errmsg_plural("card top-up \"%s\" was already posted with %d unit",
								"card top-up \"%s\" was already posted with %d units",
								prior_units, document, prior_units)));
		units_left = c.units_left;
	}
	else
	{
		if (!c.has_extra_price)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("product card type \"%s\" sells no extra units", c.type_name)));
		CheckNotExpired(&c, code);
		if (pg_mul_s64_overflow(c.extra_unit_price, units, &amount))
			ereport(ERROR,
					(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
					 errmsg("top-up amount is out of range")));
		units_left = PostMove(&c, "top_up", units, amount, document, branch);
	}
	SPI_finish();

	values[0] = NumericGetDatum(MoneyToNumeric(amount));
	values[1] = Int32GetDatum(units_left);
	return HeapTupleGetDatum(heap_form_tuple(desc, values, nulls));
}
