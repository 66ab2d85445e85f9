/*
 * ids.h
 *		Collision-free ids for member-scoped rows.
 */
#ifndef PG_LOYALTY_IDS_H
#define PG_LOYALTY_IDS_H

extern int64 LoyaltyGenerateId(void);

#endif							/* PG_LOYALTY_IDS_H */
