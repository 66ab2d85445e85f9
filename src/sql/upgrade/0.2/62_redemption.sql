-- pg_loyalty 0.1 -> 0.2: reward coupons usable at the till (B4): reward_coupons(), use_reward_coupon(), release_reward_coupon()

ALTER TABLE @extschema@.reward_coupon ADD COLUMN used_at timestamptz;
ALTER TABLE @extschema@.reward_coupon ADD COLUMN bill_total numeric;
ALTER TABLE @extschema@.reward_coupon ADD COLUMN discount numeric;
COMMENT ON TABLE @extschema@.reward_coupon IS 'Coupons given by reward thresholds (e.g. 10% off the next bill); used with loyalty.use_reward_coupon()';
COMMENT ON COLUMN @extschema@.reward_coupon.used_document IS 'The bill the coupon was used on';
COMMENT ON COLUMN @extschema@.reward_coupon.bill_total IS 'The total of the bill the coupon was used on';
COMMENT ON COLUMN @extschema@.reward_coupon.discount IS 'What the coupon took off that bill';
CREATE FUNCTION @extschema@.reward_coupons(program text, customer_key text)
RETURNS TABLE (coupon text, percent numeric, amount numeric, valid_until timestamptz, reward text)
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT c.coupon::text, c.percent, c.amount, c.valid_until, t.name
      FROM @extschema@.reward_coupon c
      JOIN @extschema@.reward_award a ON a.member_id = c.member_id AND a.award_id = c.award_id
      JOIN @extschema@.reward_threshold t ON t.threshold_id = a.threshold_id
     WHERE c.member_id = @extschema@.member_id($1, $2)
       AND c.program_id = (SELECT p.program_id FROM @extschema@.program p WHERE p.code = $1)
       AND c.status = 'issued' AND (c.valid_until IS NULL OR c.valid_until > now())
     ORDER BY c.valid_until NULLS LAST, c.issued_at, c.coupon
$$;
COMMENT ON FUNCTION @extschema@.reward_coupons(text, text) IS
'The reward coupons a customer may use now (e.g. 10% off the next bill), soonest to expire first';

CREATE FUNCTION @extschema@.use_reward_coupon(program text, customer_key text, document text, bill_total numeric,
    coupon text DEFAULT NULL,
    OUT used_coupon text, OUT percent numeric, OUT discount numeric, OUT replayed boolean)
RETURNS record
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_program bigint;
    v_member bigint;
    c @extschema@.reward_coupon;
BEGIN
    IF program IS NULL OR customer_key IS NULL OR document IS NULL OR bill_total IS NULL THEN
        RAISE EXCEPTION 'program, customer key, document and bill total must not be null'
            USING ERRCODE = 'null_value_not_allowed';
    END IF;
    IF bill_total < 0 THEN
        RAISE EXCEPTION 'bill total must not be negative' USING ERRCODE = 'LR011';
    END IF;
    SELECT p.program_id INTO v_program FROM @extschema@.program p WHERE p.code = use_reward_coupon.program;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'loyalty program "%" does not exist', program USING ERRCODE = 'LY005';
    END IF;
    v_member := @extschema@.member_id(program, customer_key);
    IF v_member IS NULL THEN
        RAISE EXCEPTION 'customer "%" is not a member of loyalty program "%"', customer_key, program
            USING ERRCODE = 'LY002';
    END IF;
    -- the member's balance row first (the lock order of every redemption), so
    -- two tills using the member's coupons, or a retry racing the original,
    -- take turns and each sees what the other committed
    PERFORM 1 FROM @extschema@.balance b WHERE b.member_id = v_member AND b.program_id = v_program FOR UPDATE;
    -- a retry of the same bill answers the same
    SELECT * INTO c FROM @extschema@.reward_coupon x
     WHERE x.member_id = v_member AND x.program_id = v_program AND x.status = 'used'
       AND x.used_document = use_reward_coupon.document
     FOR UPDATE;
    IF FOUND THEN
        IF c.bill_total <> round(use_reward_coupon.bill_total, 2)
           OR (use_reward_coupon.coupon IS NOT NULL AND c.coupon::text <> upper(use_reward_coupon.coupon)) THEN
            RAISE EXCEPTION 'bill "%" already used a reward coupon with a different total or code', document
                USING ERRCODE = 'LR001';
        END IF;
        used_coupon := c.coupon::text; percent := c.percent; discount := c.discount; replayed := true;
        RETURN;
    END IF;
    SELECT * INTO c FROM @extschema@.reward_coupon x
     WHERE x.member_id = v_member AND x.program_id = v_program AND x.status = 'issued'
       AND (x.valid_until IS NULL OR x.valid_until > now())
       AND (use_reward_coupon.coupon IS NULL OR x.coupon::text = upper(use_reward_coupon.coupon))
     ORDER BY x.valid_until NULLS LAST, x.issued_at, x.coupon
     LIMIT 1
     FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'customer "%" has no reward coupon to use', customer_key
            USING ERRCODE = 'LR014',
                  DETAIL = CASE WHEN use_reward_coupon.coupon IS NULL
                                THEN 'The customer has no issued reward coupon that is still valid.'
                                ELSE format('Coupon %s is not an issued, still valid coupon of this customer.',
                                            use_reward_coupon.coupon) END;
    END IF;
    c.bill_total := round(use_reward_coupon.bill_total, 2);
    c.discount := CASE WHEN c.percent IS NOT NULL THEN @extschema@.stored_percent_of(c.bill_total, c.percent)
                       ELSE least(c.amount, c.bill_total) END;
    UPDATE @extschema@.reward_coupon x
       SET status = 'used', used_document = use_reward_coupon.document, used_at = now(),
           bill_total = c.bill_total, discount = c.discount
     WHERE x.member_id = c.member_id AND x.coupon OPERATOR(@extschema@.=) c.coupon;
    used_coupon := c.coupon::text; percent := c.percent; discount := c.discount; replayed := false;
END
$$;
COMMENT ON FUNCTION @extschema@.use_reward_coupon(text, text, text, numeric, text) IS
'Uses a customer''s reward coupon (the named one, or the one expiring soonest) on a bill and returns the discount to give (percent of the bill rounded down, or the amount up to the bill); once per coupon, a retry of the bill answers the same (LR001 with another total), LR014 when there is none';

CREATE FUNCTION @extschema@.release_reward_coupon(program text, document text)
RETURNS integer
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_program bigint;
    v_count integer;
BEGIN
    IF program IS NULL OR document IS NULL THEN
        RAISE EXCEPTION 'program and document must not be null' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    SELECT p.program_id INTO v_program FROM @extschema@.program p WHERE p.code = release_reward_coupon.program;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'loyalty program "%" does not exist', program USING ERRCODE = 'LY005';
    END IF;
    UPDATE @extschema@.reward_coupon x
       SET status = 'issued', used_document = NULL, used_at = NULL, bill_total = NULL, discount = NULL
     WHERE x.program_id = v_program AND x.status = 'used' AND x.used_document = release_reward_coupon.document;
    GET DIAGNOSTICS v_count = ROW_COUNT;
    RETURN v_count;
END
$$;
COMMENT ON FUNCTION @extschema@.release_reward_coupon(text, text) IS
'A cancelled bill gives its reward coupon back (usable again until it expires); returns how many coupons came back, 0 on a retry';

-- till functions (loyalty.function_role() lists them as 'till' from 0.2)
REVOKE EXECUTE ON FUNCTION @extschema@.reward_coupons(text, text) FROM PUBLIC;
ALTER FUNCTION @extschema@.reward_coupons(text, text) SECURITY DEFINER SET search_path = pg_catalog, pg_temp;
REVOKE EXECUTE ON FUNCTION @extschema@.use_reward_coupon(text, text, text, numeric, text) FROM PUBLIC;
ALTER FUNCTION @extschema@.use_reward_coupon(text, text, text, numeric, text) SECURITY DEFINER SET search_path = pg_catalog, pg_temp;
REVOKE EXECUTE ON FUNCTION @extschema@.release_reward_coupon(text, text) FROM PUBLIC;
ALTER FUNCTION @extschema@.release_reward_coupon(text, text) SECURITY DEFINER SET search_path = pg_catalog, pg_temp;
