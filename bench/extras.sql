-- pg_loyalty benchmark: what the campaign and rule-count runs switch on.
-- Run by bench/run.sh after generate.sql.  Nothing here is active until the
-- driver turns it on for a run:
--   * campaign bench-promo (2% on all goods instead of 1%, a points budget
--     split into 8 slots) with a 5% discount policy on group G3; it is
--     scheduled, and started / paused around the campaign runs;
--   * 46 more earning rules (inactive): with the 4 base rules, 50.  The
--     rules-1 run keeps only '1% of all goods' active, rules-50 all 50.
\set ON_ERROR_STOP on
SET client_min_messages = warning;
SELECT program_id AS pid FROM loyalty.program WHERE code = 'bench' \gset

INSERT INTO loyalty.campaign (program_id, code, name, starts_at, ends_at, form, budget_points, description)
VALUES (:pid, 'bench-promo', 'Double points week', now() - interval '1 day', now() + interval '30 days',
        'bonus points', 100000000, 'Benchmark campaign: 2% on all goods, 5% off G3');
SELECT campaign_id AS cid FROM loyalty.campaign WHERE code = 'bench-promo' \gset
INSERT INTO loyalty.rule (program_id, name, kind, percent, priority, campaign_id)
VALUES (:pid, 'campaign: 2% of all goods', 'percent', 2, 50, :cid);
INSERT INTO loyalty.discount_policy (program_id, campaign_id, name, kind, value, item_groups)
VALUES (:pid, :cid, 'campaign: 5% off G3', 'percent', 5, '{G3}');
SELECT loyalty.schedule_campaign('bench-promo');
SELECT loyalty.start_campaign('bench-promo');
SELECT loyalty.pause_campaign('bench-promo');

-- 46 more rules of the kinds a chain has: items, groups, customer groups,
-- branches, bill thresholds.
INSERT INTO loyalty.rule (program_id, name, kind, points, item_sku, priority, active)
SELECT :pid, 'extra: 3 points per unit of SKU-' || (g * 97), 'per_quantity', '3', 'SKU-' || (g * 97), 20, false
  FROM generate_series(1, 16) g;
INSERT INTO loyalty.rule (program_id, name, kind, percent, item_group, priority, active)
SELECT :pid, 'extra: 2% of G' || (20 + g), 'percent', 2, 'G' || (20 + g), 5, false
  FROM generate_series(1, 12) g;
INSERT INTO loyalty.rule (program_id, name, kind, percent, item_group, customer_group, priority, active)
SELECT :pid, 'extra: 1.5% of G' || g || ' for wholesale', 'percent', 1.5, 'G' || g, 'wholesale', 30, false
  FROM generate_series(30, 37) g;
INSERT INTO loyalty.rule (program_id, name, kind, points, per_amount, branch, priority, active)
SELECT :pid, 'extra: 1 point per 50,000 at B' || g, 'per_amount', '1', 50000, 'B' || g, 8, false
  FROM generate_series(1, 6) g;
INSERT INTO loyalty.rule (program_id, name, kind, percent, min_bill, item_group, priority, active)
SELECT :pid, 'extra: 3% of G' || (40 + g) || ' on bills over 2,000,000', 'percent', 3, 2000000,
       'G' || (40 + g), 40, false
  FROM generate_series(1, 4) g;
