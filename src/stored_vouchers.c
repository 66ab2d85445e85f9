/*
 * stored_vouchers.c
 *		Checking and redeeming vouchers, coupons and gift certificates.
 *
 * A code that cannot be used is an answer, not an error: PostgreSQL has no
 * autonomous transactions, so raising would also roll back the record of a
 * failed look-up that throttling counts.  voucher_check() and
 * voucher_redeem() return (ok, amount, reason, sqlstate, message, suffix,
 * kind); they raise only for bad arguments, a conflicting retry (LS001) and
 * a throttled till (LS015).  See doc/stored.md.
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "funcapi.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"
#include "utils/lsyscache.h"
#include "utils/numeric.h"

#include "code.h"
#include "errcodes_stored.h"
#include "money.h"
#include "spi_util.h"
#include "stored.h"

PG_FUNCTION_INFO_V1(stored_voucher_check);
PG_FUNCTION_INFO_V1(stored_voucher_redeem);

static SPIPlanPtr ThrottlePlan = NULL;
static SPIPlanPtr FailurePlan = NULL;
static SPIPlanPtr ByDigestPlan = NULL;
static SPIPlanPtr ByDigestLockPlan = NULL;
static SPIPlanPtr ByCodePlan = NULL;
static SPIPlanPtr ByCodeLockPlan = NULL;
static SPIPlanPtr OpenUsePlan = NULL;
static SPIPlanPtr MemberPlan = NULL;
static SPIPlanPtr LinesPlan = NULL;
static SPIPlanPtr UsePlan = NULL;
static SPIPlanPtr AppliedPlan = NULL;

/* The columns every voucher look-up returns */
#define VOUCHER_COLUMNS \
	"SELECT v.voucher_id, v.program_id, v.member_id, v.suffix, now() < v.valid_from," \
	" v.valid_to IS NOT NULL AND now() >= v.valid_to, t.kind, t.code, t.face_value," \
	" t.discount_percent, t.discount_amount, t.max_bill_percent, t.branches, t.allowed_groups," \
	" t.excluded_groups FROM loyalty.voucher v JOIN loyalty.voucher_type t ON t.type_id = v.type_id"

/* The arguments of a check or a redemption */
typedef struct VoucherRequest
{
	const char *code;
	const char *document;		/* NULL for a check */
	const char *branch;
	bool		has_bill_total;
	Numeric		bill_total;
	Jsonb	   *lines;			/* NULL when only a total is given */
	const char *till;			/* NULL when not given */
	const char *till_key;		/* the till, else the branch: the throttling key */
	const char *customer_key;
	bool		redeem;
} VoucherRequest;

/* The answer */
typedef struct VoucherOutcome
{
	bool		ok;
	bool		has_amount;
	int64		amount;
	const char *reason;
	const char *sqlstate;
	const char *message;
	const char *suffix;
	const char *kind;
} VoucherOutcome;

/* A voucher as the look-up found it */
typedef struct VoucherRow
{
	int64		voucher_id;
	int64		program_id;
	bool		has_member;
	int64		member_id;
	char	   *suffix;
	bool		not_yet_valid;
	bool		expired;
	char	   *kind;
	char	   *type_code;
	StoredVoucherValue value;
	bool		has_branches;
	Datum	   *branches;
	int			nbranches;
	bool		has_allowed;
	Datum	   *allowed;
	int			nallowed;
	Datum	   *excluded;
	int			nexcluded;
} VoucherRow;

/* A text[] column as its elements; false when NULL */
static bool
TextArrayColumn(HeapTuple t, TupleDesc d, int attno, Datum **elems, int *n)
{
	bool		isnull;
	Datum		v = SPI_getbinval(t, d, attno, &isnull);
	bool	   *nulls;

	*elems = NULL;
	*n = 0;
	if (isnull)
		return false;
	deconstruct_array(DatumGetArrayTypeP(v), TEXTOID, -1, false, TYPALIGN_INT, elems, &nulls, n);
	return true;
}

/* Whether str is one of the text elements */
static bool
InTextArray(const char *str, Datum *elems, int n)
{
	int			i;

	if (str == NULL)
		return false;
	for (i = 0; i < n; i++)
		if (strcmp(TextDatumGetCString(elems[i]), str) == 0)
			return true;
	return false;
}

/* Optional numeric column in hundredths (scale_digits 2) or ten-thousandths (4) */
static bool
ScaledColumn(HeapTuple t, TupleDesc d, int attno, int scale_digits, int64 *result)
{
	bool		isnull;
	Datum		v = SPI_getbinval(t, d, attno, &isnull);

	*result = isnull ? 0 : ScaledFromNumeric(DatumGetNumeric(v), scale_digits, "voucher type value");
	return !isnull;
}

/* Raise LS015 when the till made too many failed look-ups within the window */
static void
CheckThrottle(const char *till_key)
{
	Oid			types[1] = {TEXTOID};
	Datum		values[1];
	HeapTuple	t;
	TupleDesc	d;
	int64		max_failures;
	int64		failures;

	LoyaltyPlan(&ThrottlePlan,
				"SELECT t.max_failures::bigint, (SELECT count(*) FROM loyalty.voucher_failure f"
				" WHERE f.till_key = $1 AND f.failed_at > clock_timestamp() - t.failure_window),"
				" t.failure_window FROM (SELECT x.max_failures, x.failure_window"
				" FROM loyalty.voucher_throttle x UNION ALL SELECT 5, interval '1 minute'"
				" WHERE NOT EXISTS (SELECT 1 FROM loyalty.voucher_throttle)) t",
				1, types);
	values[0] = CStringGetTextDatum(till_key);
	LoyaltyExec(ThrottlePlan, values, NULL, true, 1);
	if (SPI_processed == 0)
		return;
	t = SPI_tuptable->vals[0];
	d = SPI_tuptable->tupdesc;
	max_failures = LoyaltyGetInt64(t, d, 1, PG_INT64_MAX);
	failures = LoyaltyGetInt64(t, d, 2, 0);
	if (failures >= max_failures)
		ereport(ERROR,
				(errcode(ERRCODE_STORED_TOO_MANY_FAILURES),
				 errmsg("too many failed attempts"),
				 errdetail("Till \"%s\" had " INT64_FORMAT " failed code look-ups within %s.",
						   till_key, failures, SPI_getvalue(t, d, 3)),
				 errhint("Wait until the window passes, then try again.")));
}

/* Record a failed look-up of the till */
static void
RecordFailure(const char *till_key, const char *reason)
{
	Oid			types[2] = {TEXTOID, TEXTOID};
	Datum		values[2];

	LoyaltyPlan(&FailurePlan,
				"INSERT INTO loyalty.voucher_failure (till_key, reason) VALUES ($1, $2)",
				2, types);
	values[0] = CStringGetTextDatum(till_key);
	values[1] = CStringGetTextDatum(reason);
	LoyaltyExec(FailurePlan, values, NULL, false, 0);
}

/* Find a code (locking its row for a redemption); false when there is none */
static bool
FindVoucher(const LoyaltyCode *code, bool lock, VoucherRow *v)
{
	Oid			dtypes[1] = {BYTEAOID};
	Oid			ctypes[1];
	Datum		values[1];
	SPIPlanPtr	plan;
	HeapTuple	t;
	TupleDesc	d;

	plan = lock ?
		LoyaltyPlan(&ByDigestLockPlan, VOUCHER_COLUMNS " WHERE v.digest = $1 FOR UPDATE OF v", 1, dtypes) :
		LoyaltyPlan(&ByDigestPlan, VOUCHER_COLUMNS " WHERE v.digest = $1", 1, dtypes);
	values[0] = PointerGetDatum(StoredCodeDigest(code));
	LoyaltyExec(plan, values, NULL, false, 1);
	if (SPI_processed == 0)
	{
		ctypes[0] = LoyaltyTypeOid("code");
		plan = lock ?
			LoyaltyPlan(&ByCodeLockPlan, VOUCHER_COLUMNS " WHERE v.code OPERATOR(loyalty.=) $1 FOR UPDATE OF v",
						1, ctypes) :
			LoyaltyPlan(&ByCodePlan, VOUCHER_COLUMNS " WHERE v.code OPERATOR(loyalty.=) $1", 1, ctypes);
		values[0] = PointerGetDatum(code);
		LoyaltyExec(plan, values, NULL, false, 1);
		if (SPI_processed == 0)
			return false;
	}
	t = SPI_tuptable->vals[0];
	d = SPI_tuptable->tupdesc;
	memset(v, 0, sizeof(*v));
	v->voucher_id = LoyaltyGetInt64(t, d, 1, 0);
	v->program_id = LoyaltyGetInt64(t, d, 2, 0);
	v->member_id = LoyaltyGetInt64(t, d, 3, 0);
	v->has_member = v->member_id != 0;
	v->suffix = SPI_getvalue(t, d, 4);
	v->not_yet_valid = LoyaltyGetBool(t, d, 5);
	v->expired = LoyaltyGetBool(t, d, 6);
	v->kind = SPI_getvalue(t, d, 7);
	v->type_code = SPI_getvalue(t, d, 8);
	v->value.has_face_value = ScaledColumn(t, d, 9, 2, &v->value.face_value);
	v->value.has_discount_percent = ScaledColumn(t, d, 10, 4, &v->value.discount_percent);
	v->value.has_discount_amount = ScaledColumn(t, d, 11, 2, &v->value.discount_amount);
	v->value.has_max_bill_percent = ScaledColumn(t, d, 12, 4, &v->value.max_bill_percent);
	v->has_branches = TextArrayColumn(t, d, 13, &v->branches, &v->nbranches);
	v->has_allowed = TextArrayColumn(t, d, 14, &v->allowed, &v->nallowed);
	TextArrayColumn(t, d, 15, &v->excluded, &v->nexcluded);
	return true;
}

/* The member of a customer key in a program, 0 when none */
static int64
MemberOf(int64 program_id, const char *customer_key)
{
	Oid			types[2] = {INT8OID, TEXTOID};
	Datum		values[2];

	LoyaltyPlan(&MemberPlan,
				"SELECT member_id FROM loyalty.member_key WHERE program_id = $1 AND customer_key = $2",
				2, types);
	values[0] = Int64GetDatum(program_id);
	values[1] = CStringGetTextDatum(customer_key);
	LoyaltyExec(MemberPlan, values, NULL, true, 1);
	return SPI_processed == 0 ? 0 :
		LoyaltyGetInt64(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, 0);
}

/* The bill and the part of it the code may pay, in hundredths */
static void
BillAmounts(const VoucherRequest *r, const VoucherRow *v, int64 *bill, int64 *eligible)
{
	Oid			types[1] = {JSONBOID};
	Datum		values[1];
	uint64		i;

	if (r->lines == NULL)
	{
		if (v->has_allowed || v->nexcluded > 0)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("voucher type \"%s\" limits the goods it pays for, so the bill lines are needed",
							v->type_code),
					 errhint("Pass the lines as [{\"sku\": ..., \"group\": ..., \"amount\": ...}].")));
		*bill = *eligible = MoneyFromNumeric(r->bill_total, "bill total");
		return;
	}
	LoyaltyPlan(&LinesPlan,
				"SELECT l->>'sku', l->>'group', (l->>'amount')::numeric FROM pg_catalog.jsonb_array_elements($1) l",
				1, types);
	values[0] = JsonbPGetDatum(r->lines);
	LoyaltyExec(LinesPlan, values, NULL, true, 0);
	*bill = *eligible = 0;
	for (i = 0; i < SPI_processed; i++)
	{
		HeapTuple	t = SPI_tuptable->vals[i];
		TupleDesc	d = SPI_tuptable->tupdesc;
		char	   *sku = SPI_getvalue(t, d, 1);
		char	   *group = SPI_getvalue(t, d, 2);
		bool		isnull;
		Datum		a = SPI_getbinval(t, d, 3, &isnull);
		int64		amount;

		if (isnull)
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("bill line %d has no amount", (int) i + 1)));
		amount = MoneyFromNumeric(DatumGetNumeric(a), "bill line amount");
		*bill += amount;
		if ((!v->has_allowed || InTextArray(group, v->allowed, v->nallowed) ||
			 InTextArray(sku, v->allowed, v->nallowed)) &&
			!InTextArray(group, v->excluded, v->nexcluded) &&
			!InTextArray(sku, v->excluded, v->nexcluded))
			*eligible += amount;
	}
	if (r->has_bill_total && MoneyFromNumeric(r->bill_total, "bill total") != *bill)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("bill total %s does not match the sum of its lines %s",
						DatumGetCString(DirectFunctionCall1(numeric_out, NumericGetDatum(r->bill_total))),
						DatumGetCString(DirectFunctionCall1(numeric_out,
															NumericGetDatum(MoneyToNumeric(*bill)))))));
	if (*eligible < 0)
		*eligible = 0;
}

/* Record a redemption */
static void
InsertUse(const VoucherRequest *r, const VoucherRow *v, int64 bill, int64 eligible, int64 amount)
{
	Oid			types[9] = {INT8OID, INT8OID, TEXTOID, TEXTOID, TEXTOID, NUMERICOID, NUMERICOID,
	NUMERICOID, NUMERICOID};
	Datum		values[9];
	char		nulls[9] = {' ', ' ', ' ', ' ', ' ', ' ', ' ', ' ', ' '};
	int64		value;
	int64		forfeited = 0;

	if (strcmp(v->kind, "coupon") != 0)
	{
		value = v->value.has_face_value ? v->value.face_value :
			v->value.has_discount_amount ? v->value.discount_amount : amount;
		forfeited = Max(value - amount, 0);
	}
	LoyaltyPlan(&UsePlan,
				"INSERT INTO loyalty.voucher_use (voucher_id, program_id, document, branch, till,"
				" bill_total, eligible, amount, forfeited) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
				9, types);
	values[0] = Int64GetDatum(v->voucher_id);
	values[1] = Int64GetDatum(v->program_id);
	values[2] = CStringGetTextDatum(r->document);
	values[3] = LoyaltyTextOrNull(r->branch, &nulls[3]);
	values[4] = LoyaltyTextOrNull(r->till, &nulls[4]);
	values[5] = NumericGetDatum(MoneyToNumeric(bill));
	values[6] = NumericGetDatum(MoneyToNumeric(eligible));
	values[7] = NumericGetDatum(MoneyToNumeric(amount));
	values[8] = NumericGetDatum(MoneyToNumeric(forfeited));
	LoyaltyExec(UsePlan, values, nulls, false, 0);
}

/* A failed outcome */
static void
Fail(VoucherOutcome *o, const char *reason, const char *sqlstate, const char *message)
{
	o->ok = false;
	o->reason = reason;
	o->sqlstate = sqlstate;
	o->message = message;
}

/* Decide (and for a redemption, record) what a code does to a bill; SPI connected */
static void
Evaluate(const VoucherRequest *r, VoucherOutcome *o)
{
	LoyaltyCode code;
	VoucherRow	v;
	Oid			types[1] = {INT8OID};
	Datum		values[1];
	int64		bill;
	int64		eligible;
	int64		amount;

	memset(o, 0, sizeof(*o));
	CheckThrottle(r->till_key);
	if (r->code == NULL || !LoyaltyCodeParse(r->code, &code, NULL) || !FindVoucher(&code, r->redeem, &v))
	{
		RecordFailure(r->till_key, "wrong");
		Fail(o, "wrong", "LS010", "the code is not a valid voucher, coupon or gift certificate");
		return;
	}
	o->suffix = v.suffix;
	o->kind = v.kind;

	/* an open use: the same redemption retried, or a used code */
	LoyaltyPlan(&OpenUsePlan,
				"SELECT document, bill_total, amount, to_char(used_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI')"
				" FROM loyalty.voucher_use WHERE voucher_id = $1 AND voided_at IS NULL",
				1, types);
	values[0] = Int64GetDatum(v.voucher_id);
	LoyaltyExec(OpenUsePlan, values, NULL, false, 1);
	if (SPI_processed > 0)
	{
		HeapTuple	t = SPI_tuptable->vals[0];
		TupleDesc	d = SPI_tuptable->tupdesc;
		char	   *document = SPI_getvalue(t, d, 1);
		bool		isnull;

		if (r->redeem && strcmp(document, r->document) == 0)
		{
			Numeric		prior_bill = DatumGetNumeric(SPI_getbinval(t, d, 2, &isnull));

			if (r->has_bill_total &&
				MoneyFromNumeric(prior_bill, "bill total") != MoneyFromNumeric(r->bill_total, "bill total"))
				ereport(ERROR,
						(errcode(ERRCODE_STORED_CONFLICT),
						 errmsg("code ****-%s was already redeemed on document \"%s\" with a different bill",
								v.suffix, r->document),
						 errdetail("The first redemption had a bill of %s, this one %s.",
								   SPI_getvalue(t, d, 2),
								   DatumGetCString(DirectFunctionCall1(numeric_out,
																	   NumericGetDatum(r->bill_total))))));
			o->ok = true;
			o->has_amount = true;
			o->amount = MoneyFromNumeric(DatumGetNumeric(SPI_getbinval(t, d, 3, &isnull)), "amount");
			o->reason = "ok";
			o->sqlstate = "00000";
			o->message = "already redeemed on this document";
			return;
		}
		Fail(o, "used", "LS012", psprintf("the code was already used on %s", SPI_getvalue(t, d, 4)));
		return;
	}
	if (v.not_yet_valid)
	{
		Fail(o, "not_yet_valid", "LS014", "the code is not valid yet");
		return;
	}
	if (v.expired)
	{
		Fail(o, "expired", "LS011", "the code has expired");
		return;
	}
	if (v.has_branches && !InTextArray(r->branch, v.branches, v.nbranches))
	{
		Fail(o, "wrong_branch", "LS013",
			 psprintf("the code is not accepted at branch %s", r->branch ? r->branch : "(none)"));
		return;
	}
	if (v.has_member && r->customer_key != NULL &&
		MemberOf(v.program_id, r->customer_key) != v.member_id)
	{
		Fail(o, "wrong_member", "LS017", "the code was issued to another member");
		return;
	}

	BillAmounts(r, &v, &bill, &eligible);
	if (r->document != NULL)
	{
		/* codes already used on this bill: together they never pay more than it */
		Oid			atypes[2] = {INT8OID, TEXTOID};
		Datum		avalues[2];
		bool		isnull;
		Datum		applied;

		LoyaltyPlan(&AppliedPlan,
					"SELECT coalesce(sum(amount), 0) FROM loyalty.voucher_use"
					" WHERE program_id = $1 AND document = $2 AND voided_at IS NULL",
					2, atypes);
		avalues[0] = Int64GetDatum(v.program_id);
		avalues[1] = CStringGetTextDatum(r->document);
		LoyaltyExec(AppliedPlan, avalues, NULL, false, 1);
		applied = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
		eligible = Min(eligible, bill - MoneyFromNumeric(DatumGetNumeric(applied), "applied amount"));
		eligible = Max(eligible, 0);
	}
	amount = StoredVoucherAmount(&v.value, eligible, bill);
	if (amount <= 0)
	{
		Fail(o, "not_applicable", "LS016", "the code pays for nothing on this bill");
		return;
	}
	if (r->redeem)
		InsertUse(r, &v, bill, eligible, amount);
	o->ok = true;
	o->has_amount = true;
	o->amount = amount;
	o->reason = "ok";
	o->sqlstate = "00000";
}

/* Read the arguments, check them, evaluate, and form the voucher_result row */
static Datum
CheckOrRedeem(FunctionCallInfo fcinfo, bool redeem)
{
	int			a = redeem ? 1 : 0;	/* redeem has a document argument after the code */
	VoucherRequest r;
	VoucherOutcome o;
	MemoryContext outer = CurrentMemoryContext;
	TupleDesc	desc;
	Datum		values[7];
	bool		nulls[7];
	const char *texts[5];
	int			i;

	memset(&r, 0, sizeof(r));
	r.redeem = redeem;
	r.code = PG_ARGISNULL(0) ? NULL : text_to_cstring(PG_GETARG_TEXT_PP(0));
	if (redeem)
	{
		if (PG_ARGISNULL(1))
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("a redemption needs a document")));
		r.document = text_to_cstring(PG_GETARG_TEXT_PP(1));
	}
	r.branch = PG_ARGISNULL(a + 1) ? NULL : text_to_cstring(PG_GETARG_TEXT_PP(a + 1));
	r.has_bill_total = !PG_ARGISNULL(a + 2);
	r.bill_total = r.has_bill_total ? PG_GETARG_NUMERIC(a + 2) : NULL;
	r.lines = PG_ARGISNULL(a + 3) ? NULL : PG_GETARG_JSONB_P(a + 3);
	r.till = PG_ARGISNULL(a + 4) ? NULL : text_to_cstring(PG_GETARG_TEXT_PP(a + 4));
	r.till_key = r.till ? r.till : r.branch ? r.branch : "";
	r.customer_key = PG_ARGISNULL(a + 5) ? NULL : text_to_cstring(PG_GETARG_TEXT_PP(a + 5));

	if (!r.has_bill_total && r.lines == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("a bill total or bill lines are needed")));
	if (r.lines != NULL && (!JB_ROOT_IS_ARRAY(r.lines) || JB_ROOT_IS_SCALAR(r.lines)))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("bill lines must be a JSON array"),
				 errhint("Pass [{\"sku\": \"A1\", \"group\": \"food\", \"amount\": 120000}, ...].")));
	if (r.has_bill_total && MoneyFromNumeric(r.bill_total, "bill total") < 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("a bill total must not be negative")));
	if (get_call_result_type(fcinfo, NULL, &desc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");
	desc = BlessTupleDesc(desc);

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	Evaluate(&r, &o);
	texts[0] = o.reason;
	texts[1] = o.sqlstate;
	texts[2] = o.message;
	texts[3] = o.suffix;
	texts[4] = o.kind;
	for (i = 0; i < 5; i++)
		texts[i] = texts[i] ? MemoryContextStrdup(outer, texts[i]) : NULL;
	SPI_finish();

	memset(nulls, false, sizeof(nulls));
	values[0] = BoolGetDatum(o.ok);
	values[1] = o.has_amount ? NumericGetDatum(MoneyToNumeric(o.amount)) :
		DirectFunctionCall1(int4_numeric, Int32GetDatum(0));
	for (i = 0; i < 5; i++)
	{
		nulls[i + 2] = texts[i] == NULL;
		values[i + 2] = texts[i] ? CStringGetTextDatum(texts[i]) : (Datum) 0;
	}
	return HeapTupleGetDatum(heap_form_tuple(desc, values, nulls));
}

/* SQL: loyalty.voucher_check(code, branch, bill_total, lines, till, customer_key) */
Datum
stored_voucher_check(PG_FUNCTION_ARGS)
{
	return CheckOrRedeem(fcinfo, false);
}

/* SQL: loyalty.voucher_redeem(code, document, branch, bill_total, lines, till, customer_key) */
Datum
stored_voucher_redeem(PG_FUNCTION_ARGS)
{
	return CheckOrRedeem(fcinfo, true);
}
