-- Scheduled jobs: pg_cron registration and the job bodies called directly.
\set VERBOSITY terse
SET search_path = public, loyalty;

-- without pg_cron in the database: a clear error saying what to install
\set VERBOSITY default
SELECT * FROM schedule_jobs();
\set VERBOSITY terse
SELECT unschedule_jobs() AS removed_without_pg_cron;

CREATE EXTENSION pg_cron;
SELECT job, schedule, command FROM job_commands() ORDER BY 1;
-- jobs whose function another module has not installed are skipped with a NOTICE
-- (not shown: which ones exist depends on the modules built in)
SET client_min_messages = warning;
SELECT * FROM schedule_jobs() WHERE job_name IN ('pg_loyalty_birthdays', 'pg_loyalty_tiers') ORDER BY 1;
SELECT jobname, schedule, command FROM cron.job
 WHERE jobname IN ('pg_loyalty_birthdays', 'pg_loyalty_tiers') ORDER BY 1;
SELECT count(*) AS scheduled_without_function FROM job_commands() j
 WHERE NOT j.available AND EXISTS (SELECT 1 FROM cron.job c WHERE c.jobname = 'pg_loyalty_' || j.job);
-- scheduling again updates the same jobs
SELECT count(*) = (SELECT count(*) FROM job_commands() WHERE available) AS all_available_registered FROM schedule_jobs();
SELECT count(*) = (SELECT count(*) FROM job_commands() WHERE available) AS one_job_each
  FROM cron.job WHERE jobname LIKE 'pg\_loyalty\_%';
RESET client_min_messages;
SELECT unschedule_jobs() >= 2 AS removed;
SELECT count(*) AS jobs_left FROM cron.job WHERE jobname LIKE 'pg\_loyalty\_%';
SELECT unschedule_jobs() AS removed_again;
DROP EXTENSION pg_cron;

-- job bodies are plain functions: the tier job catches up whenever it runs
INSERT INTO program (code, name, point_value) VALUES ('job_shop', 'Job shop', 1000);
INSERT INTO tier (program_id, rank, name, threshold, window_months)
SELECT program_id, r, n, t, 6 FROM program, (VALUES (1, 'Basic', 0), (2, 'Plus', 1000000)) AS v(r, n, t)
 WHERE code = 'job_shop';
SELECT enroll('job_shop', 'J' || i) > 0 AS enrolled FROM generate_series(1, 3) i;
SELECT count(*) FROM generate_series(1, 3) i,
  LATERAL record_order('job_shop', 'J' || i, 'JO-' || i, total => i * 600000, ordered_at => '2026-01-15');
SELECT customer_key, member_tier('job_shop', customer_key) FROM member
 WHERE program_id = (SELECT program_id FROM program WHERE code = 'job_shop') ORDER BY 1;
SELECT recalculate_tiers('job_shop', as_of => '2026-05-01') AS changed;
SELECT recalculate_tiers('job_shop', as_of => '2026-08-01') AS changed;
SELECT recalculate_tiers('job_shop', as_of => '2026-08-01') AS changed_again;
SELECT customer_key, member_tier('job_shop', customer_key) FROM member
 WHERE program_id = (SELECT program_id FROM program WHERE code = 'job_shop') ORDER BY 1;
SELECT * FROM check_tiers();
