-- schedule: pg_cron submits a run on schedule and data8.sync() applies it
-- later; no connection is held while the job runs, no secret in the command
\set VERBOSITY default
SELECT data8.set_profile('default', 'test-client', current_setting('data8_test.secret'),
       api_url => current_setting('data8_test.sim_url'),
       token_url => current_setting('data8_test.sim_url') || '/connect/token');

CREATE TABLE sched_contacts (id bigint PRIMARY KEY, name text, email text, postcode text,
                             email_valid boolean, postcode_valid boolean);
INSERT INTO sched_contacts VALUES
    (1, '  ada  LOVELACE', 'Ada@Example.COM', 'n1 9gu', NULL, NULL),
    (2, 'alan turing', ' alan@example.org ', 'SW1A2AA', NULL, NULL),
    (3, NULL, NULL, 'nope', NULL, NULL);

-- without pg_cron: a clear error
SELECT data8.schedule_cleanse('nightly', '* * * * *', 'sched_contacts', 'id', 'CleanseContacts');

CREATE EXTENSION pg_cron;
SELECT data8.schedule_cleanse('nightly', '* * * * *', 'sched_contacts', 'id', 'CleanseContacts',
                              input_name => 'Contacts', output_name => 'Contacts') > 0 AS scheduled;
-- checked now rather than at night
SELECT data8.schedule_cleanse('broken', '* * * * *', 'sched_contacts', 'nope', 'CleanseContacts');
-- the commands name the schedule only: no secret
SELECT jobname, schedule, command FROM cron.job ORDER BY jobname;
SELECT count(*) AS commands_with_secret FROM cron.job
 WHERE command LIKE '%' || current_setting('data8_test.secret') || '%';
SELECT name, target, key_column, workflow, input_name, output_name FROM data8.schedules;

-- wait (up to 4 minutes) for the scheduler to submit and then apply a run
DO $$
BEGIN
    FOR i IN 1..240 LOOP
        IF EXISTS (SELECT 1 FROM data8.runs WHERE schedule_name = 'nightly' AND state IN ('done', 'failed')) THEN
            RETURN;
        END IF;
        PERFORM pg_sleep(1);
    END LOOP;
    RAISE EXCEPTION 'pg_cron did not cleanse the table within 4 minutes';
END $$;
SELECT state, rows_sent, rows_updated, rows_unchanged, rows_missing, error
  FROM data8.runs WHERE schedule_name = 'nightly' ORDER BY id LIMIT 1;
SELECT * FROM sched_contacts ORDER BY id;
-- every pg_cron run of our jobs succeeded
SELECT j.jobname, d.status, count(*) > 0 AS ran
  FROM cron.job_run_details d JOIN cron.job j USING (jobid)
 WHERE j.jobname LIKE 'data8 %' AND d.status <> 'running'
 GROUP BY 1, 2 ORDER BY 1, 2;

-- unscheduling removes the schedule, its job and (with the last) the sync job
SELECT data8.unschedule_cleanse('nightly');
SELECT data8.unschedule_cleanse('nightly');
SELECT count(*) AS data8_cron_jobs FROM cron.job WHERE jobname LIKE 'data8 %';
SELECT count(*) AS schedules FROM data8.schedules;
-- runs still unfinished (a later minute's) are applied by hand, once the
-- scheduler has let go of them
DO $$
BEGIN
    FOR i IN 1..120 LOOP
        EXIT WHEN NOT EXISTS (SELECT 1 FROM cron.job_run_details WHERE status IN ('starting', 'running'));
        PERFORM pg_sleep(0.5);
    END LOOP;
END $$;
SET data8.poll_interval = '50ms';
SELECT bool_and((data8.wait_for_job(job_name)).state = 'completed') IS NOT FALSE AS waited
  FROM data8.runs WHERE state = 'submitted';
CALL data8.sync();
SELECT count(*) AS unfinished FROM data8.runs WHERE state NOT IN ('done', 'failed');
DROP EXTENSION pg_cron;
