#!/usr/bin/env bash
# Shared by the multi-process tests (four_nodes_test.sh, pause_test.sh): cleanup on exit,
# free ports below the ephemeral range, node start and launch with retries, polling helpers.
# The caller sets bft, protocol, work and pids=() first, may define cleanup_first (run first on
# exit) and cleanup_last (run once the nodes are gone; its failure fails the test), then sources
# this file and calls launch_network (tests/netns/ starts its nodes itself).
# shellcheck disable=SC2154
cleanup() {
  local status=$?
  if declare -F cleanup_first >/dev/null; then cleanup_first; fi
  for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  for _ in $(seq 1 50); do
    local alive=0
    for p in "${pids[@]}"; do kill -0 "$p" 2>/dev/null && alive=1; done
    [ $alive -eq 0 ] && break
    sleep 0.1
  done
  for p in "${pids[@]}"; do kill -KILL "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  if [ $status -ne 0 ]; then
    echo "--- test failed (status $status); node logs (last lines) ---"
    for f in "$work"/node-*.log "$work"/relay-*.log; do
      [ -f "$f" ] && { echo "== $f"; tail -n 20 "$f"; }
    done
  fi
  if declare -F cleanup_last >/dev/null; then
    cleanup_last || { [ $status -ne 0 ] || status=1; }
  fi
  rm -rf "$work"
  exit $status
}
# A signal exits with 128 + its number, and the exit runs cleanup once with that status (a
# trap of cleanup on INT or TERM itself would run it twice and exit 0).
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

fail() { echo "FAIL: $*" >&2; exit 1; }
step() { echo "--- $*"; }

port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# Free ports: 4 listen ports at base..base+3 and 4 metrics ports at base+100..base+103, all
# below the kernel's ephemeral range (32768..), so that no client connection can hold one.
# Checking is racy (another test may take a port between the check and the bind); `launch`
# below starts again on a fresh base when a node exits because its port was taken.
pick_base() {
  for _ in $(seq 1 50); do
    local base=$((10000 + RANDOM % 22000))
    local busy=0
    for i in 0 1 2 3; do
      port_in_use $((base + i)) && busy=1
      port_in_use $((base + 100 + i)) && busy=1
    done
    [ $busy -eq 0 ] && { echo "$base"; return 0; }
  done
  return 1
}

# HTTP GET of /metrics with bash only: scrape PORT [HOST (default 127.0.0.1)].
scrape() {
  local port=$1 host=${2:-127.0.0.1}
  (
    exec 3<>"/dev/tcp/$host/$port" || exit 1
    printf 'GET /metrics HTTP/1.0\r\nHost: %s\r\n\r\n' "$host" >&3
    timeout 5 cat <&3
  ) 2>/dev/null
}

# Polls `cmd` every 0.5 s until it succeeds or `seconds` pass.
wait_for() {
  local seconds=$1
  shift
  local deadline=$((SECONDS + seconds))
  while [ $SECONDS -lt $deadline ]; do
    "$@" && return 0
    sleep 0.5
  done
  return 1
}

# node_extra[i] (optional): more arguments for node i, e.g. "--clock-skew-ms 10800000".
start_node() {
  # shellcheck disable=SC2086
  "$bft" node --config "$work/net/node-$1.toml" ${node_extra[$1]:-} >"$work/node-$1.log" 2>&1 &
  pids[$1]=$!
}
all_listening() {
  for i in 0 1 2 3; do port_in_use $((base + i)) || return 1; done
}
# 0: every node listens; 1: a node exited (its port was taken); 2: timed out.
nodes_up() {
  local deadline=$((SECONDS + 60))
  while [ $SECONDS -lt $deadline ]; do
    for i in 0 1 2 3; do kill -0 "${pids[$i]}" 2>/dev/null || return 1; done
    all_listening && return 0
    sleep 0.5
  done
  return 2
}
stop_nodes() {
  for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  pids=()
}

# Writes a 4-replica network with `bft init` and starts its nodes (3 attempts on fresh ports);
# sets base (the first listen port) and genesis.
launch_network() {
  launched=0
  for attempt in 1 2 3; do
    base="$(pick_base)" || fail "no free ports found"
    step "bft init: 4 $protocol replicas on 127.0.0.1:$base.. (metrics on $((base + 100)).., attempt $attempt)"
    rm -rf "$work/net"
    "$bft" init --replicas 4 --protocol "$protocol" --dir "$work/net" --base-port "$base" >/dev/null
    for i in 0 1 2 3; do start_node "$i"; done
    rc=0
    nodes_up || rc=$?
    [ $rc -eq 0 ] && { launched=1; break; }
    [ $rc -eq 2 ] && fail "the nodes did not all listen within 60 s"
    grep -h " error " "$work"/node-*.log || true
    echo "a node exited at start (port taken?); starting again on other ports"
    stop_nodes
  done
  [ $launched -eq 1 ] || fail "the nodes could not start in 3 attempts"
  genesis="$work/net/genesis.toml"
}

# `bft client` against the network (tests may redefine it with other timeouts).
client() { timeout 180 "$bft" client --genesis "$genesis" --timeout 10 "$@"; }

# "height root" of every reachable replica, one per line.
heights_and_roots() { client status 2>/dev/null | awk '$2 == "yes" { print $4, $5 }'; }

# all_agree N: N replicas answer, with one height (above 0) and one state root.
all_agree() {
  local lines
  lines="$(heights_and_roots)" || return 1
  [ "$(echo "$lines" | wc -l)" -eq "$1" ] || return 1
  [ "$(echo "$lines" | sort -u | wc -l)" -eq 1 ] || return 1
  [ "$(echo "$lines" | awk '{ print $1 }' | head -n 1)" -gt 0 ]
}
