/*
 * accrual.c
 *		Earning points on orders: the rule engine's evaluation of an order,
 *		and posting the result to the ledger in the order's transaction.
 *
 * Points are computed in millionths of a point with 128-bit integers.  Each
 * line keeps its exact points (to the hundredth), the program's rounding
 * mode applies once to the order's sum, and the difference is stored as the
 * order's rounding, so returns take back exactly what each line earned.
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/timestamp.h"

#include "accrual.h"
#include "accrual_engine.h"
#include "arith.h"
#include "errcodes.h"
#include "ids.h"
#include "ledger.h"
#include "member_lookup.h"
#include "money.h"
#include "rules.h"
#include "spi_util.h"
#include "tiers.h"
#include "campaign.h"
#include "posting.h"


static SPIPlanPtr MemberPlan = NULL;
static SPIPlanPtr EnrollPlan = NULL;
static SPIPlanPtr PostEarnPlan = NULL;
static SPIPlanPtr ExistingOrderPlan = NULL;
static SPIPlanPtr OtherMemberPlan = NULL;
static SPIPlanPtr CardHolderPlan = NULL;

/* Whether any of the member's values is in a rule's list */
static bool
AnyListed(char **list, int nlist, char **values, int nvalues)
{
	int			i;

	for (i = 0; i < nvalues; i++)
		if (LoyaltyListHas(list, nlist, values[i]))
			return true;
	return false;
}

/* Whether an optional scope value matches (NULL scope matches anything) */
static bool
ScopeMatches(const char *scope, const char *value)
{
	return scope == NULL || (value != NULL && strcmp(scope, value) == 0);
}

/* Whether a rule's order-level conditions hold for this order and member */
static bool
RuleAppliesToOrder(const EarnRule *r, const AccrualOrder *order, const MemberInfo *m)
{
	if (order->ordered_at < r->valid_from || order->ordered_at >= r->valid_to)
		return false;
	if (!ScopeMatches(r->branch, order->branch) || !ScopeMatches(r->channel, order->channel))
		return false;
	if (r->customer_group && !LoyaltyListHas(m->groups, m->ngroups, r->customer_group))
		return false;
	if (r->card_series && !LoyaltyListHas(m->series, m->nseries, r->card_series))
		return false;
	if (r->ntarget_groups > 0 && !AnyListed(r->target_groups, r->ntarget_groups, m->groups, m->ngroups))
		return false;
	if (r->ntarget_tiers > 0 && (m->tier == NULL || !LoyaltyListHas(r->target_tiers, r->ntarget_tiers, m->tier)))
		return false;
	return order->total >= r->min_bill;
}

/* Millionths of a point a rule gives a line */
static int128
RuleMicroPoints(const EarnRule *r, const ProgramConfig *prog, const AccrualLine *line)
{
	switch (r->kind)
	{
		case RULE_PERCENT:
			/* amount/100 * (percent/10^4)/100 / (point_value/100) points */
			return LoyaltyDivRound((int128) line->amount * r->percent, (int128) prog->point_value);
		case RULE_PER_AMOUNT:
			return LoyaltyDivRound((int128) line->amount * r->points * MICRO_PER_HUNDREDTH, (int128) r->per_amount);
		case RULE_PER_QUANTITY:
			/* quantity in thousandths, points in hundredths */
			return (int128) line->quantity * r->points * 10;
		case RULE_PER_ORDER:
		case RULE_EXCLUDE:
			return 0;
	}
	return 0;
}

/* Whether a rule belongs to a campaign whose budget ran out for this order */
static bool
CampaignSkipped(const AccrualComputation *c, int64 campaign_id)
{
	int			i;

	for (i = 0; campaign_id != 0 && i < c->nskip; i++)
		if (c->skip_campaigns[i] == campaign_id)
			return true;
	return false;
}

/* Find the rule that decides a line: the first match in precedence order */
static const EarnRule *
LineRule(const ProgramConfig *prog, const AccrualOrder *order, const MemberInfo *m,
		 const AccrualLine *line, const AccrualComputation *c)
{
	int			i;

	for (i = 0; i < prog->nrules; i++)
	{
		const EarnRule *r = &prog->rules[i];

		if (r->kind == RULE_PER_ORDER || CampaignSkipped(c, r->campaign_id))
			continue;
		if (!ScopeMatches(r->item_sku, line->sku) || !ScopeMatches(r->item_group, line->item_group))
			continue;
		if (line->unit_price < r->min_item_price)
			continue;
		if (RuleAppliesToOrder(r, order, m))
			return r;
	}
	return NULL;
}

/* The per-visit rule of an order, if any */
static const EarnRule *
VisitRule(const ProgramConfig *prog, const AccrualOrder *order, const MemberInfo *m,
		  const AccrualComputation *c)
{
	int			i;

	for (i = 0; i < prog->nrules; i++)
		if (prog->rules[i].kind == RULE_PER_ORDER && !CampaignSkipped(c, prog->rules[i].campaign_id) &&
			RuleAppliesToOrder(&prog->rules[i], order, m))
			return &prog->rules[i];
	return NULL;
}

/* Why an order as a whole earns nothing, or NULL when it may earn */
static const char *
OrderBlocked(const ProgramConfig *prog, const AccrualOrder *order, const MemberInfo *m)
{
	if (!prog->active)
		return "program is not active";
	if (!m->found)
		return "customer is not a member";
	if (strcmp(m->status, "active") != 0)
		return "member is not active";
	if (order->total < prog->min_bill)
		return "bill is under the program's minimum";
	if (order->bill_discount > 0 && !prog->earn_with_bill_discount)
		return "bill has a bill discount";
	if (order->paid_with_points > 0 && !prog->earn_on_points_paid)
		return "bill was paid with points";
	return NULL;
}

/* Why a line earns nothing before any rule is considered, or NULL */
static const char *
LineBlocked(const ProgramConfig *prog, const AccrualLine *line)
{
	if (line->is_service && !prog->services_earn)
		return "services do not earn";
	if (line->discount > 0 && !prog->earn_on_discounted_items)
		return "discounted item";
	if (line->unit_price < prog->min_item_price)
		return "under the minimum item price";
	return NULL;
}

/* Round an order's millionths of points to hundredths by the program's mode */
Points
RoundMicroPoints(int128 micro, PointsRoundMode mode)
{
	int128		whole;

	switch (mode)
	{
		case POINTS_ROUND_KEEP:
			return (Points) LoyaltyDivRound(micro, MICRO_PER_HUNDREDTH);
		case POINTS_ROUND_DOWN:
			whole = micro / MICRO_PER_POINT;
			break;
		case POINTS_ROUND_UP:
			whole = (micro + MICRO_PER_POINT - 1) / MICRO_PER_POINT;
			break;
		default:
			whole = LoyaltyDivRound(micro, MICRO_PER_POINT);
			break;
	}
	return (Points) (whole * POINTS_SCALE);
}

/*
 * Evaluate an order: which rule applies to each line and how many points
 * each line and the visit earn.  Pure computation, no database access.
 */
void
ComputeAccrual(const ProgramConfig *prog, const AccrualOrder *order,
			   const MemberInfo *m, AccrualComputation *c)
{
	int			n = order->nlines;
	int128	   *weights = palloc0(sizeof(int128) * (n + 1));
	Points	   *shares = palloc0(sizeof(Points) * (n + 1));
	int128		total = 0;
	int			i;

	c->nlines = n;
	c->lines = palloc0(sizeof(LineOutcome) * Max(n, 1));
	c->order_reason = OrderBlocked(prog, order, m);
	c->visit_rule = NULL;
	c->main_rule_id = 0;
	for (i = 0; i < n; i++)
	{
		LineOutcome *lo = &c->lines[i];

		lo->reason = c->order_reason ? c->order_reason : LineBlocked(prog, &order->lines[i]);
		if (lo->reason)
			continue;
		lo->rule = LineRule(prog, order, m, &order->lines[i], c);
		if (lo->rule == NULL)
			lo->reason = "no rule applies";
		else if (lo->rule->kind == RULE_EXCLUDE)
			lo->reason = "excluded by rule";
		else
			weights[i] = RuleMicroPoints(lo->rule, prog, &order->lines[i]);
	}
	if (c->order_reason == NULL)
	{
		c->visit_rule = VisitRule(prog, order, m, c);
		if (c->visit_rule)
			weights[n] = (int128) c->visit_rule->points * MICRO_PER_HUNDREDTH;
	}

	/* Bills partly paid with points earn on the part paid in money */
	if (order->paid_with_points > 0 && order->total > 0)
		for (i = 0; i <= n; i++)
			weights[i] = LoyaltyDivRound(weights[i] * (order->total - Min(order->paid_with_points, order->total)),
								  order->total);

	/* Tier and birthday multipliers scale everything the order earns */
	if (m->found && m->multiplier_e4 != 10000)
		for (i = 0; i <= n; i++)
			weights[i] = LoyaltyDivRound(weights[i] * m->multiplier_e4, 10000);

	/*
	 * Each line keeps its exact points (to the hundredth); the program's
	 * rounding applies once to the order, and the difference is the order's
	 * rounding, shown and stored apart so lines read as their rules say.
	 */
	for (i = 0; i <= n; i++)
	{
		total += weights[i];
		shares[i] = (Points) LoyaltyDivRound(weights[i], MICRO_PER_HUNDREDTH);
	}
	if (total / MICRO_PER_HUNDREDTH > PG_INT64_MAX / 4)
		ereport(ERROR,
				(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
				 errmsg("points earned by order \"%s\" are out of range", order->document)));
	c->total = RoundMicroPoints(total, prog->rounding);
	c->rounding = c->total;
	for (i = 0; i < n; i++)
	{
		c->lines[i].points = shares[i];
		c->rounding -= shares[i];
		if (c->main_rule_id == 0 && c->lines[i].rule && weights[i] > 0)
			c->main_rule_id = c->lines[i].rule->rule_id;
	}
	c->visit_points = shares[n];
	c->rounding -= shares[n];
	if (c->main_rule_id == 0 && c->visit_rule)
		c->main_rule_id = c->visit_rule->rule_id;
	c->main_campaign_id = 0;
	for (i = 0; i < prog->nrules; i++)
		if (prog->rules[i].rule_id == c->main_rule_id)
			c->main_campaign_id = prog->rules[i].campaign_id;
	pfree(weights);
	pfree(shares);
}

/*
 * The customer key of the holder of an active card of the program, for a
 * bill identified by its card alone; NULL (a guest) when the card is not
 * one, or an error when the program wants unknown customers refused.
 */
static char *
CardHolder(const ProgramConfig *prog, const char *card_no)
{
	Oid			types[2] = {TEXTOID, INT8OID};
	Datum		values[2];

	LoyaltyPlan(&CardHolderPlan,
				"SELECT k.customer_key FROM loyalty.card c JOIN loyalty.member_key k "
				"ON k.member_id = c.member_id AND k.program_id = c.program_id "
				"WHERE c.card_no = $1 AND c.program_id = $2 AND c.status = 'active' "
				"ORDER BY k.customer_key LIMIT 1",
				2, types);
	values[0] = CStringGetTextDatum(card_no);
	values[1] = Int64GetDatum(prog->program_id);
	LoyaltyExec(CardHolderPlan, values, NULL, true, 1);
	if (SPI_processed == 1)
		return SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1);
	if (prog->unknown_customer == UNKNOWN_CUSTOMER_ERROR)
		ereport(ERROR,
				(errcode(ERRCODE_LOYALTY_UNKNOWN_MEMBER),
				 errmsg("card \"%s\" is not an active card of loyalty program \"%s\"",
						card_no, prog->code),
				 errhint("Issue the card with loyalty.issue_card(), or record the bill with the customer key.")));
	return NULL;
}

/* Look a customer up in a program; enroll when the program says so */
void
ResolveMember(const ProgramConfig *prog, const char *customer_key, const char *card_no,
			  MemberInfo *m)
{
	Oid			types[4] = {INT8OID, TEXTOID, BOOLOID, TEXTOID};
	Datum		values[4];
	char		nulls[4] = {' ', ' ', ' ', ' '};
	bool		isnull;
	HeapTuple	t;
	TupleDesc	d;
	Datum		v;

	memset(m, 0, sizeof(*m));
	m->multiplier_e4 = 10000;
	if (customer_key == NULL && card_no != NULL)
		customer_key = CardHolder(prog, card_no);
	if (customer_key == NULL)
		return;
	switch (LookupMemberDirect(prog, customer_key, card_no, m))
	{
		case MEMBER_FOUND:
			return;
		case MEMBER_NOT_FOUND:
			if (prog->unknown_customer == UNKNOWN_CUSTOMER_IGNORE)
				return;
			break;				/* refused or enrolled below */
		case MEMBER_UNAVAILABLE:
			break;
	}
	LoyaltyPlan(&MemberPlan,
				"SELECT m.member_id, m.status, m.groups, CASE WHEN $3 THEN ARRAY("
				"SELECT DISTINCT c.series FROM loyalty.card c WHERE c.member_id = m.member_id "
				"AND c.status = 'active' AND c.series IS NOT NULL "
				"AND ($4::text IS NULL OR c.card_no = $4)) END, m.birthday IS NOT NULL, "
				"tt.points_multiplier, tt.name "
				"FROM loyalty.member_key k JOIN loyalty.member m ON m.member_id = k.member_id "
				"LEFT JOIN LATERAL (SELECT t.points_multiplier, t.name FROM loyalty.member_tier mt "
				"JOIN loyalty.tier t ON t.tier_id = mt.tier_id WHERE mt.member_id = m.member_id "
				"AND mt.program_id = $1) tt ON true "
				"WHERE k.program_id = $1 AND k.customer_key = $2",
				4, types);
	values[0] = Int64GetDatum(prog->program_id);
	values[1] = CStringGetTextDatum(customer_key);
	values[2] = BoolGetDatum(prog->uses_card_series);
	values[3] = LoyaltyTextOrNull(card_no, &nulls[3]);
	LoyaltyExec(MemberPlan, values, nulls, true, 1);
	if (SPI_processed == 0)
	{
		Oid			etypes[2] = {TEXTOID, TEXTOID};
		Datum		ev[2];

		if (prog->unknown_customer == UNKNOWN_CUSTOMER_IGNORE)
			return;
		if (prog->unknown_customer == UNKNOWN_CUSTOMER_ERROR)
			ereport(ERROR,
					(errcode(ERRCODE_LOYALTY_UNKNOWN_MEMBER),
					 errmsg("customer \"%s\" is not a member of loyalty program \"%s\"",
							customer_key, prog->code),
					 errhint("Enroll the customer with loyalty.enroll(), or set the program's unknown_customer to 'ignore' or 'enroll'.")));
		LoyaltyPlan(&EnrollPlan, "SELECT loyalty.enroll($1, $2)", 2, etypes);
		ev[0] = CStringGetTextDatum(prog->code);
		ev[1] = CStringGetTextDatum(customer_key);
		LoyaltyExec(EnrollPlan, ev, NULL, false, 1);
		LoyaltyExec(MemberPlan, values, nulls, false, 1);
		if (SPI_processed == 0)
			elog(ERROR, "enrolled customer \"%s\" was not found", customer_key);
	}
	t = SPI_tuptable->vals[0];
	d = SPI_tuptable->tupdesc;
	m->found = true;
	m->member_id = DatumGetInt64(SPI_getbinval(t, d, 1, &isnull));
	m->status = SPI_getvalue(t, d, 2);
	LoyaltyTextArray(SPI_getbinval(t, d, 3, &isnull), &m->groups, &m->ngroups);
	v = SPI_getbinval(t, d, 4, &isnull);
	if (!isnull)
		LoyaltyTextArray(v, &m->series, &m->nseries);
	m->has_birthday = LoyaltyGetBool(t, d, 5);
	v = SPI_getbinval(t, d, 6, &isnull);
	m->multiplier_e4 = isnull ? 10000 : ScaledFromNumeric(DatumGetNumeric(v), 4, "tier multiplier");
	m->tier = SPI_getvalue(t, d, 7);
}

/* Fold the birthday offer of the day into the member's multiplier */
void
MemberMultiplier(const ProgramConfig *prog, MemberInfo *m, TimestampTz at)
{
	if (!m->found || !m->has_birthday || !prog->has_birthday_offers)
		return;
	m->multiplier_e4 = (int64) LoyaltyDivRound((int128) m->multiplier_e4 *
										LoyaltyBirthdayMultiplierE4(m->member_id, prog->program_id, at),
										10000);
}

/* When a lot earned at earned_at expires under the program's lifetime */
bool
LotExpiry(const ProgramConfig *prog, TimestampTz earned_at, TimestampTz *expires_at)
{
	Datum		tz;
	Datum		local;
	const char *unit = NULL;
	const char *step = NULL;

	if (!prog->has_lifetime)
		return false;
	tz = CStringGetTextDatum(prog->time_zone);
	local = TimestampGetDatum(LoyaltyLocalTime(earned_at, prog->time_zone));
	local = DirectFunctionCall2(timestamp_pl_interval, local, IntervalPGetDatum(&prog->lifetime));
	if (strcmp(prog->expiry_rounding, "end_of_month") == 0)
		unit = "month", step = "1 month";
	else if (strcmp(prog->expiry_rounding, "end_of_quarter") == 0)
		unit = "quarter", step = "3 months";
	else if (strcmp(prog->expiry_rounding, "end_of_year") == 0)
		unit = "year", step = "1 year";
	if (unit)
	{
		Datum		iv = DirectFunctionCall3(interval_in, CStringGetDatum(step),
										 ObjectIdGetDatum(InvalidOid), Int32GetDatum(-1));

		local = DirectFunctionCall2(timestamp_trunc, CStringGetTextDatum(unit), local);
		local = DirectFunctionCall2(timestamp_pl_interval, local, iv);
	}
	*expires_at = DatumGetTimestampTz(DirectFunctionCall2(timestamp_zone, tz, local));
	return true;
}

/* The values an order's earning writes, as the posting statement's parameters */
static void
BuildEarnValues(const ProgramConfig *prog, const AccrualOrder *order, const MemberInfo *m,
				const AccrualComputation *c, int64 entry_id, EarnValues *ev)
{
	int			n = order->nlines;
	Datum	   *e_line = palloc(sizeof(Datum) * Max(n, 1));
	Datum	   *e_sku = palloc(sizeof(Datum) * Max(n, 1));
	Datum	   *e_group = palloc(sizeof(Datum) * Max(n, 1));
	Datum	   *e_qty = palloc(sizeof(Datum) * Max(n, 1));
	Datum	   *e_amount = palloc(sizeof(Datum) * Max(n, 1));
	Datum	   *e_points = palloc(sizeof(Datum) * Max(n, 1));
	Datum	   *e_rule = palloc(sizeof(Datum) * Max(n, 1));
	bool	   *n_sku = palloc(sizeof(bool) * Max(n, 1));
	bool	   *n_group = palloc(sizeof(bool) * Max(n, 1));
	bool	   *n_rule = palloc(sizeof(bool) * Max(n, 1));
	Datum	   *values = ev->values;
	char	   *nulls = ev->nulls;
	LedgerEntry e;
	int			i;

	ev->nlines = n;
	ev->points_type = LoyaltyTypeOid("points");
	for (i = 0; i < n; i++)
	{
		const AccrualLine *line = &order->lines[i];

		e_line[i] = Int32GetDatum(line->line_no);
		e_sku[i] = line->sku ? CStringGetTextDatum(line->sku) : (Datum) 0;
		n_sku[i] = line->sku == NULL;
		e_group[i] = line->item_group ? CStringGetTextDatum(line->item_group) : (Datum) 0;
		n_group[i] = line->item_group == NULL;
		e_qty[i] = NumericGetDatum(ScaledToNumeric(line->quantity, 3));
		e_amount[i] = NumericGetDatum(MoneyToNumeric(line->amount));
		e_points[i] = PointsGetDatum(c->lines[i].points);
		e_rule[i] = Int64GetDatum(c->lines[i].rule ? c->lines[i].rule->rule_id : 0);
		n_rule[i] = c->lines[i].rule == NULL;
	}

	memset(&e, 0, sizeof(e));
	e.member_id = m->member_id;
	e.entry_id = entry_id;
	e.program_id = prog->program_id;
	e.kind = "earn";
	e.amount = c->total;
	e.source = order->source;
	e.document = order->document;
	e.branch = order->branch;
	e.rule_id = c->main_rule_id;
	e.campaign_id = c->main_campaign_id;
	e.created_at = GetCurrentTransactionStartTimestamp();
	e.has_expiry = LotExpiry(prog, order->ordered_at, &e.expires_at);

	memset(nulls, ' ', sizeof(ev->nulls));
	values[EP_MEMBER] = Int64GetDatum(m->member_id);
	values[EP_PROGRAM] = Int64GetDatum(prog->program_id);
	values[EP_SOURCE] = CStringGetTextDatum(order->source);
	values[EP_DOCUMENT] = CStringGetTextDatum(order->document);
	values[EP_BRANCH] = LoyaltyTextOrNull(order->branch, &nulls[EP_BRANCH]);
	values[EP_CHANNEL] = LoyaltyTextOrNull(order->channel, &nulls[EP_CHANNEL]);
	values[EP_ORDERED_AT] = TimestampTzGetDatum(order->ordered_at);
	values[EP_AMOUNT] = NumericGetDatum(MoneyToNumeric(order->total));
	values[EP_POINTS] = PointsGetDatum(c->total);
	values[EP_VISIT_POINTS] = PointsGetDatum(c->visit_points);
	values[EP_ENTRY] = Int64GetDatum(entry_id);
	values[EP_LINE_NOS] = LoyaltyMakeArray(e_line, NULL, n, INT4OID);
	values[EP_LINE_SKUS] = LoyaltyMakeArray(e_sku, n_sku, n, TEXTOID);
	values[EP_LINE_GROUPS] = LoyaltyMakeArray(e_group, n_group, n, TEXTOID);
	values[EP_LINE_QUANTITIES] = LoyaltyMakeArray(e_qty, NULL, n, NUMERICOID);
	values[EP_LINE_AMOUNTS] = LoyaltyMakeArray(e_amount, NULL, n, NUMERICOID);
	values[EP_LINE_POINTS] = LoyaltyMakeArray(e_points, NULL, n, ev->points_type);
	values[EP_LINE_RULES] = LoyaltyMakeArray(e_rule, n_rule, n, INT8OID);
	values[EP_RULE] = Int64GetDatum(c->main_rule_id);
	nulls[EP_RULE] = c->main_rule_id ? ' ' : 'n';
	values[EP_CREATED_AT] = TimestampTzGetDatum(e.created_at);
	values[EP_EXPIRES_AT] = TimestampTzGetDatum(e.expires_at);
	nulls[EP_EXPIRES_AT] = e.has_expiry ? ' ' : 'n';
	values[EP_CHECKSUM] = Int64GetDatum(LedgerChecksum(&e));
	values[EP_EARNS] = BoolGetDatum(c->total > 0);
	values[EP_ROUNDING] = PointsGetDatum(c->rounding);
	values[EP_CAMPAIGN] = Int64GetDatum(c->main_campaign_id);
	nulls[EP_CAMPAIGN] = c->main_campaign_id ? ' ' : 'n';
}

/*
 * Write the order, its lines, the earning entry, the lot and the balance in
 * one statement; false when the document was already posted.  Used when the
 * row routines of posting.c are not (see PostEarnDirect).
 */
static bool
PostEarnSql(EarnValues *ev)
{
	Oid			types[EP_COUNT] = {INT8OID, INT8OID, TEXTOID, TEXTOID, TEXTOID, TEXTOID, TIMESTAMPTZOID,
		NUMERICOID, InvalidOid, InvalidOid, INT8OID, INT4ARRAYOID, TEXTARRAYOID, TEXTARRAYOID,
		NUMERICARRAYOID, NUMERICARRAYOID, InvalidOid, INT8ARRAYOID, INT8OID, TIMESTAMPTZOID, TIMESTAMPTZOID,
	INT8OID, BOOLOID, InvalidOid, INT8OID};
	bool		isnull;

	types[EP_POINTS] = types[EP_VISIT_POINTS] = types[EP_ROUNDING] = ev->points_type;
	types[EP_LINE_POINTS] = get_array_type(ev->points_type);
	LoyaltyPlan(&PostEarnPlan,
				"WITH o AS ("
				" INSERT INTO loyalty.member_order (member_id, program_id, source, document, branch,"
				"  channel, ordered_at, amount, points, visit_points, rounding, entry_id, line_nos,"
				"  line_skus, line_groups, line_quantities, line_amounts, line_points, line_rules,"
				"  line_returned, line_reversed)"
				" SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $24, CASE WHEN $23 THEN $11 END,"
				"  $12, $13, $14, $15, $16, $17, $18,"
				"  array_fill(0::numeric, ARRAY[cardinality($12)]),"
				"  array_fill('0'::loyalty.points, ARRAY[cardinality($12)])"
				" WHERE NOT EXISTS (SELECT 1 FROM loyalty.member_order x WHERE x.program_id = $2"
				"  AND x.source = $3 AND x.document = $4 AND x.member_id <> $1)"
				" ON CONFLICT DO NOTHING RETURNING member_id),"
				" e AS ("
				" INSERT INTO loyalty.ledger (member_id, entry_id, program_id, kind, amount, source,"
				"  document, branch, rule_id, campaign_id, created_at, expires_at, checksum)"
				" SELECT $1, $11, $2, 'earn', $9, $3, $4, $5, $19, $25, $20, $21, $22 FROM o WHERE $23),"
				" b AS ("
				" INSERT INTO loyalty.balance AS b (member_id, program_id, points, earned_total, orders,"
				"  last_order_at, updated_at)"
				" SELECT $1, $2, $9, $9, 1, $7, $20 FROM o"
				" ON CONFLICT (member_id, program_id) DO UPDATE SET points = b.points OPERATOR(loyalty.+) excluded.points,"
				"  earned_total = b.earned_total OPERATOR(loyalty.+) excluded.earned_total, orders = b.orders + 1,"
				"  last_order_at = greatest(b.last_order_at, excluded.last_order_at),"
				"  updated_at = excluded.updated_at"
				" RETURNING b.points),"
				" l AS ("
				" INSERT INTO loyalty.lot (member_id, lot_id, program_id, earned, remaining, earned_at, expires_at)"
				" SELECT $1, $11, $2, $9, greatest(0, least($9, b.points)), $7, $21 FROM b WHERE $23)"
				" SELECT count(*) FROM o",
				EP_COUNT, types);
	LoyaltyExec(PostEarnPlan, ev->values, ev->nulls, false, 0);
	return DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull)) > 0;
}

/* Post an order's earning; false when the document was already posted */
static bool
PostEarn(const ProgramConfig *prog, const AccrualOrder *order, const MemberInfo *m,
		 const AccrualComputation *c, int64 entry_id)
{
	EarnValues	ev;

	BuildEarnValues(prog, order, m, c, entry_id, &ev);
	switch (PostEarnDirect(&ev))
	{
		case POST_WRITTEN:
			return true;
		case POST_DUPLICATE:
			return false;
		case POST_UNAVAILABLE:
			break;
	}
	return PostEarnSql(&ev);
}

/*
 * A document id belongs to one customer: the same (program, source,
 * document) posted for another member is a conflict, not a second order.
 */
static void
CheckDocumentOwner(const ProgramConfig *prog, const AccrualOrder *order, const MemberInfo *m)
{
	Oid			types[4] = {INT8OID, TEXTOID, TEXTOID, INT8OID};
	Datum		values[4];

	LoyaltyPlan(&OtherMemberPlan,
				"SELECT 1 FROM loyalty.member_order WHERE program_id = $1 AND source = $2 "
				"AND document = $3 AND member_id <> $4 LIMIT 1",
				4, types);
	values[0] = Int64GetDatum(prog->program_id);
	values[1] = CStringGetTextDatum(order->source);
	values[2] = CStringGetTextDatum(order->document);
	values[3] = Int64GetDatum(m->member_id);
	LoyaltyExec(OtherMemberPlan, values, NULL, false, 1);
	if (SPI_processed > 0)
		ereport(ERROR,
				(errcode(ERRCODE_LOYALTY_IDEMPOTENCY_CONFLICT),
				 errmsg("order \"%s\" from source \"%s\" was already posted for another customer",
						order->document, order->source),
				 errhint("Document ids must be unique per source; a retry must repeat the original customer.")));
}

/* A retried document: same amount returns the first result, else an error */
static void
ReplayOrder(const ProgramConfig *prog, const AccrualOrder *order, const MemberInfo *m,
			AccrualResult *result)
{
	Oid			types[4] = {INT8OID, INT8OID, TEXTOID, TEXTOID};
	Datum		values[4];
	bool		isnull;
	HeapTuple	t;
	int64		amount;

	LoyaltyPlan(&ExistingOrderPlan,
				"SELECT amount, points, entry_id FROM loyalty.member_order "
				"WHERE member_id = $1 AND program_id = $2 AND source = $3 AND document = $4",
				4, types);
	values[0] = Int64GetDatum(m->member_id);
	values[1] = Int64GetDatum(prog->program_id);
	values[2] = CStringGetTextDatum(order->source);
	values[3] = CStringGetTextDatum(order->document);
	LoyaltyExec(ExistingOrderPlan, values, NULL, false, 1);
	if (SPI_processed != 1)
	{
		CheckDocumentOwner(prog, order, m);
		elog(ERROR, "order \"%s\" conflicted but is not there", order->document);
	}
	t = SPI_tuptable->vals[0];
	amount = MoneyFromNumeric(DatumGetNumeric(SPI_getbinval(t, SPI_tuptable->tupdesc, 1, &isnull)), "amount");
	if (amount != order->total)
		ereport(ERROR,
				(errcode(ERRCODE_LOYALTY_IDEMPOTENCY_CONFLICT),
				 errmsg("order \"%s\" from source \"%s\" was already posted with a different amount",
						order->document, order->source),
				 errdetail("The first posting was for %s, this one is for %s.",
						   SPI_getvalue(t, SPI_tuptable->tupdesc, 1),
						   numeric_normalize(MoneyToNumeric(order->total))),
				 errhint("A retry must repeat the original order; a changed order needs a new document id or a return.")));
	result->points = DatumGetPoints(SPI_getbinval(t, SPI_tuptable->tupdesc, 2, &isnull));
	result->entry_id = LoyaltyGetInt64(t, SPI_tuptable->tupdesc, 3, 0);
	result->replayed = true;
}

/* Check an order's numbers before anything is written */
void
ValidateOrder(const AccrualOrder *order)
{
	int			i;

	if (order->document == NULL || order->document[0] == '\0')
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("an order needs a document id")));
	for (i = 0; i < order->nlines; i++)
	{
		const AccrualLine *l = &order->lines[i];

		if (l->quantity < 0 || l->unit_price < 0 || l->discount < 0 || l->amount < 0)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("line %d of order \"%s\" has a negative quantity, price, discount or amount",
							l->line_no, order->document),
					 errhint("A returned item is recorded with loyalty.return_order().")));
	}
	if (order->total < 0 || order->bill_discount < 0 || order->paid_with_points < 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("order \"%s\" has a negative total, discount or points payment", order->document),
				 errhint("A refund is recorded with loyalty.return_order(), not as a negative order.")));
}

/*
 * Reserve (take) or return (give back) the campaign budgets an order's
 * points use.  Points of one campaign add up over its lines and the visit.
 * When a budget cannot pay, the campaign joins the skip list and false is
 * returned so the caller evaluates the order again without its rules.
 */
static bool
TakeCampaignBudgets(const AccrualOrder *order, const MemberInfo *m, AccrualComputation *c, bool take)
{
	int64		campaigns[MAX_SKIPPED_CAMPAIGNS];
	Points		sums[MAX_SKIPPED_CAMPAIGNS];
	int			ncampaigns = 0;
	int			i;
	int			k;

	for (i = 0; i <= c->nlines; i++)
	{
		const EarnRule *r = i < c->nlines ? c->lines[i].rule : c->visit_rule;
		Points		p = i < c->nlines ? c->lines[i].points : c->visit_points;

		if (r == NULL || r->campaign_id == 0 || p <= 0)
			continue;
		for (k = 0; k < ncampaigns && campaigns[k] != r->campaign_id; k++)
			;
		if (k == ncampaigns)
		{
			if (ncampaigns == MAX_SKIPPED_CAMPAIGNS)
				elog(ERROR, "an order may use at most %d campaigns", MAX_SKIPPED_CAMPAIGNS);
			campaigns[ncampaigns] = r->campaign_id;
			sums[ncampaigns++] = 0;
		}
		sums[k] += p;
	}
	for (k = 0; k < ncampaigns; k++)
	{
		if (!take)
			LoyaltyCampaignGiveBackBranch(campaigns[k], sums[k], m->member_id, order->ordered_at, order->branch);
		else if (!LoyaltyCampaignTakeAtBranch(campaigns[k], sums[k], m->member_id, order->ordered_at,
											  order->branch))
		{
			int64		exhausted = campaigns[k];

			/* give back what this pass already took, then skip the campaign */
			while (--k >= 0)
				LoyaltyCampaignGiveBackBranch(campaigns[k], sums[k], m->member_id, order->ordered_at, order->branch);
			if (c->nskip == MAX_SKIPPED_CAMPAIGNS)
				elog(ERROR, "too many exhausted campaigns");
			c->skip_campaigns[c->nskip++] = exhausted;
			return false;
		}
	}
	return true;
}

/* Earn points for an order in the current transaction (idempotent per document) */
void
AccrueOrder(const AccrualOrder *order, AccrualResult *result)
{
	ProgramConfig *prog = LoyaltyGetProgram(order->program_id);
	MemberInfo	m;
	AccrualComputation c;

	memset(result, 0, sizeof(*result));
	ValidateOrder(order);
	if (order->customer_key == NULL && order->card_no == NULL)
		return;
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	ResolveMember(prog, order->customer_key, order->card_no, &m);
	MemberMultiplier(prog, &m, order->ordered_at);
	if (m.found)
	{
		int64		entry_id = LoyaltyGenerateId();

		result->has_member = true;
		result->member_id = m.member_id;
		memset(&c, 0, sizeof(c));
		ComputeAccrual(prog, order, &m, &c);
		while (!TakeCampaignBudgets(order, &m, &c, true))
			ComputeAccrual(prog, order, &m, &c);
		if (PostEarn(prog, order, &m, &c, entry_id))
		{
			result->points = c.total;
			result->entry_id = c.total != 0 ? entry_id : 0;
		}
		else
		{
			TakeCampaignBudgets(order, &m, &c, false);
			ReplayOrder(prog, order, &m, result);
		}
	}
	SPI_finish();
}

/* The program id of a program code (cached) */
int64
LoyaltyProgramIdByCode(const char *code)
{
	return LoyaltyGetProgramByCode(code)->program_id;
}
