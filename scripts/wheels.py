#!/usr/bin/env python3
"""Build (once) and print the wheels of expkit's distributions.

    python scripts/wheels.py core local docker
    # -> {"core": "/.../expkit-0.1.0-py3-none-any.whl", "local": ..., "docker": ...}

The fresh-venv tests (tests/kit) install these wheels instead of the source
tree, so they test what would be published. Each wheel is cached in
``$EXPKIT_WHEEL_CACHE`` (default ``~/.cache/expkit-dev/wheels``) under a key
made of the distribution's source hash: an unchanged package is never rebuilt,
and an edited one always is. Standard library only.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
MEMBERS = {
    "core": REPO / "core",
    "local": REPO / "plugins" / "local",
    "docker": REPO / "plugins" / "docker",
    "remotedocker": REPO / "plugins" / "remotedocker",
    "hdinsight": REPO / "plugins" / "hdinsight",
}
# What cannot change a wheel: caches, build leftovers, the package's tests.
_SKIP_DIRS = {"__pycache__", "tests", "dist", "build", ".pytest_cache", ".venv"}


def cache_root() -> Path:
    override = os.environ.get("EXPKIT_WHEEL_CACHE")
    if override:
        return Path(override)
    xdg = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(xdg) / "expkit-dev" / "wheels"


def source_hash(project: Path) -> str:
    """sha256 over every file that goes into the wheel (path and content)."""
    digest = hashlib.sha256()
    for path in sorted(_source_files(project)):
        rel = path.relative_to(project).as_posix()
        digest.update(rel.encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()[:20]


def _source_files(project: Path):
    for root, dirs, files in os.walk(project):
        dirs[:] = [d for d in dirs if d not in _SKIP_DIRS and not d.endswith(".egg-info")]
        for name in files:
            if not name.endswith((".pyc", ".pyo")):
                yield Path(root) / name


def find_uv() -> str | None:
    """uv on PATH, next to this interpreter, or where scripts/bootstrap.sh's
    `pip install uv` put it (the base interpreter's scripts folder)."""
    import sysconfig

    places = [None, str(Path(sys.executable).parent), sysconfig.get_path("scripts")]
    base = getattr(sys, "_base_executable", None)
    if base:
        places.append(str(Path(base).parent))
    for place in places:
        found = shutil.which("uv", path=place)
        if found:
            return found
    return None


def build_wheel(project: Path, out: Path) -> None:
    uv = find_uv()
    if uv:
        # --no-sources: build exactly as a user's `pip install` would, ignoring
        # the workspace's [tool.uv.sources].
        cmd = [
            uv,
            "build",
            "--wheel",
            "--no-sources",
            "--quiet",
            "--out-dir",
            str(out),
            str(project),
        ]
    else:
        cmd = [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--quiet",
            "-w",
            str(out),
            str(project),
        ]
    subprocess.run(cmd, check=True, stdin=subprocess.DEVNULL)


def wheel_for(project: Path) -> Path:
    """The cached wheel of ``project``, built first when its sources changed."""
    project = project.resolve()
    key = cache_root() / f"{project.name}-{source_hash(project)}"
    found = sorted(key.glob("*.whl"))
    if found:
        return found[0]
    key.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{project.name}-", dir=key.parent))
    try:
        build_wheel(project, staging)
        try:
            os.replace(staging, key)  # atomic: concurrent builders never see half a wheel
        except OSError:
            if not any(key.glob("*.whl")):  # lost a race to an incomplete entry: retry once
                shutil.rmtree(key, ignore_errors=True)
                os.replace(staging, key)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return sorted(key.glob("*.whl"))[0]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "names", nargs="*", help=f"members ({', '.join(MEMBERS)}) or paths; default: all"
    )
    args = parser.parse_args(argv)
    result = {}
    for name in args.names or list(MEMBERS):
        project = MEMBERS.get(name) or Path(name)
        if not (project / "pyproject.toml").is_file():
            parser.error(
                f"{name!r} is neither a member ({', '.join(MEMBERS)}) nor a project folder"
            )
        result[name] = str(wheel_for(project))
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
