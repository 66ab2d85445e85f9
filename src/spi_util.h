/*
 * spi_util.h
 *		Small helpers around SPI shared by the C modules.
 */
#ifndef PG_LOYALTY_SPI_UTIL_H
#define PG_LOYALTY_SPI_UTIL_H

#include "executor/spi.h"

extern SPIPlanPtr LoyaltyPlan(SPIPlanPtr *slot, const char *sql, int nargs, const Oid *argtypes);
extern void LoyaltyExec(SPIPlanPtr plan, Datum *values, const char *nulls, bool read_only, long count);
extern Oid	LoyaltyTypeOid(const char *name);
extern Oid	LoyaltyNamespaceOid(void);
extern Datum LoyaltyTextOrNull(const char *str, char *null_flag);
extern char *LoyaltyGetText(HeapTuple tuple, TupleDesc desc, int attno);
extern int64 LoyaltyGetInt64(HeapTuple tuple, TupleDesc desc, int attno, int64 when_null);
extern bool LoyaltyGetBool(HeapTuple tuple, TupleDesc desc, int attno);
extern void LoyaltyTextArray(Datum arr, char ***items, int *n);
extern void LoyaltyGetTextArray(HeapTuple tuple, TupleDesc desc, int attno, char ***items, int *n);
extern bool LoyaltyListHas(char **items, int n, const char *value);
extern Datum LoyaltyMakeArray(Datum *elems, bool *nulls, int n, Oid elemtype);

#endif							/* PG_LOYALTY_SPI_UTIL_H */
