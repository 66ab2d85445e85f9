/*
 * keyed_rows.h
 *		Reading the rows of a host table that share a key (an order's lines)
 *		through one of its btree indexes, without SPI.
 */
#ifndef PG_LOYALTY_KEYED_ROWS_H
#define PG_LOYALTY_KEYED_ROWS_H

#include "postgres.h"

#include "access/htup.h"
#include "utils/relcache.h"

/* An index that finds rows by equality on one column */
typedef struct KeyIndex
{
	Oid			indexid;		/* InvalidOid: none usable */
	RegProcedure eq_proc;		/* index column = value */
	Oid			collation;
} KeyIndex;

/* Find a plain btree index led by the column, comparable with values of valuetype */
extern void KeyIndexFind(Relation rel, AttrNumber attnum, Oid valuetype, KeyIndex *ix);

/*
 * The rows whose column equals value, as SQL run now would see them, sorted
 * by the integer column sort_attnum (nulls last) when it is not 0.
 */
extern HeapTuple *KeyedRowsFetch(Relation rel, const KeyIndex *ix, Datum value,
								 AttrNumber sort_attnum, int *nrows);

#endif							/* PG_LOYALTY_KEYED_ROWS_H */
