#!/usr/bin/env bash
# The test Spark cluster: a standalone master + worker inside the remote test host
# (scripts/remote/up.sh must have run), listening on the namespace's address, so the
# cluster target's tests reach it as a real cluster: over SSH to its head node.
#
#   scripts/spark/up.sh      # idempotent; prints spark://ADDR:7077
#   scripts/spark/down.sh
#
# Java 17+ comes from Debian's packages when missing; Spark is the pyspark package of
# the project's .venv (scripts/bootstrap.sh dev). The namespace shares this machine's
# file system, so the head node's spark-submit is that package's bin/spark-submit.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=../remote/env.sh
. "$HERE/../remote/env.sh"
if ! command -v java >/dev/null 2>&1; then
    echo "spark: installing openjdk-17-jre-headless"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends openjdk-17-jre-headless >/dev/null
fi
[[ -e /var/run/netns/$EXPKIT_REMOTE_NETNS ]] || {
    echo "spark: the remote test host is not up: run scripts/remote/up.sh first" >&2
    exit 1
}
exec "$HERE/standalone.sh" start --netns "$EXPKIT_REMOTE_NETNS" --host "$EXPKIT_REMOTE_ADDR" "$@"
