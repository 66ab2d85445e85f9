/*
 * ids.c
 *		Identifiers for member-scoped rows that never collide across servers.
 *
 * A plain sequence is unique on one server, but when member-scoped tables
 * are sharded every worker would hand out the same numbers.  Our ids put
 * the server's pg_loyalty.node_id in the top 15 bits and a value of the
 * local sequence loyalty.id_seq in the low 48, the way distributed
 * PostgreSQL keeps bigserial columns apart.  Nothing is shared between
 * servers and nothing is locked beyond the sequence itself.
 */
#include "postgres.h"

#include "commands/sequence.h"
#include "fmgr.h"
#include "utils/lsyscache.h"

#include "guc.h"
#include "ids.h"
#include "spi_util.h"

PG_FUNCTION_INFO_V1(generate_id);

#define NODE_SHIFT	48

/* A new positive 63-bit id: node id, then the local sequence */
int64
LoyaltyGenerateId(void)
{
	Oid			seqid = get_relname_relid("id_seq", LoyaltyNamespaceOid());
	int64		local;

	if (!OidIsValid(seqid))
		elog(ERROR, "sequence loyalty.id_seq does not exist");
	local = nextval_internal(seqid, false);
	if (local >= (INT64CONST(1) << NODE_SHIFT))
		ereport(ERROR,
				(errcode(ERRCODE_SEQUENCE_GENERATOR_LIMIT_EXCEEDED),
				 errmsg("loyalty.id_seq has used all 2^48 ids of node %d", loyalty_node_id)));
	return ((int64) loyalty_node_id << NODE_SHIFT) | local;
}

/* SQL: loyalty.generate_id() returns bigint */
Datum
generate_id(PG_FUNCTION_ARGS)
{
	PG_RETURN_INT64(LoyaltyGenerateId());
}
