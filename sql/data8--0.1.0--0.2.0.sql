-- data8 upgrade script 0.1.0 -> 0.2.0 (ALTER EXTENSION data8 UPDATE).
-- After it, the schema equals a fresh install of 0.2.0 object for object:
-- test/upgrade.sh checks it.

\echo Use "ALTER EXTENSION data8 UPDATE" to load this file. \quit
