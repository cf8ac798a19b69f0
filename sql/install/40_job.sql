-- data8 install script, part 40: jobs (src/job.c).

CREATE FUNCTION data8.jobs(workflow text DEFAULT NULL,
                           start_date timestamptz DEFAULT NULL,
                           end_date timestamptz DEFAULT NULL)
RETURNS SETOF data8.job
AS 'MODULE_PATHNAME', 'data8_jobs'
LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION data8.jobs(text, timestamptz, timestamptz) IS
    'Lists the account''s jobs over all pages (GET /Job), newest first, optionally only those of one workflow or submitted between start_date and end_date (NULL: no limit). List items carry basic details only.';

CREATE FUNCTION data8.job(name text)
RETURNS data8.job
AS 'MODULE_PATHNAME', 'data8_job'
LANGUAGE C VOLATILE STRICT PARALLEL UNSAFE;
COMMENT ON FUNCTION data8.job(text) IS
    'Full details and progress of one job (GET /Job/{name}).';

CREATE FUNCTION data8.start_job(name text, workflow text,
                                input_datasets jsonb DEFAULT '{}',
                                parameters jsonb DEFAULT '{}',
                                input_filename text DEFAULT NULL)
RETURNS data8.job
AS 'MODULE_PATHNAME', 'data8_start_job'
LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION data8.start_job(text, text, jsonb, jsonb, text) IS
    'Starts a job (POST /Job) under a unique name of your choice. input_datasets maps the workflow''s input names to completed input datasets, e.g. {"Input": "my_dataset"}; parameters are sent as strings (numbers and booleans as their text, null values left out).';

CREATE FUNCTION data8.wait_for_job(name text, timeout interval DEFAULT '1 hour')
RETURNS data8.job
AS 'MODULE_PATHNAME', 'data8_wait_for_job'
LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION data8.wait_for_job(text, interval) IS
    'Polls a job every data8.poll_interval (growing to ten times it) until it completes and returns it. Raises SQLSTATE 38000 if the job failed or was cancelled (its reason in DETAIL, see data8.job_failure_reason) and 57014 when timeout passes (NULL: no limit); the job keeps running at Data8 after a timeout. NOTICE lines show progress when data8.progress is on.';

CREATE FUNCTION data8.job_failure_reason(job data8.job)
RETURNS text
AS 'MODULE_PATHNAME', 'data8_job_failure_reason'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION data8.job_failure_reason(data8.job) IS
    'Why a failed or cancelled job ended: its message when Data8 gave one, else a sentence saying it gave none, with the job''s status and statistics. NULL for a job in any other state.';
