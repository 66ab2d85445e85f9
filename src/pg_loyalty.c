/*
 * pg_loyalty.c
 *		Module entry point: each concern registers itself from here.
 */
#include "postgres.h"

#include "fmgr.h"

#include "attach.h"
#include "guc.h"
#include "rules.h"
#include "security.h"

PG_MODULE_MAGIC;

void		_PG_init(void);

/* Load-time set-up: GUCs first, then the per-backend caches */
void
_PG_init(void)
{
	LoyaltyGucInit();
	LoyaltyRulesInit();
	LoyaltyAttachInit();
	LoyaltySecurityInit();
}
