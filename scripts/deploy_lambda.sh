#!/usr/bin/env bash
# Builds file-monitor in release mode and packages it as the Lambda zip: a `bootstrap` that starts
# the binary through its own dynamic loader with its own shared libraries, so it runs on
# provided.al2023 whatever glibc the build host has. The zip is reproducible: same inputs, same bytes.
set -euo pipefail

export SCRIPT_NAME=deploy_lambda
# shellcheck source=scripts/lib/common.sh disable=SC1091
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"

usage() {
  cat <<'USAGE'
Usage: scripts/deploy_lambda.sh [options]

Builds file-monitor (cmake --preset release) and writes the Lambda deployment package:
  bootstrap            starts bin/file-monitor with lib/'s loader and libraries
  bin/file-monitor     the binary
  lib/                 every shared library it links (ldd), libc and the dynamic loader included
  certs/               the build host's CA bundle (Amazon Linux keeps its own elsewhere)
Then `terraform apply` (or scripts/deploy_all.sh) uploads it.

Options:
  --binary PATH      package this file-monitor binary instead of building one
  --build-dir DIR    build directory for the release build (default: build/release)
  --output ZIP       where to write the zip (default: build/lambda/file-monitor.zip)
  --stage-dir DIR    also leave the unzipped package in DIR (it is emptied first)
  --architecture A   the Lambda's architecture (lambda_architecture), x86_64 or arm64; default:
                     this host's. A binary built for another one is refused, as Lambda could
                     not run it (scripts/deploy_all.sh passes the stack's)
  -h, --help         show this help

Environment:
  SOURCE_DATE_EPOCH  timestamp given to every file in the zip (default 315532800, 1980-01-01)
USAGE
}

binary=""
build_dir="$EFSAS_ROOT/build/release"
output="$EFSAS_ROOT/build/lambda/file-monitor.zip"
stage_dir=""
architecture=""
while (($# > 0)); do
  case "$1" in
    --binary) binary=${2:?--binary needs a path}; shift 2 ;;
    --build-dir) build_dir=${2:?--build-dir needs a directory}; shift 2 ;;
    --output) output=${2:?--output needs a path}; shift 2 ;;
    --stage-dir) stage_dir=${2:?--stage-dir needs a directory}; shift 2 ;;
    --architecture) architecture=${2:?--architecture needs x86_64 or arm64}; shift 2 ;;
    -h | --help) usage; exit 0 ;;
    *) log "unknown argument: $1"; usage >&2; exit 2 ;;
  esac
done

require_tool ldd "install libc-bin (Debian: apt-get install libc-bin)"
require_tool zip "install zip (Debian: apt-get install zip)"
require_tool sha256sum "install coreutils"

[[ -n $architecture ]] || architecture=$(host_lambda_architecture)
case $architecture in
  x86_64 | arm64) ;;
  *) log "--architecture must be x86_64 or arm64, not '$architecture'"; usage >&2; exit 2 ;;
esac

if [[ -z $binary ]]; then
  require_tool cmake "install cmake, or pass --binary with a built file-monitor"
  log "building file-monitor (release) in $build_dir"
  (cd "$EFSAS_ROOT" && cmake --preset release -B "$build_dir" >/dev/null)
  cmake --build "$build_dir" --target file-monitor
  binary=$(find "$build_dir" -type f -name file-monitor -perm -u+x -print -quit)
  [[ -n $binary ]] || die "the build finished but no file-monitor binary was found in $build_dir"
fi
[[ -f $binary && -x $binary ]] || die "$binary is not an executable file"
built_for=$(elf_architecture <"$binary")
[[ $built_for == "$architecture" ]] ||
  die "$binary is built for $built_for, but the Lambda runs $architecture (lambda_architecture):" \
    "build on an $architecture host, or set lambda_architecture to match"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
pkg=$work/pkg
mkdir -p "$pkg/bin" "$pkg/lib" "$pkg/certs"

cp "$binary" "$pkg/bin/file-monitor"
# Symbols are not needed to run; a smaller package starts faster.
if command -v strip >/dev/null 2>&1; then
  strip --strip-unneeded "$pkg/bin/file-monitor"
fi

# Every library the binary links, found as the build host's loader would find it, plus the loader
# itself (the line of ldd's output without "=>"). linux-vdso comes from the kernel.
loader=""
while read -r line; do
  case "$line" in
    *"=> not found"*)
      die "a shared library of $binary is missing on this host: ${line%% *}" ;;
    *"=>"*)
      name=${line%% *}
      path=$(awk '{print $3}' <<<"$line")
      [[ -n $path && -e $path ]] || continue
      cp -L "$path" "$pkg/lib/$name" ;;
    /*)
      path=${line%% *}
      loader=$(basename "$path")
      cp -L "$path" "$pkg/lib/$loader" ;;
  esac
done < <(ldd "$binary")
[[ -n $loader ]] || die "ldd found no dynamic loader for $binary (a static binary needs no packaging)"

ca_bundle=""
for candidate in /etc/ssl/certs/ca-certificates.crt /etc/pki/tls/certs/ca-bundle.crt; do
  if [[ -f $candidate ]]; then
    ca_bundle=$candidate
    break
  fi
done
[[ -n $ca_bundle ]] || die "no CA bundle found on this host (Debian: apt-get install ca-certificates)"
cp -L "$ca_bundle" "$pkg/certs/ca-certificates.crt"

# /bin/sh only: the script must run on any image that has a shell, and nothing else is assumed.
cat >"$pkg/bootstrap" <<EOF
#!/bin/sh
# Lambda custom runtime entry point: runs file-monitor with the loader and libraries packaged
# beside it, never the image's own.
set -eu
root=\${LAMBDA_TASK_ROOT:-\$(cd "\$(dirname "\$0")" && pwd)}
export AWS_CA_BUNDLE="\${AWS_CA_BUNDLE:-\$root/certs/ca-certificates.crt}"
export SSL_CERT_FILE="\${SSL_CERT_FILE:-\$root/certs/ca-certificates.crt}"
exec "\$root/lib/$loader" --library-path "\$root/lib" "\$root/bin/file-monitor" "\$@"
EOF

# Fixed permissions, timestamps and order, and no extra fields (uid/gid, extended times): the same
# inputs always give the same zip, so terraform sees a change only when something really changed.
epoch=${SOURCE_DATE_EPOCH:-315532800}
chmod 0755 "$pkg/bootstrap" "$pkg/bin/file-monitor" "$pkg/lib/"*
chmod 0644 "$pkg/certs/ca-certificates.crt"
find "$pkg" -exec touch -h -d "@$epoch" {} +

mkdir -p "$(dirname "$output")"
output=$(cd "$(dirname "$output")" && pwd)/$(basename "$output")
rm -f "$output"
(cd "$pkg" && find . -type f | sed 's|^\./||' | LC_ALL=C sort |
  TZ=UTC zip -q -X -D -9 "$output" -@)

if [[ -n $stage_dir ]]; then
  rm -rf "$stage_dir"
  mkdir -p "$stage_dir"
  cp -a "$pkg/." "$stage_dir/"
fi

size=$(du -k "$output" | cut -f1)
log "wrote $output (${size} KiB, sha256 $(sha256sum "$output" | cut -d' ' -f1))"
log "libraries bundled: $(find "$pkg/lib" -type f -printf '%f\n' | LC_ALL=C sort | tr '\n' ' ')"
