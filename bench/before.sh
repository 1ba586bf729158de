#!/usr/bin/env bash
# Install another revision of expkit beside this checkout, for the `*-before` bench cases:
#   bench/before.sh REV            e.g. bench/before.sh 9b3a82a
#   EXPKIT_BENCH_BEFORE=$(bench/before.sh REV) .venv/bin/python bench/run.py 'local-*-before'
# Prints the path of that revision's `exp`. The checkout and its venv live under
# ~/.cache/expkit-bench/REV (kept: a rerun is instant); the same interpreter as this
# checkout's .venv, so the two differ only in expkit's own code.
set -euo pipefail
cd "$(dirname "$0")/.."
rev=${1:?usage: bench/before.sh REV}
sha=$(git rev-parse --verify --quiet "$rev^{commit}") || { echo "before.sh: no such revision: $rev" >&2; exit 2; }
dest=${XDG_CACHE_HOME:-$HOME/.cache}/expkit-bench/${sha:0:12}
if [ ! -x "$dest/.venv/bin/exp" ]; then
  rm -rf "$dest"
  mkdir -p "$dest"
  git archive "$sha" | tar -x -C "$dest"
  interp=$(.venv/bin/python -c 'import sys; print(sys.executable)')
  (cd "$dest" && PYTHON="$interp" scripts/bootstrap.sh dev >&2)
fi
echo "$dest/.venv/bin/exp"
