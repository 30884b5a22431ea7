#!/usr/bin/env bash
# Usage: tests/web/run.sh API_BINARY
# The service as web clients see it, with no network: starts the service (SQLite, a fresh
# database) in a network namespace of its own that has only the loopback interface, then runs
# there the GraphQL-over-HTTP audit (conformance.mjs) and GraphiQL in headless Chromium
# (graphiql.mjs). Installs what it needs first: Debian's chromium and the pinned npm packages.
# SCREENSHOT_DIR=dir keeps the browser's screenshots.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
if [[ ${1:-} == --inside ]]; then
  api=$2
  ip link set lo up
  work=$(mktemp -d)
  export DATABASE_URL="sqlite://$work/school.db?mode=rwc" BIND_ADDR=127.0.0.1:8765 \
    BOOTSTRAP_ADMIN_EMAIL=admin@graphiql.test BOOTSTRAP_ADMIN_PASSWORD=offline-password-1 \
    RUST_LOG=warn
  "$api" serve > "$work/service.log" 2>&1 &
  service=$!
  trap 'kill $service 2>/dev/null || true' EXIT
  export BASE_URL=http://127.0.0.1:8765 ADMIN_EMAIL=$BOOTSTRAP_ADMIN_EMAIL \
    ADMIN_PASSWORD=$BOOTSTRAP_ADMIN_PASSWORD \
    STUDENTS_CSV="$ROOT/tests/fixtures/imports/students.csv" SCREENSHOT_DIR="${SCREENSHOT_DIR:-}"
  status=0
  # graphiql.mjs waits for the service to answer; the audit runs after it.
  node "$HERE/graphiql.mjs" || status=$?
  node "$HERE/conformance.mjs" || status=$?
  if [[ $status -ne 0 ]]; then echo "-- service log"; tail -n 40 "$work/service.log"; fi
  exit $status
fi
api=$(realpath "$1")
if ! command -v chromium >/dev/null; then
  apt-get update -qq >/dev/null || true
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium >/dev/null
fi
(cd "$HERE" && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
unshare --net bash "$HERE/run.sh" --inside "$api"
