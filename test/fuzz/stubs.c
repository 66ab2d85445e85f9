/*
 * stubs.c
 *		The few backend symbols that the fuzzed files of pg_loyalty need, so the
 *		real src/points.c, src/code.c and src/notify.c link into a libFuzzer
 *		binary without a server.
 *
 * Memory: palloc and friends allocate from an arena that FuzzReset() frees
 * after every input (no leak reports).  Errors: ereport(ERROR) ends in
 * errfinish(), which jumps back to the harness (FuzzCatch) like a
 * transaction abort would.  Every other backend function the files refer to
 * aborts (unreachable.c): reaching one means the harness drove the code outside what it
 * means to fuzz, which the fuzzer reports as a crash to be looked at.
 */
#include "postgres.h"

#include <setjmp.h>

#include "fmgr.h"
#include "lib/stringinfo.h"
#include "mb/pg_wchar.h"
#include "utils/builtins.h"

#include "fuzz.h"

/* The arena ---------------------------------------------------------------- */

typedef struct Chunk
{
	struct Chunk *next;
	Size		size;
	max_align_t data[];
} Chunk;

static Chunk *Arena = NULL;

/* Free everything allocated since the last reset */
void
FuzzReset(void)
{
	while (Arena)
	{
		Chunk	   *next = Arena->next;

		free(Arena);
		Arena = next;
	}
}

void *
palloc(Size size)
{
	Chunk	   *c = malloc(sizeof(Chunk) + size);

	if (c == NULL)
		abort();
	c->next = Arena;
	c->size = size;
	Arena = c;
	return c->data;
}

void *
palloc0(Size size)
{
	void	   *p = palloc(size);

	memset(p, 0, size);
	return p;
}

void *
palloc_extended(Size size, int flags)
{
	return palloc0(size);
}

void *
MemoryContextAllocZero(MemoryContext context, Size size)
{
	return palloc0(size);
}

void *
MemoryContextAlloc(MemoryContext context, Size size)
{
	return palloc(size);
}

void *
repalloc(void *pointer, Size size)
{
	Chunk	   *old = (Chunk *) ((char *) pointer - offsetof(Chunk, data));
	void	   *p = palloc(size);

	memcpy(p, pointer, Min(old->size, size));
	return p;
}

void *
repalloc_huge(void *pointer, Size size)
{
	return repalloc(pointer, size);
}

void
pfree(void *pointer)
{
	/* freed at the reset */
}

char *
pstrdup(const char *in)
{
	return pnstrdup(in, strlen(in));
}

char *
pnstrdup(const char *in, Size len)
{
	char	   *out;

	len = strnlen(in, len);
	out = palloc(len + 1);
	memcpy(out, in, len);
	out[len] = '\0';
	return out;
}

/* Errors ---------------------------------------------------------------------- */

sigjmp_buf *FuzzCatch = NULL;
static int	ErrorLevel;

bool
errstart(int elevel, const char *domain)
{
	ErrorLevel = elevel;
	return elevel >= ERROR;		/* warnings and notices are not interesting */
}

bool
errstart_cold(int elevel, const char *domain)
{
	return errstart(elevel, domain);
}

void
errfinish(const char *filename, int lineno, const char *funcname)
{
	if (ErrorLevel >= ERROR)
	{
		if (FuzzCatch == NULL)
			abort();
		siglongjmp(*FuzzCatch, 1);
	}
}

int
errcode(int sqlerrcode)
{
	return 0;
}

int
errmsg(const char *fmt,...)
{
	return 0;
}

int
errmsg_internal(const char *fmt,...)
{
	return 0;
}

int
errdetail(const char *fmt,...)
{
	return 0;
}

int
errhint(const char *fmt,...)
{
	return 0;
}

/* Text and multibyte helpers ---------------------------------------------- */

char *
text_to_cstring(const text *t)
{
	return pnstrdup(VARDATA_ANY(t), VARSIZE_ANY_EXHDR(t));
}

text *
cstring_to_text_with_len(const char *s, int len)
{
	text	   *result = palloc(len + VARHDRSZ);

	SET_VARSIZE(result, len + VARHDRSZ);
	memcpy(VARDATA(result), s, len);
	return result;
}

text *
cstring_to_text(const char *s)
{
	return cstring_to_text_with_len(s, strlen(s));
}

struct varlena *
pg_detoast_datum_packed(struct varlena *datum)
{
	return datum;				/* the harness passes plain values */
}

struct varlena *
pg_detoast_datum(struct varlena *datum)
{
	return datum;
}

int
pg_mblen(const char *mbstr)
{
	return pg_utf_mblen((const unsigned char *) mbstr);	/* the database encoding is UTF8 */
}

/* The input as a NUL-terminated string */
char *
FuzzCString(const uint8_t *data, size_t size)
{
	char	   *s = palloc(size + 1);

	memcpy(s, data, size);
	s[size] = '\0';
	return s;
}
