/*
 * attach.c
 *		Accrual on the host's own orders table.
 *
 * loyalty.attach() checks the columns it is given and installs three
 * deferred constraint triggers on the orders table, all running
 * accrue_order_trigger().  The column names travel as the triggers'
 * key=value arguments (like tsvector_update_trigger), so a pg_dump of the
 * host table carries its configuration.  Each trigger parses its
 * arguments once per backend; the result, with the lines query prepared
 * and kept, is cached per trigger OID and dropped by a relcache callback
 * when the orders or lines table changes.
 *
 * The triggers are DEFERRABLE INITIALLY DEFERRED: at commit the insert
 * trigger sees the order header together with the lines inserted after
 * it, and an insert, a cancellation and a delete in one transaction fire
 * in that order.
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "access/relation.h"
#include "access/table.h"
#include "catalog/namespace.h"
#include "catalog/pg_class.h"
#include "catalog/pg_type.h"
#include "commands/trigger.h"
#include "common/int.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "nodes/makefuncs.h"
#include "parser/parse_func.h"
#include "utils/acl.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/hsearch.h"
#include "utils/inval.h"
#include "utils/json.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/regproc.h"
#include "utils/rel.h"
#include "utils/timestamp.h"
#include "utils/varlena.h"

#include "compat.h"
#include "accrual.h"
#include "attach.h"
#include "guc.h"
#include "keyed_rows.h"
#include "money.h"
#include "invalidation.h"

PG_FUNCTION_INFO_V1(accrue_order_trigger);
PG_FUNCTION_INFO_V1(loyalty_attach);
PG_FUNCTION_INFO_V1(loyalty_detach);

/* Names of the triggers loyalty.attach() creates */
#define ATTACH_TRIGGER_INSERT	"loyalty_accrue"
#define ATTACH_TRIGGER_CANCEL	"loyalty_cancel"
#define ATTACH_TRIGGER_DELETE	"loyalty_delete"

/* The trigger function, in the extension's schema */
#define ATTACH_TRIGGER_FUNCTION "accrue_order_trigger"

/* Quantities are carried in thousandths of a unit */
#define QUANTITY_SCALE 1000

/* What a configured column holds, which decides the types it may have */
typedef enum AttachKind
{
	ATTACH_KEY,					/* order id, customer, line's order id */
	ATTACH_LABEL,				/* branch, channel, status, sku, group */
	ATTACH_MONEY,				/* amounts, prices, discounts */
	ATTACH_QUANTITY,			/* quantity of a line */
	ATTACH_TIME,				/* when the order was placed */
	ATTACH_LINE_NO				/* number of a line within its order */
} AttachKind;

/* The configurable columns; the order of the lines ones is the query's */
typedef enum AttachFieldId
{
	AF_ID,
	AF_CUSTOMER,
	AF_AMOUNT,
	AF_BRANCH,
	AF_TIME,
	AF_STATUS,
	AF_CHANNEL,
	AF_BILL_DISCOUNT,
	AF_POINTS_PAID,
	AF_LINE_ORDER,
	AF_LINE_NO,
	AF_SKU,
	AF_GROUP,
	AF_QUANTITY,
	AF_PRICE,
	AF_DISCOUNT,
	AF_LINE_AMOUNT,
	AF_COUNT
} AttachFieldId;

/* A configurable column: its trigger argument key and attach() parameter */
typedef struct AttachField
{
	const char *key;
	const char *param;
	bool		on_lines;
	AttachKind	kind;
} AttachField;

static const AttachField AttachFields[AF_COUNT] = {
	[AF_ID] = {"id", "id_column", false, ATTACH_KEY},
	[AF_CUSTOMER] = {"customer", "customer_column", false, ATTACH_KEY},
	[AF_AMOUNT] = {"amount", "amount_column", false, ATTACH_MONEY},
	[AF_BRANCH] = {"branch", "branch_column", false, ATTACH_LABEL},
	[AF_TIME] = {"time", "time_column", false, ATTACH_TIME},
	[AF_STATUS] = {"status", "status_column", false, ATTACH_LABEL},
	[AF_CHANNEL] = {"channel", "channel_column", false, ATTACH_LABEL},
	[AF_BILL_DISCOUNT] = {"bill_discount", "bill_discount_column", false, ATTACH_MONEY},
	[AF_POINTS_PAID] = {"points_paid", "points_paid_column", false, ATTACH_MONEY},
	[AF_LINE_ORDER] = {"line_order", "line_order_column", true, ATTACH_KEY},
	[AF_LINE_NO] = {"line_no", "line_no_column", true, ATTACH_LINE_NO},
	[AF_SKU] = {"sku", "sku_column", true, ATTACH_LABEL},
	[AF_GROUP] = {"group", "group_column", true, ATTACH_LABEL},
	[AF_QUANTITY] = {"quantity", "quantity_column", true, ATTACH_QUANTITY},
	[AF_PRICE] = {"price", "price_column", true, ATTACH_MONEY},
	[AF_DISCOUNT] = {"discount", "discount_column", true, ATTACH_MONEY},
	[AF_LINE_AMOUNT] = {"line_amount", "line_amount_column", true, ATTACH_MONEY},
};

/* One configured column, resolved against its table */
typedef struct AttachColumn
{
	char	   *name;			/* NULL when not configured */
	AttrNumber	attnum;			/* in its table */
	int			resno;			/* lines columns: position in the lines query */
	Oid			type;			/* base type of the column */
	FmgrInfo	out;			/* output function (keys and labels) */
} AttachColumn;

/* A trigger's parsed arguments: the cache entry, keyed by trigger OID */
typedef struct AttachSpec
{
	Oid			trigger_oid;	/* hash key */
	bool		valid;			/* false once a relcache callback hit it */
	MemoryContext cxt;			/* holds everything below */
	int64		program_id;
	char	   *source;
	Oid			orders_relid;
	char	   *lines_name;		/* qualified name from the arguments, or NULL */
	bool		lines_resolved; /* lines_relid and the lines columns are set */
	Oid			lines_relid;
	char	   *lines_query;	/* SELECT of an order's lines, $1 = order id */
	AttachColumn col[AF_COUNT];
	int			ncancelled;
	char	  **cancelled;
	SPIPlanPtr	lines_plan;		/* kept plan of lines_query, or NULL */
	KeyIndex	lines_index;	/* reads an order's lines without SPI, if valid */
} AttachSpec;

/* Cache of parsed trigger arguments, and the context holding it */
static HTAB *AttachCache = NULL;
static MemoryContext AttachCacheContext = NULL;

/* Bumped by every relcache callback, so a build that raced one is redone */
static uint64 AttachInvalCount = 0;

/* Drop cached triggers of a relation that changed (or of all, for InvalidOid) */
static void
AttachRelcacheCallback(Datum arg, Oid relid)
{
	HASH_SEQ_STATUS status;
	AttachSpec *spec;

	AttachInvalCount++;
	if (AttachCache == NULL)
		return;
	hash_seq_init(&status, AttachCache);
	while ((spec = hash_seq_search(&status)) != NULL)
	{
		if (!OidIsValid(relid) || spec->orders_relid == relid ||
			(spec->lines_resolved && spec->lines_relid == relid))
			spec->valid = false;
	}
}

/* Register the relcache callback once per backend */
static void
AttachRegisterCallback(void)
{
	static bool registered = false;

	if (registered)
		return;
	LoyaltyOnRelcacheInvalidation(AttachRelcacheCallback);
	registered = true;
}

/* Set-up at load time (called from _PG_init); the cache also does it itself */
void
LoyaltyAttachInit(void)
{
	AttachRegisterCallback();
}

/* Whether a column holding this kind of value may have this base type */
static bool
AttachTypeAccepted(AttachKind kind, Oid type)
{
	switch (kind)
	{
		case ATTACH_KEY:
			return type == INT2OID || type == INT4OID || type == INT8OID ||
				type == TEXTOID || type == VARCHAROID || type == UUIDOID;
		case ATTACH_LABEL:
			return type == INT2OID || type == INT4OID || type == INT8OID ||
				type == TEXTOID || type == VARCHAROID;
		case ATTACH_MONEY:
			return MoneyTypeSupported(type);
		case ATTACH_QUANTITY:
			return type == INT2OID || type == INT4OID || type == INT8OID ||
				type == NUMERICOID;
		case ATTACH_TIME:
			return type == TIMESTAMPTZOID || type == TIMESTAMPOID;
		case ATTACH_LINE_NO:
			return type == INT2OID || type == INT4OID || type == INT8OID;
	}
	return false;
}

/* The accepted types of a kind of column, for error details */
static const char *
AttachKindTypes(AttachKind kind)
{
	switch (kind)
	{
		case ATTACH_KEY:
			return "smallint, integer, bigint, text, varchar or uuid";
		case ATTACH_LABEL:
			return "text, varchar, smallint, integer or bigint";
		case ATTACH_MONEY:
		case ATTACH_QUANTITY:
			return "smallint, integer, bigint or numeric";
		case ATTACH_TIME:
			return "timestamp with time zone or timestamp";
		case ATTACH_LINE_NO:
			return "smallint, integer or bigint";
	}
	return "?";
}

/* Which key types compare with each other: integers, strings, uuid */
static int
AttachKeyFamily(Oid type)
{
	if (type == INT2OID || type == INT4OID || type == INT8OID)
		return 1;
	if (type == TEXTOID || type == VARCHAROID)
		return 2;
	return 3;
}

/* Find a configured column in its table and check its type */
static void
AttachResolveColumn(AttachColumn *col, const AttachField *field,
					TupleDesc desc, const char *relname, bool in_trigger)
{
	int			attnum = SPI_fnumber(desc, col->name);
	Oid			atttype;

	if (attnum == SPI_ERROR_NOATTRIBUTE)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_COLUMN),
				 errmsg("column \"%s\" of relation \"%s\" does not exist",
						col->name, relname),
				 errdetail("It was given as %s.", field->param),
				 in_trigger ? errhint("Call loyalty.detach() and loyalty.attach() again after changing the columns of an attached table.") : 0));
	if (attnum <= 0)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("system column \"%s\" cannot be used as %s",
						col->name, field->param)));

	atttype = TupleDescAttr(desc, attnum - 1)->atttypid;
	col->attnum = attnum;
	col->type = getBaseType(atttype);
	if (!AttachTypeAccepted(field->kind, col->type))
		ereport(ERROR,
				(errcode(ERRCODE_DATATYPE_MISMATCH),
				 errmsg("column \"%s\" of relation \"%s\" has unsupported type %s",
						col->name, relname, format_type_be(atttype)),
				 errdetail("The column given as %s must be of type %s.",
						   field->param, AttachKindTypes(field->kind)),
				 in_trigger ? errhint("Call loyalty.detach() and loyalty.attach() again after changing the columns of an attached table.") : 0));

	if (field->kind == ATTACH_KEY || field->kind == ATTACH_LABEL)
	{
		Oid			outfunc;
		bool		isvarlena;

		getTypeOutputInfo(col->type, &outfunc, &isvarlena);
		fmgr_info_cxt(outfunc, &col->out, CurrentMemoryContext);
	}
}

/* Find the lines table and its columns, and write the lines query */
static void
AttachResolveLines(AttachSpec *spec, bool in_trigger)
{
	List	   *names = stringToQualifiedNameList(spec->lines_name);
	Relation	lines;
	TupleDesc	desc;
	const char *relname;
	StringInfoData sql;
	int			resno = 0;
	int			i;

	spec->lines_relid = RangeVarGetRelid(makeRangeVarFromNameList(names),
										 AccessShareLock, false);
	lines = relation_open(spec->lines_relid, NoLock);
	desc = RelationGetDescr(lines);
	relname = RelationGetRelationName(lines);

	if (spec->col[AF_LINE_ORDER].name == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("line_order_column is required with lines"),
				 errhint("Name the column of \"%s\" that holds the order id.", relname)));

	initStringInfo(&sql);
	appendStringInfoString(&sql, "SELECT ");
	for (i = AF_LINE_ORDER; i < AF_COUNT; i++)
	{
		AttachColumn *col = &spec->col[i];

		if (col->name == NULL)
			continue;
		AttachResolveColumn(col, &AttachFields[i], desc, relname, in_trigger);
		if (i == AF_LINE_ORDER)
			continue;
		col->resno = ++resno;
		appendStringInfo(&sql, "%s%s", resno > 1 ? ", " : "", quote_identifier(col->name));
	}

	if (AttachKeyFamily(spec->col[AF_LINE_ORDER].type) != AttachKeyFamily(spec->col[AF_ID].type))
		ereport(ERROR,
				(errcode(ERRCODE_DATATYPE_MISMATCH),
				 errmsg("column \"%s\" of relation \"%s\" has type %s, which does not match the order id of type %s",
						spec->col[AF_LINE_ORDER].name, relname,
						format_type_be(spec->col[AF_LINE_ORDER].type),
						format_type_be(spec->col[AF_ID].type)),
				 errdetail("The line's order id and the order id must both be integers, both strings or both uuid.")));

	appendStringInfo(&sql, " FROM %s WHERE %s OPERATOR(pg_catalog.=) $1",
					 quote_qualified_identifier(get_namespace_name(RelationGetNamespace(lines)),
												relname),
					 quote_identifier(spec->col[AF_LINE_ORDER].name));
	if (spec->col[AF_LINE_NO].name != NULL)
		appendStringInfo(&sql, " ORDER BY %s", quote_identifier(spec->col[AF_LINE_NO].name));
	spec->lines_query = sql.data;

	/* read through an index when the query would just use it: no row security, plain SELECT right */
	memset(&spec->lines_index, 0, sizeof(KeyIndex));
	if (in_trigger && !lines->rd_rel->relrowsecurity &&
		pg_class_aclcheck(spec->lines_relid, GetUserId(), ACL_SELECT) == ACLCHECK_OK)
		KeyIndexFind(lines, spec->col[AF_LINE_ORDER].attnum, spec->col[AF_ID].type,
					 &spec->lines_index);
	spec->lines_resolved = true;

	relation_close(lines, NoLock);
}

/*
 * Parse trigger arguments into spec (allocating in CurrentMemoryContext)
 * and resolve them against the orders table, and the lines table too when
 * need_lines.
 */
static void
AttachSpecParse(AttachSpec *spec, Relation orders, const char *trigname,
				int nargs, char **args, bool need_lines, bool in_trigger)
{
	const char *relname = RelationGetRelationName(orders);
	int			i;

	spec->cancelled = palloc0(sizeof(char *) * Max(nargs, 1));
	spec->orders_relid = RelationGetRelid(orders);

	for (i = 0; i < nargs; i++)
	{
		const char *eq = strchr(args[i], '=');
		char	   *key;
		char	   *value;
		int			f;

		if (eq == NULL || eq == args[i])
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("invalid argument \"%s\" of trigger \"%s\"", args[i], trigname),
					 errdetail("Arguments of %s() have the form key=value.", ATTACH_TRIGGER_FUNCTION),
					 errhint("Install the trigger with loyalty.attach().")));
		key = pnstrdup(args[i], eq - args[i]);
		value = pstrdup(eq + 1);

		if (strcmp(key, "program") == 0)
		{
			spec->program_id = pg_strtoint64(value);
			continue;
		}
		if (strcmp(key, "source") == 0)
		{
			spec->source = value;
			continue;
		}
		if (strcmp(key, "lines") == 0)
		{
			spec->lines_name = value;
			continue;
		}
		if (strcmp(key, "cancelled") == 0)
		{
			spec->cancelled[spec->ncancelled++] = value;
			continue;
		}
		for (f = 0; f < AF_COUNT; f++)
		{
			if (strcmp(key, AttachFields[f].key) == 0)
				break;
		}
		if (f == AF_COUNT)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("unrecognized argument \"%s\" of trigger \"%s\"", key, trigname),
					 errhint("Install the trigger with loyalty.attach().")));
		spec->col[f].name = value;
	}

	if (spec->program_id <= 0 || spec->col[AF_ID].name == NULL ||
		spec->col[AF_CUSTOMER].name == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("trigger \"%s\" lacks the program, id or customer argument", trigname),
				 errhint("Install the trigger with loyalty.attach().")));
	if (spec->source == NULL)
		spec->source = quote_qualified_identifier(get_namespace_name(RelationGetNamespace(orders)),
												  relname);

	for (i = 0; i < AF_COUNT; i++)
	{
		if (spec->col[i].name != NULL && !AttachFields[i].on_lines)
			AttachResolveColumn(&spec->col[i], &AttachFields[i],
								RelationGetDescr(orders), relname, in_trigger);
	}
	if (need_lines && spec->lines_name != NULL)
		AttachResolveLines(spec, in_trigger);
}

/* Prepare the lines query (the caller is connected to SPI) */
static SPIPlanPtr
AttachPrepareLines(AttachSpec *spec)
{
	SPIPlanPtr	plan;

	plan = SPI_prepare(spec->lines_query, 1, &spec->col[AF_ID].type);
	if (plan == NULL)
		elog(ERROR, "SPI_prepare failed for \"%s\": %s",
			 spec->lines_query, SPI_result_code_string(SPI_result));
	return plan;
}

/* The cached, parsed arguments of the trigger being fired */
static AttachSpec *
AttachGetSpec(TriggerData *trigdata, bool need_lines)
{
	Trigger    *trigger = trigdata->tg_trigger;
	AttachSpec *spec;
	AttachSpec	fresh;
	uint64		inval_before;
	bool		found;
	MemoryContext oldcxt;

	if (AttachCache == NULL)
	{
		HASHCTL		ctl;

		AttachRegisterCallback();

		AttachCacheContext = AllocSetContextCreate(CacheMemoryContext,
												   "pg_loyalty attach cache",
												   ALLOCSET_SMALL_SIZES);
		ctl.keysize = sizeof(Oid);
		ctl.entrysize = sizeof(AttachSpec);
		ctl.hcxt = AttachCacheContext;
		AttachCache = hash_create("pg_loyalty attached triggers", 16, &ctl,
								  HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
	}

	spec = hash_search(AttachCache, &trigger->tgoid, HASH_FIND, NULL);
	if (spec != NULL && spec->valid && (spec->lines_resolved || !need_lines ||
										spec->lines_name == NULL))
		return spec;

	/*
	 * Build in a context of its own hung under the current one, so an error
	 * frees it; once it is complete move it under the cache.
	 */
	inval_before = AttachInvalCount;
	memset(&fresh, 0, sizeof(fresh));
	fresh.trigger_oid = trigger->tgoid;
	fresh.cxt = AllocSetContextCreate(CurrentMemoryContext,
									  "pg_loyalty attached trigger",
									  ALLOCSET_SMALL_SIZES);
	oldcxt = MemoryContextSwitchTo(fresh.cxt);
	AttachSpecParse(&fresh, trigdata->tg_relation, trigger->tgname,
					trigger->tgnargs, trigger->tgargs, need_lines, true);
	MemoryContextSwitchTo(oldcxt);
	fresh.valid = (AttachInvalCount == inval_before);

	if (spec != NULL)
	{
		if (spec->lines_plan != NULL)
			SPI_freeplan(spec->lines_plan);
		MemoryContextDelete(spec->cxt);
	}
	MemoryContextSetParent(fresh.cxt, AttachCacheContext);
	spec = hash_search(AttachCache, &trigger->tgoid, HASH_ENTER, &found);
	*spec = fresh;
	return spec;
}

/* The kept lines plan of a spec (the caller is connected to SPI) */
static SPIPlanPtr
AttachLinesPlan(AttachSpec *spec)
{
	if (spec->lines_plan == NULL)
	{
		SPIPlanPtr	plan = AttachPrepareLines(spec);

		if (SPI_keepplan(plan) != 0)
			elog(ERROR, "SPI_keepplan failed");
		spec->lines_plan = plan;
	}
	return spec->lines_plan;
}

/* A key or label column of a tuple as text, or NULL */
static char *
AttachGetText(AttachColumn *col, HeapTuple tuple, TupleDesc desc, int attnum)
{
	bool		isnull;
	Datum		value;

	if (col->name == NULL)
		return NULL;
	value = heap_getattr(tuple, attnum, desc, &isnull);
	if (isnull)
		return NULL;
	return OutputFunctionCall(&col->out, value);
}

/* A money column of a tuple in hundredths; *isnull set when it is NULL */
static int64
AttachGetMoney(AttachColumn *col, HeapTuple tuple, TupleDesc desc, int attnum,
			   bool *isnull)
{
	Datum		value;
	char		what[NAMEDATALEN + 16];

	value = heap_getattr(tuple, attnum, desc, isnull);
	if (*isnull)
		return 0;
	snprintf(what, sizeof(what), "column \"%s\"", col->name);
	return MoneyFromDatum(value, col->type, what);
}

/* A quantity column of a tuple in thousandths; *isnull set when it is NULL */
static int64
AttachGetQuantity(AttachColumn *col, HeapTuple tuple, TupleDesc desc, int attnum,
				  bool *isnull)
{
	Datum		value;
	int64		v;
	int64		result;
	char		what[NAMEDATALEN + 16];

	value = heap_getattr(tuple, attnum, desc, isnull);
	if (*isnull)
		return 0;
	snprintf(what, sizeof(what), "column \"%s\"", col->name);
	switch (col->type)
	{
		case NUMERICOID:
			return ScaledFromNumeric(DatumGetNumeric(value), 3, what);
		case INT2OID:
			v = DatumGetInt16(value);
			break;
		case INT4OID:
			v = DatumGetInt32(value);
			break;
		default:
			v = DatumGetInt64(value);
			break;
	}
	if (pg_mul_s64_overflow(v, QUANTITY_SCALE, &result))
		ereport(ERROR,
				(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
				 errmsg("%s is out of range", what)));
	return result;
}

/* a * b / d rounded half away from zero, failing on overflow */
static int64
AttachMulDiv(int64 a, int64 b, int64 d, const char *what)
{
	int64		product;
	int64		q;
	int64		r;
	uint64		abs_r;
	uint64		abs_d;

	if (pg_mul_s64_overflow(a, b, &product) || d == 0 ||
		(product == PG_INT64_MIN && d == -1))
		ereport(ERROR,
				(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
				 errmsg("%s is out of range", what)));
	q = product / d;
	r = product % d;
	abs_r = r < 0 ? -(uint64) r : (uint64) r;
	abs_d = d < 0 ? -(uint64) d : (uint64) d;
	if (abs_r >= abs_d - abs_r)
		q += ((product < 0) != (d < 0)) ? -1 : 1;
	return q;
}

/* Whether the status column of a tuple holds one of the cancelled values */
static bool
AttachIsCancelled(AttachSpec *spec, HeapTuple tuple, TupleDesc desc)
{
	AttachColumn *col = &spec->col[AF_STATUS];
	char	   *status;
	int			i;

	if (col->name == NULL)
		return false;
	status = AttachGetText(col, tuple, desc, col->attnum);
	if (status == NULL)
		return false;
	for (i = 0; i < spec->ncancelled; i++)
	{
		if (strcmp(status, spec->cancelled[i]) == 0)
			return true;
	}
	return false;
}

/* The order id of a tuple as text; an order without one is an error */
static char *
AttachGetDocument(AttachSpec *spec, HeapTuple tuple, TupleDesc desc, Relation rel)
{
	AttachColumn *col = &spec->col[AF_ID];
	char	   *document = AttachGetText(col, tuple, desc, col->attnum);

	if (document == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_NOT_NULL_VIOLATION),
				 errmsg("order id column \"%s\" of relation \"%s\" is null",
						col->name, RelationGetRelationName(rel)),
				 errdetail("Points are posted against the order id, so every order needs one.")));
	return document;
}

/* Where a lines column is in a row: the table's attnum, or the query's position */
#define LINE_ATTNO(col, table_row) ((table_row) ? (col)->attnum : (col)->resno)

/*
 * Read one line (a row of the lines table, or of the lines query) into an
 * AccrualLine; false to skip it
 */
static bool
AttachReadLine(AttachSpec *spec, HeapTuple tuple, TupleDesc desc, bool table_row,
			   int position, AccrualLine *line)
{
	AttachColumn *col;
	bool		isnull;
	int64		gross;
	int64		v;

	memset(line, 0, sizeof(AccrualLine));
	line->line_no = position;
	col = &spec->col[AF_LINE_NO];
	if (col->name != NULL)
	{
		Datum		d = heap_getattr(tuple, LINE_ATTNO(col, table_row), desc, &isnull);

		if (!isnull)
		{
			v = col->type == INT2OID ? DatumGetInt16(d) :
				col->type == INT4OID ? DatumGetInt32(d) : DatumGetInt64(d);
			if (v < PG_INT32_MIN || v > PG_INT32_MAX)
				ereport(ERROR,
						(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
						 errmsg("line number " INT64_FORMAT " is out of range", v)));
			line->line_no = (int32) v;
		}
	}
	line->sku = AttachGetText(&spec->col[AF_SKU], tuple, desc, LINE_ATTNO(&spec->col[AF_SKU], table_row));
	line->item_group = AttachGetText(&spec->col[AF_GROUP], tuple, desc,
									 LINE_ATTNO(&spec->col[AF_GROUP], table_row));

	/* A line with an unknown quantity, price or amount earns nothing */
	line->quantity = QUANTITY_SCALE;
	col = &spec->col[AF_QUANTITY];
	if (col->name != NULL)
	{
		line->quantity = AttachGetQuantity(col, tuple, desc, LINE_ATTNO(col, table_row), &isnull);
		if (isnull)
			return false;
	}
	col = &spec->col[AF_DISCOUNT];
	if (col->name != NULL)
		line->discount = AttachGetMoney(col, tuple, desc, LINE_ATTNO(col, table_row), &isnull);
	col = &spec->col[AF_PRICE];
	if (col->name != NULL)
	{
		line->unit_price = AttachGetMoney(col, tuple, desc, LINE_ATTNO(col, table_row), &isnull);
		if (isnull)
			return false;
	}
	col = &spec->col[AF_LINE_AMOUNT];
	if (col->name != NULL)
	{
		line->amount = AttachGetMoney(col, tuple, desc, LINE_ATTNO(col, table_row), &isnull);
		if (isnull)
			return false;
	}

	if (spec->col[AF_LINE_AMOUNT].name == NULL)
	{
		/* amount = price * quantity - discount */
		gross = AttachMulDiv(line->unit_price, line->quantity, QUANTITY_SCALE,
							 "line amount");
		if (pg_sub_s64_overflow(gross, line->discount, &line->amount))
			ereport(ERROR,
					(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
					 errmsg("line amount is out of range")));
	}
	else if (spec->col[AF_PRICE].name == NULL)
	{
		/* unit price = (amount + discount) / quantity */
		if (pg_add_s64_overflow(line->amount, line->discount, &gross))
			ereport(ERROR,
					(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
					 errmsg("line amount is out of range")));
		line->unit_price = line->quantity == 0 ? gross :
			AttachMulDiv(gross, QUANTITY_SCALE, line->quantity, "unit price");
	}
	return true;
}

/* Room for nrows lines of an order */
static void
AttachAllocLines(AccrualOrder *order, uint64 nrows)
{
	if (nrows >= (uint64) (MaxAllocSize / sizeof(AccrualLine)))
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("order \"%s\" has too many lines", order->document)));
	order->lines = palloc0(sizeof(AccrualLine) * Max(nrows, 1));
	order->nlines = 0;
}

/* Add a read line to the order and its amount to *sum */
static void
AttachAddLine(AccrualOrder *order, int64 *sum)
{
	if (pg_add_s64_overflow(*sum, order->lines[order->nlines].amount, sum))
		ereport(ERROR,
				(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
				 errmsg("total of order \"%s\" is out of range", order->document)));
	order->nlines++;
}

/* Read the order's lines through the lines table's index; false when it cannot be used now */
static bool
AttachReadLinesByIndex(AttachSpec *spec, Datum id, AccrualOrder *order, int64 *sum)
{
	Relation	lines = table_open(spec->lines_relid, AccessShareLock);
	HeapTuple  *rows;
	int			nrows;
	int			i;

	/* the table changed (invalidations came with the lock): the query replans itself */
	if (!spec->valid)
	{
		table_close(lines, AccessShareLock);
		return false;
	}
	rows = KeyedRowsFetch(lines, &spec->lines_index, id,
						  spec->col[AF_LINE_NO].name != NULL ? spec->col[AF_LINE_NO].attnum : 0,
						  &nrows);
	AttachAllocLines(order, nrows);
	for (i = 0; i < nrows; i++)
		if (AttachReadLine(spec, rows[i], RelationGetDescr(lines), true, i + 1,
						   &order->lines[order->nlines]))
			AttachAddLine(order, sum);
	table_close(lines, AccessShareLock);
	return true;
}

/* Read the order's lines through the kept lines query */
static void
AttachReadLinesByQuery(AttachSpec *spec, Datum id, AccrualOrder *order, int64 *sum)
{
	MemoryContext callercxt = CurrentMemoryContext;
	SPITupleTable *tuptable;
	uint64		nrows;
	uint64		i;

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	if (SPI_execute_plan(AttachLinesPlan(spec), &id, NULL, false, 0) != SPI_OK_SELECT)
		elog(ERROR, "SPI_execute_plan failed for \"%s\"", spec->lines_query);
	tuptable = SPI_tuptable;
	nrows = SPI_processed;

	MemoryContextSwitchTo(callercxt);
	AttachAllocLines(order, nrows);
	for (i = 0; i < nrows; i++)
		if (AttachReadLine(spec, tuptable->vals[i], tuptable->tupdesc, false, (int) i + 1,
						   &order->lines[order->nlines]))
			AttachAddLine(order, sum);
	SPI_finish();
}

/* Read the lines of the order in tuple; returns what they add up to */
static int64
AttachReadLines(AttachSpec *spec, HeapTuple tuple, TupleDesc desc, AccrualOrder *order)
{
	bool		isnull;
	Datum		id = heap_getattr(tuple, spec->col[AF_ID].attnum, desc, &isnull);
	int64		sum = 0;

	if (!OidIsValid(spec->lines_index.indexid) ||
		!AttachReadLinesByIndex(spec, id, order, &sum))
	{
		sum = 0;
		AttachReadLinesByQuery(spec, id, order, &sum);
	}
	return sum;
}

/* Insert: earn points for the new order, its lines read at this moment */
static void
AttachOnInsert(TriggerData *trigdata)
{
	Relation	rel = trigdata->tg_relation;
	TupleDesc	desc = RelationGetDescr(rel);
	HeapTuple	tuple = trigdata->tg_trigtuple;
	AttachSpec *spec;
	AttachColumn *col;
	AccrualOrder order;
	AccrualResult result;
	bool		isnull;
	bool		have_total = false;

	if (!loyalty_accrual_enabled)
		return;

	spec = AttachGetSpec(trigdata, true);
	if (AttachIsCancelled(spec, tuple, desc))
		return;

	memset(&order, 0, sizeof(order));
	order.program_id = spec->program_id;
	order.source = spec->source;
	order.document = AttachGetDocument(spec, tuple, desc, rel);
	col = &spec->col[AF_CUSTOMER];
	order.customer_key = AttachGetText(col, tuple, desc, col->attnum);
	if (order.customer_key == NULL)
		return;					/* a guest: no points */
	col = &spec->col[AF_BRANCH];
	order.branch = AttachGetText(col, tuple, desc, col->attnum);
	col = &spec->col[AF_CHANNEL];
	order.channel = AttachGetText(col, tuple, desc, col->attnum);

	order.ordered_at = GetCurrentTransactionStartTimestamp();
	col = &spec->col[AF_TIME];
	if (col->name != NULL)
	{
		Datum		d = heap_getattr(tuple, col->attnum, desc, &isnull);

		if (!isnull)
			order.ordered_at = col->type == TIMESTAMPOID ?
				DatumGetTimestampTz(DirectFunctionCall1(timestamp_timestamptz, d)) :
				DatumGetTimestampTz(d);
	}

	col = &spec->col[AF_AMOUNT];
	if (col->name != NULL)
	{
		order.total = AttachGetMoney(col, tuple, desc, col->attnum, &isnull);
		have_total = !isnull;
	}
	col = &spec->col[AF_BILL_DISCOUNT];
	if (col->name != NULL)
		order.bill_discount = AttachGetMoney(col, tuple, desc, col->attnum, &isnull);
	col = &spec->col[AF_POINTS_PAID];
	if (col->name != NULL)
		order.paid_with_points = AttachGetMoney(col, tuple, desc, col->attnum, &isnull);

	if (spec->lines_name != NULL)
	{
		int64		sum = AttachReadLines(spec, tuple, desc, &order);

		/* Without a header amount the bill is what its lines cost */
		if (!have_total && order.nlines > 0)
		{
			if (pg_sub_s64_overflow(sum, order.bill_discount, &order.total))
				ereport(ERROR,
						(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
						 errmsg("total of order \"%s\" is out of range", order.document)));
			order.total = Max(order.total, 0);
		}
	}

	/* An order without lines earns on its header amount as one line of all goods */
	if (order.nlines == 0 && have_total)
	{
		order.lines = palloc0(sizeof(AccrualLine));
		order.nlines = 1;
		order.lines[0].line_no = 1;
		order.lines[0].quantity = QUANTITY_SCALE;
		order.lines[0].unit_price = order.total;
		order.lines[0].amount = order.total;
	}

	AccrueOrder(&order, &result);
	elog(DEBUG1, "pg_loyalty: order \"%s\" of %s earned %s points",
		 order.document, order.source, PointsToCString(result.points));
}

/* Update of the status: reverse the order when it has just been cancelled */
static void
AttachOnUpdate(TriggerData *trigdata)
{
	Relation	rel = trigdata->tg_relation;
	TupleDesc	desc = RelationGetDescr(rel);
	AttachSpec *spec = AttachGetSpec(trigdata, false);

	if (!AttachIsCancelled(spec, trigdata->tg_newtuple, desc) ||
		AttachIsCancelled(spec, trigdata->tg_trigtuple, desc))
		return;
	ReverseWholeOrder(spec->program_id, spec->source,
					  AttachGetDocument(spec, trigdata->tg_trigtuple, desc, rel),
					  "cancelled");
}

/* Delete: reverse the order, unless it was cancelled (and reversed) before */
static void
AttachOnDelete(TriggerData *trigdata)
{
	Relation	rel = trigdata->tg_relation;
	TupleDesc	desc = RelationGetDescr(rel);
	AttachSpec *spec = AttachGetSpec(trigdata, false);

	if (AttachIsCancelled(spec, trigdata->tg_trigtuple, desc))
		return;
	ReverseWholeOrder(spec->program_id, spec->source,
					  AttachGetDocument(spec, trigdata->tg_trigtuple, desc, rel),
					  "deleted");
}

/* Trigger on an attached orders table: accrue, or reverse on cancel/delete */
Datum
accrue_order_trigger(PG_FUNCTION_ARGS)
{
	TriggerData *trigdata;

	if (!CALLED_AS_TRIGGER(fcinfo))
		elog(ERROR, "accrue_order_trigger: not fired by trigger manager");
	trigdata = (TriggerData *) fcinfo->context;
	if (!TRIGGER_FIRED_FOR_ROW(trigdata->tg_event) ||
		!TRIGGER_FIRED_AFTER(trigdata->tg_event))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("trigger \"%s\" must be fired AFTER the event FOR EACH ROW",
						trigdata->tg_trigger->tgname),
				 errhint("Install the trigger with loyalty.attach().")));

	if (TRIGGER_FIRED_BY_INSERT(trigdata->tg_event))
		AttachOnInsert(trigdata);
	else if (TRIGGER_FIRED_BY_UPDATE(trigdata->tg_event))
		AttachOnUpdate(trigdata);
	else if (TRIGGER_FIRED_BY_DELETE(trigdata->tg_event))
		AttachOnDelete(trigdata);
	else
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("trigger \"%s\" must be fired for INSERT, UPDATE or DELETE",
						trigdata->tg_trigger->tgname)));

	return PointerGetDatum(NULL);
}

/* A text argument of attach(), or NULL */
static char *
AttachTextArg(FunctionCallInfo fcinfo, int argno)
{
	if (PG_ARGISNULL(argno))
		return NULL;
	return text_to_cstring(PG_GETARG_TEXT_PP(argno));
}

/* Fail when a required argument of attach() is missing */
static void
AttachRequire(bool present, const char *param)
{
	if (!present)
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("%s must not be null", param)));
}

/* The name of the extension's schema: that of the function being run */
static char *
AttachSchemaName(FunctionCallInfo fcinfo)
{
	return get_namespace_name(get_func_namespace(fcinfo->flinfo->fn_oid));
}

/* Whether the relation is recorded in loyalty.attachment (SPI connected) */
static bool
AttachIsAttached(const char *schema, Oid relid)
{
	char	   *sql = psprintf("SELECT 1 FROM %s.attachment WHERE orders = $1",
							   quote_identifier(schema));
	Oid			argtype = OIDOID;
	Datum		arg = ObjectIdGetDatum(relid);

	if (SPI_execute_with_args(sql, 1, &argtype, &arg, NULL, true, 1) != SPI_OK_SELECT)
		elog(ERROR, "SPI_execute_with_args failed for \"%s\"", sql);
	return SPI_processed > 0;
}

/* Run a utility statement or DML through SPI (connected) */
static void
AttachExecute(const char *sql)
{
	int			rc = SPI_execute(sql, false, 0);

	if (rc < 0)
		elog(ERROR, "SPI_execute failed for \"%s\": %s", sql, SPI_result_code_string(rc));
}

/*
 * loyalty.attach(program, orders, id_column, customer_column, ...): check
 * the named columns and install the accrual triggers on the orders table.
 */
Datum
loyalty_attach(PG_FUNCTION_ARGS)
{
	enum
	{
		ARG_PROGRAM, ARG_ORDERS, ARG_ID, ARG_CUSTOMER, ARG_AMOUNT, ARG_BRANCH,
		ARG_TIME, ARG_STATUS, ARG_CANCELLED, ARG_CHANNEL, ARG_BILL_DISCOUNT,
		ARG_POINTS_PAID, ARG_LINES, ARG_LINE_ORDER, ARG_LINE_NO, ARG_SKU,
		ARG_GROUP, ARG_QUANTITY, ARG_PRICE, ARG_DISCOUNT, ARG_LINE_AMOUNT,
		ARG_SOURCE
	};
	/* attach() argument of each field */
	static const int field_arg[AF_COUNT] = {
		[AF_ID] = ARG_ID, [AF_CUSTOMER] = ARG_CUSTOMER, [AF_AMOUNT] = ARG_AMOUNT,
		[AF_BRANCH] = ARG_BRANCH, [AF_TIME] = ARG_TIME, [AF_STATUS] = ARG_STATUS,
		[AF_CHANNEL] = ARG_CHANNEL, [AF_BILL_DISCOUNT] = ARG_BILL_DISCOUNT,
		[AF_POINTS_PAID] = ARG_POINTS_PAID, [AF_LINE_ORDER] = ARG_LINE_ORDER,
		[AF_LINE_NO] = ARG_LINE_NO, [AF_SKU] = ARG_SKU, [AF_GROUP] = ARG_GROUP,
		[AF_QUANTITY] = ARG_QUANTITY, [AF_PRICE] = ARG_PRICE,
		[AF_DISCOUNT] = ARG_DISCOUNT, [AF_LINE_AMOUNT] = ARG_LINE_AMOUNT,
	};
	char	   *schema = AttachSchemaName(fcinfo);
	char	   *columns[AF_COUNT];
	char	   *program;
	char	   *source;
	Oid			orders_relid;
	Oid			lines_relid = InvalidOid;
	Relation	orders;
	const char *relname;
	char	   *orders_name;
	char	   *lines_name = NULL;
	List	   *args = NIL;
	char	  **argv;
	int			nargs;
	ListCell   *lc;
	AttachSpec	spec;
	StringInfoData json;
	StringInfoData targs;
	StringInfoData sql;
	Datum		cancelled = (Datum) 0;
	bool		has_line_amount;
	int			i;

	program = AttachTextArg(fcinfo, ARG_PROGRAM);
	AttachRequire(program != NULL, "program");
	AttachRequire(!PG_ARGISNULL(ARG_ORDERS), "orders");
	for (i = 0; i < AF_COUNT; i++)
		columns[i] = AttachTextArg(fcinfo, field_arg[i]);
	AttachRequire(columns[AF_ID] != NULL, "id_column");
	AttachRequire(columns[AF_CUSTOMER] != NULL, "customer_column");
	source = AttachTextArg(fcinfo, ARG_SOURCE);

	/* Lock out concurrent attaches and writes while the triggers go in */
	orders_relid = PG_GETARG_OID(ARG_ORDERS);
	orders = table_open(orders_relid, ShareRowExclusiveLock);
	relname = RelationGetRelationName(orders);
	orders_name = quote_qualified_identifier(get_namespace_name(RelationGetNamespace(orders)),
											 relname);
	if (orders->rd_rel->relkind != RELKIND_RELATION &&
		orders->rd_rel->relkind != RELKIND_PARTITIONED_TABLE)
		ereport(ERROR,
				(errcode(ERRCODE_WRONG_OBJECT_TYPE),
				 errmsg("\"%s\" is not a table", relname),
				 errdetail("Accrual is attached to the table that orders are inserted into.")));

	if (!PG_ARGISNULL(ARG_LINES))
	{
		char	   *name;

		lines_relid = PG_GETARG_OID(ARG_LINES);
		name = get_rel_name(lines_relid);
		if (name == NULL)
			ereport(ERROR,
					(errcode(ERRCODE_UNDEFINED_TABLE),
					 errmsg("relation with OID %u does not exist", lines_relid)));
		lines_name = quote_qualified_identifier(get_namespace_name(get_rel_namespace(lines_relid)),
												name);
	}

	/* Something must carry the amount */
	has_line_amount = OidIsValid(lines_relid) && columns[AF_LINE_ORDER] != NULL &&
		(columns[AF_LINE_AMOUNT] != NULL ||
		 (columns[AF_PRICE] != NULL && columns[AF_QUANTITY] != NULL));
	if (columns[AF_AMOUNT] == NULL && !has_line_amount)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("no amount to earn on for relation \"%s\"", relname),
				 errhint("Give amount_column, or lines with line_order_column and either line_amount_column or price_column and quantity_column.")));
	for (i = 0; i < AF_COUNT; i++)
	{
		if (AttachFields[i].on_lines && columns[i] != NULL && !OidIsValid(lines_relid))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("%s is given without lines", AttachFields[i].param),
					 errhint("Name the order lines table as lines.")));
	}

	/* The trigger arguments: key=value, cancelled values one each */
	args = lappend(args, psprintf("program=" INT64_FORMAT, LoyaltyProgramIdByCode(program)));
	args = lappend(args, psprintf("source=%s", source != NULL ? source : orders_name));
	for (i = 0; i < AF_COUNT; i++)
	{
		if (columns[i] != NULL)
			args = lappend(args, psprintf("%s=%s", AttachFields[i].key, columns[i]));
	}
	if (lines_name != NULL)
		args = lappend(args, psprintf("lines=%s", lines_name));
	if (columns[AF_STATUS] != NULL && !PG_ARGISNULL(ARG_CANCELLED))
	{
		ArrayType  *arr = PG_GETARG_ARRAYTYPE_P(ARG_CANCELLED);
		Datum	   *elems;
		bool	   *nulls;
		int			nelems;

		deconstruct_array(arr, TEXTOID, -1, false, TYPALIGN_INT, &elems, &nulls, &nelems);
		for (i = 0; i < nelems; i++)
		{
			if (nulls[i])
				ereport(ERROR,
						(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
						 errmsg("cancelled_values must not contain nulls")));
			args = lappend(args, psprintf("cancelled=%s", TextDatumGetCString(elems[i])));
		}
		cancelled = PointerGetDatum(arr);
	}
	nargs = list_length(args);
	argv = palloc(sizeof(char *) * nargs);
	i = 0;
	foreach(lc, args)
		argv[i++] = lfirst(lc);

	/* Check them exactly as the triggers will */
	memset(&spec, 0, sizeof(spec));
	spec.cxt = CurrentMemoryContext;
	AttachSpecParse(&spec, orders, ATTACH_TRIGGER_INSERT, nargs, argv, true, false);
	if (OidIsValid(lines_relid))
	{
		AclResult	aclresult = pg_class_aclcheck(lines_relid, GetUserId(), ACL_SELECT);

		if (aclresult != ACLCHECK_OK)
			aclcheck_error(aclresult, get_relkind_objtype(get_rel_relkind(lines_relid)),
						   get_rel_name(lines_relid));
	}

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");

	/* Forget attachments of tables dropped without detach() */
	AttachExecute(psprintf("DELETE FROM %s.attachment a WHERE NOT EXISTS "
						   "(SELECT 1 FROM pg_catalog.pg_class c WHERE c.oid = a.orders)",
						   quote_identifier(schema)));

	if (AttachIsAttached(schema, orders_relid))
		ereport(ERROR,
				(errcode(ERRCODE_DUPLICATE_OBJECT),
				 errmsg("relation \"%s\" is already attached", relname),
				 errhint("Call loyalty.detach() first to attach it with other settings.")));
	if (spec.lines_resolved)
		(void) AttachPrepareLines(&spec);

	/* Record the attachment */
	initStringInfo(&json);
	appendStringInfoChar(&json, '{');
	for (i = 0; i < AF_COUNT; i++)
	{
		if (columns[i] == NULL)
			continue;
		if (json.len > 1)
			appendStringInfoString(&json, ", ");
		escape_json(&json, AttachFields[i].param);
		appendStringInfoString(&json, ": ");
		escape_json(&json, columns[i]);
	}
	appendStringInfoChar(&json, '}');
	{
		char	   *insert = psprintf("INSERT INTO %s.attachment "
									  "(program_id, orders, lines, columns, cancelled_values, source) "
									  "VALUES ($1, $2, $3, $4::pg_catalog.jsonb, "
									  "COALESCE($5, '{}'), $6)",
									  quote_identifier(schema));
		Oid			types[6] = {INT8OID, REGCLASSOID, REGCLASSOID, TEXTOID, TEXTARRAYOID, TEXTOID};
		Datum		values[6];
		char		nulls[6] = {' ', ' ', ' ', ' ', ' ', ' '};

		values[0] = Int64GetDatum(spec.program_id);
		values[1] = ObjectIdGetDatum(orders_relid);
		values[2] = ObjectIdGetDatum(lines_relid);
		if (!OidIsValid(lines_relid))
			nulls[2] = 'n';
		values[3] = CStringGetTextDatum(json.data);
		values[4] = cancelled;
		if (cancelled == (Datum) 0)
			nulls[4] = 'n';
		values[5] = CStringGetTextDatum(spec.source);
		if (SPI_execute_with_args(insert, 6, types, values, nulls, false, 0) != SPI_OK_INSERT)
			elog(ERROR, "SPI_execute_with_args failed for \"%s\"", insert);
	}

	/* Install the triggers, all with the same arguments */
	initStringInfo(&targs);
	for (i = 0; i < nargs; i++)
		appendStringInfo(&targs, "%s%s", i > 0 ? ", " : "", quote_literal_cstr(argv[i]));
	initStringInfo(&sql);
	appendStringInfo(&sql,
					 "CREATE CONSTRAINT TRIGGER %s AFTER INSERT ON %s "
					 "DEFERRABLE INITIALLY DEFERRED FOR EACH ROW "
					 "EXECUTE FUNCTION %s.%s(%s)",
					 ATTACH_TRIGGER_INSERT, orders_name, quote_identifier(schema),
					 ATTACH_TRIGGER_FUNCTION, targs.data);
	AttachExecute(sql.data);
	if (columns[AF_STATUS] != NULL)
	{
		resetStringInfo(&sql);
		appendStringInfo(&sql,
						 "CREATE CONSTRAINT TRIGGER %s AFTER UPDATE OF %s ON %s "
						 "DEFERRABLE INITIALLY DEFERRED FOR EACH ROW "
						 "EXECUTE FUNCTION %s.%s(%s)",
						 ATTACH_TRIGGER_CANCEL, quote_identifier(columns[AF_STATUS]),
						 orders_name, quote_identifier(schema),
						 ATTACH_TRIGGER_FUNCTION, targs.data);
		AttachExecute(sql.data);
	}
	resetStringInfo(&sql);
	appendStringInfo(&sql,
					 "CREATE CONSTRAINT TRIGGER %s AFTER DELETE ON %s "
					 "DEFERRABLE INITIALLY DEFERRED FOR EACH ROW "
					 "EXECUTE FUNCTION %s.%s(%s)",
					 ATTACH_TRIGGER_DELETE, orders_name, quote_identifier(schema),
					 ATTACH_TRIGGER_FUNCTION, targs.data);
	AttachExecute(sql.data);

	SPI_finish();
	table_close(orders, NoLock);
	PG_RETURN_VOID();
}

/* loyalty.detach(orders): drop the accrual triggers and the attachment */
Datum
loyalty_detach(PG_FUNCTION_ARGS)
{
	Oid			orders_relid = PG_GETARG_OID(0);
	char	   *schema = AttachSchemaName(fcinfo);
	Relation	orders;
	char	   *orders_name;
	Oid			funcoid;
	char	   *sql;
	Oid			argtypes[2] = {OIDOID, OIDOID};
	Datum		values[2];
	List	   *triggers = NIL;
	ListCell   *lc;
	uint64		i;

	orders = table_open(orders_relid, ShareRowExclusiveLock);
	orders_name = quote_qualified_identifier(get_namespace_name(RelationGetNamespace(orders)),
											 RelationGetRelationName(orders));

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");

	sql = psprintf("DELETE FROM %s.attachment WHERE orders = $1", quote_identifier(schema));
	values[0] = ObjectIdGetDatum(orders_relid);
	if (SPI_execute_with_args(sql, 1, argtypes, values, NULL, false, 0) != SPI_OK_DELETE)
		elog(ERROR, "SPI_execute_with_args failed for \"%s\"", sql);
	if (SPI_processed == 0)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("relation \"%s\" is not attached", RelationGetRelationName(orders)),
				 errhint("loyalty.attachment lists the attached tables.")));

	/* Every trigger on the table running our function, whatever its name */
	funcoid = LookupFuncName(list_make2(makeString(schema), makeString(ATTACH_TRIGGER_FUNCTION)),
							 0, NULL, false);
	sql = "SELECT tgname::pg_catalog.text FROM pg_catalog.pg_trigger "
		"WHERE tgrelid = $1 AND tgfoid = $2 ORDER BY tgname";
	values[1] = ObjectIdGetDatum(funcoid);
	if (SPI_execute_with_args(sql, 2, argtypes, values, NULL, true, 0) != SPI_OK_SELECT)
		elog(ERROR, "SPI_execute_with_args failed for \"%s\"", sql);
	for (i = 0; i < SPI_processed; i++)
		triggers = lappend(triggers, SPI_getvalue(SPI_tuptable->vals[i],
												  SPI_tuptable->tupdesc, 1));
	foreach(lc, triggers)
		AttachExecute(psprintf("DROP TRIGGER %s ON %s",
							   quote_identifier(lfirst(lc)), orders_name));

	SPI_finish();
	table_close(orders, NoLock);
	PG_RETURN_VOID();
}
