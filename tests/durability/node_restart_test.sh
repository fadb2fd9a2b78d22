#!/usr/bin/env bash
# Four `bft node` processes with RocksDB stores in their data directories, under client load.
#  1. One replica is killed with SIGKILL and restarted on its data directory RESTARTS times
#     (default 10) at random moments. Each restart must reload its safety record.
#  2. Another replica is killed, its data directory deleted, and restarted: it must rejoin
#     through a certified snapshot fetched from its peers ("replica installs certified
#     snapshot" in its log).
# After phase 1 no replica logged evidence (a replica restarted from its store never
# contradicts what it signed). At the end all four report one height and one state root, no
# evidence names any replica, not even the one whose data directory was deleted (its empty
# directory lacks bft init's FIRST_START marker, so its amnesia guard keeps it from voting
# where it may have voted before; it must log that it starts guarded), and every put
# acknowledged to the client (f + 1 matching receipts) reads back.
# Loopback only; every process it starts is killed by PID when it ends.
# Usage: node_restart_test.sh /path/to/bft pbft|hotstuff [restarts]
set -uo pipefail
bft="$1"
protocol="$2"
restarts="${3:-10}"
work="$(mktemp -d "${TMPDIR:-/tmp}/bft-node-restart-XXXXXX")"
declare -a pids=("" "" "" "")
declare -a bg=()

cleanup() {
  touch "$work/stop"
  for p in "${pids[@]}" "${bg[@]}"; do
    [ -n "$p" ] && kill -9 "$p" 2>/dev/null
  done
  for p in "${pids[@]}" "${bg[@]}"; do
    [ -n "$p" ] && wait "$p" 2>/dev/null
  done
  if [ -n "${BFT_KEEP_WORK:-}" ]; then echo "kept $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT

die() {
  echo "FAIL ($protocol): $*"
  for i in 0 1 2 3; do
    echo "--- node-$i.log (last 15 lines)"
    tail -n 15 "$work/node-$i.log" 2>/dev/null
  done
  status_table
  exit 1
}

start_node() {
  "$bft" node --config "$work/net/node-$1.toml" >>"$work/node-$1.log" 2>&1 &
  pids[$1]=$!
}

kill_node() {
  kill -9 "${pids[$1]}" 2>/dev/null
  wait "${pids[$1]}" 2>/dev/null
  pids[$1]=""
}

# status_table: prints `bft client status`, empty if it fails.
status_table() {
  timeout 20 "$bft" client --genesis "$work/net/genesis.toml" --timeout 2 status 2>/dev/null
}

# wait_until <seconds> <description> <command...>: polls the command once a second.
wait_until() {
  local limit="$1"
  local deadline=$((SECONDS + limit))
  local what="$2"
  shift 2
  until "$@"; do
    [ "$SECONDS" -lt "$deadline" ] || die "timed out after $limit s: $what"
    sleep 1
  done
}

all_reachable() { [ "$(status_table | awk '$2 == "yes"' | wc -l)" -eq 4 ]; }
node_reachable() { status_table | awk -v id="$1" '$1 == id && $2 == "yes"' | grep -q .; }

# All four reachable, at one height above $1, with one state root.
all_agree_above() {
  local t
  t="$(status_table)"
  [ "$(printf '%s\n' "$t" | awk '$2 == "yes"' | wc -l)" -eq 4 ] || return 1
  [ "$(printf '%s\n' "$t" | awk '$2 == "yes" {print $4 " " $5}' | sort -u | wc -l)" -eq 1 ] || return 1
  [ "$(printf '%s\n' "$t" | awk '$2 == "yes" {print $4; exit}')" -gt "$1" ]
}

max_height() { status_table | awk '$2 == "yes" && $4 > m {m = $4} END {print m + 0}'; }

# A random pause of 0.5 to 2.9 s ("random moments").
pause() { sleep "$((RANDOM % 3)).$((RANDOM % 10))"; [ $((RANDOM % 2)) -eq 0 ] && sleep 0.5; true; }

load() {
  timeout 60 "$bft" client --genesis "$work/net/genesis.toml" load --count "$1" --batch 5 \
    >>"$work/client.log" 2>&1 || die "client load of $1 transactions failed: $(tail -n 2 "$work/client.log")"
}

# Background writer: sequential puts of distinct keys; each one acknowledged (exit status 0,
# f + 1 matching receipts) is recorded and must be in the final state.
writer() {
  local i=0
  while [ ! -e "$work/stop" ]; do
    i=$((i + 1))
    if timeout 15 "$bft" client --genesis "$work/net/genesis.toml" --timeout 5 \
      put "ack-$i" "value-$i" >>"$work/writer.log" 2>&1; then
      echo "ack-$i value-$i" >>"$work/acked"
    fi
  done
}

# Background load: batches of transactions from fresh clients, until told to stop.
loader() {
  while [ ! -e "$work/stop" ]; do
    timeout 30 "$bft" client --genesis "$work/net/genesis.toml" --timeout 5 load --count 200 \
      --batch 5 --concurrency 4 >>"$work/loader.log" 2>&1
  done
}

base=$((21000 + (RANDOM % 400) * 20))
"$bft" init --replicas 4 --protocol "$protocol" --dir "$work/net" --base-port "$base" \
  >/dev/null || die "bft init failed"
# Snapshots every 10 entries, so that a wiped replica finds a certified one soon.
sed -i 's/^checkpoint_interval = .*/checkpoint_interval = 10/' "$work/net/genesis.toml"
grep -q '^checkpoint_interval = 10$' "$work/net/genesis.toml" || die "cannot set checkpoint_interval"
for i in 0 1 2 3; do start_node "$i"; done
wait_until 30 "four nodes answer status" all_reachable
load 100
touch "$work/acked"
writer &
bg+=($!)
loader &
bg+=($!)

# ---- 1. kill -9 and restart one replica, RESTARTS times, at random moments -----------------
victim=2
[ -d "$work/net/data-$victim" ] || die "node $victim has no data directory"
opens() { grep -c "node opens store" "$work/node-$victim.log"; }
for r in $(seq 1 "$restarts"); do
  pause
  kill_node "$victim" # at a random moment: perhaps before it even opened its store
  pause
  before_start="$(opens)"
  start_node "$victim"
done
reopened() { [ "$(opens)" -gt "$before_start" ]; }
wait_until 30 "node $victim opens its store after the last restart" reopened
opened="$(opens)"
[ "$opened" -ge 2 ] || die "node $victim opened its store only $opened times in $restarts restarts"
line="$(grep "node opens store" "$work/node-$victim.log" | tail -n 1)"
records="$(printf '%s\n' "$line" | sed -n 's/.*records=\([0-9]*\).*/\1/p')"
[ -n "$records" ] && [ "$records" -gt 0 ] || die "restarted node reloaded no safety record: $line"
wait_until 40 "node $victim answers status after $restarts restarts" node_reachable "$victim"
echo "ok: node $victim killed and restarted $restarts times ($opened store openings; the last reloaded $records safety records)"
# A replica restarted from its data directory never contradicts what it signed before.
if grep -h "finds evidence" "$work"/node-*.log >/dev/null; then
  die "evidence names an honest replica: $(grep -h "finds evidence" "$work"/node-*.log | head -n 3)"
fi

# ---- 2. a replica whose data directory is deleted rejoins through a snapshot --------------
wiped=3
before="$(max_height)"
kill_node "$wiped"
rm -rf "$work/net/data-$wiped"
start_node "$wiped"
guarded() { grep -q "amnesia guard" "$work/node-$wiped.log"; }
wait_until 30 "node $wiped (data directory deleted) starts with its amnesia guard" guarded
installed() { grep -q "replica installs certified snapshot" "$work/node-$wiped.log"; }
wait_until 90 "node $wiped (data directory deleted) installs a certified snapshot" installed
echo "ok: node $wiped rejoined from an empty data directory through a snapshot: $(grep -m1 "installs certified snapshot" "$work/node-$wiped.log" | sed 's/.*\(index=[0-9]*\).*/\1/')"

# ---- the end: one height and root, no evidence, every acknowledged put readable ----------
touch "$work/stop"
for p in "${bg[@]}"; do wait "$p" 2>/dev/null; done
bg=()
wait_until 180 "all four nodes reach one height above $before and one state root" all_agree_above "$before"
# The wiped replica lost the record of what it signed before, but its amnesia guard kept it
# from contradicting itself: evidence naming any replica fails the test.
if grep -h "finds evidence" "$work"/node-*.log >/dev/null; then
  die "evidence names a replica: $(grep -h "finds evidence" "$work"/node-*.log | head -n 3)"
fi
acked="$(wc -l <"$work/acked")"
[ "$acked" -gt 0 ] || die "no put was acknowledged during the restarts"
missing=0
while read -r key value; do
  got="$(timeout 15 "$bft" client --genesis "$work/net/genesis.toml" --timeout 5 get "$key" 2>/dev/null | tail -n 1)"
  if [ "$got" != "$value" ]; then
    echo "acknowledged $key=$value reads back as \"$got\""
    missing=$((missing + 1))
  fi
done <"$work/acked"
[ "$missing" -eq 0 ] || die "$missing of $acked acknowledged puts are not in the state"
echo "ok ($protocol): all four at one height and root, no evidence against any replica (the wiped one included), $acked acknowledged puts all read back"
status_table
