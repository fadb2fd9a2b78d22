#!/usr/bin/env bash
# Integration test: consensus does not read wall clocks. Two of four `bft node` processes run
# with their link clocks skewed by hours (`--clock-skew-ms`: +3 h and -3 h, as a badly set
# host clock would be): the network still commits and all four agree on height and state
# root, while the peers' link checks count the skew (bft_link_anomalies_total{kind="clock"})
# for those two peers only: suspicion, never a decision.
# Usage: clock_skew_test.sh <path to bft> <pbft|hotstuff>
set -euo pipefail
bft="$1"
protocol="$2"
work="$(mktemp -d "${TMPDIR:-/tmp}/bft-skew-${protocol}-XXXXXX")"
pids=()
node_extra=([2]="--clock-skew-ms 10800000" [3]="--clock-skew-ms -10800000")

# shellcheck source=tests/integration/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
launch_network

step "1,000 transactions with two replicas' clocks 3 hours off (one ahead, one behind)"
out="$(client load --count 1000 --batch 10 --concurrency 8)" || fail "load failed: $out"
echo "$out"

step "all 4 replicas report the same height and state root"
wait_for 60 all_agree 4 || { client status || true; fail "replicas disagree"; }
client status

# clock_anomalies NODE PEER: node's count of clock anomalies on links with peer.
clock_anomalies() {
  scrape $((base + 100 + $1)) |
    awk -v p="peer=\"$2\"" '/^bft_link_anomalies_total/ && /kind="clock"/ && index($0, p) { s += $2 }
                           END { print s + 0 }'
}
step "the link checks saw the skewed clocks, and only those"
for peer in 2 3; do
  v="$(clock_anomalies 0 "$peer")"
  echo "replica 0: clock anomalies from peer $peer: $v"
  [ "$v" -gt 0 ] || fail "replica 0 did not notice peer $peer's clock"
done
v="$(clock_anomalies 0 1)"
echo "replica 0: clock anomalies from peer 1: $v"
[ "$v" -eq 0 ] || fail "replica 0 counted clock anomalies for peer 1, whose clock is right"
# The connections report their anomalies to the monitor once a second.
monitor_heard() { grep -q "monitor notes link anomalies node=0 peer=[23]" "$work"/node-0.log; }
wait_for 10 monitor_heard || fail "the validator monitor heard nothing of the skew"
grep -h "monitor notes link anomalies" "$work"/node-0.log | head -n 2
echo "PASS"
