-- Security: no function slips through to PUBLIC, every function is classified,
-- till and admin functions are SECURITY DEFINER, a till reaches no table.
BEGIN;
SELECT plan(9);

SELECT is_empty($$
    SELECT p.oid::regprocedure::text
      FROM pg_proc p
     WHERE p.pronamespace = 'loyalty'::regnamespace
       AND has_function_privilege('public', p.oid, 'EXECUTE')
       AND p.oid NOT IN (SELECT fn FROM loyalty.type_support_function())
       AND NOT EXISTS (SELECT 1 FROM loyalty.function_role() f
                        WHERE f.function_name = p.proname AND f.role_kind = 'public')
$$, 'no function of schema loyalty is executable by PUBLIC unless it supports a type, operator, aggregate or cast, or is a listed pure helper');

SELECT is_empty($$
    SELECT p.oid::regprocedure::text
      FROM pg_proc p
     WHERE p.pronamespace = 'loyalty'::regnamespace
       AND p.prorettype <> 'trigger'::regtype
       AND p.oid NOT IN (SELECT fn FROM loyalty.type_support_function())
       AND NOT EXISTS (SELECT 1 FROM loyalty.function_role() f WHERE f.function_name = p.proname)
$$, 'every function is classified in loyalty.function_role() (add one line for a new function)');

SELECT is_empty($$
    SELECT f.function_name::text FROM loyalty.function_role() f
     WHERE NOT EXISTS (SELECT 1 FROM pg_proc p
                        WHERE p.pronamespace = 'loyalty'::regnamespace AND p.proname = f.function_name)
$$, 'loyalty.function_role() names only existing functions');

SELECT is_empty($$ SELECT * FROM loyalty.check_security() $$, 'check_security() is clean');

SELECT loyalty.setup_roles('tap_admin', 'tap_till', 'tap_reader');

SELECT is_empty($$
    SELECT c.relname::text FROM pg_class c
     WHERE c.relnamespace = 'loyalty'::regnamespace AND c.relkind IN ('r', 'v', 'm', 'S')
       AND (has_table_privilege('tap_till', c.oid, 'SELECT')
            OR (c.relkind = 'r' AND has_table_privilege('tap_till', c.oid, 'INSERT,UPDATE,DELETE,TRUNCATE')))
$$, 'the till role reads and writes no table, view or sequence');

SELECT is_empty($$
    SELECT c.relname::text FROM pg_class c
     WHERE c.relnamespace = 'loyalty'::regnamespace AND c.relkind = 'r'
       AND has_table_privilege('tap_admin', c.oid, 'INSERT,UPDATE,DELETE')
       AND c.relname NOT IN (SELECT loyalty.admin_table())
$$, 'the admin role writes only the configuration tables');

SELECT is_empty($$
    SELECT p.oid::regprocedure::text FROM pg_proc p
     WHERE p.pronamespace = 'loyalty'::regnamespace
       AND has_function_privilege('tap_till', p.oid, 'EXECUTE')
       AND p.oid NOT IN (SELECT fn FROM loyalty.type_support_function())
       AND NOT EXISTS (SELECT 1 FROM loyalty.function_role() f
                        WHERE f.function_name = p.proname AND f.role_kind IN ('till', 'public'))
$$, 'the till role executes only till functions and pure helpers');

SET LOCAL ROLE tap_till;
SELECT throws_ok($$ SELECT count(*) FROM loyalty.ledger $$, '42501', NULL, 'the till cannot read the ledger');
SELECT throws_ok($$ SELECT loyalty.adjust('x', 'y', 1, 'z') $$, '42501', NULL, 'the till cannot adjust');
RESET ROLE;

SELECT * FROM finish();
ROLLBACK;
