-- After ALTER EXTENSION data8 UPDATE: the rows of populate-*.sql are there.
\set ON_ERROR_STOP on
DO $$
BEGIN
    IF (SELECT extversion FROM pg_extension WHERE extname = 'data8')
       IS DISTINCT FROM (SELECT default_version FROM pg_available_extensions WHERE name = 'data8') THEN
        RAISE EXCEPTION 'data8 was not updated to the default version';
    END IF;
    IF (SELECT string_agg(name || '=' || client_id, ',' ORDER BY name) FROM data8.profiles)
       IS DISTINCT FROM 'default=id-upgrade,team_b=id-b' THEN
        RAISE EXCEPTION 'profiles lost: %', (SELECT string_agg(name, ',') FROM data8.profiles);
    END IF;
    IF (SELECT string_agg(id || ':' || state || ':' || target::text || ':' || rows_sent, ',' ORDER BY id) FROM data8.runs)
       IS DISTINCT FROM '1:failed:customers:3,2:done:customers:5,3:failed:customers:1' THEN
        RAISE EXCEPTION 'runs lost: %', (SELECT string_agg(id || ':' || state, ',') FROM data8.runs);
    END IF;
    -- 0.1.0 kept no fingerprints: its unfinished run ends, saying why
    IF (SELECT error FROM data8.runs WHERE id = 1) NOT LIKE 'submitted by data8 0.1.0, which kept no fingerprints%' THEN
        RAISE EXCEPTION 'the unfinished 0.1.0 run was not ended with its reason';
    END IF;
    -- the run of a schedule is its owner's
    IF (SELECT count(*) FROM data8.runs WHERE owner IS NULL) > 0
       OR (SELECT owner FROM data8.runs WHERE id = 1) IS DISTINCT FROM (SELECT owner FROM data8.schedules WHERE name = 'nightly') THEN
        RAISE EXCEPTION 'run owners not set';
    END IF;
    IF (SELECT string_agg(name || ':' || target::text, ',') FROM data8.schedules)
       IS DISTINCT FROM 'nightly:customers' THEN
        RAISE EXCEPTION 'schedules lost';
    END IF;
    -- a new run gets the next id
    IF pg_catalog.nextval('data8.runs_id_seq') <> 4 THEN
        RAISE EXCEPTION 'the run id sequence was reset';
    END IF;
END
$$;
SELECT 'rows survived the upgrade';
