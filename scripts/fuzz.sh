#!/usr/bin/env bash
# Runs each fuzz target under libFuzzer for a while (make fuzz, FUZZ_SECONDS per target). Each
# starts from its saved inputs, tests/fuzz/corpus/<target>/, and keeps the new inputs it finds in
# <build>/fuzz-corpus/<target>/. An input that breaks a target is written to
# <build>/fuzz-crashes/<target>-*: fix the bug and copy the input into tests/fuzz/corpus/<target>/,
# so that every test run replays it from then on.
set -euo pipefail

usage() {
  cat <<'USAGE'
Usage: scripts/fuzz.sh [--build-dir DIR] [--seconds N] [--only TARGET]...
  --build-dir DIR  the build of preset fuzz (default build/fuzz)
  --seconds N      how long each target runs (default 60)
  --only TARGET    run only this target (repeatable)
USAGE
}

here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="$here/build/fuzz"
seconds=60
only=()
while [[ $# -gt 0 ]]; do
  case "$1" in
    --build-dir) build="$(cd "$2" && pwd)"; shift 2 ;;
    --seconds) seconds="$2"; shift 2 ;;
    --only) only+=("$2"); shift 2 ;;
    -h|--help) usage; exit 0 ;;
    *) echo "fuzz.sh: unknown argument: $1" >&2; usage >&2; exit 2 ;;
  esac
done
if ! [[ "$seconds" =~ ^[1-9][0-9]*$ ]]; then
  echo "fuzz.sh: --seconds must be a positive whole number, not '$seconds'" >&2
  exit 2
fi

targets=()
for dir in "$here"/tests/fuzz/corpus/*/; do
  name="$(basename "$dir")"
  if [[ ${#only[@]} -eq 0 ]] || [[ " ${only[*]} " == *" $name "* ]]; then targets+=("$name"); fi
done
if [[ ${#targets[@]} -eq 0 ]]; then
  echo "fuzz.sh: no such target: ${only[*]}" >&2
  exit 2
fi

failed=()
for name in "${targets[@]}"; do
  binary="$build/tests/fuzz/$name"
  if [[ ! -x "$binary" ]]; then
    echo "fuzz.sh: $binary is missing: build preset fuzz first (make fuzz does)" >&2
    exit 2
  fi
  mkdir -p "$build/fuzz-corpus/$name" "$build/fuzz-crashes"
  echo "== $name: $seconds s"
  # The first directory receives new inputs; the saved ones are only read.
  if ! "$binary" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=4096 \
      -print_final_stats=1 -artifact_prefix="$build/fuzz-crashes/$name-" \
      "$build/fuzz-corpus/$name" "$here/tests/fuzz/corpus/$name" 2>"$build/fuzz-$name.log"; then
    failed+=("$name")
    grep -E "ERROR|invariant broken|Test unit written" "$build/fuzz-$name.log" | head -5 || true
  fi
  grep -E "^stat::number_of_executed_units|^stat::new_units_added" "$build/fuzz-$name.log" |
    tr '\n' ' ' || true
  echo
done

if [[ ${#failed[@]} -gt 0 ]]; then
  echo "fuzz.sh: inputs that break ${failed[*]} are in $build/fuzz-crashes/ (logs: $build/fuzz-*.log)" >&2
  exit 1
fi
echo "fuzz.sh: no target broke (${#targets[@]} targets, $seconds s each)"
