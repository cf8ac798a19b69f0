#!/usr/bin/env bash
# make test: installs what is missing, builds, and runs every stage: the
# simulator's own tests, the unit tests (test/unit), the fuzzers (bounded),
# the pg_regress suite in a throwaway PostgreSQL 15 cluster with pg_cron
# (clean, faulty and background-worker passes, and the secret leak check),
# fault survival on 100,000 rows, a subset under valgrind, and the Debian
# package (built, installed, smoke-tested; the tree's build is installed
# again after it);
# then the build with -Werror on PostgreSQL 13 and 17, and the clean pass
# and pg_cron on 18 (test/test-versions.sh).
# Exit status 0 only when everything passed.
set -euo pipefail
cd "$(dirname "$0")/.."

# the last line says how many stages passed (a failing stage stops the run)
passed=0
stage() { passed=$((passed + 1)); }
trap 'status=$?; [ $status -eq 0 ] || echo "stages: $passed passed, 1 failed"' EXIT

bash test/install-deps.sh
make -s
make -s install >/dev/null
make -s -C test/sim

echo "== simulator tests"
make -s -C test/sim test
stage

echo "== unit tests: the request window against a model of the service"
make -s -C test/unit test
stage

echo "== fuzzing the response parsers and the record decoder (bounded)"
make -s -C test/fuzz run SECONDS="${FUZZ_SECONDS:-20}"
stage

echo "== regression tests (throwaway cluster)"
pg_virtualenv -t -v 15 \
  -o shared_preload_libraries=pg_cron \
  -o cron.database_name=contrib_regression \
  -o cron.host=/var/run/postgresql \
  -o max_worker_processes=16 \
  bash test/regress.sh
stage

echo "== upgrade: every released version, then ALTER EXTENSION data8 UPDATE, equals a fresh install"
pg_virtualenv -t -v 15 -o shared_preload_libraries=pg_cron bash test/upgrade.sh
stage

echo "== fault survival: 100,000 rows under each fault, then all together"
pg_virtualenv -t -v 15 bash test/faults.sh
stage

echo "== valgrind over a bounded subset (make memcheck runs it all)"
bash test/memcheck/valgrind.sh quick
stage

echo "== the Debian package: built, installed with dpkg, smoke-tested (throwaway cluster)"
bash test/deb-smoke.sh
stage

echo "== PostgreSQL 13 and 17: the build with -Werror (test/pg-versions.sh, cached)"
bash test/test-versions.sh --build-only 13 17
stage

echo "== PostgreSQL 18: the clean pg_regress pass and pg_cron (throwaway cluster)"
bash test/test-versions.sh 18
stage

echo "stages: $passed passed, 0 failed"
