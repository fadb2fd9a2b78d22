#!/usr/bin/env bash
# `bft client put` with a value from a file (--value-file) and from standard input (`-`), read
# back with `bft client get` from a 4-replica network of `bft node` processes on 127.0.0.1
# (set-up shared with the integration tests, tests/integration/lib.sh); a value of exactly the
# codec's maximum (64 KiB) goes through, one byte more is refused with status 2 before any
# request. Every wait polls with a deadline.
# Usage: client_value_test.sh /path/to/bft
set -euo pipefail
bft="$1"
protocol=pbft
work="$(mktemp -d "${TMPDIR:-/tmp}/bft-cli-value-XXXXXX")"
pids=()

# shellcheck source=tests/integration/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../integration/lib.sh"
launch_network

client() { timeout 120 "$bft" client --genesis "$genesis" --timeout 10 "$@"; }

step "put --value-file, then get it back"
printf 'a value with spaces, "quotes" and a tab\there' >"$work/value.txt"
client put from-file --value-file "$work/value.txt" >/dev/null || fail "put --value-file failed"
got="$(client get from-file | tail -n 1)"
[ "$got" = "$(cat "$work/value.txt")" ] || fail "get from-file returned '$got'"

step "put - (standard input) with a value of exactly 65536 bytes, then get it back"
head -c 65536 /dev/zero | tr '\0' s >"$work/max.value"
client put from-stdin - <"$work/max.value" >/dev/null || fail "put - failed"
client get from-stdin | tail -n 1 >"$work/got.value"
head -c 65536 "$work/got.value" | cmp -s - "$work/max.value" ||
  fail "get from-stdin did not return the 65536 bytes put"
[ "$(wc -c <"$work/got.value")" -eq 65537 ] || fail "get from-stdin returned $(wc -c <"$work/got.value") bytes"

step "one byte more is refused before any request: status 2, one line"
head -c 65537 /dev/zero | tr '\0' s >"$work/over.value"
set +e
"$bft" client --genesis "$genesis" put over - <"$work/over.value" >"$work/out" 2>"$work/err"
status=$?
set -e
[ $status -eq 2 ] || fail "over-limit put exited $status"
[ "$(wc -l <"$work/err")" -eq 1 ] || fail "over-limit put printed: $(cat "$work/err")"
got="$(client get over | tail -n 1)"
[ "$got" = "(not found)" ] || fail "the refused value was stored: '$got'"
echo "PASS: client values from a file and standard input"
