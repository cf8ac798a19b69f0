-- data8 upgrade script 0.1.0 -> 0.2.0 (ALTER EXTENSION data8 UPDATE).
-- After it, the schema equals a fresh install of 0.2.0 object for object:
-- test/upgrade.sh checks it.

\echo Use "ALTER EXTENSION data8 UPDATE" to load this file. \quit

-- issue 10: profiles granted per role, secrets from a file, set_profile in C
ALTER TABLE data8.profile ALTER COLUMN client_secret DROP NOT NULL;
ALTER TABLE data8.profile ADD COLUMN client_secret_file text;
ALTER TABLE data8.profile ADD CONSTRAINT profile_one_secret
    CHECK ((client_secret IS NULL) <> (client_secret_file IS NULL));
COMMENT ON COLUMN data8.profile.client_secret_file IS
    'A file the server reads the client secret from at each use, instead of client_secret.';

CREATE TABLE data8.profile_grant (
    profile text NOT NULL REFERENCES data8.profile (name) ON UPDATE CASCADE ON DELETE CASCADE,
    grantee regrole NOT NULL,
    PRIMARY KEY (profile, grantee)
);
COMMENT ON TABLE data8.profile_grant IS
    'The roles each profile is granted to (data8.grant_profile); members of a grantee may use the profile too.';
REVOKE ALL ON data8.profile_grant FROM PUBLIC;

DROP FUNCTION data8.set_profile(text, text, text, text, text, text);

-- In C: whatever goes wrong, the statement (which holds the secret) is
-- kept out of the server log (errhidestmt), at any log_min_error_statement.
CREATE FUNCTION data8.set_profile(
    name text, client_id text, client_secret text DEFAULT NULL,
    api_url text DEFAULT NULL, token_url text DEFAULT NULL, scope text DEFAULT NULL,
    client_secret_file text DEFAULT NULL)
RETURNS void
AS 'MODULE_PATHNAME', 'data8_set_profile'
LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION data8.set_profile(text, text, text, text, text, text, text) IS
    'Creates or replaces a Data8 profile: credentials (the secret itself, or a file the server reads it from) and endpoints; NULL URLs and scope keep the current value or the default. A failed call never writes the statement to the server log.';
REVOKE ALL ON FUNCTION data8.set_profile(text, text, text, text, text, text, text) FROM PUBLIC;

CREATE FUNCTION data8.grant_profile(profile text, role regrole)
RETURNS void
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF profile IS NULL OR role IS NULL THEN
        RAISE EXCEPTION 'profile and role must not be NULL' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    IF NOT EXISTS (SELECT 1 FROM data8.profile p WHERE p.name OPERATOR(pg_catalog.=) grant_profile.profile) THEN
        RAISE EXCEPTION 'data8 profile "%" does not exist', profile USING ERRCODE = 'undefined_object';
    END IF;
    INSERT INTO data8.profile_grant VALUES (profile, role) ON CONFLICT DO NOTHING;
END
$$;
COMMENT ON FUNCTION data8.grant_profile(text, regrole) IS
    'Lets a role (and its members) use a Data8 profile''s credentials, never seeing them.';
REVOKE ALL ON FUNCTION data8.grant_profile(text, regrole) FROM PUBLIC;

CREATE FUNCTION data8.revoke_profile(profile text, role regrole)
RETURNS boolean
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    DELETE FROM data8.profile_grant g
     WHERE g.profile OPERATOR(pg_catalog.=) revoke_profile.profile
       AND g.grantee OPERATOR(pg_catalog.=) revoke_profile.role;
    RETURN FOUND;
END
$$;
COMMENT ON FUNCTION data8.revoke_profile(text, regrole) IS
    'Takes a profile back from a role; false if it was not granted to that role.';
REVOKE ALL ON FUNCTION data8.revoke_profile(text, regrole) FROM PUBLIC;


-- 0.1.0 let every role with data8.grant_usage() use every profile: those
-- roles keep the profiles they could use, now as explicit grants
INSERT INTO data8.profile_grant (profile, grantee)
SELECT p.name, r.oid::regrole
  FROM data8.profile p
 CROSS JOIN pg_catalog.pg_roles r
 WHERE r.oid <> (SELECT c.relowner FROM pg_catalog.pg_class c WHERE c.oid = 'data8.profile'::regclass)
   AND NOT r.rolsuper
   AND pg_catalog.has_function_privilege(r.oid, 'data8.upload_dataset(text, text, integer, boolean)', 'EXECUTE');

-- issue 10: runs and schedules with owners, fingerprints, row security
DROP PROCEDURE data8.cleanse_table(regclass, name, text, text, text, name[], jsonb, text, interval);
DROP FUNCTION data8.submit_cleanse(regclass, name, text, text, text, name[], jsonb, text, interval);
DROP PROCEDURE data8.sync();
DROP FUNCTION data8.submit_scheduled(text);
DROP FUNCTION data8.schedule_cleanse(text, text, regclass, name, text, text, text, name[], jsonb, text, interval);
DROP FUNCTION data8.unschedule_cleanse(text);
DROP FUNCTION data8._cleanse_apply(bigint);
DROP FUNCTION data8._cleanse_start(regclass, name, text, text, text, name[], jsonb, text, interval, text);
DROP FUNCTION data8._cleanse_columns(regclass, name, name[], text);

ALTER TABLE data8.runs
    ADD COLUMN owner name NOT NULL DEFAULT CURRENT_USER,
    ADD COLUMN profile text,
    ADD COLUMN attempts integer NOT NULL DEFAULT 0,
    ADD COLUMN rows_conflicted bigint,
    ADD COLUMN rows_deleted bigint,
    ADD COLUMN rows_unexpected bigint,
    ADD COLUMN fields text[],
    ADD COLUMN column_map jsonb,
    ADD COLUMN extra_inputs jsonb,
    ADD COLUMN keep_datasets boolean NOT NULL DEFAULT false;
ALTER TABLE data8.schedules
    ADD COLUMN owner name NOT NULL DEFAULT CURRENT_USER,
    ADD COLUMN column_map jsonb,
    ADD COLUMN extra_inputs jsonb,
    ADD COLUMN keep_datasets boolean NOT NULL DEFAULT false;
ALTER TABLE data8.schedules DROP CONSTRAINT schedules_pkey;
ALTER TABLE data8.schedules ADD CONSTRAINT schedules_pkey PRIMARY KEY (owner, name);

-- owners of what 0.1.0 left: a schedule is its pg_cron job's user's, a run
-- its schedule's; any other run is the extension owner's (who ran this)
DO $$
BEGIN
    IF pg_catalog.to_regclass('cron.job') IS NOT NULL THEN
        EXECUTE 'UPDATE data8.schedules s SET owner = j.username FROM cron.job j WHERE j.jobid = s.cron_job_id';
    END IF;
END
$$;
UPDATE data8.runs r SET owner = s.owner FROM data8.schedules s WHERE s.name = r.schedule_name;
-- 0.1.0 kept no fingerprints: its unfinished runs cannot be applied
-- without risking an edit made since, so they end here, their datasets
-- left in the account for whoever wants them
UPDATE data8.runs
   SET state = 'failed', finished_at = pg_catalog.now(),
       error = 'submitted by data8 0.1.0, which kept no fingerprints of the rows sent: not applied, so that no edit made since is lost; submit the cleansing again'
 WHERE state IN ('uploading', 'submitted', 'applying');

COMMENT ON TABLE data8.runs IS
    'Cleansing runs: who ran what with which profile, the Data8 job and datasets, counts, timings, and the error of a failed run. Each role sees its own.';
COMMENT ON COLUMN data8.runs.fields IS
    'The dataset field each of columns was sent as (see column_map).';
COMMENT ON COLUMN data8.runs.rows_conflicted IS
    'Rows edited since they were sent: left as the user wrote them.';
COMMENT ON COLUMN data8.runs.rows_deleted IS
    'Rows deleted since they were sent: not brought back.';
COMMENT ON COLUMN data8.runs.rows_unexpected IS
    'Output rows whose key was not sent (or came twice): never applied.';
COMMENT ON COLUMN data8.runs.rows_missing IS
    'Rows sent that the output does not hold: not updated.';
COMMENT ON COLUMN data8.runs.attempts IS
    'Syncs that met a transient error (connection, 429/5xx, timeout, deadlock, lock timeout) and left the run for the next sync.';

-- a role reads its own runs (the extension owner, who owns the table, all);
-- only the run machinery writes them
ALTER TABLE data8.runs ENABLE ROW LEVEL SECURITY;
CREATE POLICY runs_own ON data8.runs FOR SELECT
    USING (owner OPERATOR(pg_catalog.=) CURRENT_USER);
COMMENT ON POLICY runs_own ON data8.runs IS 'A role reads her own runs.';

-- A run's state only moves forward, and what a run is never changes.
CREATE FUNCTION data8._runs_forward_only()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    rank CONSTANT text[] := '{uploading,submitted,applying,done}';
BEGIN
    IF OLD.state OPERATOR(pg_catalog.=) ANY ('{done,failed}') AND NEW.state IS DISTINCT FROM OLD.state
       OR pg_catalog.array_position(rank, NEW.state) < pg_catalog.array_position(rank, OLD.state) THEN
        RAISE EXCEPTION 'data8 run % cannot go from % back to %', OLD.id, OLD.state, NEW.state
            USING ERRCODE = 'object_not_in_prerequisite_state',
                  HINT = 'A run is applied at most once; submit a new run instead.';
    END IF;
    IF (NEW.target, NEW.key_column, NEW.columns, NEW.owner, NEW.profile, NEW.filter)
       IS DISTINCT FROM (OLD.target, OLD.key_column, OLD.columns, OLD.owner, OLD.profile, OLD.filter) THEN
        RAISE EXCEPTION 'what data8 run % sends and to whom it belongs cannot change', OLD.id
            USING ERRCODE = 'object_not_in_prerequisite_state';
    END IF;
    RETURN NEW;
END
$$;
COMMENT ON FUNCTION data8._runs_forward_only() IS
    'Internal trigger: a run''s state moves only forward (uploading, submitted, applying, done or failed), and its target, owner and profile never change.';
CREATE TRIGGER runs_forward_only BEFORE UPDATE ON data8.runs
    FOR EACH ROW EXECUTE FUNCTION data8._runs_forward_only();
COMMENT ON TRIGGER runs_forward_only ON data8.runs IS
    'A run''s state moves only forward, and what it sends and to whom it belongs never changes.';

-- The fingerprint of each row a run sent, by key, until the run is applied:
-- a hash of the record as it went out.  Written and read by the run
-- machinery only (nobody else has any right on it).
CREATE TABLE data8.run_rows (
    run_id      bigint NOT NULL,
    key         text NOT NULL,
    fingerprint bigint NOT NULL,
    PRIMARY KEY (run_id, key)
);
COMMENT ON TABLE data8.run_rows IS
    'Fingerprints of the rows sent by unfinished runs, by key: a row is updated only if it still matches what was sent.';
SELECT pg_catalog.pg_extension_config_dump('data8.run_rows', '');


COMMENT ON TABLE data8.schedules IS
    'Cleansings scheduled with pg_cron (data8.schedule_cleanse); the cron command only names the row. Each role sees and changes its own.';

-- a schedule runs with its owner's rights (the pg_cron job is hers), so a
-- role may write her own rows, and only those
ALTER TABLE data8.schedules ENABLE ROW LEVEL SECURITY;
CREATE POLICY schedules_own ON data8.schedules
    USING (owner OPERATOR(pg_catalog.=) CURRENT_USER)
    WITH CHECK (owner OPERATOR(pg_catalog.=) CURRENT_USER);
COMMENT ON POLICY schedules_own ON data8.schedules IS 'A role reads and writes her own schedules.';


-- What a cleansing would send: checks the request before anything is sent
-- (a table, a unique key set in every row sent, columns Data8 can carry
-- under names a dataset accepts) and returns each column with the dataset
-- field it is sent as, the key first.  column_map maps table columns to
-- field names; a name no map fixes is an ERROR whose HINT writes the map.
CREATE FUNCTION data8.cleanse_columns(target regclass, key_column name,
                                      columns name[] DEFAULT NULL,
                                      filter text DEFAULT NULL,
                                      column_map jsonb DEFAULT NULL)
RETURNS TABLE (column_name name, field text)
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    key_type   regtype;
    cols       name[];
    skipped    name[];
    missing    text;
    bad        name[];
    suggestion text;
    dup        text;
    nulls      bigint;
    unique_key boolean;
    not_null   boolean;
BEGIN
    IF target IS NULL OR key_column IS NULL THEN
        RAISE EXCEPTION 'target and key_column must not be NULL'
            USING ERRCODE = 'null_value_not_allowed';
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_class c
                    WHERE c.oid OPERATOR(pg_catalog.=) target
                      AND c.relkind OPERATOR(pg_catalog.=) ANY ('{r,p}')) THEN
        RAISE EXCEPTION '% is not a table', target
            USING ERRCODE = 'wrong_object_type',
                  HINT = 'data8.cleanse_table() updates the rows of a table in place.';
    END IF;
    IF column_map IS NOT NULL THEN
        IF pg_catalog.jsonb_typeof(column_map) OPERATOR(pg_catalog.<>) 'object' THEN
            RAISE EXCEPTION 'column_map must be a JSON object'
                USING ERRCODE = 'invalid_parameter_value',
                      HINT = 'Map table columns to dataset fields: {"Full Name": "name"}.';
        END IF;
        SELECT m.key INTO missing FROM pg_catalog.jsonb_each(column_map) m
         WHERE pg_catalog.jsonb_typeof(m.value) OPERATOR(pg_catalog.<>) 'string'
         LIMIT 1;
        IF FOUND THEN
            RAISE EXCEPTION 'column_map entry "%" is not a string', missing
                USING ERRCODE = 'invalid_parameter_value',
                      HINT = 'Each entry maps a table column to a dataset field name.';
        END IF;
        SELECT m.key INTO missing FROM pg_catalog.jsonb_each_text(column_map) m
         WHERE NOT EXISTS (SELECT 1 FROM pg_catalog.pg_attribute a
                            WHERE a.attrelid OPERATOR(pg_catalog.=) target
                              AND a.attname::text OPERATOR(pg_catalog.=) m.key
                              AND a.attnum > 0 AND NOT a.attisdropped)
         LIMIT 1;
        IF FOUND THEN
            RAISE EXCEPTION 'column_map names column "%", which % does not have', missing, target
                USING ERRCODE = 'undefined_column';
        END IF;
    END IF;
    SELECT a.atttypid::regtype, a.attnotnull INTO key_type, not_null
      FROM pg_catalog.pg_attribute a
     WHERE a.attrelid OPERATOR(pg_catalog.=) target AND a.attname OPERATOR(pg_catalog.=) key_column
       AND a.attnum > 0 AND NOT a.attisdropped;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'column "%" of % does not exist', key_column, target
            USING ERRCODE = 'undefined_column';
    END IF;
    IF data8.column_type_for(key_type) IS NULL THEN
        RAISE EXCEPTION 'key column "%" of type % cannot be sent to Data8', key_column, key_type
            USING ERRCODE = 'datatype_mismatch',
                  HINT = 'Use a column of a scalar type (integer, text, uuid, ...) as the key.';
    END IF;

    IF columns IS NULL THEN
        -- all the columns a dataset can carry
        SELECT pg_catalog.array_agg(a.attname ORDER BY a.attnum)
                   FILTER (WHERE data8.column_type_for(a.atttypid) IS NOT NULL),
               pg_catalog.array_agg(a.attname ORDER BY a.attnum)
                   FILTER (WHERE data8.column_type_for(a.atttypid) IS NULL)
          INTO cols, skipped
          FROM pg_catalog.pg_attribute a
         WHERE a.attrelid OPERATOR(pg_catalog.=) target AND a.attnum > 0 AND NOT a.attisdropped;
        IF skipped IS NOT NULL THEN
            RAISE NOTICE 'data8: columns % of % are not sent: Data8 cannot hold their types', skipped, target
                USING HINT = 'Pass columns => ARRAY[...] to choose the columns yourself.';
        END IF;
    ELSE
        SELECT c INTO missing FROM pg_catalog.unnest(columns) AS c
         WHERE NOT EXISTS (SELECT 1 FROM pg_catalog.pg_attribute a
                            WHERE a.attrelid OPERATOR(pg_catalog.=) target
                              AND a.attname OPERATOR(pg_catalog.=) c
                              AND a.attnum > 0 AND NOT a.attisdropped)
         LIMIT 1;
        IF FOUND THEN
            RAISE EXCEPTION 'column "%" of % does not exist', missing, target
                USING ERRCODE = 'undefined_column';
        END IF;
        cols := columns;
    END IF;
    cols := ARRAY[key_column] OPERATOR(pg_catalog.||) pg_catalog.array_remove(cols, key_column);

    -- every column travels under a valid dataset field name
    SELECT pg_catalog.array_agg(c ORDER BY o),
           pg_catalog.string_agg(pg_catalog.format('"%s": "%s"', pg_catalog.replace(c, '"', '\"'),
               CASE WHEN s OPERATOR(pg_catalog.~) '^[a-z]' THEN s ELSE 'f_' OPERATOR(pg_catalog.||) s END),
               ', ' ORDER BY o)
      INTO bad, suggestion
      FROM (SELECT c, o, pg_catalog.left(pg_catalog.btrim(
                   pg_catalog.regexp_replace(pg_catalog.lower(c::text), '[^a-z0-9]+', '_', 'g'), '_'), 90) AS s
              FROM pg_catalog.unnest(cols) WITH ORDINALITY AS u(c, o)) n
     WHERE coalesce(column_map ->> c::text, c::text) OPERATOR(pg_catalog.!~) '^[a-z][a-z0-9_]{0,99}$';
    IF bad IS NOT NULL THEN
        RAISE EXCEPTION 'columns % of % have no valid Data8 field name', bad, target
            USING ERRCODE = 'invalid_name',
                  DETAIL = 'Dataset field names are lower case letters, digits and underscores, starting with a letter.',
                  HINT = pg_catalog.format('Map them to the workflow''s field names with column_map => ''{%s}''.', suggestion);
    END IF;
    SELECT f INTO dup FROM (SELECT coalesce(column_map ->> c::text, c::text) AS f
                              FROM pg_catalog.unnest(cols) AS c) x
     GROUP BY f HAVING pg_catalog.count(*) > 1 LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'two columns of % would be sent as field "%"', target, dup
            USING ERRCODE = 'duplicate_column',
                  HINT = 'Give each column its own field name in column_map.';
    END IF;

    -- output rows are matched to table rows by key: it must be unique in the
    -- whole table, and set in the rows sent
    SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_index i
                    JOIN pg_catalog.pg_attribute a ON a.attrelid OPERATOR(pg_catalog.=) i.indrelid
                                                  AND a.attnum OPERATOR(pg_catalog.=) i.indkey[0]
                   WHERE i.indrelid OPERATOR(pg_catalog.=) target AND i.indisunique AND i.indnkeyatts = 1
                     AND i.indpred IS NULL AND i.indexprs IS NULL
                     AND a.attname OPERATOR(pg_catalog.=) key_column)
      INTO unique_key;
    IF NOT unique_key THEN
        EXECUTE pg_catalog.format('SELECT %I::text FROM %s WHERE %I IS NOT NULL GROUP BY 1 HAVING pg_catalog.count(*) > 1 LIMIT 1',
                                  key_column, target, key_column)
           INTO dup;
        IF dup IS NOT NULL THEN
            RAISE EXCEPTION 'key column "%" of % is not unique', key_column, target
                USING ERRCODE = 'unique_violation',
                      DETAIL = pg_catalog.format('Key %s appears more than once.', dup),
                      HINT = 'Output rows are matched to table rows by key: use a unique column as key_column.';
        END IF;
    END IF;
    IF NOT not_null THEN
        EXECUTE pg_catalog.format('SELECT pg_catalog.count(*) FROM %s WHERE (%s) AND %I IS NULL',
                                  target, coalesce(filter, 'true'), key_column)
           INTO nulls;
        IF nulls > 0 THEN
            RAISE EXCEPTION 'key column "%" of % is NULL in % of the rows to send', key_column, target, nulls
                USING ERRCODE = 'not_null_violation',
                      HINT = pg_catalog.format('Rows without a key cannot be matched; add filter => %L.',
                                               pg_catalog.quote_ident(key_column) OPERATOR(pg_catalog.||) ' IS NOT NULL');
        END IF;
    END IF;
    RETURN QUERY SELECT c, coalesce(column_map ->> c::text, c::text)
                   FROM pg_catalog.unnest(cols) WITH ORDINALITY AS u(c, o) ORDER BY o;
END
$$;
COMMENT ON FUNCTION data8.cleanse_columns(regclass, name, name[], text, jsonb) IS
    'What a cleansing of target would send: each column with the dataset field it travels as, the key first; checks the table, the key and the names before anything is sent.';

CREATE PROCEDURE data8.cleanse_table(target regclass, key_column name, workflow text,
                                     input_name text DEFAULT 'Input',
                                     output_name text DEFAULT 'Output',
                                     columns name[] DEFAULT NULL,
                                     parameters jsonb DEFAULT '{}',
                                     filter text DEFAULT NULL,
                                     timeout interval DEFAULT '1 hour',
                                     column_map jsonb DEFAULT NULL,
                                     extra_inputs jsonb DEFAULT NULL,
                                     keep_datasets boolean DEFAULT false)
AS 'MODULE_PATHNAME', 'data8_cleanse_table'
LANGUAGE C;
COMMENT ON PROCEDURE data8.cleanse_table(regclass, name, text, text, text, name[], jsonb, text, interval, jsonb, jsonb, boolean) IS
    'Cleanses a table in place: uploads its rows, runs the workflow, waits, and updates in the same transaction the rows that nobody changed meanwhile (a failure leaves the table as it was). The run is recorded in data8.runs.';

CREATE FUNCTION data8.submit_cleanse(target regclass, key_column name, workflow text,
                                     input_name text DEFAULT 'Input',
                                     output_name text DEFAULT 'Output',
                                     columns name[] DEFAULT NULL,
                                     parameters jsonb DEFAULT '{}',
                                     filter text DEFAULT NULL,
                                     timeout interval DEFAULT '1 hour',
                                     column_map jsonb DEFAULT NULL,
                                     extra_inputs jsonb DEFAULT NULL,
                                     keep_datasets boolean DEFAULT false)
RETURNS bigint
AS 'MODULE_PATHNAME', 'data8_submit_cleanse'
LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION data8.submit_cleanse(regclass, name, text, text, text, name[], jsonb, text, interval, jsonb, jsonb, boolean) IS
    'Uploads a table''s rows with their fingerprints and starts the Data8 job, records the run in data8.runs and returns its id at once; CALL data8.sync() applies the output later.';

CREATE PROCEDURE data8.sync()
AS 'MODULE_PATHNAME', 'data8_sync'
LANGUAGE C;
COMMENT ON PROCEDURE data8.sync() IS
    'Polls the caller''s unfinished runs (the extension owner: everyone''s), applies each completed one exactly once with its owner''s rights and profile, committing after each run; one run''s error never stops the others.';

-- The command pg_cron runs for a schedule: starts a run unless the last
-- one of the same schedule is still unfinished.
CREATE FUNCTION data8.submit_scheduled(schedule_name text)
RETURNS bigint
AS 'MODULE_PATHNAME', 'data8_submit_scheduled'
LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION data8.submit_scheduled(text) IS
    'What pg_cron runs for a data8 schedule of the caller''s: submits a run with the schedule''s options, unless its previous run is unfinished.';

CREATE FUNCTION data8.schedule_cleanse(schedule_name text, schedule text,
                                       target regclass, key_column name, workflow text,
                                       input_name text DEFAULT 'Input',
                                       output_name text DEFAULT 'Output',
                                       columns name[] DEFAULT NULL,
                                       parameters jsonb DEFAULT '{}',
                                       filter text DEFAULT NULL,
                                       timeout interval DEFAULT '1 hour',
                                       column_map jsonb DEFAULT NULL,
                                       extra_inputs jsonb DEFAULT NULL,
                                       keep_datasets boolean DEFAULT false)
RETURNS bigint
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    job_id bigint;
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_extension WHERE extname OPERATOR(pg_catalog.=) 'pg_cron') THEN
        RAISE EXCEPTION 'pg_cron is not installed in this database'
            USING ERRCODE = 'feature_not_supported',
                  HINT = 'Add pg_cron to shared_preload_libraries, set cron.database_name to this database, and run CREATE EXTENSION pg_cron; or run CALL data8.cleanse_table() from your own scheduler.';
    END IF;
    IF schedule_name IS NULL OR schedule_name OPERATOR(pg_catalog.=) '' OR schedule IS NULL THEN
        RAISE EXCEPTION 'schedule_name and schedule must not be empty'
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF workflow IS NULL OR workflow OPERATOR(pg_catalog.=) '' OR input_name IS NULL OR output_name IS NULL
       OR timeout IS NULL OR timeout <= interval '0' THEN
        RAISE EXCEPTION 'workflow, input_name, output_name and a positive timeout are required'
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF extra_inputs IS NOT NULL AND pg_catalog.jsonb_typeof(extra_inputs) OPERATOR(pg_catalog.<>) 'object' THEN
        RAISE EXCEPTION 'extra_inputs must be a JSON object'
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Map the workflow''s input keys to existing datasets: {"Accounts": "accounts_2024"}.';
    END IF;
    -- fail now rather than at night
    PERFORM data8.cleanse_columns(target, key_column, columns, filter, column_map);

    -- the caller's own row only (row security): a name another role uses
    -- is hers, not a way into hers
    INSERT INTO data8.schedules AS s (name, target, key_column, workflow, input_name, output_name,
                                      columns, parameters, filter, timeout, column_map,
                                      extra_inputs, keep_datasets)
    VALUES (schedule_name, target, key_column, workflow, input_name, output_name,
            columns, coalesce(parameters, '{}'), filter, timeout, column_map,
            extra_inputs, coalesce(keep_datasets, false))
    ON CONFLICT ON CONSTRAINT schedules_pkey DO UPDATE
       SET target = EXCLUDED.target, key_column = EXCLUDED.key_column, workflow = EXCLUDED.workflow,
           input_name = EXCLUDED.input_name, output_name = EXCLUDED.output_name,
           columns = EXCLUDED.columns, parameters = EXCLUDED.parameters,
           filter = EXCLUDED.filter, timeout = EXCLUDED.timeout, column_map = EXCLUDED.column_map,
           extra_inputs = EXCLUDED.extra_inputs, keep_datasets = EXCLUDED.keep_datasets;

    -- the command names the schedule only: no secret, no SQL of the caller;
    -- pg_cron runs it as the caller, whose schedule it reads
    job_id := cron.schedule('data8 ' OPERATOR(pg_catalog.||) schedule_name, schedule,
                            pg_catalog.format('SELECT data8.submit_scheduled(%L)', schedule_name));
    PERFORM cron.schedule('data8 sync', '* * * * *', 'CALL data8.sync()');
    UPDATE data8.schedules SET cron_job_id = job_id
     WHERE name OPERATOR(pg_catalog.=) schedule_name AND owner OPERATOR(pg_catalog.=) CURRENT_USER;
    RETURN job_id;
END
$$;
COMMENT ON FUNCTION data8.schedule_cleanse(text, text, regclass, name, text, text, text, name[], jsonb, text, interval, jsonb, jsonb, boolean) IS
    'Schedules a cleansing with pg_cron as the caller: submits a run on schedule, and data8.sync() every minute applies the caller''s finished runs. Returns the pg_cron job id.';

CREATE FUNCTION data8.unschedule_cleanse(schedule_name text)
RETURNS boolean
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    s data8.schedules;
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_extension WHERE extname OPERATOR(pg_catalog.=) 'pg_cron') THEN
        RAISE EXCEPTION 'pg_cron is not installed in this database'
            USING ERRCODE = 'feature_not_supported',
                  HINT = 'Without pg_cron there are no data8 schedules to remove.';
    END IF;
    DELETE FROM data8.schedules
     WHERE name OPERATOR(pg_catalog.=) schedule_name AND owner OPERATOR(pg_catalog.=) CURRENT_USER
    RETURNING * INTO s;
    IF NOT FOUND THEN
        RETURN false;
    END IF;
    IF EXISTS (SELECT 1 FROM cron.job WHERE jobid OPERATOR(pg_catalog.=) s.cron_job_id) THEN
        PERFORM cron.unschedule(s.cron_job_id);
    END IF;
    -- the caller's sync job goes with her last schedule (runs still
    -- unfinished can be applied with CALL data8.sync())
    IF NOT EXISTS (SELECT 1 FROM data8.schedules WHERE owner OPERATOR(pg_catalog.=) CURRENT_USER)
       AND EXISTS (SELECT 1 FROM cron.job WHERE jobname OPERATOR(pg_catalog.=) 'data8 sync'
                                            AND username OPERATOR(pg_catalog.=) CURRENT_USER) THEN
        PERFORM cron.unschedule('data8 sync');
    END IF;
    RETURN true;
END
$$;
COMMENT ON FUNCTION data8.unschedule_cleanse(text) IS
    'Removes one of the caller''s data8 schedules and its pg_cron job (and the caller''s sync job with her last schedule); false if she has none of that name.';


-- issue 11: lists read until an empty page; a NULL filter of datasets()
-- means "not given" (no longer STRICT)
ALTER FUNCTION data8.datasets(boolean, boolean) CALLED ON NULL INPUT;
COMMENT ON FUNCTION data8.datasets(boolean, boolean) IS
    'Lists the account''s datasets over all pages (GET /Dataset, read until an empty page), sorted by name; a NULL argument leaves its filter out (both kinds are then included).';

-- issue 11: add_api_key_allowed_ip uses the body form of the reference
COMMENT ON FUNCTION data8.add_api_key_allowed_ip(text, cidr) IS
    'Allows an API key to be used from an IP network (POST /ApiKey/{key}/allowedIPs with the network as a CIDR string); returns nothing, adding a listed network is no error.';

-- issue 11: the failure reason of a job (the reference's Job has no message)
COMMENT ON FUNCTION data8.wait_for_job(text, interval) IS
    'Polls a job every data8.poll_interval (growing to ten times it) until it completes and returns it. Raises SQLSTATE 38000 if the job failed or was cancelled (its reason in DETAIL, see data8.job_failure_reason) and 57014 when timeout passes (NULL: no limit); the job keeps running at Data8 after a timeout. NOTICE lines show progress when data8.progress is on.';
CREATE FUNCTION data8.job_failure_reason(job data8.job)
RETURNS text
AS 'MODULE_PATHNAME', 'data8_job_failure_reason'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION data8.job_failure_reason(data8.job) IS
    'Why a failed or cancelled job ended: its message when Data8 gave one, else a sentence saying it gave none, with the job''s status and statistics. NULL for a job in any other state.';
-- as every routine of a fresh install: not PUBLIC's; the roles that
-- data8.grant_usage() gave data8.job() get it too, as it would now
REVOKE ALL ON FUNCTION data8.job_failure_reason(data8.job) FROM PUBLIC;

-- issue 10: privileges by an explicit list; runs are written by the
-- machinery only
REVOKE INSERT, UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER ON data8.runs FROM PUBLIC;
REVOKE ALL ON data8.schedules FROM PUBLIC;
REVOKE ALL ON data8.runs FROM PUBLIC;
DO $$
DECLARE
    r record;
BEGIN
    -- roles granted usage in 0.1.0 wrote runs directly: no more
    FOR r IN SELECT DISTINCT grantee FROM information_schema.role_table_grants
              WHERE table_schema = 'data8' AND table_name IN ('runs', 'schedules')
                AND grantee NOT IN ('PUBLIC')
                AND grantee::name <> (SELECT pg_catalog.pg_get_userbyid(c.relowner)
                                        FROM pg_catalog.pg_class c WHERE c.oid = 'data8.runs'::regclass)
    LOOP
        EXECUTE pg_catalog.format('REVOKE ALL ON data8.runs, data8.schedules FROM %I', r.grantee);
        EXECUTE pg_catalog.format('REVOKE ALL ON SEQUENCE data8.runs_id_seq FROM %I', r.grantee);
        EXECUTE pg_catalog.format('GRANT SELECT ON data8.runs TO %I', r.grantee);
        EXECUTE pg_catalog.format('GRANT SELECT, INSERT, UPDATE, DELETE ON data8.schedules TO %I', r.grantee);
    END LOOP;
END
$$;
DROP FUNCTION data8.grant_admin(name);
DROP FUNCTION data8.grant_usage(name);
DROP FUNCTION data8._grant(name, boolean);
DROP FUNCTION data8._is_admin_routine(name);

-- The routines of each level: 'usage' (datasets, jobs, the data path and
-- cleansing) or 'admin' (API keys, client credentials and secrets).
CREATE FUNCTION data8._routines(level text)
RETURNS regprocedure[]
LANGUAGE sql STABLE STRICT PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT CASE level
    WHEN 'usage' THEN ARRAY[
        'data8.datasets(boolean, boolean)', 'data8.dataset(text)',
        'data8.create_dataset(text, jsonb)', 'data8.complete_dataset(text, bigint)',
        'data8.delete_dataset(text)', 'data8.upload_block(text, integer, jsonb)',
        'data8.download_block(text, bigint, integer)',
        'data8.jobs(text, timestamptz, timestamptz)', 'data8.job(text)',
        'data8.start_job(text, text, jsonb, jsonb, text)', 'data8.wait_for_job(text, interval)',
        'data8.job_failure_reason(data8.job)',
        'data8.upload_dataset(text, text, integer, boolean)',
        'data8.fetch_output(text)', 'data8.fetch_output(text, anyelement)',
        'data8.fetch_output_json(text)',
        'data8.cleanse_columns(regclass, name, name[], text, jsonb)',
        'data8.cleanse_table(regclass, name, text, text, text, name[], jsonb, text, interval, jsonb, jsonb, boolean)',
        'data8.submit_cleanse(regclass, name, text, text, text, name[], jsonb, text, interval, jsonb, jsonb, boolean)',
        'data8.sync()', 'data8.submit_scheduled(text)',
        'data8.schedule_cleanse(text, text, regclass, name, text, text, text, name[], jsonb, text, interval, jsonb, jsonb, boolean)',
        'data8.unschedule_cleanse(text)']::regprocedure[]
    WHEN 'admin' THEN ARRAY[
        'data8.api_keys()', 'data8.api_key(text)',
        'data8.create_api_key(text, text, text, timestamptz, integer, boolean)',
        'data8.update_api_key(text, text, text, timestamptz, integer, boolean)',
        'data8.delete_api_key(text)',
        'data8.api_key_allowed_domains(text)', 'data8.add_api_key_allowed_domain(text, text)',
        'data8.remove_api_key_allowed_domain(text, text)',
        'data8.api_key_allowed_ips(text)', 'data8.add_api_key_allowed_ip(text, cidr)',
        'data8.remove_api_key_allowed_ip(text, cidr)',
        'data8.api_key_allowed_services(text)', 'data8.add_api_key_allowed_service(text, text)',
        'data8.remove_api_key_allowed_service(text, text)',
        'data8.client_credentials()', 'data8.client_credential(text)',
        'data8.create_client_credential(text)', 'data8.update_client_credential(text, text)',
        'data8.delete_client_credential(text)',
        'data8.client_secrets(text)', 'data8.client_secret(text, integer)',
        'data8.create_client_secret(text, text, timestamptz)',
        'data8.update_client_secret(text, integer, text, timestamptz)',
        'data8.delete_client_secret(text, integer)']::regprocedure[]
    END
$$;
COMMENT ON FUNCTION data8._routines(text) IS
    'Internal: the routines that data8.grant_usage() (level usage) and data8.grant_admin() (level admin) grant, listed one by one.';

-- Grants the routines of one level to a role.
CREATE FUNCTION data8._grant(role name, level text)
RETURNS void
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    fn regprocedure;
BEGIN
    IF role IS NULL OR NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = role) THEN
        RAISE EXCEPTION 'role "%" does not exist', role USING ERRCODE = 'undefined_object';
    END IF;
    EXECUTE format('GRANT USAGE ON SCHEMA data8 TO %I', role);
    FOREACH fn IN ARRAY data8._routines(level) LOOP
        EXECUTE format('GRANT EXECUTE ON %s %s TO %I',
                       CASE (SELECT prokind FROM pg_proc WHERE oid = fn)
                            WHEN 'p' THEN 'PROCEDURE' ELSE 'FUNCTION' END, fn, role);
    END LOOP;
    IF level = 'usage' THEN
        -- her own runs (row security); her own schedules, which run with
        -- her rights; runs and fingerprints are written by the machinery
        EXECUTE format('GRANT SELECT ON data8.runs TO %I', role);
        EXECUTE format('GRANT SELECT, INSERT, UPDATE, DELETE ON data8.schedules TO %I', role);
    END IF;
END
$$;
COMMENT ON FUNCTION data8._grant(name, text) IS
    'Internal: grants the data8 routines of one level (usage or admin) to a role.';

CREATE FUNCTION data8.grant_usage(role name)
RETURNS void
LANGUAGE sql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$ SELECT data8._grant(role, 'usage') $$;
COMMENT ON FUNCTION data8.grant_usage(name) IS
    'Lets a role work with datasets and jobs, upload, fetch and cleanse, with the profiles granted to it (data8.grant_profile).';

CREATE FUNCTION data8.grant_admin(role name)
RETURNS void
LANGUAGE sql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$ SELECT data8._grant(role, 'usage'); SELECT data8._grant(role, 'admin') $$;
COMMENT ON FUNCTION data8.grant_admin(name) IS
    'Lets a role do all that data8.grant_usage() allows, and manage API keys, client credentials and secrets.';

-- granting is the owner's business
REVOKE EXECUTE ON FUNCTION data8._routines(text), data8._grant(name, text),
                           data8.grant_usage(name), data8.grant_admin(name) FROM PUBLIC;

REVOKE EXECUTE ON ALL ROUTINES IN SCHEMA data8 FROM PUBLIC;
GRANT EXECUTE ON FUNCTION data8.check_service_url(text, text),
                          data8.contract_codes(),
                          data8.column_type_for(regtype) TO PUBLIC;
-- roles granted usage or admin in 0.1.0 get the new routines of their level
DO $$
DECLARE
    r record;
BEGIN
    FOR r IN SELECT rolname FROM pg_catalog.pg_roles
              WHERE NOT rolsuper
                AND pg_catalog.has_function_privilege(oid, 'data8.upload_dataset(text, text, integer, boolean)', 'EXECUTE')
    LOOP
        PERFORM data8._grant(r.rolname, 'usage');
        IF pg_catalog.has_function_privilege(r.rolname, 'data8.api_keys()', 'EXECUTE') THEN
            PERFORM data8._grant(r.rolname, 'admin');
        END IF;
    END LOOP;
END
$$;

-- issue 12: the request window sizes itself; the upload summary says how far it went
ALTER TYPE data8.upload_summary ADD ATTRIBUTE window_size integer;
COMMENT ON TYPE data8.upload_summary IS 'What data8.upload_dataset() sent; window_size is the largest number of blocks its request window kept in flight.';
