#!/usr/bin/env bash
# make bench: the data-path benchmark (run on demand, not in CI).
# Builds and installs the extension and the simulator, then in a throwaway
# PostgreSQL 15 cluster uploads and fetches back BENCH_ROWS rows (default
# 1,000,000) x 6 columns three ways -- the extension, a plain serial Python
# client, and curl --parallel with pre-built bodies (the wire limit) -- at
# 0 ms and at 20 ms of added latency, then the request window (auto beside
# fixed 4, 8, 16, 32) at 0, 20, 50 and 100 ms and at 20 ms under a rate
# limit (--max-concurrent BENCH_LIMIT, default 6), each setting run
# BENCH_WINDOW_RUNS times (default 5; at 0 ms twice that, with the wire
# limit among the settings; interleaved; the report judges each setting by
# its fastest run at 0 ms and by its median elsewhere, and shows the median
# and the range); at 0 ms also
# measures the PostgreSQL floor of the fetch (CTAS from a set-returning SQL
# function, no network), backend memory (fresh sessions after a cluster
# restart) and CALL data8.cleanse_table() on a copy of the table; prints a
# side-by-side table with PASS/MISS against the targets.  Exits 0 whatever
# the figures (non-zero only when something failed to run).  See
# test/bench/README.md.  About 25 minutes for 1,000,000 rows on 2 cores.
#
#   BENCH_ROWS=100000 BENCH_LIMIT_ROWS=100000 make bench   # a quick run
#   BENCH_PARALLEL=16 make bench      # requests in flight (default 8)
#   BENCH_WINDOW_RUNS=1 make bench    # one run per window setting
#   BENCH_WORK=DIR make bench         # keep the results (JSON) and block bodies in DIR,
#                                     # a new folder (relative to the tree's top)
set -euo pipefail
SELF="$(cd "$(dirname "$0")" && pwd)/$(basename "$0")"
cd "$(dirname "$SELF")/../.."

PY=/usr/bin/python3		# Debian's: it has psycopg2 and requests
export BENCH_ROWS="${BENCH_ROWS:-1000000}"
export BENCH_PARALLEL="${BENCH_PARALLEL:-8}"
export BENCH_WINDOW_RUNS="${BENCH_WINDOW_RUNS:-5}"	# runs of each window setting
# The 0 ms run: the simulator's pool serves every connection, and a
# keep-alive connection stays on the thread that accepted it; a pool larger
# than the requests in flight keeps busy connections off a shared thread.
# With --latency-ms the simulator gives every connection a thread of its own
# and --threads does not apply.  See README.md, "Noise".
SIM_THREADS="${BENCH_SIM_THREADS:-64}"
export BENCH_SIM_OPTS="--rate 5000000; 0 ms: --threads $SIM_THREADS; 20 ms: --latency-ms 20 (a thread per connection)"

if [ "${1:-}" != "--inside" ]; then
	command -v pg_virtualenv >/dev/null || { echo "pg_virtualenv is missing: make deps" >&2; exit 1; }
	command -v curl >/dev/null || { echo "curl is missing" >&2; exit 1; }
	$PY -c 'import psycopg2, requests' || { echo "$PY needs psycopg2 and requests (python3-psycopg2 python3-requests)" >&2; exit 1; }
	if [ -n "${BENCH_WORK:-}" ] && [ -e "$BENCH_WORK" ]; then
		echo "BENCH_WORK=$BENCH_WORK exists: name a new folder" >&2
		exit 1
	fi
	make -s
	make -s install >/dev/null
	make -s -C test/sim
	if [ -n "${BENCH_WORK:-}" ]; then
		mkdir "$BENCH_WORK"	# a new folder, kept
	else
		BENCH_WORK=$(mktemp -d /tmp/data8-bench.XXXXXX)
		trap 'rm -rf "$BENCH_WORK"' EXIT
	fi
	BENCH_WORK=$(cd "$BENCH_WORK" && pwd)
	export BENCH_WORK
	echo "== data8 benchmark: $BENCH_ROWS rows, $BENCH_PARALLEL requests in flight, $BENCH_WINDOW_RUNS runs per window setting (work dir $BENCH_WORK)" >&2
	pg_virtualenv -t -v 15 -o shared_buffers=128MB bash "$SELF" --inside
	exit 0
fi

# ---- inside the throwaway cluster
source test/sim-env.sh
start=$(date +%s)

echo "-- setup: tables and block bodies" >&2
$PY test/bench/bench.py setup

for latency in 0 20; do
	echo "-- simulator with ${latency} ms of added latency" >&2
	if [ "$latency" -eq 0 ]; then
		sim_start bench0 --threads "$SIM_THREADS" --rate 5000000
	else
		sim_start bench20 --rate 5000000 --latency-ms "$latency"
	fi
	export SIM_URL SIM_PID SIM_CLIENT_ID SIM_SECRET
	psql -X -q -v ON_ERROR_STOP=1 -o /dev/null \
		-v url="$SIM_URL" -v id="$SIM_CLIENT_ID" -v secret="$SIM_SECRET" <<-'SQL'
		SET client_min_messages = warning;
		SELECT data8.set_profile('default', :'id', :'secret', api_url => :'url',
		                         token_url => :'url' || '/connect/token');
		DROP TABLE IF EXISTS b_back, m_back, s_back;
	SQL
	$PY test/bench/bench.py run "$latency"
	sim_stop
done

# The request window: auto beside fixed windows at each latency (at 0 ms
# the wire limit, curl, too), and under a rate limit of BENCH_LIMIT requests
# in flight at 20 ms.  The settings run BENCH_WINDOW_RUNS times (twice
# that at 0 ms), interleaved (auto, 4, 8, ..., auto, 4, 8, ...),
# each against a simulator of its own: the simulator keeps every dataset in
# memory, and one holding the earlier runs' several GB is slower.
BENCH_LIMIT="${BENCH_LIMIT:-6}"
for cfg in 0:0 20:0 50:0 100:0 "20:$BENCH_LIMIT"; do
	latency=${cfg%%:*} limit=${cfg#*:}
	echo "-- request window: ${latency} ms of added latency$([ "$limit" -gt 0 ] && echo ", --max-concurrent $limit")" >&2
	opts=(--rate 5000000)
	if [ "$latency" -eq 0 ]; then opts+=(--threads "$SIM_THREADS"); else opts+=(--latency-ms "$latency"); fi
	[ "$limit" -gt 0 ] && opts+=(--max-concurrent "$limit")
	for run in $(seq "$($PY test/bench/bench.py window-runs "$latency" "$limit")"); do
		for setting in $($PY test/bench/bench.py window-settings "$latency" "$limit"); do
			sim_start "window$latency-$limit-$run-$setting" "${opts[@]}"
			export SIM_URL SIM_PID SIM_LOG SIM_CLIENT_ID SIM_SECRET
			psql -X -q -v ON_ERROR_STOP=1 -o /dev/null \
				-v url="$SIM_URL" -v id="$SIM_CLIENT_ID" -v secret="$SIM_SECRET" <<-'SQL'
				SET client_min_messages = warning;
				SELECT data8.set_profile('default', :'id', :'secret', api_url => :'url',
				                         token_url => :'url' || '/connect/token');
			SQL
			$PY test/bench/bench.py window "$latency" "$limit" "$run" "$setting"
			sim_stop
		done
	done
done

echo "-- done in $(( $(date +%s) - start )) s" >&2
echo
$PY test/bench/bench.py report
