#!/usr/bin/env bash
# A Spark standalone master and one worker, from the pyspark package (no start
# scripts ship with it), optionally inside a network namespace: the remote test
# host of scripts/remote/ (its sshd's address), so the cluster target's tests
# talk to a real master over SSH.
#
#   scripts/spark/standalone.sh start [--netns NAME] [--host ADDR] [--state DIR]
#   scripts/spark/standalone.sh stop  [--state DIR]
#   scripts/spark/standalone.sh status [--state DIR]     # the master's JSON
#
# The master listens on ADDR:7077 (web UI and JSON on ADDR:8080), the worker
# offers 2 cores and 2 GB. Idempotent: start with a live master does nothing.
# Processes run under setsid and are killed by process group on stop.
# Namespace processes are started with nsenter --net (not `ip netns exec`,
# which remounts /sys); the filesystem is the host's, so the namespace's sshd
# sees the same pyspark and Java.
set -euo pipefail
cd "$(dirname "$0")/../.."

cmd=${1:-}
shift || true
netns=${EXPKIT_SPARK_NETNS:-}
host=${EXPKIT_SPARK_HOST:-127.0.0.1}
state=${EXPKIT_SPARK_STATE:-}
python=${EXPKIT_SPARK_PYTHON:-$PWD/.venv/bin/python}
while [ $# -gt 0 ]; do
  case "$1" in
    --netns) netns=$2; shift 2 ;;
    --host) host=$2; shift 2 ;;
    --state) state=$2; shift 2 ;;
    --python) python=$2; shift 2 ;;
    *) echo "standalone.sh: unknown option $1" >&2; exit 2 ;;
  esac
done
state=${state:-/tmp/expkit-spark${netns:+-$netns}}
MASTER_PORT=${EXPKIT_SPARK_MASTER_PORT:-7077}
UI_PORT=${EXPKIT_SPARK_UI_PORT:-8080}
WORKER_UI_PORT=${EXPKIT_SPARK_WORKER_UI_PORT:-8081}
if [ "$cmd" != start ] && [ -f "$state/where" ]; then
  # stop/status talk to what start started: same namespace, address and ports.
  . "$state/where"
fi

in_ns() {
  if [ -n "$netns" ]; then
    nsenter --net="/var/run/netns/$netns" "$@"
  else
    "$@"
  fi
}

master_json() {
  in_ns "$python" - "http://$host:$UI_PORT/json/" <<'EOF'
import sys, urllib.request
try:
    with urllib.request.urlopen(sys.argv[1], timeout=3) as r:
        sys.stdout.write(r.read().decode())
except OSError as exc:
    sys.exit(f"no master at {sys.argv[1]}: {exc}")
EOF
}

alive() { [ -f "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }

start_one() { # name, class, args...
  local name=$1 cls=$2
  shift 2
  if alive "$state/$name.pid"; then return 0; fi
  local ns=()
  if [ -n "$netns" ]; then ns=(nsenter "--net=/var/run/netns/$netns"); fi
  # One exec chain (env, nsenter, setsid, spark-class's own exec of java): $! is
  # the JVM, leader of its own process group, so stop kills it and the
  # executors it started together.
  env SPARK_HOME="$spark_home" SPARK_LOCAL_IP="$host" SPARK_NO_DAEMONIZE=1 \
    SPARK_LOG_DIR="$state" SPARK_WORKER_DIR="$state/work" \
    "${ns[@]}" setsid "$spark_home/bin/spark-class" "$cls" "$@" \
    >"$state/$name.log" 2>&1 </dev/null &
  echo $! >"$state/$name.pid"
}

case "$cmd" in
  start)
    spark_home=$("$python" -c 'import os, pyspark; print(os.path.dirname(pyspark.__file__))') || {
      echo "standalone.sh: pyspark is not installed for $python (scripts/bootstrap.sh dev)" >&2
      exit 1
    }
    command -v java >/dev/null || { echo "standalone.sh: java not found (Java 17+)" >&2; exit 1; }
    mkdir -p "$state/work"
    if [ -f "$state/where" ] && ! grep -qxF "spark_home=$(printf %q "$spark_home")" "$state/where"; then
      # Started from another Spark (another checkout's venv): replace it with this one.
      "$0" stop --state "$state"
    fi
    printf 'netns=%q\nhost=%q\nMASTER_PORT=%q\nUI_PORT=%q\npython=%q\nspark_home=%q\n' \
      "$netns" "$host" "$MASTER_PORT" "$UI_PORT" "$python" "$spark_home" >"$state/where"
    start_one master org.apache.spark.deploy.master.Master \
      --host "$host" --port $MASTER_PORT --webui-port $UI_PORT
    for _ in $(seq 1 120); do
      master_json >/dev/null 2>&1 && break
      alive "$state/master.pid" || { cat "$state/master.log" >&2; exit 1; }
      sleep 0.5
    done
    start_one worker org.apache.spark.deploy.worker.Worker \
      --host "$host" --cores 2 --memory 2g --webui-port "$WORKER_UI_PORT" --work-dir "$state/work" "spark://$host:$MASTER_PORT"
    for _ in $(seq 1 120); do
      if master_json 2>/dev/null | grep -q '"state" *: *"ALIVE"' \
        && master_json | "$python" -c 'import json,sys; sys.exit(0 if any(w["state"]=="ALIVE" for w in json.load(sys.stdin)["workers"]) else 1)'; then
        echo "spark://$host:$MASTER_PORT"
        exit 0
      fi
      alive "$state/worker.pid" || { cat "$state/worker.log" >&2; exit 1; }
      sleep 0.5
    done
    echo "standalone.sh: the worker did not register with the master; see $state/*.log" >&2
    exit 1
    ;;
  stop)
    for name in worker master; do
      if alive "$state/$name.pid"; then
        pid=$(cat "$state/$name.pid")
        kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
        for _ in $(seq 1 20); do kill -0 "$pid" 2>/dev/null || break; sleep 0.25; done
        kill -KILL -- "-$pid" 2>/dev/null || true
      fi
      rm -f "$state/$name.pid"
    done
    ;;
  status)
    master_json
    ;;
  *)
    echo "usage: $0 start|stop|status [--netns NAME] [--host ADDR] [--state DIR]" >&2
    exit 2
    ;;
esac
