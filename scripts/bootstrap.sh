#!/usr/bin/env bash
# Create .venv and install expkit into it.
#   scripts/bootstrap.sh example   core + the local target (what the example needs)
#   scripts/bootstrap.sh dev       every member, editable, plus the test tooling
# Idempotent and fast on a rerun: uv keeps its wheel cache in ~/.cache/uv.
set -euo pipefail
cd "$(dirname "$0")/.."
mode=${1:-dev}

PY=${PYTHON:-python3}
if ! command -v uv >/dev/null 2>&1; then
  echo "bootstrap: installing uv (fast Python installer) with pip"
  "$PY" -m pip install --quiet --disable-pip-version-check uv
fi
UV=$(command -v uv || echo "$("$PY" -c 'import sysconfig;print(sysconfig.get_path("scripts"))')/uv")

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
