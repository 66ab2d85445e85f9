/*
 * fuzz_template.c
 *		libFuzzer target: the notification template scanner and renderer
 *		(render_template and template_macros of src/notify.c, called through
 *		fmgr with no variables).  Property: no memory error; rendering without
 *		variables never makes the text longer.
 */
#include "postgres.h"

#include "fmgr.h"
#include "mb/pg_wchar.h"
#include "utils/builtins.h"

#include "fuzz.h"

extern Datum render_template(PG_FUNCTION_ARGS);
extern Datum template_macros(PG_FUNCTION_ARGS);

int			LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char	   *s = FuzzCString(data, size);
	text	   *body;
	sigjmp_buf	jb;
	LOCAL_FCINFO(fcinfo, 2);

	if (pg_encoding_verifymbstr(PG_UTF8, s, strlen(s)) != (int) strlen(s))
	{
		FuzzReset();
		return 0;
	}
	body = cstring_to_text(s);

	InitFunctionCallInfoData(*fcinfo, NULL, 2, InvalidOid, NULL, NULL);
	fcinfo->args[0].value = PointerGetDatum(body);
	fcinfo->args[0].isnull = false;
	fcinfo->args[1].value = (Datum) 0;
	fcinfo->args[1].isnull = true;
	if (sigsetjmp(jb, 0) == 0)
	{
		text	   *out;

		FuzzCatch = &jb;
		out = DatumGetTextPP(render_template(fcinfo));
		if (VARSIZE_ANY_EXHDR(out) > strlen(s))
		{
			fprintf(stderr, "rendering without variables grew the text\n");
			abort();
		}
	}
	InitFunctionCallInfoData(*fcinfo, NULL, 1, InvalidOid, NULL, NULL);
	fcinfo->args[0].value = PointerGetDatum(body);
	fcinfo->args[0].isnull = false;
	if (sigsetjmp(jb, 0) == 0)
	{
		FuzzCatch = &jb;
		(void) template_macros(fcinfo);
	}
	FuzzCatch = NULL;
	FuzzReset();
	return 0;
}
