#!/usr/bin/env bash
# Make sure PostgreSQL (127.0.0.1:5432, database `test`) and Redis (127.0.0.1:6379) answer:
# start them if they are installed but stopped, install them (Debian) if they are absent,
# and fail loudly otherwise; install Debian's Chromium for the browser tests (tests/browser)
# where it is absent. Sourced by .ci/run; also usable by hand.
set -euo pipefail

pg_up() { pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; }
redis_up() { redis-cli -h 127.0.0.1 -p 6379 ping 2>/dev/null | grep -q PONG; }
wait_for() { for _ in $(seq 1 60); do "$1" && return 0; sleep 0.5; done; return 1; }

if ! pg_up; then
  if ! command -v pg_ctlcluster >/dev/null; then
    echo "PostgreSQL is not installed: installing it (Debian packages)"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
  fi
  version=$(ls /etc/postgresql | sort -V | tail -n 1)
  pg_ctlcluster --skip-systemctl-redirect "$version" main start || true
  wait_for pg_up || { echo "FAIL: PostgreSQL does not answer on 127.0.0.1:5432"; exit 1; }
  # Trust local connections and make sure the `test` database exists.
  su postgres -c "psql -qtc \"SELECT 1 FROM pg_database WHERE datname='test'\"" | grep -q 1 \
    || su postgres -c "createdb test"
fi

if ! redis_up; then
  if ! command -v redis-server >/dev/null; then
    echo "Redis is not installed: installing it (Debian packages)"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server >/dev/null
  fi
  mkdir -p /var/lib/redis /var/log/redis
  redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no \
    --dir /var/lib/redis --logfile /var/log/redis/ci.log
  wait_for redis_up || { echo "FAIL: Redis does not answer on 127.0.0.1:6379"; exit 1; }
fi

# The browser tests drive this Chromium through Playwright: never a browser build of its own.
if ! command -v chromium >/dev/null; then
  echo "Chromium is not installed: installing it (Debian packages)"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
fi
chromium --headless --no-sandbox --version >/dev/null 2>&1 \
  || { echo "FAIL: Chromium (Debian's chromium package) cannot be installed or run"; exit 1; }

echo "PostgreSQL and Redis are up; $(chromium --version 2>/dev/null) is installed."
