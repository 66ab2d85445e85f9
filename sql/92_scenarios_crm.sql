-- Scenarios from the users' documents: customers (I1-I6), notifications by
-- SMS and email (J1-J4), reports (K1, K2, K5) and offers sent by points (H8),
-- written as a POS/ERP developer, a DBA or a BI tool would run them.
\set VERBOSITY terse
SET search_path = public, loyalty;

INSERT INTO program (code, name, point_value, time_zone)
VALUES ('sc_crm', 'Relipos CRM', 1000, 'Asia/Ho_Chi_Minh');
INSERT INTO rule (program_id, name, kind, points, per_amount)
  SELECT program_id, '1 diem / 100.000d', 'per_amount', 1, 100000 FROM program WHERE code = 'sc_crm';

-------------------------------------------------------------------------------
-- I1: customer records: company name, address, email, phone, contact persons
-- (name, role, phone, email), birthdays
-------------------------------------------------------------------------------
SELECT enroll('sc_crm', 'CTY-01', 'Cong ty CP Sao Mai', kind => 'organisation', groups => '{wholesale}',
              phone => '02838123456', email => 'info@saomai.vn') IS NOT NULL AS enrolled;
INSERT INTO customer_profile (member_id, company_name, address, attributes)
VALUES (member_id('sc_crm', 'CTY-01'), 'Cong ty Co phan Sao Mai', '12 Nguyen Hue, Q1, TP.HCM',
        '{"industry": "retail", "annual_revenue": 5000000000, "staff": 40}');
INSERT INTO contact_person (member_id, name, role, phone, email, birthday) VALUES
  (member_id('sc_crm', 'CTY-01'), 'Nguyen Thi Hoa', 'Ke toan truong', '0909111222', 'hoa@saomai.vn', '1988-03-08'),
  (member_id('sc_crm', 'CTY-01'), 'Le Minh Tuan', 'Giam doc', '0909333444', 'tuan@saomai.vn', '1975-10-20');
SELECT m.name, m.kind, m.phone, m.email, p.company_name, p.address
  FROM member m JOIN customer_profile p USING (member_id) WHERE m.member_id = member_id('sc_crm', 'CTY-01');
SELECT name, role, phone, email, birthday FROM contact_person
 WHERE member_id = member_id('sc_crm', 'CTY-01') ORDER BY name;

-------------------------------------------------------------------------------
-- I2: groups such as retail, wholesale, VIP; attributes such as industry,
-- annual revenue, staff
-------------------------------------------------------------------------------
SELECT enroll('sc_crm', 'CTY-02', 'Cong ty TNHH Binh An', kind => 'organisation', groups => '{wholesale,VIP}',
              email => 'sales@binhan.vn') IS NOT NULL AS enrolled;
INSERT INTO customer_profile (member_id, company_name, attributes)
VALUES (member_id('sc_crm', 'CTY-02'), 'Cong ty TNHH Binh An', '{"industry": "food", "annual_revenue": 12000000000, "staff": 150}');
SELECT enroll('sc_crm', 'KL-01', 'Tran Van Nam', groups => '{retail}', phone => '0912345678',
              birthday => '1990-03-15') IS NOT NULL AS enrolled;
SELECT enroll('sc_crm', 'KL-02', 'Pham Thi Mai', groups => '{retail,VIP}', phone => '0987654321',
              email => 'mai@example.vn', birthday => '1995-03-21') IS NOT NULL AS enrolled;
SELECT customer_key, name, company_name FROM customers_with('sc_crm', '{"industry": "food"}');
SELECT customer_key, groups FROM member WHERE program_id = (SELECT program_id FROM program WHERE code = 'sc_crm')
   AND groups && '{VIP}' ORDER BY customer_key;

-------------------------------------------------------------------------------
-- I3: search across dimensions: highest revenue; birthdays, wedding days,
-- company founding days this month
-- I6: which branch served the customer and when
-------------------------------------------------------------------------------
SELECT points FROM record_order('sc_crm', 'CTY-01', 'PX-1', total => 45000000, branch => 'Q1', ordered_at => '2026-02-10 09:00+07');
SELECT points FROM record_order('sc_crm', 'CTY-02', 'PX-2', total => 80000000, branch => 'Q7', ordered_at => '2026-02-11 09:00+07');
SELECT points FROM record_order('sc_crm', 'KL-01', 'HD-1', total => 1500000, branch => 'Q1', ordered_at => '2026-02-12 18:00+07');
SELECT points FROM record_order('sc_crm', 'KL-01', 'HD-2', total => 2500000, branch => 'Q3', ordered_at => '2026-03-02 18:00+07');
SELECT points FROM record_order('sc_crm', 'KL-02', 'HD-3', total => 12000000, branch => 'Q3', ordered_at => '2026-03-03 18:00+07');
-- a return lowers the revenue that counts
SELECT return_order('sc_crm', 'PX-2', 'PX-2-TRA', amount => 50000000) AS taken;
SELECT customer_key, name, revenue, orders FROM top_customers('sc_crm', '2026-01-01', '2027-01-01', 3);
INSERT INTO important_date (member_id, kind, date, note) VALUES
  (member_id('sc_crm', 'CTY-01'), 'founding', '2005-03-28', 'Ngay thanh lap cong ty'),
  (member_id('sc_crm', 'KL-01'), 'wedding', '2018-03-10', 'Ngay cuoi'),
  (member_id('sc_crm', 'CTY-02'), 'founding', '2010-09-01', NULL);
SELECT customer_key, name, kind, date, anniversary FROM important_dates_in_month('sc_crm', '2026-03-01');
SELECT branch, orders, revenue, first_at AT TIME ZONE 'Asia/Ho_Chi_Minh' AS first_local,
       last_at AT TIME ZONE 'Asia/Ho_Chi_Minh' AS last_local
  FROM customer_branches('sc_crm', 'KL-01');

-------------------------------------------------------------------------------
-- I4: reminders of planned events with a customer; tasks for staff; a
-- manager sees everyone's tasks, a task is done or cancelled
-------------------------------------------------------------------------------
INSERT INTO customer_task (member_id, assignee, due_at, title) VALUES
  (member_id('sc_crm', 'CTY-01'), 'lan', '2026-03-05 09:00+07', 'Goi dien gia han hop dong'),
  (member_id('sc_crm', 'CTY-02'), 'hung', '2026-03-06 14:00+07', 'Gui bao gia moi'),
  (member_id('sc_crm', 'KL-02'), 'lan', '2026-04-01 10:00+07', 'Tang qua sinh nhat');
SELECT assignee, due_at AT TIME ZONE 'Asia/Ho_Chi_Minh' AS due_local, title, customer_key
  FROM tasks_due('2026-03-31 23:59+07');
SELECT title FROM tasks_due('2026-12-31', 'lan');
UPDATE customer_task SET status = 'done' WHERE title = 'Goi dien gia han hop dong';
UPDATE customer_task SET status = 'cancelled' WHERE title = 'Gui bao gia moi';
SELECT count(*) AS open_in_march FROM tasks_due('2026-03-31 23:59+07');

-------------------------------------------------------------------------------
-- I5: email and SMS to lists of customers from templates with macros
-------------------------------------------------------------------------------
INSERT INTO notification_template (program_id, code, channel, subject, body)
  SELECT program_id, 'bang_gia', 'email', 'Bang gia thang 3 cho {{company_name}}',
         'Kinh gui {{name}}, {{company_name}} dang co {{points}} diem.' FROM program WHERE code = 'sc_crm';
-- a template with an unknown macro is refused when it is written (LT002)
INSERT INTO notification_template (program_id, code, channel, body)
  SELECT program_id, 'sai', 'sms', 'Chao {{ten_khach}}' FROM program WHERE code = 'sc_crm';
-- I5: the price list goes to the wholesale list by email, once per send key
SELECT send_to_segment('sc_crm', 'bang_gia', '{wholesale}', 'bang-gia-2026-03') AS queued;
SELECT send_to_segment('sc_crm', 'bang_gia', '{wholesale}', 'bang-gia-2026-03') AS queued_again;
SELECT recipient, subject, body, status FROM notification
 WHERE template_code = 'bang_gia' ORDER BY recipient;

-------------------------------------------------------------------------------
-- H8: offers sent to customers according to their points
-------------------------------------------------------------------------------
INSERT INTO notification_template (program_id, code, channel, body)
  SELECT program_id, 'uu_dai_diem', 'sms', '{{name}}: ban co {{points}} diem, doi qua ngay!' FROM program WHERE code = 'sc_crm';
-- KL-01 has 40 points, KL-02 120: only customers with 100 points or more get the offer
SELECT send_to_segment('sc_crm', 'uu_dai_diem', NULL, 'uu-dai-100', min_points => 100) AS queued;
SELECT recipient, body FROM notification WHERE template_code = 'uu_dai_diem';

-------------------------------------------------------------------------------
-- J1: birthday notice 7 days before and greeting on the day (SMS and email)
-------------------------------------------------------------------------------
INSERT INTO notification_template (program_id, code, channel, body)
  SELECT program_id, 'birthday_notice', 'sms', '{{name}} oi, sinh nhat {{date}} ban duoc giam 20%!' FROM program WHERE code = 'sc_crm';
INSERT INTO notification_template (program_id, code, channel, body)
  SELECT program_id, 'birthday_greeting', 'sms', 'Chuc mung sinh nhat {{name}}!' FROM program WHERE code = 'sc_crm';
INSERT INTO notification_template (program_id, code, channel, subject, body)
  SELECT program_id, 'birthday_greeting', 'email', 'Chuc mung sinh nhat', 'Chuc mung sinh nhat {{name}}!' FROM program WHERE code = 'sc_crm';
-- KL-01 was born on 15 March: on 8 March the notice goes out (7 days before)
SELECT birthday_notices('2026-03-07 09:00+07') AS queued_mar7;
SELECT birthday_notices('2026-03-08 09:00+07') AS queued_mar8;
-- the hourly job runs again: nothing twice
SELECT birthday_notices('2026-03-08 10:00+07') AS queued_again;
-- on the day: the greeting by SMS (KL-01 has no email)
SELECT birthday_notices('2026-03-15 09:00+07') AS queued_mar15;
SELECT m.customer_key, n.kind, n.channel, n.body FROM notification n JOIN member m USING (member_id)
 WHERE n.kind LIKE 'birthday%' AND m.program_id = (SELECT program_id FROM program WHERE code = 'sc_crm')
 ORDER BY m.customer_key, n.kind, n.channel;

-------------------------------------------------------------------------------
-- J2: card activation notice as soon as a card is issued to the customer
-- J3: thank-you after payment
-------------------------------------------------------------------------------
INSERT INTO notification_template (program_id, code, channel, body)
  SELECT program_id, 'card_activated', 'sms', '{{name}}: the {{code}} cua ban da duoc kich hoat.' FROM program WHERE code = 'sc_crm';
INSERT INTO notification_template (program_id, code, channel, body)
  SELECT program_id, 'thank_you', 'sms', 'Cam on {{name}} da thanh toan {{amount}}d tai {{branch}}!' FROM program WHERE code = 'sc_crm';
SELECT issue_card(member_id('sc_crm', 'KL-01'), 'VIP', card_no => 'MAG-00112233') AS card;
SELECT kind, body FROM notification WHERE member_id = member_id('sc_crm', 'KL-01') AND kind = 'card_activated';
SELECT points FROM record_order('sc_crm', 'KL-01', 'HD-4', total => 300000, branch => 'Q1', ordered_at => '2026-03-20 18:00+07');
SELECT kind, body FROM notification WHERE member_id = member_id('sc_crm', 'KL-01') AND kind = 'thank_you';

-------------------------------------------------------------------------------
-- J4: "almost at the next tier" and "upgraded" notices
-------------------------------------------------------------------------------
INSERT INTO program (code, name, point_value, time_zone)
VALUES ('sc_crm_tier', 'Relipos VIP', 1000, 'Asia/Ho_Chi_Minh');
INSERT INTO tier (program_id, rank, name, measure, threshold, discount_percent, almost_percent)
SELECT program_id, r, n, 'spend', t, d, 10 FROM program,
  (VALUES (1, 'Member', 0, 5), (2, 'VIP', 10000000, 10)) AS v(r, n, t, d) WHERE code = 'sc_crm_tier';
INSERT INTO notification_template (program_id, code, channel, body)
  SELECT program_id, 'tier_almost', 'sms', '{{name}}: con {{points_to_next_tier}}d nua la len hang {{next_tier}}' FROM program WHERE code = 'sc_crm_tier';
INSERT INTO notification_template (program_id, code, channel, body)
  SELECT program_id, 'tier_upgraded', 'sms', 'Chuc mung {{name}} da len hang {{tier}}' FROM program WHERE code = 'sc_crm_tier';
SELECT enroll('sc_crm_tier', 'KL-09', 'Do Van Hai', phone => '0933000999') IS NOT NULL AS enrolled;
SELECT points FROM record_order('sc_crm_tier', 'KL-09', 'T-1', total => 9200000, ordered_at => now() - interval '2 days');
SELECT kind, body FROM notification WHERE member_id = member_id('sc_crm_tier', 'KL-09') ORDER BY kind;
SELECT points FROM record_order('sc_crm_tier', 'KL-09', 'T-2', total => 1000000, ordered_at => now() - interval '1 day');
SELECT kind, body FROM notification WHERE member_id = member_id('sc_crm_tier', 'KL-09') ORDER BY kind;

-------------------------------------------------------------------------------
-- K1: points earned, spent and expired; K2: amounts paid by coupons, vouchers
-- and certificates; K5: the loyal customers and their revenue (BI views)
-------------------------------------------------------------------------------
SELECT * FROM redeem('sc_crm', 'KL-02', 'HD-5', 20, total => 500000) \gset
SELECT adjust('sc_crm', 'KL-01', 5, 'ADJ-1', 'goodwill') AS adjusted;
INSERT INTO voucher_type (program_id, code, name, kind, face_value)
  SELECT program_id, 'V200', 'Voucher 200K', 'voucher', 200000 FROM program WHERE code = 'sc_crm';
SELECT voucher_issue('sc_crm', 'V200', 1, batch => 'crm-v200') AS v200 \gset
SELECT voucher_issue('sc_crm', 'V200', 1, batch => 'crm-v200b') IS NOT NULL AS issued;
SELECT ok, amount FROM voucher_redeem(:'v200', 'HD-6', 'Q1', 150000);
SELECT refresh_reports() AS refreshed;
-- K1: earned 450 + 800 + 15 + 25 + 120 + 3 = 1413; the return took 500; spent 20;
-- adjusted 5: net 898, the sum of the balances
SELECT sum(earned_points) AS earned, sum(spent_points) AS spent, sum(expired_points) AS expired,
       sum(reversed_points) AS reversed, sum(adjusted_points) AS adjusted, sum(net_points) AS net,
       sum(spent_value) AS spent_value
  FROM report_points_daily_total WHERE program_code = 'sc_crm';
SELECT sum(points) AS balances FROM balance WHERE program_id = (SELECT program_id FROM program WHERE code = 'sc_crm');
-- K2: what vouchers paid
SELECT voucher_type, kind, issued, used, outstanding, amount_paid, amount_forfeited
  FROM report_vouchers WHERE program_code = 'sc_crm';
-- K5: who the loyal customers are and how much revenue they bring
SELECT customer_key, orders, revenue, revenue_rank, round(revenue_share, 4) AS share
  FROM report_loyal_customers WHERE program_code = 'sc_crm' ORDER BY revenue_rank, customer_key;
SELECT top_percent, customers, revenue, round(revenue_share, 4) AS share
  FROM report_top_customers_share WHERE program_code = 'sc_crm' ORDER BY top_percent;

SELECT count(*) AS violations FROM check_ledger();
