#!/usr/bin/env bash
# Compile-time cost of the macros: `cargo check` of the quickstart after touching one handler,
# against the same app without the macros (bench/compile-twin), alternating the two so both
# see the same machine conditions.
#
#   bash bench/compile-time.sh [RUNS]     # default 8 pairs
set -euo pipefail
cd "$(dirname "$0")/.."
runs="${1:-8}"

check() {
  local package="$1" file="$2" start end
  touch "$file"
  start=$(date +%s%N)
  cargo check --locked --quiet -p "$package"
  end=$(date +%s%N)
  echo $(((end - start) / 1000000))
}

echo "== warm-up (dependencies checked once for each package's feature set)"
check secure-api-examples examples/src/quickstart/handlers.rs >/dev/null
check secure-api-bench-twin bench/compile-twin/src/quickstart/handlers.rs >/dev/null

results=$(mktemp)
trap 'rm -f "$results"' EXIT
for run in $(seq 1 "$runs"); do
  macros=$(check secure-api-examples examples/src/quickstart/handlers.rs)
  plain=$(check secure-api-bench-twin bench/compile-twin/src/quickstart/handlers.rs)
  printf '%s\t%s\n' "$macros" "$plain" >>"$results"
  echo "   run $run: with macros ${macros} ms, without ${plain} ms"
done

median() { sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
with_macros=$(cut -f1 "$results" | median)
without=$(cut -f2 "$results" | median)
ratio=$(awk -F'\t' '{ print $1 / $2 }' "$results" | median)
echo
echo "| cargo check after touching one handler | median ms |"
echo "|---|---:|"
echo "| quickstart (#[secure]/#[public], SecureRouter) | $with_macros |"
echo "| the same app without the macros | $without |"
printf '| ratio (median of paired runs; target <= 1.2) | %.2f |\n' "$ratio"
