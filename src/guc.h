/*
 * guc.h
 *		Configuration settings of pg_loyalty.
 */
#ifndef PG_LOYALTY_GUC_H
#define PG_LOYALTY_GUC_H

extern bool loyalty_accrual_enabled;
extern int	loyalty_node_id;
extern bool loyalty_direct_posting;

extern void LoyaltyGucInit(void);

#endif							/* PG_LOYALTY_GUC_H */
