# Sourced by the test, demo and benchmark scripts: starts a Data8 simulator
# in the background and stops it on exit.
#   sim_start NAME [data8-sim options...]  -> sets SIM_URL, SIM_LOG, SIM_PID
# The test account is $SIM_CLIENT_ID / $SIM_SECRET; a second account,
# $SIM_OTHER_ID / $SIM_OTHER_SECRET, checks isolation.

SIM_BIN="${SIM_BIN:-$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/sim/data8-sim}"
SIM_CLIENT_ID=test-client
SIM_SECRET=test-secret-5f1d9c2e
SIM_OTHER_ID=other-client
SIM_OTHER_SECRET=other-secret-77aa31
SIM_DIR="${SIM_DIR:-$(mktemp -d /tmp/data8-sim.XXXXXX)}"
chmod 755 "$SIM_DIR"
SIM_PIDS=()

sim_free_port() {
  /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

sim_start() {
  local name=$1; shift
  local port; port=$(sim_free_port)
  SIM_LOG="$SIM_DIR/$name.log"
  : > "$SIM_LOG"; chmod 644 "$SIM_LOG"
  "$SIM_BIN" --port "$port" --log "$SIM_LOG" --token-log "$SIM_DIR/tokens" \
    --account "$SIM_CLIENT_ID:$SIM_SECRET" --account "$SIM_OTHER_ID:$SIM_OTHER_SECRET" \
    "$@" 2>"$SIM_DIR/$name.stderr" &
  SIM_PID=$!
  SIM_PIDS+=("$SIM_PID")
  SIM_URL="http://127.0.0.1:$port"
  for _ in $(seq 100); do
    grep -q "listening" "$SIM_DIR/$name.stderr" 2>/dev/null && return 0
    kill -0 "$SIM_PID" 2>/dev/null || break
    sleep 0.05
  done
  echo "data8-sim did not start:" >&2; cat "$SIM_DIR/$name.stderr" >&2
  return 1
}

sim_stop() {
  [ -n "${SIM_PID:-}" ] && kill "$SIM_PID" 2>/dev/null && wait "$SIM_PID" 2>/dev/null || true
  SIM_PID=
}

sim_stop_all() {
  for p in "${SIM_PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap sim_stop_all EXIT
