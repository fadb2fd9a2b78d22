#!/usr/bin/env bash
# Builds the libFuzzer targets (tests/fuzz, README "Fuzzing") with clang 14 and runs each for a
# fixed time on its seed corpus, as many at once as there are cores. Fails on any crash, leak,
# timeout or broken invariant, printing the reproducer; new inputs stay in the build directory.
# Usage: tools/fuzz.sh [seconds per target, default 20] [target ...]   (default: all)
# Environment: BFT_FUZZ_BUILD_DIR (default build-fuzz), BFT_FUZZ_JOBS (targets run at once,
# default nproc), CI=true for -Werror.
# Reproduce a finding: build-fuzz/tests/fuzz/<target>_fuzz <reproducer file>
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${BFT_FUZZ_BUILD_DIR:-$root/build-fuzz}"
seconds="${1:-20}"
shift || true

for p in clang-14 libclang-rt-14-dev; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || {
    echo "fuzz: $p is missing (tools/setup.sh installs it)"
    exit 1
  }
done

werror=OFF
[ "${CI:-}" = "true" ] && werror=ON
launcher=()
command -v ccache >/dev/null && launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
# -O1 with line tables: quick to build, fast enough to fuzz, readable stack traces; asserts on.
CC=clang-14 CXX=clang++-14 cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -gline-tables-only" \
  -DBFT_FUZZ=ON -DBFT_WERROR="$werror" "${launcher[@]}" >/dev/null
start=$(date +%s)
cmake --build "$build" -j"$(nproc)" --target fuzz_targets
echo "fuzz: built in $(( $(date +%s) - start )) s"

targets=("$@")
if [ "${#targets[@]}" -eq 0 ]; then
  for f in "$root"/tests/fuzz/*_fuzz.cpp; do
    n="$(basename "$f" _fuzz.cpp)"
    targets+=("$n")
  done
fi

out="$build/fuzz-runs"
jobs="${BFT_FUZZ_JOBS:-$(nproc)}"

# Runs one target; writes its one-line verdict to $out/<target>/verdict; fails on a finding.
run_one() {
  local t="$1" bin="$build/tests/fuzz/${1}_fuzz" seeds="$root/tests/fuzz/corpus/$1"
  local dir="$out/$t"
  mkdir -p "$dir/corpus" "$dir/artifacts"
  rm -f "$dir/artifacts/"* "$dir/verdict"
  if [ ! -x "$bin" ]; then
    echo "fuzz: $t: no binary $bin (is it in tests/fuzz/CMakeLists.txt?)" >"$dir/verdict"
    return 1
  fi
  if [ ! -d "$seeds" ]; then
    echo "fuzz: $t: no seed corpus $seeds" >"$dir/verdict"
    return 1
  fi
  # New inputs go to $dir/corpus (the first directory); the seeds are only read.
  if ASAN_OPTIONS="detect_leaks=1:abort_on_error=1" UBSAN_OPTIONS="print_stacktrace=1" \
    "$bin" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -detect_leaks=1 \
      -print_final_stats=1 -artifact_prefix="$dir/artifacts/" "$dir/corpus" "$seeds" \
      >"$dir/log" 2>&1; then
    local runs cov
    runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$dir/log" | grep -o '[0-9]*$' || echo "?")
    cov=$(grep -o 'cov: [0-9]*' "$dir/log" | tail -1 || true)
    echo "fuzz: $t: ok, $runs runs in $seconds s, ${cov:-cov: ?}" >"$dir/verdict"
    return 0
  fi
  {
    echo "fuzz: $t: FAILED (log: $dir/log)"
    grep -E 'ERROR: |SUMMARY: |Test unit written' "$dir/log" | head -8 || true
    for a in "$dir/artifacts/"*; do
      [ -e "$a" ] && echo "fuzz: $t: reproducer: $a (replay: $bin $a)"
    done
  } >"$dir/verdict"
  return 1
}

# `jobs` targets at a time (one core each), verdicts printed in target order.
status=0
running=0
for t in "${targets[@]}"; do
  if [ "$running" -ge "$jobs" ]; then
    wait -n || status=1
    running=$((running - 1))
  fi
  run_one "$t" &
  running=$((running + 1))
done
while [ "$running" -gt 0 ]; do
  wait -n || status=1
  running=$((running - 1))
done
for t in "${targets[@]}"; do cat "$out/$t/verdict"; done
echo "fuzz: finished in $(( $(date +%s) - start )) s"
exit $status
