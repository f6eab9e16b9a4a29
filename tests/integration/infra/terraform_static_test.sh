#!/usr/bin/env bash
# terraform/ is formatted and valid, keeps the seed's variables and defaults, rejects bad values
# with its validation messages; the deploy scripts pass shellcheck, answer --help and name a
# missing tool clearly.
set -euo pipefail
# shellcheck source=tests/integration/infra/lib.sh disable=SC1091
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

command -v terraform >/dev/null || skip "terraform is not installed"
setup_terraform_cli_config
export TF_IN_AUTOMATION=1 NO_COLOR=1

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cp "$SOURCE_DIR"/terraform/*.tf "$SOURCE_DIR/terraform/terraform.tfvars.example" "$work/"

check "terraform fmt -check" terraform fmt -check -diff -recursive "$SOURCE_DIR/terraform"
check "terraform init (local provider mirror or registry)" \
  terraform -chdir="$work" init -backend=false -input=false -no-color
check "terraform validate" terraform -chdir="$work" validate -no-color

# console evaluates variables (and their validation) without touching AWS. Each call loads the
# provider, so the checks share as few calls as possible.
tf_eval() {
  local expression=$1
  shift
  echo "$expression" | terraform -chdir="$work" console -no-color "$@" 2>&1
}

# The seed's variables keep the seed's defaults, and the seed's resource names.
seed_expression='jsonencode([var.aws_region, var.environment, var.file_count_threshold,
  var.lambda_schedule_expression, var.efs_target_directory, var.fargate_cpu, var.fargate_memory,
  var.fargate_desired_count, local.ssm_parameter_name, local.lambda_log_group, local.ecs_log_group,
  local.ecs_cluster_name, local.ecs_service_name])'
seed_expression=$(tr -d '\n' <<<"$seed_expression")
seed_values='["ap-northeast-1","dev",100000,"rate(5 minutes)","/data",2048,4096,2,'
seed_values+='"/efs-mount-autoscaling/mount-targets","/aws/lambda/efs-mount-autoscaling-file-monitor",'
seed_values+='"/ecs/efs-mount-autoscaling-fargate","efs-mount-autoscaling-cluster",'
seed_values+='"efs-mount-autoscaling-fargate-service"]'
seed_got=$(tf_eval "$seed_expression")
seed_got=$(python3 -c 'import json, sys; print(json.loads(sys.argv[1]))' "$seed_got" 2>&1 ||
  echo "$seed_got")
check "the seed's defaults and resource names" test "$seed_got" = "$seed_values"
if [[ $seed_got != "$seed_values" ]]; then
  printf '     | got  %s\n     | want %s\n' "$seed_got" "$seed_values"
fi

example_got=$(tf_eval 'jsonencode([var.fargate_desired_count, var.alb_ingress_cidr_blocks])' \
  -var-file=terraform.tfvars.example -var fargate_cpu=1024 -var fargate_memory=2048)
check "terraform.tfvars.example and -var overrides are accepted" \
  grep -qF '[2,[\"10.0.0.0/8\"]]' <<<"$example_got"

# Bad values: each is rejected with its own message (terraform reports them all at once).
rejected=$(tf_eval 'var.aws_region' -var fargate_cpu=300 \
  -var 'lambda_schedule_expression=every 5 minutes' -var efs_target_directory=/data/../etc \
  -var file_count_threshold=0 -var az_count=1 -var file_service_storage_backend=s3 \
  -var 'alb_ingress_cidr_blocks=["everyone"]' -var aws_region=tokyo -var ecr_keep_images=0)
for message in "fargate_cpu must be one of" "lambda_schedule_expression must be" \
  "efs_target_directory must be" "file_count_threshold must be" "az_count must be" \
  "file_service_storage_backend must be" "alb_ingress_cidr_blocks must hold" \
  "aws_region must be" "ecr_keep_images must be"; do
  check "rejected: ${message% must*}" grep -qF "$message" <<<"$rejected"
done
check "nine bad values, nine errors" \
  test "$(grep -c 'Invalid value for variable' <<<"$rejected")" -eq 9
# EventBridge refuses a plural unit for 1 and a singular one for more.
for expression in "rate(1 minutes)" "rate(5 minute)" "rate(0 minutes)"; do
  rejected=$(tf_eval 'var.aws_region' -var "lambda_schedule_expression=$expression")
  check "rejected: $expression" grep -qF "lambda_schedule_expression must be" <<<"$rejected"
done
accepted=$(tf_eval 'var.lambda_schedule_expression' -var 'lambda_schedule_expression=rate(1 hour)')
check "accepted: rate(1 hour)" test "$accepted" = '"rate(1 hour)"'
# A limit checked against another variable.
rejected=$(tf_eval 'var.aws_region' -var body_limit_bytes=2000 -var upload_memory_limit_bytes=1000)
check "rejected: upload_memory_limit_bytes below body_limit_bytes" \
  grep -qF "upload_memory_limit_bytes must be at least body_limit_bytes" <<<"$rejected"
rejected=$(tf_eval 'var.aws_region' -var efs_performance_mode=maxIO)
check "rejected: maxIO with the default elastic throughput" \
  grep -qF "efs_performance_mode maxIO cannot be used with efs_throughput_mode elastic" <<<"$rejected"
rejected=$(tf_eval 'var.aws_region' -var alb_internal=false)
check "rejected: an internet-facing load balancer without alb_ingress_cidr_blocks" \
  grep -qF "alb_ingress_cidr_blocks must name the networks allowed in" <<<"$rejected"
accepted=$(tf_eval 'var.alb_internal' -var alb_internal=false \
  -var 'alb_ingress_cidr_blocks=["203.0.113.0/24"]')
check "accepted: an internet-facing load balancer with its networks" test "$accepted" = false
accepted=$(tf_eval 'var.efs_performance_mode' -var efs_performance_mode=maxIO \
  -var efs_throughput_mode=bursting)
check "accepted: maxIO with bursting throughput" test "$accepted" = '"maxIO"'

# Every variable has a description.
undocumented=$(awk '/^variable "/ { name = $2; described = 0 }
  /^  description *=/ { described = 1 }
  /^}/ && name != "" { if (!described) print name; name = "" }' "$SOURCE_DIR/terraform/variables.tf")
check "every variable has a description" test -z "$undocumented"

# The scripts.
scripts=(deploy_lambda build_and_push_fargate deploy_all destroy_all)
script_files=()
for name in "${scripts[@]}"; do
  script_files+=("$SOURCE_DIR/scripts/$name.sh")
done
if command -v shellcheck >/dev/null; then
  check "shellcheck: the deploy scripts and these tests" \
    shellcheck -x -P "$SOURCE_DIR" "${script_files[@]}" "$SOURCE_DIR/scripts/lib/common.sh" \
    "$INFRA_TEST_DIR"/*.sh
else
  fail "shellcheck is not installed (apt-get install shellcheck)"
fi

help_works() {
  local out
  out=$(bash "$1" --help) && grep -q "^Usage: scripts/" <<<"$out"
}
# Only dirname on PATH: every script must stop at its first missing tool and name it.
bare=$work/bare-bin
mkdir -p "$bare"
ln -s "$(command -v dirname)" "$bare/dirname"
names_missing_tool() {
  local out
  if out=$(PATH=$bare /bin/bash "$1" 2>&1); then
    echo "succeeded without any tool: $out"
    return 1
  fi
  grep -Eq "'(terraform|ldd|docker)' is not installed|docker is not installed" <<<"$out" ||
    { echo "unclear message: $out"; return 1; }
}
for file in "${script_files[@]}"; do
  check "$(basename "$file") --help" help_works "$file"
  check "$(basename "$file") names a missing tool" names_missing_tool "$file"
done

finish
