#!/usr/bin/env bash
# Usage: bench_smoke_test.sh <bft binary> <pbft|hotstuff> <in-process|processes>
# Runs a 5-second `bft bench`, then checks that it exited 0 (it does only when transactions
# committed), that it wrote JSON that parses, and that every run in it committed transactions.
set -euo pipefail
bft="$1"
protocol="$2"
mode="$3"
work="$(mktemp -d /tmp/bft-bench-smoke-XXXXXX)"
trap 'rm -rf "$work"' EXIT
json="$work/bench.json"
if ! "$bft" bench --protocol "$protocol" --mode "$mode" --duration 5 --warmup 1 \
    --outstanding 400 --json "$json" >"$work/out.txt" 2>"$work/err.txt"; then
  echo "bft bench failed:"
  cat "$work/out.txt" "$work/err.txt"
  exit 1
fi
cat "$work/out.txt"
test -s "$json" || { echo "no JSON written to $json"; exit 1; }
"$bft" bench --check-json "$json"
grep -q "\"protocol\": \"$protocol\"" "$json" || { echo "JSON names no $protocol run"; exit 1; }
