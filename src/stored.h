/*
 * stored.h
 *		Stored value (wallets, product cards, vouchers): shared helpers.
 */
#ifndef PG_LOYALTY_STORED_H
#define PG_LOYALTY_STORED_H

#include "utils/numeric.h"

#include "code.h"

/* The value rules of a voucher type; money in hundredths, percents in ten-thousandths */
typedef struct StoredVoucherValue
{
	bool		has_face_value;
	int64		face_value;
	bool		has_discount_percent;
	int64		discount_percent;
	bool		has_discount_amount;
	int64		discount_amount;
	bool		has_max_bill_percent;
	int64		max_bill_percent;
} StoredVoucherValue;

/* What a code takes off a bill of which eligible may be paid */
extern int64 StoredVoucherAmount(const StoredVoucherValue *v, int64 eligible, int64 bill);

/* HMAC-SHA256 of a code under the install secret */
extern bytea *StoredCodeDigest(const LoyaltyCode *code);

/* percent4 (ten-thousandths of a percent) of amount (hundredths), rounded down */
extern int64 StoredPercentOf(int64 amount, int64 percent4);

/* A positive amount with at most two decimals as hundredths, or a 22023 error */
extern int64 StoredPositiveAmount(Numeric num, const char *what);

/* The program and member of a customer key, raising LY005/LY002 */
extern void StoredMember(const char *program, const char *customer_key,
						 int64 *program_id, int64 *member_id);

#endif							/* PG_LOYALTY_STORED_H */
