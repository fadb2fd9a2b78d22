#!/usr/bin/env bash
# The README's run command: installs what is missing, builds, then runs the main job:
# `bft cluster` — 4 replicas in one process with a built-in load and a status line each second.
# Flags pass through, e.g. tools/run.sh --protocol hotstuff --duration 30
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${BFT_BUILD_DIR:-$root/build}"
"$root/tools/setup.sh" "$build"
exec "$build/tools/bft" cluster "$@"
