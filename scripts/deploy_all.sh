#!/usr/bin/env bash
# Deploys the whole system: packages file-monitor for Lambda, applies the Terraform stack, builds
# and pushes the file-service image, and rolls the ECS service. Runs against moto as well when
# AWS_ENDPOINT_URL points at it (use --skip-image there: no registry to push to).
set -euo pipefail

export SCRIPT_NAME=deploy_all
# shellcheck source=scripts/lib/common.sh disable=SC1091
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"

usage() {
  cat <<'USAGE'
Usage: scripts/deploy_all.sh [options]

The seed's four steps:
  1. package file-monitor for Lambda      (scripts/deploy_lambda.sh)
  2. terraform apply                       (terraform/)
  3. build and push the file-service image (scripts/build_and_push_fargate.sh)
  4. update the ECS service                (aws ecs update-service --force-new-deployment),
     unless the apply gave the service a new task definition: ECS rolls the tasks to it already
and then one run of file-monitor, so the data directory exists before the first scheduled run
(Terraform creates the mount-target list itself).

When an image is built, the ECR repository is created first (terraform apply -target) and the
image pushed before the full apply, so the service never points at an image that is not there yet.

Options:
  --auto-approve, -y     apply without asking
  --skip-image           do not build or push the image (also automatic without a Docker engine)
  --skip-invoke          do not run file-monitor once after the deployment
  --image-tag TAG        tag for the new image (default: the git commit, e.g. 1a2b3c4d5e6f);
                         with --skip-image, a pushed image to run (default: the one running)
  --platform PLATFORM    image platform (default: the one fargate_cpu_architecture names,
                         linux/amd64 for X86_64 and linux/arm64 for ARM64; another is refused)
  --lambda-binary PATH   package this file-monitor binary instead of building one
  --lambda-zip PATH      use this Lambda zip as it is (no build, no packaging)
  --terraform-dir DIR    Terraform working directory (default: terraform/)
  --var-file FILE        pass a .tfvars file to terraform (repeatable)
  -h, --help             show this help

Environment: the usual AWS variables (AWS_PROFILE, AWS_REGION, credentials...) and
AWS_ENDPOINT_URL, which Terraform and the AWS CLI both honour (e.g. a moto_server). TF_VAR_<name>
sets any Terraform variable.
USAGE
}

auto_approve=0
skip_image=0
skip_invoke=0
image_tag=""
platform=""
lambda_binary=""
lambda_zip=""
terraform_dir="$EFSAS_ROOT/terraform"
var_files=()
while (($# > 0)); do
  case "$1" in
    --auto-approve | -y) auto_approve=1; shift ;;
    --skip-image) skip_image=1; shift ;;
    --skip-invoke) skip_invoke=1; shift ;;
    --image-tag) image_tag=${2:?--image-tag needs a value}; shift 2 ;;
    --platform) platform=${2:?--platform needs a value}; shift 2 ;;
    --lambda-binary) lambda_binary=${2:?--lambda-binary needs a path}; shift 2 ;;
    --lambda-zip) lambda_zip=${2:?--lambda-zip needs a path}; shift 2 ;;
    --terraform-dir) terraform_dir=${2:?--terraform-dir needs a directory}; shift 2 ;;
    --var-file) var_files+=("$(realpath "${2:?--var-file needs a file}")"); shift 2 ;;
    -h | --help) usage; exit 0 ;;
    *) log "unknown argument: $1"; usage >&2; exit 2 ;;
  esac
done

require_tool terraform "install Terraform >= 1.9 (https://developer.hashicorp.com/terraform/install)"
require_tool aws "install the AWS CLI (pip install awscli, or AWS CLI v2)"
[[ -d $terraform_dir ]] || die "no Terraform directory at $terraform_dir"
terraform_dir=$(cd "$terraform_dir" && pwd)
setup_terraform_cli_config
if [[ -n ${AWS_ENDPOINT_URL:-} ]]; then
  log "AWS_ENDPOINT_URL is set: every AWS call goes to $AWS_ENDPOINT_URL"
fi

if ((skip_image == 0)) && ! docker_engine_available; then
  log "no Docker engine available (docker info failed): skipping the image steps (as --skip-image);" \
    "push the image later with scripts/build_and_push_fargate.sh"
  skip_image=1
fi

tf_args=()
for f in "${var_files[@]}"; do
  tf_args+=("-var-file=$f")
done
approve=()
((auto_approve)) && approve=(-auto-approve)

terraform -chdir="$terraform_dir" init -input=false >/dev/null ||
  die "terraform init failed in $terraform_dir (run it there to see why)"
# stack_variable NAME: the stack's variable NAME as the apply will see it (its defaults, the
# --var-file files and TF_VAR_ variables), unquoted; dies with terraform's words if it cannot.
stack_variable() {
  local errors out value
  errors=$(mktemp)
  out=$(echo "var.$1" | terraform -chdir="$terraform_dir" console "${tf_args[@]}" 2>"$errors") ||
    die "terraform could not evaluate the stack's variables: $(cat "$errors")"
  rm -f "$errors"
  # The value is the last line; warnings (an undeclared variable in a shared .tfvars) come first.
  value=$(tail -n 1 <<<"$out")
  printf '%s\n' "${value//\"/}"
}

# The architectures the stack runs: file-monitor must be built for the Lambda's, or every
# invocation fails with an exec format error; the image for the tasks', or none of them starts.
lambda_architecture=$(stack_variable lambda_architecture)
case $lambda_architecture in
  x86_64 | arm64) ;;
  *) die "could not read the stack's lambda_architecture; terraform console said: $lambda_architecture" ;;
esac
task_architecture=$(stack_variable fargate_cpu_architecture)
case $task_architecture in
  X86_64) task_platform=linux/amd64 ;;
  ARM64) task_platform=linux/arm64 ;;
  *) die "could not read the stack's fargate_cpu_architecture; terraform console said: $task_architecture" ;;
esac
if [[ -z $platform ]]; then
  platform=$task_platform
elif [[ $platform != "$task_platform" ]]; then
  die "--platform $platform: the stack's tasks run on $task_platform (fargate_cpu_architecture" \
    "$task_architecture)"
fi

# --- 1. Package file-monitor -----------------------------------------------------------------
if [[ -n $lambda_zip ]]; then
  [[ -f $lambda_zip ]] || die "--lambda-zip: no such file: $lambda_zip"
  lambda_zip=$(realpath "$lambda_zip")
  log "step 1/4: using the Lambda package $lambda_zip"
  require_tool unzip "install unzip (Debian: apt-get install unzip)"
  packaged=$(mktemp)
  unzip -p "$lambda_zip" bin/file-monitor >"$packaged" 2>/dev/null || true
  built_for=$(elf_architecture <"$packaged")
  rm -f "$packaged"
  [[ $built_for == "$lambda_architecture" ]] ||
    die "the file-monitor in $lambda_zip is built for $built_for, but the stack's" \
      "lambda_architecture is $lambda_architecture"
else
  lambda_zip="$EFSAS_ROOT/build/lambda/file-monitor.zip"
  log "step 1/4: packaging file-monitor for Lambda ($lambda_architecture)"
  package_args=(--output "$lambda_zip" --architecture "$lambda_architecture")
  [[ -n $lambda_binary ]] && package_args+=(--binary "$lambda_binary")
  "$EFSAS_ROOT/scripts/deploy_lambda.sh" "${package_args[@]}"
fi
tf_args+=(-var "lambda_package_path=$lambda_zip")

# --- 3 (before 2 when there is an image). Build and push -------------------------------------
if ((skip_image == 0)); then
  if [[ -z $image_tag ]]; then
    image_tag=$(git -C "$EFSAS_ROOT" rev-parse --short=12 HEAD 2>/dev/null || date -u +%Y%m%d%H%M%S)
  fi
  tf_args+=(-var "image_tag=$image_tag")
  log "step 3/4 (first): creating the ECR repository if needed, then pushing the image $image_tag"
  terraform -chdir="$terraform_dir" apply -input=false "${approve[@]}" "${tf_args[@]}" \
    -target=aws_ecr_repository.file_service
  # From the state: a targeted apply need not refresh the outputs.
  repository_url=$(terraform -chdir="$terraform_dir" state show -no-color \
    aws_ecr_repository.file_service | awk '$1 == "repository_url" { gsub(/"/, "", $3); print $3 }')
  [[ -n $repository_url ]] || die "the ECR repository is not in the Terraform state"
  "$EFSAS_ROOT/scripts/build_and_push_fargate.sh" --terraform-dir "$terraform_dir" \
    --repository "$repository_url" --tag "$image_tag" --platform "$platform"
else
  # The tag the service runs now, unless one is given: applying the variable's default instead
  # would point the tasks at an image that was never pushed.
  if [[ -z $image_tag ]]; then
    image_tag=$(terraform -chdir="$terraform_dir" output -raw image_tag 2>/dev/null) || image_tag=""
  fi
  if [[ -n $image_tag ]]; then
    tf_args+=(-var "image_tag=$image_tag")
    log "step 3/4: skipped (no image built; the service runs the image $image_tag)"
  else
    log "step 3/4: skipped (no image built, none deployed yet: the tasks name image_tag's" \
      "default until scripts/build_and_push_fargate.sh pushes one)"
  fi
fi

# service_task_definition REGION CLUSTER SERVICE: the task definition the ECS service runs, or
# "unknown" when the service cannot be described.
service_task_definition() {
  local arn
  arn=$(aws_cli ecs describe-services --region "$1" --cluster "$2" --services "$3" \
    --query 'services[0].taskDefinition' --output text 2>/dev/null) || arn=unknown
  [[ -n $arn && $arn != None ]] || arn=unknown
  echo "$arn"
}

# --- 2. terraform apply ----------------------------------------------------------------------
# Nothing before the first apply: without outputs, `terraform output -raw` prints a warning where
# the value would be (and exits 0).
task_definition_before=""
if region=$(tf_output "$terraform_dir" aws_region 2>/dev/null) &&
  cluster=$(tf_output "$terraform_dir" ecs_cluster_name 2>/dev/null) &&
  service=$(tf_output "$terraform_dir" ecs_service_name 2>/dev/null) &&
  [[ $region =~ ^[a-z0-9-]+$ && $cluster =~ ^[A-Za-z0-9_-]+$ && $service =~ ^[A-Za-z0-9_-]+$ ]]; then
  task_definition_before=$(service_task_definition "$region" "$cluster" "$service")
fi
log "step 2/4: terraform apply in $terraform_dir"
terraform -chdir="$terraform_dir" apply -input=false "${approve[@]}" "${tf_args[@]}"

region=$(tf_output "$terraform_dir" aws_region)
cluster=$(tf_output "$terraform_dir" ecs_cluster_name)
service=$(tf_output "$terraform_dir" ecs_service_name)
function_name=$(tf_output "$terraform_dir" lambda_function_name)

# --- 4. Roll the ECS service -----------------------------------------------------------------
# A new task definition (a new image tag, a changed setting) already started a rolling
# deployment, and a new service its first one: forcing another would replace every task twice.
# With the same task definition, the tasks are replaced so that they pull the image again (a tag
# pushed anew) and start afresh.
# When either could not be read, the deployment is forced, as a deploy always did before.
task_definition_after=$(service_task_definition "$region" "$cluster" "$service")
skipped=""
forced=""
if [[ $task_definition_after == unknown || $task_definition_before == unknown ]]; then
  forced=" (its task definition could not be read)"
elif [[ -z $task_definition_before ]]; then
  skipped="the apply created $service; its first deployment starts the tasks"
elif [[ $task_definition_after != "$task_definition_before" ]]; then
  skipped="the apply moved $service to ${task_definition_after##*/}; ECS rolls the tasks to it"
fi
if [[ -n $skipped ]]; then
  log "step 4/4: skipped ($skipped)"
else
  log "step 4/4: new deployment of $service in $cluster$forced"
  aws_cli ecs update-service --region "$region" --cluster "$cluster" --service "$service" \
    --force-new-deployment --query 'service.deployments[0].id' --output text >/dev/null
fi

# --- First run of file-monitor ---------------------------------------------------------------
if ((skip_invoke == 0)); then
  log "running $function_name once (asynchronously; see its log group for the outcome)"
  payload=$(mktemp)
  printf '{"source":"deploy_all"}' >"$payload"
  # fileb:// means the same to AWS CLI v1 and v2 (a string payload does not).
  if ! aws_cli lambda invoke --region "$region" --function-name "$function_name" \
    --invocation-type Event --payload "fileb://$payload" /dev/null >/dev/null; then
    log "warning: could not start file-monitor now; its schedule runs it within one interval"
  fi
  rm -f "$payload"
fi

log "done. file-service: $(tf_output "$terraform_dir" service_url)" \
  "(file system $(tf_output "$terraform_dir" efs_file_system_id))"
