#!/usr/bin/env bash
# Runs inside pg_virtualenv (see run-tests.sh) or test/pg-cluster.sh:
#   1. the pg_regress suite against a clean simulator (pg_cron in libpq mode),
#   2. the fault subset against a simulator injecting 503s, 429s with
#      Retry-After, dropped connections and 2-second tokens,
#   3. the administrative tests against a simulator whose PUT replaces the
#      object (--put-replaces), with the same expected output,
#   4. the pg_cron test again with cron.use_background_workers = on,
# then checks that no secret or bearer token reached the server log, the
# simulator's logs or any test output.  DATA8_PASSES picks passes (default
# "clean put-replaces faults bgworkers"; test/test-versions.sh runs "clean bgworkers").
set -euo pipefail
cd "$(dirname "$0")/.."
source test/sim-env.sh

status=0
passes=" ${DATA8_PASSES:-clean put-replaces faults bgworkers} "
# the server log and a restart: exported by test/pg-cluster.sh, or found
# with Debian's cluster tools under pg_virtualenv
if [ -z "${PG_SERVER_LOG:-}" ]; then
  read -r pg_ver pg_name PG_SERVER_LOG < <(pg_lsclusters -h | awk -v p="$PGPORT" '$3 == p {print $1, $2, $7}')
  PG_RESTART="pg_ctlcluster $pg_ver $pg_name restart"
fi
server_log=$PG_SERVER_LOG
rm -rf log && mkdir -p log

# a simulator that answers tokens but stalls every API request, and one
# whose datasets named hostile_* get deliberately bad answers
sim_start stall --stall-every 1 --stall-ms 600000 --threads 64
STALL_URL=$SIM_URL
sim_start hostile --hostile
HOSTILE_URL=$SIM_URL
HOSTILE_LOG=$SIM_LOG

run_suite() {		# label, schedule file, database
  local label=$1 schedule=$2 db=$3
  echo "-- $label: $(wc -w < "$schedule") tests against $SIM_URL, database $db"
  export PGOPTIONS="-c data8_test.sim_url=$SIM_URL -c data8_test.sim_log=$SIM_LOG -c data8_test.secret=$SIM_SECRET -c data8_test.stall_url=$STALL_URL -c data8_test.hostile_url=$HOSTILE_URL -c data8_test.hostile_log=$HOSTILE_LOG"
  if ! make -s installcheck REGRESS="$(cat "$schedule")" CONTRIB_TESTDB="$db"; then
    [ -f regression.diffs ] && cat regression.diffs
    status=1
  fi
  cp -r results "log/results-$label" 2>/dev/null || true
}

if [[ $passes == *" clean "* ]]; then
sim_start clean --rate 50000
run_suite clean test/regress-schedule contrib_regression
echo "-- scale-out: four sessions filling one dataset"
SIM_URL=$SIM_URL SIM_SECRET=$SIM_SECRET bash test/scale-out.sh contrib_regression || status=1
sim_stop
fi

if [[ $passes == *" faults "* ]]; then
sim_start faults --rate 50000 --fail-503-every 7 --fail-429-every 11 --retry-after 1 \
  --drop-every 13 --token-lifetime 2 --seed 42
run_suite faults test/regress-schedule-faults data8_faults
for f in 503 429 drop; do
  echo "-- faults injected ($f): $(grep -c "\"fault\":\"$f\"" "$SIM_LOG" || true)"
done
echo "-- tokens issued during the fault run: $(grep -c '"path":"/connect/token"' "$SIM_LOG" || true)"
grep -q '"fault":"' "$SIM_LOG" || { echo "FAIL: the fault run injected no fault"; status=1; }
sim_stop
fi

if [[ $passes == *" put-replaces "* ]]; then
# a service whose PUT replaces the object: an update must not clear what
# it does not name
sim_start put-replaces --rate 50000 --put-replaces
run_suite put-replaces test/regress-schedule-put-replaces data8_put_replaces
sim_stop
fi

if [[ $passes == *" bgworkers "* ]]; then
# pg_cron's background-worker mode: a postmaster setting, so restart
echo "-- pg_cron with cron.use_background_workers = on"
psql -X -q -d postgres -c "ALTER SYSTEM SET cron.use_background_workers = on" \
  -c "ALTER SYSTEM SET cron.database_name = data8_cron_bgw"
$PG_RESTART
sim_start bgworkers --rate 50000
echo schedule > log/schedule-only
run_suite bgworkers log/schedule-only data8_cron_bgw
sim_stop
fi

echo "-- secrets: server log, simulator logs, test outputs"
leaks=0
# the secret of the failed set_profile calls in sql/runs.sql
if grep -lF -- "data8-canary-secret" "$server_log"; then
  echo "FAIL: a failed set_profile wrote its secret to the server log"; leaks=1
fi
# the server log and the simulator's logs must hold no secret at all; the
# test outputs none but the other account's, which the tests type in
for secret in "$SIM_SECRET" "$SIM_OTHER_SECRET"; do
  if grep -lF -- "$secret" "$server_log" "$SIM_DIR"/*.log 2>/dev/null; then
    echo "FAIL: a secret appears in the files above"; leaks=1
  fi
done
if grep -rlF -- "$SIM_SECRET" log/ 2>/dev/null; then
  echo "FAIL: the test account's secret appears in the test outputs above"; leaks=1
fi
ntokens=0
if [ -s "$SIM_DIR/tokens" ]; then
  ntokens=$(wc -l < "$SIM_DIR/tokens")
  if grep -rlF -f "$SIM_DIR/tokens" "$server_log" "$SIM_DIR"/*.log log/ 2>/dev/null; then
    echo "FAIL: a bearer token appears in the files above"; leaks=1
  fi
fi
[ "$ntokens" -gt 0 ] || { echo "FAIL: no token was issued, nothing was checked"; leaks=1; }
[ $leaks -eq 0 ] && echo "-- no secret and none of the $ntokens issued tokens found"
[ $leaks -eq 0 ] || status=1

[ $status -eq 0 ] && echo "regression suites: all passed" || echo "regression suites: FAILED"
exit $status
