#!/usr/bin/env bash
# make test: installs what is missing, builds, runs the simulator's own
# tests, then the pg_regress suite in a throwaway PostgreSQL 15 cluster
# (pg_cron preloaded) against a clean simulator and again against one that
# injects faults, with the fuzzers run for a bounded time first.  Exit
# status 0 only when everything passed.
set -euo pipefail
cd "$(dirname "$0")/.."

bash test/install-deps.sh
make -s
make -s install >/dev/null
make -s -C test/sim

echo "== simulator tests"
make -s -C test/sim test

echo "== fuzzing the response parsers and the record decoder (bounded)"
make -s -C test/fuzz run SECONDS="${FUZZ_SECONDS:-20}"

echo "== regression tests (throwaway cluster)"
pg_virtualenv -t -v 15 \
  -o shared_preload_libraries=pg_cron \
  -o cron.database_name=contrib_regression \
  -o cron.host=/var/run/postgresql \
  -o max_worker_processes=16 \
  bash test/regress.sh

echo "== fault survival: 100,000 rows under each fault, then all together"
pg_virtualenv -t -v 15 bash test/faults.sh

echo "== valgrind over a bounded subset (make memcheck runs it all)"
bash test/memcheck/valgrind.sh quick
