"""Test helpers for expkit-docker, shared by its own tests and tests/docker/.

Packages are built at test time with the standard library, so no index or
channel is needed: a pure-Python wheel (expkit.testing.build_wheel), and a
noarch python conda package in a local file channel (DESIGN.md, "Conda
packages without a public channel").
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import subprocess
import tarfile
from pathlib import Path

import pytest
from expkit.testing import build_wheel  # noqa: F401 - the wheel builder tests/docker imports here
from expkit_docker.names import BUILD_LABEL, PROJECT_LABEL, RUN_LABEL

BASE_IMAGE = os.environ.get("EXPKIT_TEST_BASE_IMAGE", "expkit-base:bookworm")
REQUIRE_ENGINES = os.environ.get("EXPKIT_REQUIRE_ENGINES") == "1" or os.environ.get("CI") == "true"
SETUP_HINT = (
    "run scripts/docker/ensure-engine.sh && scripts/docker/build-base-image.sh (or `make engines`)"
)


def engine_problem() -> str | None:
    """Why docker tests cannot run here, or None when the engine and base image are ready."""
    if shutil.which("docker") is None:
        return "the docker client is not installed"
    info = subprocess.run(
        ["docker", "info", "--format", "{{.ServerVersion}}"],
        capture_output=True,
        text=True,
        timeout=30,
    )
    if info.returncode != 0:
        last = (info.stderr.strip().splitlines() or ["no answer"])[-1]
        return f"the Docker engine is not running ({last})"
    image = subprocess.run(
        ["docker", "image", "inspect", BASE_IMAGE], capture_output=True, timeout=30
    )
    if image.returncode != 0:
        return f"the base image {BASE_IMAGE} is missing"
    return None


def require_engine() -> None:
    """Skip (or, when engines are required, fail) unless docker tests can run."""
    problem = engine_problem()
    if problem is not None:
        message = f"{problem}: {SETUP_HINT}"
        if REQUIRE_ENGINES:
            pytest.fail(message, pytrace=False)
        pytest.skip(message)


def run_containers(under: Path | None = None) -> list[str]:
    """Ids of containers a run or build left behind (names.RUN_LABEL / names.BUILD_LABEL).

    With ``under``, a container counts only when its project (names.PROJECT_LABEL)
    is inside that folder: someone else's runs and builds on the same engine are
    not this test session's leftovers.
    """
    out: list[str] = []
    for label in (RUN_LABEL, BUILD_LABEL):
        result = subprocess.run(
            ["docker", "ps", "-a", "--filter", f"label={label}",
             "--format", f'{{{{.ID}}}}\t{{{{.Label "{PROJECT_LABEL}"}}}}'],
            capture_output=True,
            text=True,
            timeout=30,
            check=True,
        )  # fmt: skip
        for line in result.stdout.splitlines():
            cid, _, project = line.partition("\t")
            if under is not None and project and not Path(project).is_relative_to(under):
                continue
            if cid and cid not in out:
                out.append(cid)
    return out


def image_id(ref: str) -> str | None:
    result = subprocess.run(
        ["docker", "image", "inspect", "--format", "{{.Id}}", ref],
        capture_output=True,
        text=True,
        timeout=30,
    )
    return result.stdout.strip() if result.returncode == 0 else None


def tar_stream(entries) -> io.BytesIO:
    """A ``get_archive``-shaped stream of ``(name, kind, data or link text)`` entries;
    kind is ``file``, ``dir``, ``symlink`` or ``fifo``."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        for name, kind, data in entries:
            info = tarfile.TarInfo(name)
            if kind == "file":
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))
                continue
            info.type = {
                "dir": tarfile.DIRTYPE, "symlink": tarfile.SYMTYPE, "fifo": tarfile.FIFOTYPE,
            }[kind]  # fmt: skip
            info.linkname = data or ""
            tar.addfile(info)
    buf.seek(0)
    return buf


def _add(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mtime = 1577836800
    tar.addfile(info, io.BytesIO(data))


def build_conda_channel(channel: Path, name: str, version: str, module_source: str) -> Path:
    """A local conda channel holding one noarch python package ``name`` (a module of that name)."""
    (channel / "noarch").mkdir(parents=True, exist_ok=True)
    (channel / "linux-64").mkdir(parents=True, exist_ok=True)
    payload = {f"site-packages/{name}/__init__.py": module_source.encode()}
    index = {
        "name": name,
        "version": version,
        "build": "py_0",
        "build_number": 0,
        "depends": ["python"],
        "noarch": "python",
        "subdir": "noarch",
        "license": "MIT",
        "timestamp": 1577836800000,
    }
    paths = {
        "paths": [
            {
                "_path": p,
                "path_type": "hardlink",
                "sha256": hashlib.sha256(d).hexdigest(),
                "size_in_bytes": len(d),
            }
            for p, d in payload.items()
        ],
        "paths_version": 1,
    }
    with tarfile.open(channel / "noarch" / f"{name}-{version}-py_0.tar.bz2", "w:bz2") as tar:
        for path, data in payload.items():
            _add(tar, path, data)
        _add(tar, "info/index.json", json.dumps(index).encode())
        _add(tar, "info/paths.json", json.dumps(paths).encode())
        _add(tar, "info/files", ("\n".join(payload) + "\n").encode())
        _add(
            tar,
            "info/link.json",
            json.dumps({"noarch": {"type": "python"}, "package_metadata_version": 1}).encode(),
        )
    return channel
