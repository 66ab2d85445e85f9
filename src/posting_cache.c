/*
 * posting_cache.c
 *		Per-backend prepared state of the tables an earning writes.
 *
 * For every row it writes, the executor compiles the table's CHECK
 * constraints from their stored text, plans partial-index predicates and
 * trigger WHEN clauses, and evaluates column defaults from the catalog:
 * work that belongs to a query, and an order is one small query.  This file
 * compiles them once per backend (in a memory context of its own) and hands
 * them to each order's ResultRelInfos, the way a prepared statement keeps its
 * plan.  A relcache invalidation of any of the four tables (constraint,
 * index, trigger or default changes all send one) or a changed function
 * (which the planner may have inlined) marks the state stale; it is rebuilt
 * under the next order's locks, and the old copy lives until the end of
 * that transaction in case an order in progress still uses it.
 */
#include "postgres.h"

#include "access/relation.h"
#include "access/table.h"
#include "access/genam.h"
#include "executor/executor.h"
#include "nodes/makefuncs.h"
#include "optimizer/optimizer.h"
#include "rewrite/rewriteHandler.h"
#include "rewrite/rewriteManip.h"
#include "storage/lmgr.h"
#include "utils/datum.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/relcache.h"
#include "utils/syscache.h"
#include "parser/parse_relation.h"

#include "posting_cache.h"
#include "spi_util.h"
#include "invalidation.h"

static const char *const PostingTableNames[PT_COUNT] = {"balance", "member_order", "ledger", "lot"};

/* The balance columns an earning changes, by BalanceColumn */
const char *const PostingBalanceColumns[BC_COUNT] = {
	[BC_POINTS] = "points", [BC_EARNED_TOTAL] = "earned_total", [BC_ORDERS] = "orders",
	[BC_LAST_ORDER_AT] = "last_order_at", [BC_UPDATED_AT] = "updated_at",
};

static MemoryContext CacheContext = NULL;
static PostingCache *Cache = NULL;	/* NULL until built */
static Oid	KeptRelids[PT_COUNT];	/* the tables watched for invalidations */
static bool CacheValid = false;
static bool CallbackRegistered = false;

/* Mark the state stale when one of its tables (or every relation) changes */
static void
PostingCacheInvalidate(Datum arg, Oid relid)
{
	int			t;

	if (!OidIsValid(relid))
	{
		CacheValid = false;
		return;
	}
	for (t = 0; t < PT_COUNT; t++)
		if (KeptRelids[t] == relid)
			CacheValid = false;
}

/* A function changed (it may be inlined in a kept expression): rebuild */
static void
PostingCacheFunctionChanged(Datum arg, int cacheid, uint32 hashvalue)
{
	CacheValid = false;
}

/* The id of one of the tables, looked up by name */
static Oid
PostingTableRelid(PostingTable t)
{
	Oid			relid = get_relname_relid(PostingTableNames[t], LoyaltyNamespaceOid());

	if (!OidIsValid(relid))
		elog(ERROR, "table loyalty.%s does not exist", PostingTableNames[t]);
	return relid;
}

/* An expression compiled for evaluation in any executor state */
static ExprState *
CompileExpr(Node *expr)
{
	return ExecInitExpr(expression_planner((Expr *) expr), NULL);
}

/* A qualification (implicit AND list) compiled for any executor state */
static ExprState *
CompileQual(List *qual)
{
	return ExecInitQual((List *) expression_planner((Expr *) qual), NULL);
}

/* A trigger's WHEN clause as the executor evaluates it: OLD inner, NEW outer */
static ExprState *
CompileTriggerWhen(const char *tgqual)
{
	Node	   *qual = stringToNode(tgqual);

	ChangeVarNodes(qual, PRS2_OLD_VARNO, INNER_VAR, 0);
	ChangeVarNodes(qual, PRS2_NEW_VARNO, OUTER_VAR, 0);
	return CompileQual(make_ands_implicit((Expr *) qual));
}

/* Compile the CHECK constraints of a table */
static void
KeepChecks(PostingTableState *s, Relation rel)
{
	TupleConstr *constr = RelationGetDescr(rel)->constr;
	int			i;

	s->ncheck = constr != NULL ? constr->num_check : 0;
	s->checks = palloc0(sizeof(ExprState *) * Max(s->ncheck, 1));
	for (i = 0; i < s->ncheck; i++)
	{
#if PG_VERSION_NUM >= 180000
		/* a NOT ENFORCED constraint has no expression, as in the executor */
		if (!constr->check[i].ccenforced)
			continue;
#endif
		s->checks[i] = CompileExpr(stringToNode(constr->check[i].ccbin));
	}
}

/* Note the indexes of a table and compile the predicates of partial ones */
static void
KeepIndexes(PostingTableState *s, Relation rel)
{
	List	   *indexes = RelationGetIndexList(rel);
	ListCell   *lc;
	int			i = 0;

	s->nindexes = list_length(indexes);
	s->index_oids = palloc0(sizeof(Oid) * Max(s->nindexes, 1));
	s->predicates = palloc0(sizeof(ExprState *) * Max(s->nindexes, 1));
	foreach(lc, indexes)
	{
		Relation	index = index_open(lfirst_oid(lc), RowExclusiveLock);
		List	   *predicate = RelationGetIndexPredicate(index);

		s->index_oids[i] = RelationGetRelid(index);
		if (predicate != NIL)
			s->predicates[i] = CompileQual(predicate);
		index_close(index, NoLock);
		i++;
	}
}

/* Note the triggers of a table and compile their WHEN clauses */
static void
KeepTriggers(PostingTableState *s, Relation rel)
{
	TriggerDesc *trigdesc = rel->trigdesc;
	int			i;

	s->ntriggers = trigdesc != NULL ? trigdesc->numtriggers : 0;
	s->trigger_oids = palloc0(sizeof(Oid) * Max(s->ntriggers, 1));
	s->trigger_when = palloc0(sizeof(ExprState *) * Max(s->ntriggers, 1));
	for (i = 0; i < s->ntriggers; i++)
	{
		s->trigger_oids[i] = trigdesc->triggers[i].tgoid;
		if (trigdesc->triggers[i].tgqual != NULL)
			s->trigger_when[i] = CompileTriggerWhen(trigdesc->triggers[i].tgqual);
	}
}

/* Compile the column defaults of a table */
static void
KeepDefaults(PostingTableState *s, Relation rel)
{
	TupleDesc	desc = RelationGetDescr(rel);
	int			a;

	s->natts = desc->natts;
	s->defaults = palloc0(sizeof(ExprState *) * Max(s->natts, 1));
	for (a = 0; a < s->natts; a++)
	{
		Node	   *expr;

		if (TupleDescAttr(desc, a)->attisdropped)
			continue;
		expr = build_column_default(rel, a + 1);
		if (expr != NULL)
			s->defaults[a] = CompileExpr(expr);
	}
}

/*
 * Build the state of the four (locked) tables in a new memory context; it
 * belongs to the transaction until complete, so an error frees it.
 */
static void
BuildCache(const Oid relids[PT_COUNT])
{
	MemoryContext context = AllocSetContextCreate(TopTransactionContext,
												  "pg_loyalty posting cache",
												  ALLOCSET_SMALL_SIZES);
	MemoryContext old = MemoryContextSwitchTo(context);
	PostingCache *cache = palloc0(sizeof(PostingCache));
	int			t;

	for (t = 0; t < PT_COUNT; t++)
	{
		Relation	rel = table_open(relids[t], NoLock);
		PostingTableState *s = &cache->tables[t];

		KeepChecks(s, rel);
		KeepIndexes(s, rel);
		KeepTriggers(s, rel);
		KeepDefaults(s, rel);
		table_close(rel, NoLock);
	}
	MemoryContextSwitchTo(old);

	/* an order in progress may still use the old state: free it with the transaction */
	if (CacheContext != NULL)
		MemoryContextSetParent(CacheContext, TopTransactionContext);
	MemoryContextSetParent(context, CacheMemoryContext);
	CacheContext = context;
	Cache = cache;
}

/*
 * Lock the tables of an earning and return their ids; the kept state, or
 * NULL when it cannot be used this time (the executor then builds its own).
 */
PostingCache *
PostingCacheOpen(Oid relids[PT_COUNT])
{
	int			t;

	if (!CallbackRegistered)
	{
		LoyaltyOnRelcacheInvalidation(PostingCacheInvalidate);
		CacheRegisterSyscacheCallback(PROCOID, PostingCacheFunctionChanged, (Datum) 0);
		CallbackRegistered = true;
	}
	if (CacheValid && Cache != NULL)
	{
		for (t = 0; t < PT_COUNT; t++)
		{
			relids[t] = KeptRelids[t];
			LockRelationOid(relids[t], RowExclusiveLock);
		}
		/* invalidations taken in with the locks may have changed a table */
		if (CacheValid)
			return Cache;
	}

	/* (re)build under the locks: no DDL can change the tables meanwhile */
	for (t = 0; t < PT_COUNT; t++)
	{
		relids[t] = PostingTableRelid(t);
		LockRelationOid(relids[t], RowExclusiveLock);
		KeptRelids[t] = relids[t];
	}
	Cache = NULL;
	CacheValid = true;
	BuildCache(relids);
	if (!CacheValid)
		return NULL;			/* changed while building: rebuilt next time */
	return Cache;
}

/* Let the executor use the kept expressions of a table (after ExecOpenIndices) */
void
PostingCacheInstall(PostingCache *cache, PostingTable t, ResultRelInfo *rri)
{
	PostingTableState *s = &cache->tables[t];
	Relation	rel = rri->ri_RelationDesc;
	TupleConstr *constr = RelationGetDescr(rel)->constr;
	int			i;

	if (s->ncheck == (constr != NULL ? constr->num_check : 0) && s->ncheck > 0)
		rri->ri_ConstraintExprs = s->checks;

	if (s->nindexes == rri->ri_NumIndices)
	{
		for (i = 0; i < s->nindexes; i++)
			if (RelationGetRelid(rri->ri_IndexRelationDescs[i]) != s->index_oids[i])
				break;
		if (i == s->nindexes)
			for (i = 0; i < s->nindexes; i++)
				if (s->predicates[i] != NULL)
					rri->ri_IndexRelationInfo[i]->ii_PredicateState = s->predicates[i];
	}

	if (rri->ri_TrigDesc != NULL && rri->ri_TrigDesc->numtriggers == s->ntriggers)
		for (i = 0; i < s->ntriggers; i++)
			if (s->trigger_when[i] != NULL &&
				rri->ri_TrigDesc->triggers[i].tgoid == s->trigger_oids[i])
				rri->ri_TrigWhenExprs[i] = s->trigger_when[i];
}

/* The attribute numbers of the named columns of a row of a table */
const AttrNumber *
PostingCacheColumns(PostingCache *cache, Relation rel, PostingColumnList list,
					const ColumnValue *cols, int n)
{
	AttrNumber *attnums;
	MemoryContext old = NULL;
	int			i;

	if (cache != NULL && cache->columns[list] != NULL)
		return cache->columns[list];
	if (cache != NULL)
		old = MemoryContextSwitchTo(CacheContext);
	attnums = palloc(sizeof(AttrNumber) * Max(n, 1));
	for (i = 0; i < n; i++)
	{
		attnums[i] = attnameAttNum(rel, cols[i].name, false);
		if (attnums[i] == InvalidAttrNumber)
			elog(ERROR, "column loyalty.%s.%s does not exist",
				 RelationGetRelationName(rel), cols[i].name);
	}
	if (cache != NULL)
	{
		MemoryContextSwitchTo(old);
		cache->columns[list] = attnums;
	}
	return attnums;
}

/* A column's default, or NULL; for a row being built in estate */
void
PostingCacheDefault(PostingCache *cache, PostingTable t, Relation rel,
					EState *estate, Form_pg_attribute att, Datum *value, bool *isnull)
{
	ExprState  *state = NULL;
	Datum		v;

	*isnull = true;
	*value = (Datum) 0;
	if (cache != NULL && att->attnum <= cache->tables[t].natts)
		state = cache->tables[t].defaults[att->attnum - 1];
	else
	{
		Node	   *expr = build_column_default(rel, att->attnum);

		if (expr != NULL)
			state = ExecPrepareExpr((Expr *) expr, estate);
	}
	if (state == NULL)
		return;
	v = ExecEvalExprSwitchContext(state, GetPerTupleExprContext(estate), isnull);
	if (!*isnull)
		*value = datumCopy(v, att->attbyval, att->attlen);
}

/* The balance columns an earning changes, as a column set */
Bitmapset *
PostingCacheBalanceChanged(PostingCache *cache, Oid relid)
{
	Bitmapset  *cols = NULL;
	MemoryContext old = NULL;
	int			i;

	if (cache != NULL && cache->balance_changed != NULL)
		return bms_copy(cache->balance_changed);
	if (cache != NULL)
		old = MemoryContextSwitchTo(CacheContext);
	for (i = 0; i < BC_COUNT; i++)
	{
		AttrNumber	attnum = get_attnum(relid, PostingBalanceColumns[i]);

		if (attnum == InvalidAttrNumber)
			elog(ERROR, "column loyalty.balance.%s does not exist", PostingBalanceColumns[i]);
		cols = bms_add_member(cols, attnum - FirstLowInvalidHeapAttributeNumber);
	}
	if (cache == NULL)
		return cols;
	MemoryContextSwitchTo(old);
	cache->balance_changed = cols;
	return bms_copy(cols);
}

/* The index on member_order's document key */
Oid
PostingCacheDocumentIndex(PostingCache *cache)
{
	Oid			indexid;

	if (cache != NULL && OidIsValid(cache->document_index))
		return cache->document_index;
	indexid = get_relname_relid("member_order_document_idx", LoyaltyNamespaceOid());
	if (!OidIsValid(indexid))
		elog(ERROR, "index loyalty.member_order_document_idx does not exist");
	if (cache != NULL)
		cache->document_index = indexid;
	return indexid;
}
