# The remote test host's facts, in one place: source it (bash) or read it (KEY=VALUE lines).
#
#   . scripts/remote/env.sh      # then ssh -F "$EXPKIT_REMOTE_SSH_CONFIG" expkit-remote ...
#
# Shared by scripts/remote/up.sh and down.sh, the tests' fixtures (tests/remote/) and
# other targets' test hosts (e.g. a Spark master started inside the same namespace with
# `nsenter --net=/var/run/netns/$EXPKIT_REMOTE_NETNS ...`). Every value may be overridden
# from the environment before sourcing.
: "${EXPKIT_REMOTE_NETNS:=expkit-remote}"
# The veth pair: host end and namespace end of a /30 in the loopback range.
: "${EXPKIT_REMOTE_HOST_IP:=127.200.0.1}"
: "${EXPKIT_REMOTE_ADDR:=127.200.0.2}"
: "${EXPKIT_REMOTE_SSH_PORT:=22}"
# The account tests log in as (a normal user in the namespace engine's group, not root).
: "${EXPKIT_REMOTE_USER:=expkit-remote}"
# State: keys, sshd config, the namespace engine's data. Under /tmp on purpose: sshd
# runs with StrictModes no, and a reboot starts from nothing.
: "${EXPKIT_REMOTE_STATE:=/tmp/expkit-remote}"
# The client key and a known_hosts line for the host, for tests to copy into a test HOME.
: "${EXPKIT_REMOTE_KEY:=$EXPKIT_REMOTE_STATE/client/id_ed25519}"
: "${EXPKIT_REMOTE_KNOWN_HOSTS:=$EXPKIT_REMOTE_STATE/client/known_hosts}"
: "${EXPKIT_REMOTE_SSH_CONFIG:=$EXPKIT_REMOTE_STATE/client/ssh_config}"
# The namespace's own Docker engine (reached from outside only through sshd).
: "${EXPKIT_REMOTE_DOCKER_SOCK:=$EXPKIT_REMOTE_STATE/docker/docker.sock}"
# tinyproxy on the host end of the veth: the namespace's only way to the package registries.
: "${EXPKIT_REMOTE_PROXY_PORT:=8888}"
: "${EXPKIT_REMOTE_PROXY:=http://$EXPKIT_REMOTE_HOST_IP:$EXPKIT_REMOTE_PROXY_PORT}"
: "${EXPKIT_BASE_IMAGE:=expkit-base:bookworm}"
export EXPKIT_REMOTE_NETNS EXPKIT_REMOTE_HOST_IP EXPKIT_REMOTE_ADDR EXPKIT_REMOTE_SSH_PORT \
    EXPKIT_REMOTE_USER EXPKIT_REMOTE_STATE EXPKIT_REMOTE_KEY EXPKIT_REMOTE_KNOWN_HOSTS \
    EXPKIT_REMOTE_SSH_CONFIG EXPKIT_REMOTE_DOCKER_SOCK EXPKIT_REMOTE_PROXY_PORT \
    EXPKIT_REMOTE_PROXY EXPKIT_BASE_IMAGE
