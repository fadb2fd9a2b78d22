#!/usr/bin/env bash
# Long-run check (issue 7, not in CI): a 4-replica `bft cluster` with RocksDB stores under a
# steady load for DURATION seconds (default 600); every INTERVAL seconds (default 10) prints
# the process's resident memory (VmRSS) and the size of its data directory. After warm-up
# (the first fifth of the run) both must stay flat: snapshots prune the entry log, RocksDB
# bounds its WAL, and the engines prune below their stable point. At the end it prints the
# growth from warm-up to the end and exits 1 if either grew by more than 50 %.
#
# Usage: tools/longrun.sh [--duration S] [--interval S] [--protocol pbft|hotstuff]
#                         [--tx-rate R] [--bft PATH] [--dir DIR]
set -uo pipefail
duration=600
interval=10
protocol=pbft
rate=1000
bft="$(dirname "$0")/../build/tools/bft"
dir=""
while [ $# -gt 0 ]; do
  case "$1" in
  --duration) duration="$2"; shift 2 ;;
  --interval) interval="$2"; shift 2 ;;
  --protocol) protocol="$2"; shift 2 ;;
  --tx-rate) rate="$2"; shift 2 ;;
  --bft) bft="$2"; shift 2 ;;
  --dir) dir="$2"; shift 2 ;;
  *) echo "tools/longrun.sh: unknown argument '$1'" >&2; exit 2 ;;
  esac
done
[ -x "$bft" ] || { echo "tools/longrun.sh: no bft binary at $bft (build first, or pass --bft)" >&2; exit 2; }
own_dir=0
if [ -z "$dir" ]; then
  dir="$(mktemp -d "${TMPDIR:-/tmp}/bft-longrun-XXXXXX")"
  own_dir=1
fi
log="$dir.log"
"$bft" cluster --protocol "$protocol" --duration "$duration" --tx-rate "$rate" \
  --data-dir "$dir/data" >"$log" 2>&1 &
pid=$!
cleanup() {
  kill "$pid" 2>/dev/null
  wait "$pid" 2>/dev/null
  [ "$own_dir" -eq 1 ] && rm -rf "$dir"
}
trap cleanup EXIT

warm=$((duration / 5))
rss_warm=""
du_warm=""
rss=0
du_kb=0
printf '%8s %10s %10s %12s  %s\n' "time_s" "rss_kb" "data_kb" "height" "last status line"
start=$SECONDS
while kill -0 "$pid" 2>/dev/null; do
  sleep "$interval"
  kill -0 "$pid" 2>/dev/null || break
  t=$((SECONDS - start))
  rss="$(awk '/^VmRSS:/ {print $2}' "/proc/$pid/status" 2>/dev/null)"
  du_kb="$(du -sk "$dir/data" 2>/dev/null | awk '{print $1}')"
  status="$(grep -a "height" "$log" | tail -n 1 | cut -c1-90)"
  height="$(printf '%s\n' "$status" | sed -n 's/.*height[= ]*\([0-9]*\).*/\1/p')"
  printf '%8d %10s %10s %12s  %s\n' "$t" "${rss:-?}" "${du_kb:-?}" "${height:-?}" "$status"
  if [ -z "$rss_warm" ] && [ "$t" -ge "$warm" ]; then
    rss_warm="$rss"
    du_warm="$du_kb"
  fi
done
wait "$pid"
rc=$?
tail -n 6 "$log"
if [ -z "$rss_warm" ] || [ -z "$rss" ] || [ "$rss" = "0" ]; then
  echo "longrun: too short to compare (warm-up is the first $warm s)"
  exit "$rc"
fi
echo "longrun: after warm-up (${warm} s) rss ${rss_warm} kB -> ${rss} kB, data ${du_warm} kB -> ${du_kb} kB"
awk -v a="$rss_warm" -v b="$rss" -v c="$du_warm" -v d="$du_kb" 'BEGIN {
  gr = (b - a) / a * 100; gd = (d - c) / (c > 0 ? c : 1) * 100;
  printf "longrun: growth rss %+.1f %%, data %+.1f %%\n", gr, gd;
  exit (gr > 50 || gd > 50) ? 1 : 0 }' || { echo "longrun: FAIL, grew after warm-up"; exit 1; }
exit "$rc"
