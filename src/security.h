/*
 * security.h
 *		Branch isolation of till roles.
 */
#ifndef PG_LOYALTY_SECURITY_H
#define PG_LOYALTY_SECURITY_H

extern void LoyaltySecurityInit(void);
extern bool LoyaltyTillIsBound(void);

#endif							/* PG_LOYALTY_SECURITY_H */
