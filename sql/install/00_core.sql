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
    client_secret text,
    api_url       text NOT NULL DEFAULT 'https://api.data-8.co.uk',
    token_url     text NOT NULL DEFAULT 'https://auth.data-8.co.uk/connect/token',
    scope         text NOT NULL DEFAULT 'BatchApi',
    client_secret_file text,
    CONSTRAINT profile_one_secret CHECK ((client_secret IS NULL) <> (client_secret_file IS NULL))
);
COMMENT ON TABLE data8.profile IS
    'Data8 credentials and endpoints, one row per profile; readable by the extension owner only (holds client secrets).';
COMMENT ON COLUMN data8.profile.client_secret_file IS
    'A file the server reads the client secret from at each use, instead of client_secret.';
-- secrets: nobody but the owner may read or change profiles
REVOKE ALL ON data8.profile FROM PUBLIC;

-- Who may use which profile (the extension owner uses every one).
CREATE TABLE data8.profile_grant (
    profile text NOT NULL REFERENCES data8.profile (name) ON UPDATE CASCADE ON DELETE CASCADE,
    grantee regrole NOT NULL,
    PRIMARY KEY (profile, grantee)
);
COMMENT ON TABLE data8.profile_grant IS
    'The roles each profile is granted to (data8.grant_profile); members of a grantee may use the profile too.';
REVOKE ALL ON data8.profile_grant FROM PUBLIC;

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
    seconds double precision,
    window_size integer
);
COMMENT ON TYPE data8.upload_summary IS 'What data8.upload_dataset() sent; window_size is the largest number of blocks its request window kept in flight.';
