#!/usr/bin/env bash
# The README's run command: installs, builds, then runs the main job.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${BFT_BUILD_DIR:-$root/build}"
"$root/tools/setup.sh" "$build"
exec "$build/tools/bft" cluster "$@"
