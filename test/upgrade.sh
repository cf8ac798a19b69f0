#!/usr/bin/env bash
# The upgrade path, inside a throwaway cluster (pg_virtualenv): for every
# released version V (a frozen sql/data8--V.sql), install V, fill it with
# rows (test/upgrade/populate-V.sql), ALTER EXTENSION data8 UPDATE, and check
# that the rows survived and that the schema equals a fresh install of the
# current version object for object (test/upgrade/schema.sql).  A missing
# upgrade script, a schema change without one, or a released version
# without its populate file fails the test.
set -euo pipefail
cd "$(dirname "$0")/.."
current=$(sed -n "s/^default_version *= *'\(.*\)'/\1/p" data8.control)
out=${UPGRADE_OUT:-$(mktemp -d /tmp/data8-upgrade.XXXXXX)}
status=0

psql_q() { psql -X -q -v ON_ERROR_STOP=1 "$@"; }

dropdb --if-exists d8_fresh; createdb d8_fresh 2>/dev/null
psql_q -d d8_fresh -c 'CREATE EXTENSION data8'
psql_q -d d8_fresh -f test/upgrade/schema.sql > "$out/fresh-$current.txt"

versions=$(ls sql/data8--*.sql | sed -n 's,^sql/data8--\([^-]*\)\.sql$,\1,p' | grep -vx "$current" | sort -V)
[ -n "$versions" ] || { echo "FAIL: no released version to upgrade from"; exit 1; }
for v in $versions; do
  db="d8_from_${v//./_}"
  echo "-- upgrade $v -> $current"
  if [ ! -f "test/upgrade/populate-$v.sql" ]; then
    echo "FAIL: test/upgrade/populate-$v.sql is missing (rows a $v install holds)"; status=1; continue
  fi
  dropdb --if-exists "$db"; createdb "$db" 2>/dev/null
  psql_q -d "$db" -c "CREATE EXTENSION data8 VERSION '$v'"
  psql_q -d "$db" -f "test/upgrade/populate-$v.sql" >/dev/null
  if ! psql_q -d "$db" -c 'ALTER EXTENSION data8 UPDATE'; then
    echo "FAIL: no upgrade path from $v to $current (an upgrade script is missing or broken)"
    status=1; continue
  fi
  psql_q -d "$db" -f test/upgrade/check.sql -t || status=1
  psql_q -d "$db" -f test/upgrade/schema.sql > "$out/from-$v.txt"
  if diff -u "$out/fresh-$current.txt" "$out/from-$v.txt" > "$out/from-$v.diff"; then
    echo "-- $v -> $current: $(wc -l < "$out/fresh-$current.txt") object lines identical to a fresh install"
  else
    echo "FAIL: the schema upgraded from $v differs from a fresh $current install (- fresh, + upgraded):"
    cat "$out/from-$v.diff"; status=1
  fi
  dropdb "$db"
done
dropdb d8_fresh
exit $status
