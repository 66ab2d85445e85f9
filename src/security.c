/*
 * security.c
 *		Branch isolation of till roles (issue 9).
 *
 * loyalty.till_branch binds roles to branches.  A session whose session user
 * is a member of a bound role (and is not a superuser) may only write
 * branch-scoped rows (orders, redemptions, holds, ledger entries) of those
 * branches.  The bound branches of the session are cached per backend and
 * reloaded when till_branch or a role membership changes, so the check costs
 * an OID comparison for everyone else.
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "catalog/pg_class.h"
#include "commands/trigger.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/syscache.h"

#include "security.h"
#include "spi_util.h"
#include "invalidation.h"

PG_FUNCTION_INFO_V1(till_branches);
PG_FUNCTION_INFO_V1(till_branch_guard);
PG_FUNCTION_INFO_V1(till_branch_changed);

static bool BranchesValid = false;
static Oid	BranchesUser = InvalidOid;
static Oid	TillBranchRelid = InvalidOid;
static bool BranchesBound = false;
static int	NumBranches = 0;
static char **Branches = NULL;
static MemoryContext BranchesContext = NULL;

static void InvalidateBranchesRelcache(Datum arg, Oid relid);
static void InvalidateBranchesSyscache(Datum arg, int cacheid, uint32 hashvalue);
static void LoadBranches(void);
static bool BranchAllowed(const char *branch);

/* Register the invalidation callbacks (called from _PG_init) */
void
LoyaltySecurityInit(void)
{
	LoyaltyOnRelcacheInvalidation(InvalidateBranchesRelcache);
	CacheRegisterSyscacheCallback(AUTHMEMROLEMEM, InvalidateBranchesSyscache, (Datum) 0);
	CacheRegisterSyscacheCallback(AUTHOID, InvalidateBranchesSyscache, (Datum) 0);
}

/* A relcache invalidation of till_branch (or of everything) makes the cache stale */
static void
InvalidateBranchesRelcache(Datum arg, Oid relid)
{
	if (relid == InvalidOid || relid == TillBranchRelid)
		BranchesValid = false;
}

/* A change of roles or memberships makes the cache stale */
static void
InvalidateBranchesSyscache(Datum arg, int cacheid, uint32 hashvalue)
{
	BranchesValid = false;
}

/* Load the branches the session user is bound to, as the owner of till_branch */
static void
LoadBranches(void)
{
	Oid			session = GetSessionUserId();
	Oid			owner;
	Oid			save_userid;
	int			save_sec;
	HeapTuple	tup;
	int			i;

	if (BranchesValid && BranchesUser == session)
		return;

	if (BranchesContext == NULL)
		BranchesContext = AllocSetContextCreate(TopMemoryContext, "pg_loyalty till branches",
												ALLOCSET_SMALL_SIZES);
	MemoryContextReset(BranchesContext);
	Branches = NULL;
	NumBranches = 0;
	BranchesBound = false;

	/* Superusers are never restricted (they are members of every role). */
	if (superuser_arg(session))
	{
		BranchesUser = session;
		BranchesValid = true;
		return;
	}

	TillBranchRelid = get_relname_relid("till_branch", LoyaltyNamespaceOid());
	if (!OidIsValid(TillBranchRelid))
		elog(ERROR, "table loyalty.till_branch does not exist");
	tup = SearchSysCache1(RELOID, ObjectIdGetDatum(TillBranchRelid));
	if (!HeapTupleIsValid(tup))
		elog(ERROR, "cache lookup failed for relation %u", TillBranchRelid);
	owner = ((Form_pg_class) GETSTRUCT(tup))->relowner;
	ReleaseSysCache(tup);

	/* Valid from here: an invalidation arriving while we read wins. */
	BranchesValid = true;
	BranchesUser = session;

	GetUserIdAndSecContext(&save_userid, &save_sec);
	SetUserIdAndSecContext(owner, save_sec | SECURITY_LOCAL_USERID_CHANGE);
	PG_TRY();
	{
		static SPIPlanPtr plan = NULL;
		Oid			argtypes[1] = {OIDOID};
		Datum		values[1];

		SPI_connect();
		LoyaltyPlan(&plan,
					"SELECT DISTINCT t.branch FROM loyalty.till_branch t"
					"  JOIN pg_catalog.pg_roles r ON r.rolname = t.role_name"
					" WHERE pg_catalog.pg_has_role($1, r.oid, 'MEMBER')"
					" ORDER BY 1",
					1, argtypes);
		values[0] = ObjectIdGetDatum(session);
		LoyaltyExec(plan, values, NULL, true, 0);
		if (SPI_processed > 0)
		{
			MemoryContext old = MemoryContextSwitchTo(BranchesContext);

			BranchesBound = true;
			NumBranches = (int) SPI_processed;
			Branches = palloc(sizeof(char *) * NumBranches);
			for (i = 0; i < NumBranches; i++)
			{
				bool		isnull;
				Datum		d = SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1, &isnull);

				Branches[i] = isnull ? pstrdup("") : TextDatumGetCString(d);
			}
			MemoryContextSwitchTo(old);
		}
		SPI_finish();
	}
	PG_CATCH();
	{
		SetUserIdAndSecContext(save_userid, save_sec);
		BranchesValid = false;
		PG_RE_THROW();
	}
	PG_END_TRY();
	SetUserIdAndSecContext(save_userid, save_sec);
}

/* Whether the session may act at a branch (always, when it is not a bound till) */
static bool
BranchAllowed(const char *branch)
{
	int			i;

	LoadBranches();
	if (!BranchesBound)
		return true;
	if (branch == NULL)
		return false;
	for (i = 0; i < NumBranches; i++)
		if (strcmp(Branches[i], branch) == 0)
			return true;
	return false;
}

/* Whether the session is a till bound to branches */
bool
LoyaltyTillIsBound(void)
{
	LoadBranches();
	return BranchesBound;
}

/*
 * loyalty.till_branches() -> text[]: the branches the session user is bound
 * to, or NULL when it is not a bound till
 */
Datum
till_branches(PG_FUNCTION_ARGS)
{
	Datum	   *elems;
	int			i;

	LoadBranches();
	if (!BranchesBound)
		PG_RETURN_NULL();
	elems = palloc(sizeof(Datum) * NumBranches);
	for (i = 0; i < NumBranches; i++)
		elems[i] = CStringGetTextDatum(Branches[i]);
	PG_RETURN_ARRAYTYPE_P(construct_array(elems, NumBranches, TEXTOID, -1, false, TYPALIGN_INT));
}

/* The text value of a column of a tuple, or NULL */
static char *
ColumnText(HeapTuple tuple, TupleDesc desc, int attno)
{
	bool		isnull;
	Datum		d = heap_getattr(tuple, attno, desc, &isnull);

	return isnull ? NULL : TextDatumGetCString(d);
}

/*
 * Trigger: BEFORE INSERT OR UPDATE OR DELETE FOR EACH ROW, arguments
 * (branch column [, 'null_ok']).  A bound till may only insert rows of its
 * branches and change or delete rows that already are of its branches.  With
 * null_ok, rows without a branch pass (ledger entries of returns and refunds,
 * whose documents are checked on their own tables).
 */
Datum
till_branch_guard(PG_FUNCTION_ARGS)
{
	TriggerData *trigdata = (TriggerData *) fcinfo->context;
	Trigger    *trigger;
	TupleDesc	desc;
	HeapTuple	rettuple;
	bool		null_ok = false;
	int			attno;

	if (!CALLED_AS_TRIGGER(fcinfo))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("till_branch_guard() was not called by the trigger manager")));
	if (!TRIGGER_FIRED_BEFORE(trigdata->tg_event) || !TRIGGER_FIRED_FOR_ROW(trigdata->tg_event))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("till_branch_guard() must be fired BEFORE ... FOR EACH ROW")));

	rettuple = TRIGGER_FIRED_BY_UPDATE(trigdata->tg_event) ? trigdata->tg_newtuple : trigdata->tg_trigtuple;

	/* Fast path: sessions that are not bound tills. */
	LoadBranches();
	if (!BranchesBound)
		return PointerGetDatum(rettuple);

	trigger = trigdata->tg_trigger;
	if (trigger->tgnargs < 1)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("till_branch_guard() needs the branch column as its argument")));
	if (trigger->tgnargs > 1 && strcmp(trigger->tgargs[1], "null_ok") == 0)
		null_ok = true;
	desc = trigdata->tg_relation->rd_att;
	attno = SPI_fnumber(desc, trigger->tgargs[0]);
	if (attno <= 0)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_COLUMN),
				 errmsg("column \"%s\" of relation \"%s\" does not exist",
						trigger->tgargs[0], RelationGetRelationName(trigdata->tg_relation))));
	if (TupleDescAttr(desc, attno - 1)->atttypid != TEXTOID)
		ereport(ERROR,
				(errcode(ERRCODE_DATATYPE_MISMATCH),
				 errmsg("column \"%s\" of relation \"%s\" is not of type text",
						trigger->tgargs[0], RelationGetRelationName(trigdata->tg_relation))));

	/* The row as it was must be of the till's branches (UPDATE, DELETE). */
	if (!TRIGGER_FIRED_BY_INSERT(trigdata->tg_event))
	{
		char	   *old = ColumnText(trigdata->tg_trigtuple, desc, attno);

		if (!(old == NULL && null_ok) && !BranchAllowed(old))
			ereport(ERROR,
					(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
					 errmsg("permission denied for a document of branch \"%s\"", old ? old : ""),
					 errdetail("Role \"%s\" is bound to other branches (loyalty.till_branch).",
							   GetUserNameFromId(GetSessionUserId(), false))));
	}
	/* The row as it will be must be of the till's branches (INSERT, UPDATE). */
	if (!TRIGGER_FIRED_BY_DELETE(trigdata->tg_event))
	{
		char	   *new = ColumnText(rettuple, desc, attno);

		if (!(new == NULL && null_ok) && !BranchAllowed(new))
			ereport(ERROR,
					(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
					 errmsg("permission denied for branch \"%s\"", new ? new : ""),
					 errdetail("Role \"%s\" is bound to other branches (loyalty.till_branch).",
							   GetUserNameFromId(GetSessionUserId(), false)),
					 errhint("A bound till must name one of its branches on every document.")));
	}
	return PointerGetDatum(rettuple);
}

/* Trigger: a change of till_branch reloads every backend's cached branches */
Datum
till_branch_changed(PG_FUNCTION_ARGS)
{
	TriggerData *trigdata = (TriggerData *) fcinfo->context;

	if (!CALLED_AS_TRIGGER(fcinfo))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("till_branch_changed() was not called by the trigger manager")));
	CacheInvalidateRelcacheByRelid(RelationGetRelid(trigdata->tg_relation));
	BranchesValid = false;
	return PointerGetDatum(NULL);
}
