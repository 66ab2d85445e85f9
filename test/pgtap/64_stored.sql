-- Stored value (wallets, product cards, vouchers): objects, comments, privileges.
BEGIN;
SELECT plan(14);

SELECT has_table('loyalty', 'wallet', 'loyalty.wallet exists');
SELECT has_table('loyalty', 'wallet_ledger', 'loyalty.wallet_ledger exists');
SELECT has_table('loyalty', 'product_card', 'loyalty.product_card exists');
SELECT has_table('loyalty', 'voucher', 'loyalty.voucher exists');
SELECT has_view('loyalty', 'wallet_float', 'the prepaid float view exists');
SELECT has_function('loyalty', 'check_stored_value', 'loyalty.check_stored_value() exists');
SELECT is((SELECT count(*)::int FROM pg_trigger
            WHERE tgrelid IN ('loyalty.wallet_ledger'::regclass, 'loyalty.product_card_move'::regclass)
              AND tgfoid = 'loyalty.stored_reject_change'::regproc), 4,
          'stored-value histories reject update, delete and truncate');
SELECT ok(NOT has_table_privilege('public', 'loyalty.secret', 'SELECT'), 'PUBLIC cannot read the secret');
SELECT octet_length(loyalty.code_digest(loyalty.new_code())) AS first_digest;
SELECT is((SELECT octet_length(value) FROM loyalty.secret WHERE name = 'code_digest'), 32,
          'the code digest secret is made on first use and has 32 random bytes');
SELECT ok((SELECT loyalty.code_digest(c) = loyalty.code_digest(c::text::loyalty.code)
                   AND loyalty.code_digest(c) <> loyalty.code_digest(loyalty.new_code())
                   AND octet_length(loyalty.code_digest(c)) = 32
              FROM loyalty.new_code() c),
          'a code''s digest is a stable 32-byte HMAC that differs between codes');
SELECT is((SELECT count(*)::int FROM pg_class c
            WHERE c.relnamespace = 'loyalty'::regnamespace AND c.relkind IN ('r', 'v')
              AND (c.relname LIKE 'wallet%' OR c.relname LIKE 'product_card%' OR c.relname LIKE 'voucher%'
                   OR c.relname = 'secret')
              AND obj_description(c.oid, 'pg_class') IS NULL), 0,
          'every stored-value table and view has a comment');
SELECT is((SELECT count(*)::int FROM pg_proc p
            WHERE p.pronamespace = 'loyalty'::regnamespace
              AND (p.proname LIKE 'wallet%' OR p.proname LIKE 'product_card%' OR p.proname LIKE 'voucher%'
                   OR p.proname LIKE 'stored%' OR p.proname IN ('code_digest', 'check_stored_value'))
              AND obj_description(p.oid, 'pg_proc') IS NULL), 0,
          'every stored-value function has a comment');
SELECT is((SELECT count(*)::int FROM pg_proc p
            WHERE p.pronamespace = 'loyalty'::regnamespace
              AND (p.proname LIKE 'wallet%' OR p.proname LIKE 'product_card%' OR p.proname LIKE 'voucher%'
                   OR p.proname IN ('code_digest', 'check_stored_value', 'stored_member', 'stored_reject_change'))
              AND p.prorettype <> 'trigger'::regtype AND p.proname <> 'wallet_entry_checksum'
              AND NOT coalesce(p.proconfig @> ARRAY['search_path=pg_catalog, pg_temp'], false)), 0,
          'stored-value functions run with a fixed search_path');
SELECT is_empty('SELECT * FROM loyalty.check_stored_value()', 'no stored-value invariant is violated');

SELECT * FROM finish();
ROLLBACK;
