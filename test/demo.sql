-- The data8 demo (make demo): a table of messy contacts, cleansed in place
-- by one statement, then the same scheduled with pg_cron.
\set ON_ERROR_STOP 1
\pset footer off
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS data8;
CREATE EXTENSION IF NOT EXISTS pg_cron;
RESET client_min_messages;
SELECT data8.set_profile('default', :'client_id', :'secret',
       api_url => :'sim_url', token_url => :'sim_url' || '/connect/token') \gset

CREATE TABLE contacts (
    id             integer PRIMARY KEY,
    name           text,
    email          text,
    phone          text,
    postcode       text,
    email_valid    boolean,
    phone_valid    boolean,
    postcode_valid boolean
);
INSERT INTO contacts (id, name, email, phone, postcode) VALUES
    (1, '  john   SMITH ',   'John.Smith@Example.COM ', '07700 900123',     'sw1a1aa'),
    (2, 'mary o''brien',     ' MARY@example.org',       '+44 7700-900456',  'EC1A  1BB'),
    (3, 'ANNE-MARIE jones',  'anne@@example',           '(01632) 960 001',  'm1 1ae'),
    (4, 'bob',               NULL,                      '12345',            'not a postcode'),
    (5, 'dr. ada LOVELACE',  'ADA@ENGINES.co.uk',       '0044 7700 900789', 'n19gu');
-- and 20,000 more, so that the progress lines have something to show
INSERT INTO contacts (id, name, email, phone, postcode)
SELECT i, 'customer ' || i, 'Customer' || i || '@Example.COM', '07700 9' || lpad((i % 100000)::text, 5, '0'), 'sw1a' || (i % 10) || 'aa'
  FROM generate_series(6, 20005) i;

\echo
\echo '== Before: a table of messy contacts'
SELECT id, name, email, phone, postcode, email_valid, phone_valid, postcode_valid
  FROM contacts WHERE id <= 5 ORDER BY id;

\echo '== One statement cleanses it in place (data8.progress = on shows the work)'
\echo 'CALL data8.cleanse_table(''contacts'', ''id'', ''CleanseContacts'', input_name => ''Contacts'', output_name => ''Contacts'');'
SET data8.progress = on;
SET data8.poll_interval = '500ms';
CALL data8.cleanse_table('contacts', 'id', 'CleanseContacts',
                         input_name => 'Contacts', output_name => 'Contacts');
RESET data8.progress;

\echo
\echo '== After'
SELECT id, name, email, phone, postcode, email_valid, phone_valid, postcode_valid
  FROM contacts WHERE id <= 5 ORDER BY id;

\echo '== The run, as recorded in data8.runs'
SELECT id, target, state, rows_sent, rows_updated, rows_unchanged, rows_missing,
       round(extract(epoch FROM finished_at - created_at)::numeric, 1) AS seconds, job_name
  FROM data8.runs ORDER BY id;

\echo '== A table whose columns are not the workflow''s field names: column_map maps them'
CREATE TABLE people (
    "Customer No"  integer PRIMARY KEY,
    "Full Name"    text,
    "EmailAddress" text,
    "PostCode"     text,
    email_valid    boolean
);
INSERT INTO people VALUES
    (101, '  grace   HOPPER ', 'Grace@Navy.MIL ', 'sw1a1aa', NULL),
    (102, 'alan turing',       ' ALAN@example.org', 'ec1a  1bb', NULL);
SELECT * FROM people ORDER BY 1;
\echo 'unmapped, it is refused before anything is sent, with the map to write:'
\set ON_ERROR_STOP 0
\set VERBOSITY default
\set SHOW_CONTEXT never
CALL data8.cleanse_table('people', 'Customer No', 'CleanseContacts',
                         input_name => 'Contacts', output_name => 'Contacts');
\set SHOW_CONTEXT errors
\set ON_ERROR_STOP 1
\echo 'mapped to the fields the workflow knows:'
SELECT * FROM data8.cleanse_columns('people', 'Customer No',
    column_map => '{"Customer No": "id", "Full Name": "name", "EmailAddress": "email", "PostCode": "postcode"}');
CALL data8.cleanse_table('people', 'Customer No', 'CleanseContacts',
                         input_name => 'Contacts', output_name => 'Contacts',
                         column_map => '{"Customer No": "id", "Full Name": "name", "EmailAddress": "email", "PostCode": "postcode"}');
SELECT * FROM people ORDER BY 1;

\echo '== The same, scheduled with pg_cron (every minute here; nightly in real life)'
UPDATE contacts SET name = upper(name), email = upper(email) WHERE id <= 5;
SELECT data8.schedule_cleanse('demo-contacts', '* * * * *', 'contacts', 'id', 'CleanseContacts',
                              input_name => 'Contacts', output_name => 'Contacts') AS cron_job_id;
SELECT jobname, schedule, command FROM cron.job ORDER BY jobid;
\echo 'waiting for pg_cron to submit the run and for data8.sync() to apply it (up to 3 minutes)...'
DO $$
BEGIN
    FOR i IN 1..180 LOOP
        EXIT WHEN EXISTS (SELECT 1 FROM data8.runs
                           WHERE schedule_name = 'demo-contacts' AND state IN ('done', 'failed'));
        PERFORM pg_sleep(1);
    END LOOP;
END $$;
SELECT id, schedule_name, state, rows_sent, rows_updated, rows_missing, error
  FROM data8.runs WHERE schedule_name = 'demo-contacts' ORDER BY id;
SELECT id, name, email FROM contacts WHERE id <= 5 ORDER BY id;
SELECT data8.unschedule_cleanse('demo-contacts') AS unscheduled;
