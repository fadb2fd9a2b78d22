#!/usr/bin/env bash
# Crash-restart campaigns of the simulator (issue 7): replicas crash and restart from their
# persisted records, losing every write that was not synced.
#   sim_crash_test.sh BFT PROTOCOL campaign SEEDS  -> every seed keeps K1-K9 (K2, K4: no honest
#                                                     replica contradicts what it signed before
#                                                     a crash)
#   sim_crash_test.sh BFT PROTOCOL mutant SEEDS NAME [ARGS] -> positive control: the seeded bug
#                                                     NAME must make some seed fail with K4
#                                                     (ARGS go to bft sim)
set -uo pipefail
bft="$1"
protocol="$2"
mode="$3"
seeds="$4"
out="$(mktemp "${TMPDIR:-/tmp}/bft-sim-crash-XXXXXX")"
trap 'rm -f "$out"' EXIT

case "$mode" in
campaign)
  "$bft" sim --protocol "$protocol" --replicas 4 --faults crash --seeds "$seeds" >"$out" 2>&1
  rc=$?
  tail -n 3 "$out"
  if [ "$rc" -ne 0 ]; then
    grep -m 5 -E "violation|replay|failed" "$out"
    echo "FAIL: $protocol crash-restart campaign of $seeds seeds has failures"
    exit 1
  fi
  grep -q "^$seeds passed, 0 failed" "$out" || { echo "FAIL: unexpected summary"; exit 1; }
  ;;
mutant)
  name="$5"
  shift 5 # further arguments go to bft sim (a world in which the mutant can show)
  "$bft" sim --protocol "$protocol" --replicas 4 --faults crash --seeds "$seeds" \
    --mutant "$name" "$@" >"$out" 2>&1
  rc=$?
  tail -n 2 "$out"
  [ "$rc" -ne 0 ] || { echo "FAIL: mutant $name survived $seeds crash-restart seeds"; exit 1; }
  grep -q "K4" "$out" || { echo "FAIL: mutant $name failed, but not on K4: $(grep -m 3 violation "$out")"; exit 1; }
  echo "ok: mutant $name caught by K4 ($(grep -c "K4" "$out") K4 lines)"
  ;;
*)
  echo "usage: sim_crash_test.sh BFT PROTOCOL campaign SEEDS | mutant SEEDS NAME"
  exit 2
  ;;
esac
