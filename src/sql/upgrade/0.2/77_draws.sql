-- 0.1 -> 0.2, draws and races: points prizes credit the ledger
-- (prize_pool.prize_points), race bonuses and points prizes are reserved from
-- the campaign's budget (award_bonus), campaign_cost without double counting,
-- check_campaigns knows the per-branch caps.

ALTER TABLE @extschema@.prize_pool ADD COLUMN prize_points @extschema@.points;

COMMENT ON COLUMN @extschema@.prize_pool.prize_points IS 'Points a prize of kind points credits to the winner (its value is set to them at the program''s point value)';

COMMENT ON FUNCTION @extschema@.draw(text, text, text, text, timestamptz) IS
'A lucky draw for a document: one strong random number against the pools'' odds; a win takes stock (never below zero), the daily cap and the budget in this transaction and gets a prize code, and a points prize credits its points (ledger kind bonus, source draw); a retry returns the first result';

COMMENT ON FUNCTION @extschema@.simulate_campaign(text, timestamptz, timestamptz) IS
'Runs a campaign''s own rules over the members'' past orders of a period with the live accrual and budget code (card series of the member''s cards, target groups and tiers, multipliers; points, money, daily and per-branch caps) and reports what it would have given, cost and budget use; writes nothing';

CREATE FUNCTION @extschema@.award_bonus(member_id bigint, program_id bigint, amount @extschema@.points,
                                         source text, document text, campaign_id bigint,
                                         note text DEFAULT NULL, at timestamptz DEFAULT NULL)
RETURNS text
AS 'MODULE_PATHNAME', 'campaign_award_bonus'
LANGUAGE C VOLATILE;

COMMENT ON FUNCTION @extschema@.award_bonus(bigint, bigint, @extschema@.points, text, text, bigint, text, timestamptz) IS
'Credits a campaign''s bonus points once per (member, source, document), reserving them (and their money value) from the campaign''s budget first: posted, replayed (posted before; nothing reserved) or no budget (nothing written)';

REVOKE EXECUTE ON FUNCTION @extschema@.award_bonus(bigint, bigint, @extschema@.points, text, text, bigint, text, timestamptz) FROM PUBLIC;

CREATE OR REPLACE FUNCTION @extschema@.award_race(race bigint, at timestamptz DEFAULT now())
RETURNS integer
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    r record;
    w record;
    n integer := 0;
    v text;
BEGIN
    SELECT pr.*, c.program_id INTO r FROM @extschema@.points_race pr
      JOIN @extschema@.campaign c ON c.campaign_id = pr.campaign_id
     WHERE pr.race_id = race FOR UPDATE OF pr;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'points race % does not exist', race USING ERRCODE = 'LC003';
    END IF;
    IF at < r.ends_at THEN
        RAISE EXCEPTION 'points race "%" has not ended', r.name USING ERRCODE = 'LC005',
            DETAIL = format('It ends at %s.', r.ends_at);
    END IF;
    -- in rank order while the campaign's budget lasts: the first winner it cannot pay stops the award
    FOR w IN SELECT * FROM @extschema@.race_leaderboard(race) b WHERE b.rank <= r.top_n LOOP
        v := @extschema@.award_bonus(w.member_id, r.program_id,
                                     r.prizes[least(w.rank, cardinality(r.prizes))],
                                     'race', 'race-' || race, r.campaign_id,
                                     format('%s: rank %s', r.name, w.rank), at);
        IF v = 'posted' THEN
            n := n + 1;
        ELSIF v = 'no budget' THEN
            EXIT;
        END IF;
    END LOOP;
    UPDATE @extschema@.points_race SET awarded_at = coalesce(awarded_at, at) WHERE race_id = race;
    RETURN n;
END
$$;

COMMENT ON FUNCTION @extschema@.award_race(bigint, timestamptz) IS
'Job: when a race has ended, gives its top N their bonus points (ledger kind bonus) in rank order, each reserved from the campaign''s budget; the first winner the budget cannot pay stops the award (raise the budget and run it again to pay the rest); running it again gives nothing twice; returns how many were paid now';

ALTER FUNCTION @extschema@.award_race(bigint, timestamptz) SECURITY DEFINER SET search_path = pg_catalog, pg_temp;

CREATE OR REPLACE VIEW @extschema@.campaign_cost AS
SELECT c.campaign_id, c.code, c.name, c.status,
       greatest(coalesce(b.taken, 0) - coalesce(bo.bonus, 0) - coalesce(bo.prize_points, 0), 0) AS points_given,
       coalesce(bo.bonus, 0) AS bonus_points,
       round((greatest(coalesce(b.taken, 0) - coalesce(bo.bonus, 0) - coalesce(bo.prize_points, 0), 0)
              + coalesce(bo.bonus, 0)) * p.point_value, 2) AS points_cost,
       coalesce(d.discounts, 0) AS discounts,
       coalesce(z.prizes, 0) AS prizes,
       round((greatest(coalesce(b.taken, 0) - coalesce(bo.bonus, 0) - coalesce(bo.prize_points, 0), 0)
              + coalesce(bo.bonus, 0)) * p.point_value, 2)
         + coalesce(d.discounts, 0) + coalesce(z.prizes, 0) AS total_cost,
       c.budget_money,
       CASE WHEN c.budget_money > 0 THEN round(100 * coalesce(b.money, 0) / 100.0 / c.budget_money, 2) END
         AS budget_used_percent
  FROM @extschema@.campaign c
  JOIN @extschema@.program p ON p.program_id = c.program_id
  LEFT JOIN (SELECT s.campaign_id, sum(s.taken_points::numeric) AS taken, sum(s.taken_money) AS money
               FROM @extschema@.campaign_budget_slot s WHERE s.day = '-infinity' AND s.branch = '' GROUP BY 1) b
         ON b.campaign_id = c.campaign_id
  LEFT JOIN (SELECT l.campaign_id, sum(l.amount::numeric) FILTER (WHERE l.source <> 'draw') AS bonus,
                    sum(l.amount::numeric) FILTER (WHERE l.source = 'draw') AS prize_points
               FROM @extschema@.ledger l
              WHERE l.kind = 'bonus' AND l.campaign_id IS NOT NULL GROUP BY 1) bo ON bo.campaign_id = c.campaign_id
  LEFT JOIN (SELECT dp.campaign_id, sum(o.amount) AS discounts FROM @extschema@.order_discount o
               JOIN @extschema@.discount_policy dp ON dp.policy_id = o.policy_id
              WHERE dp.campaign_id IS NOT NULL GROUP BY 1) d ON d.campaign_id = c.campaign_id
  LEFT JOIN (SELECT g.campaign_id, sum(g.value) AS prizes FROM @extschema@.draw_log g WHERE g.won GROUP BY 1) z
         ON z.campaign_id = c.campaign_id;

COMMENT ON VIEW @extschema@.campaign_cost IS 'What each campaign cost: points given by its rules and races at the point value, discounts of its policies, prizes won (points prizes at their value) (H5, K3)';

COMMENT ON COLUMN @extschema@.campaign_cost.points_given IS 'Points reserved from the budget by the campaign''s rules (reserved points less race bonuses and points prizes)';

COMMENT ON COLUMN @extschema@.campaign_cost.bonus_points IS 'Bonus points of its races';

COMMENT ON COLUMN @extschema@.campaign_cost.points_cost IS 'Rule and race points at the program''s point value';

COMMENT ON COLUMN @extschema@.campaign_cost.discounts IS 'Money given by its discount policies';

COMMENT ON COLUMN @extschema@.campaign_cost.prizes IS 'Value of the prizes won in its draws (a points prize: its points at the point value)';

COMMENT ON COLUMN @extschema@.campaign_cost.total_cost IS 'points_cost + discounts + prizes';

COMMENT ON COLUMN @extschema@.campaign_cost.budget_used_percent IS 'Money reserved against budget_money, in percent';

CREATE OR REPLACE FUNCTION @extschema@.check_campaigns()
RETURNS TABLE (invariant text, member_id bigint, detail text)
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT 'campaign budget not overspent', NULL::bigint,
           format('campaign %s: budget %s points %s money, taken %s points %s money', c.code,
                  c.budget_points, c.budget_money, s.p, s.m / 100.0)
      FROM @extschema@.campaign c
      JOIN (SELECT campaign_id, sum(taken_points::numeric) AS p, sum(taken_money) AS m
              FROM @extschema@.campaign_budget_slot WHERE day = '-infinity' AND branch = '' GROUP BY 1) s USING (campaign_id)
     WHERE s.p > c.budget_points::numeric OR s.m > round(c.budget_money * 100)
    UNION ALL
    SELECT 'campaign branch cap not overspent', NULL,
           format('campaign %s branch %s: cap %s points %s money, taken %s points %s money', c.code, s.branch,
                  c.branch_budget_points, c.branch_budget_money, s.p, s.m / 100.0)
      FROM @extschema@.campaign c
      JOIN (SELECT campaign_id, branch, sum(taken_points::numeric) AS p, sum(taken_money) AS m
              FROM @extschema@.campaign_budget_slot WHERE day = '-infinity' AND branch <> '' GROUP BY 1, 2) s USING (campaign_id)
     WHERE s.p > c.branch_budget_points::numeric OR s.m > round(c.branch_budget_money * 100)
    UNION ALL
    SELECT 'campaign daily cap not overspent', NULL, format('campaign %s day %s: cap %s, taken %s',
           c.code, s.day, c.daily_budget_points, s.p)
      FROM @extschema@.campaign c
      JOIN (SELECT campaign_id, day, sum(taken_points::numeric) AS p
              FROM @extschema@.campaign_budget_slot WHERE day <> '-infinity' GROUP BY 1, 2) s USING (campaign_id)
     WHERE s.p > c.daily_budget_points::numeric
    UNION ALL
    SELECT 'budget slots not negative', NULL, format('campaign %s slot %s day %s', s.campaign_id, s.slot, s.day)
      FROM @extschema@.campaign_budget_slot s
     WHERE s.remaining_points::numeric < 0 OR s.remaining_money < 0
    UNION ALL
    SELECT 'prize stock never negative and adds up', NULL,
           format('pool %s: initial %s, stock %s, awarded %s', p.pool_id, p.initial_stock, p.stock, p.awarded)
      FROM @extschema@.prize_pool p
     WHERE p.stock < 0 OR p.stock + p.awarded <> p.initial_stock
    UNION ALL
    SELECT 'prizes won match the pool', NULL, format('pool %s: awarded %s, draws won %s', p.pool_id, p.awarded, coalesce(w.n, 0))
      FROM @extschema@.prize_pool p
      LEFT JOIN (SELECT g.pool_id, count(*) AS n FROM @extschema@.draw_log g WHERE g.won GROUP BY 1) w
        ON w.pool_id = p.pool_id
     WHERE p.awarded <> coalesce(w.n, 0)
    UNION ALL
    SELECT 'daily prize caps kept', NULL, format('pool %s day %s: won %s, cap %s', p.pool_id, d.day, d.won, p.daily_cap)
      FROM @extschema@.prize_daily d JOIN @extschema@.prize_pool p USING (pool_id)
     WHERE d.won > p.daily_cap
$$;

ALTER FUNCTION @extschema@.check_campaigns() SECURITY DEFINER SET search_path = pg_catalog, pg_temp;

-- scenarios2: restocking a prize pool moves its stock; races count orders by ordered_at, net of returns

CREATE OR REPLACE FUNCTION @extschema@.prize_pool_check()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF NEW.odds IS NOT NULL AND (NEW.odds < 0 OR NEW.odds > 1) THEN
        RAISE EXCEPTION 'odds of prize "%" must be between 0 and 1', NEW.name USING ERRCODE = 'LC001',
            DETAIL = format('They are %s.', NEW.odds);
    END IF;
    IF TG_OP = 'INSERT' AND NEW.stock IS NULL THEN
        NEW.stock := NEW.initial_stock;
    END IF;
    -- restocking (or taking prizes back): changing initial_stock alone moves the stock with it
    IF TG_OP = 'UPDATE' AND NEW.initial_stock <> OLD.initial_stock AND NEW.stock = OLD.stock THEN
        IF NEW.initial_stock < OLD.awarded THEN
            RAISE EXCEPTION 'prize "%" has % awarded, more than the new initial stock %', NEW.name,
                OLD.awarded, NEW.initial_stock USING ERRCODE = 'LC001',
                HINT = 'The initial stock can be lowered to the number awarded at most.';
        END IF;
        NEW.stock := OLD.stock + (NEW.initial_stock - OLD.initial_stock);
    END IF;
    IF NEW.kind = 'points' THEN
        IF NEW.prize_points IS NULL OR NEW.prize_points::numeric <= 0 THEN
            RAISE EXCEPTION 'points prize "%" needs its points', NEW.name USING ERRCODE = 'LC001',
                HINT = 'Set prize_points to more than zero.';
        END IF;
        SELECT round(NEW.prize_points::numeric * p.point_value, 2) INTO NEW.value
          FROM @extschema@.campaign c JOIN @extschema@.program p ON p.program_id = c.program_id
         WHERE c.campaign_id = NEW.campaign_id;
    ELSIF NEW.prize_points IS NOT NULL THEN
        RAISE EXCEPTION 'prize "%" of kind % has points', NEW.name, NEW.kind USING ERRCODE = 'LC001',
            HINT = 'Only a prize of kind points has prize_points.';
    END IF;
    RETURN NEW;
END
$$;
COMMENT ON FUNCTION @extschema@.prize_pool_check() IS 'Trigger: odds between 0 and 1; a new pool''s stock starts at its initial stock; changing the initial stock alone moves the stock by as much (restocking; never below the prizes awarded); a points prize has its points, and its value is those points at the point value';

CREATE OR REPLACE FUNCTION @extschema@.race_leaderboard(race bigint)
RETURNS TABLE (rank bigint, member_id bigint, customer_key text, points numeric, reached_at timestamptz)
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
    WITH r AS (
        SELECT pr.*, c.program_id FROM @extschema@.points_race pr
          JOIN @extschema@.campaign c ON c.campaign_id = pr.campaign_id WHERE pr.race_id = $1),
    e AS (
        -- each earn entry at its order's time (ordered_at), less what returns took back of it
        SELECT l.member_id, coalesce(mo.ordered_at, l.created_at) AS at,
               l.amount::numeric - coalesce(mo.reversed_points::numeric, 0) AS pts
          FROM @extschema@.ledger l
          JOIN r ON l.program_id = r.program_id
          LEFT JOIN @extschema@.member_order mo
                 ON mo.member_id = l.member_id AND mo.program_id = l.program_id
                AND mo.source = l.source AND mo.document = l.document
         WHERE l.kind = 'earn'),
    s AS (
        SELECT e.member_id, sum(e.pts) AS pts, max(e.at) AS reached
          FROM e, r
         WHERE e.at >= r.starts_at AND e.at < r.ends_at
         GROUP BY e.member_id
        HAVING sum(e.pts) > 0)
    SELECT CASE WHEN r.tie_rule = 'shared' THEN rank() OVER (ORDER BY s.pts DESC)
                ELSE row_number() OVER (ORDER BY s.pts DESC, s.reached, s.member_id) END,
           s.member_id, m.customer_key, s.pts, s.reached
      FROM s CROSS JOIN r JOIN @extschema@.member m ON m.member_id = s.member_id
     ORDER BY 1, s.reached, s.member_id
$$;
COMMENT ON FUNCTION @extschema@.race_leaderboard(bigint) IS
'Live leaderboard of a points race: points earned by orders placed in the race window (their ordered_at), less what returns took back, ranked by its tie rule';

