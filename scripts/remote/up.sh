#!/usr/bin/env bash
# Start the remote test host: a network namespace that stands for a Linux VM.
#
#   this machine (127.200.0.1) <-- veth --> namespace $EXPKIT_REMOTE_NETNS (127.200.0.2)
#                                            sshd :22, key-only (one password user for the
#                                                 Workbench `password:` tests)
#                                            its OWN dockerd (socket reached only via sshd)
#   tinyproxy on 127.200.0.1:8888: the namespace's only way to the package registries.
#
# Idempotent and quick when already up (a few checks, no restarts). Installs what is
# missing from Debian's packages. Needs root. Values: scripts/remote/env.sh.
# Facts behind the choices (nsenter, not `ip netns exec`; route_localnet): docs/testing.md
# and the design notes.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=env.sh
. "$HERE/env.sh"

log() { printf 'remote-host: %s\n' "$*"; }
die() { printf 'remote-host: error: %s\n' "$*" >&2; exit 1; }
[[ $(id -u) -eq 0 ]] || die "needs root (network namespaces, users, a second dockerd)"

NS=$EXPKIT_REMOTE_NETNS
STATE=$EXPKIT_REMOTE_STATE
NSENTER=(nsenter "--net=/var/run/netns/$NS")
HOST_IF=${EXPKIT_REMOTE_HOST_IF:-exprem0}
NS_IF=${EXPKIT_REMOTE_NS_IF:-exprem1}
PW_USER=${EXPKIT_REMOTE_PW_USER:-expkit-pw}
DOCKER_STATE=$STATE/docker
# The engine's data outside /tmp's possible tmpfs: overlay2 needs a real file system.
DOCKER_DATA=${EXPKIT_REMOTE_DOCKER_DATA:-/var/lib/expkit-remote-docker}
docker_ns() { docker -H "unix://$EXPKIT_REMOTE_DOCKER_SOCK" "$@"; }
alive() { [[ -f $1 ]] && kill -0 "$(cat "$1")" 2>/dev/null; }

# ---------------------------------------------------------------- packages
missing=()
command -v sshd >/dev/null 2>&1 || missing+=(openssh-server)
command -v ssh-keygen >/dev/null 2>&1 || missing+=(openssh-client)
command -v ip >/dev/null 2>&1 || missing+=(iproute2)
command -v tinyproxy >/dev/null 2>&1 || missing+=(tinyproxy)
command -v nsenter >/dev/null 2>&1 || missing+=(util-linux)
command -v rsync >/dev/null 2>&1 || missing+=(rsync)
if ((${#missing[@]})); then
    log "installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq "${missing[@]}" >/dev/null
    # Debian's packages start their own daemons where they can; ours have their own config.
    pkill -x -F /run/tinyproxy/tinyproxy.pid 2>/dev/null || true
fi
command -v dockerd >/dev/null 2>&1 || die "dockerd missing: run scripts/docker/ensure-engine.sh first"
docker info >/dev/null 2>&1 || die "the local engine does not answer: run scripts/docker/ensure-engine.sh first"

mkdir -p "$STATE"/{sshd,client,tinyproxy} "$DOCKER_STATE"
chmod 755 "$STATE"

# ---------------------------------------------------------------- accounts
for user in "$EXPKIT_REMOTE_USER" "$PW_USER"; do
    if ! id "$user" >/dev/null 2>&1; then
        log "creating user $user"
        useradd --create-home --shell /bin/bash --user-group "$user"
        # A quiet login: no rc file work on every exec (each costs a round trip's time).
        : >"$(getent passwd "$user" | cut -d: -f6)/.bashrc"
    fi
done
# Without PAM, sshd refuses a locked account ("!") even for keys: "*" is no password, unlocked.
[[ $(getent shadow "$EXPKIT_REMOTE_USER" | cut -d: -f2) == '*' ]] || usermod -p '*' "$EXPKIT_REMOTE_USER"
# The password user exists for the tests of Workbench's `password:` key only.
echo "$PW_USER:${EXPKIT_REMOTE_PASSWORD:-expkit-test-password}" | chpasswd
getent group expkit-docker >/dev/null || groupadd expkit-docker
usermod -aG expkit-docker "$EXPKIT_REMOTE_USER"
usermod -aG expkit-docker "$PW_USER"

# ---------------------------------------------------------------- keys
[[ -f $STATE/sshd/ssh_host_ed25519_key ]] ||
    ssh-keygen -q -t ed25519 -N '' -C expkit-remote-host -f "$STATE/sshd/ssh_host_ed25519_key"
[[ -f $EXPKIT_REMOTE_KEY ]] ||
    ssh-keygen -q -t ed25519 -N '' -C expkit-remote-client -f "$EXPKIT_REMOTE_KEY"
cp "$EXPKIT_REMOTE_KEY.pub" "$STATE/sshd/authorized_keys"
chmod 644 "$STATE/sshd/authorized_keys"
if [[ $EXPKIT_REMOTE_SSH_PORT == 22 ]]; then host_id=$EXPKIT_REMOTE_ADDR; else host_id="[$EXPKIT_REMOTE_ADDR]:$EXPKIT_REMOTE_SSH_PORT"; fi
echo "$host_id $(cut -d' ' -f1,2 "$STATE/sshd/ssh_host_ed25519_key.pub")" >"$EXPKIT_REMOTE_KNOWN_HOSTS"
cat >"$EXPKIT_REMOTE_SSH_CONFIG" <<CFG
Host expkit-remote
    HostName $EXPKIT_REMOTE_ADDR
    Port $EXPKIT_REMOTE_SSH_PORT
    User $EXPKIT_REMOTE_USER
    IdentityFile $EXPKIT_REMOTE_KEY
    IdentitiesOnly yes
    UserKnownHostsFile $EXPKIT_REMOTE_KNOWN_HOSTS
    StrictHostKeyChecking yes
CFG

# ---------------------------------------------------------------- namespace and veth
if [[ ! -e /var/run/netns/$NS ]]; then
    log "creating network namespace $NS"
    ip netns add "$NS"
fi
if ! ip link show "$HOST_IF" >/dev/null 2>&1; then
    ip link add "$HOST_IF" type veth peer name "$NS_IF"
    ip link set "$NS_IF" netns "$NS"
fi
ip addr replace "$EXPKIT_REMOTE_HOST_IP/30" dev "$HOST_IF"
ip link set "$HOST_IF" up
"${NSENTER[@]}" ip addr replace "$EXPKIT_REMOTE_ADDR/30" dev "$NS_IF"
"${NSENTER[@]}" ip link set "$NS_IF" up
"${NSENTER[@]}" ip link set lo up
# Loopback-range addresses on a real link are dropped as martians without it.
sysctl -qw "net.ipv4.conf.$HOST_IF.route_localnet=1"
"${NSENTER[@]}" sysctl -qw "net.ipv4.conf.$NS_IF.route_localnet=1"

# ---------------------------------------------------------------- tinyproxy
if alive "$STATE/tinyproxy/tinyproxy.pid"; then
    log "tinyproxy already up on $EXPKIT_REMOTE_HOST_IP:$EXPKIT_REMOTE_PROXY_PORT"
else
    chown nobody "$STATE/tinyproxy"
    cat >"$STATE/tinyproxy/tinyproxy.conf" <<CFG
User nobody
Group nogroup
Port $EXPKIT_REMOTE_PROXY_PORT
Listen $EXPKIT_REMOTE_HOST_IP
Timeout 600
MaxClients 64
Allow 127.0.0.0/8
PidFile "$STATE/tinyproxy/tinyproxy.pid"
LogFile "$STATE/tinyproxy/tinyproxy.log"
LogLevel Warning
CFG
    tinyproxy -c "$STATE/tinyproxy/tinyproxy.conf"
    for _ in $(seq 50); do alive "$STATE/tinyproxy/tinyproxy.pid" && break; sleep 0.1; done
    alive "$STATE/tinyproxy/tinyproxy.pid" || die "tinyproxy did not start; see $STATE/tinyproxy/tinyproxy.log"
    log "tinyproxy up on $EXPKIT_REMOTE_HOST_IP:$EXPKIT_REMOTE_PROXY_PORT"
fi

# ---------------------------------------------------------------- the namespace's dockerd
engine_up() { docker_ns version --format '{{.Server.Version}}' >/dev/null 2>&1; }
if engine_up; then
    log "namespace engine already up ($EXPKIT_REMOTE_DOCKER_SOCK)"
else
    mkdir -p "$DOCKER_DATA" "$DOCKER_STATE/exec"
    if alive "$DOCKER_STATE/docker.pid"; then kill "$(cat "$DOCKER_STATE/docker.pid")"; sleep 1; fi
    rm -f "$DOCKER_STATE/docker.pid" "$EXPKIT_REMOTE_DOCKER_SOCK"
    start_engine() { # $1: storage driver
        # nsenter --net only: `ip netns exec` remounts /sys and hides the cgroups.
        # Its own bridge, inside the namespace: the local engine's docker0 is untouched.
        setsid nohup "${NSENTER[@]}" dockerd --storage-driver "$1" \
            --data-root "$DOCKER_DATA" --exec-root "$DOCKER_STATE/exec" \
            -H "unix://$EXPKIT_REMOTE_DOCKER_SOCK" --pidfile "$DOCKER_STATE/docker.pid" \
            --group expkit-docker --iptables=false --ip6tables=false \
            >>"$DOCKER_STATE/dockerd.log" 2>&1 </dev/null &
        local i
        for ((i = 0; i < 150; i++)); do engine_up && return 0; sleep 0.2; done
        return 1
    }
    log "starting the namespace's dockerd (log $DOCKER_STATE/dockerd.log)"
    if ! start_engine overlay2; then
        alive "$DOCKER_STATE/docker.pid" && kill "$(cat "$DOCKER_STATE/docker.pid")" && sleep 1
        start_engine vfs || { tail -n 20 "$DOCKER_STATE/dockerd.log" >&2; die "the namespace's dockerd did not start"; }
    fi
fi
if ! docker_ns image inspect "$EXPKIT_BASE_IMAGE" >/dev/null 2>&1; then
    docker image inspect "$EXPKIT_BASE_IMAGE" >/dev/null 2>&1 ||
        "$HERE/../docker/build-base-image.sh"
    log "copying $EXPKIT_BASE_IMAGE into the namespace's engine"
    docker save "$EXPKIT_BASE_IMAGE" | docker_ns load -q >/dev/null
fi

# ---------------------------------------------------------------- sshd
cat >"$STATE/sshd/sshd_config" <<CFG
ListenAddress $EXPKIT_REMOTE_ADDR:$EXPKIT_REMOTE_SSH_PORT
HostKey $STATE/sshd/ssh_host_ed25519_key
PidFile $STATE/sshd/sshd.pid
AuthorizedKeysFile $STATE/sshd/authorized_keys
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
PermitRootLogin no
AllowUsers $EXPKIT_REMOTE_USER $PW_USER
StrictModes no
UsePAM no
MaxSessions 64
MaxStartups 64:30:128
# Sessions here use the namespace's engine, never this machine's.
SetEnv DOCKER_HOST=unix://$EXPKIT_REMOTE_DOCKER_SOCK
Subsystem sftp internal-sftp
Match User $PW_USER
    PasswordAuthentication yes
CFG
if alive "$STATE/sshd/sshd.pid" && cmp -s "$STATE/sshd/sshd_config" "$STATE/sshd/sshd_config.running"; then
    log "sshd already up on $EXPKIT_REMOTE_ADDR:$EXPKIT_REMOTE_SSH_PORT"
else
    alive "$STATE/sshd/sshd.pid" && kill "$(cat "$STATE/sshd/sshd.pid")" && sleep 0.3
    mkdir -p /run/sshd
    /usr/sbin/sshd -t -f "$STATE/sshd/sshd_config" || die "sshd refuses its config"
    "${NSENTER[@]}" /usr/sbin/sshd -f "$STATE/sshd/sshd_config" -E "$STATE/sshd/sshd.log"
    cp "$STATE/sshd/sshd_config" "$STATE/sshd/sshd_config.running"
    for _ in $(seq 50); do alive "$STATE/sshd/sshd.pid" && break; sleep 0.1; done
    log "sshd up on $EXPKIT_REMOTE_ADDR:$EXPKIT_REMOTE_SSH_PORT"
fi

# ---------------------------------------------------------------- check end to end
ssh -F "$EXPKIT_REMOTE_SSH_CONFIG" -o BatchMode=yes -o ConnectTimeout=5 expkit-remote \
    'docker version --format "{{.Server.Version}}"' >/dev/null ||
    die "ssh expkit-remote docker version failed (sshd log: $STATE/sshd/sshd.log)"
log "ready: ssh -F $EXPKIT_REMOTE_SSH_CONFIG expkit-remote (engine $(docker_ns version --format '{{.Server.Version}}'))"
