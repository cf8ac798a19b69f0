#!/usr/bin/env bash
# test/pg-cluster.sh PG_CONFIG [-o name=value]... COMMAND...
# Runs COMMAND against a throwaway cluster of the PostgreSQL installation
# that PG_CONFIG belongs to, as pg_virtualenv does for Debian's packages:
# initdb into a temporary folder owned by postgres (the server runs as
# postgres when we are root), the unix socket in that folder, a free port,
# each -o setting in postgresql.conf (and cron.host = the socket folder);
# then stops and removes it.
# COMMAND sees PGHOST, PGPORT, PGUSER, PGDATABASE and PG_CONFIG, plus
# PG_SERVER_LOG (the server log) and PG_RESTART (a command that restarts
# the server), which test/regress.sh uses instead of Debian's cluster tools.
# An installation the postgres user cannot reach (a cache under a 0700
# home) is run from a copy: PostgreSQL installations are relocatable.
set -euo pipefail

pg_config=${1:?usage: pg-cluster.sh PG_CONFIG [-o name=value]... COMMAND...}; shift
settings=()
while [ "${1:-}" = -o ]; do settings+=("$2"); shift 2; done
[ $# -gt 0 ] || { echo "pg-cluster.sh: no command" >&2; exit 2; }

ld_path=
as_pg() {
  local env=(env ${ld_path:+LD_LIBRARY_PATH=$ld_path})
  (cd "$tmp" && if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "${env[@]}" "$@"; else "${env[@]}" "$@"; fi)
}

tmp=$(mktemp -d /tmp/data8-cluster.XXXXXX)
chmod 755 "$tmp"
[ "$(id -u)" -ne 0 ] || chown postgres: "$tmp"
bindir=$("$pg_config" --bindir)
if ! as_pg "$bindir/postgres" -V >/dev/null 2>&1; then
  cp -a "$(dirname "$bindir")" "$tmp/install"
  chmod 755 "$tmp/install"
  bindir=$tmp/install/bin
  ld_path=$tmp/install/lib		# its run path still names the original
fi
data=$tmp/data
log=$tmp/server.log
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')

cleanup() {
  as_pg "$bindir/pg_ctl" -D "$data" -m fast -w stop >/dev/null 2>&1 || true
  rm -rf "$tmp"
}
trap cleanup EXIT

as_pg "$bindir/initdb" -D "$data" -U postgres -A trust -E UTF8 --no-sync >"$tmp/initdb.log" 2>&1 ||
  { cat "$tmp/initdb.log" >&2; exit 1; }
{
  echo "port = $port"
  echo "unix_socket_directories = '$tmp'"
  echo "listen_addresses = 'localhost'"
  echo "fsync = off"
  echo "cron.host = '$tmp'"		# pg_cron (libpq mode) connects to this cluster
  for s in "${settings[@]}"; do echo "${s%%=*} = '${s#*=}'"; done
} >> "$data/postgresql.conf"
touch "$log"; chown postgres: "$log" 2>/dev/null || true
printf '#!/bin/sh\n# restarts the throwaway cluster\ncd "%s" || exit 1\nexec %s env LD_LIBRARY_PATH="%s" "%s/pg_ctl" -D "%s" -l "%s" -w -t 120 restart >/dev/null\n' \
  "$tmp" "$([ "$(id -u)" -eq 0 ] && echo 'runuser -u postgres --')" "$ld_path" "$bindir" "$data" "$log" > "$tmp/restart"
chmod 755 "$tmp/restart"
as_pg "$bindir/pg_ctl" -D "$data" -l "$log" -w -t 120 start >/dev/null ||
  { cat "$log" >&2; exit 1; }

export PGHOST=$tmp PGPORT=$port PGUSER=postgres PGDATABASE=postgres PG_CONFIG=$pg_config
export PG_SERVER_LOG=$log PG_RESTART=$tmp/restart
unset PGHOSTADDR PGSERVICE PGPASSWORD
status=0
"$@" || status=$?
exit $status
