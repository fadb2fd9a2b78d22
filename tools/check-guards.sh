#!/usr/bin/env bash
# Guards that CI enforces:
#  1. protocols/ and crypto/ interfaces stay pure: protocols/ includes no CAF, spdlog,
#     prometheus-cpp, RocksDB, libsodium or Crypto++ and uses no clock, thread, mutex or
#     random source (design.md section 3).
#  2. every C++ source is formatted with the project's .clang-format (clang-format 14).
set -uo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
status=0

pattern='#include *[<"](caf/|spdlog/|prometheus/|rocksdb/|sodium|cryptopp/|crypto\+\+/)|std::thread|std::jthread|std::mutex|std::async|system_clock|steady_clock|high_resolution_clock|std::random_device|[^a-z_]rand\(|[^a-z_]time\(|<chrono>|<thread>|<mutex>|<random>'
if bad=$(grep -rnE "$pattern" protocols); then
  echo "guard: protocols/ must stay pure (no CAF, logging, metrics, storage, crypto libraries, clocks, threads or randomness):"
  echo "$bad"
  status=1
fi
if bad=$(grep -rnE '#include *[<"](caf/|spdlog/|prometheus/|rocksdb/)' crypto); then
  echo "guard: crypto/ must not include CAF, spdlog, prometheus-cpp or RocksDB:"
  echo "$bad"
  status=1
fi
if bad=$(grep -lE '#include *[<"](sodium|cryptopp/|crypto\+\+/)' crypto/*.hpp 2>/dev/null); then
  echo "guard: crypto headers must not include a crypto library (implementation files only):"
  echo "$bad"
  status=1
fi

if command -v clang-format >/dev/null; then
  files=$(git ls-files '*.cpp' '*.hpp' 2>/dev/null)
  if [ -n "$files" ]; then
    unformatted=$(for f in $files; do
      [ -f "$f" ] && ! clang-format --dry-run --Werror "$f" >/dev/null 2>&1 && echo "$f"
    done)
    if [ -n "$unformatted" ]; then
      echo "guard: not formatted with .clang-format (run tools/format.sh):"
      echo "$unformatted"
      status=1
    fi
  fi
fi
[ $status -eq 0 ] && echo "guards: protocols/ is pure, sources are formatted"
exit $status
