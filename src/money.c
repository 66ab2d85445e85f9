/*
 * money.c
 *		Exact conversion of host amounts into int64 hundredths.
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "common/int.h"
#include "utils/builtins.h"
#include "utils/numeric.h"

#include "money.h"

/* numeric value * 10^digits, rounded half away from zero, as int64 */
int64
ScaledFromNumeric(Numeric num, int scale_digits, const char *what)
{
	Datum		factor;
	Datum		scaled;

	if (numeric_is_nan(num) || numeric_is_inf(num))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s must be a finite number", what)));
	factor = DirectFunctionCall1(int8_numeric, Int64GetDatum(scale_digits == 2 ? 100 :
																  scale_digits == 3 ? 1000 :
																  scale_digits == 4 ? 10000 : 1));
	scaled = DirectFunctionCall2(numeric_mul, NumericGetDatum(num), factor);
	scaled = DirectFunctionCall2(numeric_round, scaled, Int32GetDatum(0));
	if (DatumGetBool(DirectFunctionCall2(numeric_gt, scaled,
										 NumericGetDatum(int64_to_numeric(PG_INT64_MAX)))) ||
		DatumGetBool(DirectFunctionCall2(numeric_lt, scaled,
										 NumericGetDatum(int64_to_numeric(PG_INT64_MIN)))))
		ereport(ERROR,
				(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
				 errmsg("%s %s is out of range", what,
						numeric_normalize(num)),
				 errdetail("Values are kept as 64-bit integers of 10^-%d units: at most %s.",
						   scale_digits,
						   numeric_normalize(int64_div_fast_to_numeric(PG_INT64_MAX, scale_digits)))));
	return DatumGetInt64(DirectFunctionCall1(numeric_int8, scaled));
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
