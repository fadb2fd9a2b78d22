#!/usr/bin/env bash
# The README's run command: installs, builds, then runs the main job (`bft cluster`).
# Until `bft cluster` exists, it generates a 4-replica PBFT network with `bft init` instead,
# and prints what it made.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${BFT_BUILD_DIR:-$root/build}"
"$root/tools/setup.sh" "$build"
bft="$build/tools/bft"

# `bft --help` lists the sub-commands, one per line, indented. (`bft cluster --help` is no test:
# CLI11 answers --help with the top-level help even when `cluster` is unknown, and exits 0.)
if "$bft" --help 2>/dev/null | grep -qE '^[[:space:]]+cluster([[:space:]]|$)'; then
  exec "$bft" cluster "$@"
fi

dir="$(mktemp -d "${TMPDIR:-/tmp}/bft-network-XXXXXX")"
echo "run: 'bft cluster' is not built yet; generating a 4-replica network instead"
"$bft" init --replicas 4 --protocol pbft --dir "$dir/net"
for f in "$dir/net/genesis.toml" "$dir/net"/node-*.toml; do
  echo
  echo "== $f"
  cat "$f"
done
echo
for f in "$dir/net"/node-*.toml; do
  "$bft" config check --node "$f"
done
