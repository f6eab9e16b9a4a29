#!/usr/bin/env bash
# `make demo`: the whole system on this machine, as it would run in AWS. moto_server plays the AWS
# account (the stack created by the project's Terraform), three nfs-ganesha servers play the EFS
# mount targets, file-service runs as the ECS service's two tasks, file-monitor runs through its
# Lambda runtime loop on a schedule; files written over HTTP make it add mount targets, and a
# mount target killed at the end shows failover. Everything it starts is stopped on exit.
set -euo pipefail

SCRIPT_NAME=demo
# shellcheck source=scripts/lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
# shellcheck source=scripts/lib/demo.sh
source "$EFSAS_ROOT/scripts/lib/demo.sh"

usage() {
  cat <<'USAGE'
Usage: scripts/demo.sh [options]

Runs the system end to end on this machine (loopback only) and stops everything it started when
it ends or is interrupted:
  1. moto_server (the AWS account) and the stack in it: the project's Terraform through
     scripts/deploy_all.sh --skip-image (or, with --stack cli, the resources the demo needs
     through boto3, in seconds);
  2. three nfs-ganesha servers on 127.0.0.2-4:2049 exporting one directory: the file system's
     mount targets, one per AZ (without ganesha: file-service's directory back end);
  3. file-service twice (the ECS service's two tasks), configured as the task definition says;
  4. file-monitor started as Lambda starts it, against a local Lambda Runtime API, with one
     scheduled event every --period seconds, while files are written through file-service;
  5. shows the count, the mount targets file-monitor adds, the SSM generation, each file-service
     task picking the new list up, the traffic per mount target; then kills one ganesha and
     shows the requests that follow succeed;
  6. a summary. Exit status 0 only if every step it shows worked.

Options (environment variable in brackets):
  --threshold N         files per mount target, FILE_COUNT_THRESHOLD [DEMO_THRESHOLD, 300]
  --files N             files to write [DEMO_FILES, 2.5 x threshold: three mount targets]
  --duration SECONDS    spread the writes over this long [DEMO_DURATION, 40]
  --period SECONDS      file-monitor's schedule [DEMO_PERIOD, 5]
  --failover SECONDS    traffic after one mount target is killed [DEMO_FAILOVER_SECONDS, 12]
  --stack terraform|cli how to create the stack in moto [DEMO_STACK, terraform]
  --backend auto|nfs|directory
                        file-service's back end; auto: nfs when ganesha can run [DEMO_BACKEND]
  --build-dir DIR       where the binaries are [DEMO_BUILD_DIR, build/release]
  --file-monitor PATH   the file-monitor binary [FILE_MONITOR_BIN]
  --file-service PATH   the file-service binary [FILE_SERVICE_BIN]
  --summary-file FILE   also write the summary there as key=value lines [DEMO_SUMMARY_FILE]
  --log-dir DIR         keep every process's log there (by default only when the demo
                        fails, in $TMPDIR/efsas-demo-logs) [DEMO_LOG_DIR]
  --plain               no progress bar redrawn in place (automatic when not on a terminal)
                        [DEMO_PLAIN=1]
  -h, --help            show this help

Needs: moto_server, python3 with boto3, curl; terraform and the AWS CLI for --stack terraform;
for the NFS back end nfs-ganesha (root, and nothing else on 127.0.0.2-4:2049). make demo builds
the binaries first (release preset).
USAGE
}

threshold=${DEMO_THRESHOLD:-300}
files=${DEMO_FILES:-}
duration=${DEMO_DURATION:-40}
period=${DEMO_PERIOD:-5}
failover_seconds=${DEMO_FAILOVER_SECONDS:-12}
stack_mode=${DEMO_STACK:-terraform}
backend=${DEMO_BACKEND:-auto}
build_dir=${DEMO_BUILD_DIR:-$EFSAS_ROOT/build/release}
file_monitor=${FILE_MONITOR_BIN:-}
file_service=${FILE_SERVICE_BIN:-}
summary_file=${DEMO_SUMMARY_FILE:-}
log_dir=${DEMO_LOG_DIR:-}
plain=${DEMO_PLAIN:-0}
while (($# > 0)); do
  case "$1" in
    --threshold) threshold=${2:?--threshold needs a number}; shift 2 ;;
    --files) files=${2:?--files needs a number}; shift 2 ;;
    --duration) duration=${2:?--duration needs seconds}; shift 2 ;;
    --period) period=${2:?--period needs seconds}; shift 2 ;;
    --failover) failover_seconds=${2:?--failover needs seconds}; shift 2 ;;
    --stack) stack_mode=${2:?--stack needs terraform or cli}; shift 2 ;;
    --backend) backend=${2:?--backend needs auto, nfs or directory}; shift 2 ;;
    --build-dir) build_dir=${2:?--build-dir needs a directory}; shift 2 ;;
    --file-monitor) file_monitor=${2:?--file-monitor needs a path}; shift 2 ;;
    --file-service) file_service=${2:?--file-service needs a path}; shift 2 ;;
    --summary-file) summary_file=${2:?--summary-file needs a path}; shift 2 ;;
    --log-dir) log_dir=${2:?--log-dir needs a directory}; shift 2 ;;
    --plain) plain=1; shift ;;
    -h | --help) usage; exit 0 ;;
    *) log "unknown argument: $1"; usage >&2; exit 2 ;;
  esac
done
[[ -n $files ]] || files=$((threshold * 5 / 2))
for setting in threshold files duration period failover_seconds; do
  if ! [[ ${!setting} =~ ^[0-9]+$ ]] || ((${!setting} == 0)); then
    die "${setting/_seconds/}: expected a whole number above 0, got '${!setting}'"
  fi
done
[[ $stack_mode == terraform || $stack_mode == cli ]] || die "--stack: terraform or cli"
[[ $backend == auto || $backend == nfs || $backend == directory ]] ||
  die "--backend: auto, nfs or directory"

find_binary() {
  local name=$1 given=$2 found
  if [[ -n $given ]]; then
    [[ -x $given ]] || die "$name: $given is not an executable"
    printf '%s\n' "$given"
    return
  fi
  case "$name" in
    file-monitor) found=$build_dir/lambda/app/file-monitor ;;
    *) found=$build_dir/fargate/app/file-service ;;
  esac
  [[ -x $found ]] || found=$(find "$build_dir" -type f -name "$name" -perm -u+x -print -quit 2>/dev/null || true)
  [[ -n $found ]] || die "no $name binary in $build_dir: run 'make demo' (it builds first), or pass --$name"
  printf '%s\n' "$found"
}
file_monitor=$(find_binary file-monitor "$file_monitor")
file_service=$(find_binary file-service "$file_service")
require_tool moto_server "pip install 'moto[server]' (scripts/install-deps.sh checks for it)"
require_tool python3 "apt-get install python3"
require_tool curl "apt-get install curl"
require_tool setsid "apt-get install util-linux"
python3 -c 'import boto3' 2>/dev/null || die "python3 cannot import boto3 (pip install boto3)"
if [[ $stack_mode == terraform ]]; then
  require_tool terraform "install Terraform >= 1.9, or run with --stack cli"
  require_tool aws "install the AWS CLI (pip install awscli), or run with --stack cli"
fi
if [[ -t 1 ]] && ((plain == 0)); then
  DEMO_TTY=1
fi

# --- Clean-up: whatever happens, nothing stays behind ------------------------------------------
user_tmp=${TMPDIR:-/tmp}
work=$(mktemp -d "$user_tmp/efsas-demo.XXXXXX")
# What the processes started here leave in TMPDIR (Terraform's plugin directories when it is
# interrupted, ...) goes with the rest.
mkdir -p "$work/tmp"
export TMPDIR=$work/tmp
cleanup() {
  local status=$?
  trap - EXIT INT TERM
  set +e
  end_bar
  if ((${#DEMO_PIDS[@]} > 0)); then
    printf '%s stopping %d processes (%s)\n' "$(date +%H:%M:%S)" "${#DEMO_PIDS[@]}" \
      "$(for p in "${DEMO_PIDS[@]}"; do printf '%s ' "${DEMO_PROCESS_NAME[$p]}"; done)"
  fi
  [[ -n ${DEMO_SLEEPER:-} ]] && kill "$DEMO_SLEEPER" 2>/dev/null
  # (bash reports each killed job on its standard error; that is expected here)
  stop_all 2>/dev/null
  local logs=$log_dir
  # A failure keeps the logs; an interruption (128 + signal) does not.
  if ((status != 0 && status < 128)) && [[ -z $logs ]]; then
    logs=$user_tmp/efsas-demo-logs
    rm -rf "$logs"
  fi
  if [[ -n $logs && -d $work ]]; then
    # The logs of every process, kept outside the directory that is about to go.
    mkdir -p "$logs" && find "$work" -maxdepth 2 -name '*.log' -exec cp {} "$logs/" \; 2>/dev/null
    printf 'the logs of this run are in %s\n' "$logs"
  fi
  rm -rf "$work"
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

region=ap-northeast-1
export AWS_REGION=$region AWS_DEFAULT_REGION=$region
export AWS_ACCESS_KEY_ID=demo AWS_SECRET_ACCESS_KEY=demo AWS_EC2_METADATA_DISABLED=true
unset AWS_PROFILE AWS_SESSION_TOKEN AWS_ENDPOINT_URL_EFS AWS_ENDPOINT_URL_SSM AWS_ENDPOINT_URL_EC2
export AWS_PAGER=""
export TF_IN_AUTOMATION=1 NO_COLOR=1 TF_CLI_ARGS_apply=-no-color TF_CLI_ARGS_init=-no-color

failures=()
fail_check() {
  failures+=("$*")
  say "FAILED: $*"
}

printf '%s\n' "$(bold "EFS mount-target autoscaling, end to end on this machine")"
printf 'threshold %d files per mount target, %d files over %ds, file-monitor every %ds\n' \
  "$threshold" "$files" "$duration" "$period"

# --- 1. The AWS account and the stack ----------------------------------------------------------
step "1. AWS (moto_server) and the stack"
start_process moto_server "$work/moto.log" TERM \
  env MOTO_IAM_LOAD_MANAGED_POLICIES=true moto_server -H 127.0.0.1 -p 0
moto_pid=$STARTED_PID
wait_until 30 "$moto_pid" logged_port "$work/moto.log" moto >/dev/null ||
  die "moto_server did not start (see moto.log in the logs kept below)"
moto_port=$(logged_port "$work/moto.log" moto)
wait_until 30 "$moto_pid" http_ok "http://127.0.0.1:$moto_port/moto-api/" ||
  die "moto_server does not answer (see moto.log in the logs kept below)"
export AWS_ENDPOINT_URL=http://127.0.0.1:$moto_port
say "moto_server on $AWS_ENDPOINT_URL (pid $moto_pid)"

# wait_command TEXT LOG COMMAND...: runs COMMAND to completion in a session of its own, showing
# the time it takes; `wait` returns at once when a signal arrives, so Ctrl-C never waits for it.
wait_command() {
  local text=$1 logfile=$2 start=$SECONDS status=0
  shift 2
  start_process "$text" "$logfile" TERM "$@"
  local pid=$STARTED_PID
  while alive "$pid"; do
    if ((DEMO_TTY)); then
      printf '\r\033[K%s ... %ds' "$text" $((SECONDS - start))
    fi
    sleep 1 &
    DEMO_SLEEPER=$!
    wait "$DEMO_SLEEPER" || true
  done
  wait "$pid" || status=$?
  forget_process "$pid"
  ((DEMO_TTY)) && printf '\r\033[K'
  if ((status != 0)); then
    say "$text failed (exit $status); the last lines of its log:"
    tail -n 30 "$logfile" | sed 's/^/    /'
    return "$status"
  fi
  say "$text: done in $((SECONDS - start))s"
}

cat >"$work/demo.tfvars" <<EOF
# The demo's values: a small threshold, and file-service re-reading the list every 2 seconds.
file_count_threshold = $threshold
config_poll_seconds  = 2
EOF

stack_dir=$work/terraform
if [[ $stack_mode == terraform ]]; then
  setup_terraform_cli_config
  mkdir -p "$stack_dir"
  cp "$EFSAS_ROOT"/terraform/*.tf "$stack_dir/"
  wait_command "packaging file-monitor for Lambda (scripts/deploy_lambda.sh)" "$work/package.log" \
    "$EFSAS_ROOT/scripts/deploy_lambda.sh" --binary "$file_monitor" --output "$work/file-monitor.zip"
  say "terraform apply of the whole stack (scripts/deploy_all.sh --skip-image); about two minutes,"
  say "most of it the provider waiting for the load balancer to become active"
  wait_command "scripts/deploy_all.sh --skip-image" "$work/deploy.log" \
    "$EFSAS_ROOT/scripts/deploy_all.sh" --skip-image --skip-invoke --auto-approve \
    --terraform-dir "$stack_dir" --lambda-zip "$work/file-monitor.zip" \
    --var-file "$work/demo.tfvars"
  say "terraform: $(grep -o 'Apply complete!.*' "$work/deploy.log" | tail -n 1)"
  read -r function_name cluster service rule_name < <(terraform -chdir="$stack_dir" output -json |
    json_get '" ".join(d[k]["value"] for k in ("lambda_function_name", "ecs_cluster_name", "ecs_service_name", "schedule_rule_name"))')
fi

# stack_facts: one boto3 session (the AWS CLI's library; one start instead of a dozen) that, with
# --stack cli, first creates what the demo needs: a VPC, a private subnet in each of three AZs, the
# mount targets' security group, the file system and its first mount target (file-monitor's first
# run then publishes the list, as deploy_all.sh's first invocation does). Then it prints, one per
# line: SUBNET az cidr id (AZ order), FS id, the Lambda function's and the task definition's
# environment (MONITOR_ENV / SERVICE_ENV K=V) and the Lambda timeout.
stack_facts() {
  python3 - "$stack_mode" "${function_name:-}" "${cluster:-}" "${service:-}" "$threshold" <<'PY'
import sys
import boto3

mode, function_name, cluster, service, threshold = sys.argv[1:6]
ec2, efs = boto3.client("ec2"), boto3.client("efs")
if mode == "cli":
    vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    azs = [z["ZoneName"] for z in ec2.describe_availability_zones()["AvailabilityZones"]][:3]
    subnets = [ec2.create_subnet(VpcId=vpc, AvailabilityZone=az,
                                 CidrBlock="10.0.%d.0/20" % (16 * i))["Subnet"]["SubnetId"]
               for i, az in enumerate(azs)]
    sg = ec2.create_security_group(VpcId=vpc, GroupName="efs-mount-targets",
                                   Description="EFS mount targets")["GroupId"]
    fs = efs.create_file_system(CreationToken="efsas-demo", Encrypted=True)["FileSystemId"]
    efs.create_mount_target(FileSystemId=fs, SubnetId=subnets[0], SecurityGroups=[sg])
    monitor_env = {
        "EFS_FILE_SYSTEM_ID": fs, "EFS_TARGET_DIRECTORY": "/", "FILE_COUNT_THRESHOLD": threshold,
        "SSM_PARAMETER_NAME": "/efs-mount-autoscaling/mount-targets",
        "FORCE_ECS_DEPLOYMENT": "false", "CANDIDATE_SUBNET_IDS": ",".join(subnets),
        "MOUNT_TARGET_SECURITY_GROUP_IDS": sg, "MAX_MOUNT_TARGETS": "3",
        "MAX_CREATES_PER_RUN": "1", "LOG_LEVEL": "info"}
    service_env = {
        "AWS_REGION": ec2.meta.region_name, "SSM_PARAMETER_NAME": monitor_env["SSM_PARAMETER_NAME"],
        "CONFIG_POLL_SECONDS": "2", "STORAGE_BACKEND": "nfs", "NFS_EXPORT_PATH": "/data",
        "NFS_UID": "1000", "NFS_GID": "1000", "SHUTDOWN_GRACE_SECONDS": "25"}
    timeout = 300
else:
    function = boto3.client("lambda").get_function_configuration(FunctionName=function_name)
    monitor_env = function["Environment"]["Variables"]
    timeout = function["Timeout"]
    ecs = boto3.client("ecs")
    task = ecs.describe_services(cluster=cluster, services=[service])["services"][0]["taskDefinition"]
    container = ecs.describe_task_definition(taskDefinition=task)["taskDefinition"]["containerDefinitions"][0]
    service_env = {e["name"]: e["value"] for e in container["environment"]}
    subnets = monitor_env["CANDIDATE_SUBNET_IDS"].split(",")
for s in sorted(ec2.describe_subnets(SubnetIds=subnets)["Subnets"], key=lambda s: s["AvailabilityZone"]):
    print("SUBNET", s["AvailabilityZone"], s["CidrBlock"], s["SubnetId"])
print("FS", monitor_env["EFS_FILE_SYSTEM_ID"])
print("PARAMETER", monitor_env["SSM_PARAMETER_NAME"])
for k, v in sorted(monitor_env.items()):
    print("MONITOR_ENV %s=%s" % (k, v))
for k, v in sorted(service_env.items()):
    print("SERVICE_ENV %s=%s" % (k, v))
print("LAMBDA_TIMEOUT", timeout)
PY
}
if [[ $stack_mode == cli ]]; then
  say "creating the VPC, three private subnets, the security group, the file system and its first"
  say "mount target (boto3)"
  function_name=efs-mount-autoscaling-file-monitor
  rule_name=efs-mount-autoscaling-file-monitor-schedule
fi
facts=$(stack_facts) || die "could not read (or create) the stack in moto"
subnet_table="" monitor_env=() service_env=() lambda_timeout=300
while read -r kind rest; do
  case "$kind" in
    SUBNET) subnet_table+="$rest"$'\n' ;;
    FS) fs_id=$rest ;;
    PARAMETER) parameter=$rest ;;
    MONITOR_ENV) monitor_env+=("$rest") ;;
    SERVICE_ENV) service_env+=("$rest") ;;
    LAMBDA_TIMEOUT) lambda_timeout=$rest ;;
  esac
done <<<"$facts"
subnet_table=${subnet_table%$'\n'}
if [[ $stack_mode == terraform ]]; then
  say "file-monitor gets the Lambda function's environment (${#monitor_env[@]} variables)," \
    "file-service the task definition's (${#service_env[@]}); only where the file system is"
  say "mounted, addresses and ports are replaced"
fi
say "file system $fs_id, parameter $parameter"

# What AWS says, through the project's own client: `file-monitor status` (mount targets and the
# published document), as an operator would look.
aws_status() {
  env "${monitor_env[@]}" EFS_MOUNT_PATH="$work" SCAN_CACHE_PATH="" LOG_LEVEL=error \
    "$file_monitor" status --json --no-scan 2>/dev/null
}
mount_targets_line() { # STATUS_JSON: "az id ip, ..."
  json_get '", ".join(sorted(m["availability_zone"] + " " + m["id"] + " " + m["ip_address"] for m in d["mount_targets"]))' <<<"$1"
}
mount_target_count() { json_get 'len(d["mount_targets"])' <<<"$1"; }
ssm_generation_of() { json_get 'json.loads(d["parameter"]["value"])["generation"] if d["parameter"]["value"] else 0' <<<"$1"; }
status_json=$(aws_status) || die "file-monitor status failed against moto"
mount_targets_before=$(mount_target_count "$status_json")
say "mount targets now: $(mount_targets_line "$status_json")"

env_value_of() { # NAME LINES...: the value of NAME in K=V lines
  local name=$1 line
  shift
  for line in "$@"; do
    [[ $line == "$name="* ]] && { printf '%s\n' "${line#*=}"; return; }
  done
}
export_path=$(env_value_of NFS_EXPORT_PATH "${service_env[@]}")
export_path=${export_path:-/data}
nfs_uid=$(env_value_of NFS_UID "${service_env[@]}")
nfs_gid=$(env_value_of NFS_GID "${service_env[@]}")

# --- 2. The mount targets: three nfs-ganesha servers exporting one directory -------------------
step "2. The file system: one directory, a mount target per AZ"
efs_root=$work/efs
data_dir=$efs_root${export_path}
mkdir -p "$data_dir"
# The access point creates its root directory owned by the POSIX user it enforces.
chown "${nfs_uid:-1000}:${nfs_gid:-1000}" "$data_dir" 2>/dev/null || chmod 0777 "$data_dir"
ganesha_pids=()
ganesha_addresses=()

ganesha_config() { # ADDRESS INDEX DIR
  cat <<EOF
NFS_CORE_PARAM {
  Protocols = 4;
  NFS_Port = 2049;
  Bind_addr = $1;
  Enable_RQUOTA = false;
  Enable_NLM = false;
  Enable_UDP = false;
  Dbus_Name_Prefix = "efsasdemo$$n$2";
}
NFS_KRB5 {
  Active_krb5 = false;
}
NFSv4 {
  Graceless = true;
  RecoveryBackend = fs;
  RecoveryRoot = "$3/recovery";
  Only_Numeric_Owners = true;
  Lease_Lifetime = 10;
}
EXPORT {
  Export_Id = 1;
  Path = "$efs_root";
  Pseudo = /;
  Access_Type = RW;
  Squash = No_Root_Squash;
  Protocols = 4;
  SecType = sys;
  Attr_Expiration_Time = 0;
  FSAL {
    Name = VFS;
  }
}
EOF
}

ganesha_unavailable() {
  if ! command -v ganesha.nfsd >/dev/null 2>&1; then
    echo "ganesha.nfsd is not installed (apt-get install nfs-ganesha nfs-ganesha-vfs)"
  elif ((EUID != 0)); then
    echo "nfs-ganesha needs root here (port 2049 and its VFS back end)"
  else
    local i
    for i in 2 3 4; do
      if port_open "127.0.0.$i" 2049; then
        echo "something already listens on 127.0.0.$i:2049 (a system nfs-ganesha or another run)"
        return
      fi
    done
  fi
}

# listens_itself PID ADDRESS: the server on ADDRESS:2049 is PID, not another process that took
# the address between the check above and the start (where ss cannot tell, assume so).
listens_itself() {
  command -v ss >/dev/null 2>&1 || return 0
  alive "$1" && ss -Hltnp 2>/dev/null |
    grep -E "[[:space:]]\[?(::ffff:)?${2//./\\.}\]?:2049[[:space:]]" | grep -q "pid=$1,"
}

start_ganeshas() {
  local i address dir
  for i in 0 1 2; do
    address=127.0.0.$((i + 2))
    dir=$work/ganesha$i
    mkdir -p "$dir/recovery"
    ganesha_config "$address" "$i" "$dir" >"$dir/ganesha.conf"
    start_process "ganesha-$address" "$work/ganesha-$address.out.log" KILL \
      ganesha.nfsd -F -L "$work/ganesha-$address.log" -f "$dir/ganesha.conf" -p "$dir/ganesha.pid"
    ganesha_pids+=("$STARTED_PID")
    ganesha_addresses+=("$address")
  done
  for i in 0 1 2; do
    if ! wait_until 20 "${ganesha_pids[$i]}" port_open "${ganesha_addresses[$i]}" 2049 ||
      ! sleep 0.5 || ! listens_itself "${ganesha_pids[$i]}" "${ganesha_addresses[$i]}"; then
      say "ganesha on ${ganesha_addresses[$i]} did not start; its log:"
      tail -n 15 "$work/ganesha-${ganesha_addresses[$i]}".*log 2>/dev/null | sed 's/^/    /'
      return 1
    fi
  done
}

if [[ $backend != directory ]]; then
  reason=$(ganesha_unavailable)
  if [[ -z $reason ]] && ! start_ganeshas; then
    reason="ganesha.nfsd did not start"
    for pid in "${ganesha_pids[@]}"; do stop_process "$pid" 1 2>/dev/null; done
    ganesha_pids=()
    ganesha_addresses=()
  fi
  if [[ -n $reason ]]; then
    [[ $backend == nfs ]] && die "--backend nfs: $reason"
    say "NFS back end unavailable: $reason"
    say "file-service uses its directory back end instead (every mount target is $data_dir);"
    say "the failover step needs NFS and is skipped"
    backend=directory
  else
    backend=nfs
  fi
fi

# NFS_ADDRESS_MAP: each mount target's address in the subnet of AZ i is dialled at
# 127.0.0.(2+i). Existing mount targets map by their address; for those file-monitor will
# create, the first addresses EFS hands out in each subnet (after the four AWS reserves).
address_map=$(python3 - "$subnet_table" "$status_json" <<'PY'
import ipaddress, json, sys
subnets = [line.split() for line in sys.argv[1].splitlines() if line.strip()]
targets = json.loads(sys.argv[2])["mount_targets"]
entries = {}
for i, (az, cidr, subnet_id) in enumerate(subnets):
    endpoint = "127.0.0.%d" % (i + 2)
    hosts = ipaddress.ip_network(cidr).hosts()
    for _ in range(3):
        next(hosts)                # .1-.3 are reserved by AWS
    for _ in range(12):
        entries[str(next(hosts))] = endpoint
    for t in targets:
        if t["subnet_id"] == subnet_id:
            entries[t["ip_address"]] = endpoint
print(",".join("%s=%s" % kv for kv in entries.items()))
PY
)
if [[ $backend == nfs ]]; then
  i=0
  while read -r az cidr _; do
    say "mount targets in $az ($cidr) -> nfs-ganesha on 127.0.0.$((i + 2)):2049, exporting $efs_root"
    i=$((i + 1))
  done <<<"$subnet_table"
fi

# --- 3. file-monitor as Lambda runs it -----------------------------------------------------------
step "3. file-monitor in its Lambda runtime loop, file-service as two ECS tasks"
runtime_port_file=$work/runtime-api.port
start_process lambda-runtime-api "$work/runtime-api.log" TERM \
  python3 "$EFSAS_ROOT/tools/lambda-runtime-api/lambda_runtime_api.py" --port 0 \
  --port-file "$runtime_port_file" --deadline-ms $((lambda_timeout * 1000))
runtime_pid=$STARTED_PID
wait_until 15 "$runtime_pid" test -s "$runtime_port_file" ||
  die "the local Lambda Runtime API did not start (see runtime-api.log in the logs kept below)"
runtime_api=127.0.0.1:$(cat "$runtime_port_file")

# Started as Lambda starts a custom runtime's bootstrap: no arguments, AWS_LAMBDA_RUNTIME_API
# set. The access point's root (the data directory) is where Lambda mounts it.
start_process file-monitor "$work/file-monitor.log" TERM \
  env "${monitor_env[@]}" EFS_MOUNT_PATH="$data_dir" SCAN_CACHE_PATH="$work/scan.cache" \
  AWS_LAMBDA_RUNTIME_API="$runtime_api" AWS_LAMBDA_FUNCTION_NAME="$function_name" \
  "$file_monitor"
monitor_pid=$STARTED_PID
say "file-monitor (pid $monitor_pid) polls the Runtime API at $runtime_api; this script plays" \
  "EventBridge: a scheduled event every ${period}s"

events_sent=0
events_reported=0
scheduled_event() {
  printf '{"version":"0","id":"demo-%d","detail-type":"Scheduled Event","source":"aws.events",' \
    "$events_sent"
  printf '"account":"123456789012","time":"%s","region":"%s",' \
    "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$region"
  printf '"resources":["arn:aws:events:%s:123456789012:rule/%s"],"detail":{}}' \
    "$region" "$rule_name"
}
send_event() {
  scheduled_event | curl -sf -o /dev/null --max-time 5 --data-binary @- \
    "http://$runtime_api/_fixture/events" || return 1
  events_sent=$((events_sent + 1))
}


# Outcomes of the invocations not reported yet, in order, one line each:
#   status files mount_targets desired created(az:id,...|-) published_generation(-) error
invocation_lines() {
  curl -sf --max-time 5 "http://$runtime_api/_fixture/results?timeout=${1:-0}" |
    python3 -c '
import json, sys
start = int(sys.argv[1])
for inv in json.load(sys.stdin)["invocations"][start:]:
    if inv["status"] not in ("succeeded", "failed"):
        break
    if inv["status"] == "failed":
        err = inv["error"] if isinstance(inv["error"], dict) else {"errorMessage": str(inv["error"])}
        print("failed - - - - -", (err.get("errorType", "") + ": " + err.get("errorMessage", "")).replace("\n", " ")[:300])
        continue
    r = inv["response"]
    created = ",".join(c["availability_zone"] + ":" + c["id"] for c in r.get("created") or []) or "-"
    generation = r["published_generation"] if r.get("published") else "-"
    now = len(r["mount_targets"]) + len(r.get("created") or [])
    print("succeeded", r["scan"]["files"], now, r["desired_mount_targets"],
          created, generation, "-")' "$events_reported"
}

monitor_files=0
monitor_mount_targets=$mount_targets_before
monitor_failed_runs=0
ssm_generations=()
report_invocations() {
  local status files mts desired created generation error
  while read -r status files mts desired created generation error; do
    [[ -n $status ]] || continue
    events_reported=$((events_reported + 1))
    if [[ $status == failed ]]; then
      monitor_failed_runs=$((monitor_failed_runs + 1))
      say "file-monitor run $events_reported FAILED: $error"
      continue
    fi
    monitor_files=$files
    monitor_mount_targets=$mts
    say "file-monitor run $events_reported: $files files counted, wants $desired mount target(s)," \
      "has $mts"
    if [[ $created != - ]]; then
      local item
      for item in ${created//,/ }; do
        say "  $(bold "created mount target ${item#*:} in a new AZ, ${item%%:*}")"
      done
    fi
    if [[ $generation != - ]]; then
      ssm_generations+=("$generation")
      say "  published the list to SSM $parameter: $(bold "generation $generation")"
    fi
  done < <(invocation_lines "${1:-0}")
}

send_event
report_invocations 60
((events_reported == 1)) || die "file-monitor's first run did not finish (see file-monitor.log in the logs kept below)"
status_json=$(aws_status) || die "file-monitor status failed against moto"
generation_before=$(ssm_generation_of "$status_json")
ssm_generations=("$generation_before")
say "SSM parameter $parameter: generation $generation_before (file-monitor status)"

# --- 4. file-service: the ECS service's two tasks ----------------------------------------------
service_ports=()
service_pids=()
for task in 1 2; do
  extra=(LISTEN_ADDRESS=127.0.0.1 PORT=0)
  if [[ $backend == nfs ]]; then
    extra+=(NFS_ADDRESS_MAP="$address_map")
  else
    extra+=(STORAGE_BACKEND=directory MOUNT_PATH_TEMPLATE="$data_dir")
  fi
  start_process "file-service-$task" "$work/file-service-$task.log" TERM \
    env "${service_env[@]}" "${extra[@]}" "$file_service"
  service_pids+=("$STARTED_PID")
done
for task in 0 1; do
  service_log="$work/file-service-$((task + 1)).log"
  wait_until 30 "${service_pids[$task]}" logged_port "$service_log" file-service >/dev/null ||
    die "file-service task $((task + 1)) did not start (see file-service-$((task + 1)).log in the logs kept below)"
  service_ports+=("$(logged_port "$service_log" file-service)")
  wait_until 30 "${service_pids[$task]}" http_ok "http://127.0.0.1:${service_ports[$task]}/readyz" ||
    die "file-service task $((task + 1)) is not ready (see file-service-$((task + 1)).log in the logs kept below)"
done

declare -A target_az # mount target id -> AZ
service_generation=(0 0)
service_first_generation=()
# poll_services: each task's /targets; says when a task's list or a target's health changes.
declare -A target_health # "task/id" -> true|false
poll_services() {
  local task body generation ids id az healthy
  for task in 0 1; do
    body=$(curl -sf --max-time 2 "http://127.0.0.1:${service_ports[$task]}/targets") || {
      alive "${service_pids[$task]}" || fail_check "file-service task $((task + 1)) exited"
      continue
    }
    generation=$(json_get 'd["generation"]' <<<"$body")
    ids=""
    while read -r id az healthy; do
      target_az[$id]=$az
      ids+="$az "
      if [[ ${target_health["$task/$id"]:-} == true && $healthy == false ]]; then
        say "file-service task $((task + 1)) marks $id ($az) down after failed health checks"
      fi
      target_health["$task/$id"]=$healthy
    done < <(json_get '"\n".join("%s %s %s" % (t["id"], t["availability_zone"], str(t["healthy"]).lower()) for t in d["mount_targets"])' <<<"$body")
    if [[ $generation != "${service_generation[$task]}" ]]; then
      # A task can read the new list before file-monitor's run has returned (the ECS update
      # comes after publishing): report that run first, so the story reads in order.
      if ((generation > ${ssm_generations[-1]:-0})); then
        report_invocations 3
      fi
      if [[ ${service_generation[$task]} == 0 ]]; then
        service_first_generation[task]=$generation
        say "file-service task $((task + 1)) (pid ${service_pids[$task]}, port" \
          "${service_ports[$task]}) routes over generation $generation: ${ids% }"
      else
        say "  $(bold "file-service task $((task + 1)) picked up generation $generation") without a" \
          "restart (same pid ${service_pids[$task]}): ${ids% }"
      fi
      service_generation[task]=$generation
    fi
  done
}
poll_services
backend_text="NFSv4 to each mount target (NFS_ADDRESS_MAP maps the 10.x addresses to 127.0.0.2-4)"
[[ $backend == directory ]] && backend_text="directory back end ($data_dir for every mount target)"
say "file-service: http://127.0.0.1:${service_ports[0]} and http://127.0.0.1:${service_ports[1]}," \
  "$backend_text"

# --- 5. Traffic: files written through file-service while file-monitor runs --------------------
step "4. Writing $files files through file-service while file-monitor runs every ${period}s"
body_file=$work/body
head -c 1024 /dev/urandom | base64 >"$body_file"
declare -A served        # mount target id -> requests (this phase), from X-Mount-Target
declare -A served_total  # mount target id -> requests (whole run)
written=0
write_errors=0
failover_requests=0
failover_errors=0

# requests METHOD FROM TO: one curl for files FROM..TO, alternating between the two tasks;
# counts statuses and the mount target that served each request.
requests() {
  local method=$1 from=$2 to=$3 i args=() code target ok=0
  for ((i = from; i <= to; i++)); do
    [[ $method == PUT ]] && args+=(-T "$body_file")
    args+=(-o /dev/null "http://127.0.0.1:${service_ports[$((i % 2))]}/files/demo/d$((i % 16))/file-$i.txt")
  done
  while read -r code target; do
    if [[ $code == 2* ]]; then
      target=${target:-unknown}
      ok=$((ok + 1))
      served[$target]=$((${served[$target]:-0} + 1))
      served_total[$target]=$((${served_total[$target]:-0} + 1))
    else
      say "request failed: $method (HTTP ${code:-none}) $target"
    fi
  done < <(curl -s --max-time 30 -w '%{http_code} %header{x-mount-target}\n' "${args[@]}" \
    2>/dev/null || true)
  # A request curl could not even report counts as failed.
  REQUESTS_OK=$ok
  REQUESTS_BAD=$((to - from + 1 - ok))
}

now_ms() { local t=${EPOCHREALTIME/./}; printf '%s\n' $((t / 1000)); }

distribution() {
  local id text=""
  for id in "${!served[@]}"; do
    [[ -n $id ]] && text+="${target_az[$id]:-$id} ${served[$id]}  "
  done
  printf '%s' "${text% }"
}

status_text() {
  printf 'files  %d mount target(s), SSM gen %s, tasks at gen %s/%s' "$monitor_mount_targets" \
    "${ssm_generations[-1]}" "${service_generation[0]}" "${service_generation[1]}"
}

start_ms=$(now_ms)
next_event_ms=$((start_ms + period * 1000))
tick() { # one pass of the schedule and the observers
  if (($(now_ms) >= next_event_ms)); then
    send_event || fail_check "could not queue a scheduled event"
    next_event_ms=$((next_event_ms + period * 1000))
  fi
  report_invocations 0
  poll_services
}
while ((written < files)); do
  elapsed=$(($(now_ms) - start_ms))
  due=$((files * elapsed / (duration * 1000) + 1))
  ((due > files)) && due=$files
  if ((due > written)); then
    ((due - written > 100)) && due=$((written + 100))
    requests PUT $((written + 1)) "$due"
    written=$((written + REQUESTS_OK))
    write_errors=$((write_errors + REQUESTS_BAD))
    # A failed file is not retried: it still counts as written-or-failed, so the loop ends.
    ((REQUESTS_BAD > 0)) && files=$((files - REQUESTS_BAD))
  fi
  tick
  progress_bar "$written" "$files" "$(status_text)"
  sleep 0.3
done
end_bar
say "written: $written files, $write_errors errors; served by mount target: $(distribution)"

# The schedule goes on until file-monitor has added what the count asks for and both tasks use
# the list it published.
expected=$(((files + threshold - 1) / threshold))
((expected > 3)) && expected=3
say "waiting for file-monitor to reach $expected mount target(s) and both tasks to follow"
settle_deadline=$((SECONDS + period * (expected + 3) + 20))
healthy_targets() { # TASK: how many mount targets the task routes to now
  local key n=0
  for key in "${!target_health[@]}"; do
    [[ $key == "$1/"* && ${target_health[$key]} == true ]] && n=$((n + 1))
  done
  printf '%d\n' "$n"
}
settled() {
  ((monitor_mount_targets >= expected)) &&
    [[ ${service_generation[0]} == "${ssm_generations[-1]}" ]] &&
    [[ ${service_generation[1]} == "${ssm_generations[-1]}" ]] &&
    (($(healthy_targets 0) >= expected && $(healthy_targets 1) >= expected))
}
until settled || ((SECONDS > settle_deadline)); do
  tick
  sleep 0.5
done
status_json=$(aws_status) || die "file-monitor status failed against moto"
mount_targets_after=$(mount_target_count "$status_json")
generation_after=$(ssm_generation_of "$status_json")
settled || fail_check "after ${period}s runs: $monitor_mount_targets of $expected mount targets," \
  "SSM generation ${ssm_generations[-1]}, tasks at ${service_generation[0]}/${service_generation[1]}"
((mount_targets_after > mount_targets_before)) || fail_check "no mount target was created"
((generation_after > generation_before)) || fail_check "the SSM generation did not change"
for task in 0 1; do
  [[ ${service_generation[$task]} == "$generation_after" ]] ||
    fail_check "file-service task $((task + 1)) did not pick up generation $generation_after"
  alive "${service_pids[$task]}" || fail_check "file-service task $((task + 1)) is not running"
done
((write_errors == 0)) || fail_check "$write_errors writes failed"
((monitor_failed_runs == 0)) || fail_check "$monitor_failed_runs file-monitor runs failed"
say "mount targets (file-monitor status): $(mount_targets_line "$status_json")"
say "SSM parameter: generation $generation_after"

# Traffic across all mount targets, as each task's /metrics counts it.
metrics_by_target() { # TASK
  curl -sf --max-time 2 "http://127.0.0.1:${service_ports[$1]}/metrics" | python3 -c '
import re, sys
counts = {}
for line in sys.stdin:
    m = re.match(r"file_service_requests_total\{.*mount_target=\"([^\"]+)\"\} (\d+)", line)
    if m:
        counts[m.group(1)] = counts.get(m.group(1), 0) + int(m.group(2))
print(" ".join("%s=%d" % kv for kv in sorted(counts.items())))'
}
show_metrics() {
  local task pair text
  for task in 0 1; do
    text=""
    for pair in $(metrics_by_target "$task"); do
      text+="${target_az[${pair%%=*}]:-${pair%%=*}} ${pair#*=}  "
    done
    say "file-service task $((task + 1)) /metrics, requests per mount target: ${text% }"
  done
}
# With every mount target in use by both tasks: a round of reads shows the spread.
served=()
requests GET 1 $((written < 60 ? written : 60))
read_errors=$REQUESTS_BAD
say "$REQUESTS_OK reads of the files just written, over all mount targets: $(distribution)"
((read_errors == 0)) || fail_check "$read_errors reads failed"
show_metrics

# --- 6. Failover: one mount target goes away ---------------------------------------------------
killed_target=""
if [[ $backend == nfs ]]; then
  step "5. Failover: killing one mount target's NFS server"
  # The busiest mount target of the run goes.
  busiest="" most=-1
  for id in "${!served_total[@]}"; do
    [[ -n $id && $id != unknown ]] || continue
    if ((served_total[$id] > most)); then busiest=$id most=${served_total[$id]}; fi
  done
  [[ -n $busiest ]] || die "no request was served: nothing to fail over from"
  victim_az=${target_az[$busiest]:-}
  victim=0
  i=0
  while read -r az _; do
    [[ $az == "$victim_az" ]] && victim=$i
    i=$((i + 1))
  done <<<"$subnet_table"
  killed_target=$busiest
  say "kill -9 of nfs-ganesha on ${ganesha_addresses[$victim]} (mount target $busiest in $victim_az," \
    "$most requests so far)"
  stop_process "${ganesha_pids[$victim]}" 0 2>/dev/null
  served=()
  next=$((written + 1))
  read_from=1
  end_ms=$(($(now_ms) + failover_seconds * 1000))
  # The traffic goes on for the set time, and until both tasks' health checks have marked the
  # dead mount target down (three failed probes), at most 30 s more.
  hard_end_ms=$((end_ms + 30000))
  both_down() {
    [[ ${target_health["0/$killed_target"]:-} == false && ${target_health["1/$killed_target"]:-} == false ]]
  }
  while (($(now_ms) < end_ms)) || { ! both_down && (($(now_ms) < hard_end_ms)); }; do
    requests PUT "$next" $((next + 5))
    failover_requests=$((failover_requests + 6))
    failover_errors=$((failover_errors + REQUESTS_BAD))
    next=$((next + 6))
    requests GET "$read_from" $((read_from + 5))
    failover_requests=$((failover_requests + 6))
    failover_errors=$((failover_errors + REQUESTS_BAD))
    read_from=$((read_from + 6))
    ((read_from + 5 > written)) && read_from=1
    tick
    progress_bar $(((failover_seconds * 1000 - (end_ms - $(now_ms))) / 1000)) "$failover_seconds" \
      "s after the kill: $failover_requests requests, $failover_errors errors"
    sleep 0.2
  done
  end_bar
  say "after the kill: $failover_requests requests (PUT and GET), $failover_errors errors;" \
    "served by: $(distribution)"
  ((failover_errors == 0)) || fail_check "$failover_errors requests failed after the kill"
  if [[ -n ${served[$killed_target]:-} ]]; then
    fail_check "the killed mount target still served ${served[$killed_target]} requests"
  fi
  for task in 0 1; do
    [[ ${target_health["$task/$killed_target"]:-} == false ]] ||
      fail_check "file-service task $((task + 1)) did not mark $killed_target down"
  done
else
  step "5. Failover: skipped (it needs the NFS back end)"
fi

# --- Summary -----------------------------------------------------------------------------------
step "Summary"
per_target=""
for id in "${!served_total[@]}"; do
  [[ -n $id ]] && per_target+="${target_az[$id]:-?}:$id=${served_total[$id]} "
done
tasks_running=0
for task in 0 1; do
  if alive "${service_pids[$task]}"; then
    tasks_running=$((tasks_running + 1))
  else
    fail_check "file-service task $((task + 1)) (pid ${service_pids[$task]}) is no longer running"
  fi
done
result=ok
((${#failures[@]} == 0)) || result=failed
summary=(
  "stack=$stack_mode"
  "backend=$backend"
  "threshold=$threshold"
  "files_written=$written"
  "write_errors=$write_errors"
  "read_errors=$read_errors"
  "monitor_runs=$events_reported"
  "monitor_failed_runs=$monitor_failed_runs"
  "mount_targets_before=$mount_targets_before"
  "mount_targets_after=$mount_targets_after"
  "generation_before=$generation_before"
  "generation_after=$generation_after"
  "task_generations=${service_first_generation[0]:-0}->${service_generation[0]},${service_first_generation[1]:-0}->${service_generation[1]}"
  "tasks_running_since_start=$tasks_running"
  "requests_per_target=${per_target% }"
  "killed_mount_target=${killed_target:-none}"
  "failover_requests=$failover_requests"
  "failover_errors=$failover_errors"
  "result=$result"
)
printf '  %-22s %s\n' \
  "files written" "$written through 2 file-service tasks, $write_errors errors" \
  "file-monitor runs" "$events_reported ($monitor_failed_runs failed), last count $monitor_files" \
  "mount targets" "$mount_targets_before before, $mount_targets_after after" \
  "SSM generation" "$generation_before -> $generation_after (seen: ${ssm_generations[*]})" \
  "file-service tasks" "task 1 ${service_first_generation[0]:-0} -> ${service_generation[0]}, task 2 ${service_first_generation[1]:-0} -> ${service_generation[1]}, $tasks_running of 2 still the processes started first" \
  "requests per target" "${per_target:-none}" \
  "failover" "$(if [[ -n $killed_target ]]; then echo "killed $killed_target: $failover_requests requests after, $failover_errors errors"; else echo "skipped (directory back end)"; fi)"
if [[ -n $summary_file ]]; then
  printf '%s\n' "${summary[@]}" >"$summary_file"
fi
if [[ $result == ok ]]; then
  printf '\n%s\n' "$(bold "demo OK: every step worked")"
else
  printf '\n%s\n' "$(bold "demo FAILED:")"
  printf '  - %s\n' "${failures[@]}"
  exit 1
fi
