-- The points ledger: append-only entries, lots, balances and member orders.

CREATE TABLE @extschema@.ledger (
    member_id       bigint NOT NULL,
    entry_id        bigint NOT NULL DEFAULT @extschema@.generate_id(),
    program_id      bigint NOT NULL,
    kind            text NOT NULL CHECK (kind IN ('earn', 'reverse', 'adjust', 'redeem', 'restore',
                                                  'expire', 'bonus', 'reward')),
    amount          @extschema@.points NOT NULL,
    source          text NOT NULL DEFAULT 'pos',
    document        text NOT NULL,
    ref_document    text,
    branch          text,
    rule_id         bigint,
    campaign_id     bigint,
    created_at      timestamptz NOT NULL DEFAULT now(),
    expires_at      timestamptz,
    note            text,
    checksum        bigint NOT NULL,
    -- entry ids grow with time (the node id, then a sequence), so a new entry
    -- lands at the right edge of this key rather than on a random page of a
    -- member-first one; member_id stays in it for sharding by member
    PRIMARY KEY (entry_id, member_id)
);
-- One posting per (program, source, document, kind).  Earning entries are
-- kept unique by loyalty.member_order's key (an order posts its earning in
-- the same statement), so the hot path does not pay for a second index.
CREATE UNIQUE INDEX ledger_posting_key ON @extschema@.ledger (member_id, program_id, source, document, kind)
    WHERE kind <> 'earn';
CREATE INDEX ledger_created_idx ON @extschema@.ledger USING brin (created_at);
COMMENT ON TABLE @extschema@.ledger IS
'Every movement of points, append-only; one posting per (program, source, document, kind)';
COMMENT ON COLUMN @extschema@.ledger.amount IS 'Points moved: positive credits the member, negative debits';
COMMENT ON COLUMN @extschema@.ledger.document IS 'The business document that caused the entry (order, return, redemption)';
COMMENT ON COLUMN @extschema@.ledger.ref_document IS 'The original order of a return or reversal';
COMMENT ON COLUMN @extschema@.ledger.expires_at IS 'Expiry of the lot an earning entry opened';
COMMENT ON COLUMN @extschema@.ledger.checksum IS 'Checksum of the entry''s content; check_ledger() recomputes it to find changed entries';

CREATE TABLE @extschema@.lot (
    member_id       bigint NOT NULL,
    lot_id          bigint NOT NULL,
    program_id      bigint NOT NULL,
    earned          @extschema@.points NOT NULL,
    remaining       @extschema@.points NOT NULL CHECK (remaining >= 0),
    earned_at       timestamptz NOT NULL,
    expires_at      timestamptz,
    PRIMARY KEY (lot_id, member_id)     -- id first, as the ledger's; a member's open lots: lot_open_idx
);
CREATE INDEX lot_open_idx ON @extschema@.lot (member_id, expires_at) WHERE remaining > 0;
COMMENT ON TABLE @extschema@.lot IS
'Points lots: what is left of each earning, spent soonest-to-expire first; lot_id is the earning ledger entry';

CREATE TABLE @extschema@.balance (
    member_id       bigint NOT NULL,
    program_id      bigint NOT NULL,
    points          @extschema@.points NOT NULL DEFAULT 0,
    earned_total    @extschema@.points NOT NULL DEFAULT 0,
    reversed_total  @extschema@.points NOT NULL DEFAULT 0,
    unrecovered     @extschema@.points NOT NULL DEFAULT 0,
    orders          bigint NOT NULL DEFAULT 0,
    last_order_at   timestamptz,
    updated_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (member_id, program_id)
) WITH (fillfactor = 50);
-- Every order updates its member's row: pages kept half empty let each update
-- stay on its page (HOT) and make the pruning of old versions, which a
-- full page needs on almost every read, half as costly.
COMMENT ON TABLE @extschema@.balance IS
'Balance per member, kept in the same transaction as each ledger entry; always equals the sum of the member''s entries';
COMMENT ON COLUMN @extschema@.balance.unrecovered IS 'Points a return could not take back because they were spent (cap_at_balance programs)';

CREATE TABLE @extschema@.member_order (
    member_id       bigint NOT NULL,
    program_id      bigint NOT NULL,
    source          text NOT NULL,
    document        text NOT NULL,
    branch          text,
    channel         text,
    ordered_at      timestamptz NOT NULL,
    amount          numeric NOT NULL,
    points          @extschema@.points NOT NULL,
    visit_points    @extschema@.points NOT NULL DEFAULT 0,
    rounding        @extschema@.points NOT NULL DEFAULT 0,
    returned_amount numeric NOT NULL DEFAULT 0,
    reversed_points @extschema@.points NOT NULL DEFAULT 0,
    status          text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'returned', 'cancelled')),
    entry_id        bigint,
    line_nos        integer[] NOT NULL DEFAULT '{}',
    line_skus       text[] NOT NULL DEFAULT '{}',
    line_groups     text[] NOT NULL DEFAULT '{}',
    line_quantities numeric[] NOT NULL DEFAULT '{}',
    line_amounts    numeric[] NOT NULL DEFAULT '{}',
    line_points     @extschema@.points[] NOT NULL DEFAULT '{}',
    line_rules      bigint[] NOT NULL DEFAULT '{}',
    line_returned   numeric[] NOT NULL DEFAULT '{}',
    line_reversed   @extschema@.points[] NOT NULL DEFAULT '{}',
    PRIMARY KEY (member_id, program_id, source, document),
    CHECK (cardinality(line_nos) = cardinality(line_points)
           AND cardinality(line_nos) = cardinality(line_returned)
           AND cardinality(line_nos) = cardinality(line_reversed))
);
COMMENT ON TABLE @extschema@.member_order IS
'Orders of members as accrual saw them: amount, points earned, what returns took back, and per line (in the line_* arrays, read through loyalty.member_order_line) the rule that applied';
COMMENT ON COLUMN @extschema@.member_order.visit_points IS 'Points of the per-visit rule';
COMMENT ON COLUMN @extschema@.member_order.rounding IS 'The order rounding: points minus the lines'' and the visit''s exact points';
COMMENT ON COLUMN @extschema@.member_order.line_points IS 'Points each line earned, in line order; the lines live in the row so an order is one row to write';

CREATE VIEW @extschema@.member_order_line AS
SELECT o.member_id, o.program_id, o.source, o.document, u.line_no, u.sku, u.item_group,
       u.quantity, u.amount, u.points, u.rule_id, u.returned_quantity, u.reversed_points
  FROM @extschema@.member_order o,
       unnest(o.line_nos, o.line_skus, o.line_groups, o.line_quantities, o.line_amounts,
              o.line_points, o.line_rules, o.line_returned, o.line_reversed)
         AS u(line_no, sku, item_group, quantity, amount, points, rule_id, returned_quantity, reversed_points);
COMMENT ON VIEW @extschema@.member_order_line IS
'Per-line accrual, one row per order line: the rule that applied, the points, and what returns took back';

CREATE INDEX member_order_document_idx ON @extschema@.member_order (program_id, source, document);

CREATE TABLE @extschema@.member_return (
    member_id       bigint NOT NULL,
    program_id      bigint NOT NULL,
    source          text NOT NULL,
    return_document text NOT NULL,
    document        text NOT NULL,
    digest          text NOT NULL,
    due             @extschema@.points NOT NULL,
    taken           @extschema@.points NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (member_id, program_id, source, return_document)
);
COMMENT ON TABLE @extschema@.member_return IS
'Returns and cancellations: what each took back (due) and what the balance could give (taken); a retry with the same content is a no-op';
COMMENT ON COLUMN @extschema@.member_return.digest IS 'What was returned (lines and quantities, an amount, or the whole order), to tell a retry from a conflicting return';
