#!/usr/bin/env bash
# make deb: builds the Debian packages, postgresql-NN-data8 for every
# installed postgresql-server-dev-NN (pg_buildext, see debian/rules), in a
# scratch copy of the tree so that this tree's object files are not
# touched.  The .deb files land in deb/ (or $DEB_OUT); the last line of the
# output names them.  PG_SUPPORTED_VERSIONS="15 17" picks versions instead.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
out=${DEB_OUT:-$top/deb}
version=$(sed -n "s/^default_version *= *'\(.*\)'/\1/p" "$top/data8.control")
[ -n "$version" ] || { echo "deb-build: no default_version in data8.control" >&2; exit 1; }

for tool in dpkg-buildpackage dh pg_buildext fakeroot; do
  command -v "$tool" >/dev/null || { echo "deb-build: $tool is missing (make deps installs it)" >&2; exit 1; }
done

# a failed build leaves no older package behind to be installed by mistake
mkdir -p "$out"
rm -f "$out"/postgresql-*-data8*_*.deb

scratch=$(mktemp -d /tmp/data8-deb.XXXXXX)
trap 'rm -rf "$scratch"' EXIT
src=$scratch/postgresql-data8-$version
mkdir "$src"

# the tree's files as git sees them (tracked and new, not ignored), as they
# are in the working tree; without git, everything but build output
if git -C "$top" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
  git -C "$top" ls-files -z -co --exclude-standard |
    while IFS= read -r -d '' f; do [ -e "$top/$f" ] && printf '%s\0' "$f"; done |
    tar -C "$top" --null -T - -cf - | tar -C "$src" -xf -
else
  tar -C "$top" --exclude=./deb --exclude='*.o' --exclude='*.so' --exclude='*.bc' -cf - . |
    tar -C "$src" -xf -
fi

cd "$src"
# one binary package per server version this machine can build for
export PG_SUPPORTED_VERSIONS=${PG_SUPPORTED_VERSIONS:-installed}
pg_buildext updatecontrol
echo "deb-build: data8 $version for PostgreSQL $(pg_buildext supported-versions | xargs)"
dpkg-buildpackage -us -uc -b >"$scratch/build.log" 2>&1 || {
  tail -n 60 "$scratch/build.log" >&2
  echo "deb-build: dpkg-buildpackage failed (the log's end is above)" >&2
  exit 1
}

shopt -s nullglob
debs=("$scratch"/postgresql-*-data8*_*.deb)
[ ${#debs[@]} -gt 0 ] || { echo "deb-build: no .deb was made" >&2; exit 1; }
cp "${debs[@]}" "$out/"
for d in "${debs[@]}"; do echo "deb-build: $out/$(basename "$d")"; done
