-- data8 upgrade script 0.1.0 -> 0.2.0 (ALTER EXTENSION data8 UPDATE).
-- After it, the schema equals a fresh install of 0.2.0 object for object:
-- test/upgrade.sh checks it.

\echo Use "ALTER EXTENSION data8 UPDATE" to load this file. \quit

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
DO $$
DECLARE
    r record;
BEGIN
    FOR r IN SELECT DISTINCT a.grantee::regrole AS role
               FROM pg_proc p, aclexplode(p.proacl) a
              WHERE p.oid = 'data8.job(text)'::regprocedure
                AND a.privilege_type = 'EXECUTE' AND a.grantee NOT IN (0, p.proowner)
    LOOP
        EXECUTE format('GRANT EXECUTE ON FUNCTION data8.job_failure_reason(data8.job) TO %s', r.role);
    END LOOP;
END
$$;
