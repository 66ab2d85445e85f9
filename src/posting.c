/*
 * posting.c
 *		Posting an order's earning through the executor's row routines.
 *
 * The earning of an order is four rows of the same member: the order row,
 * the ledger entry, the lot and the balance.  Written as one SQL statement
 * they cost a plan-cache check, an executor start for four tables and the
 * CTE machinery on every order; here they are written with the routines
 * logical replication uses to apply rows (ExecSimpleRelationInsert/Update),
 * so constraints, indexes and triggers behave exactly as with SQL.
 *
 * Order of work, the lock order of every writer: lock the member's balance
 * row (waiting for a concurrent order of the same member), look for the
 * document with a snapshot taken after the lock (a retry then sees the first
 * posting), write the order row and the entry, update the balance, open the
 * lot.  When the member has no balance row yet, or the transaction uses a
 * transaction snapshot (repeatable read, serializable), the caller posts
 * through SQL instead, which raises the proper serialization errors.
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/stratnum.h"
#include "access/table.h"
#include "access/tableam.h"
#include "access/xact.h"
#include "catalog/pg_type.h"
#include "commands/trigger.h"
#include "executor/executor.h"
#include "nodes/makefuncs.h"
#include "parser/parse_relation.h"
#include "rewrite/rewriteHandler.h"
#include "storage/lmgr.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/datum.h"
#include "utils/fmgroids.h"
#include "utils/lsyscache.h"
#include "utils/numeric.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"

#include "compat.h"
#include "guc.h"
#include "points.h"
#include "posting.h"
#include "posting_cache.h"
#include "spi_util.h"

/* An executor state with the four tables opened for writing */
typedef struct Posting
{
	EState	   *estate;
	ResultRelInfo rri[PT_COUNT];
	EPQState	epq;
	PostingCache *cache;		/* kept expressions; NULL: the executor's own */
} Posting;

/* Open the four tables, their indexes and triggers for one earning */
static void
PostingOpen(Posting *p)
{
	Oid			relids[PT_COUNT];
	List	   *rtable = NIL;
#if PG_VERSION_NUM >= 160000
	List	   *perminfos = NIL;
#endif
	int			i;

	p->cache = PostingCacheOpen(relids);
	p->estate = CreateExecutorState();
	for (i = 0; i < PT_COUNT; i++)
	{
		RangeTblEntry *rte = makeNode(RangeTblEntry);

		rte->rtekind = RTE_RELATION;
		rte->relid = relids[i];
		rte->relkind = RELKIND_RELATION;
		rte->rellockmode = RowExclusiveLock;
#if PG_VERSION_NUM >= 160000
		{
			RTEPermissionInfo *perm = addRTEPermissionInfo(&perminfos, rte);

			if (i == PT_BALANCE)
				perm->updatedCols = PostingCacheBalanceChanged(p->cache, relids[i]);
		}
#else
		if (i == PT_BALANCE)
			rte->updatedCols = PostingCacheBalanceChanged(p->cache, relids[i]);
#endif
		rtable = lappend(rtable, rte);
	}
#if PG_VERSION_NUM >= 160000
	ExecInitRangeTable(p->estate, rtable, perminfos);
	EvalPlanQualInit(&p->epq, p->estate, NULL, NIL, -1, NIL);
#else
	ExecInitRangeTable(p->estate, rtable);
	EvalPlanQualInit(&p->epq, p->estate, NULL, NIL, -1);
#endif
	p->estate->es_output_cid = GetCurrentCommandId(true);
	for (i = 0; i < PT_COUNT; i++)
	{
		ExecInitResultRelation(p->estate, &p->rri[i], i + 1);
		ExecOpenIndices(&p->rri[i], false);
		if (p->cache != NULL)
			PostingCacheInstall(p->cache, i, &p->rri[i]);
	}
	AfterTriggerBeginQuery();
}

/* Fire the AFTER triggers of the rows written and release everything */
static void
PostingClose(Posting *p)
{
	AfterTriggerEndQuery(p->estate);
	EvalPlanQualEnd(&p->epq);
	ExecCloseResultRelations(p->estate);
	ExecCloseRangeTableRelations(p->estate);
	ExecResetTupleTable(p->estate->es_tupleTable, false);
	FreeExecutorState(p->estate);
}

/* A row of a table from named values; other columns get their defaults */
static TupleTableSlot *
PostingRow(Posting *p, PostingTable t, PostingColumnList list, const ColumnValue *cols, int ncols)
{
	Relation	rel = p->rri[t].ri_RelationDesc;
	TupleDesc	desc = RelationGetDescr(rel);
	TupleTableSlot *slot = ExecInitExtraTupleSlot(p->estate, desc, &TTSOpsVirtual);
	const AttrNumber *attnums = PostingCacheColumns(p->cache, rel, list, cols, ncols);
	bool	   *given = palloc0(sizeof(bool) * desc->natts);
	int			a;
	int			k;

	ExecClearTuple(slot);
	for (k = 0; k < ncols; k++)
	{
		slot->tts_values[attnums[k] - 1] = cols[k].value;
		slot->tts_isnull[attnums[k] - 1] = cols[k].isnull;
		given[attnums[k] - 1] = true;
	}
	for (a = 0; a < desc->natts; a++)
	{
		Form_pg_attribute att = TupleDescAttr(desc, a);

		if (given[a])
			continue;
		slot->tts_values[a] = (Datum) 0;
		slot->tts_isnull[a] = true;
		if (!att->attisdropped)
			PostingCacheDefault(p->cache, t, rel, p->estate, att,
								&slot->tts_values[a], &slot->tts_isnull[a]);
	}
	return ExecStoreVirtualTuple(slot);
}

/*
 * Find and lock the member's balance row (waiting for, then following, a
 * concurrent writer); NULL when the member has none yet.
 */
static TupleTableSlot *
LockBalance(Posting *p, Datum member_id, Datum program_id)
{
	Relation	rel = p->rri[PT_BALANCE].ri_RelationDesc;
	TupleDesc	desc = RelationGetDescr(rel);
	TupleTableSlot *key = ExecInitExtraTupleSlot(p->estate, desc, &TTSOpsVirtual);
	TupleTableSlot *row = table_slot_create(rel, &p->estate->es_tupleTable);
	Oid			pkey = RelationGetPrimaryKeyIndex(rel);
	ColumnValue cols[] = {{"member_id", member_id, false}, {"program_id", program_id, false}};
	const AttrNumber *attnums = PostingCacheColumns(p->cache, rel, PCL_BALANCE_KEY,
													cols, lengthof(cols));
	int			k;

	if (!OidIsValid(pkey))
		elog(ERROR, "table loyalty.balance has no primary key");
	ExecClearTuple(key);
	memset(key->tts_isnull, true, sizeof(bool) * desc->natts);
	for (k = 0; k < lengthof(cols); k++)
	{
		key->tts_values[attnums[k] - 1] = cols[k].value;
		key->tts_isnull[attnums[k] - 1] = false;
	}
	ExecStoreVirtualTuple(key);
	if (!RelationFindReplTupleByIndex(rel, pkey, LockTupleNoKeyExclusive, key, row))
		return NULL;
	return row;
}

/* The open index of member_order on the document key */
static Relation
DocumentIndex(Posting *p)
{
	ResultRelInfo *rri = &p->rri[PT_ORDER];
	Oid			indexid = PostingCacheDocumentIndex(p->cache);
	int			i;

	for (i = 0; i < rri->ri_NumIndices; i++)
		if (RelationGetRelid(rri->ri_IndexRelationDescs[i]) == indexid)
			return rri->ri_IndexRelationDescs[i];
	elog(ERROR, "index loyalty.member_order_document_idx is not open");
	return NULL;				/* keep compiler quiet */
}

/*
 * Whether the document is already posted in the program, for this member or
 * another, as seen by a snapshot taken now (after the balance lock).
 */
static bool
DocumentPosted(Posting *p, const EarnValues *ev)
{
	Relation	rel = p->rri[PT_ORDER].ri_RelationDesc;
	Relation	index = DocumentIndex(p);
	TupleTableSlot *slot = table_slot_create(rel, &p->estate->es_tupleTable);
	Snapshot	snapshot = RegisterSnapshot(GetLatestSnapshot());
	ScanKeyData keys[3];
	IndexScanDesc scan;
	bool		found;

	ScanKeyInit(&keys[0], 1, BTEqualStrategyNumber, F_INT8EQ, ev->values[EP_PROGRAM]);
	ScanKeyInit(&keys[1], 2, BTEqualStrategyNumber, F_TEXTEQ, ev->values[EP_SOURCE]);
	keys[1].sk_collation = index->rd_indcollation[1];
	ScanKeyInit(&keys[2], 3, BTEqualStrategyNumber, F_TEXTEQ, ev->values[EP_DOCUMENT]);
	keys[2].sk_collation = index->rd_indcollation[2];
	scan = index_beginscan(rel, index, snapshot, 3, 0);
	index_rescan(scan, keys, 3, NULL, 0);
	found = index_getnext_slot(scan, ForwardScanDirection, slot);
	index_endscan(scan);
	UnregisterSnapshot(snapshot);
	return found;
}

/* An array of n zeros of a type */
static Datum
ZeroArray(int n, Oid elemtype, Datum zero)
{
	Datum	   *elems = palloc(sizeof(Datum) * Max(n, 1));
	int			i;

	for (i = 0; i < n; i++)
		elems[i] = zero;
	return LoyaltyMakeArray(elems, NULL, n, elemtype);
}

/* A value of the earning as a column value */
#define EV(name, param) {name, ev->values[param], ev->nulls[param] == 'n'}

/* Write the order row */
static void
InsertOrder(Posting *p, const EarnValues *ev, bool earns)
{
	ColumnValue cols[] = {
		EV("member_id", EP_MEMBER), EV("program_id", EP_PROGRAM), EV("source", EP_SOURCE),
		EV("document", EP_DOCUMENT), EV("branch", EP_BRANCH), EV("channel", EP_CHANNEL),
		EV("ordered_at", EP_ORDERED_AT), EV("amount", EP_AMOUNT), EV("points", EP_POINTS),
		EV("visit_points", EP_VISIT_POINTS), EV("rounding", EP_ROUNDING),
		{"entry_id", ev->values[EP_ENTRY], !earns},
		EV("line_nos", EP_LINE_NOS), EV("line_skus", EP_LINE_SKUS), EV("line_groups", EP_LINE_GROUPS),
		EV("line_quantities", EP_LINE_QUANTITIES), EV("line_amounts", EP_LINE_AMOUNTS),
		EV("line_points", EP_LINE_POINTS), EV("line_rules", EP_LINE_RULES),
		{"line_returned", ZeroArray(ev->nlines, NUMERICOID, NumericGetDatum(int64_to_numeric(0))), false},
		{"line_reversed", ZeroArray(ev->nlines, ev->points_type, PointsGetDatum(0)), false},
		{"returned_amount", NumericGetDatum(int64_to_numeric(0)), false},
		{"reversed_points", PointsGetDatum(0), false},
		{"status", CStringGetTextDatum("open"), false},
	};

	ExecSimpleRelationInsert(&p->rri[PT_ORDER], p->estate,
							 PostingRow(p, PT_ORDER, PCL_ORDER, cols, lengthof(cols)));
}

/* Write the earning entry */
static void
InsertEntry(Posting *p, const EarnValues *ev)
{
	ColumnValue cols[] = {
		EV("member_id", EP_MEMBER), EV("entry_id", EP_ENTRY), EV("program_id", EP_PROGRAM),
		{"kind", CStringGetTextDatum("earn"), false}, EV("amount", EP_POINTS),
		EV("source", EP_SOURCE), EV("document", EP_DOCUMENT), EV("branch", EP_BRANCH),
		EV("rule_id", EP_RULE), EV("campaign_id", EP_CAMPAIGN), EV("created_at", EP_CREATED_AT),
		EV("expires_at", EP_EXPIRES_AT), EV("checksum", EP_CHECKSUM),
	};

	ExecSimpleRelationInsert(&p->rri[PT_LEDGER], p->estate,
							 PostingRow(p, PT_LEDGER, PCL_ENTRY, cols, lengthof(cols)));
}

/* Open the lot of the earning; it holds what the new balance covers */
static void
InsertLot(Posting *p, const EarnValues *ev, Points balance)
{
	Points		earned = DatumGetPoints(ev->values[EP_POINTS]);
	Points		remaining = Max(0, Min(earned, balance));
	ColumnValue cols[] = {
		EV("member_id", EP_MEMBER), EV("lot_id", EP_ENTRY), EV("program_id", EP_PROGRAM),
		EV("earned", EP_POINTS), {"remaining", PointsGetDatum(remaining), false},
		EV("earned_at", EP_ORDERED_AT), EV("expires_at", EP_EXPIRES_AT),
	};

	ExecSimpleRelationInsert(&p->rri[PT_LOT], p->estate,
							 PostingRow(p, PT_LOT, PCL_LOT, cols, lengthof(cols)));
}

/* The attribute numbers of the balance columns an earning changes, by BalanceColumn */
static const AttrNumber *
BalanceAttnums(Posting *p)
{
	ColumnValue names[BC_COUNT];
	int			i;

	memset(names, 0, sizeof(names));
	for (i = 0; i < BC_COUNT; i++)
		names[i].name = PostingBalanceColumns[i];
	return PostingCacheColumns(p->cache, p->rri[PT_BALANCE].ri_RelationDesc, PCL_BALANCE,
							   names, BC_COUNT);
}

/* Add the order to the locked balance row; returns the new balance */
static Points
UpdateBalance(Posting *p, TupleTableSlot *old, const EarnValues *ev)
{
	Relation	rel = p->rri[PT_BALANCE].ri_RelationDesc;
	TupleDesc	desc = RelationGetDescr(rel);
	TupleTableSlot *row = ExecInitExtraTupleSlot(p->estate, desc, &TTSOpsVirtual);
	Points		earned = DatumGetPoints(ev->values[EP_POINTS]);
	const AttrNumber *attnums = BalanceAttnums(p);
	AttrNumber	a_points = attnums[BC_POINTS] - 1;
	AttrNumber	a_earned = attnums[BC_EARNED_TOTAL] - 1;
	AttrNumber	a_orders = attnums[BC_ORDERS] - 1;
	AttrNumber	a_last = attnums[BC_LAST_ORDER_AT] - 1;
	AttrNumber	a_updated = attnums[BC_UPDATED_AT] - 1;
	TimestampTz ordered_at = DatumGetTimestampTz(ev->values[EP_ORDERED_AT]);
	Points		points;

	slot_getallattrs(old);
	ExecClearTuple(row);
	memcpy(row->tts_values, old->tts_values, sizeof(Datum) * desc->natts);
	memcpy(row->tts_isnull, old->tts_isnull, sizeof(bool) * desc->natts);
	points = PointsAdd(DatumGetPoints(old->tts_values[a_points]), earned);
	row->tts_values[a_points] = PointsGetDatum(points);
	row->tts_values[a_earned] = PointsGetDatum(PointsAdd(DatumGetPoints(old->tts_values[a_earned]), earned));
	row->tts_values[a_orders] = Int64GetDatum(DatumGetInt64(old->tts_values[a_orders]) + 1);
	if (old->tts_isnull[a_last] || DatumGetTimestampTz(old->tts_values[a_last]) < ordered_at)
	{
		row->tts_values[a_last] = TimestampTzGetDatum(ordered_at);
		row->tts_isnull[a_last] = false;
	}
	row->tts_values[a_updated] = ev->values[EP_CREATED_AT];
	row->tts_isnull[a_updated] = false;
	ExecStoreVirtualTuple(row);
	EvalPlanQualSetSlot(&p->epq, row);
	ExecSimpleRelationUpdate(&p->rri[PT_BALANCE], p->estate, &p->epq, old, row);
	return points;
}

/*
 * Post an earning through the executor's row routines.  POST_UNAVAILABLE
 * leaves everything untouched for the SQL path.
 */
PostOutcome
PostEarnDirect(const EarnValues *ev)
{
	Posting		p;
	TupleTableSlot *balance;
	bool		earns = DatumGetBool(ev->values[EP_EARNS]);
	PostOutcome outcome = POST_WRITTEN;

	if (!loyalty_direct_posting || IsolationUsesXactSnapshot())
		return POST_UNAVAILABLE;

	/* rows this transaction wrote before must be visible to the lock and the scans */
	CommandCounterIncrement();
	PostingOpen(&p);
	balance = LockBalance(&p, ev->values[EP_MEMBER], ev->values[EP_PROGRAM]);
	if (balance == NULL)
		outcome = POST_UNAVAILABLE;
	else if (DocumentPosted(&p, ev))
		outcome = POST_DUPLICATE;
	else
	{
		Points		points;

		InsertOrder(&p, ev, earns);
		if (earns)
			InsertEntry(&p, ev);
		points = UpdateBalance(&p, balance, ev);
		if (earns)
			InsertLot(&p, ev, points);
	}
	PostingClose(&p);
	CommandCounterIncrement();
	return outcome;
}
