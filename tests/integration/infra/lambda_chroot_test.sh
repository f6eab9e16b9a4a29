#!/usr/bin/env bash
# The Lambda package needs nothing from the host: unzipped at /var/task in a chroot that holds
# only the zip's contents and a static /bin/sh (busybox-static, standing in for the image's shell)
# plus what Lambda itself provides (/tmp and the EFS mount under /mnt/efs), its bootstrap runs
# file-monitor against a local Runtime API fixture and completes an invocation: a real run that
# counts the mounted files and publishes the mount-target list to a moto_server.
# Also: packaging the same binary twice gives the same bytes.
# Usage: lambda_chroot_test.sh FILE_MONITOR_BINARY
set -euo pipefail
# shellcheck source=tests/integration/infra/lib.sh disable=SC1091
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

file_monitor=${1:?usage: lambda_chroot_test.sh FILE_MONITOR_BINARY}
fixture=$SOURCE_DIR/tools/lambda-runtime-api/lambda_runtime_api.py
busybox=$(command -v busybox || true)
[[ -n $busybox ]] || skip "busybox is not installed (apt-get install busybox-static)"
file "$busybox" 2>/dev/null | grep -q "statically linked" ||
  ldd "$busybox" 2>&1 | grep -q "not a dynamic executable" ||
  skip "$busybox is not statically linked (apt-get install busybox-static)"
for tool in moto_server aws python3 curl unzip; do
  command -v "$tool" >/dev/null || skip "$tool is not installed (scripts/install-deps.sh)"
done
[[ -f $fixture ]] || skip "the Runtime API fixture is missing: $fixture"
if [[ $(id -u) -eq 0 ]]; then
  chroot_cmd=("$(command -v chroot)")
elif unshare --user --map-root-user true 2>/dev/null; then
  chroot_cmd=("$(command -v unshare)" --user --map-root-user "$(command -v chroot)")
else
  skip "chroot needs root or unprivileged user namespaces"
fi

work=$(mktemp -d)
bootstrap_pid=""
fixture_pid=""
cleanup() {
  for pid in "$bootstrap_pid" "$fixture_pid"; do
    if [[ -n $pid ]]; then
      kill "$pid" 2>/dev/null || true
      wait "$pid" 2>/dev/null || true
    fi
  done
  stop_moto
  rm -rf "$work"
}
trap cleanup EXIT

# --- the package, twice ----------------------------------------------------------------------
zip=$work/file-monitor.zip
"$SOURCE_DIR/scripts/deploy_lambda.sh" --binary "$file_monitor" --output "$zip" 2>&1 | tail -n 1
sleep 1 # a different wall-clock second must not change the bytes
"$SOURCE_DIR/scripts/deploy_lambda.sh" --binary "$file_monitor" --output "$work/again.zip" \
  >/dev/null 2>&1
check "packaging twice gives the same zip" cmp "$zip" "$work/again.zip"
host_architecture=$(host_lambda_architecture)
other_architecture=$(other_lambda_architecture)
refuses_other_architecture() {
  local out
  if out=$("$SOURCE_DIR/scripts/deploy_lambda.sh" --binary "$file_monitor" \
    --architecture "$other_architecture" --output "$work/other.zip" 2>&1); then
    echo "packaged a $host_architecture binary for $other_architecture"
    return 1
  fi
  [[ ! -e $work/other.zip ]] || { echo "a zip was written"; return 1; }
  grep -q "is built for $host_architecture, but the Lambda runs $other_architecture" <<<"$out" ||
    { echo "unclear message: $out"; return 1; }
}
check "a binary built for another architecture than the Lambda's is refused" \
  refuses_other_architecture
check "the zip holds bootstrap, the binary, its loader and libc" \
  bash -c "unzip -Z1 '$zip' | grep -qx bootstrap && unzip -Z1 '$zip' | grep -qx bin/file-monitor &&
           unzip -Z1 '$zip' | grep -q '^lib/ld-linux' && unzip -Z1 '$zip' | grep -qx lib/libc.so.6"

# --- the chroot ------------------------------------------------------------------------------
root=$work/root
mkdir -p "$root/var/task" "$root/bin" "$root/tmp" "$root/mnt/efs"
unzip -q "$zip" -d "$root/var/task"
cp "$busybox" "$root/bin/sh"
chmod 1777 "$root/tmp"
for i in 1 2 3 4 5; do
  : >"$root/mnt/efs/file-$i"
done
mkdir -p "$root/mnt/efs/sub"
: >"$root/mnt/efs/sub/file-6"

# --- AWS (moto): a file system with one mount target -----------------------------------------
start_moto "$work" || { cat "$work/moto.log" >&2; exit 1; }
moto_env
export AWS_REGION=us-east-1 AWS_DEFAULT_REGION=us-east-1
vpc=$(aws_cli ec2 create-vpc --cidr-block 10.20.0.0/16 --query Vpc.VpcId --output text)
subnet=$(aws_cli ec2 create-subnet --vpc-id "$vpc" --cidr-block 10.20.1.0/24 \
  --availability-zone us-east-1a --query Subnet.SubnetId --output text)
fs=$(aws_cli efs create-file-system --creation-token chroot-test --encrypted \
  --query FileSystemId --output text)
aws_cli efs create-mount-target --file-system-id "$fs" --subnet-id "$subnet" >/dev/null
parameter=/efs-mount-autoscaling/mount-targets

# --- one invocation --------------------------------------------------------------------------
echo '[{"version": "0", "source": "aws.events", "detail-type": "Scheduled Event"}]' \
  >"$work/events.json"
python3 "$fixture" --port 0 --port-file "$work/port" --events "$work/events.json" \
  --deadline-ms 60000 --exit-when-done >"$work/fixture.out" 2>"$work/fixture.log" &
fixture_pid=$!
for _ in $(seq 1 100); do
  [[ -s $work/port ]] && break
  sleep 0.1
done
[[ -s $work/port ]] || { cat "$work/fixture.log" >&2; exit 1; }

# The environment Lambda gives a provided.al2023 function, and the stack's configuration.
env -i \
  AWS_LAMBDA_RUNTIME_API="127.0.0.1:$(cat "$work/port")" LAMBDA_TASK_ROOT=/var/task \
  _HANDLER=file-monitor AWS_LAMBDA_FUNCTION_NAME=file-monitor AWS_LAMBDA_FUNCTION_MEMORY_SIZE=1024 \
  PATH=/usr/local/bin:/usr/bin:/bin:/opt/bin \
  LD_LIBRARY_PATH=/var/lang/lib:/lib64:/usr/lib64:/var/runtime:/var/runtime/lib:/var/task:/var/task/lib:/opt/lib \
  TZ=:UTC AWS_REGION=us-east-1 AWS_DEFAULT_REGION=us-east-1 \
  AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test AWS_SESSION_TOKEN=test \
  AWS_ENDPOINT_URL="$MOTO_ENDPOINT" AWS_EC2_METADATA_DISABLED=true \
  EFS_FILE_SYSTEM_ID="$fs" EFS_MOUNT_PATH=/mnt/efs EFS_TARGET_DIRECTORY=/ \
  FILE_COUNT_THRESHOLD=100 SSM_PARAMETER_NAME="$parameter" CANDIDATE_SUBNET_IDS="$subnet" \
  SCAN_CACHE_PATH=/tmp/file-monitor-scan.cache FORCE_ECS_DEPLOYMENT=false \
  "${chroot_cmd[@]}" "$root" /var/task/bootstrap >"$work/bootstrap.log" 2>&1 &
bootstrap_pid=$!

deadline=$((SECONDS + 120))
# Until the fixture has its outcome (it exits), the runtime dies, or two minutes pass.
while kill -0 "$fixture_pid" 2>/dev/null && kill -0 "$bootstrap_pid" 2>/dev/null &&
  ((SECONDS < deadline)); do
  sleep 0.2
done
# The runtime ends when the fixture stops serving events; the fixture may need a moment more.
grace=$((SECONDS + 5))
while kill -0 "$fixture_pid" 2>/dev/null && ((SECONDS < grace)); do
  sleep 0.2
done
fixture_status=0
if kill -0 "$fixture_pid" 2>/dev/null; then
  fixture_status=124 # cleanup stops it
else
  wait "$fixture_pid" || fixture_status=$?
  fixture_pid=""
fi

invocation_succeeded() {
  if ((fixture_status != 0)); then
    echo "the fixture exited $fixture_status (124: no outcome, the runtime died or 120 s passed)"
    cat "$work/fixture.out"
    echo "--- bootstrap output:"
    tail -n 30 "$work/bootstrap.log"
    return 1
  fi
  python3 -c '
import json, sys
results = json.loads(open(sys.argv[1]).read().strip().splitlines()[-1])
[inv] = results["invocations"]
assert inv["status"] == "succeeded", inv
assert results["init_error"] is None, results
print(json.dumps(inv["response"])[:300])' "$work/fixture.out"
}
check "the bootstrap completes an invocation inside the chroot" invocation_succeeded
check "it counted the 6 files under /mnt/efs" grep -q '"files":6\|"file_count":6\|"FileCount":6' \
  "$work/bootstrap.log" "$work/fixture.out"
published() {
  aws_cli ssm get-parameter --name "$parameter" --query Parameter.Value --output text |
    python3 -c '
import json, sys
doc = json.load(sys.stdin)
assert doc["file_system_id"] == sys.argv[1] and len(doc["mount_targets"]) == 1, doc' "$fs"
}
check "it published the mount-target list to (moto's) SSM" published

finish
