-- Accrual spends a campaign's budget: its rules give until the cap, then the
-- order earns by the program's other rules, and the budget is never overspent.
\set VERBOSITY terse
SET search_path = public, loyalty;
SET timezone = 'UTC';

INSERT INTO program (code, name, point_value) VALUES ('cmp_acc', 'Campaign accrual', 1000);
INSERT INTO rule (program_id, name, kind, percent)
  SELECT program_id, 'base: 1%', 'percent', 1 FROM program WHERE code = 'cmp_acc';
SELECT enroll('cmp_acc', 'A' || i) > 0 AS enrolled FROM generate_series(1, 3) i;
-- a campaign of 10% with a budget of 25 points in 2 slots
INSERT INTO campaign (program_id, code, name, starts_at, ends_at, budget_points, budget_slots)
SELECT program_id, 'golden', 'Golden week', '2027-05-01', '2027-05-08', 25, 2
  FROM program WHERE code = 'cmp_acc';
INSERT INTO rule (program_id, name, kind, percent, priority, campaign_id)
SELECT program_id, 'golden week: 10%', 'percent', 10, 10, campaign_id FROM campaign WHERE code = 'golden';
SELECT schedule_campaign('golden');
SELECT start_campaign('golden');

-- 100,000đ: 10 points from the campaign each, while the budget lasts
SELECT rule_name, points FROM explain_accrual('cmp_acc', 'A1', total => 100000, ordered_at => '2027-05-02');
SELECT points FROM record_order('cmp_acc', 'A1', 'G-1', total => 100000, ordered_at => '2027-05-02');
SELECT points FROM record_order('cmp_acc', 'A2', 'G-2', total => 100000, ordered_at => '2027-05-02');
-- 5 points are left: the next 10-point order cannot be paid by the campaign and earns the base 1%
SELECT points FROM record_order('cmp_acc', 'A3', 'G-3', total => 100000, ordered_at => '2027-05-02');
-- a 50,000đ order fits the 5 points left
SELECT points FROM record_order('cmp_acc', 'A3', 'G-4', total => 50000, ordered_at => '2027-05-02');
SELECT points FROM record_order('cmp_acc', 'A1', 'G-5', total => 50000, ordered_at => '2027-05-02');
-- a retried order does not spend the budget twice
SELECT points, replayed FROM record_order('cmp_acc', 'A1', 'G-1', total => 100000, ordered_at => '2027-05-02');
SELECT sum(remaining_points) AS budget_left FROM campaign_budget_slot s JOIN campaign c USING (campaign_id)
 WHERE c.code = 'golden';
SELECT l.document, l.amount, c.code AS campaign FROM ledger l LEFT JOIN campaign c ON c.campaign_id = l.campaign_id
 WHERE l.document LIKE 'G-%' ORDER BY l.document;
-- after the campaign's end the base rule applies
SELECT rule_name, points FROM explain_accrual('cmp_acc', 'A1', total => 100000, ordered_at => '2027-05-09');
SELECT * FROM check_ledger();

-- H4: a campaign for VIP customers only; its rule passes other members by
SELECT enroll('cmp_acc', 'V1', groups => '{VIP}') > 0 AS enrolled;
INSERT INTO campaign (program_id, code, name, starts_at, ends_at, target_groups)
SELECT program_id, 'vip_days', 'VIP days', '2027-06-01', '2027-06-08', '{VIP}' FROM program WHERE code = 'cmp_acc';
INSERT INTO rule (program_id, name, kind, percent, priority, campaign_id)
SELECT program_id, 'VIP days: 5%', 'percent', 5, 10, campaign_id FROM campaign WHERE code = 'vip_days';
SELECT schedule_campaign('vip_days');
SELECT rule_name, points FROM explain_accrual('cmp_acc', 'V1', total => 100000, ordered_at => '2027-06-02');
SELECT rule_name, points FROM explain_accrual('cmp_acc', 'A1', total => 100000, ordered_at => '2027-06-02');
-- H4: a campaign for a tier only
INSERT INTO tier (program_id, rank, name, threshold) SELECT program_id, 1, 'Gold', 1 FROM program WHERE code = 'cmp_acc';
SELECT recalculate_tiers('cmp_acc', 'A2', '2027-05-03') AS changed;
UPDATE campaign SET target_groups = '{}', target_tiers = '{Gold}' WHERE code = 'vip_days';
SELECT rule_name, points FROM explain_accrual('cmp_acc', 'A2', total => 100000, ordered_at => '2027-06-02');
SELECT rule_name, points FROM explain_accrual('cmp_acc', 'V1', total => 100000, ordered_at => '2027-06-02');

-- Per-branch caps: each branch may give 15 points of the campaign (split counters per branch too)
INSERT INTO campaign (program_id, code, name, starts_at, ends_at, budget_points, branch_budget_points, budget_slots)
SELECT program_id, 'branchy', 'Branch week', '2027-07-01', '2027-07-08', 100, 15, 2 FROM program WHERE code = 'cmp_acc';
INSERT INTO rule (program_id, name, kind, percent, priority, campaign_id)
SELECT program_id, 'branch week: 10%', 'percent', 10, 10, campaign_id FROM campaign WHERE code = 'branchy';
SELECT schedule_campaign('branchy');
SELECT points FROM record_order('cmp_acc', 'A1', 'BR-1', total => 100000, branch => 'HN', ordered_at => '2027-07-02');
-- 5 points are left at HN: a 10-point order there earns the base rule, one of 5 fits
SELECT points FROM record_order('cmp_acc', 'A2', 'BR-2', total => 100000, branch => 'HN', ordered_at => '2027-07-02');
SELECT points FROM record_order('cmp_acc', 'A2', 'BR-3', total => 50000, branch => 'HN', ordered_at => '2027-07-02');
-- other branches have their own caps; orders without a branch share "(no branch)"
SELECT points FROM record_order('cmp_acc', 'A3', 'BR-4', total => 100000, branch => 'SG', ordered_at => '2027-07-02');
SELECT points FROM record_order('cmp_acc', 'A3', 'BR-5', total => 100000, ordered_at => '2027-07-02');
SELECT points FROM record_order('cmp_acc', 'A1', 'BR-6', total => 100000, ordered_at => '2027-07-02');
-- a retry gives back what it reserved at the branch too
SELECT points, replayed FROM record_order('cmp_acc', 'A1', 'BR-1', total => 100000, branch => 'HN', ordered_at => '2027-07-02');
SELECT branch, budget_points, taken_points, taken_money, remaining_points, takes FROM campaign_branch_budget
 WHERE code = 'branchy' ORDER BY branch;
SELECT taken_points, remaining_points FROM campaign_budget WHERE code = 'branchy';
-- a bigger per-branch cap is split again over every branch's slots, after what each took
UPDATE campaign SET branch_budget_points = 20 WHERE code = 'branchy';
SELECT branch, remaining_points FROM campaign_branch_budget WHERE code = 'branchy' ORDER BY branch;
SELECT points FROM record_order('cmp_acc', 'A2', 'BR-7', total => 50000, branch => 'HN', ordered_at => '2027-07-02');
SELECT what, new_value FROM campaign_change c JOIN campaign k USING (campaign_id) WHERE k.code = 'branchy' AND what = 'budget';
-- a per-branch money cap: points at the point value (1,000 a point)
UPDATE campaign SET branch_budget_points = NULL, branch_budget_money = 25000 WHERE code = 'branchy';
SELECT points FROM record_order('cmp_acc', 'A2', 'BR-8', total => 100000, branch => 'DN', ordered_at => '2027-07-02');
SELECT points FROM record_order('cmp_acc', 'A3', 'BR-9', total => 100000, branch => 'DN', ordered_at => '2027-07-02');
SELECT points FROM record_order('cmp_acc', 'A1', 'BR-10', total => 100000, branch => 'DN', ordered_at => '2027-07-02');
SELECT branch, taken_money, remaining_money FROM campaign_branch_budget WHERE code = 'branchy' AND branch = 'DN';
-- bad input: a negative per-branch cap
UPDATE campaign SET branch_budget_money = -1 WHERE code = 'branchy';
SELECT * FROM check_campaigns();
SELECT * FROM check_ledger();

-- Trying campaigns on history with the live decision code: card series, daily, money and branch caps
INSERT INTO program (code, name, point_value) VALUES ('cmp_sim', 'Simulation shop', 1000);
SELECT enroll('cmp_sim', 'S1') > 0 AS s1, enroll('cmp_sim', 'S2') > 0 AS s2;
SELECT issue_card(member_id('cmp_sim', 'S1'), 'GOLD', 'GOLD-0001') AS card;
-- day 1: S1 at HN 100,000 and 200,000, S2 at HN 100,000; day 2: S1 at SG 100,000, S2 without a branch 300,000
SELECT (record_order('cmp_sim', k, d, total => t, branch => b, ordered_at => ts::timestamptz)).points
  FROM (VALUES ('S1', 'SIM-1', 100000, 'HN', '2027-09-01 09:00+00'), ('S1', 'SIM-2', 200000, 'HN', '2027-09-01 10:00+00'),
               ('S2', 'SIM-3', 100000, 'HN', '2027-09-01 11:00+00'), ('S1', 'SIM-4', 100000, 'SG', '2027-09-02 09:00+00'),
               ('S2', 'SIM-5', 300000, NULL, '2027-09-02 10:00+00')) v(k, d, t, b, ts);
-- a card-series rule: only S1 holds a GOLD card (10% each: 10 + 20 + 10)
INSERT INTO campaign (program_id, code, name, starts_at, ends_at)
SELECT program_id, 'sim_gold', 'Gold card week', '2027-10-01', '2027-10-08' FROM program WHERE code = 'cmp_sim';
INSERT INTO rule (program_id, name, kind, percent, card_series, campaign_id)
SELECT program_id, 'gold 10%', 'percent', 10, 'GOLD', campaign_id FROM campaign WHERE code = 'sim_gold';
SELECT orders, earning_orders, participants, points, points_wanted, refused_orders, cost
  FROM simulate_campaign('sim_gold', '2027-09-01', '2027-09-03');
-- a daily cap of 25 points: day 1 pays 10, refuses 20, pays 10 (S2); day 2 pays 10, refuses 30
INSERT INTO campaign (program_id, code, name, starts_at, ends_at, daily_budget_points)
SELECT program_id, 'sim_daily', 'Daily capped', '2027-10-01', '2027-10-08', 25 FROM program WHERE code = 'cmp_sim';
INSERT INTO rule (program_id, name, kind, percent, campaign_id)
SELECT program_id, 'daily 10%', 'percent', 10, campaign_id FROM campaign WHERE code = 'sim_daily';
SELECT orders, earning_orders, participants, points, points_wanted, refused_orders, cost, budget_use_percent
  FROM simulate_campaign('sim_daily', '2027-09-01', '2027-09-03');
-- a money cap of 45,000 (points at 1,000): 10, 20, 10 fit (40,000); 10 more does not; 30 neither
UPDATE campaign SET daily_budget_points = NULL, budget_money = 45000 WHERE code = 'sim_daily';
SELECT orders, earning_orders, points, points_wanted, refused_orders, cost, budget_use_percent
  FROM simulate_campaign('sim_daily', '2027-09-01', '2027-09-03');
-- a per-branch cap of 25 points: HN pays 10, refuses 20, pays 10; SG pays 10; "(no branch)" cannot pay 30
UPDATE campaign SET budget_money = NULL, branch_budget_points = 25 WHERE code = 'sim_daily';
SELECT orders, earning_orders, points, points_wanted, refused_orders
  FROM simulate_campaign('sim_daily', '2027-09-01', '2027-09-03');
-- the simulation wrote nothing
SELECT count(*) AS slots_of_simulated FROM campaign_budget_slot s JOIN campaign c USING (campaign_id)
 WHERE c.code IN ('sim_gold', 'sim_daily') AND (s.takes <> 0 OR s.branch <> '');

-- a session keeps what it last read of a campaign, and reads it again after
-- any change: a new daily cap, a pause and a restart apply to its next order
INSERT INTO campaign (program_id, code, name, starts_at, ends_at, budget_points, budget_slots)
SELECT program_id, 'kept', 'Kept state', '2027-10-01', '2027-10-08', 1000, 2 FROM program WHERE code = 'cmp_acc';
INSERT INTO rule (program_id, name, kind, percent, priority, campaign_id)
SELECT program_id, 'kept: 10%', 'percent', 10, 10, campaign_id FROM campaign WHERE code = 'kept';
SELECT schedule_campaign('kept');
SELECT start_campaign('kept');
SELECT points FROM record_order('cmp_acc', 'A1', 'K-1', total => 100000, ordered_at => '2027-10-02 09:00+07');
UPDATE campaign SET daily_budget_points = 15 WHERE code = 'kept';
SELECT points FROM record_order('cmp_acc', 'A1', 'K-2', total => 100000, ordered_at => '2027-10-02 10:00+07');
SELECT points FROM record_order('cmp_acc', 'A1', 'K-3', total => 100000, ordered_at => '2027-10-02 11:00+07');
SELECT pause_campaign('kept');
SELECT points FROM record_order('cmp_acc', 'A1', 'K-4', total => 100000, ordered_at => '2027-10-03 10:00+07');
SELECT start_campaign('kept');
SELECT points FROM record_order('cmp_acc', 'A1', 'K-5', total => 100000, ordered_at => '2027-10-03 11:00+07');
SELECT l.document, l.amount, c.code AS campaign FROM ledger l LEFT JOIN campaign c ON c.campaign_id = l.campaign_id
 WHERE l.document LIKE 'K-%' ORDER BY l.document;
SELECT * FROM check_ledger();
