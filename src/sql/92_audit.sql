-- Audit log of administrative changes: who changed which configuration row, when, old and new.

CREATE TABLE @extschema@.audit_log (
    audit_id        bigint NOT NULL DEFAULT @extschema@.generate_id() PRIMARY KEY,
    table_name      text NOT NULL,
    operation       text NOT NULL CHECK (operation IN ('INSERT', 'UPDATE', 'DELETE', 'TRUNCATE')),
    changed_by      text NOT NULL DEFAULT current_user,
    session_user_name text NOT NULL DEFAULT session_user,
    changed_at      timestamptz NOT NULL DEFAULT now(),
    old_row         jsonb,
    new_row         jsonb
);
CREATE INDEX audit_log_table_time_idx ON @extschema@.audit_log (table_name, changed_at);
COMMENT ON TABLE @extschema@.audit_log IS
'Every change to programs, rules and other configuration: who (role and session user), when, the old and the new row; append-only';

CREATE FUNCTION @extschema@.audit_change()
RETURNS trigger
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    -- A restore re-inserts rows that are already in the restored audit log.
    IF current_setting('application_name') = 'pg_restore' THEN
        RETURN NULL;
    END IF;
    IF TG_OP = 'TRUNCATE' THEN
        INSERT INTO @extschema@.audit_log (table_name, operation, changed_by)
        VALUES (TG_TABLE_SCHEMA || '.' || TG_TABLE_NAME, TG_OP, current_user);
        RETURN NULL;
    END IF;
    INSERT INTO @extschema@.audit_log (table_name, operation, changed_by, old_row, new_row)
    VALUES (TG_TABLE_SCHEMA || '.' || TG_TABLE_NAME, TG_OP, current_user,
            CASE WHEN TG_OP IN ('UPDATE', 'DELETE') THEN to_jsonb(OLD) END,
            CASE WHEN TG_OP IN ('INSERT', 'UPDATE') THEN to_jsonb(NEW) END);
    RETURN NULL;
END
$$;
REVOKE ALL ON FUNCTION @extschema@.audit_change() FROM PUBLIC;
COMMENT ON FUNCTION @extschema@.audit_change() IS
'Trigger: records a configuration change in loyalty.audit_log (runs as the extension owner so the log needs no grants); pg_restore''s reloading of rows is not a change and is not logged';

CREATE FUNCTION @extschema@.audit_table(tbl regclass)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    EXECUTE format('CREATE TRIGGER audit_row AFTER INSERT OR UPDATE OR DELETE ON %s '
                   'FOR EACH ROW EXECUTE FUNCTION @extschema@.audit_change()', tbl);
    EXECUTE format('CREATE TRIGGER audit_truncate AFTER TRUNCATE ON %s '
                   'FOR EACH STATEMENT EXECUTE FUNCTION @extschema@.audit_change()', tbl);
END
$$;
REVOKE ALL ON FUNCTION @extschema@.audit_table(regclass) FROM PUBLIC;
COMMENT ON FUNCTION @extschema@.audit_table(regclass) IS
'Puts a configuration table under the audit log';

SELECT @extschema@.audit_table('@extschema@.program');
SELECT @extschema@.audit_table('@extschema@.rule');
SELECT @extschema@.audit_table('@extschema@.attachment');
SELECT @extschema@.audit_table('@extschema@.tier');
SELECT @extschema@.audit_table('@extschema@.birthday_offer');
SELECT @extschema@.audit_table('@extschema@.notification_template');
SELECT @extschema@.audit_table('@extschema@.redemption_policy');
SELECT @extschema@.audit_table('@extschema@.reward_threshold');
SELECT @extschema@.audit_table('@extschema@.campaign');
SELECT @extschema@.audit_table('@extschema@.discount_policy');
SELECT @extschema@.audit_table('@extschema@.prize_pool');
SELECT @extschema@.audit_table('@extschema@.wallet_bonus_rule');
SELECT @extschema@.audit_table('@extschema@.wallet_level');
SELECT @extschema@.audit_table('@extschema@.product_card_type');
SELECT @extschema@.audit_table('@extschema@.voucher_type');

CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON @extschema@.audit_log
    FOR EACH ROW EXECUTE FUNCTION @extschema@.ledger_reject_change();
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON @extschema@.audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION @extschema@.ledger_reject_change();
SELECT pg_catalog.pg_extension_config_dump('@extschema@.audit_log', '');
