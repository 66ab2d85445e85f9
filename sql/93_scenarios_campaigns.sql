-- Scenarios from the users' documents: discount policies (G1-G4) and
-- campaigns and promotions (H1-H7), written as a POS/ERP developer, a
-- marketing manager's DBA or a BI tool would run them against the public SQL
-- API.  Amounts in dong and roubles; every time is fixed (no now()).
\set VERBOSITY terse
SET search_path = public, loyalty;
SET timezone = 'UTC';

-- the SQLSTATE and message of a statement that fails
CREATE FUNCTION pg_temp.err(sql text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE sql;
    RETURN 'no error';
EXCEPTION WHEN OTHERS THEN
    RETURN SQLSTATE || ': ' || SQLERRM;
END
$$;

-- A Vietnamese cafe-bakery chain (Relipos restaurant style), times local (+07)
INSERT INTO program (code, name, currency, point_value, time_zone)
VALUES ('sc_giamgia', 'Banh & Ca phe', 'VND', 1000, 'Asia/Ho_Chi_Minh');
INSERT INTO rule (program_id, name, kind, points, per_amount)
  SELECT program_id, '1 diem / 10.000d', 'per_amount', 1, 10000 FROM program WHERE code = 'sc_giamgia';
SELECT count(enroll('sc_giamgia', k, n, kind => t, groups => g)) AS enrolled
  FROM (VALUES ('KH-VIP', 'Tran Thi Vy', 'person', '{VIP}'::text[]),
               ('KH-LE', 'Le Van Le', 'person', '{retail}'),
               ('KH-SI', 'Cong ty TNHH Si Le', 'organisation', '{wholesale}')) AS v(k, n, t, g);

-------------------------------------------------------------------------------
-- G1: the policy is set up in advance and applied automatically; a schedule
-- from date to date and from hour to hour (golden hours).  Marketing sets
-- "golden hours 14:00-16:00, drinks 20% off" for March 2027.
-------------------------------------------------------------------------------
INSERT INTO discount_policy (program_id, name, valid_from, valid_to, hour_from, hour_to, item_groups, kind, value, stacking, priority)
  SELECT program_id, 'Gio vang 14h-16h: do uong -20%', '2027-03-01 00:00+07', '2027-04-01 00:00+07', 14, 16,
         '{Do uong}', 'percent', 20, 'stackable', 10 FROM program WHERE code = 'sc_giamgia';
-- G1: the bill: two iced coffees (2 x 29,000d) and a cake (45,000d)
CREATE TEMP TABLE bill1 AS SELECT '[
  {"sku": "CF-SUA-DA", "group": "Do uong", "qty": 2, "price": 29000},
  {"sku": "BANH-FLAN", "group": "Banh", "qty": 1, "price": 45000}]'::jsonb AS lines;
-- G1: user expects 11,600d off the coffees at 15:00 on 10 March (20% of 58,000d)
SELECT line_no, policy_name, amount FROM quote_discounts('sc_giamgia', 'KH-LE', (SELECT lines FROM bill1), '2027-03-10 15:00+07');
-- G1: 13:59 and 16:00 are outside the golden hours (the end hour is exclusive); nothing off
SELECT (SELECT count(*) FROM quote_discounts('sc_giamgia', 'KH-LE', (SELECT lines FROM bill1), '2027-03-10 13:59+07')) AS at_13_59,
       (SELECT count(*) FROM quote_discounts('sc_giamgia', 'KH-LE', (SELECT lines FROM bill1), '2027-03-10 16:00+07')) AS at_16_00,
       (SELECT count(*) FROM quote_discounts('sc_giamgia', 'KH-LE', (SELECT lines FROM bill1), '2027-03-10 14:00+07')) AS at_14_00;
-- G1: outside the dates (28 February, 1 April) nothing either
SELECT (SELECT count(*) FROM quote_discounts('sc_giamgia', 'KH-LE', (SELECT lines FROM bill1), '2027-02-28 15:00+07')) AS feb_28,
       (SELECT count(*) FROM quote_discounts('sc_giamgia', 'KH-LE', (SELECT lines FROM bill1), '2027-04-01 15:00+07')) AS apr_1;
-- G1: a late-night window that wraps midnight (22:00-02:00) on Friday and Saturday only
INSERT INTO discount_policy (program_id, name, weekdays, hour_from, hour_to, kind, value, stacking)
  SELECT program_id, 'Dem cuoi tuan 22h-2h: -10.000d', '{5,6}', 22, 2, 'amount', 10000, 'exclusive'
    FROM program WHERE code = 'sc_giamgia';
-- Friday 12 March 2027 at 23:30, Saturday 01:30 and Saturday 23:00 get it; Friday 21:00 and
-- Monday 23:30 do not
SELECT at_local, (SELECT string_agg(policy_name || ' ' || amount, ', ') FROM quote_discounts('sc_giamgia', 'KH-LE',
         '[{"sku": "BIA", "group": "Bia", "qty": 2, "price": 30000}]', at_local::timestamptz)) AS discounts
  FROM (VALUES ('2027-03-12 21:00+07'), ('2027-03-12 23:30+07'), ('2027-03-13 01:30+07'),
               ('2027-03-13 23:00+07'), ('2027-03-15 23:30+07')) AS t(at_local);
-- a window that wraps midnight belongs to the night it starts on: Saturday night's 01:30
-- (Sunday 14 March) is in it, 01:30 on Friday 12 March (the tail of Thursday night) is not
SELECT at_local, (SELECT string_agg(policy_name || ' ' || amount, ', ') FROM quote_discounts('sc_giamgia', 'KH-LE',
         '[{"sku": "BIA", "group": "Bia", "qty": 2, "price": 30000}]', at_local::timestamptz)) AS discounts
  FROM (VALUES ('2027-03-12 01:30+07'), ('2027-03-14 01:30+07')) AS t(at_local);

-------------------------------------------------------------------------------
-- G2: discounts by bill total, by customer group, by single customer, by item
-- group or by item; as an amount of money or as a percent
-------------------------------------------------------------------------------
INSERT INTO discount_policy (program_id, name, min_bill, kind, value, stacking, valid_from, valid_to)
  SELECT program_id, 'Hoa don tu 500.000d: -50.000d', 500000, 'amount', 50000, 'exclusive', '2027-03-01 00:00+07', '2027-04-01 00:00+07'
    FROM program WHERE code = 'sc_giamgia';
INSERT INTO discount_policy (program_id, name, customer_groups, kind, value, stacking, priority, valid_from, valid_to)
  SELECT program_id, 'Khach VIP: -10%', '{VIP}', 'percent', 10, 'stackable', 5, '2027-03-01 00:00+07', '2027-04-01 00:00+07'
    FROM program WHERE code = 'sc_giamgia';
INSERT INTO discount_policy (program_id, name, customer_groups, kind, value, stacking, valid_from, valid_to)
  SELECT program_id, 'Khach si: -8%', '{wholesale}', 'percent', 8, 'exclusive', '2027-03-01 00:00+07', '2027-04-01 00:00+07'
    FROM program WHERE code = 'sc_giamgia';
INSERT INTO discount_policy (program_id, name, customer_key, skus, kind, value, stacking, valid_from, valid_to)
  SELECT program_id, 'Rieng KH-LE: banh flan -15%', 'KH-LE', '{BANH-FLAN}', 'percent', 15, 'stackable', '2027-03-01 00:00+07', '2027-04-01 00:00+07'
    FROM program WHERE code = 'sc_giamgia';
INSERT INTO discount_policy (program_id, name, item_groups, kind, value, stacking, priority, valid_from, valid_to)
  SELECT program_id, 'Nhom Banh: -5.000d', '{Banh}', 'amount', 5000, 'stackable', 1, '2027-03-01 00:00+07', '2027-04-01 00:00+07'
    FROM program WHERE code = 'sc_giamgia';
INSERT INTO discount_policy (program_id, name, skus, kind, value, stacking, valid_from, valid_to)
  SELECT program_id, 'Mat hang tra dao: -3.000d', '{TRA-DAO}', 'amount', 3000, 'stackable', '2027-03-01 00:00+07', '2027-04-01 00:00+07'
    FROM program WHERE code = 'sc_giamgia';
-- G2: a guest at 10:00 (no golden hours) with a peach tea and a cake: the item policy (3,000d)
-- and the item-group policy (5,000d) stack: 8,000d
SELECT line_no, policy_name, stacking, amount FROM quote_discounts('sc_giamgia', NULL, '[
  {"sku": "TRA-DAO", "group": "Do uong", "qty": 1, "price": 35000},
  {"sku": "BANH-FLAN", "group": "Banh", "qty": 1, "price": 45000}]', '2027-03-10 10:00+07') ORDER BY line_no, policy_name;
-- G2: the single customer KH-LE also gets 15% of the flan (6,750d): 14,750d in all
SELECT line_no, policy_name, amount FROM quote_discounts('sc_giamgia', 'KH-LE', '[
  {"sku": "TRA-DAO", "group": "Do uong", "qty": 1, "price": 35000},
  {"sku": "BANH-FLAN", "group": "Banh", "qty": 1, "price": 45000}]', '2027-03-10 10:00+07') ORDER BY line_no, policy_name;
-- G2: a VIP: 10% of everything (8,000d) stacks with the item and group amounts: 16,000d
SELECT sum(amount) AS vip_total FROM quote_discounts('sc_giamgia', 'KH-VIP', '[
  {"sku": "TRA-DAO", "group": "Do uong", "qty": 1, "price": 35000},
  {"sku": "BANH-FLAN", "group": "Banh", "qty": 1, "price": 45000}]', '2027-03-10 10:00+07');
-- G2: a wholesale customer's 2,400,000d order of cakes: 8% (192,000d, exclusive) beats both
-- the bill-total 50,000d (exclusive) and the stack (group 5,000d)
SELECT line_no, policy_name, stacking, amount FROM quote_discounts('sc_giamgia', 'KH-SI', '[
  {"sku": "BANH-MI", "group": "Banh", "qty": 400, "price": 6000}]', '2027-03-10 10:00+07');
-- G2: a 600,000d retail bill of coffee beans: the bill-total policy, 50,000d
SELECT line_no, policy_name, amount FROM quote_discounts('sc_giamgia', 'KH-LE', '[
  {"sku": "CF-HAT", "group": "Ca phe hat", "qty": 2, "price": 300000}]', '2027-03-10 10:00+07');
-- G2: 499,999d is under the bill-total mark: nothing
SELECT count(*) AS under_mark FROM quote_discounts('sc_giamgia', 'KH-LE', '[
  {"sku": "CF-HAT", "group": "Ca phe hat", "qty": 1, "price": 499999}]', '2027-03-10 10:00+07');

-------------------------------------------------------------------------------
-- G3: the system finds the policies itself, without the cashier, and applies
-- several to one bill if they fit.  The till sends the bill; apply_discounts
-- quotes, chooses and records in one call; a retry of the same bill records
-- nothing twice.
-------------------------------------------------------------------------------
-- G3: KH-VIP at 15:00 on 10 March: golden hours 20% of the coffees (11,600d), VIP 10% of each
-- line's price (5,800d + 4,500d), cakes -5,000d: all stackable, 26,900d
SELECT line_no, policy_name, amount FROM apply_discounts('sc_giamgia', 'KH-VIP', 'HD-G3-1',
  (SELECT lines FROM bill1), '2027-03-10 15:00+07', branch => 'Q1') ORDER BY line_no, policy_name;
SELECT sum(amount) AS bill_discount FROM order_discount WHERE document = 'HD-G3-1';
-- G3: the till retries after a timeout: the same rows, nothing recorded twice
SELECT count(*) AS rows_again FROM apply_discounts('sc_giamgia', 'KH-VIP', 'HD-G3-1',
  (SELECT lines FROM bill1), '2027-03-10 15:00+07', branch => 'Q1');
SELECT count(*) AS recorded FROM order_discount WHERE document = 'HD-G3-1';
-- G3: the same document with another bill is a conflict (LC004), not a silent second discount
SELECT pg_temp.err($$SELECT * FROM loyalty.apply_discounts('sc_giamgia', 'KH-VIP', 'HD-G3-1',
  '[{"sku": "CF-SUA-DA", "group": "Do uong", "qty": 5, "price": 29000}]', '2027-03-10 15:00+07')$$);
-- G3 stacking rule: the stack wins only when it gives strictly more than the best exclusive policy.
-- A VIP with 520,000d of coffee beans: the stack is 52,000d (10%), the bill-total policy 50,000d
SELECT line_no, policy_name, stacking, amount FROM quote_discounts('sc_giamgia', 'KH-VIP', '[
  {"sku": "CF-HAT", "group": "Ca phe hat", "qty": 2, "price": 260000}]', '2027-03-10 10:00+07');
-- ... and a 500,000d bill: the stack is 50,000d, equal: the exclusive policy is kept
SELECT line_no, policy_name, stacking, amount FROM quote_discounts('sc_giamgia', 'KH-VIP', '[
  {"sku": "CF-HAT", "group": "Ca phe hat", "qty": 2, "price": 250000}]', '2027-03-10 10:00+07');
-- G3: a discount never exceeds the bill: a 4,000d cake with the 5,000d group discount pays 4,000d
SELECT line_no, policy_name, amount FROM quote_discounts('sc_giamgia', NULL, '[
  {"sku": "BANH-QUY", "group": "Banh", "qty": 1, "price": 4000}]', '2027-03-10 10:00+07');

-------------------------------------------------------------------------------
-- G4: which policy works best: effectiveness of each policy (orders, members,
-- money given, revenue of those orders) for marketing to adjust in time
-------------------------------------------------------------------------------
SELECT points FROM record_order('sc_giamgia', 'KH-VIP', 'HD-G3-1', (SELECT lines FROM bill1),
                                ordered_at => '2027-03-10 15:00+07', branch => 'Q1', bill_discount => 26900);
SELECT line_no, policy_name, amount FROM apply_discounts('sc_giamgia', 'KH-LE', 'HD-G4-2', '[
  {"sku": "CF-HAT", "group": "Ca phe hat", "qty": 2, "price": 300000}]', '2027-03-11 10:00+07', branch => 'Q3');
SELECT points FROM record_order('sc_giamgia', 'KH-LE', 'HD-G4-2', total => 600000, bill_discount => 50000,
                                ordered_at => '2027-03-11 10:00+07', branch => 'Q3');
SELECT line_no, policy_name, amount FROM apply_discounts('sc_giamgia', 'KH-SI', 'HD-G4-3', '[
  {"sku": "BANH-MI", "group": "Banh", "qty": 400, "price": 6000}]', '2027-03-12 10:00+07', branch => 'Q3');
SELECT points FROM record_order('sc_giamgia', 'KH-SI', 'HD-G4-3', total => 2400000, bill_discount => 192000,
                                ordered_at => '2027-03-12 10:00+07', branch => 'Q3');
-- a guest's bill in the golden hours (no member: counted as an order, not as a member)
SELECT line_no, policy_name, amount FROM apply_discounts('sc_giamgia', NULL, 'HD-G4-4', (SELECT lines FROM bill1),
  '2027-03-12 14:30+07', branch => 'Q1');
-- G4: user expects one row per policy, the best (most revenue per dong given) first
SELECT name, orders, members, discount_total, member_revenue,
       CASE WHEN discount_total > 0 THEN round(member_revenue / discount_total, 2) END AS revenue_per_dong
  FROM discount_effectiveness
 WHERE program_id = (SELECT program_id FROM program WHERE code = 'sc_giamgia')
 ORDER BY revenue_per_dong DESC NULLS LAST, name;

-------------------------------------------------------------------------------
-- G1-G3 in roubles: a Russian wholesale and retail shop.  Weekend 5%
-- (Saturday and Sunday), wholesale customers 7% on any day, from 1 June 2027.
-------------------------------------------------------------------------------
INSERT INTO program (code, name, currency, point_value, time_zone)
VALUES ('sc_skidki', 'Optovik', 'RUB', 1, 'Europe/Moscow');
SELECT enroll('sc_skidki', 'ORG-7701', 'OOO Romashka', kind => 'organisation', groups => '{opt}') IS NOT NULL AS enrolled;
INSERT INTO discount_policy (program_id, name, weekdays, kind, value, stacking, valid_from)
  SELECT program_id, 'Vyhodnye 5%', '{6,7}', 'percent', 5, 'exclusive', '2027-06-01 00:00+03' FROM program WHERE code = 'sc_skidki';
INSERT INTO discount_policy (program_id, name, customer_groups, kind, value, stacking, valid_from)
  SELECT program_id, 'Optovym 7%', '{opt}', 'percent', 7, 'exclusive', '2027-06-01 00:00+03' FROM program WHERE code = 'sc_skidki';
-- a 12,345.67 rouble invoice on Saturday 5 June: 7% (864.20, to the kopeck) beats 5% (617.28);
-- a guest gets 5%
SELECT policy_name, amount FROM quote_discounts('sc_skidki', 'ORG-7701', '[{"sku": "MUKA", "qty": 1, "price": 12345.67}]', '2027-06-05 12:00+03');
SELECT policy_name, amount FROM quote_discounts('sc_skidki', NULL, '[{"sku": "MUKA", "qty": 1, "price": 12345.67}]', '2027-06-05 12:00+03');
-- on Monday the guest gets nothing; 31 May is before the policies
SELECT (SELECT count(*) FROM quote_discounts('sc_skidki', NULL, '[{"sku": "MUKA", "price": 1000}]', '2027-06-07 12:00+03')) AS monday,
       (SELECT count(*) FROM quote_discounts('sc_skidki', 'ORG-7701', '[{"sku": "MUKA", "price": 1000}]', '2027-05-31 12:00+03')) AS may_31;
-- bad policies are refused when they are written: 120% and an end before the start
SELECT pg_temp.err($$INSERT INTO loyalty.discount_policy (program_id, name, kind, value)
  SELECT program_id, '120%', 'percent', 120 FROM loyalty.program WHERE code = 'sc_skidki'$$);
SELECT pg_temp.err($$INSERT INTO loyalty.discount_policy (program_id, name, kind, value, valid_from, valid_to)
  SELECT program_id, 'backwards', 'amount', 100, '2027-07-01', '2027-06-01' FROM loyalty.program WHERE code = 'sc_skidki'$$);

-------------------------------------------------------------------------------
-- H1-H7: a Tet promotion with points (TPSOFTS style).  Program in dong, 1
-- point per 10,000d; the campaign doubles it for its target customers.
-------------------------------------------------------------------------------
INSERT INTO program (code, name, currency, point_value, time_zone)
VALUES ('sc_khuyenmai', 'Khuyen mai Tet', 'VND', 1000, 'Asia/Ho_Chi_Minh');
INSERT INTO rule (program_id, name, kind, points, per_amount)
  SELECT program_id, '1 diem / 10.000d', 'per_amount', 1, 10000 FROM program WHERE code = 'sc_khuyenmai';
SELECT count(enroll('sc_khuyenmai', k, groups => g)) AS enrolled
  FROM (VALUES ('VIP-1', '{VIP}'::text[]), ('VIP-2', '{VIP}'), ('VIP-3', '{VIP}'), ('SI-1', '{wholesale}'),
               ('LE-1', '{retail}')) AS v(k, g);

-- H1/H4/H6: start and end, the gift window, the target classification, and how it runs
INSERT INTO campaign (program_id, code, name, starts_at, ends_at, gift_window_from, gift_window_to,
                      target_groups, form, places, person_in_charge, audience, how_to_join,
                      budget_points, budget_money, budget_slots)
  SELECT program_id, 'tet2028', 'Tet 2028: x2 diem va quay so', '2028-01-20 00:00+07', '2028-02-10 00:00+07',
         '2028-01-25 00:00+07', '2028-02-05 00:00+07', '{VIP,wholesale}', 'tich diem x2 + quay so',
         '{Q1,Q3}', 'Nguyen Thi Thu (Marketing)', 'khach VIP va khach si',
         'mua tu 500.000d tai Q1 hoac Q3, doc ma the', 300, 5000000, 2
    FROM program WHERE code = 'sc_khuyenmai';
-- x2 points: the campaign's rule replaces the everyday rule for its customers (a higher priority:
-- the engine applies one rule per line, the most specific or highest priority)
INSERT INTO rule (program_id, name, kind, points, per_amount, priority, campaign_id)
  SELECT program_id, 'Tet: 2 diem / 10.000d', 'per_amount', 2, 10000, 10, campaign_id FROM campaign WHERE code = 'tet2028';
-- H6: how it runs, as the campaign sheet shows it
SELECT code, status, form, places, person_in_charge, audience, how_to_join, target_groups FROM campaign WHERE code = 'tet2028';
-- H1: a draft gives nothing; scheduled, it gives from its start to its end (end exclusive)
SELECT schedule_campaign('tet2028') AS status;
SELECT campaign_active(campaign_id, '2028-01-19 23:59+07') AS before_start, campaign_active(campaign_id, '2028-01-20 00:00+07') AS at_start,
       campaign_active(campaign_id, '2028-02-09 23:59+07') AS last_minute, campaign_active(campaign_id, '2028-02-10 00:00+07') AS at_end
  FROM campaign WHERE code = 'tet2028';
-- H1/H4: a VIP's 500,000d bill on 19 January earns 50 (before the start), on 21 January 100
-- (x2); a retail customer (not in the target groups) gets the normal 50
SELECT (SELECT points FROM record_order('sc_khuyenmai', 'VIP-1', 'T-1', total => 500000, branch => 'Q1', ordered_at => '2028-01-19 10:00+07')) AS vip_jan19,
       (SELECT points FROM record_order('sc_khuyenmai', 'VIP-1', 'T-2', total => 500000, branch => 'Q1', ordered_at => '2028-01-21 10:00+07')) AS vip_jan21,
       (SELECT points FROM record_order('sc_khuyenmai', 'LE-1', 'T-3', total => 500000, branch => 'Q1', ordered_at => '2028-01-21 11:00+07')) AS retail_jan21;
-- H1: extend the end to 15 February; then move the start to 21 January and shorten the end to
-- 12 February; every change is kept with who, old and new; the campaign's rule follows
SELECT reschedule_campaign('tet2028', NULL, '2028-02-15 00:00+07') AS extended;
SELECT reschedule_campaign('tet2028', '2028-01-21 00:00+07', '2028-02-12 00:00+07') AS shortened;
SET timezone = 'Asia/Ho_Chi_Minh';
SELECT h.what, h.old_value, h.new_value, h.changed_by = current_user AS by_me
  FROM campaign_change h JOIN campaign c USING (campaign_id) WHERE c.code = 'tet2028' ORDER BY h.change_id;
SELECT r.valid_from, r.valid_to, r.active FROM rule r JOIN campaign c USING (campaign_id) WHERE c.code = 'tet2028';
SET timezone = 'UTC';
-- H1: a 200,000d bill on 11 February (inside the new end) earns double (40); on 12 February,
-- after it, single (20)
SELECT (SELECT points FROM record_order('sc_khuyenmai', 'SI-1', 'T-4', total => 200000, branch => 'Q3', ordered_at => '2028-02-11 10:00+07')) AS si_feb11,
       (SELECT points FROM record_order('sc_khuyenmai', 'SI-1', 'T-5', total => 200000, branch => 'Q3', ordered_at => '2028-02-12 10:00+07')) AS si_feb12;
-- H1: a bad change is refused with its reason (LC001) and changes nothing
SELECT pg_temp.err($$SELECT loyalty.reschedule_campaign('tet2028', '2028-03-01 00:00+07', '2028-02-01 00:00+07')$$);

-------------------------------------------------------------------------------
-- H2: gifts and prize codes: quantity and kind per prize level, stock
-- tracking, changes per period.  H3: the winning rate, by plan or by the live
-- situation.  Outcomes are made certain here by odds 1 or 0 and by plans
-- whose prizes equal the entries.
-------------------------------------------------------------------------------
START TRANSACTION;
SELECT start_campaign('tet2028') AS status;
COMMIT;
INSERT INTO prize_pool (campaign_id, level, name, kind, initial_stock, value, pacing, odds, code_series)
  SELECT campaign_id, 1, 'Xe Honda Vision', 'gift', 1, 30000000, 'fixed', 0, 'XE' FROM campaign WHERE code = 'tet2028';
INSERT INTO prize_pool (campaign_id, level, name, kind, initial_stock, value, pacing, odds, code_series, daily_cap)
  SELECT campaign_id, 2, 'Voucher 200K', 'voucher', 3, 200000, 'fixed', 1, 'TET', 2 FROM campaign WHERE code = 'tet2028';
-- H1: before the gift window (24 January) no draw is made (LC005)
SELECT pg_temp.err($$SELECT * FROM loyalty.draw('tet2028', 'VIP-1', 'T-2', at => '2028-01-24 10:00+07')$$);
-- H4: a retail customer is not in the target classification (LC006)
SELECT pg_temp.err($$SELECT * FROM loyalty.draw('tet2028', 'LE-1', 'T-3', at => '2028-01-25 10:00+07')$$);
-- H2: three draws on 25 January: two vouchers (daily cap 2), the third is lost to the cap
SELECT d.won, d.level, d.prize, code_series(d.prize_code) AS series, d.value
  FROM (VALUES ('VIP-1', 'Q-1'), ('VIP-2', 'Q-2'), ('VIP-3', 'Q-3')) AS v(k, doc),
       LATERAL draw('tet2028', v.k, v.doc, at => '2028-01-25 10:00+07') d ORDER BY v.doc;
SELECT document, won, note FROM draw_log WHERE campaign_id = (SELECT campaign_id FROM campaign WHERE code = 'tet2028') ORDER BY document;
-- H2: stock tracking: 1 voucher left of 3
SELECT level, name, kind, initial_stock, stock, awarded FROM prize_pool
 WHERE campaign_id = (SELECT campaign_id FROM campaign WHERE code = 'tet2028') ORDER BY level;
-- H2: a prize code is printed once per document: the till retries, the same code comes back
SELECT won, replayed FROM draw('tet2028', 'VIP-1', 'Q-1', at => '2028-01-25 10:05+07');
-- H2: more vouchers for the second week: marketing adds 2 to the initial stock, the stock follows
UPDATE prize_pool SET initial_stock = initial_stock + 2 WHERE name = 'Voucher 200K';
-- taking back more than is left is refused (LC001): 3 were awarded... 2 awarded so far
SELECT pg_temp.err($$UPDATE loyalty.prize_pool SET initial_stock = 1 WHERE name = 'Voucher 200K'$$);
SELECT name, initial_stock, stock, awarded FROM prize_pool WHERE name = 'Voucher 200K';
-- H3: the live situation: the voucher goes too fast; marketing lowers its odds to 0 for now
UPDATE prize_pool SET odds = 0 WHERE name = 'Voucher 200K';
SELECT won FROM draw('tet2028', 'VIP-3', 'Q-4', at => '2028-01-26 10:00+07');
-- H3: ... and back to every draw winning the next day (the daily cap is per local day)
UPDATE prize_pool SET odds = 1 WHERE name = 'Voucher 200K';
SELECT won, prize FROM draw('tet2028', 'VIP-3', 'Q-5', at => '2028-01-27 10:00+07');
SELECT name, initial_stock, stock, awarded FROM prize_pool WHERE name = 'Voucher 200K';
-- H1: after the gift window (5 February) no more draws, though the campaign still gives points
SELECT pg_temp.err($$SELECT * FROM loyalty.draw('tet2028', 'VIP-2', 'Q-6', at => '2028-02-06 10:00+07')$$);

-- H3: the winning rate by plan: a lucky-money campaign whose 3 red envelopes (500,000d each)
-- are spread over two phases: 2 in the first week for 2 expected entries, 1 in the second for 2
INSERT INTO campaign (program_id, code, name, starts_at, ends_at, target_groups, form)
  SELECT program_id, 'lixi2028', 'Li xi dau nam', '2028-01-20 00:00+07', '2028-02-10 00:00+07', '{VIP}', 'quay so li xi'
    FROM program WHERE code = 'sc_khuyenmai';
SELECT schedule_campaign('lixi2028') AS status;
INSERT INTO prize_pool (campaign_id, name, kind, initial_stock, value, pacing, expected_entries, code_series)
  SELECT campaign_id, 'Li xi 500K', 'gift', 3, 500000, 'paced', 4, 'LX' FROM campaign WHERE code = 'lixi2028';
INSERT INTO prize_phase (pool_id, phase_from, phase_to, planned_quantity, expected_entries)
  SELECT pool_id, f::timestamptz, t::timestamptz, q, e FROM prize_pool,
    (VALUES ('2028-01-20 00:00+07', '2028-01-27 00:00+07', 2, 2),
            ('2028-01-27 00:00+07', '2028-02-10 00:00+07', 1, 2)) AS v(f, t, q, e)
   WHERE name = 'Li xi 500K';
-- the first week: 2 prizes left for 2 expected entries: both win; the third entry finds the
-- week's plan used up and loses
SELECT v.doc, d.won FROM (VALUES ('VIP-1', 'LX-1'), ('VIP-2', 'LX-2'), ('VIP-3', 'LX-3')) AS v(k, doc),
       LATERAL draw('lixi2028', v.k, v.doc, at => '2028-01-21 10:00+07') d ORDER BY v.doc;
-- the second week: 1 prize for 2 expected entries: a 50% chance, the threshold is half of 2^62
-- (the draw itself is random, so it is rolled back here)
BEGIN;
SELECT won IS NOT NULL AS drawn FROM draw('lixi2028', 'VIP-1', 'LX-4', at => '2028-01-28 10:00+07');
SELECT document, thresholds[1] = 2305843009213693952 AS half_chance
  FROM draw_log WHERE document = 'LX-4';
ROLLBACK;

-------------------------------------------------------------------------------
-- H5: cost: totals, analysis and adjustment, for one campaign and across
-- campaigns.  The Tet campaign's points budget is 300 points: the bills above
-- took 100 + 40; a 1,000,000d bill wants 200 of its points: they no longer fit,
-- so it earns the everyday 100; a 300,000d bill (60) still fits
-------------------------------------------------------------------------------
SELECT points FROM record_order('sc_khuyenmai', 'VIP-2', 'T-6', total => 1000000, branch => 'Q1', ordered_at => '2028-01-28 10:00+07');
SELECT points FROM record_order('sc_khuyenmai', 'VIP-3', 'T-7', total => 300000, branch => 'Q1', ordered_at => '2028-01-28 11:00+07');
SELECT code, budget_points, taken_points, remaining_points, budget_money, taken_money FROM campaign_budget WHERE code = 'tet2028';
-- H5: adjustment: the manager raises the budget by 100 points; the change is in the history
UPDATE campaign SET budget_points = 400 WHERE code = 'tet2028';
SELECT h.what, h.old_value LIKE 'points 300,%' AS old_300, h.new_value LIKE 'points 400,%' AS new_400
  FROM campaign_change h JOIN campaign c USING (campaign_id)
 WHERE c.code = 'tet2028' AND h.what LIKE 'budget%' ORDER BY h.change_id;
-- the next 1,000,000d bill now gets its double points (200 of the 400)
SELECT points FROM record_order('sc_khuyenmai', 'VIP-1', 'T-8', total => 1000000, branch => 'Q1', ordered_at => '2028-01-29 11:00+07');
SELECT code, budget_points, taken_points, remaining_points, taken_money FROM campaign_budget WHERE code = 'tet2028';
-- H5: one campaign: points given, their cost, prizes (vouchers and red envelopes)
SELECT code, points_given, bonus_points, points_cost, discounts, prizes, total_cost, budget_used_percent
  FROM campaign_cost WHERE code IN ('tet2028', 'lixi2028') ORDER BY code;

-------------------------------------------------------------------------------
-- H7: points races: who earns most in a short period; a leaderboard, the
-- tie rule and prizes for the top 3 (KiotViet "Dua tich diem")
-------------------------------------------------------------------------------
INSERT INTO campaign (program_id, code, name, starts_at, ends_at, form, budget_points)
  SELECT program_id, 'dua2028', 'Dua tich diem thang 3', '2028-03-01 00:00+07', '2028-03-08 00:00+07', 'dua tich diem', 1000
    FROM program WHERE code = 'sc_khuyenmai';
SELECT schedule_campaign('dua2028') AS status;
INSERT INTO points_race (campaign_id, name, starts_at, ends_at, top_n, tie_rule, prizes)
  SELECT campaign_id, 'Tuan dua 1-7/3', '2028-03-01 00:00+07', '2028-03-08 00:00+07', 3, 'earliest', '{300,200,100}'
    FROM campaign WHERE code = 'dua2028';
-- the week's bills (ordered_at in the race); one bill is from February and does not count
SELECT sum(points) AS points FROM (VALUES
    ('VIP-1', 'D-1', 800000, '2028-03-02 10:00+07'), ('VIP-2', 'D-2', 500000, '2028-03-02 11:00+07'),
    ('VIP-3', 'D-3', 500000, '2028-03-03 09:00+07'), ('SI-1', 'D-4', 1500000, '2028-03-04 15:00+07'),
    ('LE-1', 'D-5', 300000, '2028-03-05 10:00+07'), ('LE-1', 'D-6', 9000000, '2028-02-28 10:00+07')) AS v(k, d, t, at),
  LATERAL record_order('sc_khuyenmai', v.k, v.d, total => v.t, ordered_at => v.at::timestamptz);
-- the wholesale customer returns half of his bill: his race points fall to 75
SELECT return_order('sc_khuyenmai', 'D-4', 'D-4-TRA', amount => 750000) AS taken_back;
-- the live leaderboard: VIP-2 and VIP-3 tie on 50; VIP-2 reached it first
SELECT rank, customer_key, points FROM race_leaderboard((SELECT race_id FROM points_race WHERE name = 'Tuan dua 1-7/3'));
-- prizes only after the end (LC005), then once
SELECT pg_temp.err($$SELECT loyalty.award_race(race_id, '2028-03-07 23:00+07') FROM loyalty.points_race WHERE name = 'Tuan dua 1-7/3'$$);
SELECT award_race(race_id, '2028-03-08 00:00+07') AS paid FROM points_race WHERE name = 'Tuan dua 1-7/3';
-- the job runs again the next day: nothing twice
SELECT award_race(race_id, '2028-03-09 00:00+07') AS paid_again FROM points_race WHERE name = 'Tuan dua 1-7/3';
SELECT m.customer_key, l.amount, l.note FROM ledger l JOIN member m USING (member_id)
 WHERE l.kind = 'bonus' AND l.source = 'race' AND m.program_id = (SELECT program_id FROM program WHERE code = 'sc_khuyenmai')
 ORDER BY l.amount DESC;
-- H7: the shared tie rule: equal points share a rank, and both get its prize
INSERT INTO points_race (campaign_id, name, starts_at, ends_at, top_n, tie_rule, prizes)
  SELECT campaign_id, 'Chia hang', '2028-03-01 00:00+07', '2028-03-08 00:00+07', 3, 'shared', '{50,20,10}'
    FROM campaign WHERE code = 'dua2028';
SELECT rank, customer_key, points FROM race_leaderboard((SELECT race_id FROM points_race WHERE name = 'Chia hang'));
SELECT award_race(race_id, '2028-03-08 00:00+07') AS paid FROM points_race WHERE name = 'Chia hang';
-- H5 across campaigns: what every campaign of the program cost, and in total
SELECT code, points_given, bonus_points, points_cost, prizes, total_cost FROM campaign_cost
 WHERE campaign_id IN (SELECT campaign_id FROM campaign WHERE program_id = (SELECT program_id FROM program WHERE code = 'sc_khuyenmai'))
 ORDER BY code;
SELECT sum(total_cost) AS all_campaigns FROM campaign_cost
 WHERE campaign_id IN (SELECT campaign_id FROM campaign WHERE program_id = (SELECT program_id FROM program WHERE code = 'sc_khuyenmai'));

-------------------------------------------------------------------------------
-- H1/H5 in roubles: a Russian summer campaign whose discount policy spends
-- a money budget of 1,000 roubles
-------------------------------------------------------------------------------
INSERT INTO campaign (program_id, code, name, starts_at, ends_at, budget_money, budget_slots, person_in_charge)
  SELECT program_id, 'leto2027', 'Letnyaya akciya', '2027-06-01 00:00+03', '2027-09-01 00:00+03', 1000, 1, 'Smirnova O.'
    FROM program WHERE code = 'sc_skidki';
SELECT schedule_campaign('leto2027') AS status;
INSERT INTO discount_policy (program_id, campaign_id, name, kind, value, stacking, min_bill, priority)
  SELECT program_id, campaign_id, 'Leto: -300 rub ot 3000', 'amount', 300, 'exclusive', 3000, 10 FROM campaign WHERE code = 'leto2027';
-- a 3,500 rouble bill on Tuesday 8 June: 300 roubles, three bills use 900 of the 1,000
SELECT v.doc, d.policy_name, d.amount FROM (VALUES ('CHK-L1'), ('CHK-L2'), ('CHK-L3')) AS v(doc),
  LATERAL apply_discounts('sc_skidki', NULL, v.doc, '[{"sku": "SOK", "qty": 1, "price": 3500}]', '2027-06-08 12:00+03') d ORDER BY v.doc;
-- the fourth: 100 roubles left cannot pay 300, the policy is not offered (nothing else applies)
SELECT count(*) AS offered FROM quote_discounts('sc_skidki', NULL, '[{"sku": "SOK", "qty": 1, "price": 3500}]', '2027-06-08 12:00+03');
SELECT code, discounts, total_cost, budget_used_percent FROM campaign_cost WHERE code = 'leto2027';

SELECT * FROM check_campaigns();
SELECT count(*) AS violations FROM check_ledger();
