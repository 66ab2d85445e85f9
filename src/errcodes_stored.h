/*
 * errcodes_stored.h
 *		SQLSTATEs of stored value: wallets, prepaid product cards, vouchers,
 *		coupons and gift certificates (class LS).
 *
 * The PL/pgSQL functions of src/sql/64-66 raise the same codes by their
 * five-character text; keep both in step (doc/stored.md lists them).
 */
#ifndef PG_LOYALTY_ERRCODES_STORED_H
#define PG_LOYALTY_ERRCODES_STORED_H

#include "utils/elog.h"

/* A retried document with the same key but different content */
#define ERRCODE_STORED_CONFLICT				MAKE_SQLSTATE('L','S','0','0','1')
/* A wallet spend larger than the balance */
#define ERRCODE_STORED_INSUFFICIENT_FUNDS	MAKE_SQLSTATE('L','S','0','0','2')
/* The member has no wallet, or it is blocked */
#define ERRCODE_STORED_NO_WALLET			MAKE_SQLSTATE('L','S','0','0','3')
/* Stored-value ledger and history rows are append-only */
#define ERRCODE_STORED_IMMUTABLE			MAKE_SQLSTATE('L','S','0','0','4')
/* The document to refund or void was not found */
#define ERRCODE_STORED_UNKNOWN_DOCUMENT		MAKE_SQLSTATE('L','S','0','0','5')
/* The instrument type (voucher type, product card type) does not exist */
#define ERRCODE_STORED_UNKNOWN_TYPE			MAKE_SQLSTATE('L','S','0','0','6')
/* The install secret for code digests is missing */
#define ERRCODE_STORED_NO_SECRET			MAKE_SQLSTATE('L','S','0','0','7')

/* Vouchers, coupons, gift certificates */
#define ERRCODE_STORED_CODE_WRONG			MAKE_SQLSTATE('L','S','0','1','0')
#define ERRCODE_STORED_CODE_EXPIRED			MAKE_SQLSTATE('L','S','0','1','1')
#define ERRCODE_STORED_CODE_USED			MAKE_SQLSTATE('L','S','0','1','2')
#define ERRCODE_STORED_CODE_WRONG_BRANCH	MAKE_SQLSTATE('L','S','0','1','3')
#define ERRCODE_STORED_CODE_NOT_YET_VALID	MAKE_SQLSTATE('L','S','0','1','4')
#define ERRCODE_STORED_TOO_MANY_FAILURES	MAKE_SQLSTATE('L','S','0','1','5')
#define ERRCODE_STORED_CODE_NOT_APPLICABLE	MAKE_SQLSTATE('L','S','0','1','6')
#define ERRCODE_STORED_CODE_WRONG_MEMBER	MAKE_SQLSTATE('L','S','0','1','7')

/* Prepaid product cards */
#define ERRCODE_STORED_CARD_UNKNOWN			MAKE_SQLSTATE('L','S','0','2','0')
#define ERRCODE_STORED_CARD_EXPIRED			MAKE_SQLSTATE('L','S','0','2','1')
#define ERRCODE_STORED_CARD_NO_UNITS		MAKE_SQLSTATE('L','S','0','2','2')
#define ERRCODE_STORED_CARD_VISIT_LIMIT		MAKE_SQLSTATE('L','S','0','2','3')

#endif							/* PG_LOYALTY_ERRCODES_STORED_H */
