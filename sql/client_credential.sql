-- client_credential: credentials and their secrets: create, list, get,
-- update, delete; a created secret obtains a token; errors, privileges and
-- isolation.  Client ids and secrets are generated: they are kept in psql
-- variables and never shown.
\set VERBOSITY default
SELECT data8.set_profile('default', 'test-client', current_setting('data8_test.secret'),
       api_url => current_setting('data8_test.sim_url'),
       token_url => current_setting('data8_test.sim_url') || '/connect/token');

-- errors that name a generated id are shown with the id replaced
CREATE FUNCTION pg_temp.error_of(query text, id text) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    state text; msg text; detail text;
BEGIN
    EXECUTE query;
    RETURN 'no error';
EXCEPTION WHEN OTHERS THEN
    GET STACKED DIAGNOSTICS state = RETURNED_SQLSTATE, msg = MESSAGE_TEXT, detail = PG_EXCEPTION_DETAIL;
    RETURN state || ': ' || replace(msg, id, '<client_id>') || coalesce(' / ' || nullif(detail, ''), '');
END
$$;

-- create a credential: no secrets yet
SELECT client_id AS cc, description AS cc_description, secrets AS cc_secrets
  FROM data8.create_client_credential('Nightly ETL') \gset
SELECT length(:'cc') > 0 AS has_client_id, :'cc_description' AS description, :'cc_secrets' AS secrets;
SELECT client_id AS cc2 FROM data8.create_client_credential(description => NULL) \gset
SELECT description IS NULL AS no_description FROM data8.client_credential(:'cc2');

-- create secrets: the generated secret is returned once
SELECT client_secret_id AS s1, generated_secret AS s1_secret
  FROM data8.create_client_secret(:'cc', 'first', '2031-01-01 00:00:00+00') \gset
SELECT :s1 AS client_secret_id, length(:'s1_secret') >= 16 AS has_secret;
SELECT client_secret_id, expires, description, generated_secret IS NOT NULL AS has_secret
  FROM data8.create_client_secret(client_id => :'cc');
SELECT client_secret_id, expires, description, generated_secret IS NOT NULL AS has_secret
  FROM data8.create_client_secret(:'cc', expires => '2032-02-29 12:30:00+00', description => 'third');

-- get and list: secrets come without their values
SELECT * FROM data8.client_secrets(:'cc') ORDER BY client_secret_id;
SELECT * FROM data8.client_secret(:'cc', 1);
SELECT description, secrets, pg_typeof(secrets) AS secrets_type,
       (secrets[3]).description AS third, (secrets[1]).expires AS first_expires
  FROM data8.client_credential(:'cc');
SELECT description, secrets IS NULL AS no_secrets_in_list
  FROM data8.client_credentials() WHERE client_id IN (:'cc', :'cc2') ORDER BY description NULLS LAST;

-- a secret created here obtains a token
SELECT data8.set_profile('created', :'cc', :'s1_secret',
       api_url => current_setting('data8_test.sim_url'),
       token_url => current_setting('data8_test.sim_url') || '/connect/token');
SET data8.profile = 'created';
SELECT count(*) >= 0 AS token_obtained FROM data8.datasets();
SELECT count(*) AS sees_own_account FROM data8.client_credentials() WHERE client_id = :'cc';
RESET data8.profile;

-- update a secret: only the given fields change
SELECT * FROM data8.update_client_secret(:'cc', 1, description => 'renamed');
SELECT * FROM data8.update_client_secret(:'cc', 1, expires => '2033-03-03 03:03:03+00');
SELECT * FROM data8.update_client_secret(client_id => :'cc', secret_id => 2);

-- update a credential
SELECT description, cardinality(secrets) AS secrets FROM data8.update_client_credential(:'cc', 'Nightly ETL (prod)');
SELECT description FROM data8.update_client_credential(:'cc', NULL);

-- 400: whether an expiry is in the future is the service's call
SELECT pg_temp.error_of(format('SELECT data8.create_client_secret(%L, expires => %L)',
                               :'cc', '2001-01-01 00:00:00+00'), :'cc');
SELECT pg_temp.error_of(format('SELECT data8.update_client_secret(%L, 1, expires => %L)',
                               :'cc', '2001-01-01 00:00:00+00'), :'cc');
SELECT expires FROM data8.client_secret(:'cc', 1);

-- 404
SELECT data8.client_credential('cc-missing');
\set VERBOSITY sqlstate
SELECT data8.client_credential('cc-missing');
\set VERBOSITY default
SELECT data8.update_client_credential('cc-missing', 'x');
SELECT data8.update_client_credential('cc-missing', NULL);
SELECT data8.delete_client_credential('cc-missing');
SELECT * FROM data8.client_secrets('cc-missing');
SELECT data8.client_secret('cc-missing', 1);
SELECT data8.create_client_secret('cc-missing');
SELECT data8.update_client_secret('cc-missing', 1, 'x');
SELECT data8.delete_client_secret('cc-missing', 1);
SELECT pg_temp.error_of(format('SELECT data8.client_secret(%L, 99)', :'cc'), :'cc');
SELECT pg_temp.error_of(format('SELECT data8.update_client_secret(%L, 99, %L)', :'cc', 'x'), :'cc');
SELECT pg_temp.error_of(format('SELECT data8.delete_client_secret(%L, 99)', :'cc'), :'cc');

-- rejected before anything is sent
SELECT data8.client_credential('');
SELECT data8.client_credential('zz cc');
SELECT data8.client_credential(E'zz\tcc');
SELECT * FROM data8.client_secrets('');
SELECT data8.client_secret('zz_cc', -1);
SELECT data8.update_client_credential(NULL, 'x');
SELECT data8.create_client_secret(NULL);
SELECT data8.create_client_secret('zz_cc', expires => 'infinity');
SELECT data8.update_client_secret('zz_cc', 1, expires => '-infinity');
SELECT data8.update_client_secret(NULL, 1);
SELECT data8.update_client_secret('zz_cc', NULL);
SELECT data8.delete_client_secret('zz_cc', -2);
SELECT data8.client_credential(NULL) IS NULL AS strict,
       data8.delete_client_secret('zz_cc', NULL) IS NULL AS strict_delete;
SELECT count(*) AS requests_with_rejected_ids FROM
  regexp_split_to_table(pg_read_file(current_setting('data8_test.sim_log')), E'\n') AS l
 WHERE l LIKE '%zz%';

-- the secret went nowhere but the result
SELECT strpos(pg_read_file(current_setting('data8_test.sim_log')), :'s1_secret') = 0 AS not_in_sim_log;

-- administrative functions are not executable by PUBLIC
SELECT p.oid::regprocedure AS function,
       NOT EXISTS (SELECT 1 FROM aclexplode(coalesce(p.proacl, acldefault('f', p.proowner))) a
                    WHERE a.grantee = 0) AS public_denied
  FROM pg_proc p
 WHERE p.pronamespace = 'data8'::regnamespace AND p.proname LIKE '%client_%'
 ORDER BY p.proname;

-- accounts are isolated
SELECT data8.set_profile('other', 'other-client', 'other-secret-77aa31',
       api_url => current_setting('data8_test.sim_url'),
       token_url => current_setting('data8_test.sim_url') || '/connect/token');
SET data8.profile = 'other';
SELECT count(*) AS seen_by_other FROM data8.client_credentials() WHERE client_id IN (:'cc', :'cc2');
SELECT pg_temp.error_of(format('SELECT data8.client_credential(%L)', :'cc'), :'cc');
SELECT pg_temp.error_of(format('SELECT data8.delete_client_credential(%L)', :'cc'), :'cc');
SELECT pg_temp.error_of(format('SELECT data8.create_client_secret(%L)', :'cc'), :'cc');
RESET data8.profile;

-- delete a secret: it no longer obtains a token (a new profile, so no cached token)
SELECT data8.delete_client_secret(:'cc', 1);
SELECT client_secret_id FROM data8.client_secrets(:'cc') ORDER BY 1;
SELECT pg_temp.error_of(format('SELECT data8.client_secret(%L, 1)', :'cc'), :'cc');
SELECT data8.set_profile('deleted', :'cc', :'s1_secret',
       api_url => current_setting('data8_test.sim_url'),
       token_url => current_setting('data8_test.sim_url') || '/connect/token');
SET data8.profile = 'deleted';
SELECT pg_temp.error_of('SELECT count(*) FROM data8.datasets()', :'cc');
RESET data8.profile;
DELETE FROM data8.profile WHERE name IN ('created', 'deleted');

-- delete the credentials
SELECT data8.delete_client_credential(:'cc');
SELECT data8.delete_client_credential(:'cc2');
SELECT pg_temp.error_of(format('SELECT data8.client_credential(%L)', :'cc'), :'cc');
SELECT count(*) AS left_over FROM data8.client_credentials() WHERE client_id IN (:'cc', :'cc2');
