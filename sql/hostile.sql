-- hostile: a service that answers badly (a simulator started with --hostile)
-- and hostile names. Every bad answer must end in a clear ERROR with a
-- SQLSTATE, never a crash, a hang or unbounded memory, and the backend must
-- stay usable afterwards.
\set VERBOSITY default
SELECT data8.set_profile('default', 'test-client', current_setting('data8_test.secret'),
       api_url => current_setting('data8_test.hostile_url'),
       token_url => current_setting('data8_test.hostile_url') || '/connect/token');

-- Runs a command; shows its SQLSTATE, message, DETAIL and the first line of
-- CONTEXT that the error itself set (not this function's EXECUTE)
CREATE FUNCTION hostile_try(command text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    msg text;
    detail text;
    context text;
    state text;
BEGIN
    EXECUTE command;
    RETURN 'ok';
EXCEPTION WHEN OTHERS THEN
    GET STACKED DIAGNOSTICS msg = MESSAGE_TEXT, detail = PG_EXCEPTION_DETAIL,
                            context = PG_EXCEPTION_CONTEXT, state = RETURNED_SQLSTATE;
    context := split_part(context, E'\n', 1);
    IF context LIKE 'SQL statement %' OR context LIKE 'PL/pgSQL function %' THEN
        context := NULL;
    END IF;
    RETURN state || ': ' || msg
           || coalesce(E'\nDETAIL: ' || nullif(detail, ''), '')
           || coalesce(E'\nCONTEXT: ' || nullif(context, ''), '');
END
$$;

-- This backend's peak resident memory (kB), from /proc
CREATE FUNCTION hostile_peak_kb() RETURNS bigint LANGUAGE sql AS $$
    SELECT substring(pg_read_file('/proc/' || pg_backend_pid() || '/status')
                     FROM 'VmHWM:\s+(\d+) kB')::bigint
$$;

-- The four calls of a mode, each as hostile_try shows it
CREATE FUNCTION hostile_calls(name text) RETURNS TABLE (call text, result text)
LANGUAGE sql AS $$
    SELECT c, hostile_try(format(c, quote_literal(name)))
      FROM unnest(ARRAY['SELECT data8.dataset(%s)',
                        'SELECT count(*) FROM data8.download_block(%s, 1, 10)',
                        'SELECT count(*) FROM data8.fetch_output(%s) AS t(id int, name text)',
                        'SELECT count(*) FROM data8.fetch_output_json(%s)']) WITH ORDINALITY u(c, i)
     ORDER BY i
$$;

-- The hostile simulator's request log
CREATE FUNCTION hostile_log() RETURNS SETOF jsonb LANGUAGE sql AS $$
    SELECT l::jsonb FROM regexp_split_to_table(
        pg_read_file(current_setting('data8_test.hostile_log')), E'\n') l
     WHERE l <> ''
$$;

-- an unknown mode is the ordinary service
SELECT data8.dataset('hostile_no_such_mode');

-- invalid JSON: {"name": "x", followed by garbage
SELECT data8.dataset('hostile_invalid_json');
\set VERBOSITY sqlstate
SELECT data8.dataset('hostile_invalid_json');
\set VERBOSITY default
SELECT * FROM hostile_calls('hostile_invalid_json');
SELECT * FROM hostile_calls('hostile_invalid_json_page');
SELECT 1;

-- truncated JSON (Content-Length matches the cut body)
SELECT data8.dataset('hostile_truncated_json');
SELECT * FROM hostile_calls('hostile_truncated_json');
SELECT * FROM hostile_calls('hostile_truncated_json_page');
SELECT 1;

-- JSON nested 100,000 deep
SELECT data8.dataset('hostile_deep_json');
SELECT * FROM hostile_calls('hostile_deep_json');
SELECT * FROM hostile_calls('hostile_deep_json_page');
SELECT 1;

-- a 200 MB answer, chunked: refused past 64 MB, memory stays bounded (the
-- _page dataset promises the 3,276,800 records, so pages are fetched with
-- data8.parallel_requests in flight, each buffering up to 64 MB): the
-- backend's memory contexts give back what the answers took, and its peak
-- stays below 512 MB.  The contexts are read from pg_backend_memory_contexts,
-- which came in PostgreSQL 14; before 14 nothing shows them, so that check is
-- skipped there (the \else branch: memory_freed is t without a measurement).
SELECT current_setting('server_version_num')::int >= 140000 AS have_memory_contexts \gset
\if :have_memory_contexts
SELECT sum(total_bytes) AS mem_before FROM pg_backend_memory_contexts \gset
\endif
SELECT hostile_peak_kb() AS peak_before \gset
SELECT data8.dataset('hostile_huge');
SELECT * FROM hostile_calls('hostile_huge');
SELECT * FROM hostile_calls('hostile_huge_page');
\if :have_memory_contexts
SELECT sum(total_bytes) - :mem_before < 100 * 1024 * 1024 AS memory_freed
  FROM pg_backend_memory_contexts \gset
\else
\set memory_freed t
\endif
SELECT :'memory_freed'::boolean AS memory_freed,
       hostile_peak_kb() - :peak_before < 512 * 1024 AS peak_below_512mb;
SELECT 1;

-- HTML with Content-Type text/html
SELECT data8.dataset('hostile_wrong_type');
SELECT * FROM hostile_calls('hostile_wrong_type');
SELECT * FROM hostile_calls('hostile_wrong_type_page');
SELECT 1;

-- a redirect to another host: not followed, the token is sent nowhere
SELECT data8.dataset('hostile_redirect');
\set VERBOSITY sqlstate
SELECT data8.dataset('hostile_redirect');
\set VERBOSITY default
SELECT * FROM hostile_calls('hostile_redirect');
SELECT * FROM hostile_calls('hostile_redirect_page');
SELECT 1;
-- the simulator also serves 127.0.0.2 (the redirect's host): no request
-- arrived there, with or without an Authorization header
SELECT count(*) FILTER (WHERE l->>'local' = '127.0.0.2') AS at_redirect_host,
       count(*) FILTER (WHERE l->>'local' = '127.0.0.2' AND (l->>'authorization')::boolean)
           AS with_authorization,
       count(*) FILTER (WHERE l->>'path' LIKE '/Dataset/hostile_redirect%') > 0 AS redirects_answered
  FROM hostile_log() l;

-- answers the client cannot decode: a gzip body that is no deflate data, a
-- gzip "bomb" (100 kB that would decode to 100 MB: refused by the size its
-- trailer gives, before anything is decoded), and a Content-Encoding that
-- was not asked for (br; only gzip is)
SELECT * FROM hostile_calls('hostile_bad_gzip');
SELECT * FROM hostile_calls('hostile_gzip_bomb');
SELECT * FROM hostile_calls('hostile_unasked_encoding');
SELECT 1;

-- bad records in a good dataset {"id": integer, "name": string} of 3 records
SELECT name, input, completed, record_count, columns FROM data8.dataset('hostile_bad_records');
-- an unknown key, a string in the integer column, an object as a value
SELECT * FROM data8.download_block('hostile_bad_records', 1, 10);
SELECT * FROM hostile_calls('hostile_bad_records');
-- one at a time
SELECT * FROM data8.fetch_output('hostile_bad_records_key') AS t(id int, name text);
SELECT * FROM data8.fetch_output_json('hostile_bad_records_key');
SELECT * FROM data8.fetch_output('hostile_bad_records_type') AS t(id int, name text);
SELECT * FROM data8.fetch_output('hostile_bad_records_type') AS t(id text, name text);
SELECT * FROM data8.fetch_output('hostile_bad_records_object') AS t(id int, name text);
SELECT * FROM data8.fetch_output('hostile_bad_records_object') AS t(id int, name jsonb);
-- a short page: 1 record where 3 were promised
SELECT * FROM data8.download_block('hostile_bad_records_short', 1, 10);
SELECT * FROM hostile_calls('hostile_bad_records_short');
SELECT 1;

-- a record that is not an object (the 3rd of 3): an ERROR that says which
-- record it is and what it is, never a row, from download_block as from
-- fetch_output and fetch_output_json
SELECT n AS mode,
       hostile_try(format('SELECT count(*) FROM data8.download_block(%L, 1, 10)',
                          'hostile_bad_records_' || n)) AS download_block,
       hostile_try(format('SELECT count(*) FROM data8.fetch_output_json(%L)',
                          'hostile_bad_records_' || n)) AS fetch_output_json
  FROM unnest(ARRAY['number', 'string', 'array', 'null']) WITH ORDINALITY u(n, i) ORDER BY i;
SELECT * FROM hostile_calls('hostile_bad_records_array');
-- its position in a page that starts further on
SELECT hostile_try('SELECT count(*) FROM data8.download_block(''hostile_bad_records_null'', 2, 5)');
-- the good records before it are returned when it is not asked for
SELECT * FROM data8.download_block('hostile_bad_records_number', 1, 2);
SELECT 1;

-- a string holding \u0000
SELECT * FROM hostile_calls('hostile_nul');
SELECT * FROM data8.fetch_output('hostile_nul') AS t(id int, name bytea);
SELECT 1;

-- a string with invalid UTF-8 bytes
SELECT * FROM hostile_calls('hostile_bad_utf8');
SELECT 1;

-- lists are read until an empty page: a short page is not the end (while
-- hostile_list_short exists, the service answers one item a page)
SELECT name FROM data8.create_dataset('hostile_list_short', '{"id": 1}');
SELECT count(data8.create_dataset(n, '{"id": 1}')) FROM unnest(ARRAY['list_a', 'list_b']) n;
SELECT data8.upload_block('list_a', 0, '[{"id": 1}]');
SELECT data8.complete_dataset('list_a', 1);
SELECT count(data8.start_job('list job ' || i, 'Echo', '{"Input": "list_a"}')) FROM generate_series(1, 3) i;
SELECT count(*) AS datasets, count(*) FILTER (WHERE input) AS inputs FROM data8.datasets();
SELECT name FROM data8.jobs();
SELECT l->>'path' AS list, count(*) AS pages_read FROM hostile_log() l
 WHERE l->>'method' = 'GET' AND l->>'path' IN ('/Dataset', '/Job') GROUP BY 1 ORDER BY 1;
-- a service that ignores page never sends an empty page: an ERROR at the bound
SELECT name FROM data8.create_dataset('hostile_list_ignore_page', '{"id": 1}');
SELECT hostile_try('SELECT count(*) FROM data8.datasets()');
SELECT hostile_try('SELECT count(*) FROM data8.jobs()');
SELECT data8.delete_dataset('hostile_list_ignore_page');
SELECT data8.delete_dataset('hostile_list_short');
SELECT count(*) AS datasets FROM data8.datasets();

-- an allowed-IP entry with host bits set (a key named hostile_ips... lists
-- "10.1.2.3/16") is its network, and never fails the whole list
SELECT key FROM data8.create_api_key('hostile_ips_1');
SELECT data8.add_api_key_allowed_ip('hostile_ips_1', '192.168.0.0/24');
SELECT data8.api_key_allowed_ips('hostile_ips_1') AS network ORDER BY 1;
SELECT allowed_ips FROM data8.api_key('hostile_ips_1');
SELECT allowed_ips FROM data8.api_keys() WHERE key = 'hostile_ips_1';
SELECT data8.delete_api_key('hostile_ips_1');
SELECT 1;

-- hostile names are refused before any request is sent
SELECT count(*) AS requests_before FROM hostile_log() \gset
SELECT n AS name, hostile_try(format('SELECT data8.dataset(%L)', n)) AS dataset,
       hostile_try(format('SELECT data8.upload_block(%L, 0, ''[{"id": 1}]'')', n)) AS upload_block
  FROM unnest(ARRAY['it''s', 'a"b', 'a/b', '..', '%2F', 'a%2Fb', 'café', 'ünï',
                    $$x'); DROP TABLE data8.profile; --$$, 'x; DROP TABLE data8.profile']) n;
-- 10,000 characters: too long; a long invalid name is echoed whole
SELECT hostile_try(format('SELECT data8.dataset(%L)', repeat('a', 10000))) AS dataset,
       hostile_try(format('SELECT data8.upload_block(%L, 0, ''[{"id": 1}]'')', repeat('a', 10000)))
           AS upload_block;
SELECT left(e, 50) AS error, length(e)
  FROM hostile_try(format('SELECT data8.dataset(%L)', repeat('A', 10000))) e;
SELECT count(*) - :requests_before AS requests_sent FROM hostile_log();

-- job names: these are refused before sending
SELECT n AS name, hostile_try(format('SELECT data8.job(%L)', n)) AS job
  FROM unnest(ARRAY['a/b', 'a"b', 'a:b', '..', '.', E'a\tb', '']) n;
SELECT hostile_try(format('SELECT data8.job(%L)', repeat('j', 10000))) AS job;
SELECT count(*) - :requests_before AS requests_sent FROM hostile_log();
-- these are legal job names: they reach the service percent-encoded (404)
SELECT coalesce(max((l->>'seq')::int), 0) AS last_seq FROM hostile_log() l \gset
SELECT n AS name, hostile_try(format('SELECT data8.job(%L)', n)) AS job
  FROM unnest(ARRAY['it''s', 'Jöb ü', '%2F', 'a%2Fb', 'x''; DROP TABLE data8.profile; --',
                    'a+b&c=d#e']) WITH ORDINALITY u(n, i) ORDER BY i;
SELECT l->>'method' AS method, l->>'path' AS path, l->>'query' AS query, l->>'status' AS status
  FROM hostile_log() l
 WHERE l->>'path' LIKE '/Job/%' AND (l->>'seq')::int > :last_seq
 ORDER BY (l->>'seq')::int;
SELECT 1;

DROP FUNCTION hostile_calls(text);
DROP FUNCTION hostile_log();
DROP FUNCTION hostile_peak_kb();
DROP FUNCTION hostile_try(text);
