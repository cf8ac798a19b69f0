#!/usr/bin/env bash
# 10,000 cancelled requests in one session must not grow the backend.
#
#   bash test/memcheck/cancel_loop.sh [ITERATIONS]    (default 10000)
#
# In a throwaway cluster (pg_virtualenv) and against a simulator that stalls
# every API request for ten minutes, ONE psql session sets
# statement_timeout = '20ms' and runs SELECT count(*) FROM data8.datasets()
# ITERATIONS times; every one is cancelled while its request is in flight
# (or, once the simulator's 64 threads are all asleep, while connecting).
# After 1,000 and after ITERATIONS statements it samples, for the backend
# (pid from pg_backend_pid()): VmRSS from /proc/<pid>/status, the sum of
# total_bytes of pg_backend_memory_contexts (read in the same session), and
# its open sockets (/proc/<pid>/fd).  Pass: neither memory figure grows by
# more than 2 MB between the two samples, the socket count does not grow,
# and every statement ended with the statement-timeout cancel.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$HERE/../.."
N="${1:-10000}"
WARM=1000
[ "$N" -gt "$WARM" ] || { echo "ITERATIONS must exceed $WARM" >&2; exit 2; }

if [ -z "${D8_CANCEL_INSIDE:-}" ]; then
  export D8_CANCEL_INSIDE=1
  exec pg_virtualenv -t -v 15 bash "$0" "$N"
fi

# ---- inside pg_virtualenv ----
source test/sim-env.sh
WORK=$(mktemp -d /tmp/data8-cancel.XXXXXX)
sim_start stall --stall-every 1 --stall-ms 600000 --threads 64

psql -X -q -c "CREATE DATABASE data8_cancel" postgres
psql -X -q -c "CREATE EXTENSION data8" data8_cancel

cat >"$WORK/sample.sh" <<'EOF'
#!/bin/sh
# sample.sh LABEL: the backend's RSS (kB), open sockets and file descriptors
dir=$(dirname "$0"); pid=$(cat "$dir/pid")
rss=$(awk '/^VmRSS:/ {print $2}' "/proc/$pid/status")
socks=$(ls -l "/proc/$pid/fd" | grep -c socket || true)
fds=$(ls "/proc/$pid/fd" | wc -l)
echo "$1 $rss $socks $fds" >>"$dir/samples"
EOF

# The session's script: set-up, 1,000 statements, a sample, the rest, a sample.
{
  echo '\set ON_ERROR_STOP on'
  echo "SELECT data8.set_profile('default', 'test-client', :'secret', api_url => :'url', token_url => :'url' || '/connect/token') IS NULL AS ignored \\g /dev/null"
  echo "SELECT pg_backend_pid() \\g $WORK/pid"
  sample() {
    echo 'RESET statement_timeout;'
    echo '\set ON_ERROR_STOP on'
    echo "SELECT 'ctx', $1, sum(total_bytes) FROM pg_backend_memory_contexts;"
    echo "\\! sh $WORK/sample.sh $1"
    echo '\set ON_ERROR_STOP off'
    echo "SET statement_timeout = '20ms';"
  }
  sample 0
  for i in $(seq 1 "$N"); do
    echo 'SELECT count(*) FROM data8.datasets();'
    [ "$i" -eq "$WARM" ] && sample "$WARM"
  done
  sample "$N"
} >"$WORK/session.sql"

echo "-- one session, $N statements cancelled after 20 ms (simulator stalls every request)"
start=$(date +%s)
psql -X -At -F ' ' -v url="$SIM_URL" -v secret="$SIM_SECRET" -d data8_cancel \
  -f "$WORK/session.sql" >"$WORK/out" 2>"$WORK/err"
secs=$(( $(date +%s) - start ))

cancelled=$(grep -c 'canceling statement due to statement timeout' "$WORK/err" || true)
other=$(grep 'ERROR' "$WORK/err" | grep -vc 'canceling statement due to statement timeout' || true)
# stalled requests are logged only when their stall ends; tokens at once
tokens=$(grep -c '"path":"/connect/token"' "$SIM_LOG" || true)
echo "-- $secs s; $cancelled cancelled by statement_timeout, $other other errors; $tokens token(s) issued"
[ "$other" -eq 0 ] || { echo "other errors:"; grep ERROR "$WORK/err" | grep -v 'statement timeout' | sort | uniq -c | head; }

printf '%-8s %12s %14s %8s %6s\n' after VmRSS_kB contexts_bytes sockets fds
declare -A RSS SOCK CTX
while read -r label rss socks fds; do
  ctx=$(awk -v l="$label" '$1 == "ctx" && $2 == l {print $3}' "$WORK/out")
  RSS[$label]=$rss; SOCK[$label]=$socks; CTX[$label]=$ctx
  printf '%-8s %12s %14s %8s %6s\n' "$label" "$rss" "$ctx" "$socks" "$fds"
done <"$WORK/samples"

status=0
rss_growth=$(( ${RSS[$N]} - ${RSS[$WARM]} ))
ctx_growth=$(( ${CTX[$N]} - ${CTX[$WARM]} ))
echo "-- growth from $WARM to $N: RSS ${rss_growth} kB, memory contexts ${ctx_growth} bytes, sockets $(( ${SOCK[$N]} - ${SOCK[$WARM]} ))"
[ "$rss_growth" -le 2048 ] || { echo "FAIL: the backend's RSS grew by more than 2 MB"; status=1; }
[ "$ctx_growth" -le $((2 * 1024 * 1024)) ] || { echo "FAIL: the backend's memory contexts grew by more than 2 MB"; status=1; }
[ "${SOCK[$N]}" -le "${SOCK[$WARM]}" ] || { echo "FAIL: the backend holds more sockets than after $WARM statements (leaked connections)"; status=1; }
[ "$tokens" -ge 1 ] || { echo "FAIL: no token was issued: the requests never reached the API"; status=1; }
[ "$cancelled" -eq "$N" ] || { echo "FAIL: $cancelled of $N statements ended with the statement-timeout cancel"; status=1; }
[ $status -eq 0 ] && echo "cancel loop: passed" || echo "cancel loop: FAILED (files in $WORK)"
[ $status -eq 0 ] && rm -rf "$WORK"
exit $status
