-- Security (issue 9): who may call what, SECURITY DEFINER for the functions
-- the roles call, and branch isolation of till roles.
--
-- This file runs after every other one.  At install it
--   1. takes EXECUTE away from PUBLIC on every function of the extension except
--      the support functions of our types, operators, aggregates and casts and
--      the pure helpers classified 'public' below;
--   2. makes every function classified 'till' or 'admin' SECURITY DEFINER with
--      a pinned search_path, so roles without table grants can use them;
--   3. guards the branch-scoped tables with till_branch_guard triggers.
-- loyalty.setup_roles() (run once per cluster by a superuser) creates the
-- roles and grants them what the classification says.
--
-- Adding a function to the extension: add ONE line to function_role() below
-- ('till', 'admin', 'admin_invoker', 'trigger_definer', 'public' or 'internal').  Adding a
-- configuration table: add ONE line to admin_table().

-- Classification ------------------------------------------------------------

CREATE FUNCTION @extschema@.function_role()
RETURNS TABLE (function_name name, role_kind text)
LANGUAGE sql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
VALUES
    -- till: what a point of sale calls (SECURITY DEFINER; granted to till and admin)
    ('record_order'::name, 'till'), ('record_order_lines', 'till'),
    ('explain_accrual', 'till'), ('explain_accrual_lines', 'till'),
    ('return_order', 'till'), ('return_order_lines', 'till'), ('cancel_order', 'till'),
    ('balance', 'till'), ('member_id', 'till'), ('enroll', 'till'), ('issue_card', 'till'),
    ('quote', 'till'), ('quote_lines', 'till'), ('redeem', 'till'), ('redeem_lines', 'till'),
    ('hold', 'till'), ('hold_lines', 'till'), ('capture', 'till'), ('release', 'till'),
    ('refund_redemption', 'till'), ('request_otp', 'till'), ('verify_otp', 'till'),
    ('available_points', 'till'), ('draw', 'till'), ('quote_discounts', 'till'),
    ('apply_discounts', 'till'), ('record_applied_discounts', 'till'),
    ('member_tier', 'till'), ('member_tier_discount', 'till'), ('member_tier_multiplier', 'till'),
    ('next_tier_progress', 'till'), ('birthday_multiplier', 'till'), ('till_branches', 'till'),
    ('wallet_top_up', 'till'), ('wallet_spend', 'till'), ('wallet_refund', 'till'),
    ('wallet_cashback', 'till'), ('product_card_issue', 'till'), ('product_card_use', 'till'),
    ('product_card_top_up', 'till'), ('voucher_check', 'till'), ('voucher_redeem', 'till'),
    ('voucher_void', 'till'),
    ('birthday_discount', 'till'), ('reward_coupons', 'till'), ('use_reward_coupon', 'till'),
    ('release_reward_coupon', 'till'),
    -- admin: back office, jobs and checks (SECURITY DEFINER; granted to admin)
    ('adjust', 'admin'), ('recalculate_tiers', 'admin'), ('apply_member_tier', 'admin'),
    ('tier_progress', 'admin'), ('expire_points', 'admin'), ('points_expiring', 'admin'),
    ('release_expired_holds', 'admin'), ('schedule_jobs', 'admin'), ('unschedule_jobs', 'admin'),
    ('job_commands', 'admin'), ('birthday_notices', 'admin'),
    ('schedule_campaign', 'admin'), ('start_campaign', 'admin'), ('pause_campaign', 'admin'),
    ('end_campaign', 'admin'), ('reschedule_campaign', 'admin'), ('campaign_tick', 'admin'),
    ('simulate_campaign', 'admin'), ('award_race', 'admin'), ('award_ended_races', 'admin'),
    ('race_leaderboard', 'admin'), ('send_to_segment', 'admin'), ('enqueue_notification', 'admin'),
    ('notify_event', 'admin'), ('claim_notifications', 'admin'), ('notification_delivered', 'admin'),
    ('notification_failed', 'admin'), ('top_customers', 'admin'),
    ('important_dates_in_month', 'admin'), ('customer_branches', 'admin'),
    ('customers_with', 'admin'), ('tasks_due', 'admin'), ('lot_expiry', 'admin'),
    ('check_ledger', 'admin'), ('check_points', 'admin'), ('check_redemption', 'admin'),
    ('check_tiers', 'admin'), ('check_campaigns', 'admin'), ('check_security', 'admin'),
    ('generate_id', 'admin'), ('bind_till', 'admin'),
    ('voucher_issue', 'admin'), ('voucher_failures_prune', 'admin'), ('check_stored_value', 'admin'),
    ('refresh_reports', 'admin'), ('liability_as_of', 'admin'), ('check_reports', 'admin'),
    ('grant_reader', 'admin'), ('purge_expired_otp', 'admin'),
    -- admin_invoker: admin functions that act on the caller's own objects (not SECURITY DEFINER)
    ('attach', 'admin_invoker'), ('detach', 'admin_invoker'), ('audit_table', 'admin_invoker'),
    ('accrue_order_trigger', 'admin_invoker'), ('audit_change', 'admin_invoker'),
    -- trigger_definer: triggers on configuration tables that write other tables or call
    -- internal functions, so they run as the owner when the admin changes the configuration
    ('campaign_check_row', 'trigger_definer'), ('campaign_after_change', 'trigger_definer'),
    ('campaign_rule_row', 'trigger_definer'), ('prize_pool_check', 'trigger_definer'),
    -- public: pure helpers without table access
    ('new_code', 'public'), ('code_is_valid', 'public'), ('code_series', 'public'),
    ('code_suffix', 'public'), ('round', 'public'), ('abs', 'public'), ('points', 'public'),
    ('greatest_points', 'public'), ('lines_from_json', 'public'), ('next_birthday', 'public'),
    ('render_template', 'public'), ('template_macros', 'public'), ('function_role', 'public'),
    ('admin_table', 'public'), ('type_support_function', 'public'),
    ('stored_percent_of', 'public'), ('stored_voucher_amount', 'public'), ('liability_bucket', 'public'),
    -- internal: called only by our own functions and triggers (no grants)
    ('entry_checksum', 'internal'), ('campaign_active', 'internal'), ('campaign_take', 'internal'),
    ('campaign_give_back', 'internal'), ('campaign_transition', 'internal'),
    ('campaign_split_budget', 'internal'), ('post_bonus', 'internal'),
    ('campaign_take_money', 'internal'), ('campaign_give_back_money', 'internal'),
    ('quote_discounts_except', 'internal'), ('discount_record', 'internal'), ('award_bonus', 'internal'),
    ('notification_vars', 'internal'), ('setup_roles', 'internal'),
    ('code_digest', 'internal'), ('stored_member', 'internal'), ('stored_random_bytes', 'internal'),
    ('wallet_entry_checksum', 'internal')
$$;
COMMENT ON FUNCTION @extschema@.function_role() IS
'Who may call each function of the extension (by name, all overloads): till, admin, admin_invoker (admin, runs as the caller), trigger_definer (a trigger that runs as the owner), public (pure helpers) or internal; other trigger functions and the support functions of types, operators, aggregates and casts need no line';

CREATE FUNCTION @extschema@.admin_table()
RETURNS SETOF name
LANGUAGE sql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
VALUES ('program'::name), ('rule'), ('tier'), ('birthday_offer'), ('redemption_policy'),
       ('reward_threshold'), ('campaign'), ('campaign_change'), ('campaign_budget_slot'),
       ('discount_policy'), ('prize_pool'), ('prize_phase'), ('points_race'),
       ('notification_template'), ('attachment'), ('till_branch'),
       ('customer_profile'), ('contact_person'), ('important_date'), ('customer_task')
$$;
COMMENT ON FUNCTION @extschema@.admin_table() IS
'Configuration tables the admin role may change directly (SELECT, INSERT, UPDATE, DELETE); it reads every table';

-- Branch isolation ----------------------------------------------------------

CREATE TABLE @extschema@.till_branch (
    role_name       name NOT NULL,
    branch          text NOT NULL,
    PRIMARY KEY (role_name, branch)
);
COMMENT ON TABLE @extschema@.till_branch IS
'Branches a till role may act at: a session whose session user is a member of a role listed here (and not a superuser) may only record, return, cancel, redeem and refund documents of these branches';

CREATE FUNCTION @extschema@.till_branches()
RETURNS text[]
AS 'MODULE_PATHNAME', 'till_branches'
LANGUAGE C STABLE PARALLEL RESTRICTED;
COMMENT ON FUNCTION @extschema@.till_branches() IS
'The branches the session user is bound to through loyalty.till_branch, or NULL when it is not a bound till (cached per backend)';

CREATE FUNCTION @extschema@.till_branch_guard()
RETURNS trigger
AS 'MODULE_PATHNAME', 'till_branch_guard'
LANGUAGE C;
COMMENT ON FUNCTION @extschema@.till_branch_guard() IS
'Trigger (branch column [, null_ok]): a bound till may only write rows of its branches (SQLSTATE 42501)';

CREATE FUNCTION @extschema@.till_branch_changed()
RETURNS trigger
AS 'MODULE_PATHNAME', 'till_branch_changed'
LANGUAGE C;
COMMENT ON FUNCTION @extschema@.till_branch_changed() IS
'Trigger: a change of loyalty.till_branch reloads the cached branches of every session';

CREATE TRIGGER till_branch_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON @extschema@.till_branch
    FOR EACH STATEMENT EXECUTE FUNCTION @extschema@.till_branch_changed();
SELECT @extschema@.audit_table('@extschema@.till_branch');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.till_branch', '');

CREATE TRIGGER till_branch_guard BEFORE INSERT OR UPDATE OR DELETE ON @extschema@.member_order
    FOR EACH ROW EXECUTE FUNCTION @extschema@.till_branch_guard('branch');
CREATE TRIGGER till_branch_guard BEFORE INSERT OR UPDATE OR DELETE ON @extschema@.redemption
    FOR EACH ROW EXECUTE FUNCTION @extschema@.till_branch_guard('branch');
CREATE TRIGGER till_branch_guard BEFORE INSERT OR UPDATE OR DELETE ON @extschema@.redemption_hold
    FOR EACH ROW EXECUTE FUNCTION @extschema@.till_branch_guard('branch');
CREATE TRIGGER till_branch_guard BEFORE INSERT ON @extschema@.ledger
    FOR EACH ROW EXECUTE FUNCTION @extschema@.till_branch_guard('branch', 'null_ok');

CREATE FUNCTION @extschema@.bind_till(role name, branches text[])
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles r WHERE r.rolname = bind_till.role) THEN
        RAISE EXCEPTION 'role "%" does not exist', bind_till.role USING ERRCODE = 'undefined_object';
    END IF;
    IF EXISTS (SELECT 1 FROM unnest(branches) b WHERE b IS NULL OR b = '') THEN
        RAISE EXCEPTION 'a branch may not be empty' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    DELETE FROM @extschema@.till_branch t
     WHERE t.role_name = bind_till.role AND NOT (t.branch = ANY (coalesce(branches, '{}')));
    INSERT INTO @extschema@.till_branch (role_name, branch)
    SELECT bind_till.role, b FROM unnest(branches) b
    ON CONFLICT DO NOTHING;
END
$$;
COMMENT ON FUNCTION @extschema@.bind_till(name, text[]) IS
'Binds a till role (and every session user that is a member of it) to these branches only; an empty array unbinds it';

CREATE FUNCTION @extschema@.check_security()
RETURNS TABLE (invariant text, member_id bigint, detail text)
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT 'no function of the extension is executable by PUBLIC unless allowed', NULL::bigint,
           p.oid::pg_catalog.regprocedure::text
      FROM pg_catalog.pg_proc p
     WHERE p.pronamespace = '@extschema@'::regnamespace
       AND pg_catalog.has_function_privilege('public', p.oid, 'EXECUTE')
       AND NOT EXISTS (SELECT 1 FROM @extschema@.function_role() f
                        WHERE f.function_name = p.proname AND f.role_kind = 'public')
       AND p.oid NOT IN (SELECT s.fn FROM @extschema@.type_support_function() s)
    UNION ALL
    SELECT 'every till and admin function is SECURITY DEFINER with a pinned search_path', NULL,
           p.oid::pg_catalog.regprocedure::text
      FROM pg_catalog.pg_proc p
      JOIN @extschema@.function_role() f ON f.function_name = p.proname
     WHERE p.pronamespace = '@extschema@'::regnamespace
       AND f.role_kind IN ('till', 'admin', 'trigger_definer')
       AND NOT (p.prosecdef AND coalesce(p.proconfig @> ARRAY['search_path=pg_catalog, pg_temp'], false))
    UNION ALL
    SELECT 'till_branch names existing roles', NULL, t.role_name::text
      FROM @extschema@.till_branch t
     WHERE NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles r WHERE r.rolname = t.role_name)
$$;
COMMENT ON FUNCTION @extschema@.check_security() IS
'Every violated security invariant (empty when all is well): no unexpected PUBLIC EXECUTE, till and admin functions SECURITY DEFINER, bindings name existing roles';

CREATE FUNCTION @extschema@.type_support_function()
RETURNS TABLE (fn oid)
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT x FROM (
        SELECT unnest(ARRAY[t.typinput, t.typoutput, t.typreceive, t.typsend, t.typmodin,
                            t.typmodout, t.typanalyze, t.typsubscript]::oid[])
          FROM pg_catalog.pg_type t WHERE t.typnamespace = '@extschema@'::regnamespace
        UNION ALL
        SELECT unnest(ARRAY[o.oprcode, o.oprrest, o.oprjoin]::oid[])
          FROM pg_catalog.pg_operator o WHERE o.oprnamespace = '@extschema@'::regnamespace
        UNION ALL
        SELECT unnest(ARRAY[a.aggfnoid, a.aggtransfn, a.aggfinalfn, a.aggcombinefn, a.aggserialfn,
                            a.aggdeserialfn, a.aggmtransfn, a.aggminvtransfn, a.aggmfinalfn]::oid[])
          FROM pg_catalog.pg_aggregate a
          JOIN pg_catalog.pg_proc p ON p.oid = a.aggfnoid
         WHERE p.pronamespace = '@extschema@'::regnamespace
        UNION ALL
        SELECT c.castfunc FROM pg_catalog.pg_cast c
          JOIN pg_catalog.pg_proc p ON p.oid = c.castfunc
         WHERE p.pronamespace = '@extschema@'::regnamespace
        UNION ALL
        SELECT ap.amproc FROM pg_catalog.pg_amproc ap
          JOIN pg_catalog.pg_proc p ON p.oid = ap.amproc
         WHERE p.pronamespace = '@extschema@'::regnamespace
    ) s(x)
     WHERE x <> 0
$$;
COMMENT ON FUNCTION @extschema@.type_support_function() IS
'Functions of the extension that the system calls for our types, operators, aggregates, casts and index operator classes: they stay executable by PUBLIC';

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

-- Roles ---------------------------------------------------------------------

CREATE FUNCTION @extschema@.setup_roles(admin name DEFAULT 'loyalty_admin',
                                        till name DEFAULT 'loyalty_till',
                                        reader name DEFAULT 'loyalty_reader')
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    r name;
    f record;
    t name;
BEGIN
    FOREACH r IN ARRAY ARRAY[admin, till, reader] LOOP
        IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles x WHERE x.rolname = r) THEN
            EXECUTE format('CREATE ROLE %I NOLOGIN', r);
        END IF;
        EXECUTE format('GRANT USAGE ON SCHEMA @extschema@ TO %I', r);
    END LOOP;

    -- admin reads everything and changes the configuration tables
    EXECUTE format('GRANT SELECT ON ALL TABLES IN SCHEMA @extschema@ TO %I', admin);
    FOR t IN SELECT a FROM @extschema@.admin_table() a
              WHERE pg_catalog.to_regclass('@extschema@.' || pg_catalog.quote_ident(a)) IS NOT NULL LOOP
        EXECUTE format('GRANT SELECT, INSERT, UPDATE, DELETE ON TABLE @extschema@.%I TO %I', t, admin);
    END LOOP;

    -- functions by their classification
    FOR f IN
        SELECT p.oid::pg_catalog.regprocedure AS sig, fr.role_kind
          FROM pg_catalog.pg_proc p
          JOIN @extschema@.function_role() fr ON fr.function_name = p.proname
         WHERE p.pronamespace = '@extschema@'::regnamespace
           AND fr.role_kind IN ('till', 'admin', 'admin_invoker')
    LOOP
        EXECUTE format('GRANT EXECUTE ON FUNCTION %s TO %I', f.sig, admin);
        IF f.role_kind = 'till' THEN
            EXECUTE format('GRANT EXECUTE ON FUNCTION %s TO %I', f.sig, till);
        END IF;
    END LOOP;

    -- reader: the report grants of the reports issue, else the report_% views
    IF pg_catalog.to_regprocedure('@extschema@.grant_reader(name)') IS NOT NULL THEN
        EXECUTE format('SELECT @extschema@.grant_reader(%L)', reader);
    ELSIF pg_catalog.to_regprocedure('@extschema@.grant_reader(text)') IS NOT NULL THEN
        EXECUTE format('SELECT @extschema@.grant_reader(%L::text)', reader);
    ELSIF pg_catalog.to_regprocedure('@extschema@.grant_reader()') IS NOT NULL THEN
        EXECUTE 'SELECT @extschema@.grant_reader()';
    ELSE
        FOR t IN SELECT c.relname FROM pg_catalog.pg_class c
                  WHERE c.relnamespace = '@extschema@'::regnamespace AND c.relkind IN ('v', 'm')
                    AND c.relname LIKE 'report\_%' LOOP
            EXECUTE format('GRANT SELECT ON @extschema@.%I TO %I', t, reader);
        END LOOP;
    END IF;
END
$$;
REVOKE ALL ON FUNCTION @extschema@.setup_roles(name, name, name) FROM PUBLIC;
COMMENT ON FUNCTION @extschema@.setup_roles(name, name, name) IS
'Creates the admin, till and reader roles (NOLOGIN) when missing and grants them their functions and tables; run by a superuser (or the extension owner with CREATEROLE), again after adding functions';
