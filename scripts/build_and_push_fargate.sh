#!/usr/bin/env bash
# Builds the file-service image (fargate/Dockerfile), tags it and pushes it to the stack's ECR
# repository. Needs a Docker engine; without one it says so and stops (exit 3), so that
# deploy_all.sh can go on without the image.
set -euo pipefail

export SCRIPT_NAME=build_and_push_fargate
# shellcheck source=scripts/lib/common.sh disable=SC1091
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"

usage() {
  cat <<'USAGE'
Usage: scripts/build_and_push_fargate.sh [options]

Builds fargate/Dockerfile for the tasks' platform, tags it <repository>:<tag> and pushes it.

Options:
  --tag TAG             image tag (default: the stack's image_tag output, else "latest")
  --repository URL      ECR repository URL (default: the stack's ecr_repository_url output)
  --terraform-dir DIR   Terraform working directory to read outputs from (default: terraform/)
  --platform PLATFORM   image platform (default: linux/amd64; linux/arm64 for ARM64 tasks)
  --no-push             build and tag only
  -h, --help            show this help

Exit status: 0 pushed (or built with --no-push), 3 no Docker engine available, 1 other errors.
USAGE
}

tag=""
repository=""
terraform_dir="$EFSAS_ROOT/terraform"
platform="linux/amd64"
push=1
while (($# > 0)); do
  case "$1" in
    --tag) tag=${2:?--tag needs a value}; shift 2 ;;
    --repository) repository=${2:?--repository needs a URL}; shift 2 ;;
    --terraform-dir) terraform_dir=${2:?--terraform-dir needs a directory}; shift 2 ;;
    --platform) platform=${2:?--platform needs a value}; shift 2 ;;
    --no-push) push=0; shift ;;
    -h | --help) usage; exit 0 ;;
    *) log "unknown argument: $1"; usage >&2; exit 2 ;;
  esac
done

if ! command -v docker >/dev/null 2>&1; then
  log "docker is not installed: cannot build the file-service image (install Docker Engine)"
  exit 3
fi
if ! docker_engine_available; then
  log "no Docker engine answers (docker info failed): cannot build the file-service image;" \
    "start dockerd or set DOCKER_HOST"
  exit 3
fi

if [[ -z $repository || -z $tag ]]; then
  require_tool terraform "install Terraform, or pass --repository and --tag"
  setup_terraform_cli_config
  if [[ -z $repository ]]; then
    repository=$(tf_output "$terraform_dir" ecr_repository_url 2>/dev/null) ||
      die "no ecr_repository_url output in $terraform_dir: apply the stack first or pass --repository"
  fi
  if [[ -z $tag ]]; then
    tag=$(tf_output "$terraform_dir" image_tag 2>/dev/null || echo latest)
  fi
fi

image="$repository:$tag"
log "building $image for $platform"
docker build --platform "$platform" -f "$EFSAS_ROOT/fargate/Dockerfile" -t "$image" "$EFSAS_ROOT"

if ((push == 0)); then
  log "built $image (not pushed)"
  exit 0
fi

require_tool aws "install the AWS CLI (pip install awscli)"
registry=${repository%%/*}
region=$(sed -n 's/^[0-9]*\.dkr\.ecr\.\([a-z0-9-]*\)\.amazonaws\.com.*/\1/p' <<<"$registry")
region=${region:-${AWS_REGION:-${AWS_DEFAULT_REGION:-}}}
[[ -n $region ]] || die "cannot tell the region of $registry; set AWS_REGION"
log "logging in to $registry"
aws_cli ecr get-login-password --region "$region" |
  docker login --username AWS --password-stdin "$registry" >/dev/null
docker push "$image"
log "pushed $image"
