-- Tiers: upgrade in the order's transaction, downgrade by the tier job,
-- progress to the next tier, discount and multiplier, history, invariants.
\set VERBOSITY terse
SET search_path = public, loyalty;

INSERT INTO program (code, name, point_value, time_zone) VALUES ('tier_shop', 'Tier shop', 1000, 'Asia/Ho_Chi_Minh');
INSERT INTO rule (program_id, name, kind, percent)
  SELECT program_id, '10%', 'percent', 10 FROM program WHERE code = 'tier_shop';
-- C1: Member 5%, VIP 10%, Gold 15% by spend in the last 12 months
INSERT INTO tier (program_id, rank, name, measure, threshold, window_months, discount_percent, points_multiplier)
SELECT program_id, r, n, 'spend', t, 12, d, m FROM program,
  (VALUES (1, 'Member', 0, 5, 1), (2, 'VIP', 5000000, 10, 1.5), (3, 'Gold', 20000000, 15, 2)) AS v(r, n, t, d, m)
 WHERE code = 'tier_shop';
INSERT INTO notification_template (program_id, code, channel, body)
  SELECT program_id, 'tier_upgraded', 'sms', 'Chuc mung {{name}}: ban da len hang {{tier}}' FROM program WHERE code = 'tier_shop';
INSERT INTO notification_template (program_id, code, channel, body)
  SELECT program_id, 'tier_almost', 'sms', '{{name}}: con {{points_to_next_tier}} nua la len hang {{next_tier}}' FROM program WHERE code = 'tier_shop';

SELECT enroll('tier_shop', 'T1', 'Nguyen Van An', phone => '+84901000001') > 0 AS enrolled;
-- enrolling alone gives no tier yet
SELECT member_tier('tier_shop', 'T1') AS tier, member_tier_discount('tier_shop', 'T1') AS discount;
-- the first order reaches Member (threshold 0)
SELECT points FROM record_order('tier_shop', 'T1', 'TS-1', total => 1000000, branch => 'HN-01',
                                ordered_at => '2026-01-10 10:00+07');
SELECT member_tier('tier_shop', 'T1') AS tier, member_tier_discount('tier_shop', 'T1') AS discount,
       member_tier_multiplier('tier_shop', 'T1') AS multiplier;
-- C2: the order that crosses 5,000,000 upgrades to VIP in its own transaction, at its branch
BEGIN;
SELECT points FROM record_order('tier_shop', 'T1', 'TS-2', total => 4500000, branch => 'HCM-02',
                                ordered_at => '2026-02-10 10:00+07');
SELECT member_tier('tier_shop', 'T1') AS tier_inside_transaction;
ROLLBACK;
SELECT member_tier('tier_shop', 'T1') AS tier_after_rollback;
SELECT points FROM record_order('tier_shop', 'T1', 'TS-2', total => 4500000, branch => 'HCM-02',
                                ordered_at => '2026-02-10 10:00+07');
SELECT member_tier('tier_shop', 'T1') AS tier, member_tier_discount('tier_shop', 'T1') AS discount,
       member_tier_multiplier('tier_shop', 'T1') AS multiplier;
-- a retried order changes nothing
SELECT replayed FROM record_order('tier_shop', 'T1', 'TS-2', total => 4500000, branch => 'HCM-02',
                                  ordered_at => '2026-02-10 10:00+07');
SELECT f.name AS from_tier, t.name AS to_tier, h.branch, h.reason, h.document
  FROM tier_history h LEFT JOIN tier f ON f.tier_id = h.from_tier LEFT JOIN tier t ON t.tier_id = h.to_tier
 WHERE h.member_id = member_id('tier_shop', 'T1') ORDER BY h.at, h.history_id;
-- the upgrade notice was queued with the order
SELECT kind, channel, recipient, body, status FROM notification
 WHERE member_id = member_id('tier_shop', 'T1') ORDER BY created_at, kind;
-- C5: progress to Gold judged at a moment
SELECT * FROM tier_progress(member_id('tier_shop', 'T1'), (SELECT program_id FROM program WHERE code = 'tier_shop'),
                            '2026-02-11');
-- 18,100,000 more: within 10% of Gold, the "almost" notice goes once
SELECT points FROM record_order('tier_shop', 'T1', 'TS-3', total => 13000000, branch => 'HN-01',
                                ordered_at => '2026-02-20 10:00+07');
SELECT points FROM record_order('tier_shop', 'T1', 'TS-4', total => 100000, branch => 'HN-01',
                                ordered_at => '2026-02-21 10:00+07');
SELECT kind, body FROM notification WHERE member_id = member_id('tier_shop', 'T1') ORDER BY created_at, kind;
SELECT member_tier('tier_shop', 'T1') AS tier;
-- the balance never counts: spending points does not lower the tier
SELECT adjust('tier_shop', 'T1', -100, 'ADJ-T1', 'test debit');
SELECT recalculate_tiers('tier_shop', 'T1', '2026-02-22') AS changed, member_tier('tier_shop', 'T1') AS tier;
-- a return lowers the spend; the order trigger never downgrades, the tier job does
SELECT return_order('tier_shop', 'TS-3', 'TS-3-R', amount => 13000000);
SELECT cancel_order('tier_shop', 'TS-2');
SELECT member_tier('tier_shop', 'T1') AS tier_after_returns;
SELECT recalculate_tiers('tier_shop', 'T1', '2026-03-01') AS changed;
SELECT member_tier('tier_shop', 'T1') AS tier;
SELECT recalculate_tiers('tier_shop', 'T1', '2026-03-01') AS changed_again;
-- C3: VIP again, then a year later the window holds none of it: down to Member
SELECT points FROM record_order('tier_shop', 'T1', 'TS-5', total => 6000000, branch => 'DN-03',
                                ordered_at => '2026-03-05 10:00+07');
SELECT member_tier('tier_shop', 'T1') AS tier;
SELECT recalculate_tiers('tier_shop', as_of => '2027-03-06') AS changed;
SELECT member_tier('tier_shop', 'T1') AS tier;
SELECT f.name AS from_tier, t.name AS to_tier, h.branch, h.reason
  FROM tier_history h LEFT JOIN tier f ON f.tier_id = h.from_tier LEFT JOIN tier t ON t.tier_id = h.to_tier
 WHERE h.member_id = member_id('tier_shop', 'T1') ORDER BY h.at, h.history_id;
-- history is append-only
UPDATE tier_history SET reason = 'x';

-- Calendar windows in the program's time zone: 23:30 UTC on 31 December is already
-- 1 January in Ho Chi Minh City, so the order counts for the new year only
INSERT INTO program (code, name, point_value, time_zone) VALUES ('tier_cal', 'Calendar tiers', 1000, 'Asia/Ho_Chi_Minh');
INSERT INTO tier (program_id, rank, name, measure, threshold, window_months, window_kind)
SELECT program_id, r, n, 'spend', t, 12, 'calendar' FROM program,
  (VALUES (1, 'Silver', 1000000), (2, 'Gold', 3000000)) AS v(r, n, t) WHERE code = 'tier_cal';
SELECT enroll('tier_cal', 'K1') > 0 AS enrolled;
SELECT points FROM record_order('tier_cal', 'K1', 'KC-1', total => 2000000, ordered_at => '2026-12-31 10:00+00');
-- in UTC the two orders would make 3,500,000 in 2026 and Gold; locally the second is 2027's
SELECT points FROM record_order('tier_cal', 'K1', 'KC-2', total => 1500000, ordered_at => '2026-12-31 23:30+00');
SELECT member_tier('tier_cal', 'K1') AS tier_judged_in_new_year;
SELECT points FROM record_order('tier_cal', 'K1', 'KC-3', total => 1500000, ordered_at => '2027-01-01 10:00+07');
SELECT member_tier('tier_cal', 'K1') AS tier_with_two_orders_of_2027;
-- judged at 23:00 local on 31 December, only KC-1 is in the window: Silver
SELECT recalculate_tiers('tier_cal', 'K1', '2026-12-31 16:00+00') AS changed;
SELECT member_tier('tier_cal', 'K1') AS tier_on_31_december;

-- Points earned as the measure, over the whole history; progress for a customer key
INSERT INTO program (code, name, point_value) VALUES ('tier_pts', 'Points tiers', 1000);
INSERT INTO rule (program_id, name, kind, percent)
  SELECT program_id, '10%', 'percent', 10 FROM program WHERE code = 'tier_pts';
INSERT INTO tier (program_id, rank, name, measure, threshold, points_multiplier)
SELECT program_id, r, n, 'points_earned', t, m FROM program,
  (VALUES (1, 'Bronze', 100, 1), (2, 'Silver', 500, 1.25)) AS v(r, n, t, m) WHERE code = 'tier_pts';
SELECT enroll('tier_pts', 'P1') > 0 AS enrolled;
SELECT * FROM next_tier_progress('tier_pts', 'P1');
SELECT points FROM record_order('tier_pts', 'P1', 'PT-1', total => 1500000);
SELECT * FROM next_tier_progress('tier_pts', 'P1');
SELECT points FROM record_order('tier_pts', 'P1', 'PT-2', total => 4000000);
SELECT * FROM next_tier_progress('tier_pts', 'P1');
SELECT member_tier_multiplier('tier_pts', 'P1');
SELECT * FROM next_tier_progress('tier_pts', 'nobody');
SELECT recalculate_tiers('no_such_program');

SELECT * FROM check_tiers();
SELECT * FROM check_ledger();
