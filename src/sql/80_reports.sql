-- Report views for BI tools (K1, K5, I6) and the points liability.
--
-- Heavy reports read materialized views (loyalty.*_mv) that the job
-- loyalty.refresh_reports() rebuilds with REFRESH MATERIALIZED VIEW
-- CONCURRENTLY: orders never wait on a summary row, readers never wait on a
-- refresh.  Everything here only reads, so it works on a hot standby.
-- Report views expose standard SQL types only (bigint, numeric, text, date,
-- timestamptz, boolean).  Materialized views keep NULL dimensions as '' / 0
-- (so their unique keys have no NULLs and a concurrent refresh can match
-- rows); the report views turn them back into NULL.

-- Refresh bookkeeping ---------------------------------------------------------

CREATE TABLE @extschema@.report_refresh (
    name            text PRIMARY KEY,
    refreshed_at    timestamptz NOT NULL,
    took_ms         bigint NOT NULL,
    row_count       bigint NOT NULL
);
COMMENT ON TABLE @extschema@.report_refresh IS
'When refresh_reports() last rebuilt each materialized view of the reports; not dumped by pg_dump, because a restored database must refresh its reports again';
COMMENT ON COLUMN @extschema@.report_refresh.name IS 'The materialized view (without schema)';
COMMENT ON COLUMN @extschema@.report_refresh.refreshed_at IS 'When its last refresh started: it holds every entry committed before this time';
COMMENT ON COLUMN @extschema@.report_refresh.took_ms IS 'How long the refresh took, in milliseconds';
COMMENT ON COLUMN @extschema@.report_refresh.row_count IS 'Rows in the materialized view after the refresh';

-- K1: points per day ---------------------------------------------------------

CREATE MATERIALIZED VIEW @extschema@.points_daily_mv AS
SELECT (l.created_at AT TIME ZONE p.time_zone)::date AS day,
       l.program_id,
       coalesce(l.branch, '') AS branch,
       coalesce(l.campaign_id, r.campaign_id, 0) AS campaign_id,
       coalesce(l.rule_id, 0) AS rule_id,
       count(*) FILTER (WHERE l.kind = 'earn') AS earned_entries,
       coalesce(sum(l.amount::numeric) FILTER (WHERE l.kind = 'earn'), 0) AS earned_points,
       count(*) FILTER (WHERE l.kind = 'redeem') AS spent_entries,
       coalesce(sum(l.amount::numeric) FILTER (WHERE l.kind = 'redeem'), 0) AS spent_points,
       count(*) FILTER (WHERE l.kind = 'expire') AS expired_entries,
       coalesce(sum(l.amount::numeric) FILTER (WHERE l.kind = 'expire'), 0) AS expired_points,
       count(*) FILTER (WHERE l.kind = 'reverse') AS reversed_entries,
       coalesce(sum(l.amount::numeric) FILTER (WHERE l.kind = 'reverse'), 0) AS reversed_points,
       count(*) FILTER (WHERE l.kind = 'adjust') AS adjusted_entries,
       coalesce(sum(l.amount::numeric) FILTER (WHERE l.kind = 'adjust'), 0) AS adjusted_points,
       count(*) FILTER (WHERE l.kind = 'bonus') AS bonus_entries,
       coalesce(sum(l.amount::numeric) FILTER (WHERE l.kind = 'bonus'), 0) AS bonus_points,
       count(*) FILTER (WHERE l.kind = 'restore') AS restored_entries,
       coalesce(sum(l.amount::numeric) FILTER (WHERE l.kind = 'restore'), 0) AS restored_points,
       count(*) FILTER (WHERE l.kind = 'reward') AS rewarded_entries,
       coalesce(sum(l.amount::numeric) FILTER (WHERE l.kind = 'reward'), 0) AS rewarded_points,
       count(*) AS entries,
       sum(l.amount::numeric) AS net_points
  FROM @extschema@.ledger l
  JOIN @extschema@.program p ON p.program_id = l.program_id
  LEFT JOIN @extschema@.rule r ON r.rule_id = l.rule_id
 GROUP BY 1, 2, 3, 4, 5;
CREATE UNIQUE INDEX points_daily_mv_key ON @extschema@.points_daily_mv (program_id, day, branch, campaign_id, rule_id);
CREATE INDEX points_daily_mv_campaign_idx ON @extschema@.points_daily_mv ((nullif(campaign_id, 0)), day);
CREATE INDEX points_daily_mv_day_idx ON @extschema@.points_daily_mv (day);
COMMENT ON MATERIALIZED VIEW @extschema@.points_daily_mv IS
'Summary of the ledger per local day, program, branch, campaign and rule (NULLs stored as '''' and 0); rebuilt by refresh_reports(); read it through report_points_daily';

CREATE VIEW @extschema@.report_points_daily AS
SELECT s.day,
       p.code AS program_code,
       p.currency,
       nullif(s.branch, '') AS branch,
       nullif(s.campaign_id, 0) AS campaign_id,
       nullif(s.rule_id, 0) AS rule_id,
       s.earned_entries, s.earned_points, s.earned_points * p.point_value AS earned_value,
       s.spent_entries, s.spent_points, s.spent_points * p.point_value AS spent_value,
       s.expired_entries, s.expired_points, s.expired_points * p.point_value AS expired_value,
       s.reversed_entries, s.reversed_points, s.reversed_points * p.point_value AS reversed_value,
       s.adjusted_entries, s.adjusted_points, s.adjusted_points * p.point_value AS adjusted_value,
       s.bonus_entries, s.bonus_points, s.bonus_points * p.point_value AS bonus_value,
       s.restored_entries, s.restored_points, s.restored_points * p.point_value AS restored_value,
       s.rewarded_entries, s.rewarded_points, s.rewarded_points * p.point_value AS rewarded_value,
       s.entries, s.net_points, s.net_points * p.point_value AS net_value
  FROM @extschema@.points_daily_mv s
  JOIN @extschema@.program p ON p.program_id = s.program_id;
COMMENT ON VIEW @extschema@.report_points_daily IS
'K1: points earned, spent, expired, reversed, adjusted, bonus (and restored, rewarded) per local day, program, branch, campaign and rule, as entries, points and money. Freshness: as of the last refresh_reports() (see report_freshness); money at the program''s current point value';
COMMENT ON COLUMN @extschema@.report_points_daily.day IS 'Day the ledger entries were written (created_at), in the program''s time zone';
COMMENT ON COLUMN @extschema@.report_points_daily.program_code IS 'The program (program.code)';
COMMENT ON COLUMN @extschema@.report_points_daily.currency IS 'Currency of the money columns';
COMMENT ON COLUMN @extschema@.report_points_daily.branch IS 'Branch recorded on the entries (NULL: none)';
COMMENT ON COLUMN @extschema@.report_points_daily.campaign_id IS 'Campaign recorded on the entries, else the campaign of their rule (NULL: none)';
COMMENT ON COLUMN @extschema@.report_points_daily.rule_id IS 'Rule recorded on the entries (NULL: none, e.g. returns and corrections)';
COMMENT ON COLUMN @extschema@.report_points_daily.earned_entries IS 'Ledger entries of kind earn';
COMMENT ON COLUMN @extschema@.report_points_daily.earned_points IS 'Points earned by orders (sum of earn entries)';
COMMENT ON COLUMN @extschema@.report_points_daily.earned_value IS 'earned_points times the point value';
COMMENT ON COLUMN @extschema@.report_points_daily.spent_entries IS 'Ledger entries of kind redeem';
COMMENT ON COLUMN @extschema@.report_points_daily.spent_points IS 'Points spent (sum of redeem entries; negative, as in the ledger)';
COMMENT ON COLUMN @extschema@.report_points_daily.spent_value IS 'spent_points times the point value';
COMMENT ON COLUMN @extschema@.report_points_daily.expired_entries IS 'Ledger entries of kind expire';
COMMENT ON COLUMN @extschema@.report_points_daily.expired_points IS 'Points expired (sum of expire entries; negative, as in the ledger)';
COMMENT ON COLUMN @extschema@.report_points_daily.expired_value IS 'expired_points times the point value';
COMMENT ON COLUMN @extschema@.report_points_daily.reversed_entries IS 'Ledger entries of kind reverse (returns, cancellations)';
COMMENT ON COLUMN @extschema@.report_points_daily.reversed_points IS 'Points taken back (sum of reverse entries; negative, as in the ledger)';
COMMENT ON COLUMN @extschema@.report_points_daily.reversed_value IS 'reversed_points times the point value';
COMMENT ON COLUMN @extschema@.report_points_daily.adjusted_entries IS 'Ledger entries of kind adjust (manual corrections)';
COMMENT ON COLUMN @extschema@.report_points_daily.adjusted_points IS 'Net points of corrections (sum of adjust entries, signed)';
COMMENT ON COLUMN @extschema@.report_points_daily.adjusted_value IS 'adjusted_points times the point value';
COMMENT ON COLUMN @extschema@.report_points_daily.bonus_entries IS 'Ledger entries of kind bonus';
COMMENT ON COLUMN @extschema@.report_points_daily.bonus_points IS 'Bonus points (sum of bonus entries)';
COMMENT ON COLUMN @extschema@.report_points_daily.bonus_value IS 'bonus_points times the point value';
COMMENT ON COLUMN @extschema@.report_points_daily.restored_entries IS 'Ledger entries of kind restore (spent points given back)';
COMMENT ON COLUMN @extschema@.report_points_daily.restored_points IS 'Points restored (sum of restore entries)';
COMMENT ON COLUMN @extschema@.report_points_daily.restored_value IS 'restored_points times the point value';
COMMENT ON COLUMN @extschema@.report_points_daily.rewarded_entries IS 'Ledger entries of kind reward';
COMMENT ON COLUMN @extschema@.report_points_daily.rewarded_points IS 'Points of rewards (sum of reward entries, signed)';
COMMENT ON COLUMN @extschema@.report_points_daily.rewarded_value IS 'rewarded_points times the point value';
COMMENT ON COLUMN @extschema@.report_points_daily.entries IS 'All ledger entries of the row';
COMMENT ON COLUMN @extschema@.report_points_daily.net_points IS 'Sum of all entries: the change of the members'' balances';
COMMENT ON COLUMN @extschema@.report_points_daily.net_value IS 'net_points times the point value';

-- The same per program, day and campaign: daily series and campaign summaries
-- read a few hundred rows instead of every branch and rule.
CREATE MATERIALIZED VIEW @extschema@.points_daily_rollup_mv AS
SELECT s.program_id, s.day, s.campaign_id,
       sum(s.earned_entries)::bigint AS earned_entries, sum(s.earned_points) AS earned_points,
       sum(s.spent_entries)::bigint AS spent_entries, sum(s.spent_points) AS spent_points,
       sum(s.expired_entries)::bigint AS expired_entries, sum(s.expired_points) AS expired_points,
       sum(s.reversed_entries)::bigint AS reversed_entries, sum(s.reversed_points) AS reversed_points,
       sum(s.adjusted_entries)::bigint AS adjusted_entries, sum(s.adjusted_points) AS adjusted_points,
       sum(s.bonus_entries)::bigint AS bonus_entries, sum(s.bonus_points) AS bonus_points,
       sum(s.restored_entries)::bigint AS restored_entries, sum(s.restored_points) AS restored_points,
       sum(s.rewarded_entries)::bigint AS rewarded_entries, sum(s.rewarded_points) AS rewarded_points,
       sum(s.entries)::bigint AS entries, sum(s.net_points) AS net_points
  FROM @extschema@.points_daily_mv s
 GROUP BY 1, 2, 3;
CREATE UNIQUE INDEX points_daily_rollup_mv_key ON @extschema@.points_daily_rollup_mv (program_id, day, campaign_id);
CREATE INDEX points_daily_rollup_mv_campaign_idx ON @extschema@.points_daily_rollup_mv (campaign_id, day) WHERE campaign_id <> 0;
COMMENT ON MATERIALIZED VIEW @extschema@.points_daily_rollup_mv IS
'points_daily_mv summed per program, local day and campaign (none stored as 0); rebuilt by refresh_reports() right after points_daily_mv; read it through report_points_daily_total and report_points_daily_campaign';

CREATE VIEW @extschema@.report_points_daily_total AS
SELECT s.day,
       p.code AS program_code,
       p.currency,
       sum(s.earned_entries)::bigint AS earned_entries, sum(s.earned_points) AS earned_points,
       sum(s.earned_points) * p.point_value AS earned_value,
       sum(s.spent_entries)::bigint AS spent_entries, sum(s.spent_points) AS spent_points,
       sum(s.spent_points) * p.point_value AS spent_value,
       sum(s.expired_entries)::bigint AS expired_entries, sum(s.expired_points) AS expired_points,
       sum(s.expired_points) * p.point_value AS expired_value,
       sum(s.reversed_entries)::bigint AS reversed_entries, sum(s.reversed_points) AS reversed_points,
       sum(s.reversed_points) * p.point_value AS reversed_value,
       sum(s.adjusted_entries)::bigint AS adjusted_entries, sum(s.adjusted_points) AS adjusted_points,
       sum(s.adjusted_points) * p.point_value AS adjusted_value,
       sum(s.bonus_entries)::bigint AS bonus_entries, sum(s.bonus_points) AS bonus_points,
       sum(s.bonus_points) * p.point_value AS bonus_value,
       sum(s.restored_entries)::bigint AS restored_entries, sum(s.restored_points) AS restored_points,
       sum(s.restored_points) * p.point_value AS restored_value,
       sum(s.rewarded_entries)::bigint AS rewarded_entries, sum(s.rewarded_points) AS rewarded_points,
       sum(s.rewarded_points) * p.point_value AS rewarded_value,
       sum(s.entries)::bigint AS entries, sum(s.net_points) AS net_points,
       sum(s.net_points) * p.point_value AS net_value
  FROM @extschema@.points_daily_rollup_mv s
  JOIN @extschema@.program p ON p.program_id = s.program_id
 GROUP BY p.program_id, p.code, p.currency, p.point_value, s.day;
COMMENT ON VIEW @extschema@.report_points_daily_total IS
'K1: report_points_daily summed per program and local day (all branches, campaigns and rules): the fast daily series. Freshness: as of the last refresh_reports() (see report_freshness); money at the program''s current point value';
COMMENT ON COLUMN @extschema@.report_points_daily_total.day IS 'Day the ledger entries were written (created_at), in the program''s time zone';
COMMENT ON COLUMN @extschema@.report_points_daily_total.program_code IS 'The program (program.code)';
COMMENT ON COLUMN @extschema@.report_points_daily_total.currency IS 'Currency of the money columns';
COMMENT ON COLUMN @extschema@.report_points_daily_total.earned_entries IS 'Ledger entries of kind earn';
COMMENT ON COLUMN @extschema@.report_points_daily_total.earned_points IS 'Points earned by orders (sum of earn entries)';
COMMENT ON COLUMN @extschema@.report_points_daily_total.earned_value IS 'earned_points times the point value';
COMMENT ON COLUMN @extschema@.report_points_daily_total.spent_entries IS 'Ledger entries of kind redeem';
COMMENT ON COLUMN @extschema@.report_points_daily_total.spent_points IS 'Points spent (sum of redeem entries; negative, as in the ledger)';
COMMENT ON COLUMN @extschema@.report_points_daily_total.spent_value IS 'spent_points times the point value';
COMMENT ON COLUMN @extschema@.report_points_daily_total.expired_entries IS 'Ledger entries of kind expire';
COMMENT ON COLUMN @extschema@.report_points_daily_total.expired_points IS 'Points expired (sum of expire entries; negative, as in the ledger)';
COMMENT ON COLUMN @extschema@.report_points_daily_total.expired_value IS 'expired_points times the point value';
COMMENT ON COLUMN @extschema@.report_points_daily_total.reversed_entries IS 'Ledger entries of kind reverse (returns, cancellations)';
COMMENT ON COLUMN @extschema@.report_points_daily_total.reversed_points IS 'Points taken back (sum of reverse entries; negative, as in the ledger)';
COMMENT ON COLUMN @extschema@.report_points_daily_total.reversed_value IS 'reversed_points times the point value';
COMMENT ON COLUMN @extschema@.report_points_daily_total.adjusted_entries IS 'Ledger entries of kind adjust (manual corrections)';
COMMENT ON COLUMN @extschema@.report_points_daily_total.adjusted_points IS 'Net points of corrections (sum of adjust entries, signed)';
COMMENT ON COLUMN @extschema@.report_points_daily_total.adjusted_value IS 'adjusted_points times the point value';
COMMENT ON COLUMN @extschema@.report_points_daily_total.bonus_entries IS 'Ledger entries of kind bonus';
COMMENT ON COLUMN @extschema@.report_points_daily_total.bonus_points IS 'Bonus points (sum of bonus entries)';
COMMENT ON COLUMN @extschema@.report_points_daily_total.bonus_value IS 'bonus_points times the point value';
COMMENT ON COLUMN @extschema@.report_points_daily_total.restored_entries IS 'Ledger entries of kind restore (spent points given back)';
COMMENT ON COLUMN @extschema@.report_points_daily_total.restored_points IS 'Points restored (sum of restore entries)';
COMMENT ON COLUMN @extschema@.report_points_daily_total.restored_value IS 'restored_points times the point value';
COMMENT ON COLUMN @extschema@.report_points_daily_total.rewarded_entries IS 'Ledger entries of kind reward';
COMMENT ON COLUMN @extschema@.report_points_daily_total.rewarded_points IS 'Points of rewards (sum of reward entries, signed)';
COMMENT ON COLUMN @extschema@.report_points_daily_total.rewarded_value IS 'rewarded_points times the point value';
COMMENT ON COLUMN @extschema@.report_points_daily_total.entries IS 'All ledger entries of the row';
COMMENT ON COLUMN @extschema@.report_points_daily_total.net_points IS 'Sum of all entries: the change of the members'' balances';
COMMENT ON COLUMN @extschema@.report_points_daily_total.net_value IS 'net_points times the point value';

CREATE VIEW @extschema@.report_points_daily_campaign AS
SELECT s.day,
       p.code AS program_code,
       p.currency,
       s.campaign_id,
       s.earned_entries, s.earned_points, s.earned_points * p.point_value AS earned_value,
       s.spent_entries, s.spent_points, s.spent_points * p.point_value AS spent_value,
       s.expired_entries, s.expired_points, s.expired_points * p.point_value AS expired_value,
       s.reversed_entries, s.reversed_points, s.reversed_points * p.point_value AS reversed_value,
       s.adjusted_entries, s.adjusted_points, s.adjusted_points * p.point_value AS adjusted_value,
       s.bonus_entries, s.bonus_points, s.bonus_points * p.point_value AS bonus_value,
       s.restored_entries, s.restored_points, s.restored_points * p.point_value AS restored_value,
       s.rewarded_entries, s.rewarded_points, s.rewarded_points * p.point_value AS rewarded_value,
       s.entries, s.net_points, s.net_points * p.point_value AS net_value
  FROM @extschema@.points_daily_rollup_mv s
  JOIN @extschema@.program p ON p.program_id = s.program_id
 WHERE s.campaign_id <> 0;
COMMENT ON VIEW @extschema@.report_points_daily_campaign IS
'K1/K3: report_points_daily summed per campaign, program and local day (entries with a campaign only): the fast campaign summary. Freshness: as of the last refresh_reports() (see report_freshness); money at the program''s current point value';
COMMENT ON COLUMN @extschema@.report_points_daily_campaign.day IS 'Day the ledger entries were written (created_at), in the program''s time zone';
COMMENT ON COLUMN @extschema@.report_points_daily_campaign.program_code IS 'The program (program.code)';
COMMENT ON COLUMN @extschema@.report_points_daily_campaign.currency IS 'Currency of the money columns';
COMMENT ON COLUMN @extschema@.report_points_daily_campaign.campaign_id IS 'Campaign recorded on the entries, else the campaign of their rule';
COMMENT ON COLUMN @extschema@.report_points_daily_campaign.earned_entries IS 'Ledger entries of kind earn';
COMMENT ON COLUMN @extschema@.report_points_daily_campaign.earned_points IS 'Points earned by orders (sum of earn entries)';
COMMENT ON COLUMN @extschema@.report_points_daily_campaign.earned_value IS 'earned_points times the point value';
COMMENT ON COLUMN @extschema@.report_points_daily_campaign.spent_entries IS 'Ledger entries of kind redeem';
COMMENT ON COLUMN @extschema@.report_points_daily_campaign.spent_points IS 'Points spent (sum of redeem entries; negative, as in the ledger)';
COMMENT ON COLUMN @extschema@.report_points_daily_campaign.spent_value IS 'spent_points times the point value';
COMMENT ON COLUMN @extschema@.report_points_daily_campaign.expired_entries IS 'Ledger entries of kind expire';
COMMENT ON COLUMN @extschema@.report_points_daily_campaign.expired_points IS 'Points expired (sum of expire entries; negative, as in the ledger)';
COMMENT ON COLUMN @extschema@.report_points_daily_campaign.expired_value IS 'expired_points times the point value';
COMMENT ON COLUMN @extschema@.report_points_daily_campaign.reversed_entries IS 'Ledger entries of kind reverse (returns, cancellations)';
COMMENT ON COLUMN @extschema@.report_points_daily_campaign.reversed_points IS 'Points taken back (sum of reverse entries; negative, as in the ledger)';
COMMENT ON COLUMN @extschema@.report_points_daily_campaign.reversed_value IS 'reversed_points times the point value';
COMMENT ON COLUMN @extschema@.report_points_daily_campaign.adjusted_entries IS 'Ledger entries of kind adjust (manual corrections)';
COMMENT ON COLUMN @extschema@.report_points_daily_campaign.adjusted_points IS 'Net points of corrections (sum of adjust entries, signed)';
COMMENT ON COLUMN @extschema@.report_points_daily_campaign.adjusted_value IS 'adjusted_points times the point value';
COMMENT ON COLUMN @extschema@.report_points_daily_campaign.bonus_entries IS 'Ledger entries of kind bonus';
COMMENT ON COLUMN @extschema@.report_points_daily_campaign.bonus_points IS 'Bonus points (sum of bonus entries)';
COMMENT ON COLUMN @extschema@.report_points_daily_campaign.bonus_value IS 'bonus_points times the point value';
COMMENT ON COLUMN @extschema@.report_points_daily_campaign.restored_entries IS 'Ledger entries of kind restore (spent points given back)';
COMMENT ON COLUMN @extschema@.report_points_daily_campaign.restored_points IS 'Points restored (sum of restore entries)';
COMMENT ON COLUMN @extschema@.report_points_daily_campaign.restored_value IS 'restored_points times the point value';
COMMENT ON COLUMN @extschema@.report_points_daily_campaign.rewarded_entries IS 'Ledger entries of kind reward';
COMMENT ON COLUMN @extschema@.report_points_daily_campaign.rewarded_points IS 'Points of rewards (sum of reward entries, signed)';
COMMENT ON COLUMN @extschema@.report_points_daily_campaign.rewarded_value IS 'rewarded_points times the point value';
COMMENT ON COLUMN @extschema@.report_points_daily_campaign.entries IS 'All ledger entries of the row';
COMMENT ON COLUMN @extschema@.report_points_daily_campaign.net_points IS 'Sum of all entries: the change of the members'' balances';
COMMENT ON COLUMN @extschema@.report_points_daily_campaign.net_value IS 'net_points times the point value';

-- I6: branch activity ----------------------------------------------------------

CREATE MATERIALIZED VIEW @extschema@.branch_daily_mv AS
SELECT o.program_id,
       coalesce(o.branch, '') AS branch,
       (o.ordered_at AT TIME ZONE p.time_zone)::date AS day,
       count(*) FILTER (WHERE o.status <> 'cancelled') AS orders,
       count(*) FILTER (WHERE o.status = 'cancelled') AS cancelled_orders,
       count(DISTINCT o.member_id) FILTER (WHERE o.status <> 'cancelled') AS members,
       sum(o.amount) FILTER (WHERE o.status <> 'cancelled') AS gross_revenue,
       sum(o.returned_amount) FILTER (WHERE o.status <> 'cancelled') AS returned_amount,
       sum(o.points::numeric - o.reversed_points::numeric) AS points
  FROM @extschema@.member_order o
  JOIN @extschema@.program p ON p.program_id = o.program_id
 GROUP BY 1, 2, 3;
CREATE UNIQUE INDEX branch_daily_mv_key ON @extschema@.branch_daily_mv (program_id, branch, day);
CREATE INDEX branch_daily_mv_day_idx ON @extschema@.branch_daily_mv (day);
COMMENT ON MATERIALIZED VIEW @extschema@.branch_daily_mv IS
'Summary of members'' orders per program, branch and local day (no branch stored as ''''); rebuilt by refresh_reports(); read it through report_branch_daily';

CREATE VIEW @extschema@.report_branch_daily AS
SELECT s.day,
       p.code AS program_code,
       p.currency,
       nullif(s.branch, '') AS branch,
       s.orders,
       s.cancelled_orders,
       s.members,
       coalesce(s.gross_revenue, 0) AS gross_revenue,
       coalesce(s.returned_amount, 0) AS returned_amount,
       coalesce(s.gross_revenue, 0) - coalesce(s.returned_amount, 0) AS revenue,
       s.points,
       s.points * p.point_value AS points_value
  FROM @extschema@.branch_daily_mv s
  JOIN @extschema@.program p ON p.program_id = s.program_id;
COMMENT ON VIEW @extschema@.report_branch_daily IS
'I6: members'' orders, distinct members, revenue and points per branch and local day of the order. Freshness: as of the last refresh_reports() (see report_freshness); returns count on the day of the order they return';
COMMENT ON COLUMN @extschema@.report_branch_daily.day IS 'Day the orders were placed (ordered_at), in the program''s time zone';
COMMENT ON COLUMN @extschema@.report_branch_daily.program_code IS 'The program (program.code)';
COMMENT ON COLUMN @extschema@.report_branch_daily.currency IS 'Currency of the money columns';
COMMENT ON COLUMN @extschema@.report_branch_daily.branch IS 'Branch of the orders (NULL: none given)';
COMMENT ON COLUMN @extschema@.report_branch_daily.orders IS 'Members'' orders placed, not counting cancelled ones (wholly returned orders count)';
COMMENT ON COLUMN @extschema@.report_branch_daily.cancelled_orders IS 'Members'' orders placed that day and cancelled since';
COMMENT ON COLUMN @extschema@.report_branch_daily.members IS 'Distinct members with a non-cancelled order';
COMMENT ON COLUMN @extschema@.report_branch_daily.gross_revenue IS 'Sum of the order totals (cancelled orders excluded)';
COMMENT ON COLUMN @extschema@.report_branch_daily.returned_amount IS 'Money returned so far on those orders';
COMMENT ON COLUMN @extschema@.report_branch_daily.revenue IS 'gross_revenue minus returned_amount';
COMMENT ON COLUMN @extschema@.report_branch_daily.points IS 'Points the orders earned minus the points returns and cancellations took back';
COMMENT ON COLUMN @extschema@.report_branch_daily.points_value IS 'points times the point value';

-- K5: loyal customers -----------------------------------------------------------

CREATE MATERIALIZED VIEW @extschema@.loyal_customers_mv AS
WITH m AS (
    SELECT o.member_id, o.program_id,
           count(*) AS orders,
           sum(o.amount - o.returned_amount) AS revenue,
           min(o.ordered_at) AS first_order_at,
           max(o.ordered_at) AS last_order_at
      FROM @extschema@.member_order o
     WHERE o.status <> 'cancelled'
     GROUP BY 1, 2
)
SELECT m.member_id, m.program_id, p.code AS program_code, k.customer_key, k.kind,
       m.orders, m.revenue, m.first_order_at, m.last_order_at,
       ntile(5) OVER (PARTITION BY m.program_id ORDER BY m.last_order_at, k.customer_key)::bigint AS r_score,
       ntile(5) OVER (PARTITION BY m.program_id ORDER BY m.orders, k.customer_key)::bigint AS f_score,
       ntile(5) OVER (PARTITION BY m.program_id ORDER BY m.revenue, k.customer_key)::bigint AS m_score,
       sum(m.revenue) OVER (PARTITION BY m.program_id) AS program_revenue,
       count(*) OVER (PARTITION BY m.program_id) AS program_customers,
       rank() OVER (PARTITION BY m.program_id ORDER BY m.revenue DESC) AS revenue_rank,
       row_number() OVER (PARTITION BY m.program_id ORDER BY m.revenue DESC, k.customer_key) AS revenue_row,
       sum(m.revenue) OVER (PARTITION BY m.program_id ORDER BY m.revenue DESC, k.customer_key
                            ROWS UNBOUNDED PRECEDING) AS revenue_upto
  FROM m
  JOIN @extschema@.member k ON k.member_id = m.member_id
  JOIN @extschema@.program p ON p.program_id = m.program_id;
CREATE UNIQUE INDEX loyal_customers_mv_key ON @extschema@.loyal_customers_mv (program_id, member_id);
CREATE INDEX loyal_customers_mv_row_idx ON @extschema@.loyal_customers_mv (program_id, revenue_row);
CREATE INDEX loyal_customers_mv_rank_idx ON @extschema@.loyal_customers_mv (program_code, revenue_rank);
CREATE INDEX loyal_customers_mv_customer_idx ON @extschema@.loyal_customers_mv (customer_key);
COMMENT ON MATERIALIZED VIEW @extschema@.loyal_customers_mv IS
'Per member with orders: orders, revenue, first and last order, RFM scores, revenue rank and the running revenue down the ranking; rebuilt by refresh_reports(); read it through report_loyal_customers';

CREATE VIEW @extschema@.report_loyal_customers AS
SELECT c.program_code,
       p.currency,
       c.customer_key,
       c.kind,
       c.orders,
       c.revenue,
       c.first_order_at,
       c.last_order_at,
       ((now() AT TIME ZONE p.time_zone)::date - (c.last_order_at AT TIME ZONE p.time_zone)::date)::bigint
           AS recency_days,
       c.orders AS frequency,
       c.revenue AS monetary,
       round(c.revenue / c.orders, 2) AS avg_order_value,
       c.r_score,
       c.f_score,
       c.m_score,
       c.r_score::text || c.f_score::text || c.m_score::text AS rfm,
       CASE WHEN c.program_revenue > 0 THEN round(c.revenue / c.program_revenue, 6) END AS revenue_share,
       c.revenue_rank,
       c.program_customers
  FROM @extschema@.loyal_customers_mv c
  JOIN @extschema@.program p ON p.program_id = c.program_id;
COMMENT ON VIEW @extschema@.report_loyal_customers IS
'K5: who the loyal customers are: per member who ordered, orders, revenue net of returns, first and last order, recency, frequency, monetary, RFM scores (1-5, 5 best), revenue share and rank. Freshness: as of the last refresh_reports() (see report_freshness), except recency_days, which counts to today';
COMMENT ON COLUMN @extschema@.report_loyal_customers.program_code IS 'The program (program.code at the last refresh)';
COMMENT ON COLUMN @extschema@.report_loyal_customers.currency IS 'Currency of the money columns';
COMMENT ON COLUMN @extschema@.report_loyal_customers.customer_key IS 'The host system''s customer key';
COMMENT ON COLUMN @extschema@.report_loyal_customers.kind IS 'person or organisation';
COMMENT ON COLUMN @extschema@.report_loyal_customers.orders IS 'Orders placed, not counting cancelled ones (wholly returned orders count)';
COMMENT ON COLUMN @extschema@.report_loyal_customers.revenue IS 'Sum of order totals minus the money returned (amount - returned_amount)';
COMMENT ON COLUMN @extschema@.report_loyal_customers.first_order_at IS 'Time of the first non-cancelled order';
COMMENT ON COLUMN @extschema@.report_loyal_customers.last_order_at IS 'Time of the last non-cancelled order';
COMMENT ON COLUMN @extschema@.report_loyal_customers.recency_days IS 'Days from the last order to today, both in the program''s time zone (computed when read)';
COMMENT ON COLUMN @extschema@.report_loyal_customers.frequency IS 'RFM frequency: the number of orders (same as orders)';
COMMENT ON COLUMN @extschema@.report_loyal_customers.monetary IS 'RFM monetary: the revenue (same as revenue)';
COMMENT ON COLUMN @extschema@.report_loyal_customers.avg_order_value IS 'revenue / orders, rounded to 2 decimals';
COMMENT ON COLUMN @extschema@.report_loyal_customers.r_score IS 'Recency score: ntile(5) of the program''s customers by last order, 5 = most recent (ties broken by customer_key)';
COMMENT ON COLUMN @extschema@.report_loyal_customers.f_score IS 'Frequency score: ntile(5) by orders, 5 = most orders (ties broken by customer_key)';
COMMENT ON COLUMN @extschema@.report_loyal_customers.m_score IS 'Monetary score: ntile(5) by revenue, 5 = most revenue (ties broken by customer_key)';
COMMENT ON COLUMN @extschema@.report_loyal_customers.rfm IS 'The three scores as text, e.g. 555';
COMMENT ON COLUMN @extschema@.report_loyal_customers.revenue_share IS 'revenue / the program''s revenue, to 6 decimals (NULL when the program''s revenue is not positive)';
COMMENT ON COLUMN @extschema@.report_loyal_customers.revenue_rank IS 'Rank by revenue within the program, 1 = most (equal revenue, equal rank)';
COMMENT ON COLUMN @extschema@.report_loyal_customers.program_customers IS 'Customers with orders in the program';

CREATE VIEW @extschema@.report_top_customers_share AS
SELECT p.code AS program_code,
       p.currency,
       t.top_percent,
       k.revenue_row AS customers,
       f.program_customers AS all_customers,
       k.revenue_upto AS revenue,
       f.program_revenue AS total_revenue,
       CASE WHEN f.program_revenue > 0 THEN round(k.revenue_upto / f.program_revenue, 6) END AS revenue_share
  FROM @extschema@.program p
  JOIN @extschema@.loyal_customers_mv f ON f.program_id = p.program_id AND f.revenue_row = 1
 CROSS JOIN (VALUES (1::numeric), (10::numeric), (20::numeric)) AS t(top_percent)
  JOIN @extschema@.loyal_customers_mv k ON k.program_id = p.program_id
   AND k.revenue_row = ceil(f.program_customers * t.top_percent / 100)::bigint;
COMMENT ON VIEW @extschema@.report_top_customers_share IS
'K5: the revenue share of the top 1%, 10% and 20% of a program''s customers by revenue (top N = ceil(customers * percent / 100)). Freshness: as of the last refresh_reports() (see report_freshness)';
COMMENT ON COLUMN @extschema@.report_top_customers_share.program_code IS 'The program (program.code)';
COMMENT ON COLUMN @extschema@.report_top_customers_share.currency IS 'Currency of the money columns';
COMMENT ON COLUMN @extschema@.report_top_customers_share.top_percent IS 'The top share of customers: 1, 10 or 20 (percent)';
COMMENT ON COLUMN @extschema@.report_top_customers_share.customers IS 'Customers in the top: ceil(all_customers * top_percent / 100)';
COMMENT ON COLUMN @extschema@.report_top_customers_share.all_customers IS 'Customers with orders in the program';
COMMENT ON COLUMN @extschema@.report_top_customers_share.revenue IS 'Revenue of the top customers (ties at the edge broken by customer_key)';
COMMENT ON COLUMN @extschema@.report_top_customers_share.total_revenue IS 'Revenue of all customers of the program';
COMMENT ON COLUMN @extschema@.report_top_customers_share.revenue_share IS 'revenue / total_revenue, to 6 decimals (NULL when total_revenue is not positive)';

-- Liability: points owed to customers ----------------------------------------------

CREATE FUNCTION @extschema@.liability_bucket(expires_at timestamptz, as_of timestamptz)
RETURNS text
LANGUAGE sql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT CASE
             WHEN $1 IS NULL THEN 'never'
             WHEN $1 <= $2 THEN 'overdue'
             WHEN $1 <= $2 + interval '30 days' THEN 'next_30_days'
             WHEN $1 <= $2 + interval '60 days' THEN 'next_60_days'
             WHEN $1 <= $2 + interval '90 days' THEN 'next_90_days'
             ELSE 'later'
           END
$$;
COMMENT ON FUNCTION @extschema@.liability_bucket(timestamptz, timestamptz) IS
'Expiry bucket of points expiring at a time, seen from as_of: overdue (past expiry, not yet written off), next_30_days, next_60_days (31-60), next_90_days (61-90), later, never';

CREATE VIEW @extschema@.report_liability AS
WITH b(bucket_order, bucket) AS (
    VALUES (1::bigint, 'overdue'), (2, 'next_30_days'), (3, 'next_60_days'), (4, 'next_90_days'),
           (5, 'later'), (6, 'never')
), l AS (
    SELECT o.program_id, @extschema@.liability_bucket(o.expires_at, now()) AS bucket,
           count(DISTINCT o.member_id) AS members, count(*) AS lots, sum(o.remaining::numeric) AS points
      FROM @extschema@.lot o
     WHERE o.remaining OPERATOR(@extschema@.>) 0
     GROUP BY 1, 2
)
SELECT p.code AS program_code,
       p.currency,
       now() AS as_of,
       b.bucket_order,
       b.bucket,
       coalesce(l.members, 0) AS members,
       coalesce(l.lots, 0) AS lots,
       coalesce(l.points, 0) AS points,
       coalesce(l.points, 0) * p.point_value AS value
  FROM @extschema@.program p
 CROSS JOIN b
  LEFT JOIN l ON l.program_id = p.program_id AND l.bucket = b.bucket;
COMMENT ON VIEW @extschema@.report_liability IS
'Points owed to customers now (open lots) and their money value at the current point value, by expiry bucket. Freshness: live (reads loyalty.lot when queried; a scan of the open lots)';
COMMENT ON COLUMN @extschema@.report_liability.program_code IS 'The program (program.code)';
COMMENT ON COLUMN @extschema@.report_liability.currency IS 'Currency of value';
COMMENT ON COLUMN @extschema@.report_liability.as_of IS 'The time the buckets are measured from (now())';
COMMENT ON COLUMN @extschema@.report_liability.bucket_order IS 'Sort order of the buckets, 1 to 6';
COMMENT ON COLUMN @extschema@.report_liability.bucket IS 'overdue (past expiry, not yet written off by the expiry job), next_30_days, next_60_days (31-60), next_90_days (61-90), later, never';
COMMENT ON COLUMN @extschema@.report_liability.members IS 'Members with open lots in the bucket';
COMMENT ON COLUMN @extschema@.report_liability.lots IS 'Open lots in the bucket';
COMMENT ON COLUMN @extschema@.report_liability.points IS 'Points left in those lots';
COMMENT ON COLUMN @extschema@.report_liability.value IS 'points times the program''s point value';

CREATE FUNCTION @extschema@.liability_as_of(as_of timestamptz)
RETURNS TABLE (program_code text, currency text, bucket_order bigint, bucket text,
               members bigint, points numeric, value numeric)
LANGUAGE sql STABLE STRICT
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
    WITH e AS (
        SELECT l.member_id, l.program_id, l.entry_id, l.amount::numeric AS amount, l.expires_at
          FROM @extschema@.ledger l
         WHERE l.created_at <= $1
    ), bal AS (
        SELECT e.member_id, e.program_id, sum(e.amount) AS balance
          FROM e GROUP BY 1, 2 HAVING sum(e.amount) > 0
    ), credit AS (
        SELECT e.member_id, e.program_id, e.amount, e.expires_at, bal.balance,
               sum(e.amount) OVER (PARTITION BY e.member_id, e.program_id
                                   ORDER BY e.expires_at DESC NULLS FIRST, e.entry_id DESC) AS upto
          FROM e JOIN bal ON bal.member_id = e.member_id AND bal.program_id = e.program_id
         WHERE e.amount > 0
    ), alloc AS (
        SELECT c.program_id, c.member_id,
               @extschema@.liability_bucket(c.expires_at, $1) AS bucket,
               least(c.amount, greatest(c.balance - (c.upto - c.amount), 0)) AS points
          FROM credit c
    ), l AS (
        SELECT a.program_id, a.bucket, count(DISTINCT a.member_id) AS members, sum(a.points) AS points
          FROM alloc a WHERE a.points > 0 GROUP BY 1, 2
    ), b(bucket_order, bucket) AS (
        VALUES (1::bigint, 'overdue'), (2, 'next_30_days'), (3, 'next_60_days'), (4, 'next_90_days'),
               (5, 'later'), (6, 'never')
    )
    SELECT p.code, p.currency, b.bucket_order, b.bucket,
           coalesce(l.members, 0), coalesce(l.points, 0), coalesce(l.points, 0) * p.point_value
      FROM @extschema@.program p
     CROSS JOIN b
      LEFT JOIN l ON l.program_id = p.program_id AND l.bucket = b.bucket
     ORDER BY p.code, b.bucket_order
$$;
COMMENT ON FUNCTION @extschema@.liability_as_of(timestamptz) IS
'Points owed to customers at a past time, from the ledger (entries created up to as_of), by expiry bucket seen from as_of. Exact: the total per program (sum of the members'' positive balances at as_of) and its value at the current point value. Approximate: the split into buckets, which assumes debits took the soonest-expiring credits first (returns really take first from the order they return) and counts points past expiry not yet written off by an expire entry as overdue. Freshness: live; a scan of the ledger up to as_of';
REVOKE ALL ON FUNCTION @extschema@.liability_as_of(timestamptz) FROM PUBLIC;

-- Refresh job and freshness ------------------------------------------------------

CREATE FUNCTION @extschema@.refresh_reports()
RETURNS boolean
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_mv record;
    v_start timestamptz;
    v_rows bigint;
BEGIN
    -- 1280268620 = 'LOYL', 80 = this file: one refresh at a time, released at commit or error
    IF NOT pg_try_advisory_xact_lock(1280268620, 80) THEN
        RAISE NOTICE 'loyalty reports are being refreshed by another session; skipped';
        RETURN false;
    END IF;
    FOR v_mv IN
        SELECT c.oid, c.relname, c.relispopulated
          FROM pg_class c
         WHERE c.relnamespace = '@extschema@'::regnamespace AND c.relkind = 'm'
         ORDER BY (SELECT count(*) FROM pg_rewrite w
                     JOIN pg_depend d ON d.classid = 'pg_rewrite'::regclass AND d.objid = w.oid
                     JOIN pg_class x ON x.oid = d.refobjid AND x.relkind = 'm' AND x.oid <> c.oid
                    WHERE w.ev_class = c.oid), c.relname
    LOOP
        v_start := clock_timestamp();
        IF v_mv.relispopulated THEN
            EXECUTE format('REFRESH MATERIALIZED VIEW CONCURRENTLY %s', v_mv.oid::regclass);
        ELSE
            EXECUTE format('REFRESH MATERIALIZED VIEW %s', v_mv.oid::regclass);
        END IF;
        EXECUTE format('SELECT count(*) FROM %s', v_mv.oid::regclass) INTO v_rows;
        INSERT INTO @extschema@.report_refresh AS r (name, refreshed_at, took_ms, row_count)
        VALUES (v_mv.relname, v_start,
                (extract(epoch FROM clock_timestamp() - v_start) * 1000)::bigint, v_rows)
        ON CONFLICT (name) DO UPDATE
           SET refreshed_at = excluded.refreshed_at, took_ms = excluded.took_ms, row_count = excluded.row_count;
    END LOOP;
    RETURN true;
END
$$;
COMMENT ON FUNCTION @extschema@.refresh_reports() IS
'Job: rebuilds every materialized view of the reports (those reading other materialized views after them; concurrently, so readers and orders never wait) and records the time in report_refresh; returns false and does nothing when another refresh is running. Schedule: SELECT cron.schedule(''pg_loyalty_refresh_reports'', ''*/15 * * * *'', ''SELECT loyalty.refresh_reports()'')';
REVOKE ALL ON FUNCTION @extschema@.refresh_reports() FROM PUBLIC;

CREATE VIEW @extschema@.report_freshness AS
SELECT c.relname::text AS name,
       CASE c.relname
         WHEN 'points_daily_mv' THEN 'report_points_daily'
         WHEN 'points_daily_rollup_mv' THEN 'report_points_daily_total, report_points_daily_campaign'
         WHEN 'branch_daily_mv' THEN 'report_branch_daily'
         WHEN 'loyal_customers_mv' THEN 'report_loyal_customers, report_top_customers_share'
       END AS reports,
       c.relispopulated AS populated,
       r.refreshed_at,
       extract(epoch FROM now() - r.refreshed_at)::bigint AS age_seconds,
       r.took_ms,
       r.row_count
  FROM pg_catalog.pg_class c
  LEFT JOIN @extschema@.report_refresh r ON r.name = c.relname
 WHERE c.relnamespace = '@extschema@'::regnamespace AND c.relkind = 'm';
COMMENT ON VIEW @extschema@.report_freshness IS
'How fresh each materialized report is: when refresh_reports() last rebuilt it, how long ago and how long it took. Freshness: live';
COMMENT ON COLUMN @extschema@.report_freshness.name IS 'The materialized view';
COMMENT ON COLUMN @extschema@.report_freshness.reports IS 'The report views that read it';
COMMENT ON COLUMN @extschema@.report_freshness.populated IS 'Whether it holds data (false: it must be refreshed before it can be read)';
COMMENT ON COLUMN @extschema@.report_freshness.refreshed_at IS 'When its last refresh started (NULL: never refreshed by refresh_reports(); it then holds the data of CREATE EXTENSION time)';
COMMENT ON COLUMN @extschema@.report_freshness.age_seconds IS 'Seconds since refreshed_at';
COMMENT ON COLUMN @extschema@.report_freshness.took_ms IS 'How long the last refresh took, in milliseconds';
COMMENT ON COLUMN @extschema@.report_freshness.row_count IS 'Rows after the last refresh';

-- Read-only access -------------------------------------------------------------

CREATE FUNCTION @extschema@.grant_reader(role name)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_rel regclass;
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles r WHERE r.rolname = grant_reader.role) THEN
        RAISE EXCEPTION 'role "%" does not exist', grant_reader.role
            USING ERRCODE = 'undefined_object',
                  HINT = 'Create it first: CREATE ROLE loyalty_reader;';
    END IF;
    EXECUTE format('GRANT USAGE ON SCHEMA @extschema@ TO %I', grant_reader.role);
    FOR v_rel IN
        SELECT c.oid::regclass FROM pg_class c
         WHERE c.relnamespace = '@extschema@'::regnamespace
           AND (c.relkind = 'm' OR (c.relkind = 'v' AND c.relname LIKE 'report\_%'))
         ORDER BY c.relname
    LOOP
        EXECUTE format('GRANT SELECT ON %s TO %I', v_rel, grant_reader.role);
    END LOOP;
    EXECUTE format('GRANT EXECUTE ON FUNCTION @extschema@.liability_as_of(timestamptz) TO %I', grant_reader.role);
END
$$;
COMMENT ON FUNCTION @extschema@.grant_reader(name) IS
'Lets a role read the reports: USAGE on the schema, SELECT on every report_* view and materialized view, EXECUTE on liability_as_of(); no base table. Run it again after an upgrade adds reports';
REVOKE ALL ON FUNCTION @extschema@.grant_reader(name) FROM PUBLIC;

-- Invariants -------------------------------------------------------------------

CREATE FUNCTION @extschema@.check_reports()
RETURNS TABLE (invariant text, member_id bigint, detail text)
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT 'liability from the ledger equals the open lots', NULL::bigint,
           format('program %s: ledger %s, lots %s', coalesce(a.program_code, b.program_code),
                  coalesce(a.points, 0), coalesce(b.points, 0))
      FROM (SELECT x.program_code, sum(x.points) AS points
              FROM @extschema@.liability_as_of(now()) x GROUP BY 1) a
      FULL JOIN (SELECT y.program_code, sum(y.points) AS points
                   FROM @extschema@.report_liability y GROUP BY 1) b
        ON b.program_code = a.program_code
     WHERE coalesce(a.points, 0) <> coalesce(b.points, 0)
$$;
COMMENT ON FUNCTION @extschema@.check_reports() IS
'Report invariants (empty when all is well): the liability computed from the ledger equals the points left in open lots, per program';
