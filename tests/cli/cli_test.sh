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

if [ "$failures" -ne 0 ]; then
  echo "cli_test: $failures failure(s)"
  exit 1
fi
echo "cli_test: all checks passed"
