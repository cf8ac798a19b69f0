#!/usr/bin/env bash
# Scale-out check, run inside the test cluster by test/regress.sh: four
# sessions upload disjoint block ranges of one dataset at the same time,
# one call completes it with the total, and the records come back equal.
# Needs SIM_URL and SIM_SECRET (test/sim-env.sh) and a database with data8.
set -euo pipefail
db=${1:-contrib_regression}
psql_q() { psql -X -q -At -v ON_ERROR_STOP=1 -d "$db" "$@"; }

psql_q <<SQL
SELECT data8.set_profile('default', 'test-client', '$SIM_SECRET',
       api_url => '$SIM_URL', token_url => '$SIM_URL/connect/token');
SET client_min_messages = warning;
DROP TABLE IF EXISTS scale_out;
CREATE TABLE scale_out AS
  SELECT i AS id, md5(i::text) AS h, (i * 0.01)::numeric(12,2) AS amount
    FROM generate_series(1, 10000) i;
SQL

# part k: ids (k-1)*2500+1 .. k*2500 -> 3 blocks from block (k-1)*3
pids=()
for k in 1 2 3 4; do
  psql_q -c "SELECT records, blocks FROM data8.upload_dataset('scale_out_ds',
               'SELECT * FROM scale_out WHERE id BETWEEN $(( (k-1)*2500+1 )) AND $(( k*2500 )) ORDER BY id',
               first_block => $(( (k-1)*3 )), complete => false)" > "log/scale-out-part$k" &
  pids+=($!)
done
fail=0
for p in "${pids[@]}"; do wait "$p" || fail=1; done
[ $fail -eq 0 ] || { echo "scale-out: a part failed"; cat log/scale-out-part*; exit 1; }

result=$(psql_q <<'SQL'
SET data8.poll_interval = '50ms';
SELECT data8.complete_dataset('scale_out_ds', 10000) \g /dev/null
SELECT (data8.wait_for_job((data8.start_job('scale out echo', 'Echo',
        '{"Input": "scale_out_ds"}')).name)).output_datasets->>'Output' AS out \gset
SELECT count(*) || ' records, identical: ' ||
       (NOT EXISTS (SELECT * FROM scale_out EXCEPT ALL
                    SELECT * FROM data8.fetch_output(:'out', NULL::scale_out)) AND
        NOT EXISTS (SELECT * FROM data8.fetch_output(:'out', NULL::scale_out) EXCEPT ALL
                    SELECT * FROM scale_out))::text
  FROM data8.fetch_output(:'out', NULL::scale_out);
SQL
)
echo "scale-out: 4 concurrent sessions sent (records|blocks) $(cat log/scale-out-part* | paste -sd' '); $result"
[[ "$result" == *"10000 records, identical: true" ]]
