-- data8 install script, part 90: privileges.
--
-- Every function that talks to Data8 acts with the credentials of a
-- profile, which belong to whoever configured them, so none is open to
-- PUBLIC.  data8.grant_usage() gives a role what it needs to run datasets,
-- jobs and cleansing; data8.grant_admin() adds API keys and client
-- credentials; data8.grant_profile() lets it use a profile.  Profiles stay
-- the owner's alone: nobody else can read a secret, change a profile or
-- point its URLs elsewhere.  What each level grants is an explicit list
-- below: a new routine is granted to nobody until it is added to one.

REVOKE EXECUTE ON ALL ROUTINES IN SCHEMA data8 FROM PUBLIC;
-- these never reach the service nor read a profile
GRANT EXECUTE ON FUNCTION data8.check_service_url(text, text),
                          data8.contract_codes(),
                          data8.column_type_for(regtype) TO PUBLIC;

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
