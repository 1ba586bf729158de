"""Python environments on the head node, built once per environment id and shipped packed.

Layout (relative to the SSH user's home)::

    .expkit/envs/<env id>/venv/          the environment: the driver's PYSPARK_PYTHON
    .expkit/envs/<env id>/env.tar.gz     the same, packed: --archives for the executors
    .expkit/envs/<env id>/ready.json     written last: layers, python, packages

The id is expkit.environment's layered id of ``conda_dependencies.yml`` on
the head node's interpreter (its real path and full version), so a new
Python on the head node makes new environments. A warm prepare is one
remote ``cat`` of ``ready.json``: nothing is built, packed or uploaded.

Why a venv packed with ``tar`` (not conda-pack/venv-pack): it needs nothing
on the head node but Python's own ``venv`` module, and what it ships is what
venv-pack ships. Like venv-pack's archives it holds the packages, not the
interpreter: every node must have the same Python at the same path, which
holds on HDInsight/EMR/Dataproc images (all nodes share one image). Builds
run under ``flock`` so two runs never build the same environment at once,
and a half-built environment (no ``ready.json``) is rebuilt from scratch.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from expkit.errors import ConfigError, InfrastructureError
from expkit.model import EnvironmentId, EnvironmentInfo, EnvironmentSpec

ROOT = ".expkit"
ENVS = f"{ROOT}/envs"

#: Prints the interpreter's identity (real path, full version) and the user's home.
_PROBE = (
    "import os, sys, json; print(json.dumps({'path': os.path.realpath(sys.executable), "
    "'version': sys.version.split()[0], 'home': os.path.expanduser('~')}))"
)

#: $1 env dir, $2 python, $3 requirements file (may be empty). Runs under flock.
BUILD = r"""
set -eu
D=$1; PY=$2; REQ=$3
step() { printf '##[expkit-step] %s\n' "$*"; }
[ -f "$D/ready.json" ] && exit 0
rm -rf "$D/venv" "$D/env.tar.gz"
step "create the environment: $PY -m venv"
"$PY" -m venv "$D/venv"
if [ -s "$REQ" ]; then
  step "install the pip requirements"
  "$D/venv/bin/python" -m pip install --disable-pip-version-check --no-input -r "$REQ"
fi
step "pack the environment for the executors (tar)"
tar -C "$D/venv" -czf "$D/env.tar.gz.part" .
mv "$D/env.tar.gz.part" "$D/env.tar.gz"
"$D/venv/bin/python" -m pip freeze --disable-pip-version-check > "$D/packages.txt"
"""


@dataclass(frozen=True)
class HeadPython:
    path: str
    version: str


def probe_python(conn, python: str, source) -> HeadPython:
    result = conn.run([python, "-c", _PROBE])
    if not result.ok:
        raise ConfigError(
            f"the head node has no working {python!r}: {result.error_text() or result.text()}",
            file=source,
            key="pythonLocation",
            hint="set pythonLocation in the .compute file to the head node's Python 3 "
            "(e.g. /usr/bin/anaconda/bin/python on HDInsight).",
        )
    data = json.loads(result.text())
    _homes.setdefault(conn.label, data["home"])
    return HeadPython(path=data["path"], version=data["version"])


def check_spec(spec: EnvironmentSpec | None, head: HeadPython, python: str, compute_source):
    if spec is None:
        return
    if spec.conda:
        raise ConfigError(
            "conda packages cannot be installed on a cluster's head node by this version "
            f"(got: {', '.join(spec.conda)})",
            file=spec.source,
            key="dependencies",
            hint="list them under pip: (the environment is a venv of the head node's Python), "
            "or install them on every node and set userManagedEnvironment: true.",
        )
    if spec.python and not (head.version + ".").startswith(spec.python.rstrip(".*") + "."):
        raise ConfigError(
            f"the environment asks for python={spec.python}, but the head node's {python} is "
            f"Python {head.version}",
            file=spec.source,
            key="dependencies",
            hint=f"pin python={'.'.join(head.version.split('.')[:2])}, or set pythonLocation "
            f"in {compute_source or 'the .compute file'} to a Python {spec.python}.",
        )


_homes: dict[str, str] = {}


def home(conn) -> str:
    """The SSH user's home on the head node (absolute paths for PYSPARK_PYTHON); asked
    once per process and head node."""
    found = _homes.get(conn.label)
    if found is None:
        result = conn.run(["sh", "-c", 'printf %s "$HOME"'], check=True, what="finding $HOME")
        found = _homes[conn.label] = result.text()
    return found


def read_ready(conn, env_id: str) -> dict[str, Any] | None:
    data = conn.read_file(f"{ENVS}/{env_id}/ready.json")
    if data is None:
        return None
    try:
        return json.loads(data)
    except ValueError:
        return None


def build(
    conn,
    env_id: str,
    ids: EnvironmentId,
    spec: EnvironmentSpec | None,
    head: HeadPython,
    project: Path,
    progress,
) -> dict[str, Any]:
    """Build (or rebuild) environment ``env_id`` on the head node; return its ready.json."""
    from expkit.environment import local_file_paths
    from expkit.streams import LineSplitter

    folder = f"{ENVS}/{env_id}"
    conn.run(["mkdir", "-p", f"{folder}/files"], check=True, what="creating the environment folder")
    conn.run(["rm", "-f", f"{folder}/ready.json"], check=True)
    requirements = []
    local = {
        (key if Path(key).is_absolute() else f"./{key}"): path
        for key, path in local_file_paths(spec, project).items()
    }
    for i, entry in enumerate(spec.pip if spec else ()):
        path = local.get(entry)
        if path is None:
            requirements.append(entry)
            continue
        # One folder per entry: pip reads the name and version from a wheel's file name.
        conn.run(["mkdir", "-p", f"{folder}/files/{i}"], check=True)
        remote = f"{folder}/files/{i}/{path.name}"
        conn.write_file(remote, path.read_bytes(), mode=0o644)
        # pip resolves a relative path against its working directory: the home here.
        requirements.append(f"./{remote}")
    conn.write_file(f"{folder}/requirements.txt", ("\n".join(requirements) + "\n").encode())
    tail: list[str] = []

    def line(text: str) -> None:
        text = text.rstrip("\r\n")
        tail.append(text)
        del tail[:-20]
        if progress is None:
            return
        if text.startswith("##[expkit-step] "):
            progress.step(text[len("##[expkit-step] ") :])
        else:
            progress.line(text)

    splitter = LineSplitter(line)
    argv = ["flock", f"{folder}.lock", "sh", "-c", BUILD, "sh", folder, head.path,
            f"{folder}/requirements.txt"]  # fmt: skip
    code = conn.stream(argv, splitter.feed)
    splitter.close()
    if code != 0:
        shown = "\n".join(f"  | {t}" for t in tail if t.strip())
        raise InfrastructureError(
            f"building environment {env_id} on the head node failed (exit {code}):\n{shown}"
        )
    packages = (conn.read_file(f"{folder}/packages.txt") or b"").decode().split("\n")
    home_dir = home(conn)
    ready = {
        "env_id": env_id,
        "layers": {"base": ids.base, "system": ids.system, "pip": ids.pip},
        "python": f"{home_dir}/{folder}/venv/bin/python",
        "archive": f"{home_dir}/{folder}/env.tar.gz",
        "head_python": head.path,
        "packages": [p for p in packages if p.strip()],
    }
    conn.write_file(f"{folder}/ready.json", json.dumps(ready, indent=1).encode(), mode=0o644)
    return ready


def listing(conn) -> list[EnvironmentInfo]:
    script = (
        f'for f in {ENVS}/*/ready.json; do [ -f "$f" ] && cat "$f" && printf \'\\0\'; done; true'
    )
    result = conn.run(["sh", "-c", script], check=True, what="listing environments")
    infos = []
    for text in result.text().split("\0"):
        try:
            ready = json.loads(text)
        except ValueError:
            continue
        layers = ready.get("layers") or {}
        infos.append(
            EnvironmentInfo(
                env_id=ready["env_id"],
                location=ready.get("python", ""),
                layers=EnvironmentId(
                    layers.get("base", ""),
                    layers.get("system", ""),
                    layers.get("pip", ready["env_id"]),
                ),  # fmt: skip
                details={"archive": ready.get("archive"), "packages": ready.get("packages")},
            )
        )
    return infos


def remove(conn, env_id: str) -> bool:
    if not env_id or "/" in env_id or env_id.startswith("."):
        return False
    folder = f"{ENVS}/{env_id}"
    if not conn.exists(folder):
        return False
    conn.run(["flock", f"{folder}.lock", "rm", "-rf", folder], check=True, what="removing")
    conn.run(["rm", "-f", f"{folder}.lock"])
    return True
