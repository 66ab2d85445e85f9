/*
 * stored.h
 *		Stored value (wallets, product cards, vouchers): shared helpers.
 */
#ifndef PG_LOYALTY_STORED_H
#define PG_LOYALTY_STORED_H

#include "utils/numeric.h"

/* percent4 (ten-thousandths of a percent) of amount (hundredths), rounded down */
extern int64 StoredPercentOf(int64 amount, int64 percent4);

/* A positive amount with at most two decimals as hundredths, or a 22023 error */
extern int64 StoredPositiveAmount(Numeric num, const char *what);

/* The program and member of a customer key, raising LY005/LY002 */
extern void StoredMember(const char *program, const char *customer_key,
						 int64 *program_id, int64 *member_id);

#endif							/* PG_LOYALTY_STORED_H */
