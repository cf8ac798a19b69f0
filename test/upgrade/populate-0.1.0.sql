-- Rows a 0.1.0 install holds in use: a profile, runs in each state and a
-- schedule.  test/upgrade.sh checks they survive ALTER EXTENSION UPDATE.
\set ON_ERROR_STOP on
CREATE TABLE public.customers (id int PRIMARY KEY, name text, email text);
SELECT data8.set_profile('default', 'id-upgrade', 'secret-upgrade',
                         api_url => 'http://127.0.0.1:9', token_url => 'http://127.0.0.1:9/connect/token');
SELECT data8.set_profile('team_b', 'id-b', 'secret-b');
INSERT INTO data8.runs (target, key_column, workflow, input_name, output_name, columns, timeout,
                        state, job_name, input_dataset, rows_sent, schedule_name)
VALUES ('public.customers', 'id', 'Echo', 'Input', 'Output', '{id,name,email}', '1 hour',
        'submitted', 'data8 public.customers run 1 aaaa', 'd8_customers_r1_aaaa', 3, 'nightly'),
       ('public.customers', 'id', 'Echo', 'Input', 'Output', '{id,name}', '1 hour',
        'done', 'data8 public.customers run 2 bbbb', 'd8_customers_r2_bbbb', 5, NULL),
       ('public.customers', 'id', 'AlwaysFails', 'Input', 'Output', '{id}', '2 hours',
        'failed', 'data8 public.customers run 3 cccc', 'd8_customers_r3_cccc', 1, NULL);
INSERT INTO data8.schedules (name, target, key_column, workflow, input_name, output_name, timeout)
VALUES ('nightly', 'public.customers', 'id', 'Echo', 'Input', 'Output', '1 hour');
