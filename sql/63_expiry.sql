-- Expiry: lots past their lifetime, inactive members, the expiring-soon list.
\set VERBOSITY terse
SET search_path = public, loyalty;

-- points live 30 days
INSERT INTO program (code, name, point_value, points_lifetime) VALUES ('ex_life', 'Expiring points', 1000, '30 days');
INSERT INTO rule (program_id, name, kind, percent)
  SELECT program_id, '10% back', 'percent', 10 FROM program WHERE code = 'ex_life';
SELECT enroll('ex_life', c) > 0 AS enrolled FROM unnest(ARRAY['E1', 'E2', 'E3']) AS c;
SELECT points FROM record_order('ex_life', 'E1', 'E1-old', total => 100000, ordered_at => now() - interval '40 days');
SELECT points FROM record_order('ex_life', 'E1', 'E1-mid', total => 200000, ordered_at => now() - interval '25 days');
SELECT points FROM record_order('ex_life', 'E1', 'E1-new', total => 300000, ordered_at => now() - interval '1 day');
SELECT points FROM record_order('ex_life', 'E2', 'E2-old', total => 500000, ordered_at => now() - interval '35 days');
SELECT points FROM record_order('ex_life', 'E3', 'E3-new', total => 500000, ordered_at => now() - interval '2 days');

-- the expiring-soon list: the next 7 days, and the next 30
SELECT customer_key, points, round(extract(epoch FROM expires_at - now()) / 86400) AS in_days
  FROM points_expiring(7) WHERE program = 'ex_life' ORDER BY 1, 2;
SELECT customer_key, sum(points) FROM points_expiring(30) WHERE program = 'ex_life' GROUP BY 1 ORDER BY 1;

-- points past their expiry cannot be spent even before the job burns them;
-- spending takes the soonest-expiring live lot first
SELECT available_points('ex_life', 'E1'), balance('ex_life', 'E1');
SELECT * FROM redeem('ex_life', 'E2', 'EX-BILL-0', 1, total => 100000);
SELECT points_used FROM redeem('ex_life', 'E1', 'EX-BILL-1', 5, total => 100000);
SELECT o.document, rl.points FROM redemption_lot rl JOIN member_order o
    ON o.member_id = rl.member_id AND o.entry_id = rl.lot_id
  JOIN redemption r ON r.member_id = rl.member_id AND r.redemption_id = rl.redemption_id
 WHERE r.document = 'EX-BILL-1';

-- one member per call, then the rest; a second run writes nothing
SELECT members, lots, points FROM expire_points(1, program => 'ex_life');
SELECT members, lots, points FROM expire_points(10, program => 'ex_life');
SELECT members, lots, points FROM expire_points(10, program => 'ex_life');
SELECT customer_key, balance('ex_life', customer_key) FROM unnest(ARRAY['E1', 'E2', 'E3']) AS customer_key;
SELECT m.customer_key, l.kind, l.amount, l.source, l.note FROM ledger l JOIN member m USING (member_id)
 WHERE l.program_id = (SELECT program_id FROM program WHERE code = 'ex_life') AND l.kind = 'expire'
 ORDER BY 1;
-- expired points cannot be spent
SELECT * FROM redeem('ex_life', 'E2', 'EX-BILL-2', 1, total => 100000);
-- later, the 25-day-old lot expires too
SELECT members, lots, points FROM expire_points(as_of => now() + interval '6 days', program => 'ex_life');
SELECT balance('ex_life', 'E1');

-- a refund after expiry gives points back to their lot with its original
-- expiry, and the next run burns them again
SELECT refund_redemption('ex_life', 'EX-BILL-1');
SELECT balance('ex_life', 'E1');
SELECT members, lots, points FROM expire_points(as_of => now() + interval '6 days', program => 'ex_life');
SELECT balance('ex_life', 'E1');

-- inactivity: no purchase for 90 days burns all points
INSERT INTO program (code, name, point_value) VALUES ('ex_idle', 'Idle members lose points', 1000);
INSERT INTO rule (program_id, name, kind, percent)
  SELECT program_id, '10% back', 'percent', 10 FROM program WHERE code = 'ex_idle';
INSERT INTO redemption_policy (program_id, inactivity_days)
  SELECT program_id, 90 FROM program WHERE code = 'ex_idle';
SELECT enroll('ex_idle', c) > 0 AS enrolled FROM unnest(ARRAY['I1', 'I2']) AS c;
SELECT points FROM record_order('ex_idle', 'I1', 'I1-1', total => 100000, ordered_at => now() - interval '120 days');
SELECT points FROM record_order('ex_idle', 'I1', 'I1-2', total => 200000, ordered_at => now() - interval '95 days');
SELECT points FROM record_order('ex_idle', 'I2', 'I2-1', total => 100000, ordered_at => now() - interval '120 days');
SELECT points FROM record_order('ex_idle', 'I2', 'I2-2', total => 100000, ordered_at => now() - interval '10 days');
SELECT members, lots, points FROM expire_points(program => 'ex_idle');
SELECT members, lots, points FROM expire_points(program => 'ex_idle');
SELECT customer_key, balance('ex_idle', customer_key) FROM unnest(ARRAY['I1', 'I2']) AS customer_key;
SELECT m.customer_key, l.amount, l.note FROM ledger l JOIN member m USING (member_id)
 WHERE l.program_id = (SELECT program_id FROM program WHERE code = 'ex_idle') AND l.kind = 'expire';
-- I2 goes quiet too
SELECT members, lots, points FROM expire_points(as_of => now() + interval '81 days', program => 'ex_idle');

SELECT * FROM expire_points(0);
SELECT * FROM expire_points(program => 'no_such');

SELECT * FROM check_ledger();
SELECT * FROM check_redemption();
