#!/usr/bin/env bash
# make test-versions: for each PostgreSQL version (default: all supported),
# builds the extension with -Werror in a scratch copy of the tree, installs
# it into that version's installation (test/pg-versions.sh), and runs the
# clean pg_regress pass and the pg_cron test in background-worker mode
# (test/regress.sh, DATA8_PASSES="clean bgworkers") against the simulator,
# in a throwaway cluster: pg_virtualenv for Debian's 15 (holding the
# /tmp/data8-pg15.lock that guards the shared installation: do not run this
# under that lock yourself), test/pg-cluster.sh for the others.
#   test/test-versions.sh [--build-only] [VERSION...]
# Ends with a table of the results; exit status 0 only if all passed.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build_only=no
if [ "${1:-}" = --build-only ]; then build_only=yes; shift; fi
versions=("$@")
[ ${#versions[@]} -gt 0 ] || versions=(13 15 17 18)

logs=$(mktemp -d /tmp/data8-versions.XXXXXX)
rows=()
failed=0
row() { rows+=("$(printf '%-4s %-10s %-12s %s' "$@")"); }

for v in "${versions[@]}"; do
  echo "== PostgreSQL $v"
  log=$logs/pg$v.log
  if ! pg_config=$(bash "$root/test/pg-versions.sh" "$v" 2> >(tee "$log" >&2)); then
    row "$v" "-" "unavailable" "-"; failed=1; continue
  fi
  release=$("$pg_config" --version | awk '{print $2}')
  # a scratch copy: object files of another version never land in the tree
  src=$(mktemp -d /tmp/data8-build$v.XXXXXX)
  git -C "$root" ls-files -co --exclude-standard -z |
    tar -C "$root" --null --ignore-failed-read -T - -cf - 2>/dev/null | tar -C "$src" -xf -
  # Debian's 15 has LLVM bitcode (clang-14 is installed); the others none
  llvm=(); [ "$v" = 15 ] || llvm=(with_llvm=no)
  if ! make -C "$src" -s PG_CONFIG="$pg_config" "${llvm[@]}" >>"$log" 2>&1; then
    tail -40 "$log"; row "$v" "$release" "FAILED" "-"; failed=1; rm -rf "$src"; continue
  fi
  echo "built with -Werror against $release"
  if [ $build_only = yes ] || [ ! -x "$("$pg_config" --bindir)/postgres" ]; then
    row "$v" "$release" "ok" "$([ $build_only = yes ] && echo "-" || echo "build only (no server)")"
    rm -rf "$src"; continue
  fi
  make -s -C "$src/test/sim" >>"$log" 2>&1
  export DATA8_PASSES="clean bgworkers"
  cron=(-o shared_preload_libraries=pg_cron -o cron.database_name=contrib_regression
        -o max_worker_processes=16)
  if [ "$v" = 15 ]; then
    run=(flock /tmp/data8-pg15.lock bash -c 'make -s PG_CONFIG="$1" install >/dev/null && shift && exec "$@"' -
         "$pg_config" pg_virtualenv -t -v 15 "${cron[@]}" -o cron.host=/var/run/postgresql bash test/regress.sh)
  else
    make -C "$src" -s PG_CONFIG="$pg_config" "${llvm[@]}" install >>"$log" 2>&1
    run=(bash test/pg-cluster.sh "$pg_config" "${cron[@]}" bash test/regress.sh)
  fi
  if (cd "$src" && "${run[@]}") 2>&1 | tee -a "$log"; then result=passed; else result=FAILED; failed=1; fi
  counts=$(grep -oE 'All [0-9]+ tests passed|[0-9]+ of [0-9]+ tests failed' "$log" | paste -sd, - || true)
  row "$v" "$release" "ok" "$result ($counts)"
  rm -rf "$src"
done

echo
echo "PostgreSQL versions (logs in $logs):"
printf '%-4s %-10s %-12s %s\n' "ver" "release" "build" "clean pass + pg_cron (bgworkers)"
printf '%s\n' "${rows[@]}"
exit $failed
