/*
 * errcodes_campaign.h
 *		SQLSTATEs of campaigns, discount policies, lucky draws and races (class LC).
 */
#ifndef PG_LOYALTY_ERRCODES_CAMPAIGN_H
#define PG_LOYALTY_ERRCODES_CAMPAIGN_H

#include "utils/elog.h"

/* Bad campaign, policy, prize or race definition (end before start, negative budget, odds outside 0-1) */
#define ERRCODE_CAMPAIGN_INVALID_DEFINITION	MAKE_SQLSTATE('L','C','0','0','1')
/* A lifecycle transition that the campaign's status does not allow */
#define ERRCODE_CAMPAIGN_BAD_TRANSITION		MAKE_SQLSTATE('L','C','0','0','2')
/* The campaign, policy, pool or race does not exist */
#define ERRCODE_CAMPAIGN_NOT_FOUND			MAKE_SQLSTATE('L','C','0','0','3')
/* A retried document with the same key but different content */
#define ERRCODE_CAMPAIGN_CONFLICT			MAKE_SQLSTATE('L','C','0','0','4')
/* The campaign is not running at that time (draws outside the gift window, ...) */
#define ERRCODE_CAMPAIGN_NOT_RUNNING		MAKE_SQLSTATE('L','C','0','0','5')
/* The customer may not take part (not a member, not in the target groups) */
#define ERRCODE_CAMPAIGN_NOT_ELIGIBLE		MAKE_SQLSTATE('L','C','0','0','6')

/* A campaign's budget cannot pay what a document asks of it (a discount quoted before the cap ran out) */
#define ERRCODE_CAMPAIGN_BUDGET_EXHAUSTED	MAKE_SQLSTATE('L','C','0','0','7')

#endif							/* PG_LOYALTY_ERRCODES_CAMPAIGN_H */
