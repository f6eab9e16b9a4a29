#!/usr/bin/env bash
# The whole stack against a moto_server this test starts: deploy_all.sh --skip-image applies it,
# a second plan shows no changes, file-monitor run with a count above the threshold adds a mount
# target in a second AZ and publishes it, and destroy_all.sh removes everything (including that
# mount target, which Terraform does not know about).
# Usage: moto_stack_test.sh FILE_MONITOR_BINARY
set -euo pipefail
# shellcheck source=tests/integration/infra/lib.sh disable=SC1091
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

file_monitor=${1:?usage: moto_stack_test.sh FILE_MONITOR_BINARY}
for tool in terraform moto_server aws python3 curl; do
  command -v "$tool" >/dev/null || skip "$tool is not installed (scripts/install-deps.sh)"
done
setup_terraform_cli_config
export TF_IN_AUTOMATION=1 NO_COLOR=1 TF_CLI_ARGS_apply=-no-color TF_CLI_ARGS_plan=-no-color \
  TF_CLI_ARGS_destroy=-no-color
# The Lambda's architecture is this host's, the one file-monitor was built for.
host_architecture=$(host_lambda_architecture)
other_architecture=$(other_lambda_architecture)
export TF_VAR_lambda_architecture=$host_architecture

work=$(mktemp -d)
cleanup() {
  stop_moto
  rm -rf "$work"
}
trap cleanup EXIT

start_moto "$work" || { cat "$work/moto.log" >&2; exit 1; }
moto_env
region=ap-northeast-1
export AWS_REGION=$region AWS_DEFAULT_REGION=$region
echo "moto_server at $MOTO_ENDPOINT"

stack=$work/terraform
mkdir -p "$stack"
cp "$SOURCE_DIR"/terraform/*.tf "$stack/"
cp "$INFRA_TEST_DIR/moto_override.tf" "$stack/"

zip=$work/file-monitor.zip
"$SOURCE_DIR/scripts/deploy_lambda.sh" --binary "$file_monitor" --output "$zip" 2>&1 | tail -n 1

# --- deploy ----------------------------------------------------------------------------------
deploy_log=$work/deploy.log
# --image-tag without building: the service runs an image pushed before.
if "$SOURCE_DIR/scripts/deploy_all.sh" --skip-image --image-tag pushed-before --auto-approve \
  --terraform-dir "$stack" --lambda-zip "$zip" >"$deploy_log" 2>&1; then
  pass "deploy_all.sh --skip-image applies the stack ($(grep -o 'Resources: [0-9]* added' "$deploy_log"))"
else
  fail "deploy_all.sh --skip-image"
  tail -n 60 "$deploy_log" | sed 's/^/     | /'
  finish
  exit 1
fi
check "deploy_all.sh says the image steps were skipped" grep -q "step 3/4: skipped" "$deploy_log"
check "a new service is not given a second deployment" \
  grep -q "step 4/4: skipped (the apply created" "$deploy_log"

out() { tf_output "$stack" "$1"; }
fs=$(out efs_file_system_id)
parameter=$(out ssm_parameter_name)
function_name=$(out lambda_function_name)

aws_text() { aws_cli "$@" --output text; }
expect_eq() {
  local want=$1 got
  shift
  got=$("$@")
  if [[ $got != "$want" ]]; then
    echo "got '$got', want '$want'"
    return 1
  fi
}
check "the file system is encrypted" expect_eq True \
  aws_text efs describe-file-systems --file-system-id "$fs" --query 'FileSystems[0].Encrypted'
check "it has one mount target, in the first AZ" expect_eq "${region}a" \
  aws_text efs describe-mount-targets --file-system-id "$fs" \
  --query 'MountTargets[].AvailabilityZoneName'
check "the Lambda runs provided.al2023" expect_eq provided.al2023 \
  aws_text lambda get-function-configuration --function-name "$function_name" --query Runtime
check "the Lambda may run only once at a time" expect_eq 1 \
  aws_text lambda get-function-concurrency --function-name "$function_name" \
  --query ReservedConcurrentExecutions
lambda_env=$(aws_cli lambda get-function-configuration --function-name "$function_name" \
  --query 'Environment.Variables' --output json)
env_names_agreed() {
  python3 - "$lambda_env" <<'PY'
import json, sys
env = json.loads(sys.argv[1])
agreed = {"EFS_FILE_SYSTEM_ID", "EFS_MOUNT_PATH", "EFS_TARGET_DIRECTORY", "FILE_COUNT_THRESHOLD",
          "SSM_PARAMETER_NAME", "ECS_CLUSTER_NAME", "ECS_SERVICE_NAME", "FORCE_ECS_DEPLOYMENT",
          "CANDIDATE_SUBNET_IDS", "MOUNT_TARGET_SECURITY_GROUP_IDS", "MAX_MOUNT_TARGETS",
          "MAX_CREATES_PER_RUN", "DRY_RUN", "SCAN_CACHE_PATH", "SCAN_THREADS", "LOG_LEVEL"}
unknown = set(env) - agreed
missing = agreed - set(env)
assert not unknown and not missing, f"unknown {sorted(unknown)}, missing {sorted(missing)}"
assert env["FILE_COUNT_THRESHOLD"] == "100000" and env["EFS_MOUNT_PATH"] == "/mnt/efs", env
assert len(env["CANDIDATE_SUBNET_IDS"].split(",")) == 3, env
PY
}
check "the Lambda gets exactly the agreed variables" env_names_agreed
check "the schedule runs every 5 minutes" expect_eq "rate(5 minutes)" \
  aws_text events describe-rule --name "$(out schedule_rule_name)" --query ScheduleExpression
check "a failed run is left to the next scheduled one, not retried" expect_eq 0 \
  aws_text lambda get-function-event-invoke-config --function-name "$function_name" \
  --query MaximumRetryAttempts
ecr_rules() {
  aws_cli ecr get-lifecycle-policy --repository-name efs-mount-autoscaling-file-service \
    --query lifecyclePolicyText --output text | python3 -c '
import json, sys
rules = sorted(json.load(sys.stdin)["rules"], key=lambda r: r["rulePriority"])
assert [r["selection"]["tagStatus"] for r in rules] == ["untagged", "any"], rules
assert rules[0]["selection"]["countNumber"] == 7, rules
assert rules[1]["selection"]["countType"] == "imageCountMoreThan", rules
assert rules[1]["selection"]["countNumber"] == 30, rules
'
}
check "the image repository drops untagged images after a week and keeps the newest 30" ecr_rules
check "an event held back by a run still going is dropped after the run's timeout and a minute" \
  expect_eq 360 aws_text lambda get-function-event-invoke-config \
  --function-name "$function_name" --query MaximumEventAgeInSeconds
parameter_lists() {
  local want_count=$1
  aws_cli ssm get-parameter --name "$parameter" --query Parameter.Value --output text |
    python3 -c '
import json, sys
doc = json.load(sys.stdin)
want, fs = int(sys.argv[1]), sys.argv[2]
assert doc["schema_version"] == 1 and doc["file_system_id"] == fs, doc
targets = doc["mount_targets"]
assert len(targets) == want, f"{len(targets)} mount targets, want {want}: {doc}"
assert len({t["availability_zone"] for t in targets}) == want, doc
assert all(t["state"] == "available" for t in targets), doc
print(doc["generation"])' "$want_count" "$fs"
}
check "the parameter lists the first mount target" parameter_lists 1
check "the ECS service runs 2 tasks" expect_eq 2 \
  aws_text ecs describe-services --cluster "$(out ecs_cluster_name)" \
  --services "$(out ecs_service_name)" --query 'services[0].desiredCount'
check "the load balancer checks /readyz" expect_eq /readyz \
  aws_text elbv2 describe-target-groups --names "efs-mount-autoscaling-tg" \
  --query 'TargetGroups[0].HealthCheckPath'
task_image() {
  local definition
  definition=$(aws_text ecs describe-services --cluster "$(out ecs_cluster_name)" \
    --services "$(out ecs_service_name)" --query 'services[0].taskDefinition') &&
    aws_text ecs describe-task-definition --task-definition "$definition" \
      --query 'taskDefinition.containerDefinitions[0].image' | sed 's/.*://'
}
check "the tasks run the image tag given with --skip-image" expect_eq pushed-before task_image
task_env() {
  aws_text ecs describe-task-definition --task-definition "$(aws_text ecs describe-services \
    --cluster "$(out ecs_cluster_name)" --services "$(out ecs_service_name)" \
    --query 'services[0].taskDefinition')" \
    --query "taskDefinition.containerDefinitions[0].environment[?name=='$1'].value | [0]"
}
alb_idle_timeout() {
  aws_text elbv2 describe-load-balancer-attributes --load-balancer-arn "$(aws_text elbv2 \
    describe-load-balancers --names efs-mount-autoscaling-alb \
    --query 'LoadBalancers[0].LoadBalancerArn')" \
    --query "Attributes[?Key=='idle_timeout.timeout_seconds'].Value | [0]"
}
check "the load balancer drops idle connections after 60 s" expect_eq 60 alb_idle_timeout
check "the tasks keep them 5 s longer (no 502 on a connection just closed)" expect_eq 65000 \
  task_env IDLE_TIMEOUT_MS
task_log_mode() {
  aws_text ecs describe-task-definition --task-definition "$(aws_text ecs describe-services \
    --cluster "$(out ecs_cluster_name)" --services "$(out ecs_service_name)" \
    --query 'services[0].taskDefinition')" \
    --query 'taskDefinition.containerDefinitions[0].logConfiguration.options.mode'
}
check "a slow CloudWatch Logs never blocks the service's log writes" expect_eq non-blocking \
  task_log_mode
check "the log groups keep 30 days" expect_eq "30	30" \
  aws_text logs describe-log-groups --log-group-name-prefix / \
  --query "logGroups[?logGroupName=='$(out lambda_log_group)' || logGroupName=='$(out ecs_log_group)'].retentionInDays"

# Least privilege, as deployed: the Lambda's and the task's inline policies.
policies_are_scoped() {
  local lambda_policy task_policy service_arn
  lambda_policy=$(aws_cli iam get-role-policy --role-name efs-mount-autoscaling-file-monitor \
    --policy-name file-monitor --query PolicyDocument --output json)
  task_policy=$(aws_cli iam get-role-policy --role-name efs-mount-autoscaling-file-service \
    --policy-name file-service --query PolicyDocument --output json)
  service_arn=$(aws_text ecs describe-services --cluster "$(out ecs_cluster_name)" \
    --services "$(out ecs_service_name)" --query 'services[0].serviceArn')
  python3 - "$lambda_policy" "$task_policy" "$fs" "$parameter" "$service_arn" <<'PY'
import json, sys
lambda_doc, task_doc = (json.loads(a) for a in sys.argv[1:3])
fs, parameter, service_arn = sys.argv[3:6]
def statements(doc):
    for s in doc["Statement"]:
        actions = s["Action"] if isinstance(s["Action"], list) else [s["Action"]]
        resources = s["Resource"] if isinstance(s["Resource"], list) else [s["Resource"]]
        yield actions, resources, s
def resources_of(doc, action):
    return [r for actions, resources, _ in statements(doc) if action in actions for r in resources]
for actions, _, _ in statements(lambda_doc):
    assert not any(a == "*" or a.endswith(":*") for a in actions), actions
for action in ("elasticfilesystem:CreateMountTarget", "elasticfilesystem:DescribeMountTargets"):
    rs = resources_of(lambda_doc, action)
    assert rs and all(r.endswith(":file-system/" + fs) for r in rs), (action, rs)
for action in ("ssm:GetParameter", "ssm:GetParameterHistory", "ssm:PutParameter"):
    rs = resources_of(lambda_doc, action)
    assert rs and all(r.endswith(":parameter" + parameter) for r in rs), (action, rs)
rs = resources_of(lambda_doc, "ecs:UpdateService")
assert rs == [service_arn], (rs, service_arn)
task = list(statements(task_doc))
assert len(task) == 1 and task[0][0] == ["ssm:GetParameter"], task_doc
assert task[0][1][0].endswith(":parameter" + parameter), task_doc
PY
}
check "IAM: mount targets only on this file system, only this parameter and service" \
  policies_are_scoped

# --- no drift --------------------------------------------------------------------------------
plan_log=$work/plan.log
set +e
terraform -chdir="$stack" plan -input=false -detailed-exitcode -var "lambda_package_path=$zip" \
  -var "image_tag=$(out image_tag)" >"$plan_log" 2>&1
plan_status=$?
set -e
if ((plan_status == 0)); then
  pass "a second plan shows no changes"
else
  fail "a second plan shows no changes (terraform plan exited $plan_status)"
  grep -E '^\s+[#~+-]|Plan:|Error' "$plan_log" | head -n 40 | sed 's/^/     | /'
fi

# --- file-monitor scales the stack -----------------------------------------------------------
efs=$work/efs
mkdir -p "$efs"
for i in $(seq 1 12); do
  : >"$efs/file-$i"
done
run_log=$work/run.log
run_file_monitor() {
  env EFS_FILE_SYSTEM_ID="$fs" EFS_MOUNT_PATH="$efs" EFS_TARGET_DIRECTORY=/ \
    FILE_COUNT_THRESHOLD=5 SSM_PARAMETER_NAME="$parameter" \
    ECS_CLUSTER_NAME="$(out ecs_cluster_name)" ECS_SERVICE_NAME="$(out ecs_service_name)" \
    CANDIDATE_SUBNET_IDS="$(terraform -chdir="$stack" output -json private_subnet_ids |
      python3 -c 'import json,sys; print(",".join(json.load(sys.stdin)))')" \
    MOUNT_TARGET_SECURITY_GROUP_IDS="$(out mount_target_security_group_id)" \
    MAX_MOUNT_TARGETS=3 MAX_CREATES_PER_RUN=1 SCAN_CACHE_PATH="" \
    "$file_monitor" run >"$run_log" 2>&1
}
check "file-monitor run (12 files, threshold 5) against the deployed stack" run_file_monitor
check "it created a mount target in a second AZ" expect_eq "${region}a	${region}c" \
  aws_text efs describe-mount-targets --file-system-id "$fs" \
  --query 'sort(MountTargets[].AvailabilityZoneName)'
published() {
  local generation
  generation=$(parameter_lists 2) && ((generation > 1))
}
check "it published both mount targets with a higher generation" published
if any_failed; then
  sed 's/^/     | /' "$run_log" | tail -n 30
fi

# --- deploy again, still without an image ----------------------------------------------------
deployment_id() {
  aws_text ecs describe-services --cluster "$(out ecs_cluster_name)" \
    --services "$(out ecs_service_name)" --query 'services[0].deployments[0].id'
}
deployment_before=$(deployment_id)
redeploy_log=$work/redeploy.log
if "$SOURCE_DIR/scripts/deploy_all.sh" --skip-image --skip-invoke --auto-approve \
  --terraform-dir "$stack" --lambda-zip "$zip" >"$redeploy_log" 2>&1; then
  pass "deploy_all.sh --skip-image again"
else
  fail "deploy_all.sh --skip-image again"
  tail -n 30 "$redeploy_log" | sed 's/^/     | /'
fi
check "the tasks keep the image they ran (not the variable's default)" expect_eq pushed-before \
  task_image
# Nothing changed in the task definition: the tasks are replaced (a tag may have been pushed anew).
deployment_after=$(deployment_id)
check "with the same task definition, a new deployment is forced" \
  test "$deployment_after" != "$deployment_before"

# --- a package for another architecture than the stack's: refused before the apply -------------
wrong_arch_log=$work/wrong-architecture.log
if TF_VAR_lambda_architecture=$other_architecture "$SOURCE_DIR/scripts/deploy_all.sh" \
  --skip-image --skip-invoke --auto-approve --terraform-dir "$stack" --lambda-zip "$zip" \
  >"$wrong_arch_log" 2>&1; then
  fail "deploy_all.sh deployed an $host_architecture package to an $other_architecture Lambda"
else
  check "deploy_all.sh refuses a package built for another architecture than the stack's" \
    grep -q "is built for $host_architecture, but the stack's lambda_architecture is" \
    "$wrong_arch_log"
  check "and applies nothing" expect_eq "$host_architecture" aws_text lambda \
    get-function-configuration --function-name "$function_name" --query 'Architectures[0]'
fi

# --- an image platform other than the tasks': refused before the apply ------------------------
wrong_platform_log=$work/wrong-platform.log
if TF_VAR_fargate_cpu_architecture=X86_64 "$SOURCE_DIR/scripts/deploy_all.sh" \
  --skip-image --skip-invoke --auto-approve --terraform-dir "$stack" --lambda-zip "$zip" \
  --platform linux/arm64 >"$wrong_platform_log" 2>&1; then
  fail "deploy_all.sh built a linux/arm64 image for X86_64 tasks"
else
  check "deploy_all.sh refuses an image platform the tasks do not run" \
    grep -q -- "--platform linux/arm64: the stack's tasks run on linux/amd64" "$wrong_platform_log"
fi

# --- deploy a new image tag: the apply's own deployment, not a second one ---------------------
tag_log=$work/new-tag.log
if "$SOURCE_DIR/scripts/deploy_all.sh" --skip-image --skip-invoke --auto-approve \
  --image-tag pushed-later --terraform-dir "$stack" --lambda-zip "$zip" >"$tag_log" 2>&1; then
  pass "deploy_all.sh --skip-image --image-tag pushed-later"
else
  fail "deploy_all.sh --skip-image --image-tag pushed-later"
  tail -n 30 "$tag_log" | sed 's/^/     | /'
fi
check "the tasks run the new tag" expect_eq pushed-later task_image
# moto gives a forced deployment a new id but keeps the id when UpdateService changes the task
# definition (ECS would start a new primary deployment for that too): an unchanged id here means
# no deployment was forced.
check "a new task definition is not given a second, forced deployment" \
  expect_eq "$deployment_after" deployment_id
check "deploy_all.sh says ECS rolls the tasks to the new task definition" \
  grep -q "step 4/4: skipped (the apply moved" "$tag_log"

# --- with a certificate: HTTPS on 443, and port 80 only redirects there ------------------------
openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=files.example.com \
  -keyout "$work/tls.key" -out "$work/tls.crt" 2>/dev/null
certificate_arn=$(aws_text acm import-certificate --certificate "fileb://$work/tls.crt" \
  --private-key "fileb://$work/tls.key" --query CertificateArn)
tls_log=$work/tls.log
if TF_VAR_alb_certificate_arn=$certificate_arn "$SOURCE_DIR/scripts/deploy_all.sh" --skip-image \
  --skip-invoke --auto-approve --terraform-dir "$stack" --lambda-zip "$zip" >"$tls_log" 2>&1; then
  pass "deploy_all.sh with alb_certificate_arn"
else
  fail "deploy_all.sh with alb_certificate_arn"
  tail -n 30 "$tls_log" | sed 's/^/     | /'
fi
listener_action() {
  aws_text elbv2 describe-listeners --load-balancer-arn "$(aws_text elbv2 \
    describe-load-balancers --names efs-mount-autoscaling-alb \
    --query 'LoadBalancers[0].LoadBalancerArn')" \
    --query "Listeners[?Port==\`$1\`].DefaultActions[0].[Type, RedirectConfig.Protocol, RedirectConfig.Port, RedirectConfig.StatusCode] | [0]"
}
check "port 443 forwards to the tasks" expect_eq "forward	None	None	None" listener_action 443
check "port 80 redirects to HTTPS on 443 (301) and serves nothing itself" \
  expect_eq "redirect	HTTPS	443	HTTP_301" listener_action 80

# --- destroy, when the mount targets cannot be listed -----------------------------------------
# An aws on PATH whose describe-mount-targets fails (as with expired credentials); every other
# call goes to the real CLI. destroy_all.sh must stop there, not take the failure for "none".
shim=$work/failing-aws
mkdir -p "$shim"
real_aws=$(command -v aws)
cat >"$shim/aws" <<EOF
#!/usr/bin/env bash
for arg in "\$@"; do
  if [[ \$arg == describe-mount-targets ]]; then
    echo "An error occurred (ExpiredTokenException): the security token has expired" >&2
    exit 254
  fi
done
exec "$real_aws" "\$@"
EOF
chmod +x "$shim/aws"
refused_log=$work/destroy-refused.log
if PATH="$shim:$PATH" "$SOURCE_DIR/scripts/destroy_all.sh" --auto-approve \
  --terraform-dir "$stack" --timeout 10 >"$refused_log" 2>&1; then
  fail "destroy_all.sh went on without the list of mount targets"
else
  check "destroy_all.sh stops when the mount targets cannot be listed" \
    grep -q "cannot list the mount targets" "$refused_log"
fi
check "and the file system is still there" expect_eq 1 \
  aws_text efs describe-file-systems --file-system-id "$fs" --query 'length(FileSystems)'

# --- destroy ---------------------------------------------------------------------------------
destroy_log=$work/destroy.log
if "$SOURCE_DIR/scripts/destroy_all.sh" --auto-approve --terraform-dir "$stack" --timeout 60 \
  >"$destroy_log" 2>&1; then
  pass "destroy_all.sh ($(grep -o 'Resources: [0-9]* destroyed' "$destroy_log"))"
else
  fail "destroy_all.sh"
  tail -n 60 "$destroy_log" | sed 's/^/     | /'
fi
check "it removed the mount target Terraform did not know" \
  grep -q "deleting mount target fsmt-" "$destroy_log"
check "no file system is left" expect_eq "" \
  aws_text efs describe-file-systems --query 'FileSystems[].FileSystemId'
check "no VPC of the stack is left" expect_eq "" \
  aws_text ec2 describe-vpcs --filters Name=tag:Project,Values=efs-mount-autoscaling \
  --query 'Vpcs[].VpcId'
check "the parameter is gone" expect_eq "" \
  aws_text ssm describe-parameters --query 'Parameters[].Name'
check "the function is gone" expect_eq "" \
  aws_text lambda list-functions --query 'Functions[].FunctionName'
check "the Terraform state is empty" expect_eq "" terraform -chdir="$stack" state list

finish
