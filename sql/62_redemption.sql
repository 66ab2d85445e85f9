-- Redemption: quotes, redeem, holds, refunds, one-time codes, automatic rewards.
\set VERBOSITY terse
SET search_path = public, loyalty;

-- B1/B2: 1 point pays 1,000đ; points need a balance of 10; at most 50% of a
-- bill; tobacco and gift cards may not be paid with points; whole points only
INSERT INTO program (code, name, point_value, points_lifetime, earn_on_points_paid)
VALUES ('rd_vn', 'Redemption VN', 1000, '1 year', 'money_part');
INSERT INTO rule (program_id, name, kind, percent)
  SELECT program_id, '10% back', 'percent', 10 FROM program WHERE code = 'rd_vn';
INSERT INTO redemption_policy (program_id, min_balance, max_bill_percent, redeem_step,
                               excluded_groups, excluded_skus, min_points)
  SELECT program_id, 10, 50, 1, '{Tobacco}', '{GIFT-CARD}', 2 FROM program WHERE code = 'rd_vn';
SELECT enroll('rd_vn', c, phone => '+8490000000' || right(c, 1)) > 0 AS enrolled
  FROM unnest(ARRAY['R1', 'R2', 'R3', 'R4']) AS c;
-- R1 earns twice, 100 days apart, so the lots expire at different times
SELECT points FROM record_order('rd_vn', 'R1', 'R1-old', total => 300000, ordered_at => now() - interval '100 days');
SELECT points FROM record_order('rd_vn', 'R1', 'R1-new', total => 200000, ordered_at => now() - interval '1 day');
SELECT points FROM record_order('rd_vn', 'R2', 'R2-1', total => 50000);

-- quotes: which limit binds
SELECT available, max_points, max_amount, bill_total, eligible_amount, bound_by
  FROM quote('rd_vn', 'R1', total => 1000000);                       -- the balance
SELECT available, max_points, max_amount, bill_total, eligible_amount, bound_by
  FROM quote('rd_vn', 'R1', total => 60000);                         -- 50% of the bill
SELECT available, max_points, max_amount, bill_total, eligible_amount, bound_by
  FROM quote('rd_vn', 'R1', '[{"sku": "RICE", "group": "Food", "price": 20000},
                               {"sku": "CIG", "group": "Tobacco", "qty": 2, "price": 35000},
                               {"sku": "GIFT-CARD", "price": 500000}]');   -- excluded goods
SELECT available, max_points, max_amount, bill_total, eligible_amount, bound_by
  FROM quote('rd_vn', 'R2', total => 100000);                        -- under the minimum balance
SELECT available, max_points, bound_by FROM quote('rd_vn', 'R1', total => 3000);  -- under min_points
SELECT available, max_points, bound_by FROM quote('rd_vn', 'R1', total => 5999);  -- whole points only

-- redeem: soonest-expiring lot first
SELECT points_used, amount, replayed FROM redeem('rd_vn', 'R1', 'BILL-1', 35, total => 100000, branch => 'HN-01');
SELECT o.document AS lot_of_order, rl.points
  FROM redemption r JOIN redemption_lot rl USING (member_id, redemption_id)
  JOIN ledger e ON e.member_id = rl.member_id AND e.entry_id = rl.lot_id
  JOIN member_order o ON o.member_id = e.member_id AND o.entry_id = e.entry_id
 WHERE r.document = 'BILL-1' ORDER BY 1;
SELECT kind, amount, document, branch FROM ledger
 WHERE member_id = member_id('rd_vn', 'R1') AND kind = 'redeem';
SELECT balance('rd_vn', 'R1');
-- a retry returns the first result; different points are a conflict
SELECT points_used, amount, replayed FROM redeem('rd_vn', 'R1', 'BILL-1', 35, total => 100000);
SELECT * FROM redeem('rd_vn', 'R1', 'BILL-1', 30, total => 100000);

-- errors
SELECT * FROM redeem('rd_vn', 'R1', 'BILL-E1', -5, total => 100000);        -- negative
SELECT * FROM redeem('rd_vn', 'R1', 'BILL-E2', 0, total => 100000);         -- zero
SELECT * FROM redeem('rd_vn', 'R1', 'BILL-E3', '2.5', total => 100000);       -- not whole
SELECT * FROM redeem('rd_vn', 'R1', 'BILL-E4', '1.234', total => 100000);   -- beyond the scale
SELECT * FROM redeem('rd_vn', 'R1', 'BILL-E5', 16, total => 100000);        -- more than the balance
SELECT * FROM redeem('rd_vn', 'R1', 'BILL-E6', 10, total => 8000);          -- more than 50% of the bill
SELECT * FROM redeem('rd_vn', 'R1', 'BILL-E7', 7, '[{"sku": "CIG", "group": "Tobacco", "price": 35000},
                                                      {"sku": "RICE", "price": 6000}]'); -- excluded goods
SELECT * FROM redeem('rd_vn', 'R2', 'BILL-E8', 5, total => 100000);         -- under the minimum balance
SELECT * FROM redeem('rd_vn', 'R1', 'BILL-E9', 5);                          -- no bill
SELECT * FROM redeem('rd_vn', 'R1', 'BILL-E10', 5, total => -1);            -- negative bill
SELECT * FROM redeem('rd_vn', 'nobody', 'BILL-E11', 5, total => 100000);    -- not a member
SELECT * FROM redeem('no_such', 'R1', 'BILL-E12', 5, total => 100000);      -- no program
UPDATE member SET status = 'blocked' WHERE member_id = member_id('rd_vn', 'R4');
SELECT * FROM redeem('rd_vn', 'R4', 'BILL-E13', 5, total => 100000);        -- blocked member
SELECT max_points, bound_by FROM quote('rd_vn', 'R4', total => 100000);
-- points without a bill line amount or price
SELECT * FROM redeem('rd_vn', 'R1', 'BILL-E14', 5, '[{"sku": "X"}]');
SELECT balance('rd_vn', 'R1');

-- a bill partly paid with points earns on the money part (program switch)
SELECT points FROM record_order('rd_vn', 'R1', 'BILL-1', total => 100000, paid_with_points => 35000);

-- two-phase: hold, capture, release
SELECT points FROM record_order('rd_vn', 'R3', 'R3-1', total => 400000);
SELECT hold('rd_vn', 'R3', 'BILL-H1', 20, total => 100000) AS h1 \gset
SELECT available_points('rd_vn', 'R3'), balance('rd_vn', 'R3');
SELECT hold('rd_vn', 'R3', 'BILL-H1', 20, total => 100000) = :h1 AS same_hold;   -- retry
SELECT hold('rd_vn', 'R3', 'BILL-H1', 25, total => 100000);                       -- conflict
SELECT * FROM redeem('rd_vn', 'R3', 'BILL-H2', 25, total => 100000);             -- held points are not spendable
SELECT max_points, bound_by FROM quote('rd_vn', 'R3', total => 100000);
SELECT * FROM capture(:h1, 21);                                                   -- more than held
SELECT * FROM capture(:h1, 0);
SELECT points_used, amount, replayed FROM capture(:h1, 15);
SELECT points_used, amount, replayed FROM capture(:h1, 15);                       -- retry
SELECT points_used, replayed FROM capture(:h1);                                   -- retry without points
SELECT * FROM capture(:h1, 16);                                                   -- conflict
SELECT release(:h1);                                                              -- captured
SELECT status, points, captured FROM redemption_hold WHERE hold_id = :h1;
SELECT balance('rd_vn', 'R3'), available_points('rd_vn', 'R3');
SELECT hold('rd_vn', 'R3', 'BILL-H3', 10, total => 100000) AS h3 \gset
SELECT release(:h3), release(:h3);
SELECT * FROM capture(:h3, 5);                                                    -- released
SELECT * FROM capture(-1, 5);                                                     -- no such hold
-- a hold past its expiry no longer reserves points, and cannot be captured
SELECT hold('rd_vn', 'R3', 'BILL-H4', 10, total => 100000, minutes => 1) AS h4 \gset
SELECT available_points('rd_vn', 'R3');
UPDATE redemption_hold SET expires_at = now() - interval '1 second' WHERE hold_id = :h4;
SELECT available_points('rd_vn', 'R3');
SELECT * FROM capture(:h4, 5);
SELECT release_expired_holds();
SELECT status FROM redemption_hold WHERE hold_id = :h4;
SELECT hold('rd_vn', 'R3', 'BILL-H5', 10, total => 100000, minutes => 0);

-- refunds give points back to their lots, once
SELECT l.remaining AS old_lot_before FROM lot l JOIN member_order o ON o.entry_id = l.lot_id
 WHERE o.document = 'R1-old';
SELECT refund_redemption('rd_vn', 'BILL-1');
SELECT refund_redemption('rd_vn', 'BILL-1');
SELECT l.remaining AS old_lot_after, l.expires_at = o.ordered_at + interval '1 year' AS original_expiry
  FROM lot l JOIN member_order o ON o.entry_id = l.lot_id WHERE o.document = 'R1-old';
SELECT kind, amount, ref_document FROM ledger
 WHERE member_id = member_id('rd_vn', 'R1') AND kind = 'restore';
SELECT balance('rd_vn', 'R1');
SELECT refund_redemption('rd_vn', 'NO-BILL');
-- refund of a captured hold; an open hold of a refunded bill is released
SELECT refund_redemption('rd_vn', 'BILL-H1');
SELECT hold('rd_vn', 'R3', 'BILL-H6', 10, total => 100000) AS h6 \gset
SELECT refund_redemption('rd_vn', 'BILL-H6');
SELECT status FROM redemption_hold WHERE hold_id = :h6;
-- a refund after the earning order was cancelled and the balance went negative
SELECT points FROM record_order('rd_vn', 'R2', 'R2-2', total => 200000);
SELECT points_used FROM redeem('rd_vn', 'R2', 'BILL-R2', 20, total => 100000);
SELECT cancel_order('rd_vn', 'R2-2');
SELECT balance('rd_vn', 'R2');
SELECT refund_redemption('rd_vn', 'BILL-R2');
SELECT balance('rd_vn', 'R2'), points AS restored_points, restored AS restored_to_lots
  FROM redemption WHERE document = 'BILL-R2';

-- B3: one-time codes
INSERT INTO program (code, name, point_value) VALUES ('rd_otp', 'Redemption with codes', 1000);
INSERT INTO rule (program_id, name, kind, percent)
  SELECT program_id, '10% back', 'percent', 10 FROM program WHERE code = 'rd_otp';
INSERT INTO redemption_policy (program_id, require_otp, otp_minutes)
  SELECT program_id, true, 5 FROM program WHERE code = 'rd_otp';
SELECT enroll('rd_otp', 'O1', phone => '+84911111111') > 0 AS enrolled;
SELECT enroll('rd_otp', 'O2') > 0 AS enrolled;
SELECT points FROM record_order('rd_otp', 'O1', 'O1-1', total => 500000);
SELECT * FROM redeem('rd_otp', 'O1', 'BILL-O1', 10, total => 100000);             -- no code
SELECT * FROM redeem('rd_otp', 'O1', 'BILL-O1', 10, total => 100000, otp => '000000');  -- none requested
SELECT request_otp('rd_otp', 'O1', 'BILL-O1') > 0 AS requested;
SELECT request_otp('rd_otp', 'O2', 'BILL-O2');                                    -- no phone
SELECT channel, kind, recipient, payload->>'purpose' AS purpose, payload->>'code' ~ '^[0-9]{6}$' AS six_digits,
       status FROM outbox WHERE member_id = member_id('rd_otp', 'O1');
-- only a salted hash is stored
SELECT length(code_hash) AS hash_bytes, length(salt) AS salt_bytes, status, tries,
       code_hash <> sha256(convert_to((SELECT payload->>'code' FROM outbox o
                                       WHERE o.member_id = r.member_id), 'UTF8')) AS salted
  FROM otp_request r WHERE member_id = member_id('rd_otp', 'O1');
SELECT payload->>'code' AS code FROM outbox WHERE member_id = member_id('rd_otp', 'O1') \gset
SELECT * FROM redeem('rd_otp', 'O1', 'BILL-O1', 10, total => 100000, otp => :'code');  -- not verified yet
SELECT verify_otp('rd_otp', 'O1', 'BILL-O1', 'wrong!');
SELECT verify_otp('rd_otp', 'O1', 'BILL-O1', :'code');
SELECT status, tries FROM otp_request WHERE member_id = member_id('rd_otp', 'O1');
SELECT * FROM redeem('rd_otp', 'O1', 'BILL-O1', 10, total => 100000,
                     otp => CASE WHEN :'code' = '123456' THEN '654321' ELSE '123456' END);  -- wrong code
SELECT points_used, replayed FROM redeem('rd_otp', 'O1', 'BILL-O1', 10, total => 100000, otp => :'code');
SELECT points_used, replayed FROM redeem('rd_otp', 'O1', 'BILL-O1', 10, total => 100000, otp => :'code');  -- retry
SELECT status FROM otp_request WHERE member_id = member_id('rd_otp', 'O1');
-- five wrong tries lock the request
SELECT request_otp('rd_otp', 'O1', 'BILL-O3') > 0 AS requested;
SELECT verify_otp('rd_otp', 'O1', 'BILL-O3', 'x' || i) FROM generate_series(1, 5) AS i;
SELECT status, tries FROM otp_request WHERE member_id = member_id('rd_otp', 'O1') AND purpose = 'BILL-O3';
SELECT verify_otp('rd_otp', 'O1', 'BILL-O3', 'x6');
SELECT * FROM redeem('rd_otp', 'O1', 'BILL-O3', 10, total => 100000, otp => '123456');
-- an expired code
SELECT request_otp('rd_otp', 'O1', 'BILL-O4') > 0 AS requested;
UPDATE otp_request SET expires_at = now() - interval '1 second'
 WHERE member_id = member_id('rd_otp', 'O1') AND purpose = 'BILL-O4';
SELECT verify_otp('rd_otp', 'O1', 'BILL-O4', '123456');
-- a new request replaces the old one
SELECT request_otp('rd_otp', 'O1', 'BILL-O4') > 0 AS requested;
SELECT status, count(*) FROM otp_request
 WHERE member_id = member_id('rd_otp', 'O1') AND purpose = 'BILL-O4' GROUP BY 1 ORDER BY 1;

-- B4: automatic rewards.  At 100 points the next bill gets 10% off (costs
-- the 100 points); at 300 points earned in total the member becomes VIP.
INSERT INTO program (code, name, point_value) VALUES ('rd_rw', 'Rewards', 1000);
INSERT INTO rule (program_id, name, kind, percent)
  SELECT program_id, '10% back', 'percent', 10 FROM program WHERE code = 'rd_rw';
INSERT INTO reward_threshold (program_id, name, measure, threshold, action, coupon_percent,
                              coupon_series, coupon_days, deduct_points)
  SELECT program_id, '10% off at 100 points', 'balance', 100, 'coupon', 10, 'RW', 30, true
    FROM program WHERE code = 'rd_rw';
INSERT INTO reward_threshold (program_id, name, measure, threshold, action, tier)
  SELECT program_id, 'VIP at 300 earned', 'earned_total', 300, 'tier', 'VIP' FROM program WHERE code = 'rd_rw';
INSERT INTO reward_threshold (program_id, name, measure, threshold, action)
  SELECT program_id, 'broken', 'balance', 50, 'coupon' FROM program WHERE code = 'rd_rw';  -- neither percent nor amount
SELECT enroll('rd_rw', 'W1') > 0 AS enrolled;
SELECT points FROM record_order('rd_rw', 'W1', 'W1-1', total => 800000);
SELECT balance('rd_rw', 'W1');
SELECT points FROM record_order('rd_rw', 'W1', 'W1-2', total => 300000);   -- crosses 100: coupon, 100 deducted
SELECT balance('rd_rw', 'W1');
SELECT t.name, a.crossing, a.measured, a.entry_id IS NOT NULL AS deducted
  FROM reward_award a JOIN reward_threshold t USING (threshold_id)
 WHERE a.member_id = member_id('rd_rw', 'W1') ORDER BY a.crossing, t.name;
SELECT percent, status, coupon::text LIKE 'RW%' AS series_rw, valid_until = issued_at + interval '30 days' AS valid_30_days
  FROM reward_coupon WHERE member_id = member_id('rd_rw', 'W1');
SELECT kind, amount, source FROM ledger WHERE member_id = member_id('rd_rw', 'W1') AND kind = 'reward';
SELECT points FROM record_order('rd_rw', 'W1', 'W1-3', total => 50000);    -- stays under 100: nothing
SELECT count(*) AS awards FROM reward_award WHERE member_id = member_id('rd_rw', 'W1');
SELECT points FROM record_order('rd_rw', 'W1', 'W1-4', total => 1900000);  -- crosses 100 again and 300 earned
SELECT balance('rd_rw', 'W1');
SELECT t.name, a.crossing FROM reward_award a JOIN reward_threshold t USING (threshold_id)
 WHERE a.member_id = member_id('rd_rw', 'W1') ORDER BY t.name, a.crossing;
SELECT tier FROM reward_tier WHERE member_id = member_id('rd_rw', 'W1');
SELECT count(*) AS coupons FROM reward_coupon WHERE member_id = member_id('rd_rw', 'W1');

-- the SQLSTATEs (class LR)
CREATE FUNCTION pg_temp.sqlstate_of(stmt text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE stmt;
    RETURN 'ok';
EXCEPTION WHEN OTHERS THEN
    RETURN SQLSTATE;
END $$;
SELECT request_otp('rd_otp', 'O1', 'BILL-O6') > 0 AS requested;
SELECT payload->>'code' AS code6 FROM outbox WHERE payload->>'purpose' = 'BILL-O6' \gset
SELECT verify_otp('rd_otp', 'O1', 'BILL-O6', :'code6');
UPDATE otp_request SET expires_at = now() - interval '1 second'
 WHERE member_id = member_id('rd_otp', 'O1') AND purpose = 'BILL-O4' AND status = 'open';
SELECT what, pg_temp.sqlstate_of(stmt) AS sqlstate FROM (VALUES
  ('conflict',        $q$SELECT redeem('rd_vn', 'R1', 'BILL-1', 30, total => 100000)$q$),
  ('insufficient',    $q$SELECT redeem('rd_vn', 'R1', 'BILL-S1', 1000, total => 10000000)$q$),
  ('beyond quote',    $q$SELECT redeem('rd_vn', 'R1', 'BILL-S2', 10, total => 8000)$q$),
  ('not positive',    $q$SELECT redeem('rd_vn', 'R1', 'BILL-S3', -1, total => 8000)$q$),
  ('not whole',       $q$SELECT redeem('rd_vn', 'R1', 'BILL-S4', '1.5', total => 8000)$q$),
  ('beyond scale',    $q$SELECT redeem('rd_vn', 'R1', 'BILL-S5', '1.001', total => 8000)$q$),
  ('wrong code',      format($q$SELECT redeem('rd_otp', 'O1', 'BILL-O6', 10, total => 100000, otp => %L)$q$,
                             CASE WHEN :'code6' = '111111' THEN '222222' ELSE '111111' END)),
  ('expired code',    $q$SELECT verify_otp('rd_otp', 'O1', 'BILL-O4', '123456')$q$),
  ('locked code',     $q$SELECT redeem('rd_otp', 'O1', 'BILL-O3', 10, total => 100000, otp => '1')$q$),
  ('no code',         $q$SELECT redeem('rd_otp', 'O1', 'BILL-O9', 10, total => 100000)$q$),
  ('hold not open',   $q$SELECT capture(-1)$q$),
  ('beyond hold',     $q$SELECT capture(hold('rd_vn', 'R3', 'BILL-S6', 5, total => 100000), 6)$q$),
  ('no bill',         $q$SELECT redeem('rd_vn', 'R1', 'BILL-S7', 5)$q$),
  ('blocked member',  $q$SELECT redeem('rd_vn', 'R4', 'BILL-S8', 5, total => 100000)$q$),
  ('nothing to refund', $q$SELECT refund_redemption('rd_vn', 'BILL-S9')$q$),
  ('not a member',    $q$SELECT redeem('rd_vn', 'R9', 'BILL-S10', 5, total => 100000)$q$)
) AS t(what, stmt);

-- invariants
SELECT * FROM check_ledger();
SELECT * FROM check_redemption();
