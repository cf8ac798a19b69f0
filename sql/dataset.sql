-- dataset: list, create, get, upload blocks, complete, delete, and the errors
\set VERBOSITY default
SELECT data8.set_profile('default', 'test-client', current_setting('data8_test.secret'),
       api_url => current_setting('data8_test.sim_url'),
       token_url => current_setting('data8_test.sim_url') || '/connect/token');

-- create with type codes and type names
SELECT * FROM data8.create_dataset('ds_people', '{"name": "string", "age": 1, "score": "decimal",
        "member": "boolean", "born": "date", "seen": "datetime"}');
SELECT name, input, completed, record_count, columns FROM data8.dataset('ds_people');

-- upload two blocks; the same block number overwrites
SELECT data8.upload_block('ds_people', 0, '[{"name": "Ann", "age": 41, "score": 1.5, "member": true,
        "born": "1983-02-01", "seen": "2024-05-01T10:20:30Z"}, {"name": "Bob", "age": null}]');
SELECT data8.upload_block('ds_people', 1, '[{"name": "Cy"}]');
SELECT data8.upload_block('ds_people', 1, '[{"name": "Cy"}, {"name": "Di"}]');
SELECT name, record_count, completed FROM data8.dataset('ds_people');

-- the service checks the count on completion (400 with its errors in DETAIL)
SELECT data8.complete_dataset('ds_people', 3);
\set VERBOSITY sqlstate
SELECT data8.complete_dataset('ds_people', 3);
\set VERBOSITY default
SELECT data8.complete_dataset('ds_people', 4);
SELECT name, record_count, completed FROM data8.dataset('ds_people');
-- a completed dataset takes no more blocks and cannot be completed again
SELECT data8.upload_block('ds_people', 2, '[{"name": "Ed"}]');
SELECT data8.complete_dataset('ds_people', 4);
-- only output datasets can be downloaded
SELECT * FROM data8.download_block('ds_people', 1, 10);

-- the service validates records against the columns
SELECT (data8.create_dataset('ds_strict', '{"id": "integer", "d": "date"}')).name;
SELECT data8.upload_block('ds_strict', 0, '[{"id": "one"}]');
SELECT data8.upload_block('ds_strict', 0, '[{"id": 1, "nope": 2}]');
SELECT data8.upload_block('ds_strict', 0, '[{"d": "2024-02-30"}]');

-- list: all pages, filters
SELECT name, input, completed, record_count, location FROM data8.datasets() ORDER BY name;
SELECT count(*) FROM data8.datasets(include_input => false);
SELECT count(*) FROM data8.datasets(include_input => true, include_output => false);
-- NULL means "not given": the filter is left out, as in the default
SELECT count(*) FROM data8.datasets(include_input => NULL);
SELECT count(*) FROM data8.datasets(NULL, include_output => false);
SELECT count(*) FROM data8.datasets(NULL, NULL);
SELECT l::jsonb->>'query' AS query FROM
  regexp_split_to_table(pg_read_file(current_setting('data8_test.sim_log')), E'\n') AS l
 WHERE l LIKE '%"path":"/Dataset"%' AND l::jsonb->>'fault' IS NULL
 ORDER BY (l::jsonb->>'seq')::bigint DESC LIMIT 3;
-- more than one page (100 per page)
SELECT count(data8.create_dataset('ds_page_' || lpad(i::text, 3, '0'), '{"a": 0}'))
  FROM generate_series(1, 150) i;
SELECT count(*), min(name), max(name) FROM data8.datasets() WHERE name LIKE 'ds_page_%';

-- 409: an existing name, and a deleted one (never reusable)
SELECT data8.create_dataset('ds_people', '{"a": 0}');
\set VERBOSITY sqlstate
SELECT data8.create_dataset('ds_people', '{"a": 0}');
\set VERBOSITY default
SELECT data8.delete_dataset('ds_page_150');
SELECT data8.dataset('ds_page_150');
SELECT data8.create_dataset('ds_page_150', '{"a": 0}');
SELECT data8.delete_dataset('ds_page_150');

-- 404
SELECT data8.dataset('ds_missing');
\set VERBOSITY sqlstate
SELECT data8.dataset('ds_missing');
\set VERBOSITY default
SELECT data8.complete_dataset('ds_missing', 1);
SELECT data8.upload_block('ds_missing', 0, '[{"a": "x"}]');
SELECT * FROM data8.download_block('ds_missing', 1, 1);

-- rejected before anything is sent
SELECT data8.dataset('Bad-Name');
SELECT data8.dataset('../ApiKey');
SELECT data8.dataset(repeat('a', 101));
SELECT data8.create_dataset('ok_name', '{"First Name": "string"}');
SELECT data8.create_dataset('ok_name', '{"a": "text"}');
SELECT data8.create_dataset('ok_name', '{"a": 6}');
SELECT data8.create_dataset('ok_name', '{}');
SELECT data8.create_dataset('ok_name', '[1]');
SELECT data8.complete_dataset('ds_people', -1);
SELECT data8.upload_block('ds_people', -1, '[{"a": 1}]');
SELECT data8.upload_block('ds_people', 0, '[]');
SELECT data8.upload_block('ds_people', 0, '{"a": 1}');
SELECT data8.upload_block('ds_people', 0, '[1]');
SELECT data8.upload_block('ds_people', 0, '[{"Bad": 1}]');
SELECT data8.upload_block('ds_people', 0, '[{"a": [1]}]');
SELECT data8.upload_block('ds_people', 0, (SELECT jsonb_agg(jsonb_build_object('a', i)) FROM generate_series(1, 1001) i));
SELECT * FROM data8.download_block('ds_people', 0, 10);
SELECT * FROM data8.download_block('ds_people', 1, 0);
SELECT * FROM data8.download_block('ds_people', 1, 1001);
SELECT data8.dataset(NULL) IS NULL AS strict;
-- nothing above reached the service
SELECT count(*) AS requests_with_bad_names FROM
  regexp_split_to_table(pg_read_file(current_setting('data8_test.sim_log')), E'\n') AS l
 WHERE l LIKE '%Bad-Name%' OR l LIKE '%ok_name%' OR l LIKE '%ApiKey%';

-- accounts are isolated
SELECT data8.set_profile('other', 'other-client', 'other-secret-77aa31',
       api_url => current_setting('data8_test.sim_url'),
       token_url => current_setting('data8_test.sim_url') || '/connect/token');
SET data8.profile = 'other';
SELECT count(*) FROM data8.datasets();
SELECT data8.dataset('ds_people');
RESET data8.profile;
