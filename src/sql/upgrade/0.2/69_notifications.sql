-- pg_loyalty 0.1 -> 0.2: macros without trailing zeros; card activation (J2) and thank-you (J3) notices

CREATE OR REPLACE FUNCTION @extschema@.notification_vars(member_id bigint)
RETURNS jsonb
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT jsonb_strip_nulls(jsonb_build_object(
        'name', m.name, 'customer_key', m.customer_key, 'program', p.name,
        'company_name', cp.company_name,
        'points', (SELECT trim_scale(b.points::numeric) FROM @extschema@.balance b
                    WHERE b.member_id = m.member_id AND b.program_id = m.program_id),
        'tier', tp.current_tier, 'next_tier', tp.next_tier,
        'points_to_next_tier', CASE WHEN tp.next_tier IS NOT NULL THEN trim_scale(tp.needed) END,
        'discount', (SELECT trim_scale(t.discount_percent) FROM @extschema@.member_tier mt
                       JOIN @extschema@.tier t ON t.tier_id = mt.tier_id WHERE mt.member_id = m.member_id),
        'birthday', to_char(m.birthday, 'DD/MM')))
      FROM @extschema@.member m
      JOIN @extschema@.program p ON p.program_id = m.program_id
      LEFT JOIN @extschema@.customer_profile cp ON cp.member_id = m.member_id
      LEFT JOIN LATERAL @extschema@.tier_progress(m.member_id, m.program_id, now()) tp ON true
     WHERE m.member_id = $1
$$;
COMMENT ON FUNCTION @extschema@.notification_vars(bigint) IS
'The standard macro values of a member: name, customer_key, program, company_name, points, tier, next_tier, points_to_next_tier, discount, birthday; numbers without trailing zeros (450 points, 800000 dong)';

CREATE FUNCTION @extschema@.card_activation_notice()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF NEW.status = 'active' THEN
        PERFORM @extschema@.notify_event(NEW.member_id, 'card_activated', 'card_activated',
                                         jsonb_build_object('code', NEW.card_no),
                                         'card_activated:' || NEW.card_no);
    END IF;
    RETURN NULL;
END
$$;
COMMENT ON FUNCTION @extschema@.card_activation_notice() IS
'Trigger: the card activation notice (J2) as soon as a card is issued, on every channel the program has a card_activated template for (none: nothing is sent)';

CREATE TRIGGER card_activation_notice AFTER INSERT ON @extschema@.card
    FOR EACH ROW EXECUTE FUNCTION @extschema@.card_activation_notice();

-- the thank-you after payment (J3) is queued by the order's tier trigger
-- (src/tiers.c) for programs with a thank_you template; they are cached per
-- backend, so template changes reload the caches at commit
CREATE TRIGGER notification_template_invalidate AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE
    ON @extschema@.notification_template
    FOR EACH STATEMENT EXECUTE FUNCTION @extschema@.invalidate_rule_cache();

REVOKE EXECUTE ON FUNCTION @extschema@.card_activation_notice() FROM PUBLIC;
