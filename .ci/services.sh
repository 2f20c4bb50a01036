#!/usr/bin/env bash
# Make sure the databases the integration tests use are up on 127.0.0.1:
#   PostgreSQL :5432 (trust auth, database `test`), MariaDB :3306 (root, no password, `test`).
# Starts whichever is down, waits until it answers, creates the `test` databases if missing.
# Installs the servers (and Chromium for the status page's browser test) with apt only when
# their binaries are absent. Safe to run repeatedly.
set -euo pipefail

WAIT_S="${SERVICES_WAIT_S:-60}"
PG_HOST=127.0.0.1
MY_HOST=127.0.0.1

log() { echo "services: $*"; }
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo -n "$@"; fi; }

wait_for() {  # wait_for NAME COMMAND...
  local name=$1; shift
  for _ in $(seq "$WAIT_S"); do
    if "$@" >/dev/null 2>&1; then log "$name is up"; return 0; fi
    sleep 1
  done
  log "$name did not answer within ${WAIT_S}s"; return 1
}

install_if_absent() {
  local missing=()
  command -v pg_ctlcluster >/dev/null 2>&1 || missing+=(postgresql)
  [ -x /usr/sbin/mariadbd ] || missing+=(mariadb-server)
  # the status page's browser test: Debian's Chromium and its WebDriver
  [ -x /usr/bin/chromium ] || missing+=(chromium)
  [ -x /usr/bin/chromedriver ] || missing+=(chromium-driver)
  if [ ${#missing[@]} -gt 0 ]; then
    log "installing ${missing[*]}"
    as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}"
  fi
}

pg_up() { pg_isready -h "$PG_HOST" -q; }
my_up() { mysqladmin -h"$MY_HOST" -uroot --connect-timeout=2 ping >/dev/null 2>&1; }

start_postgres() {
  if pg_up; then log "PostgreSQL already running"; return 0; fi
  local version
  version=$(ls /etc/postgresql | sort -V | tail -n1)
  log "starting PostgreSQL $version"
  as_root pg_ctlcluster --skip-systemctl-redirect "$version" main start
  wait_for PostgreSQL pg_up
}

start_mariadb() {
  if my_up; then log "MariaDB already running"; return 0; fi
  log "starting MariaDB"
  as_root install -d -o mysql -g mysql /run/mysqld
  as_root start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd
  wait_for MariaDB my_up
}

pg_sql() {  # over TCP as postgres (trust); on a fresh install, through the socket as postgres
  psql -h "$PG_HOST" -U postgres -d postgres -tAq -c "$1" 2>/dev/null \
    || as_root runuser -u postgres -- psql -d postgres -tAq -c "$1"
}

my_sql() {  # over TCP as root; on a fresh install root may only log in through the socket
  mysql -h"$MY_HOST" -uroot -e "$1" 2>/dev/null || as_root mysql -uroot -e "$1"
}

create_databases() {
  if [ "$(pg_sql "SELECT 1 FROM pg_database WHERE datname = 'test'")" != 1 ]; then
    log "creating PostgreSQL database test"
    pg_sql "CREATE DATABASE test"
  fi
  my_sql "CREATE DATABASE IF NOT EXISTS test CHARACTER SET utf8mb4"
  # the tests connect as root without a password over TCP
  mysql -h"$MY_HOST" -uroot -e "SELECT 1" test >/dev/null 2>&1 \
    || log "warning: MariaDB refuses root without a password over TCP; the tests will fail"
  psql -h "$PG_HOST" -U postgres -d test -tAq -c "SELECT 1" >/dev/null 2>&1 \
    || log "warning: PostgreSQL refuses postgres over TCP (trust auth expected)"
}

install_if_absent
start_postgres
start_mariadb
create_databases
log "PostgreSQL postgresql://postgres@$PG_HOST:5432/test, MariaDB mysql://root@$MY_HOST:3306/test"
