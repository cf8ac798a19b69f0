-- memcheck-quick: a small upload/fetch round trip, a 404, a 400 and a
-- cancelled request, for test/memcheck/valgrind.sh quick.  Run with psql
-- (ON_ERROR_STOP); the output is not compared, valgrind's logs are what count.
\set ON_ERROR_STOP on
\set VERBOSITY terse
SELECT data8.set_profile('default', 'test-client', current_setting('data8_test.secret'),
       api_url => current_setting('data8_test.sim_url'),
       token_url => current_setting('data8_test.sim_url') || '/connect/token');
DROP TABLE IF EXISTS mc_rows;
CREATE TABLE mc_rows AS
    SELECT i AS id, 'name ' || i AS name, i * 1.5 AS amount, (i % 2 = 0) AS flag,
           date '2024-01-01' + i AS day, E'quote " back\\ ünï ' || i AS note
      FROM generate_series(1, 2500) i;
SELECT dataset, records, blocks
  FROM data8.upload_dataset('mc_quick_' || md5(clock_timestamp()::text), 'SELECT * FROM mc_rows ORDER BY id') \gset
SELECT (data8.wait_for_job((data8.start_job('mc ' || :'dataset', 'Echo',
        jsonb_build_object('Input', :'dataset'))).name)).output_datasets->>'Output' AS out \gset
SELECT count(*) AS rows_back, sum(id) = 2500 * 2501 / 2 AS sums_match
  FROM data8.fetch_output(:'out', NULL::mc_rows);
SELECT count(*) FROM data8.fetch_output_json(:'out');
SELECT count(*) FROM data8.datasets();
SELECT count(*) FROM data8.download_block(:'out', 1, 10);
-- error paths: ERRORs raised after a request (404, 400) and before one
\set ON_ERROR_STOP off
SELECT data8.dataset('mc_no_such_dataset');
SELECT data8.create_dataset('mc bad name', '{"a": 0}');
SELECT data8.complete_dataset(:'dataset', 1);
SELECT * FROM data8.fetch_output('mc_no_such_dataset') AS t(id int);
-- a cancelled request (statement_timeout) against the stalling simulator
SELECT data8.set_profile('stall', 'test-client', current_setting('data8_test.secret'),
       api_url => current_setting('data8_test.stall_url'),
       token_url => current_setting('data8_test.stall_url') || '/connect/token');
SET data8.profile = 'stall';
SET statement_timeout = '300ms';
SELECT count(*) FROM data8.datasets();
SELECT count(*) FROM data8.datasets();
SELECT * FROM data8.upload_dataset('mc_stalled', 'SELECT * FROM mc_rows');
RESET statement_timeout;
SET data8.profile = 'default';
\set ON_ERROR_STOP on
SELECT count(*) > 0 AS alive FROM data8.datasets();
