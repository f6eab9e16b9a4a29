#!/usr/bin/env bash
# `make demo` in short: scripts/demo.sh with a small threshold and few files must add mount
# targets, publish them, have both file-service tasks pick them up, fail over with no error when
# a mount target dies, and say so in its summary; then a second run, interrupted half way, must
# clean up as well. After each run no process it started may be left, nor its files.
# Usage: demo_test.sh FILE_MONITOR_BINARY FILE_SERVICE_BINARY
set -euo pipefail

file_monitor=${1:?usage: demo_test.sh FILE_MONITOR FILE_SERVICE}
file_service=${2:?usage: demo_test.sh FILE_MONITOR FILE_SERVICE}
SOURCE_DIR=${EFSAS_SOURCE_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)}
demo=$SOURCE_DIR/scripts/demo.sh

failures=0
checks=0
pass() { checks=$((checks + 1)); printf 'ok   %s\n' "$*"; }
fail() { checks=$((checks + 1)); failures=$((failures + 1)); printf 'FAIL %s\n' "$*"; }
for tool in moto_server aws python3 curl setsid; do
  command -v "$tool" >/dev/null || { echo "SKIP $tool is not installed (scripts/install-deps.sh)"; exit 77; }
done

work=$(mktemp -d)
run_pid=""
cleanup() {
  # Only if a check below failed half way: the demo's own trap does the rest.
  [[ -n $run_pid ]] && kill -TERM "$run_pid" 2>/dev/null && wait "$run_pid" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT

# Every process the demo starts inherits this variable; none may have it once the demo is over.
marker=EFSAS_DEMO_TEST_RUN
left_behind() {
  python3 - "$marker=$1" <<'PY'
import os, sys
needle = sys.argv[1].encode()
found = []
for pid in filter(str.isdigit, os.listdir("/proc")):
    try:
        with open("/proc/%s/environ" % pid, "rb") as f:
            if needle in f.read().split(b"\0"):
                with open("/proc/%s/cmdline" % pid, "rb") as c:
                    found.append(pid + " " + c.read().replace(b"\0", b" ").decode(errors="replace")[:120])
    except OSError:
        pass
print("\n".join(found))
PY
}

# nothing_left RUN TMPDIR: no process of the run (its NFS servers included: whatever else listens
# on 127.0.0.2-4:2049 belongs to someone else), no temporary files.
nothing_left() {
  local run=$1 tmp=$2 procs
  sleep 1
  procs=$(left_behind "$run")
  if [[ -z $procs ]]; then
    pass "$run: no process left running"
  else
    fail "$run: processes left running:"
    printf '     | %s\n' "$procs"
  fi
  if [[ -z $(find "$tmp" -mindepth 1 -maxdepth 1 -name 'efsas-demo.*' -print -quit) ]]; then
    pass "$run: its temporary directory is gone"
  else
    fail "$run: left $(find "$tmp" -mindepth 1 -maxdepth 1 -name 'efsas-demo.*')"
  fi
}

if bash "$demo" --help | grep -q '^Usage: scripts/demo.sh'; then
  pass "--help"
else
  fail "--help"
fi
if command -v shellcheck >/dev/null; then
  if shellcheck -x -P "$SOURCE_DIR" "$demo" "$SOURCE_DIR/scripts/lib/demo.sh" "${BASH_SOURCE[0]}"; then
    pass "shellcheck"
  else
    fail "shellcheck"
  fi
fi
if out=$(bash "$demo" --threshold 0 2>&1); then
  fail "--threshold 0 is refused"
else
  if grep -q "threshold: expected a whole number above 0" <<<"$out"; then
    pass "--threshold 0 is refused"
  else
    fail "--threshold 0: unclear message: $out"
  fi
fi

# --- A whole run, small -------------------------------------------------------------------------
# The stack through the AWS CLI: the Terraform apply alone takes about two minutes and is tested
# by infra_moto_stack_test; everything after it is the same.
mkdir -p "$work/tmp1"
summary=$work/summary
log=$work/run1.log
status=0
env "$marker=run1" TMPDIR="$work/tmp1" timeout 300 bash "$demo" --stack cli --threshold 40 \
  --files 100 --duration 12 --period 2 --failover 6 --file-monitor "$file_monitor" \
  --file-service "$file_service" --summary-file "$summary" >"$log" 2>&1 || status=$?
if ((status == 0)); then
  pass "the demo exits 0"
else
  fail "the demo exits $status; its output:"
  sed 's/^/     | /' "$log" | tail -n 80
fi
value() { sed -n "s/^$1=//p" "$summary" 2>/dev/null; }
# expect KEY DESCRIPTION PREDICATE ARGS...: PREDICATE VALUE ARGS holds for the summary's value.
expect() {
  local key=$1 description=$2 v
  shift 2
  v=$(value "$key")
  if [[ -n $v ]] && "$@" "$v"; then
    pass "$description ($key=$v)"
  else
    fail "$description ($key=${v:-missing})"
  fi
}
is() { [[ $2 == "$1" ]]; }
above() { [[ $2 =~ ^[0-9]+$ ]] && (($2 > $1)); }
matches() { [[ $2 =~ $1 ]]; }
words() { (($(wc -w <<<"$2") == $1)); }

expect result "the summary says every step worked" is ok
expect files_written "all 100 files were written" is 100
expect write_errors "no write failed" is 0
expect mount_targets_before "the stack starts with one mount target" is 1
expect mount_targets_after "100 files at 40 per mount target: three mount targets" is 3
expect monitor_failed_runs "every file-monitor run succeeded" is 0
before=$(value generation_before)
expect generation_after "file-monitor published two new generations" is $((${before:-0} + 2))
after=$(value generation_after)
expect task_generations "both file-service tasks reached that generation without a restart" \
  matches "^[0-9]+->${after:-x},[0-9]+->${after:-x}\$"
expect tasks_running_since_start "both file-service processes ran from start to end" is 2
expect requests_per_target "requests spread over three mount targets" words 3
backend=$(value backend)
if [[ $backend == nfs ]]; then
  expect failover_requests "requests went on after a mount target was killed" above 0
  expect failover_errors "none of them failed" is 0
  expect killed_mount_target "a mount target was killed" matches '^fsmt-'
else
  echo "note: nfs-ganesha cannot run here; the demo used the directory back end and no failover"
fi
for text in "created mount target" "picked up generation" "stopping"; do
  if grep -q "$text" "$log"; then pass "the output shows '$text'"; else fail "no '$text' in the output"; fi
done
nothing_left run1 "$work/tmp1"

# --- Run again, interrupted half way ------------------------------------------------------------
mkdir -p "$work/tmp2"
log2=$work/run2.log
# A background job starts with SIGINT ignored (and bash cannot trap a signal ignored at entry);
# a script run from a terminal has the default, so restore it as Ctrl-C would find it.
env "$marker=run2" TMPDIR="$work/tmp2" python3 -c '
import os, signal, sys
signal.signal(signal.SIGINT, signal.SIG_DFL)
os.execvp("bash", ["bash"] + sys.argv[1:])' "$demo" --stack cli --threshold 40 --files 400 \
  --duration 60 --period 2 --file-monitor "$file_monitor" --file-service "$file_service" \
  >"$log2" 2>&1 &
run_pid=$!
deadline=$((SECONDS + 120))
until grep -q "Writing" "$log2" 2>/dev/null || ((SECONDS > deadline)) || ! kill -0 "$run_pid" 2>/dev/null; do
  sleep 0.5
done
sleep 3
kill -INT "$run_pid" 2>/dev/null || true
status=0
wait "$run_pid" || status=$?
run_pid=""
if grep -q "Writing" "$log2" && ((status == 130)) && ! grep -q "demo OK" "$log2"; then
  pass "a second run, interrupted (SIGINT) while writing, exits 130"
else
  fail "second run: exit $status; its output:"
  sed 's/^/     | /' "$log2" | tail -n 40
fi
nothing_left run2 "$work/tmp2"

printf '%d checks, %d failed\n' "$checks" "$failures"
((failures == 0))
