#!/usr/bin/env bash
# Load benchmark: secure-api (`bench_server`) against bare axum and the hand-assembled baseline
# (`baseline_server`), measured in the same run, with wrk on loopback.
#
#   bash bench/run-load.sh            # 5 rounds x 16 runs x 3 s, then 5 x 2 fixed-rate runs (~5-6 minutes)
#   bash bench/run-load.sh --quick    # 1 round x 1 s: a smoke test of the whole setup
#   options: --rounds N --duration SECONDS --connections N --out FILE.md (also writes FILE.tsv)
#
# Every server runs on ONE tokio worker thread with its audit/access log written to a file
# through a non-blocking writer. With taskset and 2+ CPUs, the servers are pinned to CPU 0 and
# wrk to CPU 1. Cases run in small groups back to back (bare axum, secure-api, baseline), the
# order rotated every round, and each ratio is the median over rounds of the ratio of two runs
# of the same group: on a machine shared with other work, only runs seconds apart see the same
# conditions. Besides req/s, the server's CPU time per request (from /proc, all its threads) is
# reported: it is what throughput on an unshared core depends on, and it is far less disturbed
# by other work on the machine, so the "CPU-based" ratios (bare CPU ÷ case CPU) are the steadier
# estimate of the same req/s ratios. Everything started here is stopped on exit.
set -euo pipefail
cd "$(dirname "$0")/.."

rounds=5
duration=3
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

# shellcheck source=bench/common.sh
. bench/common.sh
bench_processes
bench_credentials

# start NAME BINARY [VAR=VALUE...]: starts a server on a free loopback port; sets addr_NAME.
start() {
  local name="$1" binary="$2"
  shift 2
  env SECURE_API_ADDR=127.0.0.1:0 BENCH_AUDIT_LOG="$work/$name.log" "$@" \
    "${server_pin[@]}" "$bin/$binary" >"$work/$name.out" 2>&1 &
  pids+=($!)
  bench_wait_listening "$name" "${pids[-1]}" "$work/$name.out" 100
  local addr
  addr=$(grep -o "listening on http://[0-9.:]*" "$work/$name.out" | head -n 1 | sed 's|listening on http://||')
  printf -v "addr_$name" '%s' "$addr"
  printf -v "pid_$name" '%s' "${pids[-1]}"
  echo "   $name on $addr"
}

echo "== starting servers"
start secure bench_server BENCH_TOKEN_CACHE=on
start nocache bench_server BENCH_TOKEN_CACHE=off
start baseline baseline_server
# Not a target configuration (the targets require the audit log): the same server with every
# log event filtered out, to show what the audit line costs.
start noaudit bench_server BENCH_TOKEN_CACHE=on BENCH_AUDIT=off RUST_LOG=off
# The audit line as a `tracing` event through tracing-subscriber's `fmt` and tracing-appender
# (the default sink when no AuditLog is configured), to compare with secure-api's AuditLog.
start tracing bench_server BENCH_TOKEN_CACHE=on BENCH_AUDIT=tracing

bench_post_script

# Each case: name | server | method | path | token kind.
declare -A case_spec=(
  [axum]="secure|GET|/axum|none"
  [axum_post]="secure|POST|/axum|none"
  [public]="secure|GET|/bare|none"
  # The smallest hand-written layer doing the audit line, the headers and the id (bench/src/floor.rs).
  [floor]="secure|GET|/floor|none"
  [secured_hs256]="secure|GET|/secured|hs256"
  [secured_hs256_nocache]="nocache|GET|/secured|hs256"
  [secured_hs256_noaudit]="noaudit|GET|/secured|hs256"
  [secured_hs256_tracing]="tracing|GET|/secured|hs256"
  [secured_post]="secure|POST|/secured|hs256"
  [secured_es256]="secure|GET|/secured-es256|es256"
  [secured_es256_nocache]="nocache|GET|/secured-es256|es256"
  [baseline_hs256]="baseline|GET|/secured|hs256"
  [baseline_post]="baseline|POST|/secured|hs256"
  [baseline_es256]="baseline|GET|/secured-es256|es256"
)
# Groups run back to back (a few seconds apart), their order rotated every round; every ratio
# compares two runs of the same group and round. The first case of a group is its bare axum
# denominator. On a machine shared with other work, runs tens of seconds apart see different
# conditions; runs seconds apart mostly do not.
groups=(
  "axum secured_hs256 baseline_hs256 public floor secured_hs256_noaudit secured_hs256_tracing"
  "axum secured_hs256_nocache baseline_hs256"
  "axum_post secured_post baseline_post"
  "axum secured_es256 baseline_es256 secured_es256_nocache"
)
# Table rows: case | its group (index) | its baseline case.
rows=(
  "axum|0|"
  "axum_post|2|"
  "public|0|"
  "floor|0|"
  "secured_hs256|0|baseline_hs256"
  "secured_hs256_nocache|1|baseline_hs256"
  "secured_hs256_noaudit|0|baseline_hs256"
  "secured_hs256_tracing|0|baseline_hs256"
  "secured_post|2|baseline_post"
  "secured_es256|3|baseline_es256"
  "secured_es256_nocache|3|baseline_es256"
  "baseline_hs256|0|"
  "baseline_post|2|"
  "baseline_es256|3|"
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

# CPU time (user + system, all threads, in clock ticks) the process PID has used so far.
clock_ticks=$(getconf CLK_TCK)
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }

# run_case CASE SECONDS GROUP ROUND: one wrk run; appends "group round case rps p99_us
# cpu_us_per_request" (the server's CPU time over the run divided by the requests wrk completed).
run_case() {
  local name="$1" seconds="$2" group="$3" round="$4"
  local server method path token_kind
  IFS='|' read -r server method path token_kind <<<"${case_spec[$name]}"
  local addr_var="addr_$server"
  local args=(-t1 "-c$connections" "-d${seconds}s" --latency)
  case "$token_kind" in
    hs256) args+=(-H "Authorization: Bearer $hs256_token") ;;
    es256) args+=(-H "Authorization: Bearer $es256_token") ;;
  esac
  [ "$method" = POST ] && args+=(-s "$work/post.lua")
  local pid_var="pid_$server" output cpu_before cpu_after
  cpu_before=$(cpu_ticks "${!pid_var}")
  output=$("${side_pin[@]}" wrk "${args[@]}" "http://${!addr_var}$path")
  cpu_after=$(cpu_ticks "${!pid_var}")
  if grep -q "Non-2xx or 3xx responses" <<<"$output"; then
    echo "run-load: $name answered errors; the figures would be meaningless:" >&2
    echo "$output" >&2
    exit 1
  fi
  local rps p99 count cpu_us
  rps=$(awk '/^Requests\/sec:/ {print $2}' <<<"$output")
  p99=$(to_us "$(awk '$1 == "99%" {print $2}' <<<"$output")")
  count=$(awk '/requests in/ {print $1}' <<<"$output")
  # Bare axum routes write no log line (the floor writes its own file); count only the requests
  # that must have one in the audit log.
  [ "$path" != /axum ] && [ "$path" != /floor ] && echo "$server $count" >>"$requests_total"
  cpu_us=$(awk -v t=$((cpu_after - cpu_before)) -v hz="$clock_ticks" -v n="$count" 'BEGIN { print (n > 0) ? t * 1000000 / hz / n : 0 }')
  [ "$round" -gt 0 ] && printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$group" "$round" "$name" "$rps" "$p99" "$cpu_us" >>"$results"
  return 0
}

echo "== warm-up (1 s per case)"
for name in "${!case_spec[@]}"; do
  run_case "$name" 1 - 0
done
runs_per_round=0
for group in "${groups[@]}"; do
  set -- $group
  runs_per_round=$((runs_per_round + $#))
done
echo "== measuring: $rounds round(s) x $runs_per_round runs x ${duration} s, $connections connections"
for round in $(seq 1 "$rounds"); do
  for index in "${!groups[@]}"; do
    read -r -a members <<<"${groups[$index]}"
    count=${#members[@]}
    for offset in $(seq 0 $((count - 1))); do
      run_case "${members[$(((offset + round) % count))]}" "$duration" "$index" "$round"
    done
  done
  echo "   round $round done"
done

# Latency at a fixed rate. At full load the server is saturated and a request's latency is mostly
# the queue in front of it; with every connection sending one request per millisecond (wrk's
# `delay`: ~32 000 req/s with 32 connections, below every server's capacity here) the p99 measures
# the time a request takes. Bare axum and GET /secured alternate, the order swapped every round.
cat >"$work/paced.lua" <<'EOF'
function delay()
  return 1
end
EOF
paced="$work/paced.tsv"
: >"$paced"
echo "== latency at a fixed rate: $rounds round(s) x 2 runs x ${duration} s"
for round in $(seq 1 "$rounds"); do
  order=(axum secured_hs256)
  [ $((round % 2)) -eq 0 ] && order=(secured_hs256 axum)
  for name in "${order[@]}"; do
    IFS='|' read -r server _method path token_kind <<<"${case_spec[$name]}"
    addr_var="addr_$server"
    args=(-t1 "-c$connections" "-d${duration}s" --latency -s "$work/paced.lua")
    [ "$token_kind" = hs256 ] && args+=(-H "Authorization: Bearer $hs256_token")
    output=$("${side_pin[@]}" wrk "${args[@]}" "http://${!addr_var}$path")
    p99=$(to_us "$(awk '$1 == "99%" {print $2}' <<<"$output")")
    rps=$(awk '/^Requests\/sec:/ {print $2}' <<<"$output")
    # These requests are logged too: count them for the log-line check below.
    [ "$path" != /axum ] && [ "$path" != /floor ] && echo "$server $(awk '/requests in/ {print $1}' <<<"$output")" >>"$requests_total"
    printf '%s\t%s\t%s\t%s\n' "$round" "$name" "$p99" "$rps" >>"$paced"
  done
done

# median of the numbers on stdin
median() {
  sort -g | awk '{ v[NR] = $1 } END { if (NR == 0) print "nan"; else if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}
# per-round ratios (column 4 = req/s, 5 = p99) of case A to case B within group G, one a line
ratios() {
  local group="$1" a="$2" b="$3" col="$4"
  awk -F'\t' -v g="$group" -v a="$a" -v b="$b" -v col="$col" '
    $1 == g && $3 == a { x[$2] = $col }
    $1 == g && $3 == b { y[$2] = $col }
    END { for (r in x) if (r in y && y[r] > 0) print x[r] / y[r] }' "$results"
}
ratio() { ratios "$@" | median; }
# "median (min-max)" of the per-round ratios
ratio_range() {
  ratios "$@" | sort -g | awk '{ v[NR] = $1 } END {
    if (NR == 0) { print "-"; exit }
    m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
    printf "%.2f (%.2f-%.2f)", m, v[1], v[NR] }'
}
denominator_of() { read -r -a members <<<"${groups[$1]}"; echo "${members[0]}"; }

table="$work/table.md"
{
  echo "| case | req/s (median) | p99 µs (median) | req/s ÷ bare axum (min-max) | p99 ÷ bare axum | req/s ÷ baseline (min-max) | server CPU µs/request | CPU-based ÷ bare axum | CPU-based ÷ baseline |"
  echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|"
  for row in "${rows[@]}"; do
    IFS='|' read -r name group baseline <<<"$row"
    bare=$(denominator_of "$group")
    rps=$(awk -F'\t' -v c="$name" '$3 == c { print $4 }' "$results" | median)
    p99=$(awk -F'\t' -v c="$name" '$3 == c { print $5 }' "$results" | median)
    to_baseline="-"
    [ -n "$baseline" ] && to_baseline=$(ratio_range "$group" "$name" "$baseline" 4)
    cpu=$(awk -F'\t' -v c="$name" '$3 == c { print $6 }' "$results" | median)
    cpu_baseline="-"
    [ -n "$baseline" ] && cpu_baseline=$(printf '%.2f' "$(ratio "$group" "$baseline" "$name" 6)")
    printf '| %s | %.0f | %.0f | %s | %.2f | %s | %.1f | %.2f | %s |\n' "$name" "$rps" "$p99" \
      "$(ratio_range "$group" "$name" "$bare" 4)" "$(ratio "$group" "$name" "$bare" 5)" "$to_baseline" \
      "$cpu" "$(ratio "$group" "$bare" "$name" 6)" "$cpu_baseline"
  done
} >"$table"

echo
echo "== results ($(nproc) CPUs; servers pinned: ${server_pin[*]:-no}; wrk pinned: ${side_pin[*]:-no}; load average: $(cut -d' ' -f1-3 /proc/loadavg))"
cat "$table"

target() {
  local label="$1" measured="$2" comparison="$3" goal="$4"
  local verdict
  verdict=$(awk -v m="$measured" -v g="$goal" -v c="$comparison" 'BEGIN { ok = (c == ">=") ? (m >= g) : (m <= g); print ok ? "met" : "MISSED" }')
  printf '| %s | %s %s | %.2f | %s |\n' "$label" "$comparison" "$goal" "$measured" "$verdict"
}
echo
paced_p99() { awk -F'\t' -v c="$1" '$2 == c { print $3 }' "$paced" | median; }
paced_rps() { awk -F'\t' -v c="$1" '$2 == c { print $4 }' "$paced" | median; }
paced_ratio=$(awk -F'\t' '$2 == "axum" { a[$1] = $3 } $2 == "secured_hs256" { s[$1] = $3 }
  END { for (r in s) if (r in a && a[r] > 0) print s[r] / a[r] }' "$paced" | median)
{
  echo
  echo "| fixed rate (1 request per connection per ms) | req/s (median) | p99 µs (median) | p99 ÷ bare axum (median of rounds) |"
  echo "|---|---:|---:|---:|"
  printf '| bare axum `GET /axum` | %.0f | %.0f | 1.00 |\n' "$(paced_rps axum)" "$(paced_p99 axum)"
  printf '| `GET /secured`, HS256, cache | %.0f | %.0f | %.2f |\n' "$(paced_rps secured_hs256)" "$(paced_p99 secured_hs256)" "$paced_ratio"
} | tee -a "$table"

echo >>"$table"
{
  echo "| target | goal | measured (median of per-round ratios) | |"
  echo "|---|---|---:|---|"
  target "full stack, HS256, req/s ÷ bare axum" "$(ratio 0 secured_hs256 axum 4)" ">=" 0.90
  target "full stack, ES256 reused token, req/s ÷ bare axum" "$(ratio 3 secured_es256 axum 4)" ">=" 0.90
  target "full stack ÷ baseline, HS256" "$(ratio 0 secured_hs256 baseline_hs256 4)" ">=" 1.5
  target "full stack ÷ baseline, POST HS256" "$(ratio 2 secured_post baseline_post 4)" ">=" 1.5
  target "full stack ÷ baseline, ES256" "$(ratio 3 secured_es256 baseline_es256 4)" ">=" 1.5
  target "p99 of GET /secured (HS256) ÷ bare axum, saturated" "$(ratio 0 secured_hs256 axum 5)" "<=" 1.2
  target "p99 of GET /secured (HS256) ÷ bare axum, fixed rate" "$paced_ratio" "<=" 1.2
  target "CPU-based: full stack, HS256 ÷ bare axum" "$(ratio 0 axum secured_hs256 6)" ">=" 0.90
  target "CPU-based: full stack, ES256 reused token ÷ bare axum" "$(ratio 3 axum secured_es256 6)" ">=" 0.90
  target "CPU-based: full stack ÷ baseline, HS256" "$(ratio 0 baseline_hs256 secured_hs256 6)" ">=" 1.5
  target "CPU-based: full stack ÷ baseline, POST HS256" "$(ratio 2 baseline_post secured_post 6)" ">=" 1.5
  target "CPU-based: full stack ÷ baseline, ES256" "$(ratio 3 baseline_es256 secured_es256 6)" ">=" 1.5
} | tee -a "$table"

# Every request must have produced one log line (neither writer drops lines).
echo
sleep 0.5
missing=0
for server in secure nocache baseline tracing; do
  sent=$(awk -v s="$server" '$1 == s { n += $2 } END { print n + 0 }' "$requests_total")
  lines=$(grep -c '' "$work/$server.log" || true)
  echo "   $server: $sent logged requests completed by wrk, $lines log lines (requests in flight when wrk stops add a few)"
  [ "$lines" -lt "$sent" ] && missing=1
done
if [ "$missing" -ne 0 ]; then
  echo "run-load: a server wrote fewer log lines than it answered requests" >&2
  exit 1
fi
if [ -n "$out" ]; then
  cp "$table" "$out"
  cp "$results" "${out%.md}.tsv"
  echo "table written to $out, per-round figures to ${out%.md}.tsv"
fi
exit 0
