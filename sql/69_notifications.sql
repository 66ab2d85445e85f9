-- Notification templates rendered in C, the outbox, bulk sends, the
-- birthday job and what a delivery worker calls.
\set VERBOSITY terse
SET search_path = public, loyalty;

-- rendering: known and absent values, spaces inside braces, unterminated macros
SELECT render_template('Xin chao {{name}}, ban co {{ points }} diem.', '{"name": "An", "points": 120.5}');
SELECT render_template('{{name}}{{tier}}|{{birthday}}|', '{"name": "An"}');
SELECT render_template('no macros at all {{ not closed', '{"name": "An"}');
SELECT render_template(NULL, '{}') IS NULL AS null_body;
SELECT template_macros('Hi {{name}}, {{points_to_next_tier}} to {{next_tier}}');
SELECT template_macros('Hi {{nmae}}');

INSERT INTO program (code, name, point_value, time_zone) VALUES ('note_shop', 'Notify shop', 1000, 'Asia/Ho_Chi_Minh');
-- an unknown macro is rejected when the template is saved, in the body or the subject
INSERT INTO notification_template (program_id, code, channel, body)
  SELECT program_id, 'promo', 'sms', 'Hello {{first_name}}' FROM program WHERE code = 'note_shop';
INSERT INTO notification_template (program_id, code, channel, subject, body)
  SELECT program_id, 'promo', 'email', 'For {{Name}}', 'Hello {{name}}' FROM program WHERE code = 'note_shop';
INSERT INTO notification_template (program_id, code, channel, language, body)
  SELECT program_id, 'promo', 'sms', 'vi', '{{name}} oi, ban dang co {{points}} diem, hang {{tier}}.' FROM program WHERE code = 'note_shop';
INSERT INTO notification_template (program_id, code, channel, language, body)
  SELECT program_id, 'promo', 'sms', 'en', '{{name}}, you have {{points}} points.' FROM program WHERE code = 'note_shop';
INSERT INTO notification_template (program_id, code, channel, subject, body)
  SELECT program_id, 'promo', 'email', 'Uu dai cho {{name}}', 'Ma giam gia {{code}} cho {{company_name}}' FROM program WHERE code = 'note_shop';
UPDATE notification_template SET body = body || ' {{oops}}' WHERE code = 'promo' AND channel = 'email';
INSERT INTO notification_template (program_id, code, channel, body)
  SELECT program_id, 'birthday_notice', 'sms', 'Sap den sinh nhat {{name}} ({{birthday}}, {{date}})' FROM program WHERE code = 'note_shop';
INSERT INTO notification_template (program_id, code, channel, body)
  SELECT program_id, 'birthday_greeting', 'sms', 'Chuc mung sinh nhat {{name}}!' FROM program WHERE code = 'note_shop';

SELECT enroll('note_shop', 'N1', 'Tran Van Nam', phone => '+84904000001', email => 'nam@example.vn',
              groups => '{vip}', birthday => '1985-03-10') > 0 AS enrolled;
SELECT enroll('note_shop', 'N2', 'Do Thi Lan', phone => '+84904000002', groups => '{retail}',
              birthday => '2000-02-29') > 0 AS enrolled;
SELECT enroll('note_shop', 'N3', 'No Phone', groups => '{vip}') > 0 AS enrolled;
SELECT adjust('note_shop', 'N1', 250, 'WELCOME-N1', 'welcome bonus');

-- enqueue renders with the member's values; a language can be chosen
SELECT enqueue_notification(member_id('note_shop', 'N1'), 'sms', 'promo', 'promo') > 0 AS queued;
SELECT enqueue_notification(member_id('note_shop', 'N1'), 'sms', 'promo', 'promo', language => 'en',
                            dedupe_key => 'promo-en') > 0 AS queued;
-- the same dedupe key returns the first message
SELECT enqueue_notification(member_id('note_shop', 'N1'), 'sms', 'promo', 'promo', language => 'en',
                            dedupe_key => 'promo-en') = (SELECT message_id FROM notification WHERE dedupe_key = 'promo-en') AS same_message;
-- vars given by the caller win; no phone: nothing queued
SELECT enqueue_notification(member_id('note_shop', 'N1'), 'email', 'promo', 'promo',
                            '{"code": "SALE-10", "company_name": "Nam Co."}') > 0 AS queued;
SELECT enqueue_notification(member_id('note_shop', 'N3'), 'sms', 'promo', 'promo') IS NULL AS no_recipient;
SELECT enqueue_notification(member_id('note_shop', 'N1'), 'sms', 'promo', 'no_such_template');
SELECT channel, recipient, subject, body, status, attempts FROM notification
 WHERE program_id = (SELECT program_id FROM program WHERE code = 'note_shop') ORDER BY created_at, channel, body;

-- NOTIFY loyalty_notification reaches listeners on commit only
LISTEN loyalty_notification;
BEGIN;
SELECT enqueue_notification(member_id('note_shop', 'N2'), 'sms', 'promo', 'promo', dedupe_key => 'rolled-back') > 0 AS queued;
ROLLBACK;
SELECT count(*) AS rolled_back FROM notification WHERE dedupe_key = 'rolled-back';
UNLISTEN loyalty_notification;

-- I5, H8: a template to a customer segment, once per send key
SELECT send_to_segment('note_shop', 'promo', '{vip}', 'july-vip');
SELECT send_to_segment('note_shop', 'promo', '{vip}', 'july-vip');
SELECT send_to_segment('note_shop', 'promo', '{retail,vip}', 'july-all');
-- H8: offers by points: only members with at least 200 points
SELECT send_to_segment('note_shop', 'promo', NULL, 'rich', min_points => 200);
SELECT send_to_segment('note_shop', 'nothing', '{vip}');
SELECT m.customer_key, n.channel, n.kind, n.dedupe_key FROM notification n JOIN member m USING (member_id)
 WHERE n.dedupe_key LIKE 'segment:%' ORDER BY 4, 1, 2;

-- J1: birthday notice up to 7 days before, greeting on the day (program time zone),
-- once per year; 29 February birthdays are greeted on 28 February in other years
SELECT birthday_notices('2027-03-02 20:00+00') AS queued;   -- 3 March local: N1 in 7 days
SELECT birthday_notices('2027-03-03 20:00+00') AS queued;   -- again: nothing new
SELECT birthday_notices('2027-03-09 17:30+00') AS queued;   -- 00:30 on 10 March local: the greeting
SELECT birthday_notices('2027-02-27 18:00+00') AS queued;   -- 28 February local: N2's greeting
SELECT m.customer_key, n.kind, n.body, n.dedupe_key FROM notification n JOIN member m USING (member_id)
 WHERE n.kind LIKE 'birthday%' ORDER BY 1, 2;

-- delivery: claim with SKIP LOCKED, deliver, fail with back-off, give up after max_attempts
CREATE TEMP VIEW mine AS
  SELECT * FROM notification WHERE program_id = (SELECT program_id FROM program WHERE code = 'note_shop');
UPDATE notification SET next_attempt_at = '2000-01-01' WHERE status = 'pending';
SELECT count(*) AS claimed FROM claim_notifications(3, program => 'note_shop');
SELECT count(*) AS claimed_again FROM claim_notifications(100, program => 'note_shop');
SELECT count(*) FILTER (WHERE notification_delivered(member_id, message_id)) AS delivered
  FROM mine WHERE status = 'sending' AND kind = 'promo';
SELECT notification_delivered(member_id, message_id) AS twice FROM mine WHERE status = 'delivered' LIMIT 1;
SELECT DISTINCT notification_failed(member_id, message_id, 'gateway timeout', 2) AS after_first_failure
  FROM mine WHERE status = 'sending';
SELECT count(*) AS not_due_yet FROM claim_notifications(100, program => 'note_shop');
UPDATE notification SET next_attempt_at = '2000-01-01' WHERE status = 'pending';
SELECT count(*) AS retried FROM claim_notifications(100, program => 'note_shop');
SELECT DISTINCT notification_failed(member_id, message_id, 'gateway timeout', 2) AS after_second_failure
  FROM mine WHERE status = 'sending';
SELECT status, count(*), max(attempts), min(last_error) FROM mine GROUP BY 1 ORDER BY 1;
