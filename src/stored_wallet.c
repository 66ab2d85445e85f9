/*
 * stored_wallet.c
 *		Wallet (stored-value card) movements: top-up with bonus, spend never
 *		below zero, refund once.  Every movement locks the wallet row, appends
 *		one loyalty.wallet_ledger entry and moves wallet.balance in the same
 *		statement, so the balance always equals the sum of the ledger.
 *
 * Money is int64 hundredths here and numeric in the tables.
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "funcapi.h"
#include "utils/builtins.h"
#include "utils/numeric.h"

#include "errcodes.h"
#include "errcodes_stored.h"
#include "money.h"
#include "rules.h"
#include "spi_util.h"
#include "stored.h"

PG_FUNCTION_INFO_V1(stored_wallet_top_up);
PG_FUNCTION_INFO_V1(stored_wallet_spend);
PG_FUNCTION_INFO_V1(stored_wallet_refund);

static SPIPlanPtr OpenWalletPlan = NULL;
static SPIPlanPtr LockWalletPlan = NULL;
static SPIPlanPtr PriorEntryPlan = NULL;
static SPIPlanPtr PostPlan = NULL;
static SPIPlanPtr BonusRulesPlan = NULL;
static SPIPlanPtr SpendByDocumentPlan = NULL;

/* A text argument, or a 22004 error naming what is missing */
static char *
RequiredText(FunctionCallInfo fcinfo, int argno, const char *what)
{
	if (PG_ARGISNULL(argno))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("%s must not be null", what)));
	return text_to_cstring(PG_GETARG_TEXT_PP(argno));
}

/* An optional text argument */
static char *
OptionalText(FunctionCallInfo fcinfo, int argno)
{
	return PG_ARGISNULL(argno) ? NULL : text_to_cstring(PG_GETARG_TEXT_PP(argno));
}

/* Lock a member's wallet row (opening it when asked); returns the balance */
static int64
WalletLock(int64 member_id, int64 program_id, bool create, const char *label)
{
	Oid			types[2] = {INT8OID, INT8OID};
	Datum		values[2];
	bool		isnull;
	char	   *status;
	char	   *who;

	values[0] = Int64GetDatum(member_id);
	values[1] = Int64GetDatum(program_id);
	if (create)
	{
		LoyaltyPlan(&OpenWalletPlan,
					"INSERT INTO loyalty.wallet (member_id, program_id) VALUES ($1, $2) ON CONFLICT DO NOTHING",
					2, types);
		LoyaltyExec(OpenWalletPlan, values, NULL, false, 0);
	}
	LoyaltyPlan(&LockWalletPlan,
				"SELECT balance, status FROM loyalty.wallet WHERE member_id = $1 FOR UPDATE",
				1, types);
	LoyaltyExec(LockWalletPlan, values, NULL, false, 1);
	who = label ? pstrdup(label) : psprintf("member " INT64_FORMAT, member_id);
	if (SPI_processed == 0)
		ereport(ERROR,
				(errcode(ERRCODE_STORED_NO_WALLET),
				 errmsg("%s has no wallet", who),
				 errhint("A wallet is opened by its first top-up.")));
	status = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2);
	if (strcmp(status, "active") != 0)
		ereport(ERROR,
				(errcode(ERRCODE_STORED_NO_WALLET),
				 errmsg("the wallet of %s is %s", who, status)));
	return MoneyFromNumeric(DatumGetNumeric(SPI_getbinval(SPI_tuptable->vals[0],
														  SPI_tuptable->tupdesc, 1, &isnull)),
							"wallet balance");
}

/* The amount of an earlier entry of this kind and document, if any */
static bool
PriorEntry(int64 member_id, int64 program_id, const char *kind, const char *document, int64 *amount)
{
	Oid			types[4] = {INT8OID, INT8OID, TEXTOID, TEXTOID};
	Datum		values[4];
	bool		isnull;

	LoyaltyPlan(&PriorEntryPlan,
				"SELECT amount FROM loyalty.wallet_ledger WHERE member_id = $1 AND program_id = $2 "
				"AND kind = $3 AND document = $4",
				4, types);
	values[0] = Int64GetDatum(member_id);
	values[1] = Int64GetDatum(program_id);
	values[2] = CStringGetTextDatum(kind);
	values[3] = CStringGetTextDatum(document);
	LoyaltyExec(PriorEntryPlan, values, NULL, false, 1);
	if (SPI_processed == 0)
		return false;
	*amount = MoneyFromNumeric(DatumGetNumeric(SPI_getbinval(SPI_tuptable->vals[0],
															 SPI_tuptable->tupdesc, 1, &isnull)),
							   "wallet entry");
	return true;
}

/* Append an entry and move the balance (wallet row locked); returns the new balance */
static int64
WalletPost(int64 member_id, int64 program_id, const char *kind, int64 amount,
		   const char *document, const char *ref_document, const char *branch)
{
	Oid			types[7] = {INT8OID, INT8OID, TEXTOID, NUMERICOID, TEXTOID, TEXTOID, TEXTOID};
	Datum		values[7];
	char		nulls[7] = {' ', ' ', ' ', ' ', ' ', ' ', ' '};
	bool		isnull;

	LoyaltyPlan(&PostPlan,
				"WITH e AS (INSERT INTO loyalty.wallet_ledger (member_id, program_id, kind, amount, document,"
				" ref_document, branch) VALUES ($1, $2, $3, $4, $5, $6, $7))"
				" UPDATE loyalty.wallet SET balance = balance + $4, updated_at = now()"
				" WHERE member_id = $1 RETURNING balance",
				7, types);
	values[0] = Int64GetDatum(member_id);
	values[1] = Int64GetDatum(program_id);
	values[2] = CStringGetTextDatum(kind);
	values[3] = NumericGetDatum(MoneyToNumeric(amount));
	values[4] = CStringGetTextDatum(document);
	values[5] = LoyaltyTextOrNull(ref_document, &nulls[5]);
	values[6] = LoyaltyTextOrNull(branch, &nulls[6]);
	LoyaltyExec(PostPlan, values, nulls, false, 0);
	if (SPI_processed != 1)
		elog(ERROR, "wallet of member " INT64_FORMAT " vanished", member_id);
	return MoneyFromNumeric(DatumGetNumeric(SPI_getbinval(SPI_tuptable->vals[0],
														  SPI_tuptable->tupdesc, 1, &isnull)),
							"wallet balance");
}

/* The largest bonus a matching rule gives for a top-up of amount */
static int64
TopUpBonus(int64 program_id, int64 amount)
{
	Oid			types[2] = {INT8OID, NUMERICOID};
	Datum		values[2];
	int64		best = 0;
	uint64		i;

	LoyaltyPlan(&BonusRulesPlan,
				"SELECT bonus_amount, bonus_percent FROM loyalty.wallet_bonus_rule"
				" WHERE program_id = $1 AND min_amount <= $2 AND (max_amount IS NULL OR $2 <= max_amount)"
				" AND (valid_from IS NULL OR valid_from <= now()) AND (valid_to IS NULL OR now() < valid_to)",
				2, types);
	values[0] = Int64GetDatum(program_id);
	values[1] = NumericGetDatum(MoneyToNumeric(amount));
	LoyaltyExec(BonusRulesPlan, values, NULL, true, 0);
	for (i = 0; i < SPI_processed; i++)
	{
		HeapTuple	t = SPI_tuptable->vals[i];
		bool		isnull;
		Datum		d = SPI_getbinval(t, SPI_tuptable->tupdesc, 1, &isnull);
		int64		bonus;

		if (!isnull)
			bonus = MoneyFromNumeric(DatumGetNumeric(d), "bonus amount");
		else
		{
			d = SPI_getbinval(t, SPI_tuptable->tupdesc, 2, &isnull);
			bonus = isnull ? 0 : StoredPercentOf(amount, ScaledFromNumeric(DatumGetNumeric(d), 4,
																			"bonus percent"));
		}
		best = Max(best, bonus);
	}
	return best;
}

/* A result row of money columns */
static Datum
MoneyRow(FunctionCallInfo fcinfo, int n, const int64 *amounts)
{
	TupleDesc	desc;
	Datum		values[4];
	bool		nulls[4] = {false, false, false, false};
	int			i;

	if (get_call_result_type(fcinfo, NULL, &desc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");
	desc = BlessTupleDesc(desc);
	for (i = 0; i < n; i++)
		values[i] = NumericGetDatum(MoneyToNumeric(amounts[i]));
	return HeapTupleGetDatum(heap_form_tuple(desc, values, nulls));
}

/* "customer "K"" for error messages */
static char *
CustomerLabel(const char *customer_key)
{
	return psprintf("customer \"%s\"", customer_key);
}

/* SQL: loyalty.wallet_top_up(program, customer_key, amount, document, branch) -> (paid, bonus, balance) */
Datum
stored_wallet_top_up(PG_FUNCTION_ARGS)
{
	char	   *program = RequiredText(fcinfo, 0, "program");
	char	   *customer_key = RequiredText(fcinfo, 1, "customer key");
	char	   *document;
	char	   *branch = OptionalText(fcinfo, 4);
	int64		amount;
	int64		out[3];
	int64		program_id;
	int64		member_id;

	if (PG_ARGISNULL(2) || PG_ARGISNULL(3))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("amount and document must not be null")));
	amount = StoredPositiveAmount(PG_GETARG_NUMERIC(2), "a top-up");
	document = text_to_cstring(PG_GETARG_TEXT_PP(3));

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	StoredMember(program, customer_key, &program_id, &member_id);
	out[2] = WalletLock(member_id, program_id, true, CustomerLabel(customer_key));
	if (PriorEntry(member_id, program_id, "top_up", document, &out[0]))
	{
		if (out[0] != amount)
			ereport(ERROR,
					(errcode(ERRCODE_STORED_CONFLICT),
					 errmsg("top-up \"%s\" was already posted with a different amount", document),
					 errdetail("The first posting was %s, this one is %s.",
							   DatumGetCString(DirectFunctionCall1(numeric_out, NumericGetDatum(MoneyToNumeric(out[0])))),
							   DatumGetCString(DirectFunctionCall1(numeric_out, NumericGetDatum(MoneyToNumeric(amount)))))));
		if (!PriorEntry(member_id, program_id, "bonus", document, &out[1]))
			out[1] = 0;
	}
	else
	{
		out[0] = amount;
		out[1] = TopUpBonus(program_id, amount);
		out[2] = WalletPost(member_id, program_id, "top_up", amount, document, NULL, branch);
		if (out[1] > 0)
			out[2] = WalletPost(member_id, program_id, "bonus", out[1], document, NULL, branch);
	}
	SPI_finish();
	return MoneyRow(fcinfo, 3, out);
}

/* SQL: loyalty.wallet_spend(program, customer_key, document, amount, branch) -> (spent, balance) */
Datum
stored_wallet_spend(PG_FUNCTION_ARGS)
{
	char	   *program = RequiredText(fcinfo, 0, "program");
	char	   *customer_key = RequiredText(fcinfo, 1, "customer key");
	char	   *document;
	char	   *branch = OptionalText(fcinfo, 4);
	int64		amount;
	int64		out[2];
	int64		prior;
	int64		program_id;
	int64		member_id;

	if (PG_ARGISNULL(2) || PG_ARGISNULL(3))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("amount and document must not be null")));
	document = text_to_cstring(PG_GETARG_TEXT_PP(2));
	amount = StoredPositiveAmount(PG_GETARG_NUMERIC(3), "a spend");

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	StoredMember(program, customer_key, &program_id, &member_id);
	out[1] = WalletLock(member_id, program_id, false, CustomerLabel(customer_key));
	if (PriorEntry(member_id, program_id, "spend", document, &prior))
	{
		if (-prior != amount)
			ereport(ERROR,
					(errcode(ERRCODE_STORED_CONFLICT),
					 errmsg("spend \"%s\" was already posted with a different amount", document),
					 errdetail("The first posting was %s, this one is %s.",
							   DatumGetCString(DirectFunctionCall1(numeric_out, NumericGetDatum(MoneyToNumeric(-prior)))),
							   DatumGetCString(DirectFunctionCall1(numeric_out, NumericGetDatum(MoneyToNumeric(amount)))))));
		out[0] = -prior;
	}
	else
	{
		if (out[1] < amount)
			ereport(ERROR,
					(errcode(ERRCODE_STORED_INSUFFICIENT_FUNDS),
					 errmsg("wallet balance is too low"),
					 errdetail("The balance is %s, the spend %s.",
							   DatumGetCString(DirectFunctionCall1(numeric_out, NumericGetDatum(MoneyToNumeric(out[1])))),
							   DatumGetCString(DirectFunctionCall1(numeric_out, NumericGetDatum(MoneyToNumeric(amount)))))));
		out[0] = amount;
		out[1] = WalletPost(member_id, program_id, "spend", -amount, document, NULL, branch);
	}
	SPI_finish();
	return MoneyRow(fcinfo, 2, out);
}

/* SQL: loyalty.wallet_refund(program, document, branch) -> (refunded, balance) */
Datum
stored_wallet_refund(PG_FUNCTION_ARGS)
{
	char	   *program;
	char	   *document;
	char	   *branch = OptionalText(fcinfo, 2);
	ProgramConfig *prog;
	Oid			types[2] = {INT8OID, TEXTOID};
	Datum		values[2];
	bool		isnull;
	int64		member_id;
	int64		spent;
	int64		out[2];

	if (PG_ARGISNULL(0) || PG_ARGISNULL(1))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("program and document must not be null")));
	program = text_to_cstring(PG_GETARG_TEXT_PP(0));
	document = text_to_cstring(PG_GETARG_TEXT_PP(1));
	prog = LoyaltyGetProgramByCode(program);

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	LoyaltyPlan(&SpendByDocumentPlan,
				"SELECT member_id, amount FROM loyalty.wallet_ledger"
				" WHERE program_id = $1 AND kind = 'spend' AND document = $2 ORDER BY entry_id",
				2, types);
	values[0] = Int64GetDatum(prog->program_id);
	values[1] = CStringGetTextDatum(document);
	LoyaltyExec(SpendByDocumentPlan, values, NULL, false, 0);
	if (SPI_processed == 0)
		ereport(ERROR,
				(errcode(ERRCODE_STORED_UNKNOWN_DOCUMENT),
				 errmsg("no wallet spend \"%s\" to refund", document)));
	if (SPI_processed > 1)
		ereport(ERROR,
				(errcode(ERRCODE_STORED_CONFLICT),
				 errmsg("wallet spend \"%s\" belongs to more than one member", document),
				 errdetail("Documents must identify one bill of a program.")));
	member_id = LoyaltyGetInt64(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, 0);
	spent = -MoneyFromNumeric(DatumGetNumeric(SPI_getbinval(SPI_tuptable->vals[0],
															SPI_tuptable->tupdesc, 2, &isnull)),
							  "wallet spend");
	out[1] = WalletLock(member_id, prog->program_id, false, NULL);
	if (PriorEntry(member_id, prog->program_id, "refund", document, &out[0]))
		;						/* given back already: answer the same */
	else
	{
		out[0] = spent;
		out[1] = WalletPost(member_id, prog->program_id, "refund", spent, document, document, branch);
	}
	SPI_finish();
	return MoneyRow(fcinfo, 2, out);
}
