#!/bin/bash
# The simulator's CPU for PATCH blocks: BLOCKS bodies of 1,000 records of the
# benchmark's table (encoded as serial_client.py does), sent by curl --parallel
# to each simulator given, RUNS times each (alternating); prints the median
# simulator CPU (utime+stime from /proc/PID/stat) and wall time per binary.
#
#   test/bench/sim_patch_cpu.sh OLD_BINARY NEW_BINARY   # or any number of binaries
#   BLOCKS=1000 RUNS=3 PARALLEL=4
# No PostgreSQL: only data8-sim processes of its own, on free ports.
set -euo pipefail
BLOCKS=${BLOCKS:-1000}
RUNS=${RUNS:-3}
PARALLEL=${PARALLEL:-4}
[ $# -ge 1 ] || { sed -n '2,9p' "$0"; exit 2; }
WORK=$(mktemp -d /tmp/sim-patch-cpu.XXXXXX)
PIDS=()
trap 'for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$WORK"' EXIT

# the bodies: the benchmark's rows 1..BLOCKS*1000 (see bench.py), json.dumps'ed
/usr/bin/python3 - "$WORK" "$BLOCKS" <<'EOF'
import datetime, decimal, hashlib, json, os, sys
work, blocks = sys.argv[1], int(sys.argv[2])
t0 = datetime.datetime(2020, 1, 1, tzinfo=datetime.timezone.utc)
def row(i):
    return {"name": None if i % 97 == 0 else "Customer %d %s" % (i, hashlib.md5(str(i).encode()).hexdigest()[:10]),
            "qty": i,
            "price": None if i % 101 == 0 else float((decimal.Decimal(i % 100000) * decimal.Decimal("1.37")).quantize(decimal.Decimal("0.01"))),
            "active": i % 3 == 0,
            "born": (datetime.date(1950, 1, 1) + datetime.timedelta(days=i % 25000)).isoformat(),
            "seen": None if i % 103 == 0 else (t0 + datetime.timedelta(seconds=i * 1.000123)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")}
for b in range(blocks):
    with open(os.path.join(work, "block%05d.json" % b), "w") as f:
        f.write(json.dumps({"blockNumber": b, "records": [row(b * 1000 + k + 1) for k in range(1000)]}))
EOF

cpu() { awk '{ sub(/.*\) /, ""); print $12 + $13 }' "/proc/$1/stat"; }

# one run: a fresh simulator, a token, a dataset, all blocks; prints "cpu wall"
run_one() {
  local bin=$1 port url tok pid c0 c1 t0 t1
  port=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  url="http://127.0.0.1:$port"
  "$bin" --port "$port" --threads 64 --rate 5000000 --account id:secret 2>"$WORK/sim.stderr" &
  pid=$!; PIDS+=("$pid")
  for _ in $(seq 100); do grep -q listening "$WORK/sim.stderr" && break; sleep 0.05; done
  tok=$(curl -sf "$url/connect/token" -d grant_type=client_credentials -d client_id=id \
          -d client_secret=secret -d scope=BatchApi | sed 's/.*"access_token": *"\([0-9a-f]*\)".*/\1/')
  curl -sf -o /dev/null "$url/Dataset" -H "Authorization: Bearer $tok" -H "Content-Type: application/json" \
    -d '{"name":"bench","columns":{"name":0,"qty":1,"price":2,"active":3,"born":4,"seen":5}}'
  : > "$WORK/curl.cfg"
  for f in "$WORK"/block*.json; do
    [ -s "$WORK/curl.cfg" ] && echo next >> "$WORK/curl.cfg"
    printf 'url = "%s/Dataset/bench/data"\nrequest = "PATCH"\nheader = "Content-Type: application/json"\nheader = "Expect:"\nheader = "Authorization: Bearer %s"\ndata-binary = "@%s"\noutput = "/dev/null"\nwrite-out = "%%{http_code}\\n"\n' \
      "$url" "$tok" "$f" >> "$WORK/curl.cfg"
  done
  c0=$(cpu "$pid"); t0=$(date +%s.%N)
  curl --parallel --parallel-max "$PARALLEL" --parallel-immediate --silent --config "$WORK/curl.cfg" > "$WORK/codes" 2> "$WORK/curl.stderr"
  t1=$(date +%s.%N); c1=$(cpu "$pid")
  kill "$pid"; wait "$pid" 2>/dev/null || true
  [ "$(grep -c '^204$' "$WORK/codes")" -eq "$BLOCKS" ] || { echo "$bin: not every PATCH got 204" >&2; sort "$WORK/codes" | uniq -c >&2; exit 1; }
  echo "$(echo "($c1 - $c0) / $(getconf CLK_TCK)" | bc -l) $(echo "$t1 - $t0" | bc -l)"
}

median() { sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

for r in $(seq "$RUNS"); do
  for i in $(seq $#); do run_one "${!i}" >> "$WORK/res$i"; done
done
printf '%-50s %10s %10s %8s\n' binary "CPU s" "wall s" ratio
base=
for i in $(seq $#); do
  c=$(cut -d' ' -f1 "$WORK/res$i" | median); w=$(cut -d' ' -f2 "$WORK/res$i" | median)
  base=${base:-$c}
  printf '%-50s %10.2f %10.2f %8.2f   (CPU runs: %s)\n' "${!i}" "$c" "$w" "$(echo "$base / $c" | bc -l)" \
    "$(cut -d' ' -f1 "$WORK/res$i" | xargs printf '%.2f ')"
done
