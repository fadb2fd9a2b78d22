#!/usr/bin/env bash
# Attack tests (issue 16, point 8): hostile inputs against one replica's secure port, each run
# by `bft-attack` (tools/attack) against 4 `bft node` processes on 127.0.0.1. For every attack:
#   - the victim's RSS grows by less than 64 MiB (its peak, VmHWM, after the attack against its
#     VmRSS before; both printed, with VmRSS after);
#   - the counter bft_link_rejections_total{reason} of the expected reason grew on the victim
#     (for the flood: the acceptor's and the engine's counters of refused frames);
#   - the cluster keeps committing: `bft client load` succeeds (during the attack for the long
#     ones, idle connections and the flood; after it for the others) and the victim's
#     bft_committed_transactions_total grows;
#   - the victim is back in the others' view and height within 10 s of the attack's end
#     (bft_view, bft_height from /metrics, polled: recovery is asserted, not its speed).
# Only the PIDs started here are signalled; they are stopped when the script exits (trap).
# Usage: attack_test.sh <bft> <bft-attack> <pbft|hotstuff> [attack...]
#   (attacks: oversize-pre oversize-client oversize-validator basp idle slow random unknown-key
#    replay flood flood-unread; default all, in that order)
set -euo pipefail
bft="$1"
attacker="$2"
protocol="$3"
shift 3
all=(oversize-pre oversize-client oversize-validator basp idle slow random unknown-key replay flood flood-unread)
if [ $# -gt 0 ]; then attacks=("$@"); else attacks=("${all[@]}"); fi
work="$(mktemp -d "${TMPDIR:-/tmp}/bft-attack-${protocol}-XXXXXX")"
pids=()
bg=()

cleanup_first() {
  for p in "${bg[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
}

# shellcheck source=tests/integration/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../integration/lib.sh"
started=$SECONDS
launch_network

limit_kib=$((64 * 1024))
slack=0
[ "$protocol" = hotstuff ] && slack=2

# metric NODE NAME [LABEL-FILTER]: the sum of the samples of NAME on NODE whose labels contain
# the filter (0 if none).
metric() {
  scrape $((base + 100 + $1)) | awk -v n="$2" -v f="${3:-}" '
    index($0, n) == 1 && (substr($0, length(n) + 1, 1) == "{" || substr($0, length(n) + 1, 1) == " ") &&
    (f == "" || index($0, f) > 0) { s += $NF }
    END { printf "%d\n", s }'
}
rejections() { metric "$victim" bft_link_rejections_total "reason=\"$1\""; }
# counter ENTRY: a reason of bft_link_rejections_total, or NAME or NAME:REASON of another counter.
counter() {
  case "$1" in
  bft_*:*) metric "$victim" "${1%%:*}" "reason=\"${1#*:}\"" ;;
  bft_*) metric "$victim" "$1" ;;
  *) rejections "$1" ;;
  esac
}
committed() { metric "$1" bft_committed_transactions_total; }
status_kib() { awk -v k="$2:" '$1 == k { print $2 }' "/proc/$1/status"; }

# "id view height" of every node, from /metrics.
positions() {
  for i in 0 1 2 3; do
    local v h
    v="$(metric "$i" bft_view)" || return 1
    h="$(metric "$i" bft_height)" || return 1
    echo "$i $v $h"
  done
}
# in_step ID: replica ID is at the others' view (within slack) and at least their lowest height.
in_step() {
  positions | awk -v id="$1" -v s="$slack" '
    $1 == id { mv = $2; mh = $3; next }
    { if (n == 0 || $2 < lo) lo = $2; if (n == 0 || $2 > hi) hi = $2;
      if (n == 0 || $3 < lh) lh = $3; n++ }
    END { exit !(n == 3 && mv >= lo - s && mv <= hi + s && mh >= lh - s) }'
}
leader() { positions | awk '{ print $2 }' | sort -n | uniq -c | sort -rn | awk 'NR == 1 { print $2 % 4 }'; }

load() { timeout 120 "$bft" client --genesis "$genesis" --timeout 10 load --count "$1" --batch 10 --concurrency 4 >>"$work/load.log" 2>&1; }
attack() { timeout 120 "$attacker" --genesis "$genesis" --target "$victim" "$@"; }

grew() { [ "$("$1" "${@:3}")" -gt "$2" ]; }
committed_above() { [ "$(committed "$victim")" -gt "$1" ]; }

# run_attack NAME "REASON..." DURING ARGS...: one attack (bft-attack ARGS) with the checks
# above; DURING=1 runs the load during the attack, 0 after it.
run_attack() {
  local name=$1 reasons=$2 during=$3
  shift 3
  local vpid=${pids[$victim]}
  step "attack $name against replica $victim ($protocol): bft-attack $*"
  local -A before
  local r
  for r in $reasons; do before[$r]="$(counter "$r")"; done
  local rss0 commit0 load_pid=
  rss0="$(status_kib "$vpid" VmRSS)"
  commit0="$(committed "$victim")"
  if [ "$during" = 1 ]; then
    load 3000 &
    load_pid=$!
    bg+=("$load_pid")
  fi
  attack "$@" || fail "$name: the attacker reports that the victim did not refuse it (status $?)"
  kill -0 "$vpid" 2>/dev/null || fail "$name: the victim exited"
  local rss1 hwm1
  rss1="$(status_kib "$vpid" VmRSS)"
  hwm1="$(status_kib "$vpid" VmHWM)"
  echo "RSS $name ($protocol): before ${rss0} KiB, after ${rss1} KiB, peak ${hwm1} KiB, peak - before $((hwm1 - rss0)) KiB"
  [ $((hwm1 - rss0)) -lt $limit_kib ] || fail "$name: the victim's RSS grew by $((hwm1 - rss0)) KiB (limit $limit_kib)"
  [ $((rss1 - rss0)) -lt $limit_kib ] || fail "$name: the victim's RSS grew by $((rss1 - rss0)) KiB"
  for r in $reasons; do
    wait_for 10 grew counter "${before[$r]}" "$r" ||
      fail "$name: counter $r did not grow on the victim (still ${before[$r]})"
    echo "counter $r: ${before[$r]} -> $(counter "$r")"
  done
  if [ -n "$load_pid" ]; then
    wait "$load_pid" || fail "$name: bft client load failed during the attack"
  else
    load 300 || fail "$name: bft client load failed after the attack"
  fi
  wait_for 30 committed_above "$commit0" || fail "$name: the victim committed nothing"
  local end=$SECONDS
  wait_for 10 in_step "$victim" || { positions; fail "$name: replica $victim not back in step within 10 s"; }
  echo "replica $victim in step $((SECONDS - end)) s after the attack; committed $commit0 -> $(committed "$victim")"
}

victim=0
ulimit -n 4096 2>/dev/null || ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
step "warm-up: 300 transactions"
load 300 || fail "warm-up load failed"

for a in "${attacks[@]}"; do
  case "$a" in
  oversize-pre) run_attack "$a" oversized 0 oversize --stage pre ;;
  oversize-client) run_attack "$a" oversized 0 oversize --stage client ;;
  oversize-validator)
    run_attack "$a" oversized 0 --key "$work/net/node-1.key" --as 1 oversize --stage validator ;;
  basp) run_attack "$a" version 0 basp ;;
  idle)
    run_attack "$a" "pending_total pending_source handshake_timeout" 1 idle --count 1000 --hold 8 \
      --sources 127.0.0.2,127.0.0.3,127.0.0.4,127.0.0.5,127.0.0.6,127.0.0.7,127.0.0.8,127.0.0.9,127.0.0.10,127.0.0.11 ;;
  slow) run_attack "$a" handshake_timeout 0 slow ;;
  random) run_attack "$a" "oversized version" 0 random --connections 20 ;;
  unknown-key) run_attack "$a" unknown_key 0 unknown-key --claim 2 ;;
  replay) run_attack "$a" replayed 0 replay ;;
  flood)
    # Against the leader of the moment, as the validator after it (its own key file), at the
    # pace the victim answers with 64 calls unanswered (a link's window). The garbage reaches the
    # acceptor (calls under another id: wrong_sender) and the engine
    # (bft_rejected_frames_total); the final replayed sealed frame closes the session
    # (bad_frame).
    victim="$(leader)"
    [ -n "$victim" ] || fail "no leader found"
    byz=$(((victim + 1) % 4))
    run_attack "$a" "bft_inbound_dropped_frames_total:wrong_sender bft_rejected_frames_total bad_frame" 1 \
      --key "$work/net/node-$byz.key" --as "$byz" flood --seconds 10 --expect-close
    victim=0 ;;
  flood-unread)
    # The same flood without reading the answers: one call over the limit of calls in flight
    # (256) closes the connection (in_flight); the attacker may dial again, and again.
    victim="$(leader)"
    [ -n "$victim" ] || fail "no leader found"
    byz=$(((victim + 1) % 4))
    run_attack "$a" in_flight 1 --key "$work/net/node-$byz.key" --as "$byz" flood --seconds 5 --window 0
    victim=0 ;;
  *) fail "unknown attack $a" ;;
  esac
done
step "all attacks refused; wall time $((SECONDS - started)) s"
