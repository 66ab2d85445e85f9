/*
 * keyed_rows.c
 *		Reading the rows of a host table that share a key through a btree
 *		index, without SPI.
 *
 * The accrual trigger reads an order's lines at commit.  Through SPI that is
 * a kept plan's revalidation, an executor start and a portal per order; when
 * the lines table has a plain btree index led by the order column (as any
 * lines table that is read by order has), an index scan under the snapshot
 * SPI would take gives the same rows for a fraction of the work.  Tables
 * without such an index keep the SPI query.
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/htup_details.h"
#include "access/relation.h"
#include "access/stratnum.h"
#include "access/tableam.h"
#include "access/xact.h"
#include "catalog/pg_am.h"
#include "catalog/pg_type.h"
#include "executor/tuptable.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"

#include "keyed_rows.h"

/* One fetched row and what it sorts by */
typedef struct KeyedRow
{
	HeapTuple	tuple;
	bool		sort_null;
	int64		sort_value;
	int			position;		/* in index order: the tie-breaker */
} KeyedRow;

/* The type equality is looked up for: varchar values compare as text */
static Oid
ComparisonType(Oid type)
{
	return type == VARCHAROID ? TEXTOID : type;
}

/* Whether an open index is a valid, plain btree led by attnum in the column's collation */
static bool
IndexLedBy(Relation index, AttrNumber attnum, Oid collation)
{
	Form_pg_index form = index->rd_index;

	return index->rd_rel->relam == BTREE_AM_OID &&
		form->indisvalid && form->indisready && form->indislive &&
		form->indkey.values[0] == attnum &&
		heap_attisnull(index->rd_indextuple, Anum_pg_index_indexprs, NULL) &&
		heap_attisnull(index->rd_indextuple, Anum_pg_index_indpred, NULL) &&
		index->rd_indcollation[0] == collation;
}

/* Find a plain btree index led by the column, comparable with values of valuetype */
void
KeyIndexFind(Relation rel, AttrNumber attnum, Oid valuetype, KeyIndex *ix)
{
	Oid			collation = TupleDescAttr(RelationGetDescr(rel), attnum - 1)->attcollation;
	List	   *indexes = RelationGetIndexList(rel);
	ListCell   *lc;

	memset(ix, 0, sizeof(KeyIndex));
	foreach(lc, indexes)
	{
		Relation	index = index_open(lfirst_oid(lc), AccessShareLock);
		Oid			op = InvalidOid;

		if (IndexLedBy(index, attnum, collation))
			op = get_opfamily_member(index->rd_opfamily[0],
									 ComparisonType(index->rd_opcintype[0]),
									 ComparisonType(valuetype), BTEqualStrategyNumber);
		if (OidIsValid(op))
		{
			ix->indexid = RelationGetRelid(index);
			ix->eq_proc = get_opcode(op);
			ix->collation = collation;
		}
		index_close(index, AccessShareLock);
		if (OidIsValid(ix->indexid))
			break;
	}
	list_free(indexes);
}

/* Order rows by their sort value, nulls last, then by index order */
static int
CompareKeyedRows(const void *a, const void *b)
{
	const KeyedRow *x = (const KeyedRow *) a;
	const KeyedRow *y = (const KeyedRow *) b;

	if (x->sort_null != y->sort_null)
		return x->sort_null ? 1 : -1;
	if (!x->sort_null && x->sort_value != y->sort_value)
		return x->sort_value < y->sort_value ? -1 : 1;
	return x->position - y->position;
}

/* An integer column's value for sorting */
static int64
SortValue(HeapTuple tuple, TupleDesc desc, AttrNumber attnum, bool *isnull)
{
	Datum		d = heap_getattr(tuple, attnum, desc, isnull);

	if (*isnull)
		return 0;
	switch (TupleDescAttr(desc, attnum - 1)->atttypid)
	{
		case INT2OID:
			return DatumGetInt16(d);
		case INT4OID:
			return DatumGetInt32(d);
		default:
			return DatumGetInt64(d);
	}
}

/*
 * The rows whose column equals value, as SQL run now would see them, sorted
 * by the integer column sort_attnum (nulls last) when it is not 0.
 */
HeapTuple *
KeyedRowsFetch(Relation rel, const KeyIndex *ix, Datum value, AttrNumber sort_attnum,
			   int *nrows)
{
	Relation	index = index_open(ix->indexid, AccessShareLock);
	TupleTableSlot *slot = table_slot_create(rel, NULL);
	TupleDesc	desc = RelationGetDescr(rel);
	KeyedRow   *rows = palloc(sizeof(KeyedRow) * 8);
	int			size = 8;
	int			n = 0;
	HeapTuple  *result;
	ScanKeyData key;
	IndexScanDesc scan;
	int			i;

	/* the snapshot a statement run now gets, seeing this transaction's rows */
	CommandCounterIncrement();
	PushCopiedSnapshot(GetTransactionSnapshot());
	UpdateActiveSnapshotCommandId();

	ScanKeyInit(&key, 1, BTEqualStrategyNumber, ix->eq_proc, value);
	key.sk_collation = ix->collation;
	scan = index_beginscan(rel, index, GetActiveSnapshot(), 1, 0);
	index_rescan(scan, &key, 1, NULL, 0);
	while (index_getnext_slot(scan, ForwardScanDirection, slot))
	{
		if (n == size)
		{
			size *= 2;
			rows = repalloc(rows, sizeof(KeyedRow) * size);
		}
		rows[n].tuple = ExecCopySlotHeapTuple(slot);
		rows[n].position = n;
		rows[n].sort_null = true;
		rows[n].sort_value = 0;
		if (sort_attnum > 0)
			rows[n].sort_value = SortValue(rows[n].tuple, desc, sort_attnum, &rows[n].sort_null);
		n++;
	}
	index_endscan(scan);
	PopActiveSnapshot();
	ExecDropSingleTupleTableSlot(slot);
	index_close(index, NoLock);

	if (sort_attnum > 0 && n > 1)
		qsort(rows, n, sizeof(KeyedRow), CompareKeyedRows);
	result = palloc(sizeof(HeapTuple) * Max(n, 1));
	for (i = 0; i < n; i++)
		result[i] = rows[i].tuple;
	pfree(rows);
	*nrows = n;
	return result;
}
