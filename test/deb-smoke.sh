#!/usr/bin/env bash
# make test-deb, and the last stage of make test: the Debian package end to end.
#   1. the version is in one place: debian/changelog and the committed
#      META.json follow data8.control, debian/control is what pg_buildext
#      makes of debian/control.in;
#   2. builds the packages (make deb), or takes DEB_FILE=some.deb;
#   3. looks inside the .deb: data8.so, the control file and every install
#      and upgrade script, the dependencies, no simulator;
#   4. holding the PostgreSQL 15 lock (that installation is shared with
#      other builds of the tree): dpkg -i, dpkg -L and dpkg -V, then in a
#      throwaway cluster (pg_virtualenv) against the simulator: CREATE
#      EXTENSION data8, a profile, a dataset, data8.datasets().  Whatever
#      happened, the package is purged and this tree's build installed again
#      (make install) before the lock is released; DEB_SMOKE_RESTORE=snapshot
#      puts back the very files that were installed before instead.
# Any failure stops it with "deb-smoke: FAIL ..." and a non-zero status.
set -euo pipefail
self=$(cd "$(dirname "$0")" && pwd)/$(basename "$0")
cd "$(dirname "$0")/.."
top=$PWD
pgv=15
pkg=postgresql-$pgv-data8
lock=${DATA8_PG_LOCK:-/tmp/data8-pg$pgv.lock}
version=$(sed -n "s/^default_version *= *'\(.*\)'/\1/p" data8.control)

fail() { echo "deb-smoke: FAIL: $*" >&2; exit 1; }

# -- inside the throwaway cluster (pg_virtualenv runs this script again)
if [ "${1:-}" = --in-cluster ]; then
  source test/sim-env.sh
  sim_start deb-smoke
  out=$(psql -X -q -At -v ON_ERROR_STOP=1 -v sim_url="$SIM_URL" \
             -v client_id="$SIM_CLIENT_ID" -v secret="$SIM_SECRET" <<'SQL'
CREATE EXTENSION data8;
SELECT 'version=' || extversion FROM pg_extension WHERE extname = 'data8';
SELECT 'library=' || probin FROM pg_proc WHERE proname = 'create_dataset'
   AND pronamespace = 'data8'::regnamespace;
SELECT data8.set_profile('default', :'client_id', :'secret',
       api_url => :'sim_url', token_url => :'sim_url' || '/connect/token');
SELECT 'created=' || name FROM data8.create_dataset('deb_smoke', '{"id": "integer", "name": "string"}');
SELECT 'datasets=' || count(*) FROM data8.datasets();
SQL
  ) || fail "the SQL smoke test failed (above)"
  grep . <<<"$out" | sed 's/^/     /'
  grep -qx "version=$version" <<<"$out" || fail "extension version is not $version"
  grep -qx "library=\$libdir/data8" <<<"$out" || fail "the functions do not point at \$libdir/data8"
  grep -qx "created=deb_smoke" <<<"$out" || fail "create_dataset did not answer"
  grep -qx "datasets=1" <<<"$out" || fail "data8.datasets() did not list the one dataset"
  grep -q '"method":"GET","path":"/Dataset"' "$SIM_LOG" || fail "the simulator saw no GET /Dataset"
  exit 0
fi

echo "-- deb-smoke: data8 $version"
[ -n "$version" ] || fail "no default_version in data8.control"

# -- 1. one version
chlog=$(dpkg-parsechangelog -l debian/changelog -SVersion)
up=${chlog#*:}; up=${up%-*}
[ "$up" = "$version" ] ||
  fail "debian/changelog is at $chlog but data8.control's default_version is $version: add a debian/changelog entry for $version-1"
sed "s/@VERSION@/$version/g" META.json.in | cmp -s - META.json ||
  fail "META.json is stale (or missing): run make META.json and commit it"
python3 - "$version" <<'PY' || fail "META.json is not valid PGXN metadata for this version"
import json, sys
m = json.load(open("META.json"))
v = sys.argv[1]
assert m["name"] == "data8" and m["version"] == v, "name/version"
assert m["provides"]["data8"]["version"] == v, "provides.data8.version"
for k in ("abstract", "maintainer", "license", "meta-spec"):
    assert k in m, k
PY
tmp=$(mktemp -d /tmp/data8-deb-smoke.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
mkdir "$tmp/ctl"; cp -r debian "$tmp/ctl/"
ctl_versions=$(sed -n "s/^Package: postgresql-\([0-9]*\)-data8$/\1/p" debian/control | xargs)
[ -n "$ctl_versions" ] || fail "debian/control has no postgresql-NN-data8 package"
(cd "$tmp/ctl" && PG_SUPPORTED_VERSIONS=$ctl_versions pg_buildext updatecontrol) >/dev/null
cmp -s "$tmp/ctl/debian/control" debian/control ||
  fail "debian/control is not what debian/control.in gives: run pg_buildext updatecontrol"
echo "   changelog $chlog, META.json $version, debian/control for PostgreSQL $ctl_versions: consistent"

# -- 2. the package
if [ -n "${DEB_FILE:-}" ]; then
  deb=$(readlink -f "$DEB_FILE")
else
  start=$SECONDS
  bash test/deb-build.sh >"$tmp/build.out" 2>&1 || { cat "$tmp/build.out" >&2; fail "make deb failed"; }
  echo "   make deb: $((SECONDS - start)) s"
  shopt -s nullglob
  debs=(deb/"$pkg"_"$version"-*_*.deb)
  shopt -u nullglob
  [ ${#debs[@]} -eq 1 ] || fail "expected one deb/${pkg}_$version-*.deb, found ${#debs[@]}"
  deb=$top/${debs[0]}
fi
[ -f "$deb" ] || fail "$deb: no such package"
echo "   package: $deb"

# -- 3. what is inside
[ "$(dpkg-deb -f "$deb" Package)" = "$pkg" ] || fail "the package is not $pkg"
debver=$(dpkg-deb -f "$deb" Version); debup=${debver#*:}; debup=${debup%-*}
[ "$debup" = "$version" ] || fail "the package's version $debver is not $version"
depends=$(dpkg-deb -f "$deb" Depends)
for d in "postgresql-$pgv" libcurl4 libjansson4 libdeflate0; do
  grep -Eq "(^|, )$d( |,|$)" <<<"$depends" || fail "the package does not depend on $d (Depends: $depends)"
done
dpkg-deb -c "$deb" | awk '{print $NF}' | sed 's,^\./,/,' >"$tmp/contents"
libdir=/usr/lib/postgresql/$pgv/lib
extdir=/usr/share/postgresql/$pgv/extension
expect=("$libdir/data8.so" "$extdir/data8.control" "$extdir/data8--$version.sql")
while IFS= read -r f; do expect+=("$extdir/$(basename "$f")"); done < <(
  git ls-files -co --exclude-standard 'sql/data8--*.sql' 2>/dev/null || ls sql/data8--*.sql)
for f in "${expect[@]}"; do
  grep -qx "$f" "$tmp/contents" || fail "the package lacks $f"
done
! grep -Eq 'data8-sim|/test/' "$tmp/contents" || fail "the package ships the simulator or tests"
dpkg-deb --fsys-tarfile "$deb" | tar -xO ".$extdir/data8.control" |
  grep -qx "default_version = '$version'" || fail "the packaged data8.control is not at $version"
echo "   contents: data8.so, data8.control, ${#expect[@]} files checked, Depends: $depends"

# -- 4. installed, in a throwaway cluster
make -s -C test/sim >/dev/null
dpkg_retry() {			# dpkg, waiting while another dpkg/apt holds its lock
  local _ out
  for _ in $(seq 120); do
    if out=$(dpkg "$@" 2>&1); then echo "$out"; return 0; fi
    grep -Eqi 'locked by another process|unable to (lock|acquire)' <<<"$out" || { echo "$out" >&2; return 1; }
    sleep 5
  done
  echo "$out" >&2; return 1
}
pkg_known() { [ -n "$(dpkg-query -W -f='${db:Status-Status}' "$pkg" 2>/dev/null | grep -v '^not-installed$')" ]; }

exec 9>>"$lock"
echo "   waiting for $lock"
flock -w "${DATA8_PG_LOCK_WAIT:-3600}" 9 || fail "could not take $lock"
pkg_known && fail "$pkg is installed on this machine already; this test would replace it (dpkg -r $pkg first)"

# the files in place now, put back should the tree's build not install
libs=$(ls -d "$libdir/data8.so" "$libdir/bitcode/data8" "$libdir/bitcode/data8.index.bc" \
               "$extdir"/data8.control "$extdir"/data8--*.sql 2>/dev/null || true)
[ -z "$libs" ] || tar -cPf "$tmp/before.tar" $libs

restore() {
  local status=$?
  set +e
  if pkg_known; then dpkg_retry -P "$pkg" >/dev/null || { echo "deb-smoke: FAIL: dpkg -P $pkg failed" >&2; status=1; }; fi
  if [ "${DEB_SMOKE_RESTORE:-}" = snapshot ]; then
    [ ! -f "$tmp/before.tar" ] || tar -xPf "$tmp/before.tar"
  elif ! make -s -C "$top" install >"$tmp/install.out" 2>&1 9>&-; then
    cat "$tmp/install.out" >&2
    [ ! -f "$tmp/before.tar" ] || tar -xPf "$tmp/before.tar"
    echo "deb-smoke: FAIL: make install of the tree failed; the files that were installed before the test are back" >&2
    status=1
  fi
  rm -rf "$tmp"
  exit $status
}
trap restore EXIT

start=$SECONDS
dpkg_retry -i "$deb" >"$tmp/dpkg.out" || { cat "$tmp/dpkg.out" >&2; fail "dpkg -i failed"; }
dpkg-query -W -f='${db:Status-Status}' "$pkg" | grep -qx installed || fail "$pkg is not installed after dpkg -i"
dpkg -L "$pkg" >"$tmp/listed"
for f in "$libdir/data8.so" "$extdir/data8.control"; do
  grep -qx "$f" "$tmp/listed" || fail "dpkg -L $pkg does not list $f"
done
verify=$(dpkg -V "$pkg" 2>&1) && [ -z "$verify" ] || fail "the installed files differ from the package's (dpkg -V): $verify"
echo "   dpkg -i: installed; dpkg -L lists data8.so and data8.control; dpkg -V clean"
mkdir "$tmp/sim"
# (fd 9 closed for the children: no server or simulator keeps the lock)
SIM_DIR=$tmp/sim pg_virtualenv -t -v $pgv bash "$self" --in-cluster 9>&- ||
  fail "the smoke test in the throwaway cluster failed"
echo "   smoke test in a throwaway cluster: passed ($((SECONDS - start)) s)"
echo "-- deb-smoke: passed (the package is purged and the PostgreSQL $pgv installation restored on exit)"
