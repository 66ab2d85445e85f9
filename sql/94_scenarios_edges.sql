-- Scenarios from the users' documents: the deeper cases a till, an ERP or a
-- DBA meets (B3, E1, B1, F1-F3, J1, B5, A9, A8), run against the public SQL
-- API.  Amounts in dong and roubles; every output is deterministic.
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

INSERT INTO program (code, name, currency, point_value, time_zone)
VALUES ('sc_edge', 'Sieu thi Mini', 'VND', 1000, 'Asia/Ho_Chi_Minh');
INSERT INTO rule (program_id, name, kind, percent)
  SELECT program_id, '10%', 'percent', 10 FROM program WHERE code = 'sc_edge';
SELECT enroll('sc_edge', 'OTP-1', 'Hoang Van Minh', phone => '0905111222') IS NOT NULL AS enrolled;
SELECT points FROM record_order('sc_edge', 'OTP-1', 'E-1', total => 1000000);

-------------------------------------------------------------------------------
-- B3: an OTP request is locked after 5 wrong tries; the customer asks for a
-- new code, which works.  The user expects the 6th try to be refused even
-- with the right code, and a clear "locked" error (LR007).
-------------------------------------------------------------------------------
INSERT INTO redemption_policy (program_id, require_otp) SELECT program_id, true FROM program WHERE code = 'sc_edge';
SELECT otp_max_tries FROM redemption_policy WHERE program_id = (SELECT program_id FROM program WHERE code = 'sc_edge');
SELECT request_otp('sc_edge', 'OTP-1', 'E-2') IS NOT NULL AS sms_requested;
SELECT payload->>'code' AS otp1 FROM outbox WHERE member_id = member_id('sc_edge', 'OTP-1') \gset
-- five wrong codes (any code but the one sent)
SELECT i, verify_otp('sc_edge', 'OTP-1', 'E-2', lpad(((:'otp1'::int + i) % 1000000)::text, 6, '0')) AS ok
  FROM generate_series(1, 5) i;
-- the sixth try, even the right code: locked (LR007); the redemption with it is refused too (LR007)
SELECT pg_temp.err(format($$SELECT loyalty.verify_otp('sc_edge', 'OTP-1', 'E-2', %L)$$, :'otp1'));
SELECT pg_temp.err(format($$SELECT * FROM loyalty.redeem('sc_edge', 'OTP-1', 'E-2', 50, total => 300000, otp => %L)$$, :'otp1'));
SELECT status, tries FROM otp_request WHERE member_id = member_id('sc_edge', 'OTP-1');
-- a new code: the locked request is superseded, the new one verifies and pays
SELECT request_otp('sc_edge', 'OTP-1', 'E-2') IS NOT NULL AS sms_requested_again;
SELECT payload->>'code' AS otp2 FROM outbox WHERE member_id = member_id('sc_edge', 'OTP-1')
 ORDER BY created_at DESC, message_id DESC LIMIT 1 \gset
SELECT verify_otp('sc_edge', 'OTP-1', 'E-2', :'otp2') AS verified;
SELECT points_used, amount FROM redeem('sc_edge', 'OTP-1', 'E-2', 50, total => 300000, otp => :'otp2');
SELECT status, tries FROM otp_request WHERE member_id = member_id('sc_edge', 'OTP-1') ORDER BY status;
SELECT count(*) AS otp_violations FROM check_redemption();
DELETE FROM redemption_policy WHERE program_id = (SELECT program_id FROM program WHERE code = 'sc_edge');

-------------------------------------------------------------------------------
-- B1: two-phase payment with points.  A hold reserves points while the
-- customer pays the rest; capture spends them.  A hold the till never
-- captures frees itself after its time (the job marks it expired).
-------------------------------------------------------------------------------
SELECT available_points('sc_edge', 'OTP-1') AS available_50;
SELECT hold('sc_edge', 'OTP-1', 'E-3', 30, total => 200000, branch => 'Q1') AS hold1 \gset
-- the 30 held points cannot be spent twice: another bill sees 20 available
SELECT available_points('sc_edge', 'OTP-1') AS available_20;
SELECT pg_temp.err($$SELECT * FROM loyalty.redeem('sc_edge', 'OTP-1', 'E-4', 25, total => 200000)$$);
-- capture 25 of the 30 (the bill changed); capture again answers the same
SELECT points_used, amount, replayed FROM capture(:hold1, 25);
SELECT points_used, amount, replayed FROM capture(:hold1, 25);
SELECT pg_temp.err(format('SELECT * FROM loyalty.capture(%s, 30)', :hold1));
SELECT balance('sc_edge', 'OTP-1') AS balance_25, available_points('sc_edge', 'OTP-1') AS available_25;
-- a hold of 10 for 15 minutes that the till forgets
SELECT hold('sc_edge', 'OTP-1', 'E-5', 10, total => 100000, minutes => 15) AS hold2 \gset
SELECT available_points('sc_edge', 'OTP-1') AS available_15;
-- the job runs 16 minutes later: the hold is expired and cannot be captured (LR009)
SELECT release_expired_holds(now() + interval '16 minutes') >= 1 AS expired;
SELECT status FROM redemption_hold WHERE hold_id = :hold2;
SELECT pg_temp.err(format('SELECT * FROM loyalty.capture(%s)', :hold2));
SELECT available_points('sc_edge', 'OTP-1') AS available_25_again;

-------------------------------------------------------------------------------
-- E1: an expired prepaid product card is refused (LS021) and nothing moves
-------------------------------------------------------------------------------
INSERT INTO product_card_type (program_id, code, name, item_sku, units, visit_limit, price, validity_days)
  SELECT program_id, 'BUFFET5', '5 suat buffet', 'BUFFET-LAU', 5, 2, 1250000, 90 FROM program WHERE code = 'sc_edge';
SELECT product_card_issue('sc_edge', 'OTP-1', 'BUFFET5', 'SALE-BF-1') AS bcard \gset
SELECT sku, quantity, price FROM product_card_use(:'bcard', 2, 'BF-1', 'Q1');
-- 90 days later (the card's validity is set back here, as time passing would)
UPDATE product_card SET valid_to = '2026-01-01 00:00+07' WHERE code = :'bcard'::code;
SELECT pg_temp.err(format($$SELECT * FROM loyalty.product_card_use(%L, 1, 'BF-2', 'Q1')$$, :'bcard'));
SELECT units_left FROM product_card WHERE code = :'bcard'::code;
-- a mistyped card number fails its check symbol (22P02); a well-formed unknown one is LS020
SELECT pg_temp.err($$SELECT * FROM loyalty.product_card_use('0000-0000-0000-0000', 1, 'BF-3', 'Q1')$$);
SELECT regexp_replace(pg_temp.err(format($$SELECT * FROM loyalty.product_card_use(%L, 1, 'BF-3', 'Q1')$$, new_code())),
                      '[0-9A-Z]{4}(-[0-9A-Z]{4}){3}', '<new code>') AS err;

-------------------------------------------------------------------------------
-- F1: a voucher of one branch is refused at another; voucher look-ups are
-- throttled per till after 5 wrong codes (someone guessing serial numbers),
-- while other tills keep working
-------------------------------------------------------------------------------
INSERT INTO voucher_type (program_id, code, name, kind, face_value, branches)
  SELECT program_id, 'V100-Q1', 'Voucher 100K Q1', 'voucher', 100000, '{Q1}' FROM program WHERE code = 'sc_edge';
SELECT voucher_issue('sc_edge', 'V100-Q1', 1, batch => 'edge-q1') AS vq1 \gset
SELECT ok, amount, reason, sqlstate, message FROM voucher_redeem(:'vq1', 'BILL-Q7', 'Q7', 150000, till => 'Q7-T1');
SELECT ok, amount, reason FROM voucher_redeem(:'vq1', 'BILL-Q1', 'Q1', 150000, till => 'Q1-T1');
-- a till types 5 wrong codes; the 6th look-up from that till, even a good code, raises LS015
SELECT i, (voucher_check('VC-0000-0000-0000-000' || i, 'Q3', 100000, till => 'Q3-T9')).reason
  FROM generate_series(1, 5) i;
SELECT pg_temp.err(format($$SELECT * FROM loyalty.voucher_check(%L, 'Q3', 100000, till => 'Q3-T9')$$, :'vq1'));
-- another till is not blocked: it gets the code's real state (used at Q1 above)
SELECT ok, reason FROM voucher_check(:'vq1', 'Q1', 100000, till => 'Q1-T2');

-------------------------------------------------------------------------------
-- F3: a gift certificate over its maximum share of a bill: a 5,000 rouble
-- certificate that may pay at most 30% of a bill takes 30% of 10,000 (3,000),
-- the rest of its face value is forfeited (no change)
-------------------------------------------------------------------------------
INSERT INTO program (code, name, currency, point_value, time_zone) VALUES ('sc_edge_rub', 'Univermag', 'RUB', 1, 'Europe/Moscow');
INSERT INTO voucher_type (program_id, code, name, kind, face_value, max_bill_percent)
  SELECT program_id, 'PS5000', 'Podarochnyj sertifikat 5000', 'gift_certificate', 5000, 30 FROM program WHERE code = 'sc_edge_rub';
SELECT voucher_issue('sc_edge_rub', 'PS5000', 1, series => 'PS', batch => 'ps5000') AS ps \gset
SELECT ok, amount FROM voucher_check(:'ps', 'MSK', 10000);
SELECT ok, amount FROM voucher_redeem(:'ps', 'CHEK-77', 'MSK', 10000);
SELECT bill_total, amount, forfeited FROM voucher_use
 WHERE voucher_id = (SELECT v.voucher_id FROM voucher v JOIN voucher_type t USING (type_id) WHERE t.code = 'PS5000' AND v.series = 'PS' AND v.suffix = right(:'ps', 4));

-------------------------------------------------------------------------------
-- J1: birthday notice 7 days before and greeting on the day, from the
-- hourly job (the job body is called with the time the job would run)
-------------------------------------------------------------------------------
INSERT INTO program (code, name, point_value, time_zone) VALUES ('sc_edge_bd', 'Spa Hoa Sen', 1000, 'Asia/Ho_Chi_Minh');
INSERT INTO notification_template (program_id, code, channel, body)
  SELECT program_id, 'birthday_notice', 'sms', '{{name}}: sinh nhat {{date}} giam 30% dich vu spa' FROM program WHERE code = 'sc_edge_bd';
INSERT INTO notification_template (program_id, code, channel, body)
  SELECT program_id, 'birthday_greeting', 'sms', 'Spa Hoa Sen chuc mung sinh nhat {{name}}!' FROM program WHERE code = 'sc_edge_bd';
SELECT enroll('sc_edge_bd', 'BD-1', 'Ngo Thi Lan', phone => '0906000111', birthday => '1992-07-20') IS NOT NULL AS enrolled;
SELECT * FROM job_commands() WHERE command LIKE '%birthday%';
-- the job body at each run, and what this customer has been sent so far
CREATE FUNCTION pg_temp.birthday_run(at timestamptz) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
    PERFORM loyalty.birthday_notices(at);
    RETURN (SELECT string_agg(kind, ', ' ORDER BY kind) FROM loyalty.notification
             WHERE member_id = loyalty.member_id('sc_edge_bd', 'BD-1'));
END
$$;
SELECT at_local, pg_temp.birthday_run(at_local::timestamptz) AS sent_so_far
  FROM (VALUES ('2027-07-12 09:05+07'), ('2027-07-13 09:05+07'), ('2027-07-13 10:05+07'),
               ('2027-07-19 09:05+07'), ('2027-07-20 00:05+07'), ('2027-07-20 09:05+07')) AS t(at_local);
SELECT kind, channel, recipient, body FROM notification WHERE member_id = member_id('sc_edge_bd', 'BD-1') ORDER BY kind;

-------------------------------------------------------------------------------
-- B5: a customer who buys nothing for the inactivity period (180 days) loses
-- all points; another who bought within it keeps them
-------------------------------------------------------------------------------
INSERT INTO program (code, name, point_value, time_zone) VALUES ('sc_edge_inact', 'Nha sach', 1000, 'Asia/Ho_Chi_Minh');
INSERT INTO rule (program_id, name, kind, percent) SELECT program_id, '5%', 'percent', 5 FROM program WHERE code = 'sc_edge_inact';
INSERT INTO redemption_policy (program_id, inactivity_days) SELECT program_id, 180 FROM program WHERE code = 'sc_edge_inact';
SELECT enroll('sc_edge_inact', 'NS-1') IS NOT NULL AND enroll('sc_edge_inact', 'NS-2') IS NOT NULL AS enrolled;
SELECT points FROM record_order('sc_edge_inact', 'NS-1', 'NS-A', total => 400000, ordered_at => '2027-01-10 10:00+07');
SELECT points FROM record_order('sc_edge_inact', 'NS-2', 'NS-B', total => 400000, ordered_at => '2027-01-10 10:00+07');
SELECT points FROM record_order('sc_edge_inact', 'NS-2', 'NS-C', total => 200000, ordered_at => '2027-05-01 10:00+07');
-- 6 July: nothing yet.  9 July: NS-1 bought nothing for 180 days (since 10 January): all 20
-- points burn; NS-2 (last bought 1 May) keeps 30
SELECT members, lots, points FROM expire_points(as_of => '2027-07-06 10:00+07', program => 'sc_edge_inact');
SELECT members, lots, points FROM expire_points(as_of => '2027-07-09 10:00+07', program => 'sc_edge_inact');
SELECT customer_key, balance('sc_edge_inact', customer_key) AS balance FROM (VALUES ('NS-1'), ('NS-2')) v(customer_key);
SELECT m.customer_key, l.amount, l.note FROM ledger l JOIN member m USING (member_id)
 WHERE l.kind = 'expire' AND m.program_id = (SELECT program_id FROM program WHERE code = 'sc_edge_inact');
-- the job again: nothing twice
SELECT members FROM expire_points(as_of => '2027-07-10 10:00+07', program => 'sc_edge_inact');

-------------------------------------------------------------------------------
-- A9: a return after the points were spent, under each program setting:
-- allow_negative (the balance goes below zero, the next purchases pay it
-- back) and cap_at_balance (take what is there, record the rest)
-------------------------------------------------------------------------------
INSERT INTO program (code, name, point_value, return_when_spent) VALUES
  ('sc_edge_neg', 'Return: negative', 1000, 'allow_negative'), ('sc_edge_cap', 'Return: capped', 1000, 'cap_at_balance');
INSERT INTO rule (program_id, name, kind, percent) SELECT program_id, '10%', 'percent', 10 FROM program
 WHERE code IN ('sc_edge_neg', 'sc_edge_cap');
SELECT p, enroll(p, 'RT-1') IS NOT NULL AS enrolled,
       (SELECT points FROM record_order(p, 'RT-1', 'RT-BUY', total => 1000000)) AS earned,
       (SELECT points_used FROM redeem(p, 'RT-1', 'RT-PAY', 80, total => 200000)) AS spent
  FROM (VALUES ('sc_edge_neg'), ('sc_edge_cap')) v(p);
-- the 1,000,000d purchase is returned whole: 100 points to take back, 20 left.
-- allow_negative takes 100 (balance -80); cap_at_balance takes the 20 there are (balance 0)
SELECT p, return_order(p, 'RT-BUY', 'RT-BUY-TRA') AS taken FROM (VALUES ('sc_edge_neg'), ('sc_edge_cap')) v(p);
SELECT p, balance(p, 'RT-1') AS balance FROM (VALUES ('sc_edge_neg'), ('sc_edge_cap')) v(p);
-- the points spent on RT-PAY are not given back by the return: that is a separate refund of the
-- payment (refund_redemption), which the customer gets only if the paid bill is cancelled too
-- what each return was due and what it could take
SELECT p.code, r.due, r.taken FROM member_return r JOIN program p USING (program_id)
 WHERE r.return_document = 'RT-BUY-TRA' ORDER BY p.code;
-- allow_negative: the customer cannot spend while negative; the next purchase pays the debt first
SELECT pg_temp.err($$SELECT * FROM loyalty.redeem('sc_edge_neg', 'RT-1', 'RT-PAY2', 1, total => 100000)$$);
SELECT points FROM record_order('sc_edge_neg', 'RT-1', 'RT-BUY2', total => 500000);
SELECT balance('sc_edge_neg', 'RT-1') AS balance_neg_after;
SELECT count(*) AS violations FROM check_ledger();

-------------------------------------------------------------------------------
-- A8: a wholesale organisation's very big bill.  Amounts near the limits are
-- exact, and beyond them the call fails with a clear error, never a wrapped
-- number: money is kept in int64 hundredths (up to 92,233,720,368,547,758.07)
-------------------------------------------------------------------------------
INSERT INTO program (code, name, currency, point_value) VALUES ('sc_edge_si', 'Nha phan phoi', 'VND', 1000);
INSERT INTO rule (program_id, name, kind, percent) SELECT program_id, '1%', 'percent', 1 FROM program WHERE code = 'sc_edge_si';
SELECT enroll('sc_edge_si', 'CTY-THEP', 'Tong cong ty Thep', kind => 'organisation', groups => '{wholesale}') IS NOT NULL AS enrolled;
-- a 250 billion dong steel contract: 1% = 2.5 billion dong = 2,500,000 points
SELECT points FROM record_order('sc_edge_si', 'CTY-THEP', 'HD-THEP-1', '[
  {"sku": "THEP-CUON", "group": "Thep", "qty": 25000, "price": 10000000}]');
-- 90,000,000,000,000,000d (just under the limit): 900,000,000,000 points, exact
SELECT points FROM record_order('sc_edge_si', 'CTY-THEP', 'HD-THEP-2', total => 90000000000000000);
-- over the limit: refused with 22003 (numeric value out of range) naming the value, nothing written
SELECT pg_temp.err($$SELECT * FROM loyalty.record_order('sc_edge_si', 'CTY-THEP', 'HD-THEP-3', total => 100000000000000000)$$);
-- a line whose quantity x price is beyond the limit (10^12 x 10^9 = 10^21d) is refused, never wrapped
SELECT pg_temp.err($$SELECT * FROM loyalty.record_order('sc_edge_si', 'CTY-THEP', 'HD-THEP-4', '[
  {"sku": "THEP-CUON", "qty": 1000000000000, "price": 1000000000}]')$$);
SELECT pg_temp.err($$SELECT * FROM loyalty.quote('sc_edge_si', 'CTY-THEP', '[
  {"sku": "THEP-CUON", "qty": 1000000000000, "price": 1000000000}]')$$);
SELECT count(*) AS orders FROM member_order WHERE member_id = member_id('sc_edge_si', 'CTY-THEP');
SELECT balance('sc_edge_si', 'CTY-THEP') AS balance;
-- paying part of it with points: quote and redeem stay exact at this size
SELECT max_points, bound_by FROM quote('sc_edge_si', 'CTY-THEP', total => 80000000000000000);
SELECT points_used, amount FROM redeem('sc_edge_si', 'CTY-THEP', 'HD-THEP-5', 900000000000, total => 90000000000000000);
-- the return of the big bill takes back its points exactly
SELECT return_order('sc_edge_si', 'HD-THEP-1', 'HD-THEP-1-TRA', amount => 125000000000) AS taken;
SELECT balance('sc_edge_si', 'CTY-THEP') AS balance;

SELECT count(*) AS violations FROM check_ledger();
SELECT count(*) AS stored_violations FROM check_stored_value();
