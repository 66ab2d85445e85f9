/*
 * code.h
 *		The loyalty.code type: check-summed serial numbers for vouchers,
 *		coupons, gift certificates, prize codes and cards.
 *
 * Printed form: an optional series prefix of 1 to 4 symbols, then 15 random
 * body symbols and 1 check symbol in groups of four, all from Crockford's
 * base32 alphabet "0123456789ABCDEFGHJKMNPQRSTVWXYZ":
 *
 *		7K3M-Q9TZ-XW2H-P4RC				(no series)
 *		VP01-7K3M-Q9TZ-XW2H-P4RF		(series VP01)
 *
 * Storage (typlen 16, pass by reference, typalign double, no padding bytes):
 *
 *		offset	size	field
 *		0		8		body_hi		body symbols 1-12, 5 bits each, symbol 1 in
 *								bits 59-55 ... symbol 12 in bits 4-0; bits
 *								63-60 are zero
 *		8		2		body_lo		body symbols 13-15, symbol 13 in bits 14-10
 *								... symbol 15 in bits 4-0; bit 15 is zero
 *		10		4		series		prefix as upper-case ASCII symbols, padded
 *								with NUL bytes; all NUL when there is none
 *		14		2		reserved	zero
 *
 * The check symbol is not stored: it is recomputed on output.  Because every
 * bit is defined, two equal codes have equal bytes, so hashing the 16 bytes
 * is consistent with equality.  Ordering is by series (shorter first, then
 * symbol order, which equals ASCII order for this alphabet), then by body.
 */
#ifndef PG_LOYALTY_CODE_H
#define PG_LOYALTY_CODE_H

#include "fmgr.h"

/* Symbols in the random body, not counting the check symbol */
#define LOYALTY_CODE_BODY_SYMBOLS		15
/* Symbols in a complete code without a series: body plus check */
#define LOYALTY_CODE_SYMBOLS			16
/* Longest series prefix */
#define LOYALTY_CODE_MAX_SERIES			4
/* Buffer size for the printed form, including the hyphens and the NUL */
#define LOYALTY_CODE_MAX_TEXT			25

typedef struct LoyaltyCode
{
	uint64		body_hi;		/* body symbols 1-12 */
	uint16		body_lo;		/* body symbols 13-15 */
	char		series[LOYALTY_CODE_MAX_SERIES];	/* NUL-padded prefix */
	uint16		reserved;		/* always zero */
} LoyaltyCode;

StaticAssertDecl(sizeof(LoyaltyCode) == 16, "loyalty.code must be 16 bytes");

#define DatumGetLoyaltyCodeP(X)		((LoyaltyCode *) DatumGetPointer(X))
#define LoyaltyCodePGetDatum(X)		PointerGetDatum(X)
#define PG_GETARG_LOYALTY_CODE_P(n)	DatumGetLoyaltyCodeP(PG_GETARG_DATUM(n))
#define PG_RETURN_LOYALTY_CODE_P(x)	return LoyaltyCodePGetDatum(x)

/* Why a string is not a valid code (LOYALTY_CODE_OK when it is) */
typedef enum LoyaltyCodeErrorKind
{
	LOYALTY_CODE_OK = 0,
	LOYALTY_CODE_BAD_CHARACTER, /* a character outside the alphabet */
	LOYALTY_CODE_BAD_LENGTH,	/* not 16 to 20 symbols */
	LOYALTY_CODE_BAD_CHECK		/* the check symbol does not match */
} LoyaltyCodeErrorKind;

/* What LoyaltyCodeParse found wrong, enough to build an error report */
typedef struct LoyaltyCodeError
{
	LoyaltyCodeErrorKind kind;
	int			position;		/* BAD_CHARACTER: 1-based character position */
	int			char_len;		/* BAD_CHARACTER: its length in bytes */
	const char *character;		/* BAD_CHARACTER: points into the input */
	int			symbols;		/* BAD_LENGTH: symbols found */
} LoyaltyCodeError;

/* Parse without throwing; on failure fill *error (may be NULL) */
extern bool LoyaltyCodeParse(const char *str, LoyaltyCode *result,
							 LoyaltyCodeError *error);

/* Throw the 22P02 error that describes a failed LoyaltyCodeParse */
extern void LoyaltyCodeReportError(const char *str,
								   const LoyaltyCodeError *error) pg_attribute_noreturn();

/* A new random code in series (NULL for none); ereports 22023 on a bad series */
extern LoyaltyCode *LoyaltyCodeGenerate(const char *series);

/* The printed form, palloc'd */
extern char *LoyaltyCodeToCString(const LoyaltyCode *code);

/* The last four printed symbols (3 body + check) into buf[5] */
extern void LoyaltyCodeSuffix(const LoyaltyCode *code, char *buf);

/* btree order: <0, 0, >0 */
extern int	LoyaltyCodeCompare(const LoyaltyCode *a, const LoyaltyCode *b);

#endif							/* PG_LOYALTY_CODE_H */
