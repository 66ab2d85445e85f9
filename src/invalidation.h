/*
 * invalidation.h
 *		One relcache invalidation callback for all of the extension's
 *		per-backend caches.
 */
#ifndef PG_LOYALTY_INVALIDATION_H
#define PG_LOYALTY_INVALIDATION_H

#include "postgres.h"

#include "utils/inval.h"

/* Have handler called on every relcache invalidation (idempotent) */
extern void LoyaltyOnRelcacheInvalidation(RelcacheCallbackFunction handler);

#endif							/* PG_LOYALTY_INVALIDATION_H */
