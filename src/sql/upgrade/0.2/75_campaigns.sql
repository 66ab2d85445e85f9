-- 0.1 -> 0.2, campaigns: per-branch budgets (campaign.branch_budget_points,
-- branch_budget_money; campaign_budget_slot.branch), money reservations for
-- discounts (campaign_take_money, campaign_give_back_money), view
-- campaign_branch_budget.

ALTER TABLE @extschema@.campaign ADD COLUMN branch_budget_points @extschema@.points,
    ADD COLUMN branch_budget_money numeric;
ALTER TABLE @extschema@.campaign_budget_slot ADD COLUMN branch text;
UPDATE @extschema@.campaign_budget_slot SET branch = '';
ALTER TABLE @extschema@.campaign_budget_slot ALTER COLUMN branch SET DEFAULT '',
    ALTER COLUMN branch SET NOT NULL;
ALTER TABLE @extschema@.campaign_budget_slot DROP CONSTRAINT campaign_budget_slot_pkey,
    ADD CONSTRAINT campaign_budget_slot_pkey PRIMARY KEY (campaign_id, branch, day, slot);

COMMENT ON COLUMN @extschema@.campaign.budget_money IS 'Cap on the campaign''s cost in money: points at the point value (rules, races, points prizes), discounts of its policies and prize values (NULL: no cap)';

COMMENT ON COLUMN @extschema@.campaign.branch_budget_points IS 'Cap on the points the campaign gives at each branch (NULL: no per-branch cap); orders without a branch share the branch "(no branch)"';

COMMENT ON COLUMN @extschema@.campaign.branch_budget_money IS 'Cap on the money the campaign spends at each branch: points at the point value plus discounts (NULL: no per-branch cap)';

COMMENT ON TABLE @extschema@.campaign_budget_slot IS
'Budget counters split into slots: a till locks one slot only; day -infinity and branch '''' hold the whole budget, other days the daily cap, other branches the per-branch cap';

COMMENT ON COLUMN @extschema@.campaign_budget_slot.branch IS 'The branch whose cap this slot holds ('''': the whole budget and the daily caps)';

CREATE OR REPLACE FUNCTION @extschema@.campaign_check_row()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF NEW.starts_at >= NEW.ends_at THEN
        RAISE EXCEPTION 'campaign "%" ends before it starts', NEW.code
            USING ERRCODE = 'LC001',
                  DETAIL = format('It starts at %s and ends at %s.', NEW.starts_at, NEW.ends_at),
                  HINT = 'The end must be later than the start.';
    END IF;
    IF NEW.gift_window_from IS NOT NULL AND NEW.gift_window_to IS NOT NULL
       AND NEW.gift_window_from >= NEW.gift_window_to THEN
        RAISE EXCEPTION 'gift window of campaign "%" ends before it starts', NEW.code
            USING ERRCODE = 'LC001', HINT = 'The gift window''s end must be later than its start.';
    END IF;
    IF NEW.budget_points::numeric < 0 OR NEW.budget_money < 0
       OR NEW.daily_budget_points::numeric < 0
       OR NEW.branch_budget_points::numeric < 0 OR NEW.branch_budget_money < 0 THEN
        RAISE EXCEPTION 'budget of campaign "%" is negative', NEW.code
            USING ERRCODE = 'LC001', HINT = 'A budget is NULL (no cap) or zero or more.';
    END IF;
    IF TG_OP = 'UPDATE' AND NEW.status <> OLD.status
       AND current_setting('pg_loyalty_campaign.transition', true) IS DISTINCT FROM 'on' THEN
        RAISE EXCEPTION 'status of campaign "%" is changed by the lifecycle functions only', NEW.code
            USING ERRCODE = 'LC002',
                  HINT = 'Use loyalty.schedule_campaign(), start_campaign(), pause_campaign() or end_campaign().';
    END IF;
    IF TG_OP = 'INSERT' AND NEW.status <> 'draft' THEN
        RAISE EXCEPTION 'a new campaign starts as a draft' USING ERRCODE = 'LC002',
            HINT = 'Insert it as draft, then call loyalty.schedule_campaign().';
    END IF;
    RETURN NEW;
END
$$;

ALTER FUNCTION @extschema@.campaign_check_row() SECURITY DEFINER SET search_path = pg_catalog, pg_temp;

CREATE OR REPLACE FUNCTION @extschema@.campaign_split_budget(p_campaign bigint)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    c record;
    b text;
    v_cap_p bigint;
    v_cap_m bigint;
    v_taken_p bigint;
    v_taken_m bigint;
    v_left_p bigint;
    v_left_m bigint;
BEGIN
    SELECT * INTO c FROM @extschema@.campaign WHERE campaign_id = p_campaign;
    INSERT INTO @extschema@.campaign_budget_slot (campaign_id, day, branch, slot)
    SELECT p_campaign, '-infinity', '', s FROM generate_series(0, c.budget_slots - 1) s
    ON CONFLICT DO NOTHING;
    -- the whole budget, then each branch's (as takers lock them), every slot in slot order
    FOR b IN SELECT DISTINCT s.branch FROM @extschema@.campaign_budget_slot s
              WHERE s.campaign_id = p_campaign AND s.day = '-infinity' ORDER BY 1 LOOP
        PERFORM 1 FROM @extschema@.campaign_budget_slot
          WHERE campaign_id = p_campaign AND day = '-infinity' AND branch = b ORDER BY slot FOR UPDATE;
        IF b = '' THEN
            v_cap_p := (c.budget_points::numeric * 100)::bigint;
            v_cap_m := round(c.budget_money * 100)::bigint;
        ELSE
            v_cap_p := (c.branch_budget_points::numeric * 100)::bigint;
            v_cap_m := round(c.branch_budget_money * 100)::bigint;
        END IF;
        SELECT coalesce(sum((taken_points::numeric * 100)::bigint), 0), coalesce(sum(taken_money), 0)
          INTO v_taken_p, v_taken_m
          FROM @extschema@.campaign_budget_slot WHERE campaign_id = p_campaign AND day = '-infinity' AND branch = b;
        v_left_p := CASE WHEN v_cap_p IS NOT NULL THEN greatest(v_cap_p - v_taken_p, 0) END;
        v_left_m := CASE WHEN v_cap_m IS NOT NULL THEN greatest(v_cap_m - v_taken_m, 0) END;
        DELETE FROM @extschema@.campaign_budget_slot
         WHERE campaign_id = p_campaign AND day = '-infinity' AND branch = b AND slot >= c.budget_slots
           AND taken_points::numeric = 0 AND taken_money = 0;
        IF b <> '' THEN
            INSERT INTO @extschema@.campaign_budget_slot (campaign_id, day, branch, slot)
            SELECT p_campaign, '-infinity', b, s FROM generate_series(0, c.budget_slots - 1) s
            ON CONFLICT DO NOTHING;
        END IF;
        UPDATE @extschema@.campaign_budget_slot s
           SET remaining_points = ((v_left_p / c.budget_slots
                                      + CASE WHEN s.slot < v_left_p % c.budget_slots THEN 1 ELSE 0 END) / 100.0)::@extschema@.points,
               remaining_money = v_left_m / c.budget_slots
                                      + CASE WHEN s.slot < v_left_m % c.budget_slots THEN 1 ELSE 0 END
         WHERE s.campaign_id = p_campaign AND s.day = '-infinity' AND s.branch = b AND s.slot < c.budget_slots;
        UPDATE @extschema@.campaign_budget_slot s SET remaining_points = 0, remaining_money = 0
         WHERE s.campaign_id = p_campaign AND s.day = '-infinity' AND s.branch = b AND s.slot >= c.budget_slots;
    END LOOP;
    -- daily slots of today and later follow a changed daily cap on their next split
    DELETE FROM @extschema@.campaign_budget_slot
     WHERE campaign_id = p_campaign AND day <> '-infinity' AND takes = 0;
END
$$;

CREATE OR REPLACE FUNCTION @extschema@.campaign_after_change()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        PERFORM @extschema@.campaign_split_budget(NEW.campaign_id);
        RETURN NULL;
    END IF;
    IF NEW.starts_at <> OLD.starts_at THEN
        INSERT INTO @extschema@.campaign_change (campaign_id, what, old_value, new_value)
        VALUES (NEW.campaign_id, 'starts_at', OLD.starts_at::text, NEW.starts_at::text);
    END IF;
    IF NEW.ends_at <> OLD.ends_at THEN
        INSERT INTO @extschema@.campaign_change (campaign_id, what, old_value, new_value)
        VALUES (NEW.campaign_id, 'ends_at', OLD.ends_at::text, NEW.ends_at::text);
    END IF;
    IF NEW.status <> OLD.status THEN
        INSERT INTO @extschema@.campaign_change (campaign_id, what, old_value, new_value)
        VALUES (NEW.campaign_id, 'status', OLD.status, NEW.status);
    END IF;
    IF (NEW.budget_points::numeric, NEW.budget_money, NEW.daily_budget_points::numeric, NEW.budget_slots,
        NEW.branch_budget_points::numeric, NEW.branch_budget_money)
       IS DISTINCT FROM (OLD.budget_points::numeric, OLD.budget_money, OLD.daily_budget_points::numeric, OLD.budget_slots,
        OLD.branch_budget_points::numeric, OLD.branch_budget_money) THEN
        INSERT INTO @extschema@.campaign_change (campaign_id, what, old_value, new_value)
        VALUES (NEW.campaign_id, 'budget',
                format('points %s, money %s, daily points %s, slots %s, per branch points %s, per branch money %s',
                       coalesce(OLD.budget_points::text, 'no cap'), coalesce(OLD.budget_money::text, 'no cap'),
                       coalesce(OLD.daily_budget_points::text, 'no cap'), OLD.budget_slots,
                       coalesce(OLD.branch_budget_points::text, 'no cap'), coalesce(OLD.branch_budget_money::text, 'no cap')),
                format('points %s, money %s, daily points %s, slots %s, per branch points %s, per branch money %s',
                       coalesce(NEW.budget_points::text, 'no cap'), coalesce(NEW.budget_money::text, 'no cap'),
                       coalesce(NEW.daily_budget_points::text, 'no cap'), NEW.budget_slots,
                       coalesce(NEW.branch_budget_points::text, 'no cap'), coalesce(NEW.branch_budget_money::text, 'no cap')));
        PERFORM @extschema@.campaign_split_budget(NEW.campaign_id);
    END IF;
    -- the campaign's earning rules follow its schedule and status
    IF (NEW.starts_at, NEW.ends_at, NEW.status) IS DISTINCT FROM (OLD.starts_at, OLD.ends_at, OLD.status) THEN
        UPDATE @extschema@.rule r
           SET valid_from = NEW.starts_at, valid_to = NEW.ends_at,
               active = NEW.status IN ('scheduled', 'running')
         WHERE r.campaign_id = NEW.campaign_id;
    END IF;
    RETURN NULL;
END
$$;

ALTER FUNCTION @extschema@.campaign_after_change() SECURITY DEFINER SET search_path = pg_catalog, pg_temp;

CREATE OR REPLACE FUNCTION @extschema@.campaign_transition(p_code text, p_from text[], p_to text)
RETURNS text
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    c record;
BEGIN
    SELECT * INTO c FROM @extschema@.campaign WHERE code = p_code;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'campaign "%" does not exist', p_code USING ERRCODE = 'LC003';
    END IF;
    PERFORM 1 FROM @extschema@.campaign_budget_slot
      WHERE campaign_id = c.campaign_id AND day = '-infinity' AND branch = '' ORDER BY slot FOR UPDATE;
    SELECT * INTO c FROM @extschema@.campaign WHERE code = p_code FOR UPDATE;
    IF c.status = p_to THEN
        RETURN p_to;
    END IF;
    IF NOT c.status = ANY (p_from) THEN
        RAISE EXCEPTION 'campaign "%" cannot go from % to %', p_code, c.status, p_to
            USING ERRCODE = 'LC002',
                  DETAIL = format('From %s it can go to %s only.', c.status,
                                  CASE c.status WHEN 'draft' THEN 'scheduled'
                                                WHEN 'scheduled' THEN 'running or ended'
                                                WHEN 'running' THEN 'paused or ended'
                                                WHEN 'paused' THEN 'running or ended'
                                                ELSE 'nothing: it has ended' END);
    END IF;
    PERFORM set_config('pg_loyalty_campaign.transition', 'on', true);
    UPDATE @extschema@.campaign SET status = p_to WHERE campaign_id = c.campaign_id;
    PERFORM set_config('pg_loyalty_campaign.transition', 'off', true);
    RETURN p_to;
END
$$;

CREATE OR REPLACE FUNCTION @extschema@.reschedule_campaign(code text, starts_at timestamptz, ends_at timestamptz)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    c record;
BEGIN
    SELECT * INTO c FROM @extschema@.campaign k WHERE k.code = reschedule_campaign.code;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'campaign "%" does not exist', reschedule_campaign.code USING ERRCODE = 'LC003';
    END IF;
    IF c.status = 'ended' THEN
        RAISE EXCEPTION 'campaign "%" has ended', c.code USING ERRCODE = 'LC002',
            HINT = 'An ended campaign cannot be extended; create a new one.';
    END IF;
    PERFORM 1 FROM @extschema@.campaign_budget_slot
      WHERE campaign_id = c.campaign_id AND day = '-infinity' AND branch = '' ORDER BY slot FOR UPDATE;
    UPDATE @extschema@.campaign k
       SET starts_at = coalesce(reschedule_campaign.starts_at, k.starts_at),
           ends_at = coalesce(reschedule_campaign.ends_at, k.ends_at)
     WHERE k.campaign_id = c.campaign_id;
END
$$;

ALTER FUNCTION @extschema@.reschedule_campaign(text, timestamptz, timestamptz) SECURITY DEFINER SET search_path = pg_catalog, pg_temp;

COMMENT ON FUNCTION @extschema@.campaign_split_budget(bigint) IS
'Splits what is left of a campaign''s budget and of each branch''s budget evenly over their slots (all slots locked in slot order)';

CREATE FUNCTION @extschema@.campaign_take_money(campaign_id bigint, amount numeric, key bigint DEFAULT 0,
                                                at timestamptz DEFAULT NULL, branch text DEFAULT NULL)
RETURNS boolean
AS 'MODULE_PATHNAME', 'campaign_take_money'
LANGUAGE C VOLATILE;

COMMENT ON FUNCTION @extschema@.campaign_take_money(bigint, numeric, bigint, timestamptz, text) IS
'Reserves money (a discount) from a campaign''s money cap and its branch''s cap in this transaction; false when the campaign is not running at that time or a cap cannot pay it all';

REVOKE EXECUTE ON FUNCTION @extschema@.campaign_take_money(bigint, numeric, bigint, timestamptz, text) FROM PUBLIC;

CREATE FUNCTION @extschema@.campaign_give_back_money(campaign_id bigint, amount numeric, key bigint DEFAULT 0,
                                                     at timestamptz DEFAULT NULL, branch text DEFAULT NULL)
RETURNS void
AS 'MODULE_PATHNAME', 'campaign_give_back_money'
LANGUAGE C VOLATILE;

COMMENT ON FUNCTION @extschema@.campaign_give_back_money(bigint, numeric, bigint, timestamptz, text) IS
'Returns money reserved by campaign_take_money in this transaction (a document that turned out to be a retry)';

REVOKE EXECUTE ON FUNCTION @extschema@.campaign_give_back_money(bigint, numeric, bigint, timestamptz, text) FROM PUBLIC;

CREATE OR REPLACE VIEW @extschema@.campaign_budget AS
SELECT c.campaign_id, c.code, c.status,
       c.budget_points::numeric AS budget_points,
       c.budget_money,
       coalesce(sum(s.taken_points::numeric), 0) AS taken_points,
       round(coalesce(sum(s.taken_money), 0) / 100.0, 2) AS taken_money,
       CASE WHEN c.budget_points IS NOT NULL
            THEN coalesce(sum(s.remaining_points::numeric), 0) END AS remaining_points,
       CASE WHEN c.budget_money IS NOT NULL THEN round(coalesce(sum(s.remaining_money), 0) / 100.0, 2) END AS remaining_money,
       coalesce(sum(s.takes), 0)::bigint AS takes
  FROM @extschema@.campaign c
  LEFT JOIN @extschema@.campaign_budget_slot s ON s.campaign_id = c.campaign_id AND s.day = '-infinity' AND s.branch = ''
 GROUP BY c.campaign_id;

COMMENT ON COLUMN @extschema@.campaign_budget.taken_points IS 'Points reserved by campaign rules, race bonuses and points prizes';

COMMENT ON COLUMN @extschema@.campaign_budget.taken_money IS 'Money reserved: points at the point value, discounts and prize values';

CREATE VIEW @extschema@.campaign_branch_budget AS
SELECT c.campaign_id, c.code, s.branch,
       c.branch_budget_points::numeric AS budget_points,
       c.branch_budget_money AS budget_money,
       sum(s.taken_points::numeric) AS taken_points,
       round(sum(s.taken_money) / 100.0, 2) AS taken_money,
       CASE WHEN c.branch_budget_points IS NOT NULL THEN sum(s.remaining_points::numeric) END AS remaining_points,
       CASE WHEN c.branch_budget_money IS NOT NULL THEN round(sum(s.remaining_money) / 100.0, 2) END AS remaining_money,
       sum(s.takes)::bigint AS takes
  FROM @extschema@.campaign c
  JOIN @extschema@.campaign_budget_slot s ON s.campaign_id = c.campaign_id AND s.day = '-infinity' AND s.branch <> ''
 GROUP BY c.campaign_id, s.branch;

COMMENT ON VIEW @extschema@.campaign_branch_budget IS 'Each campaign''s per-branch budgets: the cap per branch, what each branch took and has left (branches appear once they took something)';

COMMENT ON COLUMN @extschema@.campaign_branch_budget.branch IS 'The branch ("(no branch)" for orders that name none)';

COMMENT ON COLUMN @extschema@.campaign_branch_budget.taken_points IS 'Points reserved at the branch';

COMMENT ON COLUMN @extschema@.campaign_branch_budget.taken_money IS 'Money reserved at the branch: points at the point value and discounts';

COMMENT ON COLUMN @extschema@.campaign_branch_budget.remaining_points IS 'Points the branch may still give (NULL: no per-branch points cap)';

COMMENT ON COLUMN @extschema@.campaign_branch_budget.remaining_money IS 'Money the branch may still spend (NULL: no per-branch money cap)';

COMMENT ON COLUMN @extschema@.campaign_branch_budget.takes IS 'How many reservations the branch made';
