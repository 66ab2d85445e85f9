/*
 * member_lookup.h
 *		Looking a member up for accrual through the indexes, without SPI.
 */
#ifndef PG_LOYALTY_MEMBER_LOOKUP_H
#define PG_LOYALTY_MEMBER_LOOKUP_H

#include "accrual_engine.h"

typedef enum MemberLookup
{
	MEMBER_FOUND,				/* *m filled in */
	MEMBER_NOT_FOUND,			/* the customer key has no member in the program */
	MEMBER_UNAVAILABLE			/* not looked up: the caller uses SQL */
} MemberLookup;

/* Look a customer up in a program through the indexes */
extern MemberLookup LookupMemberDirect(const ProgramConfig *prog, const char *customer_key,
									   const char *card_no, MemberInfo *m);

#endif							/* PG_LOYALTY_MEMBER_LOOKUP_H */
