/*
 * simulate.c
 *		Trying a campaign on history: its own rules over the members' past
 *		orders of a period, writing nothing.
 *
 * The live decision code is reused rather than copied: each stored order
 * (member_order with its lines) is evaluated by ComputeAccrual() of the
 * accrual engine against a copy of the program whose rules are the
 * campaign's rules only (read here, since the rule cache holds only active
 * rules and a draft campaign's are inactive; ordered by the cache's
 * precedence, valid over the whole period), with the member resolved by
 * ResolveMember() and MemberMultiplier() as at the till: groups, tier, the
 * campaign's target groups and tiers, tier and birthday multipliers, and
 * card series (stored orders do not keep the card shown, so every active
 * card of the member counts, as for an order recorded without a card
 * number).  The budget test is the live one (campaign.h: CampaignFits,
 * CampaignBranchCapped, CampaignPointsMoney) over counters kept in memory,
 * starting from the full caps: the points cap, the money cap (points at the
 * point value), the daily cap per local day and the per-branch caps.  An
 * order whose campaign points one of them cannot pay gets none of them
 * (refused), as live accrual passes the campaign's rules by.
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "funcapi.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/date.h"
#include "utils/timestamp.h"

#include "accrual_engine.h"
#include "arith.h"
#include "campaign.h"
#include "errcodes_campaign.h"
#include "money.h"
#include "rules.h"
#include "spi_util.h"

PG_FUNCTION_INFO_V1(simulate_campaign);

static SPIPlanPtr SimCampaignPlan = NULL;
static SPIPlanPtr SimRulesPlan = NULL;
static SPIPlanPtr SimOrdersPlan = NULL;

/* What one budget (a day's, a branch's) has left in the simulation */
typedef struct SimLeft
{
	DateADT		day;
	char	   *branch;
	Points		points;
	int64		money;
} SimLeft;

/* Compare int64 for qsort */
static int
CmpInt64(const void *a, const void *b)
{
	int64		x = *(const int64 *) a;
	int64		y = *(const int64 *) b;

	return x < y ? -1 : (x > y ? 1 : 0);
}

/* Load a campaign's rules as the rule cache would hold them, in its precedence */
static EarnRule *
LoadCampaignRules(int64 campaign_id, int *nrules, bool *uses_series)
{
	Oid			types[1] = {INT8OID};
	Datum		values[1];
	EarnRule   *rules;
	int			j;

	LoyaltyPlan(&SimRulesPlan,
				"SELECT r.rule_id, r.name, r.kind, (r.points::numeric * 100)::bigint, round(r.per_amount * 100)::bigint, "
				"round(r.percent * 10000)::bigint, r.item_sku, r.item_group, r.customer_group, r.card_series, "
				"r.branch, r.channel, r.priority, round(r.min_bill * 100)::bigint, round(r.min_item_price * 100)::bigint, "
				"c.target_groups, c.target_tiers "
				"FROM loyalty.rule r JOIN loyalty.campaign c ON c.campaign_id = r.campaign_id "
				"WHERE r.campaign_id = $1",
				1, types);
	values[0] = Int64GetDatum(campaign_id);
	LoyaltyExec(SimRulesPlan, values, NULL, true, 0);
	*nrules = (int) SPI_processed;
	*uses_series = false;
	rules = palloc0(sizeof(EarnRule) * Max(*nrules, 1));
	for (j = 0; j < *nrules; j++)
	{
		HeapTuple	t = SPI_tuptable->vals[j];
		TupleDesc	d = SPI_tuptable->tupdesc;
		EarnRule   *r = &rules[j];
		char	   *kind = SPI_getvalue(t, d, 3);

		r->rule_id = LoyaltyGetInt64(t, d, 1, 0);
		r->name = SPI_getvalue(t, d, 2);
		r->kind = RuleKindFromName(kind);
		r->points = (Points) LoyaltyGetInt64(t, d, 4, 0);
		r->per_amount = LoyaltyGetInt64(t, d, 5, 0);
		r->percent = LoyaltyGetInt64(t, d, 6, 0);
		r->item_sku = SPI_getvalue(t, d, 7);
		r->item_group = SPI_getvalue(t, d, 8);
		r->customer_group = SPI_getvalue(t, d, 9);
		r->card_series = SPI_getvalue(t, d, 10);
		r->branch = SPI_getvalue(t, d, 11);
		r->channel = SPI_getvalue(t, d, 12);
		r->priority = (int32) LoyaltyGetInt64(t, d, 13, 0);
		r->min_bill = LoyaltyGetInt64(t, d, 14, 0);
		r->min_item_price = LoyaltyGetInt64(t, d, 15, 0);
		r->valid_from = DT_NOBEGIN;
		r->valid_to = DT_NOEND;
		r->campaign_id = campaign_id;
		LoyaltyGetTextArray(t, d, 16, &r->target_groups, &r->ntarget_groups);
		LoyaltyGetTextArray(t, d, 17, &r->target_tiers, &r->ntarget_tiers);
		if (r->card_series != NULL)
			*uses_series = true;
	}
	LoyaltySortRules(rules, *nrules);
	return rules;
}

/* The counter of a day or a branch, made full when first seen */
static SimLeft *
FindLeft(SimLeft **list, int *n, int *cap, DateADT day, const char *branch, Points points, int64 money)
{
	int			i;

	for (i = 0; i < *n; i++)
		if ((branch == NULL ? (*list)[i].branch == NULL && (*list)[i].day == day :
			 (*list)[i].branch != NULL && strcmp((*list)[i].branch, branch) == 0))
			return &(*list)[i];
	if (*n == *cap)
	{
		*cap *= 2;
		*list = repalloc(*list, sizeof(SimLeft) * *cap);
	}
	(*list)[*n].day = day;
	(*list)[*n].branch = branch ? pstrdup(branch) : NULL;
	(*list)[*n].points = points;
	(*list)[*n].money = money;
	return &(*list)[(*n)++];
}

/* SQL: loyalty.simulate_campaign(code, from_time, to_time) */
Datum
simulate_campaign(PG_FUNCTION_ARGS)
{
	char	   *code = text_to_cstring(PG_GETARG_TEXT_PP(0));
	TimestampTz from_time = PG_GETARG_TIMESTAMPTZ(1);
	TimestampTz to_time = PG_GETARG_TIMESTAMPTZ(2);
	Oid			ctypes[1] = {TEXTOID};
	Oid			otypes[3] = {INT8OID, TIMESTAMPTZOID, TIMESTAMPTZOID};
	Datum		values[3];
	bool		isnull;
	int64		campaign_id;
	int64		program_id;
	CampaignState cs;
	ProgramConfig sim;
	Points		left_p;
	int64		left_m;
	SimLeft    *days;
	int			ndays = 0;
	int			days_cap = 16;
	SimLeft    *branches;
	int			nbranches = 0;
	int			branches_cap = 16;
	uint64		i;
	int			j;
	SPITupleTable *tab;
	uint64		nrows;
	int64		orders = 0;
	int64		earning = 0;
	int64		refused = 0;
	Points		given = 0;
	Points		wanted = 0;
	int64		money_used = 0;
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
				"SELECT campaign_id, program_id FROM loyalty.campaign WHERE code = $1",
				1, ctypes);
	LoyaltyExec(SimCampaignPlan, values, NULL, true, 1);
	if (SPI_processed != 1)
		ereport(ERROR,
				(errcode(ERRCODE_CAMPAIGN_NOT_FOUND),
				 errmsg("campaign \"%s\" does not exist", code)));
	campaign_id = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	program_id = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2, &isnull));
	CampaignRead(campaign_id, from_time, &cs);
	left_p = cs.budget_points;
	left_m = cs.budget_money;

	/* the program as the till sees it, with the campaign's rules only */
	sim = *LoyaltyGetProgram(program_id);
	sim.rules = LoadCampaignRules(campaign_id, &sim.nrules, &sim.uses_card_series);
	sim.unknown_customer = UNKNOWN_CUSTOMER_IGNORE;

	/* the members' orders of the period with their lines, in time order */
	values[0] = Int64GetDatum(program_id);
	values[1] = TimestampTzGetDatum(from_time);
	values[2] = TimestampTzGetDatum(to_time);
	LoyaltyPlan(&SimOrdersPlan,
				"SELECT o.member_id, o.document, round(o.amount * 100)::bigint, o.branch, o.channel, "
				"m.customer_key, o.ordered_at, (o.ordered_at AT TIME ZONE p.time_zone)::date, o.source, "
				"o.line_nos, o.line_skus, o.line_groups, "
				"(SELECT array_agg(round(x * 1000)::bigint ORDER BY n) FROM unnest(o.line_quantities) WITH ORDINALITY u(x, n)), "
				"(SELECT array_agg(round(x * 100)::bigint ORDER BY n) FROM unnest(o.line_amounts) WITH ORDINALITY u(x, n)) "
				"FROM loyalty.member_order o JOIN loyalty.member m ON m.member_id = o.member_id "
				"JOIN loyalty.program p ON p.program_id = o.program_id "
				"WHERE o.program_id = $1 AND o.ordered_at >= $2 AND o.ordered_at < $3 "
				"AND o.status <> 'cancelled' "
				"ORDER BY o.ordered_at, o.member_id, o.source, o.document",
				3, otypes);
	LoyaltyExec(SimOrdersPlan, values, NULL, true, 0);
	tab = SPI_tuptable;
	nrows = SPI_processed;
	members = palloc(sizeof(int64) * Max(nrows, 1));
	days = palloc(sizeof(SimLeft) * days_cap);
	branches = palloc(sizeof(SimLeft) * branches_cap);
	for (i = 0; i < nrows; i++)
	{
		TupleDesc	d = tab->tupdesc;
		HeapTuple	t = tab->vals[i];
		AccrualOrder order;
		AccrualComputation c;
		MemberInfo	m;
		int			n;
		Datum	   *nos;
		Datum	   *qtys;
		Datum	   *amounts;
		bool	   *dnulls;
		int			nq;
		Points		reserve = 0;
		int64		money;
		DateADT		day;
		SimLeft    *dl = NULL;
		SimLeft    *bl = NULL;
		bool		ok;

		memset(&order, 0, sizeof(order));
		order.program_id = program_id;
		order.document = SPI_getvalue(t, d, 2);
		order.total = LoyaltyGetInt64(t, d, 3, 0);
		order.branch = SPI_getvalue(t, d, 4);
		order.channel = SPI_getvalue(t, d, 5);
		order.customer_key = SPI_getvalue(t, d, 6);
		order.ordered_at = DatumGetTimestampTz(SPI_getbinval(t, d, 7, &isnull));
		day = DatumGetDateADT(SPI_getbinval(t, d, 8, &isnull));
		order.source = SPI_getvalue(t, d, 9);
		deconstruct_array(DatumGetArrayTypeP(SPI_getbinval(t, d, 10, &isnull)), INT4OID, 4, true,
						  TYPALIGN_INT, &nos, &dnulls, &n);
		order.nlines = n;
		order.lines = palloc0(sizeof(AccrualLine) * Max(n, 1));
		if (n > 0)
		{
			deconstruct_array(DatumGetArrayTypeP(SPI_getbinval(t, d, 13, &isnull)), INT8OID, 8, true,
							  TYPALIGN_DOUBLE, &qtys, &dnulls, &nq);
			deconstruct_array(DatumGetArrayTypeP(SPI_getbinval(t, d, 14, &isnull)), INT8OID, 8, true,
							  TYPALIGN_DOUBLE, &amounts, &dnulls, &nq);
		}
		for (j = 0; j < n; j++)
		{
			AccrualLine *l = &order.lines[j];

			l->line_no = DatumGetInt32(nos[j]);
			l->quantity = DatumGetInt64(qtys[j]);
			l->amount = DatumGetInt64(amounts[j]);
			/* the unit price only meets minimum item prices: a stored order's is never out of range */
			l->unit_price = l->quantity > 0 ?
				(int64) Min(LoyaltyDivRound((int128) l->amount * 1000, l->quantity), (int128) PG_INT64_MAX) :
				l->amount;
		}
		{
			Datum		arr;
			Datum	   *elems;
			bool	   *enulls;
			int			cnt;

			arr = SPI_getbinval(t, d, 11, &isnull);
			deconstruct_array(DatumGetArrayTypeP(arr), TEXTOID, -1, false, TYPALIGN_INT, &elems, &enulls, &cnt);
			for (j = 0; j < n && j < cnt; j++)
				order.lines[j].sku = enulls[j] ? NULL : TextDatumGetCString(elems[j]);
			arr = SPI_getbinval(t, d, 12, &isnull);
			deconstruct_array(DatumGetArrayTypeP(arr), TEXTOID, -1, false, TYPALIGN_INT, &elems, &enulls, &cnt);
			for (j = 0; j < n && j < cnt; j++)
				order.lines[j].item_group = enulls[j] ? NULL : TextDatumGetCString(elems[j]);
		}
		orders++;

		/* the member and what the campaign's rules give, as at the till */
		ResolveMember(&sim, order.customer_key, NULL, &m);
		if (!m.found)
			continue;
		MemberMultiplier(&sim, &m, order.ordered_at);
		memset(&c, 0, sizeof(c));
		ComputeAccrual(&sim, &order, &m, &c);
		if (c.total <= 0)
			continue;
		/* what live accrual reserves: the campaign's line and visit points */
		for (j = 0; j <= c.nlines; j++)
		{
			const EarnRule *r = j < c.nlines ? c.lines[j].rule : c.visit_rule;
			Points		p = j < c.nlines ? c.lines[j].points : c.visit_points;

			if (r != NULL && p > 0)
				reserve = PointsAdd(reserve, p);
		}
		money = CampaignPointsMoney(reserve, cs.point_value);
		wanted = PointsAdd(wanted, c.total);

		/* the live budget test over the simulation's counters */
		ok = CampaignFits(!cs.has_budget_points, left_p, !cs.has_budget_money, left_m, reserve, money);
		if (ok && cs.has_daily && reserve > 0)
		{
			dl = FindLeft(&days, &ndays, &days_cap, day, NULL, cs.daily, 0);
			ok = CampaignFits(false, dl->points, true, 0, reserve, 0);
		}
		if (ok && CampaignBranchCapped(&cs, reserve, money))
		{
			bl = FindLeft(&branches, &nbranches, &branches_cap, 0, CampaignBranchKey(order.branch),
						  cs.branch_points, cs.branch_money);
			ok = CampaignFits(!cs.has_branch_points, bl->points, !cs.has_branch_money, bl->money,
							  reserve, money);
		}
		if (!ok)
		{
			refused++;
			continue;
		}
		left_p -= reserve;
		left_m -= money;
		if (dl)
			dl->points -= reserve;
		if (bl)
		{
			bl->points -= reserve;
			bl->money -= money;
		}
		money_used += money;
		given = PointsAdd(given, c.total);
		earning++;
		members[nmembers++] = m.member_id;
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
	/* cost: the points at the point value */
	out[6] = NumericGetDatum(MoneyToNumeric(CampaignPointsMoney(given, cs.point_value)));
	/* budget use: of the points cap, else of the money cap */
	if (cs.has_budget_points && cs.budget_points > 0)
		out[7] = DirectFunctionCall2(numeric_round,
									 DirectFunctionCall2(numeric_div,
														 NumericGetDatum(PointsToNumeric((Points) ((int128) (cs.budget_points - left_p) * 100))),
														 NumericGetDatum(PointsToNumeric(cs.budget_points))),
									 Int32GetDatum(2));
	else if (cs.has_budget_money && cs.budget_money > 0)
		out[7] = DirectFunctionCall2(numeric_round,
									 DirectFunctionCall2(numeric_div,
														 NumericGetDatum(MoneyToNumeric(money_used * 100)),
														 NumericGetDatum(MoneyToNumeric(cs.budget_money))),
									 Int32GetDatum(2));
	else
		out_nulls[7] = true;
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(tupdesc, out, out_nulls)));
}
