#!/usr/bin/env bash
# Stop the test Spark cluster that scripts/spark/up.sh started (master, worker, executors).
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=../remote/env.sh
. "$HERE/../remote/env.sh"
exec "$HERE/standalone.sh" stop --netns "$EXPKIT_REMOTE_NETNS" "$@"
