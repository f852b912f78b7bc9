#!/usr/bin/env bash
# Start, stop and inspect the app in the background, with its pid and log under var/.
# Used by the Makefile (`make run|stop|status|logs`); run from the repository root.
set -euo pipefail
# Everything written under DATA_DIR (logs, pid files, the simulator's kubeconfig) is the
# user's alone; the app does the same for its own files (app/data_dir.py).
umask 077

VAR_DIR=${DATA_DIR:-var}
PID_FILE="$VAR_DIR/app.pid"
LOG_FILE="$VAR_DIR/app.observability.log"
SIM_PID_FILE="$VAR_DIR/simulator.pid"
SIM_LOG_FILE="$VAR_DIR/simulator.log"
SIM_KUBECONFIG="$VAR_DIR/kubeconfig"
# The simulator's objects, resourceVersion counter and port: a restart keeps the cluster.
SIM_STATE="$VAR_DIR/simulator.db"
PY=${PY:-.venv/bin/python}
HOST=${HOST:-127.0.0.1}
PORT=${PORT:-8000}
API_URL="http://$HOST:$PORT"
STOP_TIMEOUT=${STOP_TIMEOUT:-15}

pid_alive() {
  local file=${1:-$PID_FILE}
  [ -f "$file" ] || return 1
  local pid
  pid=$(cat "$file" 2>/dev/null) || return 1
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null
}

# The embedded Kubernetes + KubeDB simulator, when no cluster is configured.
start_simulator() {
  if pid_alive "$SIM_PID_FILE" && [ -s "$SIM_KUBECONFIG" ]; then
    return 0
  fi
  rm -f "$SIM_KUBECONFIG"
  # HTTPS (a certificate kept in var/simulator-tls): kubectl sends its token only over TLS.
  # Real PostgreSQL/Redis servers for the first EMBEDDED_REAL_DATABASES databases.
  setsid "$PY" -m simulator --host 127.0.0.1 --state "$SIM_STATE" \
    --kubeconfig-out "$SIM_KUBECONFIG" --tls-dir "$VAR_DIR/simulator-tls" \
    --real-databases "${EMBEDDED_REAL_DATABASES:-4}" \
    >>"$SIM_LOG_FILE" 2>&1 < /dev/null &
  echo $! >"$SIM_PID_FILE"
  local waited=0
  until [ -s "$SIM_KUBECONFIG" ]; do
    if ! pid_alive "$SIM_PID_FILE"; then
      echo "the simulator failed to start; the end of $SIM_LOG_FILE says:" >&2
      tail -n 20 "$SIM_LOG_FILE" >&2
      rm -f "$SIM_PID_FILE"
      return 1
    fi
    if [ "$waited" -ge 300 ]; then
      echo "the simulator did not start in 30 s; see $SIM_LOG_FILE" >&2
      return 1
    fi
    sleep 0.1
    waited=$((waited + 1))
  done
}

stop_pid() {
  local file=$1 name=$2
  pid_alive "$file" || { rm -f "$file"; return 0; }
  local pid
  pid=$(cat "$file")
  kill -TERM "$pid"
  local waited=0
  while kill -0 "$pid" 2>/dev/null; do
    if [ "$waited" -ge $((STOP_TIMEOUT * 10)) ]; then
      echo "$name (pid $pid) did not stop in ${STOP_TIMEOUT} s; killing it" >&2
      kill -KILL "$pid" 2>/dev/null || true
      break
    fi
    sleep 0.1
    waited=$((waited + 1))
  done
  rm -f "$file"
}

# Prints the /health body and exits 0 when healthy (stdlib only: no curl needed).
health() {
  "$PY" - "$API_URL/health" <<'PYEOF'
import sys, urllib.request, urllib.error
try:
    with urllib.request.urlopen(sys.argv[1], timeout=3) as response:
        print(response.read().decode()); sys.exit(0)
except urllib.error.HTTPError as error:
    print(error.read().decode()); sys.exit(1)
except OSError as error:
    print(f"no answer from {sys.argv[1]}: {error}"); sys.exit(2)
PYEOF
}

start() {
  mkdir -p "$VAR_DIR"
  # What an older version left readable; not the simulator's database servers' folders,
  # which are their user's. Others may pass through DATA_DIR (never list or read it): those
  # servers run as an unprivileged user who must reach their folders (docs/simulator.md).
  find "$VAR_DIR" -path "$VAR_DIR/simulator-dataplane" -prune -o -exec chmod go-rwx {} +
  chmod o+x "$VAR_DIR"
  if pid_alive; then
    echo "kubedb-dbaas is already running (pid $(cat "$PID_FILE")) at $API_URL"
    return 0
  fi
  if [ -z "${CLUSTER_KUBECONFIG:-}" ]; then
    start_simulator
    CLUSTER_KUBECONFIG="$SIM_KUBECONFIG"
    export CLUSTER_KUBECONFIG
  fi
  # setsid: the app leads its own session, so closing this terminal does not stop it.
  setsid "$PY" -m app >>"$LOG_FILE" 2>&1 < /dev/null &
  echo $! >"$PID_FILE"
  local waited=0
  until health >/dev/null 2>&1; do
    if ! pid_alive; then
      echo "kubedb-dbaas failed to start; the end of $LOG_FILE says:" >&2
      tail -n 20 "$LOG_FILE" >&2
      rm -f "$PID_FILE"
      return 1
    fi
    if [ "$waited" -ge 600 ]; then
      echo "kubedb-dbaas did not become healthy in 60 s; see $LOG_FILE" >&2
      return 1
    fi
    sleep 0.1
    waited=$((waited + 1))
  done
  echo "kubedb-dbaas is running (pid $(cat "$PID_FILE"))"
  echo "  Console: $API_URL/console   (sign in with the admin key below)"
  echo "  API:     $API_URL   (docs: $API_URL/docs, health: $API_URL/health)"
  echo "  Log:     $LOG_FILE   (make logs)"
  if [ "$CLUSTER_KUBECONFIG" = "$SIM_KUBECONFIG" ]; then
    echo "  Cluster: the embedded Kubernetes + KubeDB simulator (log $SIM_LOG_FILE); for kubectl:"
    echo "           export KUBECONFIG=$(cd "$VAR_DIR" && pwd)/kubeconfig"
  else
    echo "  Cluster: $CLUSTER_KUBECONFIG"
  fi
  if [ -f "$VAR_DIR/admin-api-key" ]; then
    echo "  Auth:    send  Authorization: Bearer \$(cat $VAR_DIR/admin-api-key)"
    echo "           (the admin key made on first start; keep it secret)"
    # The command line (kdb/), logged in with that key to a project of the walkthrough.
    echo "  CLI:     $(dirname "$PY")/kdb login --url $API_URL --domain acme --project shop < $VAR_DIR/admin-api-key"
  fi
}

stop() {
  local was_running=0
  pid_alive && was_running=1
  stop_pid "$PID_FILE" kubedb-dbaas
  stop_pid "$SIM_PID_FILE" "the simulator"
  if [ "$was_running" = 1 ]; then
    echo "kubedb-dbaas stopped"
  else
    echo "kubedb-dbaas is not running"
  fi
}

status() {
  if ! pid_alive; then
    echo "kubedb-dbaas is not running"
    return 1
  fi
  echo "kubedb-dbaas is running (pid $(cat "$PID_FILE")) at $API_URL"
  if pid_alive "$SIM_PID_FILE"; then
    echo "the embedded simulator is running (pid $(cat "$SIM_PID_FILE")); KUBECONFIG=$SIM_KUBECONFIG"
  fi
  health
}

logs() {
  touch "$LOG_FILE" 2>/dev/null || mkdir -p "$VAR_DIR"
  exec tail -n 50 -F "$LOG_FILE"
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  status) status ;;
  logs) logs ;;
  *) echo "usage: $0 start|stop|status|logs" >&2; exit 2 ;;
esac
