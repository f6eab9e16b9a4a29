#!/usr/bin/env bash
# Every shared library the file-service binary needs comes from a package that fargate/Dockerfile's
# runtime stage installs (directly or as a dependency apt pulls in), so the image starts; and the
# Dockerfile keeps its shape: bookworm build stage, bookworm-slim runtime, non-root, HEALTHCHECK.
# Runs on a Debian 12 host, whose packages are the image's (ldd + dpkg -S + apt-cache depends).
# Usage: container_libs_test.sh FILE_SERVICE_BINARY
set -euo pipefail
# shellcheck source=tests/integration/infra/lib.sh disable=SC1091
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

binary=${1:?usage: container_libs_test.sh FILE_SERVICE_BINARY}
dockerfile=$SOURCE_DIR/fargate/Dockerfile
for tool in ldd dpkg apt-cache; do
  command -v "$tool" >/dev/null || skip "$tool is missing: this test needs a Debian host"
done
# shellcheck disable=SC1091
codename=$(. /etc/os-release && echo "${VERSION_CODENAME:-}")
[[ $codename == bookworm ]] ||
  skip "the host is not Debian 12 (bookworm), so its packages are not the image's"

# --- the Dockerfile's shape ------------------------------------------------------------------
check "build stage FROM debian:bookworm" grep -Eq '^FROM debian:bookworm( |$)' "$dockerfile"
runtime_stage=$(awk '/^FROM /{stage = ""} {stage = stage $0 "\n"} END {printf "%s", stage}' \
  "$dockerfile")
check "runtime stage FROM debian:bookworm-slim" \
  grep -Eq '^FROM debian:bookworm-slim( |$)' <<<"$runtime_stage"
runs_as_non_root() {
  local user
  user=$(grep -E '^USER ' <<<"$runtime_stage" | tail -n 1 | awk '{print $2}')
  [[ -n $user && ${user%%:*} != root && ${user%%:*} != 0 ]] || { echo "USER is '$user'"; return 1; }
}
check "the runtime stage runs as a non-root user" runs_as_non_root
check "the runtime stage has a HEALTHCHECK" grep -Eq '^HEALTHCHECK ' <<<"$runtime_stage"

# The packages the runtime stage's `apt-get install` names (continuation lines joined).
packages=$(sed -e ':a' -e '/\\$/N; s/\\\n//; ta' <<<"$runtime_stage" |
  grep -o 'apt-get install[^&;]*' | tr ' ' '\n' |
  grep -Ev '^(apt-get|install|-.*|[A-Z_]+=.*|)$' | LC_ALL=C sort -u)
check "the runtime stage installs packages" test -n "$packages"

# Everything apt installs for them: their Depends and Pre-Depends, recursively.
# shellcheck disable=SC2086
closure=$(apt-cache depends --recurse --important --no-recommends --no-suggests $packages |
  grep -v '^ ' | tr -d '<>' | sed 's/:.*//' | LC_ALL=C sort -u)

# --- the binary's libraries ------------------------------------------------------------------
package_of() {
  local path=$1 candidates=() candidate owner
  candidates=("$path" "$(realpath "$path")")
  case "$path" in
    /usr/*) candidates+=("${path#/usr}") ;;
    *) candidates+=("/usr$path") ;;
  esac
  for candidate in "${candidates[@]}"; do
    if owner=$(dpkg -S "$candidate" 2>/dev/null); then
      owner=${owner%%:*}
      echo "${owner%%,*}"
      return 0
    fi
  done
  return 1
}

ldd_out=$(ldd "$binary")
if grep -q "not found" <<<"$ldd_out"; then
  fail "ldd finds every library of $binary"
  grep "not found" <<<"$ldd_out" | sed 's/^/     | /'
fi
count=0
while read -r path; do
  count=$((count + 1))
  # A sanitizer runtime is linked only by the asan preset's build, which is never packaged.
  if [[ $(basename "$path") =~ ^lib(asan|ubsan|lsan|tsan)\.so ]]; then
    pass "$(basename "$path"): sanitizer runtime of this build, not of a release image"
    continue
  fi
  if ! package=$(package_of "$path"); then
    fail "$path belongs to a Debian package (dpkg -S found none)"
    continue
  fi
  if grep -qx "$package" <<<"$closure"; then
    pass "$(basename "$path") <- $package"
  else
    fail "$(basename "$path") comes from $package, which the runtime stage does not install"
  fi
done < <(awk '/=>/ && $3 ~ /^\// {print $3} !/=>/ && $1 ~ /^\// {print $1}' <<<"$ldd_out")
check "ldd lists the libraries ($count)" test "$count" -gt 3

finish
