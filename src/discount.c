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
 * is recorded (loyalty.record_applied_discounts, in SQL, or
 * loyalty.apply_discounts, here).
 *
 * Speed: the policies of every program are cached per backend (reloaded
 * when a discount policy, a program or a rule changes: the discount_policy
 * trigger sends the rule cache's invalidation), the bill's JSON lines are
 * read in C, and apply_discounts does the whole apply (retry check, quote,
 * reservation, record) in one C call with kept plans.
 */
#include "arith.h"
#include "postgres.h"

#include "catalog/pg_collation.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/datetime.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/numeric.h"
#include "utils/jsonb.h"
#include "utils/timestamp.h"
#include "utils/tuplestore.h"

#include "campaign.h"
#include "errcodes.h"
#include "errcodes_campaign.h"
#include "money.h"
#include "rules.h"
#include "spi_util.h"
#include "invalidation.h"

PG_FUNCTION_INFO_V1(quote_discounts);
PG_FUNCTION_INFO_V1(apply_discounts_fast);

static SPIPlanPtr CustomerPlan = NULL;
static SPIPlanPtr PolicyCachePlan = NULL;
static SPIPlanPtr RecordedPlan = NULL;
static SPIPlanPtr InsertPlan = NULL;
static SPIPlanPtr AnyRecordedPlan = NULL;

/* One bill line */
typedef struct QuoteLine
{
	int32		line_no;
	int			ordinal;		/* position in the JSON array (ties of line_no) */
	char	   *sku;
	char	   *item_group;
	int64		amount;			/* hundredths */
	int64		left;			/* what stacking may still take off */
} QuoteLine;

/* One active policy as cached (numbers scaled, arrays as C arrays) */
typedef struct CachedPolicy
{
	int64		policy_id;
	int64		program_id;
	char	   *name;
	bool		percent;		/* false: an amount */
	int64		value;			/* ten-thousandths of a percent, or hundredths of money */
	bool		exclusive;
	int64		campaign_id;	/* 0 when none */
	char	  **item_groups;
	int			n_item_groups;
	char	  **skus;
	int			n_skus;
	TimestampTz valid_from;
	TimestampTz valid_to;
	int32	   *weekdays;
	int			n_weekdays;
	int			hour_from;		/* 0 when NULL */
	int			hour_to;		/* 24 when NULL */
	int64		min_bill;		/* hundredths */
	char	  **customer_groups;
	int			n_customer_groups;
	char	   *customer_key;	/* NULL: anyone */
} CachedPolicy;

/* One candidate policy of a bill */
typedef struct Policy
{
	const CachedPolicy *c;
	int64		policy_id;
	const char *name;
	bool		percent;
	int64		value;
	bool		exclusive;
	int64		campaign_id;
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

/* A campaign's state, read once per call */
typedef struct CampaignSeen
{
	int64		campaign_id;
	CampaignState state;
} CampaignSeen;

/* What one quote works with */
typedef struct QuoteInput
{
	int64		program_id;
	TimestampTz at;
	int			weekday;		/* ISO 1 .. 7, in the program's time zone */
	int			hour;
	const char *customer_key;
	bool		customer_loaded;	/* member_id, groups read (only when needed) */
	int64		member_id;		/* 0: none */
	char	  **groups;			/* the active member's customer groups */
	int			ngroups;
	QuoteLine  *lines;
	int			nlines;
	int64		bill;
	const char *branch;
	CampaignSeen *seen;			/* campaigns read in this call */
	int			nseen;
} QuoteInput;

/* The policy cache */
static MemoryContext PolicyContext = NULL;
static bool PolicyCacheValid = false;
static bool PolicyCallbackRegistered = false;
static Oid	PolicyRuleRelationId = InvalidOid;
static CachedPolicy *CachedPolicies = NULL;
static int	NumCachedPolicies = 0;

/*
 * The discount_policy trigger (invalidate_rule_cache) invalidates the rule
 * table's relcache entry at commit, in every backend: that, or a reset of
 * everything, makes the policies stale too.
 */
static void
InvalidatePoliciesCallback(Datum arg, Oid relid)
{
	if (relid == InvalidOid || relid == PolicyRuleRelationId)
		PolicyCacheValid = false;
}

/* A text[] column copied into the current memory context */
static void
CopyTextArray(HeapTuple t, TupleDesc d, int attno, char ***items, int *n)
{
	LoyaltyGetTextArray(t, d, attno, items, n);
}

/* Make sure the policy cache is loaded and current (inside an SPI connection) */
static void
EnsurePoliciesLoaded(void)
{
	MemoryContext old;
	uint64		i;
	SPITupleTable *tab;

	if (!PolicyCallbackRegistered)
	{
		LoyaltyOnRelcacheInvalidation(InvalidatePoliciesCallback);
		PolicyCallbackRegistered = true;
	}
	if (PolicyCacheValid && CachedPolicies != NULL)
		return;
	if (PolicyContext == NULL)
		PolicyContext = AllocSetContextCreate(CacheMemoryContext, "pg_loyalty discount policy cache",
											  ALLOCSET_SMALL_SIZES);
	else
		MemoryContextReset(PolicyContext);
	CachedPolicies = NULL;
	NumCachedPolicies = 0;
	PolicyRuleRelationId = get_relname_relid("rule", LoyaltyNamespaceOid());
	/* valid first: an invalidation arriving while loading marks it stale again */
	PolicyCacheValid = true;
	PG_TRY();
	{
		LoyaltyPlan(&PolicyCachePlan,
					"SELECT policy_id, program_id, name, kind = 'percent', round(value * CASE WHEN kind = 'percent' "
					"THEN 10000 ELSE 100 END)::bigint, stacking = 'exclusive', campaign_id, item_groups, skus, "
					"valid_from, valid_to, weekdays, hour_from, hour_to, round(min_bill * 100)::bigint, "
					"customer_groups, customer_key "
					"FROM loyalty.discount_policy WHERE active ORDER BY program_id, priority DESC, policy_id",
					0, NULL);
		LoyaltyExec(PolicyCachePlan, NULL, NULL, true, 0);
		tab = SPI_tuptable;
		old = MemoryContextSwitchTo(PolicyContext);
		CachedPolicies = palloc0(sizeof(CachedPolicy) * Max(SPI_processed, 1));
		for (i = 0; i < SPI_processed; i++)
		{
			HeapTuple	t = tab->vals[i];
			TupleDesc	d = tab->tupdesc;
			CachedPolicy *p = &CachedPolicies[i];
			bool		isnull;
			Datum		v;

			p->policy_id = LoyaltyGetInt64(t, d, 1, 0);
			p->program_id = LoyaltyGetInt64(t, d, 2, 0);
			p->name = SPI_getvalue(t, d, 3);
			p->percent = LoyaltyGetBool(t, d, 4);
			p->value = LoyaltyGetInt64(t, d, 5, 0);
			p->exclusive = LoyaltyGetBool(t, d, 6);
			p->campaign_id = LoyaltyGetInt64(t, d, 7, 0);
			CopyTextArray(t, d, 8, &p->item_groups, &p->n_item_groups);
			CopyTextArray(t, d, 9, &p->skus, &p->n_skus);
			p->valid_from = DatumGetTimestampTz(SPI_getbinval(t, d, 10, &isnull));
			p->valid_to = DatumGetTimestampTz(SPI_getbinval(t, d, 11, &isnull));
			v = SPI_getbinval(t, d, 12, &isnull);
			if (!isnull)
			{
				Datum	   *days;
				bool	   *dnulls;
				int			ndays;
				int			j;

				deconstruct_array(DatumGetArrayTypeP(v), INT4OID, 4, true, TYPALIGN_INT, &days, &dnulls, &ndays);
				p->weekdays = palloc(sizeof(int32) * Max(ndays, 1));
				for (j = 0; j < ndays; j++)
					if (!dnulls[j])
						p->weekdays[p->n_weekdays++] = DatumGetInt32(days[j]);
				/* an array of NULLs only still restricts (no day matches) */
				if (ndays > 0 && p->n_weekdays == 0)
					p->weekdays[p->n_weekdays++] = 0;
			}
			v = SPI_getbinval(t, d, 13, &isnull);
			p->hour_from = isnull ? 0 : DatumGetInt32(v);
			v = SPI_getbinval(t, d, 14, &isnull);
			p->hour_to = isnull ? 24 : DatumGetInt32(v);
			p->min_bill = LoyaltyGetInt64(t, d, 15, 0);
			CopyTextArray(t, d, 16, &p->customer_groups, &p->n_customer_groups);
			p->customer_key = SPI_getvalue(t, d, 17);
		}
		NumCachedPolicies = (int) SPI_processed;
		MemoryContextSwitchTo(old);
	}
	PG_CATCH();
	{
		PolicyCacheValid = false;
		CachedPolicies = NULL;
		NumCachedPolicies = 0;
		PG_RE_THROW();
	}
	PG_END_TRY();
}

/* Whether a policy's item scope covers a line (no scope: every line) */
static bool
Covers(const CachedPolicy *p, const QuoteLine *l)
{
	if (p->n_item_groups == 0 && p->n_skus == 0)
		return true;
	return LoyaltyListHas(p->item_groups, p->n_item_groups, l->item_group) ||
		LoyaltyListHas(p->skus, p->n_skus, l->sku);
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
		if (!Covers(p->c, &lines[i]))
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

/* The text of a JSON value as ->> gives it (NULL for JSON null) */
static char *
JsonText(JsonbValue *v)
{
	switch (v->type)
	{
		case jbvNull:
			return NULL;
		case jbvString:
			return pnstrdup(v->val.string.val, v->val.string.len);
		case jbvNumeric:
			return DatumGetCString(DirectFunctionCall1(numeric_out, NumericGetDatum(v->val.numeric)));
		case jbvBool:
			return pstrdup(v->val.boolean ? "true" : "false");
		case jbvBinary:
			return JsonbToCString(NULL, v->val.binary.data, v->val.binary.len);
		default:
			elog(ERROR, "unexpected JSON value type %d", (int) v->type);
	}
	return NULL;				/* keep compiler quiet */
}

/* e->>'key' of an array element (NULL when it is not an object or lacks the key) */
static char *
JsonField(JsonbValue *elem, const char *key)
{
	JsonbValue *v;

	if (elem->type != jbvBinary || !JsonContainerIsObject(elem->val.binary.data))
		return NULL;
	v = getKeyJsonValueFromContainer(elem->val.binary.data, key, strlen(key), NULL);
	return v == NULL ? NULL : JsonText(v);
}

/* (e->>'key')::numeric, or NULL */
static Numeric
JsonNumeric(JsonbValue *elem, const char *key)
{
	char	   *s = JsonField(elem, key);

	if (s == NULL)
		return NULL;
	return DatumGetNumeric(DirectFunctionCall3(numeric_in, CStringGetDatum(s),
											   ObjectIdGetDatum(InvalidOid), Int32GetDatum(-1)));
}

/* Order quote lines by line number, then as they were given */
static int
CompareLines(const void *a, const void *b)
{
	const QuoteLine *x = a;
	const QuoteLine *y = b;

	if (x->line_no != y->line_no)
		return x->line_no < y->line_no ? -1 : 1;
	return x->ordinal < y->ordinal ? -1 : (x->ordinal > y->ordinal ? 1 : 0);
}

/*
 * The bill's lines from JSON, as loyalty.lines_from_json reads them: line
 * (default: the position), sku, group, and amount, else qty (default 1) *
 * price (default 0) - discount (default 0); in line order.  Returns the bill.
 */
static int64
ParseLines(Jsonb *json, QuoteLine **lines, int *nlines)
{
	JsonbIterator *it;
	JsonbValue	v;
	JsonbIteratorToken tok;
	int			n = 0;
	int			cap;
	int64		total = 0;
	int			i;

	if (JB_ROOT_IS_SCALAR(json))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("cannot extract elements from a scalar")));
	if (JB_ROOT_IS_OBJECT(json))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("cannot extract elements from an object")));
	cap = Max(JB_ROOT_COUNT(json), 1);
	*lines = palloc0(sizeof(QuoteLine) * cap);
	it = JsonbIteratorInit(&json->root);
	while ((tok = JsonbIteratorNext(&it, &v, true)) != WJB_DONE)
	{
		QuoteLine  *l;
		char	   *s;
		Numeric		amount;

		if (tok != WJB_ELEM)
			continue;
		if (n >= cap)
			elog(ERROR, "more JSON array elements than counted");
		l = &(*lines)[n];
		l->ordinal = n + 1;
		s = JsonField(&v, "line");
		l->line_no = s == NULL ? n + 1 : DatumGetInt32(DirectFunctionCall1(int4in, CStringGetDatum(s)));
		l->sku = JsonField(&v, "sku");
		l->item_group = JsonField(&v, "group");
		amount = JsonNumeric(&v, "amount");
		if (amount == NULL)
		{
			Numeric		qty = JsonNumeric(&v, "qty");
			Numeric		price = JsonNumeric(&v, "price");
			Numeric		discount = JsonNumeric(&v, "discount");

			if (qty == NULL)
				qty = int64_to_numeric(1);
			if (price == NULL)
				price = int64_to_numeric(0);
			if (discount == NULL)
				discount = int64_to_numeric(0);
			amount = DatumGetNumeric(DirectFunctionCall2(numeric_sub,
														 DirectFunctionCall2(numeric_mul, NumericGetDatum(qty),
																			 NumericGetDatum(price)),
														 NumericGetDatum(discount)));
		}
		amount = DatumGetNumeric(DirectFunctionCall2(numeric_mul, NumericGetDatum(amount),
													 NumericGetDatum(int64_to_numeric(100))));
		amount = DatumGetNumeric(DirectFunctionCall2(numeric_round, NumericGetDatum(amount), Int32GetDatum(0)));
		l->amount = DatumGetInt64(DirectFunctionCall1(numeric_int8, NumericGetDatum(amount)));
		n++;
	}
	qsort(*lines, n, sizeof(QuoteLine), CompareLines);
	for (i = 0; i < n; i++)
	{
		QuoteLine  *l = &(*lines)[i];

		if (l->amount < 0)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("line %d has a negative amount", l->line_no)));
		l->left = l->amount;
		total += l->amount;
	}
	*nlines = n;
	return total;
}

/*
 * Whether a policy's weekdays and golden hours [hour_from, hour_to) cover a
 * local weekday and hour.  A window that wraps past midnight (from > to)
 * belongs to the night it starts on: "Friday and Saturday 22:00-02:00"
 * covers Saturday 01:30 and Sunday 01:30, not Friday 01:30.
 */
static bool
PolicyTimeMatches(const CachedPolicy *c, int weekday, int hour)
{
	int			day = weekday;
	int			j;

	if (c->hour_from <= c->hour_to)
	{
		if (hour < c->hour_from || hour >= c->hour_to)
			return false;
	}
	else if (hour < c->hour_to)
		day = weekday == 1 ? 7 : weekday - 1;	/* the tail of the night before */
	else if (hour < c->hour_from)
		return false;
	/* weekdays: ISO 1 (Monday) .. 7; empty means every day */
	if (c->n_weekdays == 0)
		return true;
	for (j = 0; j < c->n_weekdays; j++)
		if (c->weekdays[j] == day)
			return true;
	return false;
}

/* ISO weekday and hour of a time in a program's time zone */
static void
LocalDayHour(const char *time_zone, TimestampTz at, int *weekday, int *hour)
{
	Timestamp	local;
	struct pg_tm tm;
	fsec_t		fsec;
	int			dow;

	local = LoyaltyLocalTime(at, time_zone);
	if (TIMESTAMP_NOT_FINITE(local) || timestamp2tm(local, NULL, &tm, &fsec, NULL, NULL) != 0)
		ereport(ERROR,
				(errcode(ERRCODE_DATETIME_VALUE_OUT_OF_RANGE),
				 errmsg("timestamp out of range")));
	dow = j2day(date2j(tm.tm_year, tm.tm_mon, tm.tm_mday));
	*weekday = dow == 0 ? 7 : dow;
	*hour = tm.tm_hour;
}

/*
 * The customer's member (0: none) and, when the member is active, groups
 * (inside an SPI connection)
 */
static int64
LoadCustomer(int64 program_id, const char *customer_key, char ***groups, int *ngroups)
{
	Oid			types[2] = {INT8OID, TEXTOID};
	Datum		values[2];
	int64		member_id = 0;

	*groups = NULL;
	*ngroups = 0;
	if (customer_key == NULL)
		return 0;
	LoyaltyPlan(&CustomerPlan,
				"SELECT k.member_id, m.groups, m.status = 'active' FROM loyalty.member_key k "
				"LEFT JOIN loyalty.member m ON m.member_id = k.member_id "
				"WHERE k.program_id = $1 AND k.customer_key = $2",
				2, types);
	values[0] = Int64GetDatum(program_id);
	values[1] = CStringGetTextDatum(customer_key);
	LoyaltyExec(CustomerPlan, values, NULL, true, 1);
	if (SPI_processed == 1)
	{
		HeapTuple	t = SPI_tuptable->vals[0];
		TupleDesc	d = SPI_tuptable->tupdesc;
		bool		isnull;
		Datum		active = SPI_getbinval(t, d, 3, &isnull);

		member_id = LoyaltyGetInt64(t, d, 1, 0);
		if (!isnull && DatumGetBool(active))
			LoyaltyGetTextArray(t, d, 2, groups, ngroups);
	}
	return member_id;
}

/* The customer's member and groups, read once, when first needed */
static int64
EnsureCustomer(QuoteInput *in)
{
	if (!in->customer_loaded)
	{
		in->member_id = LoadCustomer(in->program_id, in->customer_key, &in->groups, &in->ngroups);
		in->customer_loaded = true;
	}
	return in->member_id;
}

/* A campaign's state, read once per call */
static const CampaignState *
SeenCampaign(QuoteInput *in, int64 campaign_id)
{
	int			i;

	for (i = 0; i < in->nseen; i++)
		if (in->seen[i].campaign_id == campaign_id)
			return &in->seen[i].state;
	in->seen = in->seen == NULL ? palloc(sizeof(CampaignSeen) * 8)
		: repalloc(in->seen, sizeof(CampaignSeen) * (in->nseen + 8));
	in->seen[in->nseen].campaign_id = campaign_id;
	CampaignRead(campaign_id, in->at, &in->seen[in->nseen].state);
	return &in->seen[in->nseen++].state;
}

/*
 * The quote: the policies that apply to the bill, best exclusive one against
 * the stack of the stackable ones.  except: campaigns left out; check_budgets:
 * offer a campaign's policy only when its budgets can pay it.  Returns the
 * number of rows (lines reset first, so a quote can be made again).
 */
static int
Quote(QuoteInput *in, const int64 *except, int nexcept, bool check_budgets, Grant **out)
{
	Policy	   *policies;
	int			npolicies = 0;
	Grant	   *stack;
	int			nstack = 0;
	Grant	   *grants;
	int			ngrants = 0;
	const Policy *best = NULL;
	int64		stack_total = 0;
	int64		bill_left = in->bill;
	int			i;
	int			j;

	EnsurePoliciesLoaded();
	for (i = 0; i < in->nlines; i++)
		in->lines[i].left = in->lines[i].amount;
	policies = palloc0(sizeof(Policy) * Max(NumCachedPolicies, 1));
	for (i = 0; i < NumCachedPolicies; i++)
	{
		const CachedPolicy *c = &CachedPolicies[i];
		bool		skip = false;

		if (c->program_id != in->program_id || c->valid_from > in->at || in->at >= c->valid_to)
			continue;
		if (!PolicyTimeMatches(c, in->weekday, in->hour))
			continue;
		if (in->bill < c->min_bill)
			continue;
		if (c->n_customer_groups > 0)
		{
			bool		any = false;

			EnsureCustomer(in);
			for (j = 0; j < in->ngroups; j++)
				if (LoyaltyListHas(c->customer_groups, c->n_customer_groups, in->groups[j]))
					any = true;
			if (!any)
				continue;
		}
		if (c->customer_key != NULL && (in->customer_key == NULL || strcmp(c->customer_key, in->customer_key) != 0))
			continue;
		for (j = 0; j < nexcept; j++)
			if (c->campaign_id != 0 && except[j] == c->campaign_id)
				skip = true;
		if (skip)
			continue;
		policies[npolicies].c = c;
		policies[npolicies].policy_id = c->policy_id;
		policies[npolicies].name = c->name;
		policies[npolicies].percent = c->percent;
		policies[npolicies].value = c->value;
		policies[npolicies].exclusive = c->exclusive;
		policies[npolicies].campaign_id = c->campaign_id;
		npolicies++;
	}

	/* the best exclusive policy, and the stack of stackable ones */
	stack = palloc0(sizeof(Grant) * (Max(npolicies, 1) * (in->nlines + 1)));
	for (i = 0; i < npolicies; i++)
	{
		Policy	   *p = &policies[i];

		Evaluate(p, in->lines, in->nlines);
		if (p->total <= 0)
			continue;
		/*
		 * a policy of a campaign applies only while the campaign runs (read
		 * only for a policy that gives this bill something)
		 */
		if (p->campaign_id != 0 &&
			!CampaignStateGives(SeenCampaign(in, p->campaign_id), CAMPAIGN_AT, in->at))
		{
			p->total = 0;
			continue;
		}
		/* a campaign's policy only when its budgets can pay all it gives here */
		if (p->campaign_id != 0 && check_budgets &&
			!CampaignCanPayState(p->campaign_id, SeenCampaign(in, p->campaign_id), 0, p->total,
								 CAMPAIGN_AT, in->at, in->branch))
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
			for (j = 0; j < in->nlines; j++)
			{
				QuoteLine  *l = &in->lines[j];
				int64		a = Min(p->per_line[j], Min(l->left, bill_left));

				if (a <= 0)
					continue;
				l->left -= a;
				bill_left -= a;
				stack_total += a;
				stack[nstack].line_no = l->line_no;
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
		grants = palloc0(sizeof(Grant) * (in->nlines + 1));
		if (best->percent)
		{
			for (j = 0; j < in->nlines; j++)
				if (best->per_line[j] > 0)
				{
					grants[ngrants].line_no = in->lines[j].line_no;
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
	*out = grants;
	return ngrants;
}

/* Check a set-returning call and start its result */
static Tuplestorestate *
BeginResult(FunctionCallInfo fcinfo, const char *fname, TupleDesc *desc)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	TupleDesc	tupdesc;
	MemoryContext oldcontext;
	Tuplestorestate *store;

	if (rsinfo == NULL || !IsA(rsinfo, ReturnSetInfo) || !(rsinfo->allowedModes & SFRM_Materialize))
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("%s must be called in a context that accepts a set", fname)));
	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");
	oldcontext = MemoryContextSwitchTo(rsinfo->econtext->ecxt_per_query_memory);
	store = tuplestore_begin_heap(true, false, work_mem);
	*desc = CreateTupleDescCopy(tupdesc);
	MemoryContextSwitchTo(oldcontext);
	return store;
}

/* rows: line_no, policy_id, policy_name, stacking, amount */
static void
EndResult(FunctionCallInfo fcinfo, Tuplestorestate *store, TupleDesc desc, const Grant *grants, int ngrants)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	int			i;

	for (i = 0; i < ngrants; i++)
	{
		Datum		row[5];
		bool		nulls[5] = {false, false, false, false, false};
		MemoryContext oldcontext;

		row[0] = Int32GetDatum(grants[i].line_no);
		row[1] = Int64GetDatum(grants[i].policy->policy_id);
		row[2] = CStringGetTextDatum(grants[i].policy->name);
		row[3] = CStringGetTextDatum(grants[i].policy->exclusive ? "exclusive" : "stackable");
		row[4] = NumericGetDatum(MoneyToNumeric(grants[i].amount));
		oldcontext = MemoryContextSwitchTo(rsinfo->econtext->ecxt_per_query_memory);
		tuplestore_putvalues(store, desc, row, nulls);
		MemoryContextSwitchTo(oldcontext);
	}
	rsinfo->returnMode = SFRM_Materialize;
	rsinfo->setResult = store;
	rsinfo->setDesc = desc;
}

/* The program, its local weekday and hour and the lines (the customer is read when needed) */
static void
PrepareInput(QuoteInput *in, const char *program, const char *customer_key, Jsonb *json,
			 TimestampTz at, const char *branch)
{
	ProgramConfig *cfg = LoyaltyGetProgramByCode(program);	/* LY005 when unknown */

	memset(in, 0, sizeof(*in));
	in->program_id = cfg->program_id;
	in->at = at;
	in->customer_key = customer_key;
	in->branch = branch;
	LocalDayHour(cfg->time_zone, at, &in->weekday, &in->hour);
	in->bill = ParseLines(json, &in->lines, &in->nlines);
}

/* SQL: loyalty.quote_discounts(program, customer_key, lines, at [, branch [, except_campaigns, check_budgets]]) */
Datum
quote_discounts(PG_FUNCTION_ARGS)
{
	char	   *customer_key = PG_ARGISNULL(1) ? NULL : text_to_cstring(PG_GETARG_TEXT_PP(1));
	TimestampTz at = PG_ARGISNULL(3) ? GetCurrentTransactionStartTimestamp() : PG_GETARG_TIMESTAMPTZ(3);
	char	   *branch = (PG_NARGS() > 4 && !PG_ARGISNULL(4)) ? text_to_cstring(PG_GETARG_TEXT_PP(4)) : NULL;
	int64	   *except = NULL;
	int			nexcept = 0;
	bool		check_budgets = PG_NARGS() > 6 && !PG_ARGISNULL(6) ? PG_GETARG_BOOL(6) : true;
	QuoteInput	in;
	Grant	   *grants;
	int			ngrants;
	TupleDesc	desc;
	Tuplestorestate *store;
	int			i;

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
	store = BeginResult(fcinfo, "quote_discounts", &desc);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	PrepareInput(&in, text_to_cstring(PG_GETARG_TEXT_PP(0)), customer_key, PG_GETARG_JSONB_P(2), at, branch);
	ngrants = Quote(&in, except, nexcept, check_budgets, &grants);
	EndResult(fcinfo, store, desc, grants, ngrants);
	SPI_finish();
	return (Datum) 0;
}

/* A recorded or quoted row, for comparing a retry with the record */
typedef struct DiscountRow
{
	int64		policy_id;
	int32		line_no;
	int64		amount;			/* hundredths */
} DiscountRow;

/* Order discount rows by policy, line and amount */
static int
CompareRows(const void *a, const void *b)
{
	const DiscountRow *x = a;
	const DiscountRow *y = b;

	if (x->policy_id != y->policy_id)
		return x->policy_id < y->policy_id ? -1 : 1;
	if (x->line_no != y->line_no)
		return x->line_no < y->line_no ? -1 : 1;
	return x->amount < y->amount ? -1 : (x->amount > y->amount ? 1 : 0);
}

/* The rows recorded for a document (inside an SPI connection), sorted */
static int
LoadRecorded(int64 member_id, int64 program_id, const char *source, const char *document, DiscountRow **rows)
{
	Oid			types[4] = {INT8OID, INT8OID, TEXTOID, TEXTOID};
	Datum		values[4];
	uint64		i;

	LoyaltyPlan(&RecordedPlan,
				"SELECT policy_id, line_no, round(amount * 100)::bigint FROM loyalty.order_discount "
				"WHERE member_id = $1 AND program_id = $2 AND source = $3 AND document = $4",
				4, types);
	values[0] = Int64GetDatum(member_id);
	values[1] = Int64GetDatum(program_id);
	values[2] = CStringGetTextDatum(source);
	values[3] = CStringGetTextDatum(document);
	LoyaltyExec(RecordedPlan, values, NULL, false, 0);
	*rows = palloc(sizeof(DiscountRow) * Max(SPI_processed, 1));
	for (i = 0; i < SPI_processed; i++)
	{
		HeapTuple	t = SPI_tuptable->vals[i];
		TupleDesc	d = SPI_tuptable->tupdesc;

		(*rows)[i].policy_id = LoyaltyGetInt64(t, d, 1, 0);
		(*rows)[i].line_no = (int32) LoyaltyGetInt64(t, d, 2, 0);
		(*rows)[i].amount = LoyaltyGetInt64(t, d, 3, 0);
	}
	qsort(*rows, SPI_processed, sizeof(DiscountRow), CompareRows);
	return (int) SPI_processed;
}

/* Whether a document has recorded discounts (the customer's member looked up in the same query) */
static bool
AnyRecorded(int64 program_id, const char *customer_key, const char *source, const char *document)
{
	Oid			types[4] = {INT8OID, TEXTOID, TEXTOID, TEXTOID};
	Datum		values[4];
	char		nulls[4] = {' ', ' ', ' ', ' '};

	LoyaltyPlan(&AnyRecordedPlan,
				"SELECT 1 FROM loyalty.order_discount o "
				"WHERE o.member_id = coalesce((SELECT k.member_id FROM loyalty.member_key k "
				"WHERE k.program_id = $1 AND k.customer_key = $2), 0) "
				"AND o.program_id = $1 AND o.source = $3 AND o.document = $4 LIMIT 1",
				4, types);
	values[0] = Int64GetDatum(program_id);
	values[1] = LoyaltyTextOrNull(customer_key, &nulls[1]);
	values[2] = CStringGetTextDatum(source);
	values[3] = CStringGetTextDatum(document);
	LoyaltyExec(AnyRecordedPlan, values, nulls, false, 1);
	return SPI_processed > 0;
}

/* A retry must repeat what was recorded (LC004 otherwise) */
static void
CheckSameAsRecorded(const DiscountRow *old, int nold, const Grant *grants, int ngrants, const char *document)
{
	DiscountRow *now = palloc(sizeof(DiscountRow) * Max(ngrants, 1));
	int			i;
	bool		same = nold == ngrants;

	/* old may be NULL when only the count is known (then it differs) */
	for (i = 0; i < ngrants; i++)
	{
		now[i].policy_id = grants[i].policy->policy_id;
		now[i].line_no = grants[i].line_no;
		now[i].amount = grants[i].amount;
	}
	qsort(now, ngrants, sizeof(DiscountRow), CompareRows);
	for (i = 0; same && old != NULL && i < ngrants; i++)
		if (CompareRows(&now[i], &old[i]) != 0)
			same = false;
	if (!same)
		ereport(ERROR,
				(errcode(ERRCODE_CAMPAIGN_CONFLICT),
				 errmsg("discounts of document \"%s\" were already recorded differently", document),
				 errhint("A retry must repeat the original quote; a changed bill needs a new document id.")));
}

/* What one campaign pays of a quote */
typedef struct CampaignPart
{
	int64		campaign_id;
	int64		money;
} CampaignPart;

static int
CompareParts(const void *a, const void *b)
{
	const CampaignPart *x = a;
	const CampaignPart *y = b;

	return x->campaign_id < y->campaign_id ? -1 : (x->campaign_id > y->campaign_id ? 1 : 0);
}

/* The campaigns a quote makes pay, with their sums, in campaign order */
static int
CampaignParts(const Grant *grants, int ngrants, CampaignPart **parts)
{
	int			n = 0;
	int			i;
	int			j;

	*parts = palloc0(sizeof(CampaignPart) * Max(ngrants, 1));
	for (i = 0; i < ngrants; i++)
	{
		int64		cid = grants[i].policy->campaign_id;

		if (cid == 0)
			continue;
		for (j = 0; j < n; j++)
			if ((*parts)[j].campaign_id == cid)
				break;
		if (j == n)
			(*parts)[n++].campaign_id = cid;
		(*parts)[j].money += grants[i].amount;
	}
	qsort(*parts, n, sizeof(CampaignPart), CompareParts);
	return n;
}

/* Insert a quote's rows; returns how many were new */
static uint64
InsertRows(int64 member_id, int64 program_id, const char *source, const char *document,
		   const Grant *grants, int ngrants)
{
	Oid			types[7] = {INT8OID, INT8OID, TEXTOID, TEXTOID, INT8ARRAYOID, INT4ARRAYOID, NUMERICARRAYOID};
	Datum		values[7];
	char		nulls[7] = {' ', ' ', ' ', ' ', ' ', ' ', ' '};
	Datum	   *pol = palloc(sizeof(Datum) * ngrants);
	Datum	   *line = palloc(sizeof(Datum) * ngrants);
	Datum	   *amt = palloc(sizeof(Datum) * ngrants);
	int			i;

	for (i = 0; i < ngrants; i++)
	{
		pol[i] = Int64GetDatum(grants[i].policy->policy_id);
		line[i] = Int32GetDatum(grants[i].line_no);
		amt[i] = NumericGetDatum(MoneyToNumeric(grants[i].amount));
	}
	LoyaltyPlan(&InsertPlan,
				"INSERT INTO loyalty.order_discount (member_id, program_id, source, document, policy_id, line_no, amount) "
				"SELECT $1, $2, $3, $4, r.policy_id, r.line_no, r.amount "
				"FROM unnest($5, $6, $7) AS r(policy_id, line_no, amount) ON CONFLICT DO NOTHING",
				7, types);
	values[0] = Int64GetDatum(member_id);
	values[1] = Int64GetDatum(program_id);
	values[2] = LoyaltyTextOrNull(source, &nulls[2]);
	values[3] = CStringGetTextDatum(document);
	values[4] = PointerGetDatum(construct_array(pol, ngrants, INT8OID, 8, true, TYPALIGN_DOUBLE));
	values[5] = PointerGetDatum(construct_array(line, ngrants, INT4OID, 4, true, TYPALIGN_INT));
	values[6] = PointerGetDatum(construct_array(amt, ngrants, NUMERICOID, -1, false, TYPALIGN_INT));
	LoyaltyExec(InsertPlan, values, nulls, false, 0);
	return SPI_processed;
}

/* Give back the reservations of the first n parts */
static void
GiveBack(const CampaignPart *parts, int n, int64 key, TimestampTz at, const char *branch)
{
	int			i;

	for (i = 0; i < n; i++)
		if (parts[i].money > 0)
			CampaignGiveBackBranch(parts[i].campaign_id, 0, parts[i].money, key, at, branch);
}

/*
 * SQL: loyalty.apply_discounts(program, customer_key, document, lines, at, source, branch)
 *
 * One session at a time per document (the advisory lock record_applied_discounts
 * takes too).  A recorded document is quoted as it was, without the budget
 * test, and must match the record (LC004).  A new one is quoted, its campaign
 * discounts reserved from the budgets (a campaign that cannot pay is left out
 * and the bill quoted again), and recorded.
 */
Datum
apply_discounts_fast(PG_FUNCTION_ARGS)
{
	char	   *customer_key = PG_ARGISNULL(1) ? NULL : text_to_cstring(PG_GETARG_TEXT_PP(1));
	char	   *document = PG_ARGISNULL(2) ? NULL : text_to_cstring(PG_GETARG_TEXT_PP(2));
	TimestampTz at = PG_ARGISNULL(4) ? GetCurrentTransactionStartTimestamp() : PG_GETARG_TIMESTAMPTZ(4);
	char	   *source = PG_ARGISNULL(5) ? NULL : text_to_cstring(PG_GETARG_TEXT_PP(5));
	char	   *branch = PG_ARGISNULL(6) ? NULL : text_to_cstring(PG_GETARG_TEXT_PP(6));
	char	   *program;
	QuoteInput	in;
	int64		member_id;
	int64		key;
	DiscountRow *old;
	int			nold;
	Grant	   *grants;
	int			ngrants;
	int64	   *except = NULL;
	int			nexcept = 0;
	TupleDesc	desc;
	Tuplestorestate *store;
	char	   *lockname;

	if (PG_ARGISNULL(0) || PG_ARGISNULL(3))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("quote_discounts needs a program and the bill's lines")));
	program = text_to_cstring(PG_GETARG_TEXT_PP(0));
	store = BeginResult(fcinfo, "apply_discounts", &desc);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	PrepareInput(&in, program, customer_key, PG_GETARG_JSONB_P(3), at, branch);
	if (document == NULL || document[0] == '\0')
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("applied discounts need a document id")));

	/*
	 * What the bill gets without the budget test (what a retry is quoted
	 * as).  Nothing: nothing to reserve or record, so no lock either (the
	 * call is as if it ran before any concurrent recorder of the document);
	 * only a record made earlier must not differ (LC004).
	 */
	ngrants = Quote(&in, NULL, 0, false, &grants);
	if (ngrants == 0)
	{
		if (source != NULL && AnyRecorded(in.program_id, customer_key, source, document))
			CheckSameAsRecorded(NULL, 1, grants, 0, document);
		EndResult(fcinfo, store, desc, grants, 0);
		SPI_finish();
		return (Datum) 0;
	}
	member_id = EnsureCustomer(&in);

	/*
	 * one session at a time per document: a concurrent retry, or a different
	 * quote for the same document, waits here and then sees the first one's
	 * rows (the same lock as discount_record's)
	 */
	lockname = psprintf("order_discount " INT64_FORMAT " " INT64_FORMAT " %s %s",
						member_id, in.program_id, source == NULL ? "" : source, document);
	DirectFunctionCall1(pg_advisory_xact_lock_int8,
						DirectFunctionCall2Coll(hashtextextended, DEFAULT_COLLATION_OID,
												CStringGetTextDatum(lockname), Int64GetDatum(0)));

	nold = source == NULL ? 0 : LoadRecorded(member_id, in.program_id, source, document, &old);
	if (nold > 0)
	{
		/* a retry of a recorded document is quoted as it was, whatever the budgets say now */
		CheckSameAsRecorded(old, nold, grants, ngrants, document);
	}
	else
	{
		key = member_id != 0 ? member_id
			: Abs((int64) DatumGetInt32(DirectFunctionCall1Coll(hashtext, DEFAULT_COLLATION_OID,
																CStringGetTextDatum(document))));
		for (;;)
		{
			CampaignPart *parts;
			int			nparts;
			int			i;
			int			failed = -1;

			ngrants = Quote(&in, except, nexcept, true, &grants);
			nparts = CampaignParts(grants, ngrants, &parts);
			/* reserve the campaigns' discounts from their money caps */
			for (i = 0; i < nparts && failed < 0; i++)
			{
				if (parts[i].money <= 0)
					continue;
				if (!CampaignReserveBranchState(parts[i].campaign_id, SeenCampaign(&in, parts[i].campaign_id),
												0, parts[i].money, key, CAMPAIGN_AT, at, branch))
					failed = i;
			}
			if (failed >= 0)
			{
				/* the campaign's budget ran out under us: quote again without it */
				GiveBack(parts, failed, key, at, branch);
				except = except == NULL ? palloc(sizeof(int64) * (nexcept + 1))
					: repalloc(except, sizeof(int64) * (nexcept + 1));
				except[nexcept++] = parts[failed].campaign_id;
				continue;
			}
			if (ngrants > 0)
			{
				uint64		inserted = InsertRows(member_id, in.program_id, source, document, grants, ngrants);

				/* recorded meanwhile by a writer that did not take the lock: give back, compare */
				if (inserted == 0)
					GiveBack(parts, nparts, key, at, branch);
				if (inserted != (uint64) ngrants)
				{
					nold = LoadRecorded(member_id, in.program_id, source, document, &old);
					CheckSameAsRecorded(old, nold, grants, ngrants, document);
				}
			}
			break;
		}
	}
	EndResult(fcinfo, store, desc, grants, ngrants);
	SPI_finish();
	return (Datum) 0;
}
