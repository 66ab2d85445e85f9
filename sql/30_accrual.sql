-- Accrual: programs, members, the rule engine, idempotency, returns.
\set VERBOSITY terse
SET search_path = public, loyalty;

-- A1: bills of 50,000đ or more earn 10% of their value at 1 point = 1,000đ
INSERT INTO program (code, name, point_value, rounding) VALUES
  ('vn_keep', 'Keep fractions', 1000, 'keep'),
  ('vn_near', 'Round to nearest', 1000, 'nearest'),
  ('vn_down', 'Round down', 1000, 'down');
INSERT INTO rule (program_id, name, kind, percent, min_bill)
SELECT program_id, '10% of bills from 50,000', 'percent', 10, 50000 FROM program WHERE code LIKE 'vn_%';
SELECT enroll(code, 'cust-1', 'Nguyen Van An') > 0 AS enrolled FROM program WHERE code LIKE 'vn_%' ORDER BY code;
SELECT p.code, (record_order(p.code, 'cust-1', 'A1-55000', total => 55000)).points
  FROM program p WHERE code LIKE 'vn_%' ORDER BY p.code;
-- under the rule's minimum bill nothing is earned
SELECT points FROM record_order('vn_keep', 'cust-1', 'A1-49000', total => 49000);

-- A4: shirts 2 points each, shoes 5% back, trousers nothing, everything else 1 point per 10,000đ
INSERT INTO program (code, name, point_value) VALUES ('fashion', 'Fashion chain', 1000);
INSERT INTO rule (program_id, name, kind, points, per_amount)
  SELECT program_id, 'all goods: 1 point per 10,000', 'per_amount', 1, 10000 FROM program WHERE code = 'fashion';
INSERT INTO rule (program_id, name, kind, points, item_group)
  SELECT program_id, 'shirts: 2 points each', 'per_quantity', 2, 'Shirts' FROM program WHERE code = 'fashion';
INSERT INTO rule (program_id, name, kind, percent, item_group)
  SELECT program_id, 'shoes: 5% back', 'percent', 5, 'Shoes' FROM program WHERE code = 'fashion';
INSERT INTO rule (program_id, name, kind, item_group)
  SELECT program_id, 'trousers earn nothing', 'exclude', 'Trousers' FROM program WHERE code = 'fashion';
SELECT enroll('fashion', 'F1', 'Tran Thi Binh') > 0 AS enrolled;
SELECT line_no, sku, amount, rule_name, points, reason FROM explain_accrual('fashion', 'F1', '[
  {"sku": "SH-1", "group": "Shirts", "qty": 3, "price": 150000},
  {"sku": "SO-9", "group": "Shoes", "qty": 1, "price": 800000},
  {"sku": "TR-2", "group": "Trousers", "qty": 2, "price": 300000},
  {"sku": "HAT", "group": "Hats", "qty": 1, "price": 95000}]');
SELECT points, replayed FROM record_order('fashion', 'F1', 'F-001', '[
  {"sku": "SH-1", "group": "Shirts", "qty": 3, "price": 150000},
  {"sku": "SO-9", "group": "Shoes", "qty": 1, "price": 800000},
  {"sku": "TR-2", "group": "Trousers", "qty": 2, "price": 300000},
  {"sku": "HAT", "group": "Hats", "qty": 1, "price": 95000}]');
SELECT line_no, sku, item_group, quantity, amount, points FROM member_order_line
 WHERE document = 'F-001' ORDER BY line_no;

-- a single item beats its group; a higher priority beats both
INSERT INTO rule (program_id, name, kind, points, item_sku)
  SELECT program_id, 'SH-LUX: 10 points each', 'per_quantity', 10, 'SH-LUX' FROM program WHERE code = 'fashion';
SELECT line_no, rule_name, points FROM explain_accrual('fashion', 'F1',
  '[{"sku": "SH-LUX", "group": "Shirts", "qty": 1, "price": 500000}]');
INSERT INTO rule (program_id, name, kind, points, item_group, priority)
  SELECT program_id, 'shirt week: 5 points each', 'per_quantity', 5, 'Shirts', 10 FROM program WHERE code = 'fashion';
SELECT line_no, rule_name, points FROM explain_accrual('fashion', 'F1',
  '[{"sku": "SH-LUX", "group": "Shirts", "qty": 1, "price": 500000}]');
UPDATE rule SET active = false WHERE name = 'shirt week: 5 points each';

-- A5: rules by customer group and card series, and validity periods
SELECT enroll('fashion', 'W1', 'Cong ty Minh Phat', kind => 'organisation', groups => '{wholesale}') > 0 AS enrolled;
INSERT INTO rule (program_id, name, kind, points, per_amount, customer_group, priority)
  SELECT program_id, 'wholesale: 1 point per 100,000', 'per_amount', 1, 100000, 'wholesale', 5 FROM program WHERE code = 'fashion';
SELECT rule_name, points FROM explain_accrual('fashion', 'W1', '[{"sku": "HAT", "qty": 10, "price": 95000}]');
SELECT rule_name, points FROM explain_accrual('fashion', 'F1', '[{"sku": "HAT", "qty": 10, "price": 95000}]');
SELECT issue_card(member_id('fashion', 'F1'), 'VP') ~ '^VP-' AS card_issued;
INSERT INTO rule (program_id, name, kind, points, per_amount, card_series, priority)
  SELECT program_id, 'VP cards: 3 points per 10,000', 'per_amount', 3, 10000, 'VP', 5 FROM program WHERE code = 'fashion';
SELECT rule_name, points FROM explain_accrual('fashion', 'F1', '[{"sku": "HAT", "qty": 1, "price": 100000}]');
INSERT INTO rule (program_id, name, kind, points, per_amount, priority, valid_from, valid_to)
  SELECT program_id, 'Tet 2026: 5 points per 10,000', 'per_amount', 5, 10000, 20,
         '2026-02-10 00:00+07', '2026-02-20 00:00+07' FROM program WHERE code = 'fashion';
SELECT rule_name, points FROM explain_accrual('fashion', 'F1', '[{"sku": "HAT", "price": 100000}]',
                                              ordered_at => '2026-02-15 12:00+07');
SELECT rule_name, points FROM explain_accrual('fashion', 'F1', '[{"sku": "HAT", "price": 100000}]',
                                              ordered_at => '2026-02-20 00:00+07');

-- A2: a café gives 10 points per visit
INSERT INTO program (code, name, point_value) VALUES ('cafe', 'Cafe', 1000);
INSERT INTO rule (program_id, name, kind, points) SELECT program_id, '10 points per visit', 'per_order', 10 FROM program WHERE code = 'cafe';
SELECT enroll('cafe', 'K1') > 0 AS enrolled;
SELECT points FROM record_order('cafe', 'K1', 'CF-1', '[{"sku": "latte", "price": 45000}]');
SELECT points FROM record_order('cafe', 'K1', 'CF-2', '[{"sku": "tea", "price": 20000}, {"sku": "cake", "price": 30000}]');
SELECT balance('cafe', 'K1');

-- A6 switches: discounted items, bill discounts, bills paid with points, cheap items, services
INSERT INTO program (code, name, point_value, rounding) VALUES ('sw', 'Switches', 1000, 'keep');
INSERT INTO rule (program_id, name, kind, percent) SELECT program_id, '10%', 'percent', 10 FROM program WHERE code = 'sw';
SELECT enroll('sw', 'S1') > 0 AS enrolled;
SELECT sku, amount, points, reason FROM explain_accrual('sw', 'S1',
  '[{"sku": "full", "price": 100000}, {"sku": "sale", "price": 100000, "discount": 20000}]');
UPDATE program SET earn_on_discounted_items = false WHERE code = 'sw';
SELECT sku, amount, points, reason FROM explain_accrual('sw', 'S1',
  '[{"sku": "full", "price": 100000}, {"sku": "sale", "price": 100000, "discount": 20000}]');
SELECT sum(points) AS points FROM explain_accrual('sw', 'S1', '[{"sku": "full", "price": 100000}]', bill_discount => 10000);
UPDATE program SET earn_with_bill_discount = false WHERE code = 'sw';
SELECT sku, points, reason FROM explain_accrual('sw', 'S1', '[{"sku": "full", "price": 100000}]', bill_discount => 10000);
-- paid partly with points: earn on the money part, or nothing
SELECT sum(points) AS points FROM explain_accrual('sw', 'S1', '[{"sku": "full", "price": 100000}]', paid_with_points => 40000);
UPDATE program SET earn_on_points_paid = 'none' WHERE code = 'sw';
SELECT sku, points, reason FROM explain_accrual('sw', 'S1', '[{"sku": "full", "price": 100000}]', paid_with_points => 40000);
UPDATE program SET min_item_price = 5000, services_earn = false WHERE code = 'sw';
SELECT sku, points, reason FROM explain_accrual('sw', 'S1',
  '[{"sku": "gum", "price": 3000}, {"sku": "massage", "price": 300000, "service": true}, {"sku": "oil", "price": 50000}]');

-- idempotency: a retry is a no-op, a changed amount is an error with its own SQLSTATE
SELECT points, replayed FROM record_order('cafe', 'K1', 'CF-1', '[{"sku": "latte", "price": 45000}]');
\set VERBOSITY sqlstate
SELECT points FROM record_order('cafe', 'K1', 'CF-1', '[{"sku": "latte", "price": 46000}]');
\set VERBOSITY terse
SELECT count(*) AS cf1_entries FROM ledger WHERE document = 'CF-1';

-- guests and unknown customers
SELECT member_id, points FROM record_order('cafe', NULL, 'CF-guest', total => 50000);
SELECT member_id, points FROM record_order('cafe', 'nobody', 'CF-nobody', total => 50000);
UPDATE program SET unknown_customer = 'error' WHERE code = 'cafe';
SELECT member_id, points FROM record_order('cafe', 'nobody', 'CF-nobody', total => 50000);
UPDATE program SET unknown_customer = 'enroll' WHERE code = 'cafe';
SELECT member_id IS NOT NULL AS enrolled, points FROM record_order('cafe', 'nobody', 'CF-nobody', total => 50000);
SELECT kind, status, groups FROM member WHERE member_id = member_id('cafe', 'nobody');

-- bad input leaves nothing half-written
SELECT record_order('cafe', 'K1', 'CF-bad', '[{"sku": "x", "qty": -1, "price": 1000}]');
SELECT record_order('cafe', 'K1', 'CF-bad', '[{"sku": "x", "price": -5}]');
SELECT record_order('cafe', 'K1', 'CF-bad', total => 'NaN');
SELECT record_order('cafe', 'K1', 'CF-bad', total => 1e30);
SELECT record_order('nope', 'K1', 'CF-bad', total => 1000);
SELECT record_order('cafe', 'K1', NULL, total => 1000);
SELECT count(*) AS half_written FROM member_order WHERE document = 'CF-bad';

-- A9: returns take back points in proportion, cumulatively, never more than earned
SELECT points FROM record_order('fashion', 'F1', 'F-002',
  '[{"sku": "SH-1", "group": "Shirts", "qty": 3, "price": 150000}, {"sku": "HAT", "qty": 1, "price": 95000}]');
SELECT return_order('fashion', 'F-002', 'RET-1', '[{"line": 1, "qty": 1}]') AS taken;
SELECT return_order('fashion', 'F-002', 'RET-1', '[{"line": 1, "qty": 1}]') AS taken_again;
SELECT return_order('fashion', 'F-002', 'RET-1', '[{"line": 1, "qty": 2}]');
SELECT return_order('fashion', 'F-002', 'RET-2', '[{"line": 1, "qty": 5}]');
SELECT return_order('fashion', 'F-002', 'RET-2', '[{"line": 9, "qty": 1}]');
SELECT return_order('fashion', 'F-002', 'RET-2', '[{"line": 1, "qty": 2}]') AS taken;
SELECT document, amount, points, returned_amount, reversed_points, status FROM member_order WHERE document = 'F-002';
SELECT cancel_order('fashion', 'F-002') AS rest;
SELECT cancel_order('fashion', 'F-002') AS again;
SELECT document, points, reversed_points, status FROM member_order WHERE document = 'F-002';
SELECT line_no, quantity, returned_quantity, points, reversed_points FROM member_order_line
 WHERE document = 'F-002' ORDER BY line_no;
-- by amount
SELECT points FROM record_order('vn_keep', 'cust-1', 'AM-1', total => 100000);
SELECT return_order('vn_keep', 'AM-1', 'AM-R1', amount => 30000) AS taken;
SELECT return_order('vn_keep', 'AM-1', 'AM-R2', amount => 80000);
SELECT return_order('vn_keep', 'AM-1', 'AM-R2', amount => 70000) AS taken;
-- a guest's order earned nothing and gives nothing back
SELECT cancel_order('cafe', 'CF-guest');

-- points already spent: the balance may go negative, or the take-back is capped
SELECT enroll('cafe', 'K2') > 0 AS enrolled;
SELECT points FROM record_order('cafe', 'K2', 'CF-K2', total => 30000);
SELECT adjust('cafe', 'K2', -8, 'spent-elsewhere');
SELECT cancel_order('cafe', 'CF-K2') AS taken;
SELECT balance('cafe', 'K2');
SELECT points FROM record_order('cafe', 'K2', 'CF-K2b', total => 30000);
SELECT balance('cafe', 'K2');
UPDATE program SET return_when_spent = 'cap_at_balance' WHERE code = 'cafe';
SELECT adjust('cafe', 'K2', -8, 'spent-again');
SELECT cancel_order('cafe', 'CF-K2b') AS taken;
SELECT balance('cafe', 'K2');
SELECT unrecovered FROM balance b WHERE member_id = member_id('cafe', 'K2');

-- lot expiry: lifetime, rounded to the end of the month in the program's time zone
UPDATE program SET points_lifetime = '6 months', expiry_rounding = 'end_of_month',
                   time_zone = 'Asia/Ho_Chi_Minh' WHERE code = 'vn_near';
SELECT lot_expiry(program_id, '2026-01-15 10:00+07') FROM program WHERE code = 'vn_near';
SELECT lot_expiry(program_id, '2026-01-31 23:30+07') FROM program WHERE code = 'vn_near';
SELECT points FROM record_order('vn_near', 'cust-1', 'EXP-1', total => 70000, ordered_at => '2026-03-10 09:00+07');
SELECT l.earned, l.remaining, l.expires_at FROM lot l JOIN ledger e ON e.entry_id = l.lot_id AND e.member_id = l.member_id
 WHERE e.document = 'EXP-1';
UPDATE program SET time_zone = 'Mars/Olympus' WHERE code = 'vn_near';

-- a document id belongs to one customer
SELECT points FROM record_order('cafe', 'K1', 'CF-own', total => 20000);
SELECT points FROM record_order('cafe', 'nobody', 'CF-own', total => 20000);
-- an order is returned by lines or by amounts, not both
SELECT points FROM record_order('vn_keep', 'cust-1', 'MIX-1', '[{"sku": "a", "qty": 2, "price": 50000}]');
SELECT return_order('vn_keep', 'MIX-1', 'MIX-R1', amount => 50000) AS taken;
SELECT return_order('vn_keep', 'MIX-1', 'MIX-R2', '[{"line": 1, "qty": 1}]');
-- the card shown at the till decides card-series rules
SELECT issue_card(member_id('fashion', 'F1'), card_no => '2900000012345') AS imported_card;
SELECT rule_name, points FROM explain_accrual('fashion', 'F1', '[{"sku": "HAT", "price": 100000}]',
                                              card_no => '2900000012345');
SELECT a.note, a.kind, a.amount FROM ledger a WHERE a.source = 'adjust' ORDER BY a.document;

-- the ledger is append-only and consistent
UPDATE ledger SET amount = 1000;
DELETE FROM ledger;
SELECT * FROM check_ledger();
SELECT p.code, m.customer_key, b.points, b.earned_total, b.reversed_total, b.orders
  FROM balance b JOIN member m USING (member_id) JOIN program p ON p.program_id = b.program_id
 ORDER BY p.code, m.customer_key;
