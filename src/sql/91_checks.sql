-- Wiring across concerns: the one ledger check, and cache invalidation for offers.

CREATE FUNCTION @extschema@.check_ledger()
RETURNS TABLE (invariant text, member_id bigint, detail text)
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT * FROM @extschema@.check_points()
    UNION ALL
    SELECT * FROM @extschema@.check_tiers()
    UNION ALL
    SELECT * FROM @extschema@.check_redemption()
    UNION ALL
    SELECT * FROM @extschema@.check_campaigns()
    UNION ALL
    SELECT * FROM @extschema@.check_stored_value()
    UNION ALL
    SELECT * FROM @extschema@.check_reports()
$$;
COMMENT ON FUNCTION @extschema@.check_ledger() IS
'Every violated invariant of every ledger (empty when all is well): points balances equal entries, no entry changed, lots match balances, nothing refunded beyond what was earned, tiers match their history';

CREATE TRIGGER birthday_offer_invalidate AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE
    ON @extschema@.birthday_offer
    FOR EACH STATEMENT EXECUTE FUNCTION @extschema@.invalidate_rule_cache();
CREATE TRIGGER tier_invalidate AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE
    ON @extschema@.tier
    FOR EACH STATEMENT EXECUTE FUNCTION @extschema@.invalidate_rule_cache();
CREATE TRIGGER reward_threshold_invalidate AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE
    ON @extschema@.reward_threshold
    FOR EACH STATEMENT EXECUTE FUNCTION @extschema@.invalidate_rule_cache();
CREATE TRIGGER campaign_invalidate AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE
    ON @extschema@.campaign
    FOR EACH STATEMENT EXECUTE FUNCTION @extschema@.invalidate_rule_cache();
