-- Posting an earning: the row-routine path (pg_loyalty.direct_posting = on,
-- the default) and the SQL path write the same rows; retries, conflicts,
-- several orders in one transaction, repeatable read, a member without a
-- balance row.
\set VERBOSITY terse
SET search_path = public, loyalty;

INSERT INTO program (code, name, point_value, points_lifetime) VALUES ('post', 'Posting paths', 1000, '1 year');
INSERT INTO rule (program_id, name, kind, points, per_amount)
  SELECT program_id, '1 point per 10,000', 'per_amount', 1, 10000 FROM program WHERE code = 'post';
INSERT INTO rule (program_id, name, kind, points, min_bill)
  SELECT program_id, '2 points per visit from 1,000', 'per_order', 2, 1000 FROM program WHERE code = 'post';
SELECT enroll('post', c) > 0 AS enrolled FROM unnest(ARRAY['sql', 'direct', 'rr', 'nobal']) c;

-- the same three orders through each path
SET pg_loyalty.direct_posting = off;
SELECT points FROM record_order('post', 'sql', 'S-1', '[{"sku": "A", "group": "G", "qty": 2, "price": 35000},
  {"sku": "B", "qty": 1, "price": 9000}]', branch => 'B1', ordered_at => '2026-05-01 10:00+00');
SELECT points FROM record_order('post', 'sql', 'S-2', total => 5000, ordered_at => '2026-05-02 10:00+00');
SELECT points FROM record_order('post', 'sql', 'S-3', total => 1234567, channel => 'web', ordered_at => '2026-05-03 10:00+00');
RESET pg_loyalty.direct_posting;
SHOW pg_loyalty.direct_posting;
SELECT points FROM record_order('post', 'direct', 'D-1', '[{"sku": "A", "group": "G", "qty": 2, "price": 35000},
  {"sku": "B", "qty": 1, "price": 9000}]', branch => 'B1', ordered_at => '2026-05-01 10:00+00');
SELECT points FROM record_order('post', 'direct', 'D-2', total => 5000, ordered_at => '2026-05-02 10:00+00');
SELECT points FROM record_order('post', 'direct', 'D-3', total => 1234567, channel => 'web', ordered_at => '2026-05-03 10:00+00');

-- every column of the order rows, entries, lots and balances but ids, documents and times of posting
SELECT k.customer_key, o.branch, o.channel, o.ordered_at, o.amount, o.points, o.visit_points, o.rounding,
       o.returned_amount, o.reversed_points, o.status, o.entry_id IS NOT NULL AS has_entry, o.line_nos,
       o.line_skus, o.line_groups, o.line_quantities, o.line_amounts, o.line_points,
       ARRAY(SELECT r.name FROM unnest(o.line_rules) WITH ORDINALITY AS u(id, n)
               LEFT JOIN rule r ON r.rule_id = u.id ORDER BY u.n) AS line_rules,
       o.line_returned, o.line_reversed
  FROM member_order o JOIN member_key k USING (member_id)
 WHERE k.customer_key IN ('sql', 'direct') ORDER BY o.ordered_at, k.customer_key;
SELECT k.customer_key, l.kind, l.amount, l.source, l.branch, r.name AS rule, l.campaign_id,
       l.expires_at, l.ref_document, l.note, l.checksum = entry_checksum(l) AS checksum_ok
  FROM ledger l JOIN member_key k USING (member_id) LEFT JOIN rule r USING (rule_id)
 WHERE k.customer_key IN ('sql', 'direct') ORDER BY l.expires_at, k.customer_key;
SELECT k.customer_key, t.earned, t.remaining, t.earned_at, t.expires_at, t.lot_id = l.entry_id AS lot_is_entry
  FROM lot t JOIN member_key k USING (member_id) JOIN ledger l ON l.member_id = t.member_id AND l.entry_id = t.lot_id
 WHERE k.customer_key IN ('sql', 'direct') ORDER BY t.earned_at, k.customer_key;
SELECT k.customer_key, b.points, b.earned_total, b.reversed_total, b.unrecovered, b.orders, b.last_order_at
  FROM balance b JOIN member_key k USING (member_id)
 WHERE k.customer_key IN ('sql', 'direct') ORDER BY k.customer_key;

-- a retry returns the first result; a changed amount or another customer is a conflict
SELECT points, replayed FROM record_order('post', 'direct', 'D-3', total => 1234567, channel => 'web');
SELECT points FROM record_order('post', 'direct', 'D-3', total => 1234568);
SELECT points FROM record_order('post', 'sql', 'D-3', total => 1234567);
SELECT orders FROM balance JOIN member_key USING (member_id) WHERE customer_key = 'direct';

-- several orders of one member in one transaction, and a retry inside it
BEGIN;
SELECT points FROM record_order('post', 'direct', 'D-4', total => 100000);
SELECT points FROM record_order('post', 'direct', 'D-5', total => 200000);
SELECT points, replayed FROM record_order('post', 'direct', 'D-4', total => 100000);
COMMIT;
SELECT points, orders FROM balance JOIN member_key USING (member_id) WHERE customer_key = 'direct';

-- repeatable read posts through SQL, with the same result
BEGIN ISOLATION LEVEL REPEATABLE READ;
SELECT points FROM record_order('post', 'rr', 'R-1', total => 100000);
SELECT points, replayed FROM record_order('post', 'rr', 'R-1', total => 100000);
COMMIT;

-- a member without a balance row gets one (through SQL)
DELETE FROM balance WHERE member_id = member_id('post', 'nobal');
SELECT points FROM record_order('post', 'nobal', 'N-1', total => 100000);
SELECT points, orders FROM balance WHERE member_id = member_id('post', 'nobal');

-- an order that earns nothing counts as an order and writes no entry or lot
SELECT points FROM record_order('post', 'direct', 'D-6', total => 0);
SELECT o.points, o.entry_id IS NULL AS no_entry,
       (SELECT count(*) FROM ledger l WHERE l.member_id = o.member_id AND l.document = 'D-6') AS entries
  FROM member_order o WHERE o.document = 'D-6';

-- the posting path keeps each table's compiled constraints, partial-index
-- predicates, trigger WHEN clauses and defaults per session: table changes
-- made since (here by a superuser, in the same session) are obeyed at once
SELECT points FROM record_order('post', 'direct', 'C-1', total => 110000);
ALTER TABLE ledger ADD CONSTRAINT ledger_test_limit CHECK (amount OPERATOR(loyalty.<) 20::points) NOT VALID;
SELECT points FROM record_order('post', 'direct', 'C-2', total => 300000);
SELECT points FROM record_order('post', 'direct', 'C-3', total => 120000);
ALTER TABLE ledger DROP CONSTRAINT ledger_test_limit;
SELECT points FROM record_order('post', 'direct', 'C-2', total => 300000);
CREATE TABLE posting_test_seen (document text, points points);
CREATE FUNCTION posting_test_note() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO public.posting_test_seen VALUES (NEW.document, NEW.points);
  RETURN NEW;
END $$;
CREATE TRIGGER posting_test_big AFTER INSERT ON member_order FOR EACH ROW
  WHEN (NEW.points OPERATOR(loyalty.>=) 10::points) EXECUTE FUNCTION posting_test_note();
SELECT points FROM record_order('post', 'direct', 'C-4', total => 50000);
SELECT points FROM record_order('post', 'direct', 'C-5', total => 150000);
SELECT * FROM posting_test_seen ORDER BY document;
DROP TRIGGER posting_test_big ON member_order;
SELECT points FROM record_order('post', 'direct', 'C-6', total => 150000);
CREATE INDEX posting_test_big_lots ON lot (member_id) WHERE earned OPERATOR(loyalty.>=) 15::points;
ALTER TABLE ledger ALTER COLUMN note SET DEFAULT 'posted while testing';
SELECT points FROM record_order('post', 'direct', 'C-7', total => 200000);
SELECT document, note FROM ledger WHERE document IN ('C-6', 'C-7') ORDER BY document;
SET enable_seqscan = off;
SELECT count(*) AS big_lots FROM lot JOIN member_key USING (member_id)
 WHERE customer_key = 'direct' AND earned OPERATOR(loyalty.>=) 15::points;
RESET enable_seqscan;
ALTER TABLE ledger ALTER COLUMN note DROP DEFAULT;
DROP INDEX posting_test_big_lots;
DROP TABLE posting_test_seen;
DROP FUNCTION posting_test_note();
SELECT points FROM record_order('post', 'direct', 'C-8', total => 100000);

SELECT count(*) AS violations FROM check_ledger();
