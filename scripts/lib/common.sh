# Helpers shared by the deploy scripts: messages, tool checks, the Terraform CLI configuration,
# the AWS CLI, waiting on local servers and the port one bound. Sourced, never run; the caller sets
# `set -euo pipefail` and SCRIPT_NAME.
# shellcheck shell=bash

EFSAS_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
export EFSAS_ROOT

log() { printf '%s: %s\n' "${SCRIPT_NAME:-efsas}" "$*" >&2; }
die() {
  log "error: $*"
  exit 1
}

# require_tool NAME HINT: stops with a clear message when NAME is not on PATH.
require_tool() {
  local name=$1 hint=$2
  if ! command -v "$name" >/dev/null 2>&1; then
    die "'$name' is not installed or not on PATH: $hint"
  fi
}

# Terraform finds its providers through the CLI configuration. Where the user has one (the file
# TF_CLI_CONFIG_FILE names, or ~/.terraformrc) it is left alone. Where there is none but a local
# provider mirror exists (EFSAS_TF_PLUGIN_MIRROR, default /opt/tf-plugins: machines without
# internet access), a configuration that installs from that mirror is written and used.
setup_terraform_cli_config() {
  local mirror=${EFSAS_TF_PLUGIN_MIRROR:-/opt/tf-plugins}
  local user_config=${TF_CLI_CONFIG_FILE:-$HOME/.terraformrc}
  if [[ -f $user_config ]]; then
    return 0
  fi
  if [[ ! -d $mirror ]]; then
    # Nothing configured: Terraform's defaults (the public registry) apply. A variable naming a
    # missing file would only produce a warning on every command.
    if [[ -n ${TF_CLI_CONFIG_FILE:-} ]]; then
      unset TF_CLI_CONFIG_FILE
    fi
    return 0
  fi
  local config_dir
  config_dir=${TMPDIR:-/tmp}/efsas-terraform-$(id -u)
  mkdir -p "$config_dir"
  local config=$config_dir/cli.tfrc
  cat >"$config.$$" <<EOF
# Written by scripts/lib/common.sh: providers come from the local mirror $mirror.
provider_installation {
  filesystem_mirror {
    path    = "$mirror"
    include = ["registry.terraform.io/*/*"]
  }
  direct {
    exclude = ["registry.terraform.io/*/*"]
  }
}
EOF
  mv -f "$config.$$" "$config"
  export TF_CLI_CONFIG_FILE=$config
}

# The AWS CLI honours AWS_ENDPOINT_URL (and AWS_ENDPOINT_URL_<SERVICE>) itself from botocore
# 1.31 / CLI 2.13; older ones ignore it, so it is passed explicitly when set.
aws_cli() {
  if [[ -n ${AWS_ENDPOINT_URL:-} ]]; then
    aws --endpoint-url "$AWS_ENDPOINT_URL" "$@"
  else
    aws "$@"
  fi
}

# tf_output DIR NAME: one output of the stack in DIR as plain text.
tf_output() {
  terraform -chdir="$1" output -raw "$2"
}

# docker_engine_available: true when a Docker engine answers (a client alone is not enough).
docker_engine_available() {
  command -v docker >/dev/null 2>&1 && docker info >/dev/null 2>&1
}

# logged_port LOGFILE KIND: the port a server started on port 0 named in its log once bound
# (KIND: moto or file-service); fails while it has not. A port picked in advance could be taken
# by another program first, and the caller would then talk to that program.
logged_port() {
  local port=""
  case $2 in
    moto) port=$(sed -n 's|.*Running on http://127\.0\.0\.1:\([0-9][0-9]*\).*|\1|p' "$1") ;;
    file-service) port=$(sed -n 's|.*"message":"listening".*"port":\([0-9][0-9]*\).*|\1|p' "$1") ;;
  esac
  port=${port%%$'\n'*}
  [[ -n $port ]] && printf '%s\n' "$port"
}

alive() { kill -0 "$1" 2>/dev/null; }

# wait_until SECONDS PID COMMAND...: COMMAND succeeds within SECONDS while PID (if not empty)
# stays alive.
wait_until() {
  local deadline=$((SECONDS + $1)) pid=$2
  shift 2
  until "$@"; do
    if [[ -n $pid ]] && ! alive "$pid"; then
      return 1
    fi
    ((SECONDS < deadline)) || return 1
    sleep 0.2
  done
}

# host_lambda_architecture: this machine's architecture by its Lambda name (x86_64, arm64), or
# uname's name for one Lambda does not have.
host_lambda_architecture() {
  local machine
  machine=$(uname -m)
  [[ $machine == aarch64 ]] && machine=arm64
  echo "$machine"
}

# elf_architecture: the Lambda architecture name (x86_64, arm64) of the ELF executable read from
# standard input, from its header's e_machine field; "not an ELF executable" or "e_machine N"
# for anything else.
elf_architecture() {
  local header magic machine
  local -a bytes
  header=$(head -c 20 | od -An -v -tu1 | tr -s ' \n' ' ')
  read -r -a bytes <<<"$header"
  magic="${bytes[0]:-} ${bytes[1]:-} ${bytes[2]:-} ${bytes[3]:-}"
  if [[ $magic != "127 69 76 70" || ${#bytes[@]} -lt 20 ]]; then
    echo "not an ELF executable"
    return 0
  fi
  # e_machine is at offset 18; the Lambda architectures are little-endian.
  machine=$((bytes[18] + 256 * bytes[19]))
  case $machine in
    62) echo x86_64 ;;
    183) echo arm64 ;;
    *) echo "e_machine $machine" ;;
  esac
}
