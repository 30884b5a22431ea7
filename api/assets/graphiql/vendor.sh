#!/usr/bin/env bash
# Brings the GraphiQL page's assets from their npm packages at the pinned versions into this
# folder, with their licences, and checks them against the hashes in SHA256SUMS. The service
# embeds these files in its binary (api/src/graphql/graphiql.rs): /graphiql needs no network.
# To upgrade: change a version here, run with --update, and test the page (tests/browser).
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
cd "$WORK"
npm init -y >/dev/null
npm install --no-audit --no-fund --loglevel=error \
  graphiql@3.9.0 react@18.3.1 react-dom@18.3.1 graphql-ws@6.4.2 >/dev/null
N=$WORK/node_modules
cp "$N/graphiql/graphiql.min.js" "$N/graphiql/graphiql.min.css" \
   "$N/react/umd/react.production.min.js" "$N/react-dom/umd/react-dom.production.min.js" \
   "$N/graphql-ws/umd/graphql-ws.min.js" "$HERE/"
for p in graphiql react react-dom graphql-ws; do
  licence=$(ls "$N/$p"/LICENSE* | head -1)
  echo "==== $p $(node -p "require('$N/$p/package.json').version") ($(node -p "require('$N/$p/package.json').license"))"
  cat "$licence"
  echo
done > "$HERE/LICENSES.txt"
cd "$HERE"
if [[ ${1:-} == --update ]]; then
  sha256sum ./*.min.js ./*.min.css > SHA256SUMS
fi
sha256sum --check SHA256SUMS
