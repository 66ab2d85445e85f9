/*
 * arith.h
 *		Exact integer arithmetic shared by the rule engine, simulations and
 *		discounts: millionths of a point and rounding half away from zero.
 */
#ifndef PG_LOYALTY_ARITH_H
#define PG_LOYALTY_ARITH_H

#include "postgres.h"

#include "points.h"

#ifndef HAVE_INT128
#error "pg_loyalty needs a compiler with 128-bit integers"
#endif

#define MICRO_PER_POINT		INT64CONST(1000000)
#define MICRO_PER_HUNDREDTH INT64CONST(10000)

/* a / b rounded half away from zero (b > 0) */
static inline int128
LoyaltyDivRound(int128 a, int128 b)
{
	int128		q = a / b;
	int128		r = a % b;

	if (r < 0)
		r = -r;
	if (2 * r >= b)
		q += (a < 0) ? -1 : 1;
	return q;
}

extern Points RoundMicroPoints(int128 micro, PointsRoundMode mode);

#endif							/* PG_LOYALTY_ARITH_H */
