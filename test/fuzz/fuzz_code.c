/*
 * fuzz_code.c
 *		libFuzzer target: the loyalty.code parser (src/code.c).
 *		Properties: no memory error; a parsed code prints and parses back to an
 *		equal code; a rejected one gets its error report (which must not return).
 */
#include "postgres.h"

#include "mb/pg_wchar.h"

#include "code.h"
#include "fuzz.h"

int			LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char	   *s = FuzzCString(data, size);
	LoyaltyCode code;
	LoyaltyCode again;
	LoyaltyCodeError error;
	sigjmp_buf	jb;

	if (pg_encoding_verifymbstr(PG_UTF8, s, strlen(s)) != (int) strlen(s))
	{
		FuzzReset();
		return 0;
	}

	if (LoyaltyCodeParse(s, &code, &error))
	{
		char	   *out = LoyaltyCodeToCString(&code);

		if (!LoyaltyCodeParse(out, &again, NULL) || LoyaltyCodeCompare(&code, &again) != 0)
		{
			fprintf(stderr, "round trip failed: \"%s\" -> \"%s\"\n", s, out);
			abort();
		}
	}
	else if (sigsetjmp(jb, 0) == 0)
	{
		FuzzCatch = &jb;
		LoyaltyCodeReportError(s, &error);
		fprintf(stderr, "LoyaltyCodeReportError returned for \"%s\"\n", s);
		abort();
	}
	FuzzCatch = NULL;
	FuzzReset();
	return 0;
}
