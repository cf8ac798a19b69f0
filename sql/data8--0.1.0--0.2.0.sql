-- data8 upgrade script 0.1.0 -> 0.2.0 (ALTER EXTENSION data8 UPDATE).
-- After it, the schema equals a fresh install of 0.2.0 object for object:
-- test/upgrade.sh checks it.

\echo Use "ALTER EXTENSION data8 UPDATE" to load this file. \quit

-- issue 11: lists read until an empty page; a NULL filter of datasets()
-- means "not given" (no longer STRICT)
ALTER FUNCTION data8.datasets(boolean, boolean) CALLED ON NULL INPUT;
COMMENT ON FUNCTION data8.datasets(boolean, boolean) IS
    'Lists the account''s datasets over all pages (GET /Dataset, read until an empty page), sorted by name; a NULL argument leaves its filter out (both kinds are then included).';
