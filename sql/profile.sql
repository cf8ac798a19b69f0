-- profile: configuration, settings, tokens, and secrets kept out of sight
\set VERBOSITY default
SELECT data8.set_profile('default', 'test-client', current_setting('data8_test.secret'),
       api_url => current_setting('data8_test.sim_url'),
       token_url => current_setting('data8_test.sim_url') || '/connect/token');

-- the view shows profiles without secrets
SELECT name, client_id, api_url = current_setting('data8_test.sim_url') AS api_url_set,
       token_url LIKE '%/connect/token' AS token_url_set, scope
  FROM data8.profiles;
SELECT count(*) AS secret_columns FROM information_schema.columns
 WHERE table_schema = 'data8' AND table_name = 'profiles' AND column_name = 'client_secret';

-- settings, with their defaults
SELECT name, setting, unit, short_desc IS NOT NULL AS described
  FROM pg_settings WHERE name LIKE 'data8.%' ORDER BY name;
-- (an unknown data8.* setting: sql/reserved_prefix.sql)

-- the compiled-in codes agree with the lookup tables
(SELECT 'column_type' AS kind, code, name FROM data8.column_type
 UNION ALL SELECT 'job_state', code, name FROM data8.job_state)
EXCEPT SELECT kind, code, name FROM data8.contract_codes();
SELECT count(*) FROM data8.contract_codes();

-- a first call: gets a token, lists datasets (none yet)
SELECT count(*) AS datasets FROM data8.datasets();

-- URLs are checked: https, or http to loopback only
SELECT data8.set_profile('bad', 'c', 's', api_url => 'http://api.example.com');
SELECT data8.set_profile('bad', 'c', 's', api_url => 'ftp://127.0.0.1/x');
SELECT data8.set_profile('bad', 'c', 's', token_url => 'https://user:pw@auth.example.com/t');
SELECT data8.set_profile('bad', 'c', 's', api_url => 'https://api.example.com/?x=1');
SELECT data8.set_profile('bad', NULL, 's');
SELECT data8.check_service_url('https://api.data-8.co.uk');
SELECT data8.check_service_url('http://localhost:8080', 'api_url');
SELECT data8.check_service_url('http://[::1]:8080/x', 'api_url');
SELECT count(*) FROM data8.profiles WHERE name = 'bad';

-- updating a profile keeps what is not given
SELECT data8.set_profile('spare', 'c1', 's1');
SELECT data8.set_profile('spare', 'c2', 's2', scope => 'Other');
SELECT name, client_id, api_url, token_url, scope FROM data8.profiles WHERE name = 'spare';

-- an unknown profile
SET data8.profile = 'nope';
SELECT count(*) FROM data8.datasets();
RESET data8.profile;

-- a wrong secret: refused, and the secret is never shown
SELECT data8.set_profile('wrong', 'test-client', 'wrong-' || current_setting('data8_test.secret'),
       api_url => current_setting('data8_test.sim_url'),
       token_url => current_setting('data8_test.sim_url') || '/connect/token');
SET data8.profile = 'wrong';
SELECT count(*) FROM data8.datasets();
\set VERBOSITY sqlstate
SELECT count(*) FROM data8.datasets();
\set VERBOSITY default
RESET data8.profile;

-- a token endpoint that cannot be reached
SELECT data8.set_profile('down', 'test-client', 'wrong-' || current_setting('data8_test.secret'),
       api_url => 'http://127.0.0.1:9', token_url => 'http://127.0.0.1:9/connect/token');
SET data8.profile = 'down';
SET data8.max_retries = 0;
\set VERBOSITY terse
SELECT count(*) FROM data8.datasets();
\set VERBOSITY default
RESET data8.max_retries;
RESET data8.profile;

-- the other account works with its own credentials
SELECT data8.set_profile('other', 'other-client', 'other-secret-77aa31',
       api_url => current_setting('data8_test.sim_url'),
       token_url => current_setting('data8_test.sim_url') || '/connect/token');

-- a role without privileges cannot read secrets or change profiles
CREATE ROLE data8_nobody;
SET ROLE data8_nobody;
SELECT client_secret FROM data8.profile;
SELECT name FROM data8.profiles ORDER BY name;
SELECT data8.set_profile('default', 'x', 'y');
UPDATE data8.profile SET api_url = 'http://127.0.0.1:1';
RESET ROLE;
DROP ROLE data8_nobody;

-- cancellation: requests to a server that never answers stop at once
SELECT data8.set_profile('stalled', 'test-client', current_setting('data8_test.secret'),
       api_url => current_setting('data8_test.stall_url'),
       token_url => current_setting('data8_test.stall_url') || '/connect/token');
SET data8.profile = 'stalled';
SET statement_timeout = '200ms';
SELECT 'SELECT count(*) FROM data8.datasets()' FROM generate_series(1, 20) \gexec
RESET statement_timeout;
-- the per-request timeout, without retries
SET data8.timeout = '200ms';
SET data8.max_retries = 0;
\set VERBOSITY terse
SELECT count(*) FROM data8.datasets();
\set VERBOSITY sqlstate
SELECT count(*) FROM data8.datasets();
\set VERBOSITY default
RESET data8.timeout;
RESET data8.max_retries;
RESET data8.profile;
-- the backend is healthy and its connections work
SELECT count(*) >= 0 AS healthy FROM data8.datasets();
