#!/usr/bin/env bash
# Guards that CI enforces:
#  1. protocols/ and crypto/ interfaces stay pure: protocols/ includes no CAF, spdlog,
#     prometheus-cpp, RocksDB, libsodium or Crypto++ and uses no clock, thread, mutex or
#     random source (design.md section 3).
#  2. every C++ source is formatted with the project's .clang-format (clang-format 14).
#  3. includes follow the dependency direction of design.md section 3 (see below).
#  4. net/ (the network layer's CAF-free core) includes no CAF, logging, metrics or storage.
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
# net/ is the CAF-free core of the network layer (design.md section 5): codecs and the
# address book, tested alone. It uses protocols/common, crypto/ and config/; actors/ uses it.
if bad=$(grep -rnE '#include *[<"](caf/|spdlog/|prometheus/|rocksdb/)|#include *"(actors|tools)/' net 2>/dev/null); then
  echo "guard: net/ must not include CAF, spdlog, prometheus-cpp, RocksDB, actors/ or tools/:"
  echo "$bad"
  status=1
fi
if bad=$(grep -rnE '#include *"net/' protocols crypto config 2>/dev/null); then
  echo "guard: protocols/, crypto/ and config/ must not include net/ (net/ sits above them):"
  echo "$bad"
  status=1
fi
if bad=$(grep -lE '#include *[<"](sodium|cryptopp/|crypto\+\+/)' crypto/*.hpp 2>/dev/null); then
  echo "guard: crypto headers must not include a crypto library (implementation files only):"
  echo "$bad"
  status=1
fi

# 3. the dependency direction of design.md section 3: protocols/common includes only itself;
#    an engine includes neither the other engine nor actors/; protocols/ and crypto/ include
#    nothing of actors/, config/ or tools/; the registry is above the engines, below sim/.
if bad=$(grep -rnE '#include *"(crypto|actors|config|tools|protocols/(pbft|hotstuff|smr|sim))/' protocols/common); then
  echo "guard: protocols/common may include only protocols/common and the standard library:"
  echo "$bad"
  status=1
fi
if bad=$(grep -rnE '#include *"protocols/hotstuff/' protocols/pbft; grep -rnE '#include *"protocols/pbft/' protocols/hotstuff); then
  echo "guard: one engine must not include the other:"
  echo "$bad"
  status=1
fi
# The engine registry (protocols/registry.hpp) sits above both engines and below the simulator,
# the actors and the tools: no engine, protocols/common or protocols/smr includes it, and the
# simulator reaches the engines only through it.
if bad=$(grep -rnE '#include *"protocols/registry\.hpp"' protocols/common protocols/pbft protocols/hotstuff protocols/smr); then
  echo "guard: the engines, protocols/common and protocols/smr must not include protocols/registry.hpp:"
  echo "$bad"
  status=1
fi
if bad=$(grep -rnE '#include *"protocols/(pbft|hotstuff)/' protocols/sim); then
  echo "guard: protocols/sim reaches the engines only through protocols/registry.hpp:"
  echo "$bad"
  status=1
fi
if bad=$(grep -rnE '#include *"(actors|config|tools)/' protocols crypto); then
  echo "guard: protocols/ and crypto/ must not include actors/, config/ or tools/:"
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
[ $status -eq 0 ] && echo "guards: protocols/ is pure, includes follow the dependency direction, sources are formatted"
exit $status
