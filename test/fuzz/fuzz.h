/*
 * fuzz.h
 *		What the fuzz targets share with stubs.c.
 */
#ifndef PG_LOYALTY_FUZZ_H
#define PG_LOYALTY_FUZZ_H

#include <setjmp.h>
#include <stdint.h>

/* Where errfinish() jumps on ereport(ERROR); NULL aborts */
extern sigjmp_buf *FuzzCatch;

/* Free everything palloc'd since the last call */
extern void FuzzReset(void);

/* The input as a NUL-terminated string (cut at the first NUL, like a cstring) */
extern char *FuzzCString(const uint8_t *data, size_t size);

#endif							/* PG_LOYALTY_FUZZ_H */
