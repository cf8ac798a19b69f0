#!/usr/bin/env bash
# Runs inside pg_virtualenv (see run-tests.sh): the pg_regress suite against
# a clean simulator, the fault subset against a faulty one, then checks
# that no secret or token reached the server log or any output.
set -euo pipefail
cd "$(dirname "$0")/.."
source test/sim-env.sh

status=0
server_log=$(pg_lsclusters -h | awk -v p="$PGPORT" '$3 == p {print $7}')

run_suite() {		# label, schedule file
  local label=$1 schedule=$2
  echo "-- $label: $(wc -w < "$schedule") tests against $SIM_URL"
  export PGOPTIONS="-c data8_test.sim_url=$SIM_URL -c data8_test.sim_log=$SIM_LOG -c data8_test.secret=$SIM_SECRET -c data8_test.stall_url=$STALL_URL"
  if ! make -s installcheck REGRESS="$(cat "$schedule")"; then
    [ -f regression.diffs ] && cat regression.diffs
    status=1
  fi
  mkdir -p log; cp -r results "log/results-$label" 2>/dev/null || true
}

# a simulator that answers tokens but stalls every API request
sim_start stall --stall-every 1 --stall-ms 600000
STALL_URL=$SIM_URL

sim_start clean --rate 50000
run_suite clean test/regress-schedule
sim_stop

sim_start faults --rate 50000 --fail-503-every 7 --fail-429-every 11 --retry-after 1 \
  --drop-every 13 --token-lifetime 2 --seed 42
run_suite faults test/regress-schedule-faults
faults=$(grep -c '"fault":"' "$SIM_LOG" || true)
echo "-- faults injected by the simulator: $faults"
[ "$faults" -gt 0 ] || { echo "FAIL: the fault run injected no fault"; status=1; }
sim_stop

echo "-- secrets: server log $server_log, simulator logs, test outputs"
leaks=0
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
if [ -s "$SIM_DIR/tokens" ]; then
  while read -r token; do
    if grep -rlF -- "$token" "$server_log" "$SIM_DIR"/*.log log/ 2>/dev/null; then
      echo "FAIL: a bearer token appears in the files above"; leaks=1
    fi
  done < "$SIM_DIR/tokens"
  echo "-- checked $(wc -l < "$SIM_DIR/tokens") issued tokens"
fi
[ $leaks -eq 0 ] && echo "-- no secret or token found" || status=1

exit $status
