-- Reports: points per day, branch activity, loyal customers, liability,
-- freshness and the read-only role, on a small data set checked by hand.
\set VERBOSITY terse
SET search_path = public, loyalty;

-- Two programs.
--   rpt_vn: VND, 1 point = 1,000đ, Asia/Ho_Chi_Minh, points live 100 days,
--     rule A: 1 point per 10,000đ; rule B: 'Promo' items 5 points each, campaign 77.
--   rpt_ru: RUB, 1 point = 1 rouble, Europe/Moscow, points never expire,
--     rule C: 5% of the value.
INSERT INTO program (code, name, currency, point_value, time_zone, rounding, points_lifetime) VALUES
  ('rpt_vn', 'Report shop VN', 'VND', 1000, 'Asia/Ho_Chi_Minh', 'keep', '100 days'),
  ('rpt_ru', 'Report shop RU', 'RUB', 1, 'Europe/Moscow', 'keep', NULL);
INSERT INTO rule (program_id, name, kind, points, per_amount)
  SELECT program_id, 'rpt A: 1 point per 10,000', 'per_amount', 1, 10000 FROM program WHERE code = 'rpt_vn';
INSERT INTO campaign (campaign_id, program_id, code, name, starts_at, ends_at)
  SELECT 77, program_id, 'rpt_promo', 'Promo fortnight', now() - interval '10 days', now() + interval '10 days'
    FROM program WHERE code = 'rpt_vn';
SELECT schedule_campaign('rpt_promo'), start_campaign('rpt_promo');
INSERT INTO rule (program_id, name, kind, points, item_group, campaign_id)
  SELECT program_id, 'rpt B: promo 5 points each', 'per_quantity', 5, 'Promo', 77 FROM program WHERE code = 'rpt_vn';
INSERT INTO rule (program_id, name, kind, percent)
  SELECT program_id, 'rpt C: 5%', 'percent', 5 FROM program WHERE code = 'rpt_ru';
SELECT count(enroll('rpt_vn', k)) FROM unnest(ARRAY['c1', 'c2', 'c3', 'c4', 'c5', 'c6', 'c7']) AS k;
SELECT count(enroll('rpt_ru', k)) FROM unnest(ARRAY['r1', 'r2']) AS k;
SELECT enroll('rpt_ru', 'r3', kind => 'organisation') > 0 AS enrolled;

-- Order times are whole days before now in UTC: 'N days' in a zone with summer
-- time (the test session's) would move an order by an hour, and across the
-- shop's midnight on one hour of the day.
SET timezone = 'UTC';
-- Batch 1 (rpt_vn).  Points = amount / 10,000; a lot expires 100 days after the order.
--   O1 c1 500,000  B1 80 days ago -> 50 points, expires in 20 days (next_30_days)
--   O2 c1 300,000  B1 50 days ago -> 30 points, expires in 50 days (next_60_days)
--   O3 c2 1,000,000 B2 20 days ago -> 100 points, expires in 80 days (next_90_days)
--   O5 c3 100,000  B1 120 days ago -> 10 points, expired 20 days ago (overdue)
SELECT points FROM record_order('rpt_vn', 'c1', 'O1', total => 500000, branch => 'B1', ordered_at => now() - interval '80 days');
SELECT points FROM record_order('rpt_vn', 'c1', 'O2', total => 300000, branch => 'B1', ordered_at => now() - interval '50 days');
SELECT points FROM record_order('rpt_vn', 'c2', 'O3', total => 1000000, branch => 'B2', ordered_at => now() - interval '20 days');
SELECT points FROM record_order('rpt_vn', 'c3', 'O5', total => 100000, branch => 'B1', ordered_at => now() - interval '120 days');
SELECT clock_timestamp() AS t1 \gset

-- Batch 2 (rpt_vn).
--   O4 c2 200,000  B2 1 day ago   -> 20 points, expires in 99 days (later)
--   O6 c4 Promo 2 x 50,000 B2 2 days ago -> rule B 2 x 5 = 10 points (campaign 77), later
--   O7 c5 50,000   B1 12 days ago -> 5 points, then cancelled: reverse -5, lot empty
--   O8 c6 400,000  no branch 5 days ago -> 40 points; return R8 of 100,000 at B1 takes
--      40 * 100,000 / 400,000 = 10 back: lot 30 (later)
--   O9 c7 50,000   B1 3 days ago  -> 5 points (later)
--   return R2 of 150,000 on O2 at B1 takes 30 * 150,000 / 300,000 = 15 from O2's own lot: 15 left
--   ADJ-1 c1 +7 at B1: an adjust lot expiring 100 days from now (later)
SELECT points FROM record_order('rpt_vn', 'c2', 'O4', total => 200000, branch => 'B2', ordered_at => now() - interval '1 day');
SELECT points FROM record_order('rpt_vn', 'c4', 'O6', '[{"sku": "P1", "group": "Promo", "qty": 2, "price": 50000}]',
                                branch => 'B2', ordered_at => now() - interval '2 days');
SELECT points FROM record_order('rpt_vn', 'c5', 'O7', total => 50000, branch => 'B1', ordered_at => now() - interval '12 days');
SELECT cancel_order('rpt_vn', 'O7');
SELECT points FROM record_order('rpt_vn', 'c6', 'O8', total => 400000, ordered_at => now() - interval '5 days');
SELECT return_order('rpt_vn', 'O8', 'R8', amount => 100000, branch => 'B1');
SELECT points FROM record_order('rpt_vn', 'c7', 'O9', total => 50000, branch => 'B1', ordered_at => now() - interval '3 days');
SELECT return_order('rpt_vn', 'O2', 'R2', amount => 150000, branch => 'B1');
RESET timezone;
SELECT adjust('rpt_vn', 'c1', 7, 'ADJ-1', branch => 'B1');

-- rpt_ru, fixed times (Moscow is UTC+3): 5% of the value, 1 point = 1 rouble.
--   M1 r1 1,000  MSK-1 2026-03-01 22:30 UTC = 03-02 01:30 Moscow -> 50
--   M2 r2 2,000  MSK-1 2026-03-02 10:00 UTC = 03-02 13:00 Moscow -> 100
--   M3 r1   500  MSK-1 2026-03-02 15:00 UTC = 03-02 18:00 Moscow -> 25
--   M4 r3 10,000 MSK-2 2026-03-01 12:00 UTC = 03-01 15:00 Moscow -> 500
SELECT points FROM record_order('rpt_ru', 'r1', 'M1', total => 1000, branch => 'MSK-1', ordered_at => '2026-03-01 22:30+00');
SELECT points FROM record_order('rpt_ru', 'r2', 'M2', total => 2000, branch => 'MSK-1', ordered_at => '2026-03-02 10:00+00');
SELECT points FROM record_order('rpt_ru', 'r1', 'M3', total => 500, branch => 'MSK-1', ordered_at => '2026-03-02 15:00+00');
SELECT points FROM record_order('rpt_ru', 'r3', 'M4', total => 10000, branch => 'MSK-2', ordered_at => '2026-03-01 12:00+00');

-- Balances: c1 50+30-15+7 = 72, c2 120, c3 10, c4 10, c5 0, c6 30, c7 5 (rpt_vn 247);
-- r1 75, r2 100, r3 500 (rpt_ru 675).
SELECT k.customer_key, b.points FROM balance b JOIN member_key k USING (member_id)
  JOIN program p ON p.program_id = k.program_id WHERE p.code LIKE 'rpt\_%' ORDER BY 1;

-- Materialized reports show nothing new before the job runs.
SELECT count(*) FROM report_points_daily WHERE program_code LIKE 'rpt\_%';
SELECT refresh_reports();
SELECT name, reports, populated, refreshed_at IS NOT NULL AS refreshed, age_seconds >= 0 AS age_ok,
       took_ms >= 0 AS took_ok, row_count > 0 AS has_rows
  FROM report_freshness ORDER BY name;

-- K1 points per day.  Every entry was written today (local day of the program).
--   rpt_vn B1, rule A: earn O1 50 + O2 30 + O5 10 + O7 5 + O9 5 = 5 entries, 100 points, 100,000đ
--   rpt_vn B1, no rule: reverse R8 -10, R2 -15 = 2 entries, -25; adjust +7: net -18
--   rpt_vn B2, rule A: earn O3 100 + O4 20 = 2 entries, 120 points, 120,000đ
--   rpt_vn B2, rule B, campaign 77: earn O6 10
--   rpt_vn no branch, rule A: earn O8 40; no branch, no rule: the cancellation of O7 -5
--   rpt_ru MSK-1, rule C: 50 + 100 + 25 = 3 entries, 175 points, 175 RUB; MSK-2: 500
SELECT program_code, branch, campaign_id IS NOT NULL AS has_campaign, campaign_id,
       (SELECT name FROM rule r WHERE r.rule_id = d.rule_id) AS rule,
       day = (now() AT TIME ZONE CASE program_code WHEN 'rpt_vn' THEN 'Asia/Ho_Chi_Minh' ELSE 'Europe/Moscow' END)::date AS today,
       earned_entries, earned_points, earned_value, reversed_entries, reversed_points, reversed_value,
       adjusted_entries, adjusted_points, adjusted_value, entries, net_points, net_value
  FROM report_points_daily d WHERE program_code LIKE 'rpt\_%'
 ORDER BY program_code, branch NULLS LAST, rule NULLS LAST;
-- the unused kinds are zero: spent, expired, bonus, restored, rewarded
SELECT sum(spent_entries + expired_entries + bonus_entries + restored_entries + rewarded_entries) AS entries,
       sum(spent_points + expired_points + bonus_points + restored_points + rewarded_points) AS points
  FROM report_points_daily WHERE program_code LIKE 'rpt\_%';
-- daily series per program: rpt_vn earned 100+120+10+40 = 270 (9 entries), reversed -30,
-- adjusted 7, net 247 = the sum of balances; rpt_ru 675
SELECT program_code, sum(earned_entries) AS earned_entries, sum(earned_points) AS earned,
       sum(reversed_points) AS reversed, sum(adjusted_points) AS adjusted,
       sum(net_points) AS net, sum(net_value) AS net_value, count(DISTINCT day) AS days
  FROM report_points_daily WHERE program_code LIKE 'rpt\_%' GROUP BY 1 ORDER BY 1;
-- the same from the per-day rollup
SELECT program_code, currency, earned_entries, earned_points, earned_value, reversed_entries, reversed_points,
       adjusted_points, spent_points, expired_points, bonus_points, entries, net_points, net_value
  FROM report_points_daily_total WHERE program_code LIKE 'rpt\_%' ORDER BY 1;
-- campaign summary: campaign 77 earned 10 points = 10,000đ (from both views)
SELECT campaign_id, sum(earned_entries) AS entries, sum(earned_points) AS points, sum(earned_value) AS value
  FROM report_points_daily WHERE campaign_id = 77 GROUP BY 1;
SELECT program_code, campaign_id, day = (now() AT TIME ZONE 'Asia/Ho_Chi_Minh')::date AS today,
       earned_entries, earned_points, earned_value, entries, net_points, net_value
  FROM report_points_daily_campaign WHERE program_code LIKE 'rpt\_%';

-- I6 branch activity, by local day of the order (days before today for rpt_vn).
--   B1 120 days: O5 100,000, 10 points; 80: O1 500,000, 50; 50: O2 300,000 less 150,000 returned,
--   30 - 15 = 15 points; 12: O7 cancelled (0 orders, 1 cancelled, 5 - 5 = 0 points); 3: O9 50,000, 5
--   B2 20: O3 1,000,000, 100; 2: O6 100,000, 10; 1: O4 200,000, 20
--   no branch 5: O8 400,000 less 100,000, 40 - 10 = 30 points
--   rpt_ru MSK-1 2026-03-02: M1 + M2 + M3 = 3 orders, 2 members (r1 twice), 3,500, 175 points
--   rpt_ru MSK-2 2026-03-01: M4 10,000, 500 points
SELECT program_code, branch,
       CASE WHEN program_code = 'rpt_vn' THEN ((now() AT TIME ZONE 'Asia/Ho_Chi_Minh')::date - day)::text
            ELSE day::text END AS day,
       orders, cancelled_orders, members, gross_revenue, returned_amount, revenue, points, points_value
  FROM report_branch_daily WHERE program_code LIKE 'rpt\_%'
 ORDER BY program_code, branch NULLS LAST, report_branch_daily.day;

-- K5 loyal customers.  rpt_vn, cancelled O7 left out, so c5 has no orders:
--   c1: O1 + O2 = 2 orders, 500,000 + 300,000 - 150,000 = 650,000, last 50 days ago
--   c2: O3 + O4 = 2, 1,200,000, last 1 day ago; c3: 1, 100,000, 120 days; c4: 1, 100,000, 2 days
--   c6: 1, 400,000 - 100,000 = 300,000, 5 days; c7: 1, 50,000, 3 days.   Total 2,400,000.
-- Shares: 1,200/2,400 = .500000, 650/2,400 = .270833, 300/2,400 = .125000,
--   100/2,400 = .041667, 50/2,400 = .020833.  Ranks 1, 2, 3, 4, 4 (tie), 6.
-- ntile(5) of 6 customers: buckets of 2, 1, 1, 1, 1.
--   R by last order: c3, c1 | c6 | c7 | c4 | c2 -> c3 1, c1 1, c6 2, c7 3, c4 4, c2 5
--   F by (orders, key): c3, c4 | c6 | c7 | c1 | c2 -> c3 1, c4 1, c6 2, c7 3, c1 4, c2 5
--   M by (revenue, key): c7, c3 | c4 | c6 | c1 | c2 -> c7 1, c3 1, c4 2, c6 3, c1 4, c2 5
-- rpt_ru: r1 1,000 + 500 = 1,500 (2 orders), r2 2,000, r3 10,000 (organisation); total 13,500:
--   shares .111111, .148148, .740741; 3 customers: buckets 1, 2, 3.
--   R by last: r3 (03-01), r2 (03-02 10:00), r1 (03-02 15:00) -> r3 1, r2 2, r1 3
--   F: (1, r2), (1, r3), (2, r1) -> r2 1, r3 2, r1 3;  M: r1 1, r2 2, r3 3
SELECT program_code, customer_key, kind, orders, revenue, frequency, monetary, avg_order_value,
       CASE WHEN program_code = 'rpt_vn' THEN recency_days::text
            ELSE (last_order_at AT TIME ZONE 'Europe/Moscow')::date::text END AS recency,
       r_score, f_score, m_score, rfm, revenue_share, revenue_rank, program_customers
  FROM report_loyal_customers WHERE program_code LIKE 'rpt\_%' ORDER BY program_code, revenue_rank, customer_key;
-- recency counts days to today in the program's time zone; first <= last order
SELECT bool_and(recency_days = (now() AT TIME ZONE 'Europe/Moscow')::date
                               - (last_order_at AT TIME ZONE 'Europe/Moscow')::date) AS recency_ok,
       bool_and(first_order_at <= last_order_at) AS order_ok
  FROM report_loyal_customers WHERE program_code = 'rpt_ru';
-- Top customers: rpt_vn 6 customers: top 1% and 10% = ceil(.06), ceil(.6) = 1 (c2: 1,200,000 = .5),
-- top 20% = ceil(1.2) = 2 (c2 + c1 = 1,850,000 / 2,400,000 = .770833);
-- rpt_ru 3 customers: 1 each time (r3: 10,000 / 13,500 = .740741)
SELECT program_code, currency, top_percent, customers, all_customers, revenue, total_revenue, revenue_share
  FROM report_top_customers_share WHERE program_code LIKE 'rpt\_%' ORDER BY program_code, top_percent;

-- Liability now, from the open lots (value at 1,000đ / 1 rouble a point):
--   overdue: O5 10 (c3); next_30_days: O1 50 (c1); next_60_days: O2 15 (c1 after R2);
--   next_90_days: O3 100 (c2); later: O4 20 + O6 10 + O8 30 + O9 5 + ADJ-1 7 = 72 (5 members);
--   never: 0.  Total 247 = the balances.  rpt_ru: never 50 + 100 + 25 + 500 = 675 in 4 lots.
SELECT program_code, currency, bucket_order, bucket, members, lots, points, value
  FROM report_liability WHERE program_code LIKE 'rpt\_%' ORDER BY program_code, bucket_order;
SELECT bool_and(as_of = now()) AS as_of_now FROM report_liability;

-- Liability from the ledger at now(): the totals are exact (247, 675); the buckets assume debits
-- took the soonest-expiring credits first, so c1's 72 is put into ADJ-1 7 (later), O2 30
-- (next_60_days) and O1 35 (next_30_days), while its lots really hold O1 50 and O2 15,
-- because the return R2 took from O2's own lot.  Other buckets agree:
--   overdue 10, next_30_days 35, next_60_days 30, next_90_days 100, later 72 (5 members), never 0
SELECT program_code, currency, bucket_order, bucket, members, points, value
  FROM liability_as_of(now()) WHERE program_code LIKE 'rpt\_%' ORDER BY program_code, bucket_order;
-- At t1, after batch 1 only: c1 50 + 30 = 80 (O1 next_30_days, O2 next_60_days), c2 100
-- (next_90_days), c3 10 (overdue): 190 in all; rpt_ru had nothing yet
SELECT program_code, bucket, members, points, value
  FROM liability_as_of(:'t1') WHERE program_code LIKE 'rpt\_%' ORDER BY program_code, bucket_order;
-- before anything: zero everywhere
SELECT sum(points) AS points, sum(members) AS members FROM liability_as_of('2000-01-01');
SELECT * FROM check_reports();
SELECT * FROM check_ledger();

-- Fresh data reaches the materialized reports only with the next refresh.
SELECT points FROM record_order('rpt_ru', 'r2', 'M5', total => 4000, branch => 'MSK-1', ordered_at => '2026-03-01 09:00+00');
SELECT sum(earned_points) FROM report_points_daily WHERE program_code = 'rpt_ru';
SELECT refresh_reports();
-- 675 + 4,000 * 5% = 875, in the rollup too (refreshed after the summary it reads)
SELECT sum(earned_points) FROM report_points_daily WHERE program_code = 'rpt_ru';
SELECT earned_points FROM report_points_daily_total WHERE program_code = 'rpt_ru';
-- r2 now has M2 and M5: 2 orders, 6,000; its last order is still M2 (M5 is older), so
-- R: r3, r2, r1 -> 2; F: (1, r3), (2, r1), (2, r2) -> 3; M: 1,500, 6,000, 10,000 -> 2: '232'
SELECT orders, revenue, rfm FROM report_loyal_customers WHERE customer_key = 'r2';

-- Every report view and column has a comment, and only standard types are exposed.
SELECT c.relname, count(*) FILTER (WHERE col_description(c.oid, a.attnum) IS NULL) AS uncommented,
       obj_description(c.oid, 'pg_class') ~ 'Freshness' AS freshness_stated,
       string_agg(DISTINCT format_type(a.atttypid, a.atttypmod), ', ') AS types
  FROM pg_class c JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0
 WHERE c.relnamespace = 'loyalty'::regnamespace AND c.relkind = 'v' AND c.relname LIKE 'report\_%'
 GROUP BY c.oid, c.relname ORDER BY c.relname;
SELECT prorettype::regtype, obj_description(oid, 'pg_proc') ~ 'Exact' AS documented
  FROM pg_proc WHERE oid = 'loyalty.liability_as_of(timestamptz)'::regprocedure;

-- A read-only role: the reports, not the base tables (views run with their owner's rights).
CREATE ROLE regress_loyalty_reader;
CREATE ROLE regress_loyalty_other;
SELECT grant_reader('regress_loyalty_reader');
SELECT grant_reader('regress_no_such_role');
SET ROLE regress_loyalty_reader;
SELECT count(*) > 0 AS reads FROM loyalty.report_points_daily;
SELECT count(*) > 0 AS reads FROM loyalty.report_branch_daily;
SELECT count(*) > 0 AS reads FROM loyalty.report_loyal_customers;
SELECT count(*) > 0 AS reads FROM loyalty.report_top_customers_share;
SELECT count(*) > 0 AS reads FROM loyalty.report_liability;
SELECT count(*) > 0 AS reads FROM loyalty.report_freshness;
SELECT sum(points) FROM loyalty.liability_as_of(now()) WHERE program_code = 'rpt_ru';
-- the base tables and the refresh job are refused with 42501
DO $$
DECLARE t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['ledger', 'lot', 'balance', 'member_order', 'member', 'points_daily_mv'] LOOP
        BEGIN
            EXECUTE format('SELECT count(*) FROM loyalty.%I', t);
            RAISE NOTICE '%: readable', t;
        EXCEPTION WHEN insufficient_privilege THEN
            RAISE NOTICE '%: % %', t, SQLSTATE, SQLERRM;
        END;
    END LOOP;
    BEGIN
        PERFORM loyalty.refresh_reports();
    EXCEPTION WHEN insufficient_privilege THEN
        RAISE NOTICE 'refresh_reports: % %', SQLSTATE, SQLERRM;
    END;
END
$$;
RESET ROLE;
SET ROLE regress_loyalty_other;
SELECT count(*) FROM loyalty.report_points_daily;
SELECT count(*) FROM loyalty.liability_as_of(now());
RESET ROLE;
DROP OWNED BY regress_loyalty_reader, regress_loyalty_other;
DROP ROLE regress_loyalty_reader;
DROP ROLE regress_loyalty_other;
