#!/usr/bin/env bash
# Throughput of a rate-limited route with its limiter in Redis against the same route limited
# in memory, measured in the same run (wrk and redis-server on loopback); and what the penalty
# box costs, in memory and in Redis.
#
#   bash bench/run-redis-load.sh            # 5 rounds x 4 runs x 3 s (~1-2 minutes after the build)
#   bash bench/run-redis-load.sh --quick    # 1 round x 1 s: a smoke test of the whole setup
#   options: --rounds N --duration SECONDS --connections N
#
# The route is bench_server's GET /secured (`auth = "oauth"`, `rate = "1000000/1s"`: checked on
# every request, never refusing) with a valid HS256 token. Four bench_server processes, each on
# ONE tokio worker thread with its audit log written to a file:
#   memory        limits in memory (the default)
#   redis         BENCH_REDIS_URL: one EVALSHA round trip per request
#   redis_quota   redis + BENCH_REDIS_LOCAL_QUOTA=10: one EVALSHA per 10 requests of a caller
#   penalty       memory + BENCH_PENALTY=on (the penalty box checks every request's address)
#   penalty_redis redis + BENCH_PENALTY=on (plus one PTTL round trip per request)
# With taskset and 2+ CPUs the servers are pinned to CPU 0, wrk and redis-server to CPU 1. Runs
# are rotated every round; each ratio is the median over rounds of the ratio of two runs of the
# same round. After the runs, Redis's command statistics prove the Redis cases really went to
# Redis (a store that timed out would fall back to memory and make the figure meaningless).
set -euo pipefail
cd "$(dirname "$0")/.."

rounds=5
duration=3
connections=32
while [ $# -gt 0 ]; do
  case "$1" in
    --quick) rounds=1; duration=1 ;;
    --rounds) rounds="$2"; shift ;;
    --duration) duration="$2"; shift ;;
    --connections) connections="$2"; shift ;;
    *) echo "run-redis-load: unknown option $1" >&2; exit 2 ;;
  esac
  shift
done

for tool in wrk redis-server redis-cli; do
  if ! command -v "$tool" >/dev/null 2>&1; then
    echo "run-redis-load: $tool is missing; install it with: apt-get install wrk redis-server" >&2
    exit 1
  fi
done

echo "== building (release)"
cargo build --release --locked -p secure-api-bench --bins
bin="${CARGO_TARGET_DIR:-target}/release"

# shellcheck source=bench/common.sh
. bench/common.sh
bench_processes
bench_credentials

# A free loopback port for redis-server (the kernel's choice, released just before the start).
redis_port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
"${side_pin[@]}" redis-server --port "$redis_port" --bind 127.0.0.1 --save "" --appendonly no --dir "$work" \
  >"$work/redis.out" 2>&1 &
pids+=($!)
for _ in $(seq 1 100); do
  redis-cli -p "$redis_port" ping 2>/dev/null | grep -q PONG && break
  sleep 0.1
done
redis-cli -p "$redis_port" ping | grep -q PONG
redis_url="redis://127.0.0.1:$redis_port/"
echo "   redis-server on 127.0.0.1:$redis_port ($(redis-server --version | awk '{print $3}'))"

# start NAME [VAR=VALUE...]: starts bench_server on a free loopback port; sets addr_NAME.
start() {
  local name="$1"
  shift
  env SECURE_API_ADDR=127.0.0.1:0 BENCH_AUDIT_LOG="$work/$name.log" "$@" \
    "${server_pin[@]}" "$bin/bench_server" >"$work/$name.out" 2>&1 &
  pids+=($!)
  bench_wait_listening "$name" "${pids[-1]}" "$work/$name.out" 100
  local addr
  addr=$(grep -o "listening on http://[0-9.:]*" "$work/$name.out" | head -n 1 | sed 's|listening on http://||')
  printf -v "addr_$name" '%s' "$addr"
  echo "   $name on $addr"
}

echo "== starting servers"
start memory
start redis BENCH_REDIS_URL="$redis_url"
start redis_quota BENCH_REDIS_URL="$redis_url" BENCH_REDIS_LOCAL_QUOTA=10
start penalty BENCH_PENALTY=on
start penalty_redis BENCH_PENALTY=on BENCH_REDIS_URL="$redis_url"
cases=(memory redis redis_quota penalty penalty_redis)

to_us() {
  awk -v v="$1" 'BEGIN {
    n = v + 0
    if (v ~ /us$/) print n; else if (v ~ /ms$/) print n * 1000; else if (v ~ /s$/) print n * 1000000; else print n
  }'
}

results="$work/results.tsv"
: >"$results"
# run_case NAME SECONDS ROUND: one wrk run on NAME's GET /secured; appends "round name rps p99_us".
run_case() {
  local name="$1" seconds="$2" round="$3" addr_var="addr_$1" output
  output=$("${side_pin[@]}" wrk -t1 "-c$connections" "-d${seconds}s" --latency \
    -H "Authorization: Bearer $hs256_token" "http://${!addr_var}/secured")
  if grep -q "Non-2xx or 3xx responses" <<<"$output"; then
    echo "run-redis-load: $name answered errors; the figures would be meaningless:" >&2
    echo "$output" >&2
    exit 1
  fi
  local rps p99
  rps=$(awk '/^Requests\/sec:/ {print $2}' <<<"$output")
  p99=$(to_us "$(awk '$1 == "99%" {print $2}' <<<"$output")")
  [ "$round" -gt 0 ] && printf '%s\t%s\t%s\t%s\n' "$round" "$name" "$rps" "$p99" >>"$results"
  return 0
}

echo "== warm-up (1 s per case)"
for name in "${cases[@]}"; do
  run_case "$name" 1 0
done
redis-cli -p "$redis_port" config resetstat >/dev/null
echo "== measuring: $rounds round(s) x ${#cases[@]} runs x ${duration} s, $connections connections"
for round in $(seq 1 "$rounds"); do
  for offset in $(seq 0 $((${#cases[@]} - 1))); do
    run_case "${cases[$(((offset + round) % ${#cases[@]}))]}" "$duration" "$round"
  done
  echo "   round $round done"
done

# The Redis cases must have gone to Redis: one EVALSHA per limited request, one PTTL per
# request of the penalty box. No outage line may appear in the servers' output.
stats=$(redis-cli -p "$redis_port" info commandstats)
evalsha=$(grep -o 'cmdstat_evalsha:calls=[0-9]*' <<<"$stats" | cut -d= -f2)
pttl=$(grep -o 'cmdstat_pttl:calls=[0-9]*' <<<"$stats" | cut -d= -f2)
if [ -z "$evalsha" ] || [ "$evalsha" -eq 0 ]; then
  echo "run-redis-load: Redis saw no EVALSHA: the Redis cases did not use Redis" >&2
  exit 1
fi
if grep -l "unavailable" "$work"/redis.out "$work"/redis_quota.out "$work"/penalty_redis.out >/dev/null 2>&1; then
  echo "run-redis-load: a server reported Redis unavailable; the Redis figures include the memory fallback" >&2
  exit 1
fi

median() {
  sort -g | awk '{ v[NR] = $1 } END { if (NR == 0) print "nan"; else if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}
column() { awk -F'\t' -v n="$1" -v c="$2" '$2 == n { print $c }' "$results" | median; }
ratio() {
  awk -F'\t' -v a="$1" -v b="$2" '
    $2 == a { x[$1] = $3 }
    $2 == b { y[$1] = $3 }
    END { for (r in x) if (r in y && y[r] > 0) print x[r] / y[r] }' "$results" | median
}

echo
echo "GET /secured (HS256, rate = \"1000000/1s\"), $connections connections, $rounds x ${duration} s, medians:"
printf '| %-14s | %10s | %9s | %14s |\n' "limiter" "req/s" "p99 (us)" "vs in memory"
printf '|%s|%s|%s|%s|\n' "----------------" "------------" "-----------" "----------------"
for name in "${cases[@]}"; do
  printf '| %-14s | %10.0f | %9.0f | %13.2fx |\n' "$name" "$(column "$name" 3)" "$(column "$name" 4)" "$(ratio "$name" memory)"
done
echo
echo "Redis command statistics over the measured runs: EVALSHA ${evalsha} calls, PTTL ${pttl:-0} calls."
echo "CPU pinning: servers ${server_pin[*]:-none}, wrk and redis-server ${side_pin[*]:-none}."
