-- Vouchers, coupons and gift certificates: types, batch issue, redemption
-- exactly once, voids, distinct failure reasons, throttling
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

INSERT INTO loyalty.program (code, name) VALUES ('sv_vouch', 'Voucher shop');
SELECT count(*) AS enrolled FROM (SELECT loyalty.enroll('sv_vouch', k) FROM unnest(ARRAY['V1', 'V2']) k) e;

-- types: a 100K voucher, a 200K gift certificate sold at 180K through a
-- partner, a 10% coupon on food only, a 50K coupon capped at 30% of a bill,
-- an expired one, a future one, one for branch HN only
INSERT INTO loyalty.voucher_type (program_id, code, name, kind, face_value, discount_percent, discount_amount,
                                  invoice_value, valid_from, valid_to, valid_days, branches, allowed_groups,
                                  excluded_groups, max_bill_percent)
SELECT p.program_id, t.* FROM loyalty.program p,
 (VALUES ('V100', 'Voucher 100K', 'voucher', 100000, NULL, NULL, 100000, NULL::timestamptz, NULL::timestamptz, 30, NULL::text[], NULL::text[], '{}'::text[], NULL),
         ('VX', 'Voucher 100K, no alcohol', 'voucher', 100000, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, '{alcohol}', NULL),
         ('G200', 'Gift certificate 200K', 'gift_certificate', 200000, NULL, NULL, 180000, NULL, NULL, NULL, NULL, NULL, '{}', NULL),
         ('C10', 'Coupon 10% food', 'coupon', NULL, 10, NULL, NULL, NULL, NULL, NULL, NULL, '{food}', '{}', NULL),
         ('C50', 'Coupon 50K, max 30%', 'coupon', NULL, NULL, 50000, NULL, NULL, NULL, NULL, NULL, NULL, '{}', 30),
         ('OLD', 'Expired voucher', 'voucher', 50000, NULL, NULL, NULL, now() - interval '20 days', now() - interval '10 days', NULL, NULL, NULL, '{}', NULL),
         ('NEW', 'Future voucher', 'voucher', 50000, NULL, NULL, NULL, now() + interval '10 days', now() + interval '20 days', NULL, NULL, NULL, '{}', NULL),
         ('HN', 'Hanoi only', 'voucher', 50000, NULL, NULL, NULL, NULL, NULL, NULL, '{HN}', NULL, '{}', NULL))
 AS t(code, name, kind, face_value, discount_percent, discount_amount, invoice_value, valid_from, valid_to,
      valid_days, branches, allowed_groups, excluded_groups, max_bill_percent)
WHERE p.code = 'sv_vouch';

-- a type needs exactly one value; a voucher needs a face value
INSERT INTO loyalty.voucher_type (program_id, code, name, kind, face_value, discount_percent)
SELECT program_id, 'BAD', 'bad', 'coupon', 1, 1 FROM loyalty.program WHERE code = 'sv_vouch';
INSERT INTO loyalty.voucher_type (program_id, code, name, kind, discount_percent)
SELECT program_id, 'BAD', 'bad', 'voucher', 5 FROM loyalty.program WHERE code = 'sv_vouch';

-- issue in batches; the codes are shown once
CREATE TEMP TABLE codes (tag text, n int, code loyalty.code);
INSERT INTO codes SELECT 'v100', row_number() OVER (), c FROM loyalty.voucher_issue('sv_vouch', 'V100', 3, series => 'VC', batch => 'b-v100') c;
INSERT INTO codes SELECT 'vx', row_number() OVER (), c FROM loyalty.voucher_issue('sv_vouch', 'VX', 1) c;
INSERT INTO codes SELECT 'g200', row_number() OVER (), c FROM loyalty.voucher_issue('sv_vouch', 'G200', 2, customer_key => 'V1', batch => 'b-g200') c;
INSERT INTO codes SELECT 'c10', row_number() OVER (), c FROM loyalty.voucher_issue('sv_vouch', 'C10', 2) c;
INSERT INTO codes SELECT 'c50', row_number() OVER (), c FROM loyalty.voucher_issue('sv_vouch', 'C50', 1) c;
INSERT INTO codes SELECT 'old', row_number() OVER (), c FROM loyalty.voucher_issue('sv_vouch', 'OLD', 1) c;
INSERT INTO codes SELECT 'new', row_number() OVER (), c FROM loyalty.voucher_issue('sv_vouch', 'NEW', 1) c;
INSERT INTO codes SELECT 'hn', row_number() OVER (), c FROM loyalty.voucher_issue('sv_vouch', 'HN', 1) c;
SELECT tag, count(*), count(DISTINCT code), min(loyalty.code_series(code)) AS series FROM codes GROUP BY tag ORDER BY tag;

-- bearer codes are stored only as keyed digests with a visible suffix; coupons in clear
SELECT t.kind, count(*) AS codes, count(v.code) AS in_clear, count(v.digest) AS digests,
       bool_and(v.suffix = loyalty.code_suffix(c.code)) AS suffix_ok,
       bool_and(v.digest IS NULL OR v.digest = loyalty.code_digest(c.code)) AS digest_ok
  FROM codes c
  JOIN loyalty.voucher v ON v.suffix = loyalty.code_suffix(c.code)
   AND (v.code OPERATOR(loyalty.=) c.code OR v.digest = loyalty.code_digest(c.code))
  JOIN loyalty.voucher_type t ON t.type_id = v.type_id
 GROUP BY t.kind ORDER BY t.kind;
SELECT octet_length(value) AS secret_bytes FROM loyalty.secret WHERE name = 'code_digest';
CREATE ROLE regress_sv_clerk;
SELECT has_table_privilege('regress_sv_clerk', 'loyalty.secret', 'SELECT') AS clerk_reads_secret;
DROP ROLE regress_sv_clerk;
-- validity from valid_days: 30 days from issue
SELECT round(extract(epoch FROM v.valid_to - v.valid_from) / 86400) AS days
  FROM loyalty.voucher v JOIN loyalty.voucher_type t USING (type_id) WHERE t.code = 'V100' LIMIT 1;
-- the member of a member batch
SELECT count(*) AS v1_certificates FROM loyalty.voucher WHERE member_id = loyalty.member_id('sv_vouch', 'V1');

-- issue errors
SELECT pg_temp.err('SELECT loyalty.voucher_issue(''sv_vouch'', ''V100'', 1, batch => ''b-v100'')');
SELECT pg_temp.err('SELECT loyalty.voucher_issue(''sv_vouch'', ''NOPE'', 1)');
SELECT pg_temp.err('SELECT loyalty.voucher_issue(''nope'', ''V100'', 1)');
SELECT pg_temp.err('SELECT loyalty.voucher_issue(''sv_vouch'', ''V100'', 0)');
SELECT pg_temp.err('SELECT loyalty.voucher_issue(''sv_vouch'', ''V100'', 1, customer_key => ''nobody'')');
SELECT pg_temp.err('SELECT loyalty.voucher_issue(''sv_vouch'', ''V100'', 1, series => ''TOOLONG'')');

-- check does not use the code
SELECT ok, amount, reason FROM codes c, loyalty.voucher_check(c.code::text, 'HCM', 250000) WHERE tag = 'v100' AND n = 1;
-- redeem: a 100K voucher on a 250K bill, lower case and without hyphens works too
SELECT ok, amount, reason, sqlstate FROM codes c,
       loyalty.voucher_redeem(lower(replace(c.code::text, '-', '')), 'BILL-1', 'HCM', 250000, till => 'T1')
 WHERE tag = 'v100' AND n = 1;
-- the same bill again answers the same (a POS retry)
SELECT ok, amount, reason, message FROM codes c, loyalty.voucher_redeem(c.code::text, 'BILL-1', 'HCM', 250000, till => 'T1')
 WHERE tag = 'v100' AND n = 1;
-- the same bill with a different total is a conflict
SELECT left(pg_temp.err(format('SELECT loyalty.voucher_redeem(%L, ''BILL-1'', ''HCM'', 260000, till => ''T1'')', c.code)), 5) AS sqlstate
  FROM codes c WHERE tag = 'v100' AND n = 1;
-- another bill: used
SELECT ok, amount, reason, sqlstate FROM codes c, loyalty.voucher_redeem(c.code::text, 'BILL-2', 'HCM', 250000, till => 'T1')
 WHERE tag = 'v100' AND n = 1;
-- recorded: bill, branch, till, time
SELECT document, branch, till, bill_total, eligible, amount, forfeited, used_at IS NOT NULL AS has_time
  FROM loyalty.voucher_use ORDER BY used_at;

-- no change: a 100K voucher on a 60K bill pays 60K, 40K is forfeited
SELECT ok, amount FROM codes c, loyalty.voucher_redeem(c.code::text, 'BILL-3', 'HCM', 60000) WHERE tag = 'v100' AND n = 2;
SELECT forfeited, branch, till IS NULL AS no_till FROM loyalty.voucher_use WHERE document = 'BILL-3';
-- excluded goods: alcohol is not paid by VX
SELECT ok, amount FROM codes c,
       loyalty.voucher_redeem(c.code::text, 'BILL-4', 'HCM',
                              lines => '[{"sku": "BEER", "group": "alcohol", "amount": 90000},
                                         {"sku": "RICE", "group": "food", "amount": 30000}]')
 WHERE tag = 'vx';
SELECT bill_total, eligible, amount FROM loyalty.voucher_use WHERE document = 'BILL-4';
-- a type limited to goods needs the lines
SELECT ok FROM codes c, loyalty.voucher_check(c.code::text, 'HCM', 100000) WHERE tag = 'c10' AND n = 1;
-- 10% coupon on food only
SELECT ok, amount FROM codes c,
       loyalty.voucher_redeem(c.code::text, 'BILL-5', 'HCM',
                              lines => '[{"sku": "BEER", "group": "alcohol", "amount": 90000},
                                         {"sku": "RICE", "group": "food", "amount": 33333}]')
 WHERE tag = 'c10' AND n = 1;
-- a coupon on a bill of only excluded goods pays nothing
SELECT ok, amount, reason, sqlstate FROM codes c,
       loyalty.voucher_redeem(c.code::text, 'BILL-6', 'HCM', lines => '[{"sku": "BEER", "group": "alcohol", "amount": 90000}]')
 WHERE tag = 'c10' AND n = 2;
-- lines and a total that disagree
SELECT ok FROM codes c,
       loyalty.voucher_redeem(c.code::text, 'BILL-6', 'HCM', 1, '[{"sku": "RICE", "group": "food", "amount": 5}]')
 WHERE tag = 'c10' AND n = 2;
SELECT ok FROM codes c, loyalty.voucher_redeem(c.code::text, 'BILL-6', 'HCM', lines => '{"sku": "RICE"}')
 WHERE tag = 'c10' AND n = 2;
-- 50K coupon capped at 30% of a 100K bill
SELECT ok, amount FROM codes c, loyalty.voucher_redeem(c.code::text, 'BILL-7', 'HCM', 100000) WHERE tag = 'c50';
-- a gift certificate issued to V1: another member's customer key is refused, V1 and the bearer may use it
SELECT ok, reason, sqlstate FROM codes c, loyalty.voucher_check(c.code::text, 'HCM', 500000, customer_key => 'V2') WHERE tag = 'g200' AND n = 1;
SELECT ok, amount FROM codes c, loyalty.voucher_redeem(c.code::text, 'BILL-8', 'HCM', 500000, customer_key => 'V1') WHERE tag = 'g200' AND n = 1;
SELECT ok, amount FROM codes c, loyalty.voucher_redeem(c.code::text, 'BILL-9', 'HCM', 150000) WHERE tag = 'g200' AND n = 2;

-- distinct reasons and SQLSTATEs
SELECT 'expired' AS case, ok, reason, sqlstate, message FROM codes c, loyalty.voucher_redeem(c.code::text, 'BILL-10', 'HCM', 100000) WHERE tag = 'old'
UNION ALL
SELECT 'future', ok, reason, sqlstate, message FROM codes c, loyalty.voucher_redeem(c.code::text, 'BILL-10', 'HCM', 100000) WHERE tag = 'new'
UNION ALL
SELECT 'branch', ok, reason, sqlstate, message FROM codes c, loyalty.voucher_redeem(c.code::text, 'BILL-10', 'HCM', 100000) WHERE tag = 'hn'
UNION ALL
SELECT 'no branch', ok, reason, sqlstate, message FROM codes c, loyalty.voucher_redeem(c.code::text, 'BILL-10', NULL, 100000) WHERE tag = 'hn'
UNION ALL
SELECT 'unknown', ok, reason, sqlstate, message FROM loyalty.voucher_redeem(loyalty.new_code()::text, 'BILL-10', 'HCM', 100000, till => 'T2')
UNION ALL
SELECT 'malformed', ok, reason, sqlstate, message FROM loyalty.voucher_redeem('HELLO', 'BILL-10', 'HCM', 100000, till => 'T2');
SELECT ok, amount FROM codes c, loyalty.voucher_redeem(c.code::text, 'BILL-11', 'HN', 100000) WHERE tag = 'hn';
-- bad arguments raise
SELECT pg_temp.err('SELECT loyalty.voucher_redeem(''X'', NULL, ''HCM'', 1)');
SELECT pg_temp.err('SELECT loyalty.voucher_redeem(''X'', ''D'', ''HCM'')');
SELECT pg_temp.err('SELECT loyalty.voucher_redeem(''X'', ''D'', ''HCM'', -1)');

-- void gives the codes of a bill back once; the code can then be used again
SELECT loyalty.voucher_void('BILL-1') AS given_back;
SELECT loyalty.voucher_void('BILL-1') AS given_back_again;
SELECT loyalty.voucher_void('NO-SUCH-BILL') AS nothing;
INSERT INTO loyalty.program (code, name) VALUES ('sv_vouch2', 'Another shop');
SELECT loyalty.voucher_void('BILL-3', 'sv_vouch2') AS other_program;
SELECT pg_temp.err($$SELECT loyalty.voucher_void('BILL-3', 'nope')$$);
SELECT pg_temp.err($$SELECT loyalty.voucher_void(NULL)$$);
SELECT ok, amount FROM codes c, loyalty.voucher_redeem(c.code::text, 'BILL-12', 'HCM', 250000) WHERE tag = 'v100' AND n = 1;
SELECT status, count(*) FROM loyalty.voucher_status WHERE program = 'sv_vouch' GROUP BY status ORDER BY status;

-- two codes on one bill never pay more than the bill together
INSERT INTO codes SELECT 'v100b', row_number() OVER (), c FROM loyalty.voucher_issue('sv_vouch', 'V100', 1) c;
SELECT ok, amount, reason FROM codes c, loyalty.voucher_redeem(c.code::text, 'BILL-13', 'HCM', 150000) WHERE tag = 'v100' AND n = 3;
SELECT ok, amount, reason FROM codes c, loyalty.voucher_redeem(c.code::text, 'BILL-13', 'HCM', 150000) WHERE tag = 'v100b';
SELECT amount, forfeited FROM loyalty.voucher_use WHERE document = 'BILL-13' ORDER BY amount DESC;
INSERT INTO codes SELECT 'c50b', row_number() OVER (), c FROM loyalty.voucher_issue('sv_vouch', 'C50', 1) c;
SELECT ok, amount, reason, sqlstate FROM codes c, loyalty.voucher_redeem(c.code::text, 'BILL-13', 'HCM', 150000) WHERE tag = 'c50b';
-- a check (no bill yet) still sees the whole bill
SELECT ok, amount FROM codes c, loyalty.voucher_check(c.code::text, 'HCM', 150000) WHERE tag = 'c50b';

-- throttling: after max_failures wrong codes within the window the till is refused
INSERT INTO loyalty.voucher_throttle (max_failures) VALUES (3);
SELECT ok, reason FROM loyalty.voucher_check(loyalty.new_code()::text, 'HCM', 1000, till => 'T3');
SELECT ok, reason FROM loyalty.voucher_check('WRONG', 'HCM', 1000, till => 'T3');
SELECT ok, reason FROM loyalty.voucher_check(loyalty.new_code()::text, 'HCM', 1000, till => 'T3');
SELECT pg_temp.err(format('SELECT loyalty.voucher_check(%L, ''HCM'', 250000, till => ''T3'')', c.code)) AS refused
  FROM codes c WHERE tag = 'v100' AND n = 1;
-- even a good code is refused now; other tills are not affected
SELECT ok, reason FROM codes c, loyalty.voucher_check(c.code::text, 'HN', 100000, till => 'T4') WHERE tag = 'hn';
SELECT ok, reason FROM loyalty.voucher_check('WRONG', 'HCM', 1000, till => 'T4');
-- without a till the branch is the key
SELECT ok, reason FROM loyalty.voucher_check('WRONG', 'HP', 1000);
SELECT till_key, count(*) FROM loyalty.voucher_failure GROUP BY till_key ORDER BY till_key;
-- the window passes
UPDATE loyalty.voucher_failure SET failed_at = failed_at - interval '2 minutes' WHERE till_key = 'T3';
SELECT ok, reason FROM loyalty.voucher_check('WRONG', 'HCM', 1000, till => 'T3');
DELETE FROM loyalty.voucher_throttle;
UPDATE loyalty.voucher_failure SET failed_at = failed_at - interval '2 days' WHERE till_key = 'T3';
SELECT loyalty.voucher_failures_prune() AS pruned;

-- the exact amount arithmetic
SELECT loyalty.stored_voucher_amount(100000, NULL, NULL, 250000, NULL, 250000) AS face,
       loyalty.stored_voucher_amount(NULL, 12.5, NULL, 33333, NULL, 33333) AS percent,
       loyalty.stored_voucher_amount(NULL, NULL, 50000, 100000, 30, 100000) AS capped,
       loyalty.stored_voucher_amount(100000, NULL, NULL, 0, NULL, 0) AS nothing;

SELECT * FROM loyalty.check_stored_value();
SELECT * FROM loyalty.check_ledger();
