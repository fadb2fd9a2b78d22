#!/usr/bin/env bash
# Integration test: a 4-replica network of separate `bft node` processes on 127.0.0.1.
#   1. `bft init` writes the network on free ports chosen here;
#   2. 4 `bft node` processes start; 1,000 transactions go through `bft client load`;
#   3. all 4 replicas report the same height and state root (`bft client status`);
#   4. /metrics shows bft_committed_transactions_total above 0;
#   5. replica 3 is killed with SIGKILL; the other 3 still commit (`bft client put`, more load).
# Every wait polls with a deadline; nothing asserts a timing. The nodes are stopped by their
# PIDs when the script exits, whatever the outcome (trap).
# Usage: four_nodes_test.sh <path to bft> <pbft|hotstuff>
set -euo pipefail
bft="$1"
protocol="$2"
work="$(mktemp -d "${TMPDIR:-/tmp}/bft-it-${protocol}-XXXXXX")"
pids=()

# shellcheck source=tests/integration/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
launch_network

step "1,000 transactions through bft client"
out="$(client load --count 1000 --batch 10 --concurrency 8)" || fail "load failed: $out"
echo "$out"

step "all 4 replicas report the same height and state root"
wait_for 60 all_agree 4 || { client status || true; fail "replicas disagree"; }
client status

committed_metric() {
  scrape $((base + 100 + $1)) | awk '/^bft_committed_transactions_total/ { s += $2 } END { print s + 0 }'
}
step "/metrics shows bft_committed_transactions_total above 0"
for i in 0 1 2 3; do
  v="$(committed_metric "$i")"
  echo "replica $i: bft_committed_transactions_total $v"
  awk -v v="$v" 'BEGIN { exit !(v > 0) }' || fail "replica $i metrics show no committed transactions"
done

step "SIGKILL replica 3; the other 3 still commit"
before="$(heights_and_roots | awk '{ print $1 }' | sort -n | tail -n 1)"
kill -KILL "${pids[3]}"
wait "${pids[3]}" 2>/dev/null || true
client put after-kill yes || fail "put after killing replica 3 failed"
out="$(client load --count 200 --batch 10 --concurrency 4)" || fail "load after kill failed: $out"
echo "$out"
higher() {
  local lines
  lines="$(heights_and_roots)" || return 1
  [ "$(echo "$lines" | wc -l)" -eq 3 ] || return 1
  [ "$(echo "$lines" | sort -u | wc -l)" -eq 1 ] || return 1
  [ "$(echo "$lines" | awk '{ print $1 }' | head -n 1)" -gt "$before" ]
}
wait_for 60 higher || { client status || true; fail "the 3 remaining replicas did not commit"; }
client status
value="$(client get after-kill | tail -n 1)"
[ "$value" = "yes" ] || fail "get after-kill returned '$value'"
echo "PASS: $protocol"
