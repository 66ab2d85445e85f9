/*
 * invalidation.c
 *		One relcache invalidation callback for all of the extension's
 *		per-backend caches.
 *
 * A backend has room for ten relcache callbacks in all (PostgreSQL 15), and
 * the server itself takes some of them; an extension that registered one per
 * cache would leave other extensions none.  Every cache of ours (rules,
 * attachments, discount policies, till branches, notification templates,
 * the posting state) registers its handler here, and this file registers a
 * single callback that calls them in turn.
 */
#include "postgres.h"

#include "invalidation.h"

#define MAX_RELCACHE_HANDLERS 16

static RelcacheCallbackFunction Handlers[MAX_RELCACHE_HANDLERS];
static int	NumHandlers = 0;
static bool CallbackRegistered = false;

/* The one callback: pass the invalidation on to every handler */
static void
DispatchRelcacheInvalidation(Datum arg, Oid relid)
{
	int			i;

	for (i = 0; i < NumHandlers; i++)
		Handlers[i] (arg, relid);
}

/* Have handler called on every relcache invalidation (idempotent) */
void
LoyaltyOnRelcacheInvalidation(RelcacheCallbackFunction handler)
{
	int			i;

	for (i = 0; i < NumHandlers; i++)
		if (Handlers[i] == handler)
			return;
	if (NumHandlers == MAX_RELCACHE_HANDLERS)
		elog(ERROR, "too many pg_loyalty relcache handlers");
	Handlers[NumHandlers++] = handler;
	if (!CallbackRegistered)
	{
		CacheRegisterRelcacheCallback(DispatchRelcacheInvalidation, (Datum) 0);
		CallbackRegistered = true;
	}
}
