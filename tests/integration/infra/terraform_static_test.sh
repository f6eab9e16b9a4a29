#!/usr/bin/env bash
# terraform/ is formatted and valid, keeps the seed's variables and defaults, rejects bad values
# with its validation messages; the deploy scripts pass shellcheck, answer --help and name a
# missing tool clearly.
set -euo pipefail
# shellcheck source=tests/integration/infra/lib.sh
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

# console evaluates variables (and their validation) without touching AWS.
tf_eval() {
  local expression=$1
  shift
  echo "$expression" | terraform -chdir="$work" console "$@" 2>&1
}
expect_value() {
  local expression=$1 want=$2 got
  shift 2
  got=$(tf_eval "$expression" "$@")
  if [[ $got != "$want" ]]; then
    echo "$expression = $got, want $want"
    return 1
  fi
}
expect_rejected() {
  local message=$1 got
  shift
  got=$(tf_eval 'var.aws_region' "$@" -no-color)
  if ! grep -q "Invalid value for variable" <<<"$got" || ! grep -qF "$message" <<<"$got"; then
    echo "$*: not rejected with \"$message\":"
    echo "$got"
    return 1
  fi
}

# The seed's variables keep the seed's defaults.
check "default aws_region" expect_value var.aws_region '"ap-northeast-1"'
check "default environment" expect_value var.environment '"dev"'
check "default file_count_threshold" expect_value var.file_count_threshold 100000
check "default lambda_schedule_expression" \
  expect_value var.lambda_schedule_expression '"rate(5 minutes)"'
check "default efs_target_directory" expect_value var.efs_target_directory '"/data"'
check "default fargate_cpu" expect_value var.fargate_cpu 2048
check "default fargate_memory" expect_value var.fargate_memory 4096
check "default fargate_desired_count" expect_value var.fargate_desired_count 2
check "default ssm_parameter_name" \
  expect_value var.ssm_parameter_name '"/efs-mount-autoscaling/mount-targets"'
check "the seed's resource names" expect_value \
  '[local.lambda_log_group, local.ecs_log_group, local.ecs_cluster_name, local.ecs_service_name]' \
  "$(printf '[\n  "/aws/lambda/efs-mount-autoscaling-file-monitor",\n  "/ecs/efs-mount-autoscaling-fargate",\n  "efs-mount-autoscaling-cluster",\n  "efs-mount-autoscaling-fargate-service",\n]')"
check "terraform.tfvars.example is accepted" \
  expect_value var.fargate_desired_count 2 -var-file=terraform.tfvars.example
check "a valid override is taken" expect_value var.fargate_cpu 1024 -var fargate_cpu=1024

check "rejects fargate_cpu=300" expect_rejected "fargate_cpu must be one of" -var fargate_cpu=300
check "rejects a bad schedule" expect_rejected "lambda_schedule_expression must be" \
  -var 'lambda_schedule_expression=every 5 minutes'
check "rejects a directory with .." expect_rejected "efs_target_directory must be" \
  -var efs_target_directory=/data/../etc
check "rejects a threshold of 0" expect_rejected "file_count_threshold must be" \
  -var file_count_threshold=0
check "rejects az_count=1 (the ALB needs two)" expect_rejected "az_count must be" -var az_count=1
check "rejects an unknown back end" expect_rejected "file_service_storage_backend must be" \
  -var file_service_storage_backend=s3
check "rejects a bad CIDR" expect_rejected "alb_ingress_cidr_blocks must hold" \
  -var 'alb_ingress_cidr_blocks=["everyone"]'
check "rejects an unknown region shape" expect_rejected "aws_region must be" \
  -var aws_region=tokyo

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
