-- Scenarios from the users' documents: spending points (B1-B5), the
-- stored-value card (D1-D4), prepaid product cards (E1) and vouchers,
-- coupons and gift certificates (F1-F3), written as a POS/ERP developer or
-- DBA would run them against the public SQL API.  Amounts in dong and roubles.
\set VERBOSITY terse
SET search_path = public, loyalty;

-- the SQLSTATE and message of a statement that fails
CREATE FUNCTION pg_temp.err(sql text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE sql;
    RETURN 'no error';
EXCEPTION WHEN OTHERS THEN
    RETURN SQLSTATE || ': ' || SQLERRM;
END
$$;

-------------------------------------------------------------------------------
-- B1: pay part of a bill with points; the "point value" sets how much one
-- point pays.  A Russian shop: 1 point = 1 rouble.
-------------------------------------------------------------------------------
INSERT INTO program (code, name, currency, point_value, time_zone)
VALUES ('sc_magazin', 'Magazin u doma', 'RUB', 1, 'Europe/Moscow');
INSERT INTO rule (program_id, name, kind, percent)
  SELECT program_id, '5% back', 'percent', 5 FROM program WHERE code = 'sc_magazin';
SELECT enroll('sc_magazin', 'K-100', 'Ivanov Ivan', phone => '+79161234567') IS NOT NULL AS enrolled;
-- 10,000 roubles earn 5%: 500 points
SELECT points FROM record_order('sc_magazin', 'K-100', 'CHK-1', total => 10000, branch => 'MSK-1');
-- B1: a 1,200 rouble bill: the customer may pay all of it with points
SELECT available, max_points, max_amount, bill_total, bound_by FROM quote('sc_magazin', 'K-100', total => 1200);
-- B1: pays 300 roubles with 300 points; the bill itself earns on the 900 paid in money (45)
SELECT points_used, amount, replayed FROM redeem('sc_magazin', 'K-100', 'CHK-2', 300, total => 1200, branch => 'MSK-1');
SELECT points FROM record_order('sc_magazin', 'K-100', 'CHK-2', total => 1200, paid_with_points => 300, branch => 'MSK-1');
SELECT balance('sc_magazin', 'K-100') AS balance_245;
-- B1: a retry of the same redemption answers the same and takes nothing more
SELECT points_used, amount, replayed FROM redeem('sc_magazin', 'K-100', 'CHK-2', 300, total => 1200, branch => 'MSK-1');
-- B1: the same bill with other points is LR001; more than the balance LR002
SELECT pg_temp.err($$SELECT * FROM loyalty.redeem('sc_magazin', 'K-100', 'CHK-2', 200, total => 1200)$$);
SELECT pg_temp.err($$SELECT * FROM loyalty.redeem('sc_magazin', 'K-100', 'CHK-3', 900, total => 5000)$$);
-- B1: in dong, 1 point = 1,000d: 20 points pay 20,000d of a bill
INSERT INTO program (code, name, point_value) VALUES ('sc_tichdiem', 'Tich diem', 1000);
INSERT INTO rule (program_id, name, kind, percent, min_bill)
  SELECT program_id, '10% from 50,000d', 'percent', 10, 50000 FROM program WHERE code = 'sc_tichdiem';
SELECT enroll('sc_tichdiem', 'KH-1', phone => '0903000001') IS NOT NULL AS enrolled;
SELECT points FROM record_order('sc_tichdiem', 'KH-1', 'HD-1', total => 550000);
SELECT points_used, amount FROM redeem('sc_tichdiem', 'KH-1', 'HD-2', 20, total => 180000);
-- B1: a cancelled bill gives its points back once (refund_redemption)
SELECT refund_redemption('sc_tichdiem', 'HD-2') AS restored, refund_redemption('sc_tichdiem', 'HD-2') AS again;
SELECT balance('sc_tichdiem', 'KH-1') AS balance_55;

-------------------------------------------------------------------------------
-- B2: minimum balance before points can be used, maximum % of a bill payable
-- by points, goods and groups that cannot be paid with points
-------------------------------------------------------------------------------
INSERT INTO redemption_policy (program_id, min_balance, max_bill_percent, redeem_step, excluded_groups, excluded_skus)
  SELECT program_id, 100, 50, 1, '{Alcohol,Tobacco}', '{GIFT-CARD}' FROM program WHERE code = 'sc_magazin';
-- B2: 245 points, bill of 1,000 roubles of which 400 is vodka and 100 a gift card:
-- eligible 500, at most 50% of the bill = 500 -> 245 (the balance) decides
SELECT available, max_points, max_amount, eligible_amount, bound_by FROM quote('sc_magazin', 'K-100', '[
    {"sku": "MOLOKO", "group": "Dairy", "qty": 2, "price": 250},
    {"sku": "VODKA", "group": "Alcohol", "qty": 1, "price": 400},
    {"sku": "GIFT-CARD", "group": "Cards", "qty": 1, "price": 100}]');
-- B2: a bill of 300 roubles: at most 150 by points (50%)
SELECT max_points, bound_by FROM quote('sc_magazin', 'K-100', total => 300);
SELECT pg_temp.err($$SELECT * FROM loyalty.redeem('sc_magazin', 'K-100', 'CHK-4', 151, total => 300)$$);
-- B2: only vodka and cigarettes: nothing can be paid with points
SELECT max_points, bound_by FROM quote('sc_magazin', 'K-100', '[
    {"sku": "VODKA", "group": "Alcohol", "price": 400}, {"sku": "MALBORO", "group": "Tobacco", "price": 200}]');
SELECT pg_temp.err($$SELECT * FROM loyalty.redeem('sc_magazin', 'K-100', 'CHK-5', 10,
    '[{"sku": "VODKA", "group": "Alcohol", "price": 400}]')$$);
-- B2: whole points only (step 1): 10.5 points is refused (LR004).  Points are
-- loyalty.points: integers convert by themselves, a fraction is written '10.5'
-- (a bare 10.5 is numeric, which does not convert implicitly: 42883)
SELECT pg_temp.err($$SELECT * FROM loyalty.redeem('sc_magazin', 'K-100', 'CHK-6', '10.5', total => 1000)$$);
SELECT pg_temp.err($$SELECT * FROM loyalty.redeem('sc_magazin', 'K-100', 'CHK-6', 10.5, total => 1000)$$);
-- B2: under the minimum balance of 100 points, nothing can be used (LR002)
SELECT enroll('sc_magazin', 'K-200', 'Petrova Anna') IS NOT NULL AS enrolled;
SELECT points FROM record_order('sc_magazin', 'K-200', 'CHK-20', total => 1800);
SELECT available, max_points, bound_by FROM quote('sc_magazin', 'K-200', total => 1000);
SELECT pg_temp.err($$SELECT * FROM loyalty.redeem('sc_magazin', 'K-200', 'CHK-21', 50, total => 1000)$$);

-------------------------------------------------------------------------------
-- B3: redemption confirmed by a one-time code sent by SMS to the customer:
-- the system sends an OTP, the customer reads it out to the cashier
-------------------------------------------------------------------------------
INSERT INTO redemption_policy (program_id, require_otp)
  SELECT program_id, true FROM program WHERE code = 'sc_tichdiem';
-- without a code the redemption is refused (LR008)
SELECT pg_temp.err($$SELECT * FROM loyalty.redeem('sc_tichdiem', 'KH-1', 'HD-3', 10, total => 200000)$$);
SELECT request_otp('sc_tichdiem', 'KH-1', 'HD-3') IS NOT NULL AS sms_requested;
-- the SMS is queued to the customer's phone with a 6-digit code
SELECT kind, channel, recipient, payload->>'code' ~ '^[0-9]{6}$' AS six_digits, payload->>'purpose' AS purpose
  FROM outbox WHERE member_id = member_id('sc_tichdiem', 'KH-1');
SELECT payload->>'code' AS otp FROM outbox WHERE member_id = member_id('sc_tichdiem', 'KH-1') \gset
-- the cashier types a wrong code first, then the right one
SELECT verify_otp('sc_tichdiem', 'KH-1', 'HD-3', CASE WHEN :'otp' = '000000' THEN '111111' ELSE '000000' END) AS wrong_code;
SELECT verify_otp('sc_tichdiem', 'KH-1', 'HD-3', :'otp') AS verified;
SELECT points_used, amount FROM redeem('sc_tichdiem', 'KH-1', 'HD-3', 10, total => 200000, otp => :'otp');
-- the code is used once: another bill needs a new code
SELECT pg_temp.err(format($$SELECT * FROM loyalty.redeem('sc_tichdiem', 'KH-1', 'HD-4', 10, total => 200000, otp => %L)$$, :'otp'));
-- a member without a phone cannot get a code (LR008)
SELECT enroll('sc_tichdiem', 'KH-NOPHONE') IS NOT NULL AS enrolled;
SELECT pg_temp.err($$SELECT loyalty.request_otp('sc_tichdiem', 'KH-NOPHONE', 'HD-9')$$);

-------------------------------------------------------------------------------
-- B4: automatic rewards at a threshold.  The document: each visit earns 10
-- points; at 100 points the next bill gets 10% off.  A VIP card is granted
-- when a points threshold is reached.
-------------------------------------------------------------------------------
INSERT INTO program (code, name, point_value) VALUES ('sc_trasua', 'Tra sua', 1000);
INSERT INTO rule (program_id, name, kind, points)
  SELECT program_id, '10 points a visit', 'per_order', 10 FROM program WHERE code = 'sc_trasua';
INSERT INTO reward_threshold (program_id, name, measure, threshold, action, coupon_percent, coupon_days, deduct_points)
  SELECT program_id, '100 points: 10% off the next bill', 'balance', 100, 'coupon', 10, 30, true
    FROM program WHERE code = 'sc_trasua';
INSERT INTO reward_threshold (program_id, name, measure, threshold, action, tier)
  SELECT program_id, 'VIP card at 300 points earned', 'earned_total', 300, 'tier', 'VIP'
    FROM program WHERE code = 'sc_trasua';
SELECT enroll('sc_trasua', 'TS-1', 'Pham Thu Ha') IS NOT NULL AS enrolled;
-- nine visits: 90 points, no reward yet
SELECT sum(points) AS points_9_visits FROM generate_series(1, 9) i
  CROSS JOIN LATERAL record_order('sc_trasua', 'TS-1', 'TS-BILL-' || i, total => 45000);
SELECT count(*) AS coupons FROM reward_coupon WHERE member_id = member_id('sc_trasua', 'TS-1');
-- the tenth visit reaches 100: a 10% coupon for the next bill, the 100 points are used up
SELECT points FROM record_order('sc_trasua', 'TS-1', 'TS-BILL-10', total => 45000);
SELECT percent, amount, status, valid_until IS NOT NULL AS expires
  FROM reward_coupon WHERE member_id = member_id('sc_trasua', 'TS-1');
SELECT balance('sc_trasua', 'TS-1') AS balance_0;
-- B4: the next bill: the till asks which coupons the customer has and uses one:
-- 10% of a 65,000d bill is 6,500d off
SELECT percent, amount, valid_until IS NOT NULL AS expires, reward FROM reward_coupons('sc_trasua', 'TS-1');
SELECT used_coupon IS NOT NULL AS used, percent, discount, replayed
  FROM use_reward_coupon('sc_trasua', 'TS-1', 'TS-BILL-11', 65000);
-- a till retry answers the same; the coupon is used once (LR014 on the next bill)
SELECT percent, discount, replayed FROM use_reward_coupon('sc_trasua', 'TS-1', 'TS-BILL-11', 65000);
SELECT pg_temp.err($$SELECT * FROM loyalty.use_reward_coupon('sc_trasua', 'TS-1', 'TS-BILL-12', 80000)$$);
SELECT pg_temp.err($$SELECT * FROM loyalty.use_reward_coupon('sc_trasua', 'TS-1', 'TS-BILL-11', 70000)$$);
SELECT status, used_document, bill_total, discount FROM reward_coupon WHERE member_id = member_id('sc_trasua', 'TS-1');
-- a cancelled bill gives the coupon back, once
SELECT release_reward_coupon('sc_trasua', 'TS-BILL-11') AS released, release_reward_coupon('sc_trasua', 'TS-BILL-11') AS again;
SELECT discount FROM use_reward_coupon('sc_trasua', 'TS-1', 'TS-BILL-12', 80000);
-- bad input: a negative bill, a missing document, an unknown program or customer; nothing is used
SELECT pg_temp.err($$SELECT * FROM loyalty.use_reward_coupon('sc_trasua', 'TS-1', 'TS-BILL-13', -1)$$) AS negative_bill,
       pg_temp.err($$SELECT * FROM loyalty.use_reward_coupon('sc_trasua', 'TS-1', NULL, 1000)$$) AS no_document,
       pg_temp.err($$SELECT * FROM loyalty.use_reward_coupon('nope', 'TS-1', 'TS-BILL-13', 1000)$$) AS no_program,
       pg_temp.err($$SELECT * FROM loyalty.use_reward_coupon('sc_trasua', 'NOBODY', 'TS-BILL-13', 1000)$$) AS no_member,
       pg_temp.err($$SELECT loyalty.release_reward_coupon('nope', 'TS-BILL-12')$$) AS release_no_program;
-- B4: the VIP card at 300 points earned: the threshold records it (reward_tier)
SELECT sum(points) AS points_20_visits FROM generate_series(11, 30) i
  CROSS JOIN LATERAL record_order('sc_trasua', 'TS-1', 'TS-BILL-' || i, total => 45000);
SELECT tier FROM reward_tier WHERE member_id = member_id('sc_trasua', 'TS-1');
-- B4: a VIP card with its own discount when a points threshold is reached: a
-- tier measured in points earned (C2) does it at the till with the order
INSERT INTO tier (program_id, rank, name, measure, threshold, discount_percent)
  SELECT program_id, 1, 'VIP', 'points_earned', 400, 10 FROM program WHERE code = 'sc_trasua';
SELECT sum(points) AS points_10_visits FROM generate_series(31, 40) i
  CROSS JOIN LATERAL record_order('sc_trasua', 'TS-1', 'TS-BILL-' || i, total => 45000);
SELECT member_tier('sc_trasua', 'TS-1') AS tier, member_tier_discount('sc_trasua', 'TS-1') AS discount;

-------------------------------------------------------------------------------
-- B5: expiry.  Points have a lifetime; a customer who buys nothing for a set
-- time loses all points.
-------------------------------------------------------------------------------
INSERT INTO program (code, name, point_value, points_lifetime, time_zone)
VALUES ('sc_expiry', 'Points live 12 months', 1000, '12 months', 'Asia/Ho_Chi_Minh');
INSERT INTO rule (program_id, name, kind, percent)
  SELECT program_id, '10%', 'percent', 10 FROM program WHERE code = 'sc_expiry';
SELECT enroll('sc_expiry', 'E1') IS NOT NULL AND enroll('sc_expiry', 'E2') IS NOT NULL AS enrolled;
SELECT points FROM record_order('sc_expiry', 'E1', 'EX-1', total => 100000, ordered_at => '2026-01-15 10:00+07');
SELECT points FROM record_order('sc_expiry', 'E1', 'EX-2', total => 300000, ordered_at => '2026-06-15 10:00+07');
SELECT expires_at AT TIME ZONE 'Asia/Ho_Chi_Minh' AS expires_local, remaining FROM lot
 WHERE member_id = member_id('sc_expiry', 'E1') ORDER BY expires_at;
-- B5: on 16 January 2027 the January points (10) burn, the June points (30) stay
SELECT * FROM expire_points(as_of => '2027-01-16 00:00+07', program => 'sc_expiry');
SELECT balance('sc_expiry', 'E1') AS balance_30;
SELECT * FROM expire_points(as_of => '2027-01-16 00:00+07', program => 'sc_expiry');
-- B5: inactivity: no purchase for 90 days burns everything
INSERT INTO redemption_policy (program_id, inactivity_days)
  SELECT program_id, 90 FROM program WHERE code = 'sc_expiry';
SELECT points FROM record_order('sc_expiry', 'E2', 'EX-3', total => 500000, ordered_at => '2026-03-01 10:00+07');
SELECT * FROM expire_points(as_of => '2026-05-29 10:00+07', program => 'sc_expiry');
SELECT * FROM expire_points(as_of => '2026-06-01 10:00+07', program => 'sc_expiry');
SELECT balance('sc_expiry', 'E2') AS balance_e2, (SELECT note FROM ledger WHERE member_id = member_id('sc_expiry', 'E2')
   AND kind = 'expire') AS why;

-------------------------------------------------------------------------------
-- D1: stored-value card (Recoin): top up, spend down, never below zero
-- D2: top-up bonus: pay 1,000,000d and the card holds 1,500,000d
-- D4: every top-up and spend recorded with time and branch
-------------------------------------------------------------------------------
INSERT INTO program (code, name, point_value) VALUES ('sc_recoin', 'Relipos Recoin', 1000);
INSERT INTO wallet_bonus_rule (program_id, name, min_amount, bonus_percent)
  SELECT program_id, 'nap 1 trieu duoc 1,5 trieu', 1000000, 50 FROM program WHERE code = 'sc_recoin';
SELECT enroll('sc_recoin', 'R-1', 'Vo Thi Lan') IS NOT NULL AS enrolled;
-- D2: user expects 1,500,000d on the card
SELECT paid, bonus, balance FROM wallet_top_up('sc_recoin', 'R-1', 1000000, 'NAP-1', 'Q1');
-- D2: a smaller top-up gets no bonus
SELECT paid, bonus, balance FROM wallet_top_up('sc_recoin', 'R-1', 200000, 'NAP-2', 'Q3');
-- D1: spend 1,200,000d, then 600,000d more than is left: refused (LS002), nothing moves
SELECT spent, balance FROM wallet_spend('sc_recoin', 'R-1', 'BILL-1', 1200000, 'Q1');
SELECT pg_temp.err($$SELECT * FROM loyalty.wallet_spend('sc_recoin', 'R-1', 'BILL-2', 600000, 'Q1')$$);
SELECT spent, balance FROM wallet_spend('sc_recoin', 'R-1', 'BILL-2', 500000, 'Q3');
-- D1: a till retry answers the same; a cancelled bill is refunded once
SELECT spent, balance FROM wallet_spend('sc_recoin', 'R-1', 'BILL-2', 500000, 'Q3');
SELECT refunded, balance FROM wallet_refund('sc_recoin', 'BILL-2', 'Q3');
SELECT refunded, balance FROM wallet_refund('sc_recoin', 'BILL-2', 'Q3');
-- D4: the history: kind, amount, branch and document of every movement
SELECT kind, amount, branch, document, created_at IS NOT NULL AS has_time
  FROM wallet_ledger WHERE member_id = member_id('sc_recoin', 'R-1') ORDER BY created_at, entry_id;
-- D1: a customer without a wallet cannot spend (LS003)
SELECT enroll('sc_recoin', 'R-2') IS NOT NULL AS enrolled;
SELECT pg_temp.err($$SELECT * FROM loyalty.wallet_spend('sc_recoin', 'R-2', 'BILL-9', 1000)$$);

-------------------------------------------------------------------------------
-- D3: cash-back levels (Member 5%, Potential 10%) credited for the next
-- visit, automatic level-up by revenue, conversion of a wallet card into a
-- VIP card
-------------------------------------------------------------------------------
INSERT INTO wallet_level (program_id, rank, name, min_revenue, cashback_percent, converts_to_vip)
  SELECT program_id, r, n, m, c, v FROM program,
    (VALUES (0, 'Thanh vien', 0, 5, false), (1, 'Tiem nang', 5000000, 10, false),
            (2, 'VIP', 20000000, 0, true)) AS l(r, n, m, c, v)
   WHERE code = 'sc_recoin';
-- D3: a 2,000,000d bill at Member level: 100,000d back for the next visit
SELECT cashback, level, balance, vip_card FROM wallet_cashback('sc_recoin', 'R-1', 'BILL-10', 2000000, 'Q1');
-- D3: 4,000,000d more: cash-back still at 5% (the level held before the bill), then up to Potential
SELECT cashback, level, balance, vip_card FROM wallet_cashback('sc_recoin', 'R-1', 'BILL-11', 4000000, 'Q1');
-- D3: the next bill earns 10%
SELECT cashback, level, balance, vip_card IS NOT NULL AS vip_card FROM wallet_cashback('sc_recoin', 'R-1', 'BILL-12', 1000000, 'Q1');
-- D3: revenue reaches 20,000,000d: the wallet card becomes a VIP card (once)
SELECT cashback, level, vip_card IS NOT NULL AS vip_card_issued FROM wallet_cashback('sc_recoin', 'R-1', 'BILL-13', 13000000, 'Q1');
SELECT level_rank, card_no IS NOT NULL AS has_card FROM wallet_vip_conversion WHERE member_id = member_id('sc_recoin', 'R-1');
SELECT series, status FROM card WHERE member_id = member_id('sc_recoin', 'R-1');
-- D3: the cash-back pays the next visit like money on the card
SELECT spent, balance FROM wallet_spend('sc_recoin', 'R-1', 'BILL-14', 100000, 'Q1');

-------------------------------------------------------------------------------
-- E1: prepaid product cards: 10 spa sessions, a beer card; how many per visit;
-- the item goes on the bill at price 0 and leaves stock; extra units at a set price
-------------------------------------------------------------------------------
INSERT INTO product_card_type (program_id, code, name, item_sku, units, visit_limit, price, extra_unit_price, validity_days)
  SELECT program_id, 'SPA10', '10 buoi cham soc da', 'SPA-FACIAL', 10, 1, 3000000, 350000, 365 FROM program WHERE code = 'sc_recoin';
INSERT INTO product_card_type (program_id, code, name, item_sku, units, visit_limit, price, extra_unit_price)
  SELECT program_id, 'BEER30', 'The bia 30 chai', 'BIA-TIGER', 30, 6, 450000, 16000 FROM program WHERE code = 'sc_recoin';
SELECT product_card_issue('sc_recoin', 'R-1', 'SPA10', 'SALE-SPA-1') AS spa_card \gset
SELECT product_card_issue('sc_recoin', NULL, 'BEER30', 'SALE-BEER-1') AS beer_card \gset
-- E1: one session per visit: the line to put on the bill at price 0
SELECT * FROM product_card_use(:'spa_card', 1, 'VISIT-1', 'Q1');
SELECT pg_temp.err(format($$SELECT * FROM loyalty.product_card_use(%L, 2, 'VISIT-2', 'Q1')$$, :'spa_card'));
-- E1: a beer club: 6 bottles a visit, 30 on the card; the 31st is refused until more are bought
SELECT sum(quantity) AS bottles FROM generate_series(1, 5) v
  CROSS JOIN LATERAL product_card_use(:'beer_card', 6, 'BAN-' || v, 'Q3');
SELECT pg_temp.err(format($$SELECT * FROM loyalty.product_card_use(%L, 1, 'BAN-6', 'Q3')$$, :'beer_card'));
-- E1: 10 more bottles at 16,000d each: 160,000d to charge
SELECT amount, units_left FROM product_card_top_up(:'beer_card', 10, 'BUY-MORE-1', 'Q3');
SELECT * FROM product_card_use(:'beer_card', 6, 'BAN-6', 'Q3');
-- E1: the movements the host's stock follows
SELECT kind, units, sku, amount FROM product_card_history WHERE card_code = :'beer_card' ORDER BY kind, units;

-------------------------------------------------------------------------------
-- F1: vouchers 100K, 200K, 300K with serial numbers, usable once, only at the
-- allowed branches; the bill and branch that used it are kept; sold through a
-- partner (Hotdeal) at another invoice value; no change is given
-------------------------------------------------------------------------------
INSERT INTO voucher_type (program_id, code, name, kind, face_value, invoice_value, branches)
  SELECT program_id, c, n, 'voucher', f, i, b FROM program,
    (VALUES ('V100K', 'Voucher 100K', 100000, 100000, '{Q1,Q3}'::text[]),
            ('V200K', 'Voucher 200K', 200000, 200000, '{Q1,Q3}'),
            ('V300K-HD', 'Voucher 300K Hotdeal', 300000, 210000, '{Q1}')) AS t(c, n, f, i, b)
   WHERE code = 'sc_recoin';
SELECT voucher_issue('sc_recoin', 'V300K-HD', 1, series => 'HD', batch => 'hotdeal-2026-11') AS v300 \gset
SELECT voucher_issue('sc_recoin', 'V100K', 1, batch => 'quay-2026-11') AS v100 \gset
-- F1: not accepted at branch Q7 (LS013); accepted at Q1 on a 250,000d bill:
-- 250,000d taken, 50,000d forfeited (no change)
SELECT ok, amount, reason, sqlstate FROM voucher_redeem(:'v300', 'BILL-V1', 'Q7', 250000);
SELECT ok, amount, reason, sqlstate FROM voucher_redeem(:'v300', 'BILL-V1', 'Q1', 250000);
SELECT bill_total, amount, forfeited, branch, document FROM voucher_use
 WHERE voucher_id = (SELECT voucher_id FROM voucher WHERE series = 'HD' AND suffix = right(:'v300', 4));
-- F1: usable once: another bill is refused (LS012)
SELECT ok, amount, reason, sqlstate FROM voucher_redeem(:'v300', 'BILL-V2', 'Q1', 500000);
-- F1: which bill and branch used it, and what the partner invoiced
SELECT s.voucher_type, s.status, s.document, s.branch, s.amount, t.invoice_value
  FROM voucher_status s JOIN voucher_type t ON t.code = s.voucher_type
 WHERE s.program = 'sc_recoin' AND s.series = 'HD';
-- F1: two vouchers on one bill never pay more than the bill
SELECT voucher_issue('sc_recoin', 'V200K', 1, batch => 'quay-2026-11b') AS v200 \gset
SELECT ok, amount FROM voucher_redeem(:'v100', 'BILL-V3', 'Q3', 250000);
SELECT ok, amount FROM voucher_redeem(:'v200', 'BILL-V3', 'Q3', 250000);
-- F1: a cancelled bill gives its vouchers back
SELECT voucher_void('BILL-V3', 'sc_recoin') AS given_back;
SELECT ok, amount FROM voucher_redeem(:'v200', 'BILL-V4', 'Q1', 150000);
-- a mistyped serial number is "wrong" (LS010)
SELECT ok, reason, sqlstate FROM voucher_redeem('HD-0000-0000-0000-0000', 'BILL-V5', 'Q1', 150000, till => 'T-SC');

-------------------------------------------------------------------------------
-- F2: coupons with discount values, serial numbers, single use, branch
-- limits, history
-------------------------------------------------------------------------------
INSERT INTO voucher_type (program_id, code, name, kind, discount_percent, discount_amount, branches)
  SELECT program_id, c, n, 'coupon', p, a, b FROM program,
    (VALUES ('CP15', 'Coupon 15%', 15, NULL, '{Q1}'::text[]), ('CP50K', 'Coupon 50K', NULL, 50000, NULL)) AS t(c, n, p, a, b)
   WHERE code = 'sc_recoin';
SELECT voucher_issue('sc_recoin', 'CP15', 1, series => 'KM', batch => 'km-15') AS cp15 \gset
SELECT voucher_issue('sc_recoin', 'CP50K', 1, series => 'KM', batch => 'km-50') AS cp50 \gset
-- F2: 15% of a 420,000d bill at Q1: 63,000d; the same coupon at Q3 is refused
SELECT ok, amount, reason FROM voucher_check(:'cp15', 'Q3', 420000);
SELECT ok, amount, reason FROM voucher_redeem(:'cp15', 'BILL-C1', 'Q1', 420000);
SELECT ok, reason, sqlstate FROM voucher_redeem(:'cp15', 'BILL-C2', 'Q1', 420000);
-- F2: a 50,000d coupon on a 30,000d bill takes 30,000d
SELECT ok, amount FROM voucher_redeem(:'cp50', 'BILL-C3', 'Q7', 30000);
SELECT voucher_type, status, document, branch, amount FROM voucher_status
 WHERE program = 'sc_recoin' AND series = 'KM' ORDER BY voucher_type;

-------------------------------------------------------------------------------
-- F3: gift certificates (Russian shop) of several face values; goods that may
-- or may not be paid with them; maximum % of a bill payable by one
-------------------------------------------------------------------------------
INSERT INTO voucher_type (program_id, code, name, kind, face_value, allowed_groups, excluded_groups, max_bill_percent)
  SELECT program_id, c, n, 'gift_certificate', f, a, e, m FROM program,
    (VALUES ('GC1000', 'Certificate 1000 RUB', 1000, NULL::text[], '{Alcohol}'::text[], NULL::numeric),
            ('GC3000', 'Certificate 3000 RUB', 3000, '{Books,Toys}', '{}', 50)) AS t(c, n, f, a, e, m)
   WHERE code = 'sc_magazin';
SELECT voucher_issue('sc_magazin', 'GC1000', 1, series => 'PS', batch => 'ps-1000') AS gc1000 \gset
SELECT voucher_issue('sc_magazin', 'GC3000', 1, series => 'PS', batch => 'ps-3000') AS gc3000 \gset
-- F3: a 1,000 rouble certificate on 700 of food and 500 of wine: only the food (700)
SELECT ok, amount FROM voucher_redeem(:'gc1000', 'CHK-GC1', 'MSK-1', lines => '[
    {"sku": "SYR", "group": "Food", "amount": 700}, {"sku": "VINO", "group": "Alcohol", "amount": 500}]');
-- F3: the 3,000 certificate pays only books and toys, at most 50% of the bill:
-- books 2,000 + food 2,000 = 4,000: 50% is 2,000, books are 2,000 -> 2,000
SELECT ok, amount FROM voucher_check(:'gc3000', 'MSK-1', lines => '[
    {"sku": "KNIGA", "group": "Books", "amount": 2000}, {"sku": "SYR", "group": "Food", "amount": 2000}]');
-- F3: food only: nothing to pay (LS016)
SELECT ok, reason, sqlstate FROM voucher_check(:'gc3000', 'MSK-1', lines => '[{"sku": "SYR", "group": "Food", "amount": 2000}]');

-- every ledger stays consistent
SELECT count(*) AS violations FROM check_ledger();
