/*
 * redeem_otp.c
 *		One-time codes that confirm a redemption (B3).
 *
 * A code is 6 digits from pg_strong_random(); only SHA-256(salt || code)
 * is stored.  verify_otp() is the only place that counts wrong tries (it
 * returns false instead of raising, so the count survives); redeem() and
 * hold() accept a code only for a request verify_otp() has verified, and
 * compare it again in constant time, so the code cannot be guessed
 * through them either.
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "common/cryptohash.h"
#include "common/sha2.h"
#include "executor/spi.h"
#include "utils/builtins.h"
#include "utils/timestamp.h"

#include "errcodes_redeem.h"
#include "ids.h"
#include "redeem.h"
#include "rules.h"
#include "spi_util.h"

PG_FUNCTION_INFO_V1(redeem_request_otp);
PG_FUNCTION_INFO_V1(redeem_verify_otp);

#define OTP_DIGITS 6
#define OTP_SALT_LEN 16

static SPIPlanPtr SupersedePlan = NULL;
static SPIPlanPtr InsertOtpPlan = NULL;
static SPIPlanPtr OutboxPlan = NULL;
static SPIPlanPtr LatestOtpPlan = NULL;
static SPIPlanPtr UpdateOtpPlan = NULL;

/* SHA-256 of salt || code into out */
static void
OtpHash(const uint8 *salt, int salt_len, const char *code, uint8 *out)
{
	pg_cryptohash_ctx *ctx = pg_cryptohash_create(PG_SHA256);

	if (ctx == NULL ||
		pg_cryptohash_init(ctx) < 0 ||
		pg_cryptohash_update(ctx, salt, salt_len) < 0 ||
		pg_cryptohash_update(ctx, (const uint8 *) code, strlen(code)) < 0 ||
		pg_cryptohash_final(ctx, out, PG_SHA256_DIGEST_LENGTH) < 0)
	{
		pg_cryptohash_free(ctx);
		elog(ERROR, "could not compute a SHA-256 hash");
	}
	pg_cryptohash_free(ctx);
}

/* Compare two byte strings in time that does not depend on where they differ */
static bool
ConstantTimeEqual(const uint8 *a, const uint8 *b, int len)
{
	uint8		diff = 0;
	int			i;

	for (i = 0; i < len; i++)
		diff |= a[i] ^ b[i];
	return diff == 0;
}

/* A bytea Datum of len bytes */
static Datum
ByteaDatum(const uint8 *data, int len)
{
	bytea	   *b = palloc(VARHDRSZ + len);

	SET_VARSIZE(b, VARHDRSZ + len);
	memcpy(VARDATA(b), data, len);
	return PointerGetDatum(b);
}

/* SQL: loyalty.request_otp(program, customer_key, purpose, channel) */
Datum
redeem_request_otp(PG_FUNCTION_ARGS)
{
	ProgramConfig *prog;
	RedeemPolicy policy;
	RedeemMember m;
	char	   *purpose;
	char	   *channel;
	uint32		r;
	char		code[OTP_DIGITS + 1];
	uint8		salt[OTP_SALT_LEN];
	uint8		hash[PG_SHA256_DIGEST_LENGTH];
	int64		otp_id;
	TimestampTz now = GetCurrentTransactionStartTimestamp();
	Oid			sup_types[3] = {INT8OID, INT8OID, TEXTOID};
	Oid			types[9] = {INT8OID, INT8OID, INT8OID, TEXTOID, BYTEAOID, BYTEAOID, TIMESTAMPTZOID,
	INT4OID, INT4OID};
	Oid			out_types[8] = {INT8OID, INT8OID, TEXTOID, TEXTOID, TEXTOID, TEXTOID, TIMESTAMPTZOID, INT8OID};
	Datum		values[9];
	char		nulls[9];

	if (PG_ARGISNULL(0) || PG_ARGISNULL(1) || PG_ARGISNULL(2))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("program, customer key and purpose must not be null")));
	prog = LoyaltyGetProgramByCode(text_to_cstring(PG_GETARG_TEXT_PP(0)));
	purpose = text_to_cstring(PG_GETARG_TEXT_PP(2));
	channel = PG_ARGISNULL(3) ? "sms" : text_to_cstring(PG_GETARG_TEXT_PP(3));

	/* 6 uniform digits: reject the top of the 32-bit range to avoid modulo bias */
	do
	{
		if (!pg_strong_random(&r, sizeof(r)))
			ereport(ERROR,
					(errcode(ERRCODE_INTERNAL_ERROR),
					 errmsg("could not generate a random one-time code")));
	} while (r >= (uint32) 4294000000U);
	snprintf(code, sizeof(code), "%06u", r % 1000000);
	if (!pg_strong_random(salt, sizeof(salt)))
		ereport(ERROR,
				(errcode(ERRCODE_INTERNAL_ERROR),
				 errmsg("could not generate a random salt")));
	OtpHash(salt, sizeof(salt), code, hash);

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	RedeemLoadPolicy(prog->program_id, &policy);
	RedeemFindMember(prog, text_to_cstring(PG_GETARG_TEXT_PP(1)), &m);
	if (strcmp(channel, "sms") == 0 && m.phone == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_REDEEM_OTP_REQUIRED),
				 errmsg("member has no phone number to send a one-time code to"),
				 errhint("Set loyalty.member.phone, or ask for another channel.")));

	/* a new request replaces the member's open ones for the same purpose */
	LoyaltyPlan(&SupersedePlan,
				"UPDATE loyalty.otp_request SET status = 'superseded' WHERE member_id = $1"
				" AND program_id = $2 AND purpose = $3 AND status IN ('open', 'verified')",
				3, sup_types);
	values[0] = Int64GetDatum(m.member_id);
	values[1] = Int64GetDatum(prog->program_id);
	values[2] = CStringGetTextDatum(purpose);
	LoyaltyExec(SupersedePlan, values, NULL, false, 0);

	otp_id = LoyaltyGenerateId();
	LoyaltyPlan(&InsertOtpPlan,
				"INSERT INTO loyalty.otp_request (member_id, otp_id, program_id, purpose, salt, code_hash,"
				" created_at, expires_at, max_tries)"
				" VALUES ($1, $2, $3, $4, $5, $6, $7, $7 + make_interval(mins => $8), $9)",
				9, types);
	values[0] = Int64GetDatum(m.member_id);
	values[1] = Int64GetDatum(otp_id);
	values[2] = Int64GetDatum(prog->program_id);
	values[3] = CStringGetTextDatum(purpose);
	values[4] = ByteaDatum(salt, sizeof(salt));
	values[5] = ByteaDatum(hash, sizeof(hash));
	values[6] = TimestampTzGetDatum(now);
	values[7] = Int32GetDatum(policy.otp_minutes);
	values[8] = Int32GetDatum(policy.otp_max_tries);
	LoyaltyExec(InsertOtpPlan, values, NULL, false, 0);

	LoyaltyPlan(&OutboxPlan,
				"INSERT INTO loyalty.outbox (member_id, program_id, channel, kind, recipient, payload)"
				" VALUES ($1, $2, $3, 'otp', $4, jsonb_build_object('code', $5, 'purpose', $6,"
				" 'expires_at', $7, 'otp_id', $8))",
				8, out_types);
	memset(nulls, ' ', sizeof(nulls));
	values[0] = Int64GetDatum(m.member_id);
	values[1] = Int64GetDatum(prog->program_id);
	values[2] = CStringGetTextDatum(channel);
	values[3] = LoyaltyTextOrNull(strcmp(channel, "email") == 0 ? m.email : m.phone, &nulls[3]);
	values[4] = CStringGetTextDatum(code);
	values[5] = CStringGetTextDatum(purpose);
	values[6] = TimestampTzGetDatum(now + (int64) policy.otp_minutes * USECS_PER_MINUTE);
	values[7] = Int64GetDatum(otp_id);
	LoyaltyExec(OutboxPlan, values, nulls, false, 0);
	explicit_bzero(code, sizeof(code));
	SPI_finish();
	PG_RETURN_INT64(otp_id);
}

/* The newest live request of a member for a purpose, locked; false when none */
typedef struct OtpRow
{
	int64		otp_id;
	bytea	   *salt;
	bytea	   *hash;
	TimestampTz expires_at;
	int32		tries;
	int32		max_tries;
	char	   *status;
} OtpRow;

/* Lock and read the newest request of a member for a purpose */
static bool
LatestOtp(int64 member_id, int64 program_id, const char *purpose, OtpRow *o)
{
	Oid			types[3] = {INT8OID, INT8OID, TEXTOID};
	Datum		values[3];
	HeapTuple	t;
	TupleDesc	d;
	bool		isnull;

	LoyaltyPlan(&LatestOtpPlan,
				"SELECT otp_id, salt, code_hash, expires_at, tries, max_tries, status FROM loyalty.otp_request"
				" WHERE member_id = $1 AND program_id = $2 AND purpose = $3 AND status <> 'superseded'"
				" ORDER BY created_at DESC, otp_id DESC LIMIT 1 FOR UPDATE",
				3, types);
	values[0] = Int64GetDatum(member_id);
	values[1] = Int64GetDatum(program_id);
	values[2] = CStringGetTextDatum(purpose);
	LoyaltyExec(LatestOtpPlan, values, NULL, false, 1);
	if (SPI_processed == 0)
		return false;
	t = SPI_tuptable->vals[0];
	d = SPI_tuptable->tupdesc;
	o->otp_id = LoyaltyGetInt64(t, d, 1, 0);
	o->salt = DatumGetByteaPCopy(SPI_getbinval(t, d, 2, &isnull));
	o->hash = DatumGetByteaPCopy(SPI_getbinval(t, d, 3, &isnull));
	o->expires_at = DatumGetTimestampTz(SPI_getbinval(t, d, 4, &isnull));
	o->tries = DatumGetInt32(SPI_getbinval(t, d, 5, &isnull));
	o->max_tries = DatumGetInt32(SPI_getbinval(t, d, 6, &isnull));
	o->status = LoyaltyGetText(t, d, 7);
	return true;
}

/* Write a request's status and tries */
static void
UpdateOtp(int64 member_id, int64 otp_id, const char *status, int32 tries, bool verified)
{
	Oid			types[5] = {INT8OID, INT8OID, TEXTOID, INT4OID, BOOLOID};
	Datum		values[5];

	LoyaltyPlan(&UpdateOtpPlan,
				"UPDATE loyalty.otp_request SET status = $3, tries = $4,"
				" verified_at = CASE WHEN $5 THEN now() ELSE verified_at END"
				" WHERE member_id = $1 AND otp_id = $2",
				5, types);
	values[0] = Int64GetDatum(member_id);
	values[1] = Int64GetDatum(otp_id);
	values[2] = CStringGetTextDatum(status);
	values[3] = Int32GetDatum(tries);
	values[4] = BoolGetDatum(verified);
	LoyaltyExec(UpdateOtpPlan, values, NULL, false, 0);
}

/* Errors shared by verify and use: no request, locked, used, expired */
static void
CheckOtpUsable(const OtpRow *o, bool found, const char *purpose)
{
	if (!found)
		ereport(ERROR,
				(errcode(ERRCODE_REDEEM_OTP_REQUIRED),
				 errmsg("no one-time code was requested for \"%s\"", purpose),
				 errhint("Send one with loyalty.request_otp().")));
	if (strcmp(o->status, "locked") == 0)
		ereport(ERROR,
				(errcode(ERRCODE_REDEEM_OTP_LOCKED),
				 errmsg("one-time code for \"%s\" is locked after %d wrong tries", purpose, o->tries),
				 errhint("Request a new code with loyalty.request_otp().")));
	if (strcmp(o->status, "used") == 0)
		ereport(ERROR,
				(errcode(ERRCODE_REDEEM_OTP_EXPIRED),
				 errmsg("one-time code for \"%s\" was already used", purpose),
				 errhint("Request a new code with loyalty.request_otp().")));
	if (o->expires_at <= GetCurrentTransactionStartTimestamp())
		ereport(ERROR,
				(errcode(ERRCODE_REDEEM_OTP_EXPIRED),
				 errmsg("one-time code for \"%s\" has expired", purpose),
				 errhint("Request a new code with loyalty.request_otp().")));
}

/* True when code hashes to the request's hash */
static bool
OtpMatches(const OtpRow *o, const char *code)
{
	uint8		hash[PG_SHA256_DIGEST_LENGTH];

	if (VARSIZE_ANY_EXHDR(o->hash) != PG_SHA256_DIGEST_LENGTH)
		elog(ERROR, "one-time code hash has the wrong length");
	OtpHash((const uint8 *) VARDATA_ANY(o->salt), VARSIZE_ANY_EXHDR(o->salt), code, hash);
	return ConstantTimeEqual(hash, (const uint8 *) VARDATA_ANY(o->hash), PG_SHA256_DIGEST_LENGTH);
}

/* SQL: loyalty.verify_otp(program, customer_key, purpose, code) */
Datum
redeem_verify_otp(PG_FUNCTION_ARGS)
{
	ProgramConfig *prog;
	RedeemMember m;
	char	   *purpose;
	char	   *code;
	OtpRow		o;
	bool		found;
	bool		ok;

	if (PG_ARGISNULL(0) || PG_ARGISNULL(1) || PG_ARGISNULL(2) || PG_ARGISNULL(3))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("program, customer key, purpose and code must not be null")));
	prog = LoyaltyGetProgramByCode(text_to_cstring(PG_GETARG_TEXT_PP(0)));
	purpose = text_to_cstring(PG_GETARG_TEXT_PP(2));
	code = text_to_cstring(PG_GETARG_TEXT_PP(3));
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	RedeemFindMember(prog, text_to_cstring(PG_GETARG_TEXT_PP(1)), &m);
	found = LatestOtp(m.member_id, prog->program_id, purpose, &o);
	CheckOtpUsable(&o, found, purpose);
	ok = OtpMatches(&o, code);
	if (ok)
		UpdateOtp(m.member_id, o.otp_id, "verified", o.tries, strcmp(o.status, "open") == 0);
	else
		UpdateOtp(m.member_id, o.otp_id, o.tries + 1 >= o.max_tries ? "locked" : o.status,
				  o.tries + 1, false);
	SPI_finish();
	PG_RETURN_BOOL(ok);
}

/*
 * A redemption or hold that needs a code: the newest request for the bill
 * must be verified and the code must match it; it is then used up.
 */
void
RedeemCheckOtp(int64 member_id, int64 program_id, const char *purpose, const char *code)
{
	OtpRow		o;
	bool		found;

	if (code == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_REDEEM_OTP_REQUIRED),
				 errmsg("this program needs a one-time code to redeem points"),
				 errhint("Send one with loyalty.request_otp(), check it with loyalty.verify_otp(), then pass it as otp.")));
	found = LatestOtp(member_id, program_id, purpose, &o);
	CheckOtpUsable(&o, found, purpose);
	if (strcmp(o.status, "verified") != 0)
		ereport(ERROR,
				(errcode(ERRCODE_REDEEM_OTP_REQUIRED),
				 errmsg("one-time code for \"%s\" has not been verified", purpose),
				 errhint("Check the code with loyalty.verify_otp() first; it counts wrong tries.")));
	if (!OtpMatches(&o, code))
		ereport(ERROR,
				(errcode(ERRCODE_REDEEM_OTP_WRONG),
				 errmsg("one-time code for \"%s\" is wrong", purpose)));
	UpdateOtp(member_id, o.otp_id, "used", o.tries, false);
}
