/*
 * simulate.c
 *		Trying a campaign on history: its own rules over the members' past
 *		orders of a period, writing nothing.
 *
 * The rule engine's cache holds only active rules, and a draft campaign's
 * rules are inactive, so the campaign's rules are read here and evaluated
 * with the same precedence (priority, then item, group, all goods, then
 * rule id) and the same arithmetic as src/accrual.c (RuleMicroPoints,
 * millionths of a point in 128-bit integers, rounding once per order).
 * Card series conditions are not evaluated (stored orders do not keep the
 * card shown).  Budget: an order's campaign points are given only when the
 * rest of the points budget can pay them all, as LoyaltyCampaignTake does.
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "funcapi.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/timestamp.h"

#include "errcodes_campaign.h"
#include "money.h"
#include "arith.h"
#include "rules.h"
#include "spi_util.h"

PG_FUNCTION_INFO_V1(simulate_campaign);

static SPIPlanPtr SimCampaignPlan = NULL;
static SPIPlanPtr SimRulesPlan = NULL;
static SPIPlanPtr SimOrdersPlan = NULL;


/* One campaign rule */
typedef struct SimRule
{
	int64		rule_id;
	RuleKind	kind;
	Points		points;
	int64		per_amount;
	int64		percent;		/* ten-thousandths of a percent */
	char	   *sku;
	char	   *group;
	char	   *customer_group;
	char	   *branch;
	char	   *channel;
	int64		min_bill;
	int64		min_item_price;
} SimRule;

/* Same arithmetic as RuleMicroPoints in accrual.c */
static int128
SimMicroPoints(const SimRule *r, int64 point_value, int64 amount, int64 quantity)
{
	switch (r->kind)
	{
		case RULE_PERCENT:
			return LoyaltyDivRound((int128) amount * r->percent, (int128) point_value);
		case RULE_PER_AMOUNT:
			return LoyaltyDivRound((int128) amount * r->points * MICRO_PER_HUNDREDTH, (int128) r->per_amount);
		case RULE_PER_QUANTITY:
			return (int128) quantity * r->points * 10;
		default:
			return 0;
	}
}

/* An optional scope matches (NULL scope: anything) */
static bool
Scope(const char *scope, const char *value)
{
	return scope == NULL || (value != NULL && strcmp(scope, value) == 0);
}

/* Whether a text[] (as its text form split earlier) holds a group */
static bool
InGroups(char **groups, int n, const char *g)
{
	int			i;

	for (i = 0; i < n; i++)
		if (strcmp(groups[i], g) == 0)
			return true;
	return false;
}

/* Compare int64 for qsort */
static int
CmpInt64(const void *a, const void *b)
{
	int64		x = *(const int64 *) a;
	int64		y = *(const int64 *) b;

	return x < y ? -1 : (x > y ? 1 : 0);
}

/* SQL: loyalty.simulate_campaign(code, from_time, to_time) */
Datum
simulate_campaign(PG_FUNCTION_ARGS)
{
	char	   *code = text_to_cstring(PG_GETARG_TEXT_PP(0));
	TimestampTz from_time = PG_GETARG_TIMESTAMPTZ(1);
	TimestampTz to_time = PG_GETARG_TIMESTAMPTZ(2);
	Oid			ctypes[1] = {TEXTOID};
	Oid			rtypes[1] = {INT8OID};
	Oid			otypes[3] = {INT8OID, TIMESTAMPTZOID, TIMESTAMPTZOID};
	Datum		values[3];
	bool		isnull;
	int64		campaign_id;
	int64		program_id;
	bool		has_budget;
	Points		budget = 0;
	Points		left;
	ProgramConfig *prog;
	SimRule    *rules;
	int			nrules;
	uint64		i;
	int			j;
	SPITupleTable *tab;
	uint64		nrows;
	int64		orders = 0;
	int64		earning = 0;
	int64		refused = 0;
	Points		given = 0;
	Points		wanted = 0;
	int64	   *members;
	int			nmembers = 0;
	int64		participants = 0;
	TupleDesc	tupdesc;
	Datum		out[8];
	bool		out_nulls[8] = {false, false, false, false, false, false, false, false};

	if (from_time >= to_time)
		ereport(ERROR,
				(errcode(ERRCODE_CAMPAIGN_INVALID_DEFINITION),
				 errmsg("the period to simulate ends before it starts")));
	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");
	tupdesc = BlessTupleDesc(tupdesc);

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	values[0] = CStringGetTextDatum(code);
	LoyaltyPlan(&SimCampaignPlan,
				"SELECT campaign_id, program_id, budget_points FROM loyalty.campaign WHERE code = $1",
				1, ctypes);
	LoyaltyExec(SimCampaignPlan, values, NULL, true, 1);
	if (SPI_processed != 1)
		ereport(ERROR,
				(errcode(ERRCODE_CAMPAIGN_NOT_FOUND),
				 errmsg("campaign \"%s\" does not exist", code)));
	campaign_id = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	program_id = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2, &isnull));
	{
		Datum		b = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 3, &isnull);

		has_budget = !isnull;
		budget = isnull ? 0 : DatumGetPoints(b);
	}
	left = budget;
	prog = LoyaltyGetProgram(program_id);

	/* the campaign's rules in precedence order */
	values[0] = Int64GetDatum(campaign_id);
	LoyaltyPlan(&SimRulesPlan, "SELECT rule_id, kind, (points::numeric * 100)::bigint, round(per_amount * 100)::bigint, "
							  "round(percent * 10000)::bigint, item_sku, item_group, customer_group, branch, channel, "
							  "round(min_bill * 100)::bigint, round(min_item_price * 100)::bigint "
							  "FROM loyalty.rule WHERE campaign_id = $1 "
							  "ORDER BY priority DESC, (item_sku IS NOT NULL) DESC, (item_group IS NOT NULL) DESC, rule_id",
							  1, rtypes);
	LoyaltyExec(SimRulesPlan, values, NULL, true, 0);
	nrules = (int) SPI_processed;
	rules = palloc0(sizeof(SimRule) * Max(nrules, 1));
	for (j = 0; j < nrules; j++)
	{
		HeapTuple	t = SPI_tuptable->vals[j];
		TupleDesc	d = SPI_tuptable->tupdesc;
		SimRule    *r = &rules[j];
		char	   *kind = SPI_getvalue(t, d, 2);

		r->rule_id = LoyaltyGetInt64(t, d, 1, 0);
		r->kind = strcmp(kind, "percent") == 0 ? RULE_PERCENT :
			strcmp(kind, "per_amount") == 0 ? RULE_PER_AMOUNT :
			strcmp(kind, "per_quantity") == 0 ? RULE_PER_QUANTITY :
			strcmp(kind, "per_order") == 0 ? RULE_PER_ORDER : RULE_EXCLUDE;
		r->points = LoyaltyGetInt64(t, d, 3, 0);
		r->per_amount = LoyaltyGetInt64(t, d, 4, 1);
		r->percent = LoyaltyGetInt64(t, d, 5, 0);
		r->sku = SPI_getvalue(t, d, 6);
		r->group = SPI_getvalue(t, d, 7);
		r->customer_group = SPI_getvalue(t, d, 8);
		r->branch = SPI_getvalue(t, d, 9);
		r->channel = SPI_getvalue(t, d, 10);
		r->min_bill = LoyaltyGetInt64(t, d, 11, 0);
		r->min_item_price = LoyaltyGetInt64(t, d, 12, 0);
	}

	/* the members' orders of the period with their lines, in time order */
	values[0] = Int64GetDatum(program_id);
	values[1] = TimestampTzGetDatum(from_time);
	values[2] = TimestampTzGetDatum(to_time);
	LoyaltyPlan(&SimOrdersPlan, "SELECT o.member_id, o.document, round(o.amount * 100)::bigint, o.branch, o.channel, "
							  "m.groups, l.line_no, l.sku, l.item_group, round(l.quantity * 1000)::bigint, "
							  "round(l.amount * 100)::bigint, o.source "
							  "FROM loyalty.member_order o JOIN loyalty.member m ON m.member_id = o.member_id "
							  "LEFT JOIN loyalty.member_order_line l ON l.member_id = o.member_id "
							  " AND l.program_id = o.program_id AND l.source = o.source AND l.document = o.document "
							  "WHERE o.program_id = $1 AND o.ordered_at >= $2 AND o.ordered_at < $3 "
							  "AND o.status <> 'cancelled' "
							  "ORDER BY o.ordered_at, o.member_id, o.source, o.document, l.line_no",
							  3, otypes);
	LoyaltyExec(SimOrdersPlan, values, NULL, true, 0);
	tab = SPI_tuptable;
	nrows = SPI_processed;
	members = palloc(sizeof(int64) * Max(nrows, 1));
	i = 0;
	while (i < nrows)
	{
		TupleDesc	d = tab->tupdesc;
		HeapTuple	first = tab->vals[i];
		int64		member_id = LoyaltyGetInt64(first, d, 1, 0);
		char	   *document = SPI_getvalue(first, d, 2);
		char	   *source = SPI_getvalue(first, d, 12);
		int64		total = LoyaltyGetInt64(first, d, 3, 0);
		char	   *branch = SPI_getvalue(first, d, 4);
		char	   *channel = SPI_getvalue(first, d, 5);
		char	   *groups_text = SPI_getvalue(first, d, 6);
		char	  **groups = NULL;
		int			ngroups = 0;
		int128		micro = 0;
		Points		pts;
		uint64		k;

		/* the member's groups from the text form {a,b} */
		if (groups_text && strlen(groups_text) > 2)
		{
			Datum		arr = SPI_getbinval(first, d, 6, &isnull);
			Datum	   *elems;
			bool	   *enulls;
			int			cnt;

			deconstruct_array(DatumGetArrayTypeP(arr), TEXTOID, -1, false, TYPALIGN_INT, &elems, &enulls, &cnt);
			groups = palloc(sizeof(char *) * cnt);
			for (j = 0; j < cnt; j++)
				if (!enulls[j])
					groups[ngroups++] = TextDatumGetCString(elems[j]);
		}
		orders++;

		/* lines of this order */
		for (k = i; k < nrows; k++)
		{
			HeapTuple	t = tab->vals[k];
			int64		qty;
			int64		amount;
			char	   *sku;
			char	   *group;

			if (LoyaltyGetInt64(t, d, 1, 0) != member_id || strcmp(SPI_getvalue(t, d, 2), document) != 0 ||
				strcmp(SPI_getvalue(t, d, 12), source) != 0)
				break;
			(void) SPI_getbinval(t, d, 7, &isnull);
			if (isnull)
				continue;
			sku = SPI_getvalue(t, d, 8);
			group = SPI_getvalue(t, d, 9);
			qty = LoyaltyGetInt64(t, d, 10, 0);
			amount = LoyaltyGetInt64(t, d, 11, 0);
			for (j = 0; j < nrules; j++)
			{
				const SimRule *r = &rules[j];
				int64		unit = qty > 0 ? (int64) LoyaltyDivRound((int128) amount * 1000, qty) : amount;

				if (r->kind == RULE_PER_ORDER)
					continue;
				if (!Scope(r->sku, sku) || !Scope(r->group, group) || unit < r->min_item_price)
					continue;
				if (!Scope(r->branch, branch) || !Scope(r->channel, channel) || total < r->min_bill)
					continue;
				if (r->customer_group && !InGroups(groups, ngroups, r->customer_group))
					continue;
				micro += SimMicroPoints(r, prog->point_value, amount, qty);
				break;
			}
		}
		for (j = 0; j < nrules; j++)
		{
			const SimRule *r = &rules[j];

			if (r->kind != RULE_PER_ORDER)
				continue;
			if (!Scope(r->branch, branch) || !Scope(r->channel, channel) || total < r->min_bill)
				continue;
			if (r->customer_group && !InGroups(groups, ngroups, r->customer_group))
				continue;
			micro += (int128) r->points * MICRO_PER_HUNDREDTH;
			break;
		}
		pts = RoundMicroPoints(micro, prog->rounding);
		if (pts > 0)
		{
			wanted = PointsAdd(wanted, pts);
			if (has_budget && pts > left)
				refused++;
			else
			{
				if (has_budget)
					left -= pts;
				given = PointsAdd(given, pts);
				earning++;
				members[nmembers++] = member_id;
			}
		}
		i = k;
	}
	qsort(members, nmembers, sizeof(int64), CmpInt64);
	for (j = 0; j < nmembers; j++)
		if (j == 0 || members[j] != members[j - 1])
			participants++;
	SPI_finish();

	out[0] = Int64GetDatum(orders);
	out[1] = Int64GetDatum(earning);
	out[2] = Int64GetDatum(participants);
	out[3] = NumericGetDatum(PointsToNumeric(given));
	out[4] = NumericGetDatum(PointsToNumeric(wanted));
	out[5] = Int64GetDatum(refused);
	/* cost: points at the point value (hundredths * hundredths / 100) */
	out[6] = NumericGetDatum(MoneyToNumeric((int64) LoyaltyDivRound((int128) given * prog->point_value, 100)));
	if (has_budget && budget > 0)
		out[7] = DirectFunctionCall2(numeric_round,
									 DirectFunctionCall2(numeric_div,
														 NumericGetDatum(PointsToNumeric((Points) ((int128) given * 100))),
														 NumericGetDatum(PointsToNumeric(budget))),
									 Int32GetDatum(2));
	else
		out_nulls[7] = true;
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(tupdesc, out, out_nulls)));
}
