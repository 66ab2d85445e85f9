-- Every SECURITY DEFINER function pins its search_path; append-only tables refuse changes.
BEGIN;
SELECT plan(6);

SELECT is_empty($$
    SELECT p.oid::regprocedure::text
      FROM pg_proc p
     WHERE p.pronamespace = 'loyalty'::regnamespace
       AND p.prosecdef
       AND NOT coalesce(p.proconfig @> ARRAY['search_path=pg_catalog, pg_temp'], false)
$$, 'every SECURITY DEFINER function pins search_path to pg_catalog, pg_temp');

SELECT is_empty($$
    SELECT p.oid::regprocedure::text
      FROM pg_proc p
     WHERE p.pronamespace = 'loyalty'::regnamespace
       AND p.prosecdef
       AND has_function_privilege('public', p.oid, 'EXECUTE')
       AND p.proname NOT IN ('accrue_order_trigger')
       AND p.prorettype <> 'trigger'::regtype
$$, 'no SECURITY DEFINER function is executable by PUBLIC');

INSERT INTO loyalty.program (code, name) VALUES ('tap_audit', 'Audit test');
UPDATE loyalty.program SET point_value = 500 WHERE code = 'tap_audit';
SELECT results_eq($$
    SELECT operation, changed_by = current_user, (old_row->>'point_value')::numeric, (new_row->>'point_value')::numeric
      FROM loyalty.audit_log WHERE new_row->>'code' = 'tap_audit' ORDER BY changed_at, audit_id
$$, $$ VALUES ('INSERT', true, NULL::numeric, 1000::numeric), ('UPDATE', true, 1000::numeric, 500::numeric) $$,
   'program changes are in the audit log with who, old and new');

INSERT INTO loyalty.rule (program_id, name, kind, points)
  SELECT program_id, 'visit', 'per_order', 10 FROM loyalty.program WHERE code = 'tap_audit';
SELECT loyalty.enroll('tap_audit', 'T1');
SELECT loyalty.record_order('tap_audit', 'T1', 'TAP-1', total => 1000);
SELECT throws_ok($$ UPDATE loyalty.ledger SET note = 'x' $$, 'LY003', NULL,
                 'the ledger refuses UPDATE');
SELECT throws_ok($$ DELETE FROM loyalty.audit_log $$, 'LY003', NULL,
                 'the audit log refuses DELETE');


SELECT ok(NOT EXISTS (
    SELECT 1 FROM pg_class c
     WHERE c.relnamespace = 'loyalty'::regnamespace AND c.relkind = 'r'
       AND c.relname <> 'report_refresh'  -- refresh times are not restored: summaries start empty
       AND NOT EXISTS (SELECT 1 FROM pg_extension e WHERE c.oid = ANY (e.extconfig))),
   'every table of the extension is kept by pg_dump (pg_extension_config_dump)');

SELECT * FROM finish();
ROLLBACK;
