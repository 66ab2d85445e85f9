/*
 * adjust.c
 *		Manual corrections of a balance, as ledger entries of kind adjust.
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "utils/builtins.h"
#include "utils/timestamp.h"

#include "accrual_engine.h"
#include "errcodes.h"
#include "ids.h"
#include "ledger.h"
#include "rules.h"
#include "spi_util.h"

PG_FUNCTION_INFO_V1(adjust_points);
PG_FUNCTION_INFO_V1(lot_expiry);

static SPIPlanPtr PriorAdjustPlan = NULL;
static SPIPlanPtr CreditPlan = NULL;

/* Lock the member's balance row (the lock every writer of the member takes first) */
static void
LockBalanceRow(int64 member_id, int64 program_id)
{
	static SPIPlanPtr plan = NULL;
	Oid			types[2] = {INT8OID, INT8OID};
	Datum		values[2];

	LoyaltyPlan(&plan,
				"SELECT 1 FROM loyalty.balance WHERE member_id = $1 AND program_id = $2 FOR UPDATE",
				2, types);
	values[0] = Int64GetDatum(member_id);
	values[1] = Int64GetDatum(program_id);
	LoyaltyExec(plan, values, NULL, false, 1);
}

/* An earlier adjustment with the same document: same amount is a no-op, else an error */
static bool
PriorAdjustment(int64 member_id, int64 program_id, const char *document, Points amount)
{
	Oid			types[3] = {INT8OID, INT8OID, TEXTOID};
	Datum		values[3];
	bool		isnull;
	Points		prior;

	LoyaltyPlan(&PriorAdjustPlan,
				"SELECT amount FROM loyalty.ledger WHERE member_id = $1 AND program_id = $2 "
				"AND source = 'adjust' AND document = $3 AND kind = 'adjust'",
				3, types);
	values[0] = Int64GetDatum(member_id);
	values[1] = Int64GetDatum(program_id);
	values[2] = CStringGetTextDatum(document);
	LoyaltyExec(PriorAdjustPlan, values, NULL, false, 1);
	if (SPI_processed == 0)
		return false;
	prior = DatumGetPoints(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	if (prior != amount)
		ereport(ERROR,
				(errcode(ERRCODE_LOYALTY_IDEMPOTENCY_CONFLICT),
				 errmsg("adjustment \"%s\" was already posted with a different amount", document),
				 errdetail("The first posting was %s points, this one is %s.",
						   PointsToCString(prior), PointsToCString(amount))));
	return true;
}

/* Credit points: an entry, a lot and the balance, in one statement */
static void
CreditPoints(const ProgramConfig *prog, int64 member_id, Points amount, const char *document,
			 const char *branch, const char *note)
{
	Oid			pt = LoyaltyTypeOid("points");
	Oid			types[10] = {INT8OID, INT8OID, InvalidOid, TEXTOID, TEXTOID, TIMESTAMPTZOID,
	TIMESTAMPTZOID, INT8OID, INT8OID, TEXTOID};
	Datum		values[10];
	char		nulls[10];
	LedgerEntry e;

	types[2] = pt;
	LoyaltyPlan(&CreditPlan,
				"WITH e AS (INSERT INTO loyalty.ledger (member_id, entry_id, program_id, kind, amount,"
				" source, document, branch, created_at, expires_at, checksum, note)"
				" VALUES ($1, $8, $2, 'adjust', $3, 'adjust', $4, $5, $6, $7, $9, $10)),"
				" b AS (INSERT INTO loyalty.balance AS b (member_id, program_id, points)"
				" VALUES ($1, $2, $3) ON CONFLICT (member_id, program_id) DO UPDATE"
				" SET points = b.points OPERATOR(loyalty.+) excluded.points, updated_at = now() RETURNING b.points)"
				" INSERT INTO loyalty.lot (member_id, lot_id, program_id, earned, remaining, earned_at, expires_at)"
				" SELECT $1, $8, $2, $3, greatest(0, least($3, b.points)), $6, $7 FROM b",
				10, types);
	memset(&e, 0, sizeof(e));
	e.member_id = member_id;
	e.entry_id = LoyaltyGenerateId();
	e.program_id = prog->program_id;
	e.kind = "adjust";
	e.amount = amount;
	e.source = "adjust";
	e.document = document;
	e.branch = branch;
	e.created_at = GetCurrentTransactionStartTimestamp();
	e.has_expiry = LotExpiry(prog, e.created_at, &e.expires_at);
	memset(nulls, ' ', sizeof(nulls));
	values[0] = Int64GetDatum(member_id);
	values[1] = Int64GetDatum(prog->program_id);
	values[2] = PointsGetDatum(amount);
	values[3] = CStringGetTextDatum(document);
	values[4] = LoyaltyTextOrNull(branch, &nulls[4]);
	values[5] = TimestampTzGetDatum(e.created_at);
	values[6] = TimestampTzGetDatum(e.expires_at);
	nulls[6] = e.has_expiry ? ' ' : 'n';
	values[7] = Int64GetDatum(e.entry_id);
	values[8] = Int64GetDatum(LedgerChecksum(&e));
	values[9] = LoyaltyTextOrNull(note, &nulls[9]);
	LoyaltyExec(CreditPlan, values, nulls, false, 0);
}

/* SQL: loyalty.adjust(program, customer_key, points, document, note, branch) */
Datum
adjust_points(PG_FUNCTION_ARGS)
{
	ProgramConfig *prog;
	MemberInfo	m;
	Points		amount;
	const char *document;
	const char *branch;
	const char *note;
	Points		unrecovered;

	if (PG_ARGISNULL(0) || PG_ARGISNULL(1) || PG_ARGISNULL(2) || PG_ARGISNULL(3))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("program, customer key, points and document must not be null")));
	prog = LoyaltyGetProgramByCode(text_to_cstring(PG_GETARG_TEXT_PP(0)));
	amount = PG_GETARG_POINTS(2);
	document = text_to_cstring(PG_GETARG_TEXT_PP(3));
	branch = PG_ARGISNULL(5) ? NULL : text_to_cstring(PG_GETARG_TEXT_PP(5));
	note = PG_ARGISNULL(4) ? NULL : text_to_cstring(PG_GETARG_TEXT_PP(4));
	if (amount == 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("an adjustment must not be zero")));

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	ResolveMember(prog, text_to_cstring(PG_GETARG_TEXT_PP(1)), NULL, &m);
	if (!m.found)
		ereport(ERROR,
				(errcode(ERRCODE_LOYALTY_UNKNOWN_MEMBER),
				 errmsg("customer \"%s\" is not a member of loyalty program \"%s\"",
						text_to_cstring(PG_GETARG_TEXT_PP(1)), prog->code)));
	/* the balance row lock makes a retry wait for the first call, then see its entry */
	LockBalanceRow(m.member_id, prog->program_id);
	if (!PriorAdjustment(m.member_id, prog->program_id, document, amount))
	{
		if (amount > 0)
			CreditPoints(prog, m.member_id, amount, document, branch, note);
		else
		{
			LedgerTakeBack(m.member_id, prog->program_id, "adjust", "adjust", document, NULL, branch,
						   note, PointsNegate(amount), 0, true, &unrecovered);
			if (unrecovered != 0)
				ereport(ERROR,
						(errcode(ERRCODE_CHECK_VIOLATION),
						 errmsg("adjustment \"%s\" would take the balance below zero", document),
						 errdetail("%s points are missing.", PointsToCString(unrecovered))));
		}
	}
	SPI_finish();
	PG_RETURN_POINTS(amount);
}

/* SQL: loyalty.lot_expiry(program_id, earned_at) */
Datum
lot_expiry(PG_FUNCTION_ARGS)
{
	ProgramConfig *prog = LoyaltyGetProgram(PG_GETARG_INT64(0));
	TimestampTz expires_at;

	if (!LotExpiry(prog, PG_GETARG_TIMESTAMPTZ(1), &expires_at))
		PG_RETURN_NULL();
	PG_RETURN_TIMESTAMPTZ(expires_at);
}
