/*
 * redeem_expiry.c
 *		Expiry of points (B5): lots past their expiry, and every point of a
 *		member inactive beyond the policy's inactivity_days.
 *
 * loyalty.expire_points() picks candidate members by condition, then for
 * each locks the balance row (FOR UPDATE, in member order) and selects the
 * lots again under the lock, so a second or concurrent run finds nothing
 * left to write.
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "funcapi.h"
#include "utils/builtins.h"
#include "utils/timestamp.h"

#include "ids.h"
#include "ledger.h"
#include "rules.h"
#include "spi_util.h"

PG_FUNCTION_INFO_V1(redeem_expire_points);

static SPIPlanPtr CandidatesPlan = NULL;
static SPIPlanPtr LockMemberPlan = NULL;
static SPIPlanPtr ExpiredLotsPlan = NULL;
static SPIPlanPtr ClearLotsPlan = NULL;
static SPIPlanPtr DebitPlan = NULL;

/* Expire one member's lots under the balance lock; returns the points expired */
static Points
ExpireMember(int64 member_id, int64 program_id, TimestampTz as_of, int64 *nlots)
{
	Oid			types[3] = {INT8OID, INT8OID, TIMESTAMPTZOID};
	Oid			debit_types[3] = {INT8OID, INT8OID, InvalidOid};
	Datum		values[3];
	bool		isnull;
	bool		inactive;
	Points		total = 0;
	uint64		i;
	uint64		n;
	Datum	   *ids;
	LedgerEntry e;

	LoyaltyPlan(&LockMemberPlan,
				"SELECT coalesce(b.last_order_at, m.enrolled_at)"
				" <= $3 - make_interval(days => r.inactivity_days)"
				" FROM loyalty.balance b JOIN loyalty.member m ON m.member_id = b.member_id"
				" LEFT JOIN loyalty.redemption_policy r ON r.program_id = b.program_id"
				" WHERE b.member_id = $1 AND b.program_id = $2 FOR UPDATE OF b",
				3, types);
	values[0] = Int64GetDatum(member_id);
	values[1] = Int64GetDatum(program_id);
	values[2] = TimestampTzGetDatum(as_of);
	LoyaltyExec(LockMemberPlan, values, NULL, false, 1);
	if (SPI_processed != 1)
		return 0;
	inactive = LoyaltyGetBool(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1);

	LoyaltyPlan(&ExpiredLotsPlan,
				"SELECT lot_id, remaining FROM loyalty.lot WHERE member_id = $1 AND program_id = $2"
				" AND remaining OPERATOR(loyalty.>) 0 AND ($4 OR expires_at <= $3)"
				" ORDER BY lot_id FOR UPDATE",
				4, (Oid[]) {INT8OID, INT8OID, TIMESTAMPTZOID, BOOLOID});
	{
		Datum		v[4] = {values[0], values[1], values[2], BoolGetDatum(inactive)};

		LoyaltyExec(ExpiredLotsPlan, v, NULL, false, 0);
	}
	n = SPI_processed;
	if (n == 0)
		return 0;
	ids = palloc(sizeof(Datum) * n);
	for (i = 0; i < n; i++)
	{
		ids[i] = SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1, &isnull);
		total += DatumGetPoints(SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 2, &isnull));
	}
	*nlots += n;

	LoyaltyPlan(&ClearLotsPlan,
				"UPDATE loyalty.lot SET remaining = 0 WHERE member_id = $1 AND lot_id = ANY ($2)",
				2, (Oid[]) {INT8OID, INT8ARRAYOID});
	{
		Datum		v[2];

		v[0] = Int64GetDatum(member_id);
		v[1] = PointerGetDatum(construct_array(ids, n, INT8OID, 8, FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));
		LoyaltyExec(ClearLotsPlan, v, NULL, false, 0);
	}

	memset(&e, 0, sizeof(e));
	e.member_id = member_id;
	e.entry_id = LoyaltyGenerateId();
	e.program_id = program_id;
	e.kind = "expire";
	e.amount = PointsNegate(total);
	e.source = "expiry";
	e.document = psprintf("expire-" INT64_FORMAT, e.entry_id);
	e.created_at = GetCurrentTransactionStartTimestamp();
	e.note = inactive ? "inactivity" : "lifetime";
	LedgerInsertEntry(&e);

	debit_types[2] = LoyaltyTypeOid("points");
	LoyaltyPlan(&DebitPlan,
				"UPDATE loyalty.balance SET points = points OPERATOR(loyalty.-) $3, updated_at = now()"
				" WHERE member_id = $1 AND program_id = $2",
				3, debit_types);
	values[2] = PointsGetDatum(total);
	LoyaltyExec(DebitPlan, values, NULL, false, 0);
	return total;
}

/* SQL: loyalty.expire_points(batch_size, as_of) */
Datum
redeem_expire_points(PG_FUNCTION_ARGS)
{
	int32		batch = PG_ARGISNULL(0) ? 10000 : PG_GETARG_INT32(0);
	TimestampTz as_of = PG_ARGISNULL(1) ? GetCurrentTransactionStartTimestamp() : PG_GETARG_TIMESTAMPTZ(1);
	Oid			types[3] = {TIMESTAMPTZOID, INT4OID, INT8OID};
	Datum		values[3];
	char		vnulls[3] = {' ', ' ', ' '};
	SPITupleTable *cands;
	uint64		n;
	uint64		i;
	int64		members = 0;
	int64		nlots = 0;
	Points		total = 0;
	TupleDesc	desc;
	Datum		out[3];
	bool		nulls[3] = {false, false, false};

	if (batch <= 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("batch size must be positive")));
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	LoyaltyPlan(&CandidatesPlan,
				"SELECT member_id, program_id FROM ("
				" SELECT l.member_id, l.program_id FROM loyalty.lot l"
				"  WHERE l.remaining OPERATOR(loyalty.>) 0 AND l.expires_at <= $1"
				"  AND ($3::bigint IS NULL OR l.program_id = $3)"
				" UNION"
				" SELECT b.member_id, b.program_id FROM loyalty.balance b"
				"  JOIN loyalty.redemption_policy r ON r.program_id = b.program_id"
				"  JOIN loyalty.member m ON m.member_id = b.member_id"
				"  WHERE r.inactivity_days IS NOT NULL AND b.points OPERATOR(loyalty.>) 0"
				"  AND ($3::bigint IS NULL OR b.program_id = $3)"
				"  AND coalesce(b.last_order_at, m.enrolled_at) <= $1 - make_interval(days => r.inactivity_days)"
				") c ORDER BY member_id, program_id LIMIT $2",
				3, types);
	values[0] = TimestampTzGetDatum(as_of);
	values[1] = Int32GetDatum(batch);
	values[2] = Int64GetDatum(PG_ARGISNULL(2) ? 0 :
							  LoyaltyGetProgramByCode(text_to_cstring(PG_GETARG_TEXT_PP(2)))->program_id);
	vnulls[2] = PG_ARGISNULL(2) ? 'n' : ' ';
	LoyaltyExec(CandidatesPlan, values, vnulls, false, 0);
	cands = SPI_tuptable;
	n = SPI_processed;
	for (i = 0; i < n; i++)
	{
		Points		p = ExpireMember(LoyaltyGetInt64(cands->vals[i], cands->tupdesc, 1, 0),
									 LoyaltyGetInt64(cands->vals[i], cands->tupdesc, 2, 0),
									 as_of, &nlots);

		if (p > 0)
		{
			members++;
			total = PointsAdd(total, p);
		}
	}
	SPI_finish();

	if (get_call_result_type(fcinfo, NULL, &desc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");
	out[0] = Int64GetDatum(members);
	out[1] = Int64GetDatum(nlots);
	out[2] = PointsGetDatum(total);
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(BlessTupleDesc(desc), out, nulls)));
}
