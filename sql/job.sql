-- job: start, get, list and wait for jobs; the workflows of the simulator;
-- the errors (400, 404, 409, failed job, timeout) and the argument checks
\set VERBOSITY default
SELECT data8.set_profile('default', 'test-client', current_setting('data8_test.secret'),
       api_url => current_setting('data8_test.sim_url'),
       token_url => current_setting('data8_test.sim_url') || '/connect/token');
SET data8.poll_interval = '20ms';
\pset null '(null)'

-- the simulator's request log, from this test's first request on
CREATE TEMP VIEW sim_log_all AS
  SELECT row_number() OVER () AS n, l::jsonb AS e
    FROM regexp_split_to_table(rtrim(pg_read_file(current_setting('data8_test.sim_log')), E'\n'), E'\n') l;
CREATE TEMP TABLE log_start AS SELECT count(*) AS n FROM sim_log_all;
CREATE TEMP VIEW sim_log AS SELECT n, e FROM sim_log_all WHERE n > (SELECT n FROM log_start);
CREATE TEMP TABLE mark (n bigint);

-- an input dataset
SELECT name, input, completed FROM data8.create_dataset('jt_echo_in',
  '{"id": "integer", "name": "string", "score": "decimal", "ok": "boolean", "born": "date"}');
SELECT data8.upload_block('jt_echo_in', 0, '[
  {"id": 1, "name": "Ann", "score": 1.5, "ok": true, "born": "1980-01-31"},
  {"id": 2, "name": "Bob \"the\" builder", "score": null, "ok": false, "born": null}]');
SELECT data8.upload_block('jt_echo_in', 1, '[{"id": 3, "name": "Cy ✓", "score": -2.25, "ok": null, "born": "2001-12-01"}]');
SELECT data8.complete_dataset('jt_echo_in', 3);

-- Echo: the output dataset holds the same rows in the same order
SELECT name, workflow, status, state, percent_complete, submitted_at IS NOT NULL AS submitted,
       completed_at, input_datasets, output_datasets ? 'Output' AS has_output, parameters,
       input_filename
  FROM data8.start_job('jt echo 1', 'Echo', '{"Input": "jt_echo_in"}');
SELECT name, workflow, status, state, percent_complete, submitted_at <= completed_at AS ordered,
       message, statistics, input_datasets, output_datasets ? 'Output' AS has_output,
       parameters, input_filename, output_filenames
  FROM data8.wait_for_job('jt echo 1');
-- job names with spaces are percent-encoded in the path
SELECT DISTINCT e->>'method' AS method, e->>'path' AS path FROM sim_log
 WHERE e->>'path' LIKE '/Job/%' ORDER BY 1, 2;
SELECT d.input, d.completed, d.record_count, d.columns
  FROM data8.job('jt echo 1') j, data8.dataset(j.output_datasets->>'Output') d;
SELECT o.n, o.r, o.r = i.r AS same
  FROM data8.job('jt echo 1') j,
       data8.download_block(j.output_datasets->>'Output', 1, 1000) WITH ORDINALITY o(r, n)
  FULL JOIN (VALUES
    (1, '{"id": 1, "name": "Ann", "score": 1.5, "ok": true, "born": "1980-01-31"}'::jsonb),
    (2, '{"id": 2, "name": "Bob \"the\" builder", "score": null, "ok": false, "born": null}'),
    (3, '{"id": 3, "name": "Cy ✓", "score": -2.25, "ok": null, "born": "2001-12-01"}')) i(n, r)
    ON i.n = o.n
 ORDER BY o.n;
-- names are percent-encoded in paths: any allowed character works
SELECT name, state FROM data8.start_job('jt echo 100% + ü & #;=.', 'Echo', '{"Input": "jt_echo_in"}');
SELECT name, state FROM data8.wait_for_job('jt echo 100% + ü & #;=.');
SELECT name, workflow FROM data8.job('jt echo 100% + ü & #;=.');
SELECT DISTINCT e->>'path' AS path FROM sim_log WHERE e->>'path' LIKE '/Job/jt%echo%100%' ORDER BY 1;
-- a window of the output
SELECT r->>'id' AS id
  FROM data8.job('jt echo 1') j, data8.download_block(j.output_datasets->>'Output', 2, 5) r;

-- progress: a NOTICE per poll when data8.progress is on (a finished job: one)
SET data8.progress = on;
SELECT state FROM data8.wait_for_job('jt echo 1');
-- (a running job's NOTICEs show its state, percentage and estimated finish,
-- which vary from run to run: exercised here with the NOTICEs hidden)
SELECT state FROM data8.start_job('jt echo 3', 'Echo', '{"Input": "jt_echo_in"}');
SET client_min_messages = warning;
SELECT state FROM data8.wait_for_job('jt echo 3');
RESET client_min_messages;
RESET data8.progress;

-- CleanseContacts: trims and proper-cases names, lower-cases emails, E.164
-- phones, postcodes upper case with one space, validity flags; other
-- columns pass through
SELECT (data8.create_dataset('jt_contacts', '{"id": "integer", "name": "string",
  "email": "string", "phone": "string", "postcode": "string", "notes": "string"}')).name;
SELECT data8.upload_block('jt_contacts', 0, '[
  {"id": 1, "name": "  jOHN   o''neil-SMITH ", "email": " John.Doe@Example.COM ",
   "phone": "020 7946 0018", "postcode": "sw1a1aa", "notes": "  keep  me "},
  {"id": 2, "name": "mary ann", "email": "not@an@email", "phone": "+44 (0)161 496 0000",
   "postcode": "m1 1ae", "notes": null},
  {"id": 3, "name": "ÉLODIE durand", "email": "elodie@example", "phone": "12345",
   "postcode": "xx", "notes": "x"},
  {"id": 4, "name": null, "email": null, "phone": "0044 7700 900123", "postcode": " ec1a 1bb ", "notes": ""}]');
SELECT data8.complete_dataset('jt_contacts', 4);
SELECT state FROM data8.start_job('jt cleanse 1', 'CleanseContacts', '{"Contacts": "jt_contacts"}');
SELECT state, statistics FROM data8.wait_for_job('jt cleanse 1');
SELECT d.columns FROM data8.job('jt cleanse 1') j, data8.dataset(j.output_datasets->>'Contacts') d;
SELECT r->>'id' AS id, r->>'name' AS name, r->>'email' AS email, r->'email_valid' AS email_ok,
       r->>'phone' AS phone, r->'phone_valid' AS phone_ok, r->>'postcode' AS postcode,
       r->'postcode_valid' AS postcode_ok, r->'notes' AS notes
  FROM data8.job('jt cleanse 1') j, data8.download_block(j.output_datasets->>'Contacts', 1, 10) r;

-- ContactDeceasedCheck: MaxContactAge is sent as a string (numbers as text)
SELECT name, state, parameters, input_filename
  FROM data8.start_job('jt deceased 1', 'ContactDeceasedCheck', '{"Contacts": "jt_contacts"}',
                       parameters => '{"MaxContactAge": 5, "Unused": null}',
                       input_filename => '/ToData8/contact.csv');
SELECT state, parameters FROM data8.wait_for_job('jt deceased 1', timeout => '1 minute');
SELECT r->>'id' AS id, r->>'name' AS name, r->'deceased' AS deceased, r->'mover' AS mover
  FROM data8.job('jt deceased 1') j, data8.download_block(j.output_datasets->>'Contacts', 1, 10) r;
-- an invalid MaxContactAge: 400 with the service's errors in DETAIL
SELECT state FROM data8.start_job('jt deceased 2', 'ContactDeceasedCheck', '{"Contacts": "jt_contacts"}',
                                  parameters => '{"MaxContactAge": "five"}');
SELECT state FROM data8.start_job('jt deceased 2', 'ContactDeceasedCheck', '{"Contacts": "jt_contacts"}',
                                  parameters => '{"MaxContactAge": -1}');
\set VERBOSITY sqlstate
SELECT state FROM data8.start_job('jt deceased 2', 'ContactDeceasedCheck', '{"Contacts": "jt_contacts"}',
                                  parameters => '{"MaxContactAge": true}');
\set VERBOSITY default
SELECT data8.job('jt deceased 2');

-- AlwaysFails: wait_for_job raises 38000 with the job's message in DETAIL
SELECT state FROM data8.start_job('jt fails 1', 'AlwaysFails', '{"Input": "jt_echo_in"}');
SELECT * FROM data8.wait_for_job('jt fails 1');
\set VERBOSITY sqlstate
SELECT * FROM data8.wait_for_job('jt fails 1');
\set VERBOSITY default
SELECT status, state, percent_complete, message, output_datasets FROM data8.job('jt fails 1');
-- the reference's Job has no message: FailsSilently ends in status 3 without
-- one, and DETAIL says plainly that Data8 gave no reason
SELECT state FROM data8.start_job('jt fails quietly', 'FailsSilently', '{"Input": "jt_echo_in"}');
SELECT * FROM data8.wait_for_job('jt fails quietly');
SELECT status, message, statistics FROM data8.job('jt fails quietly');
-- the same reason for PL/pgSQL, from a data8.job value (NULL unless it failed
-- or was cancelled)
SELECT n AS name, data8.job_failure_reason(data8.job(n)) AS reason
  FROM unnest(ARRAY['jt fails 1', 'jt fails quietly']) n ORDER BY 1;
SELECT data8.job_failure_reason(ROW('x', 'w', 4, 'cancelled', 100, NULL, NULL, NULL, NULL, NULL,
                                    NULL, NULL, NULL, NULL, NULL)::data8.job) AS cancelled,
       data8.job_failure_reason(ROW('x', 'w', 2, 'completed', 100, NULL, NULL, NULL, 'ok', '{}',
                                    NULL, NULL, NULL, NULL, NULL)::data8.job) AS completed;

-- timeout: 57014 (query_canceled, which WHEN OTHERS does not catch); the
-- job keeps running at Data8 and can be waited for again.  50,000 records
-- take the simulator's job about a second.
SELECT (data8.create_dataset('jt_big', '{"id": "integer", "v": "string"}')).name;
SELECT sum(data8.upload_block('jt_big', b,
         (SELECT jsonb_agg(jsonb_build_object('id', i, 'v', 'row ' || i) ORDER BY i)
            FROM generate_series(b * 1000 + 1, b * 1000 + 1000) i)))
  FROM generate_series(0, 49) b;
SELECT data8.complete_dataset('jt_big', 50000);
SELECT state FROM data8.start_job('jt big 1', 'Echo', '{"Input": "jt_big"}');
DO $$
DECLARE
  st text; msg text; det text; hint text;
BEGIN
  PERFORM data8.wait_for_job('jt big 1', timeout => '1 millisecond');
  RAISE NOTICE 'no error';
EXCEPTION WHEN query_canceled THEN
  GET STACKED DIAGNOSTICS st = RETURNED_SQLSTATE, msg = MESSAGE_TEXT,
                          det = PG_EXCEPTION_DETAIL, hint = PG_EXCEPTION_HINT;
  RAISE NOTICE 'SQLSTATE %: %', st, msg;
  RAISE NOTICE 'detail matches: %',
    det ~ '^The job is (queued|running) \([0-9.]+% complete\) and keeps running at Data8\.$';
  RAISE NOTICE 'HINT: %', hint;
END
$$;
SELECT state, statistics FROM data8.wait_for_job('jt big 1');
SELECT count(*), min((r->>'id')::int), max((r->>'id')::int),
       bool_and(r->>'v' = 'row ' || (r->>'id')) AS values_ok
  FROM data8.job('jt big 1') j,
       generate_series(1, 50000, 1000) s,
       data8.download_block(j.output_datasets->>'Output', s, 1000) r;
SELECT bool_and(r.id = r.n) AS in_order
  FROM data8.job('jt big 1') j,
       data8.download_block(j.output_datasets->>'Output', 1001, 1000) WITH ORDINALITY r0(r, n0),
       LATERAL (SELECT (r0.r->>'id')::bigint AS id, n0 + 1000 AS n) r;

-- 409: a job name is unique
SELECT state FROM data8.start_job('jt echo 1', 'Echo', '{"Input": "jt_echo_in"}');
\set VERBOSITY sqlstate
SELECT state FROM data8.start_job('jt echo 1', 'Echo', '{"Input": "jt_echo_in"}');
\set VERBOSITY default

-- 404: an unknown job
SELECT data8.job('jt no such job');
SELECT data8.wait_for_job('jt no such job');
\set VERBOSITY sqlstate
SELECT data8.job('jt no such job');
\set VERBOSITY default

-- 400: the service's validation (unknown workflow, inputs)
SELECT data8.start_job('jt bad 1', 'NoSuchWorkflow', '{"Input": "jt_echo_in"}');
\set VERBOSITY sqlstate
SELECT data8.start_job('jt bad 1', 'NoSuchWorkflow', '{"Input": "jt_echo_in"}');
\set VERBOSITY default
SELECT data8.start_job('jt bad 2', 'Echo');
SELECT data8.start_job('jt bad 3', 'Echo', '{"Input": "jt_echo_in", "Other": "jt_big"}');
SELECT data8.start_job('jt bad 4', 'Echo', '{"Input": "jt_no_such_dataset"}');
SELECT (data8.create_dataset('jt_open', '{"a": 0}')).name;
SELECT data8.start_job('jt bad 5', 'Echo', '{"Input": "jt_open"}');
SELECT count(*) FROM data8.jobs() WHERE name LIKE 'jt bad%';

-- arguments checked before anything is sent
-- (by sequence number: a faulted request of before may be logged late;
-- and the simulator logs a request once its answer is out, so the last
-- one may not be in the log yet when its answer is read)
DO $$ BEGIN PERFORM pg_sleep(0.3); END $$;
INSERT INTO mark SELECT max((e->>'seq')::bigint) FROM sim_log_all;
SELECT data8.start_job('jt/1', 'Echo');
SELECT data8.start_job('jt:1', 'Echo');
SELECT data8.start_job('jt*1', 'Echo');
SELECT data8.start_job('jt?1', 'Echo');
SELECT data8.start_job('jt"1', 'Echo');
SELECT data8.start_job('jt<1', 'Echo');
SELECT data8.start_job('jt>1', 'Echo');
SELECT data8.start_job('jt|1', 'Echo');
SELECT data8.start_job(E'jt\\1', 'Echo');
SELECT data8.start_job(E'jt\n1', 'Echo');
SELECT data8.start_job('', 'Echo');
SELECT data8.start_job(repeat('j', 201), 'Echo');
\set VERBOSITY sqlstate
SELECT data8.start_job('jt/1', 'Echo');
SELECT data8.start_job('', 'Echo');
SELECT data8.start_job(repeat('j', 201), 'Echo');
\set VERBOSITY default
SELECT data8.start_job('..', 'Echo');
SELECT data8.start_job(NULL, 'Echo');
SELECT data8.start_job('jt ok', NULL);
SELECT data8.start_job('jt ok', '');
SELECT data8.start_job('jt ok', 'Echo', '[]');
SELECT data8.start_job('jt ok', 'Echo', '"jt_echo_in"');
SELECT data8.start_job('jt ok', 'Echo', '{"Input": 1}');
SELECT data8.start_job('jt ok', 'Echo', '{"Input": "Bad-Name"}');
SELECT data8.start_job('jt ok', 'Echo', '{"": "jt_echo_in"}');
SELECT data8.start_job('jt ok', 'Echo', '{"Input": "jt_echo_in"}', '[1]');
SELECT data8.start_job('jt ok', 'Echo', '{"Input": "jt_echo_in"}', '{"a": {"b": 1}}');
SELECT data8.start_job('jt ok', 'Echo', '{"Input": "jt_echo_in"}', '{"a": [1]}');
SELECT data8.start_job('jt ok', 'Echo', '{"Input": "jt_echo_in"}', input_filename => '');
SELECT data8.job('jt/1');
SELECT data8.job('');
SELECT data8.job(NULL) IS NULL AS null_job;
SELECT data8.wait_for_job('jt?1');
SELECT data8.wait_for_job(NULL);
SELECT data8.wait_for_job('jt echo 1', '0');
SELECT data8.wait_for_job('jt echo 1', '-1 second');
SELECT data8.wait_for_job('jt echo 1', '1 month -31 days');
SELECT * FROM data8.jobs(workflow => '');
SELECT * FROM data8.jobs(start_date => 'infinity');
SELECT * FROM data8.download_block('jt_echo_in', 0, 10);
SELECT * FROM data8.download_block('jt_echo_in', 1, 0);
SELECT * FROM data8.download_block('jt_echo_in', 1, 1001);
SELECT count(*) AS requests_sent FROM sim_log_all WHERE (e->>'seq')::bigint > (SELECT n FROM mark);
-- NULL input_datasets and parameters are sent as {} (here the service then
-- misses the workflow's input); a NULL timeout waits without limit
SELECT state FROM data8.start_job('jt deceased 3', 'ContactDeceasedCheck', NULL, NULL);
SELECT state, input_datasets FROM data8.start_job('jt echo 2', 'Echo', '{"Input": "jt_echo_in"}', NULL, NULL);
SELECT state FROM data8.wait_for_job('jt echo 2', NULL);

-- an input dataset cannot be downloaded (400)
SELECT * FROM data8.download_block('jt_echo_in', 1, 10);

-- jobs(): every page, newest first, with filters
SELECT count(data8.start_job('jt page ' || lpad(i::text, 3, '0'), 'AlwaysFails', '{"Input": "jt_echo_in"}'))
  FROM generate_series(1, 105) i;
SELECT count(*), min(name), max(name),
       bool_and(state IN ('queued', 'running', 'failed')) AS states_ok
  FROM data8.jobs() WHERE name LIKE 'jt page %';
SELECT (array_agg(name ORDER BY n) FILTER (WHERE name LIKE 'jt page%'))[1:3] AS newest_first
  FROM data8.jobs() WITH ORDINALITY j(name, workflow, status, state, percent_complete, submitted_at,
       completed_at, estimated_finish_time, message, statistics, input_datasets, output_datasets,
       parameters, input_filename, output_filenames, n);
SELECT DISTINCT e->>'query' AS query FROM sim_log
 WHERE e->>'path' = '/Job' AND e->>'method' = 'GET' ORDER BY 1;
SELECT name, workflow, status, state, percent_complete, completed_at IS NOT NULL AS finished,
       estimated_finish_time, message, statistics, input_datasets, output_datasets
  FROM data8.jobs(workflow => 'Echo') WHERE name LIKE 'jt %' ORDER BY name;
SELECT workflow, count(*) FROM data8.jobs() WHERE name LIKE 'jt %' GROUP BY 1 ORDER BY 1;
SELECT count(*) FROM data8.jobs(workflow => 'NoSuchWorkflow');
SELECT count(*) FROM data8.jobs(start_date => '2000-01-01 00:00+00', end_date => '2000-12-31 23:59:59.5+01');
SELECT count(*) FROM data8.jobs(end_date => '2000-01-01 00:00+00');
SELECT count(*) AS all_jt_jobs FROM data8.jobs(start_date => now() - interval '1 hour')
 WHERE name LIKE 'jt %';
SELECT count(*) FROM data8.jobs(workflow => 'ContactDeceasedCheck', start_date => now() - interval '1 hour',
                                end_date => now() + interval '1 hour') WHERE name LIKE 'jt %';
SELECT DISTINCT e->>'query' AS query FROM sim_log
 WHERE e->>'path' = '/Job' AND e->>'method' = 'GET' AND e->>'query' LIKE '%2000%' ORDER BY 1;
