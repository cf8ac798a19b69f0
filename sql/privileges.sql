-- privileges: who may call what, secrets out of reach, no search_path hijack
\set VERBOSITY default
SELECT data8.set_profile('default', 'test-client', current_setting('data8_test.secret'),
       api_url => current_setting('data8_test.sim_url'),
       token_url => current_setting('data8_test.sim_url') || '/connect/token');

CREATE ROLE d8_nobody;
CREATE ROLE d8_user;
CREATE ROLE d8_admin;
SELECT data8.grant_usage('d8_user');
SELECT data8.grant_admin('d8_admin');
-- and the profile they work with
SELECT data8.grant_profile('default', 'd8_user'), data8.grant_profile('default', 'd8_admin');
SELECT data8.grant_usage('no_such_role');

-- what each level may execute
SELECT p.proname, has_function_privilege('d8_nobody', p.oid, 'EXECUTE') AS nobody,
       has_function_privilege('d8_user', p.oid, 'EXECUTE') AS "user",
       has_function_privilege('d8_admin', p.oid, 'EXECUTE') AS admin
  FROM pg_proc p WHERE p.pronamespace = 'data8'::regnamespace
 ORDER BY p.proname, p.oid::regprocedure::text;

-- a role without privileges: no secret, no profile change, no call
SET ROLE d8_nobody;
SELECT client_secret FROM data8.profile;
SELECT name, client_id FROM data8.profiles WHERE name = 'default';
UPDATE data8.profile SET api_url = 'http://127.0.0.1:1' WHERE name = 'default';
INSERT INTO data8.profile VALUES ('mine', 'x', 'y', 'http://127.0.0.1:1', 'http://127.0.0.1:1/t');
SELECT data8.set_profile('default', 'x', 'y', api_url => 'http://127.0.0.1:1');
SELECT count(*) FROM data8.datasets();
SELECT data8.create_api_key();
RESET ROLE;

-- a data8 user works with the owner's credentials without seeing them
SET ROLE d8_user;
SELECT client_secret FROM data8.profile;
SELECT count(*) >= 0 AS listed FROM data8.datasets();
SELECT (data8.create_dataset('priv_user_ds', '{"a": "string"}')).name;
SELECT data8.create_api_key(description => 'not allowed');
SELECT count(*) FROM data8.api_keys();
SELECT data8.grant_usage('d8_nobody');
-- cannot point the profile elsewhere
SELECT data8.set_profile('default', 'test-client', 'x', api_url => 'http://127.0.0.1:1');
UPDATE data8.profile SET token_url = 'http://127.0.0.1:1/steal';
RESET ROLE;

-- a data8 admin manages keys too
SET ROLE d8_admin;
SELECT (data8.create_api_key('priv-admin-key', description => 'ok')).key;
SELECT data8.delete_api_key('priv-admin-key');
SELECT client_secret FROM data8.profile;
RESET ROLE;

-- cleansing as a data8 user, with runs recorded
CREATE TABLE priv_contacts (id int PRIMARY KEY, name text);
INSERT INTO priv_contacts VALUES (1, 'ann LEE');
GRANT SELECT, UPDATE ON priv_contacts TO d8_user;
SET ROLE d8_user;
SET data8.poll_interval = '50ms';
CALL data8.cleanse_table('priv_contacts', 'id', 'CleanseContacts', input_name => 'Contacts', output_name => 'Contacts');
TABLE priv_contacts;
RESET ROLE;

-- objects planted in public cannot hijack the extension's SQL, even with
-- public first in search_path (as pg_cron's superuser might have it)
CREATE TABLE hijacked (what text);
CREATE FUNCTION public.md5(text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN INSERT INTO hijacked VALUES ('md5'); RETURN 'x'; END $$;
CREATE FUNCTION public.lower(text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN INSERT INTO hijacked VALUES ('lower'); RETURN 'x'; END $$;
CREATE FUNCTION public.jsonb_typeof(jsonb) RETURNS text LANGUAGE plpgsql AS $$
BEGIN INSERT INTO hijacked VALUES ('jsonb_typeof'); RETURN 'x'; END $$;
CREATE FUNCTION public.evil_eq(name, name) RETURNS boolean LANGUAGE plpgsql AS $$
BEGIN INSERT INTO hijacked VALUES ('='); RETURN $1::text = $2::text; END $$;
CREATE OPERATOR public.= (LEFTARG = name, RIGHTARG = name, FUNCTION = public.evil_eq);
CREATE FUNCTION public.evil_arrow(jsonb, text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN INSERT INTO hijacked VALUES ('->>'); RETURN NULL; END $$;
CREATE OPERATOR public.->> (LEFTARG = jsonb, RIGHTARG = text, FUNCTION = public.evil_arrow);
SET search_path = public, pg_catalog;
SELECT md5('a') AS planted_md5_answers, lower('A') AS planted_lower_answers;
TRUNCATE hijacked;
UPDATE priv_contacts SET name = 'bob RAY';
CALL data8.cleanse_table('priv_contacts', 'id', 'CleanseContacts', input_name => 'Contacts', output_name => 'Contacts');
SELECT data8.submit_cleanse('priv_contacts', 'id', 'CleanseContacts', input_name => 'Contacts', output_name => 'Contacts') > 0 AS submitted;
SELECT pg_sleep(0.3);
CALL data8.sync();
RESET search_path;
SELECT count(*) AS planted_calls_from_data8 FROM hijacked;
TABLE priv_contacts;
SELECT count(*) AS security_definer_routines FROM pg_proc
 WHERE pronamespace = 'data8'::regnamespace AND prosecdef;
SELECT p.proname FROM pg_proc p
 WHERE p.pronamespace = 'data8'::regnamespace AND p.prolang = (SELECT oid FROM pg_language WHERE lanname = 'plpgsql')
   AND NOT coalesce(p.proconfig @> ARRAY['search_path=pg_catalog, pg_temp'], false)
 ORDER BY 1;

DROP OPERATOR public.= (name, name);
DROP OPERATOR public.->> (jsonb, text);
DROP FUNCTION public.md5(text), public.lower(text), public.jsonb_typeof(jsonb),
              public.evil_eq(name, name), public.evil_arrow(jsonb, text);
DROP TABLE priv_contacts;
DROP OWNED BY d8_user, d8_admin, d8_nobody;
DROP ROLE d8_user, d8_admin, d8_nobody;
