#!/usr/bin/env bash
# Runs the built `bft` binary the way a user does: bft init, bft config check, bft keygen, and
# bad input (missing, malformed and loosely permitted files, unknown flags), which must give
# exit status 2, one line naming the file, and no half-written output.
# Usage: cli_test.sh /path/to/bft
set -uo pipefail
bft="$1"
work="$(mktemp -d "${TMPDIR:-/tmp}/bft-cli-test-XXXXXX")"
trap 'rm -rf "$work"' EXIT
failures=0

fail() {
  echo "FAIL: $*"
  failures=$((failures + 1))
}

# run <expected status> <args...>: runs bft, keeps stdout in $out and stderr in $err.
run() {
  local want="$1"
  shift
  "$bft" "$@" >"$work/.out" 2>"$work/.err"
  status=$?
  out="$(cat "$work/.out")"
  err="$(cat "$work/.err")"
  if [ "$status" -ne "$want" ]; then
    fail "bft $* exited $status, expected $want (stderr: $err)"
  fi
}

# bad_input <text the one line must contain> <args...>: exit 2, exactly one line on stderr.
bad_input() {
  local expect="$1"
  shift
  run 2 "$@"
  [ "$(printf '%s\n' "$err" | wc -l)" -eq 1 ] || fail "bft $*: expected one line, got: $err"
  case "$err" in
  *"$expect"*) ;;
  *) fail "bft $*: message '$err' does not contain '$expect'" ;;
  esac
  [ -z "$out" ] || fail "bft $*: printed on stdout: $out"
}

listing() { (cd "$1" && ls -A | sort | tr '\n' ' '); }

# --- bft --help lists the sub-commands -----------------------------------------------------
run 0 --help
for c in config init keygen version; do
  printf '%s\n' "$out" | grep -qE "^[[:space:]]+$c([[:space:]]|$)" || fail "--help lacks $c"
done

# --- bft init writes a 4-replica network that loads back -----------------------------------
net="$work/net"
run 0 init --replicas 4 --protocol pbft --dir "$net" --base-port 17000
want="data-0 data-1 data-2 data-3 genesis.toml node-0.key node-0.toml node-1.key node-1.toml node-2.key node-2.toml node-3.key node-3.toml "
[ "$(listing "$net")" = "$want" ] || fail "init wrote: $(listing "$net")"
# Each data directory holds only the first-start marker (README, "Data directories").
for i in 0 1 2 3; do
  [ "$(listing "$net/data-$i")" = "FIRST_START " ] || fail "init data-$i holds: $(listing "$net/data-$i")"
done
for i in 0 1 2 3; do
  [ "$(stat -c %a "$net/node-$i.key")" = 600 ] || fail "node-$i.key mode $(stat -c %a "$net/node-$i.key")"
  case "$out" in *"node-$i.toml"*) ;; *) fail "init did not print node-$i.toml" ;; esac
done
for i in 0 1 2 3; do
  run 0 config check --node "$net/node-$i.toml"
  case "$out" in
  "ok: $net/node-$i.toml: replica $i, listen 127.0.0.1:1700$i,"*) ;;
  *) fail "config check node-$i printed: $out" ;;
  esac
done
run 0 config check --genesis "$net/genesis.toml" --node "$net/node-2.toml"
run 0 config check --genesis "$net/genesis.toml"
case "$out" in *"pbft, 4 validators"*"quorum weight 3"*) ;; *) fail "genesis summary: $out" ;; esac

# --- bft keygen ------------------------------------------------------------------------------
run 0 keygen --out "$work/a.key"
[[ "$out" =~ ^[0-9a-f]{64}$ ]] || fail "keygen printed '$out', not a public key in hex"
pub="$out"
[ "$(stat -c %a "$work/a.key")" = 600 ] || fail "keygen wrote mode $(stat -c %a "$work/a.key")"
run 0 keygen --show "$work/a.key"
[ "$out" = "$pub" ] || fail "keygen --show printed $out, expected $pub"
before="$(cat "$work/a.key")"
bad_input "$work/a.key: already exists" keygen --out "$work/a.key"
[ "$(cat "$work/a.key")" = "$before" ] || fail "keygen replaced an existing key file"

# --- loose key permissions → exit 2 ----------------------------------------------------------
chmod 0644 "$work/a.key"
bad_input "$work/a.key: mode 0644" keygen --show "$work/a.key"
chmod 0640 "$net/node-1.key"
bad_input "$net/node-1.key: mode 0640" config check --node "$net/node-1.toml"
chmod 0600 "$net/node-1.key"

# --- missing and malformed files → exit 2, one line naming the file --------------------------
bad_input "$work/absent.toml: cannot open" config check --genesis "$work/absent.toml"
bad_input "$work/absent.toml: cannot open" config check --node "$work/absent.toml"
bad_input "$work/absent.key: cannot open" keygen --show "$work/absent.key"
sed 's/^weight = 1$/weight = 0/' "$net/genesis.toml" >"$work/zero.toml"
bad_input "$work/zero.toml: validators[0].weight: must be > 0" config check --genesis "$work/zero.toml"
printf 'chain_id = "x\n' >"$work/broken.toml"
bad_input "$work/broken.toml:1:" config check --genesis "$work/broken.toml"
printf 'not a key\n' >"$work/bad.key"
chmod 0600 "$work/bad.key"
bad_input "$work/bad.key: line 1" keygen --show "$work/bad.key"
sed 's/^id = 2$/id = 9/' "$net/node-2.toml" >"$net/node-9.toml"
bad_input "$net/node-9.toml: id: 9 is not a validator" config check --node "$net/node-9.toml"
rm "$net/node-9.toml"

# --- unknown flags → exit 2, and they do nothing -----------------------------------------------
run 2 --no-such-flag
run 2 init --dir "$work/flagged" --no-such-flag
[ ! -e "$work/flagged" ] || fail "init with an unknown flag created $work/flagged"
run 2 keygen --out "$work/flagged.key" --no-such-flag
[ ! -e "$work/flagged.key" ] || fail "keygen with an unknown flag wrote a key"
run 2 init --dir "$work/three" --replicas 3
run 2 init --dir "$work/raft" --protocol raft

# --- a failed init leaves nothing behind -------------------------------------------------------
before="$(listing "$net")"
bad_input "$net/genesis.toml: already exists" init --dir "$net"
[ "$(listing "$net")" = "$before" ] || fail "failed init changed $net: $(listing "$net")"
mkdir "$work/partial" && echo "mine" >"$work/partial/node-3.key"
bad_input "$work/partial/node-3.key: already exists" init --dir "$work/partial"
[ "$(listing "$work/partial")" = "node-3.key " ] || fail "failed init left: $(listing "$work/partial")"
[ "$(cat "$work/partial/node-3.key")" = "mine" ] || fail "failed init replaced node-3.key"
bad_input "base_port: must be between 1 and" init --dir "$work/deep/er/net" --replicas 4 --base-port 65500
[ ! -e "$work/deep" ] || fail "failed init left $work/deep"
leftovers="$(find "$work" -name '.*tmp-*' -o -name '.bft-init-*')"
[ -z "$leftovers" ] || fail "temporary files left behind: $leftovers"

# --- bft init --hosts: one folder per host, each with only its own key ---------------------------
hosts="$work/hosts"
run 0 init --hosts 10.0.0.1,10.0.0.2,10.0.0.3:7005,node-d.example --dir "$hosts" --protocol hotstuff
[ "$(listing "$hosts")" = "host-0 host-1 host-2 host-3 " ] || fail "init --hosts wrote: $(listing "$hosts")"
addr=(10.0.0.1:7000 10.0.0.2:7000 10.0.0.3:7005 node-d.example:7000)
pubs=""
for i in 0 1 2 3; do
  h="$hosts/host-$i"
  [ "$(listing "$h")" = "data genesis.toml node.key node.toml " ] || fail "host-$i holds: $(listing "$h")"
  [ "$(find "$h" -name '*.key' | wc -l)" -eq 1 ] || fail "host-$i holds more than one key"
  [ "$(listing "$h/data")" = "FIRST_START " ] || fail "host-$i/data holds: $(listing "$h/data")"
  [ "$(stat -c %a "$h/node.key")" = 600 ] || fail "host-$i/node.key mode $(stat -c %a "$h/node.key")"
  cmp -s "$h/genesis.toml" "$hosts/host-0/genesis.toml" || fail "host-$i has another genesis"
  grep -qx "id = $i" "$h/node.toml" || fail "host-$i/node.toml is not replica $i"
  grep -qx "advertise = \"${addr[$i]}\"" "$h/node.toml" || fail "host-$i does not advertise ${addr[$i]}"
  run 0 config check --dir "$h" --hosts 10.0.0.1,10.0.0.2,10.0.0.3:7005,node-d.example
  case "$out" in "ok: $h/node.toml: replica $i, listen 0.0.0.0:${addr[$i]##*:},"*) ;; *) fail "check host-$i: $out" ;; esac
  [ -z "$err" ] || fail "check host-$i warned: $err"
  run 0 keygen --show "$h/node.key"
  pubs="$pubs $out"
done
[ "$(printf '%s\n' $pubs | sort -u | wc -l)" -eq 4 ] || fail "init --hosts reused a key"
# A folder holding another host's key is refused, naming whose key it is.
cp -p "$hosts/host-1/node.key" "$work/host-1.key"
cp -p "$hosts/host-2/node.key" "$hosts/host-1/node.key"
bad_input "holds the key of validator 2 (10.0.0.3:7005, another host)" config check --dir "$hosts/host-1"
cp -p "$work/host-1.key" "$hosts/host-1/node.key"
run 0 config check --dir "$hosts/host-1"
# A hosts list with a host the genesis does not know, or without one it knows.
bad_input '--hosts: "10.0.0.9:7000" is an unknown host' config check --dir "$hosts/host-0" --hosts 10.0.0.1,10.0.0.2,10.0.0.3:7005,10.0.0.9
bad_input 'validators[3].address "node-d.example:7000" is not in --hosts' config check --genesis "$hosts/host-0/genesis.toml" --hosts 10.0.0.1,10.0.0.2,10.0.0.3:7005
# Duplicates, from the option or a file: exit 2, one line naming the entry; nothing written.
bad_input '--hosts: "10.0.0.1:7000" is listed twice' init --hosts 10.0.0.1,10.0.0.2,10.0.0.3,10.0.0.1:7000 --dir "$work/dup"
printf '# four machines\n10.0.0.1\n10.0.0.2:7001\n\n10.0.0.3\n10.0.0.2:7001 # again\n' >"$work/hosts.txt"
bad_input "$work/hosts.txt:6: \"10.0.0.2:7001\" is listed twice" init --hosts-file "$work/hosts.txt" --dir "$work/dup"
[ ! -e "$work/dup" ] || fail "init with duplicate hosts created $work/dup"
bad_input "$hosts/host-0: already exists" init --hosts a,b,c,d --dir "$hosts"
bad_input "must list between 4 and 100 hosts, found 3" init --hosts a,b,c --dir "$work/three-hosts"
run 2 init --hosts a,b,c,d --replicas 4 --dir "$work/both"
[ ! -e "$work/both" ] || fail "init with --hosts and --replicas created $work/both"

# --- key ceremony: keygen on each host, genesis from public keys, a folder per host ------------
cer="$work/ceremony"
mkdir -p "$cer"
vals=()
for i in 1 2 3 4; do
  run 0 keygen --out "$cer/m$i/node.key"
  vals+=(--validator "$out@127.0.0.$i:7000")
  printf '%s@127.0.0.%s:7000\n' "$out" "$i" >>"$cer/validators.txt"
  [ "$(stat -c %a "$cer/m$i")" = 700 ] || fail "keygen made $cer/m$i with mode $(stat -c %a "$cer/m$i")"
done
run 0 genesis --protocol pbft --chain-id ceremony "${vals[@]}" --out "$cer/genesis.toml"
case "$out" in *"4 validators"*"sha3-256 "*) ;; *) fail "genesis printed: $out" ;; esac
sum="$(printf '%s\n' "$out" | sed -n 's/^sha3-256 \([0-9a-f]*\).*/\1/p')"
if command -v openssl >/dev/null; then
  [ "$(openssl dgst -sha3-256 -r "$cer/genesis.toml" | cut -d' ' -f1)" = "$sum" ] || fail "genesis sha3-256 is not the file's"
fi
run 0 genesis --protocol pbft --chain-id ceremony --validators-file "$cer/validators.txt" --out "$cer/from-file.toml"
cmp -s "$cer/genesis.toml" "$cer/from-file.toml" || fail "genesis from a file differs from --validator"
for i in 1 2 3 4; do
  run 0 init --genesis "$cer/genesis.toml" --key "$cer/m$i/node.key" --dir "$cer/m$i"
  [ "$(listing "$cer/m$i")" = "data genesis.toml node.key node.toml " ] || fail "m$i holds: $(listing "$cer/m$i")"
  grep -qx 'key_file = "node.key"' "$cer/m$i/node.toml" || fail "m$i/node.toml does not name its own key"
  run 0 config check --dir "$cer/m$i"
  case "$out" in "ok: $cer/m$i/node.toml: replica $((i - 1)), listen 0.0.0.0:7000,"*) ;; *) fail "check m$i: $out" ;; esac
done
bad_input "$cer/m1/genesis.toml: already exists" init --genesis "$cer/genesis.toml" --key "$cer/m1/node.key" --dir "$cer/m1"
run 0 keygen --out "$work/stranger.key"
bad_input "$work/stranger.key: its public key" init --genesis "$cer/genesis.toml" --key "$work/stranger.key" --dir "$work/stranger"
[ ! -e "$work/stranger" ] || fail "init with a stranger's key created $work/stranger"
pk="${vals[1]%@*}"
bad_input '--validator: "zz@10.0.0.1" has a bad public key' genesis --protocol pbft --chain-id c --validator zz@10.0.0.1 --out "$work/g1.toml"
bad_input "is listed twice as a public key" genesis --protocol pbft --chain-id c --validator "$pk@a" "$pk@b" --out "$work/g1.toml"
bad_input '--validator: "a:7000" is listed twice' genesis --protocol pbft --chain-id c --validator "${vals[1]%@*}@a" "${vals[3]%@*}@a:7000" --out "$work/g1.toml"
[ ! -e "$work/g1.toml" ] || fail "a refused genesis was written"
bad_input "$cer/genesis.toml: already exists" genesis --protocol pbft --chain-id ceremony "${vals[@]}" --out "$cer/genesis.toml"

# --- bft client: keys and values over the codec's limits are refused before any request ------
big_key="$(head -c 1025 /dev/zero | tr '\0' k)"
bad_input "client: key: 1025 bytes, over the maximum of 1024" client --genesis "$net/genesis.toml" get "$big_key"
head -c 65537 /dev/zero | tr '\0' v >"$work/big.value"
bad_input "client: value: $work/big.value holds more than 65536 bytes" client --genesis "$net/genesis.toml" put k --value-file "$work/big.value"
run 2 client --genesis "$net/genesis.toml" put k - <"$work/big.value"
[ "$err" = "bft: client: value: standard input holds more than 65536 bytes, the maximum of a value (protocols/smr/kv_tx.hpp)" ] || fail "over-limit stdin value: $err"
bad_input "client: $work/absent.value: cannot open" client --genesis "$net/genesis.toml" put k --value-file "$work/absent.value"
bad_input "usage: bft client" client --genesis "$net/genesis.toml" get k --value-file "$work/big.value"

# --- bft node: BASP on an address other than loopback only with allow_public_basp ------------
basp_port=$((20000 + RANDOM % 10000))
sed -e "s/^listen = .*/listen = \"0.0.0.0:$basp_port\"/" -e '/^metrics = /d' \
  -e 's/^data_dir = .*/data_dir = "data-basp"/' -e 's/^transport = .*/transport = "basp"/' \
  "$net/node-0.toml" >"$net/node-basp.toml"
run 2 node --config "$net/node-basp.toml"
case "$out$err" in
*"refuses to publish BASP on a non-loopback address address=0.0.0.0:$basp_port"*) ;;
*) fail "a public BASP port was not refused: $out$err" ;;
esac
echo "allow_public_basp = true" >>"$net/node-basp.toml"
timeout 3 "$bft" node --config "$net/node-basp.toml" >"$work/.out" 2>&1
status=$?
[ "$status" -eq 124 ] || fail "with allow_public_basp the node should run until stopped (status $status)"
grep -q "transport=basp" "$work/.out" || fail "with allow_public_basp the node did not listen: $(cat "$work/.out")"

if [ "$failures" -ne 0 ]; then
  echo "cli_test: $failures failure(s)"
  exit 1
fi
echo "cli_test: all checks passed"
