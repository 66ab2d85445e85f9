-- Security: roles and grants, SECURITY DEFINER till functions, branch isolation,
-- planted objects in the search_path and hostile input.
\set VERBOSITY terse
SET search_path = public, loyalty;

-- Runs a statement and says 'ok' or the SQLSTATE it failed with.
CREATE FUNCTION public.sec_try(stmt text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE stmt;
    RETURN 'ok';
EXCEPTION WHEN OTHERS THEN
    RETURN SQLSTATE;
END
$$;
GRANT EXECUTE ON FUNCTION public.sec_try(text) TO PUBLIC;

INSERT INTO program (code, name, point_value) VALUES ('sec_p', 'Security', 1000);
INSERT INTO rule (program_id, name, kind, percent)
  SELECT program_id, '10% back', 'percent', 10 FROM program WHERE code = 'sec_p';

-- 1. Roles --------------------------------------------------------------------
SELECT setup_roles('sec_admin', 'sec_till', 'sec_reader');
SELECT setup_roles('sec_admin', 'sec_till', 'sec_reader');   -- again: nothing new
SELECT rolname, rolcanlogin FROM pg_roles WHERE rolname LIKE 'sec\_%' ORDER BY 1;
-- what the till may execute: till functions only
SELECT p.proname, has_function_privilege('sec_till', p.oid, 'EXECUTE') AS till,
       has_function_privilege('sec_admin', p.oid, 'EXECUTE') AS admin,
       has_function_privilege('sec_reader', p.oid, 'EXECUTE') AS reader
  FROM pg_proc p
 WHERE p.pronamespace = 'loyalty'::regnamespace
   AND p.proname IN ('record_order', 'redeem', 'adjust', 'expire_points', 'check_ledger',
                     'bind_till', 'setup_roles', 'campaign_take', 'new_code', 'points_in')
 ORDER BY 1;
-- table privileges
SELECT t, has_table_privilege('sec_till', 'loyalty.' || t, 'SELECT') AS till_select,
       has_table_privilege('sec_admin', 'loyalty.' || t, 'SELECT') AS admin_select,
       has_table_privilege('sec_admin', 'loyalty.' || t, 'UPDATE') AS admin_update
  FROM unnest(ARRAY['ledger', 'balance', 'member', 'program', 'rule', 'till_branch']) t;
SELECT * FROM check_security();

-- 2. SECURITY DEFINER: a till without table grants records, redeems, returns
BEGIN;
SET LOCAL ROLE sec_till;
SELECT enroll('sec_p', 'S1') > 0 AS enrolled;
SELECT points, replayed FROM record_order('sec_p', 'S1', 'SEC-1', total => 500000, branch => 'A');
SELECT points, replayed FROM record_order('sec_p', 'S1', 'SEC-1', total => 500000, branch => 'A');
SELECT points_used, amount FROM redeem('sec_p', 'S1', 'SEC-R1', 20, total => 100000, branch => 'A');
SELECT return_order('sec_p', 'SEC-1', 'SEC-1-RET', amount => 100000, branch => 'A');
SELECT balance('sec_p', 'S1'), available_points('sec_p', 'S1');
-- but no direct table access
SELECT sec_try($$SELECT count(*) FROM loyalty.ledger$$) AS select_ledger;
SELECT sec_try($$INSERT INTO loyalty.ledger (member_id, program_id, kind, amount, document, checksum) VALUES (1, 1, 'adjust', 100, 'x', 0)$$) AS insert_ledger;
SELECT sec_try($$UPDATE loyalty.balance SET points = 1000000$$) AS update_balance;
SELECT sec_try($$SELECT * FROM loyalty.member$$) AS select_member;
SELECT sec_try($$SELECT adjust('sec_p', 'S1', 1000, 'SEC-ADJ')$$) AS adjust;
SELECT sec_try($$SELECT expire_points()$$) AS expire_points;
SELECT sec_try($$SELECT campaign_take(1, 1, 1)$$) AS campaign_take;
SELECT sec_try($$SELECT bind_till('sec_till', ARRAY['X'])$$) AS bind_till;
ROLLBACK;

-- the admin: adjusts, changes configuration, checks; cannot write the ledger directly
BEGIN;
SET LOCAL ROLE sec_admin;
SELECT enroll('sec_p', 'S2') > 0 AS enrolled;
SELECT adjust('sec_p', 'S2', 50, 'SEC-ADJ-1', 'goodwill');
UPDATE loyalty.rule SET percent = 5 WHERE name = '10% back'
   AND program_id = (SELECT program_id FROM loyalty.program WHERE code = 'sec_p');
INSERT INTO loyalty.tier (program_id, rank, name, measure, threshold)
  SELECT program_id, 1, 'VIP', 'spend', 100 FROM loyalty.program WHERE code = 'sec_p';
INSERT INTO loyalty.campaign (program_id, code, name, starts_at, ends_at, budget_points)
  SELECT program_id, 'sec_c', 'Security campaign', now(), now() + interval '1 day', 1000
    FROM loyalty.program WHERE code = 'sec_p';
SELECT schedule_campaign('sec_c'), start_campaign('sec_c'), pause_campaign('sec_c'), end_campaign('sec_c');
SELECT recalculate_tiers('sec_p') IS NOT NULL AS tiers_recalculated,
       expire_points() IS NOT NULL AS expired, release_expired_holds() >= 0 AS released;
SELECT count(*) >= 0 AS reads_views FROM campaign_budget, campaign_cost, member_order_line;
SELECT count(*) FROM check_ledger();
SELECT sec_try($$INSERT INTO loyalty.balance (member_id, program_id) VALUES (1, 1)$$) AS insert_balance;
SELECT sec_try($$DELETE FROM loyalty.member_order$$) AS delete_orders;
ROLLBACK;

-- PUBLIC: nothing that moves value or reads member data
BEGIN;
CREATE ROLE sec_nobody NOLOGIN;
GRANT USAGE ON SCHEMA loyalty TO sec_nobody;
SET LOCAL ROLE sec_nobody;
SELECT sec_try($$SELECT record_order('sec_p', 'S9', 'SEC-9', total => 1)$$) AS record_order;
SELECT sec_try($$SELECT balance('sec_p', 'S1')$$) AS balance;
SELECT sec_try($$SELECT member_id('sec_p', 'S1')$$) AS member_id;
SELECT sec_try($$SELECT code_is_valid('ABC')$$) AS code_is_valid;
SELECT '12.5'::loyalty.points + '1'::loyalty.points AS points_math, round('1.5'::loyalty.points);
ROLLBACK;

-- 2b. Planted objects: the till's search_path starts with a hostile schema
CREATE SCHEMA evil;
CREATE FUNCTION evil.texteq_evil(text, text) RETURNS boolean LANGUAGE sql IMMUTABLE AS 'SELECT true';
CREATE OPERATOR evil.= (LEFTARG = text, RIGHTARG = text, FUNCTION = evil.texteq_evil);
CREATE FUNCTION evil.sum_evil(loyalty.points, loyalty.points) RETURNS loyalty.points
  LANGUAGE sql IMMUTABLE AS $$ SELECT '999999'::loyalty.points $$;
CREATE AGGREGATE evil.sum(loyalty.points) (SFUNC = evil.sum_evil, STYPE = loyalty.points);
CREATE FUNCTION evil.lower(text) RETURNS text LANGUAGE sql IMMUTABLE AS $$ SELECT 'owned' $$;
CREATE FUNCTION evil.upper(text) RETURNS text LANGUAGE sql IMMUTABLE AS $$ SELECT 'owned' $$;
CREATE FUNCTION evil.coalesce_evil(bigint) RETURNS bigint LANGUAGE sql AS 'SELECT 0::bigint';
CREATE TABLE evil.program (program_id bigint, code text);
INSERT INTO evil.program VALUES (1, 'sec_p');
GRANT USAGE ON SCHEMA evil TO PUBLIC;
GRANT SELECT ON evil.program TO PUBLIC;
BEGIN;
SET LOCAL ROLE sec_till;
SET LOCAL search_path = evil, loyalty, public, pg_catalog;
SELECT enroll('sec_p', 'S3') > 0 AS enrolled;
SELECT points FROM record_order('sec_p', 'S3', 'SEC-3', total => 200000, branch => 'A');
SELECT points FROM record_order('sec_p', 'S3', 'SEC-4', total => 300000, branch => 'A');
SELECT balance('sec_p', 'S3'), balance('sec_p', 'nobody');
SELECT cancel_order('sec_p', 'SEC-3');
SELECT balance('sec_p', 'S3');
SELECT issue_card(member_id('sec_p', 'S3'), 'ev') ~ '^EV' AS card_in_series;
SELECT member_id('sec_p', 'S3') IS NOT NULL AS found, member_id('sec_p', 'nobody') IS NULL AS not_found;  -- evil = would match
RESET ROLE;
SET LOCAL search_path = public, loyalty;
SELECT count(*) FROM check_ledger();
ROLLBACK;
DROP SCHEMA evil CASCADE;

-- 3. Branch isolation -----------------------------------------------------------
CREATE ROLE sec_till_a NOLOGIN IN ROLE sec_till;
CREATE ROLE sec_till_b NOLOGIN IN ROLE sec_till;
SELECT bind_till('sec_till_a', ARRAY['A']);
SELECT bind_till('sec_till_b', ARRAY['B', 'B2']);
SELECT bind_till('sec_till_b', ARRAY['B']);              -- rebinding drops B2
SELECT * FROM till_branch WHERE role_name LIKE 'sec\_%' ORDER BY 1, 2;
SELECT sec_try($$SELECT bind_till('sec_no_such_role', ARRAY['A'])$$) AS unknown_role;
SELECT till_branches() IS NULL AS superuser_unbound;
SELECT enroll('sec_p', c) > 0 AS enrolled FROM unnest(ARRAY['SA', 'SB']) c;
SELECT points FROM record_order('sec_p', 'SB', 'SEC-B0', total => 400000, branch => 'B');

SET SESSION AUTHORIZATION sec_till_a;
SELECT till_branches();
SELECT points FROM record_order('sec_p', 'SA', 'SEC-A1', total => 300000, branch => 'A');
SELECT points FROM record_order('sec_p', 'SA', 'SEC-A2', total => 300000, branch => 'A');
SELECT sec_try($$SELECT record_order('sec_p', 'SA', 'SEC-A3', total => 300000, branch => 'B')$$) AS other_branch;
SELECT sec_try($$SELECT record_order('sec_p', 'SA', 'SEC-A4', total => 300000)$$) AS no_branch;
SELECT points_used FROM redeem('sec_p', 'SA', 'SEC-A-R1', 10, total => 100000, branch => 'A');
SELECT hold('sec_p', 'SA', 'SEC-A-H1', 5, total => 100000, branch => 'A') > 0 AS held;
SELECT sec_try($$SELECT redeem('sec_p', 'SA', 'SEC-A-R2', 10, total => 100000, branch => 'B')$$) AS redeem_other;
SELECT sec_try($$SELECT hold('sec_p', 'SA', 'SEC-A-H2', 10, total => 100000, branch => 'B')$$) AS hold_other;
RESET SESSION AUTHORIZATION;

SET SESSION AUTHORIZATION sec_till_b;
SELECT till_branches();
-- B cannot return, cancel, refund, capture or release A's documents
SELECT sec_try($$SELECT return_order('sec_p', 'SEC-A1', 'SEC-A1-RET', amount => 1000, branch => 'B')$$) AS return_other;
SELECT sec_try($$SELECT cancel_order('sec_p', 'SEC-A1')$$) AS cancel_other;
SELECT sec_try($$SELECT refund_redemption('sec_p', 'SEC-A-R1')$$) AS refund_other;
SELECT points FROM record_order('sec_p', 'SB', 'SEC-B1', total => 200000, branch => 'B');
SELECT cancel_order('sec_p', 'SEC-B0');
RESET SESSION AUTHORIZATION;
-- capture and release of A's hold, by B: by hold id
SELECT hold_id AS a_hold FROM redemption_hold WHERE document = 'SEC-A-H1' \gset
SET SESSION AUTHORIZATION sec_till_b;
SELECT sec_try('SELECT capture(' || :a_hold || ')') AS capture_other;
SELECT sec_try('SELECT release(' || :a_hold || ')') AS release_other;
RESET SESSION AUTHORIZATION;

SET SESSION AUTHORIZATION sec_till_a;
SELECT return_order('sec_p', 'SEC-A1', 'SEC-A1-RET', amount => 100000, branch => 'A');
SELECT cancel_order('sec_p', 'SEC-A2');
SELECT refund_redemption('sec_p', 'SEC-A-R1');
SELECT points_used FROM capture(:a_hold);
RESET SESSION AUTHORIZATION;

SELECT document, branch, status FROM member_order WHERE document LIKE 'SEC-A%' OR document LIKE 'SEC-B%' ORDER BY 1;
SELECT balance('sec_p', 'SA') AS sa, balance('sec_p', 'SB') AS sb;
-- unbinding lifts the restriction at once
SELECT bind_till('sec_till_b', '{}');
SET SESSION AUTHORIZATION sec_till_b;
SELECT till_branches() IS NULL AS unbound;
RESET SESSION AUTHORIZATION;
SELECT count(*) FROM check_ledger();

-- 4. Hostile input ----------------------------------------------------------------
-- 1 MB strings: clear errors or correct handling
CREATE TEMP TABLE sec_big AS
  SELECT string_agg(md5(i::text), '') AS s FROM generate_series(1, 32768) i;
SELECT length(s) FROM sec_big;
SELECT sec_try(format('SELECT record_order(%L, %L, %L, total => 1000)', 'sec_p', 'SA', s)) AS big_document,
       sec_try(format('SELECT record_order(%L, %L, %L, total => 1000)', s, 'SA', 'SEC-BIG-1')) AS big_program,
       sec_try(format('SELECT record_order(%L, %L, %L, total => 1000)', 'sec_p', s, 'SEC-BIG-2')) AS big_customer,
       sec_try(format('SELECT enroll(%L, %L)', 'sec_p', s)) AS big_enroll,
       sec_try(format('SELECT balance(%L, %L)', 'sec_p', s)) AS big_balance,
       sec_try(format('SELECT %L::loyalty.code', s)) AS big_code,
       sec_try(format('SELECT %L::loyalty.points', s)) AS big_points,
       sec_try(format('SELECT code_is_valid(%L)', s)) AS big_code_valid,
       sec_try(format('SELECT record_order(%L, %L, %L, total => 1000, branch => %L)', 'sec_p', 'SA', 'SEC-BIG-3', s)) AS big_branch
  FROM sec_big;
-- a long customer key or branch is stored as given; the failed ones left nothing behind
SELECT count(*) FROM member_order WHERE length(document) > 1000 OR length(branch) > 1000;
-- invalid UTF-8 never reaches our functions: the server rejects it first
SELECT sec_try($$SELECT record_order('sec_p', 'SA', convert_from('\xc328'::bytea, 'UTF8'), total => 1)$$) AS bad_utf8;
SELECT sec_try($$SELECT convert_from('\xff'::bytea, 'UTF8')::loyalty.code$$) AS bad_utf8_code;
-- codes of every wrong shape
SELECT s AS input, sec_try(format('SELECT %L::loyalty.code', s)) AS code_in, code_is_valid(s)
  FROM unnest(ARRAY['', ' ', '-', '--', 'A', 'ABCD-', '-ABCD', 'AB--CD', 'ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789',
                    'ÄÖÜ-1234', E'AB\tCD', 'ab cd', 'ABCD-EFGH-IJKL-MNOP-QRST-UVWX',
                    '0000-0000', 'IIII-OOOO', E'\u00a0ABC', '🙂🙂🙂🙂']) s;
-- NaN, Infinity and huge numbers to money and points arguments
SELECT a AS amount,
       sec_try(format('SELECT record_order(%L, %L, %L, total => %s)', 'sec_p', 'SA', 'SEC-NUM-' || md5(a), a)) AS total,
       sec_try(format('SELECT record_order_lines(%L, %L, %L, ARRAY[ROW(1, %L, NULL, 1, %s, 0, NULL, false)::loyalty.order_line])',
                      'sec_p', 'SA', 'SEC-LINE-' || md5(a), 'X', a)) AS price,
       sec_try(format('SELECT quote(%L, %L, total => %s)', 'sec_p', 'SA', a)) AS quote,
       sec_try(format('SELECT redeem(%L, %L, %L, 1, total => %s, branch => %L)', 'sec_p', 'SA', 'SEC-RD-' || md5(a), a, 'A')) AS redeem_total,
       sec_try(format('SELECT return_order(%L, %L, %L, amount => %s)', 'sec_p', 'SEC-B1', 'SEC-RET-' || md5(a), a)) AS return_amount,
       sec_try(format('SELECT %s::loyalty.points', a)) AS as_points
  FROM unnest(ARRAY['''NaN''::numeric', '''Infinity''::numeric', '''-Infinity''::numeric',
                    '1e100', '-1', '-1e100', '92233720368547758.07', '0.001']) a;
SELECT s AS points_text, sec_try(format('SELECT %L::loyalty.points', s)) AS points_in
  FROM unnest(ARRAY['NaN', 'Infinity', '1e5', '92233720368547758.08', '-92233720368547758.09',
                    '1.001', '0x10', ' 1', '1 ', '', '-', '.', '1.', '.5', '+-1', '١٢٣']) s;
SELECT count(*) FROM check_ledger();

-- clean up the roles (they are cluster-wide)
DELETE FROM till_branch WHERE role_name LIKE 'sec\_%';
DROP OWNED BY sec_till_a, sec_till_b, sec_admin, sec_till, sec_reader;
DROP ROLE sec_till_a, sec_till_b, sec_admin, sec_till, sec_reader;
DROP FUNCTION public.sec_try(text);
