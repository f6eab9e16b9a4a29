# Helpers for the infrastructure tests: checks that report and count, free ports, a moto_server
# the test starts and stops, and the Terraform CLI configuration the scripts use.
# shellcheck shell=bash

INFRA_TEST_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
SOURCE_DIR=${EFSAS_SOURCE_DIR:-$(cd "$INFRA_TEST_DIR/../../.." && pwd)}
export SOURCE_DIR
failures=0
checks=0

pass() {
  checks=$((checks + 1))
  printf 'ok   %s\n' "$*"
}
fail() {
  checks=$((checks + 1))
  failures=$((failures + 1))
  printf 'FAIL %s\n' "$*"
}
# check DESCRIPTION COMMAND...: runs COMMAND, output shown only when it fails.
check() {
  local description=$1 out
  shift
  if out=$("$@" 2>&1); then
    pass "$description"
  else
    fail "$description"
    printf '%s\n' "$out" | sed 's/^/     | /' | tail -n 40
  fi
}
any_failed() { ((failures > 0)); }
finish() {
  printf '%d checks, %d failed\n' "$checks" "$failures"
  ((failures == 0))
}
# A test that cannot run here says why and exits with CTest's skip code.
skip() {
  printf 'SKIP %s\n' "$*"
  exit 77
}

# start_moto DIR: starts moto_server on a loopback port, logs in DIR/moto.log, sets MOTO_ENDPOINT
# and MOTO_PID. The caller stops it with stop_moto (an EXIT trap). moto takes port 0 and names the
# port it bound: a port picked in advance could be taken by another test's server first.
start_moto() {
  local dir=$1
  MOTO_IAM_LOAD_MANAGED_POLICIES=true moto_server -H 127.0.0.1 -p 0 >"$dir/moto.log" 2>&1 &
  MOTO_PID=$!
  wait_until 30 "$MOTO_PID" logged_port "$dir/moto.log" moto >/dev/null || return 1
  MOTO_ENDPOINT="http://127.0.0.1:$(logged_port "$dir/moto.log" moto)"
  wait_until 30 "$MOTO_PID" curl -s -o /dev/null "$MOTO_ENDPOINT/moto-api/"
}
stop_moto() {
  if [[ -n ${MOTO_PID:-} ]]; then
    kill "$MOTO_PID" 2>/dev/null || true
    wait "$MOTO_PID" 2>/dev/null || true
    MOTO_PID=""
  fi
}

# The environment that points Terraform, the AWS CLI and the project's binaries at moto.
moto_env() {
  export AWS_ENDPOINT_URL=$MOTO_ENDPOINT
  export AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test
  export AWS_EC2_METADATA_DISABLED=true
  unset AWS_PROFILE AWS_SESSION_TOKEN
}

# shellcheck source=scripts/lib/common.sh disable=SC1091
source "$SOURCE_DIR/scripts/lib/common.sh"

# The Lambda architecture this host is not: a file-monitor built here is wrong for it.
other_lambda_architecture() {
  if [[ $(host_lambda_architecture) == arm64 ]]; then
    echo x86_64
  else
    echo arm64
  fi
}
