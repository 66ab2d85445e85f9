-- pg_loyalty demo: a Vietnamese fashion shop and a café, prices in đồng.
-- Run by test/demo.sh (make demo) in database "demo" after CREATE EXTENSION pg_loyalty.
SET search_path = public, loyalty;   -- the operators of loyalty.points live in schema loyalty
\pset footer off
\pset null '-'

-- money as the receipts print it: 55,000đ
CREATE FUNCTION vnd(numeric) RETURNS text LANGUAGE sql IMMUTABLE
    AS $$ SELECT to_char($1, 'FM999,999,999,990') || 'đ' $$;

\echo '== 1. Two programs, 1 point = 1,000đ'
INSERT INTO program (code, name, currency, point_value, time_zone, rounding) VALUES
    ('hoamai', 'Thời trang Hoa Mai', 'VND', 1000, 'Asia/Ho_Chi_Minh', 'nearest'),
    ('caphe',  'Cà phê Sáng',        'VND', 1000, 'Asia/Ho_Chi_Minh', 'nearest');
SELECT code, name, currency, point_value, rounding, return_when_spent FROM program ORDER BY program_id;

\echo '== 2. Earning rules (from the users'' documents)'
-- A1: bills of 50,000đ or more earn 10% of their value
INSERT INTO rule (program_id, name, kind, percent, min_bill)
    SELECT program_id, 'Hóa đơn từ 50.000đ: 10%', 'percent', 10, 50000 FROM program WHERE code = 'hoamai';
-- A4: exceptions by product group
INSERT INTO rule (program_id, name, kind, points, item_group)
    SELECT program_id, 'Áo sơ mi: 2 điểm/sản phẩm', 'per_quantity', 2, 'Shirts' FROM program WHERE code = 'hoamai';
INSERT INTO rule (program_id, name, kind, percent, item_group)
    SELECT program_id, 'Giày: 5%', 'percent', 5, 'Shoes' FROM program WHERE code = 'hoamai';
INSERT INTO rule (program_id, name, kind, item_group)
    SELECT program_id, 'Quần: không tích điểm', 'exclude', 'Trousers' FROM program WHERE code = 'hoamai';
-- A5/A8: wholesale counterparties earn 1 point per 100,000đ on all other goods
INSERT INTO rule (program_id, name, kind, points, per_amount, customer_group)
    SELECT program_id, 'Khách sỉ: 1 điểm/100.000đ', 'per_amount', 1, 100000, 'wholesale'
      FROM program WHERE code = 'hoamai';
-- A2: the café gives 10 points per visit
INSERT INTO rule (program_id, name, kind, points)
    SELECT program_id, 'Mỗi lần ghé: 10 điểm', 'per_order', 10 FROM program WHERE code = 'caphe';
SELECT p.code AS program, r.rule_id, r.name, r.kind,
       coalesce(r.points::text, r.percent || '%') AS value, r.per_amount,
       coalesce(r.item_group, r.customer_group, 'all goods') AS applies_to, vnd(r.min_bill) AS min_bill
  FROM rule r JOIN program p USING (program_id) ORDER BY r.rule_id;
\echo 'Precedence: highest priority, then the most specific scope (item > group > customer group,'
\echo 'card series, branch, channel), then the oldest rule.'

\echo
\echo '== 3. Members and cards'
SELECT enroll('hoamai', 'KH001', 'Nguyễn Văn An', phone => '0903 123 456') AS an,
       enroll('hoamai', 'NCC-042', 'Công ty TNHH Minh Phát', kind => 'organisation',
              groups => '{wholesale}') AS minh_phat,
       enroll('caphe', 'KH001', 'Nguyễn Văn An') AS an_at_the_cafe;
-- enrolling again returns the same member id
SELECT enroll('hoamai', 'KH001') = member_id('hoamai', 'KH001') AS same_member;
-- a new printed card in series VP (a loyalty.code), and an imported magnetic card number
SELECT issue_card(member_id('hoamai', 'KH001'), 'VP') IS NOT NULL AS card_issued,
       issue_card(member_id('hoamai', 'NCC-042'), card_no => '9704 0000 1234') AS imported_card;
SELECT p.code AS program, m.customer_key, m.name, m.kind, m.groups,
       (SELECT string_agg(c.card_no, ', ') FROM card c WHERE c.member_id = m.member_id) AS "cards (VP numbers are random)"
  FROM member m JOIN program p USING (program_id) ORDER BY m.member_id;

\echo
\echo '== 4. Orders: loyalty.record_order(program, customer_key, document, lines jsonb, ...)'
\echo '-- A1: a 55,000đ bill earns 10% = 5.5 points, rounded once per order to 6'
SELECT * FROM record_order('hoamai', 'KH001', 'HD-0001',
    '[{"sku": "TAT-01", "group": "Socks", "qty": 1, "price": 55000}]', branch => 'Q1');
\echo '-- A4: shirts, shoes, trousers and a belt on one bill'
SELECT * FROM record_order('hoamai', 'KH001', 'HD-0002', '[
    {"sku": "SOMI-TR", "group": "Shirts",   "qty": 2, "price": 250000},
    {"sku": "GIAY-DA", "group": "Shoes",    "qty": 1, "price": 800000},
    {"sku": "QUAN-KK", "group": "Trousers", "qty": 1, "price": 400000},
    {"sku": "THAT-LU", "group": "Belts",    "qty": 1, "price": 150000}]', branch => 'Q1');
\echo '-- the till lost the answer and sends HD-0002 again: replayed, no double points'
SELECT * FROM record_order('hoamai', 'KH001', 'HD-0002', '[
    {"sku": "SOMI-TR", "group": "Shirts",   "qty": 2, "price": 250000},
    {"sku": "GIAY-DA", "group": "Shoes",    "qty": 1, "price": 800000},
    {"sku": "QUAN-KK", "group": "Trousers", "qty": 1, "price": 400000},
    {"sku": "THAT-LU", "group": "Belts",    "qty": 1, "price": 150000}]', branch => 'Q1');
\echo '-- the same document with a different amount is refused (SQLSTATE LY001)'
DO $$
BEGIN
    PERFORM record_order('hoamai', 'KH001', 'HD-0002', total => 99000);
EXCEPTION WHEN OTHERS THEN
    RAISE NOTICE '% %', SQLSTATE, SQLERRM;
END $$;
\echo '-- A8: the wholesale company buys 20 shirts and 50 belts'
SELECT * FROM record_order('hoamai', 'NCC-042', 'SI-0001', '[
    {"sku": "SOMI-TR", "group": "Shirts", "qty": 20, "price": 180000},
    {"sku": "THAT-LU", "group": "Belts",  "qty": 50, "price": 30000}]', branch => 'KHO');
\echo '-- A2: two visits to the café'
SELECT v.document, r.*
  FROM (VALUES
    ('CF-0001', '[{"sku": "CF-SUA-DA", "qty": 1, "price": 29000}, {"sku": "BANH-MI", "qty": 1, "price": 25000}]'::jsonb),
    ('CF-0002', '[{"sku": "BAC-XIU", "qty": 2, "price": 32000}]'::jsonb)) AS v(document, lines)
  CROSS JOIN LATERAL record_order('caphe', 'KH001', v.document, v.lines) AS r;

\echo
\echo '== 5. Why each line earned what it did: loyalty.explain_accrual (writes nothing)'
SELECT line_no, sku, vnd(amount) AS amount, rule_name, points, reason
  FROM explain_accrual('hoamai', 'KH001', '[
    {"sku": "SOMI-TR", "group": "Shirts",   "qty": 2, "price": 250000},
    {"sku": "GIAY-DA", "group": "Shoes",    "qty": 1, "price": 800000},
    {"sku": "QUAN-KK", "group": "Trousers", "qty": 1, "price": 400000},
    {"sku": "THAT-LU", "group": "Belts",    "qty": 1, "price": 150000}]');
\echo '-- the 55,000đ bill: 5.5 on the line, +0.5 order rounding (nearest)'
SELECT line_no, sku, vnd(amount) AS amount, rule_name, points, reason
  FROM explain_accrual('hoamai', 'KH001', '[{"sku": "TAT-01", "group": "Socks", "qty": 1, "price": 55000}]');
\echo '-- a 30,000đ bill is under the 50,000đ minimum of the 10% rule'
SELECT line_no, sku, vnd(amount) AS amount, rule_name, points, reason
  FROM explain_accrual('hoamai', 'KH001', '[{"sku": "TAT-01", "group": "Socks", "qty": 1, "price": 30000}]');
\echo '-- wholesale: the Shirts group rule beats the customer-group rule (more specific)'
SELECT line_no, sku, vnd(amount) AS amount, rule_name, points, reason
  FROM explain_accrual('hoamai', 'NCC-042', '[
    {"sku": "SOMI-TR", "group": "Shirts", "qty": 20, "price": 180000},
    {"sku": "THAT-LU", "group": "Belts",  "qty": 50, "price": 30000}]');
\echo '-- the café: lines earn nothing themselves, the visit earns 10'
SELECT line_no, sku, vnd(amount) AS amount, rule_name, points, reason
  FROM explain_accrual('caphe', 'KH001', '[{"sku": "CF-SUA-DA", "qty": 1, "price": 29000}]');

\echo
\echo '== 6. Returns and cancellations take back what was earned, in proportion'
\echo '-- HD-0002: one of the two shirts (4 -> 2 back) and the shoes (40 back) come back'
SELECT return_order('hoamai', 'HD-0002', 'TH-0001', '[{"line": 1, "qty": 1}, {"line": 2}]') AS points_taken;
\echo '-- the same return sent again: the first answer again, nothing more is taken'
SELECT return_order('hoamai', 'HD-0002', 'TH-0001', '[{"line": 1, "qty": 1}, {"line": 2}]') AS points_taken;
\echo '-- HD-0001 is cancelled: all 6 points go back (a second cancel_order posts nothing)'
SELECT cancel_order('hoamai', 'HD-0001') AS points_taken;
SELECT document, vnd(amount) AS amount, points, vnd(returned_amount) AS returned, reversed_points, status
  FROM member_order WHERE program_id = (SELECT program_id FROM program WHERE code = 'hoamai')
 ORDER BY document;
SELECT line_no, sku, round(quantity, 0) AS quantity, round(returned_quantity, 0) AS returned, points,
       reversed_points
  FROM member_order_line WHERE document = 'HD-0002' ORDER BY line_no;

\echo
\echo '== 7. A manual correction: loyalty.adjust (idempotent per document)'
SELECT adjust('caphe', 'KH001', 5, 'ADJ-0001', 'birthday gift') AS adjusted;

\echo
\echo '== 8. Balances'
SELECT p.code AS program, k.customer_key, b.points, b.earned_total, b.reversed_total, b.orders
  FROM balance b
  JOIN member_key k USING (member_id, program_id)
  JOIN program p USING (program_id)
 ORDER BY p.code, k.customer_key;
SELECT balance('hoamai', 'KH001') AS "balance('hoamai','KH001')",
       balance('hoamai', 'NCC-042') AS "balance('hoamai','NCC-042')",
       balance('caphe', 'KH001') AS "balance('caphe','KH001')",
       balance('caphe', 'guest') AS "not a member";

\echo
\echo '== 9. The ledger (append-only)'
SELECT p.code AS program, k.customer_key, l.kind, l.amount, l.document, l.ref_document,
       l.branch, r.name AS rule
  FROM ledger l
  JOIN member_key k USING (member_id, program_id)
  JOIN program p USING (program_id)
  LEFT JOIN rule r USING (rule_id)
 ORDER BY l.entry_id;
\echo '-- changing history is refused (SQLSTATE LY003)'
DO $$
BEGIN
    UPDATE loyalty.ledger SET amount = 1000;
EXCEPTION WHEN OTHERS THEN
    RAISE NOTICE '% %', SQLSTATE, SQLERRM;
END $$;
\echo '-- loyalty.check_ledger(): every violated invariant; no rows means all is well'
\pset footer on
SELECT * FROM check_ledger();
\pset footer off

\if :has_attach
\echo
\echo '== 10. loyalty.attach(): points from the shop''s own orders tables'
CREATE SCHEMA shop;
CREATE TABLE shop.orders (
    order_id    bigint PRIMARY KEY,
    customer    text,
    total       numeric,
    branch      text,
    created_at  timestamptz NOT NULL DEFAULT now(),
    status      text NOT NULL DEFAULT 'paid'
);
CREATE TABLE shop.order_lines (
    order_id bigint REFERENCES shop.orders, line_no int, sku text, grp text,
    qty numeric, price numeric, discount numeric NOT NULL DEFAULT 0
);
CREATE INDEX ON shop.order_lines (order_id);
SELECT 'shop.orders' AS attached FROM attach('hoamai', 'shop.orders',
    id_column => 'order_id', customer_column => 'customer', amount_column => 'total',
    branch_column => 'branch', time_column => 'created_at', status_column => 'status',
    lines => 'shop.order_lines', line_order_column => 'order_id', line_no_column => 'line_no',
    sku_column => 'sku', group_column => 'grp', quantity_column => 'qty', price_column => 'price',
    discount_column => 'discount');
SELECT string_agg(tgname, ', ' ORDER BY tgname) AS "triggers on shop.orders"
  FROM pg_trigger WHERE tgrelid = 'shop.orders'::regclass AND NOT tgisinternal;
\echo '-- the POS inserts two orders as it always did; points are posted at COMMIT'
BEGIN;
INSERT INTO shop.orders (order_id, customer, total, branch) VALUES
    (5001, 'KH001', 700000, 'Q3'),
    (5002, NULL, 120000, 'Q3');               -- a guest: earns nothing
INSERT INTO shop.order_lines (order_id, line_no, sku, grp, qty, price) VALUES
    (5001, 1, 'SOMI-TR', 'Shirts', 1, 250000),
    (5001, 2, 'THAT-LU', 'Belts',  3, 150000),
    (5002, 1, 'TAT-01',  'Socks',  1, 120000);
COMMIT;
SELECT document, source, points, status FROM member_order WHERE source = 'shop.orders';
\echo '-- the order is cancelled in the POS: its points go back'
UPDATE shop.orders SET status = 'cancelled' WHERE order_id = 5001;
SELECT l.kind, l.amount, l.source, l.document, l.ref_document
  FROM ledger l WHERE l.source = 'shop.orders' ORDER BY l.entry_id;
SELECT balance('hoamai', 'KH001') AS "balance('hoamai','KH001')";
\pset footer on
SELECT * FROM check_ledger();
\pset footer off
\endif

\echo
\echo '== 11. The types: loyalty.points (exact, 2 decimals) and loyalty.code (card and voucher numbers)'
SELECT '5.5'::points AS p, '5.5'::points + 1 AS plus_1, '5.5'::points * 3 AS times_3,
       round('5.5'::points) AS nearest, round('5.5'::points, 'down') AS down,
       '10'::points / 3 AS div_3, sum(x) AS sum
  FROM (VALUES ('1.25'::points), ('2.5')) AS t(x);
DO $$
BEGIN
    PERFORM '5.555'::loyalty.points;
EXCEPTION WHEN OTHERS THEN
    RAISE NOTICE '% %', SQLSTATE, SQLERRM;
END $$;
WITH c AS (SELECT new_code('VP')::text AS code)
SELECT code AS "new_code (random)", code_series(code::code) AS series, '****-' || code_suffix(code::code) AS masked,
       code_is_valid(lower(replace(code, '-', ' '))) AS typed_lowercase_ok,
       code_is_valid(overlay(code PLACING CASE WHEN substr(code, 9, 1) = '7' THEN '8' ELSE '7' END
                             FROM 9)) AS one_symbol_mistyped_ok
  FROM c;

\echo
\echo '== 12. Tiers (C1-C3, C5): Member 5%, VIP 10%, Gold 15% by spend over 12 months'
INSERT INTO tier (program_id, rank, name, threshold, window_months, discount_percent, points_multiplier)
    SELECT program_id, v.* FROM program,
        (VALUES (1, 'Member', 0, 12, 5, 1), (2, 'VIP', 5000000, 12, 10, 1.5), (3, 'Gold', 20000000, 12, 15, 2))
          AS v(rank, name, threshold, window_months, discount_percent, points_multiplier)
     WHERE code = 'hoamai';
SELECT name, vnd(threshold) AS spend_12_months, discount_percent || '%' AS discount,
       'x' || points_multiplier AS points
  FROM tier ORDER BY rank;
\echo '-- the tier job places the existing members (what is left of their orders counts: 800,000đ and 5,100,000đ)'
SELECT recalculate_tiers('hoamai') AS members_moved;
\echo '-- KH001 buys 4,200,000đ: 800,000 + 4,200,000 reaches VIP in the order''s own transaction;'
\echo '-- that order earns at the old tier (420), the next one at x1.5 (20 x 1.5 = 30)'
SELECT v.document, r.points
  FROM (VALUES
    ('HD-0003', '[{"sku": "AO-KHOAC", "group": "Jackets", "qty": 3, "price": 1400000}]'::jsonb),
    ('HD-0004', '[{"sku": "THAT-LU", "group": "Belts", "qty": 1, "price": 200000}]')) AS v(document, lines)
  CROSS JOIN LATERAL record_order('hoamai', 'KH001', v.document, v.lines, branch => 'Q3') AS r;
SELECT k.customer_key, f.name AS from_tier, t.name AS to_tier, h.branch, h.reason
  FROM tier_history h
  JOIN member_key k USING (member_id, program_id)
  LEFT JOIN tier f ON f.tier_id = h.from_tier
  LEFT JOIN tier t ON t.tier_id = h.to_tier
 ORDER BY h.history_id;
\echo '-- C5: how far to the next tier'
SELECT k AS customer_key, p.*, member_tier_discount('hoamai', k) || '%' AS discount
  FROM unnest(ARRAY['KH001', 'NCC-042']) AS k, next_tier_progress('hoamai', k) AS p;
\echo '-- C4: x2 on the birthday; Lê Thị Cúc was born on this day (in Asia/Ho_Chi_Minh)'
INSERT INTO birthday_offer (program_id, scope, multiplier)
    SELECT program_id, 'day', 2 FROM program WHERE code = 'hoamai';
SELECT enroll('hoamai', 'KH003', 'Lê Thị Cúc',
              birthday => ((now() AT TIME ZONE 'Asia/Ho_Chi_Minh')::date - interval '32 years')::date) AS kh003 \gset
\echo '-- a 300,000đ bill: 10% = 30 points, 60 on her birthday'
SELECT d.day, e.rule_name, e.points
  FROM (VALUES ('today', now()), ('tomorrow', now() + interval '1 day')) AS d(day, at)
  CROSS JOIN LATERAL explain_accrual('hoamai', 'KH003',
      '[{"sku": "THAT-LU", "group": "Belts", "qty": 2, "price": 150000}]', ordered_at => d.at) AS e;
SELECT points, replayed FROM record_order('hoamai', 'KH003', 'HD-0005',
    '[{"sku": "THAT-LU", "group": "Belts", "qty": 2, "price": 150000}]', branch => 'Q1');

\echo
\echo '== 13. Paying with points (B1-B5)'
\echo '-- policy: at least 100 points available, at most 50% of a bill, whole points, Sale goods excluded'
INSERT INTO redemption_policy (program_id, min_balance, max_bill_percent, redeem_step, excluded_groups)
    SELECT program_id, 100, 50, 1, '{Sale}' FROM program WHERE code = 'hoamai';
SELECT v.customer_key, v.bill, q.available, q.max_points, vnd(q.max_amount) AS pays,
       vnd(q.bill_total) AS bill_total, vnd(q.eligible_amount) AS eligible, q.bound_by
  FROM (VALUES
    ('KH001', 'belt 300,000 + sale 200,000', '[{"sku": "THAT-LU", "group": "Belts", "price": 300000},
                                               {"sku": "AO-SALE", "group": "Sale", "price": 200000}]'::jsonb),
    ('KH001', 'belt 300,000 + sale 700,000', '[{"sku": "THAT-LU", "group": "Belts", "price": 300000},
                                               {"sku": "AO-SALE", "group": "Sale", "price": 700000}]'),
    ('KH001', 'jacket 2,000,000', '[{"sku": "AO-KHOAC", "group": "Jackets", "price": 2000000}]'),
    ('KH003', 'jacket 2,000,000', '[{"sku": "AO-KHOAC", "group": "Jackets", "price": 2000000}]'))
    AS v(customer_key, bill, lines)
  CROSS JOIN LATERAL quote('hoamai', v.customer_key, v.lines) AS q;
\echo '-- KH001 pays 200 points (200,000đ) on HD-0006; the till retries: replayed, nothing spent twice'
\set bill '[{"sku": "THAT-LU", "group": "Belts", "price": 300000}, {"sku": "AO-SALE", "group": "Sale", "price": 200000}]'
SELECT points_used, vnd(amount) AS amount, replayed FROM redeem('hoamai', 'KH001', 'HD-0006', 200, :'bill', branch => 'Q1');
SELECT points_used, vnd(amount) AS amount, replayed FROM redeem('hoamai', 'KH001', 'HD-0006', 200, :'bill', branch => 'Q1');
\echo '-- two-phase: hold 100 points for HD-0007, the bill closes and captures 80'
SELECT hold('hoamai', 'KH001', 'HD-0007', 100, total => 1000000, branch => 'Q1') AS hold_id \gset
SELECT balance('hoamai', 'KH001') AS balance, available_points('hoamai', 'KH001') AS available_while_held;
SELECT points_used, vnd(amount) AS amount FROM capture(:hold_id, 80);
SELECT balance('hoamai', 'KH001') AS balance, available_points('hoamai', 'KH001') AS available;
\echo '-- HD-0006 is refunded: its 200 points go back to the lots they came from'
SELECT refund_redemption('hoamai', 'HD-0006') AS restored, refund_redemption('hoamai', 'HD-0006') AS again;
SELECT e.document AS lot_of_order, rl.points AS taken, rl.restored, lot.remaining
  FROM redemption r
  JOIN redemption_lot rl USING (member_id, redemption_id)
  JOIN lot ON lot.member_id = rl.member_id AND lot.lot_id = rl.lot_id
  JOIN ledger e ON e.member_id = lot.member_id AND e.entry_id = lot.lot_id
 WHERE r.document = 'HD-0006' ORDER BY rl.lot_id;
\echo '-- B3: a one-time code by SMS; only its salted hash is stored, the message waits in loyalty.outbox'
SELECT request_otp('hoamai', 'KH001', 'HD-0008') AS otp_id \gset
SELECT channel, kind, recipient, payload->>'purpose' AS purpose, length(payload->>'code') AS code_digits, status
  FROM outbox WHERE kind = 'otp';
SELECT verify_otp('hoamai', 'KH001', 'HD-0008',
                  (SELECT CASE WHEN payload->>'code' = '000000' THEN '111111' ELSE '000000' END
                     FROM outbox WHERE kind = 'otp')) AS wrong_code_accepted;
SELECT purpose, status, tries, max_tries, octet_length(code_hash) AS hash_bytes FROM otp_request;
\echo '-- B5: the café''s points now live 30 days; a visit 40 days ago has expired, one 20 days ago has not'
UPDATE program SET points_lifetime = interval '30 days' WHERE code = 'caphe';
SELECT v.document, r.points
  FROM (VALUES ('CF-0003', 40), ('CF-0004', 20)) AS v(document, days_ago)
  CROSS JOIN LATERAL record_order('caphe', 'KH001', v.document, '[{"sku": "CF-DEN", "price": 25000}]',
                                  ordered_at => now() - make_interval(days => v.days_ago)) AS r;
SELECT 'first' AS run, * FROM expire_points(program => 'caphe')
UNION ALL
SELECT 'again', * FROM expire_points(program => 'caphe');
SELECT customer_key, points, round(extract(epoch FROM expires_at - now()) / 86400) AS expires_in_days
  FROM points_expiring(30) WHERE program = 'caphe';
SELECT balance('caphe', 'KH001') AS "balance('caphe','KH001')";

\echo
\echo '== 14. Stored value (D, E, F): wallets, prepaid product cards, vouchers'
\echo '-- D2: pay 1,000,000đ and the card holds 1,500,000đ; smaller top-ups get no bonus'
INSERT INTO wallet_bonus_rule (program_id, name, min_amount, bonus_amount)
    SELECT program_id, 'Nạp 1.000.000đ được 1.500.000đ', 1000000, 500000 FROM program WHERE code = 'caphe';
SELECT v.document, vnd(t.paid) AS paid, vnd(t.bonus) AS bonus, vnd(t.balance) AS balance
  FROM (VALUES (1, 'NAP-0001', 1000000, 'Q1'), (2, 'NAP-0002', 200000, 'Q3')) AS v(n, document, amount, branch)
  CROSS JOIN LATERAL wallet_top_up('caphe', 'KH001', v.amount, v.document, v.branch) AS t
 ORDER BY v.n;
\echo '-- D1: a 118,000đ bill paid from the wallet (never below zero: LS002)'
SELECT vnd(spent) AS spent, vnd(balance) AS balance FROM wallet_spend('caphe', 'KH001', 'CF-0005', 118000, 'Q1');
\echo '-- D4: every movement with its branch; the float is what the café owes its card holders'
SELECT kind, vnd(amount) AS amount, document, branch FROM wallet_ledger ORDER BY entry_id;
SELECT program, members, vnd(float) AS float FROM wallet_float;
\echo '-- E1: a card of 10 spa sessions (at most 2 per visit), used twice'
INSERT INTO program (code, name, time_zone) VALUES ('senspa', 'Sen Spa', 'Asia/Ho_Chi_Minh');
SELECT enroll('senspa', 'KH001', 'Nguyễn Văn An') AS spa_member \gset
INSERT INTO product_card_type (program_id, code, name, item_sku, units, visit_limit, price, extra_unit_price)
    SELECT program_id, 'SPA10', 'Thẻ 10 buổi massage 60 phút', 'SPA-60', 10, 2, 3000000, 280000
      FROM program WHERE code = 'senspa';
SELECT product_card_issue('senspa', 'KH001', 'SPA10', 'BAN-0001') AS spa_card \gset
SELECT v.visit, u.sku, u.quantity, u.price AS price_on_bill
  FROM (VALUES (1, 'SPA-V1', 1), (2, 'SPA-V2', 2)) AS v(visit, document, units)
  CROSS JOIN LATERAL product_card_use(:'spa_card', v.units, v.document, 'Q1') AS u
 ORDER BY v.visit;
DO $$
BEGIN
    PERFORM loyalty.product_card_use(c.code, 3, 'SPA-V3', 'Q1') FROM loyalty.product_card c;
EXCEPTION WHEN OTHERS THEN
    RAISE NOTICE '% %', SQLSTATE, SQLERRM;
END $$;
SELECT h.card_type, h.kind, h.units, h.sku, vnd(h.amount) AS amount, h.document, c.units_left AS card_units_left
  FROM product_card_history h JOIN product_card c ON c.code::text = h.card_code ORDER BY h.document;
\echo '-- F1: 100,000đ vouchers sold through a partner (invoiced at 90,000đ), good at Q1 and Q3'
INSERT INTO voucher_type (program_id, code, name, kind, face_value, invoice_value, branches)
    SELECT program_id, 'V100K', 'Phiếu quà tặng 100.000đ', 'voucher', 100000, 90000, '{Q1,Q3}'
      FROM program WHERE code = 'hoamai';
\echo '-- the full codes are returned once, to be printed; the database keeps a keyed digest and the last 4 symbols'
CREATE TEMP TABLE printed AS
    SELECT c::text AS code FROM voucher_issue('hoamai', 'V100K', 20, series => 'GC', batch => 'DOITAC-01') AS c;
SELECT code AS voucher_code FROM printed LIMIT 1 \gset
SELECT b.batch, b.series, b.quantity, count(v.*) AS codes, count(v.digest) AS stored_as_digest, count(v.code) AS stored_in_clear
  FROM voucher_batch b JOIN voucher v USING (batch_id) GROUP BY b.batch_id;
\echo '-- one is used on a 350,000đ bill at Q1; the same code on another bill is refused'
SELECT v.document, r.ok, vnd(r.amount) AS amount, r.reason, r.sqlstate, r.kind
  FROM (VALUES (1, 'HD-0009'), (2, 'HD-0010')) AS v(n, document)
  CROSS JOIN LATERAL voucher_redeem(:'voucher_code', v.document, 'Q1', 350000, till => 'T1') AS r
 ORDER BY v.n;
SELECT status, count(*) AS codes, string_agg(DISTINCT document, ', ') AS used_on, vnd(sum(amount)) AS paid
  FROM voucher_status GROUP BY status ORDER BY status;
DROP TABLE printed;

\echo
\echo '== 15. Campaigns and discounts (G, H)'
\echo '-- H5: a café week with a budget of 60 points owns a rule of 25 points a visit (instead of 10)'
INSERT INTO campaign (program_id, code, name, starts_at, ends_at, budget_points, form, person_in_charge)
    SELECT program_id, 'tuan-le-ca-phe', 'Tuần lễ cà phê', now() - interval '1 hour', now() + interval '7 days',
           60, 'bonus points, lucky draw', 'Chị Hạnh'
      FROM program WHERE code = 'caphe';
INSERT INTO rule (program_id, name, kind, points, priority, campaign_id)
    SELECT program_id, 'Tuần lễ cà phê: 25 điểm/lần ghé', 'per_order', 25, 10, campaign_id
      FROM campaign WHERE code = 'tuan-le-ca-phe';
SELECT schedule_campaign('tuan-le-ca-phe'), start_campaign('tuan-le-ca-phe');
\echo '-- 25 + 25 leave 10 in the budget: the third visit earns the base rule'
SELECT count(*) AS visits FROM (VALUES ('CF-0006'), ('CF-0007'), ('CF-0008')) AS v(document)
  CROSS JOIN LATERAL record_order('caphe', 'KH001', v.document, '[{"sku": "CF-SUA-DA", "price": 29000}]') \gset
SELECT l.document, l.amount AS points, r.name AS rule, c.code AS campaign
  FROM ledger l JOIN rule r USING (rule_id) LEFT JOIN campaign c ON c.campaign_id = l.campaign_id
 WHERE l.document IN ('CF-0006', 'CF-0007', 'CF-0008') ORDER BY l.entry_id;
SELECT code, status, budget_points, taken_points, remaining_points, takes FROM campaign_budget;
\echo '-- G1: golden hours 14:00-16:00 (local): 20% off drinks, found by the system itself'
INSERT INTO discount_policy (program_id, name, hour_from, hour_to, item_groups, kind, value)
    SELECT program_id, 'Giờ vàng: đồ uống -20%', 14, 16, '{Drinks}', 'percent', 20 FROM program WHERE code = 'caphe';
SELECT t.at_local, coalesce(q.line_no::text, '-') AS line_no, q.policy_name, vnd(q.amount) AS discount
  FROM (VALUES ('15:00'), ('09:00')) AS t(at_local)
  LEFT JOIN LATERAL quote_discounts('caphe', 'KH001',
      '[{"sku": "BAC-XIU", "group": "Drinks", "qty": 2, "price": 32000}, {"sku": "BANH-MI", "group": "Food", "price": 25000}]',
      (current_date + t.at_local::time) AT TIME ZONE 'Asia/Ho_Chi_Minh') AS q ON true
 ORDER BY t.at_local DESC, q.line_no;
\echo '-- H2/H3: a lucky draw, 3 mugs at odds 1/2 over 12 bills (the results are random; the rules are not)'
INSERT INTO prize_pool (campaign_id, level, name, initial_stock, stock, value, odds, code_series)
    SELECT campaign_id, 1, 'Ly sứ Cà phê Sáng', 3, 3, 50000, 0.5, 'LY' FROM campaign WHERE code = 'tuan-le-ca-phe';
SELECT count(*) AS draws, count(*) FILTER (WHERE d.won) <= 3 AS at_most_3_won
  FROM generate_series(1, 12) AS i
  CROSS JOIN LATERAL draw('tuan-le-ca-phe', 'KH001', 'QS-' || i) AS d;
SELECT p.name, p.initial_stock, p.stock >= 0 AS stock_not_negative, p.stock + p.awarded = p.initial_stock AS stock_adds_up,
       p.awarded = (SELECT count(*) FROM draw_log g WHERE g.pool_id = p.pool_id AND g.won) AS awarded_eq_won,
       (SELECT count(*) FROM draw_log) AS draw_log_rows
  FROM prize_pool p;
\echo '-- H5: the rule tried on the last 60 days of history (writes nothing): 7 café orders would each'
\echo '-- want 25 points (175); the budget of 60 pays two of them (50 points = 50,000đ, 83.33%)'
SELECT * FROM simulate_campaign('tuan-le-ca-phe', now() - interval '60 days', now() + interval '1 hour');
\echo '-- every invariant of points, tiers, redemptions, campaigns and stored value'
\pset footer on
SELECT * FROM check_ledger();
\pset footer off
