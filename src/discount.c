/*
 * discount.c
 *		Discount policies: which policies apply to a bill and what each gives,
 *		chosen by the system without the cashier (G1-G3).
 *
 * Every policy that matches the bill (dates, weekday and golden hours in
 * the program's time zone, minimum bill, customer group or single customer,
 * a running campaign) is evaluated on its lines.  Exclusive policies
 * compete: the one that gives the customer most wins, ties going to the
 * higher priority, then the lower policy id.  Stackable policies add up, in
 * priority order, never beyond a line's amount or the bill.  The bill gets
 * the stack when it gives strictly more than the best exclusive policy, else
 * that policy.  Money is in hundredths, percents in ten-thousandths.
 *
 * A policy of a campaign is offered only while the campaign runs and its
 * budgets (the money cap, and the branch's cap) can still pay the whole
 * discount the policy gives this bill; the money is reserved when the order
 * is recorded (loyalty.record_applied_discounts, in SQL).
 */
#include "arith.h"
#include "postgres.h"

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"
#include "utils/timestamp.h"
#include "utils/tuplestore.h"

#include "campaign.h"
#include "errcodes.h"
#include "errcodes_campaign.h"
#include "money.h"
#include "spi_util.h"

PG_FUNCTION_INFO_V1(quote_discounts);

static SPIPlanPtr ProgramPlan = NULL;
static SPIPlanPtr CustomerPlan = NULL;
static SPIPlanPtr LinesPlan = NULL;
static SPIPlanPtr PoliciesPlan = NULL;

/* One bill line */
typedef struct QuoteLine
{
	int32		line_no;
	char	   *sku;
	char	   *item_group;
	int64		amount;			/* hundredths */
	int64		left;			/* what stacking may still take off */
} QuoteLine;

/* One candidate policy */
typedef struct Policy
{
	int64		policy_id;
	char	   *name;
	bool		percent;		/* false: an amount */
	int64		value;			/* ten-thousandths of a percent, or hundredths of money */
	bool		exclusive;
	int64		campaign_id;	/* 0 when none */
	char	  **item_groups;
	int			n_item_groups;
	char	  **skus;
	int			n_skus;
	int64		total;			/* what it gives alone */
	int64	   *per_line;		/* percent: per line; amount: NULL */
} Policy;

/* One result row */
typedef struct Grant
{
	int32		line_no;		/* 0 for the bill */
	const Policy *policy;
	int64		amount;
} Grant;

/* Whether a list holds a value */
static bool
Has(char **items, int n, const char *value)
{
	int			i;

	if (value == NULL)
		return false;
	for (i = 0; i < n; i++)
		if (strcmp(items[i], value) == 0)
			return true;
	return false;
}

/* Whether a policy's item scope covers a line (no scope: every line) */
static bool
Covers(const Policy *p, const QuoteLine *l)
{
	if (p->n_item_groups == 0 && p->n_skus == 0)
		return true;
	return Has(p->item_groups, p->n_item_groups, l->item_group) || Has(p->skus, p->n_skus, l->sku);
}

/* What a policy gives on its own */
static void
Evaluate(Policy *p, QuoteLine *lines, int nlines)
{
	int			i;
	int64		eligible = 0;

	p->total = 0;
	p->per_line = p->percent ? palloc0(sizeof(int64) * Max(nlines, 1)) : NULL;
	for (i = 0; i < nlines; i++)
	{
		if (!Covers(p, &lines[i]))
			continue;
		eligible += lines[i].amount;
		if (p->percent)
		{
			p->per_line[i] = Min(lines[i].amount,
								 (int64) LoyaltyDivRound((int128) lines[i].amount * p->value, 1000000));
			p->total += p->per_line[i];
		}
	}
	if (!p->percent)
		p->total = Min(p->value, eligible);
}

/* Load the bill's lines; returns the bill total */
static int64
LoadLines(Jsonb *json, QuoteLine **lines, int *nlines)
{
	Oid			types[1] = {JSONBOID};
	Datum		values[1];
	uint64		i;
	int64		total = 0;

	LoyaltyPlan(&LinesPlan,
				"SELECT coalesce(l.line_no, o::integer), l.sku, l.item_group, "
				"round(coalesce(l.amount, coalesce(l.quantity, 1) * coalesce(l.price, 0) "
				"- coalesce(l.discount, 0)) * 100)::bigint "
				"FROM unnest(loyalty.lines_from_json($1)) WITH ORDINALITY AS l(line_no, sku, item_group, "
				"quantity, price, discount, amount, is_service, o) ORDER BY 1",
				1, types);
	values[0] = JsonbPGetDatum(json);
	LoyaltyExec(LinesPlan, values, NULL, true, 0);
	*nlines = (int) SPI_processed;
	*lines = palloc0(sizeof(QuoteLine) * Max(*nlines, 1));
	for (i = 0; i < SPI_processed; i++)
	{
		HeapTuple	t = SPI_tuptable->vals[i];
		TupleDesc	d = SPI_tuptable->tupdesc;
		QuoteLine  *l = &(*lines)[i];
		bool		isnull;

		l->line_no = DatumGetInt32(SPI_getbinval(t, d, 1, &isnull));
		l->sku = SPI_getvalue(t, d, 2);
		l->item_group = SPI_getvalue(t, d, 3);
		l->amount = LoyaltyGetInt64(t, d, 4, 0);
		if (l->amount < 0)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("line %d has a negative amount", l->line_no)));
		l->left = l->amount;
		total += l->amount;
	}
	return total;
}

/* Candidate policies of a program at a time, best first; returns how many */
static int
LoadPolicies(int64 program_id, TimestampTz at, int weekday, int hour, int64 bill,
			 const char *customer_key, char **groups, int ngroups, int64 *except, int nexcept,
			 Policy **out)
{
	Oid			types[2] = {INT8OID, TIMESTAMPTZOID};
	Datum		values[2];
	uint64		i;
	int			n = 0;
	SPITupleTable *tab;
	uint64		nrows;

	LoyaltyPlan(&PoliciesPlan,
				"SELECT policy_id, name, kind = 'percent', round(value * CASE WHEN kind = 'percent' "
				"THEN 10000 ELSE 100 END)::bigint, stacking = 'exclusive', campaign_id, item_groups, skus, "
				"weekdays, hour_from, hour_to, round(min_bill * 100)::bigint, customer_groups, customer_key "
				"FROM loyalty.discount_policy WHERE program_id = $1 AND active "
				"AND valid_from <= $2 AND $2 < valid_to ORDER BY priority DESC, policy_id",
				2, types);
	values[0] = Int64GetDatum(program_id);
	values[1] = TimestampTzGetDatum(at);
	LoyaltyExec(PoliciesPlan, values, NULL, true, 0);
	tab = SPI_tuptable;
	nrows = SPI_processed;
	*out = palloc0(sizeof(Policy) * Max(nrows, 1));
	for (i = 0; i < nrows; i++)
	{
		HeapTuple	t = tab->vals[i];
		TupleDesc	d = tab->tupdesc;
		Policy	   *p = &(*out)[n];
		bool		isnull;
		Datum		v;
		char	  **cgroups;
		int			ncgroups;
		char	   *ckey;
		int			j;
		bool		ok = true;

		/* weekdays: ISO 1 (Monday) .. 7; NULL or empty means every day */
		v = SPI_getbinval(t, d, 9, &isnull);
		if (!isnull)
		{
			Datum	   *days;
			bool	   *dnulls;
			int			ndays;

			deconstruct_array(DatumGetArrayTypeP(v), INT4OID, 4, true, TYPALIGN_INT, &days, &dnulls, &ndays);
			if (ndays > 0)
			{
				ok = false;
				for (j = 0; j < ndays; j++)
					if (!dnulls[j] && DatumGetInt32(days[j]) == weekday)
						ok = true;
			}
		}
		/* golden hours [hour_from, hour_to), wrapping past midnight when from > to */
		{
			bool		nf,
						nt;
			Datum		hf = SPI_getbinval(t, d, 10, &nf);
			Datum		ht = SPI_getbinval(t, d, 11, &nt);
			int			from = nf ? 0 : DatumGetInt32(hf);
			int			to = nt ? 24 : DatumGetInt32(ht);

			if (from <= to ? (hour < from || hour >= to) : (hour < from && hour >= to))
				ok = false;
		}
		if (bill < LoyaltyGetInt64(t, d, 12, 0))
			ok = false;
		LoyaltyGetTextArray(t, d, 13, &cgroups, &ncgroups);
		if (ncgroups > 0)
		{
			bool		any = false;

			for (j = 0; j < ngroups; j++)
				if (Has(cgroups, ncgroups, groups[j]))
					any = true;
			ok = ok && any;
		}
		ckey = SPI_getvalue(t, d, 14);
		if (ckey != NULL && (customer_key == NULL || strcmp(ckey, customer_key) != 0))
			ok = false;
		if (!ok)
			continue;
		p->policy_id = DatumGetInt64(SPI_getbinval(t, d, 1, &isnull));
		p->name = SPI_getvalue(t, d, 2);
		p->percent = LoyaltyGetBool(t, d, 3);
		p->value = LoyaltyGetInt64(t, d, 4, 0);
		p->exclusive = LoyaltyGetBool(t, d, 5);
		p->campaign_id = LoyaltyGetInt64(t, d, 6, 0);
		LoyaltyGetTextArray(t, d, 7, &p->item_groups, &p->n_item_groups);
		LoyaltyGetTextArray(t, d, 8, &p->skus, &p->n_skus);
		n++;
	}
	/* a policy of a campaign applies only while the campaign runs */
	{
		int			k = 0;
		int			m;

		for (m = 0; m < n; m++)
		{
			int64		cid = (*out)[m].campaign_id;
			bool		skip = false;
			int			x;

			for (x = 0; x < nexcept; x++)
				if (except[x] == cid)
					skip = true;
			if (cid == 0 || (!skip && LoyaltyCampaignActive(cid, at)))
				(*out)[k++] = (*out)[m];
		}
		n = k;
	}
	return n;
}

/* SQL: loyalty.quote_discounts(program, customer_key, lines, at [, branch [, except_campaigns, check_budgets]]) */
Datum
quote_discounts(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	char	   *program;
	char	   *customer_key = PG_ARGISNULL(1) ? NULL : text_to_cstring(PG_GETARG_TEXT_PP(1));
	Jsonb	   *json;
	TimestampTz at = PG_ARGISNULL(3) ? GetCurrentTransactionStartTimestamp() : PG_GETARG_TIMESTAMPTZ(3);
	Oid			ptypes[2] = {TEXTOID, TIMESTAMPTZOID};
	Oid			ctypes[2] = {INT8OID, TEXTOID};
	Datum		values[2];
	bool		isnull;
	int64		program_id;
	int			weekday;
	int			hour;
	char	  **groups = NULL;
	int			ngroups = 0;
	QuoteLine  *lines;
	int			nlines;
	int64		bill;
	Policy	   *policies;
	int			npolicies;
	Grant	   *grants;
	int			ngrants = 0;
	int			i;
	int			j;
	const Policy *best = NULL;
	int64		stack_total = 0;
	int64		bill_left;
	Grant	   *stack;
	int			nstack = 0;
	TupleDesc	tupdesc;
	Tuplestorestate *store;
	MemoryContext oldcontext;
	char	   *branch = (PG_NARGS() > 4 && !PG_ARGISNULL(4)) ? text_to_cstring(PG_GETARG_TEXT_PP(4)) : NULL;
	int64	   *except = NULL;
	int			nexcept = 0;
	bool		check_budgets = PG_NARGS() > 6 && !PG_ARGISNULL(6) ? PG_GETARG_BOOL(6) : true;

	if (PG_NARGS() > 5 && !PG_ARGISNULL(5))
	{
		Datum	   *elems;
		bool	   *enulls;

		deconstruct_array(PG_GETARG_ARRAYTYPE_P(5), INT8OID, 8, true, TYPALIGN_DOUBLE,
						  &elems, &enulls, &nexcept);
		except = palloc(sizeof(int64) * Max(nexcept, 1));
		for (i = 0; i < nexcept; i++)
			except[i] = enulls[i] ? 0 : DatumGetInt64(elems[i]);
	}
	if (PG_ARGISNULL(0) || PG_ARGISNULL(2))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("quote_discounts needs a program and the bill's lines")));
	program = text_to_cstring(PG_GETARG_TEXT_PP(0));
	json = PG_GETARG_JSONB_P(2);
	if (rsinfo == NULL || !IsA(rsinfo, ReturnSetInfo) || !(rsinfo->allowedModes & SFRM_Materialize))
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("quote_discounts must be called in a context that accepts a set")));
	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	LoyaltyPlan(&ProgramPlan,
				"SELECT program_id, extract(isodow FROM $2 AT TIME ZONE time_zone)::integer, "
				"extract(hour FROM $2 AT TIME ZONE time_zone)::integer FROM loyalty.program WHERE code = $1",
				2, ptypes);
	values[0] = CStringGetTextDatum(program);
	values[1] = TimestampTzGetDatum(at);
	LoyaltyExec(ProgramPlan, values, NULL, true, 1);
	if (SPI_processed != 1)
		ereport(ERROR,
				(errcode(ERRCODE_LOYALTY_UNKNOWN_PROGRAM),
				 errmsg("loyalty program \"%s\" does not exist", program)));
	program_id = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	weekday = DatumGetInt32(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2, &isnull));
	hour = DatumGetInt32(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 3, &isnull));

	if (customer_key != NULL)
	{
		LoyaltyPlan(&CustomerPlan,
					"SELECT m.groups FROM loyalty.member_key k JOIN loyalty.member m ON m.member_id = k.member_id "
					"WHERE k.program_id = $1 AND k.customer_key = $2 AND m.status = 'active'",
					2, ctypes);
		values[0] = Int64GetDatum(program_id);
		values[1] = CStringGetTextDatum(customer_key);
		LoyaltyExec(CustomerPlan, values, NULL, true, 1);
		if (SPI_processed == 1)
			LoyaltyGetTextArray(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &groups, &ngroups);
	}

	bill = LoadLines(json, &lines, &nlines);
	npolicies = LoadPolicies(program_id, at, weekday, hour, bill, customer_key, groups, ngroups,
							 except, nexcept, &policies);

	/* the best exclusive policy, and the stack of stackable ones */
	stack = palloc0(sizeof(Grant) * (Max(npolicies, 1) * (nlines + 1)));
	bill_left = bill;
	for (i = 0; i < npolicies; i++)
	{
		Policy	   *p = &policies[i];

		Evaluate(p, lines, nlines);
		if (p->total <= 0)
			continue;
		/* a campaign's policy only when its budgets can pay all it gives here */
		if (p->campaign_id != 0 && check_budgets && !CampaignCanPay(p->campaign_id, 0, p->total, CAMPAIGN_AT, at, branch))
		{
			p->total = 0;
			continue;
		}
		if (p->exclusive)
		{
			if (best == NULL || p->total > best->total)
				best = p;
			continue;
		}
		if (p->percent)
		{
			for (j = 0; j < nlines; j++)
			{
				int64		a = Min(p->per_line[j], Min(lines[j].left, bill_left));

				if (a <= 0)
					continue;
				lines[j].left -= a;
				bill_left -= a;
				stack_total += a;
				stack[nstack].line_no = lines[j].line_no;
				stack[nstack].policy = p;
				stack[nstack++].amount = a;
			}
		}
		else
		{
			int64		a = Min(p->total, bill_left);

			if (a <= 0)
				continue;
			bill_left -= a;
			stack_total += a;
			stack[nstack].line_no = 0;
			stack[nstack].policy = p;
			stack[nstack++].amount = a;
		}
	}
	if (best != NULL && best->total >= stack_total)
	{
		grants = palloc0(sizeof(Grant) * (nlines + 1));
		if (best->percent)
		{
			for (j = 0; j < nlines; j++)
				if (best->per_line[j] > 0)
				{
					grants[ngrants].line_no = lines[j].line_no;
					grants[ngrants].policy = best;
					grants[ngrants++].amount = best->per_line[j];
				}
		}
		else
		{
			grants[0].line_no = 0;
			grants[0].policy = best;
			grants[0].amount = best->total;
			ngrants = 1;
		}
	}
	else
	{
		grants = stack;
		ngrants = nstack;
	}

	/* rows: line_no, policy_id, policy_name, kind, amount */
	oldcontext = MemoryContextSwitchTo(rsinfo->econtext->ecxt_per_query_memory);
	store = tuplestore_begin_heap(true, false, work_mem);
	tupdesc = CreateTupleDescCopy(tupdesc);
	MemoryContextSwitchTo(oldcontext);
	for (i = 0; i < ngrants; i++)
	{
		Datum		row[5];
		bool		nulls[5] = {false, false, false, false, false};

		row[0] = Int32GetDatum(grants[i].line_no);
		row[1] = Int64GetDatum(grants[i].policy->policy_id);
		row[2] = CStringGetTextDatum(grants[i].policy->name);
		row[3] = CStringGetTextDatum(grants[i].policy->exclusive ? "exclusive" : "stackable");
		row[4] = NumericGetDatum(MoneyToNumeric(grants[i].amount));
		oldcontext = MemoryContextSwitchTo(rsinfo->econtext->ecxt_per_query_memory);
		tuplestore_putvalues(store, tupdesc, row, nulls);
		MemoryContextSwitchTo(oldcontext);
	}
	SPI_finish();
	rsinfo->returnMode = SFRM_Materialize;
	rsinfo->setResult = store;
	rsinfo->setDesc = tupdesc;
	return (Datum) 0;
}
