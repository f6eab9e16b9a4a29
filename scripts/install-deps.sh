#!/usr/bin/env bash
# Installs what the build, the tests and the demo need on Debian 12. Safe to run again: it
# installs only what is missing, runs apt-get update at most once, and says what it cannot fix.
set -euo pipefail

usage() {
  cat <<'USAGE'
Usage: scripts/install-deps.sh [--check]

Installs the Debian packages this project builds, tests and runs with, moto (pip) and the aws
CLI, and checks for Terraform, which the infrastructure tests and the demo's default stack use.
  --check   only report what is missing; install nothing (exit 1 if anything is missing)
USAGE
}

check_only=0
case "${1:-}" in
  -h|--help) usage; exit 0 ;;
  --check) check_only=1 ;;
  "") ;;
  *) echo "install-deps: unknown argument: $1" >&2; usage >&2; exit 2 ;;
esac

# Build and test dependencies, each a Debian 12 package.
packages=(
  build-essential cmake ninja-build pkg-config ccache git curl ca-certificates zip unzip openssl
  libboost1.81-dev libcurl4-openssl-dev libssl-dev nlohmann-json3-dev libpugixml-dev
  libspdlog-dev libcli11-dev libnfs-dev libgtest-dev libgmock-dev librapidcheck-dev
  libbenchmark-dev gcovr
  nfs-ganesha nfs-ganesha-vfs
  libfuse3-dev fuse3
  busybox-static
  wrk hyperfine nginx fd-find gunicorn python3-flask python3-pip python3-matplotlib
  chromium
  shellcheck
  clang libclang-rt-14-dev
)

if [[ $(id -u) -ne 0 ]]; then
  sudo=(sudo)
else
  sudo=()
fi
apt_updated=0

missing=()
for pkg in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$pkg")
  fi
done

if ((${#missing[@]} > 0)); then
  if ((check_only)); then
    echo "install-deps: missing Debian packages: ${missing[*]}" >&2
  else
    echo "install-deps: installing ${#missing[@]} Debian packages: ${missing[*]}"
    "${sudo[@]}" apt-get update -q
    apt_updated=1
    DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -q --no-install-recommends \
      "${missing[@]}"
    missing=()
  fi
fi

problems=0
# nfs-ganesha's Debian package starts a system-wide server bound to port 2049 on every
# address; the tests and the demo run their own instances on 127.0.0.2-4, so stop it.
if ((check_only == 0)) && command -v systemctl >/dev/null 2>&1; then
  systemctl disable --now nfs-ganesha >/dev/null 2>&1 || true
fi
if pgrep -x ganesha.nfsd >/dev/null 2>&1 && [[ -z "${EFSAS_KEEP_SYSTEM_GANESHA:-}" ]]; then
  if ((check_only)); then
    echo "install-deps: a system ganesha.nfsd is running and holds port 2049" >&2
  else
    pkill -x ganesha.nfsd || true
  fi
fi

python_bin=$(command -v python3 || true)
if [[ -z "$python_bin" ]]; then
  echo "install-deps: python3 is missing (apt-get install python3 python3-pip)" >&2
  problems=1
else
  for module in moto boto3 flask; do
    if ! "$python_bin" -c "import $module" >/dev/null 2>&1; then
      if ((check_only == 0)) && "$python_bin" -m pip --version >/dev/null 2>&1 &&
        "$python_bin" -m pip download --no-deps -d "$(mktemp -d)" "$module" >/dev/null 2>&1; then
        extra=""
        [[ $module == moto ]] && extra="moto[server]"
        # Debian's own python3 refuses pip installs outside a virtual environment (PEP 668).
        "$python_bin" -m pip install -q "${extra:-$module}" 2>/dev/null ||
          "$python_bin" -m pip install -q --break-system-packages "${extra:-$module}"
      else
        echo "install-deps: Python module '$module' is missing and pip cannot reach an index;" \
          "install it (pip install 'moto[server]' boto3 flask) or use a machine that has it" >&2
        problems=1
      fi
    fi
  done
fi
if ! command -v moto_server >/dev/null 2>&1; then
  echo "install-deps: moto_server is not on PATH (pip install 'moto[server]')" >&2
  problems=1
fi
# The aws CLI and Terraform are needed only by the infrastructure tests, which skip without
# them, and by the demo's default stack (`make demo DEMO_STACK=cli` does without).
if ! command -v aws >/dev/null 2>&1 && ((check_only == 0)); then
  ((apt_updated)) || "${sudo[@]}" apt-get update -q || true
  DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -q --no-install-recommends \
    awscli || true
fi
if ! command -v aws >/dev/null 2>&1; then
  echo "install-deps: note: the aws CLI is missing (apt-get install awscli); the" \
    "infrastructure tests skip and the demo needs DEMO_STACK=cli" >&2
fi
if ! command -v terraform >/dev/null 2>&1; then
  echo "install-deps: note: terraform is missing; the infrastructure tests skip and the demo" \
    "needs DEMO_STACK=cli. Install Terraform >= 1.9 and the AWS provider (docs/deploy.md," \
    "\"Before you start\")" >&2
fi

if ((${#missing[@]} > 0)); then
  exit 1
fi
if ((problems)); then
  echo "install-deps: some tools the tests need are missing (above)" >&2
  exit 1
fi
echo "install-deps: everything is installed"
