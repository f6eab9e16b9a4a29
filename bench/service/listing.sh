#!/usr/bin/env bash
# Paging through a large directory with GET /files/{dir}/?limit=...&token=...: the sorted listing
# kept between pages (the directory dated back, as one nobody writes to) against a listing read
# again for every page (the directory touched before each page, so its stamp never holds), on
# the directory back end. Rounds alternate; prints each run and the medians.
# Usage: bench/service/listing.sh [path/to/file-service]   (default: build/release/fargate/app/file-service)
# Env: COUNT (files, default 200000), LIMIT (entries per page, default 1000), ROUNDS (default 3).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "${here}/../.." && pwd)"
binary="${1:-${root}/build/release/fargate/app/file-service}"
count="${COUNT:-200000}"
limit="${LIMIT:-1000}"
rounds="${ROUNDS:-3}"

[[ -x "${binary}" ]] || { echo "no file-service binary at ${binary} (cmake --preset release)" >&2; exit 1; }

work="$(mktemp -d /tmp/efsas-bench-listing.XXXXXX)"
pid=""
cleanup() {
  if [[ -n "${pid}" ]]; then kill "${pid}" 2>/dev/null || true; fi
  wait 2>/dev/null || true
  rm -rf "${work}"
}
trap cleanup EXIT

mkdir -p "${work}/data/big"
python3 - "${work}/data/big" "${count}" <<'EOF'
import os, sys
for i in range(int(sys.argv[2])):
    open(os.path.join(sys.argv[1], f"file-{i:07d}"), "w").close()
EOF
ln -s "${work}/data" "${work}/fsmt-00000000000000000"

port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()')"
list='{"schema_version":1,"file_system_id":"fs-0123456789abcdef0","generation":1,"updated_at":"2026-11-26T00:00:00.000Z","mount_targets":[{"id":"fsmt-00000000000000000","availability_zone":"ap-northeast-1a","availability_zone_id":"apne1-az1","subnet_id":"subnet-00000000","ip_address":"10.0.0.10","state":"available"}]}'
MOUNT_TARGETS_JSON="${list}" STORAGE_BACKEND=directory MOUNT_PATH_TEMPLATE="${work}/{id}" \
  LISTEN_ADDRESS=127.0.0.1 PORT="${port}" ACCESS_LOG=false LOG_LEVEL=warn "${binary}" &
pid=$!
for _ in $(seq 1 100); do
  curl -sf -o /dev/null "http://127.0.0.1:${port}/readyz" && break
  sleep 0.1
done

python3 - "${port}" "${limit}" "${rounds}" "${work}/data/big" "${count}" <<'EOF'
import json, os, statistics, sys, time, urllib.request

port, limit, rounds, directory, count = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4], int(sys.argv[5])

def page_through(touch):
    if not touch:
        old = time.time() - 3600
        os.utime(directory, (old, old))
    token, pages, names = "", 0, 0
    started = time.monotonic()
    while True:
        if touch:
            os.utime(directory)
        url = f"http://127.0.0.1:{port}/files/big/?limit={limit}" + (f"&token={token}" if token else "")
        page = json.load(urllib.request.urlopen(url))
        pages += 1
        names += len(page["entries"])
        token = page["next_token"]
        if not token:
            break
    seconds = time.monotonic() - started
    if names != count:
        sys.exit(f"listed {names} entries, expected {count}")
    return seconds, pages

runs = {"kept listing": [], "read every page": []}
for _ in range(rounds):
    for name, touch in (("kept listing", False), ("read every page", True)):
        seconds, pages = page_through(touch)
        runs[name].append(seconds)
        print(f"{name}: {pages} pages of {limit} in {seconds:.2f} s ({pages / seconds:.1f} pages/s)")
kept, reread = (statistics.median(runs[n]) for n in ("kept listing", "read every page"))
print(f"median: kept {kept:.2f} s, read every page {reread:.2f} s, {reread / kept:.1f}x "
      f"({count} files, pages of {limit})")
EOF
