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
