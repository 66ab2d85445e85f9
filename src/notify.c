/*
 * notify.c
 *		Notification templates: macros {{name}} rendered from a jsonb of
 *		values, and the check that rejects unknown macros when a template is
 *		saved.
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "commands/trigger.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "lib/stringinfo.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"
#include "utils/numeric.h"
#include "utils/rel.h"

#include "errcodes_tiers.h"

PG_FUNCTION_INFO_V1(render_template);
PG_FUNCTION_INFO_V1(template_macros);
PG_FUNCTION_INFO_V1(validate_template_trigger);

/* The macros a template may use */
static const char *const KnownMacros[] = {
	"name", "customer_key", "program", "company_name", "points", "tier", "next_tier",
	"points_to_next_tier", "discount", "birthday", "date", "amount", "code", "branch",
	NULL
};

/* Whether a macro name is one we know */
static bool
MacroKnown(const char *name)
{
	int			i;

	for (i = 0; KnownMacros[i]; i++)
		if (strcmp(KnownMacros[i], name) == 0)
			return true;
	return false;
}

/*
 * Find the next macro at or after *pos: sets the span [*start, *end) of the
 * whole {{ ... }} and returns the trimmed name, or NULL when there is none.
 */
static char *
NextMacro(const char *s, int len, int *pos, int *start, int *end)
{
	int			i;

	for (i = *pos; i + 1 < len; i++)
	{
		int			j;
		int			a;
		int			b;

		if (s[i] != '{' || s[i + 1] != '{')
			continue;
		for (j = i + 2; j + 1 < len; j++)
			if (s[j] == '}' && s[j + 1] == '}')
				break;
		if (j + 1 >= len)
			return NULL;		/* unterminated: literal text */
		a = i + 2;
		b = j;
		while (a < b && (s[a] == ' ' || s[a] == '\t'))
			a++;
		while (b > a && (s[b - 1] == ' ' || s[b - 1] == '\t'))
			b--;
		*start = i;
		*end = j + 2;
		*pos = j + 2;
		return pnstrdup(s + a, b - a);
	}
	return NULL;
}

/* Reject a template text that uses an unknown macro */
static void
ValidateText(const char *what, const char *s)
{
	int			pos = 0;
	int			start;
	int			end;
	int			len = strlen(s);
	char	   *name;

	while ((name = NextMacro(s, len, &pos, &start, &end)) != NULL)
		if (!MacroKnown(name))
			ereport(ERROR,
					(errcode(ERRCODE_TIERS_UNKNOWN_MACRO),
					 errmsg("template %s uses an unknown macro \"{{%s}}\"", what, name),
					 errdetail("Known macros: name, customer_key, program, company_name, points, tier, "
							   "next_tier, points_to_next_tier, discount, birthday, date, amount, code, branch."),
					 errhint("Correct the macro name; macros are written {{name}} in lower case.")));
}

/* The text of a jsonb scalar value */
static char *
JsonbScalarText(JsonbValue *v)
{
	switch (v->type)
	{
		case jbvString:
			return pnstrdup(v->val.string.val, v->val.string.len);
		case jbvNumeric:
			return DatumGetCString(DirectFunctionCall1(numeric_out, NumericGetDatum(v->val.numeric)));
		case jbvBool:
			return pstrdup(v->val.boolean ? "true" : "false");
		default:
			return pstrdup("");
	}
}

/* render_template(body, vars): replaces each {{macro}} by its value in vars ('' when absent) */
Datum
render_template(PG_FUNCTION_ARGS)
{
	Jsonb	   *vars = PG_ARGISNULL(1) ? NULL : PG_GETARG_JSONB_P(1);
	char	   *s;
	int			len;
	int			pos = 0;
	int			last = 0;
	int			start;
	int			end;
	char	   *name;
	StringInfoData out;

	if (PG_ARGISNULL(0))
		PG_RETURN_NULL();
	s = text_to_cstring(PG_GETARG_TEXT_PP(0));
	len = strlen(s);
	initStringInfo(&out);
	while ((name = NextMacro(s, len, &pos, &start, &end)) != NULL)
	{
		appendBinaryStringInfo(&out, s + last, start - last);
		if (vars != NULL && JB_ROOT_IS_OBJECT(vars))
		{
			JsonbValue	key;
			JsonbValue *v;

			key.type = jbvString;
			key.val.string.val = name;
			key.val.string.len = strlen(name);
			v = findJsonbValueFromContainer(&vars->root, JB_FOBJECT, &key);
			if (v != NULL)
				appendStringInfoString(&out, JsonbScalarText(v));
		}
		last = end;
	}
	appendBinaryStringInfo(&out, s + last, len - last);
	PG_RETURN_TEXT_P(cstring_to_text_with_len(out.data, out.len));
}

/* template_macros(body): validates a template text; returns the macro names it uses */
Datum
template_macros(PG_FUNCTION_ARGS)
{
	char	   *s = text_to_cstring(PG_GETARG_TEXT_PP(0));
	int			len = strlen(s);
	int			pos = 0;
	int			start;
	int			end;
	char	   *name;
	StringInfoData out;
	bool		first = true;

	ValidateText("text", s);
	initStringInfo(&out);
	while ((name = NextMacro(s, len, &pos, &start, &end)) != NULL)
	{
		appendStringInfo(&out, "%s%s", first ? "" : ",", name);
		first = false;
	}
	PG_RETURN_TEXT_P(cstring_to_text(out.data));
}

/* BEFORE INSERT OR UPDATE trigger on notification_template: unknown macros are rejected */
Datum
validate_template_trigger(PG_FUNCTION_ARGS)
{
	TriggerData *trigdata = (TriggerData *) fcinfo->context;
	HeapTuple	row;
	TupleDesc	desc;
	char	   *subject;
	char	   *body;

	if (!CALLED_AS_TRIGGER(fcinfo))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("validate_template_trigger() was not called by the trigger manager")));
	if (!TRIGGER_FIRED_BEFORE(trigdata->tg_event) || !TRIGGER_FIRED_FOR_ROW(trigdata->tg_event))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("validate_template_trigger() must be fired BEFORE ... FOR EACH ROW")));
	row = TRIGGER_FIRED_BY_UPDATE(trigdata->tg_event) ? trigdata->tg_newtuple : trigdata->tg_trigtuple;
	desc = RelationGetDescr(trigdata->tg_relation);
	subject = SPI_getvalue(row, desc, SPI_fnumber(desc, "subject"));
	body = SPI_getvalue(row, desc, SPI_fnumber(desc, "body"));
	if (subject)
		ValidateText("subject", subject);
	if (body)
		ValidateText("body", body);
	return PointerGetDatum(row);
}
