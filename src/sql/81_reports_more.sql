-- Report views over campaigns, discount policies, vouchers, wallets, product
-- cards and tiers.  Standard types only; every view reads live tables (its
-- comment says so) and none of them writes, so they work on a hot standby.

CREATE INDEX ledger_campaign_idx ON @extschema@.ledger (campaign_id, kind)
    WHERE campaign_id IS NOT NULL;

CREATE VIEW @extschema@.report_campaigns AS
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
COMMENT ON VIEW @extschema@.report_campaigns IS
'Each campaign from start to end, one row each so several compare side by side (K3, H5): participants, orders, revenue, points issued and redeemed, discounts, prizes, cost against budget, redemption rate. Freshness: live (reads the ledger through an index on campaign_id)';
COMMENT ON COLUMN @extschema@.report_campaigns.campaign_id IS 'Campaign id';
COMMENT ON COLUMN @extschema@.report_campaigns.program_code IS 'Program code';
COMMENT ON COLUMN @extschema@.report_campaigns.campaign_code IS 'Campaign code';
COMMENT ON COLUMN @extschema@.report_campaigns.name IS 'Campaign name';
COMMENT ON COLUMN @extschema@.report_campaigns.status IS 'draft, scheduled, running, paused or ended';
COMMENT ON COLUMN @extschema@.report_campaigns.starts_at IS 'Start';
COMMENT ON COLUMN @extschema@.report_campaigns.ends_at IS 'End';
COMMENT ON COLUMN @extschema@.report_campaigns.participants IS 'Members who received the campaign''s points';
COMMENT ON COLUMN @extschema@.report_campaigns.orders IS 'Orders that earned the campaign''s points';
COMMENT ON COLUMN @extschema@.report_campaigns.revenue IS 'Revenue of those orders, net of returns';
COMMENT ON COLUMN @extschema@.report_campaigns.points_issued IS 'Points earned and bonus points given by the campaign';
COMMENT ON COLUMN @extschema@.report_campaigns.points_redeemed_by_participants IS 'Points participants spent during the campaign';
COMMENT ON COLUMN @extschema@.report_campaigns.discounts IS 'Discounts given by the campaign''s policies';
COMMENT ON COLUMN @extschema@.report_campaigns.prizes IS 'Value of prizes won';
COMMENT ON COLUMN @extschema@.report_campaigns.total_cost IS 'Points at point value plus discounts plus prizes';
COMMENT ON COLUMN @extschema@.report_campaigns.budget_points IS 'Points cap (NULL: none)';
COMMENT ON COLUMN @extschema@.report_campaigns.budget_money IS 'Money cap (NULL: none)';
COMMENT ON COLUMN @extschema@.report_campaigns.budget_used_percent IS 'Cost as a percent of the money cap';
COMMENT ON COLUMN @extschema@.report_campaigns.redemption_rate_percent IS 'Points redeemed by participants as a percent of points issued';

CREATE VIEW @extschema@.report_discount_policies AS
WITH bills AS (
    SELECT o.program_id, o.member_id, o.source, o.document, o.amount - o.returned_amount AS revenue
      FROM @extschema@.member_order o),
with_policy AS (
    SELECT d.policy_id, d.program_id, count(DISTINCT (d.member_id, d.source, d.document)) AS bills,
           sum(d.amount) AS cost
      FROM @extschema@.order_discount d GROUP BY d.policy_id, d.program_id),
policy_revenue AS (
    SELECT x.policy_id, sum(b.revenue) AS revenue
      FROM (SELECT DISTINCT d.policy_id, d.program_id, d.member_id, d.source, d.document
              FROM @extschema@.order_discount d) x
      JOIN bills b ON b.program_id = x.program_id AND b.member_id = x.member_id
       AND b.source = x.source AND b.document = x.document
     GROUP BY x.policy_id),
totals AS (
    SELECT b.program_id, count(*) AS bills, sum(b.revenue) AS revenue FROM bills b GROUP BY b.program_id)
SELECT p.policy_id, g.code AS program_code, p.name AS policy, p.kind, p.stacking,
       coalesce(w.bills, 0)::bigint AS bills_with,
       coalesce(r.revenue, 0)::numeric AS revenue_with,
       CASE WHEN coalesce(w.bills, 0) > 0 THEN round(r.revenue / w.bills, 2) END AS average_bill_with,
       (coalesce(t.bills, 0) - coalesce(w.bills, 0))::bigint AS bills_without,
       (coalesce(t.revenue, 0) - coalesce(r.revenue, 0))::numeric AS revenue_without,
       CASE WHEN coalesce(t.bills, 0) - coalesce(w.bills, 0) > 0
            THEN round((t.revenue - coalesce(r.revenue, 0)) / (t.bills - coalesce(w.bills, 0)), 2) END AS average_bill_without,
       coalesce(w.cost, 0)::numeric AS cost
  FROM @extschema@.discount_policy p
  JOIN @extschema@.program g ON g.program_id = p.program_id
  LEFT JOIN with_policy w ON w.policy_id = p.policy_id
  LEFT JOIN policy_revenue r ON r.policy_id = p.policy_id
  LEFT JOIN totals t ON t.program_id = p.program_id;
COMMENT ON VIEW @extschema@.report_discount_policies IS
'Discount policy effectiveness (K4, G4): members'' bills, revenue and average bill with and without each policy, and what the policy cost. Freshness: live';
COMMENT ON COLUMN @extschema@.report_discount_policies.policy_id IS 'Policy id';
COMMENT ON COLUMN @extschema@.report_discount_policies.program_code IS 'Program code';
COMMENT ON COLUMN @extschema@.report_discount_policies.policy IS 'Policy name';
COMMENT ON COLUMN @extschema@.report_discount_policies.kind IS 'percent or amount';
COMMENT ON COLUMN @extschema@.report_discount_policies.stacking IS 'exclusive or stackable';
COMMENT ON COLUMN @extschema@.report_discount_policies.bills_with IS 'Members'' bills the policy applied to';
COMMENT ON COLUMN @extschema@.report_discount_policies.revenue_with IS 'Their revenue, net of returns';
COMMENT ON COLUMN @extschema@.report_discount_policies.average_bill_with IS 'Average bill with the policy';
COMMENT ON COLUMN @extschema@.report_discount_policies.bills_without IS 'The program''s other member bills';
COMMENT ON COLUMN @extschema@.report_discount_policies.revenue_without IS 'Their revenue';
COMMENT ON COLUMN @extschema@.report_discount_policies.average_bill_without IS 'Average bill without the policy';
COMMENT ON COLUMN @extschema@.report_discount_policies.cost IS 'Discounts the policy gave';

CREATE VIEW @extschema@.report_vouchers AS
SELECT g.code AS program_code, t.code AS voucher_type, t.kind,
       count(v.voucher_id)::bigint AS issued,
       count(u.use_id)::bigint AS used,
       (count(v.voucher_id) - count(u.use_id))::bigint AS outstanding,
       count(v.voucher_id) FILTER (WHERE u.use_id IS NULL AND v.valid_to < now())::bigint AS expired_unused,
       coalesce(sum(u.amount), 0)::numeric AS amount_paid,
       coalesce(sum(u.forfeited), 0)::numeric AS amount_forfeited,
       (coalesce(t.invoice_value, t.face_value) * count(v.voucher_id))::numeric AS invoice_value_issued
  FROM @extschema@.voucher_type t
  JOIN @extschema@.program g ON g.program_id = t.program_id
  LEFT JOIN @extschema@.voucher v ON v.type_id = t.type_id
  LEFT JOIN @extschema@.voucher_use u ON u.voucher_id = v.voucher_id AND u.voided_at IS NULL
 GROUP BY g.code, t.code, t.kind, t.invoice_value, t.face_value;
COMMENT ON VIEW @extschema@.report_vouchers IS
'Vouchers, coupons and gift certificates by type (K2): issued, used, outstanding, amounts paid by them. Freshness: live';
COMMENT ON COLUMN @extschema@.report_vouchers.program_code IS 'Program code';
COMMENT ON COLUMN @extschema@.report_vouchers.voucher_type IS 'Voucher type code';
COMMENT ON COLUMN @extschema@.report_vouchers.kind IS 'voucher, coupon or gift_certificate';
COMMENT ON COLUMN @extschema@.report_vouchers.issued IS 'Codes issued';
COMMENT ON COLUMN @extschema@.report_vouchers.used IS 'Codes used (voided uses not counted)';
COMMENT ON COLUMN @extschema@.report_vouchers.outstanding IS 'Codes not used';
COMMENT ON COLUMN @extschema@.report_vouchers.expired_unused IS 'Codes past their validity and never used';
COMMENT ON COLUMN @extschema@.report_vouchers.amount_paid IS 'What the codes paid on bills';
COMMENT ON COLUMN @extschema@.report_vouchers.amount_forfeited IS 'Value left unused on bills (no change is given)';
COMMENT ON COLUMN @extschema@.report_vouchers.invoice_value_issued IS 'Invoice value of the issued codes (face value when none)';

CREATE VIEW @extschema@.report_wallets AS
SELECT g.code AS program_code, g.currency, (l.created_at AT TIME ZONE g.time_zone)::date AS day, l.branch,
       l.kind, count(*)::bigint AS movements, sum(l.amount)::numeric AS amount
  FROM @extschema@.wallet_ledger l
  JOIN @extschema@.program g ON g.program_id = l.program_id
 GROUP BY 1, 2, 3, 4, 5;
COMMENT ON VIEW @extschema@.report_wallets IS
'Wallet movements per day (program time zone), branch and kind (top-up, bonus, spend, refund, cash-back); the float is report_wallet_float. Freshness: live';
COMMENT ON COLUMN @extschema@.report_wallets.program_code IS 'Program code';
COMMENT ON COLUMN @extschema@.report_wallets.currency IS 'Currency';
COMMENT ON COLUMN @extschema@.report_wallets.day IS 'Local day of the movement';
COMMENT ON COLUMN @extschema@.report_wallets.branch IS 'Branch';
COMMENT ON COLUMN @extschema@.report_wallets.kind IS 'Movement kind';
COMMENT ON COLUMN @extschema@.report_wallets.movements IS 'Number of movements';
COMMENT ON COLUMN @extschema@.report_wallets.amount IS 'Sum of amounts (credits positive, debits negative)';

CREATE VIEW @extschema@.report_wallet_float AS
SELECT f.program AS program_code, f.currency, f.members::bigint AS members, f.float::numeric AS float
  FROM @extschema@.wallet_float f;
COMMENT ON VIEW @extschema@.report_wallet_float IS 'Prepaid money owed to customers per program (the float). Freshness: live';
COMMENT ON COLUMN @extschema@.report_wallet_float.program_code IS 'Program code';
COMMENT ON COLUMN @extschema@.report_wallet_float.currency IS 'Currency';
COMMENT ON COLUMN @extschema@.report_wallet_float.members IS 'Members with a wallet';
COMMENT ON COLUMN @extschema@.report_wallet_float.float IS 'Sum of wallet balances';

CREATE VIEW @extschema@.report_product_cards AS
SELECT g.code AS program_code, t.code AS card_type, t.item_sku,
       count(c.card_id)::bigint AS cards,
       coalesce(sum(c.units_left), 0)::bigint AS units_outstanding,
       coalesce(sum(c.units_left) FILTER (WHERE c.valid_to IS NULL OR c.valid_to >= now()), 0)::bigint AS units_valid,
       (coalesce(sum(c.units_left), 0) * t.extra_unit_price)::numeric AS value_at_unit_price
  FROM @extschema@.product_card_type t
  JOIN @extschema@.program g ON g.program_id = t.program_id
  LEFT JOIN @extschema@.product_card c ON c.type_id = t.type_id
 GROUP BY g.code, t.code, t.item_sku, t.extra_unit_price;
COMMENT ON VIEW @extschema@.report_product_cards IS 'Prepaid product cards per type: cards and units still owed. Freshness: live';
COMMENT ON COLUMN @extschema@.report_product_cards.program_code IS 'Program code';
COMMENT ON COLUMN @extschema@.report_product_cards.card_type IS 'Card type code';
COMMENT ON COLUMN @extschema@.report_product_cards.item_sku IS 'The item or service the card holds';
COMMENT ON COLUMN @extschema@.report_product_cards.cards IS 'Cards issued';
COMMENT ON COLUMN @extschema@.report_product_cards.units_outstanding IS 'Units not yet used';
COMMENT ON COLUMN @extschema@.report_product_cards.units_valid IS 'Units not yet used on cards still valid';
COMMENT ON COLUMN @extschema@.report_product_cards.value_at_unit_price IS 'Outstanding units at the extra-unit price';

CREATE VIEW @extschema@.report_tier_distribution AS
SELECT g.code AS program_code, t.rank::bigint AS rank, t.name AS tier, count(m.member_id)::bigint AS members
  FROM @extschema@.tier t
  JOIN @extschema@.program g ON g.program_id = t.program_id
  LEFT JOIN @extschema@.member_tier m ON m.tier_id = t.tier_id
 GROUP BY g.code, t.rank, t.name;
COMMENT ON VIEW @extschema@.report_tier_distribution IS 'Members per tier now. Freshness: live';
COMMENT ON COLUMN @extschema@.report_tier_distribution.program_code IS 'Program code';
COMMENT ON COLUMN @extschema@.report_tier_distribution.rank IS 'Tier rank (higher is better)';
COMMENT ON COLUMN @extschema@.report_tier_distribution.tier IS 'Tier name';
COMMENT ON COLUMN @extschema@.report_tier_distribution.members IS 'Members in the tier';

CREATE VIEW @extschema@.report_tier_moves AS
SELECT g.code AS program_code, (h.at AT TIME ZONE g.time_zone)::date AS day,
       f.name AS from_tier, t.name AS to_tier,
       CASE WHEN coalesce(t.rank, 0) > coalesce(f.rank, 0) THEN 'up' ELSE 'down' END AS direction,
       h.branch, count(*)::bigint AS moves
  FROM @extschema@.tier_history h
  JOIN @extschema@.program g ON g.program_id = h.program_id
  LEFT JOIN @extschema@.tier f ON f.tier_id = h.from_tier
  LEFT JOIN @extschema@.tier t ON t.tier_id = h.to_tier
 GROUP BY 1, 2, 3, 4, 5, 6;
COMMENT ON VIEW @extschema@.report_tier_moves IS 'Tier moves over time per day (program time zone), direction and branch. Freshness: live';
COMMENT ON COLUMN @extschema@.report_tier_moves.program_code IS 'Program code';
COMMENT ON COLUMN @extschema@.report_tier_moves.day IS 'Local day of the move';
COMMENT ON COLUMN @extschema@.report_tier_moves.from_tier IS 'Tier before (NULL: none)';
COMMENT ON COLUMN @extschema@.report_tier_moves.to_tier IS 'Tier after (NULL: none)';
COMMENT ON COLUMN @extschema@.report_tier_moves.direction IS 'up or down';
COMMENT ON COLUMN @extschema@.report_tier_moves.branch IS 'Branch of the order that moved it (NULL: the job)';
COMMENT ON COLUMN @extschema@.report_tier_moves.moves IS 'Number of moves';
