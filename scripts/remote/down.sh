#!/usr/bin/env bash
# Stop the remote test host started by up.sh: sshd, the namespace's dockerd (its
# containers with it), tinyproxy, the veth pair and the namespace. Keeps the keys and the
# engine's images (the next up.sh is quick); `down.sh --purge` removes those too.
set -uo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=env.sh
. "$HERE/env.sh"
log() { printf 'remote-host: %s\n' "$*"; }
STATE=$EXPKIT_REMOTE_STATE
DOCKER_DATA=${EXPKIT_REMOTE_DOCKER_DATA:-/var/lib/expkit-remote-docker}

stop() { # $1: pid file, $2: what
    [[ -f $1 ]] || return 0
    local pid i
    pid=$(cat "$1")
    if kill "$pid" 2>/dev/null; then
        for ((i = 0; i < 100; i++)); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        kill -9 "$pid" 2>/dev/null
        log "stopped $2"
    fi
    rm -f "$1"
}
stop "$STATE/sshd/sshd.pid" sshd
rm -f "$STATE/sshd/sshd_config.running"
stop "$STATE/docker/docker.pid" "the namespace's dockerd"
# The engine leaves its namespace file mounted under its exec root.
umount "$STATE/docker/exec/netns/default" 2>/dev/null
stop "$STATE/tinyproxy/tinyproxy.pid" tinyproxy
ip link del "${EXPKIT_REMOTE_HOST_IF:-exprem0}" 2>/dev/null && log "removed the veth pair"
if [[ -e /var/run/netns/$EXPKIT_REMOTE_NETNS ]]; then
    for pid in $(ip netns pids "$EXPKIT_REMOTE_NETNS" 2>/dev/null); do kill "$pid" 2>/dev/null; done
    ip netns del "$EXPKIT_REMOTE_NETNS" && log "removed namespace $EXPKIT_REMOTE_NETNS"
fi
if [[ ${1:-} == --purge ]]; then
    rm -rf "$STATE" "$DOCKER_DATA"
    log "removed $STATE and $DOCKER_DATA"
fi
