-- 0.2: report_campaigns finds the participants' redemptions with a join
-- instead of a subquery run per redemption (src/sql/81_reports_more.sql).
CREATE OR REPLACE VIEW @extschema@.report_campaigns AS
WITH issued AS (
    SELECT l.campaign_id, count(DISTINCT l.member_id) AS participants,
           count(*) FILTER (WHERE l.kind = 'earn') AS orders,
           sum(l.amount::numeric) FILTER (WHERE l.kind IN ('earn', 'bonus')) AS points_issued
      FROM @extschema@.ledger l
     WHERE l.campaign_id IS NOT NULL
     GROUP BY l.campaign_id),
revenue AS (
    SELECT l.campaign_id, sum(o.amount - o.returned_amount) AS revenue
      FROM @extschema@.ledger l
      JOIN @extschema@.member_order o ON o.member_id = l.member_id AND o.entry_id = l.entry_id
     WHERE l.campaign_id IS NOT NULL AND l.kind = 'earn'
     GROUP BY l.campaign_id),
participant AS (
    SELECT DISTINCT p.campaign_id, p.member_id
      FROM @extschema@.ledger p
     WHERE p.campaign_id IS NOT NULL),
redeemed AS (
    SELECT c.campaign_id, -sum(r.amount::numeric) AS points_redeemed
      FROM @extschema@.campaign c
      JOIN participant pm ON pm.campaign_id = c.campaign_id
      JOIN @extschema@.ledger r ON r.member_id = pm.member_id AND r.program_id = c.program_id
       AND r.kind = 'redeem' AND r.created_at >= c.starts_at AND r.created_at < c.ends_at
     GROUP BY c.campaign_id)
SELECT c.campaign_id, p.code AS program_code, c.code AS campaign_code, c.name, c.status,
       c.starts_at, c.ends_at,
       coalesce(i.participants, 0)::bigint AS participants,
       coalesce(i.orders, 0)::bigint AS orders,
       coalesce(v.revenue, 0)::numeric AS revenue,
       coalesce(i.points_issued, 0)::numeric AS points_issued,
       coalesce(d.points_redeemed, 0)::numeric AS points_redeemed_by_participants,
       coalesce(k.discounts, 0)::numeric AS discounts,
       coalesce(k.prizes, 0)::numeric AS prizes,
       coalesce(k.total_cost, 0)::numeric AS total_cost,
       c.budget_points::numeric AS budget_points,
       c.budget_money::numeric AS budget_money,
       k.budget_used_percent::numeric AS budget_used_percent,
       CASE WHEN coalesce(i.points_issued, 0) > 0
            THEN round(100 * coalesce(d.points_redeemed, 0) / i.points_issued, 2) END AS redemption_rate_percent
  FROM @extschema@.campaign c
  JOIN @extschema@.program p ON p.program_id = c.program_id
  LEFT JOIN issued i ON i.campaign_id = c.campaign_id
  LEFT JOIN revenue v ON v.campaign_id = c.campaign_id
  LEFT JOIN redeemed d ON d.campaign_id = c.campaign_id
  LEFT JOIN @extschema@.campaign_cost k ON k.campaign_id = c.campaign_id;
