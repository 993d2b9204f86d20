#!/usr/bin/env bash
# Load benchmark: secure-api (`bench_server`) against bare axum and the hand-assembled baseline
# (`baseline_server`), measured in the same run, with wrk on loopback.
#
#   bash bench/run-load.sh            # 5 rounds x 4 s per case (about 4-5 minutes)
#   bash bench/run-load.sh --quick    # 1 round x 1 s: a smoke test of the whole setup
#   options: --rounds N --duration SECONDS --connections N --out FILE (markdown table)
#
# Every server runs on ONE tokio worker thread with its audit/access log written to a file
# through a non-blocking writer. With taskset and 2+ CPUs, the servers are pinned to CPU 0 and
# wrk to CPU 1. Cases are interleaved round by round (a slow phase of a shared machine hits
# every case alike), and each ratio is the median over rounds of the ratio measured in that
# round. Everything started here is stopped on exit.
set -euo pipefail
cd "$(dirname "$0")/.."

rounds=5
duration=4
connections=32
out=""
while [ $# -gt 0 ]; do
  case "$1" in
    --quick) rounds=1; duration=1 ;;
    --rounds) rounds="$2"; shift ;;
    --duration) duration="$2"; shift ;;
    --connections) connections="$2"; shift ;;
    --out) out="$2"; shift ;;
    *) echo "run-load: unknown option $1" >&2; exit 2 ;;
  esac
  shift
done

if ! command -v wrk >/dev/null 2>&1; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "run-load: wrk is missing; install it with: apt-get install wrk" >&2
    exit 1
  fi
  echo "run-load: installing wrk from Debian's packages"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends wrk >/dev/null
fi

echo "== building (release)"
cargo build --release --locked -p secure-api-bench --bins
bin=target/release

work=$(mktemp -d)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do
    kill "$pid" 2>/dev/null || true
  done
  for pid in "${pids[@]}"; do
    wait "$pid" 2>/dev/null || true
  done
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

server_pin=()
wrk_pin=()
if command -v taskset >/dev/null 2>&1 && [ "$(nproc)" -ge 2 ]; then
  server_pin=(taskset -c 0)
  wrk_pin=(taskset -c 1)
fi

SECURE_API_JWT_SECRET=$(head -c 48 /dev/urandom | base64 | tr -d '\n/+=' | head -c 48)
SECURE_API_ISSUER=secure-api-bench
SECURE_API_AUDIENCE=items-api
SECURE_API_ES256_PUBLIC_KEY="$work/es256-public.pem"
export SECURE_API_JWT_SECRET SECURE_API_ISSUER SECURE_API_AUDIENCE SECURE_API_ES256_PUBLIC_KEY
"$bin/mint" keygen-es256 "$work/es256-private.pem" "$SECURE_API_ES256_PUBLIC_KEY" >/dev/null
hs256_token=$("$bin/mint" hs256 --ttl 3600)
es256_token=$("$bin/mint" es256 "$work/es256-private.pem" --ttl 3600)

# start NAME BINARY [VAR=VALUE...]: starts a server on a free loopback port; sets addr_NAME.
start() {
  local name="$1" binary="$2"
  shift 2
  env SECURE_API_ADDR=127.0.0.1:0 BENCH_AUDIT_LOG="$work/$name.log" "$@" \
    "${server_pin[@]}" "$bin/$binary" >"$work/$name.out" 2>&1 &
  pids+=($!)
  local tries=0
  until grep -q "listening on http://" "$work/$name.out" 2>/dev/null; do
    tries=$((tries + 1))
    if [ "$tries" -gt 100 ] || ! kill -0 "${pids[-1]}" 2>/dev/null; then
      echo "run-load: $name did not start:" >&2
      cat "$work/$name.out" >&2
      exit 1
    fi
    sleep 0.1
  done
  local addr
  addr=$(grep -o "listening on http://[0-9.:]*" "$work/$name.out" | head -n 1 | sed 's|listening on http://||')
  printf -v "addr_$name" '%s' "$addr"
  echo "   $name on $addr"
}

echo "== starting servers"
start secure bench_server BENCH_TOKEN_CACHE=on
start nocache bench_server BENCH_TOKEN_CACHE=off
start baseline baseline_server

cat >"$work/post.lua" <<'EOF'
wrk.method = "POST"
wrk.body = '{"name":"widget","price":9.5}'
wrk.headers["Content-Type"] = "application/json"
EOF

# name | server | method | path | token kind | denominator (bare axum case) | baseline case
cases=(
  "axum|secure|GET|/axum|none|axum|"
  "axum_post|secure|POST|/axum|none|axum_post|"
  "public|secure|GET|/bare|none|axum|"
  "secured_hs256|secure|GET|/secured|hs256|axum|baseline_hs256"
  "secured_hs256_nocache|nocache|GET|/secured|hs256|axum|baseline_hs256"
  "secured_post|secure|POST|/secured|hs256|axum_post|baseline_post"
  "secured_es256|secure|GET|/secured-es256|es256|axum|baseline_es256"
  "secured_es256_nocache|nocache|GET|/secured-es256|es256|axum|baseline_es256"
  "baseline_hs256|baseline|GET|/secured|hs256|axum|"
  "baseline_post|baseline|POST|/secured|hs256|axum_post|"
  "baseline_es256|baseline|GET|/secured-es256|es256|axum|"
)

# Converts wrk's latency ("850.00us", "1.23ms", "1.02s") to microseconds.
to_us() {
  awk -v v="$1" 'BEGIN {
    n = v + 0
    if (v ~ /us$/) print n; else if (v ~ /ms$/) print n * 1000; else if (v ~ /s$/) print n * 1000000; else print n
  }'
}

results="$work/results.tsv"
: >"$results"
requests_total="$work/requests.tsv"
: >"$requests_total"

# run_case CASE SECONDS ROUND: one wrk run; appends "case round rps p99_us" to the results.
run_case() {
  local spec="$1" seconds="$2" round="$3"
  local name server method path token_kind
  IFS='|' read -r name server method path token_kind _ _ <<<"$spec"
  local addr_var="addr_$server"
  local args=(-t1 "-c$connections" "-d${seconds}s" --latency)
  case "$token_kind" in
    hs256) args+=(-H "Authorization: Bearer $hs256_token") ;;
    es256) args+=(-H "Authorization: Bearer $es256_token") ;;
  esac
  [ "$method" = POST ] && args+=(-s "$work/post.lua")
  local output
  output=$("${wrk_pin[@]}" wrk "${args[@]}" "http://${!addr_var}$path")
  if grep -q "Non-2xx or 3xx responses" <<<"$output"; then
    echo "run-load: $name answered errors; the figures would be meaningless:" >&2
    echo "$output" >&2
    exit 1
  fi
  local rps p99 count
  rps=$(awk '/^Requests\/sec:/ {print $2}' <<<"$output")
  p99=$(to_us "$(awk '$1 == "99%" {print $2}' <<<"$output")")
  count=$(awk '/requests in/ {print $1}' <<<"$output")
  # Bare axum routes write no log line; count only the requests that must have one.
  [ "$path" != /axum ] && echo "$server $count" >>"$requests_total"
  [ "$round" -gt 0 ] && printf '%s\t%s\t%s\t%s\n' "$name" "$round" "$rps" "$p99" >>"$results"
  return 0
}

echo "== warm-up (1 s per case)"
for spec in "${cases[@]}"; do
  run_case "$spec" 1 0
done
echo "== measuring: $rounds round(s) x ${duration} s x ${#cases[@]} cases, $connections connections"
for round in $(seq 1 "$rounds"); do
  for spec in "${cases[@]}"; do
    run_case "$spec" "$duration" "$round"
  done
  echo "   round $round done"
done

# median of the numbers on stdin
median() {
  sort -g | awk '{ v[NR] = $1 } END { if (NR == 0) print "nan"; else if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}
value() { awk -F'\t' -v c="$1" -v r="$2" -v col="$3" '$1 == c && $2 == r { print $col }' "$results"; }
# median over rounds of (column of case A / column of case B) in the same round
ratio() {
  local a="$1" b="$2" col="$3"
  for round in $(seq 1 "$rounds"); do
    awk -v x="$(value "$a" "$round" "$col")" -v y="$(value "$b" "$round" "$col")" 'BEGIN { if (y > 0) print x / y }'
  done | median
}

table="$work/table.md"
{
  echo "| case | req/s (median) | p99 µs (median) | req/s ÷ bare axum | p99 ÷ bare axum | req/s ÷ baseline |"
  echo "|---|---:|---:|---:|---:|---:|"
  for spec in "${cases[@]}"; do
    IFS='|' read -r name _ _ _ _ bare baseline <<<"$spec"
    rps=$(awk -F'\t' -v c="$name" '$1 == c { print $3 }' "$results" | median)
    p99=$(awk -F'\t' -v c="$name" '$1 == c { print $4 }' "$results" | median)
    to_bare=$(ratio "$name" "$bare" 3)
    p99_to_bare=$(ratio "$name" "$bare" 4)
    to_baseline="-"
    [ -n "$baseline" ] && to_baseline=$(printf '%.2fx' "$(ratio "$name" "$baseline" 3)")
    printf '| %s | %.0f | %.0f | %.2f | %.2f | %s |\n' "$name" "$rps" "$p99" "$to_bare" "$p99_to_bare" "$to_baseline"
  done
} >"$table"

echo
echo "== results ($(nproc) CPUs; servers pinned: ${server_pin[*]:-no}; wrk pinned: ${wrk_pin[*]:-no}; load average: $(cut -d' ' -f1-3 /proc/loadavg))"
cat "$table"

target() {
  local label="$1" measured="$2" comparison="$3" goal="$4"
  local verdict
  verdict=$(awk -v m="$measured" -v g="$goal" -v c="$comparison" 'BEGIN { ok = (c == ">=") ? (m >= g) : (m <= g); print ok ? "met" : "MISSED" }')
  printf '| %s | %s %s | %.2f | %s |\n' "$label" "$comparison" "$goal" "$measured" "$verdict"
}
echo
{
  echo "| target | goal | measured | |"
  echo "|---|---|---:|---|"
  target "full stack, HS256, req/s ÷ bare axum" "$(ratio secured_hs256 axum 3)" ">=" 0.90
  target "full stack, ES256 reused token, req/s ÷ bare axum" "$(ratio secured_es256 axum 3)" ">=" 0.90
  target "full stack ÷ baseline, HS256" "$(ratio secured_hs256 baseline_hs256 3)" ">=" 1.5
  target "full stack ÷ baseline, POST HS256" "$(ratio secured_post baseline_post 3)" ">=" 1.5
  target "full stack ÷ baseline, ES256" "$(ratio secured_es256 baseline_es256 3)" ">=" 1.5
  target "p99 of /secured (HS256) ÷ bare axum" "$(ratio secured_hs256 axum 4)" "<=" 1.2
} | tee -a "$table"

# Every request must have produced exactly one log line (the writer is not lossy).
echo
for server in secure nocache baseline; do
  sent=$(awk -v s="$server" '$1 == s { n += $2 } END { print n + 0 }' "$requests_total")
  sleep 0.5
  lines=$(grep -c '' "$work/$server.log" || true)
  echo "   $server: $sent logged requests completed by wrk, $lines log lines (requests in flight when wrk stops add a few)"
done
[ -n "$out" ] && cp "$table" "$out" && echo "table written to $out"
exit 0
