/*
 * code.c
 *		The loyalty.code type: check-summed serial numbers in Crockford base32.
 *
 * See code.h for the printed form and the storage layout, and
 * doc/types-code.md for the check symbol and why it catches every single
 * wrong symbol and every swap of two different neighbouring symbols.
 */
#include "postgres.h"

#include "common/hashfn.h"
#include "fmgr.h"
#include "libpq/pqformat.h"
#include "mb/pg_wchar.h"
#include "utils/builtins.h"

#include "compat.h"
#include "code.h"

PG_FUNCTION_INFO_V1(loyalty_code_in);
PG_FUNCTION_INFO_V1(loyalty_code_out);
PG_FUNCTION_INFO_V1(loyalty_code_recv);
PG_FUNCTION_INFO_V1(loyalty_code_send);
PG_FUNCTION_INFO_V1(loyalty_code_eq);
PG_FUNCTION_INFO_V1(loyalty_code_ne);
PG_FUNCTION_INFO_V1(loyalty_code_lt);
PG_FUNCTION_INFO_V1(loyalty_code_le);
PG_FUNCTION_INFO_V1(loyalty_code_gt);
PG_FUNCTION_INFO_V1(loyalty_code_ge);
PG_FUNCTION_INFO_V1(loyalty_code_cmp);
PG_FUNCTION_INFO_V1(loyalty_code_hash);
PG_FUNCTION_INFO_V1(loyalty_code_hash_extended);
PG_FUNCTION_INFO_V1(loyalty_code_new);
PG_FUNCTION_INFO_V1(loyalty_code_series);
PG_FUNCTION_INFO_V1(loyalty_code_suffix);
PG_FUNCTION_INFO_V1(loyalty_code_is_valid);

/* Crockford's base32 alphabet: symbol value -> character */
static const char CodeAlphabet[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/* Longest symbol run we ever need: series plus body plus check */
#define CODE_MAX_SYMBOLS	(LOYALTY_CODE_MAX_SERIES + LOYALTY_CODE_SYMBOLS)

/* GF(2^5) reduction polynomial x^5 + x^2 + 1 */
#define CODE_GF_POLY		0x25

/* Bytes of strong randomness fetched at a time for new codes */
#define CODE_RANDOM_POOL	4000

/* Start value of the check recurrence */
#define CODE_CHECK_SEED		1

/* Symbol value of an ASCII character, -1 when it is not a symbol */
static int
CodeSymbolValue(unsigned char c)
{
	if (c >= 'a' && c <= 'z')
		c -= 'a' - 'A';

	if (c >= '0' && c <= '9')
		return c - '0';

	switch (c)
	{
		case 'O':
			return 0;
		case 'I':
		case 'L':
			return 1;
		case 'U':
			return -1;
		default:
			break;
	}

	if (c >= 'A' && c <= 'Z')
	{
		const char *p = strchr(CodeAlphabet, c);

		return p ? (int) (p - CodeAlphabet) : -1;
	}
	return -1;
}

/* Whether a character is ignored between symbols */
static inline bool
CodeIsSeparator(unsigned char c)
{
	return c == '-' || c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* Multiply by alpha = 2 in GF(2^5) */
static inline int
CodeGfMul2(int h)
{
	h <<= 1;
	if (h & 0x20)
		h ^= CODE_GF_POLY;
	return h;
}

/*
 * Run the check recurrence over symbols; a valid full code yields 0.  The
 * seed 1 (not 0) makes leading zero symbols count, so a 0 typed in front of
 * a code, or a leading 0 of a series left out, is also caught.
 */
static int
CodeCheckRun(const int *symbols, int n)
{
	int			h = CODE_CHECK_SEED;

	for (int i = 0; i < n; i++)
		h = CodeGfMul2(h) ^ symbols[i];
	return h;
}

/*
 * Scan str into symbol values, skipping separators.  Stores at most
 * max_symbols values but counts them all.  Returns false and fills error on
 * the first character that is not a symbol.
 */
static bool
CodeScanSymbols(const char *str, int *symbols, int max_symbols, int *count,
				LoyaltyCodeError *error)
{
	const char *p = str;
	int			position = 0;
	int			n = 0;

	while (*p)
	{
		unsigned char c = (unsigned char) *p;
		int			len = 1;
		int			v;

		position++;
		if (IS_HIGHBIT_SET(c))
		{
			len = pg_mblen(p);
			len = Min(len, (int) strnlen(p, len));
			v = -1;
		}
		else if (CodeIsSeparator(c))
		{
			p++;
			continue;
		}
		else
			v = CodeSymbolValue(c);

		if (v < 0)
		{
			error->kind = LOYALTY_CODE_BAD_CHARACTER;
			error->position = position;
			error->char_len = len;
			error->character = p;
			return false;
		}
		if (n < max_symbols)
			symbols[n] = v;
		n++;
		p += len;
	}
	*count = n;
	return true;
}

/* Parse without throwing; on failure fill *error (may be NULL) */
bool
LoyaltyCodeParse(const char *str, LoyaltyCode *result, LoyaltyCodeError *error)
{
	LoyaltyCodeError dummy;
	int			symbols[CODE_MAX_SYMBOLS];
	int			n;
	int			series_len;
	const int  *body;

	if (error == NULL)
		error = &dummy;
	memset(error, 0, sizeof(LoyaltyCodeError));

	if (!CodeScanSymbols(str, symbols, CODE_MAX_SYMBOLS, &n, error))
		return false;

	if (n < LOYALTY_CODE_SYMBOLS || n > CODE_MAX_SYMBOLS)
	{
		error->kind = LOYALTY_CODE_BAD_LENGTH;
		error->symbols = n;
		return false;
	}

	if (CodeCheckRun(symbols, n) != 0)
	{
		error->kind = LOYALTY_CODE_BAD_CHECK;
		return false;
	}

	memset(result, 0, sizeof(LoyaltyCode));
	series_len = n - LOYALTY_CODE_SYMBOLS;
	for (int i = 0; i < series_len; i++)
		result->series[i] = CodeAlphabet[symbols[i]];

	body = symbols + series_len;
	for (int i = 0; i < 12; i++)
		result->body_hi = (result->body_hi << 5) | (uint64) body[i];
	for (int i = 12; i < LOYALTY_CODE_BODY_SYMBOLS; i++)
		result->body_lo = (uint16) ((result->body_lo << 5) | body[i]);

	return true;
}

/* Throw the 22P02 error that describes a failed LoyaltyCodeParse */
void
LoyaltyCodeReportError(const char *str, const LoyaltyCodeError *error)
{
	switch (error->kind)
	{
		case LOYALTY_CODE_BAD_CHARACTER:
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
					 errmsg("invalid loyalty code \"%s\"", str),
					 errdetail("Character \"%.*s\" at position %d is not a code symbol.",
							   error->char_len, error->character,
							   error->position),
					 errhint("Codes use the digits and the letters A to Z except U; spaces and hyphens are ignored.")));
			break;
		case LOYALTY_CODE_BAD_LENGTH:
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
					 errmsg("invalid loyalty code \"%s\"", str),
					 errdetail("A code has 16 symbols, or 17 to 20 with a series prefix, but this one has %d.",
							   error->symbols)));
			break;
		case LOYALTY_CODE_BAD_CHECK:
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
					 errmsg("invalid loyalty code \"%s\"", str),
					 errdetail("The check character does not match."),
					 errhint("The code was probably mistyped: check each character and enter it again.")));
			break;
		case LOYALTY_CODE_OK:
			break;
	}
	elog(ERROR, "unexpected loyalty code error kind %d", (int) error->kind);
}

/* Number of series symbols stored in a code */
static int
CodeSeriesLength(const LoyaltyCode *code)
{
	int			len = 0;

	while (len < LOYALTY_CODE_MAX_SERIES && code->series[len] != '\0')
		len++;
	return len;
}

/* All symbol values of a code (series, body, check); returns their number */
static int
CodeSymbols(const LoyaltyCode *code, int *symbols)
{
	int			series_len = CodeSeriesLength(code);
	int			n = 0;

	for (int i = 0; i < series_len; i++)
		symbols[n++] = CodeSymbolValue((unsigned char) code->series[i]);
	for (int i = 11; i >= 0; i--)
		symbols[n++] = (int) ((code->body_hi >> (5 * i)) & 0x1F);
	for (int i = 2; i >= 0; i--)
		symbols[n++] = (code->body_lo >> (5 * i)) & 0x1F;
	symbols[n] = CodeGfMul2(CodeCheckRun(symbols, n));
	return n + 1;
}

/* The printed form, palloc'd */
char *
LoyaltyCodeToCString(const LoyaltyCode *code)
{
	int			symbols[CODE_MAX_SYMBOLS];
	int			series_len = CodeSeriesLength(code);
	int			n = CodeSymbols(code, symbols);
	char	   *result = palloc(LOYALTY_CODE_MAX_TEXT);
	char	   *p = result;

	for (int i = 0; i < n; i++)
	{
		int			body_pos = i - series_len;

		if (i > 0 && (body_pos == 0 || (body_pos > 0 && body_pos % 4 == 0)))
			*p++ = '-';
		*p++ = CodeAlphabet[symbols[i]];
	}
	*p = '\0';
	return result;
}

/* The last four printed symbols (3 body + check) into buf[5] */
void
LoyaltyCodeSuffix(const LoyaltyCode *code, char *buf)
{
	int			symbols[CODE_MAX_SYMBOLS];
	int			n = CodeSymbols(code, symbols);

	for (int i = 0; i < 4; i++)
		buf[i] = CodeAlphabet[symbols[n - 4 + i]];
	buf[4] = '\0';
}

/* btree order: <0, 0, >0 */
int
LoyaltyCodeCompare(const LoyaltyCode *a, const LoyaltyCode *b)
{
	int			cmp = memcmp(a->series, b->series, LOYALTY_CODE_MAX_SERIES);

	if (cmp != 0)
		return cmp < 0 ? -1 : 1;
	if (a->body_hi != b->body_hi)
		return a->body_hi < b->body_hi ? -1 : 1;
	if (a->body_lo != b->body_lo)
		return a->body_lo < b->body_lo ? -1 : 1;
	return 0;
}

/* Normalize and check a series into out[5]; ereport 22023 if invalid */
static void
CodeNormalizeSeries(const char *series, char *out)
{
	LoyaltyCodeError error;
	int			symbols[LOYALTY_CODE_MAX_SERIES];
	int			n;

	memset(out, 0, LOYALTY_CODE_MAX_SERIES + 1);
	memset(&error, 0, sizeof(error));

	if (!CodeScanSymbols(series, symbols, LOYALTY_CODE_MAX_SERIES, &n, &error))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid loyalty code series \"%s\"", series),
				 errdetail("Character \"%.*s\" at position %d is not a code symbol.",
						   error.char_len, error.character, error.position),
				 errhint("A series is 1 to 4 digits or letters other than U, for example \"VP01\".")));

	if (n < 1 || n > LOYALTY_CODE_MAX_SERIES)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid loyalty code series \"%s\"", series),
				 errdetail("A series has 1 to 4 symbols, but this one has %d.", n),
				 errhint("A series is 1 to 4 digits or letters other than U, for example \"VP01\".")));

	for (int i = 0; i < n; i++)
		out[i] = CodeAlphabet[symbols[i]];
}

/*
 * Copy len strong random bytes to dst.  pg_strong_random() costs a couple of
 * microseconds a call whatever the size, so bulk generation draws from a
 * per-backend pool refilled a few kilobytes at a time; bytes handed out are
 * wiped from the pool.
 */
static void
CodeRandomBytes(uint8 *dst, size_t len)
{
	static uint8 pool[CODE_RANDOM_POOL];
	static size_t used = CODE_RANDOM_POOL;

	Assert(len <= CODE_RANDOM_POOL);
	if (used + len > CODE_RANDOM_POOL)
	{
		if (!pg_strong_random(pool, CODE_RANDOM_POOL))
			ereport(ERROR,
					(errcode(ERRCODE_INTERNAL_ERROR),
					 errmsg("could not generate a random loyalty code"),
					 errdetail("The strong random number source failed.")));
		used = 0;
	}
	memcpy(dst, pool + used, len);
	explicit_bzero(pool + used, len);
	used += len;
}

/* A new random code in series (NULL for none); validates series */
LoyaltyCode *
LoyaltyCodeGenerate(const char *series)
{
	LoyaltyCode *code = palloc0(sizeof(LoyaltyCode));
	uint8		bytes[10];
	uint64		hi = 0;

	if (series != NULL)
	{
		char		normalized[LOYALTY_CODE_MAX_SERIES + 1];

		CodeNormalizeSeries(series, normalized);
		memcpy(code->series, normalized, LOYALTY_CODE_MAX_SERIES);
	}

	CodeRandomBytes(bytes, sizeof(bytes));

	/* 60 bits for body_hi, 15 bits for body_lo: 75 random bits */
	for (int i = 0; i < 8; i++)
		hi = (hi << 8) | bytes[i];
	code->body_hi = hi >> 4;
	code->body_lo = (uint16) (((bytes[8] << 8) | bytes[9]) & 0x7FFF);
	explicit_bzero(bytes, sizeof(bytes));

	return code;
}

/* Text input: normalize, check, store */
Datum
loyalty_code_in(PG_FUNCTION_ARGS)
{
	char	   *str = PG_GETARG_CSTRING(0);
	LoyaltyCode *result = palloc(sizeof(LoyaltyCode));
	LoyaltyCodeError error;

	if (!LoyaltyCodeParse(str, result, &error))
		LoyaltyCodeReportError(str, &error);

	PG_RETURN_LOYALTY_CODE_P(result);
}

/* Text output: series, then the body and check in groups of four */
Datum
loyalty_code_out(PG_FUNCTION_ARGS)
{
	LoyaltyCode *code = PG_GETARG_LOYALTY_CODE_P(0);

	PG_RETURN_CSTRING(LoyaltyCodeToCString(code));
}

/* Binary input: the stored fields in network order, validated */
Datum
loyalty_code_recv(PG_FUNCTION_ARGS)
{
	StringInfo	buf = (StringInfo) PG_GETARG_POINTER(0);
	LoyaltyCode *result = palloc0(sizeof(LoyaltyCode));
	bool		ended = false;

	result->body_hi = (uint64) pq_getmsgint64(buf);
	result->body_lo = (uint16) pq_getmsgint(buf, 2);
	pq_copymsgbytes(buf, result->series, LOYALTY_CODE_MAX_SERIES);
	result->reserved = (uint16) pq_getmsgint(buf, 2);

	if ((result->body_hi >> 60) != 0 || (result->body_lo >> 15) != 0 ||
		result->reserved != 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_BINARY_REPRESENTATION),
				 errmsg("invalid external loyalty code"),
				 errdetail("Reserved bits are set.")));

	for (int i = 0; i < LOYALTY_CODE_MAX_SERIES; i++)
	{
		char		c = result->series[i];

		if (c == '\0')
			ended = true;
		else if (ended || strchr(CodeAlphabet, c) == NULL)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_BINARY_REPRESENTATION),
					 errmsg("invalid external loyalty code"),
					 errdetail("The series is not 0 to 4 upper-case code symbols padded with zero bytes.")));
	}

	PG_RETURN_LOYALTY_CODE_P(result);
}

/* Binary output: body_hi, body_lo, series bytes, reserved */
Datum
loyalty_code_send(PG_FUNCTION_ARGS)
{
	LoyaltyCode *code = PG_GETARG_LOYALTY_CODE_P(0);
	StringInfoData buf;

	pq_begintypsend(&buf);
	pq_sendint64(&buf, code->body_hi);
	pq_sendint16(&buf, code->body_lo);
	pq_sendbytes(&buf, code->series, LOYALTY_CODE_MAX_SERIES);
	pq_sendint16(&buf, 0);
	PG_RETURN_BYTEA_P(pq_endtypsend(&buf));
}

/* code = code */
Datum
loyalty_code_eq(PG_FUNCTION_ARGS)
{
	PG_RETURN_BOOL(LoyaltyCodeCompare(PG_GETARG_LOYALTY_CODE_P(0),
									  PG_GETARG_LOYALTY_CODE_P(1)) == 0);
}

/* code <> code */
Datum
loyalty_code_ne(PG_FUNCTION_ARGS)
{
	PG_RETURN_BOOL(LoyaltyCodeCompare(PG_GETARG_LOYALTY_CODE_P(0),
									  PG_GETARG_LOYALTY_CODE_P(1)) != 0);
}

/* code < code */
Datum
loyalty_code_lt(PG_FUNCTION_ARGS)
{
	PG_RETURN_BOOL(LoyaltyCodeCompare(PG_GETARG_LOYALTY_CODE_P(0),
									  PG_GETARG_LOYALTY_CODE_P(1)) < 0);
}

/* code <= code */
Datum
loyalty_code_le(PG_FUNCTION_ARGS)
{
	PG_RETURN_BOOL(LoyaltyCodeCompare(PG_GETARG_LOYALTY_CODE_P(0),
									  PG_GETARG_LOYALTY_CODE_P(1)) <= 0);
}

/* code > code */
Datum
loyalty_code_gt(PG_FUNCTION_ARGS)
{
	PG_RETURN_BOOL(LoyaltyCodeCompare(PG_GETARG_LOYALTY_CODE_P(0),
									  PG_GETARG_LOYALTY_CODE_P(1)) > 0);
}

/* code >= code */
Datum
loyalty_code_ge(PG_FUNCTION_ARGS)
{
	PG_RETURN_BOOL(LoyaltyCodeCompare(PG_GETARG_LOYALTY_CODE_P(0),
									  PG_GETARG_LOYALTY_CODE_P(1)) >= 0);
}

/* btree support function 1 */
Datum
loyalty_code_cmp(PG_FUNCTION_ARGS)
{
	PG_RETURN_INT32(LoyaltyCodeCompare(PG_GETARG_LOYALTY_CODE_P(0),
									   PG_GETARG_LOYALTY_CODE_P(1)));
}

/* hash support function 1: every stored byte is defined, so hash them all */
Datum
loyalty_code_hash(PG_FUNCTION_ARGS)
{
	LoyaltyCode *code = PG_GETARG_LOYALTY_CODE_P(0);

	return hash_any((const unsigned char *) code, sizeof(LoyaltyCode));
}

/* hash support function 2: the seeded 64-bit hash */
Datum
loyalty_code_hash_extended(PG_FUNCTION_ARGS)
{
	LoyaltyCode *code = PG_GETARG_LOYALTY_CODE_P(0);

	return hash_any_extended((const unsigned char *) code,
							 sizeof(LoyaltyCode), PG_GETARG_INT64(1));
}

/* loyalty.new_code(series text DEFAULT NULL) */
Datum
loyalty_code_new(PG_FUNCTION_ARGS)
{
	char	   *series = NULL;

	if (!PG_ARGISNULL(0))
		series = text_to_cstring(PG_GETARG_TEXT_PP(0));

	PG_RETURN_LOYALTY_CODE_P(LoyaltyCodeGenerate(series));
}

/* loyalty.code_series(code): the prefix, or NULL when there is none */
Datum
loyalty_code_series(PG_FUNCTION_ARGS)
{
	LoyaltyCode *code = PG_GETARG_LOYALTY_CODE_P(0);
	int			len = CodeSeriesLength(code);

	if (len == 0)
		PG_RETURN_NULL();
	PG_RETURN_TEXT_P(cstring_to_text_with_len(code->series, len));
}

/* loyalty.code_suffix(code): the last four printed symbols */
Datum
loyalty_code_suffix(PG_FUNCTION_ARGS)
{
	char		buf[5];

	LoyaltyCodeSuffix(PG_GETARG_LOYALTY_CODE_P(0), buf);
	PG_RETURN_TEXT_P(cstring_to_text(buf));
}

/* loyalty.code_is_valid(text): whether the text reads as a code; never throws */
Datum
loyalty_code_is_valid(PG_FUNCTION_ARGS)
{
	char	   *str = text_to_cstring(PG_GETARG_TEXT_PP(0));
	LoyaltyCode code;

	PG_RETURN_BOOL(LoyaltyCodeParse(str, &code, NULL));
}
