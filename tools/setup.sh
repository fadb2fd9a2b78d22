#!/usr/bin/env bash
# One place for set-up: installs the Debian 12 packages the build and tests need (only when
# one is missing), then configures and builds. Usage: tools/setup.sh [build-dir]
# Environment: BFT_BUILD_TYPE (default Release), BFT_SANITIZE=ON for ASan+UBSan, CI=true for -Werror,
# BFT_TARGETS to build only some targets, BFT_OPT_FLAGS to replace the build type's optimisation
# and debug flags (e.g. "-O1 -g1 -DNDEBUG"; kept in the build directory's cache).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${1:-$root/build}"

packages=(
  build-essential cmake pkg-config git ca-certificates
  libcaf-dev libsodium-dev libcrypto++-dev libspdlog-dev prometheus-cpp-dev
  doctest-dev librocksdb-dev libcli11-dev libtomlplusplus-dev libbenchmark-dev nlohmann-json3-dev
  clang-format gnuplot-nox curl
  clang-14 libclang-rt-14-dev # the libFuzzer targets (tools/fuzz.sh)
)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  sudo_cmd=""
  [ "$(id -u)" -ne 0 ] && sudo_cmd="sudo"
  $sudo_cmd apt-get update
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y "${missing[@]}"
fi

werror=OFF
[ "${CI:-}" = "true" ] && werror=ON
build_type="${BFT_BUILD_TYPE:-Release}"
opt=()
[ -n "${BFT_OPT_FLAGS:-}" ] && opt=(-DCMAKE_CXX_FLAGS_"${build_type^^}"="$BFT_OPT_FLAGS")
cmake -S "$root" -B "$build" \
  -DCMAKE_BUILD_TYPE="$build_type" \
  -DBFT_WERROR="$werror" \
  -DBFT_SANITIZE="${BFT_SANITIZE:-OFF}" "${opt[@]}" >/dev/null
# BFT_TARGETS: build only these targets (e.g. unit_tests); default everything.
targets=()
[ -n "${BFT_TARGETS:-}" ] && targets=(--target ${BFT_TARGETS})
cmake --build "$build" -j"$(nproc)" "${targets[@]}"
