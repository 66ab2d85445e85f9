/*
 * ledger.c
 *		The points ledger: entry checksums, immutability, and taking points
 *		back from a balance and its lots.
 *
 * Balance rule kept by every writer: the sum of a member's open lots equals
 * the balance when it is positive, and is zero when it is not.
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "catalog/pg_type.h"
#include "commands/trigger.h"
#include "common/hashfn.h"
#include "executor/spi.h"
#include "funcapi.h"
#include "lib/stringinfo.h"
#include "utils/builtins.h"
#include "utils/timestamp.h"

#include "errcodes.h"
#include "ids.h"
#include "ledger.h"
#include "spi_util.h"

PG_FUNCTION_INFO_V1(ledger_entry_checksum);
PG_FUNCTION_INFO_V1(ledger_reject_change);

static SPIPlanPtr LockBalancePlan = NULL;
static SPIPlanPtr DebitBalancePlan = NULL;
static SPIPlanPtr InsertEntryPlan = NULL;
static SPIPlanPtr OpenLotsPlan = NULL;
static SPIPlanPtr ConsumeLotPlan = NULL;

static void AppendField(StringInfo buf, const char *value);
static void ConsumeLots(int64 member_id, int64 program_id, Points amount, int64 first_lot);

/* Add one field and a separator to the checksum input */
static void
AppendField(StringInfo buf, const char *value)
{
	if (value == NULL)
		appendStringInfoString(buf, "\\N");
	else
		appendStringInfoString(buf, value);
	appendStringInfoChar(buf, '\x1f');
}

/* A checksum of everything an entry says; recomputed by check_ledger() */
int64
LedgerChecksum(const LedgerEntry *e)
{
	StringInfoData buf;
	uint64		h;

	initStringInfo(&buf);
	appendStringInfo(&buf, INT64_FORMAT "\x1f" INT64_FORMAT "\x1f" INT64_FORMAT "\x1f",
					 e->member_id, e->entry_id, e->program_id);
	AppendField(&buf, e->kind);
	appendStringInfo(&buf, INT64_FORMAT "\x1f", (int64) e->amount);
	AppendField(&buf, e->source);
	AppendField(&buf, e->document);
	AppendField(&buf, e->ref_document);
	AppendField(&buf, e->branch);
	appendStringInfo(&buf, INT64_FORMAT "\x1f" INT64_FORMAT "\x1f" INT64_FORMAT "\x1f",
					 e->rule_id, e->campaign_id, (int64) e->created_at);
	if (e->has_expiry)
		appendStringInfo(&buf, INT64_FORMAT, (int64) e->expires_at);
	h = hash_bytes_extended((const unsigned char *) buf.data, buf.len, UINT64CONST(0x6c6f79616c7479));
	pfree(buf.data);
	return (int64) h;
}

/* A text attribute of a composite, NULL stays NULL */
static const char *
RowText(HeapTupleHeader row, const char *name)
{
	bool		isnull;
	Datum		d = GetAttributeByName(row, name, &isnull);

	return isnull ? NULL : TextDatumGetCString(d);
}

/* A bigint attribute of a composite, NULL reads as 0 */
static int64
RowInt64(HeapTupleHeader row, const char *name)
{
	bool		isnull;
	Datum		d = GetAttributeByName(row, name, &isnull);

	return isnull ? 0 : DatumGetInt64(d);
}

/* SQL: loyalty.entry_checksum(loyalty.ledger) recomputes an entry's checksum */
Datum
ledger_entry_checksum(PG_FUNCTION_ARGS)
{
	HeapTupleHeader row = PG_GETARG_HEAPTUPLEHEADER(0);
	LedgerEntry e;
	bool		isnull;
	Datum		d;

	e.member_id = RowInt64(row, "member_id");
	e.entry_id = RowInt64(row, "entry_id");
	e.program_id = RowInt64(row, "program_id");
	e.kind = RowText(row, "kind");
	e.amount = DatumGetPoints(GetAttributeByName(row, "amount", &isnull));
	e.source = RowText(row, "source");
	e.document = RowText(row, "document");
	e.ref_document = RowText(row, "ref_document");
	e.branch = RowText(row, "branch");
	e.rule_id = RowInt64(row, "rule_id");
	e.campaign_id = RowInt64(row, "campaign_id");
	e.created_at = DatumGetTimestampTz(GetAttributeByName(row, "created_at", &isnull));
	d = GetAttributeByName(row, "expires_at", &isnull);
	e.has_expiry = !isnull;
	e.expires_at = isnull ? 0 : DatumGetTimestampTz(d);
	PG_RETURN_INT64(LedgerChecksum(&e));
}

/* Trigger: ledger and history rows are never updated or deleted */
Datum
ledger_reject_change(PG_FUNCTION_ARGS)
{
	TriggerData *trigdata = (TriggerData *) fcinfo->context;

	if (!CALLED_AS_TRIGGER(fcinfo))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("ledger_reject_change() was not called by the trigger manager")));
	ereport(ERROR,
			(errcode(ERRCODE_LOYALTY_LEDGER_IMMUTABLE),
			 errmsg("%s is append-only", RelationGetRelationName(trigdata->tg_relation)),
			 errdetail("Entries are never changed or removed; a correction is a new entry."),
			 errhint("Use loyalty.adjust() to correct a balance.")));
	PG_RETURN_NULL();
}

/* Write one ledger row */
void
LedgerInsertEntry(const LedgerEntry *e)
{
	static const Oid types[15] = {INT8OID, INT8OID, INT8OID, TEXTOID, INT8OID, TEXTOID, TEXTOID,
	TEXTOID, TEXTOID, INT8OID, INT8OID, TIMESTAMPTZOID, TIMESTAMPTZOID, INT8OID, TEXTOID};
	Datum		values[15];
	char		nulls[15];
	SPIPlanPtr	plan;
	Oid			argtypes[15];

	memcpy(argtypes, types, sizeof(types));
	argtypes[4] = LoyaltyTypeOid("points");
	plan = LoyaltyPlan(&InsertEntryPlan,
					   "INSERT INTO loyalty.ledger (member_id, entry_id, program_id, kind, amount, "
					   "source, document, ref_document, branch, rule_id, campaign_id, created_at, "
					   "expires_at, checksum, note) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15)",
					   15, argtypes);
	memset(nulls, ' ', sizeof(nulls));
	values[0] = Int64GetDatum(e->member_id);
	values[1] = Int64GetDatum(e->entry_id);
	values[2] = Int64GetDatum(e->program_id);
	values[3] = CStringGetTextDatum(e->kind);
	values[4] = PointsGetDatum(e->amount);
	values[5] = LoyaltyTextOrNull(e->source, &nulls[5]);
	values[6] = LoyaltyTextOrNull(e->document, &nulls[6]);
	values[7] = LoyaltyTextOrNull(e->ref_document, &nulls[7]);
	values[8] = LoyaltyTextOrNull(e->branch, &nulls[8]);
	values[9] = Int64GetDatum(e->rule_id);
	nulls[9] = e->rule_id ? ' ' : 'n';
	values[10] = Int64GetDatum(e->campaign_id);
	nulls[10] = e->campaign_id ? ' ' : 'n';
	values[11] = TimestampTzGetDatum(e->created_at);
	values[12] = TimestampTzGetDatum(e->expires_at);
	nulls[12] = e->has_expiry ? ' ' : 'n';
	values[13] = Int64GetDatum(LedgerChecksum(e));
	values[14] = LoyaltyTextOrNull(e->note, &nulls[14]);
	LoyaltyExec(plan, values, nulls, false, 0);
}

/* Reduce open lots by amount: first_lot first, then soonest to expire */
static void
ConsumeLots(int64 member_id, int64 program_id, Points amount, int64 first_lot)
{
	Oid			types[3] = {INT8OID, INT8OID, INT8OID};
	Oid			consume_types[3] = {INT8OID, INT8OID, InvalidOid};
	Datum		values[3];
	SPIPlanPtr	open_plan;
	SPIPlanPtr	consume_plan;
	uint64		i;
	uint64		nlots;
	SPITupleTable *lots;

	open_plan = LoyaltyPlan(&OpenLotsPlan,
							"SELECT lot_id, remaining FROM loyalty.lot "
							"WHERE member_id = $1 AND program_id = $2 AND remaining OPERATOR(loyalty.>) 0 "
							"ORDER BY lot_id = $3 DESC, expires_at NULLS LAST, lot_id FOR UPDATE",
							3, types);
	consume_types[2] = LoyaltyTypeOid("points");
	consume_plan = LoyaltyPlan(&ConsumeLotPlan,
							   "UPDATE loyalty.lot SET remaining = remaining OPERATOR(loyalty.-) $3 "
							   "WHERE member_id = $1 AND lot_id = $2",
							   3, consume_types);
	values[0] = Int64GetDatum(member_id);
	values[1] = Int64GetDatum(program_id);
	values[2] = Int64GetDatum(first_lot);
	LoyaltyExec(open_plan, values, NULL, false, 0);
	lots = SPI_tuptable;
	nlots = SPI_processed;
	for (i = 0; i < nlots && amount > 0; i++)
	{
		bool		isnull;
		int64		lot_id = DatumGetInt64(SPI_getbinval(lots->vals[i], lots->tupdesc, 1, &isnull));
		Points		remaining = DatumGetPoints(SPI_getbinval(lots->vals[i], lots->tupdesc, 2, &isnull));
		Points		take = Min(remaining, amount);
		Datum		cv[3];

		cv[0] = Int64GetDatum(member_id);
		cv[1] = Int64GetDatum(lot_id);
		cv[2] = PointsGetDatum(take);
		LoyaltyExec(consume_plan, cv, NULL, false, 0);
		amount -= take;
	}
}

/*
 * Take amount points from a member as an entry of the given kind (reverse
 * for returns, adjust for corrections).  With cap_at_balance the take is
 * limited to what the balance holds and the rest is reported in
 * *unrecovered; otherwise the balance may go below zero.  Lots are used
 * first_lot first, then soonest to expire.  Returns the points actually
 * taken.  Caller is connected to SPI.
 */
Points
LedgerTakeBack(int64 member_id, int64 program_id, const char *kind, const char *source,
			   const char *document, const char *ref_document, const char *branch,
			   const char *note, Points amount, int64 first_lot, bool cap_at_balance,
			   Points *unrecovered)
{
	Oid			lock_types[2] = {INT8OID, INT8OID};
	Oid			debit_types[5] = {INT8OID, INT8OID, InvalidOid, InvalidOid, BOOLOID};
	Datum		values[5];
	bool		isnull;
	Points		balance;
	Points		take;
	LedgerEntry e;

	LoyaltyPlan(&LockBalancePlan,
				"SELECT points FROM loyalty.balance WHERE member_id = $1 AND program_id = $2 FOR UPDATE",
				2, lock_types);
	values[0] = Int64GetDatum(member_id);
	values[1] = Int64GetDatum(program_id);
	LoyaltyExec(LockBalancePlan, values, NULL, false, 1);
	if (SPI_processed != 1)
		elog(ERROR, "member " INT64_FORMAT " has no balance in program " INT64_FORMAT,
			 member_id, program_id);
	balance = DatumGetPoints(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));

	take = amount;
	if (cap_at_balance)
		take = Max(0, Min(amount, balance));
	*unrecovered = amount - take;

	if (take > 0)
	{
		memset(&e, 0, sizeof(e));
		e.member_id = member_id;
		e.entry_id = LoyaltyGenerateId();
		e.program_id = program_id;
		e.kind = kind;
		e.amount = PointsNegate(take);
		e.source = source;
		e.document = document;
		e.ref_document = ref_document;
		e.branch = branch;
		e.note = note;
		e.created_at = GetCurrentTransactionStartTimestamp();
		LedgerInsertEntry(&e);
		ConsumeLots(member_id, program_id, Min(take, Max(balance, 0)), first_lot);
	}

	debit_types[2] = LoyaltyTypeOid("points");
	debit_types[3] = debit_types[2];
	LoyaltyPlan(&DebitBalancePlan,
				"UPDATE loyalty.balance SET points = points OPERATOR(loyalty.-) $3, "
				"reversed_total = reversed_total OPERATOR(loyalty.+) CASE WHEN $5 THEN $3 ELSE 0 END, "
				"unrecovered = unrecovered OPERATOR(loyalty.+) $4, updated_at = now() "
				"WHERE member_id = $1 AND program_id = $2",
				5, debit_types);
	values[2] = PointsGetDatum(take);
	values[3] = PointsGetDatum(*unrecovered);
	values[4] = BoolGetDatum(strcmp(kind, "reverse") == 0);
	LoyaltyExec(DebitBalancePlan, values, NULL, false, 0);
	return take;
}
