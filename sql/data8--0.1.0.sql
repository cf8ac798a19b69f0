-- data8 install script, part 00: configuration, contract tables, types.
-- The parts in sql/install/ are concatenated in name order by the Makefile.

\echo Use "CREATE EXTENSION data8" to load this file. \quit

-- Everyone may see the schema; what each role may call is set per function
-- (administrative functions are revoked from PUBLIC where they are made).
GRANT USAGE ON SCHEMA data8 TO PUBLIC;

-- Credentials and endpoints.  The table holds client secrets, so only the
-- extension owner reads it; everyone else sees data8.profiles.
CREATE TABLE data8.profile (
    name          text PRIMARY KEY DEFAULT 'default',
    client_id     text NOT NULL,
    client_secret text NOT NULL,
    api_url       text NOT NULL DEFAULT 'https://api.data-8.co.uk',
    token_url     text NOT NULL DEFAULT 'https://auth.data-8.co.uk/connect/token',
    scope         text NOT NULL DEFAULT 'BatchApi'
);
COMMENT ON TABLE data8.profile IS
    'Data8 credentials and endpoints, one row per profile; readable by the extension owner only (holds client secrets).';
-- secrets: nobody but the owner may read or change profiles
REVOKE ALL ON data8.profile FROM PUBLIC;

CREATE VIEW data8.profiles AS
    SELECT name, client_id, api_url, token_url, scope FROM data8.profile;
COMMENT ON VIEW data8.profiles IS 'Data8 profiles without their client secrets.';
GRANT SELECT ON data8.profiles TO PUBLIC;

CREATE FUNCTION data8.check_service_url(url text, field text DEFAULT 'url')
RETURNS text
AS 'MODULE_PATHNAME', 'data8_check_service_url'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION data8.check_service_url(text, text) IS
    'Returns url if it is a usable Data8 URL (https, or http to a loopback address); raises an error otherwise.';

CREATE FUNCTION data8.set_profile(
    name text, client_id text, client_secret text,
    api_url text DEFAULT NULL, token_url text DEFAULT NULL, scope text DEFAULT NULL)
RETURNS void
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF name IS NULL OR client_id IS NULL OR client_secret IS NULL THEN
        RAISE EXCEPTION 'name, client_id and client_secret must not be NULL'
            USING ERRCODE = 'null_value_not_allowed';
    END IF;
    IF api_url IS NOT NULL THEN PERFORM data8.check_service_url(api_url, 'api_url'); END IF;
    IF token_url IS NOT NULL THEN PERFORM data8.check_service_url(token_url, 'token_url'); END IF;
    INSERT INTO data8.profile AS p (name, client_id, client_secret, api_url, token_url, scope)
    VALUES (set_profile.name, set_profile.client_id, set_profile.client_secret,
            coalesce(set_profile.api_url, 'https://api.data-8.co.uk'),
            coalesce(set_profile.token_url, 'https://auth.data-8.co.uk/connect/token'),
            coalesce(set_profile.scope, 'BatchApi'))
    ON CONFLICT ON CONSTRAINT profile_pkey DO UPDATE
       SET client_id = EXCLUDED.client_id,
           client_secret = EXCLUDED.client_secret,
           api_url = coalesce(set_profile.api_url, p.api_url),
           token_url = coalesce(set_profile.token_url, p.token_url),
           scope = coalesce(set_profile.scope, p.scope);
END
$$;
COMMENT ON FUNCTION data8.set_profile(text, text, text, text, text, text) IS
    'Creates or replaces a Data8 profile (credentials and endpoints); NULL URLs and scope keep the current value or the default.';
REVOKE ALL ON FUNCTION data8.set_profile(text, text, text, text, text, text) FROM PUBLIC;

-- The wire contract's codes, as users see them.  The C code holds the same
-- mapping (src/contract.c); data8.contract_codes() shows it for a test.
CREATE TABLE data8.column_type (
    code integer PRIMARY KEY,
    name text NOT NULL UNIQUE
);
COMMENT ON TABLE data8.column_type IS 'Data8 dataset column type codes.';
INSERT INTO data8.column_type VALUES
    (0, 'string'), (1, 'integer'), (2, 'decimal'), (3, 'boolean'), (4, 'date'), (5, 'datetime');
GRANT SELECT ON data8.column_type TO PUBLIC;

CREATE TABLE data8.job_state (
    code integer PRIMARY KEY,
    name text NOT NULL UNIQUE
);
COMMENT ON TABLE data8.job_state IS 'Data8 job status codes.';
INSERT INTO data8.job_state VALUES
    (0, 'queued'), (1, 'running'), (2, 'completed'), (3, 'failed'), (4, 'cancelled');
GRANT SELECT ON data8.job_state TO PUBLIC;

CREATE FUNCTION data8.contract_codes(OUT kind text, OUT code integer, OUT name text)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'data8_contract_codes'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION data8.contract_codes() IS
    'The column type and job status codes compiled into the extension (they must match data8.column_type and data8.job_state).';

-- Result types
CREATE TYPE data8.dataset AS (
    name         text,
    input        boolean,
    completed    boolean,
    record_count bigint,
    columns      jsonb,
    location     text
);
COMMENT ON TYPE data8.dataset IS 'A Data8 dataset (columns is NULL in lists).';

CREATE TYPE data8.job AS (
    name                  text,
    workflow              text,
    status                integer,
    state                 text,
    percent_complete      numeric,
    submitted_at          timestamptz,
    completed_at          timestamptz,
    estimated_finish_time timestamptz,
    message               text,
    statistics            jsonb,
    input_datasets        jsonb,
    output_datasets       jsonb,
    parameters            jsonb,
    input_filename        text,
    output_filenames      jsonb
);
COMMENT ON TYPE data8.job IS 'A Data8 job; state is the name of the status code (see data8.job_state).';

CREATE TYPE data8.api_key AS (
    key                          text,
    description                  text,
    username                     text,
    expires_on                   timestamptz,
    max_requests_per_ip_per_day  integer,
    is_client_key                boolean,
    allowed_domains              text[],
    allowed_ips                  cidr[],
    allowed_services             text[]
);
COMMENT ON TYPE data8.api_key IS 'A Data8 API key with its restrictions.';

CREATE TYPE data8.client_secret AS (
    client_secret_id integer,
    expires          timestamptz,
    description      text
);
COMMENT ON TYPE data8.client_secret IS 'A client secret of a Data8 client credential (never its value).';

CREATE TYPE data8.client_credential AS (
    client_id   text,
    description text,
    secrets     data8.client_secret[]
);
COMMENT ON TYPE data8.client_credential IS 'A Data8 client credential; secrets is NULL in lists.';

CREATE TYPE data8.new_client_secret AS (
    client_secret_id integer,
    expires          timestamptz,
    description      text,
    generated_secret text
);
COMMENT ON TYPE data8.new_client_secret IS 'A client secret just created: generated_secret is shown this once.';

CREATE TYPE data8.upload_summary AS (
    dataset text,
    records bigint,
    blocks  integer,
    bytes   bigint,
    seconds double precision
);
COMMENT ON TYPE data8.upload_summary IS 'What data8.upload_dataset() sent.';
-- data8 install script, part 10: API keys (src/api_key.c).
--
-- Creating, changing and deleting API keys and their restrictions changes
-- what the account's keys may do: these functions are administrative, so
-- PUBLIC may not execute them; the owner grants them to whom it chooses.

CREATE FUNCTION data8.api_keys()
RETURNS SETOF data8.api_key
AS 'MODULE_PATHNAME', 'data8_api_keys'
LANGUAGE C VOLATILE STRICT PARALLEL UNSAFE;
COMMENT ON FUNCTION data8.api_keys() IS
    'Lists the account''s API keys with their restrictions (GET /ApiKey).';

CREATE FUNCTION data8.api_key(key text)
RETURNS data8.api_key
AS 'MODULE_PATHNAME', 'data8_api_key'
LANGUAGE C VOLATILE STRICT PARALLEL UNSAFE;
COMMENT ON FUNCTION data8.api_key(text) IS
    'Details of one API key (GET /ApiKey/{key}).';

CREATE FUNCTION data8.create_api_key(
    key text DEFAULT NULL, description text DEFAULT NULL, username text DEFAULT NULL,
    expires_on timestamptz DEFAULT NULL, max_requests_per_ip_per_day integer DEFAULT NULL,
    is_client_key boolean DEFAULT false)
RETURNS data8.api_key
AS 'MODULE_PATHNAME', 'data8_create_api_key'
LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION data8.create_api_key(text, text, text, timestamptz, integer, boolean) IS
    'Creates an API key (POST /ApiKey); a NULL key lets Data8 generate one, other NULL fields are left out. Returns the new key.';
-- administrative: creates a credential for Data8's services
REVOKE ALL ON FUNCTION data8.create_api_key(text, text, text, timestamptz, integer, boolean) FROM PUBLIC;

CREATE FUNCTION data8.update_api_key(
    key text, description text DEFAULT NULL, username text DEFAULT NULL,
    expires_on timestamptz DEFAULT NULL, max_requests_per_ip_per_day integer DEFAULT NULL,
    is_client_key boolean DEFAULT NULL)
RETURNS data8.api_key
AS 'MODULE_PATHNAME', 'data8_update_api_key'
LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION data8.update_api_key(text, text, text, timestamptz, integer, boolean) IS
    'Changes the non-NULL fields of an API key (PUT /ApiKey/{key}; NULL leaves a field unchanged) and returns the key as it now is.';
-- administrative: changes what a key may do
REVOKE ALL ON FUNCTION data8.update_api_key(text, text, text, timestamptz, integer, boolean) FROM PUBLIC;

CREATE FUNCTION data8.delete_api_key(key text)
RETURNS void
AS 'MODULE_PATHNAME', 'data8_delete_api_key'
LANGUAGE C VOLATILE STRICT PARALLEL UNSAFE;
COMMENT ON FUNCTION data8.delete_api_key(text) IS
    'Deletes an API key (DELETE /ApiKey/{key}); returns nothing, an error if the key does not exist.';
-- administrative: revokes a key that applications may depend on
REVOKE ALL ON FUNCTION data8.delete_api_key(text) FROM PUBLIC;

-- allowed domains
CREATE FUNCTION data8.api_key_allowed_domains(key text)
RETURNS SETOF text
AS 'MODULE_PATHNAME', 'data8_api_key_allowed_domains'
LANGUAGE C VOLATILE STRICT PARALLEL UNSAFE;
COMMENT ON FUNCTION data8.api_key_allowed_domains(text) IS
    'Domains an API key can be used from in client-side code (GET /ApiKey/{key}/allowedDomains).';

CREATE FUNCTION data8.add_api_key_allowed_domain(key text, domain text)
RETURNS void
AS 'MODULE_PATHNAME', 'data8_add_api_key_allowed_domain'
LANGUAGE C VOLATILE STRICT PARALLEL UNSAFE;
COMMENT ON FUNCTION data8.add_api_key_allowed_domain(text, text) IS
    'Allows an API key to be used from a domain, e.g. www.example.com or *.example.com (PUT /ApiKey/{key}/allowedDomains/{domain}); returns nothing, adding a listed domain is no error.';
-- administrative: widens where a key may be used
REVOKE ALL ON FUNCTION data8.add_api_key_allowed_domain(text, text) FROM PUBLIC;

CREATE FUNCTION data8.remove_api_key_allowed_domain(key text, domain text)
RETURNS void
AS 'MODULE_PATHNAME', 'data8_remove_api_key_allowed_domain'
LANGUAGE C VOLATILE STRICT PARALLEL UNSAFE;
COMMENT ON FUNCTION data8.remove_api_key_allowed_domain(text, text) IS
    'Removes a domain from an API key''s allowed domains (DELETE /ApiKey/{key}/allowedDomains/{domain}); returns nothing, an error if the domain is not listed.';
-- administrative: changes where a key may be used
REVOKE ALL ON FUNCTION data8.remove_api_key_allowed_domain(text, text) FROM PUBLIC;

-- allowed IP networks
CREATE FUNCTION data8.api_key_allowed_ips(key text)
RETURNS SETOF cidr
AS 'MODULE_PATHNAME', 'data8_api_key_allowed_ips'
LANGUAGE C VOLATILE STRICT PARALLEL UNSAFE;
COMMENT ON FUNCTION data8.api_key_allowed_ips(text) IS
    'IP networks an API key can be used from (GET /ApiKey/{key}/allowedIPs); none means any address.';

CREATE FUNCTION data8.add_api_key_allowed_ip(key text, network cidr)
RETURNS void
AS 'MODULE_PATHNAME', 'data8_add_api_key_allowed_ip'
LANGUAGE C VOLATILE STRICT PARALLEL UNSAFE;
COMMENT ON FUNCTION data8.add_api_key_allowed_ip(text, cidr) IS
    'Allows an API key to be used from an IP network (PUT /ApiKey/{key}/allowedIPs/{network}/{prefix}); returns nothing, adding a listed network is no error.';
-- administrative: widens where a key may be used
REVOKE ALL ON FUNCTION data8.add_api_key_allowed_ip(text, cidr) FROM PUBLIC;

CREATE FUNCTION data8.remove_api_key_allowed_ip(key text, network cidr)
RETURNS void
AS 'MODULE_PATHNAME', 'data8_remove_api_key_allowed_ip'
LANGUAGE C VOLATILE STRICT PARALLEL UNSAFE;
COMMENT ON FUNCTION data8.remove_api_key_allowed_ip(text, cidr) IS
    'Removes an IP network from an API key''s allowed networks (DELETE /ApiKey/{key}/allowedIPs/{network}/{prefix}); returns nothing, an error if it is not listed.';
-- administrative: changes where a key may be used
REVOKE ALL ON FUNCTION data8.remove_api_key_allowed_ip(text, cidr) FROM PUBLIC;

-- allowed services
CREATE FUNCTION data8.api_key_allowed_services(key text)
RETURNS SETOF text
AS 'MODULE_PATHNAME', 'data8_api_key_allowed_services'
LANGUAGE C VOLATILE STRICT PARALLEL UNSAFE;
COMMENT ON FUNCTION data8.api_key_allowed_services(text) IS
    'Data8 services an API key can be used to access (GET /ApiKey/{key}/allowedServices).';

CREATE FUNCTION data8.add_api_key_allowed_service(key text, service text)
RETURNS void
AS 'MODULE_PATHNAME', 'data8_add_api_key_allowed_service'
LANGUAGE C VOLATILE STRICT PARALLEL UNSAFE;
COMMENT ON FUNCTION data8.add_api_key_allowed_service(text, text) IS
    'Allows an API key to access a Data8 service (PUT /ApiKey/{key}/allowedServices/{service}); returns nothing, adding a listed service is no error.';
-- administrative: widens what a key may do
REVOKE ALL ON FUNCTION data8.add_api_key_allowed_service(text, text) FROM PUBLIC;

CREATE FUNCTION data8.remove_api_key_allowed_service(key text, service text)
RETURNS void
AS 'MODULE_PATHNAME', 'data8_remove_api_key_allowed_service'
LANGUAGE C VOLATILE STRICT PARALLEL UNSAFE;
COMMENT ON FUNCTION data8.remove_api_key_allowed_service(text, text) IS
    'Removes a service from an API key''s allowed services (DELETE /ApiKey/{key}/allowedServices/{service}); returns nothing, an error if it is not listed.';
-- administrative: changes what a key may do
REVOKE ALL ON FUNCTION data8.remove_api_key_allowed_service(text, text) FROM PUBLIC;
-- data8 install script, part 20: client credentials and their secrets
-- (src/client_credential.c).
--
-- Client credentials are what obtains OAuth tokens for this account's
-- batch API: creating, changing or deleting them (and above all creating a
-- secret, whose value is returned) is administrative, so PUBLIC may not
-- execute these functions; the owner grants them to whom it chooses.

CREATE FUNCTION data8.client_credentials()
RETURNS SETOF data8.client_credential
AS 'MODULE_PATHNAME', 'data8_client_credentials'
LANGUAGE C VOLATILE STRICT PARALLEL UNSAFE;
COMMENT ON FUNCTION data8.client_credentials() IS
    'Lists the account''s client credentials (GET /ClientCredential); secrets is NULL in the list.';

CREATE FUNCTION data8.client_credential(client_id text)
RETURNS data8.client_credential
AS 'MODULE_PATHNAME', 'data8_client_credential'
LANGUAGE C VOLATILE STRICT PARALLEL UNSAFE;
COMMENT ON FUNCTION data8.client_credential(text) IS
    'Details of one client credential with its secrets (never their values) (GET /ClientCredential/{id}).';

CREATE FUNCTION data8.create_client_credential(description text DEFAULT NULL)
RETURNS data8.client_credential
AS 'MODULE_PATHNAME', 'data8_create_client_credential'
LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION data8.create_client_credential(text) IS
    'Creates a client credential with a generated client_id and no secret yet (POST /ClientCredential); see data8.create_client_secret().';
-- administrative: creates a credential of the account
REVOKE ALL ON FUNCTION data8.create_client_credential(text) FROM PUBLIC;

CREATE FUNCTION data8.update_client_credential(client_id text, description text)
RETURNS data8.client_credential
AS 'MODULE_PATHNAME', 'data8_update_client_credential'
LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION data8.update_client_credential(text, text) IS
    'Changes the description of a client credential (PUT /ClientCredential/{id}; NULL leaves it unchanged) and returns the credential as it now is.';
-- administrative: changes a credential of the account
REVOKE ALL ON FUNCTION data8.update_client_credential(text, text) FROM PUBLIC;

CREATE FUNCTION data8.delete_client_credential(client_id text)
RETURNS void
AS 'MODULE_PATHNAME', 'data8_delete_client_credential'
LANGUAGE C VOLATILE STRICT PARALLEL UNSAFE;
COMMENT ON FUNCTION data8.delete_client_credential(text) IS
    'Deletes a client credential and its secrets (DELETE /ClientCredential/{id}); returns nothing.';
-- administrative: cuts off whatever uses the credential
REVOKE ALL ON FUNCTION data8.delete_client_credential(text) FROM PUBLIC;

CREATE FUNCTION data8.client_secrets(client_id text)
RETURNS SETOF data8.client_secret
AS 'MODULE_PATHNAME', 'data8_client_secrets'
LANGUAGE C VOLATILE STRICT PARALLEL UNSAFE;
COMMENT ON FUNCTION data8.client_secrets(text) IS
    'The secrets of a client credential, without their values (GET /ClientCredential/{id}/secrets).';

CREATE FUNCTION data8.client_secret(client_id text, secret_id integer)
RETURNS data8.client_secret
AS 'MODULE_PATHNAME', 'data8_client_secret'
LANGUAGE C VOLATILE STRICT PARALLEL UNSAFE;
COMMENT ON FUNCTION data8.client_secret(text, integer) IS
    'One secret of a client credential, without its value (GET /ClientCredential/{id}/secrets/{secretId}).';

CREATE FUNCTION data8.create_client_secret(client_id text, description text DEFAULT NULL,
                                           expires timestamptz DEFAULT NULL)
RETURNS data8.new_client_secret
AS 'MODULE_PATHNAME', 'data8_create_client_secret'
LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION data8.create_client_secret(text, text, timestamptz) IS
    'Creates a secret for a client credential (POST /ClientCredential/{id}/secrets); generated_secret is returned this once and cannot be read again. NULL expires: no expiry.';
-- administrative, and it returns a secret that obtains tokens for the account
REVOKE ALL ON FUNCTION data8.create_client_secret(text, text, timestamptz) FROM PUBLIC;

CREATE FUNCTION data8.update_client_secret(client_id text, secret_id integer,
                                           description text DEFAULT NULL,
                                           expires timestamptz DEFAULT NULL)
RETURNS data8.client_secret
AS 'MODULE_PATHNAME', 'data8_update_client_secret'
LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION data8.update_client_secret(text, integer, text, timestamptz) IS
    'Changes the non-NULL fields of a client secret (PUT /ClientCredential/{id}/secrets/{secretId}) and returns it as it now is.';
-- administrative: extends or ends a secret's life
REVOKE ALL ON FUNCTION data8.update_client_secret(text, integer, text, timestamptz) FROM PUBLIC;

CREATE FUNCTION data8.delete_client_secret(client_id text, secret_id integer)
RETURNS void
AS 'MODULE_PATHNAME', 'data8_delete_client_secret'
LANGUAGE C VOLATILE STRICT PARALLEL UNSAFE;
COMMENT ON FUNCTION data8.delete_client_secret(text, integer) IS
    'Deletes a client secret (DELETE /ClientCredential/{id}/secrets/{secretId}); returns nothing.';
-- administrative: cuts off whatever uses the secret
REVOKE ALL ON FUNCTION data8.delete_client_secret(text, integer) FROM PUBLIC;
-- data8 install script, part 30: datasets (src/dataset.c).

CREATE FUNCTION data8.datasets(include_input boolean DEFAULT true,
                               include_output boolean DEFAULT true)
RETURNS SETOF data8.dataset
AS 'MODULE_PATHNAME', 'data8_datasets'
LANGUAGE C VOLATILE STRICT PARALLEL UNSAFE;
COMMENT ON FUNCTION data8.datasets(boolean, boolean) IS
    'Lists the account''s datasets over all pages (GET /Dataset), sorted by name.';

CREATE FUNCTION data8.dataset(name text)
RETURNS data8.dataset
AS 'MODULE_PATHNAME', 'data8_dataset'
LANGUAGE C VOLATILE STRICT PARALLEL UNSAFE;
COMMENT ON FUNCTION data8.dataset(text) IS
    'Details of one dataset, with its columns (GET /Dataset/{name}).';

CREATE FUNCTION data8.create_dataset(name text, columns jsonb)
RETURNS data8.dataset
AS 'MODULE_PATHNAME', 'data8_create_dataset'
LANGUAGE C VOLATILE STRICT PARALLEL UNSAFE;
COMMENT ON FUNCTION data8.create_dataset(text, jsonb) IS
    'Creates an input dataset (POST /Dataset); columns maps names to a type code 0-5 or name (see data8.column_type).';

CREATE FUNCTION data8.complete_dataset(name text, record_count bigint)
RETURNS void
AS 'MODULE_PATHNAME', 'data8_complete_dataset'
LANGUAGE C VOLATILE STRICT PARALLEL UNSAFE;
COMMENT ON FUNCTION data8.complete_dataset(text, bigint) IS
    'Marks an input dataset complete (PUT /Dataset/{name}); the service checks record_count against the records it holds.';

CREATE FUNCTION data8.delete_dataset(name text)
RETURNS void
AS 'MODULE_PATHNAME', 'data8_delete_dataset'
LANGUAGE C VOLATILE STRICT PARALLEL UNSAFE;
COMMENT ON FUNCTION data8.delete_dataset(text) IS
    'Deletes a dataset for good (DELETE /Dataset/{name}); its name can never be used again.';

CREATE FUNCTION data8.upload_block(name text, block_number integer, records jsonb)
RETURNS integer
AS 'MODULE_PATHNAME', 'data8_upload_block'
LANGUAGE C VOLATILE STRICT PARALLEL UNSAFE;
COMMENT ON FUNCTION data8.upload_block(text, integer, jsonb) IS
    'Uploads one block of 1 to 1,000 records (PATCH /Dataset/{name}/data); the same block number overwrites. Returns the records sent.';

CREATE FUNCTION data8.download_block(name text, start bigint, count integer)
RETURNS SETOF jsonb
AS 'MODULE_PATHNAME', 'data8_download_block'
LANGUAGE C VOLATILE STRICT PARALLEL UNSAFE;
COMMENT ON FUNCTION data8.download_block(text, bigint, integer) IS
    'Downloads up to 1,000 records of an output dataset from record start (1-based) (GET /Dataset/{name}/data).';
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
    'Polls a job every data8.poll_interval (growing to ten times it) until it completes and returns it. Raises SQLSTATE 38000 if the job failed or was cancelled (the job''s message in DETAIL) and 57014 when timeout passes (NULL: no limit); the job keeps running at Data8 after a timeout. NOTICE lines show progress when data8.progress is on.';
-- data8 install script, part 50: the streaming data path
-- (src/stream_upload.c, src/stream_fetch.c).

CREATE FUNCTION data8.upload_dataset(name text, query text,
                                     first_block integer DEFAULT 0,
                                     complete boolean DEFAULT true)
RETURNS data8.upload_summary
AS 'MODULE_PATHNAME', 'data8_upload_dataset'
LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION data8.upload_dataset(text, text, integer, boolean) IS
    'Creates a dataset typed after the query''s columns and streams its rows in blocks of 1,000 (data8.parallel_requests in flight); completes it with the exact count unless complete is false.';

CREATE FUNCTION data8.fetch_output(name text)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'data8_fetch_output'
LANGUAGE C VOLATILE STRICT PARALLEL UNSAFE ROWS 1000;
COMMENT ON FUNCTION data8.fetch_output(text) IS
    'An output dataset''s records as rows: give a column definition list (AS t(id int, ...)); columns are matched by name.';

CREATE FUNCTION data8.fetch_output(name text, rowtype anyelement)
RETURNS SETOF anyelement
AS 'MODULE_PATHNAME', 'data8_fetch_output'
LANGUAGE C VOLATILE PARALLEL UNSAFE ROWS 1000;
COMMENT ON FUNCTION data8.fetch_output(text, anyelement) IS
    'An output dataset''s records as rows of a composite type: data8.fetch_output(name, NULL::my_table).';

CREATE FUNCTION data8.fetch_output_json(name text)
RETURNS SETOF jsonb
AS 'MODULE_PATHNAME', 'data8_fetch_output_json'
LANGUAGE C VOLATILE STRICT PARALLEL UNSAFE ROWS 1000;
COMMENT ON FUNCTION data8.fetch_output_json(text) IS
    'An output dataset''s records as jsonb objects, in dataset order.';

CREATE FUNCTION data8.column_type_for(type regtype)
RETURNS integer
AS 'MODULE_PATHNAME', 'data8_column_type_for'
LANGUAGE C STABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION data8.column_type_for(regtype) IS
    'The Data8 column type code (see data8.column_type) that data8.upload_dataset() sends a column of this type as, or NULL if it cannot be sent.';
-- data8 install script, part 60: cleansing tables in place, tracked runs,
-- and scheduling with pg_cron.
--
-- These are PL/pgSQL on top of the C functions, with the caller's rights.
-- pg_cron runs them as whoever scheduled them, often a superuser, so each
-- pins search_path to pg_catalog, pg_temp: an object planted in another
-- schema cannot hijack them (data8.sync(), whose COMMITs forbid a SET
-- clause, sets it for each of its transactions).  A filter is evaluated
-- under that search_path too: qualify your own functions in it.

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
    error           text
);
COMMENT ON TABLE data8.runs IS
    'Cleansing runs: what was sent, the Data8 job and datasets, counts, timings, and the error of a failed run.';
CREATE INDEX runs_unfinished ON data8.runs (id) WHERE state IN ('uploading', 'submitted', 'applying');
SELECT pg_catalog.pg_extension_config_dump('data8.runs', '');
SELECT pg_catalog.pg_extension_config_dump('data8.runs_id_seq', '');
-- runs name tables and jobs but hold no secret: everyone may read them
GRANT SELECT ON data8.runs TO PUBLIC;

-- The cleansings registered with pg_cron by data8.schedule_cleanse().
CREATE TABLE data8.schedules (
    name         text PRIMARY KEY,
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
    created_at   timestamptz NOT NULL DEFAULT pg_catalog.now()
);
COMMENT ON TABLE data8.schedules IS
    'Cleansings scheduled with pg_cron (data8.schedule_cleanse); the cron command only names the row.';
SELECT pg_catalog.pg_extension_config_dump('data8.schedules', '');
GRANT SELECT ON data8.schedules TO PUBLIC;

-- Checks a cleansing request before anything is sent and returns the
-- columns to send, the key first.
CREATE FUNCTION data8._cleanse_columns(target regclass, key_column name,
                                       columns name[], filter text)
RETURNS name[]
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    key_type  regtype;
    result    name[];
    skipped   name[];
    missing   name;
    dup       text;
    nulls     bigint;
    unique_key boolean;
    not_null  boolean;
BEGIN
    IF target IS NULL OR key_column IS NULL THEN
        RAISE EXCEPTION 'target and key_column must not be NULL'
            USING ERRCODE = 'null_value_not_allowed';
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_class c
                    WHERE c.oid = target AND c.relkind OPERATOR(pg_catalog.=) ANY ('{r,p}')) THEN
        RAISE EXCEPTION '% is not a table', target
            USING ERRCODE = 'wrong_object_type',
                  HINT = 'data8.cleanse_table() updates the rows of a table in place.';
    END IF;
    SELECT a.atttypid::regtype, a.attnotnull INTO key_type, not_null
      FROM pg_catalog.pg_attribute a
     WHERE a.attrelid = target AND a.attname OPERATOR(pg_catalog.=) key_column
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
        -- all the columns a dataset can carry, under names it accepts
        SELECT pg_catalog.array_agg(a.attname ORDER BY a.attnum)
                   FILTER (WHERE data8.column_type_for(a.atttypid) IS NOT NULL
                             AND a.attname::text OPERATOR(pg_catalog.~) '^[a-z][a-z0-9_]*$'),
               pg_catalog.array_agg(a.attname ORDER BY a.attnum)
                   FILTER (WHERE data8.column_type_for(a.atttypid) IS NULL
                              OR a.attname::text OPERATOR(pg_catalog.!~) '^[a-z][a-z0-9_]*$')
          INTO result, skipped
          FROM pg_catalog.pg_attribute a
         WHERE a.attrelid = target AND a.attnum > 0 AND NOT a.attisdropped;
        IF skipped IS NOT NULL THEN
            RAISE NOTICE 'data8: columns % of % are not sent: Data8 cannot hold their names or types', skipped, target
                USING HINT = 'Pass columns => ARRAY[...] to choose the columns yourself.';
        END IF;
    ELSE
        SELECT c INTO missing FROM pg_catalog.unnest(columns) AS c
         WHERE NOT EXISTS (SELECT 1 FROM pg_catalog.pg_attribute a
                            WHERE a.attrelid = target AND a.attname OPERATOR(pg_catalog.=) c
                              AND a.attnum > 0 AND NOT a.attisdropped)
         LIMIT 1;
        IF FOUND THEN
            RAISE EXCEPTION 'column "%" of % does not exist', missing, target
                USING ERRCODE = 'undefined_column';
        END IF;
        result := columns;
    END IF;
    result := ARRAY[key_column] OPERATOR(pg_catalog.||) pg_catalog.array_remove(result, key_column);

    -- output rows are matched to table rows by key: it must be unique in the
    -- whole table (the update matches all rows), and set in the rows sent
    SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_index i
                    JOIN pg_catalog.pg_attribute a ON a.attrelid = i.indrelid
                                                  AND a.attnum OPERATOR(pg_catalog.=) i.indkey[0]
                   WHERE i.indrelid = target AND i.indisunique AND i.indnkeyatts = 1
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
                                               pg_catalog.quote_ident(key_column) || ' IS NOT NULL');
        END IF;
    END IF;
    RETURN result;
END
$$;
COMMENT ON FUNCTION data8._cleanse_columns(regclass, name, name[], text) IS
    'Internal: checks a cleansing request (table, unique non-NULL key, columns) and returns the columns to send, key first.';

-- Starts a run: checks, records it, uploads the rows, starts the job.
CREATE FUNCTION data8._cleanse_start(target regclass, key_column name, workflow text,
                                     input_name text, output_name text, columns name[],
                                     parameters jsonb, filter text, timeout interval,
                                     schedule_name text)
RETURNS bigint
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    cols     name[];
    run_id   bigint;
    slug     text;
    suffix   text;
    qualified text;
    dataset  text;
    job      text;
    summary  data8.upload_summary;
BEGIN
    IF workflow IS NULL OR workflow OPERATOR(pg_catalog.=) '' THEN
        RAISE EXCEPTION 'workflow must not be empty' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF input_name IS NULL OR output_name IS NULL THEN
        RAISE EXCEPTION 'input_name and output_name must not be NULL'
            USING ERRCODE = 'null_value_not_allowed';
    END IF;
    IF timeout IS NULL OR timeout <= interval '0' THEN
        RAISE EXCEPTION 'timeout must be positive' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF parameters IS NOT NULL AND pg_catalog.jsonb_typeof(parameters) OPERATOR(pg_catalog.<>) 'object' THEN
        RAISE EXCEPTION 'parameters must be a JSON object' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    cols := data8._cleanse_columns(target, key_column, columns, filter);

    INSERT INTO data8.runs (target, key_column, workflow, input_name, output_name, columns,
                            parameters, filter, timeout, schedule_name)
    VALUES (target, key_column, workflow, input_name, output_name, cols,
            coalesce(parameters, '{}'), filter, timeout, schedule_name)
    RETURNING id INTO run_id;

    -- names: unique (a random suffix: deleted names are never reusable, and
    -- other databases may share the account), and traceable to table and run
    SELECT n.nspname OPERATOR(pg_catalog.||) '.' OPERATOR(pg_catalog.||) c.relname,
           pg_catalog.lower(c.relname)
      INTO qualified, slug
      FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
     WHERE c.oid = target;
    slug := pg_catalog.left(pg_catalog.regexp_replace(slug, '[^a-z0-9_]+', '_', 'g'), 40);
    IF slug OPERATOR(pg_catalog.!~) '^[a-z]' THEN
        slug := 't' OPERATOR(pg_catalog.||) slug;
    END IF;
    suffix := pg_catalog.left(pg_catalog.md5(pg_catalog.random()::text
                                             OPERATOR(pg_catalog.||) pg_catalog.clock_timestamp()::text), 8);
    dataset := pg_catalog.format('d8_%s_r%s_%s', slug, run_id, suffix);
    job := pg_catalog.format('data8 %s run %s %s',
                             pg_catalog.translate(qualified, '/:*?"<>|\', '_________'), run_id, suffix);

    summary := data8.upload_dataset(dataset,
        pg_catalog.format('SELECT %s FROM %s WHERE (%s)',
                          (SELECT pg_catalog.string_agg(pg_catalog.quote_ident(c), ', ')
                             FROM pg_catalog.unnest(cols) AS c),
                          target, coalesce(filter, 'true')));
    PERFORM data8.start_job(job, workflow, pg_catalog.jsonb_build_object(input_name, dataset),
                            coalesce(parameters, '{}'));

    UPDATE data8.runs
       SET state = 'submitted', job_name = job, input_dataset = dataset,
           rows_sent = summary.records, submitted_at = pg_catalog.clock_timestamp()
     WHERE id = run_id;
    RETURN run_id;
END
$$;
COMMENT ON FUNCTION data8._cleanse_start(regclass, name, text, text, text, name[], jsonb, text, interval, text) IS
    'Internal: records a run, uploads the table''s rows and starts the Data8 job; returns the run id.';

-- Applies a completed run's output to its table: one UPDATE by key.
CREATE FUNCTION data8._cleanse_apply(run_id bigint)
RETURNS data8.runs
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    r         data8.runs;
    j         data8.job;
    out       text;
    ocols     jsonb;
    keydef    text;
    coldefs   text;
    setcols   text;
    ocolsl    text;
    tcolsl    text;
    tmp       text;
    n_out     bigint;
    n_matched bigint;
    n_updated bigint := 0;
    missing   bigint;
    dup       text;
    sample    text;
BEGIN
    SELECT * INTO STRICT r FROM data8.runs WHERE id OPERATOR(pg_catalog.=) run_id;
    UPDATE data8.runs SET apply_started_at = pg_catalog.clock_timestamp()
     WHERE id OPERATOR(pg_catalog.=) run_id;
    j := data8.job(r.job_name);
    IF j.state OPERATOR(pg_catalog.<>) 'completed' THEN
        RAISE EXCEPTION 'Data8 job "%" is %, not completed', r.job_name, j.state
            USING ERRCODE = 'object_not_in_prerequisite_state';
    END IF;
    out := j.output_datasets ->> r.output_name;
    IF out IS NULL THEN
        RAISE EXCEPTION 'Data8 job "%" has no output "%"', r.job_name, r.output_name
            USING ERRCODE = 'undefined_object',
                  DETAIL = pg_catalog.format('Its outputs are %s.', coalesce(j.output_datasets, '{}')),
                  HINT = 'Set output_name to the workflow''s output key.';
    END IF;
    ocols := (data8.dataset(out)).columns;
    IF NOT ocols ? r.key_column THEN
        RAISE EXCEPTION 'output dataset "%" has no key column "%"', out, r.key_column
            USING ERRCODE = 'undefined_column',
                  HINT = 'The workflow must return the key column to match rows.';
    END IF;

    -- the key and the columns both in the output and in the table
    SELECT pg_catalog.format('%I %s', a.attname, pg_catalog.format_type(a.atttypid, a.atttypmod))
      INTO keydef
      FROM pg_catalog.pg_attribute a
     WHERE a.attrelid = r.target AND a.attname OPERATOR(pg_catalog.=) r.key_column;
    SELECT pg_catalog.string_agg(pg_catalog.format('%I %s', a.attname,
                                 pg_catalog.format_type(a.atttypid, a.atttypmod)), ', ' ORDER BY a.attnum),
           pg_catalog.string_agg(pg_catalog.quote_ident(a.attname), ', ' ORDER BY a.attnum),
           pg_catalog.string_agg('o.' OPERATOR(pg_catalog.||) pg_catalog.quote_ident(a.attname), ', ' ORDER BY a.attnum),
           pg_catalog.string_agg('t.' OPERATOR(pg_catalog.||) pg_catalog.quote_ident(a.attname), ', ' ORDER BY a.attnum)
      INTO coldefs, setcols, ocolsl, tcolsl
      FROM pg_catalog.pg_attribute a
     WHERE a.attrelid = r.target AND a.attnum > 0 AND NOT a.attisdropped
       AND a.attgenerated OPERATOR(pg_catalog.=) ''
       AND a.attname OPERATOR(pg_catalog.<>) r.key_column
       AND ocols ? a.attname;

    -- the output, converted to the table's types (an ERROR leaves the table as it was)
    tmp := 'data8_output_' OPERATOR(pg_catalog.||) r.id;
    EXECUTE pg_catalog.format('CREATE TEMP TABLE %I ON COMMIT DROP AS SELECT * FROM data8.fetch_output(%L) AS o(%s)',
                              tmp, out, pg_catalog.concat_ws(', ', keydef, coldefs));
    GET DIAGNOSTICS n_out = ROW_COUNT;
    UPDATE data8.runs SET fetched_at = pg_catalog.clock_timestamp()
     WHERE id OPERATOR(pg_catalog.=) r.id;
    EXECUTE pg_catalog.format('SELECT o.%I::text FROM pg_temp.%I o GROUP BY 1 HAVING pg_catalog.count(*) > 1 LIMIT 1',
                              r.key_column, tmp)
       INTO dup;
    IF dup IS NOT NULL THEN
        RAISE EXCEPTION 'output dataset "%" holds key % more than once', out, dup
            USING ERRCODE = 'cardinality_violation',
                  HINT = 'Nothing was updated; check the workflow''s output.';
    END IF;
    EXECUTE pg_catalog.format('SELECT pg_catalog.count(*) FROM pg_temp.%I o JOIN %s t ON t.%I = o.%I',
                              tmp, r.target, r.key_column, r.key_column)
       INTO n_matched;

    UPDATE data8.runs SET state = 'applying', output_dataset = out WHERE id OPERATOR(pg_catalog.=) r.id;
    IF setcols IS NOT NULL THEN
        EXECUTE pg_catalog.format('UPDATE %s AS t SET (%s) = ROW(%s) FROM pg_temp.%I AS o '
                                  'WHERE t.%I = o.%I AND ROW(%s) IS DISTINCT FROM ROW(%s)',
                                  r.target, setcols, ocolsl, tmp, r.key_column, r.key_column,
                                  tcolsl, ocolsl);
        GET DIAGNOSTICS n_updated = ROW_COUNT;
    END IF;

    -- rows sent that came back without a match are reported, never dropped silently
    missing := GREATEST(r.rows_sent - n_matched, 0);
    IF missing > 0 THEN
        EXECUTE pg_catalog.format('SELECT pg_catalog.string_agg(k, '', '') FROM (SELECT t.%I::text AS k FROM %s t '
                                  'WHERE (%s) AND NOT EXISTS (SELECT 1 FROM pg_temp.%I o WHERE o.%I = t.%I) '
                                  'ORDER BY 1 LIMIT 5) s',
                                  r.key_column, r.target, coalesce(r.filter, 'true'), tmp,
                                  r.key_column, r.key_column)
           INTO sample;
        RAISE WARNING 'data8: % of the % rows sent by run % are missing from the output',
                      missing, r.rows_sent, r.id
            USING DETAIL = pg_catalog.format('Missing keys include: %s.', coalesce(sample, '(none found now)')),
                  HINT = 'These rows were not updated. The workflow may have changed or dropped their keys.';
    END IF;
    EXECUTE pg_catalog.format('DROP TABLE pg_temp.%I', tmp);

    UPDATE data8.runs
       SET state = 'done', rows_updated = n_updated, rows_unchanged = n_matched - n_updated,
           rows_missing = missing, finished_at = pg_catalog.clock_timestamp(), error = NULL
     WHERE id OPERATOR(pg_catalog.=) r.id
    RETURNING * INTO r;
    RAISE NOTICE 'data8: run % cleansed %: % rows sent, % updated, % unchanged, % missing from the output',
                 r.id, r.target, r.rows_sent, r.rows_updated, r.rows_unchanged, r.rows_missing;
    RETURN r;
END
$$;
COMMENT ON FUNCTION data8._cleanse_apply(bigint) IS
    'Internal: fetches a completed run''s output and updates its table by key in one statement; records the counts.';

CREATE PROCEDURE data8.cleanse_table(target regclass, key_column name, workflow text,
                                     input_name text DEFAULT 'Input',
                                     output_name text DEFAULT 'Output',
                                     columns name[] DEFAULT NULL,
                                     parameters jsonb DEFAULT '{}',
                                     filter text DEFAULT NULL,
                                     timeout interval DEFAULT '1 hour')
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    run_id bigint;
    job    text;
BEGIN
    run_id := data8._cleanse_start(target, key_column, workflow, input_name, output_name,
                                   columns, parameters, filter, timeout, NULL);
    SELECT r.job_name INTO job FROM data8.runs r WHERE r.id OPERATOR(pg_catalog.=) run_id;
    PERFORM data8.wait_for_job(job, timeout);
    PERFORM data8._cleanse_apply(run_id);
END
$$;
COMMENT ON PROCEDURE data8.cleanse_table(regclass, name, text, text, text, name[], jsonb, text, interval) IS
    'Cleanses a table in place: uploads its rows, runs the workflow, waits, and updates the rows by key in the same transaction (a failure leaves the table as it was). The run is recorded in data8.runs.';

CREATE FUNCTION data8.submit_cleanse(target regclass, key_column name, workflow text,
                                     input_name text DEFAULT 'Input',
                                     output_name text DEFAULT 'Output',
                                     columns name[] DEFAULT NULL,
                                     parameters jsonb DEFAULT '{}',
                                     filter text DEFAULT NULL,
                                     timeout interval DEFAULT '1 hour')
RETURNS bigint
LANGUAGE sql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT data8._cleanse_start(target, key_column, workflow, input_name, output_name,
                                columns, parameters, filter, timeout, NULL)
$$;
COMMENT ON FUNCTION data8.submit_cleanse(regclass, name, text, text, text, name[], jsonb, text, interval) IS
    'Uploads a table''s rows and starts the Data8 job, records the run in data8.runs and returns its id at once; CALL data8.sync() applies the output later.';

CREATE PROCEDURE data8.sync()
LANGUAGE plpgsql
AS $$
DECLARE
    r        data8.runs;
    j        data8.job;
    last_id  bigint := 0;
    msg      text;
    detail   text;
    code     text;
BEGIN
    LOOP
        -- a SET clause would forbid the COMMITs: pin search_path per transaction
        PERFORM pg_catalog.set_config('search_path', 'pg_catalog, pg_temp', true);
        -- one run at a time, locked: a concurrent sync skips it
        SELECT * INTO r FROM data8.runs
         WHERE state OPERATOR(pg_catalog.=) ANY ('{submitted,applying}')
           AND id > last_id
         ORDER BY id LIMIT 1
           FOR UPDATE SKIP LOCKED;
        EXIT WHEN NOT FOUND;
        last_id := r.id;
        BEGIN
            j := data8.job(r.job_name);
            IF j.state OPERATOR(pg_catalog.=) 'completed' THEN
                PERFORM data8._cleanse_apply(r.id);
            ELSIF j.state OPERATOR(pg_catalog.=) ANY ('{failed,cancelled}') THEN
                UPDATE data8.runs
                   SET state = 'failed', finished_at = pg_catalog.now(),
                       error = pg_catalog.format('Data8 job "%s" %s: %s', r.job_name, j.state,
                                                 coalesce(j.message, 'no message'))
                 WHERE id OPERATOR(pg_catalog.=) r.id;
                RAISE WARNING 'data8: run % failed: its Data8 job %', r.id, j.state
                    USING DETAIL = coalesce(j.message, 'Data8 gave no message.');
            ELSIF pg_catalog.now() > r.submitted_at + r.timeout THEN
                UPDATE data8.runs
                   SET state = 'failed', finished_at = pg_catalog.now(),
                       error = pg_catalog.format('timed out after %s; Data8 job "%s" was still %s',
                                                 r.timeout, r.job_name, j.state)
                 WHERE id OPERATOR(pg_catalog.=) r.id;
            END IF;
        EXCEPTION WHEN OTHERS THEN
            GET STACKED DIAGNOSTICS msg = MESSAGE_TEXT, detail = PG_EXCEPTION_DETAIL, code = RETURNED_SQLSTATE;
            IF pg_catalog.left(code, 2) OPERATOR(pg_catalog.=) '08' THEN
                -- the service could not be reached: try again at the next sync
                RAISE WARNING 'data8: run % not synced: %', r.id, msg;
            ELSE
                -- the apply was rolled back: the table is as it was
                UPDATE data8.runs
                   SET state = 'failed', finished_at = pg_catalog.now(),
                       error = msg OPERATOR(pg_catalog.||) coalesce(E'\n' OPERATOR(pg_catalog.||) detail, '')
                 WHERE id OPERATOR(pg_catalog.=) r.id;
                RAISE WARNING 'data8: run % failed: %', r.id, msg USING DETAIL = coalesce(detail, '');
            END IF;
        END;
        COMMIT;
    END LOOP;
END
$$;
COMMENT ON PROCEDURE data8.sync() IS
    'Polls every unfinished run, applies each completed one exactly once and marks failed ones, committing after each run.';

-- The command pg_cron runs for a schedule: starts a run unless the last
-- one of the same schedule is still unfinished.
CREATE FUNCTION data8.submit_scheduled(schedule_name text)
RETURNS bigint
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    s data8.schedules;
    busy bigint;
BEGIN
    SELECT * INTO s FROM data8.schedules WHERE name OPERATOR(pg_catalog.=) schedule_name;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'data8 schedule "%" does not exist', schedule_name
            USING ERRCODE = 'undefined_object';
    END IF;
    SELECT id INTO busy FROM data8.runs
     WHERE runs.schedule_name OPERATOR(pg_catalog.=) s.name
       AND state OPERATOR(pg_catalog.=) ANY ('{uploading,submitted,applying}')
     LIMIT 1;
    IF FOUND THEN
        RAISE NOTICE 'data8: schedule "%" skipped: run % is not finished', s.name, busy;
        RETURN NULL;
    END IF;
    RETURN data8._cleanse_start(s.target, s.key_column, s.workflow, s.input_name, s.output_name,
                                s.columns, s.parameters, s.filter, s.timeout, s.name);
END
$$;
COMMENT ON FUNCTION data8.submit_scheduled(text) IS
    'What pg_cron runs for a data8 schedule: submits a run with the schedule''s options, unless its previous run is unfinished.';

CREATE FUNCTION data8.schedule_cleanse(schedule_name text, schedule text,
                                       target regclass, key_column name, workflow text,
                                       input_name text DEFAULT 'Input',
                                       output_name text DEFAULT 'Output',
                                       columns name[] DEFAULT NULL,
                                       parameters jsonb DEFAULT '{}',
                                       filter text DEFAULT NULL,
                                       timeout interval DEFAULT '1 hour')
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
    -- fail now rather than at night
    PERFORM data8._cleanse_columns(target, key_column, columns, filter);

    INSERT INTO data8.schedules AS s (name, target, key_column, workflow, input_name, output_name,
                                      columns, parameters, filter, timeout)
    VALUES (schedule_name, target, key_column, workflow, input_name, output_name,
            columns, coalesce(parameters, '{}'), filter, timeout)
    ON CONFLICT (name) DO UPDATE
       SET target = EXCLUDED.target, key_column = EXCLUDED.key_column, workflow = EXCLUDED.workflow,
           input_name = EXCLUDED.input_name, output_name = EXCLUDED.output_name,
           columns = EXCLUDED.columns, parameters = EXCLUDED.parameters,
           filter = EXCLUDED.filter, timeout = EXCLUDED.timeout;

    -- the command names the schedule only: no secret, no SQL of the caller
    job_id := cron.schedule('data8 ' OPERATOR(pg_catalog.||) schedule_name, schedule,
                            pg_catalog.format('SELECT data8.submit_scheduled(%L)', schedule_name));
    PERFORM cron.schedule('data8 sync', '* * * * *', 'CALL data8.sync()');
    UPDATE data8.schedules SET cron_job_id = job_id WHERE name OPERATOR(pg_catalog.=) schedule_name;
    RETURN job_id;
END
$$;
COMMENT ON FUNCTION data8.schedule_cleanse(text, text, regclass, name, text, text, text, name[], jsonb, text, interval) IS
    'Schedules a cleansing with pg_cron: submits a run on schedule, and data8.sync() every minute applies finished runs. Returns the pg_cron job id.';

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
    DELETE FROM data8.schedules WHERE name OPERATOR(pg_catalog.=) schedule_name RETURNING * INTO s;
    IF NOT FOUND THEN
        RETURN false;
    END IF;
    IF EXISTS (SELECT 1 FROM cron.job WHERE jobid OPERATOR(pg_catalog.=) s.cron_job_id) THEN
        PERFORM cron.unschedule(s.cron_job_id);
    END IF;
    -- the sync job goes with the last schedule (runs still unfinished can
    -- be applied with CALL data8.sync())
    IF NOT EXISTS (SELECT 1 FROM data8.schedules)
       AND EXISTS (SELECT 1 FROM cron.job WHERE jobname OPERATOR(pg_catalog.=) 'data8 sync') THEN
        PERFORM cron.unschedule('data8 sync');
    END IF;
    RETURN true;
END
$$;
COMMENT ON FUNCTION data8.unschedule_cleanse(text) IS
    'Removes a data8 schedule and its pg_cron job (and the sync job with the last schedule); false if there was none.';
-- data8 install script, part 90: privileges.
--
-- Every function that talks to Data8 acts with the credentials of a
-- profile, which belong to whoever configured them, so none is open to
-- PUBLIC.  data8.grant_usage() gives a role what it needs to run datasets,
-- jobs and cleansing; data8.grant_admin() adds API keys and client
-- credentials.  Profiles stay the owner's alone: nobody else can read a
-- secret, change a profile or point its URLs elsewhere.

REVOKE EXECUTE ON ALL ROUTINES IN SCHEMA data8 FROM PUBLIC;
-- these never reach the service nor read a profile
GRANT EXECUTE ON FUNCTION data8.check_service_url(text, text),
                          data8.contract_codes(),
                          data8.column_type_for(regtype) TO PUBLIC;

-- Which functions are administrative: keys, credentials, secrets, profiles.
CREATE FUNCTION data8._is_admin_routine(proname name)
RETURNS boolean
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT proname::text ~ '(api_key|client_credential|client_secret|profile|^grant_)'
$$;
COMMENT ON FUNCTION data8._is_admin_routine(name) IS
    'Internal: whether a data8 routine is administrative (granted by data8.grant_admin only).';

-- Grants the routines of one level to a role.
CREATE FUNCTION data8._grant(role name, admin boolean)
RETURNS void
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    fn record;
BEGIN
    IF role IS NULL OR NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = role) THEN
        RAISE EXCEPTION 'role "%" does not exist', role USING ERRCODE = 'undefined_object';
    END IF;
    EXECUTE format('GRANT USAGE ON SCHEMA data8 TO %I', role);
    FOR fn IN
        SELECT p.oid::regprocedure AS sig, p.prokind
          FROM pg_proc p
         WHERE p.pronamespace = 'data8'::regnamespace
           AND data8._is_admin_routine(p.proname) = admin
           AND p.proname NOT IN ('grant_usage', 'grant_admin', 'set_profile', '_grant', '_is_admin_routine')
    LOOP
        EXECUTE format('GRANT EXECUTE ON %s %s TO %I',
                       CASE fn.prokind WHEN 'p' THEN 'PROCEDURE' ELSE 'FUNCTION' END, fn.sig, role);
    END LOOP;
    IF NOT admin THEN
        -- runs are written by the cleansing functions, with the caller's rights
        EXECUTE format('GRANT SELECT, INSERT, UPDATE ON data8.runs TO %I', role);
        EXECUTE format('GRANT USAGE ON SEQUENCE data8.runs_id_seq TO %I', role);
        EXECUTE format('GRANT SELECT, INSERT, UPDATE, DELETE ON data8.schedules TO %I', role);
    END IF;
END
$$;
COMMENT ON FUNCTION data8._grant(name, boolean) IS
    'Internal: grants the data8 routines of one level (user or admin) to a role.';

CREATE FUNCTION data8.grant_usage(role name)
RETURNS void
LANGUAGE sql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$ SELECT data8._grant(role, false) $$;
COMMENT ON FUNCTION data8.grant_usage(name) IS
    'Lets a role work with datasets and jobs, upload, fetch and cleanse (with the profiles'' credentials, never seeing them).';

CREATE FUNCTION data8.grant_admin(role name)
RETURNS void
LANGUAGE sql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$ SELECT data8._grant(role, false); SELECT data8._grant(role, true) $$;
COMMENT ON FUNCTION data8.grant_admin(name) IS
    'Lets a role do all that data8.grant_usage() allows, and manage API keys, client credentials and secrets.';

-- granting is the owner's business
REVOKE EXECUTE ON FUNCTION data8._is_admin_routine(name), data8._grant(name, boolean),
                           data8.grant_usage(name), data8.grant_admin(name) FROM PUBLIC;
