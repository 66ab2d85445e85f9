/*
 * attach.h
 *		Accrual on a host's own orders table (loyalty.attach/detach and the
 *		triggers they install).
 */
#ifndef PG_LOYALTY_ATTACH_H
#define PG_LOYALTY_ATTACH_H

extern void LoyaltyAttachInit(void);

#endif							/* PG_LOYALTY_ATTACH_H */
