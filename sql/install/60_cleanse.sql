-- data8 install script, part 60: cleansing tables in place, tracked runs,
-- and scheduling with pg_cron.
--
-- The run machinery is in C (src/run.c, src/run_apply.c): it writes
-- data8.runs and data8.run_rows with the extension owner's rights, reads
-- and updates the target with the run owner's rights alone (sync() switches
-- to the owner in a security-restricted operation, as REFRESH MATERIALIZED
-- VIEW does), and keeps a fingerprint of each row sent so that a row
-- edited since is never overwritten.  Users read their own runs (row
-- security) and write their own schedules; nothing else.
-- cleanse_columns() and the schedule routines are PL/pgSQL with the
-- caller's rights and a pinned search_path: an object planted in another
-- schema cannot hijack them.  A filter is evaluated under that search_path
-- too: qualify your own functions in it.

-- One row per cleansing run, for cleanse_table(), submit_cleanse() and the
-- scheduler.  Kept by pg_dump (pg_extension_config_dump below).
CREATE TABLE data8.runs (
    id              bigserial PRIMARY KEY,
    target          regclass NOT NULL,
    key_column      name NOT NULL,
    workflow        text NOT NULL,
    input_name      text NOT NULL,
    output_name     text NOT NULL,
    columns         name[] NOT NULL,
    parameters      jsonb NOT NULL DEFAULT '{}',
    filter          text,
    timeout         interval NOT NULL,
    schedule_name   text,
    state           text NOT NULL DEFAULT 'uploading'
                    CHECK (state IN ('uploading', 'submitted', 'applying', 'done', 'failed')),
    job_name        text,
    input_dataset   text,
    output_dataset  text,
    rows_sent       bigint,
    rows_updated    bigint,
    rows_unchanged  bigint,
    rows_missing    bigint,
    created_at      timestamptz NOT NULL DEFAULT pg_catalog.clock_timestamp(),
    submitted_at    timestamptz,
    apply_started_at timestamptz,
    fetched_at      timestamptz,
    finished_at     timestamptz,
    error           text,
    owner           name NOT NULL DEFAULT CURRENT_USER,
    profile         text,
    attempts        integer NOT NULL DEFAULT 0,
    rows_conflicted bigint,
    rows_deleted    bigint,
    rows_unexpected bigint,
    fields          text[],
    column_map      jsonb,
    extra_inputs    jsonb,
    keep_datasets   boolean NOT NULL DEFAULT false
);
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
CREATE INDEX runs_unfinished ON data8.runs (id) WHERE state IN ('uploading', 'submitted', 'applying');
SELECT pg_catalog.pg_extension_config_dump('data8.runs', '');
SELECT pg_catalog.pg_extension_config_dump('data8.runs_id_seq', '');
-- a role reads its own runs (the extension owner, who owns the table, all);
-- only the run machinery writes them
REVOKE ALL ON data8.runs FROM PUBLIC;
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

-- The cleansings registered with pg_cron by data8.schedule_cleanse().
CREATE TABLE data8.schedules (
    name         text NOT NULL,
    cron_job_id  bigint,
    target       regclass NOT NULL,
    key_column   name NOT NULL,
    workflow     text NOT NULL,
    input_name   text NOT NULL,
    output_name  text NOT NULL,
    columns      name[],
    parameters   jsonb NOT NULL DEFAULT '{}',
    filter       text,
    timeout      interval NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT pg_catalog.now(),
    owner        name NOT NULL DEFAULT CURRENT_USER,
    column_map   jsonb,
    extra_inputs jsonb,
    keep_datasets boolean NOT NULL DEFAULT false,
    CONSTRAINT schedules_pkey PRIMARY KEY (owner, name)
);
COMMENT ON TABLE data8.schedules IS
    'Cleansings scheduled with pg_cron (data8.schedule_cleanse); the cron command only names the row. Each role sees and changes its own.';
SELECT pg_catalog.pg_extension_config_dump('data8.schedules', '');
-- a schedule runs with its owner's rights (the pg_cron job is hers), so a
-- role may write her own rows, and only those
REVOKE ALL ON data8.schedules FROM PUBLIC;
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
