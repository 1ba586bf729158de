#!/usr/bin/env bash
# Create .venv and install expkit into it.
#   scripts/bootstrap.sh example   core + every first-party target plugin (what a user needs)
#   scripts/bootstrap.sh dev       the same, plus the test tooling
# Idempotent and fast on a rerun: uv keeps its wheel cache in ~/.cache/uv.
set -euo pipefail
cd "$(dirname "$0")/.."
mode=${1:-dev}
# The venv to create or update (EXPKIT_VENV: another folder, e.g. for a test).
VENV=${EXPKIT_VENV:-.venv}

PY=${PYTHON:-python3}
command -v "$PY" >/dev/null 2>&1 || {
  echo "bootstrap: $PY not found: install Python 3.10+ with venv (Debian: apt-get install python3 python3-venv)" >&2
  exit 1
}

UV=$(command -v uv || true)
if [ -z "$UV" ] && [ -x "$VENV"/bin/uv ]; then
  UV="$VENV"/bin/uv
fi
if [ -z "$UV" ]; then
  # Distributions that mark their Python "externally managed" (PEP 668) refuse
  # a system-wide pip install, so uv goes into the project's own venv.
  if [ ! -x "$VENV"/bin/python ]; then
    "$PY" -m venv "$VENV" || {
      echo "bootstrap: could not create $VENV: install the venv module (Debian: apt-get install python3-venv)" >&2
      exit 1
    }
  fi
  echo "bootstrap: installing uv (fast Python installer) into $VENV"
  "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check uv
  UV="$VENV"/bin/uv
fi

if [ ! -x "$VENV"/bin/python ]; then
  interp=$("$PY" -c 'import sys; print(sys.executable)')
  "$UV" venv --quiet --python "$interp" "$VENV"
fi

install=("$UV" pip install --quiet --compile-bytecode --python "$VENV"/bin/python)
# Every first-party package, editable: `exp init` writes a docker target too, and
# the plugins are published nowhere else, so a user gets them all here.
members=(-e ./core)
for plugin in plugins/*/; do
  [ -f "$plugin/pyproject.toml" ] && members+=(-e "./${plugin%/}")
done
case "$mode" in
  example)
    "${install[@]}" "${members[@]}"
    ;;
  dev)
    "${install[@]}" "${members[@]}" --group dev
    ;;
  *)
    echo "usage: $0 example|dev" >&2
    exit 2
    ;;
esac
echo "bootstrap: $VENV ready ($mode); to put exp on your PATH: source $VENV/bin/activate"
