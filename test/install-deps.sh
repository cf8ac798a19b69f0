#!/usr/bin/env bash
# Installs the Debian packages that building, testing, packaging (make deb)
# and the demo need.
# Does nothing when they are all present; uses apt-get otherwise (root).
set -euo pipefail

packages=(
  build-essential
  postgresql-15 postgresql-server-dev-15 postgresql-15-cron postgresql-common
  libcurl4-openssl-dev libjansson-dev libdeflate-dev libmicrohttpd-dev zlib1g-dev
  clang-14 llvm-14 libclang-rt-14-dev
  curl python3 python3-psycopg2 python3-requests valgrind
  debhelper dpkg-dev fakeroot postgresql-server-dev-all
  bison flex			# PostgreSQL 18 from source (test/pg-versions.sh)
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "installing: ${missing[*]}"
if [ "$(id -u)" -ne 0 ]; then SUDO=sudo; else SUDO=; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# the Debian package would create and start a default cluster: not needed
$SUDO mkdir -p /etc/postgresql-common
grep -qs '^create_main_cluster' /etc/postgresql-common/createcluster.conf ||
  echo 'create_main_cluster = false' | $SUDO tee -a /etc/postgresql-common/createcluster.conf >/dev/null
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
