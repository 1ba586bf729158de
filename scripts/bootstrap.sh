#!/usr/bin/env bash
# Create .venv and install expkit into it.
#   scripts/bootstrap.sh example   core + the local target (what the example needs)
#   scripts/bootstrap.sh dev       every member, editable, plus the test tooling
# Idempotent and fast on a rerun: uv keeps its wheel cache in ~/.cache/uv.
set -euo pipefail
cd "$(dirname "$0")/.."
mode=${1:-dev}

PY=${PYTHON:-python3}
command -v "$PY" >/dev/null 2>&1 || {
  echo "bootstrap: $PY not found: install Python 3.10+ with venv (Debian: apt-get install python3 python3-venv)" >&2
  exit 1
}

UV=$(command -v uv || true)
if [ -z "$UV" ] && [ -x .venv/bin/uv ]; then
  UV=.venv/bin/uv
fi
if [ -z "$UV" ]; then
  # Distributions that mark their Python "externally managed" (PEP 668) refuse
  # a system-wide pip install, so uv goes into the project's own venv.
  if [ ! -x .venv/bin/python ]; then
    "$PY" -m venv .venv || {
      echo "bootstrap: could not create .venv: install the venv module (Debian: apt-get install python3-venv)" >&2
      exit 1
    }
  fi
  echo "bootstrap: installing uv (fast Python installer) into .venv"
  .venv/bin/python -m pip install --quiet --disable-pip-version-check uv
  UV=.venv/bin/uv
fi

if [ ! -x .venv/bin/python ]; then
  interp=$("$PY" -c 'import sys; print(sys.executable)')
  "$UV" venv --quiet --python "$interp" .venv
fi

install=("$UV" pip install --quiet --compile-bytecode --python .venv/bin/python)
case "$mode" in
  example)
    "${install[@]}" -e ./core -e ./plugins/local
    ;;
  dev)
    "${install[@]}" -e ./core -e ./plugins/local -e ./plugins/docker \
      -e ./plugins/remotedocker -e ./plugins/hdinsight --group dev
    ;;
  *)
    echo "usage: $0 example|dev" >&2
    exit 2
    ;;
esac
echo "bootstrap: .venv ready ($mode)"
