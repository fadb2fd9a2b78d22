#!/usr/bin/env bash
# Integration test (issue 14, item 4): a paused replica gets back into step.
#   1. 4 `bft node` processes on 127.0.0.1 (free ports below 32768), `bft client load` running;
#   2. the leader of the moment is stopped with SIGSTOP for 15 s, then SIGCONT: within 10 s it
#      must report the others' view and height (`bft client status`, polled);
#   3. the same for a backup; 4. once the load has ended, every replica at one view and height.
# Only the 10 s bound is asserted, by polling. Only the PIDs started here are signalled; they
# are stopped when the script exits, whatever the outcome (trap).
# Usage: pause_test.sh <path to bft> <pbft|hotstuff>
set -euo pipefail
bft="$1"
protocol="$2"
work="$(mktemp -d "${TMPDIR:-/tmp}/bft-pause-${protocol}-XXXXXX")"
pids=()

cleanup_first() {
  for p in "${pids[@]}"; do kill -CONT "$p" 2>/dev/null || true; done
  [ -n "${load_pid:-}" ] && kill -TERM "$load_pid" 2>/dev/null || true
}

# shellcheck source=tests/integration/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
launch_network

client() { timeout 60 "$bft" client --genesis "$genesis" --timeout 5 "$@"; }

# "id view height" of every reachable replica, one per line.
positions() { client status 2>/dev/null | awk '$2 == "yes" { print $1, $3, $4 }'; }

# Views and heights are compared exactly for PBFT. A HotStuff chain moves on by a view (and
# maybe a block) between the status answers of two replicas even when idle (empty blocks), so
# there they may differ by up to `slack`.
slack=0
[ "$protocol" = hotstuff ] && slack=2

# in_step ID: replica ID reports the view of the others and a height at least the lowest of
# theirs (they keep committing under load, so equal heights are not required then).
in_step() {
  local lines
  lines="$(positions)" || return 1
  [ "$(echo "$lines" | wc -l)" -eq 4 ] || return 1
  echo "$lines" | awk -v id="$1" -v s="$slack" '
    $1 == id { mv = $2; mh = $3; next }
    { if (n == 0 || $2 < lo) lo = $2; if (n == 0 || $2 > hi) hi = $2;
      if (n == 0 || $3 < lh) lh = $3; n++ }
    END { exit !(n == 3 && hi - lo <= s && mv >= lo - s && mv <= hi + s && mh >= lh - s) }'
}
all_same() {
  local lines
  lines="$(positions)" || return 1
  [ "$(echo "$lines" | wc -l)" -eq 4 ] || return 1
  echo "$lines" | awk -v s="$slack" '
    { if (NR == 1 || $2 < lv) lv = $2; if (NR == 1 || $2 > hv) hv = $2;
      if (NR == 1 || $3 < lh) lh = $3; if (NR == 1 || $3 > hh) hh = $3 }
    END { exit !(hv - lv <= s && hh - lh <= s) }'
}
# The leader of the view most replicas report (view mod 4, both engines' default schedule).
leader() { positions | awk '{ print $2 }' | sort | uniq -c | sort -rn | awk 'NR == 1 { print $2 % 4 }'; }

step "load: 200,000 transactions in the background"
client_load() { timeout 300 "$bft" client --genesis "$genesis" --timeout 10 load --count 200000 --batch 10 --concurrency 8 >"$work/load.log" 2>&1; }
client_load &
load_pid=$!
wait_for 60 all_same || true
sleep 2

pause_and_check() {
  local who=$1 what=$2
  step "SIGSTOP replica $who ($what) for 15 s under load"
  kill -STOP "${pids[$who]}"
  sleep 15
  kill -CONT "${pids[$who]}"
  local start=$SECONDS
  wait_for 10 in_step "$who" || { positions; fail "replica $who was not back in step within 10 s after SIGCONT"; }
  echo "replica $who in step $((SECONDS - start)) s after SIGCONT"
  positions
}

first="$(leader)"
[ -n "$first" ] || first=0
pause_and_check "$first" "the leader"
backup=$(( (first + 1) % 4 ))
[ "$backup" = "$(leader)" ] && backup=$(( (backup + 1) % 4 ))
pause_and_check "$backup" "a backup"

step "pause a backup again, then end the load while it is stopped"
third=$(( (backup + 1) % 4 ))
[ "$third" = "$(leader)" ] && third=$(( (third + 1) % 4 ))
kill -STOP "${pids[$third]}"
sleep 15
kill -TERM "$load_pid" 2>/dev/null || true
wait "$load_pid" 2>/dev/null || true
load_pid=""
kill -CONT "${pids[$third]}"
wait_for 10 in_step "$third" || { positions; fail "replica $third was not back in step within 10 s after the load ended"; }
wait_for 10 all_same || { positions; fail "the replicas do not report one view and height without load"; }
positions
echo "PASS: $protocol"
