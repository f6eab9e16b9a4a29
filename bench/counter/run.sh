#!/usr/bin/env bash
# Counting benchmark: `file-monitor count` against find, du, fd and Python's os.walk/os.scandir
# on the two trees of the counting issue (warm and cold caches, alternating), the incremental
# rescan against a full scan, and the walk through latencyfs (a fixed latency per metadata
# request, as on EFS) at several thread counts. Prints Markdown tables of medians and ratios.
#
# Environment: EFSAS_BENCH_TREES (where the generated trees are kept between runs, default
# /var/tmp/efsas-bench-trees), EFSAS_BENCH_BUILD (release build directory, default
# build/counter-rel), EFSAS_BENCH_RUNS (rounds, default 5), EFSAS_BENCH_COLD_RUNS (default 3),
# EFSAS_BENCH_LATENCY_US (default 1000), EFSAS_BENCH_THREADS (default 16),
# EFSAS_BENCH_SKIP (space-separated parts to skip: warm cold incremental latency).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
trees=${EFSAS_BENCH_TREES:-/var/tmp/efsas-bench-trees}
build=${EFSAS_BENCH_BUILD:-$root/build/counter-rel}
runs=${EFSAS_BENCH_RUNS:-5}
cold_runs=${EFSAS_BENCH_COLD_RUNS:-3}
latency_us=${EFSAS_BENCH_LATENCY_US:-1000}
threads=${EFSAS_BENCH_THREADS:-16}
skip=${EFSAS_BENCH_SKIP:-}
out="$build/bench-counter"
unset SCAN_CACHE_PATH SCAN_THREADS

skipped() { [[ " $skip " == *" $1 "* ]]; }

echo "## Building (release)" >&2
if [[ ! -f "$build/CMakeCache.txt" ]]; then
  cmake --preset release -B "$build" >/dev/null
fi
cmake --build "$build" --target file-monitor latencyfs rescan_floor -j2 >/dev/null
fm="$build/lambda/app/file-monitor"
floor="$build/bench/counter/rescan_floor"
latencyfs="$build/tools/latencyfs/latencyfs"

mkdir -p "$trees" "$out"
for spec in "flat flat" "deep deep" "latency-tree small"; do
  read -r name kind <<<"$spec"
  if [[ ! -d "$trees/$name" ]]; then
    echo "## Generating $trees/$name (once; kept for later runs)" >&2
    python3 "$here/make_tree.py" "$kind" "$trees/$name"
  fi
done

# shellcheck disable=SC2185  # GNU find: --version needs no path
cat <<EOF2
# Counting benchmark

- machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2 / 1048576}' /proc/meminfo), kernel $(uname -r), $(findmnt -no FSTYPE --target "$trees") under $trees
- load average at start: $(cut -d' ' -f1-3 /proc/loadavg)
- file-monitor: --threads $threads; fd: $(fdfind --version); find: $(find --version | head -1)
EOF2

py_walk='python3 -c "import os,sys; print(sum(len(f) for _, _, f in os.walk(sys.argv[1])))"'
py_scandir='python3 -c "
import os, sys
def count(p):
    n = 0
    with os.scandir(p) as it:
        for e in it:
            if e.is_dir(follow_symlinks=False):
                n += count(e.path)
            elif e.is_file(follow_symlinks=False):
                n += 1
    return n
print(count(sys.argv[1]))"'

compare() {  # compare LABEL RUNS COLD TREE
  local tree=$4
  python3 "$here/measure.py" "$1" "$2" "$3" "$out/$(echo "$1-$3" | tr ' /' '__').json" \
    "file-monitor=$fm count $tree --threads $threads --no-progress | grep '^files '" \
    "find -printf=find $tree -type f -printf . | wc -c" \
    "find, wc -l=find $tree -type f | wc -l" \
    "du --inodes=du --inodes -s $tree" \
    "fdfind -u -j2=fdfind -u -j2 -t f . $tree | wc -l" \
    "python os.walk=$py_walk $tree" \
    "python os.scandir=$py_scandir $tree"
}

for tree in flat deep; do
  if ! skipped warm; then compare "$tree tree" "$runs" 0 "$trees/$tree"; fi
  if ! skipped cold; then compare "$tree tree" "$cold_runs" 1 "$trees/$tree"; fi
done

if ! skipped incremental; then
  for tree in flat deep; do
    cache="$out/$tree.cache"
    rm -f "$cache"
    "$fm" count "$trees/$tree" --threads "$threads" --cache "$cache" --no-progress >/dev/null
    python3 "$here/measure.py" "$tree tree, incremental rescan of an unchanged tree" "$runs" 0 \
      "$out/incremental-$tree.json" \
      "incremental=$fm count $trees/$tree --threads $threads --cache $cache --no-progress | grep '^files '" \
      "full scan=$fm count $trees/$tree --threads $threads --no-progress | grep '^files '"
  done
  # The same comparison without process start-up (about 7 ms here: dynamic linking of curl,
  # OpenSSL and the C++ runtime), from the scan's own `seconds`, beside the floor: the least work
  # any correct rescan does (a stat per directory and an open per parent, no cache), timed by
  # rescan_floor on 1, 2 and 4 threads, the fastest kept.
  python3 - "$fm" "$trees" "$out" "$threads" "$runs" "$floor" <<'PY2'
import json, statistics, subprocess, sys
fm, trees, out, threads, runs = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5])
floor = sys.argv[6]
print("\n### Incremental rescan, scan time only (the `seconds` the scan reports)\n")
print("| tree | directories | incremental median ms | full scan median ms | ratio "
      "| floor ms | full scan / floor |")
print("|---|---:|---:|---:|---:|---:|---:|")
for tree in ("flat", "deep"):
    times = {"incremental": [], "full": []}
    dirs = 0
    for _ in range(runs):
        for kind in ("incremental", "full"):
            cmd = [fm, "count", f"{trees}/{tree}", "--threads", threads, "--json"]
            if kind == "incremental":
                cmd += ["--cache", f"{out}/{tree}.cache"]
            doc = json.loads(subprocess.run(cmd, check=True, capture_output=True).stdout)
            times[kind].append(doc["seconds"] * 1000)
            if kind == "incremental":
                dirs = doc["directories_reused"] + doc["directories_read"]
    inc, full = statistics.median(times["incremental"]), statistics.median(times["full"])
    least = min(
        json.loads(subprocess.run([floor, f"{trees}/{tree}", "--threads", str(t), "--rounds",
                                   str(runs)], check=True, capture_output=True).stdout)["median_ms"]
        for t in (1, 2, 4))
    print(f"| {tree} | {dirs:,} | {inc:.2f} | {full:.2f} | {full / inc:.1f}x "
          f"| {least:.2f} | {full / least:.1f}x |")
PY2
fi

if ! skipped latency; then
  mnt=$(mktemp -d /tmp/latencyfs.XXXXXX)
  "$latencyfs" "$trees/latency-tree" "$mnt" --latency-us="$latency_us" \
    -o max_threads=128,entry_timeout=0,attr_timeout=0,negative_timeout=0
  trap 'fusermount3 -u "$mnt" || true; rmdir "$mnt"' EXIT
  python3 "$here/measure.py" \
    "latencyfs, ${latency_us} us per request, $(find "$trees/latency-tree" -type d | wc -l) directories" \
    3 0 "$out/latency.json" \
    "file-monitor 64 threads=$fm count $mnt --threads 64 --no-progress | grep '^files '" \
    "file-monitor 1 thread=$fm count $mnt --threads 1 --no-progress | grep '^files '" \
    "file-monitor 4 threads=$fm count $mnt --threads 4 --no-progress | grep '^files '" \
    "file-monitor 16 threads=$fm count $mnt --threads 16 --no-progress | grep '^files '" \
    "file-monitor 256 threads=$fm count $mnt --threads 256 --no-progress | grep '^files '" \
    "find -printf=find $mnt -type f -printf . | wc -c" \
    "fdfind -u -j2=fdfind -u -j2 -t f . $mnt | wc -l" \
    "fdfind -u -j64=fdfind -u -j64 -t f . $mnt | wc -l"
  # The incremental rescan of the unchanged tree over the same latency (the mount point is new
  # each run, so an old cache would describe another root).
  rm -f "$out/latency.cache"
  "$fm" count "$mnt" --threads 64 --cache "$out/latency.cache" --no-progress >/dev/null
  python3 "$here/measure.py" "latencyfs, incremental rescan of an unchanged tree" 3 0 \
    "$out/latency-incremental.json" \
    "incremental 64 threads=$fm count $mnt --threads 64 --cache $out/latency.cache --no-progress | grep '^files '" \
    "full scan 64 threads=$fm count $mnt --threads 64 --no-progress | grep '^files '"
  # The floor over latency, and the scan times the rescan and the full scan report themselves.
  python3 - "$fm" "$mnt" "$out" "$floor" <<'PY3'
import json, statistics, subprocess, sys
fm, mnt, out, floor = sys.argv[1:5]
def seconds(*extra):
    cmd = [fm, "count", mnt, "--threads", "64", "--json", *extra]
    return json.loads(subprocess.run(cmd, check=True, capture_output=True).stdout)["seconds"]
inc = statistics.median(seconds("--cache", f"{out}/latency.cache") for _ in range(3)) * 1000
full = statistics.median(seconds() for _ in range(3)) * 1000
least = json.loads(subprocess.run([floor, mnt, "--threads", "64", "--rounds", "3"], check=True,
                                  capture_output=True).stdout)["median_ms"]
print("\n### latencyfs, incremental rescan, scan time only, beside the floor (64 threads)\n")
print("| incremental median ms | full scan median ms | ratio | floor ms | full scan / floor |")
print("|---:|---:|---:|---:|---:|")
print(f"| {inc:.1f} | {full:.1f} | {full / inc:.1f}x | {least:.1f} | {full / least:.1f}x |")
PY3
fi
