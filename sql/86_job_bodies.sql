-- Job bodies: expired one-time codes are purged in chunks, and a second run finds nothing.
\set VERBOSITY terse
SET search_path = public, loyalty;

INSERT INTO program (code, name) VALUES ('otp_jobs', 'OTP jobs');
SELECT enroll('otp_jobs', 'O' || i, phone => '+8491000000' || i) > 0 AS enrolled FROM generate_series(1, 3) i;
SELECT count(request_otp('otp_jobs', 'O' || i, 'redeem:' || i)) AS requested FROM generate_series(1, 3) i;
-- two requests expired two days ago, one is still valid
UPDATE otp_request SET expires_at = now() - interval '2 days'
 WHERE member_id IN (member_id('otp_jobs', 'O1'), member_id('otp_jobs', 'O2'));
SELECT purge_expired_otp(batch_size => 1) AS purged;
SELECT purge_expired_otp() AS purged_again;
SELECT count(*) AS left FROM otp_request o JOIN member m USING (member_id)
  JOIN program p ON p.program_id = m.program_id WHERE p.code = 'otp_jobs';
SELECT purge_expired_otp(interval '-1 day');
