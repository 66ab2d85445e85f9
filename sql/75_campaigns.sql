-- Campaigns: lifecycle, schedule changes, rules following the campaign, budgets in split counters.
\set VERBOSITY terse
SET search_path = public, loyalty;
SET timezone = 'UTC';

INSERT INTO program (code, name, point_value) VALUES ('cmp', 'Campaign shop', 1000);
SELECT enroll('cmp', 'K' || i, groups => CASE WHEN i <= 2 THEN '{VIP}'::text[] ELSE '{}' END) > 0 AS enrolled
  FROM generate_series(1, 4) i;

-- H1/H6: a campaign with its dates, gift window, targets and how it runs
INSERT INTO campaign (program_id, code, name, starts_at, ends_at, gift_window_from, gift_window_to,
                      target_groups, form, places, person_in_charge, audience, how_to_join,
                      budget_points, budget_slots)
SELECT program_id, 'tet2027', 'Tet double points', '2027-01-20', '2027-02-10', '2027-01-25', '2027-02-05',
       '{VIP}', 'bonus points', '{HN-01,HCM-02}', 'Le Thi Hoa', 'VIP members', 'buy at any listed branch',
       100, 4
  FROM program WHERE code = 'cmp';
SELECT code, status, budget_points, budget_slots FROM campaign WHERE code = 'tet2027';
SELECT slot, remaining_points, remaining_money FROM campaign_budget_slot s JOIN campaign c USING (campaign_id)
 WHERE c.code = 'tet2027' ORDER BY slot;

-- a campaign rule takes the campaign's dates and is inactive while the campaign is a draft
INSERT INTO rule (program_id, name, kind, percent, campaign_id)
SELECT program_id, 'tet: 20%', 'percent', 20, campaign_id FROM campaign WHERE code = 'tet2027';
SELECT r.name, r.valid_from, r.valid_to, r.active FROM rule r JOIN campaign c USING (campaign_id) WHERE c.code = 'tet2027';

-- lifecycle: only valid transitions
SELECT start_campaign('tet2027');
SELECT schedule_campaign('tet2027');
SELECT r.active FROM rule r JOIN campaign c USING (campaign_id) WHERE c.code = 'tet2027';
SELECT campaign_active(campaign_id, '2027-01-19') AS before_start,
       campaign_active(campaign_id, '2027-01-20') AS at_start,
       campaign_active(campaign_id, '2027-02-10') AS at_end
  FROM campaign WHERE code = 'tet2027';
SELECT start_campaign('tet2027');
SELECT pause_campaign('tet2027');
SELECT r.active FROM rule r JOIN campaign c USING (campaign_id) WHERE c.code = 'tet2027';
SELECT campaign_active(campaign_id, '2027-01-25') AS paused_gives FROM campaign WHERE code = 'tet2027';
SELECT start_campaign('tet2027');
-- the status is not changed by hand
UPDATE campaign SET status = 'ended' WHERE code = 'tet2027';

-- H1: extend and shorten; history of who, when, old, new; rules follow
SELECT reschedule_campaign('tet2027', NULL, '2027-02-15');
SELECT reschedule_campaign('tet2027', '2027-01-22', '2027-02-12');
SELECT r.valid_from, r.valid_to FROM rule r JOIN campaign c USING (campaign_id) WHERE c.code = 'tet2027';
SELECT h.what, h.old_value, h.new_value, h.changed_by = current_user AS by_me
  FROM campaign_change h JOIN campaign c USING (campaign_id) WHERE c.code = 'tet2027' ORDER BY h.change_id;

-- bad input: end before start, negative budget, unknown campaign
SELECT reschedule_campaign('tet2027', '2027-03-01', '2027-02-01');
INSERT INTO campaign (program_id, code, name, starts_at, ends_at, budget_points)
SELECT program_id, 'bad1', 'Negative', '2027-01-01', '2027-02-01', -5 FROM program WHERE code = 'cmp';
INSERT INTO campaign (program_id, code, name, starts_at, ends_at)
SELECT program_id, 'bad2', 'Backwards', '2027-02-01', '2027-01-01' FROM program WHERE code = 'cmp';
INSERT INTO campaign (program_id, code, name, starts_at, ends_at, status)
SELECT program_id, 'bad3', 'Born running', '2027-01-01', '2027-02-01', 'running' FROM program WHERE code = 'cmp';
SELECT pause_campaign('no-such-campaign');

-- H5: a budget of 100 points in 4 slots of 25; takes never overspend
SELECT campaign_take(campaign_id, 20, m, '2027-01-25') AS took
  FROM campaign, generate_series(1, 4) m WHERE code = 'tet2027';
SELECT code, budget_points, taken_points, remaining_points, takes FROM campaign_budget WHERE code = 'tet2027';
-- 20 left, spread over slots of 5: a take of 15 pays across slots, then 10 cannot be paid
SELECT campaign_take(campaign_id, 15, 1, '2027-01-25') AS took FROM campaign WHERE code = 'tet2027';
SELECT campaign_take(campaign_id, 10, 2, '2027-01-25') AS took FROM campaign WHERE code = 'tet2027';
SELECT campaign_take(campaign_id, 5, 3, '2027-01-25') AS took FROM campaign WHERE code = 'tet2027';
SELECT campaign_take(campaign_id, 0.01::points, 3, '2027-01-25') AS took FROM campaign WHERE code = 'tet2027';
SELECT taken_points, remaining_points, taken_money FROM campaign_budget WHERE code = 'tet2027';
-- outside the dates nothing is taken
SELECT campaign_take(campaign_id, 0, 3, '2027-03-01') AS took FROM campaign WHERE code = 'tet2027';
-- raising the budget re-splits what is left over the slots
UPDATE campaign SET budget_points = 160 WHERE code = 'tet2027';
SELECT slot, remaining_points, taken_points FROM campaign_budget_slot s JOIN campaign c USING (campaign_id)
 WHERE c.code = 'tet2027' AND day = '-infinity' ORDER BY slot;
SELECT campaign_take(campaign_id, 60, 1, '2027-01-25') AS took FROM campaign WHERE code = 'tet2027';
SELECT taken_points, remaining_points FROM campaign_budget WHERE code = 'tet2027';

-- a money budget and a daily cap (days in the program's time zone)
INSERT INTO campaign (program_id, code, name, starts_at, ends_at, budget_money, daily_budget_points, budget_slots)
SELECT program_id, 'daily', 'Daily capped', '2027-01-01', '2027-12-31', 50000, 30, 3 FROM program WHERE code = 'cmp';
SELECT schedule_campaign('daily');
SELECT campaign_take(campaign_id, 20, 7, '2027-05-01 10:00') AS d1_a,
       campaign_take(campaign_id, 20, 8, '2027-05-01 11:00') AS d1_b,
       campaign_take(campaign_id, 20, 9, '2027-05-02 10:00') AS d2_a
  FROM campaign WHERE code = 'daily';
-- 40 points cost 40,000 of the 50,000: 15 points (15,000) no longer fit the money cap
SELECT campaign_take(campaign_id, 15, 9, '2027-05-03 10:00') AS d3_a FROM campaign WHERE code = 'daily';
SELECT taken_points, taken_money, remaining_money FROM campaign_budget WHERE code = 'daily';
SELECT day, sum(taken_points::numeric) FROM campaign_budget_slot s JOIN campaign c USING (campaign_id)
 WHERE c.code = 'daily' GROUP BY day ORDER BY day;

-- a reservation given back (a replayed order) returns to the budget
BEGIN;
SELECT campaign_take(campaign_id, 5, 4, '2027-05-04 10:00') AS took FROM campaign WHERE code = 'daily';
SELECT campaign_give_back(campaign_id, 5, 4, '2027-05-04 10:00') FROM campaign WHERE code = 'daily';
SELECT taken_points, taken_money, remaining_money FROM campaign_budget WHERE code = 'daily';
COMMIT;
SELECT count(*) AS violations FROM check_campaigns();

-- end: rules inactive, nothing more is taken, ended is final
SELECT end_campaign('tet2027');
SELECT r.active FROM rule r JOIN campaign c USING (campaign_id) WHERE c.code = 'tet2027';
SELECT campaign_take(campaign_id, 1, 1) AS took FROM campaign WHERE code = 'tet2027';
SELECT start_campaign('tet2027');
SELECT reschedule_campaign('tet2027', NULL, '2027-06-01');

-- the job starts and ends campaigns by the clock
INSERT INTO campaign (program_id, code, name, starts_at, ends_at)
SELECT program_id, 'tick', 'By the clock', '2027-01-01', '2027-01-31' FROM program WHERE code = 'cmp';
SELECT schedule_campaign('tick');
SELECT campaign_tick('2027-01-02');
SELECT status FROM campaign WHERE code = 'tick';
SELECT campaign_tick('2027-02-01');
SELECT status FROM campaign WHERE code = 'tick';
SELECT h.what, h.old_value, h.new_value FROM campaign_change h JOIN campaign c USING (campaign_id)
 WHERE c.code = 'tick' ORDER BY h.change_id;
