/*
 * posting_cache.h
 *		Per-backend prepared state of the tables an earning writes: their
 *		ids, and the compiled CHECK constraints, partial-index predicates,
 *		trigger WHEN clauses and column defaults that the executor would
 *		otherwise re-read and re-plan for every order.
 */
#ifndef PG_LOYALTY_POSTING_CACHE_H
#define PG_LOYALTY_POSTING_CACHE_H

#include "postgres.h"

#include "nodes/bitmapset.h"
#include "nodes/execnodes.h"

/* The tables an earning writes, in range-table order */
typedef enum PostingTable
{
	PT_BALANCE,
	PT_ORDER,
	PT_LEDGER,
	PT_LOT,
	PT_COUNT
} PostingTable;

/* The balance columns an earning changes (its triggers fire on these) */
typedef enum BalanceColumn
{
	BC_POINTS,
	BC_EARNED_TOTAL,
	BC_ORDERS,
	BC_LAST_ORDER_AT,
	BC_UPDATED_AT,
	BC_COUNT
} BalanceColumn;

extern const char *const PostingBalanceColumns[BC_COUNT];

/* The column lists whose attribute numbers are kept */
typedef enum PostingColumnList
{
	PCL_ORDER,					/* the order row's columns */
	PCL_ENTRY,					/* the earning entry's columns */
	PCL_LOT,					/* the lot's columns */
	PCL_BALANCE,				/* the balance columns an earning changes, BalanceColumn order */
	PCL_BALANCE_KEY,			/* member_id, program_id of the balance */
	PCL_COUNT
} PostingColumnList;

/* A value for a named column of a row being written */
typedef struct ColumnValue
{
	const char *name;
	Datum		value;
	bool		isnull;
} ColumnValue;

/* What is kept of one table */
typedef struct PostingTableState
{
	int			natts;
	int			ncheck;
	ExprState **checks;			/* CHECK constraints, in the relcache's order */
	int			nindexes;
	Oid		   *index_oids;		/* in the order ExecOpenIndices opens them */
	ExprState **predicates;		/* partial-index predicates, NULL for full */
	int			ntriggers;
	Oid		   *trigger_oids;
	ExprState **trigger_when;	/* WHEN clauses, NULL where there is none */
	ExprState **defaults;		/* column defaults by attnum - 1, NULL for none */
} PostingTableState;

/* Everything kept for the posting path */
typedef struct PostingCache
{
	PostingTableState tables[PT_COUNT];
	AttrNumber *columns[PCL_COUNT];
	Bitmapset  *balance_changed;
	Oid			document_index;
} PostingCache;

/*
 * Lock the tables of an earning and return their ids; the kept state, or
 * NULL when it cannot be used this time (the executor then builds its own).
 */
extern PostingCache *PostingCacheOpen(Oid relids[PT_COUNT]);

/* Let the executor use the kept expressions of a table (after ExecOpenIndices) */
extern void PostingCacheInstall(PostingCache *cache, PostingTable t, ResultRelInfo *rri);

/* The attribute numbers of the named columns of a row of a table */
extern const AttrNumber *PostingCacheColumns(PostingCache *cache, Relation rel,
											 PostingColumnList list,
											 const ColumnValue *cols, int n);

/* A column's default, or NULL; for a row being built in estate */
extern void PostingCacheDefault(PostingCache *cache, PostingTable t, Relation rel,
								EState *estate, Form_pg_attribute att,
								Datum *value, bool *isnull);

/* The balance columns an earning changes, as a column set */
extern Bitmapset *PostingCacheBalanceChanged(PostingCache *cache, Oid relid);

/* The index on member_order's document key */
extern Oid	PostingCacheDocumentIndex(PostingCache *cache);

#endif							/* PG_LOYALTY_POSTING_CACHE_H */
