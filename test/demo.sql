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
       (SELECT string_agg(c.card_no, ', ') FROM card c WHERE c.member_id = m.member_id) AS cards
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
SELECT code AS new_code, code_series(code::code) AS series, '****-' || code_suffix(code::code) AS masked,
       code_is_valid(lower(replace(code, '-', ' '))) AS typed_lowercase_ok,
       code_is_valid(overlay(code PLACING CASE WHEN substr(code, 9, 1) = '7' THEN '8' ELSE '7' END
                             FROM 9)) AS one_symbol_mistyped_ok
  FROM c;
