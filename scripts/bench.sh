#!/usr/bin/env bash
# `make bench`: runs every benchmark of the project beside its anchors (router and SigV4 Google
# Benchmarks, file counting against find/fd/du/os.walk, file-service against nginx and Flask,
# the NFS back end through one and three ganesha mount targets against the directory back end),
# keeps their machine-readable results, and writes docs/benchmarks.md and docs/benchmarks/*.png.
set -euo pipefail

export SCRIPT_NAME=bench
# shellcheck source=scripts/lib/common.sh disable=SC1091
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"

all_components=(core aws counter service nfs)

usage() {
  cat <<'USAGE'
Usage: scripts/bench.sh [options]

Builds the release preset's benchmark targets, runs each benchmark with its anchors, keeps the
raw results (Google Benchmark JSON, measure.py JSON, wrk tables) and writes the figures into
docs/benchmarks.md (the index: machine, date, load average, medians with min-max spread, the
anchor, the ratio) and PNG plots under docs/benchmarks/.

Components (all by default):
  core      router_bench: rendezvous-hashing lookups/s for 1-16 mount targets
  aws       sigv4_bench: SigV4 signatures/s
  counter   bench/counter/run.sh: file-monitor count vs find, du, fd, os.walk (warm, cold,
            latencyfs at several thread counts); cold runs drop the page cache (needs root)
  service   bench/service/run.sh: file-service vs nginx, Flask and gunicorn under wrk
  nfs       nfs_bench: NFS back end through one and three ganesha mount targets vs the directory
            back end (uses 127.0.0.2-4:2049: nothing else may use them meanwhile)

Options:
  --only LIST        comma-separated components to run, e.g. --only counter,service
  --skip LIST        comma-separated components not to run
  --quick            a smoke run: fewer repetitions, shorter durations, warm counting only;
                     the figures are labelled as quick-run figures
  --build-dir DIR    release build directory (default: build/release)
  --no-build         use the binaries already in the build directory
  --results DIR      where raw results go (default: <build-dir>/bench-results)
  --docs DIR         where benchmarks.md and the plots go (default: docs)
  --no-docs          run and keep raw results only
  -h, --help         this help

Components other engineers' scripts read their own settings too (bench/counter/run.sh:
EFSAS_BENCH_*; bench/service/run.sh: DURATION, ROUNDS, ...); values set in the environment
win over the ones this script picks.
USAGE
}

only=""
skip=""
quick=0
build_dir="$EFSAS_ROOT/build/release"
do_build=1
results=""
docs_dir="$EFSAS_ROOT/docs"
write_docs=1
while (($# > 0)); do
  case "$1" in
    -h | --help) usage; exit 0 ;;
    --only) only=${2:?--only needs a list}; shift 2 ;;
    --skip) skip=${2:?--skip needs a list}; shift 2 ;;
    --quick) quick=1; shift ;;
    --build-dir) build_dir=${2:?--build-dir needs a directory}; shift 2 ;;
    --no-build) do_build=0; shift ;;
    --results) results=${2:?--results needs a directory}; shift 2 ;;
    --docs) docs_dir=${2:?--docs needs a directory}; shift 2 ;;
    --no-docs) write_docs=0; shift ;;
    *) log "unknown argument: $1"; usage >&2; exit 2 ;;
  esac
done

in_list() {  # in_list WORD COMMA,LIST
  [[ ",$2," == *",$1,"* ]]
}
for name in ${only//,/ } ${skip//,/ }; do
  in_list "$name" "$(IFS=,; echo "${all_components[*]}")" || die "unknown component: $name"
done
components=()
for name in "${all_components[@]}"; do
  if [[ -n $only ]] && ! in_list "$name" "$only"; then continue; fi
  if [[ -n $skip ]] && in_list "$name" "$skip"; then continue; fi
  components+=("$name")
done
((${#components[@]} > 0)) || die "no component left to run"

mkdir -p "$build_dir"
build_dir=$(cd "$build_dir" && pwd)
results=${results:-$build_dir/bench-results}
mkdir -p "$results"
results=$(cd "$results" && pwd)

# Quick mode: enough to see that every part runs and to get figures of the right order. The
# component scripts' own variables, when set in the environment, win over these.
if ((quick)); then
  gbench_args=(--benchmark_repetitions=3 --benchmark_min_time=0.05)
  nfs_args=(--benchmark_repetitions=2)
  counter_env=("EFSAS_BENCH_RUNS=${EFSAS_BENCH_RUNS:-3}"
    "EFSAS_BENCH_COLD_RUNS=${EFSAS_BENCH_COLD_RUNS:-1}"
    "EFSAS_BENCH_SKIP=${EFSAS_BENCH_SKIP-cold incremental}")
  service_env=("DURATION=${DURATION:-3}" "ROUNDS=${ROUNDS:-2}" "SMALL_COUNT=${SMALL_COUNT:-2000}"
    "LARGE_COUNT=${LARGE_COUNT:-50}")
else
  gbench_args=(--benchmark_repetitions=5 --benchmark_min_time=0.2)
  nfs_args=(--benchmark_repetitions=3)
  counter_env=("EFSAS_BENCH_RUNS=${EFSAS_BENCH_RUNS:-5}"
    "EFSAS_BENCH_COLD_RUNS=${EFSAS_BENCH_COLD_RUNS:-3}"
    "EFSAS_BENCH_SKIP=${EFSAS_BENCH_SKIP:-}")
  service_env=("DURATION=${DURATION:-10}" "ROUNDS=${ROUNDS:-3}")
fi

targets=()
for name in "${components[@]}"; do
  case "$name" in
    core) targets+=(router_bench) ;;
    aws) targets+=(sigv4_bench) ;;
    counter) targets+=(file-monitor latencyfs rescan_floor) ;;
    service) targets+=(file-service) ;;
    nfs) targets+=(nfs_bench) ;;
  esac
done
if ((do_build)); then
  log "building ${targets[*]} in $build_dir (release)"
  if [[ ! -f $build_dir/CMakeCache.txt ]]; then
    (cd "$EFSAS_ROOT" && cmake --preset release -B "$build_dir" >/dev/null)
  fi
  cmake --build "$build_dir" --target "${targets[@]}" -j "${JOBS:-$(nproc)}" >/dev/null
fi

# The load average is sampled through the whole run so readers can judge the figures.
sampler_pid=""
cleanup() {
  if [[ -n $sampler_pid ]]; then
    kill "$sampler_pid" 2>/dev/null || true
    wait "$sampler_pid" 2>/dev/null || true
  fi
}
trap cleanup EXIT
sample_load() {
  printf '%s\t%s\n' "$(date +%s)" "$(cut -d' ' -f1-3 /proc/loadavg)" >>"$results/loadavg.tsv"
}
(
  while true; do
    sample_load
    sleep 5
  done
) &
sampler_pid=$!

mode=full
((quick)) && mode=quick
cache=$build_dir/CMakeCache.txt
cat >"$results/run.env" <<EOF
compiler=$(sed -n 's/^CMAKE_CXX_COMPILER:[A-Z]*=//p' "$cache" 2>/dev/null | head -1)
build_type=$(sed -n 's/^CMAKE_BUILD_TYPE:[A-Z]*=//p' "$cache" 2>/dev/null | head -1)
EOF

# Each run_* function leaves its results in $results/<component>/ and returns non-zero on
# failure; a failed component is reported and the others still run.
run_gbench() {  # run_gbench COMPONENT BINARY [ARGS...]
  local component=$1 binary=$2
  shift 2
  [[ -x $binary ]] || { log "$component: no binary at $binary"; return 1; }
  "$binary" --benchmark_out="$results/$component/gbench.json" --benchmark_out_format=json "$@" \
    >"$results/$component/output.txt" 2>&1
}

run_core() { run_gbench core "$build_dir/bench/core/router_bench" "${gbench_args[@]}"; }
run_aws() { run_gbench aws "$build_dir/bench/aws/sigv4_bench" "${gbench_args[@]}"; }
nfs_ports_busy() {
  ss -Hltn 2>/dev/null | awk '{print $4}' | grep -Eq '127\.0\.0\.[234]\]?:2049$'
}
run_nfs() {
  # nfs_bench starts its own ganesha servers on 127.0.0.2-4:2049; a demo or the ganesha tests
  # may hold them for a while.
  local waited=0
  while nfs_ports_busy; do
    if ((waited >= 300)); then
      log "nfs: 127.0.0.2-4:2049 stayed in use for ${waited} s (a demo or the ganesha tests?)"
      return 1
    fi
    ((waited == 0)) && log "nfs: 127.0.0.2-4:2049 are in use; waiting up to 300 s"
    sleep 10
    waited=$((waited + 10))
  done
  run_gbench nfs "$build_dir/bench/nfs/nfs_bench" "${nfs_args[@]}"
}

run_counter() {
  # run.sh leaves one measure.py JSON per comparison in <build>/bench-counter; stale ones from an
  # earlier run with other parts must not be mistaken for this run's.
  rm -f "$build_dir"/bench-counter/*.json
  env "${counter_env[@]}" EFSAS_BENCH_BUILD="$build_dir" bash "$EFSAS_ROOT/bench/counter/run.sh" \
    >"$results/counter/output.md" 2>"$results/counter/stderr.txt" || return 1
  cp "$build_dir"/bench-counter/*.json "$results/counter/"
}

run_service() {
  env "${service_env[@]}" bash "$EFSAS_ROOT/bench/service/run.sh" \
    "$build_dir/fargate/app/file-service" \
    >"$results/service/output.md" 2>"$results/service/stderr.txt"
}

failed=()
for name in "${components[@]}"; do
  rm -rf "${results:?}/$name"
  mkdir -p "$results/$name"
  log "running $name"
  start=$(date +%s)
  sample_load
  status=ok
  if ! "run_$name"; then
    status=failed
    log "$name failed; its output is in $results/$name/"
    failed+=("$name")
  fi
  sample_load
  skipped_parts=""
  if [[ $name == counter ]]; then
    for part in "${counter_env[@]}"; do
      [[ $part == EFSAS_BENCH_SKIP=* ]] && skipped_parts=${part#EFSAS_BENCH_SKIP=}
    done
  fi
  printf 'mode=%s\nstatus=%s\nstart=%s\nend=%s\nskipped=%s\n' "$mode" "$status" "$start" \
    "$(date +%s)" "$skipped_parts" >"$results/$name/run.env"
done
cleanup
sampler_pid=""

if ((write_docs)); then
  # matplotlib comes from Debian's python3-matplotlib: the system Python has it even where
  # another python3 (a virtualenv, pyenv) comes first on PATH.
  plot_python=python3
  if ! python3 -c 'import matplotlib' 2>/dev/null && [[ -x /usr/bin/python3 ]]; then
    plot_python=/usr/bin/python3
  fi
  "$plot_python" "$EFSAS_ROOT/bench/plot.py" --results "$results" --docs "$docs_dir"
  log "wrote $docs_dir/benchmarks.md and $docs_dir/benchmarks/*.png (raw results: $results)"
fi
if ((${#failed[@]} > 0)); then
  die "failed: ${failed[*]}"
fi
