#!/usr/bin/env bash
# file-service against nginx (the anchor) and the original Flask service, on loopback with wrk:
# GET of random 4 KiB files (10,000) and of random 1 MiB files, then PUT of 4 KiB and of 1 MiB
# files with fsync. Servers take turns (alternating rounds) so that a busy machine hurts them alike.
# Usage: bench/service/run.sh [path/to/file-service]   (default: build/release/fargate/app/file-service)
# Env: DURATION (s per run, default 10), ROUNDS (default 2), THREADS (2), CONNECTIONS (64),
#      SMALL_COUNT (10000), LARGE_COUNT (200).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "${here}/../.." && pwd)"
binary="${1:-${root}/build/release/fargate/app/file-service}"
duration="${DURATION:-10}"
rounds="${ROUNDS:-2}"
threads="${THREADS:-2}"
connections="${CONNECTIONS:-64}"
small_count="${SMALL_COUNT:-10000}"
large_count="${LARGE_COUNT:-200}"

for tool in wrk nginx curl python3; do
  command -v "${tool}" >/dev/null || { echo "missing: ${tool}" >&2; exit 1; }
done
[[ -x "${binary}" ]] || { echo "no file-service binary at ${binary} (cmake --preset release)" >&2; exit 1; }

work="$(mktemp -d /tmp/efsas-bench-service.XXXXXX)"
chmod 755 "${work}"
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "${pid}" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "${work}"
}
trap cleanup EXIT

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}
wait_port() {
  for _ in $(seq 1 100); do
    curl -s -o /dev/null "http://127.0.0.1:$1/" && return 0
    sleep 0.1
  done
  echo "nothing listens on port $1" >&2
  return 1
}

echo "# preparing ${small_count} x 4 KiB and ${large_count} x 1 MiB files in ${work}" >&2
data="${work}/data"
python3 - "${data}" "${small_count}" "${large_count}" <<'PY'
import os, sys
data, small, large = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
block = os.urandom(1 << 20)
for prefix, count, size in (("s", small, 4096), ("l", large, 1 << 20)):
    for i in range(count):
        d = os.path.join(data, "%s%02d" % (prefix, i % 100))
        os.makedirs(d, exist_ok=True)
        with open(os.path.join(d, "f%05d" % i), "wb") as f:
            f.write(block[:size])
PY
chmod -R a+rX "${data}"
ids=(fsmt-00000000000000000 fsmt-00000000000000001 fsmt-00000000000000002)
for id in "${ids[@]}"; do ln -s "${data}" "${work}/${id}"; done
cat > "${work}/targets.json" <<JSON
{"schema_version": 1, "file_system_id": "fs-0123456789abcdef0", "generation": 1,
 "updated_at": "2026-11-25T19:30:00.000Z", "mount_targets": [
  {"id": "${ids[0]}", "availability_zone": "ap-northeast-1a", "availability_zone_id": "apne1-az4",
   "subnet_id": "subnet-00000000", "ip_address": "10.0.0.10", "state": "available"},
  {"id": "${ids[1]}", "availability_zone": "ap-northeast-1c", "availability_zone_id": "apne1-az1",
   "subnet_id": "subnet-00000001", "ip_address": "10.0.1.10", "state": "available"},
  {"id": "${ids[2]}", "availability_zone": "ap-northeast-1d", "availability_zone_id": "apne1-az2",
   "subnet_id": "subnet-00000002", "ip_address": "10.0.2.10", "state": "available"}]}
JSON

declare -A port
port[file-service]="$(free_port)"
MOUNT_TARGETS_FILE="${work}/targets.json" MOUNT_PATH_TEMPLATE="${work}/{id}" \
  LISTEN_ADDRESS=127.0.0.1 PORT="${port[file-service]}" ACCESS_LOG=false LOG_LEVEL=warn \
  WORKER_THREADS="${WORKER_THREADS:-4}" \
  "${binary}" 2>"${work}/file-service.log" &
pids+=($!)
declare -A server_pid
server_pid[file-service]=$!

port[nginx]="$(free_port)"
mkdir -p "${work}/nginx"
cat > "${work}/nginx/nginx.conf" <<CONF
worker_processes 2;
daemon off;
user root;
pid ${work}/nginx/nginx.pid;
error_log ${work}/nginx/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  sendfile on;
  tcp_nopush on;
  keepalive_requests 1000000;
  client_body_temp_path ${work}/nginx/body;
  proxy_temp_path ${work}/nginx/proxy;
  fastcgi_temp_path ${work}/nginx/fastcgi;
  uwsgi_temp_path ${work}/nginx/uwsgi;
  scgi_temp_path ${work}/nginx/scgi;
  server {
    listen 127.0.0.1:${port[nginx]};
    location /files/ { alias ${data}/; }
  }
}
CONF
nginx -c "${work}/nginx/nginx.conf" -p "${work}/nginx" &
pids+=($!)
server_pid[nginx]=$!

dirs="${work}/${ids[0]}:${work}/${ids[1]}:${work}/${ids[2]}"
servers=(file-service nginx)
flask_python="python3"
if python3 -c 'import flask' 2>/dev/null; then
  port[flask]="$(free_port)"
  BENCH_DIRS="${dirs}" python3 "${here}/flask_app.py" "${port[flask]}" >"${work}/flask.log" 2>&1 &
  pids+=($!)
  server_pid[flask]=$!
  servers+=(flask)
else
  flask_python=""
  echo "# Flask not installed: skipping the Flask server" >&2
fi
if command -v gunicorn >/dev/null; then
  gunicorn_python="$(head -1 "$(command -v gunicorn)" | sed 's/^#! *//')"
  if "${gunicorn_python}" -c 'import flask' 2>/dev/null; then
    port[gunicorn]="$(free_port)"
    # gunicorn takes SCRIPT_NAME from the environment as the application's URL prefix.
    BENCH_DIRS="${dirs}" env -u SCRIPT_NAME gunicorn -w 4 -b "127.0.0.1:${port[gunicorn]}" --chdir "${here}" \
      --log-level warning flask_app:app >"${work}/gunicorn.log" 2>&1 &
    pids+=($!)
    server_pid[gunicorn]=$!
    servers+=(gunicorn)
  else
    echo "# gunicorn's Python has no Flask: skipping gunicorn" >&2
  fi
else
  echo "# gunicorn not installed (apt-get install gunicorn python3-flask): skipping it" >&2
fi
: "${flask_python}"
for server in "${servers[@]}"; do wait_port "${port[${server}]}"; done
# Each server must serve the same bytes before it is measured (gunicorn's workers may still be
# starting after its port answers: a few seconds of retries).
serves_test_file() {
  cmp -s <(curl -sf "http://127.0.0.1:${port[$1]}/files/s07/f00007") "${data}/s07/f00007"
}
for server in "${servers[@]}"; do
  for _ in $(seq 1 50); do serves_test_file "${server}" && break; sleep 0.2; done
  if ! serves_test_file "${server}"; then
    echo "${server} does not serve the test files; its log:" >&2
    tail -n 20 "${work}/${server}.log" >&2 2>/dev/null || true
    exit 1
  fi
done

# CPU time (clock ticks, user + system) of a server: its process and its direct children (nginx's
# and gunicorn's workers).
cpu_ticks() {
  local total=0 pid ticks
  for pid in "$1" $(pgrep -P "$1" || true); do
    # Fields after the command name, which is in parentheses and may hold spaces: utime and
    # stime are the 12th and 13th of them.
    ticks="$(sed 's/.*) //' "/proc/${pid}/stat" 2>/dev/null | awk '{print $12 + $13}')"
    total=$((total + ${ticks:-0}))
  done
  echo "${total}"
}
ticks_per_second="$(getconf CLK_TCK)"

# run_wrk SERVER SCRIPT PREFIX COUNT -> "requests/s p50 p99 cpu_us_per_request errors"
run_wrk() {
  local out before after
  before="$(cpu_ticks "${server_pid[$1]}")"
  out="$(BENCH_PREFIX="$3" BENCH_COUNT="$4" wrk -t"${threads}" -c"${connections}" -d"${duration}s" \
    --latency -s "${here}/$2" "http://127.0.0.1:${port[$1]}" 2>&1)"
  after="$(cpu_ticks "${server_pid[$1]}")"
  local rps p50 p99 errors requests cpu
  rps="$(awk '/Requests\/sec/ {print $2}' <<<"${out}")"
  p50="$(awk '$1 == "50%" {print $2}' <<<"${out}")"
  p99="$(awk '$1 == "99%" {print $2}' <<<"${out}")"
  errors="$(awk '/Non-2xx|Socket errors/ {sub(/^ +/, ""); printf "%s; ", $0}' <<<"${out}")"
  requests="$(awk '/requests in/ {print $1}' <<<"${out}")"
  cpu="$(awk -v t=$((after - before)) -v hz="${ticks_per_second}" -v n="${requests:-0}" \
    'BEGIN { if (n > 0) printf "%.1f", t / hz / n * 1e6; else print "-" }')"
  echo "${rps} ${p50} ${p99} ${cpu} ${errors:-none}"
}

echo "| round | workload | server | requests/s | p50 | p99 | CPU us/request | errors |"
echo "|---|---|---|---:|---:|---:|---:|---|"
for round in $(seq 1 "${rounds}"); do
  for workload in "4KiB:s:${small_count}" "1MiB:l:${large_count}"; do
    IFS=: read -r name prefix count <<<"${workload}"
    for server in "${servers[@]}"; do
      read -r rps p50 p99 cpu errors <<<"$(run_wrk "${server}" random_get.lua "${prefix}" "${count}")"
      echo "| ${round} | GET ${name} | ${server} | ${rps} | ${p50} | ${p99} | ${cpu} | ${errors} |"
    done
  done
  read -r rps p50 p99 cpu errors <<<"$(run_wrk file-service random_put.lua put "${small_count}")"
  echo "| ${round} | PUT 4KiB (fsync) | file-service | ${rps} | ${p50} | ${p99} | ${cpu} | ${errors} |"
  read -r rps p50 p99 cpu errors <<<"$(BENCH_SIZE=1048576 run_wrk file-service random_put.lua \
    putl "${large_count}")"
  echo "| ${round} | PUT 1MiB (fsync) | file-service | ${rps} | ${p50} | ${p99} | ${cpu} | ${errors} |"
done
