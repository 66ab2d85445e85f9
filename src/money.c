/*
 * money.c
 *		Exact conversion of host amounts into int64 hundredths.
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "common/int.h"
#include "utils/builtins.h"
#include "utils/memutils.h"
#include "utils/numeric.h"

#include "money.h"

/* Numerics every conversion uses, made once per backend */
typedef struct ScaleConstants
{
	Numeric		factor[5];		/* 10^0 .. 10^4 */
	Numeric		above;			/* 9223372036854775807.5: rounds beyond int64 */
	Numeric		below;			/* -9223372036854775808.5 */
} ScaleConstants;

/* The constants, made in TopMemoryContext on first use */
static const ScaleConstants *
GetScaleConstants(void)
{
	static ScaleConstants *constants = NULL;
	MemoryContext old;
	int64		f = 1;
	int			i;

	if (constants != NULL)
		return constants;
	old = MemoryContextSwitchTo(TopMemoryContext);
	constants = palloc(sizeof(ScaleConstants));
	for (i = 0; i < lengthof(constants->factor); i++, f *= 10)
		constants->factor[i] = int64_to_numeric(f);
	constants->above = DatumGetNumeric(DirectFunctionCall3(numeric_in,
														   CStringGetDatum("9223372036854775807.5"),
														   ObjectIdGetDatum(InvalidOid),
														   Int32GetDatum(-1)));
	constants->below = DatumGetNumeric(DirectFunctionCall3(numeric_in,
														   CStringGetDatum("-9223372036854775808.5"),
														   ObjectIdGetDatum(InvalidOid),
														   Int32GetDatum(-1)));
	MemoryContextSwitchTo(old);
	return constants;
}

/* Compare two numerics */
static int
CompareNumeric(Numeric a, Numeric b)
{
	return DatumGetInt32(DirectFunctionCall2(numeric_cmp, NumericGetDatum(a), NumericGetDatum(b)));
}

/* numeric value * 10^digits, rounded half away from zero, as int64 */
int64
ScaledFromNumeric(Numeric num, int scale_digits, const char *what)
{
	const ScaleConstants *k = GetScaleConstants();
	Numeric		scaled = num;

	Assert(scale_digits >= 0 && scale_digits < lengthof(k->factor));
	if (numeric_is_nan(num) || numeric_is_inf(num))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s must be a finite number", what)));
	if (scale_digits > 0)
		scaled = numeric_mul_opt_error(num, k->factor[scale_digits], NULL);
	/* numeric_int8 rounds half away from zero; refuse what would round out of range */
	if (CompareNumeric(scaled, k->above) >= 0 || CompareNumeric(scaled, k->below) <= 0)
		ereport(ERROR,
				(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
				 errmsg("%s %s is out of range", what,
						numeric_normalize(num)),
				 errdetail("Values are kept as 64-bit integers of 10^-%d units: at most %s.",
						   scale_digits,
						   numeric_normalize(int64_div_fast_to_numeric(PG_INT64_MAX, scale_digits)))));
	return DatumGetInt64(DirectFunctionCall1(numeric_int8, NumericGetDatum(scaled)));
}

/* A numeric amount of money as hundredths */
int64
MoneyFromNumeric(Numeric num, const char *what)
{
	return ScaledFromNumeric(num, 2, what);
}

/* Whether a host column of this type can hold an amount */
bool
MoneyTypeSupported(Oid type)
{
	return type == NUMERICOID || type == INT2OID || type == INT4OID || type == INT8OID;
}

/* An amount held in a host column of one of the supported types */
int64
MoneyFromDatum(Datum value, Oid type, const char *what)
{
	int64		v;
	int64		result;

	switch (type)
	{
		case NUMERICOID:
			return MoneyFromNumeric(DatumGetNumeric(value), what);
		case INT2OID:
			v = DatumGetInt16(value);
			break;
		case INT4OID:
			v = DatumGetInt32(value);
			break;
		case INT8OID:
			v = DatumGetInt64(value);
			break;
		default:
			ereport(ERROR,
					(errcode(ERRCODE_DATATYPE_MISMATCH),
					 errmsg("%s has unsupported type %s", what, format_type_be(type))));
	}
	if (pg_mul_s64_overflow(v, MONEY_SCALE, &result))
		ereport(ERROR,
				(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
				 errmsg("%s is out of range", what)));
	return result;
}

/* Hundredths back to an exact numeric amount */
Numeric
MoneyToNumeric(int64 hundredths)
{
	return ScaledToNumeric(hundredths, 2);
}

/* A numeric with scale_digits decimals from an integer in 10^-scale_digits units */
Numeric
ScaledToNumeric(int64 value, int scale_digits)
{
	return int64_div_fast_to_numeric(value, scale_digits);
}
