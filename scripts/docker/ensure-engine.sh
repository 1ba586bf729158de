#!/usr/bin/env bash
# Make sure a Docker engine is installed and running on this machine.
#
# Idempotent: installs Debian's docker.io (and debootstrap, which
# build-base-image.sh needs) only when absent, starts dockerd only when
# `docker info` does not answer, and says what it did. Needs root for the
# install and start steps (CI and the dev machines run as root).
#
# Environment:
#   EXPKIT_DOCKERD_LOG   dockerd's log file (default /var/log/expkit-dockerd.log)
#   EXPKIT_DOCKERD_WAIT  seconds to wait for the engine (default 30)
set -euo pipefail

log() { printf 'ensure-engine: %s\n' "$*"; }
die() { printf 'ensure-engine: error: %s\n' "$*" >&2; exit 1; }

DOCKERD_LOG=${EXPKIT_DOCKERD_LOG:-/var/log/expkit-dockerd.log}
WAIT=${EXPKIT_DOCKERD_WAIT:-30}

# ---------------------------------------------------------------- install
missing=()
command -v dockerd >/dev/null 2>&1 || missing+=(docker.io)
command -v debootstrap >/dev/null 2>&1 || missing+=(debootstrap)
if ((${#missing[@]})); then
    [[ $(id -u) -eq 0 ]] || die "need root to install ${missing[*]} (run: sudo apt-get install -y ${missing[*]})"
    log "installing ${missing[*]} from Debian's packages"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq "${missing[@]}" >/dev/null
else
    log "docker.io and debootstrap already installed"
fi
command -v docker >/dev/null 2>&1 || die "the docker client is missing after install (expected /usr/bin/docker from docker.io)"

# ---------------------------------------------------------------- start
engine_up() { docker info >/dev/null 2>&1; }

if engine_up; then
    log "engine already running ($(docker version --format '{{.Server.Version}}' 2>/dev/null || echo '?'))"
    exit 0
fi
[[ -z ${DOCKER_HOST:-} ]] || die "DOCKER_HOST=$DOCKER_HOST does not answer; unset it to use the local engine"
[[ $(id -u) -eq 0 ]] || die "the engine is not running and starting dockerd needs root (sudo $0)"

wait_for_engine() { # $1: dockerd pid
    local i
    for ((i = 0; i < WAIT * 5; i++)); do
        engine_up && return 0
        kill -0 "$1" 2>/dev/null || return 1 # dockerd died: no point waiting
        sleep 0.2
    done
    return 1
}

start_dockerd() { # $1: storage driver
    log "starting dockerd (storage driver $1, log $DOCKERD_LOG)"
    mkdir -p "$(dirname "$DOCKERD_LOG")"
    # A stale pid file from a killed dockerd makes the new one refuse to start.
    if [[ -f /var/run/docker.pid ]] && ! kill -0 "$(cat /var/run/docker.pid)" 2>/dev/null; then
        rm -f /var/run/docker.pid
    fi
    # setsid + nohup: the engine outlives this script and the shell that ran it.
    setsid nohup dockerd --storage-driver "$1" >>"$DOCKERD_LOG" 2>&1 </dev/null &
    DOCKERD_PID=$!
    wait_for_engine "$DOCKERD_PID"
}

if start_dockerd overlay2; then
    log "engine running (overlay2)"
    exit 0
fi
log "dockerd did not come up with overlay2; last log lines:"
tail -n 5 "$DOCKERD_LOG" | sed 's/^/  | /'
kill "$DOCKERD_PID" 2>/dev/null || true
for _ in $(seq 50); do kill -0 "$DOCKERD_PID" 2>/dev/null || break; sleep 0.1; done
if start_dockerd vfs; then
    log "engine running (vfs: slower and larger images, but works everywhere)"
    exit 0
fi
tail -n 20 "$DOCKERD_LOG" | sed 's/^/  | /' >&2
die "dockerd did not answer within ${WAIT}s; see $DOCKERD_LOG"
