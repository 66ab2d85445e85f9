-- Lucky draws, prize stock and pacing, points races, campaign cost, simulation, invariants.
\set VERBOSITY terse
SET search_path = public, loyalty;
SET timezone = 'UTC';

INSERT INTO program (code, name, point_value) VALUES ('drw', 'Draw shop', 1000);
SELECT count(enroll('drw', 'D' || i, groups => CASE WHEN i <= 8 THEN '{VIP}'::text[] ELSE '{}' END)) AS enrolled
  FROM generate_series(1, 10) i;
INSERT INTO campaign (program_id, code, name, starts_at, ends_at, target_groups, budget_money, form)
SELECT program_id, 'lucky', 'Lucky spin', now() - interval '1 day', now() + interval '10 days', '{VIP}', 3000000, 'lucky draw'
  FROM program WHERE code = 'drw';
SELECT schedule_campaign('lucky'), start_campaign('lucky');

-- H2/H3: a sure prize with 3 in stock, a prize that never falls, a paced pool
INSERT INTO prize_pool (campaign_id, level, name, kind, initial_stock, value, pacing, odds, code_series)
SELECT campaign_id, 1, 'Scooter', 'gift', 0, 20000000, 'fixed', 0, 'SC' FROM campaign WHERE code = 'lucky';
INSERT INTO prize_pool (campaign_id, level, name, kind, initial_stock, value, pacing, odds, code_series, daily_cap)
SELECT campaign_id, 2, 'Coffee voucher', 'voucher', 3, 50000, 'fixed', 1, 'CF', 2 FROM campaign WHERE code = 'lucky';
SELECT name, initial_stock, stock FROM prize_pool WHERE campaign_id = (SELECT campaign_id FROM campaign WHERE code = 'lucky') ORDER BY level;

-- a win takes stock and the daily cap; each draw keeps its random value and thresholds
SELECT d.won, d.level, d.prize, code_series(d.prize_code) AS series, d.value, d.replayed
  FROM generate_series(1, 4) i, draw('lucky', 'D' || i, 'BILL-' || i) d;
SELECT name, stock, awarded FROM prize_pool WHERE campaign_id = (SELECT campaign_id FROM campaign WHERE code = 'lucky') ORDER BY level;
SELECT document, won, note, random_value >= 0 AND random_value < 4611686018427387904 AS random_in_range,
       thresholds = ARRAY[0, 4611686018427387904]::bigint[] AS thresholds_kept
  FROM draw_log WHERE campaign_id = (SELECT campaign_id FROM campaign WHERE code = 'lucky') ORDER BY document;
-- idempotent per document: the same result, no second prize
SELECT won, prize, replayed FROM draw('lucky', 'D1', 'BILL-1');
SELECT stock FROM prize_pool WHERE name = 'Coffee voucher';
-- the same document for another customer is a conflict
SELECT won FROM draw('lucky', 'D5', 'BILL-1');
-- outside the target groups, unknown customers, unknown campaigns
SELECT won FROM draw('lucky', 'D9', 'BILL-9');
SELECT won FROM draw('lucky', 'nobody', 'BILL-X');
SELECT won FROM draw('nope', 'D1', 'BILL-X');
-- the daily cap is reset by day: the last coffee goes the next day; then stock is out
SELECT won, prize FROM draw('lucky', 'D5', 'BILL-5', at => now() + interval '1 day');
SELECT won, prize FROM draw('lucky', 'D6', 'BILL-6', at => now() + interval '1 day');
SELECT note, count(*) FROM draw_log WHERE campaign_id = (SELECT campaign_id FROM campaign WHERE code = 'lucky') GROUP BY note ORDER BY note;
SELECT name, stock, awarded FROM prize_pool WHERE campaign_id = (SELECT campaign_id FROM campaign WHERE code = 'lucky') ORDER BY level;
-- outside the gift window nothing is drawn
UPDATE campaign SET gift_window_to = now() + interval '2 days' WHERE code = 'lucky';
SELECT won FROM draw('lucky', 'D7', 'BILL-7', at => now() + interval '3 days');
-- bad odds
INSERT INTO prize_pool (campaign_id, name, initial_stock, odds)
SELECT campaign_id, 'bad odds', 1, 1.5 FROM campaign WHERE code = 'lucky';
INSERT INTO prize_pool (campaign_id, name, initial_stock, odds)
SELECT campaign_id, 'negative odds', 1, -0.1 FROM campaign WHERE code = 'lucky';
INSERT INTO prize_pool (campaign_id, name, initial_stock, pacing)
SELECT campaign_id, 'paced without a plan', 1, 'paced' FROM campaign WHERE code = 'lucky';

-- paced odds: 2 prizes planned for this phase over 2 expected entries: both entries win
INSERT INTO campaign (program_id, code, name, starts_at, ends_at)
SELECT program_id, 'paced', 'Paced', now() - interval '1 day', now() + interval '10 days' FROM program WHERE code = 'drw';
SELECT schedule_campaign('paced');
INSERT INTO prize_pool (campaign_id, name, initial_stock, value, pacing, expected_entries)
SELECT campaign_id, 'T-shirt', 10, 100000, 'paced', 100 FROM campaign WHERE code = 'paced';
INSERT INTO prize_phase (pool_id, phase_from, phase_to, planned_quantity, expected_entries)
SELECT pool_id, now() - interval '1 day', now() + interval '1 day', 2, 2 FROM prize_pool WHERE name = 'T-shirt';
SELECT i, d.won FROM generate_series(1, 3) i, draw('paced', 'D' || i, 'P-' || i) d;
SELECT name, stock, awarded FROM prize_pool WHERE name = 'T-shirt';

-- H7: a points race over the ledger; the top 2 get bonus points once
INSERT INTO rule (program_id, name, kind, percent) SELECT program_id, '10%', 'percent', 10 FROM program WHERE code = 'drw';
INSERT INTO points_race (campaign_id, name, starts_at, ends_at, top_n, tie_rule, prizes)
SELECT campaign_id, 'Week race', now() - interval '1 hour', now() + interval '1 day', 2, 'earliest', '{100,50}'
  FROM campaign WHERE code = 'lucky';
SELECT (record_order('drw', 'D1', 'R-1', total => 300000)).points;
SELECT (record_order('drw', 'D2', 'R-2', total => 500000)).points;
SELECT (record_order('drw', 'D3', 'R-3', total => 300000)).points;
SELECT rank, customer_key, points FROM race_leaderboard((SELECT race_id FROM points_race WHERE name = 'Week race'));
SELECT award_race(race_id) FROM points_race WHERE name = 'Week race';
UPDATE points_race SET ends_at = now() WHERE name = 'Week race';
SELECT award_race(race_id) FROM points_race WHERE name = 'Week race';
SELECT award_race(race_id) FROM points_race WHERE name = 'Week race';
SELECT m.customer_key, l.amount, l.note FROM ledger l JOIN member m USING (member_id)
 WHERE l.kind = 'bonus' ORDER BY m.customer_key;
SELECT m.customer_key, b.points FROM balance b JOIN member m USING (member_id)
 WHERE m.customer_key IN ('D1', 'D2', 'D3') AND m.program_id = b.program_id ORDER BY 1;
-- shared ties: equal points share a rank
INSERT INTO points_race (campaign_id, name, starts_at, ends_at, top_n, tie_rule, prizes)
SELECT campaign_id, 'Shared', now() - interval '1 hour', now() + interval '1 day', 1, 'shared', '{10}'
  FROM campaign WHERE code = 'lucky';
SELECT rank, customer_key, points FROM race_leaderboard((SELECT race_id FROM points_race WHERE name = 'Shared'));

-- H5: cost per campaign
SELECT code, points_given, bonus_points, points_cost, discounts, prizes, total_cost, budget_used_percent
  FROM campaign_cost WHERE code IN ('lucky', 'paced') ORDER BY code;

-- trying a draft campaign on history: 20% on Shirts, 5 points per visit from 400,000, budget 100 points
INSERT INTO campaign (program_id, code, name, starts_at, ends_at, budget_points)
SELECT program_id, 'trial', 'Trial', now() + interval '30 days', now() + interval '60 days', 100 FROM program WHERE code = 'drw';
INSERT INTO rule (program_id, name, kind, percent, item_group, campaign_id)
SELECT program_id, 'trial shirts 20%', 'percent', 20, 'Shirts', campaign_id FROM campaign WHERE code = 'trial';
INSERT INTO rule (program_id, name, kind, points, min_bill, campaign_id)
SELECT program_id, 'trial visit 5', 'per_order', 5, 400000, campaign_id FROM campaign WHERE code = 'trial';
SELECT (record_order('drw', 'D4', 'S-1', '[{"sku": "SH", "group": "Shirts", "qty": 2, "price": 150000}]')).points;
SELECT (record_order('drw', 'D5', 'S-2', '[{"sku": "SH", "group": "Shirts", "qty": 1, "price": 100000},
                                           {"sku": "HT", "group": "Hats", "qty": 1, "price": 50000}]')).points;
SELECT (record_order('drw', 'D4', 'S-3', '[{"sku": "SH", "group": "Shirts", "qty": 1, "price": 420000}]')).points;
SELECT * FROM simulate_campaign('trial', now() - interval '1 day', now() + interval '1 day');
SELECT count(*) AS ledger_rows_unchanged FROM ledger WHERE program_id = (SELECT program_id FROM program WHERE code = 'drw');
SELECT * FROM simulate_campaign('trial', now() + interval '1 day', now());

SELECT * FROM check_campaigns();
SELECT * FROM check_ledger();

-- A points prize credits the winner through the ledger and is reserved from the campaign's budget
INSERT INTO program (code, name, point_value) VALUES ('drw_pts', 'Points prizes', 1000);
SELECT count(enroll('drw_pts', 'P' || i)) AS enrolled FROM generate_series(1, 4) i;
INSERT INTO campaign (program_id, code, name, starts_at, ends_at, budget_points, budget_slots)
SELECT program_id, 'ptsdraw', 'Points draw', now() - interval '1 day', now() + interval '10 days', 250, 2
  FROM program WHERE code = 'drw_pts';
SELECT schedule_campaign('ptsdraw'), start_campaign('ptsdraw');
INSERT INTO prize_pool (campaign_id, name, kind, initial_stock, odds, prize_points, code_series)
SELECT campaign_id, 'Bonus 100', 'points', 10, 1, 100, 'PB' FROM campaign WHERE code = 'ptsdraw';
INSERT INTO prize_pool (campaign_id, name, kind, initial_stock, odds)
SELECT campaign_id, 'no points', 'points', 1, 1 FROM campaign WHERE code = 'ptsdraw';
INSERT INTO prize_pool (campaign_id, name, kind, initial_stock, odds, prize_points)
SELECT campaign_id, 'gift with points', 'gift', 1, 1, 5 FROM campaign WHERE code = 'ptsdraw';
SELECT name, kind, prize_points, value FROM prize_pool WHERE name = 'Bonus 100';
SELECT won, prize, value FROM draw('ptsdraw', 'P1', 'PD-1');
SELECT won, prize, value FROM draw('ptsdraw', 'P2', 'PD-2');
-- 50 points are left of 250: the third win cannot be paid and its stock goes back
SELECT won, prize, value FROM draw('ptsdraw', 'P3', 'PD-3');
SELECT document, won, note FROM draw_log WHERE campaign_id = (SELECT campaign_id FROM campaign WHERE code = 'ptsdraw') ORDER BY document;
-- a retried draw credits nothing twice
SELECT won, replayed FROM draw('ptsdraw', 'P1', 'PD-1');
SELECT m.customer_key, l.source, l.document, l.amount FROM ledger l JOIN member m USING (member_id)
 WHERE l.program_id = (SELECT program_id FROM program WHERE code = 'drw_pts') ORDER BY 1;
SELECT m.customer_key, b.points FROM balance b JOIN member m USING (member_id)
 WHERE b.program_id = (SELECT program_id FROM program WHERE code = 'drw_pts') ORDER BY 1;
SELECT name, stock, awarded FROM prize_pool WHERE name = 'Bonus 100';
SELECT taken_points, taken_money, remaining_points FROM campaign_budget WHERE code = 'ptsdraw';
SELECT points_given, prizes, total_cost FROM campaign_cost WHERE code = 'ptsdraw';

-- Race bonuses are reserved from the campaign's budget, in rank order while it lasts
INSERT INTO rule (program_id, name, kind, percent) SELECT program_id, '10%', 'percent', 10 FROM program WHERE code = 'drw_pts';
INSERT INTO campaign (program_id, code, name, starts_at, ends_at, budget_points)
SELECT program_id, 'ptsrace', 'Points race', now() - interval '1 day', now() + interval '10 days', 120
  FROM program WHERE code = 'drw_pts';
SELECT schedule_campaign('ptsrace');
INSERT INTO points_race (campaign_id, name, starts_at, ends_at, top_n, tie_rule, prizes)
SELECT campaign_id, 'Budget race', now() - interval '1 hour', now() + interval '1 day', 3, 'earliest', '{100,50,10}'
  FROM campaign WHERE code = 'ptsrace';
SELECT (record_order('drw_pts', 'P' || i, 'BR-' || i, total => t)).points
  FROM (VALUES (1, 300000), (2, 500000), (3, 100000), (4, 200000)) v(i, t);
SELECT rank, customer_key, points FROM race_leaderboard((SELECT race_id FROM points_race WHERE name = 'Budget race'));
UPDATE points_race SET ends_at = now() WHERE name = 'Budget race';
-- 120 points: rank 1 gets 100; rank 2 (50) cannot be paid, so the award stops (rank 3's 10 is not paid either)
SELECT award_race(race_id) AS paid FROM points_race WHERE name = 'Budget race';
SELECT taken_points, remaining_points FROM campaign_budget WHERE code = 'ptsrace';
-- a bigger budget: running it again pays the rest, once
UPDATE campaign SET budget_points = 200 WHERE code = 'ptsrace';
SELECT award_race(race_id) AS paid FROM points_race WHERE name = 'Budget race';
SELECT award_race(race_id) AS paid FROM points_race WHERE name = 'Budget race';
SELECT m.customer_key, l.amount, l.note FROM ledger l JOIN member m USING (member_id)
 WHERE l.kind = 'bonus' AND l.source = 'race' AND l.program_id = (SELECT program_id FROM program WHERE code = 'drw_pts') ORDER BY 1;
SELECT taken_points, remaining_points, takes FROM campaign_budget WHERE code = 'ptsrace';
SELECT points_given, bonus_points, points_cost, total_cost FROM campaign_cost WHERE code = 'ptsrace';
SELECT * FROM check_campaigns();
SELECT * FROM check_ledger();
