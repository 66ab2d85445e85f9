/*
 * compat.h
 *		The few differences between the PostgreSQL versions we build on (14-17).
 */
#ifndef PG_LOYALTY_COMPAT_H
#define PG_LOYALTY_COMPAT_H

#include "postgres.h"

#if PG_VERSION_NUM < 140000
#error "pg_loyalty requires PostgreSQL 14 or later"
#endif

/* MarkGUCPrefixReserved appeared in 15; 14 only warns about placeholders */
#if PG_VERSION_NUM < 150000
#define MarkGUCPrefixReserved(prefix) EmitWarningsOnPlaceholders(prefix)
#endif

/* varatt.h was split out of postgres.h in 16 */
#if PG_VERSION_NUM >= 160000
#include "varatt.h"
#endif

#endif							/* PG_LOYALTY_COMPAT_H */
