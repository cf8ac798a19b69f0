#!/usr/bin/env bash
# Runs the regression suite with every PostgreSQL process under valgrind
# memcheck, then reports the errors whose stack has a frame of data8.so.
#
#   bash test/memcheck/valgrind.sh full     # regress-schedule, then the fault
#                                           # subset against a faulty simulator
#   bash test/memcheck/valgrind.sh quick    # setup, profile, dataset + quick.sql
#
# It makes its own throwaway cluster (pg_virtualenv, pg_cron preloaded as in
# run-tests.sh), stops the cluster and starts its postmaster by hand, as the
# postgres user, under valgrind with the cluster's own configuration; the
# backends it forks stay under valgrind.  Valgrind writes one log per process
# to $MEMCHECK_DIR (default: a new /tmp/data8-memcheck.XXXXXX), scanned at the
# end by scan.py.  Exit status 1 when an error has a data8 frame (invalid
# read/write, use of uninitialised memory, bad free, ...) or when a
# "definitely lost" block was allocated from data8 code.  Regression diffs
# are printed but do not fail the run: under valgrind everything is 20-50
# times slower, so tests that race a timeout may differ.
#
# Debian's PostgreSQL is built without USE_VALGRIND, so palloc'd chunks are
# not tracked (an overrun inside a memory context block goes unseen); only
# malloc'd memory (libcurl, libc) and uninitialised values are checked.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$HERE/../.."
MODE="${1:-quick}"
case "$MODE" in quick|full) ;; *) echo "usage: $0 quick|full" >&2; exit 2 ;; esac

if [ -z "${D8_MEMCHECK_INSIDE:-}" ]; then
  command -v valgrind >/dev/null || { echo "valgrind is not installed (apt-get install valgrind)" >&2; exit 2; }
  MEMCHECK_DIR="${MEMCHECK_DIR:-$(mktemp -d /tmp/data8-memcheck.XXXXXX)}"
  export MEMCHECK_DIR D8_MEMCHECK_INSIDE=1
  exec pg_virtualenv -t -v 15 \
    -o shared_preload_libraries=pg_cron \
    -o cron.database_name=contrib_regression \
    -o cron.host=/var/run/postgresql \
    -o max_worker_processes=16 \
    bash "$0" "$MODE"
fi

# ---- inside pg_virtualenv ----
source test/sim-env.sh
PGBIN=$(pg_config --bindir)
read -r datadir logfile < <(pg_lsclusters -h | awk -v p="$PGPORT" '$3 == p {print $6, $7}')
confdir="$PG_CLUSTER_CONF_ROOT/15/regress"
VGDIR="$MEMCHECK_DIR"
mkdir -p "$VGDIR/vg"
# the server runs as postgres, which may not reach into the clone (a private
# folder such as /root): it reads its suppressions from a copy of its own
cp "$HERE/postgres.supp" "$VGDIR/postgres.supp"
chown -R postgres "$VGDIR"
chmod 755 "$VGDIR"
echo "== memcheck ($MODE): valgrind logs in $VGDIR/vg"

pg_ctlcluster 15 regress stop
# The postmaster under valgrind; --trace-children covers anything it execs.
# No --error-exitcode: a backend exiting with an odd status makes the
# postmaster restart everything; the logs are scanned instead.
runuser -u postgres -- valgrind --quiet \
  --trace-children=yes --leak-check=full --show-leak-kinds=definite \
  --errors-for-leak-kinds=definite --track-origins=yes --num-callers=40 \
  --error-limit=no --gen-suppressions=all \
  --suppressions="$VGDIR/postgres.supp" \
  --log-file="$VGDIR/vg/vg.%p.log" \
  "$PGBIN/postgres" -D "$datadir" -c config_file="$confdir/postgresql.conf" \
  >>"$VGDIR/server.log" 2>&1 &
for i in $(seq 240); do
  pg_isready -q && break
  sleep 0.5
done
pg_isready || { echo "the server did not start under valgrind:"; tail -30 "$VGDIR/server.log"; exit 2; }
started=$(date +%s)

stop_server() {
  local pid
  [ -f "$datadir/postmaster.pid" ] || return 0
  pid=$(head -1 "$datadir/postmaster.pid")
  kill -INT "$pid" 2>/dev/null || return 0
  for _ in $(seq 600); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.5; done
  echo "the server did not stop; killing it"; kill -KILL "$pid" 2>/dev/null || true
}
trap 'stop_server; sim_stop_all' EXIT

# the simulators of test/regress.sh: one stalling every API request, one
# giving hostile answers, then a clean one (and, for full, a faulty one)
sim_start stall --stall-every 1 --stall-ms 600000 --threads 64
STALL_URL=$SIM_URL
sim_start hostile --hostile
HOSTILE_URL=$SIM_URL
HOSTILE_LOG=$SIM_LOG

regress_status=0
run_suite() {		# label, database, tests...
  local label=$1 db=$2; shift 2
  echo "-- $label: $* (database $db, simulator $SIM_URL)"
  export PGOPTIONS="-c data8_test.sim_url=$SIM_URL -c data8_test.sim_log=$SIM_LOG -c data8_test.secret=$SIM_SECRET -c data8_test.stall_url=$STALL_URL -c data8_test.hostile_url=$HOSTILE_URL -c data8_test.hostile_log=$HOSTILE_LOG"
  # --outputdir keeps results/ and regression.diffs of the shared tree alone
  if ! make -s installcheck REGRESS="$*" CONTRIB_TESTDB="$db" \
      EXTRA_REGRESS_OPTS="--outputdir=$VGDIR/regress-$label"; then
    regress_status=1
    echo "-- WARNING: the $label suite did not pass under valgrind (timing?):"
    head -80 "$VGDIR/regress-$label/regression.diffs" 2>/dev/null || true
  fi
}

sim_start clean --rate 50000
if [ "$MODE" = full ]; then
  run_suite clean contrib_regression $(cat test/regress-schedule)
  sim_stop
  # retries, dropped answers and token refreshes: the error paths
  sim_start faults --rate 50000 --fail-503-every 7 --fail-429-every 11 --retry-after 1 \
    --drop-every 13 --token-lifetime 2 --seed 42
  run_suite faults data8_faults $(cat test/regress-schedule-faults)
else
  run_suite quick contrib_regression setup profile dataset
  if psql -X -q -d contrib_regression -f "$HERE/quick.sql" >"$VGDIR/quick.out" 2>&1; then
    echo "-- quick.sql: ok ($(grep -c 'ERROR:' "$VGDIR/quick.out") errors raised on purpose)"
  else
    regress_status=1
    echo "-- WARNING: quick.sql stopped:"; tail -5 "$VGDIR/quick.out"
  fi
fi

stop_server
sim_stop_all
trap - EXIT
echo "-- suite under valgrind: $(( $(date +%s) - started )) s"
# back to normal, so pg_virtualenv's clean-up finds the cluster as it left it
pg_ctlcluster 15 regress start || true

python3 "$HERE/scan.py" --so "$(pg_config --pkglibdir)/data8.so" --src src "$VGDIR/vg"
