-- Last step of every update to 0.2: the treatment src/sql/95_security.sql
-- gives every function at install time, applied again to every function now
-- in the schema. It covers the functions the fragments before this one create,
-- and those they CREATE OR REPLACE (which resets SECURITY DEFINER and SET
-- search_path to what the statement says). It classifies by
-- @extschema@.function_role() as the 0.2 fragments leave it, so new functions
-- still have to be listed there (src/sql/95_security.sql and its fragment).
-- Keep this block the same as the one in src/sql/95_security.sql.

-- Install: PUBLIC keeps only the support functions and the pure helpers; till
-- and admin functions run as the extension owner with a pinned search_path.
DO $$
DECLARE
    f record;
BEGIN
    FOR f IN
        SELECT p.oid::pg_catalog.regprocedure AS sig, r.role_kind, p.prorettype = 'trigger'::regtype AS is_trigger
          FROM pg_catalog.pg_proc p
          LEFT JOIN @extschema@.function_role() r ON r.function_name = p.proname
         WHERE p.pronamespace = '@extschema@'::regnamespace
           AND p.oid NOT IN (SELECT s.fn FROM @extschema@.type_support_function() s)
    LOOP
        IF f.role_kind IS DISTINCT FROM 'public' THEN
            EXECUTE format('REVOKE EXECUTE ON FUNCTION %s FROM PUBLIC', f.sig);
        END IF;
        IF f.role_kind IN ('till', 'admin', 'trigger_definer') THEN
            EXECUTE format('ALTER FUNCTION %s SECURITY DEFINER SET search_path = pg_catalog, pg_temp', f.sig);
        END IF;
    END LOOP;
END
$$;
