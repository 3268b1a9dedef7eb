#!/usr/bin/env bash
# A throwaway PostgreSQL for tests and benches, from Debian's server binaries.
#   scripts/pg-temp.sh start DIR    initdb into a new /tmp/ota-pg.* folder, start it on a
#                                   free loopback port, note both in DIR, print the URL
#                                   (postgres://ota@127.0.0.1:PORT/postgres)
#   scripts/pg-temp.sh stop DIR     stop it, remove its folder and DIR
#   scripts/pg-temp.sh down DIR     stop the server only (fast shutdown), keeping its data
#   scripts/pg-temp.sh up DIR       start it again, same port and settings (restart tests)
# As root it installs Debian's `postgresql` when the binaries are missing (not
# with PG_TEMP_NO_INSTALL=1), and runs the server as the unprivileged
# `postgres` user (initdb refuses root).
set -euo pipefail
cmd=${1:-}; dir=${2:-}
[ -n "$cmd" ] && [ -n "$dir" ] || { echo "usage: $0 start|stop|down|up DIR" >&2; exit 2; }

bindir() {
  local b
  b=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
  [ -n "$b" ] && [ -x "$b/initdb" ] && { echo "$b"; return; }
  command -v initdb >/dev/null 2>&1 && dirname "$(command -v initdb)"
}

as_owner() {
  if [ "$(id -u)" -eq 0 ]; then runuser -u "$owner" -- "$@"; else "$@"; fi
}

case "$cmd" in
start)
  bin=$(bindir || true)
  if [ -z "$bin" ]; then
    if [ "$(id -u)" -eq 0 ] && [ "${PG_TEMP_NO_INSTALL:-0}" != 1 ] && command -v apt-get >/dev/null 2>&1; then
      echo "pg-temp: installing Debian's postgresql" >&2
      apt-get update -qq >&2
      DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
      # The package starts a cluster of its own; we only need the binaries.
      command -v pg_lsclusters >/dev/null 2>&1 && pg_lsclusters -h 2>/dev/null | while read -r ver name _; do
        pg_ctlcluster "$ver" "$name" stop 2>/dev/null || true
      done
      bin=$(bindir || true)
    fi
    [ -n "$bin" ] || { echo "pg-temp: no PostgreSQL server binaries (sudo apt-get install -y postgresql)" >&2; exit 3; }
  fi
  owner=$(id -un)
  if [ "$(id -u)" -eq 0 ]; then owner=postgres; getent passwd postgres >/dev/null || owner=nobody; fi
  mkdir -p "$dir"
  # The cluster lives in a folder of its own that its owner can reach, whoever owns DIR's parents.
  home=$(mktemp -d /tmp/ota-pg.XXXXXX)
  chmod 755 "$home"
  [ "$(id -u)" -eq 0 ] && chown "$owner" "$home"
  echo "$home" >"$dir/home"
  port=$(node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})')
  as_owner "$bin/initdb" -D "$home/data" -U ota -A trust -E UTF8 --no-locale >"$dir/initdb.log" 2>&1 || { cat "$dir/initdb.log" >&2; exit 1; }
  # Tests need no durability; PG_TEMP_DURABLE=1 (the bench) keeps PostgreSQL's defaults.
  fast="-c fsync=off -c synchronous_commit=off -c full_page_writes=off"
  [ "${PG_TEMP_DURABLE:-0}" = 1 ] && fast=""
  opts="-p $port -k $home -c listen_addresses=127.0.0.1 $fast -c max_connections=200"
  echo "$opts" >"$dir/opts"
  as_owner "$bin/pg_ctl" -D "$home/data" -l "$home/server.log" -w -t 30 -o "$opts" \
    start >/dev/null || { cat "$home/server.log" >&2; exit 1; }
  echo "$port" >"$dir/port"
  echo "postgres://ota@127.0.0.1:$port/postgres"
  ;;
stop)
  home=$(cat "$dir/home" 2>/dev/null || true)
  if [ -n "$home" ] && [ -d "$home/data" ]; then
    bin=$(bindir)
    owner=$(stat -c %U "$home/data")
    as_owner "$bin/pg_ctl" -D "$home/data" -m fast -w stop >/dev/null 2>&1 || true
  fi
  [ -n "$home" ] && rm -rf "$home"
  rm -rf "$dir"
  ;;
down|up)
  home=$(cat "$dir/home")
  bin=$(bindir)
  owner=$(stat -c %U "$home/data")
  if [ "$cmd" = down ]; then as_owner "$bin/pg_ctl" -D "$home/data" -m fast -w stop >/dev/null
  else as_owner "$bin/pg_ctl" -D "$home/data" -l "$home/server.log" -w -t 30 -o "$(cat "$dir/opts")" start >/dev/null || { tail -n 20 "$home/server.log" >&2; exit 1; }
  fi
  ;;
*) echo "usage: $0 start|stop|down|up DIR" >&2; exit 2 ;;
esac
