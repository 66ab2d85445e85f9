-- Discount policies: golden hours, groups, items, exclusive vs stackable, recording and effectiveness.
\set VERBOSITY terse
SET search_path = public, loyalty;
SET timezone = 'UTC';

INSERT INTO program (code, name, point_value, time_zone) VALUES ('dsc', 'Discount cafe', 1000, 'Asia/Ho_Chi_Minh');
SELECT enroll('dsc', 'VIP1', groups => '{VIP}') > 0 AS vip, enroll('dsc', 'R1', groups => '{retail}') > 0 AS retail;

-- G1: golden hours 14:00-17:00 local (07:00-10:00 UTC) on weekdays, 10% off drinks
INSERT INTO discount_policy (program_id, name, weekdays, hour_from, hour_to, item_groups, kind, value, stacking, priority)
SELECT program_id, 'golden hours: drinks 10%', '{1,2,3,4,5}', 14, 17, '{Drinks}', 'percent', 10, 'stackable', 5
  FROM program WHERE code = 'dsc';
-- G2: bills from 200,000 get 30,000 off (exclusive)
INSERT INTO discount_policy (program_id, name, min_bill, kind, value, stacking)
SELECT program_id, 'bill 200k: 30k off', 200000, 'amount', 30000, 'exclusive' FROM program WHERE code = 'dsc';
-- VIP: 5% on everything (stackable)
INSERT INTO discount_policy (program_id, name, customer_groups, kind, value, stacking, priority)
SELECT program_id, 'VIP 5%', '{VIP}', 'percent', 5, 'stackable', 1 FROM program WHERE code = 'dsc';
-- one customer: cake CK-1 20% (exclusive), only in December 2026
INSERT INTO discount_policy (program_id, name, customer_key, skus, kind, value, valid_from, valid_to)
SELECT program_id, 'R1 cake 20%', 'R1', '{CK-1}', 'percent', 20, '2026-12-01', '2027-01-01' FROM program WHERE code = 'dsc';

-- Wednesday 2026-12-02 15:30 local: golden hours
SELECT line_no, policy_name, stacking, amount FROM quote_discounts('dsc', 'VIP1', '[
  {"sku": "CF-1", "group": "Drinks", "qty": 2, "price": 45000},
  {"sku": "CK-1", "group": "Cakes", "qty": 1, "price": 60000}]', '2026-12-02 08:30+00');
-- the same bill at 18:00 local: only VIP 5%
SELECT line_no, policy_name, amount FROM quote_discounts('dsc', 'VIP1', '[
  {"sku": "CF-1", "group": "Drinks", "qty": 2, "price": 45000},
  {"sku": "CK-1", "group": "Cakes", "qty": 1, "price": 60000}]', '2026-12-02 11:00+00');
-- a Saturday is not a golden-hours day; a guest gets nothing else
SELECT line_no, policy_name, amount FROM quote_discounts('dsc', NULL, '[
  {"sku": "CF-1", "group": "Drinks", "qty": 2, "price": 45000}]', '2026-12-05 08:30+00');
-- a 250,000 bill: 30,000 exclusive beats the stack (9,000 + 12,500)
SELECT line_no, policy_name, stacking, amount FROM quote_discounts('dsc', 'VIP1', '[
  {"sku": "CF-1", "group": "Drinks", "qty": 2, "price": 45000},
  {"sku": "BR-1", "group": "Food", "qty": 1, "price": 160000}]', '2026-12-02 08:30+00');
-- a single customer's own policy (exclusive 12,000) vs nothing stackable for retail
SELECT line_no, policy_name, amount FROM quote_discounts('dsc', 'R1', '[
  {"sku": "CK-1", "group": "Cakes", "qty": 1, "price": 60000}]', '2026-12-10 03:00+00');
SELECT count(*) AS after_its_dates FROM quote_discounts('dsc', 'R1', '[
  {"sku": "CK-1", "group": "Cakes", "qty": 1, "price": 60000}]', '2027-01-10 03:00+00');
-- ties between exclusive policies go to the higher priority, then the lower id
INSERT INTO discount_policy (program_id, name, kind, value, priority)
SELECT program_id, 'tie A', 'amount', 1000, 0 FROM program WHERE code = 'dsc';
INSERT INTO discount_policy (program_id, name, kind, value, priority)
SELECT program_id, 'tie B', 'amount', 1000, 3 FROM program WHERE code = 'dsc';
SELECT policy_name, amount FROM quote_discounts('dsc', 'R1', '[{"sku": "X", "qty": 1, "price": 5000}]', '2026-12-05 03:00+00');
-- stacking never takes more than a line is worth
INSERT INTO discount_policy (program_id, name, kind, value, stacking, item_groups)
SELECT program_id, 'drinks 98%', 'percent', 98, 'stackable', '{Drinks}' FROM program WHERE code = 'dsc';
SELECT line_no, policy_name, amount FROM quote_discounts('dsc', 'VIP1', '[
  {"sku": "CF-1", "group": "Drinks", "qty": 1, "price": 10000}]', '2026-12-02 08:30+00');
UPDATE discount_policy SET active = false WHERE name IN ('drinks 98%', 'tie A', 'tie B');

-- G4: record what was applied with the order; retries are no-ops, changed content conflicts
SELECT line_no, policy_name, amount FROM apply_discounts('dsc', 'VIP1', 'HD-1', '[
  {"sku": "CF-1", "group": "Drinks", "qty": 2, "price": 45000},
  {"sku": "CK-1", "group": "Cakes", "qty": 1, "price": 60000}]', '2026-12-02 08:30+00');
SELECT count(*) FROM apply_discounts('dsc', 'VIP1', 'HD-1', '[
  {"sku": "CF-1", "group": "Drinks", "qty": 2, "price": 45000},
  {"sku": "CK-1", "group": "Cakes", "qty": 1, "price": 60000}]', '2026-12-02 08:30+00');
SELECT count(*) FROM apply_discounts('dsc', 'VIP1', 'HD-1', '[
  {"sku": "CF-1", "group": "Drinks", "qty": 3, "price": 45000}]', '2026-12-02 08:30+00');
SELECT record_applied_discounts('dsc', 'HD-2',
  (SELECT jsonb_agg(q) FROM quote_discounts('dsc', NULL, '[{"sku": "BR-1", "qty": 1, "price": 210000}]', '2026-12-02 08:30+00') q));
SELECT record_applied_discounts('dsc', 'HD-3', '[{"policy_id": -1, "line_no": 1, "amount": 5}]');
SELECT (o.member_id <> 0) AS is_member, o.document, d.name, o.line_no, o.amount
  FROM order_discount o JOIN discount_policy d USING (policy_id) ORDER BY o.document, o.line_no, d.name;
SELECT name, orders, members, discount_total FROM discount_effectiveness
 WHERE program_id = (SELECT program_id FROM program WHERE code = 'dsc') AND orders > 0 ORDER BY name;
-- bad input
INSERT INTO discount_policy (program_id, name, kind, value) SELECT program_id, 'too much', 'percent', 150 FROM program WHERE code = 'dsc';
INSERT INTO discount_policy (program_id, name, kind, value, valid_from, valid_to)
SELECT program_id, 'backwards', 'amount', 5, '2027-02-01', '2027-01-01' FROM program WHERE code = 'dsc';
SELECT count(*) FROM quote_discounts('nope', NULL, '[]');

-- A campaign's discount policy spends the campaign's money cap (H5)
INSERT INTO program (code, name, point_value) VALUES ('dsc_cap', 'Capped discounts', 1000);
SELECT count(enroll('dsc_cap', 'C' || i)) AS enrolled FROM generate_series(1, 4) i;
INSERT INTO campaign (program_id, code, name, starts_at, ends_at, budget_money, budget_slots)
SELECT program_id, 'dcap', 'Capped discount week', now() - interval '1 day', now() + interval '10 days', 50000, 2
  FROM program WHERE code = 'dsc_cap';
SELECT schedule_campaign('dcap'), start_campaign('dcap');
INSERT INTO discount_policy (program_id, campaign_id, name, kind, value, stacking, min_bill)
SELECT program_id, campaign_id, 'campaign: 20k off', 'amount', 20000, 'exclusive', 100000 FROM campaign WHERE code = 'dcap';
INSERT INTO discount_policy (program_id, name, kind, value, stacking)
SELECT program_id, 'everyone: 1%', 'percent', 1, 'exclusive' FROM program WHERE code = 'dsc_cap';
-- 50,000 of cap: two orders get 20,000 each, reserved when they are recorded
SELECT policy_name, amount FROM quote_discounts('dsc_cap', 'C1', '[{"sku": "A", "price": 150000}]');
SELECT policy_name, amount FROM apply_discounts('dsc_cap', 'C1', 'DC-1', '[{"sku": "A", "price": 150000}]');
SELECT policy_name, amount FROM apply_discounts('dsc_cap', 'C2', 'DC-2', '[{"sku": "A", "price": 150000}]');
SELECT taken_money, remaining_money, takes FROM campaign_budget WHERE code = 'dcap';
-- 10,000 left cannot pay 20,000: the policy is no longer quoted (never a part of it); the next best applies
SELECT policy_name, amount FROM quote_discounts('dsc_cap', 'C3', '[{"sku": "A", "price": 150000}]');
-- a retry does not spend the budget twice, even now that the cap could not pay it
SELECT policy_name, amount FROM apply_discounts('dsc_cap', 'C1', 'DC-1', '[{"sku": "A", "price": 150000}]');
SELECT record_applied_discounts('dsc_cap', 'DC-2',
  (SELECT jsonb_agg(o) FROM (SELECT policy_id, line_no, amount FROM order_discount WHERE document = 'DC-2') o), 'C2');
SELECT taken_money, remaining_money, takes FROM campaign_budget WHERE code = 'dcap';
-- a quote given while the cap could pay, recorded after it ran out: LC007, nothing written; quote again
UPDATE campaign SET budget_money = 70000 WHERE code = 'dcap';
CREATE TEMP TABLE dcap_quote AS
SELECT jsonb_agg(q) AS quote FROM quote_discounts('dsc_cap', 'C3', '[{"sku": "A", "price": 150000}]') q;
SELECT quote->0->>'policy_name' AS quoted FROM dcap_quote;
SELECT policy_name, amount FROM apply_discounts('dsc_cap', 'C4', 'DC-4', '[{"sku": "A", "price": 150000}]');
SELECT record_applied_discounts('dsc_cap', 'DC-3', (SELECT quote FROM dcap_quote), 'C3');
SELECT count(*) AS written FROM order_discount WHERE document = 'DC-3';
SELECT policy_name, amount FROM apply_discounts('dsc_cap', 'C3', 'DC-3', '[{"sku": "A", "price": 150000}]');
-- a paused campaign's policy is neither quoted nor recorded
UPDATE campaign SET budget_money = NULL WHERE code = 'dcap';
SELECT pause_campaign('dcap');
SELECT record_applied_discounts('dsc_cap', 'DC-5',
  (SELECT jsonb_agg(o) FROM (SELECT policy_id, 0 AS line_no, 20000 AS amount FROM discount_policy WHERE name = 'campaign: 20k off') o), 'C1');
SELECT start_campaign('dcap');
SELECT c.code, c.taken_money, c.takes, k.discounts FROM campaign_budget c JOIN campaign_cost k USING (campaign_id) WHERE c.code = 'dcap';
SELECT * FROM check_campaigns();

-- Per-branch money caps hold discounts too: each branch may give 30,000 of the campaign's discounts
INSERT INTO campaign (program_id, code, name, starts_at, ends_at, branch_budget_money, budget_slots)
SELECT program_id, 'dbranch', 'Branch discounts', now() - interval '1 day', now() + interval '10 days', 30000, 2
  FROM program WHERE code = 'dsc_cap';
SELECT schedule_campaign('dbranch');
UPDATE discount_policy SET active = false WHERE name = 'campaign: 20k off';
INSERT INTO discount_policy (program_id, campaign_id, name, kind, value, stacking, min_bill)
SELECT program_id, campaign_id, 'branch: 20k off', 'amount', 20000, 'exclusive', 100000 FROM campaign WHERE code = 'dbranch';
SELECT policy_name, amount FROM apply_discounts('dsc_cap', 'C1', 'DB-1', '[{"sku": "A", "price": 150000}]', branch => 'HN');
-- 10,000 left at HN: not quoted there, but at SG
SELECT policy_name, amount FROM quote_discounts('dsc_cap', 'C2', '[{"sku": "A", "price": 150000}]', branch => 'HN');
SELECT policy_name, amount FROM apply_discounts('dsc_cap', 'C2', 'DB-2', '[{"sku": "A", "price": 150000}]', branch => 'HN');
SELECT policy_name, amount FROM apply_discounts('dsc_cap', 'C3', 'DB-3', '[{"sku": "A", "price": 150000}]', branch => 'SG');
-- a quote of another branch recorded at HN: LC007
SELECT record_applied_discounts('dsc_cap', 'DB-4',
  (SELECT jsonb_agg(q) FROM quote_discounts('dsc_cap', 'C4', '[{"sku": "A", "price": 150000}]', branch => 'DN') q),
  'C4', branch => 'HN');
SELECT branch, taken_money, remaining_money, takes FROM campaign_branch_budget WHERE code = 'dbranch' ORDER BY branch;
SELECT taken_money FROM campaign_budget WHERE code = 'dbranch';
SELECT * FROM check_campaigns();

-- The policy cache follows changes at once (same session), and apply_discounts' retry rules
INSERT INTO program (code, name, point_value) VALUES ('dsc_fast', 'Cached policies', 1000);
SELECT count(*) FROM quote_discounts('dsc_fast', NULL, '[{"sku": "A", "price": 100000}]');
INSERT INTO discount_policy (program_id, name, kind, value, stacking, priority)
SELECT program_id, 'fast: 10%', 'percent', 10, 'stackable', 1 FROM program WHERE code = 'dsc_fast';
SELECT line_no, policy_name, amount FROM quote_discounts('dsc_fast', NULL, '[{"sku": "A", "price": 100000}]');
UPDATE discount_policy SET value = 12 WHERE name = 'fast: 10%';
SELECT line_no, policy_name, amount FROM quote_discounts('dsc_fast', NULL, '[{"sku": "A", "price": 100000}]');
-- a second stackable policy with a higher priority but a higher id: stacked first
INSERT INTO discount_policy (program_id, name, kind, value, stacking, priority, skus)
SELECT program_id, 'fast: 5,000 off B', 'amount', 5000, 'stackable', 9, '{B}' FROM program WHERE code = 'dsc_fast';
-- lines: no "line" (the position), "amount" over qty * price, numbers as strings, a non-object element
SELECT line_no, policy_name, amount FROM apply_discounts('dsc_fast', NULL, 'F-1',
  '[{"sku": "A", "qty": "2", "price": "50000"}, {"sku": "B", "qty": 3, "price": 1, "amount": 20000}, 7]');
-- a retry is a no-op and answers the same rows, in whatever order they were stacked
SELECT line_no, policy_name, amount FROM apply_discounts('dsc_fast', NULL, 'F-1',
  '[{"sku": "A", "qty": "2", "price": "50000"}, {"sku": "B", "qty": 3, "price": 1, "amount": 20000}, 7]');
SELECT count(*) FROM order_discount WHERE document = 'F-1';
-- a changed bill under the same document: LC004, whether it would get other discounts or none
SELECT line_no, policy_name, amount FROM apply_discounts('dsc_fast', NULL, 'F-1', '[{"sku": "A", "price": 100000}]');
UPDATE discount_policy SET active = false WHERE program_id = (SELECT program_id FROM program WHERE code = 'dsc_fast');
SELECT count(*) FROM quote_discounts('dsc_fast', NULL, '[{"sku": "A", "price": 100000}]');
SELECT count(*) FROM apply_discounts('dsc_fast', NULL, 'F-1', '[{"sku": "A", "price": 100000}]');
-- nothing to give and nothing recorded: nothing written
SELECT count(*) FROM apply_discounts('dsc_fast', NULL, 'F-2', '[{"sku": "A", "price": 100000}]');
SELECT count(*) FROM order_discount WHERE document = 'F-2';
-- bad input
SELECT count(*) FROM apply_discounts('dsc_fast', NULL, '', '[]');
SELECT count(*) FROM apply_discounts('nope', NULL, 'F-3', '[]');
SELECT count(*) FROM apply_discounts('dsc_fast', NULL, 'F-3', '{"sku": "A"}');
SELECT count(*) FROM apply_discounts('dsc_fast', NULL, 'F-3', '[{"sku": "A", "price": 10, "discount": 20}]');
