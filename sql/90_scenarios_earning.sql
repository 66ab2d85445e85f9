-- Scenarios from the users' documents: earning points (A1-A9) and membership
-- cards and tiers (C1-C5), written as a POS/ERP developer or DBA would run
-- them against the public SQL API.  Amounts in dong (no minor unit).
\set VERBOSITY terse
SET search_path = public, loyalty;

-------------------------------------------------------------------------------
-- A1: points by order value at a preset conversion.  The document's example:
-- bills of 50,000d or more earn 10% of their value, 1 point = 1,000d, so a
-- 55,000d bill earns 5.5 points, rounded by default to 6.
-------------------------------------------------------------------------------
INSERT INTO program (code, name, currency, point_value, rounding)
VALUES ('sc_hoamai', 'Thoi trang Hoa Mai', 'VND', 1000, 'nearest');
INSERT INTO rule (program_id, name, kind, percent, min_bill)
  SELECT program_id, 'Hoa don tu 50.000d: 10%', 'percent', 10, 50000 FROM program WHERE code = 'sc_hoamai';
SELECT enroll('sc_hoamai', 'KH001', 'Nguyen Van An', phone => '0903123456') IS NOT NULL AS enrolled;
-- A1: user expects 6 points for a 55,000d bill (5.5 rounded to the nearest)
SELECT points, replayed FROM record_order('sc_hoamai', 'KH001', 'HD-0001',
    '[{"sku": "TAT-01", "group": "Socks", "qty": 1, "price": 55000}]');
-- A1: a 49,000d bill is under the 50,000d mark: 0 points
SELECT points FROM record_order('sc_hoamai', 'KH001', 'HD-0002', total => 49000);
-- A1: exactly 50,000d earns: 5 points
SELECT points FROM record_order('sc_hoamai', 'KH001', 'HD-0003', total => 50000);
SELECT balance('sc_hoamai', 'KH001') AS balance_11;
-- A1: the explanation the cashier sees: the line earns 5.5, rounding +0.5
SELECT line_no, sku, amount, rule_name, points, reason
  FROM explain_accrual('sc_hoamai', 'KH001', '[{"sku": "TAT-01", "group": "Socks", "qty": 1, "price": 55000}]');
-- A1: a till retry of the same bill posts nothing; a different total is LY001
SELECT points, replayed FROM record_order('sc_hoamai', 'KH001', 'HD-0001',
    '[{"sku": "TAT-01", "group": "Socks", "qty": 1, "price": 55000}]');
SELECT points FROM record_order('sc_hoamai', 'KH001', 'HD-0001', total => 56000);
-- A1: a per-amount conversion, 1 point per 100,000d: a 150,000d bill earns 1.5 (kept)
INSERT INTO program (code, name, point_value, rounding) VALUES ('sc_per100k', 'Per 100k', 1000, 'keep');
INSERT INTO rule (program_id, name, kind, points, per_amount)
  SELECT program_id, '1 diem / 100.000d', 'per_amount', 1, 100000 FROM program WHERE code = 'sc_per100k';
SELECT enroll('sc_per100k', 'P1') IS NOT NULL AS enrolled;
SELECT points FROM record_order('sc_per100k', 'P1', 'HD-1', total => 150000);

-------------------------------------------------------------------------------
-- A7: rounding of fractional points.  The document: "by default the system
-- rounds to 6 points; if this setting is on, it counts 5 points"; or kept.
-------------------------------------------------------------------------------
INSERT INTO program (code, name, point_value, rounding) VALUES
  ('sc_round_down', 'Round down', 1000, 'down'), ('sc_round_keep', 'Keep', 1000, 'keep');
INSERT INTO rule (program_id, name, kind, percent, min_bill)
  SELECT program_id, '10% from 50,000d', 'percent', 10, 50000 FROM program
   WHERE code IN ('sc_round_down', 'sc_round_keep');
SELECT enroll('sc_round_down', 'KH001') IS NOT NULL AND enroll('sc_round_keep', 'KH001') IS NOT NULL AS enrolled;
-- A7: user expects 5 (down) and 5.5 (kept)
SELECT (SELECT points FROM record_order('sc_round_down', 'KH001', 'HD-0001', total => 55000)) AS down,
       (SELECT points FROM record_order('sc_round_keep', 'KH001', 'HD-0001', total => 55000)) AS keep;
-- A7: nearest rounds the exact points once per order: 54,999d is 5.4999 points -> 5
-- (not 5.5 -> 6), 65,000d is 6.5 -> 7
SELECT (SELECT points FROM record_order('sc_hoamai', 'KH001', 'HD-0010', total => 54999)) AS p_54999,
       (SELECT points FROM record_order('sc_hoamai', 'KH001', 'HD-0011', total => 65000)) AS p_65000;

-------------------------------------------------------------------------------
-- A2: points per transaction (visit).  The document: a cafe gives 10 points
-- per visit; at 100 points the next bill gets 10% off (B4, see 91).
-------------------------------------------------------------------------------
INSERT INTO program (code, name, point_value) VALUES ('sc_cafe', 'Ca phe Sua Da', 1000);
INSERT INTO rule (program_id, name, kind, points)
  SELECT program_id, '10 diem moi lan ghe', 'per_order', 10 FROM program WHERE code = 'sc_cafe';
SELECT enroll('sc_cafe', 'C-0901') IS NOT NULL AS enrolled;
-- A2: a 25,000d coffee and a 300,000d party both earn 10 points: 20 in all
SELECT points FROM record_order('sc_cafe', 'C-0901', 'CF-1', total => 25000);
SELECT points FROM record_order('sc_cafe', 'C-0901', 'CF-2',
    '[{"sku": "CF-DEN", "qty": 10, "price": 25000}, {"sku": "BANH", "qty": 5, "price": 10000}]');
SELECT balance('sc_cafe', 'C-0901') AS balance_20;
-- A2: the visit shows as its own row in the explanation
SELECT line_no, sku, rule_name, points, reason FROM explain_accrual('sc_cafe', 'C-0901', total => 25000);

-------------------------------------------------------------------------------
-- A3: points by quantity bought, not only by amount (2 points per unit)
-------------------------------------------------------------------------------
INSERT INTO program (code, name, point_value) VALUES ('sc_qty', 'Per quantity', 1000);
INSERT INTO rule (program_id, name, kind, points)
  SELECT program_id, '2 diem moi san pham', 'per_quantity', 2 FROM program WHERE code = 'sc_qty';
SELECT enroll('sc_qty', 'Q1') IS NOT NULL AS enrolled;
-- A3: 3 cheap items and 1 expensive one: 8 points whatever the prices
SELECT points FROM record_order('sc_qty', 'Q1', 'Q-1',
    '[{"sku": "BUT", "qty": 3, "price": 5000}, {"sku": "BALO", "qty": 1, "price": 900000}]');
-- A3: wholesale quantities in fractions (2.5 kg): 5 points
SELECT points FROM record_order('sc_qty', 'Q1', 'Q-2', '[{"sku": "GAO", "qty": 2.5, "price": 20000}]');

-------------------------------------------------------------------------------
-- A4: rules for all goods, for groups and for single items, with any number
-- of exceptions.  The document: "Shirts" earn 2 points, "Shoes" 5% back,
-- "Trousers" earn nothing; everything else 1 point per 100,000d.
-------------------------------------------------------------------------------
INSERT INTO program (code, name, point_value) VALUES ('sc_groups', 'Theo nhom hang', 1000);
INSERT INTO rule (program_id, name, kind, points, per_amount)
  SELECT program_id, 'all goods: 1 / 100,000d', 'per_amount', 1, 100000 FROM program WHERE code = 'sc_groups';
INSERT INTO rule (program_id, name, kind, points, item_group)
  SELECT program_id, 'Ao: 2 diem', 'per_quantity', 2, 'Ao' FROM program WHERE code = 'sc_groups';
INSERT INTO rule (program_id, name, kind, percent, item_group)
  SELECT program_id, 'Giay: 5%', 'percent', 5, 'Giay' FROM program WHERE code = 'sc_groups';
INSERT INTO rule (program_id, name, kind, item_group)
  SELECT program_id, 'Quan: khong tich diem', 'exclude', 'Quan' FROM program WHERE code = 'sc_groups';
-- exceptions inside a group: one shirt earns 10 points, one pair of shoes nothing
INSERT INTO rule (program_id, name, kind, points, item_sku)
  SELECT program_id, 'Ao dai lua: 10 diem', 'per_quantity', 10, 'AO-LUA' FROM program WHERE code = 'sc_groups';
INSERT INTO rule (program_id, name, kind, item_sku)
  SELECT program_id, 'Giay sale: khong', 'exclude', 'GIAY-SALE' FROM program WHERE code = 'sc_groups';
SELECT enroll('sc_groups', 'G1') IS NOT NULL AS enrolled;
-- A4: user expects 4 (2 shirts) + 40 (5% of 800,000d) + 0 (trousers) + 3 (300,000d of socks)
--     + 10 (the silk shirt) + 0 (shoes on sale) = 57
SELECT line_no, sku, rule_name, points, reason FROM explain_accrual('sc_groups', 'G1', '[
    {"sku": "SOMI-TR",   "group": "Ao",   "qty": 2, "price": 250000},
    {"sku": "GIAY-DA",   "group": "Giay", "qty": 1, "price": 800000},
    {"sku": "QUAN-KK",   "group": "Quan", "qty": 1, "price": 400000},
    {"sku": "TAT",       "group": "Tat",  "qty": 3, "price": 100000},
    {"sku": "AO-LUA",    "group": "Ao",   "qty": 1, "price": 1200000},
    {"sku": "GIAY-SALE", "group": "Giay", "qty": 1, "price": 500000}]') ORDER BY line_no NULLS LAST;
SELECT points FROM record_order('sc_groups', 'G1', 'G-1', '[
    {"sku": "SOMI-TR",   "group": "Ao",   "qty": 2, "price": 250000},
    {"sku": "GIAY-DA",   "group": "Giay", "qty": 1, "price": 800000},
    {"sku": "QUAN-KK",   "group": "Quan", "qty": 1, "price": 400000},
    {"sku": "TAT",       "group": "Tat",  "qty": 3, "price": 100000},
    {"sku": "AO-LUA",    "group": "Ao",   "qty": 1, "price": 1200000},
    {"sku": "GIAY-SALE", "group": "Giay", "qty": 1, "price": 500000}]');
-- A4: a bill of trousers only earns nothing
SELECT points FROM record_order('sc_groups', 'G1', 'G-2', '[{"sku": "QUAN-JEAN", "group": "Quan", "price": 600000}]');

-------------------------------------------------------------------------------
-- A5: different rules for customer groups and card series; rules change over
-- time, each with a validity period, and history stays explainable.
-------------------------------------------------------------------------------
INSERT INTO program (code, name, point_value, rounding) VALUES ('sc_groups2', 'Nhom khach', 1000, 'keep');
INSERT INTO rule (program_id, name, kind, percent, valid_to)
  SELECT program_id, '2025: 1%', 'percent', 1, '2026-01-01 00:00+07' FROM program WHERE code = 'sc_groups2';
INSERT INTO rule (program_id, name, kind, percent, valid_from)
  SELECT program_id, 'from 2026: 2%', 'percent', 2, '2026-01-01 00:00+07' FROM program WHERE code = 'sc_groups2';
INSERT INTO rule (program_id, name, kind, percent, customer_group, valid_from)
  SELECT program_id, 'wholesale from 2026: 3%', 'percent', 3, 'wholesale', '2026-01-01 00:00+07' FROM program WHERE code = 'sc_groups2';
INSERT INTO rule (program_id, name, kind, percent, card_series)
  SELECT program_id, 'Gold cards: 5%', 'percent', 5, 'GOLD' FROM program WHERE code = 'sc_groups2';
SELECT enroll('sc_groups2', 'LE-1', 'Khach le') IS NOT NULL AS retail,
       enroll('sc_groups2', 'SI-1', 'Cong ty Minh Phat', kind => 'organisation', groups => '{wholesale}') IS NOT NULL AS wholesale,
       enroll('sc_groups2', 'GOLD-1', 'Khach the vang') IS NOT NULL AS gold;
SELECT issue_card(member_id('sc_groups2', 'GOLD-1'), 'GOLD', card_no => '6048 1234 5678') AS gold_card;
-- A5: a 1,000,000d bill in December 2025 earns 1% (10); in 2026 retail 2% (20),
-- wholesale 3% (30), a Gold card 5% (50)
SELECT (SELECT points FROM record_order('sc_groups2', 'LE-1', 'A5-1', total => 1000000, ordered_at => '2025-12-31 20:00+07')) AS retail_2025,
       (SELECT points FROM record_order('sc_groups2', 'LE-1', 'A5-2', total => 1000000, ordered_at => '2026-01-01 08:00+07')) AS retail_2026,
       (SELECT points FROM record_order('sc_groups2', 'SI-1', 'A5-3', total => 1000000, ordered_at => '2026-01-05 08:00+07')) AS wholesale_2026,
       (SELECT points FROM record_order('sc_groups2', 'GOLD-1', 'A5-4', total => 1000000, ordered_at => '2026-01-05 08:00+07')) AS gold_2026;
-- A5: history stays explainable: the 2025 order still names the 2025 rule
SELECT o.document, r.name AS rule, o.points
  FROM member_order o JOIN ledger l ON l.member_id = o.member_id AND l.entry_id = o.entry_id
  JOIN rule r ON r.rule_id = l.rule_id
 WHERE o.program_id = (SELECT program_id FROM program WHERE code = 'sc_groups2') ORDER BY o.document;
SELECT rule_name, points FROM explain_accrual('sc_groups2', 'LE-1', total => 1000000,
                                             ordered_at => '2025-06-01 12:00+07');
-- A5: a blocked Gold card no longer earns the Gold rate
UPDATE card SET status = 'blocked' WHERE card_no = '6048 1234 5678';
SELECT rule_name, points FROM explain_accrual('sc_groups2', 'GOLD-1', total => 1000000,
                                             ordered_at => '2026-02-01 12:00+07');

-------------------------------------------------------------------------------
-- A6: switches (KiotViet and the first survey's six settings)
-------------------------------------------------------------------------------
INSERT INTO program (code, name, point_value, rounding) VALUES ('sc_switch', 'Switches', 1000, 'keep');
INSERT INTO rule (program_id, name, kind, percent)
  SELECT program_id, '10%', 'percent', 10 FROM program WHERE code = 'sc_switch';
SELECT enroll('sc_switch', 'S1') IS NOT NULL AS enrolled;
-- defaults: a discounted item earns on what was paid (90,000d -> 9)
SELECT points FROM record_order('sc_switch', 'S1', 'SW-1', '[{"sku": "A", "price": 100000, "discount": 10000}]');
-- A6 "no points on discounted items": the discounted line earns nothing, the other earns
UPDATE program SET earn_on_discounted_items = false WHERE code = 'sc_switch';
SELECT line_no, sku, points, reason FROM explain_accrual('sc_switch', 'S1',
    '[{"sku": "A", "price": 100000, "discount": 10000}, {"sku": "B", "price": 50000}]');
-- A6 "no points on bills paid with points": a 100,000d bill with 30,000d paid by
-- points earns 7 (money part) by default, nothing with earn_on_points_paid = none
SELECT points FROM record_order('sc_switch', 'S1', 'SW-2', total => 100000, paid_with_points => 30000);
UPDATE program SET earn_on_points_paid = 'none' WHERE code = 'sc_switch';
SELECT points FROM record_order('sc_switch', 'S1', 'SW-3', total => 100000, paid_with_points => 30000);
-- A6 "no points when a bill discount was applied"
UPDATE program SET earn_with_bill_discount = false WHERE code = 'sc_switch';
SELECT reason FROM explain_accrual('sc_switch', 'S1', total => 100000, bill_discount => 5000);
SELECT points FROM record_order('sc_switch', 'S1', 'SW-4', total => 95000, bill_discount => 5000);
-- A6 "no points for cheap items": lines under 20,000d earn nothing
UPDATE program SET min_item_price = 20000 WHERE code = 'sc_switch';
SELECT line_no, sku, points, reason FROM explain_accrual('sc_switch', 'S1',
    '[{"sku": "KEO", "qty": 10, "price": 5000}, {"sku": "BANH", "qty": 1, "price": 20000}]');
-- A6 "services earn like products" (on by default) and off
SELECT points FROM record_order('sc_switch', 'S1', 'SW-5', '[{"sku": "MASSAGE", "price": 300000, "service": true}]');
UPDATE program SET services_earn = false WHERE code = 'sc_switch';
SELECT line_no, sku, points, reason FROM explain_accrual('sc_switch', 'S1',
    '[{"sku": "MASSAGE", "price": 300000, "service": true}, {"sku": "DAU-GOI", "price": 100000}]');
-- A6 "customer code required": a guest bill (no customer code) earns nothing and
-- records nothing; with unknown_customer = error an unknown code is refused (LY002)
SELECT member_id, points FROM record_order('sc_switch', NULL, 'SW-GUEST', total => 100000);
SELECT member_id, points FROM record_order('sc_switch', 'NOBODY', 'SW-6', total => 100000);
UPDATE program SET unknown_customer = 'error' WHERE code = 'sc_switch';
SELECT member_id, points FROM record_order('sc_switch', 'NOBODY', 'SW-6', total => 100000);
-- unknown_customer = enroll: a new customer code is enrolled at the till and earns
UPDATE program SET unknown_customer = 'enroll' WHERE code = 'sc_switch';
SELECT member_id IS NOT NULL AS enrolled, points FROM record_order('sc_switch', 'NEW-1', 'SW-7', total => 100000);

-------------------------------------------------------------------------------
-- A8: retail card holders and wholesale counterparties (organisations) earn
-------------------------------------------------------------------------------
SELECT enroll('sc_hoamai', 'NCC-042', 'Cong ty TNHH Minh Phat', kind => 'organisation',
              groups => '{wholesale}', email => 'ketoan@minhphat.vn') IS NOT NULL AS enrolled;
SELECT points FROM record_order('sc_hoamai', 'NCC-042', 'PX-7781', total => 12500000, channel => 'wholesale');
SELECT kind, groups, balance('sc_hoamai', customer_key) AS balance FROM member
 WHERE member_id = member_id('sc_hoamai', 'NCC-042');

-------------------------------------------------------------------------------
-- A9: returns and cancellations take back the points they earned, in proportion
-------------------------------------------------------------------------------
SELECT enroll('sc_groups', 'G2') IS NOT NULL AS enrolled;
-- 4 shirts (8 points) and shoes of 800,000d (40 points): 48
SELECT points FROM record_order('sc_groups', 'G2', 'R-1', '[
    {"sku": "SOMI", "group": "Ao", "qty": 4, "price": 250000},
    {"sku": "GIAY", "group": "Giay", "qty": 1, "price": 800000}]');
-- A9: 1 shirt of 4 back: 2 points back; then 1 more: 2 more
SELECT return_order('sc_groups', 'R-1', 'R-1-TRA1', '[{"line": 1, "qty": 1}]') AS taken;
SELECT return_order('sc_groups', 'R-1', 'R-1-TRA2', '[{"line": 1, "qty": 1}]') AS taken;
-- the same return sent again takes nothing more
SELECT return_order('sc_groups', 'R-1', 'R-1-TRA2', '[{"line": 1, "qty": 1}]') AS taken_again;
SELECT balance('sc_groups', 'G2') AS balance_44;
-- A9: a money return of half the order in points: 50% of 48 -> cumulative 24
SELECT points FROM record_order('sc_hoamai', 'KH001', 'HD-0020', total => 200000);
SELECT return_order('sc_hoamai', 'HD-0020', 'HD-0020-TRA', amount => 100000) AS taken_10;
-- A9: cancelling takes back the rest, once
SELECT cancel_order('sc_hoamai', 'HD-0020') AS rest_10;
SELECT cancel_order('sc_hoamai', 'HD-0020') AS again;
SELECT status, returned_amount, reversed_points FROM member_order
 WHERE member_id = member_id('sc_hoamai', 'KH001') AND document = 'HD-0020';
-- A9: returning more than was bought is refused (LY004)
SELECT return_order('sc_groups', 'R-1', 'R-1-TRA3', '[{"line": 2, "qty": 2}]');

-------------------------------------------------------------------------------
-- C1: card tiers with their own discount: Member 5%, VIP 10%, Gold 15%.
-- Cards identified by magnetic stripe, chip or printed code.
-- C2: automatic upgrade when revenue turned into points reaches a tier's
-- mark, recording when, where (branch) and why.
-- C3: automatic downgrade when the revenue requirement is not met in the
-- window (Gold: 1 year; VIP: 6 months).
-------------------------------------------------------------------------------
INSERT INTO program (code, name, point_value, time_zone)
VALUES ('sc_spa', 'Relipos Spa', 1000, 'Asia/Ho_Chi_Minh');
INSERT INTO rule (program_id, name, kind, points, per_amount)
  SELECT program_id, '1 diem / 100.000d', 'per_amount', 1, 100000 FROM program WHERE code = 'sc_spa';
-- revenue turned into points: Member from the first order, VIP at 50 points
-- within 6 months, Gold at 200 points within 12 months
INSERT INTO tier (program_id, rank, name, measure, threshold, window_months, discount_percent)
SELECT program_id, r, n, 'points_earned', t, w, d FROM program,
  (VALUES (1, 'Member', 0, NULL::integer, 5), (2, 'VIP', 50, 6, 10), (3, 'Gold', 200, 12, 15)) AS v(r, n, t, w, d)
 WHERE code = 'sc_spa';
SELECT enroll('sc_spa', '0912000111', 'Tran Thi Binh', phone => '0912000111', birthday => '1990-07-15') IS NOT NULL AS enrolled;
-- C1: a magnetic-stripe card number imported as it is
SELECT issue_card(member_id('sc_spa', '0912000111'), 'MAG', card_no => ';6048123412341234=2812?') AS card;
SELECT card_no, series, status FROM card WHERE member_id = member_id('sc_spa', '0912000111');
-- C1: a printed card from our own series carries a check symbol
SELECT issue_card(member_id('sc_spa', '0912000111'), 'SPA') ~ '^SPA-' AS printed_card;
-- C2: first visit 2,000,000d at Q1 (20 points): Member, 5%
SELECT points FROM record_order('sc_spa', '0912000111', 'SPA-1', total => 2000000, branch => 'Q1',
                                ordered_at => '2026-01-10 10:00+07');
SELECT member_tier('sc_spa', '0912000111') AS tier, member_tier_discount('sc_spa', '0912000111') AS discount;
-- C5: how close to VIP: 30 points to go
SELECT current_tier, next_tier, measure, qualifying, threshold, needed
  FROM tier_progress(member_id('sc_spa', '0912000111'), (SELECT program_id FROM program WHERE code = 'sc_spa'),
                     '2026-01-11 00:00+07');
-- C2: 3,500,000d at Q3 crosses 50 points: VIP at once, at branch Q3, because of that bill
SELECT points FROM record_order('sc_spa', '0912000111', 'SPA-2', total => 3500000, branch => 'Q3',
                                ordered_at => '2026-02-01 15:00+07');
SELECT member_tier('sc_spa', '0912000111') AS tier, member_tier_discount('sc_spa', '0912000111') AS discount;
-- C2: 15,000,000d reaches Gold (205 points in 12 months)
SELECT points FROM record_order('sc_spa', '0912000111', 'SPA-3', total => 15000000, branch => 'Q1',
                                ordered_at => '2026-03-01 15:00+07');
SELECT member_tier('sc_spa', '0912000111') AS tier, member_tier_discount('sc_spa', '0912000111') AS discount;
SELECT f.name AS from_tier, t.name AS to_tier, h.branch, h.reason, h.document
  FROM tier_history h LEFT JOIN tier f ON f.tier_id = h.from_tier LEFT JOIN tier t ON t.tier_id = h.to_tier
 WHERE h.member_id = member_id('sc_spa', '0912000111') ORDER BY h.history_id;
-- C3: no purchase for a year: the tier job moves the card down (a retry changes nothing)
-- (Gold's 12-month window still holds 205 points on 1 December 2026; on 2 March
-- 2027 it holds nothing, nor does VIP's 6-month window: back to Member)
SELECT recalculate_tiers('sc_spa', '0912000111', '2026-12-01 00:00+07') AS changed_dec;
SELECT member_tier('sc_spa', '0912000111') AS tier_dec;
SELECT recalculate_tiers('sc_spa', '0912000111', '2027-03-02 00:00+07') AS changed_mar;
SELECT member_tier('sc_spa', '0912000111') AS tier_mar, member_tier_discount('sc_spa', '0912000111') AS discount;
SELECT recalculate_tiers('sc_spa', '0912000111', '2027-03-02 00:00+07') AS changed_again;
SELECT f.name AS from_tier, t.name AS to_tier, h.reason
  FROM tier_history h LEFT JOIN tier f ON f.tier_id = h.from_tier LEFT JOIN tier t ON t.tier_id = h.to_tier
 WHERE h.member_id = member_id('sc_spa', '0912000111') ORDER BY h.history_id OFFSET 3;

-------------------------------------------------------------------------------
-- C2 (measure spend): "Gold needs 20,000,000d of revenue in a calendar year"
-------------------------------------------------------------------------------
INSERT INTO program (code, name, point_value, time_zone)
VALUES ('sc_spend', 'Spend tiers', 1000, 'Asia/Ho_Chi_Minh');
INSERT INTO tier (program_id, rank, name, measure, threshold, window_months, window_kind, discount_percent)
SELECT program_id, r, n, 'spend', t, 12, 'calendar', d FROM program,
  (VALUES (1, 'Member', 0, 5), (2, 'VIP', 5000000, 10), (3, 'Gold', 20000000, 15)) AS v(r, n, t, d)
 WHERE code = 'sc_spend';
SELECT enroll('sc_spend', 'V1') IS NOT NULL AS enrolled;
SELECT points FROM record_order('sc_spend', 'V1', 'SP-1', total => 19999999, ordered_at => '2026-05-01 10:00+07');
SELECT member_tier('sc_spend', 'V1') AS tier_vip;
SELECT points FROM record_order('sc_spend', 'V1', 'SP-2', total => 1, ordered_at => '2026-05-02 10:00+07');
SELECT member_tier('sc_spend', 'V1') AS tier_gold;
-- a new calendar year starts from zero: the job moves the card back to Member
SELECT recalculate_tiers('sc_spend', 'V1', '2027-01-01 00:30+07') AS changed;
SELECT member_tier('sc_spend', 'V1') AS tier;

-------------------------------------------------------------------------------
-- C4: birthday offers on the day, the week or the month, or a chosen day of
-- the month, with multipliers (x2, x3)
-------------------------------------------------------------------------------
INSERT INTO birthday_offer (program_id, scope, multiplier, discount_percent)
  SELECT program_id, 'day', 3, 20 FROM program WHERE code = 'sc_hoamai';
INSERT INTO birthday_offer (program_id, scope, multiplier, discount_percent)
  SELECT program_id, 'week', 2, 10 FROM program WHERE code = 'sc_hoamai';
SELECT enroll('sc_hoamai', 'BD-1', 'Le Van Cuong', birthday => '1985-11-18') IS NOT NULL AS enrolled;
-- C4: the birthday (Wednesday 18 November 2026) x3; the same week x2; a week later x1
SELECT birthday_multiplier('sc_hoamai', 'BD-1', '2026-11-18 12:00+00') AS on_day,
       birthday_multiplier('sc_hoamai', 'BD-1', '2026-11-16 12:00+00') AS monday_same_week,
       birthday_multiplier('sc_hoamai', 'BD-1', '2026-11-25 12:00+00') AS next_week;
-- C4: the birthday discount for the bill: 20% on the day, 10% in the week, 0 after
SELECT birthday_discount('sc_hoamai', 'BD-1', '2026-11-18 12:00+00') AS on_day,
       birthday_discount('sc_hoamai', 'BD-1', '2026-11-22 12:00+00') AS sunday_same_week,
       birthday_discount('sc_hoamai', 'BD-1', '2026-11-25 12:00+00') AS next_week,
       birthday_discount('sc_hoamai', 'NOBODY', '2026-11-18 12:00+00') AS not_a_member;
-- C4: the multiplier applies to the bill: 100,000d at 10% earns 10 x 3 = 30 on the day
SELECT points FROM record_order('sc_hoamai', 'BD-1', 'BD-HD-1', total => 100000, ordered_at => '2026-11-18 12:00+00');
SELECT points FROM record_order('sc_hoamai', 'BD-1', 'BD-HD-2', total => 100000, ordered_at => '2026-11-20 12:00+00');
SELECT points FROM record_order('sc_hoamai', 'BD-1', 'BD-HD-3', total => 100000, ordered_at => '2026-12-20 12:00+00');
-- C4: a birthday month offer x2 and "the 10th of the birthday month" x3
INSERT INTO program (code, name, point_value) VALUES ('sc_bday2', 'Birthday month', 1000);
INSERT INTO birthday_offer (program_id, scope, multiplier)
  SELECT program_id, 'month', 2 FROM program WHERE code = 'sc_bday2';
INSERT INTO birthday_offer (program_id, scope, day_of_month, multiplier)
  SELECT program_id, 'day_of_month', 10, 3 FROM program WHERE code = 'sc_bday2';
SELECT enroll('sc_bday2', 'BD-2', birthday => '1992-03-27') IS NOT NULL AS enrolled;
SELECT birthday_multiplier('sc_bday2', 'BD-2', '2026-03-01 12:00+00') AS march_1st,
       birthday_multiplier('sc_bday2', 'BD-2', '2026-03-10 12:00+00') AS march_10th,
       birthday_multiplier('sc_bday2', 'BD-2', '2026-04-10 12:00+00') AS april_10th;

-- C1: the POS reads the card and records the bill by the card alone: the
-- card's holder earns (a later bill, so the tier steps above stay as they are)
SELECT member_id = member_id('sc_spa', '0912000111') AS card_holder, points
  FROM record_order('sc_spa', NULL, 'SPA-CARD-1', total => 2000000, branch => 'Q1',
                    ordered_at => '2026-11-09 10:00+07', card_no => ';6048123412341234=2812?');
-- a card that is not an active card of the program is a guest's bill: no points
SELECT member_id IS NULL AS guest, points
  FROM record_order('sc_spa', NULL, 'SPA-CARD-2', total => 2000000, branch => 'Q1',
                    ordered_at => '2026-11-09 11:00+07', card_no => 'NO-SUCH-CARD');
-- and an error when the program refuses unknown customers
UPDATE program SET unknown_customer = 'error' WHERE code = 'sc_spa';
SELECT points FROM record_order('sc_spa', NULL, 'SPA-CARD-3', total => 2000000, branch => 'Q1',
                                ordered_at => '2026-11-09 12:00+07', card_no => 'NO-SUCH-CARD');
UPDATE program SET unknown_customer = 'ignore' WHERE code = 'sc_spa';

-- the ledger stays consistent after every scenario
SELECT count(*) AS violations FROM check_ledger();
