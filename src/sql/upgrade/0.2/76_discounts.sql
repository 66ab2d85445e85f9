-- 0.1 -> 0.2, discount policies: campaign discounts are reserved from the
-- campaign's money cap (and its branch's) when an order is recorded;
-- quote_discounts, record_applied_discounts and apply_discounts take a branch
-- (and record_applied_discounts the order's time).

DROP FUNCTION @extschema@.apply_discounts(text, text, text, jsonb, timestamptz, text);
DROP FUNCTION @extschema@.record_applied_discounts(text, text, jsonb, text, text);
DROP FUNCTION @extschema@.quote_discounts(text, text, jsonb, timestamptz);

CREATE FUNCTION @extschema@.quote_discounts(program text, customer_key text, lines jsonb,
                                            at timestamptz DEFAULT NULL, branch text DEFAULT NULL)
RETURNS TABLE (line_no integer, policy_id bigint, policy_name text, stacking text, amount numeric)
AS 'MODULE_PATHNAME', 'quote_discounts'
LANGUAGE C STABLE;

COMMENT ON FUNCTION @extschema@.quote_discounts(text, text, jsonb, timestamptz, text) IS
'The discounts a bill gets, per line (line 0: the bill) with the policy of each: the best exclusive policy or the sum of the stackable ones, whichever gives more; a campaign''s policy only while its money cap and the branch''s cap can pay it; deterministic';

REVOKE EXECUTE ON FUNCTION @extschema@.quote_discounts(text, text, jsonb, timestamptz, text) FROM PUBLIC;

ALTER FUNCTION @extschema@.quote_discounts(text, text, jsonb, timestamptz, text) SECURITY DEFINER SET search_path = pg_catalog, pg_temp;

CREATE FUNCTION @extschema@.quote_discounts_except(program text, customer_key text, lines jsonb,
                                                   at timestamptz, branch text, except_campaigns bigint[],
                                                   check_budgets boolean)
RETURNS TABLE (line_no integer, policy_id bigint, policy_name text, stacking text, amount numeric)
AS 'MODULE_PATHNAME', 'quote_discounts'
LANGUAGE C STABLE;

COMMENT ON FUNCTION @extschema@.quote_discounts_except(text, text, jsonb, timestamptz, text, bigint[], boolean) IS
'quote_discounts without the policies of the given campaigns (apply_discounts quotes again so when a campaign''s budget ran out under it), and without the budget test when check_budgets is false (a retry)';

REVOKE EXECUTE ON FUNCTION @extschema@.quote_discounts_except(text, text, jsonb, timestamptz, text, bigint[], boolean) FROM PUBLIC;

CREATE FUNCTION @extschema@.discount_record(p_program text, p_document text, p_quote jsonb,
                                            p_customer_key text, p_source text, p_at timestamptz,
                                            p_branch text, OUT recorded integer, OUT exhausted bigint)
RETURNS record
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_program bigint;
    v_member bigint := 0;
    v_key bigint;
    v_at timestamptz := coalesce(p_at, now());
    v_new text;
    v_old text;
    v_inserted bigint;
    v_camps bigint[] := '{}';
    v_amounts numeric[] := '{}';
    v_pol bigint[];
    v_line integer[];
    v_amt numeric[];
    c record;
    i integer;
BEGIN
    SELECT p.program_id INTO v_program FROM @extschema@.program p WHERE p.code = p_program;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'loyalty program "%" does not exist', p_program USING ERRCODE = 'LY005';
    END IF;
    IF p_document IS NULL OR p_document = '' THEN
        RAISE EXCEPTION 'applied discounts need a document id' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    IF p_customer_key IS NOT NULL THEN
        SELECT coalesce(k.member_id, 0) INTO v_member FROM @extschema@.member_key k
         WHERE k.program_id = v_program AND k.customer_key = p_customer_key;
        v_member := coalesce(v_member, 0);
    END IF;
    v_key := CASE WHEN v_member <> 0 THEN v_member ELSE abs(hashtext(p_document)::bigint) END;
    SELECT coalesce(array_agg((x.e->>'policy_id')::bigint ORDER BY x.o), '{}'),
           coalesce(array_agg(coalesce((x.e->>'line_no')::integer, 0) ORDER BY x.o), '{}'),
           coalesce(array_agg((x.e->>'amount')::numeric ORDER BY x.o), '{}')
      INTO v_pol, v_line, v_amt
      FROM jsonb_array_elements(coalesce(p_quote, '[]')) WITH ORDINALITY AS x(e, o);
    IF EXISTS (SELECT 1 FROM unnest(v_pol, v_line, v_amt) AS r(policy_id, line_no, amount)
                WHERE r.policy_id IS NULL OR r.amount IS NULL OR r.amount < 0
                   OR NOT EXISTS (SELECT 1 FROM @extschema@.discount_policy d
                                   WHERE d.policy_id = r.policy_id AND d.program_id = v_program)) THEN
        RAISE EXCEPTION 'quote of document "%" names an unknown policy or a bad amount', p_document
            USING ERRCODE = 'LC001', HINT = 'Pass the rows of loyalty.quote_discounts() as a JSON array.';
    END IF;
    -- one session at a time per document: a concurrent retry, or a different
    -- quote for the same document, waits here and then sees the first one's rows
    PERFORM pg_catalog.pg_advisory_xact_lock(pg_catalog.hashtextextended(
        pg_catalog.format('order_discount %s %s %s %s', v_member, v_program, p_source, p_document), 0));
    -- a new document reserves its campaigns' discounts from their money caps (a replay reserves nothing)
    IF NOT EXISTS (SELECT 1 FROM @extschema@.order_discount o
                    WHERE o.member_id = v_member AND o.program_id = v_program
                      AND o.source = p_source AND o.document = p_document) THEN
        FOR c IN SELECT d.campaign_id, sum(r.amount) AS amount
                   FROM unnest(v_pol, v_line, v_amt) AS r(policy_id, line_no, amount)
                   JOIN @extschema@.discount_policy d ON d.policy_id = r.policy_id
                  WHERE d.campaign_id IS NOT NULL
                  GROUP BY d.campaign_id HAVING sum(r.amount) > 0 ORDER BY d.campaign_id LOOP
            IF NOT @extschema@.campaign_take_money(c.campaign_id, c.amount, v_key, v_at, p_branch) THEN
                FOR i IN 1 .. cardinality(v_camps) LOOP
                    PERFORM @extschema@.campaign_give_back_money(v_camps[i], v_amounts[i], v_key, v_at, p_branch);
                END LOOP;
                recorded := 0;
                exhausted := c.campaign_id;
                RETURN;
            END IF;
            v_camps := v_camps || c.campaign_id;
            v_amounts := v_amounts || c.amount;
        END LOOP;
        INSERT INTO @extschema@.order_discount (member_id, program_id, source, document, policy_id, line_no, amount)
        SELECT v_member, v_program, p_source, p_document, r.policy_id, r.line_no, r.amount
          FROM unnest(v_pol, v_line, v_amt) AS r(policy_id, line_no, amount)
        ON CONFLICT DO NOTHING;
        GET DIAGNOSTICS v_inserted = ROW_COUNT;
        IF v_inserted = 0 THEN
            -- a concurrent retry recorded the document first: give the reservation back
            FOR i IN 1 .. cardinality(v_camps) LOOP
                PERFORM @extschema@.campaign_give_back_money(v_camps[i], v_amounts[i], v_key, v_at, p_branch);
            END LOOP;
        END IF;
    END IF;
    SELECT string_agg(format('%s:%s:%s', r.policy_id, r.line_no, r.amount::numeric(20,2)), ',' ORDER BY 1, 2)
      INTO v_new FROM unnest(v_pol, v_line, v_amt) AS r(policy_id, line_no, amount);
    SELECT string_agg(format('%s:%s:%s', o.policy_id, o.line_no, o.amount::numeric(20,2)), ',' ORDER BY 1, 2), count(*)
      INTO v_old, recorded FROM @extschema@.order_discount o
     WHERE o.member_id = v_member AND o.program_id = v_program
       AND o.source = p_source AND o.document = p_document;
    IF v_old IS DISTINCT FROM v_new THEN
        RAISE EXCEPTION 'discounts of document "%" were already recorded differently', p_document
            USING ERRCODE = 'LC004',
                  HINT = 'A retry must repeat the original quote; a changed bill needs a new document id.';
    END IF;
END
$$;

COMMENT ON FUNCTION @extschema@.discount_record(text, text, jsonb, text, text, timestamptz, text) IS
'Records a document''s applied discounts once, reserving the discounts of campaign policies from their campaigns'' budgets; exhausted names a campaign that could not pay (nothing written)';

REVOKE EXECUTE ON FUNCTION @extschema@.discount_record(text, text, jsonb, text, text, timestamptz, text) FROM PUBLIC;

CREATE FUNCTION @extschema@.record_applied_discounts(program text, document text, quote jsonb,
                                                     customer_key text DEFAULT NULL, source text DEFAULT 'pos',
                                                     at timestamptz DEFAULT NULL, branch text DEFAULT NULL)
RETURNS integer
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    r record;
BEGIN
    r := @extschema@.discount_record(program, document, quote, customer_key, source, at, branch);
    IF r.exhausted IS NOT NULL THEN
        RAISE EXCEPTION 'campaign "%" can no longer pay the discounts of document "%"',
              (SELECT c.code FROM @extschema@.campaign c WHERE c.campaign_id = r.exhausted), document
            USING ERRCODE = 'LC007',
                  DETAIL = 'Its budget ran out, or it is no longer running, since the bill was quoted.',
                  HINT = 'Quote the bill again: the campaign''s policies are no longer offered.';
    END IF;
    RETURN r.recorded;
END
$$;

COMMENT ON FUNCTION @extschema@.record_applied_discounts(text, text, jsonb, text, text, timestamptz, text) IS
'Stores the discounts applied to an order (the rows of quote_discounts as a JSON array) and reserves those of campaign policies from the campaigns'' money caps (and the branch''s); a campaign that can no longer pay raises LC007 and nothing is written; a retry with the same rows is a no-op, different rows raise LC004';

REVOKE EXECUTE ON FUNCTION @extschema@.record_applied_discounts(text, text, jsonb, text, text, timestamptz, text) FROM PUBLIC;

ALTER FUNCTION @extschema@.record_applied_discounts(text, text, jsonb, text, text, timestamptz, text) SECURITY DEFINER SET search_path = pg_catalog, pg_temp;

CREATE FUNCTION @extschema@.apply_discounts(program text, customer_key text, document text, lines jsonb,
                                            at timestamptz DEFAULT NULL, source text DEFAULT 'pos',
                                            branch text DEFAULT NULL)
RETURNS TABLE (line_no integer, policy_id bigint, policy_name text, stacking text, amount numeric)
AS 'MODULE_PATHNAME', 'apply_discounts_fast'
LANGUAGE C
SET search_path = pg_catalog, pg_temp;

COMMENT ON FUNCTION @extschema@.apply_discounts(text, text, text, jsonb, timestamptz, text, text) IS
'Quotes a bill''s discounts and records them with the order in one call, reserving campaign discounts from their budgets (a campaign that runs out meanwhile is left out and the bill quoted again); idempotent per document (a retry is quoted without the budget test and must match what was recorded)';

REVOKE EXECUTE ON FUNCTION @extschema@.apply_discounts(text, text, text, jsonb, timestamptz, text, text) FROM PUBLIC;

ALTER FUNCTION @extschema@.apply_discounts(text, text, text, jsonb, timestamptz, text, text) SECURITY DEFINER SET search_path = pg_catalog, pg_temp;

-- issue #7: the policies are cached per backend (src/discount.c) with the rule cache's invalidation
CREATE TRIGGER discount_policy_invalidate AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON @extschema@.discount_policy
    FOR EACH STATEMENT EXECUTE FUNCTION @extschema@.invalidate_rule_cache();

-- friendly errors for bad discount policies (LC001 with a hint)
CREATE FUNCTION @extschema@.discount_policy_check_row()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF NEW.valid_from >= NEW.valid_to THEN
        RAISE EXCEPTION 'discount policy "%" ends before it starts', NEW.name
            USING ERRCODE = 'LC001',
                  DETAIL = format('It is valid from %s to %s.', NEW.valid_from, NEW.valid_to),
                  HINT = 'valid_to must be later than valid_from.';
    END IF;
    IF NEW.value <= 0 OR (NEW.kind = 'percent' AND NEW.value > 100) THEN
        RAISE EXCEPTION 'discount policy "%" gives % %', NEW.name, NEW.value, NEW.kind
            USING ERRCODE = 'LC001',
                  HINT = 'A percent is more than 0 and at most 100; an amount is more than 0.';
    END IF;
    IF NEW.hour_from NOT BETWEEN 0 AND 23 OR NEW.hour_to NOT BETWEEN 1 AND 24 THEN
        RAISE EXCEPTION 'golden hours of discount policy "%" are outside the day', NEW.name
            USING ERRCODE = 'LC001',
                  HINT = 'hour_from is 0 to 23 and hour_to 1 to 24 (local hours; from > to wraps past midnight).';
    END IF;
    IF NOT (NEW.weekdays <@ '{1,2,3,4,5,6,7}'::integer[]) THEN
        RAISE EXCEPTION 'weekdays of discount policy "%" are not ISO weekdays', NEW.name
            USING ERRCODE = 'LC001', HINT = 'Weekdays are 1 (Monday) to 7 (Sunday).';
    END IF;
    IF NEW.min_bill < 0 THEN
        RAISE EXCEPTION 'minimum bill of discount policy "%" is negative', NEW.name
            USING ERRCODE = 'LC001';
    END IF;
    RETURN NEW;
END
$$;
COMMENT ON FUNCTION @extschema@.discount_policy_check_row() IS
'Trigger: a discount policy ends after it starts, gives more than nothing (a percent at most 100), and its hours and weekdays exist; LC001 with a hint instead of a bare check violation';
CREATE TRIGGER discount_policy_check BEFORE INSERT OR UPDATE ON @extschema@.discount_policy
    FOR EACH ROW EXECUTE FUNCTION @extschema@.discount_policy_check_row();
