#!/usr/bin/env bash
# Simulator campaigns over seed ranges derived from the commit id, so that every commit looks
# somewhere new (issue 14). ctest runs it with a small count; a long campaign is the same
# command with a larger one.
#
#   tools/explore.sh BFT [SEEDS] [FIRST]
#     BFT    the bft binary (build/tools/bft)
#     SEEDS  seeds per setting (default 300)
#     FIRST  first seed; default: derived from the commit id of the source tree
#            (10,000,000 + (first 7 hex digits of HEAD) * 1,000), or from BFT_EXPLORE_FIRST
#
# Settings, for both protocols: no Byzantine replica; one Byzantine replica; one Byzantine
# replica with --late-equivocation; the amnesia guard; one Byzantine replica with --pause. Each failure prints its replay command
# (and it belongs in tests/sim/regression_seeds.txt once understood). Exit 1 on any failure.
#
# Long campaign (not in CI): tools/explore.sh build/tools/bft 20000 <first> runs 20,000 seeds
# per setting: 100,000 per protocol, 60,000 of them with a Byzantine replica.
set -uo pipefail
bft="$1"
seeds="${2:-300}"
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
if [ -n "${3:-}" ]; then
  first="$3"
elif [ -n "${BFT_EXPLORE_FIRST:-}" ]; then
  first="$BFT_EXPLORE_FIRST"
else
  commit="$(git -C "$root" rev-parse HEAD 2>/dev/null || true)"
  if [ -z "$commit" ]; then
    echo "explore: no git commit found; set BFT_EXPLORE_FIRST" >&2
    exit 2
  fi
  first=$((10000000 + 16#${commit:0:7} * 1000))
  echo "explore: commit ${commit:0:12} -> first seed $first"
fi

settings=(
  "--faults all"
  "--faults all --byzantine 1"
  "--faults all --byzantine 1 --late-equivocation"
  "--faults all --amnesia guarded"
  "--faults all --byzantine 1 --pause"
)
out="$(mktemp "${TMPDIR:-/tmp}/bft-explore-XXXXXX")"
trap 'rm -f "$out"' EXIT
failed=0
for protocol in pbft hotstuff; do
  for s in "${settings[@]}"; do
    # shellcheck disable=SC2086
    "$bft" sim --protocol "$protocol" --replicas 4 $s --seeds "$seeds" --first-seed "$first" \
      >"$out" 2>&1
    rc=$?
    summary="$(grep -E '^[0-9]+ passed, [0-9]+ failed' "$out" | tail -1)"
    echo "explore: $protocol $s seeds $first..$((first + seeds - 1)): ${summary:-no summary (rc $rc)}"
    if [ "$rc" -ne 0 ] || [ -z "$summary" ]; then
      failed=1
      grep -E "^FAIL|replay" "$out" | head -20
    fi
  done
done
[ "$failed" -eq 0 ] || { echo "explore: failures above; each line names its replay command"; exit 1; }
echo "explore: all settings passed"
