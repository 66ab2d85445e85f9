-- Scheduled jobs: plain, idempotent job bodies and their pg_cron schedule.
-- Every body selects its work by condition (so a run after downtime catches
-- up), works in chunks, and takes a transaction advisory lock so two runs
-- never overlap (the second returns at once with a NOTICE).

CREATE FUNCTION @extschema@.birthday_notices(as_of timestamptz DEFAULT now())
RETURNS integer
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_last bigint := -9223372036854775808;
    v_count integer := 0;
    v_rows integer;
    r record;
BEGIN
    IF NOT pg_try_advisory_xact_lock(hashtext('pg_loyalty.birthday_notices')) THEN
        RAISE NOTICE 'birthday_notices is already running, skipped';
        RETURN 0;
    END IF;
    LOOP
        v_rows := 0;
        FOR r IN
            SELECT m.member_id, d.today, @extschema@.next_birthday(m.birthday, d.today) AS next_day
              FROM @extschema@.member m
              JOIN @extschema@.program p ON p.program_id = m.program_id
             CROSS JOIN LATERAL (SELECT (as_of AT TIME ZONE p.time_zone)::date AS today) d
             WHERE m.member_id > v_last AND m.birthday IS NOT NULL AND m.status = 'active' AND p.active
               AND EXISTS (SELECT 1 FROM @extschema@.notification_template t
                            WHERE t.program_id = p.program_id
                              AND t.code IN ('birthday_notice', 'birthday_greeting'))
             ORDER BY m.member_id LIMIT 1000
        LOOP
            v_rows := v_rows + 1;
            v_last := r.member_id;
            IF r.next_day = r.today THEN
                v_count := v_count + @extschema@.notify_event(r.member_id, 'birthday_greeting', 'birthday_greeting',
                    jsonb_build_object('date', to_char(r.next_day, 'DD/MM/YYYY')),
                    'birthday_greeting:' || extract(year FROM r.next_day));
            ELSIF r.next_day <= r.today + 7 THEN
                v_count := v_count + @extschema@.notify_event(r.member_id, 'birthday_notice', 'birthday_notice',
                    jsonb_build_object('date', to_char(r.next_day, 'DD/MM/YYYY')),
                    'birthday_notice:' || extract(year FROM r.next_day));
            END IF;
        END LOOP;
        EXIT WHEN v_rows < 1000;
    END LOOP;
    RETURN v_count;
END
$$;
COMMENT ON FUNCTION @extschema@.birthday_notices(timestamptz) IS
'Birthday job (J1): a notice up to 7 days before the birthday and a greeting on the day (dates in the program time zone), once per member, channel and year; returns the messages queued';

CREATE FUNCTION @extschema@.job_commands()
RETURNS TABLE (job text, schedule text, command text, available boolean)
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT j.job, j.schedule, j.command,
           EXISTS (SELECT 1 FROM pg_proc f
                    WHERE f.pronamespace = to_regnamespace('@extschema@') AND f.proname = j.needs
                      AND f.pronargs = f.pronargdefaults)
      FROM (VALUES
        ('expiry',    '15 1 * * *',   'SELECT loyalty.expire_points()',         'expire_points'),
        ('birthdays', '5 * * * *',    'SELECT loyalty.birthday_notices()',      'birthday_notices'),
        ('tiers',     '30 2 * * *',   'SELECT loyalty.recalculate_tiers()',     'recalculate_tiers'),
        ('holds',     '*/5 * * * *',  'SELECT loyalty.release_expired_holds()', 'release_expired_holds'),
        ('otp',       '*/10 * * * *', 'SELECT loyalty.purge_expired_otp()',     'purge_expired_otp'),
        ('reports',   '45 * * * *',   'SELECT loyalty.refresh_reports()',       'refresh_reports'),
        ('campaigns', '* * * * *',    'SELECT loyalty.campaign_tick()',         'campaign_tick'),
        ('races',     '*/10 * * * *', 'SELECT loyalty.award_ended_races()',     'award_ended_races'),
        ('vouchers',  '20 * * * *',   'SELECT loyalty.voucher_failures_prune()', 'voucher_failures_prune')
      ) AS j(job, schedule, command, needs)
$$;
COMMENT ON FUNCTION @extschema@.job_commands() IS
'The jobs schedule_jobs() registers (as pg_loyalty_<job>), their cron schedule (UTC), command, and whether the function they call exists and can be called without arguments';

CREATE FUNCTION @extschema@.schedule_jobs()
RETURNS TABLE (job_name text, schedule text, command text)
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    j record;
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'pg_cron') THEN
        RAISE EXCEPTION 'pg_cron is not installed in this database' USING ERRCODE = 'LT003',
            DETAIL = 'pg_loyalty schedules its jobs with pg_cron.',
            HINT = 'Install pg_cron (Debian: postgresql-15-cron), set shared_preload_libraries = ''pg_cron'' and cron.database_name = '''
                   || current_database() || ''' in postgresql.conf, restart, then run CREATE EXTENSION pg_cron in this database.';
    END IF;
    FOR j IN SELECT * FROM @extschema@.job_commands() ORDER BY 1 LOOP
        IF j.available THEN
            PERFORM cron.schedule('pg_loyalty_' || j.job, j.schedule, j.command);
            job_name := 'pg_loyalty_' || j.job;
            schedule := j.schedule;
            command := j.command;
            RETURN NEXT;
        ELSE
            RAISE NOTICE 'job pg_loyalty_% skipped: % does not exist', j.job,
                substring(j.command FROM 'loyalty\.[a-z_]+');
            IF EXISTS (SELECT 1 FROM cron.job c WHERE c.jobname = 'pg_loyalty_' || j.job) THEN
                PERFORM cron.unschedule('pg_loyalty_' || j.job);
            END IF;
        END IF;
    END LOOP;
END
$$;
COMMENT ON FUNCTION @extschema@.schedule_jobs() IS
'Registers or updates the pg_cron jobs pg_loyalty_<job> (expiry, birthdays, tiers, holds, otp, reports) for the functions that exist; raises LT003 with what to install when pg_cron is missing';

CREATE FUNCTION @extschema@.unschedule_jobs()
RETURNS integer
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_name text;
    v_count integer := 0;
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'pg_cron') THEN
        RETURN 0;
    END IF;
    FOR v_name IN SELECT c.jobname FROM cron.job c WHERE c.jobname LIKE 'pg\_loyalty\_%' ORDER BY 1 LOOP
        PERFORM cron.unschedule(v_name);
        v_count := v_count + 1;
    END LOOP;
    RETURN v_count;
END
$$;
COMMENT ON FUNCTION @extschema@.unschedule_jobs() IS 'Removes every pg_loyalty_<job> pg_cron job; returns how many were removed';

REVOKE ALL ON FUNCTION @extschema@.schedule_jobs() FROM PUBLIC;
REVOKE ALL ON FUNCTION @extschema@.unschedule_jobs() FROM PUBLIC;
