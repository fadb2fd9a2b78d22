#!/usr/bin/env bash
# Integration test (issue 16, point 7): 4 `bft node` processes on 4 emulated hosts in 3 regions.
#
# Topology (all of it inside namespaces this script creates; nothing is added to the root one):
#
#   bft-$$-br: a bridge br0 and one end (v<i>) of each host's veth pair; no address.
#   bft-$$-<i>, i = 0..3: one host. eth0 (the veth's other end) holds its real address
#     R_i = 10.77.0.1<i>/24, where `bft node` listens (port 7000+i) and serves /metrics (7100+i).
#   Region r0 = hosts 0 and 1, r1 = host 2, r2 = host 3. One-way delays (ms):
#     same host 0, same region 1, r0-r1 10, r0-r2 40, r1-r2 80.
#   Delays: the kernel has no netem, so every host runs one `bft-relay` (tools/netrelay/). The
#   genesis names validator k by its advertised address A_k = 10.77.1.1<k>, which no host
#   routes to k: every host owns A_0..A_3 as /32 aliases on its own lo, and its relay listens
#   on A_k:7000+k (and :7100+k) and forwards to R_k with the delay of the pair (host, k). So a
#   connection from host i to validator k (a node's link, a client, a scrape) crosses exactly
#   one relay, in host i, with the delay of regions (i, k) in each direction: the round trip
#   is twice the one-way delay.
#
#        host i                                  bridge ns              host k
#   bft node/client -> A_k (lo) -> bft-relay --> eth0 -- v<i> [br0] v<k> -- eth0 R_k -> bft node
#                                   (+d(i,k) each way)
#
# Steps, each asserted: the relay delays are real (a metrics GET through every relay takes at
# least twice its delay); commits (put in one region, get in another, a load, every replica at
# one height and state root, /metrics of each host shows committed transactions and height);
# the leader killed with SIGKILL while the others keep committing, then restarted: it catches
# up; the moved-node step (see move_node): node 3 restarts from its own folder on a new
# address and every peer learns it by discovery, no file of any host being edited; a clean
# stop: SIGTERM each node, each exits 0 within 20 s. On exit, whatever the outcome, only the
# PIDs started here are stopped, the namespaces and the work directory are deleted and no
# namespace may remain. Every wait polls with a deadline.
#
# Files: `bft init --hosts` writes $work/host-<i>/ (node.toml, genesis.toml, node.key: host i's
# key only, data/); node i starts from host-<i>/node.toml (see write_network).
#
# Usage: regions_test.sh <path to bft> <path to bft-relay> <pbft|hotstuff>
# Exit 77 (skipped) when not root or when `ip netns` does not work here.
set -euo pipefail
bft="$1"
relay="$2"
protocol="$3"

if [ "$(id -u)" -ne 0 ]; then
  echo "SKIP: needs root for ip netns"
  exit 77
fi
probe="bft-$$-probe"
if ! command -v ip >/dev/null || ! ip netns add "$probe" 2>/dev/null; then
  echo "SKIP: ip netns is not available"
  exit 77
fi
ip netns del "$probe"

work="$(mktemp -d "${TMPDIR:-/tmp}/bft-netns-${protocol}-XXXXXX")"
pids=()       # bft node by host index
relay_pids=() # bft-relay by host index
created=()    # namespaces created here, deleted on exit
prefix="bft-$$-"
br="${prefix}br"
hosts=(0 1 2 3)
ns=()
for i in "${hosts[@]}"; do ns[i]="${prefix}$i"; done

cleanup_last() {
  local ok=0
  for p in "${relay_pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  for p in "${relay_pids[@]}"; do wait "$p" 2>/dev/null || true; done
  # Every process started here was stopped by its PID; one still inside a namespace is a bug
  # of this script: it fails the test (and is stopped, being ours, so the namespace can go).
  for n in "${created[@]}"; do
    local stray
    stray="$(ip netns pids "$n" 2>/dev/null | tr '\n' ' ')"
    if [ -n "$stray" ]; then
      echo "FAIL: processes left in $n: $stray" >&2
      # shellcheck disable=SC2086 # a list of PIDs
      kill -KILL $stray 2>/dev/null || true
      ok=1
    fi
    ip netns del "$n" 2>/dev/null || true
  done
  local left
  left="$(ip netns list | awk -v p="$prefix" 'index($1, p) == 1 { print $1 }')"
  if [ -n "$left" ]; then
    echo "FAIL: namespaces left behind: $left" >&2
    ok=1
  else
    echo "cleanup: every ${prefix}* namespace is gone"
  fi
  return $ok
}

# shellcheck source=tests/integration/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../integration/lib.sh"

# ---- addresses and regions ----
real_ip() { echo "10.77.0.$((10 + $1))"; }   # eth0 of host i: where node i listens
adv_ip() { echo "10.77.1.$((10 + $1))"; }    # validator i in the genesis (a relay everywhere)
moved_real_ip() { echo "10.77.0.$((20 + $1))"; } # host i's second address (moved-node step)
moved_adv_ip() { echo "10.77.2.$((10 + $1))"; }  # the address node i advertises once moved
port() { echo $((7000 + $1)); }
mport() { echo $((7100 + $1)); }
region=(r0 r0 r1 r2)
delay_ms() {
  local a=${region[$1]} b=${region[$2]}
  if [ "$1" -eq "$2" ]; then echo 0; return; fi
  [ "$a" = "$b" ] && { echo 1; return; }
  case "$(printf '%s\n' "$a" "$b" | sort | tr '\n' ' ')" in
    "r0 r1 ") echo 10 ;;
    "r0 r2 ") echo 40 ;;
    "r1 r2 ") echo 80 ;;
  esac
}
mover=3 # the host whose node moves to a new address (the far one, region r2)

in_ns() {
  local i=$1
  shift
  ip netns exec "${ns[$i]}" "$@"
}
# in_ns_port_open I HOST PORT: something accepts HOST:PORT as seen from host I.
# shellcheck disable=SC2016 # $0 and $1 expand in the inner shell
in_ns_port_open() { in_ns "$1" bash -c 'exec 3<>"/dev/tcp/$0/$1"' "$2" "$3" 2>/dev/null; }
# in_ns_scrape I HOST PORT: /metrics of HOST:PORT as seen from host I (lib.sh's scrape).
in_ns_scrape() { in_ns "$1" bash -c "$(declare -f scrape); scrape \"\$1\" \"\$0\"" "$2" "$3"; }

# ---- namespaces, bridge, veths, aliases ----
build_hosts() {
  step "namespaces: bridge $br, hosts ${ns[*]} (regions ${region[*]})"
  ip netns add "$br"
  created+=("$br")
  ip -n "$br" link set lo up
  ip -n "$br" link add br0 type bridge
  ip -n "$br" link set br0 up
  for i in "${hosts[@]}"; do
    ip netns add "${ns[$i]}"
    created+=("${ns[$i]}")
    ip -n "${ns[$i]}" link set lo up
    ip -n "$br" link add "v$i" type veth peer name eth0 netns "${ns[$i]}"
    ip -n "$br" link set "v$i" master br0 up
    ip -n "${ns[$i]}" addr add "$(real_ip "$i")/24" dev eth0
    ip -n "${ns[$i]}" link set eth0 up
    for k in "${hosts[@]}"; do ip -n "${ns[$i]}" addr add "$(adv_ip "$k")/32" dev lo; done
    ip -n "${ns[$i]}" addr add "$(moved_adv_ip "$mover")/32" dev lo
  done
}

# One relay per host: to every validator k (node and metrics ports), and to the mover's
# second address (ready for the moved-node step; refused until a node listens there).
start_relays() {
  for i in "${hosts[@]}"; do
    local routes=()
    for k in "${hosts[@]}"; do
      local d
      d="$(delay_ms "$i" "$k")"
      routes+=("$(adv_ip "$k"):$(port "$k")=$(real_ip "$k"):$(port "$k")@$d")
      routes+=("$(adv_ip "$k"):$(mport "$k")=$(real_ip "$k"):$(mport "$k")@$d")
    done
    local d
    d="$(delay_ms "$i" "$mover")"
    routes+=("$(moved_adv_ip "$mover"):$(port "$mover")=$(moved_real_ip "$mover"):$(port "$mover")@$d")
    routes+=("$(moved_adv_ip "$mover"):$(mport "$mover")=$(moved_real_ip "$mover"):$(mport "$mover")@$d")
    # A simple command, not a function: `ip netns exec` execs, so $! is the relay itself.
    ip netns exec "${ns[$i]}" "$relay" "${routes[@]}" >"$work/relay-$i.log" 2>&1 &
    relay_pids[i]=$!
    relay_ready() { [ "$(grep -sc ' -> ' "$work/relay-$1.log" || true)" = "$2" ]; }
    wait_for 10 relay_ready "$i" "${#routes[@]}" || fail "the relay of host $i did not start"
  done
  step "relays: one per host, ${#routes[@]} routes each (log: relay-<i>.log)"
}

# ---- network files ----
# `bft init --hosts A_0:7000,...,A_3:7003` writes one folder per host, $work/host-<i>/ with
# node.toml, genesis.toml, node.key (host i's key only) and data/: the genesis names validator
# k at A_k:7000+k and node i advertises A_i (so an address learnt by discovery also goes
# through the relays). Node i listens on R_i, not on every interface: its host's relay listens
# on A_i:7000+i itself (the two sed rewrites). Each node starts from its own folder.
write_network() {
  step "bft init --hosts: 4 $protocol replicas, one folder per host"
  local list=()
  for k in "${hosts[@]}"; do list+=("$(adv_ip "$k"):$(port "$k")"); done
  "$bft" init --hosts "$(IFS=,; echo "${list[*]}")" --protocol "$protocol" --dir "$work" >/dev/null
  for i in "${hosts[@]}"; do
    local h="$work/host-$i"
    sed -i -e "s/^listen = .*/listen = \"$(real_ip "$i"):$(port "$i")\"/" \
      -e "s/^metrics = .*/metrics = \"$(real_ip "$i"):$(mport "$i")\"/" "$h/node.toml"
    grep -q "^listen = \"$(real_ip "$i"):$(port "$i")\"" "$h/node.toml" ||
      fail "host $i: listen not rewritten"
    grep -q "^advertise = \"$(adv_ip "$i"):$(port "$i")\"" "$h/node.toml" ||
      fail "host $i: advertise is not A_$i"
    [ "$(find "$h" -name '*.key' | wc -l)" -eq 1 ] || fail "host $i: more than its own key"
    "$bft" config check --dir "$h" >/dev/null || fail "host $i: bft config check failed"
  done
  # The moved-node step's node file: the same key and data directory (its store and address
  # book stay), a new address to listen on and serve metrics on, and a new one to advertise.
  local m=$mover
  sed -e "s/^listen = .*/listen = \"$(moved_real_ip "$m"):$(port "$m")\"/" \
    -e "s/^metrics = .*/metrics = \"$(moved_real_ip "$m"):$(mport "$m")\"/" \
    -e "s/^advertise = .*/advertise = \"$(moved_adv_ip "$m"):$(port "$m")\"/" \
    "$work/host-$m/node.toml" >"$work/host-$m/node-moved.toml"
  grep -q "^advertise = \"$(moved_adv_ip "$m"):$(port "$m")\"" "$work/host-$m/node-moved.toml" ||
    fail "host $m: node-moved.toml does not advertise $(moved_adv_ip "$m")"
}

# start_host I [NODE FILE]: `bft node` in host I's namespace.
# A simple command, not a function (a function in the background runs in a subshell whose PID
# $! would be): `ip netns exec` execs, so $! is the node's PID.
start_host() {
  ip netns exec "${ns[$1]}" "$bft" node --config "$work/host-$1/${2:-node.toml}" --threads 1 \
    >>"$work/node-$1.log" 2>&1 &
  pids[$1]=$!
}
# wait_listening I HOST: node I accepts on HOST:7000+I within 60 s; fails at once if it exits.
wait_listening() {
  up() {
    kill -0 "${pids[$1]}" 2>/dev/null || fail "node $1 exited at start: $(tail -n 1 "$work/node-$1.log")"
    in_ns_port_open "$1" "$2" "$(port "$1")"
  }
  wait_for 60 up "$1" "$2" || fail "node $1 does not listen on $2:$(port "$1")"
}

# ---- observations ----
client_in() {
  local i=$1
  shift
  in_ns "$i" timeout 120 "$bft" client --genesis "$work/host-$i/genesis.toml" --timeout 10 "$@"
}
# "id view height root" of every replica reachable from host I.
positions() { client_in "$1" status 2>/dev/null | awk '$2 == "yes" { print $1, $3, $4, $5 }'; }
# A HotStuff chain moves on by a view and maybe a block between the answers of two replicas
# (here up to 160 ms apart), so its heights may differ by up to `slack`.
slack=0
[ "$protocol" = hotstuff ] && slack=2
# agree FROM N [ABOVE]: N replicas answer from host FROM, within `slack` of one height (above
# ABOVE, default 0), with one state root among those at the same height.
agree() {
  local lines
  lines="$(positions "$1")" || return 1
  [ "$(echo "$lines" | grep -c .)" -eq "$2" ] || return 1
  echo "$lines" | awk -v s="$slack" -v above="${3:-0}" '
    { if (NR == 1 || $3 < lo) lo = $3; if (NR == 1 || $3 > hi) hi = $3
      if (($3 in root) && root[$3] != $4) bad = 1; root[$3] = $4 }
    END { exit !(hi - lo <= s && lo > above && !bad) }'
}
max_height() { { positions "$1" || true; } | awk 'NR == 1 || $3 > m { m = $3 } END { print m + 0 }'; }
# The leader of the view most replicas report (view mod 4, both engines' default schedule).
leader() { { positions "$1" || true; } | awk '{ print $2 }' | sort | uniq -c | sort -rn | awk 'NR == 1 { print $2 % 4 }'; }
metric() { { in_ns_scrape "$1" "$2" "$(mport "$1")" || true; } |
  awk -v m="$3" '$1 == m || index($1, m "{") == 1 { s += $2 } END { print s + 0 }'; }

# rtt_ms FROM K: milliseconds from sending a metrics GET to validator K through host FROM's
# relay until the first line of the answer.
rtt_ms() {
  # shellcheck disable=SC2016 # expanded by the inner shell
  in_ns "$1" bash -c '
    t0=$EPOCHREALTIME
    exec 3<>"/dev/tcp/$0/$1" || exit 1
    printf "GET /metrics HTTP/1.0\r\n\r\n" >&3
    IFS= read -r _ <&3 || exit 1
    t1=$EPOCHREALTIME
    echo $(( (${t1//[.,]/} - ${t0//[.,]/}) / 1000 ))' "$(adv_ip "$2")" "$(mport "$2")"
}

# SHA-256 of every host's node.toml, genesis.toml and node.key (node-moved.toml is extra).
checksums() {
  (cd "$work" && sha256sum host-*/node.toml host-*/genesis.toml host-*/node.key)
}
files_unchanged() { checksums | cmp -s "$work/files.sha256" -; }

# ---- the steps ----
build_hosts
write_network
checksums >"$work/files.sha256"
start_relays
step "4 bft node processes, one per host"
for i in "${hosts[@]}"; do start_host "$i"; done
for i in "${hosts[@]}"; do wait_listening "$i" "$(real_ip "$i")"; done

step "round trips through the relays (ms, measured; expected 2 x one-way delay)"
printf '%-8s' "from\\to"
for k in "${hosts[@]}"; do printf '%14s' "$k (${region[$k]})"; done
echo
for i in "${hosts[@]}"; do
  printf '%-8s' "$i (${region[$i]})"
  for k in "${hosts[@]}"; do
    want=$((2 * $(delay_ms "$i" "$k")))
    got="$(rtt_ms "$i" "$k")" || fail "no metrics answer from $k through host $i's relay"
    printf '%14s' "$got / $want"
    [ "$got" -ge "$want" ] || fail "round trip $i -> $k took $got ms, less than $want ms"
  done
  echo
done

step "commits across regions: put in r0, get in r2, a load from r1"
client_in 0 put region-key hello >/dev/null || fail "put from host 0 failed"
value="$(client_in 3 get region-key | tail -n 1)"
[ "$value" = hello ] || fail "get region-key from host 3 returned '$value'"
out="$(client_in 2 load --count 500 --batch 10 --concurrency 8)" || fail "load failed: $out"
echo "$out" | tail -n 2
wait_for 60 agree 3 4 || { positions 3 || true; fail "the 4 replicas do not agree"; }
positions 3
for i in "${hosts[@]}"; do
  c="$(metric "$i" "$(real_ip "$i")" bft_committed_transactions_total)"
  h="$(metric "$i" "$(real_ip "$i")" bft_height)"
  echo "host $i /metrics: bft_committed_transactions_total $c bft_height $h"
  { [ "$c" -gt 0 ] && [ "$h" -gt 0 ]; } || fail "host $i: no commits in /metrics"
done

step "SIGKILL the leader; the other 3 keep committing"
crashed="$(leader 1)"
[ -n "$crashed" ] || fail "no leader found"
survivor=$(((crashed + 1) % 4))
before="$(max_height "$survivor")"
echo "leader: node $crashed (host ${ns[$crashed]}, region ${region[$crashed]}), height $before"
kill -KILL "${pids[$crashed]}"
wait "${pids[$crashed]}" 2>/dev/null || true
client_in "$survivor" put after-crash yes >/dev/null || fail "put after the crash failed"
out="$(client_in "$survivor" load --count 200 --batch 10 --concurrency 4)" ||
  fail "load after the crash failed: $out"
wait_for 60 agree "$survivor" 3 "$before" ||
  { positions "$survivor" || true; fail "the 3 others did not commit past $before"; }
positions "$survivor"

step "restart node $crashed; it catches up"
target="$(max_height "$survivor")"
start_host "$crashed"
wait_listening "$crashed" "$(real_ip "$crashed")"
caught_up() { [ "$(metric "$crashed" "$(real_ip "$crashed")" bft_height)" -ge "$target" ]; }
wait_for 60 caught_up || fail "node $crashed did not reach height $target"
client_in "$crashed" put after-restart yes >/dev/null || fail "put after the restart failed"
wait_for 60 agree "$crashed" 4 "$target" ||
  { positions "$crashed" || true; fail "the 4 replicas do not agree after the restart"; }
positions "$crashed"
value="$(client_in "$crashed" get after-crash | tail -n 1)"
[ "$value" = yes ] || fail "get after-crash on host $crashed returned '$value'"

# Issue 16, point 6 (discovery): the mover's node restarts on its host's second address,
# listening on R'_m and advertising A'_m (host-<m>/node-moved.toml: the same folder, so the
# same key, store and address book). No file of any host changes (asserted by checksums): the
# moved node signs a new address record (sequence = wall-clock ms), hands it to each peer when
# its own link dials that peer, and each peer's link to it then dials A'_m: every other host's
# relay accepts a connection on A'_m:7000+m. It catches up, and a put from its host commits.
move_node() {
  local m=$mover
  step "node $m moves to $(moved_real_ip "$m") (advertised $(moved_adv_ip "$m")); no file of its peers changes"
  [ -s "$work/host-$m/data/address_book" ] || fail "node $m saved no address book before the move"
  kill -TERM "${pids[$m]}"
  wait "${pids[$m]}" || fail "node $m did not stop cleanly before the move"
  # Delete R_m first: R'_m added beside it (same /24) would be a secondary address, and the
  # kernel (promote_secondaries off) deletes the secondaries with their primary.
  ip -n "${ns[$m]}" addr del "$(real_ip "$m")/24" dev eth0
  ip -n "${ns[$m]}" addr add "$(moved_real_ip "$m")/24" dev eth0
  ip -n "${ns[$m]}" -4 addr show dev eth0 | grep -q "inet $(moved_real_ip "$m")/24" ||
    fail "host $m has no address $(moved_real_ip "$m")"
  local other=$(((m + 1) % 4)) target
  client_in "$other" put before-move yes >/dev/null || fail "put before the move failed"
  target="$(max_height "$other")"
  local log_from
  log_from=$(($(wc -l <"$work/node-$m.log") + 1))
  start_host "$m" node-moved.toml
  wait_listening "$m" "$(moved_real_ip "$m")"
  local restart_log
  restart_log="$(tail -n "+$log_from" "$work/node-$m.log")"
  grep -q "node loads its address book file=$work/host-$m/data/address_book" <<<"$restart_log" ||
    fail "the moved node $m did not load its address book from host-$m/data"
  grep -qE "state recovers from store node=$m height=[1-9]" <<<"$restart_log" ||
    fail "the moved node $m did not recover its store from host-$m/data"
  moved_caught_up() { [ "$(metric "$m" "$(moved_real_ip "$m")" bft_height)" -ge "$target" ]; }
  wait_for 60 moved_caught_up || fail "the moved node $m did not reach height $target"
  # Each peer's relay accepted a connection on A'_m, and its link to m is up via A'_m (a dial
  # already under way to A_m when the record arrives ends first: up to the handshake timeout
  # of 5 s, then a retry within 2 s).
  local new_addr
  new_addr="$(moved_adv_ip "$m"):$(port "$m")"
  dialled() { grep -q "^bft-relay: $new_addr accepts" "$work/relay-$1.log"; }
  linked() { grep -q "link is up node=$1 peer=$m via=secure:$new_addr\$" "$work/node-$1.log"; }
  found() {
    for i in "${hosts[@]}"; do
      [ "$i" -eq "$m" ] || { dialled "$i" && linked "$i"; } || return 1
    done
  }
  if ! wait_for 30 found; then
    for i in "${hosts[@]}"; do
      [ "$i" -eq "$m" ] && continue
      dialled "$i" || echo "host $i's relay saw no connection to $new_addr"
      linked "$i" || echo "node $i has no link to node $m via $new_addr"
      echo "node $i's log about node $m:"
      grep -E "learns an address .*validator=$m |link .* peer=$m " "$work/node-$i.log" | tail -n 6 || true
    done
    fail "not every peer dialled node $m at $new_addr"
  fi
  for i in "${hosts[@]}"; do
    [ "$i" -eq "$m" ] && continue
    grep -E "learns an address .*validator=$m address=$new_addr |link is up .*peer=$m via=secure:$new_addr\$" \
      "$work/node-$i.log" | tail -n 2 || true
  done
  client_in "$m" put after-move yes >/dev/null || fail "put from the moved node's host failed"
  value="$(client_in 0 get after-move | tail -n 1)"
  [ "$value" = yes ] || fail "get after-move on host 0 returned '$value'"
}
move_node
files_unchanged ||
  fail "a host's files changed: $(checksums | diff "$work/files.sha256" - | tr '\n' ' ')"
echo "every host's node.toml, genesis.toml and node.key are unchanged"

step "clean stop: SIGTERM each node; each exits 0 within 20 s"
for i in "${hosts[@]}"; do kill -TERM "${pids[$i]}"; done
start=$SECONDS
for i in "${hosts[@]}"; do
  gone() { ! kill -0 "${pids[$1]}" 2>/dev/null; }
  wait_for 20 gone "$i" || fail "node $i still runs 20 s after SIGTERM"
  rc=0
  wait "${pids[$i]}" || rc=$?
  [ "$rc" -eq 0 ] || fail "node $i exited with status $rc after SIGTERM"
done
echo "all 4 nodes exited 0 within $((SECONDS - start)) s"
pids=()
echo "PASS: $protocol"
