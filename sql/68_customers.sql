-- Birthdays (C4) and customer records and searches (I1-I4, I6).
\set VERBOSITY terse
SET search_path = public, loyalty;

INSERT INTO program (code, name, point_value, time_zone) VALUES ('bday_shop', 'Birthday shop', 1000, 'Asia/Ho_Chi_Minh');
INSERT INTO rule (program_id, name, kind, percent)
  SELECT program_id, '10%', 'percent', 10 FROM program WHERE code = 'bday_shop';
SELECT enroll('bday_shop', 'B1', 'Le Thi Hoa', birthday => '1990-07-15', groups => '{vip}',
              phone => '+84902000001', email => 'hoa@example.vn') > 0 AS enrolled;
SELECT enroll('bday_shop', 'B2', 'Leap Day', birthday => '1992-02-29', groups => '{retail}') > 0 AS enrolled;
SELECT enroll('bday_shop', 'B3', 'Cong ty Minh Phat', kind => 'organisation', groups => '{wholesale}') > 0 AS enrolled;

-- next_birthday: 29 February is celebrated on 28 February in other years
SELECT next_birthday('1992-02-29', '2027-01-10') AS in_2027, next_birthday('1992-02-29', '2028-01-10') AS in_2028,
       next_birthday('1990-07-15', '2026-07-16') AS after_this_year;

-- C4: x2 on the day (dates in the program's time zone)
INSERT INTO birthday_offer (program_id, scope, multiplier, discount_percent)
  SELECT program_id, 'day', 2, 20 FROM program WHERE code = 'bday_shop';
SELECT birthday_multiplier('bday_shop', 'B1', '2026-07-15 12:00+07') AS on_the_day,
       birthday_multiplier('bday_shop', 'B1', '2026-07-16 12:00+07') AS day_after,
       birthday_multiplier('bday_shop', 'B3', '2026-07-15 12:00+07') AS no_birthday,
       birthday_multiplier('bday_shop', 'nobody', '2026-07-15 12:00+07') AS not_a_member;
-- time zone edge: 23:30 UTC on 14 July is already 15 July in Ho Chi Minh City
SELECT birthday_multiplier('bday_shop', 'B1', '2026-07-14 23:30+00') AS utc_evening_before,
       birthday_multiplier('bday_shop', 'B1', '2026-07-15 16:30+00') AS utc_afternoon_after;
-- 29 February: on 28 February in 2027, on 29 February in 2028, never on 1 March
SELECT birthday_multiplier('bday_shop', 'B2', '2027-02-28 10:00+07') AS feb28_2027,
       birthday_multiplier('bday_shop', 'B2', '2027-03-01 10:00+07') AS mar01_2027,
       birthday_multiplier('bday_shop', 'B2', '2028-02-28 10:00+07') AS feb28_2028,
       birthday_multiplier('bday_shop', 'B2', '2028-02-29 10:00+07') AS feb29_2028;
-- week (Monday to Sunday holding the birthday): 15 July 2026 is a Wednesday
UPDATE birthday_offer SET active = false WHERE program_id = (SELECT program_id FROM program WHERE code = 'bday_shop');
INSERT INTO birthday_offer (program_id, scope, multiplier)
  SELECT program_id, 'week', 1.5 FROM program WHERE code = 'bday_shop';
SELECT d::date AS day, birthday_multiplier('bday_shop', 'B1', d + interval '12 hours') AS multiplier
  FROM generate_series('2026-07-12'::timestamp, '2026-07-20', '1 day') d;
-- month, and a chosen day of the birthday month (31 means the month's last day)
UPDATE birthday_offer SET active = false WHERE program_id = (SELECT program_id FROM program WHERE code = 'bday_shop');
INSERT INTO birthday_offer (program_id, scope, multiplier)
  SELECT program_id, 'month', 2 FROM program WHERE code = 'bday_shop';
INSERT INTO birthday_offer (program_id, scope, day_of_month, multiplier)
  SELECT program_id, 'day_of_month', 31, 3 FROM program WHERE code = 'bday_shop';
SELECT birthday_multiplier('bday_shop', 'B1', '2026-07-01 12:00+07') AS jul01,
       birthday_multiplier('bday_shop', 'B1', '2026-07-31 12:00+07') AS jul31,
       birthday_multiplier('bday_shop', 'B1', '2026-08-01 12:00+07') AS aug01,
       birthday_multiplier('bday_shop', 'B2', '2027-02-28 12:00+07') AS leap_feb28_2027;
-- a day_of_month offer needs its day
INSERT INTO birthday_offer (program_id, scope, multiplier)
  SELECT program_id, 'day_of_month', 3 FROM program WHERE code = 'bday_shop';

-- I1, I2: profile, attributes, contact persons, important dates, tasks
INSERT INTO customer_profile (member_id, company_name, address, attributes)
VALUES (member_id('bday_shop', 'B3'), 'Cong ty TNHH Minh Phat', '12 Le Loi, Quan 1, TP HCM',
        '{"industry": "retail", "annual_revenue": 5000000000, "staff": 40}'),
       (member_id('bday_shop', 'B1'), NULL, '3 Tran Hung Dao, Ha Noi', '{"industry": "services", "staff": 1}');
INSERT INTO contact_person (member_id, name, role, phone, email)
VALUES (member_id('bday_shop', 'B3'), 'Pham Van Minh', 'purchasing manager', '+84903000003', 'minh@minhphat.vn');
INSERT INTO important_date (member_id, kind, date)
VALUES (member_id('bday_shop', 'B3'), 'founding', '2010-07-03'),
       (member_id('bday_shop', 'B1'), 'wedding', '2018-07-20'),
       (member_id('bday_shop', 'B2'), 'wedding', '2019-09-09');
INSERT INTO customer_task (member_id, assignee, due_at, title)
VALUES (member_id('bday_shop', 'B3'), 'sales-anh', '2026-07-01 09:00+07', 'Call about the wholesale contract'),
       (member_id('bday_shop', 'B1'), 'sales-binh', '2026-07-14 09:00+07', 'Birthday gift for Ms Hoa'),
       (member_id('bday_shop', 'B1'), 'sales-binh', '2026-09-01 09:00+07', 'Anniversary follow-up');
INSERT INTO important_date (member_id, kind, date) VALUES (member_id('bday_shop', 'B1'), 'anniversary', '2020-01-01');

-- I3: search across dimensions
SELECT customer_key, company_name, attributes->>'staff' AS staff
  FROM customers_with('bday_shop', '{"industry": "retail"}');
SELECT customer_key, kind, date, anniversary FROM important_dates_in_month('bday_shop', '2026-07-01');
SELECT customer_key, kind, date, anniversary FROM important_dates_in_month('bday_shop', '2027-02-01');
SELECT points FROM record_order('bday_shop', 'B1', 'BD-1', total => 500000, branch => 'HN-01', ordered_at => '2026-06-01 10:00+07');
SELECT points FROM record_order('bday_shop', 'B3', 'BD-2', total => 9000000, branch => 'HCM-01', ordered_at => '2026-06-02 10:00+07');
SELECT points FROM record_order('bday_shop', 'B1', 'BD-3', total => 700000, branch => 'HN-02', ordered_at => '2026-06-10 10:00+07');
SELECT points FROM record_order('bday_shop', 'B1', 'BD-4', total => 300000, branch => 'HN-01', ordered_at => '2026-06-20 10:00+07');
SELECT return_order('bday_shop', 'BD-2', 'BD-2-R', amount => 1000000);
SELECT * FROM top_customers('bday_shop');
SELECT * FROM top_customers('bday_shop', since => '2026-06-05', max_rows => 1);
-- I6: which branches served a customer and when
SELECT * FROM customer_branches('bday_shop', 'B1');
-- I4: tasks due
SELECT assignee, due_at, title, customer_key FROM tasks_due('2026-07-31');
SELECT assignee, title FROM tasks_due('2026-12-31', 'sales-binh');
-- the GIN index serves attribute searches
SET enable_seqscan = off;
EXPLAIN (COSTS OFF) SELECT member_id FROM customer_profile WHERE attributes @> '{"industry": "retail"}';
RESET enable_seqscan;

SELECT * FROM check_tiers();
SELECT * FROM check_ledger();
