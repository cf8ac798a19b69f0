-- cleanse: tables cleansed in place, tracked runs, sync, and the errors
\set VERBOSITY default
SELECT data8.set_profile('default', 'test-client', current_setting('data8_test.secret'),
       api_url => current_setting('data8_test.sim_url'),
       token_url => current_setting('data8_test.sim_url') || '/connect/token');
SET data8.poll_interval = '50ms';

CREATE TABLE contacts (
    id           integer PRIMARY KEY,
    name         text,
    email        text,
    phone        text,
    postcode     text,
    email_valid  boolean,
    phone_valid  boolean,
    tags         text[],
    "Notes"      text,
    updated      timestamptz DEFAULT '2024-01-01 00:00:00+00'
);
INSERT INTO contacts (id, name, email, phone, postcode, tags, "Notes") VALUES
    (1, '  john   SMITH ', 'John.Smith@Example.COM ', '07700 900123', 'sw1a1aa', '{a}', 'vip'),
    (2, 'mary o''brien', ' MARY@example.org', '+44 7700-900456', 'EC1A  1BB', NULL, NULL),
    (3, 'ANNE-MARIE jones', 'anne@@example', '(01632) 960 001', 'm1 1ae', NULL, NULL),
    (4, NULL, NULL, NULL, NULL, NULL, NULL),
    (5, 'Already Clean', 'clean@example.com', '+447700900789', 'W1A 1AA', NULL, NULL);

-- a column whose name Data8 cannot hold is an ERROR, before anything is
-- sent, whose HINT writes the column_map that fixes it
CALL data8.cleanse_table('contacts', 'id', 'CleanseContacts',
                         input_name => 'Contacts', output_name => 'Contacts');
SELECT count(*) AS runs FROM data8.runs;
-- one statement cleanses the table in place ("Notes" travels as "notes")
CALL data8.cleanse_table('contacts', 'id', 'CleanseContacts',
                         input_name => 'Contacts', output_name => 'Contacts',
                         column_map => '{"Notes": "notes"}', keep_datasets => true);
SELECT * FROM data8.cleanse_columns('contacts', 'id', column_map => '{"Notes": "notes"}');
-- from here on the column has a name Data8 can hold
ALTER TABLE contacts RENAME COLUMN "Notes" TO notes;
SELECT id, name, email, phone, postcode, email_valid, phone_valid, tags, notes FROM contacts ORDER BY id;
-- the run, with generated names traceable to the table and run
SELECT id, target, state, workflow, columns, rows_sent, rows_updated, rows_unchanged, rows_missing,
       job_name ~ ('^data8 public\.contacts run ' || id || ' [0-9a-f]{8}$') AS job_name_ok,
       input_dataset ~ ('^d8_contacts_r' || id || '_[0-9a-f]{8}$') AS dataset_ok,
       output_dataset IS NOT NULL AS has_output, submitted_at <= finished_at AS timed, error
  FROM data8.runs ORDER BY id;
-- the datasets and the job are there at Data8
SELECT d.record_count, d.completed FROM data8.runs r, data8.dataset(r.input_dataset) d;
SELECT j.state, j.workflow FROM data8.runs r, data8.job(r.job_name) j;

-- a second run changes nothing
CALL data8.cleanse_table('contacts', 'id', 'CleanseContacts',
                         input_name => 'Contacts', output_name => 'Contacts');
-- a subset of columns, a filter, parameters
CALL data8.cleanse_table('contacts', 'id', 'ContactDeceasedCheck',
                         input_name => 'Contacts', output_name => 'Contacts',
                         columns => ARRAY['name'], parameters => '{"MaxContactAge": 3}',
                         filter => 'id <= 3');
SELECT id, workflow, columns, parameters, filter, rows_sent, rows_updated, rows_unchanged, rows_missing
  FROM data8.runs ORDER BY id;

-- non-integer keys, and a key the workflow changes: those rows are missing
-- from the output, reported and left alone
CREATE TABLE people (email text PRIMARY KEY, name text);
INSERT INTO people VALUES ('a@example.com', 'ann lee'), ('B@Example.com', 'bob ray'), ('c@example.com', NULL);
CALL data8.cleanse_table('people', 'email', 'CleanseContacts',
                         input_name => 'Contacts', output_name => 'Contacts');
TABLE people ORDER BY email;
SELECT rows_sent, rows_updated, rows_unchanged, rows_missing FROM data8.runs ORDER BY id DESC LIMIT 1;

-- a table whose columns are not the workflow's fields, the key included:
-- column_map sends them under the workflow's names and maps them back
CREATE TABLE people_mapped ("Customer No" int PRIMARY KEY, "Full Name" text,
                            "EmailAddress" text, "PostCode" text, email_valid boolean);
INSERT INTO people_mapped VALUES (101, '  grace   HOPPER ', 'Grace@Navy.MIL ', 'sw1a1aa', NULL),
                                 (102, 'alan turing', ' ALAN@example.org', 'ec1a  1bb', NULL);
SELECT * FROM data8.cleanse_columns('people_mapped', 'Customer No',
    column_map => '{"Customer No": "id", "Full Name": "name", "EmailAddress": "email", "PostCode": "postcode"}');
CALL data8.cleanse_table('people_mapped', 'Customer No', 'CleanseContacts', 'Contacts', 'Contacts',
    column_map => '{"Customer No": "id", "Full Name": "name", "EmailAddress": "email", "PostCode": "postcode"}');
TABLE people_mapped ORDER BY 1;
SELECT columns, fields, column_map FROM data8.runs ORDER BY id DESC LIMIT 1;

-- a workflow with two inputs: the table is one, an existing dataset the other
CREATE TABLE contacts_acc (id int PRIMARY KEY, name text, account_id int, account_name text);
INSERT INTO contacts_acc VALUES (1, 'ann', 10, NULL), (2, 'bob', 20, NULL), (3, 'cy', 99, NULL);
SELECT records FROM data8.upload_dataset('accounts_for_match_' || pg_backend_pid(),
    $$SELECT * FROM (VALUES (10, 'Acme Ltd'), (20, 'Globex plc')) a(account_id, account_name)$$);
SELECT format('{"Accounts": "accounts_for_match_%s"}', pg_backend_pid()) AS extra \gset
CALL data8.cleanse_table('contacts_acc', 'id', 'MatchAccounts', 'Contacts', 'Contacts',
                         extra_inputs => :'extra');
TABLE contacts_acc ORDER BY id;
SELECT (SELECT count(*) FROM jsonb_object_keys(j.input_datasets)) AS inputs
  FROM data8.runs r, data8.job(r.job_name) j WHERE r.id = (SELECT max(id) FROM data8.runs);
-- an extra input that does not exist: refused by the service, nothing changes
SELECT try($$CALL data8.cleanse_table('contacts_acc', 'id', 'MatchAccounts', 'Contacts', 'Contacts',
                                      extra_inputs => '{"Accounts": "no_such_dataset"}')$$);

-- a key without a unique index must still be unique, and set
CREATE TABLE dupes (ref text, name text);
INSERT INTO dupes VALUES ('A-1', 'x'), ('A-2', 'y'), ('A-1', 'z');
CALL data8.cleanse_table('dupes', 'ref', 'Echo');
\set VERBOSITY sqlstate
CALL data8.cleanse_table('dupes', 'ref', 'Echo');
\set VERBOSITY default
-- (unique in the whole table, since the update matches every row by key)
CALL data8.cleanse_table('dupes', 'ref', 'Echo', filter => 'name <> ''z''');
DELETE FROM dupes WHERE name = 'z';
INSERT INTO dupes VALUES (NULL, 'w');
CALL data8.cleanse_table('dupes', 'ref', 'Echo');
CALL data8.cleanse_table('dupes', 'ref', 'Echo', filter => 'ref IS NOT NULL');
TABLE dupes ORDER BY ref, name;
-- refused before anything is sent
\set SHOW_CONTEXT never
CALL data8.cleanse_table('nope', 'id', 'Echo');
CALL data8.cleanse_table('contacts', 'nope', 'Echo');
CALL data8.cleanse_table('contacts', 'tags', 'Echo');
CALL data8.cleanse_table('contacts', 'id', 'Echo', columns => ARRAY['nope']);
CALL data8.cleanse_table('contacts', 'id', 'Echo', column_map => '{"name": "Full Name"}');
CALL data8.cleanse_table('contacts', 'id', 'Echo', column_map => '{"nope": "x"}');
CALL data8.cleanse_table('contacts', 'id', 'Echo', column_map => '{"name": 1}');
CALL data8.cleanse_table('contacts', 'id', 'Echo', column_map => '[1]');
CALL data8.cleanse_table('contacts', 'id', 'Echo', column_map => '{"name": "email"}');
CALL data8.cleanse_table('contacts', 'id', 'Echo', extra_inputs => '{"Input": "x"}');
CALL data8.cleanse_table('contacts', 'id', 'Echo', extra_inputs => '{"Accounts": "Bad Name"}');
CALL data8.cleanse_table('contacts', 'id', '');
CALL data8.cleanse_table('contacts', 'id', 'Echo', timeout => '0');
CALL data8.cleanse_table('contacts', 'id', 'Echo', parameters => '[1]');
CREATE VIEW contacts_view AS SELECT * FROM contacts;
CALL data8.cleanse_table('contacts_view', 'id', 'Echo');
SELECT count(*) AS runs_after_refusals FROM data8.runs;
\set SHOW_CONTEXT errors

-- errors from the service leave the table as it was
CREATE TABLE snapshot AS SELECT * FROM contacts;
SELECT try($$CALL data8.cleanse_table('contacts', 'id', 'AlwaysFails')$$);
SELECT try($$CALL data8.cleanse_table('contacts', 'id', 'NoSuchWorkflow')$$);
SELECT try($$CALL data8.cleanse_table('contacts', 'id', 'CleanseContacts', input_name => 'Contacts', output_name => 'Nope')$$);
-- an output value that does not fit the table's column: nothing changes
CREATE TABLE narrow (id int PRIMARY KEY, name text, postcode varchar(7));
INSERT INTO narrow VALUES (1, 'ann', 'sw1a1aa'), (2, 'bob', NULL);
SELECT try($$CALL data8.cleanse_table('narrow', 'id', 'CleanseContacts', input_name => 'Contacts', output_name => 'Contacts')$$);
TABLE narrow ORDER BY id;
SELECT count(*) AS changed_rows FROM (TABLE contacts EXCEPT TABLE snapshot) d;

-- cancellation during the wait leaves nothing half-applied
CREATE TABLE big AS SELECT i AS id, 'name ' || i AS name FROM generate_series(1, 20000) i;
ALTER TABLE big ADD PRIMARY KEY (id);
SELECT count(*) AS runs_before FROM data8.runs \gset
SET statement_timeout = '300ms';
\set SHOW_CONTEXT never
CALL data8.cleanse_table('big', 'id', 'CleanseContacts', input_name => 'Contacts', output_name => 'Contacts');
RESET statement_timeout;
\set SHOW_CONTEXT errors
SELECT count(*) FILTER (WHERE name <> 'name ' || id) AS changed FROM big;
SELECT count(*) - :runs_before AS new_runs FROM data8.runs;

-- submit now, apply later with sync; failed jobs are marked with the message
SELECT data8.submit_cleanse('big', 'id', 'CleanseContacts', input_name => 'Contacts', output_name => 'Contacts') AS big_run \gset
SELECT data8.submit_cleanse('contacts', 'id', 'AlwaysFails') AS failing_run \gset
SELECT state, rows_sent FROM data8.runs WHERE id IN (:big_run, :failing_run) ORDER BY id;
SELECT (data8.wait_for_job(job_name)).state FROM data8.runs WHERE id = :big_run;
CALL data8.sync();
SELECT id = :big_run AS big, state, rows_sent, rows_updated, rows_missing,
       regexp_replace(error, '(run \d+) [0-9a-f]{8}', '\1 <suffix>') AS error FROM data8.runs
 WHERE id IN (:big_run, :failing_run) ORDER BY id;
SELECT count(*) FILTER (WHERE name = 'Name ' || id) AS cleansed FROM big;
-- a second sync applies nothing twice
CALL data8.sync();
SELECT state, count(*) FROM data8.runs GROUP BY state ORDER BY state;

-- two overlapping syncs apply a run exactly once (the second skips it)
CREATE EXTENSION IF NOT EXISTS dblink;
CREATE TABLE applied (run_at timestamptz DEFAULT clock_timestamp());
-- (the extension runs with search_path = pg_catalog, pg_temp: triggers name
-- their tables with the schema, or set their own search_path)
CREATE FUNCTION slow_apply() RETURNS trigger LANGUAGE plpgsql SET search_path = public AS $$
BEGIN INSERT INTO applied DEFAULT VALUES; PERFORM pg_sleep(1); RETURN NULL; END $$;
CREATE TRIGGER slow_apply AFTER UPDATE ON people FOR EACH STATEMENT EXECUTE FUNCTION slow_apply();
UPDATE people SET name = 'x' WHERE email = 'c@example.com';
TRUNCATE applied;
SELECT data8.submit_cleanse('people', 'email', 'CleanseContacts', input_name => 'Contacts', output_name => 'Contacts') AS people_run \gset
SELECT (data8.wait_for_job(job_name)).state FROM data8.runs WHERE id = :people_run;
SELECT dblink_connect('other', 'dbname=' || current_database() || ' host=' || split_part(current_setting('unix_socket_directories'), ',', 1) || ' port=' || current_setting('port'));
SELECT dblink_send_query('other', 'CALL data8.sync()');
SET client_min_messages = error;	-- which of the two applies it varies
CALL data8.sync();
RESET client_min_messages;
SELECT dblink_get_result('other') IS NOT NULL AS other_done;
SELECT dblink_disconnect('other');
SELECT count(*) AS times_applied FROM applied;
SELECT state, rows_updated FROM data8.runs WHERE id = :people_run;
