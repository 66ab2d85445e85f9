/*
 * errcodes.h
 *		SQLSTATEs of pg_loyalty's own errors (class LY).
 */
#ifndef PG_LOYALTY_ERRCODES_H
#define PG_LOYALTY_ERRCODES_H

#include "utils/elog.h"

/* A retried document with the same key but different content */
#define ERRCODE_LOYALTY_IDEMPOTENCY_CONFLICT	MAKE_SQLSTATE('L','Y','0','0','1')
/* The customer on an order is not a member and the program requires one */
#define ERRCODE_LOYALTY_UNKNOWN_MEMBER			MAKE_SQLSTATE('L','Y','0','0','2')
/* Ledger rows are append-only */
#define ERRCODE_LOYALTY_LEDGER_IMMUTABLE		MAKE_SQLSTATE('L','Y','0','0','3')
/* A return takes back more than the order earned or bought */
#define ERRCODE_LOYALTY_RETURN_EXCEEDS_ORDER	MAKE_SQLSTATE('L','Y','0','0','4')
/* The program does not exist or is not active */
#define ERRCODE_LOYALTY_UNKNOWN_PROGRAM			MAKE_SQLSTATE('L','Y','0','0','5')

#endif							/* PG_LOYALTY_ERRCODES_H */
