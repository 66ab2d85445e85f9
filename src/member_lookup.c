/*
 * member_lookup.c
 *		Looking a member up for accrual through the indexes, without SPI:
 *		the customer key's member, its status, groups and birthday, the card
 *		series it holds (when the program's rules use them) and its tier
 *		(when the program has tiers).
 *
 * Reads with the active snapshot, as the read-only SQL lookup it replaces
 * did; the rows read are those of loyalty.member_key, member, card,
 * member_tier and tier.
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/stratnum.h"
#include "access/table.h"
#include "access/tableam.h"
#include "executor/tuptable.h"
#include "parser/parse_relation.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"

#include "accrual_engine.h"
#include "guc.h"
#include "member_lookup.h"
#include "money.h"
#include "spi_util.h"

/* A table of the lookup, opened for reading, with a slot for its rows */
typedef struct LookupTable
{
	Relation	rel;
	TupleTableSlot *slot;
} LookupTable;

/* Open a table of the extension for reading */
static void
LookupOpen(LookupTable *t, const char *name)
{
	Oid			relid = get_relname_relid(name, LoyaltyNamespaceOid());

	if (!OidIsValid(relid))
		elog(ERROR, "table loyalty.%s does not exist", name);
	t->rel = table_open(relid, AccessShareLock);
	t->slot = table_slot_create(t->rel, NULL);
}

/* Close a table opened by LookupOpen */
static void
LookupClose(LookupTable *t)
{
	ExecDropSingleTupleTableSlot(t->slot);
	table_close(t->rel, AccessShareLock);
}

/* A column's value in the current row of a table */
static Datum
LookupColumn(LookupTable *t, const char *name, bool *isnull)
{
	AttrNumber	attnum = attnameAttNum(t->rel, name, false);

	if (attnum == InvalidAttrNumber)
		elog(ERROR, "column loyalty.%s.%s does not exist", RelationGetRelationName(t->rel), name);
	return slot_getattr(t->slot, attnum, isnull);
}

/* Start an index scan of a table on the given keys (the index's leading columns) */
static IndexScanDesc
LookupScan(LookupTable *t, Relation index, ScanKey keys, int nkeys)
{
	IndexScanDesc scan = index_beginscan(t->rel, index, GetActiveSnapshot(), nkeys, 0);

	index_rescan(scan, keys, nkeys, NULL, 0);
	return scan;
}

/* Read the one row of a table whose primary key is a bigint; false when none */
static bool
LookupById(LookupTable *t, int64 id)
{
	ScanKeyData key;
	Relation	index;
	IndexScanDesc scan;
	bool		found;

	ScanKeyInit(&key, 1, BTEqualStrategyNumber, F_INT8EQ, Int64GetDatum(id));
	index = index_open(RelationGetPrimaryKeyIndex(t->rel), AccessShareLock);
	scan = LookupScan(t, index, &key, 1);
	found = index_getnext_slot(scan, ForwardScanDirection, t->slot);
	if (found)
		slot_getallattrs(t->slot);
	index_endscan(scan);
	index_close(index, AccessShareLock);
	return found;
}

/* The member id of a customer key in a program, 0 when there is none */
static int64
LookupMemberKey(int64 program_id, const char *customer_key)
{
	LookupTable t;
	ScanKeyData keys[2];
	Relation	index;
	IndexScanDesc scan;
	int64		member_id = 0;
	bool		isnull;

	LookupOpen(&t, "member_key");
	index = index_open(RelationGetPrimaryKeyIndex(t.rel), AccessShareLock);
	ScanKeyInit(&keys[0], 1, BTEqualStrategyNumber, F_INT8EQ, Int64GetDatum(program_id));
	ScanKeyInit(&keys[1], 2, BTEqualStrategyNumber, F_TEXTEQ, CStringGetTextDatum(customer_key));
	keys[1].sk_collation = index->rd_indcollation[1];
	scan = LookupScan(&t, index, keys, 2);
	if (index_getnext_slot(scan, ForwardScanDirection, t.slot))
		member_id = DatumGetInt64(LookupColumn(&t, "member_id", &isnull));
	index_endscan(scan);
	index_close(index, AccessShareLock);
	LookupClose(&t);
	return member_id;
}

/* The distinct series of the member's active cards (only card_no's, when given) */
static void
LookupCardSeries(MemberInfo *m, const char *card_no)
{
	LookupTable t;
	ScanKeyData key;
	Relation	index;
	IndexScanDesc scan;
	Oid			indexid = get_relname_relid("card_member_idx", LoyaltyNamespaceOid());
	int			size = 4;

	if (!OidIsValid(indexid))
		elog(ERROR, "index loyalty.card_member_idx does not exist");
	m->series = palloc(sizeof(char *) * size);
	m->nseries = 0;
	LookupOpen(&t, "card");
	ScanKeyInit(&key, 1, BTEqualStrategyNumber, F_INT8EQ, Int64GetDatum(m->member_id));
	index = index_open(indexid, AccessShareLock);
	scan = LookupScan(&t, index, &key, 1);
	while (index_getnext_slot(scan, ForwardScanDirection, t.slot))
	{
		bool		isnull;
		Datum		series = LookupColumn(&t, "series", &isnull);
		char	   *s;

		if (isnull || strcmp(TextDatumGetCString(LookupColumn(&t, "status", &isnull)), "active") != 0)
			continue;
		if (card_no != NULL &&
			strcmp(TextDatumGetCString(LookupColumn(&t, "card_no", &isnull)), card_no) != 0)
			continue;
		s = TextDatumGetCString(series);
		if (LoyaltyListHas(m->series, m->nseries, s))
			continue;
		if (m->nseries == size)
			m->series = repalloc(m->series, sizeof(char *) * (size *= 2));
		m->series[m->nseries++] = s;
	}
	index_endscan(scan);
	index_close(index, AccessShareLock);
	LookupClose(&t);
}

/* The member's tier in the program: its name and points multiplier */
static void
LookupTier(MemberInfo *m, int64 program_id)
{
	LookupTable t;
	bool		isnull;
	Datum		v;
	int64		tier_id = 0;

	LookupOpen(&t, "member_tier");
	if (LookupById(&t, m->member_id) &&
		DatumGetInt64(LookupColumn(&t, "program_id", &isnull)) == program_id)
	{
		v = LookupColumn(&t, "tier_id", &isnull);
		if (!isnull)
			tier_id = DatumGetInt64(v);
	}
	LookupClose(&t);
	if (tier_id == 0)
		return;
	LookupOpen(&t, "tier");
	if (LookupById(&t, tier_id))
	{
		v = LookupColumn(&t, "points_multiplier", &isnull);
		if (!isnull)
			m->multiplier_e4 = ScaledFromNumeric(DatumGetNumeric(v), 4, "tier multiplier");
		m->tier = TextDatumGetCString(LookupColumn(&t, "name", &isnull));
	}
	LookupClose(&t);
}

/*
 * Look a customer up in a program through the indexes.  MEMBER_UNAVAILABLE
 * when the row routines are switched off (the caller then uses SQL).
 */
MemberLookup
LookupMemberDirect(const ProgramConfig *prog, const char *customer_key, const char *card_no,
				   MemberInfo *m)
{
	LookupTable t;
	bool		isnull;
	int64		member_id;

	if (!loyalty_direct_posting)
		return MEMBER_UNAVAILABLE;
	member_id = LookupMemberKey(prog->program_id, customer_key);
	if (member_id == 0)
		return MEMBER_NOT_FOUND;

	LookupOpen(&t, "member");
	if (!LookupById(&t, member_id))
	{
		LookupClose(&t);
		return MEMBER_NOT_FOUND;
	}
	m->found = true;
	m->member_id = member_id;
	m->status = TextDatumGetCString(LookupColumn(&t, "status", &isnull));
	LoyaltyTextArray(LookupColumn(&t, "groups", &isnull), &m->groups, &m->ngroups);
	(void) LookupColumn(&t, "birthday", &isnull);
	m->has_birthday = !isnull;
	LookupClose(&t);

	if (prog->uses_card_series)
		LookupCardSeries(m, card_no);
	if (prog->has_tiers)
		LookupTier(m, prog->program_id);
	return MEMBER_FOUND;
}
