-- stream: upload_dataset and fetch_output, types, block boundaries, errors
\set VERBOSITY default
SELECT data8.set_profile('default', 'test-client', current_setting('data8_test.secret'),
       api_url => current_setting('data8_test.sim_url'),
       token_url => current_setting('data8_test.sim_url') || '/connect/token');

-- Runs an Echo job on an input dataset and returns the output dataset's name.
CREATE FUNCTION echo(input text) RETURNS text LANGUAGE sql AS $$
    SELECT (data8.wait_for_job((data8.start_job('echo ' || input, 'Echo',
            jsonb_build_object('Input', input))).name)).output_datasets->>'Output'
$$;
-- The PATCHes the simulator took for a dataset (faults injected left out):
-- block number, record count and status.
CREATE FUNCTION blocks_sent(dataset text) RETURNS TABLE (block int, records int, status int)
LANGUAGE sql AS $$
    SELECT (l->>'block')::int, (l->>'records')::int, (l->>'status')::int
      FROM regexp_split_to_table(pg_read_file(current_setting('data8_test.sim_log')), E'\n') AS t(line),
           LATERAL (SELECT t.line::jsonb AS l) j
     WHERE t.line <> '' AND l->>'method' = 'PATCH' AND l->>'path' = '/Dataset/' || dataset || '/data'
       AND l->>'fault' IS NULL
     ORDER BY (l->>'block')::int, (l->>'seq')::bigint
$$;

-- every supported type, NULLs, Unicode, quotes, backslashes, empty strings,
-- control characters and extreme values
CREATE TABLE types (
    id      integer PRIMARY KEY,
    t       text,
    vc      varchar(20),
    ch      char(5),
    i2      smallint,
    i8      bigint,
    num     numeric,
    f8      double precision,
    b       boolean,
    d       date,
    ts      timestamp,
    tstz    timestamptz,
    u       uuid
);
INSERT INTO types VALUES
    (1, 'plain', 'v', 'ab', 1, 1, 1.5, 1.5, true, '2024-02-29', '2024-02-29 13:14:15', '2024-02-29 13:14:15+00', 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'),
    (2, 'quote " and \ backslash', 'it''s', 'x', -32768, -9223372036854775808, -123456789.123456789, -1e300, false, '0001-01-01', '1970-01-01 00:00:00.000001', '1999-12-31 23:59:59.999999+00', NULL),
    (3, 'Ünïcödé ✓ 日本語 😀', '', '     ', 32767, 9223372036854775807, 0.000001, 2.2250738585072014e-308, NULL, '9999-12-31', '9999-12-31 23:59:59', '2000-06-15 12:00:00+02', NULL),
    (4, E'tab\there\nnewline\r\u0001ctl', NULL, NULL, 0, 0, 0, 0, true, NULL, NULL, NULL, NULL),
    (5, '', NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL),
    (6, NULL, NULL, NULL, NULL, NULL, 99999999999999.99, 123456789012345678, NULL, NULL, NULL, NULL, NULL),
    (7, NULL, NULL, NULL, NULL, NULL, 12345678901234567890.123456789, 5e-324, NULL, NULL, NULL, NULL, NULL),
    (8, NULL, NULL, NULL, NULL, NULL, -0.0000000000000000000000000001, 1.7976931348623157e308, NULL, NULL, NULL, NULL, NULL);
SELECT dataset, records, blocks FROM data8.upload_dataset('st_types', 'SELECT * FROM types ORDER BY id');
-- eight rows: one block
SELECT count(*) AS blocks FROM blocks_sent('st_types');
SELECT columns FROM data8.dataset('st_types');
SELECT echo('st_types') AS out \gset
-- rows come back equal, value for value
SELECT count(*) AS rows_back FROM data8.fetch_output(:'out', NULL::types);
SELECT * FROM types EXCEPT SELECT * FROM data8.fetch_output(:'out', NULL::types);
SELECT * FROM data8.fetch_output(:'out', NULL::types) EXCEPT SELECT * FROM types;
-- t last: psql before 15 counts the emoji one column wide, not two, and the
-- last column is not padded (its width is set by row 2, the longest)
SELECT id, ch, num, f8, tstz, t FROM data8.fetch_output(:'out', NULL::types) ORDER BY id;
-- a column definition list may take a subset of the columns, in any order
SELECT u, id FROM data8.fetch_output(:'out') AS f(u uuid, id int) WHERE u IS NOT NULL;
-- fetch_output_json keeps dataset order
SELECT r->>'id' AS id, r ? 'vc' AS has_vc FROM data8.fetch_output_json(:'out') r;

-- numerics come back with the value and scale they went with: up to 18
-- digits by the fast path (PostgreSQL 15 on), beyond by numeric_in
CREATE TABLE nums (id integer, n numeric);
INSERT INTO nums VALUES (1, 0), (2, 0.0), (3, -0.50), (4, 1.10), (5, 100),
    (6, 123456789012345678), (7, -999999999999999999), (8, 1234567890123456789),
    (9, 0.000000000000000001), (10, 12.345678901234567800), (11, -1),
    (12, 1e-20), (13, 99999999.9999999999), (14, -0.000001), (15, NULL);
SELECT records FROM data8.upload_dataset('st_nums', 'SELECT * FROM nums ORDER BY id');
SELECT echo('st_nums') AS out \gset
SELECT id, f.n, f.n::text = n.n::text AS same_text,
       numeric_send(f.n) = numeric_send(n.n) AS same_binary
  FROM data8.fetch_output(:'out', NULL::nums) f JOIN nums n USING (id) ORDER BY id;

-- 0 rows, exactly 1,000 and 1,001: the block boundaries the service saw
SELECT dataset, records, blocks FROM data8.upload_dataset('st_zero', 'SELECT 1 AS x WHERE false');
SELECT record_count, completed FROM data8.dataset('st_zero');
SELECT dataset, records, blocks FROM data8.upload_dataset('st_1000', 'SELECT i AS x FROM generate_series(1, 1000) i');
SELECT * FROM blocks_sent('st_1000');
SELECT dataset, records, blocks FROM data8.upload_dataset('st_1001', 'SELECT i AS x FROM generate_series(1, 1001) i');
SELECT * FROM blocks_sent('st_1001');
SELECT echo('st_1001') AS out \gset
SELECT count(*), sum(x), min(x), max(x) FROM data8.fetch_output(:'out') AS f(x int);
-- rows in dataset order across pages
SELECT bool_and(x = n) AS in_order FROM (
    SELECT x, row_number() OVER () AS n FROM data8.fetch_output(:'out') AS f(x int)) s;
SELECT echo('st_zero') AS out0 \gset
SELECT count(*) FROM data8.fetch_output(:'out0') AS f(x int);

-- a larger upload with several blocks in flight, and its progress report
SET data8.parallel_requests = 8;
SELECT dataset, records, blocks FROM data8.upload_dataset('st_big',
       'SELECT i AS id, md5(i::text) AS h FROM generate_series(1, 25000) i');
SELECT count(*) AS blocks, min(block), max(block), sum(records) FROM blocks_sent('st_big');
RESET data8.parallel_requests;
SELECT echo('st_big') AS out \gset
SELECT count(*), count(DISTINCT id), sum(id) FROM data8.fetch_output(:'out') AS f(id int, h text);
SELECT count(*) FROM data8.fetch_output(:'out') AS f(id int, h text) WHERE h <> md5(id::text);
-- a scrollable cursor reads them backwards too, from rows kept on disk
BEGIN;
SET LOCAL work_mem = '64kB';
DECLARE back SCROLL CURSOR FOR
    SELECT id, h = md5(id::text) AS h_ok FROM data8.fetch_output(:'out') AS f(id int, h text);
FETCH LAST FROM back;
FETCH BACKWARD 2 FROM back;
FETCH ABSOLUTE 1000 FROM back;
FETCH PRIOR FROM back;
COMMIT;

-- scale-out: two parts into disjoint block ranges, then one completion
SELECT dataset, records, blocks FROM data8.upload_dataset('st_parts',
       'SELECT i AS x FROM generate_series(1, 1500) i', first_block => 0, complete => false);
SELECT dataset, records, blocks FROM data8.upload_dataset('st_parts',
       'SELECT i AS x FROM generate_series(1501, 2000) i', first_block => 2, complete => false);
SELECT data8.complete_dataset('st_parts', 2000);
SELECT * FROM blocks_sent('st_parts');
SELECT echo('st_parts') AS out \gset
SELECT count(*), sum(x) FROM data8.fetch_output(:'out') AS f(x int);

-- a failed upload is finished by calling again with the same arguments
SELECT dataset, records FROM data8.upload_dataset('st_retry', 'SELECT i AS x FROM generate_series(1, 10) i', complete => false);
SELECT dataset, records FROM data8.upload_dataset('st_retry', 'SELECT i AS x FROM generate_series(1, 10) i');
SELECT record_count, completed FROM data8.dataset('st_retry');

-- refused before anything is sent
SELECT data8.upload_dataset('St Bad', 'SELECT 1 AS x');
SELECT data8.upload_dataset('st_err', 'SELECT 1 AS "X"');
SELECT data8.upload_dataset('st_err', 'SELECT 1');
SELECT data8.upload_dataset('st_err', 'SELECT ARRAY[1] AS a');
SELECT data8.upload_dataset('st_err', 'SELECT ROW(1, 2) AS r');
SELECT data8.upload_dataset('st_err', 'SELECT 1 AS a, 2 AS a');
SELECT data8.upload_dataset('st_err', 'CREATE TABLE x (a int)');
SELECT data8.upload_dataset('st_err', 'SELECT FROM nowhere');
SELECT data8.upload_dataset('st_err', 'SELECT 1 AS x', first_block => -1);
SELECT data8.upload_dataset('st_err', 'SELECT 1 AS x', first_block => 5);
SELECT data8.upload_dataset(NULL, 'SELECT 1 AS x');
SELECT count(*) AS requests_for_st_err FROM
  regexp_split_to_table(pg_read_file(current_setting('data8_test.sim_log')), E'\n') AS l
 WHERE l LIKE '%st_err%' OR l LIKE '%St Bad%';
-- values JSON cannot carry: an error naming the column and row
SELECT data8.upload_dataset('st_nan', 'SELECT i AS id, CASE WHEN i = 1500 THEN ''NaN''::float8 ELSE i END AS f FROM generate_series(1, 2000) i');
SELECT data8.upload_dataset('st_inf', 'SELECT ''infinity''::date AS d');
-- an existing dataset with other columns, or complete
SELECT data8.upload_dataset('st_retry', 'SELECT 1 AS y');
SELECT data8.upload_dataset('st_1000', 'SELECT 1 AS x');

-- fetch errors (output dataset names are the simulator's: shown without their number)
SELECT try(format('SELECT * FROM data8.fetch_output(%L) AS f(x int, nope text)', :'out'));
SELECT try(format('SELECT * FROM data8.fetch_output(%L) AS f(x date)', :'out'));
SELECT * FROM data8.fetch_output('st_1000') AS f(x int);
SELECT * FROM data8.fetch_output('st_missing') AS f(x int);
SELECT * FROM data8.fetch_output(:'out', NULL::int);
SELECT * FROM data8.fetch_output('Bad Name') AS f(x int);
SELECT * FROM data8.fetch_output_json('st_1000');

-- cancellation mid-upload and mid-fetch returns promptly; a retry finishes
SET statement_timeout = '20ms';
SELECT data8.upload_dataset('st_cancel', 'SELECT i AS id, repeat(''x'', 50) AS pad FROM generate_series(1, 300000) i');
RESET statement_timeout;
SELECT dataset, records FROM data8.upload_dataset('st_cancel', 'SELECT i AS id, repeat(''x'', 50) AS pad FROM generate_series(1, 300000) i');
SELECT record_count, completed FROM data8.dataset('st_cancel');
SELECT echo('st_cancel') AS out \gset
SET statement_timeout = '20ms';
SELECT count(*) FROM data8.fetch_output(:'out') AS f(id int, pad text);
RESET statement_timeout;
SELECT count(*), sum(id) FROM data8.fetch_output(:'out') AS f(id int, pad text);

-- the request window: auto by default, a number fixes it, nothing else is taken
SHOW data8.parallel_requests;
SET data8.parallel_requests = 0;
SET data8.parallel_requests = 'many';
SET data8.parallel_requests = 'AUTO';
SELECT dataset, records, window_size BETWEEN 1 AND 32 AS window_ok
  FROM data8.upload_dataset('st_window', 'SELECT i AS x FROM generate_series(1, 20000) i');
SET data8.parallel_requests = 3;
SELECT dataset, records, window_size
  FROM data8.upload_dataset('st_window3', 'SELECT i AS x FROM generate_series(1, 5000) i');
RESET data8.parallel_requests;
