/*
 * money.h
 *		Money amounts as int64 hundredths of the currency unit.
 *
 * Đồng have no minor unit and roubles have kopecks; hundredths hold both
 * exactly.  Host amounts with more decimals are rounded half away from zero.
 */
#ifndef PG_LOYALTY_MONEY_H
#define PG_LOYALTY_MONEY_H

#include "utils/numeric.h"

#define MONEY_SCALE 100

extern int64 MoneyFromNumeric(Numeric num, const char *what);
extern int64 MoneyFromDatum(Datum value, Oid type, const char *what);
extern Numeric MoneyToNumeric(int64 hundredths);
extern int64 ScaledFromNumeric(Numeric num, int scale_digits, const char *what);
extern Numeric ScaledToNumeric(int64 value, int scale_digits);
extern bool MoneyTypeSupported(Oid type);

#endif							/* PG_LOYALTY_MONEY_H */
