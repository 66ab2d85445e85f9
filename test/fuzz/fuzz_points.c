/*
 * fuzz_points.c
 *		libFuzzer target: the loyalty.points text parser (src/points.c).
 *		Properties: no memory error; a parsed value prints and parses back to
 *		itself; PointsFromCString agrees with PointsTryParse.
 */
#include "postgres.h"

#include "mb/pg_wchar.h"

#include "points.h"
#include "fuzz.h"

int			LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char	   *s = FuzzCString(data, size);
	Points		p;
	Points		q;
	bool		ok;
	sigjmp_buf	jb;

	/* The server hands input functions valid, NUL-free text in the database encoding. */
	if (pg_encoding_verifymbstr(PG_UTF8, s, strlen(s)) != (int) strlen(s))
	{
		FuzzReset();
		return 0;
	}

	ok = PointsTryParse(s, &p);
	if (ok)
	{
		char	   *out = PointsToCString(p);

		if (!PointsTryParse(out, &q) || q != p)
		{
			fprintf(stderr, "round trip failed: \"%s\" -> \"%s\"\n", s, out);
			abort();
		}
	}
	if (sigsetjmp(jb, 0) == 0)
	{
		FuzzCatch = &jb;
		q = PointsFromCString(s);
		if (!ok || q != p)
		{
			fprintf(stderr, "PointsFromCString accepted what PointsTryParse did not: \"%s\"\n", s);
			abort();
		}
	}
	else if (ok)
	{
		fprintf(stderr, "PointsFromCString rejected what PointsTryParse accepted: \"%s\"\n", s);
		abort();
	}
	FuzzCatch = NULL;
	FuzzReset();
	return 0;
}
