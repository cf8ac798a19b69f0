#!/usr/bin/env bash
# test/pg-versions.sh VERSION: prints the path of the pg_config of that
# PostgreSQL major version (only that on stdout; progress goes to stderr).
#   15      Debian 12's own package (postgresql-server-dev-15).
#   13, 18  built from the upstream source in Debian's source package (13
#           from Debian 11, 18 from unstable) with Debian's packaging patches
#           skipped (they hard-code /usr/lib/postgresql paths), into
#           ${XDG_CACHE_HOME:-$HOME/.cache}/data8/pg/VERSION, reused while
#           its stamp is there.  dblink and pg_regress are installed too.
#   17      Debian 13's source package when the archive serves it; otherwise
#           (as here) Debian 13's binary packages: headers, PGXS and
#           pg_config only, which builds extensions but runs no server.
#   14, 16  no Debian suite carries them.
# pg_cron: built from Debian's pg-cron source package when the archive
# serves it, else the suite's binary postgresql-VERSION-cron.  A binary built
# against a newer C library than this machine's makes the server (and
# pg_config) run on that suite's libc6, loaded by its own ld.so.
# apt runs with a private configuration (its own sources, lists and cache)
# made of deb/deb-src lines for the suites needed, on the archive URIs of
# this machine's own apt sources, checked with Debian's archive keyring.
set -euo pipefail
# The builds below are top-level makes of their own.  PostgreSQL's makefiles
# generate headers such as utils/errcodes.h only at MAKELEVEL 0, and run from
# make test the outer make's MAKELEVEL and MAKEFLAGS would skip that step.
unset MAKELEVEL MAKEFLAGS MFLAGS

v=${1:?usage: pg-versions.sh VERSION}
say() { echo "pg-versions[$v]: $*" >&2; }
die() { say "$*"; exit 1; }

case $v in
  15) p=/usr/lib/postgresql/15/bin/pg_config
      [ -x "$p" ] || die "postgresql-server-dev-15 is missing (test/install-deps.sh)"
      echo "$p"; exit 0 ;;
  13) suites=(bullseye sid) ;;		# pg_cron from the newest suite
  17) suites=(trixie sid) ;;
  18) suites=(sid) ;;
  *)  die "no Debian suite carries PostgreSQL $v (supported: 13 15 17 18)" ;;
esac

dir=${XDG_CACHE_HOME:-$HOME/.cache}/data8/pg/$v
stamp=$dir/.stamp
mkdir -p "$(dirname "$dir")"
exec 9>"$dir.lock"; flock 9		# one build per version at a time
if [ -f "$stamp" ]; then echo "$dir/bin/pg_config"; exit 0; fi

keyring=/usr/share/keyrings/debian-archive-keyring.gpg
[ -r "$keyring" ] || die "$keyring is missing (debian-archive-keyring)"
work=$(mktemp -d /tmp/data8-pg$v.XXXXXX)
trap 'rm -rf "$work"' EXIT
chmod 755 "$work"
[ -f "$dir/.server" ] || rm -rf "$dir"	# a server built already is kept
start=$SECONDS

# the archive URIs of the machine's own sources (one-line and deb822 files)
# whose suites include this machine's release
codename=$(. /etc/os-release && echo "$VERSION_CODENAME")
uris=$( {
  cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null |
    awk -v c="$codename" '$1 == "deb" { sub(/\[[^]]*\] */, ""); if ($3 == c) print $2 }'
  cat /etc/apt/sources.list.d/*.sources 2>/dev/null | awk -v c="$codename" '
    function flush() { if (t ~ /deb/ && s ~ (" " c " ")) print u; t = s = u = "" }
    /^#/ { next }
    /^[ \t]*$/ { flush(); next }
    tolower($1) == "types:" { t = $0 }
    tolower($1) == "uris:" { $1 = ""; u = $0 }
    tolower($1) == "suites:" { $1 = ""; s = $0 " " }
    END { flush() }' | tr ' ' '\n'
} | grep . | sort -u)
[ -n "$uris" ] || die "no apt source for $codename in /etc/apt: cannot find the archive"

A=$work/apt
mkdir -p "$A/lists/partial" "$A/cache/archives/partial" "$A/parts" "$work/dl"
chmod -R 755 "$A" "$work/dl"
! id _apt >/dev/null 2>&1 || chown -R _apt "$A/lists" "$A/cache" "$work/dl"	# apt downloads as _apt
for uri in $uris; do
  for s in "${suites[@]}"; do
    echo "deb [signed-by=$keyring] $uri $s main"
    echo "deb-src [signed-by=$keyring] $uri $s main"
  done
done > "$A/sources.list"
APT=(-qq -o "Dir::Etc::SourceList=$A/sources.list" -o "Dir::Etc::SourceParts=$A/parts"
     -o "Dir::State=$A" -o "Dir::State::Lists=$A/lists" -o "Dir::Cache=$A/cache")
say "apt-get update (${suites[*]})"
apt-get "${APT[@]}" update >&2
cd "$work/dl"
fetch_source() { apt-get "${APT[@]}" source --download-only "$1" >&2 2>/dev/null; }
fetch_binary() { apt-get "${APT[@]}" download "$@" >&2; }
unpack() { dpkg-deb -x "$(ls "$work"/dl/"$1"_*.deb)" "$dir/deb"; }	# binary packages, unpacked under the prefix

# the server
if [ -f "$dir/.server" ]; then
  server=$(cat "$dir/.server")
elif fetch_source "postgresql-$v"; then
  say "building PostgreSQL $v from $(ls postgresql-"$v"_*.dsc)"
  dpkg-source -x --skip-patches postgresql-"$v"_*.dsc "$work/pg" >/dev/null
  cd "$work/pg"
  ./configure --prefix="$dir" --without-readline --without-icu >"$work/configure.log" 2>&1 ||
    { tail -30 "$work/configure.log" >&2; die "configure failed"; }
  make -s -j2 >/dev/null
  make -s install >/dev/null
  make -s -C contrib/dblink install >/dev/null
  server=yes; echo yes > "$dir/.server"
else
  say "no source package for postgresql-$v here: headers, PGXS and pg_config from the binary packages"
  fetch_binary "postgresql-server-dev-$v" "postgresql-client-$v"
  mkdir -p "$dir/deb" "$dir/bin"
  unpack "postgresql-server-dev-$v"; unpack "postgresql-client-$v"
  # the headers describe Debian 13's C library, which has strlcpy and
  # strlcat; where this one has not, PostgreSQL must declare its own
  if ! echo '#include <string.h>' | cc -E - | grep -q strlcpy; then
    sed -i 's/^#define HAVE_DECL_STRL\(CAT\|CPY\) 1$/#define HAVE_DECL_STRL\1 0/' \
      "$dir"/deb/usr/include/postgresql/"$v"/server/pg_config.h
  fi
  server=no; echo no > "$dir/.server"
fi

# pg_cron, installed into the server's directories
cd "$work/dl"
if [ $server = yes ] && fetch_source pg-cron; then
  say "building pg_cron from $(ls pg-cron_*.dsc)"
  dpkg-source -x --skip-patches pg-cron_*.dsc "$work/cron" >/dev/null
  make -s -C "$work/cron" PG_CONFIG="$dir/bin/pg_config" install >/dev/null
elif [ $server = yes ]; then
  say "no source package for pg-cron here: Debian's binary postgresql-$v-cron"
  fetch_binary "postgresql-$v-cron"
  mkdir -p "$work/cron"
  dpkg-deb -x postgresql-"$v"-cron_*.deb "$work/cron"
  cp "$work"/cron/usr/lib/postgresql/"$v"/lib/pg_cron.so "$("$dir/bin/pg_config" --pkglibdir)/"
  cp "$work"/cron/usr/share/postgresql/"$v"/extension/pg_cron* "$("$dir/bin/pg_config" --sharedir)/extension/"
fi

# a binary from a newer suite that this machine's C library cannot run:
# give it that suite's libc6, loaded by that libc's own ld.so
needs=$(find "$dir" -name pg_cron.so -o -name pg_config -type f | xargs -r objdump -T 2>/dev/null | grep -o 'GLIBC_[0-9.]*' | sort -uV | tail -1 || true)
have=GLIBC_$(ldd --version | sed -n '1s/.* //p')
wrap() {		# real binary, wrapper, options of ld.so (paths relative to
		# the prefix: it may be copied)
  local ldso libs
  ldso=$(find "$dir/libc" -name 'ld-linux*.so.*' -type f | head -1)
  libs=$(dirname "$(find "$dir/libc" -name libc.so.6 | head -1)")
  printf '#!/bin/sh\n# %s on the newer C library it needs\nd=$(dirname "$0")/..\nexec "$d/%s" --library-path "$d/%s:$d/lib" %s "$d/%s" "$@"\n' \
    "$(basename "$1")" "${ldso#"$dir"/}" "${libs#"$dir"/}" "${3:-}" "${1#"$dir"/}" > "$2"
  chmod 755 "$2"
}
if [ -n "$needs" ] && [ "$(printf '%s\n' "$needs" "$have" | sort -V | tail -1)" != "$have" ]; then
  say "needs $needs (this machine has $have): using libc6 from ${suites[0]}"
  apt-get "${APT[@]}" download "libc6/${suites[0]}" >&2
  rm -rf "$dir/libc"; dpkg-deb -x libc6_*.deb "$dir/libc"
  if [ $server = yes ] && [ ! -f "$dir/bin/postgres.bin" ]; then
    mv "$dir/bin/postgres" "$dir/bin/postgres.bin"
    # argv[0] stays the wrapper, so that pg_ctl restart runs it again
    wrap "$dir/bin/postgres.bin" "$dir/bin/postgres" '--argv0 "$0"'
  fi
fi
if [ $server = no ]; then
  real=$dir/deb/usr/lib/postgresql/$v/bin/pg_config
  if [ -d "$dir/libc" ]; then wrap "$real" "$dir/bin/pg_config"; else ln -s "$real" "$dir/bin/pg_config"; fi
fi

"$dir/bin/pg_config" --version >&2
echo "built in $((SECONDS - start)) s" > "$stamp"
say "done in $((SECONDS - start)) s: $dir"
echo "$dir/bin/pg_config"
