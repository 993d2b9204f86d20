#!/usr/bin/env bash
# Instructions per request, counted by valgrind's callgrind: the same cases as run-load.sh, but
# a count that does not depend on what else the machine is doing (the same binary and inputs
# give the same count within a fraction of a percent), so a change to the hot path can be
# judged on a noisy shared machine where req/s and CPU time move by ±10 % between runs.
#
#   bash bench/run-callgrind.sh                # every case, 10 s of load each (~3 minutes)
#   bash bench/run-callgrind.sh secured_hs256  # named cases only
#   options: --duration SECONDS --out FILE.md --keep DIR (keep each case's profile, DIR/NAME.callgrind,
#            for `callgrind_annotate --inclusive=yes DIR/NAME.callgrind`)
#
# `bench_server` serves its secured routes as a plain router merged with the bare axum routes
# (both sides of a ratio in one server); `public_app` and `secured_app` serve the `SecureApp`
# itself, as applications do (BENCH_SERVE=app), and must count the same as `public` and
# `secured_hs256`: a difference means serving a `SecureApp` costs what the router does not.
#
# Each server runs under callgrind on one worker thread with its audit/access log written to a
# file (as in run-load.sh); wrk sends requests over 4 connections. The figure is the inclusive
# count of the per-connection task (secure_api::serve's connection driver, or axum::serve's) (parsing, routing, the security layer, the handler,
# encoding; not the kernel, not the log writer thread) divided by the requests wrk completed.
# Kernel time (the TCP stack, waking the load generator) is a large share of a small request's
# cost and is not counted here: run-load.sh measures it.
set -euo pipefail
cd "$(dirname "$0")/.."

duration=10
out=""
keep=""
selected=()
while [ $# -gt 0 ]; do
  case "$1" in
    --duration) duration="$2"; shift ;;
    --out) out="$2"; shift ;;
    --keep) keep="$2"; shift ;;
    -*) echo "run-callgrind: unknown option $1" >&2; exit 2 ;;
    *) selected+=("$1") ;;
  esac
  shift
done

for tool in valgrind callgrind_annotate wrk; do
  if ! command -v "$tool" >/dev/null 2>&1; then
    echo "run-callgrind: $tool is missing; install it with: apt-get install valgrind wrk" >&2
    exit 1
  fi
done

echo "== building (release)"
cargo build --release --locked -p secure-api-bench --bins
bin="${CARGO_TARGET_DIR:-target}/release"

work=$(mktemp -d)
server_pid=""
cleanup() {
  if [ -n "$server_pid" ]; then
    kill "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# shellcheck source=bench/common.sh
. bench/common.sh
bench_credentials

bench_post_script

# Every request a User-Agent and a query value never seen before: what threat detection costs
# when nothing it scanned repeats (a scanner, an attacker, or ids in every query).
cat >"$work/unique.lua" <<'LUA'
local counter = 0
request = function()
  counter = counter + 1
  local headers = {}
  for name, value in pairs(wrk.headers) do headers[name] = value end
  headers["User-Agent"] = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0."
    .. counter .. " Safari/537.36"
  return wrk.format(nil, "/secured?page=" .. counter .. "&sort=name", headers)
end
LUA

# What a browser-based client sends besides the token: the threat detector reads User-Agent and
# Referer by default, and the query. The `browser` cases send these (wrk sends only Host).
browser_headers=(
  -H "User-Agent: Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36"
  -H "Accept: application/json"
  -H "Accept-Language: en-US,en;q=0.9"
  -H "Referer: https://app.example.com/items?page=2&sort=name"
)

# Each case: binary | environment | method | path | token kind (| browser: the headers above;
# unique: the same, with a User-Agent and a query value never seen before on every request).
cases=(
  "axum|bench_server|BENCH_TOKEN_CACHE=on|GET|/axum|none"
  "axum_post|bench_server|BENCH_TOKEN_CACHE=on|POST|/axum|none"
  "floor|bench_server|BENCH_TOKEN_CACHE=on|GET|/floor|none"
  "public|bench_server|BENCH_TOKEN_CACHE=on|GET|/bare|none"
  "public_app|bench_server|BENCH_TOKEN_CACHE=on BENCH_SERVE=app|GET|/bare|none"
  "secured_app|bench_server|BENCH_TOKEN_CACHE=on BENCH_SERVE=app|GET|/secured|hs256"
  "secured_hs256|bench_server|BENCH_TOKEN_CACHE=on|GET|/secured|hs256"
  "secured_hs256_noaudit|bench_server|BENCH_TOKEN_CACHE=on BENCH_AUDIT=off RUST_LOG=off|GET|/secured|hs256"
  "secured_hs256_metrics|bench_server|BENCH_TOKEN_CACHE=on BENCH_METRICS=on|GET|/secured|hs256"
  "axum_browser|bench_server|BENCH_TOKEN_CACHE=on|GET|/axum?page=2&sort=name|none|browser"
  "public_browser|bench_server|BENCH_TOKEN_CACHE=on|GET|/bare?page=2&sort=name|none|browser"
  "quickstart_health|bench_server|BENCH_SERVE=quickstart|GET|/health?page=2&sort=name|none|browser"
  "secured_browser|bench_server|BENCH_TOKEN_CACHE=on|GET|/secured?page=2&sort=name|hs256|browser"
  "secured_browser_threat|bench_server|BENCH_TOKEN_CACHE=on BENCH_THREAT=on|GET|/secured?page=2&sort=name|hs256|browser"
  "secured_browser_threat_unique|bench_server|BENCH_TOKEN_CACHE=on BENCH_THREAT=on|GET|/secured|hs256|unique"
  "secured_post|bench_server|BENCH_TOKEN_CACHE=on|POST|/secured|hs256"
  "secured_post_threat|bench_server|BENCH_TOKEN_CACHE=on BENCH_THREAT=on|POST|/secured|hs256"
  "secured_es256|bench_server|BENCH_TOKEN_CACHE=on|GET|/secured-es256|es256"
  "baseline_hs256|baseline_server||GET|/secured|hs256"
  "baseline_post|baseline_server||POST|/secured|hs256"
  "baseline_es256|baseline_server||GET|/secured-es256|es256"
)

results="$work/results.tsv"
: >"$results"
for spec in "${cases[@]}"; do
  IFS='|' read -r name binary environment method path token_kind client <<<"$spec"
  if [ "${#selected[@]}" -gt 0 ] && [[ ! " ${selected[*]} " =~ " $name " ]]; then
    continue
  fi
  # A fixed port per run: the server's output goes to callgrind's log, not parsed here.
  port=$((20000 + RANDOM % 20000))
  profile="$work/$name.callgrind"
  # shellcheck disable=SC2086 # the environment is a list of VAR=VALUE words
  env SECURE_API_ADDR="127.0.0.1:$port" BENCH_AUDIT_LOG="$work/$name.log" $environment \
    valgrind --tool=callgrind --callgrind-out-file="$profile" "$bin/$binary" >"$work/$name.out" 2>&1 &
  server_pid=$!
  # valgrind starts slowly: up to 30 s.
  bench_wait_listening "$name" "$server_pid" "$work/$name.out" 300
  args=(-t1 -c4 "-d${duration}s")
  case "$token_kind" in
    hs256) args+=(-H "Authorization: Bearer $hs256_token") ;;
    es256) args+=(-H "Authorization: Bearer $es256_token") ;;
  esac
  [ "$method" = POST ] && args+=(-s "$work/post.lua")
  [ "$client" = browser ] && args+=("${browser_headers[@]}")
  [ "$client" = unique ] && args+=("${browser_headers[@]}" -s "$work/unique.lua")
  output=$(wrk "${args[@]}" "http://127.0.0.1:$port$path")
  if grep -q "Non-2xx or 3xx responses" <<<"$output"; then
    echo "run-callgrind: $name answered with errors:" >&2
    echo "$output" >&2
    exit 1
  fi
  requests=$(awk '/requests in/ { print $1 }' <<<"$output")
  # SIGINT lets the server shut down gracefully; callgrind writes its profile on exit.
  kill -INT "$server_pid"
  wait "$server_pid" 2>/dev/null || true
  server_pid=""
  if [ -n "$keep" ]; then
    mkdir -p "$keep"
    cp "$profile" "$keep/"
  fi
  instructions=$(callgrind_annotate --inclusive=yes --threshold=100 "$profile" 2>/dev/null |
    awk '/(axum::serve::handle_connection|secure_api::serve::driver::run)::\{\{closure\}\}::\{\{closure\}\} / && !found { gsub(",", "", $1); print $1; found = 1 }')
  if [ -z "$instructions" ] || [ -z "$requests" ] || [ "$requests" -eq 0 ]; then
    echo "run-callgrind: no count for $name" >&2
    exit 1
  fi
  per_request=$((instructions / requests))
  printf '%s\t%s\t%s\n' "$name" "$requests" "$per_request" >>"$results"
  printf '   %-24s %8d requests  %7d instructions per request\n' "$name" "$requests" "$per_request"
done

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a > 0 && b > 0) printf "%.2f", a / b; else printf "-" }'; }
count_of() { awk -F'\t' -v n="$1" '$1 == n { print $3 }' "$results"; }
baseline_of() {
  case "$1" in
    secured_hs256 | secured_hs256_noaudit | secured_hs256_metrics) echo baseline_hs256 ;;
    secured_post) echo baseline_post ;;
    secured_es256) echo baseline_es256 ;;
  esac
}
bare_of() { case "$1" in *post*) echo axum_post ;; *browser*) echo axum_browser ;; *) echo axum ;; esac; }

table=$(
  echo "| case | instructions per request | ÷ bare axum | baseline ÷ case |"
  echo "|---|---:|---:|---:|"
  while IFS=$'\t' read -r name _ count; do
    bare=$(count_of "$(bare_of "$name")")
    baseline_case=$(baseline_of "$name")
    baseline=""
    [ -n "$baseline_case" ] && baseline=$(count_of "$baseline_case")
    echo "| $name | $count | $(ratio "$count" "${bare:-0}") | $(ratio "${baseline:-0}" "$count") |"
  done <"$results"
)
echo
echo "$table"
if [ -n "$out" ]; then
  {
    echo "# callgrind: instructions per request ($(date -u +%Y-%m-%d), $(git rev-parse --short HEAD))"
    echo
    echo "Command: \`bash bench/run-callgrind.sh --duration $duration\`"
    echo
    echo "$table"
  } >"$out"
  echo "table written to $out"
fi
