#!/usr/bin/env bash
# Fault survival: the data path gives the same results whatever the network
# does.  Runs inside a pg_virtualenv cluster, like test/regress.sh:
#
#   cd "$(git rev-parse --show-toplevel)" && make && make install && make -C test/sim &&
#   pg_virtualenv -t -v 15 bash test/faults.sh
#
# A 100,000-row table (a key, then text with quotes, control characters and
# Unicode, integer, numeric with ~26 significant digits, boolean, date and
# timestamptz, with NULLs) goes through
#   upload   data8.upload_dataset
#   fetch    an Echo job, then data8.fetch_output (the time includes the job)
#   cleanse  CALL data8.cleanse_table with CleanseContacts on a copy
# against a clean simulator (the reference), then against simulators that
# inject one kind of fault each, then all of them at once.  Each mode passes
# when
#   - the fetched rows and the cleansed table have the reference's checksums
#     (and the reference's fetched rows equal the source table),
#   - both uploads report 100,000 records in 100 blocks, the datasets are
#     complete with 100,000 records, and no cleansed row is missing,
#   - the simulator's request log shows blocks 0..99 of both uploads each
#     accepted exactly once (2xx, no fault), with the reference's record
#     count per block: none missing, none extra,
#   - the faults the mode is about were injected at all.
# Then: with data8.max_retries = 0 an upload fails with SQLSTATE 08006 and
# an ERROR naming the block; the same call again, with max_retries reset,
# against the same faulty simulator, completes the dataset with the exact
# count and the exact rows.
# Prints one table and exits non-zero if anything differs.
set -uo pipefail	# no -e: a failing mode is reported and the next one runs
cd "$(dirname "$0")/.."
source test/sim-env.sh

DB=data8_fault_survival
ROWS=100000
BLOCKS=100
SCRATCH=$(mktemp -d /tmp/data8-faults.XXXXXX)
status=0
started=$EPOCHREALTIME

# settings of every mode; a mode may add its own (MODE_SET).  The longest
# step takes about 60 s (the all mode's cleanse: each Retry-After pauses the
# whole pipeline); statement_timeout turns a hang into a failure.
BASE_SET="SET data8.parallel_requests = 4; SET data8.poll_interval = '100ms'; SET statement_timeout = '180s';"

fail() { echo "FAIL: $*"; status=1; }

elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f s", b - a }'; }

# psql on the test database: quiet, unaligned, stops at the first error.
# SQL comes on stdin; NOTICEs and errors go to $SCRATCH/last.err.
q() {
  psql -X -q -A -t -v ON_ERROR_STOP=1 -d "$DB" "$@" 2>"$SCRATCH/last.err"
}

# The ERROR of the last failed step, indented, for the CI log.
show_error() {
  grep -E '^(psql:.*)?(ERROR|DETAIL|HINT|CONTEXT|WARNING):|^psql:' "$SCRATCH/last.err" \
    | sed 's/^psql:<stdin>:[0-9]*: //; s/^/      /' | head -12
}

echo "== fault survival: $ROWS rows x 7 columns, upload / Echo + fetch / cleanse_table"
dropdb --if-exists "$DB" 2>/dev/null
createdb "$DB" || { echo "FAIL: could not create database $DB"; exit 1; }

q <<'SQL' || { fail "setup"; show_error; exit 1; }
CREATE EXTENSION data8;
-- the rows every mode sends: quotes, backslashes, control characters,
-- Unicode, leading/trailing spaces (CleanseContacts changes those names),
-- numbers beyond a double's precision, microsecond timestamps, and NULLs
CREATE TABLE src (
    id      integer PRIMARY KEY,
    name    text,
    qty     integer,
    amount  numeric,
    active  boolean,
    born    date,
    seen    timestamptz
);
INSERT INTO src
SELECT i,
       CASE WHEN i % 101 = 0 THEN NULL
            WHEN i % 3 = 0 THEN format('  o''BRIEN-smith   "%s" \ Ünïcödé ✓ 日本語 😀 ', i)
            WHEN i % 3 = 1 THEN format('mary ann "q%s" it''s ü-ß', i)
            ELSE format(E'tab\there %s\\n "x"', md5(i::text)) END,
       CASE WHEN i % 97 = 0 THEN NULL ELSE (i * 7919) % 2000003 - 1000000 END,
       CASE WHEN i % 89 = 0 THEN NULL
            ELSE (CASE WHEN i % 2 = 0 THEN '-' ELSE '' END || (i::bigint * 1234567)::text || '.'
                  || lpad(((i::bigint * 48271) % 2147483647)::text, 18, '0'))::numeric END,
       CASE WHEN i % 83 = 0 THEN NULL ELSE i % 2 = 0 END,
       CASE WHEN i % 79 = 0 THEN NULL ELSE date '1900-01-01' + (i * 37) % 80000 END,
       CASE WHEN i % 73 = 0 THEN NULL
            ELSE timestamptz '1990-01-01 00:00:00+00' + make_interval(secs => i * 12345.678901) END
  FROM generate_series(1, 100000) i;
-- what each mode produced, and the simulators' request logs
CREATE TABLE results (
    mode         text PRIMARY KEY,
    ord          serial,
    upload_ds    text,
    up_records   bigint,
    up_blocks    integer,
    ds_records   bigint,
    ds_completed boolean,
    fetch_rows   bigint,
    fetch_md5    text,
    cleanse_ds   text,
    rows_sent    bigint,
    rows_missing bigint,
    clean_rows   bigint,
    clean_md5    text,
    expect       text[]        -- faults this mode must have injected
);
CREATE TABLE simlog (mode text, seq bigint, api_seq bigint, method text, path text,
                     status integer, fault text, block integer, records integer);
-- a row's text, for checksums: md5 of the rows in key order
CREATE FUNCTION rows_md5(tab regclass) RETURNS text LANGUAGE plpgsql AS $$
DECLARE h text;
BEGIN
    EXECUTE format('SELECT md5(string_agg(t::text, E''\n'' ORDER BY id)) FROM %s t', tab) INTO h;
    RETURN h;
END $$;
SQL

# ---------------------------------------------------------------- steps
# Each step is one psql session (one backend, one token cache), timed.

set_profile() {
  q -v url="$SIM_URL" -v client="$SIM_CLIENT_ID" -v secret="$SIM_SECRET" >/dev/null <<'SQL'
SELECT data8.set_profile('default', :'client', :'secret',
       api_url => :'url', token_url => :'url' || '/connect/token');
SQL
}

step_upload() {		# mode, expected faults
  { echo "$BASE_SET ${MODE_SET:-}"; cat <<'SQL'; } | q -v mode="$1" -v ds="fs_$1" -v expect="$2"
INSERT INTO results (mode, upload_ds, up_records, up_blocks, expect)
SELECT :'mode', :'ds', u.records, u.blocks, string_to_array(:'expect', ' ')
  FROM data8.upload_dataset(:'ds', 'SELECT * FROM src ORDER BY id') u;
UPDATE results r SET (ds_records, ds_completed) =
       (SELECT d.record_count, d.completed FROM data8.dataset(:'ds') d)
 WHERE r.mode = :'mode';
SQL
}

step_fetch() {		# mode
  { echo "$BASE_SET ${MODE_SET:-}"; cat <<'SQL'; } | q -v mode="$1" -v ds="fs_$1" -v tab="fetched_$1"
SELECT j.name AS job FROM data8.start_job('faults echo ' || :'mode', 'Echo',
                                          jsonb_build_object('Input', :'ds')) j \gset
SELECT w.output_datasets->>'Output' AS out FROM data8.wait_for_job(:'job', '10 min') w \gset
DROP TABLE IF EXISTS :"tab";
CREATE TABLE :"tab" AS SELECT * FROM data8.fetch_output(:'out', NULL::src);
UPDATE results SET fetch_rows = (SELECT count(*) FROM :"tab"), fetch_md5 = rows_md5(:'tab')
 WHERE mode = :'mode';
SQL
}

step_cleanse() {	# mode
  { echo "$BASE_SET ${MODE_SET:-}"; cat <<'SQL'; } | q -v mode="$1" -v tab="cleansed_$1"
DROP TABLE IF EXISTS :"tab";
CREATE TABLE :"tab" (LIKE src INCLUDING ALL);
INSERT INTO :"tab" SELECT * FROM src;
CALL data8.cleanse_table(:'tab', 'id', 'CleanseContacts',
                         input_name => 'Contacts', output_name => 'Contacts', timeout => '10 min');
UPDATE results r SET (cleanse_ds, rows_sent, rows_missing) =
       (SELECT x.input_dataset, x.rows_sent, x.rows_missing FROM data8.runs x
         WHERE x.target = :'tab'::regclass ORDER BY x.id DESC LIMIT 1),
       clean_rows = (SELECT count(*) FROM :"tab"), clean_md5 = rows_md5(:'tab')
 WHERE r.mode = :'mode';
SQL
}

load_log() {		# mode
  q -v mode="$1" -v log="$SIM_LOG" <<'SQL'
DELETE FROM simlog WHERE mode = :'mode';
INSERT INTO simlog
SELECT :'mode', (l->>'seq')::bigint, (l->>'apiSeq')::bigint, l->>'method', l->>'path',
       (l->>'status')::int, l->>'fault', (l->>'block')::int, (l->>'records')::int
  FROM regexp_split_to_table(pg_read_file(:'log'), E'\n') AS t(line),
       LATERAL (SELECT t.line::jsonb AS l) j
 WHERE t.line <> '';
SQL
}

declare -A CELL		# CELL[mode,step] = "ok 1.2 s" | "FAILED"
MODES=()

# run_mode NAME "EXPECTED FAULTS" [data8-sim options...]; MODE_SET may add SETs
run_mode() {
  local mode=$1 expect=$2; shift 2
  local t0 t1 st
  MODES+=("$mode")
  echo "-- $mode: data8-sim $* ${MODE_SET:+; $MODE_SET}"
  if ! sim_start "$mode" --seed 42 --threads 64 "$@"; then
    fail "$mode: the simulator did not start"
    for st in upload fetch cleanse; do CELL[$mode,$st]="not run"; done
    return
  fi
  set_profile || { fail "$mode: set_profile"; show_error; }
  for st in upload fetch cleanse; do
    t0=$EPOCHREALTIME
    if "step_$st" "$mode" "$expect"; then
      t1=$EPOCHREALTIME
      CELL[$mode,$st]="ok $(elapsed "$t0" "$t1")"
    else
      t1=$EPOCHREALTIME
      CELL[$mode,$st]="FAILED"
      fail "$mode: $st failed after $(elapsed "$t0" "$t1"):"
      show_error
      [ "$st" = upload ] && { CELL[$mode,fetch]="not run"; CELL[$mode,cleanse]="not run"; break; }
    fi
  done
  # a stalled request is logged when its stall ends, even if the client gave up
  case " $* " in *" --stall-every "*) sleep 3.2 ;; esac
  load_log "$mode" || { fail "$mode: could not read the request log"; show_error; }
  sim_stop
}

# ---------------------------------------------------------------- modes
FAST="--rate 1000000"
MODE_SET=""
run_mode clean ""                $FAST
run_mode 503   "503"             $FAST --fail-503-every 5 --retry-after 0
run_mode 429   "429"             $FAST --fail-429-every 5 --retry-after 1
run_mode drop  "drop"            $FAST --drop-every 5
run_mode drop_after "drop-after" $FAST --drop-after-every 7
MODE_SET="SET data8.timeout = '1s';"
run_mode stall "stall"           $FAST --stall-every 9 --stall-ms 3000
MODE_SET=""
run_mode token "token"           --rate 20000 --token-lifetime 2
# all at once: different periods, since the simulator gives a request that
# matches several options only the first (503, 429, drop, drop-after, stall);
# the retry budget is raised as ~40% of the requests fail
MODE_SET="SET data8.timeout = '1s'; SET data8.max_retries = 12;"
run_mode all "503 429 drop drop-after stall token" \
  --rate 20000 --fail-503-every 11 --fail-429-every 13 --retry-after 1 --drop-every 17 \
  --drop-after-every 7 --stall-every 19 --stall-ms 3000 --token-lifetime 2
MODE_SET=""

# ---------------------------------------------------------------- verdicts
# One line per mode: mode|faults|identical|problems
verdicts=$(q -F '|' <<'SQL'
WITH ref AS (SELECT * FROM results WHERE mode = 'clean'),
-- blocks each upload had accepted: 2xx, no fault
acc AS (
    SELECT r.mode, CASE WHEN l.path = '/Dataset/' || r.upload_ds || '/data'
                        THEN 'upload' ELSE 'cleanse' END AS kind,
           l.block, l.records
      FROM simlog l JOIN results r USING (mode)
     WHERE l.method = 'PATCH' AND l.fault IS NULL AND l.status BETWEEN 200 AND 299
       AND l.path IN ('/Dataset/' || r.upload_ds || '/data', '/Dataset/' || r.cleanse_ds || '/data')),
-- the reference's blocks must be 0..99 with 1000 records, each once
expected AS (
    SELECT k.kind, b AS block, 1000 AS records
      FROM unnest(ARRAY['upload', 'cleanse']) k(kind), generate_series(0, 99) b),
ref_blocks AS (SELECT kind, block, records FROM acc WHERE mode = 'clean'),
block_problems AS (
    SELECT 'clean' AS mode, string_agg(p, '; ') AS p FROM (
        SELECT format('reference %s block %s: %s', kind, block, 'not as expected') AS p
          FROM ((TABLE expected EXCEPT ALL TABLE ref_blocks)
                UNION ALL (TABLE ref_blocks EXCEPT ALL TABLE expected)) d) s
    UNION ALL
    SELECT r.mode, (
        SELECT string_agg(p, '; ') FROM (
            SELECT format('%s: block %s (%s records) %s', kind, block, records, what) AS p
              FROM (SELECT kind, block, records, 'missing' AS what FROM
                      (TABLE ref_blocks EXCEPT ALL
                       SELECT kind, block, records FROM acc WHERE acc.mode = r.mode) m
                    UNION ALL
                    SELECT kind, block, records, 'accepted once more than in the reference' FROM
                      (SELECT kind, block, records FROM acc WHERE acc.mode = r.mode
                       EXCEPT ALL TABLE ref_blocks) x) d
             ORDER BY kind, block LIMIT 10) s)
      FROM results r WHERE r.mode <> 'clean'),
faults AS (
    SELECT r.mode,
           (SELECT string_agg(format('%s x%s', fault, n), ', ' ORDER BY fault)
              FROM (SELECT fault, count(*) n FROM simlog l WHERE l.mode = r.mode AND fault IS NOT NULL
                     GROUP BY fault) f) AS injected,
           (SELECT array_agg(DISTINCT fault) FROM simlog l WHERE l.mode = r.mode AND fault IS NOT NULL) AS kinds,
           (SELECT count(*) FROM simlog l WHERE l.mode = r.mode AND status = 401
               AND path <> '/connect/token') AS n401,
           (SELECT count(*) FROM simlog l WHERE l.mode = r.mode AND path = '/connect/token') AS tokens,
           (SELECT count(*) FROM simlog l WHERE l.mode = r.mode) AS requests
      FROM results r),
checks AS (
    SELECT r.mode, r.ord, f.injected, f.n401, f.tokens, f.requests,
           array_remove(ARRAY[
             CASE WHEN r.up_records IS DISTINCT FROM 100000 OR r.up_blocks IS DISTINCT FROM 100
                  THEN format('upload_dataset reported %s records in %s blocks', r.up_records, r.up_blocks) END,
             CASE WHEN r.ds_records IS DISTINCT FROM 100000 OR r.ds_completed IS NOT TRUE
                  THEN format('dataset holds %s records, completed %s', r.ds_records, r.ds_completed) END,
             CASE WHEN r.mode = 'clean' AND r.fetch_md5 IS DISTINCT FROM rows_md5('src')
                  THEN 'the reference''s fetched rows differ from the source table' END,
             CASE WHEN r.fetch_rows IS DISTINCT FROM 100000 OR r.fetch_md5 IS DISTINCT FROM ref.fetch_md5
                  THEN format('fetched %s rows, checksum %s', r.fetch_rows,
                              CASE WHEN r.fetch_md5 = ref.fetch_md5 THEN 'same' ELSE 'differs' END) END,
             CASE WHEN r.rows_sent IS DISTINCT FROM 100000 OR r.rows_missing IS DISTINCT FROM 0
                  THEN format('cleanse sent %s rows, %s missing from the output', r.rows_sent, r.rows_missing) END,
             CASE WHEN r.clean_rows IS DISTINCT FROM 100000 OR r.clean_md5 IS DISTINCT FROM ref.clean_md5
                  THEN format('cleansed table: %s rows, checksum %s', r.clean_rows,
                              CASE WHEN r.clean_md5 = ref.clean_md5 THEN 'same' ELSE 'differs' END) END,
             CASE WHEN r.mode = 'clean' AND r.clean_md5 = rows_md5('src')
                  THEN 'the reference cleanse changed nothing' END,
             b.p,
             CASE WHEN r.mode = 'clean' AND f.injected IS NOT NULL
                  THEN 'faults in the clean run: ' || f.injected END,
             (SELECT 'no ' || string_agg(e, ', ') || ' fault was injected' FROM unnest(r.expect) e
               WHERE e <> 'token' AND e <> ALL (coalesce(f.kinds, '{}'))),
             -- each of the 3 sessions gets one token; more means tokens expired mid-work
             CASE WHEN 'token' = ANY (r.expect) AND f.tokens <= 3
                  THEN format('only %s tokens were issued: none expired during the work', f.tokens) END
           ], NULL) AS problems
      FROM results r
      LEFT JOIN faults f ON f.mode = r.mode
      LEFT JOIN block_problems b ON b.mode = r.mode
      CROSS JOIN ref)
SELECT mode,
       concat_ws(', ', coalesce(injected, CASE WHEN n401 = 0 THEN 'none' END),
                 CASE WHEN n401 > 0 THEN format('401 x%s', n401) END)
       || CASE WHEN mode IN ('token', 'all') THEN format(' (%s tokens)', tokens) ELSE '' END,
       CASE WHEN cardinality(problems) = 0 THEN 'yes' ELSE 'no' END,
       array_to_string(problems, '; ')
  FROM checks ORDER BY ord;
SQL
) || { fail "could not compute the verdicts"; show_error; }

# ---------------------------------------------------------------- retries exhausted
# max_retries = 0 against a 503 every 3rd request: the upload fails naming
# its block; the same call with the default budget then finishes the dataset.
echo "-- exhausted retries: data8-sim --fail-503-every 3 --retry-after 0; SET data8.max_retries = 0"
ex_lines=()
if sim_start exhaust --seed 42 --threads 64 --rate 1000000 --fail-503-every 3 --retry-after 0; then
  set_profile || { fail "exhaust: set_profile"; show_error; }
  t0=$EPOCHREALTIME
  ex=$( { echo "$BASE_SET"; cat <<'SQL'; } | q -F '|'
SET data8.max_retries = 0;
DO $$
DECLARE st text; msg text; ctx text; hint text;
BEGIN
    PERFORM data8.upload_dataset('fs_exhaust', 'SELECT * FROM src ORDER BY id');
    RAISE NOTICE 'RESULT|none|upload_dataset succeeded||';
EXCEPTION WHEN OTHERS THEN
    GET STACKED DIAGNOSTICS st = RETURNED_SQLSTATE, msg = MESSAGE_TEXT,
                            ctx = PG_EXCEPTION_CONTEXT, hint = PG_EXCEPTION_HINT;
    RAISE NOTICE 'RESULT|%|%|%|%', st, msg, replace(ctx, E'\n', ' / '), hint;
END $$;
SQL
  ) ; rc=$?
  ex=$(grep -o 'RESULT|.*' "$SCRATCH/last.err")
  IFS='|' read -r _ ex_state ex_msg ex_ctx ex_hint <<< "$ex"
  echo "   ERROR:   $ex_state: $ex_msg"
  echo "   CONTEXT: $ex_ctx"
  echo "   HINT:    $ex_hint"
  [ $rc -eq 0 ] || { fail "exhaust: the first call did not run"; show_error; }
  [ "$ex_state" = 08006 ] || fail "exhaust: SQLSTATE is '$ex_state', not 08006"
  [[ "$ex_msg" =~ \(HTTP\ 503\)\ after\ 1\ attempt ]] ||
    fail "exhaust: the message does not say the 1 attempt allowed failed with HTTP 503"
  [[ "$ex_msg $ex_ctx" =~ block\ [0-9]+\ .*dataset\ \"fs_exhaust\" ]] ||
    fail "exhaust: the error does not name the block"
  [[ "$ex_hint" =~ data8.max_retries ]] || fail "exhaust: the HINT does not mention data8.max_retries"
  first_call=$(elapsed "$t0" "$EPOCHREALTIME")

  t0=$EPOCHREALTIME
  ex2=$( { echo "$BASE_SET"; cat <<'SQL'; } | q -F '|'
RESET data8.max_retries;
SELECT u.records, u.blocks, d.record_count, d.completed
  FROM data8.upload_dataset('fs_exhaust', 'SELECT * FROM src ORDER BY id') u
 CROSS JOIN LATERAL (SELECT * FROM data8.dataset(u.dataset)) d;
SELECT j.name AS job FROM data8.start_job('faults echo exhaust', 'Echo',
                                          jsonb_build_object('Input', 'fs_exhaust')) j \gset
SELECT w.output_datasets->>'Output' AS out FROM data8.wait_for_job(:'job', '10 min') w \gset
CREATE TABLE fetched_exhaust AS SELECT * FROM data8.fetch_output(:'out', NULL::src);
SELECT count(*), rows_md5('fetched_exhaust') = rows_md5('src') FROM fetched_exhaust;
SQL
  ); rc=$?
  if [ $rc -ne 0 ]; then
    fail "exhaust: the second call failed:"; show_error
  else
    IFS=$'\n' read -r -d '' l1 l2 <<< "$ex2"
    echo "   second call (max_retries reset, same simulator): records|blocks|dataset count|completed = $l1;" \
         "rows fetched back|identical to the source = $l2 ($(elapsed "$t0" "$EPOCHREALTIME"))"
    [ "$l1" = "100000|100|100000|t" ] || fail "exhaust: the second call did not complete the dataset with 100000 records"
    [ "$l2" = "100000|t" ] || fail "exhaust: the completed dataset's rows differ from the source"
  fi
  load_log exhaust || { fail "exhaust: could not read the request log"; show_error; }
  ex_faults=$(q <<'SQL'
SELECT count(*) FROM simlog WHERE mode = 'exhaust' AND fault IS NOT NULL;
SQL
  )
  echo "   first call: $first_call; faults injected over both calls: 503 x$ex_faults"
  sim_stop
else
  fail "exhaust: the simulator did not start"
fi

# ---------------------------------------------------------------- the table
echo
echo "== fault survival ($ROWS rows; fetch includes the Echo job, cleanse the whole cleanse_table)"
fmt="%-11s | %-66s | %-9s | %-9s | %-9s | %s\n"
printf "$fmt" mode "faults injected (each one retried)" upload fetch cleanse identical
printf "$fmt" ----------- "$(printf '%.0s-' {1..66})" --------- --------- --------- ---------
while IFS='|' read -r mode faults identical problems; do
  [ -n "$mode" ] || continue
  printf "$fmt" "$mode" "$faults" "${CELL[$mode,upload]:-?}" "${CELL[$mode,fetch]:-?}" \
    "${CELL[$mode,cleanse]:-?}" "$identical"
  if [ "$identical" != yes ]; then
    status=1
    problem_lines+=("$mode: $problems")
  fi
done <<< "$verdicts"
for m in "${MODES[@]}"; do
  grep -q "^$m|" <<< "$verdicts" || { printf "$fmt" "$m" "?" "${CELL[$m,upload]:-?}" \
    "${CELL[$m,fetch]:-?}" "${CELL[$m,cleanse]:-?}" no; status=1; }
done
for p in "${problem_lines[@]+"${problem_lines[@]}"}"; do echo "  differs: $p"; done
echo "total time: $(elapsed "$started" "$EPOCHREALTIME")"

rm -rf "$SCRATCH"
[ $status -eq 0 ] && echo "fault survival: all passed" || echo "fault survival: FAILED"
exit $status
