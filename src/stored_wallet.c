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
PG_FUNCTION_INFO_V1(stored_wallet_cashback);

/* A locked wallet row */
typedef struct WalletState
{
	int64		balance;		/* hundredths */
	bool		has_level;
	int32		level_rank;
	int64		revenue;		/* hundredths */
} WalletState;

/* One cash-back level */
typedef struct WalletLevel
{
	int32		rank;
	char	   *name;
	int64		min_revenue;	/* hundredths */
	int64		cashback_percent;	/* ten-thousandths of a percent */
	bool		converts_to_vip;
	char	   *card_series;
} WalletLevel;

static SPIPlanPtr OpenWalletPlan = NULL;
static SPIPlanPtr LockWalletPlan = NULL;
static SPIPlanPtr PriorEntryPlan = NULL;
static SPIPlanPtr PostPlan = NULL;
static SPIPlanPtr BonusRulesPlan = NULL;
static SPIPlanPtr SpendByDocumentPlan = NULL;
static SPIPlanPtr PriorPurchasePlan = NULL;
static SPIPlanPtr LevelsPlan = NULL;
static SPIPlanPtr PurchasePlan = NULL;
static SPIPlanPtr RevenuePlan = NULL;
static SPIPlanPtr ConversionPlan = NULL;
static SPIPlanPtr IssueCardPlan = NULL;
static SPIPlanPtr RecordConversionPlan = NULL;

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

/* Lock a member's wallet row (opening it when asked) and read it */
static void
WalletLockState(int64 member_id, int64 program_id, bool create, const char *label, WalletState *w)
{
	Oid			types[2] = {INT8OID, INT8OID};
	Datum		values[2];
	bool		isnull;
	char	   *status;
	char	   *who;
	Datum		d;
	HeapTuple	t;
	TupleDesc	desc;

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
				"SELECT balance, status, level_rank, revenue FROM loyalty.wallet WHERE member_id = $1 FOR UPDATE",
				1, types);
	LoyaltyExec(LockWalletPlan, values, NULL, false, 1);
	who = label ? pstrdup(label) : psprintf("member " INT64_FORMAT, member_id);
	if (SPI_processed == 0)
		ereport(ERROR,
				(errcode(ERRCODE_STORED_NO_WALLET),
				 errmsg("%s has no wallet", who),
				 errhint("A wallet is opened by its first top-up.")));
	t = SPI_tuptable->vals[0];
	desc = SPI_tuptable->tupdesc;
	status = SPI_getvalue(t, desc, 2);
	if (strcmp(status, "active") != 0)
		ereport(ERROR,
				(errcode(ERRCODE_STORED_NO_WALLET),
				 errmsg("the wallet of %s is %s", who, status)));
	w->balance = MoneyFromNumeric(DatumGetNumeric(SPI_getbinval(t, desc, 1, &isnull)), "wallet balance");
	d = SPI_getbinval(t, desc, 3, &isnull);
	w->has_level = !isnull;
	w->level_rank = isnull ? 0 : DatumGetInt32(d);
	w->revenue = MoneyFromNumeric(DatumGetNumeric(SPI_getbinval(t, desc, 4, &isnull)), "wallet revenue");
}

/* Lock a member's wallet row (opening it when asked); returns the balance */
static int64
WalletLock(int64 member_id, int64 program_id, bool create, const char *label)
{
	WalletState w;

	WalletLockState(member_id, program_id, create, label, &w);
	return w.balance;
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
		   const char *document, const char *ref_document, const char *branch, Numeric bill)
{
	Oid			types[8] = {INT8OID, INT8OID, TEXTOID, NUMERICOID, TEXTOID, TEXTOID, TEXTOID, NUMERICOID};
	Datum		values[8];
	char		nulls[8] = {' ', ' ', ' ', ' ', ' ', ' ', ' ', ' '};
	bool		isnull;

	LoyaltyPlan(&PostPlan,
				"WITH e AS (INSERT INTO loyalty.wallet_ledger (member_id, program_id, kind, amount, document,"
				" ref_document, branch, bill_amount) VALUES ($1, $2, $3, $4, $5, $6, $7, $8))"
				" UPDATE loyalty.wallet SET balance = balance + $4, updated_at = now()"
				" WHERE member_id = $1 RETURNING balance",
				8, types);
	values[7] = PointerGetDatum(bill);
	nulls[7] = bill ? ' ' : 'n';
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
		out[2] = WalletPost(member_id, program_id, "top_up", amount, document, NULL, branch, NULL);
		if (out[1] > 0)
			out[2] = WalletPost(member_id, program_id, "bonus", out[1], document, NULL, branch, NULL);
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
		out[1] = WalletPost(member_id, program_id, "spend", -amount, document, NULL, branch, NULL);
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
		out[1] = WalletPost(member_id, prog->program_id, "refund", spent, document, document, branch, NULL);
	}
	SPI_finish();
	return MoneyRow(fcinfo, 2, out);
}

/* The program's cash-back levels, lowest rank first */
static WalletLevel *
LoadLevels(int64 program_id, int *nlevels)
{
	Oid			types[1] = {INT8OID};
	Datum		values[1];
	WalletLevel *levels;
	uint64		i;

	LoyaltyPlan(&LevelsPlan,
				"SELECT rank, name, min_revenue, cashback_percent, converts_to_vip, card_series"
				" FROM loyalty.wallet_level WHERE program_id = $1 ORDER BY rank",
				1, types);
	values[0] = Int64GetDatum(program_id);
	LoyaltyExec(LevelsPlan, values, NULL, true, 0);
	*nlevels = (int) SPI_processed;
	levels = palloc0(sizeof(WalletLevel) * Max(SPI_processed, 1));
	for (i = 0; i < SPI_processed; i++)
	{
		HeapTuple	t = SPI_tuptable->vals[i];
		TupleDesc	d = SPI_tuptable->tupdesc;
		bool		isnull;

		levels[i].rank = DatumGetInt32(SPI_getbinval(t, d, 1, &isnull));
		levels[i].name = SPI_getvalue(t, d, 2);
		levels[i].min_revenue = MoneyFromNumeric(DatumGetNumeric(SPI_getbinval(t, d, 3, &isnull)),
												 "minimum revenue");
		levels[i].cashback_percent = ScaledFromNumeric(DatumGetNumeric(SPI_getbinval(t, d, 4, &isnull)), 4,
													   "cash-back percent");
		levels[i].converts_to_vip = LoyaltyGetBool(t, d, 5);
		levels[i].card_series = SPI_getvalue(t, d, 6);
	}
	return levels;
}

/* The level of a rank, NULL when there is none */
static WalletLevel *
LevelOfRank(WalletLevel *levels, int nlevels, int32 rank)
{
	int			i;

	for (i = 0; i < nlevels; i++)
		if (levels[i].rank == rank)
			return &levels[i];
	return NULL;
}

/* The highest level whose minimum revenue is reached, NULL when none */
static WalletLevel *
LevelOfRevenue(WalletLevel *levels, int nlevels, int64 revenue)
{
	WalletLevel *best = NULL;
	int			i;

	for (i = 0; i < nlevels; i++)
		if (levels[i].min_revenue <= revenue)
			best = &levels[i];
	return best;
}

/* The VIP card a conversion recorded on a document, NULL when none */
static char *
ConversionCard(int64 member_id, const char *document, bool any_document)
{
	Oid			types[3] = {INT8OID, TEXTOID, BOOLOID};
	Datum		values[3];

	LoyaltyPlan(&ConversionPlan,
				"SELECT card_no FROM loyalty.wallet_vip_conversion WHERE member_id = $1 AND ($3 OR document = $2)",
				3, types);
	values[0] = Int64GetDatum(member_id);
	values[1] = CStringGetTextDatum(document);
	values[2] = BoolGetDatum(any_document);
	LoyaltyExec(ConversionPlan, values, NULL, false, 1);
	return SPI_processed == 0 ? NULL : SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1);
}

/* Convert the wallet card into a VIP card: issue_card() and record it; returns the card */
static char *
ConvertToVip(int64 member_id, int64 program_id, const WalletLevel *level, int32 reached,
			 const char *document)
{
	Oid			itypes[2] = {INT8OID, TEXTOID};
	Oid			rtypes[5] = {INT8OID, INT8OID, INT4OID, TEXTOID, TEXTOID};
	Datum		values[5];
	char	   *card;

	LoyaltyPlan(&IssueCardPlan, "SELECT loyalty.issue_card($1, $2)", 2, itypes);
	values[0] = Int64GetDatum(member_id);
	values[1] = CStringGetTextDatum(level->card_series);
	LoyaltyExec(IssueCardPlan, values, NULL, false, 1);
	card = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1);
	LoyaltyPlan(&RecordConversionPlan,
				"INSERT INTO loyalty.wallet_vip_conversion (member_id, program_id, level_rank, card_no, document)"
				" VALUES ($1, $2, $3, $4, $5)",
				5, rtypes);
	values[0] = Int64GetDatum(member_id);
	values[1] = Int64GetDatum(program_id);
	values[2] = Int32GetDatum(reached);
	values[3] = CStringGetTextDatum(card);
	values[4] = CStringGetTextDatum(document);
	LoyaltyExec(RecordConversionPlan, values, NULL, false, 0);
	return card;
}

/*
 * SQL: loyalty.wallet_cashback(program, customer_key, document, bill_amount,
 * branch) -> (cashback, level, balance, vip_card).  The level held before
 * the bill gives the cash-back; the bill then raises the revenue and the
 * level (never lowered); reaching a converts_to_vip level issues a VIP card
 * once.
 */
Datum
stored_wallet_cashback(PG_FUNCTION_ARGS)
{
	char	   *program = RequiredText(fcinfo, 0, "program");
	char	   *customer_key = RequiredText(fcinfo, 1, "customer key");
	char	   *document;
	char	   *branch = OptionalText(fcinfo, 4);
	Numeric		bill_num;
	int64		bill;
	int64		program_id;
	int64		member_id;
	WalletState w;
	WalletLevel *levels;
	int			nlevels;
	WalletLevel *held;
	WalletLevel *reached = NULL;
	int64		cashback = 0;
	int64		balance;
	char	   *level_name = NULL;
	char	   *vip_card = NULL;
	Oid			ptypes[3] = {INT8OID, INT8OID, TEXTOID};
	Datum		pvalues[3];
	MemoryContext outer = CurrentMemoryContext;
	TupleDesc	desc;
	Datum		values[4];
	bool		nulls[4] = {false, false, false, false};

	if (PG_ARGISNULL(2) || PG_ARGISNULL(3))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("bill amount and document must not be null")));
	document = text_to_cstring(PG_GETARG_TEXT_PP(2));
	bill_num = PG_GETARG_NUMERIC(3);
	bill = MoneyFromNumeric(bill_num, "bill amount");
	if (bill < 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("a bill amount must not be negative")));
	if (get_call_result_type(fcinfo, NULL, &desc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");
	desc = BlessTupleDesc(desc);

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	StoredMember(program, customer_key, &program_id, &member_id);
	WalletLockState(member_id, program_id, true, CustomerLabel(customer_key), &w);
	balance = w.balance;
	levels = LoadLevels(program_id, &nlevels);

	LoyaltyPlan(&PriorPurchasePlan,
				"SELECT bill_amount, cashback FROM loyalty.wallet_purchase"
				" WHERE member_id = $1 AND program_id = $2 AND document = $3",
				3, ptypes);
	pvalues[0] = Int64GetDatum(member_id);
	pvalues[1] = Int64GetDatum(program_id);
	pvalues[2] = CStringGetTextDatum(document);
	LoyaltyExec(PriorPurchasePlan, pvalues, NULL, false, 1);
	if (SPI_processed > 0)
	{
		HeapTuple	t = SPI_tuptable->vals[0];
		TupleDesc	d = SPI_tuptable->tupdesc;
		bool		isnull;
		int64		prior_bill = MoneyFromNumeric(DatumGetNumeric(SPI_getbinval(t, d, 1, &isnull)), "bill");

		if (prior_bill != bill)
			ereport(ERROR,
					(errcode(ERRCODE_STORED_CONFLICT),
					 errmsg("bill \"%s\" was already recorded with a different amount", document),
					 errdetail("The first bill was %s, this one is %s.", SPI_getvalue(t, d, 1),
							   DatumGetCString(DirectFunctionCall1(numeric_out, NumericGetDatum(bill_num))))));
		cashback = MoneyFromNumeric(DatumGetNumeric(SPI_getbinval(t, d, 2, &isnull)), "cash-back");
		reached = w.has_level ? LevelOfRank(levels, nlevels, w.level_rank) : NULL;
		vip_card = ConversionCard(member_id, document, false);
	}
	else
	{
		int64		revenue;
		int32		new_rank;
		bool		has_rank;
		Oid			rtypes[4] = {INT8OID, NUMERICOID, INT4OID, BOOLOID};
		Datum		rvalues[4];
		int			i;

		held = w.has_level ? LevelOfRank(levels, nlevels, w.level_rank) :
			LevelOfRevenue(levels, nlevels, w.revenue);
		if (held != NULL)
			cashback = StoredPercentOf(bill, held->cashback_percent);
		{
			Oid			types7[7] = {INT8OID, INT8OID, TEXTOID, NUMERICOID, NUMERICOID, TEXTOID, INT4OID};
			Datum		v7[7];
			char		n7[7] = {' ', ' ', ' ', ' ', ' ', ' ', ' '};

			LoyaltyPlan(&PurchasePlan,
						"INSERT INTO loyalty.wallet_purchase (member_id, program_id, document, bill_amount,"
						" cashback, branch, level_rank) VALUES ($1, $2, $3, $4, $5, $6, $7)",
						7, types7);
			v7[0] = Int64GetDatum(member_id);
			v7[1] = Int64GetDatum(program_id);
			v7[2] = CStringGetTextDatum(document);
			v7[3] = NumericGetDatum(bill_num);
			v7[4] = NumericGetDatum(MoneyToNumeric(cashback));
			v7[5] = LoyaltyTextOrNull(branch, &n7[5]);
			v7[6] = Int32GetDatum(held ? held->rank : 0);
			n7[6] = held ? ' ' : 'n';
			LoyaltyExec(PurchasePlan, v7, n7, false, 0);
		}
		if (cashback > 0)
			balance = WalletPost(member_id, program_id, "cashback", cashback, document, NULL, branch, bill_num);

		/* level-up by revenue; levels are never lost */
		revenue = w.revenue + bill;
		reached = LevelOfRevenue(levels, nlevels, revenue);
		has_rank = reached != NULL || w.has_level;
		new_rank = reached ? reached->rank : 0;
		if (w.has_level && (reached == NULL || w.level_rank > new_rank))
			new_rank = w.level_rank;
		reached = has_rank ? LevelOfRank(levels, nlevels, new_rank) : NULL;
		LoyaltyPlan(&RevenuePlan,
					"UPDATE loyalty.wallet SET revenue = revenue + $2,"
					" level_rank = CASE WHEN $4 THEN $3 END, updated_at = now() WHERE member_id = $1",
					4, rtypes);
		rvalues[0] = Int64GetDatum(member_id);
		rvalues[1] = NumericGetDatum(bill_num);
		rvalues[2] = Int32GetDatum(new_rank);
		rvalues[3] = BoolGetDatum(has_rank);
		LoyaltyExec(RevenuePlan, rvalues, NULL, false, 0);

		/* the first converts_to_vip level reached turns the card into a VIP card, once */
		for (i = 0; has_rank && i < nlevels && levels[i].rank <= new_rank; i++)
		{
			if (!levels[i].converts_to_vip)
				continue;
			if (ConversionCard(member_id, document, true) == NULL)
				vip_card = ConvertToVip(member_id, program_id, &levels[i], new_rank, document);
			break;
		}
	}
	if (reached != NULL)
		level_name = MemoryContextStrdup(outer, reached->name);
	if (vip_card != NULL)
		vip_card = MemoryContextStrdup(outer, vip_card);
	SPI_finish();

	values[0] = NumericGetDatum(MoneyToNumeric(cashback));
	values[1] = level_name ? CStringGetTextDatum(level_name) : (Datum) 0;
	nulls[1] = level_name == NULL;
	values[2] = NumericGetDatum(MoneyToNumeric(balance));
	values[3] = vip_card ? CStringGetTextDatum(vip_card) : (Datum) 0;
	nulls[3] = vip_card == NULL;
	return HeapTupleGetDatum(heap_form_tuple(desc, values, nulls));
}
