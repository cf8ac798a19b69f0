-- reserved_prefix: an unknown data8.* setting.  From PostgreSQL 15 the
-- extension reserves its prefix (MarkGUCPrefixReserved), so setting one is
-- an error and leaves nothing behind (expected/reserved_prefix.out); before
-- 15 nothing can reserve a prefix, and it becomes a placeholder like any
-- custom setting (expected/reserved_prefix_1.out).
\set VERBOSITY default
-- the prefix is reserved when the library is loaded: load it first
LOAD 'data8';
SET data8.no_such_setting = 1;
SHOW data8.no_such_setting;
