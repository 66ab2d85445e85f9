/*
 * unreachable.c
 *		Backend functions that src/points.c, src/code.c and src/notify.c refer
 *		to but the fuzzed paths must never reach: each aborts with its name.
 *		(Kept apart from stubs.c so no server header declares them here.)
 */
#include <stdio.h>
#include <stdlib.h>

#define UNREACHABLE(name) \
	void name(void); \
	void name(void) { fprintf(stderr, "fuzz stub %s called\n", #name); abort(); }

UNREACHABLE(AggCheckCallContext)
UNREACHABLE(DirectFunctionCall1Coll)
UNREACHABLE(DirectFunctionCall2Coll)
UNREACHABLE(hashint8)
UNREACHABLE(hashint8extended)
UNREACHABLE(int64_div_fast_to_numeric)
UNREACHABLE(int64_to_numeric)
UNREACHABLE(numeric_abs)
UNREACHABLE(numeric_add)
UNREACHABLE(numeric_cmp)
UNREACHABLE(numeric_div)
UNREACHABLE(numeric_div_trunc)
UNREACHABLE(numeric_is_inf)
UNREACHABLE(numeric_is_nan)
UNREACHABLE(numeric_mod)
UNREACHABLE(numeric_mul)
UNREACHABLE(numeric_out)
UNREACHABLE(numeric_round)
UNREACHABLE(pq_begintypsend)
UNREACHABLE(pq_endtypsend)
UNREACHABLE(pq_getmsgend)
UNREACHABLE(pq_getmsgint)
UNREACHABLE(pq_getmsgint64)
UNREACHABLE(pq_copymsgbytes)
UNREACHABLE(pq_sendbytes)
UNREACHABLE(SPI_fnumber)
UNREACHABLE(SPI_getvalue)
UNREACHABLE(findJsonbValueFromContainer)

UNREACHABLE(pg_strong_random)
