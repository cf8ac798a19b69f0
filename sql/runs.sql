-- runs: a cleansing run never costs an edit and never lends anyone's rights
-- (DESIGN.md section 5).  The attacker is a role with only
-- data8.grant_usage(); the victims are a superuser's sync() and another
-- role's schedule.
\set VERBOSITY default
SELECT data8.set_profile('default', 'test-client', current_setting('data8_test.secret'),
       api_url => current_setting('data8_test.sim_url'),
       token_url => current_setting('data8_test.sim_url') || '/connect/token');
SET data8.poll_interval = '50ms';
CREATE EXTENSION IF NOT EXISTS dblink;
CREATE FUNCTION other_session() RETURNS text LANGUAGE sql AS $$
    SELECT 'dbname=' || current_database() || ' host=' || split_part(current_setting('unix_socket_directories'), ',', 1)
           || ' port=' || current_setting('port') $$;

-- 1. lost updates: rows edited or deleted while the job runs are left as
-- the user made them
CREATE TABLE crm (id int PRIMARY KEY, name text, email text);
INSERT INTO crm SELECT g, ' ann  lee ' || g, 'ANN' || g || '@EXAMPLE.COM' FROM generate_series(1, 12) g;
SELECT data8.submit_cleanse('crm', 'id', 'CleanseContacts', 'Contacts', 'Contacts') AS run \gset
UPDATE crm SET name = 'typed by a user' WHERE id = 7;
DELETE FROM crm WHERE id = 9;
SELECT (data8.wait_for_job(job_name)).state FROM data8.runs WHERE id = :run;
CALL data8.sync();
SELECT * FROM crm WHERE id IN (6, 7, 8, 9) ORDER BY id;
SELECT state, rows_sent, rows_updated, rows_unchanged, rows_conflicted, rows_deleted, rows_missing, rows_unexpected
  FROM data8.runs WHERE id = :run;
-- the fingerprints are gone with the run, and so are its datasets
SELECT count(*) AS fingerprints_left FROM data8.run_rows WHERE run_id = :run;
SELECT count(*) AS datasets_left FROM data8.runs r JOIN data8.datasets() d
    ON d.name IN (r.input_dataset, r.output_dataset) WHERE r.id = :run;

-- the same in one transaction: another session edits row 3 while
-- cleanse_table runs (it holds the row until the apply waits for it)
CREATE TABLE crm_live (id int PRIMARY KEY, name text, email text);
INSERT INTO crm_live SELECT g, ' bo  day ' || g, 'BO' || g || '@EXAMPLE.COM' FROM generate_series(1, 5) g;
SELECT dblink_connect('b', other_session());
SELECT dblink_exec('b', 'BEGIN');
SELECT dblink_exec('b', 'UPDATE crm_live SET email = ''mine@b.example'' WHERE id = 3');
SELECT dblink_send_query('b', 'SELECT pg_sleep(2); COMMIT');
CALL data8.cleanse_table('crm_live', 'id', 'CleanseContacts', 'Contacts', 'Contacts', keep_datasets => true);
DO $$ BEGIN WHILE dblink_is_busy('b') = 1 LOOP PERFORM pg_sleep(0.05); END LOOP; END $$;
SELECT dblink_disconnect('b');
TABLE crm_live ORDER BY id;
SELECT rows_updated, rows_unchanged, rows_conflicted FROM data8.runs ORDER BY id DESC LIMIT 1;
-- keep_datasets => true keeps them
SELECT count(*) AS datasets_kept FROM data8.runs r JOIN data8.datasets() d
    ON d.name IN (r.input_dataset, r.output_dataset) WHERE r.id = (SELECT max(id) FROM data8.runs);

-- 6. keys are matched by key, not by count: the workflow lower-cases a key
-- into one that was not sent; that row is never overwritten
CREATE TABLE mails (email text PRIMARY KEY, name text);
INSERT INTO mails VALUES ('B@Example.com', 'sent'), ('b@example.com', 'not sent');
CALL data8.cleanse_table('mails', 'email', 'CleanseContacts', 'Contacts', 'Contacts',
                         filter => 'email <> ''b@example.com''');
TABLE mails ORDER BY email;
SELECT rows_sent, rows_updated, rows_missing, rows_unexpected FROM data8.runs ORDER BY id DESC LIMIT 1;

-- 2. the confused deputy.  Mallory has data8.grant_usage() and the
-- default profile; payroll is not hers to read.
CREATE ROLE d8_mallory LOGIN;
CREATE ROLE d8_victim LOGIN;
SELECT data8.grant_usage('d8_mallory'), data8.grant_usage('d8_victim');
SELECT data8.grant_profile('default', 'd8_mallory'), data8.grant_profile('default', 'd8_victim');
CREATE TABLE payroll (id int PRIMARY KEY, salary numeric);
INSERT INTO payroll VALUES (1, 100000);
CREATE TABLE mallory_t (id int PRIMARY KEY, name text);
INSERT INTO mallory_t VALUES (1, 'x'), (2, 'y');
ALTER TABLE mallory_t OWNER TO d8_mallory;
CREATE TABLE spy_log (who name, payroll_rows bigint);
GRANT INSERT ON spy_log TO d8_mallory;
-- her trigger would read payroll with the rights of whoever applies
CREATE FUNCTION public.mallory_trigger() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO public.spy_log VALUES (current_user, NULL);
    INSERT INTO public.spy_log VALUES (current_user, (SELECT count(*) FROM public.payroll));
    RETURN NEW;
END $$;
ALTER FUNCTION public.mallory_trigger() OWNER TO d8_mallory;
CREATE TRIGGER spy BEFORE UPDATE ON mallory_t FOR EACH ROW EXECUTE FUNCTION public.mallory_trigger();
SET ROLE d8_mallory;
SET data8.poll_interval = '50ms';
SELECT data8.submit_cleanse('mallory_t', 'id', 'CleanseContacts', 'Contacts', 'Contacts') AS mallory_run \gset
-- she cannot forge a run aimed at payroll, nor move hers back or elsewhere
INSERT INTO data8.runs (target, key_column, workflow, input_name, output_name, columns, timeout, state, job_name)
VALUES ('payroll', 'id', 'Echo', 'Input', 'Output', '{id,salary}', '1 hour', 'submitted', 'x');
UPDATE data8.runs SET target = 'payroll' WHERE id = :mallory_run;
DELETE FROM data8.runs;
SELECT count(*) AS fingerprints FROM data8.run_rows;
-- the internal routines are not hers
SELECT p.proname, has_function_privilege(p.oid, 'EXECUTE') AS can_execute
  FROM pg_proc p WHERE p.pronamespace = 'data8'::regnamespace AND p.proname LIKE '\_%' ORDER BY 1;
-- she sees her own runs only
SELECT count(*) AS runs_she_sees, count(*) FILTER (WHERE owner <> 'd8_mallory') AS others FROM data8.runs;
RESET ROLE;
-- a superuser's sync applies her run with her rights: her trigger runs as
-- her and cannot read payroll, so her run fails, alone
SELECT data8.submit_cleanse('crm', 'id', 'Echo') AS bystander_run \gset
SELECT (data8.wait_for_job(job_name)).state FROM data8.runs WHERE id IN (:mallory_run, :bystander_run);
CALL data8.sync();
SELECT count(*) AS spied FROM spy_log;
SELECT id = :mallory_run AS mallory, state, left(error, 60) AS error FROM data8.runs
 WHERE id IN (:mallory_run, :bystander_run) ORDER BY id;
TABLE mallory_t ORDER BY id;

-- a run whose owner may no longer write its table fails with 42501, alone
CREATE TABLE shared_t (id int PRIMARY KEY, name text);
INSERT INTO shared_t VALUES (1, ' zoe  ray ');
GRANT SELECT, UPDATE ON shared_t TO d8_victim;
SET ROLE d8_victim;
SET data8.poll_interval = '50ms';
SELECT data8.submit_cleanse('shared_t', 'id', 'CleanseContacts', 'Contacts', 'Contacts') AS victim_run \gset
SELECT (data8.wait_for_job(job_name)).state FROM data8.runs WHERE id = :victim_run;
RESET ROLE;
REVOKE UPDATE ON shared_t FROM d8_victim;
SELECT data8.submit_cleanse('crm', 'id', 'Echo') AS bystander_run \gset
SELECT (data8.wait_for_job(job_name)).state FROM data8.runs WHERE id = :bystander_run;
CALL data8.sync();
SELECT id = :victim_run AS victim, state, error FROM data8.runs
 WHERE id IN (:victim_run, :bystander_run) ORDER BY id;
TABLE shared_t;

-- another role's schedule cannot be taken over: the same name is hers alone
CREATE EXTENSION IF NOT EXISTS pg_cron;
CREATE TABLE victim_t (id int PRIMARY KEY, name text);
ALTER TABLE victim_t OWNER TO d8_victim;
GRANT USAGE ON SCHEMA cron TO d8_victim, d8_mallory;
SET ROLE d8_victim;
SELECT data8.schedule_cleanse('nightly', '0 3 * * *', 'victim_t', 'id', 'Echo') > 0 AS scheduled;
RESET ROLE;
SET ROLE d8_mallory;
UPDATE data8.schedules SET target = 'payroll' WHERE name = 'nightly';
SELECT data8.schedule_cleanse('nightly', '0 4 * * *', 'mallory_t', 'id', 'Echo') > 0 AS scheduled;
SELECT data8.unschedule_cleanse('nightly');
SELECT data8.submit_scheduled('nightly');
RESET ROLE;
SELECT owner, name, target, workflow FROM data8.schedules ORDER BY owner;
SET ROLE d8_victim;
SELECT data8.unschedule_cleanse('nightly');
RESET ROLE;
SELECT count(*) AS schedules_left FROM data8.schedules;

-- 3. profiles per team: a profile is used only by roles it was granted to
SELECT data8.set_profile('team_b', 'other-client', 'other-secret-77aa31',
       api_url => current_setting('data8_test.sim_url'),
       token_url => current_setting('data8_test.sim_url') || '/connect/token');
SET ROLE d8_mallory;
SET data8.profile = 'team_b';
SELECT count(*) FROM data8.datasets();
RESET data8.profile;
RESET ROLE;
SELECT data8.grant_profile('team_b', 'd8_victim');
SELECT data8.revoke_profile('team_b', 'd8_victim'), data8.revoke_profile('team_b', 'd8_victim');

-- a run records its profile and is applied with it, whatever the caller's
SET data8.profile = 'team_b';
SELECT data8.submit_cleanse('crm', 'id', 'Echo') AS team_b_run \gset
SELECT (data8.wait_for_job(job_name)).state FROM data8.runs WHERE id = :team_b_run;
RESET data8.profile;
CALL data8.sync();
SELECT profile, state, rows_sent, rows_unchanged, error FROM data8.runs WHERE id = :team_b_run;

-- 4. a sync isolates runs: a request that times out, a lock that cannot be
-- had, leave the run submitted for the next sync (attempts counted), and
-- the others go on
SELECT data8.set_profile('flaky', 'test-client', current_setting('data8_test.secret'),
       api_url => current_setting('data8_test.sim_url'),
       token_url => current_setting('data8_test.sim_url') || '/connect/token');
CREATE TABLE crm2 AS SELECT * FROM crm;
ALTER TABLE crm2 ADD PRIMARY KEY (id);
UPDATE crm2 SET name = ' lower  case ' || id;
SET data8.profile = 'flaky';
SELECT data8.submit_cleanse('crm2', 'id', 'CleanseContacts', 'Contacts', 'Contacts') AS flaky_run \gset
RESET data8.profile;
-- the service behind the profile stops answering (its requests stall)
SELECT data8.set_profile('flaky', 'test-client', current_setting('data8_test.secret'),
       api_url => current_setting('data8_test.stall_url'));
SELECT data8.submit_cleanse('mails', 'email', 'Echo') AS fine_run \gset
SET data8.timeout = '300ms';
SET data8.max_retries = 0;
CALL data8.sync();
RESET data8.timeout;
RESET data8.max_retries;
SELECT id = :flaky_run AS flaky, state, attempts, error IS NOT NULL AS has_error FROM data8.runs
 WHERE id IN (:flaky_run, :fine_run) ORDER BY id;
-- a lock held by another session: lock_timeout is transient too
SELECT data8.set_profile('flaky', 'test-client', current_setting('data8_test.secret'),
       api_url => current_setting('data8_test.sim_url'));
SELECT dblink_connect('b', other_session());
SELECT dblink_exec('b', 'BEGIN');
SELECT dblink_exec('b', 'UPDATE crm2 SET id = id WHERE id = 5');
SET lock_timeout = '200ms';
CALL data8.sync();
RESET lock_timeout;
SELECT state, attempts, error FROM data8.runs WHERE id = :flaky_run;
SELECT dblink_exec('b', 'COMMIT');
SELECT dblink_disconnect('b');
CALL data8.sync();
SELECT state, attempts, rows_updated + rows_unchanged + rows_conflicted AS rows_applied FROM data8.runs WHERE id = :flaky_run;
-- a finished run never moves back, even for the extension owner
UPDATE data8.runs SET state = 'submitted' WHERE id = :flaky_run;

-- a sync killed half-way applies nothing twice when run again
CREATE TABLE applied_rows (id int, at timestamptz DEFAULT clock_timestamp());
CREATE FUNCTION public.slow_row() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN INSERT INTO public.applied_rows (id) VALUES (NEW.id); PERFORM pg_sleep(0.2); RETURN NEW; END $$;
CREATE TABLE killed_t (id int PRIMARY KEY, name text);
INSERT INTO killed_t SELECT g, 'n ' || g FROM generate_series(1, 20) g;
SELECT data8.submit_cleanse('killed_t', 'id', 'CleanseContacts', 'Contacts', 'Contacts') AS killed_run \gset
CREATE TRIGGER slow BEFORE UPDATE ON killed_t FOR EACH ROW EXECUTE FUNCTION public.slow_row();
SELECT (data8.wait_for_job(job_name)).state FROM data8.runs WHERE id = :killed_run;
SELECT dblink_connect('b', other_session());
SELECT dblink_send_query('b', 'CALL data8.sync()');
SELECT pg_sleep(1.5);
SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE query = 'CALL data8.sync()' AND pid <> pg_backend_pid();
-- (the killed backend holds the run's row lock until it is gone; the
-- activity snapshot is taken afresh each time round, or the loop would see
-- the first one for the whole transaction)
DO $$ BEGIN FOR i IN 1..400 LOOP
    PERFORM pg_stat_clear_snapshot();
    EXIT WHEN NOT EXISTS (SELECT 1 FROM pg_stat_activity WHERE query = 'CALL data8.sync()' AND pid <> pg_backend_pid());
    PERFORM pg_sleep(0.05); END LOOP; END $$;
SELECT dblink_disconnect('b');
SELECT state, (SELECT count(*) FROM applied_rows) AS rows_applied FROM data8.runs WHERE id = :killed_run;
CALL data8.sync();
SELECT state, rows_updated FROM data8.runs WHERE id = :killed_run;
SELECT count(*) AS rows_applied, count(DISTINCT id) AS distinct_rows FROM applied_rows;
SELECT count(*) FILTER (WHERE name = 'N ' || id) AS cleansed FROM killed_t;


-- found by a hostile review: an operator or a setting of hers never runs
-- with the rights of the sync() that applies her run
CREATE SCHEMA evil AUTHORIZATION d8_mallory;
SET ROLE d8_mallory;
CREATE TABLE evil.t (id int PRIMARY KEY, name text);
INSERT INTO evil.t VALUES (1, ' eve ');
CREATE FUNCTION evil.gt(bigint, bigint) RETURNS boolean LANGUAGE plpgsql AS $$
BEGIN EXECUTE 'ALTER ROLE d8_mallory SUPERUSER'; RETURN $1 OPERATOR(pg_catalog.>) $2; END $$;
CREATE OPERATOR evil.> (LEFTARG = bigint, RIGHTARG = bigint, FUNCTION = evil.gt);
CREATE FUNCTION evil.trg() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN PERFORM pg_catalog.set_config('search_path', 'evil, pg_catalog', false);
      PERFORM pg_catalog.set_config('extra_float_digits', '-15', false); RETURN NEW; END $$;
CREATE TRIGGER t BEFORE UPDATE ON evil.t FOR EACH ROW EXECUTE FUNCTION evil.trg();
SELECT data8.submit_cleanse('evil.t', 'id', 'CleanseContacts', 'Contacts', 'Contacts') AS evil_run \gset
SELECT (data8.wait_for_job(job_name)).state FROM data8.runs WHERE id = :evil_run;
SET search_path = evil, pg_catalog;
CALL data8.sync();
RESET search_path;
RESET ROLE;
SELECT data8.submit_cleanse('crm', 'id', 'Echo') AS bystander_run \gset
SELECT (data8.wait_for_job(job_name)).state FROM data8.runs WHERE id = :bystander_run;
SET search_path = public;
CALL data8.sync();
SHOW search_path;
SHOW extra_float_digits;
RESET search_path;
SELECT rolsuper FROM pg_roles WHERE rolname = 'd8_mallory';
SELECT state FROM data8.runs WHERE id IN (:evil_run, :bystander_run) ORDER BY id;
TABLE evil.t;

-- only columns that were sent (and fingerprinted) are written: an edit of
-- another column stands
CREATE TABLE flags (id int PRIMARY KEY, email text, email_valid boolean);
INSERT INTO flags VALUES (1, 'ANN@EXAMPLE.COM', NULL);
SELECT data8.submit_cleanse('flags', 'id', 'CleanseContacts', 'Contacts', 'Contacts', columns => '{email}') AS run \gset
UPDATE flags SET email_valid = false WHERE id = 1;
SELECT (data8.wait_for_job(job_name)).state FROM data8.runs WHERE id = :run;
CALL data8.sync();
TABLE flags;

-- a key that is no longer unique: the row sent is not known, none is written
CREATE TABLE nokey (id int, name text, note text);
INSERT INTO nokey VALUES (1, ' ann  lee ', 'sent');
SELECT data8.submit_cleanse('nokey', 'id', 'CleanseContacts', 'Contacts', 'Contacts', columns => '{name}') AS run \gset
INSERT INTO nokey VALUES (1, ' ann  lee ', 'added later');
SELECT (data8.wait_for_job(job_name)).state FROM data8.runs WHERE id = :run;
CALL data8.sync();
TABLE nokey ORDER BY note;
SELECT rows_updated, rows_conflicted FROM data8.runs WHERE id = :run;

-- fingerprints do not depend on the sessions' settings: a real edit of a
-- float is seen whatever extra_float_digits says
CREATE TABLE floats (id int PRIMARY KEY, x float8);
INSERT INTO floats VALUES (1, 0.1);
SET extra_float_digits = 0;
SELECT data8.submit_cleanse('floats', 'id', 'Echo') AS run \gset
UPDATE floats SET x = 0.1 + 2e-16;
SELECT (data8.wait_for_job(job_name)).state FROM data8.runs WHERE id = :run;
CALL data8.sync();
RESET extra_float_digits;
SELECT f.x = 0.1 AS reverted, r.rows_conflicted FROM floats f, data8.runs r WHERE r.id = :run;

-- a trigger that cleanses from inside an apply fails that run, alone
CREATE TABLE reentrant (id int PRIMARY KEY, name text);
INSERT INTO reentrant VALUES (1, ' x ');
CREATE FUNCTION public.resync() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN CALL data8.sync(); RETURN NEW; END $$;
CREATE TRIGGER resync BEFORE UPDATE ON reentrant FOR EACH ROW EXECUTE FUNCTION public.resync();
SELECT data8.submit_cleanse('reentrant', 'id', 'CleanseContacts', 'Contacts', 'Contacts') AS run \gset
SELECT (data8.wait_for_job(job_name)).state FROM data8.runs WHERE id = :run;
CALL data8.sync();
SELECT state, error FROM data8.runs WHERE id = :run;

-- 5. a failed set_profile keeps its secret out of the server log, whatever
-- log_min_error_statement says (test/regress.sh greps the log for it)
SET log_min_error_statement = error;
SELECT data8.set_profile('leaky', 'id', 'data8-canary-secret-4b1e', api_url => 'ftp://nope');
SELECT data8.set_profile('leaky', 'id', 'data8-canary-secret-4b1e', client_secret_file => '/x');
-- nor when the statement fails after set_profile returned
DO $$ BEGIN PERFORM data8.set_profile('leaky', 'id', 'data8-canary-secret-4b1e'); RAISE EXCEPTION 'later failure'; END $$;
RESET log_min_error_statement;
-- or the secret stays in a file the server reads at each use
SELECT '/tmp/data8-test-secret-' || pg_backend_pid() AS secret_file \gset
COPY (SELECT current_setting('data8_test.secret')) TO :'secret_file';
SELECT data8.set_profile('from_file', 'test-client', client_secret_file => :'secret_file',
       api_url => current_setting('data8_test.sim_url'),
       token_url => current_setting('data8_test.sim_url') || '/connect/token');
SELECT name, client_secret IS NULL AS no_secret_kept FROM data8.profile WHERE name = 'from_file';
SET data8.profile = 'from_file';
SELECT count(*) > 0 AS works FROM data8.datasets();
RESET data8.profile;
SELECT data8.set_profile('from_file', 'test-client', client_secret_file => '/no/such/file');

-- clean up the roles
REVOKE USAGE ON SCHEMA cron FROM d8_victim, d8_mallory;
DROP TABLE mallory_t, victim_t, shared_t;
DROP SCHEMA evil CASCADE;
DROP FUNCTION public.mallory_trigger();
DELETE FROM data8.profile_grant;
SELECT data8.unschedule_cleanse(name) FROM data8.schedules;
DROP EXTENSION pg_cron;
