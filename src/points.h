/*
 * points.h
 *		The loyalty.points type: an exact amount of points with two decimals.
 *
 * A Points value is an int64 count of hundredths of a point, so 550 is 5.5
 * points.  Other modules use the helpers below instead of doing their own
 * arithmetic, so overflow and rounding are handled in one place.
 */
#ifndef PG_LOYALTY_POINTS_H
#define PG_LOYALTY_POINTS_H

#include "postgres.h"

#include "fmgr.h"
#include "utils/numeric.h"

typedef int64 Points;

/* Hundredths per point: the stored integer is points * POINTS_SCALE */
#define POINTS_SCALE 100

/* Number of decimal places a points value can carry */
#define POINTS_DECIMALS 2

#define DatumGetPoints(X)		((Points) DatumGetInt64(X))
#define PointsGetDatum(X)		Int64GetDatum((int64) (X))
#define PG_GETARG_POINTS(n)		DatumGetPoints(PG_GETARG_DATUM(n))
#define PG_RETURN_POINTS(x)		return PointsGetDatum(x)

/* How PointsRoundWhole rounds to whole points */
typedef enum PointsRoundMode
{
	POINTS_ROUND_NEAREST,		/* half away from zero: 5.5 -> 6, -5.5 -> -6 */
	POINTS_ROUND_DOWN,			/* toward zero: 5.9 -> 5, -5.9 -> -5 */
	POINTS_ROUND_UP,			/* away from zero: 5.1 -> 6, -5.1 -> -6 */
	POINTS_ROUND_KEEP			/* unchanged */
} PointsRoundMode;

extern PointsRoundMode PointsRoundModeFromString(const char *mode);
extern const char *PointsRoundModeToString(PointsRoundMode mode);
extern Points PointsRoundWhole(Points p, PointsRoundMode mode);

extern Points PointsAdd(Points a, Points b);
extern Points PointsSub(Points a, Points b);
extern Points PointsNegate(Points p);
extern Points PointsMulInt(Points p, int64 factor);
extern Points PointsDivInt(Points p, int64 divisor);
extern Points PointsMulNumeric(Points p, Numeric factor);
extern Points PointsDivNumeric(Points p, Numeric divisor);
extern int	PointsCmp(Points a, Points b);

extern Points PointsFromInt64(int64 whole);
extern Points PointsFromNumeric(Numeric n);
extern Numeric PointsToNumeric(Points p);
extern int64 PointsToInt64Rounded(Points p);

extern bool PointsTryParse(const char *str, Points *result);
extern Points PointsFromCString(const char *str);
extern char *PointsToCString(Points p);

#endif							/* PG_LOYALTY_POINTS_H */
