/*
 * ledger.h
 *		Append-only ledger entries, balances and lots.
 */
#ifndef PG_LOYALTY_LEDGER_H
#define PG_LOYALTY_LEDGER_H

#include "datatype/timestamp.h"

#include "points.h"

/* One ledger entry as it is written */
typedef struct LedgerEntry
{
	int64		member_id;
	int64		entry_id;
	int64		program_id;
	const char *kind;
	Points		amount;
	const char *source;
	const char *document;
	const char *ref_document;	/* NULL when none */
	const char *branch;			/* NULL when none */
	int64		rule_id;		/* 0 when none */
	int64		campaign_id;	/* 0 when none */
	TimestampTz created_at;
	bool		has_expiry;
	TimestampTz expires_at;
	const char *note;			/* free text, not part of the checksum */
} LedgerEntry;

extern int64 LedgerChecksum(const LedgerEntry *entry);
extern void LedgerInsertEntry(const LedgerEntry *entry);
extern Points LedgerTakeBack(int64 member_id, int64 program_id, const char *kind,
							 const char *source, const char *document,
							 const char *ref_document, const char *branch, const char *note,
							 Points amount, int64 first_lot, bool cap_at_balance,
							 Points *unrecovered);

#endif							/* PG_LOYALTY_LEDGER_H */
