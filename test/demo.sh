#!/usr/bin/env bash
# make demo: installs what is missing, builds, starts a throwaway
# PostgreSQL 15 cluster (pg_cron preloaded) and the Data8 simulator, and
# runs test/demo.sql: a table of messy contacts cleansed in place.
set -euo pipefail
cd "$(dirname "$0")/.."

bash test/install-deps.sh
make -s
make -s install >/dev/null
make -s -C test/sim

pg_virtualenv -t -v 15 \
  -o shared_preload_libraries=pg_cron \
  -o cron.database_name=postgres \
  -o cron.use_background_workers=on \
  -o max_worker_processes=16 \
  bash -c '
    set -euo pipefail
    source test/sim-env.sh
    sim_start demo --rate 2000
    echo "Data8 simulator at $SIM_URL (account $SIM_CLIENT_ID)"
    psql -X -q -v ON_ERROR_STOP=1 -v sim_url="$SIM_URL" -v client_id="$SIM_CLIENT_ID" \
         -v secret="$SIM_SECRET" -f test/demo.sql
  '
