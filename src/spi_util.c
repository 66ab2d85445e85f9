/*
 * spi_util.c
 *		Kept SPI plans and typed column access shared by the C modules.
 */
#include "postgres.h"

#include "catalog/namespace.h"
#include "catalog/pg_type.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/syscache.h"

#include "spi_util.h"

#define MAX_KEPT_PLANS 512

/* Every kept plan's slot, so all can be dropped when the extension is re-created */
static SPIPlanPtr *KeptPlanSlots[MAX_KEPT_PLANS];
static int	NumKeptPlans = 0;
static Oid	KeptPlansPointsType = InvalidOid;

/*
 * Kept plans name our types by OID; if the extension was dropped and created
 * again in this backend's lifetime those OIDs are gone, so drop every plan.
 */
static void
ForgetStalePlans(void)
{
	Oid			points_type = LoyaltyTypeOid("points");
	int			i;

	if (points_type == KeptPlansPointsType)
		return;
	for (i = 0; i < NumKeptPlans; i++)
	{
		if (*KeptPlanSlots[i] != NULL)
			SPI_freeplan(*KeptPlanSlots[i]);
		*KeptPlanSlots[i] = NULL;
	}
	NumKeptPlans = 0;
	KeptPlansPointsType = points_type;
}

/* Prepare a statement once per backend and keep it in *slot */
SPIPlanPtr
LoyaltyPlan(SPIPlanPtr *slot, const char *sql, int nargs, const Oid *argtypes)
{
	SPIPlanPtr	plan;

	ForgetStalePlans();
	if (*slot != NULL)
		return *slot;
	plan = SPI_prepare(sql, nargs, (Oid *) argtypes);
	if (plan == NULL)
		elog(ERROR, "SPI_prepare failed for \"%s\": %s", sql, SPI_result_code_string(SPI_result));
	if (SPI_keepplan(plan) != 0)
		elog(ERROR, "SPI_keepplan failed");
	if (NumKeptPlans >= MAX_KEPT_PLANS)
		elog(ERROR, "too many kept plans");
	KeptPlanSlots[NumKeptPlans++] = slot;
	*slot = plan;
	return plan;
}

/* Execute a kept plan and fail loudly on any SPI error */
void
LoyaltyExec(SPIPlanPtr plan, Datum *values, const char *nulls, bool read_only, long count)
{
	int			rc = SPI_execute_plan(plan, values, nulls, read_only, count);

	if (rc < 0)
		elog(ERROR, "SPI_execute_plan failed: %s", SPI_result_code_string(rc));
}

/* The OID of the loyalty schema (fixed: the extension is not relocatable) */
Oid
LoyaltyNamespaceOid(void)
{
	return get_namespace_oid("loyalty", false);
}

/* The OID of a type in the loyalty schema */
Oid
LoyaltyTypeOid(const char *name)
{
	Oid			typid;

	typid = GetSysCacheOid2(TYPENAMENSP, Anum_pg_type_oid,
							CStringGetDatum(name),
							ObjectIdGetDatum(LoyaltyNamespaceOid()));
	if (!OidIsValid(typid))
		elog(ERROR, "type loyalty.%s does not exist", name);
	return typid;
}

/* A text Datum for str, or a NULL marker when str is NULL */
Datum
LoyaltyTextOrNull(const char *str, char *null_flag)
{
	if (str == NULL)
	{
		*null_flag = 'n';
		return (Datum) 0;
	}
	*null_flag = ' ';
	return CStringGetTextDatum(str);
}

/* A column of an SPI result as a C string, NULL stays NULL */
char *
LoyaltyGetText(HeapTuple tuple, TupleDesc desc, int attno)
{
	return SPI_getvalue(tuple, desc, attno);
}

/* A bigint column of an SPI result */
int64
LoyaltyGetInt64(HeapTuple tuple, TupleDesc desc, int attno, int64 when_null)
{
	bool		isnull;
	Datum		d = SPI_getbinval(tuple, desc, attno, &isnull);

	return isnull ? when_null : DatumGetInt64(d);
}

/* A boolean column of an SPI result (NULL reads as false) */
bool
LoyaltyGetBool(HeapTuple tuple, TupleDesc desc, int attno)
{
	bool		isnull;
	Datum		d = SPI_getbinval(tuple, desc, attno, &isnull);

	return !isnull && DatumGetBool(d);
}

/* A text[] Datum as a palloc'd array of C strings, NULL elements left out */
void
LoyaltyTextArray(Datum arr, char ***items, int *n)
{
	Datum	   *elems;
	bool	   *nulls;
	int			count;
	int			i;

	deconstruct_array(DatumGetArrayTypeP(arr), TEXTOID, -1, false, TYPALIGN_INT,
					  &elems, &nulls, &count);
	*items = palloc(sizeof(char *) * Max(count, 1));
	*n = 0;
	for (i = 0; i < count; i++)
		if (!nulls[i])
			(*items)[(*n)++] = TextDatumGetCString(elems[i]);
}

/* A text[] column of an SPI result as C strings (NULL: empty) */
void
LoyaltyGetTextArray(HeapTuple tuple, TupleDesc desc, int attno, char ***items, int *n)
{
	bool		isnull;
	Datum		v = SPI_getbinval(tuple, desc, attno, &isnull);

	*items = NULL;
	*n = 0;
	if (!isnull)
		LoyaltyTextArray(v, items, n);
}

/* Whether a list of C strings (as LoyaltyTextArray makes) holds value; NULL is in none */
bool
LoyaltyListHas(char **items, int n, const char *value)
{
	int			i;

	if (value == NULL)
		return false;
	for (i = 0; i < n; i++)
		if (strcmp(items[i], value) == 0)
			return true;
	return false;
}

/* A one-dimensional array of n elements of a type (nulls may be NULL: none) */
Datum
LoyaltyMakeArray(Datum *elems, bool *nulls, int n, Oid elemtype)
{
	int16		typlen;
	bool		typbyval;
	char		typalign;
	int			dims[1];
	int			lbs[1] = {1};

	get_typlenbyvalalign(elemtype, &typlen, &typbyval, &typalign);
	dims[0] = n;
	return PointerGetDatum(construct_md_array(elems, nulls, n > 0 ? 1 : 0, dims, lbs,
											  elemtype, typlen, typbyval, typalign));
}
