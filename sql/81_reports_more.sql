-- Report views over campaigns, discount policies, vouchers, wallets, product cards and tiers,
-- on a small data set whose figures are worked out in the comments.
\set VERBOSITY terse
SET search_path = public, loyalty;

INSERT INTO program (code, name, point_value, time_zone) VALUES ('rep2', 'Reports 2', 1000, 'Asia/Ho_Chi_Minh');
INSERT INTO rule (program_id, name, kind, percent) SELECT program_id, 'base 1%', 'percent', 1 FROM program WHERE code = 'rep2';
SELECT count(enroll('rep2', k)) AS enrolled FROM unnest(ARRAY['r1', 'r2', 'r3']) AS k;

-- a running campaign (10% of the bill, budget 100 points, no money cap)
INSERT INTO campaign (program_id, code, name, starts_at, ends_at, budget_points)
  SELECT program_id, 'rep2_week', 'Report week', now() - interval '1 day', now() + interval '1 day', 100
    FROM program WHERE code = 'rep2';
INSERT INTO rule (program_id, name, kind, percent, priority, campaign_id)
  SELECT program_id, 'week 10%', 'percent', 10, 10, campaign_id FROM campaign WHERE code = 'rep2_week';
SELECT schedule_campaign('rep2_week'), start_campaign('rep2_week');
-- r1 200,000 -> 20 points; r2 300,000 -> 30 points (both campaign); r1 returns 100,000 of its bill
SELECT points FROM record_order('rep2', 'r1', 'RP-1', total => 200000);
SELECT points FROM record_order('rep2', 'r2', 'RP-2', total => 300000);
SELECT return_order('rep2', 'RP-1', 'RP-1-R', amount => 100000) AS taken;
-- r1 spends 5 points during the campaign
INSERT INTO redemption_policy (program_id) SELECT program_id FROM program WHERE code = 'rep2';
SELECT points_used FROM redeem('rep2', 'r1', 'RP-3', 5, total => 50000);
-- participants 2, orders 2, revenue 100,000 + 300,000 = 400,000, issued 50, redeemed 5 -> 10%
SELECT campaign_code, status, participants, orders, revenue, points_issued, points_redeemed_by_participants,
       budget_points, redemption_rate_percent
  FROM report_campaigns WHERE program_code = 'rep2';

-- a discount policy applied to r3's bill only: with 1 bill of 80,000 (cost 8,000), without 2 bills of 400,000
INSERT INTO discount_policy (program_id, name, kind, value, customer_key)
  SELECT program_id, 'r3 10%', 'percent', 10, 'r3' FROM program WHERE code = 'rep2';
SELECT points FROM record_order('rep2', 'r3', 'RP-4', '[{"sku": "A", "price": 80000}]');
SELECT count(*) AS applied FROM apply_discounts('rep2', 'r3', 'RP-4', '[{"sku": "A", "price": 80000}]');
SELECT policy, bills_with, revenue_with, average_bill_with, bills_without, revenue_without,
       average_bill_without, cost
  FROM report_discount_policies WHERE program_code = 'rep2';

-- vouchers: 3 of 100,000 (invoiced 90,000), one used on a 250,000 bill
INSERT INTO voucher_type (program_id, code, name, kind, face_value, invoice_value)
  SELECT program_id, 'R100', 'Voucher 100K', 'voucher', 100000, 90000 FROM program WHERE code = 'rep2';
CREATE TEMP TABLE rep2_codes AS SELECT c::text AS code FROM voucher_issue('rep2', 'R100', 3) AS c;
SELECT ok, amount FROM voucher_redeem((SELECT min(code) FROM rep2_codes), 'RP-5', 'B1', 250000);
SELECT voucher_type, kind, issued, used, outstanding, amount_paid, invoice_value_issued
  FROM report_vouchers WHERE program_code = 'rep2';

-- wallet: top-up 500,000 then spend 120,000 at B1
SELECT balance FROM wallet_top_up('rep2', 'r2', 500000, 'W-1', 'B1');
SELECT balance FROM wallet_spend('rep2', 'r2', 'W-2', 120000, 'B1');
SELECT day = (now() AT TIME ZONE 'Asia/Ho_Chi_Minh')::date AS today, branch, kind, movements, amount
  FROM report_wallets WHERE program_code = 'rep2' ORDER BY kind;
SELECT members, float FROM report_wallet_float WHERE program_code = 'rep2';

-- product cards: 5 sessions, 2 used: 3 outstanding, worth 3 x 50,000 at the extra-unit price
INSERT INTO product_card_type (program_id, code, name, item_sku, units, visit_limit, price, extra_unit_price)
  SELECT program_id, 'R5', '5 sessions', 'SESSION', 5, 2, 200000, 50000 FROM program WHERE code = 'rep2';
SELECT product_card_issue('rep2', 'r1', 'R5', 'PC-1') AS rep2_card \gset
SELECT quantity FROM product_card_use(:'rep2_card', 2, 'PC-USE-1', 'B1');
SELECT card_type, item_sku, cards, units_outstanding, units_valid, value_at_unit_price
  FROM report_product_cards WHERE program_code = 'rep2';

-- tiers: Silver from 250,000 spent; r2 (300,000) moves up at its next order, r1 and r3 stay
INSERT INTO tier (program_id, rank, name, threshold) SELECT program_id, 1, 'Silver', 250000 FROM program WHERE code = 'rep2';
SELECT points FROM record_order('rep2', 'r2', 'RP-6', total => 10000);
SELECT rank, tier, members FROM report_tier_distribution WHERE program_code = 'rep2';
SELECT from_tier, to_tier, direction, moves FROM report_tier_moves WHERE program_code = 'rep2';

SELECT count(*) AS violations FROM check_ledger();
