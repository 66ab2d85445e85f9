/*
 * rules.c
 *		The per-backend cache of programs and earning rules.
 *
 * Accrual never reads the rule table per order: the first order after a
 * change loads every program and rule once into CacheMemoryContext.  A
 * statement trigger on the program and rule tables sends a relcache
 * invalidation for the rule table at commit, which every backend receives
 * and which marks its cache stale (the pattern of pg_cron's job cache).
 */
#include "postgres.h"

#include "catalog/namespace.h"
#include "catalog/pg_type.h"
#include "commands/trigger.h"
#include "executor/spi.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/numeric.h"
#include "utils/timestamp.h"

#include "errcodes.h"
#include "money.h"
#include "rules.h"
#include "spi_util.h"
#include "invalidation.h"

PG_FUNCTION_INFO_V1(invalidate_rule_cache);

static MemoryContext RulesContext = NULL;
static bool RulesValid = false;
static uint64 RulesGeneration = 0;	/* bumped by every invalidation */
static Oid	RuleRelationId = InvalidOid;
static int	NumPrograms = 0;
static ProgramConfig *Programs = NULL;

static void InvalidateRulesCallback(Datum arg, Oid relid);
static void LoadPrograms(void);
static void LoadRules(void);
static int	CompareRules(const void *a, const void *b);
static char *CopyText(HeapTuple tuple, TupleDesc desc, int attno);
static int64 NumericColumn(HeapTuple tuple, TupleDesc desc, int attno, int digits);

/* Register the invalidation callback (called from _PG_init) */
void
LoyaltyRulesInit(void)
{
	LoyaltyOnRelcacheInvalidation(InvalidateRulesCallback);
}

/* A relcache invalidation of the rule table (or of everything) makes the cache stale */
static void
InvalidateRulesCallback(Datum arg, Oid relid)
{
	if (relid == InvalidOid || relid == RuleRelationId)
	{
		RulesValid = false;
		RulesGeneration++;
	}
}

/* Trigger on program and rule: tell every backend to reload at commit */
Datum
invalidate_rule_cache(PG_FUNCTION_ARGS)
{
	Oid			ruleid;

	if (!CALLED_AS_TRIGGER(fcinfo))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("invalidate_rule_cache() was not called by the trigger manager")));
	ruleid = get_relname_relid("rule", LoyaltyNamespaceOid());
	if (OidIsValid(ruleid))
		CacheInvalidateRelcacheByRelid(ruleid);
	RulesValid = false;
	RulesGeneration++;
	return PointerGetDatum(NULL);
}

/*
 * A number that changes whenever programs, rules or anything else under the
 * rule cache's invalidation (campaigns, tiers, policies...) may have changed:
 * other per-backend caches compare it to know they are stale
 */
uint64
LoyaltyRulesGeneration(void)
{
	return RulesGeneration;
}

/* A time as the wall clock of a time zone shows it: at AT TIME ZONE zone */
Timestamp
LoyaltyLocalTime(TimestampTz at, const char *zone)
{
	return DatumGetTimestamp(DirectFunctionCall2(timestamptz_zone, CStringGetTextDatum(zone),
												 TimestampTzGetDatum(at)));
}

/* Make sure the cache is loaded and current */
static void
EnsureRulesLoaded(void)
{
	if (RulesValid && Programs != NULL)
		return;

	if (RulesContext == NULL)
		RulesContext = AllocSetContextCreate(CacheMemoryContext,
											 "pg_loyalty rule cache",
											 ALLOCSET_SMALL_SIZES);
	else
		MemoryContextReset(RulesContext);
	Programs = NULL;
	NumPrograms = 0;
	RuleRelationId = get_relname_relid("rule", LoyaltyNamespaceOid());

	/* Set valid first: an invalidation arriving while loading marks it stale again */
	RulesValid = true;
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	PG_TRY();
	{
		LoadPrograms();
		LoadRules();
	}
	PG_CATCH();
	{
		RulesValid = false;
		Programs = NULL;
		NumPrograms = 0;
		PG_RE_THROW();
	}
	PG_END_TRY();
	SPI_finish();
}

/* Read every program into the cache */
static void
LoadPrograms(void)
{
	static const char *sql =
		"SELECT program_id, code, point_value, time_zone, rounding, "
		"earn_on_discounted_items, earn_on_points_paid = 'money_part', "
		"earn_with_bill_discount, services_earn, min_item_price, min_bill, "
		"unknown_customer, points_lifetime IS NOT NULL, "
		"return_when_spent = 'cap_at_balance', active, points_lifetime, expiry_rounding, "
		"EXISTS (SELECT 1 FROM loyalty.birthday_offer o WHERE o.program_id = p.program_id AND o.active), "
		"EXISTS (SELECT 1 FROM loyalty.tier t WHERE t.program_id = p.program_id), "
		"EXISTS (SELECT 1 FROM loyalty.reward_threshold r WHERE r.program_id = p.program_id) "
		"FROM loyalty.program p ORDER BY program_id";
	MemoryContext old;
	uint64		i;

	if (SPI_execute(sql, true, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not read loyalty.program");
	old = MemoryContextSwitchTo(RulesContext);
	Programs = palloc0(sizeof(ProgramConfig) * Max(SPI_processed, 1));
	NumPrograms = (int) SPI_processed;
	for (i = 0; i < SPI_processed; i++)
	{
		HeapTuple	t = SPI_tuptable->vals[i];
		TupleDesc	d = SPI_tuptable->tupdesc;
		ProgramConfig *p = &Programs[i];
		char	   *unknown;

		p->program_id = LoyaltyGetInt64(t, d, 1, 0);
		p->code = CopyText(t, d, 2);
		p->point_value = NumericColumn(t, d, 3, 2);
		p->time_zone = CopyText(t, d, 4);
		p->rounding = PointsRoundModeFromString(SPI_getvalue(t, d, 5));
		p->earn_on_discounted_items = LoyaltyGetBool(t, d, 6);
		p->earn_on_points_paid = LoyaltyGetBool(t, d, 7);
		p->earn_with_bill_discount = LoyaltyGetBool(t, d, 8);
		p->services_earn = LoyaltyGetBool(t, d, 9);
		p->min_item_price = NumericColumn(t, d, 10, 2);
		p->min_bill = NumericColumn(t, d, 11, 2);
		unknown = SPI_getvalue(t, d, 12);
		p->unknown_customer = strcmp(unknown, "enroll") == 0 ? UNKNOWN_CUSTOMER_ENROLL :
			strcmp(unknown, "error") == 0 ? UNKNOWN_CUSTOMER_ERROR : UNKNOWN_CUSTOMER_IGNORE;
		p->has_lifetime = LoyaltyGetBool(t, d, 13);
		p->cap_at_balance = LoyaltyGetBool(t, d, 14);
		p->active = LoyaltyGetBool(t, d, 15);
		if (p->has_lifetime)
		{
			bool		isnull;

			p->lifetime = *DatumGetIntervalP(SPI_getbinval(t, d, 16, &isnull));
		}
		p->expiry_rounding = CopyText(t, d, 17);
		p->has_birthday_offers = LoyaltyGetBool(t, d, 18);
		p->has_tiers = LoyaltyGetBool(t, d, 19);
		p->has_reward_thresholds = LoyaltyGetBool(t, d, 20);
	}
	MemoryContextSwitchTo(old);
}

/* Read every active rule and attach it to its program, sorted by precedence */
static void
LoadRules(void)
{
	static const char *sql =
		"SELECT r.program_id, r.rule_id, r.name, r.kind, r.points, r.per_amount, r.percent, "
		"r.item_sku, r.item_group, r.customer_group, r.card_series, r.branch, r.channel, "
		"r.priority, r.min_bill, r.min_item_price, r.valid_from, r.valid_to, r.campaign_id, "
		"c.target_groups, c.target_tiers "
		"FROM loyalty.rule r LEFT JOIN loyalty.campaign c ON c.campaign_id = r.campaign_id "
		"WHERE r.active ORDER BY r.program_id, r.rule_id";
	MemoryContext old;
	uint64		i;
	int			p;

	if (SPI_execute(sql, true, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not read loyalty.rule");
	old = MemoryContextSwitchTo(RulesContext);
	for (p = 0; p < NumPrograms; p++)
		Programs[p].rules = palloc0(sizeof(EarnRule) * Max(SPI_processed, 1));
	for (i = 0; i < SPI_processed; i++)
	{
		HeapTuple	t = SPI_tuptable->vals[i];
		TupleDesc	d = SPI_tuptable->tupdesc;
		int64		program_id = LoyaltyGetInt64(t, d, 1, 0);
		ProgramConfig *prog = NULL;
		EarnRule   *r;
		char	   *kind;
		bool		isnull;
		Datum		v;

		for (p = 0; p < NumPrograms; p++)
			if (Programs[p].program_id == program_id)
				prog = &Programs[p];
		if (prog == NULL)
			continue;
		r = &prog->rules[prog->nrules++];
		r->rule_id = LoyaltyGetInt64(t, d, 2, 0);
		r->name = CopyText(t, d, 3);
		kind = SPI_getvalue(t, d, 4);
		r->kind = RuleKindFromName(kind);
		v = SPI_getbinval(t, d, 5, &isnull);
		r->points = isnull ? 0 : DatumGetPoints(v);
		r->per_amount = NumericColumn(t, d, 6, 2);
		r->percent = NumericColumn(t, d, 7, 4);
		r->item_sku = CopyText(t, d, 8);
		r->item_group = CopyText(t, d, 9);
		r->customer_group = CopyText(t, d, 10);
		r->card_series = CopyText(t, d, 11);
		r->branch = CopyText(t, d, 12);
		r->channel = CopyText(t, d, 13);
		r->priority = (int32) LoyaltyGetInt64(t, d, 14, 0);
		r->min_bill = NumericColumn(t, d, 15, 2);
		r->min_item_price = NumericColumn(t, d, 16, 2);
		r->valid_from = DatumGetTimestampTz(SPI_getbinval(t, d, 17, &isnull));
		r->valid_to = DatumGetTimestampTz(SPI_getbinval(t, d, 18, &isnull));
		r->campaign_id = LoyaltyGetInt64(t, d, 19, 0);
		LoyaltyGetTextArray(t, d, 20, &r->target_groups, &r->ntarget_groups);
		LoyaltyGetTextArray(t, d, 21, &r->target_tiers, &r->ntarget_tiers);
		if (r->card_series != NULL)
			prog->uses_card_series = true;
	}
	for (p = 0; p < NumPrograms; p++)
		LoyaltySortRules(Programs[p].rules, Programs[p].nrules);
	MemoryContextSwitchTo(old);
}

/* Number of scope columns a rule sets: more specific rules win ties */
static int
RuleSpecificity(const EarnRule *r)
{
	return (r->item_sku ? 8 : 0) + (r->item_group ? 4 : 0) +
		(r->customer_group ? 1 : 0) + (r->card_series ? 1 : 0) +
		(r->branch ? 1 : 0) + (r->channel ? 1 : 0);
}

/* Precedence: priority, then specificity, then the older rule */
static int
CompareRules(const void *a, const void *b)
{
	const EarnRule *ra = a;
	const EarnRule *rb = b;
	int			sa = RuleSpecificity(ra);
	int			sb = RuleSpecificity(rb);

	if (ra->priority != rb->priority)
		return ra->priority > rb->priority ? -1 : 1;
	if (sa != sb)
		return sa > sb ? -1 : 1;
	if (ra->rule_id != rb->rule_id)
		return ra->rule_id < rb->rule_id ? -1 : 1;
	return 0;
}

/* Sort rules in precedence order: the first that matches a line decides it */
void
LoyaltySortRules(EarnRule *rules, int n)
{
	qsort(rules, n, sizeof(EarnRule), CompareRules);
}

/* The rule kind named by loyalty.rule.kind */
RuleKind
RuleKindFromName(const char *kind)
{
	return strcmp(kind, "per_amount") == 0 ? RULE_PER_AMOUNT :
		strcmp(kind, "percent") == 0 ? RULE_PERCENT :
		strcmp(kind, "per_quantity") == 0 ? RULE_PER_QUANTITY :
		strcmp(kind, "per_order") == 0 ? RULE_PER_ORDER : RULE_EXCLUDE;
}

/* A text column copied into the current context, NULL stays NULL */
static char *
CopyText(HeapTuple tuple, TupleDesc desc, int attno)
{
	char	   *v = SPI_getvalue(tuple, desc, attno);

	return v ? pstrdup(v) : NULL;
}

/* A numeric column scaled to an integer with the given decimals (NULL: 0) */
static int64
NumericColumn(HeapTuple tuple, TupleDesc desc, int attno, int digits)
{
	bool		isnull;
	Datum		v = SPI_getbinval(tuple, desc, attno, &isnull);

	if (isnull)
		return 0;
	return ScaledFromNumeric(DatumGetNumeric(v), digits, SPI_fname(desc, attno));
}

/* The cached configuration of a program, by id */
ProgramConfig *
LoyaltyGetProgram(int64 program_id)
{
	int			p;

	EnsureRulesLoaded();
	for (p = 0; p < NumPrograms; p++)
		if (Programs[p].program_id == program_id)
			return &Programs[p];
	ereport(ERROR,
			(errcode(ERRCODE_LOYALTY_UNKNOWN_PROGRAM),
			 errmsg("loyalty program %lld does not exist", (long long) program_id)));
	return NULL;				/* keep compiler quiet */
}

/* The cached configuration of a program, by code */
ProgramConfig *
LoyaltyGetProgramByCode(const char *code)
{
	int			p;

	EnsureRulesLoaded();
	for (p = 0; p < NumPrograms; p++)
		if (strcmp(Programs[p].code, code) == 0)
			return &Programs[p];
	ereport(ERROR,
			(errcode(ERRCODE_LOYALTY_UNKNOWN_PROGRAM),
			 errmsg("loyalty program \"%s\" does not exist", code),
			 errhint("Programs are rows of loyalty.program; the code is its \"code\" column.")));
	return NULL;				/* keep compiler quiet */
}

/* Whether a program defines tiers (cached; unknown programs answer true) */
bool
LoyaltyProgramHasTiers(int64 program_id)
{
	int			p;

	EnsureRulesLoaded();
	for (p = 0; p < NumPrograms; p++)
		if (Programs[p].program_id == program_id)
			return Programs[p].has_tiers;
	return true;
}

/* Whether a program defines reward thresholds (cached; unknown programs answer true) */
bool
LoyaltyProgramHasRewardThresholds(int64 program_id)
{
	int			p;

	EnsureRulesLoaded();
	for (p = 0; p < NumPrograms; p++)
		if (Programs[p].program_id == program_id)
			return Programs[p].has_reward_thresholds;
	return true;
}
