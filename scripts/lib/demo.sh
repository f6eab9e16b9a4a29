# Helpers for scripts/demo.sh: the processes it starts (each in its own session, so one signal
# stops a process and everything it started), free ports, waiting, JSON through python3, and the
# terminal output (event lines above a progress bar that redraws in place).
# Sourced, never run; the caller sets `set -euo pipefail`, SCRIPT_NAME and sources common.sh.
# shellcheck shell=bash

DEMO_PIDS=()                 # every process started, in order
declare -A DEMO_PROCESS_NAME # pid -> name shown in messages
declare -A DEMO_STOP_SIGNAL  # pid -> first signal sent at clean-up (TERM unless said otherwise)
DEMO_TTY=0                   # 1: stdout is a terminal and the progress bar redraws in place
DEMO_BAR=""                  # the progress bar as last drawn ("" when none is shown)

# start_process NAME LOG SIGNAL COMMAND...: starts COMMAND in the background in a session of its
# own (setsid execs it: the pid is the command's and the session's), output to LOG; sets
# STARTED_PID. SIGNAL is how clean-up stops it first (TERM, or KILL for what needs no grace).
start_process() {
  local name=$1 logfile=$2 signal=$3
  shift 3
  setsid "$@" >"$logfile" 2>&1 </dev/null &
  STARTED_PID=$!
  DEMO_PIDS+=("$STARTED_PID")
  # shellcheck disable=SC2034 # read by demo.sh in its messages
  DEMO_PROCESS_NAME[$STARTED_PID]=$name
  DEMO_STOP_SIGNAL[$STARTED_PID]=$signal
}

forget_process() {
  local pid=$1 kept=() p
  for p in "${DEMO_PIDS[@]}"; do
    [[ $p == "$pid" ]] || kept+=("$p")
  done
  DEMO_PIDS=("${kept[@]}")
}

# signal_group SIGNAL PID: the process's whole session group, or the process alone.
signal_group() {
  kill "-$1" -- "-$2" 2>/dev/null || kill "-$1" "$2" 2>/dev/null || true
}

# stop_process PID: its first signal, then KILL after GRACE seconds (default 5).
stop_process() {
  local pid=$1 grace=${2:-5} waited=0
  alive "$pid" || { { wait "$pid"; } 2>/dev/null || true; forget_process "$pid"; return 0; }
  signal_group "${DEMO_STOP_SIGNAL[$pid]:-TERM}" "$pid"
  while alive "$pid" && ((waited < grace * 10)); do
    sleep 0.1
    waited=$((waited + 1))
  done
  alive "$pid" && signal_group KILL "$pid"
  { wait "$pid"; } 2>/dev/null || true
  # The session may outlive its leader (a child it started): KILL whatever is left of it.
  signal_group KILL "$pid"
  forget_process "$pid"
}

# stop_all: every process still running, newest first, at once, then KILL after 5 seconds.
stop_all() {
  local i pid waited=0 left
  for ((i = ${#DEMO_PIDS[@]} - 1; i >= 0; i--)); do
    signal_group "${DEMO_STOP_SIGNAL[${DEMO_PIDS[$i]}]:-TERM}" "${DEMO_PIDS[$i]}"
  done
  while ((waited < 50)); do
    left=0
    for pid in "${DEMO_PIDS[@]}"; do
      alive "$pid" && left=1
    done
    ((left == 0)) && break
    sleep 0.1
    waited=$((waited + 1))
  done
  for pid in "${DEMO_PIDS[@]}"; do
    signal_group KILL "$pid"
    { wait "$pid"; } 2>/dev/null || true
  done
  DEMO_PIDS=()
}

# port_open ADDRESS PORT: something accepts connections there.
port_open() {
  timeout 1 bash -c "exec 3<>/dev/tcp/$1/$2" 2>/dev/null
}

http_ok() { curl -sf -o /dev/null --max-time 2 "$1"; }

# json_get EXPRESSION: evaluates a Python expression over the JSON document on stdin, bound to
# `d`; prints strings as they are, anything else as JSON.
json_get() {
  python3 -c '
import json, sys
d = json.load(sys.stdin)
v = eval(sys.argv[1], {"d": d, "json": json})
print(v if isinstance(v, str) else json.dumps(v))' "$1"
}

# --- Terminal output --------------------------------------------------------------------------

bold() { if ((DEMO_TTY)); then printf '\033[1m%s\033[0m' "$*"; else printf '%s' "$*"; fi; }

clear_bar() {
  if ((DEMO_TTY)) && [[ -n $DEMO_BAR ]]; then
    printf '\r\033[K'
  fi
}

redraw_bar() {
  if ((DEMO_TTY)) && [[ -n $DEMO_BAR ]]; then
    printf '%s' "$DEMO_BAR"
  fi
}

# say MESSAGE: one line of the story, printed above the progress bar.
say() {
  clear_bar
  printf '%s %s\n' "$(date +%H:%M:%S)" "$*"
  redraw_bar
}

step() {
  clear_bar
  printf '\n%s\n' "$(bold "== $*")"
  redraw_bar
}

# progress_bar DONE TOTAL TEXT: draws the bar (on a terminal) or, elsewhere, prints a line at
# every tenth of the way.
DEMO_LAST_TENTH=-1
progress_bar() {
  local done=$1 total=$2 text=$3 width=30 filled tenth
  ((total > 0)) || total=1
  ((done <= total)) || done=$total
  filled=$((done * width / total))
  local bar
  bar=$(printf '%*s' "$filled" '' | tr ' ' '#')$(printf '%*s' $((width - filled)) '' | tr ' ' '.')
  if ((DEMO_TTY)); then
    DEMO_BAR=$(printf '[%s] %d/%d %s' "$bar" "$done" "$total" "$text")
    printf '\r\033[K%s' "$DEMO_BAR"
  else
    tenth=$((done * 10 / total))
    if ((tenth != DEMO_LAST_TENTH)); then
      DEMO_LAST_TENTH=$tenth
      printf '%s [%s] %d/%d %s\n' "$(date +%H:%M:%S)" "$bar" "$done" "$total" "$text"
    fi
  fi
}

end_bar() {
  if ((DEMO_TTY)) && [[ -n $DEMO_BAR ]]; then
    printf '\n'
  fi
  DEMO_BAR=""
}
