/*
 * stored.c
 *		Stored value: keyed digests of bearer codes, the install secret, and
 *		the exact money arithmetic of vouchers, top-up bonuses and cash-back.
 *
 * Bearer-value codes (vouchers, gift certificates) are never stored in
 * clear: loyalty.voucher keeps HMAC-SHA256(secret, code bytes), the secret
 * living in loyalty.secret, readable only by the extension owner.
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "common/cryptohash.h"
#include "common/hmac.h"
#include "common/int.h"
#include "executor/spi.h"
#include "port/pg_bswap.h"
#include "utils/builtins.h"
#include "utils/numeric.h"

#include "compat.h"
#include "code.h"
#include "errcodes.h"
#include "errcodes_stored.h"
#include "money.h"
#include "rules.h"
#include "spi_util.h"
#include "stored.h"

PG_FUNCTION_INFO_V1(stored_random_bytes);
PG_FUNCTION_INFO_V1(stored_code_digest);
PG_FUNCTION_INFO_V1(stored_percent_of);
PG_FUNCTION_INFO_V1(stored_voucher_amount);

#define STORED_DIGEST_LEN 32

static SPIPlanPtr CreateSecretPlan = NULL;
static SPIPlanPtr SecretPlan = NULL;
static SPIPlanPtr MemberKeyPlan = NULL;

/* SQL: loyalty.stored_random_bytes(n) n bytes from the strong random source */
Datum
stored_random_bytes(PG_FUNCTION_ARGS)
{
	int32		n = PG_GETARG_INT32(0);
	bytea	   *result;

	if (n < 1 || n > 1024)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("random byte count must be between 1 and 1024")));
	result = (bytea *) palloc(VARHDRSZ + n);
	SET_VARSIZE(result, VARHDRSZ + n);
	if (!pg_strong_random(VARDATA(result), n))
		ereport(ERROR,
				(errcode(ERRCODE_INTERNAL_ERROR),
				 errmsg("could not generate random bytes")));
	PG_RETURN_BYTEA_P(result);
}

/* The code-digest secret from loyalty.secret, palloc'd in the caller's context */
static bytea *
FetchSecret(void)
{
	bool		isnull;
	Datum		d;
	bytea	   *secret;
	MemoryContext caller = CurrentMemoryContext;

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	LoyaltyPlan(&SecretPlan,
				"SELECT value FROM loyalty.secret WHERE name = 'code_digest'", 0, NULL);
	LoyaltyExec(SecretPlan, NULL, NULL, true, 1);
	if (SPI_processed == 0)
	{
		/*
		 * The secret is made on first use, not by CREATE EXTENSION, so a
		 * restore brings back the dumped one instead of clashing with a
		 * fresh one.  It is never made again once digests exist.
		 */
		LoyaltyPlan(&CreateSecretPlan,
					"INSERT INTO loyalty.secret (name, value) "
					"SELECT 'code_digest', loyalty.stored_random_bytes(32) "
					"WHERE NOT EXISTS (SELECT 1 FROM loyalty.voucher WHERE digest IS NOT NULL) "
					"ON CONFLICT (name) DO NOTHING", 0, NULL);
		LoyaltyExec(CreateSecretPlan, NULL, NULL, false, 0);
		LoyaltyExec(SecretPlan, NULL, NULL, false, 1);
	}
	if (SPI_processed == 0)
		ereport(ERROR,
				(errcode(ERRCODE_STORED_NO_SECRET),
				 errmsg("the code digest secret is missing"),
				 errdetail("loyalty.secret has no row named code_digest."),
				 errhint("Restore loyalty.secret from a backup; without it issued vouchers cannot be recognised.")));
	d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
	if (isnull)
		elog(ERROR, "code digest secret is null");
	{
		MemoryContext spi = MemoryContextSwitchTo(caller);

		secret = DatumGetByteaPCopy(d);
		MemoryContextSwitchTo(spi);
	}
	SPI_finish();
	return secret;
}

/* HMAC-SHA256 of a code's 16 bytes under the install secret, palloc'd */
bytea *
StoredCodeDigest(const LoyaltyCode *code)
{
	bytea	   *secret = FetchSecret();
	pg_hmac_ctx *ctx;
	bytea	   *result;

	result = (bytea *) palloc(VARHDRSZ + STORED_DIGEST_LEN);
	SET_VARSIZE(result, VARHDRSZ + STORED_DIGEST_LEN);
	ctx = pg_hmac_create(PG_SHA256);
	if (ctx == NULL)
		elog(ERROR, "out of memory creating an HMAC context");
	if (pg_hmac_init(ctx, (const uint8 *) VARDATA_ANY(secret), VARSIZE_ANY_EXHDR(secret)) < 0 ||
		pg_hmac_update(ctx, (const uint8 *) code, sizeof(LoyaltyCode)) < 0 ||
		pg_hmac_final(ctx, (uint8 *) VARDATA(result), STORED_DIGEST_LEN) < 0)
	{
		const char *msg = pg_hmac_error(ctx);

		pg_hmac_free(ctx);
		elog(ERROR, "could not compute a code digest: %s", msg);
	}
	pg_hmac_free(ctx);
	pfree(secret);
	return result;
}

/* SQL: loyalty.code_digest(code) HMAC-SHA256 of the code's 16 bytes under the install secret */
Datum
stored_code_digest(PG_FUNCTION_ARGS)
{
	PG_RETURN_BYTEA_P(StoredCodeDigest(PG_GETARG_LOYALTY_CODE_P(0)));
}

/* percent (ten-thousandths of a percent) of amount (hundredths), rounded down to a hundredth */
int64
StoredPercentOf(int64 amount, int64 percent4)
{
	int128		p = (int128) amount * percent4;

	p /= (int128) 1000000;		/* 100 percent * 10^4 */
	if (p > PG_INT64_MAX || p < PG_INT64_MIN)
		ereport(ERROR,
				(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
				 errmsg("percentage amount is out of range")));
	return (int64) p;
}

/* SQL: loyalty.stored_percent_of(amount, percent) exact percent of money, rounded down to a hundredth */
Datum
stored_percent_of(PG_FUNCTION_ARGS)
{
	int64		amount = MoneyFromNumeric(PG_GETARG_NUMERIC(0), "amount");
	int64		percent = ScaledFromNumeric(PG_GETARG_NUMERIC(1), 4, "percent");

	PG_RETURN_NUMERIC(MoneyToNumeric(StoredPercentOf(amount, percent)));
}

/*
 * What a code takes off a bill (hundredths): its value (face value, fixed
 * discount, or percent of the eligible part), never more than the eligible
 * part, nor than max_bill_percent of the whole bill.  No change is given.
 */
int64
StoredVoucherAmount(const StoredVoucherValue *v, int64 eligible, int64 bill)
{
	int64		value = 0;
	int64		applied;

	if (v->has_face_value)
		value = v->face_value;
	else if (v->has_discount_amount)
		value = v->discount_amount;
	else if (v->has_discount_percent)
		value = StoredPercentOf(eligible, v->discount_percent);
	applied = Min(value, eligible);
	if (v->has_max_bill_percent)
		applied = Min(applied, StoredPercentOf(bill, v->max_bill_percent));
	return Max(applied, 0);
}

/*
 * SQL: loyalty.stored_voucher_amount(face_value, discount_percent,
 * discount_amount, eligible, max_bill_percent, bill_total) -> what a code
 * takes off a bill (see StoredVoucherAmount)
 */
Datum
stored_voucher_amount(PG_FUNCTION_ARGS)
{
	StoredVoucherValue v;
	int64		eligible;
	int64		bill;

	if (PG_ARGISNULL(3) || PG_ARGISNULL(5))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("eligible amount and bill total must not be null")));
	eligible = MoneyFromNumeric(PG_GETARG_NUMERIC(3), "eligible amount");
	bill = MoneyFromNumeric(PG_GETARG_NUMERIC(5), "bill total");
	if (eligible < 0 || bill < 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("bill amounts must not be negative")));
	memset(&v, 0, sizeof(v));
	v.has_face_value = !PG_ARGISNULL(0);
	if (v.has_face_value)
		v.face_value = MoneyFromNumeric(PG_GETARG_NUMERIC(0), "face value");
	v.has_discount_percent = !PG_ARGISNULL(1);
	if (v.has_discount_percent)
		v.discount_percent = ScaledFromNumeric(PG_GETARG_NUMERIC(1), 4, "discount percent");
	v.has_discount_amount = !PG_ARGISNULL(2);
	if (v.has_discount_amount)
		v.discount_amount = MoneyFromNumeric(PG_GETARG_NUMERIC(2), "discount amount");
	v.has_max_bill_percent = !PG_ARGISNULL(4);
	if (v.has_max_bill_percent)
		v.max_bill_percent = ScaledFromNumeric(PG_GETARG_NUMERIC(4), 4, "max bill percent");
	PG_RETURN_NUMERIC(MoneyToNumeric(StoredVoucherAmount(&v, eligible, bill)));
}
/* A positive amount with at most two decimals, as hundredths */
int64
StoredPositiveAmount(Numeric num, const char *what)
{
	Datum		rounded = DirectFunctionCall2(numeric_round, NumericGetDatum(num), Int32GetDatum(2));
	Datum		zero = DirectFunctionCall1(int4_numeric, Int32GetDatum(0));

	if (numeric_is_nan(num) || numeric_is_inf(num) ||
		!DatumGetBool(DirectFunctionCall2(numeric_eq, rounded, NumericGetDatum(num))) ||
		!DatumGetBool(DirectFunctionCall2(numeric_gt, NumericGetDatum(num), zero)))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s must be a positive amount in hundredths, not %s", what,
						DatumGetCString(DirectFunctionCall1(numeric_out, NumericGetDatum(num))))));
	return MoneyFromNumeric(num, what);
}

/* The program and member of a customer key (SPI must be connected) */
void
StoredMember(const char *program, const char *customer_key, int64 *program_id, int64 *member_id)
{
	Oid			types[2] = {INT8OID, TEXTOID};
	Datum		values[2];
	ProgramConfig *prog = LoyaltyGetProgramByCode(program);

	*program_id = prog->program_id;
	LoyaltyPlan(&MemberKeyPlan,
				"SELECT member_id FROM loyalty.member_key WHERE program_id = $1 AND customer_key = $2",
				2, types);
	values[0] = Int64GetDatum(prog->program_id);
	values[1] = CStringGetTextDatum(customer_key);
	LoyaltyExec(MemberKeyPlan, values, NULL, true, 1);
	if (SPI_processed == 0)
		ereport(ERROR,
				(errcode(ERRCODE_LOYALTY_UNKNOWN_MEMBER),
				 errmsg("customer \"%s\" is not a member of loyalty program \"%s\"", customer_key, program),
				 errhint("Enroll the customer first with loyalty.enroll().")));
	*member_id = LoyaltyGetInt64(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, 0);
}
