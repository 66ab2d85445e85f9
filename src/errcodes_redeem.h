/*
 * errcodes_redeem.h
 *		SQLSTATEs of spending points (class LR).
 */
#ifndef PG_LOYALTY_ERRCODES_REDEEM_H
#define PG_LOYALTY_ERRCODES_REDEEM_H

#include "utils/elog.h"

/* A retried redemption or hold with the same bill but different points */
#define ERRCODE_REDEEM_IDEMPOTENCY_CONFLICT		MAKE_SQLSTATE('L','R','0','0','1')
/* Not enough available points (balance less open holds) */
#define ERRCODE_REDEEM_INSUFFICIENT_POINTS		MAKE_SQLSTATE('L','R','0','0','2')
/* More points than the quote allows for this bill */
#define ERRCODE_REDEEM_EXCEEDS_QUOTE			MAKE_SQLSTATE('L','R','0','0','3')
/* Points must be positive and a multiple of the program's step */
#define ERRCODE_REDEEM_INVALID_POINTS			MAKE_SQLSTATE('L','R','0','0','4')
/* The one-time code is wrong */
#define ERRCODE_REDEEM_OTP_WRONG				MAKE_SQLSTATE('L','R','0','0','5')
/* The one-time code has expired */
#define ERRCODE_REDEEM_OTP_EXPIRED				MAKE_SQLSTATE('L','R','0','0','6')
/* Too many wrong tries: the code request is locked */
#define ERRCODE_REDEEM_OTP_LOCKED				MAKE_SQLSTATE('L','R','0','0','7')
/* A one-time code is required, missing, or not verified yet */
#define ERRCODE_REDEEM_OTP_REQUIRED				MAKE_SQLSTATE('L','R','0','0','8')
/* The hold is not open (captured, released or expired) or does not exist */
#define ERRCODE_REDEEM_HOLD_NOT_OPEN			MAKE_SQLSTATE('L','R','0','0','9')
/* Capturing more than the hold reserved */
#define ERRCODE_REDEEM_EXCEEDS_HOLD				MAKE_SQLSTATE('L','R','0','1','0')
/* The bill is missing or invalid (no lines and no total, negative total) */
#define ERRCODE_REDEEM_INVALID_BILL				MAKE_SQLSTATE('L','R','0','1','1')
/* The member may not spend points (blocked or closed) */
#define ERRCODE_REDEEM_MEMBER_NOT_ACTIVE		MAKE_SQLSTATE('L','R','0','1','2')
/* No redemption for the document */
#define ERRCODE_REDEEM_NOT_FOUND				MAKE_SQLSTATE('L','R','0','1','3')
/* No issued, still valid reward coupon to use (raised by use_reward_coupon()) */
#define ERRCODE_REDEEM_NO_REWARD_COUPON			MAKE_SQLSTATE('L','R','0','1','4')

#endif							/* PG_LOYALTY_ERRCODES_REDEEM_H */
