#!/usr/bin/env bash
# Runs a command with MONGO_URI pointing at a MongoDB-wire-compatible server:
# the one already in $MONGO_URI (a real MongoDB, e.g. from docker-compose), or
# else tools/mongotest (embedded FerretDB on SQLite) started for the duration
# of the command and stopped afterwards. Every Mongo-backed test binary then
# shares one server, each test in its own database.
set -euo pipefail
if [ -n "${MONGO_URI:-}" ]; then
  echo "with-mongo: using MONGO_URI from the environment" >&2
  exec "$@"
fi
root=$(cd "$(dirname "$0")/.." && pwd)
mkdir -p "$root/bin"
echo "with-mongo: building tools/mongotest" >&2
"$root/tools/mongotest/go.sh" build -o "$root/bin/mongotest" .
urifile=$(mktemp)
"$root/bin/mongotest" -uri-file "$urifile" >/dev/null &
pid=$!
cleanup() {
  kill "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  rm -f "$urifile"
}
trap cleanup EXIT
for _ in $(seq 1 600); do
  [ -s "$urifile" ] && break
  if ! kill -0 "$pid" 2>/dev/null; then
    echo "with-mongo: tools/mongotest exited before it served" >&2
    exit 1
  fi
  sleep 0.1
done
if [ ! -s "$urifile" ]; then
  echo "with-mongo: tools/mongotest did not start within 60 s" >&2
  exit 1
fi
MONGO_URI=$(cat "$urifile")
# Tests that need a test server of their own (internal/testmongo.Start) run this build.
MONGOTEST_BIN="$root/bin/mongotest"
export MONGO_URI MONGOTEST_BIN
echo "with-mongo: MongoDB test server at $MONGO_URI" >&2
status=0
"$@" || status=$?
exit "$status"
