-- 0.2: the primary keys of the ledger and of the lots lead with the entry id,
-- which grows with time, so accrual appends to them instead of writing a
-- random page of a member-first key (src/sql/40_ledger.sql).  Rebuilds both
-- indexes: on a large ledger, run the update in a quiet hour.
ALTER TABLE @extschema@.ledger DROP CONSTRAINT ledger_pkey,
    ADD CONSTRAINT ledger_pkey PRIMARY KEY (entry_id, member_id);
ALTER TABLE @extschema@.lot DROP CONSTRAINT lot_pkey,
    ADD CONSTRAINT lot_pkey PRIMARY KEY (lot_id, member_id);

-- 0.2: the balance table keeps its pages half empty (every order updates a
-- row; see src/sql/40_ledger.sql).  Applies to pages written from now on;
-- VACUUM FULL loyalty.balance repacks the existing ones.
ALTER TABLE @extschema@.balance SET (fillfactor = 50);
