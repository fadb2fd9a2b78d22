#!/usr/bin/env bash
# Four `bft node` processes with RocksDB stores in their data directories; one is killed with
# SIGKILL under load and restarted on the same data directory. It must reload its safety
# record (non-empty), and all four must end with the same height and state root.
# Usage: node_restart_test.sh /path/to/bft pbft|hotstuff
set -uo pipefail
bft="$1"
protocol="$2"
work="$(mktemp -d "${TMPDIR:-/tmp}/bft-node-restart-XXXXXX")"
declare -a pids=("" "" "" "")

cleanup() {
  for p in "${pids[@]}"; do
    [ -n "$p" ] && kill -9 "$p" 2>/dev/null
  done
  for p in "${pids[@]}"; do
    [ -n "$p" ] && wait "$p" 2>/dev/null
  done
  rm -rf "$work"
}
trap cleanup EXIT

die() {
  echo "FAIL: $*"
  for i in 0 1 2 3; do
    echo "--- node-$i.log (last 15 lines)"
    tail -n 15 "$work/node-$i.log" 2>/dev/null
  done
  exit 1
}

start_node() {
  "$bft" node --config "$work/net/node-$1.toml" >>"$work/node-$1.log" 2>&1 &
  pids[$1]=$!
}

# status_table: prints `bft client status`, empty if it fails.
status_table() {
  timeout 20 "$bft" client --genesis "$work/net/genesis.toml" --timeout 2 status 2>/dev/null
}

# wait_until <seconds> <description> <command...>: polls the command once a second.
wait_until() {
  local deadline=$((SECONDS + $1))
  local what="$2"
  shift 2
  until "$@"; do
    [ "$SECONDS" -lt "$deadline" ] || die "timed out after $((SECONDS - deadline + $1)) s: $what"
    sleep 1
  done
}

all_reachable() { [ "$(status_table | awk '$2 == "yes"' | wc -l)" -eq 4 ]; }

# All four reachable, at one height above $1, with one state root.
all_agree_above() {
  local t
  t="$(status_table)"
  [ "$(printf '%s\n' "$t" | awk '$2 == "yes"' | wc -l)" -eq 4 ] || return 1
  [ "$(printf '%s\n' "$t" | awk '$2 == "yes" {print $4 " " $5}' | sort -u | wc -l)" -eq 1 ] || return 1
  [ "$(printf '%s\n' "$t" | awk '$2 == "yes" {print $4; exit}')" -gt "$1" ]
}

load() {
  timeout 60 "$bft" client --genesis "$work/net/genesis.toml" load --count "$1" --batch 5 \
    >>"$work/client.log" 2>&1 || die "client load of $1 transactions failed: $(tail -n 2 "$work/client.log")"
}

base=$((21000 + (RANDOM % 400) * 20))
"$bft" init --replicas 4 --protocol "$protocol" --dir "$work/net" --base-port "$base" \
  >/dev/null || die "bft init failed"
for i in 0 1 2 3; do start_node "$i"; done
wait_until 30 "four nodes answer status" all_reachable
load 200

victim=2
kill -9 "${pids[$victim]}"
wait "${pids[$victim]}" 2>/dev/null
pids[$victim]=""
[ -d "$work/net/data-$victim" ] || die "node $victim has no data directory"
load 100 # three replicas still commit

start_node "$victim"
opened_twice() { [ "$(grep -c "node opens store" "$work/node-$victim.log")" -ge 2 ]; }
wait_until 30 "the restarted node logs its store" opened_twice
line="$(grep "node opens store" "$work/node-$victim.log" | tail -n 1)"
records="$(printf '%s\n' "$line" | sed -n 's/.*records=\([0-9]*\).*/\1/p')"
[ -n "$records" ] && [ "$records" -gt 0 ] || die "restarted node reloaded no safety record: $line"

wait_until 30 "four nodes answer status after the restart" all_reachable
load 100
wait_until 60 "all four nodes reach one height and state root" all_agree_above 0
echo "ok: node $victim restarted with $records safety records; all four at one height and root"
status_table
