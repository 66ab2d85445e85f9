/*
 * ids.c
 *		Identifiers for member-scoped rows that never collide across servers.
 *
 * A plain sequence lives on one server; when member-scoped tables are
 * sharded, every worker would hand out the same numbers.  Our ids are
 * 42 bits of milliseconds since 2024-01-01 followed by 21 random bits, so
 * they sort roughly by time and need no shared counter.
 */
#include "postgres.h"

#include "fmgr.h"
#include "port.h"
#include "utils/timestamp.h"

#include "ids.h"

PG_FUNCTION_INFO_V1(generate_id);

#define LOYALTY_EPOCH_MS	INT64CONST(1704067200000)	/* 2024-01-01 UTC */
#define RANDOM_BITS			21

/* A new positive 63-bit id: time in milliseconds, then random bits */
int64
LoyaltyGenerateId(void)
{
	TimestampTz now = GetCurrentTimestamp();
	int64		unix_ms = now / 1000 + (int64) (POSTGRES_EPOCH_JDATE - UNIX_EPOCH_JDATE) * SECS_PER_DAY * 1000;
	int64		ms = unix_ms - LOYALTY_EPOCH_MS;
	uint32		random_part;

	if (!pg_strong_random(&random_part, sizeof(random_part)))
		ereport(ERROR,
				(errcode(ERRCODE_INTERNAL_ERROR),
				 errmsg("could not generate random bits for a new id")));
	if (ms < 0)
		ms = 0;
	ms &= (INT64CONST(1) << 42) - 1;
	return (ms << RANDOM_BITS) | (random_part & ((1 << RANDOM_BITS) - 1));
}

/* SQL: loyalty.generate_id() returns bigint */
Datum
generate_id(PG_FUNCTION_ARGS)
{
	PG_RETURN_INT64(LoyaltyGenerateId());
}
