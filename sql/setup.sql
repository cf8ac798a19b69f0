-- setup: helpers for the tests that follow (the suite shares one database)

-- Runs a command and shows its error, if any, as SQLSTATE, message, DETAIL
-- and the first CONTEXT line, with what varies from run to run masked: the
-- random suffix of generated names and the simulator's job numbers.
CREATE FUNCTION try(command text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    msg text;
    detail text;
    context text;
    state text;
BEGIN
    EXECUTE command;
    RETURN 'ok';
EXCEPTION WHEN OTHERS THEN
    GET STACKED DIAGNOSTICS msg = MESSAGE_TEXT, detail = PG_EXCEPTION_DETAIL,
                            context = PG_EXCEPTION_CONTEXT, state = RETURNED_SQLSTATE;
    RETURN regexp_replace(regexp_replace(
               state || ': ' || msg
               || coalesce(E'\nDETAIL: ' || nullif(detail, ''), '')
               || coalesce(E'\nCONTEXT: ' || split_part(nullif(context, ''), E'\n', 1), ''),
               '(run \d+) [0-9a-f]{8}', '\1 <suffix>', 'g'),
           'job\d+_', 'job<n>_', 'g');
END
$$;
SELECT try('SELECT 1');
SELECT try('SELECT 1/0');
