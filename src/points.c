/*
 * points.c
 *		The loyalty.points type: I/O, arithmetic, comparison, casts,
 *		rounding and aggregates.
 *
 * Values are int64 hundredths of a point.  Every operation is exact or
 * rounds half away from zero to 0.01, and every overflow is an error.
 */
#include "postgres.h"

#include <ctype.h>

#include "common/int.h"
#include "common/int128.h"
#include "fmgr.h"
#include "lib/stringinfo.h"
#include "libpq/pqformat.h"
#include "utils/builtins.h"
#include "utils/fmgrprotos.h"
#include "utils/numeric.h"
#include "utils/sortsupport.h"

#include "compat.h"
#include "points.h"

PG_FUNCTION_INFO_V1(points_in);
PG_FUNCTION_INFO_V1(points_out);
PG_FUNCTION_INFO_V1(points_recv);
PG_FUNCTION_INFO_V1(points_send);
PG_FUNCTION_INFO_V1(points_pl);
PG_FUNCTION_INFO_V1(points_mi);
PG_FUNCTION_INFO_V1(points_um);
PG_FUNCTION_INFO_V1(points_mul_int4);
PG_FUNCTION_INFO_V1(int4_mul_points);
PG_FUNCTION_INFO_V1(points_mul_int8);
PG_FUNCTION_INFO_V1(int8_mul_points);
PG_FUNCTION_INFO_V1(points_mul_numeric);
PG_FUNCTION_INFO_V1(numeric_mul_points);
PG_FUNCTION_INFO_V1(points_div_int4);
PG_FUNCTION_INFO_V1(points_div_int8);
PG_FUNCTION_INFO_V1(points_div_numeric);
PG_FUNCTION_INFO_V1(points_div_points);
PG_FUNCTION_INFO_V1(points_eq);
PG_FUNCTION_INFO_V1(points_ne);
PG_FUNCTION_INFO_V1(points_lt);
PG_FUNCTION_INFO_V1(points_le);
PG_FUNCTION_INFO_V1(points_gt);
PG_FUNCTION_INFO_V1(points_ge);
PG_FUNCTION_INFO_V1(points_cmp);
PG_FUNCTION_INFO_V1(points_sortsupport);
PG_FUNCTION_INFO_V1(points_hash);
PG_FUNCTION_INFO_V1(points_hash_extended);
PG_FUNCTION_INFO_V1(points_larger);
PG_FUNCTION_INFO_V1(points_smaller);
PG_FUNCTION_INFO_V1(points_abs);
PG_FUNCTION_INFO_V1(points_round);
PG_FUNCTION_INFO_V1(int4_to_points);
PG_FUNCTION_INFO_V1(int8_to_points);
PG_FUNCTION_INFO_V1(numeric_to_points);
PG_FUNCTION_INFO_V1(points_to_numeric);
PG_FUNCTION_INFO_V1(points_to_int8);
PG_FUNCTION_INFO_V1(points_avg_accum);
PG_FUNCTION_INFO_V1(points_avg_combine);
PG_FUNCTION_INFO_V1(points_avg_serialize);
PG_FUNCTION_INFO_V1(points_avg_deserialize);
PG_FUNCTION_INFO_V1(points_avg_final);

/* Why a string is not a valid points value */
typedef enum PointsParseResult
{
	POINTS_PARSE_OK,
	POINTS_PARSE_SYNTAX,		/* not a plain decimal number */
	POINTS_PARSE_SCALE,			/* more than two significant decimals */
	POINTS_PARSE_RANGE			/* does not fit in int64 hundredths */
} PointsParseResult;

/* Running state of loyalty.avg(points) */
typedef struct PointsAvgState
{
	int64		count;
	INT128		sum;			/* hundredths; cannot overflow before count */
} PointsAvgState;

/* Raise the standard out-of-range error for points arithmetic */
static void
PointsOutOfRange(void)
{
	ereport(ERROR,
			(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
			 errmsg("points out of range")));
}

/* Raise the standard division-by-zero error */
static void
PointsDivisionByZero(void)
{
	ereport(ERROR,
			(errcode(ERRCODE_DIVISION_BY_ZERO),
			 errmsg("division by zero")));
}

/* Parse a decimal string scaled by 10^scale_digits; never raises */
static PointsParseResult
ParseScaledDecimal(const char *str, int scale_digits, int64 *result)
{
	const char *p = str;
	const char *int_start;
	const char *int_end;
	const char *frac_start = NULL;
	const char *frac_end = NULL;
	bool		negative = false;
	int64		value = 0;		/* accumulated as a negative number */
	int			ndecimals;
	int			i;

	while (isspace((unsigned char) *p))
		p++;
	if (*p == '-' || *p == '+')
	{
		negative = (*p == '-');
		p++;
	}

	int_start = p;
	while (isdigit((unsigned char) *p))
		p++;
	int_end = p;

	if (*p == '.')
	{
		p++;
		frac_start = p;
		while (isdigit((unsigned char) *p))
			p++;
		frac_end = p;
	}

	/* At least one digit, then nothing but trailing spaces */
	if (int_end == int_start && (frac_start == NULL || frac_end == frac_start))
		return POINTS_PARSE_SYNTAX;
	while (isspace((unsigned char) *p))
		p++;
	if (*p != '\0')
		return POINTS_PARSE_SYNTAX;

	/* Decimals beyond the second must all be zero */
	ndecimals = 0;
	if (frac_start != NULL)
	{
		const char *last = frac_end;

		while (last > frac_start && last[-1] == '0')
			last--;
		if (last - frac_start > scale_digits)
			return POINTS_PARSE_SCALE;
		ndecimals = (int) (frac_end - frac_start);
	}

	/* Accumulate negatively so that the int64 minimum is reachable */
	for (i = 0; i < (int) (int_end - int_start) + scale_digits; i++)
	{
		int			digit;

		if (i < (int) (int_end - int_start))
			digit = int_start[i] - '0';
		else
		{
			int			k = i - (int) (int_end - int_start);

			digit = (k < ndecimals) ? frac_start[k] - '0' : 0;
		}

		if (pg_mul_s64_overflow(value, 10, &value) ||
			pg_sub_s64_overflow(value, digit, &value))
			return POINTS_PARSE_RANGE;
	}

	if (!negative)
	{
		if (value == PG_INT64_MIN)
			return POINTS_PARSE_RANGE;
		value = -value;
	}

	*result = value;
	return POINTS_PARSE_OK;
}

/* Parse a decimal string into hundredths; never raises */
static PointsParseResult
PointsParseInternal(const char *str, Points *result)
{
	return ParseScaledDecimal(str, POINTS_DECIMALS, result);
}

/* Parse a points literal, raising 22P02 or 22003 when it is not valid */
Points
PointsFromCString(const char *str)
{
	Points		result = 0;

	switch (PointsParseInternal(str, &result))
	{
		case POINTS_PARSE_OK:
			break;
		case POINTS_PARSE_SYNTAX:
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
					 errmsg("invalid input syntax for type %s: \"%s\"",
							"points", str)));
			break;
		case POINTS_PARSE_SCALE:
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
					 errmsg("invalid input syntax for type %s: \"%s\"",
							"points", str),
					 errdetail("Points have at most 2 decimal places.")));
			break;
		case POINTS_PARSE_RANGE:
			ereport(ERROR,
					(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
					 errmsg("value \"%s\" is out of range for type %s",
							str, "points")));
			break;
	}
	return result;
}

/* Parse a points literal; false instead of an error when it is not valid */
bool
PointsTryParse(const char *str, Points *result)
{
	return PointsParseInternal(str, result) == POINTS_PARSE_OK;
}

/* Shortest exact text form: 5.5, 6, -0.25, 0 */
char *
PointsToCString(Points p)
{
	char		buf[64];
	uint64		mag;
	uint64		whole;
	int			frac;
	const char *sign = (p < 0) ? "-" : "";

	mag = (p < 0) ? -((uint64) p) : (uint64) p;
	whole = mag / POINTS_SCALE;
	frac = (int) (mag % POINTS_SCALE);

	if (frac == 0)
		snprintf(buf, sizeof(buf), "%s" UINT64_FORMAT, sign, whole);
	else if (frac % 10 == 0)
		snprintf(buf, sizeof(buf), "%s" UINT64_FORMAT ".%d", sign, whole,
				 frac / 10);
	else
		snprintf(buf, sizeof(buf), "%s" UINT64_FORMAT ".%02d", sign, whole,
				 frac);

	return pstrdup(buf);
}

/* Add two amounts, raising 22003 on overflow */
Points
PointsAdd(Points a, Points b)
{
	Points		result;

	if (pg_add_s64_overflow(a, b, &result))
		PointsOutOfRange();
	return result;
}

/* Subtract two amounts, raising 22003 on overflow */
Points
PointsSub(Points a, Points b)
{
	Points		result;

	if (pg_sub_s64_overflow(a, b, &result))
		PointsOutOfRange();
	return result;
}

/* Negate an amount, raising 22003 on overflow */
Points
PointsNegate(Points p)
{
	if (p == PG_INT64_MIN)
		PointsOutOfRange();
	return -p;
}

/* Multiply an amount by an integer, raising 22003 on overflow */
Points
PointsMulInt(Points p, int64 factor)
{
	Points		result;

	if (pg_mul_s64_overflow(p, factor, &result))
		PointsOutOfRange();
	return result;
}

/* Divide an amount by an integer, rounding half away from zero to 0.01 */
Points
PointsDivInt(Points p, int64 divisor)
{
	int64		quotient;
	int64		remainder;

	if (divisor == 0)
		PointsDivisionByZero();
	if (divisor == -1)
		return PointsNegate(p);

	quotient = p / divisor;
	remainder = p % divisor;
	if (remainder != 0)
	{
		uint64		r = (remainder < 0) ? -((uint64) remainder) : (uint64) remainder;
		uint64		d = (divisor < 0) ? -((uint64) divisor) : (uint64) divisor;

		/* r >= d - r means the remainder is at least half the divisor */
		if (r >= d - r)
			quotient += ((p < 0) != (divisor < 0)) ? -1 : 1;
	}
	return quotient;
}

/* Round a numeric to an integral numeric, half away from zero */
static Numeric
NumericRoundWhole(Numeric n)
{
	return DatumGetNumeric(DirectFunctionCall2(numeric_round,
											   NumericGetDatum(n),
											   Int32GetDatum(0)));
}

/* Divide two numerics, rounding the quotient half away from zero to an integer */
static Numeric
NumericDivRoundWhole(Numeric a, Numeric b)
{
	Numeric		quotient;
	Numeric		remainder;
	Numeric		twice_rem;
	Numeric		abs_b;
	Datum		zero = NumericGetDatum(int64_to_numeric(0));

	quotient = DatumGetNumeric(DirectFunctionCall2(numeric_div_trunc,
												   NumericGetDatum(a),
												   NumericGetDatum(b)));
	remainder = DatumGetNumeric(DirectFunctionCall2(numeric_mod,
													NumericGetDatum(a),
													NumericGetDatum(b)));
	twice_rem = DatumGetNumeric(DirectFunctionCall1(numeric_abs,
													NumericGetDatum(remainder)));
	twice_rem = DatumGetNumeric(DirectFunctionCall2(numeric_add,
													NumericGetDatum(twice_rem),
													NumericGetDatum(twice_rem)));
	abs_b = DatumGetNumeric(DirectFunctionCall1(numeric_abs, NumericGetDatum(b)));

	if (DatumGetInt32(DirectFunctionCall2(numeric_cmp,
										  NumericGetDatum(twice_rem),
										  NumericGetDatum(abs_b))) >= 0)
	{
		bool		a_neg = DatumGetInt32(DirectFunctionCall2(numeric_cmp,
															  NumericGetDatum(a),
															  zero)) < 0;
		bool		b_neg = DatumGetInt32(DirectFunctionCall2(numeric_cmp,
															  NumericGetDatum(b),
															  zero)) < 0;

		quotient = DatumGetNumeric(DirectFunctionCall2(numeric_add,
													   NumericGetDatum(quotient),
													   NumericGetDatum(int64_to_numeric(a_neg != b_neg ? -1 : 1))));
	}
	return quotient;
}

/* Convert an integral numeric to int64 hundredths, raising 22003 if too big */
static Points
PointsFromIntegralNumeric(Numeric n)
{
	char	   *str = DatumGetCString(DirectFunctionCall1(numeric_out,
														  NumericGetDatum(n)));
	int64		result;

	if (ParseScaledDecimal(str, 0, &result) != POINTS_PARSE_OK)
		PointsOutOfRange();
	return result;
}

/* Reject NaN and infinity as an operand of points arithmetic */
static void
PointsCheckFiniteFactor(Numeric n, const char *what)
{
	if (numeric_is_nan(n) || numeric_is_inf(n))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
				 errmsg("cannot %s points by %s", what,
						DatumGetCString(DirectFunctionCall1(numeric_out,
															NumericGetDatum(n)))),
				 errdetail("Points arithmetic needs a finite number.")));
}

/* Multiply an amount by a numeric, rounding half away from zero to 0.01 */
Points
PointsMulNumeric(Points p, Numeric factor)
{
	Numeric		product;

	PointsCheckFiniteFactor(factor, "multiply");
	product = DatumGetNumeric(DirectFunctionCall2(numeric_mul,
												  NumericGetDatum(int64_to_numeric(p)),
												  NumericGetDatum(factor)));
	return PointsFromIntegralNumeric(NumericRoundWhole(product));
}

/* Divide an amount by a numeric, rounding half away from zero to 0.01 */
Points
PointsDivNumeric(Points p, Numeric divisor)
{
	PointsCheckFiniteFactor(divisor, "divide");
	if (DatumGetInt32(DirectFunctionCall2(numeric_cmp,
										  NumericGetDatum(divisor),
										  NumericGetDatum(int64_to_numeric(0)))) == 0)
		PointsDivisionByZero();
	return PointsFromIntegralNumeric(NumericDivRoundWhole(int64_to_numeric(p),
														  divisor));
}

/* Three-way comparison of two amounts */
int
PointsCmp(Points a, Points b)
{
	if (a < b)
		return -1;
	if (a > b)
		return 1;
	return 0;
}

/* Whole points as an amount, raising 22003 on overflow */
Points
PointsFromInt64(int64 whole)
{
	return PointsMulInt(whole, POINTS_SCALE);
}

/* Exact conversion from numeric; 22P02 for NaN, infinity or > 2 decimals, 22003 if too big */
Points
PointsFromNumeric(Numeric n)
{
	char	   *str;
	Points		result = 0;

	if (numeric_is_nan(n) || numeric_is_inf(n))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
				 errmsg("cannot convert %s to points",
						DatumGetCString(DirectFunctionCall1(numeric_out,
															NumericGetDatum(n)))),
				 errdetail("Points are always finite numbers.")));

	/* numeric_out never uses exponents, so its text is a plain decimal */
	str = DatumGetCString(DirectFunctionCall1(numeric_out, NumericGetDatum(n)));
	switch (PointsParseInternal(str, &result))
	{
		case POINTS_PARSE_OK:
			break;
		case POINTS_PARSE_SCALE:
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
					 errmsg("numeric value %s has too many decimal places for type points",
							str),
					 errdetail("Points have at most 2 decimal places."),
					 errhint("Round the value first, for example with round(value, 2).")));
			break;
		case POINTS_PARSE_RANGE:
			ereport(ERROR,
					(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
					 errmsg("numeric value %s is out of range for type points",
							str)));
			break;
		case POINTS_PARSE_SYNTAX:
			elog(ERROR, "unexpected numeric text \"%s\"", str);
			break;
	}
	return result;
}

/* Exact conversion to numeric, always with scale 2 (5.5 -> 5.50) */
Numeric
PointsToNumeric(Points p)
{
	return int64_div_fast_to_numeric(p, POINTS_DECIMALS);
}

/* Whole points as int64, rounding half away from zero like numeric to bigint */
int64
PointsToInt64Rounded(Points p)
{
	return PointsRoundWhole(p, POINTS_ROUND_NEAREST) / POINTS_SCALE;
}

/* Look up a rounding mode by name, raising 22023 for an unknown one */
PointsRoundMode
PointsRoundModeFromString(const char *mode)
{
	if (pg_strcasecmp(mode, "nearest") == 0)
		return POINTS_ROUND_NEAREST;
	if (pg_strcasecmp(mode, "down") == 0)
		return POINTS_ROUND_DOWN;
	if (pg_strcasecmp(mode, "up") == 0)
		return POINTS_ROUND_UP;
	if (pg_strcasecmp(mode, "keep") == 0)
		return POINTS_ROUND_KEEP;

	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("unknown points rounding mode \"%s\"", mode),
			 errhint("Valid modes are \"nearest\", \"down\", \"up\" and \"keep\".")));
	return POINTS_ROUND_KEEP;	/* keep compiler quiet */
}

/* The name of a rounding mode, as PointsRoundModeFromString accepts it */
const char *
PointsRoundModeToString(PointsRoundMode mode)
{
	switch (mode)
	{
		case POINTS_ROUND_NEAREST:
			return "nearest";
		case POINTS_ROUND_DOWN:
			return "down";
		case POINTS_ROUND_UP:
			return "up";
		case POINTS_ROUND_KEEP:
			return "keep";
	}
	elog(ERROR, "unrecognized points rounding mode %d", (int) mode);
	return NULL;				/* keep compiler quiet */
}

/* Round an amount to whole points; 22003 if rounding up overflows */
Points
PointsRoundWhole(Points p, PointsRoundMode mode)
{
	Points		remainder = p % POINTS_SCALE;	/* same sign as p */
	Points		truncated = p - remainder;
	Points		step = (p < 0) ? -POINTS_SCALE : POINTS_SCALE;
	bool		away;

	switch (mode)
	{
		case POINTS_ROUND_NEAREST:
			away = (remainder >= POINTS_SCALE / 2 ||
					remainder <= -POINTS_SCALE / 2);
			break;
		case POINTS_ROUND_DOWN:
			away = false;
			break;
		case POINTS_ROUND_UP:
			away = (remainder != 0);
			break;
		case POINTS_ROUND_KEEP:
			return p;
		default:
			elog(ERROR, "unrecognized points rounding mode %d", (int) mode);
			return p;			/* keep compiler quiet */
	}

	return away ? PointsAdd(truncated, step) : truncated;
}

/* Text input: optional sign, digits, up to two significant decimals */
Datum
points_in(PG_FUNCTION_ARGS)
{
	char	   *str = PG_GETARG_CSTRING(0);

	PG_RETURN_POINTS(PointsFromCString(str));
}

/* Text output in the shortest exact form */
Datum
points_out(PG_FUNCTION_ARGS)
{
	PG_RETURN_CSTRING(PointsToCString(PG_GETARG_POINTS(0)));
}

/* Binary input: an int8 count of hundredths */
Datum
points_recv(PG_FUNCTION_ARGS)
{
	StringInfo	buf = (StringInfo) PG_GETARG_POINTER(0);

	PG_RETURN_POINTS((Points) pq_getmsgint64(buf));
}

/* Binary output: an int8 count of hundredths */
Datum
points_send(PG_FUNCTION_ARGS)
{
	StringInfoData buf;

	pq_begintypsend(&buf);
	pq_sendint64(&buf, PG_GETARG_POINTS(0));
	PG_RETURN_BYTEA_P(pq_endtypsend(&buf));
}

/* points + points */
Datum
points_pl(PG_FUNCTION_ARGS)
{
	PG_RETURN_POINTS(PointsAdd(PG_GETARG_POINTS(0), PG_GETARG_POINTS(1)));
}

/* points - points */
Datum
points_mi(PG_FUNCTION_ARGS)
{
	PG_RETURN_POINTS(PointsSub(PG_GETARG_POINTS(0), PG_GETARG_POINTS(1)));
}

/* - points */
Datum
points_um(PG_FUNCTION_ARGS)
{
	PG_RETURN_POINTS(PointsNegate(PG_GETARG_POINTS(0)));
}

/* points * integer */
Datum
points_mul_int4(PG_FUNCTION_ARGS)
{
	PG_RETURN_POINTS(PointsMulInt(PG_GETARG_POINTS(0), PG_GETARG_INT32(1)));
}

/* integer * points */
Datum
int4_mul_points(PG_FUNCTION_ARGS)
{
	PG_RETURN_POINTS(PointsMulInt(PG_GETARG_POINTS(1), PG_GETARG_INT32(0)));
}

/* points * bigint */
Datum
points_mul_int8(PG_FUNCTION_ARGS)
{
	PG_RETURN_POINTS(PointsMulInt(PG_GETARG_POINTS(0), PG_GETARG_INT64(1)));
}

/* bigint * points */
Datum
int8_mul_points(PG_FUNCTION_ARGS)
{
	PG_RETURN_POINTS(PointsMulInt(PG_GETARG_POINTS(1), PG_GETARG_INT64(0)));
}

/* points * numeric, rounded half away from zero to 0.01 */
Datum
points_mul_numeric(PG_FUNCTION_ARGS)
{
	PG_RETURN_POINTS(PointsMulNumeric(PG_GETARG_POINTS(0), PG_GETARG_NUMERIC(1)));
}

/* numeric * points, rounded half away from zero to 0.01 */
Datum
numeric_mul_points(PG_FUNCTION_ARGS)
{
	PG_RETURN_POINTS(PointsMulNumeric(PG_GETARG_POINTS(1), PG_GETARG_NUMERIC(0)));
}

/* points / integer, rounded half away from zero to 0.01 */
Datum
points_div_int4(PG_FUNCTION_ARGS)
{
	PG_RETURN_POINTS(PointsDivInt(PG_GETARG_POINTS(0), PG_GETARG_INT32(1)));
}

/* points / bigint, rounded half away from zero to 0.01 */
Datum
points_div_int8(PG_FUNCTION_ARGS)
{
	PG_RETURN_POINTS(PointsDivInt(PG_GETARG_POINTS(0), PG_GETARG_INT64(1)));
}

/* points / numeric, rounded half away from zero to 0.01 */
Datum
points_div_numeric(PG_FUNCTION_ARGS)
{
	PG_RETURN_POINTS(PointsDivNumeric(PG_GETARG_POINTS(0), PG_GETARG_NUMERIC(1)));
}

/* points / points: the ratio as numeric */
Datum
points_div_points(PG_FUNCTION_ARGS)
{
	Points		a = PG_GETARG_POINTS(0);
	Points		b = PG_GETARG_POINTS(1);

	if (b == 0)
		PointsDivisionByZero();
	return DirectFunctionCall2(numeric_div,
							   NumericGetDatum(int64_to_numeric(a)),
							   NumericGetDatum(int64_to_numeric(b)));
}

/* points = points */
Datum
points_eq(PG_FUNCTION_ARGS)
{
	PG_RETURN_BOOL(PG_GETARG_POINTS(0) == PG_GETARG_POINTS(1));
}

/* points <> points */
Datum
points_ne(PG_FUNCTION_ARGS)
{
	PG_RETURN_BOOL(PG_GETARG_POINTS(0) != PG_GETARG_POINTS(1));
}

/* points < points */
Datum
points_lt(PG_FUNCTION_ARGS)
{
	PG_RETURN_BOOL(PG_GETARG_POINTS(0) < PG_GETARG_POINTS(1));
}

/* points <= points */
Datum
points_le(PG_FUNCTION_ARGS)
{
	PG_RETURN_BOOL(PG_GETARG_POINTS(0) <= PG_GETARG_POINTS(1));
}

/* points > points */
Datum
points_gt(PG_FUNCTION_ARGS)
{
	PG_RETURN_BOOL(PG_GETARG_POINTS(0) > PG_GETARG_POINTS(1));
}

/* points >= points */
Datum
points_ge(PG_FUNCTION_ARGS)
{
	PG_RETURN_BOOL(PG_GETARG_POINTS(0) >= PG_GETARG_POINTS(1));
}

/* B-tree support function 1: three-way comparison */
Datum
points_cmp(PG_FUNCTION_ARGS)
{
	PG_RETURN_INT32(PointsCmp(PG_GETARG_POINTS(0), PG_GETARG_POINTS(1)));
}

/* Sort comparator that skips the fmgr call */
static int
PointsFastCmp(Datum x, Datum y, SortSupport ssup)
{
	return PointsCmp(DatumGetPoints(x), DatumGetPoints(y));
}

/* B-tree support function 2: sort support */
Datum
points_sortsupport(PG_FUNCTION_ARGS)
{
	SortSupport ssup = (SortSupport) PG_GETARG_POINTER(0);

	ssup->comparator = PointsFastCmp;
	PG_RETURN_VOID();
}

/* Hash support function 1: the same hash as bigint */
Datum
points_hash(PG_FUNCTION_ARGS)
{
	return DirectFunctionCall1(hashint8, PG_GETARG_DATUM(0));
}

/* Hash support function 2: the same seeded hash as bigint */
Datum
points_hash_extended(PG_FUNCTION_ARGS)
{
	return DirectFunctionCall2(hashint8extended, PG_GETARG_DATUM(0),
							   PG_GETARG_DATUM(1));
}

/* The larger of two amounts, for max() */
Datum
points_larger(PG_FUNCTION_ARGS)
{
	Points		a = PG_GETARG_POINTS(0);
	Points		b = PG_GETARG_POINTS(1);

	PG_RETURN_POINTS(a > b ? a : b);
}

/* The smaller of two amounts, for min() */
Datum
points_smaller(PG_FUNCTION_ARGS)
{
	Points		a = PG_GETARG_POINTS(0);
	Points		b = PG_GETARG_POINTS(1);

	PG_RETURN_POINTS(a < b ? a : b);
}

/* Absolute value, raising 22003 for the one value that has none */
Datum
points_abs(PG_FUNCTION_ARGS)
{
	Points		p = PG_GETARG_POINTS(0);

	PG_RETURN_POINTS(p < 0 ? PointsNegate(p) : p);
}

/* loyalty.round(points, mode): round to whole points */
Datum
points_round(PG_FUNCTION_ARGS)
{
	Points		p = PG_GETARG_POINTS(0);
	char	   *mode = text_to_cstring(PG_GETARG_TEXT_PP(1));

	PG_RETURN_POINTS(PointsRoundWhole(p, PointsRoundModeFromString(mode)));
}

/* Cast integer -> points */
Datum
int4_to_points(PG_FUNCTION_ARGS)
{
	PG_RETURN_POINTS(PointsFromInt64(PG_GETARG_INT32(0)));
}

/* Cast bigint -> points */
Datum
int8_to_points(PG_FUNCTION_ARGS)
{
	PG_RETURN_POINTS(PointsFromInt64(PG_GETARG_INT64(0)));
}

/* Cast numeric -> points, exact or an error */
Datum
numeric_to_points(PG_FUNCTION_ARGS)
{
	PG_RETURN_POINTS(PointsFromNumeric(PG_GETARG_NUMERIC(0)));
}

/* Cast points -> numeric, exact with scale 2 */
Datum
points_to_numeric(PG_FUNCTION_ARGS)
{
	PG_RETURN_NUMERIC(PointsToNumeric(PG_GETARG_POINTS(0)));
}

/* Cast points -> bigint, rounding half away from zero */
Datum
points_to_int8(PG_FUNCTION_ARGS)
{
	PG_RETURN_INT64(PointsToInt64Rounded(PG_GETARG_POINTS(0)));
}

/* Add two 128-bit sums */
static void
Int128AddInt128(INT128 *a, INT128 b)
{
#if USE_NATIVE_INT128
	*a += b;
#else
	int128_add_uint64(a, b.lo);
	a->hi += b.hi;
#endif
}

/* The high (signed) 64 bits of a 128-bit sum */
static int64
Int128High(INT128 v)
{
#if USE_NATIVE_INT128
	return (int64) (v >> 64);
#else
	return v.hi;
#endif
}

/* Rebuild a 128-bit sum from its halves */
static INT128
Int128FromParts(int64 hi, uint64 lo)
{
	INT128		v;

#if USE_NATIVE_INT128
	v = (((int128) hi) << 64) | (int128) lo;
#else
	v.hi = hi;
	v.lo = lo;
#endif
	return v;
}

/* A 128-bit sum as numeric */
static Numeric
Int128ToNumeric(INT128 v)
{
	int64		hi = Int128High(v);
	uint64		lo = (uint64) int128_to_int64(v);
	Datum		two32 = NumericGetDatum(int64_to_numeric(INT64CONST(1) << 32));
	Datum		result;

	/* hi * 2^64 + (lo >> 32) * 2^32 + (lo & 0xffffffff) */
	result = DirectFunctionCall2(numeric_mul, NumericGetDatum(int64_to_numeric(hi)), two32);
	result = DirectFunctionCall2(numeric_add, result,
								 NumericGetDatum(int64_to_numeric((int64) (lo >> 32))));
	result = DirectFunctionCall2(numeric_mul, result, two32);
	result = DirectFunctionCall2(numeric_add, result,
								 NumericGetDatum(int64_to_numeric((int64) (lo & UINT64CONST(0xFFFFFFFF)))));
	return DatumGetNumeric(result);
}

/* The avg() state, created in the aggregate context on first use */
static PointsAvgState *
PointsAvgStateGet(FunctionCallInfo fcinfo, int argno)
{
	MemoryContext aggcontext;
	PointsAvgState *state;

	if (!AggCheckCallContext(fcinfo, &aggcontext))
		elog(ERROR, "points aggregate function called in non-aggregate context");

	if (!PG_ARGISNULL(argno))
		return (PointsAvgState *) PG_GETARG_POINTER(argno);

	state = (PointsAvgState *) MemoryContextAllocZero(aggcontext,
													  sizeof(PointsAvgState));
	state->sum = int64_to_int128(0);
	return state;
}

/* avg() transition: count the row and add it to the 128-bit sum */
Datum
points_avg_accum(PG_FUNCTION_ARGS)
{
	PointsAvgState *state = PointsAvgStateGet(fcinfo, 0);

	if (!PG_ARGISNULL(1))
	{
		state->count++;
		int128_add_int64(&state->sum, PG_GETARG_POINTS(1));
	}
	PG_RETURN_POINTER(state);
}

/* avg() combine: merge two partial states */
Datum
points_avg_combine(PG_FUNCTION_ARGS)
{
	PointsAvgState *state;
	PointsAvgState *other;

	if (PG_ARGISNULL(1))
	{
		if (PG_ARGISNULL(0))
			PG_RETURN_NULL();
		PG_RETURN_POINTER(PG_GETARG_POINTER(0));
	}

	state = PointsAvgStateGet(fcinfo, 0);
	other = (PointsAvgState *) PG_GETARG_POINTER(1);
	state->count += other->count;
	Int128AddInt128(&state->sum, other->sum);
	PG_RETURN_POINTER(state);
}

/* avg() serialize: count, high and low halves of the sum */
Datum
points_avg_serialize(PG_FUNCTION_ARGS)
{
	PointsAvgState *state;
	StringInfoData buf;

	if (!AggCheckCallContext(fcinfo, NULL))
		elog(ERROR, "points aggregate function called in non-aggregate context");
	state = (PointsAvgState *) PG_GETARG_POINTER(0);

	pq_begintypsend(&buf);
	pq_sendint64(&buf, state->count);
	pq_sendint64(&buf, Int128High(state->sum));
	pq_sendint64(&buf, (uint64) int128_to_int64(state->sum));
	PG_RETURN_BYTEA_P(pq_endtypsend(&buf));
}

/* avg() deserialize: the inverse of points_avg_serialize */
Datum
points_avg_deserialize(PG_FUNCTION_ARGS)
{
	bytea	   *sstate;
	StringInfoData buf;
	PointsAvgState *state;
	int64		hi;
	uint64		lo;

	if (!AggCheckCallContext(fcinfo, NULL))
		elog(ERROR, "points aggregate function called in non-aggregate context");
	sstate = PG_GETARG_BYTEA_PP(0);

	initStringInfo(&buf);
	appendBinaryStringInfo(&buf, VARDATA_ANY(sstate), VARSIZE_ANY_EXHDR(sstate));

	state = (PointsAvgState *) palloc0(sizeof(PointsAvgState));
	state->count = pq_getmsgint64(&buf);
	hi = pq_getmsgint64(&buf);
	lo = (uint64) pq_getmsgint64(&buf);
	state->sum = Int128FromParts(hi, lo);
	pq_getmsgend(&buf);
	pfree(buf.data);

	PG_RETURN_POINTER(state);
}

/* avg() final: the mean rounded half away from zero to 0.01, NULL if no rows */
Datum
points_avg_final(PG_FUNCTION_ARGS)
{
	PointsAvgState *state;
	Numeric		mean;

	if (PG_ARGISNULL(0))
		PG_RETURN_NULL();
	state = (PointsAvgState *) PG_GETARG_POINTER(0);
	if (state->count == 0)
		PG_RETURN_NULL();

	/* The common case: the sum still fits in 64 bits */
	if (int128_compare(state->sum, int64_to_int128(PG_INT64_MIN)) >= 0 &&
		int128_compare(state->sum, int64_to_int128(PG_INT64_MAX)) <= 0)
		PG_RETURN_POINTS(PointsDivInt(int128_to_int64(state->sum), state->count));

	/* Otherwise divide exactly in numeric; the mean always fits */
	mean = NumericDivRoundWhole(Int128ToNumeric(state->sum),
								int64_to_numeric(state->count));
	PG_RETURN_POINTS(PointsFromIntegralNumeric(mean));
}
