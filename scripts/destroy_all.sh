#!/usr/bin/env bash
# Tears the stack down. EFS refuses to delete a file system that still has mount targets, and
# file-monitor creates mount targets Terraform does not know about; so this stops file-monitor,
# deletes those mount targets, waits until they are gone, and only then runs terraform destroy.
set -euo pipefail

export SCRIPT_NAME=destroy_all
# shellcheck source=scripts/lib/common.sh disable=SC1091
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"

usage() {
  cat <<'USAGE'
Usage: scripts/destroy_all.sh [options]

  1. disables file-monitor's schedule and sets its concurrency to 0, so no run adds a mount
     target while the stack goes away;
  2. deletes every mount target of the stack's file system that is not in the Terraform state;
  3. waits until they are gone (EFS takes a minute or so per mount target);
  4. terraform destroy.

Options:
  --auto-approve, -y     destroy without asking
  --terraform-dir DIR    Terraform working directory (default: terraform/)
  --var-file FILE        pass a .tfvars file to terraform (repeatable; use the deploy's)
  --timeout SECONDS      how long to wait for the mount targets to go (default: 900)
  -h, --help             show this help

Environment: the usual AWS variables and AWS_ENDPOINT_URL (e.g. a moto_server), as deploy_all.sh.
USAGE
}

auto_approve=0
terraform_dir="$EFSAS_ROOT/terraform"
var_files=()
timeout=900
while (($# > 0)); do
  case "$1" in
    --auto-approve | -y) auto_approve=1; shift ;;
    --terraform-dir) terraform_dir=${2:?--terraform-dir needs a directory}; shift 2 ;;
    --var-file) var_files+=("$(realpath "${2:?--var-file needs a file}")"); shift 2 ;;
    --timeout) timeout=${2:?--timeout needs seconds}; shift 2 ;;
    -h | --help) usage; exit 0 ;;
    *) log "unknown argument: $1"; usage >&2; exit 2 ;;
  esac
done
[[ $timeout =~ ^[0-9]+$ ]] || die "--timeout must be a number of seconds"

require_tool terraform "install Terraform >= 1.9 (https://developer.hashicorp.com/terraform/install)"
require_tool aws "install the AWS CLI (pip install awscli, or AWS CLI v2)"
[[ -d $terraform_dir ]] || die "no Terraform directory at $terraform_dir"
terraform_dir=$(cd "$terraform_dir" && pwd)
setup_terraform_cli_config
if [[ -n ${AWS_ENDPOINT_URL:-} ]]; then
  log "AWS_ENDPOINT_URL is set: every AWS call goes to $AWS_ENDPOINT_URL"
fi

tf_args=()
for f in "${var_files[@]}"; do
  tf_args+=("-var-file=$f")
done
approve=()
((auto_approve)) && approve=(-auto-approve)

terraform -chdir="$terraform_dir" init -input=false >/dev/null ||
  die "terraform init failed in $terraform_dir (run it there to see why)"

file_system_id=$(tf_output "$terraform_dir" efs_file_system_id 2>/dev/null || true)
if [[ -z $file_system_id ]]; then
  log "no file system in the Terraform state: nothing to clean up before terraform destroy"
else
  region=$(tf_output "$terraform_dir" aws_region)

  # --- 1. Stop file-monitor ------------------------------------------------------------------
  rule=$(tf_output "$terraform_dir" schedule_rule_name 2>/dev/null || true)
  function_name=$(tf_output "$terraform_dir" lambda_function_name 2>/dev/null || true)
  if [[ -n $rule ]]; then
    aws_cli events disable-rule --region "$region" --name "$rule" ||
      log "warning: could not disable the schedule $rule; going on"
  fi
  if [[ -n $function_name ]]; then
    aws_cli lambda put-function-concurrency --region "$region" --function-name "$function_name" \
      --reserved-concurrent-executions 0 >/dev/null ||
      log "warning: could not stop $function_name from running; going on"
  fi

  # --- 2. Delete the mount targets Terraform does not know -----------------------------------
  known=()
  while read -r address; do
    [[ $address == *aws_efs_mount_target.* ]] || continue
    id=$(terraform -chdir="$terraform_dir" state show -no-color "$address" |
      awk '$1 == "id" { gsub(/"/, "", $3); print $3; exit }')
    if [[ -n $id ]]; then
      known+=("$id")
    fi
  done < <(terraform -chdir="$terraform_dir" state list)

  is_known() {
    local candidate=$1 k
    for k in "${known[@]}"; do
      [[ $k == "$candidate" ]] && return 0
    done
    return 1
  }

  list_mount_targets() {
    # The CLI follows NextMarker itself, so this is every mount target.
    aws_cli efs describe-mount-targets --region "$region" --file-system-id "$file_system_id" \
      --query 'MountTargets[].MountTargetId' --output text | tr '\t' '\n' | sed '/^None$/d;/^$/d'
  }

  # A listing that fails is not an empty one: read into a variable first, where a failure counts.
  listing=$(list_mount_targets) ||
    die "cannot list the mount targets of $file_system_id (credentials, region, permissions?)"
  extra=()
  while read -r id; do
    [[ -n $id ]] || continue
    is_known "$id" || extra+=("$id")
  done <<<"$listing"

  if ((${#extra[@]} == 0)); then
    log "no mount targets besides Terraform's on $file_system_id"
  else
    for id in "${extra[@]}"; do
      log "deleting mount target $id (created by file-monitor)"
      aws_cli efs delete-mount-target --region "$region" --mount-target-id "$id" ||
        die "could not delete mount target $id; delete it by hand and run again"
    done

    # --- 3. Wait until they are gone ---------------------------------------------------------
    deadline=$((SECONDS + timeout))
    while :; do
      remaining=()
      if listing=$(list_mount_targets); then
        while read -r id; do
          [[ -n $id ]] || continue
          is_known "$id" || remaining+=("$id")
        done <<<"$listing"
        ((${#remaining[@]} == 0)) && break
      else
        remaining=("(the listing failed; trying again)")
      fi
      if ((SECONDS >= deadline)); then
        die "mount targets still there after ${timeout}s: ${remaining[*]}"
      fi
      log "waiting for ${#remaining[@]} mount target(s) to be deleted: ${remaining[*]}"
      sleep 5
    done
    log "the extra mount targets are gone"
  fi
fi

# --- 4. terraform destroy --------------------------------------------------------------------
log "terraform destroy in $terraform_dir"
terraform -chdir="$terraform_dir" destroy -input=false "${approve[@]}" "${tf_args[@]}"
log "done: the stack is destroyed"
