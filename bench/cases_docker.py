"""Docker-target cases (issue 4): reruns, warm prepares and cold builds against plain docker.

They need the engine and the offline base image (``make engines``); without
them each case is skipped. Images the cold-build case makes are removed at
its end.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import subprocess
import zipfile
from pathlib import Path

from benchlib import Case, Command, Skip, Target, Workspace, clean_env, exp_executable

BASE_IMAGE = os.environ.get("EXPKIT_TEST_BASE_IMAGE", "expkit-base:bookworm")
WHEEL = "benchpkg-1.0-py3-none-any.whl"


def _check_engine() -> None:
    try:
        info = subprocess.run(
            ["docker", "image", "inspect", BASE_IMAGE], capture_output=True, timeout=30
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise Skip(f"docker is not usable: {exc}") from None
    if info.returncode != 0:
        raise Skip(f"dockerd or the base image {BASE_IMAGE} is missing (run `make engines`)")


def _wheel(folder: Path) -> Path:
    """A tiny pure-Python wheel, so builds install something without an index."""
    folder.mkdir(parents=True, exist_ok=True)
    files = {
        "benchpkg/__init__.py": "VALUE = 1\n",
        "benchpkg-1.0.dist-info/METADATA": "Metadata-Version: 2.1\nName: benchpkg\nVersion: 1.0\n",
        "benchpkg-1.0.dist-info/WHEEL": "Wheel-Version: 1.0\nRoot-Is-Purelib: true\n"
        "Tag: py3-none-any\n",
    }
    record = [
        f"{p},sha256={base64.urlsafe_b64encode(hashlib.sha256(t.encode()).digest()).rstrip(b'=').decode()},"
        f"{len(t.encode())}"
        for p, t in files.items()
    ]
    files["benchpkg-1.0.dist-info/RECORD"] = (
        "\n".join(record + ["benchpkg-1.0.dist-info/RECORD,,"]) + "\n"
    )
    with zipfile.ZipFile(folder / WHEEL, "w") as archive:
        for path, text in files.items():
            archive.writestr(zipfile.ZipInfo(path, date_time=(2020, 1, 1, 0, 0, 0)), text)
    return folder / WHEEL


def _project(root: Path) -> Workspace:
    """A project with a Workbench-shaped docker target and a one-wheel environment, prepared."""
    _check_engine()
    project = root / "project"
    aml = project / "aml_config"
    aml.mkdir(parents=True)
    (aml / "docker.compute").write_text(f'type: "localdocker"\nbaseDockerImage: "{BASE_IMAGE}"\n')
    (aml / "docker.runconfig").write_text(
        'ArgumentVector:\n  - "$file"\nTarget: "docker"\nFramework: "Python"\n'
        'CondaDependenciesFile: "aml_config/conda_dependencies.yml"\n'
        "EnvironmentVariables: {}\nPrepareEnvironment: false\nTrackedRun: true\n"
    )
    _wheel(project / "wheels")
    (aml / "conda_dependencies.yml").write_text(
        f"dependencies:\n  - python=3.11\n  - pip:\n    - ./wheels/{WHEEL}\n"
    )
    (project / "trivial.py").write_text('print("trivial")\n')
    ws = Workspace(
        root=root,
        cwd=project,
        env=clean_env(root),
        data={"exp": exp_executable(), "edits": 0, "plain": 0},
    )
    prepared = subprocess.run(
        [ws.data["exp"], "prepare", "-c", "docker", "--json"],
        cwd=project,
        env=ws.env,
        capture_output=True,
        text=True,
    )
    if prepared.returncode != 0:
        raise RuntimeError(f"exp prepare failed:\n{prepared.stdout}{prepared.stderr}")
    ws.data["image"] = json.loads(prepared.stdout)["location"]
    # The Dockerfile a person would write for the same environment.
    (project / "Dockerfile").write_text(
        f"FROM {BASE_IMAGE}\nRUN python3 -m venv /opt/expkit/env\n"
        f"COPY wheels/{WHEEL} /tmp/{WHEEL}\n"
        f"RUN /opt/expkit/env/bin/python -m pip install /tmp/{WHEEL}\n"
    )
    (project / ".dockerignore").write_text(".exp\n")
    return ws


def _edit_script(ws: Workspace) -> None:
    """A code change between runs: the environment stays the same, the snapshot does not."""
    ws.data["edits"] += 1
    (ws.cwd / "trivial.py").write_text(f'print("trivial")  # edit {ws.data["edits"]}\n')


def _next_plain_tag(ws: Workspace) -> None:
    # A tag per round: a rebuild under one tag would leave the previous image dangling.
    ws.data["plain"] = ws.data.get("plain", 0) + 1


def _remove_images(ws: Workspace) -> None:
    listed = subprocess.run(
        ["docker", "images", "-q", "expkit-bench-plain"], capture_output=True, text=True
    )
    if listed.stdout.split():
        subprocess.run(["docker", "rmi", "-f", *set(listed.stdout.split())], capture_output=True)


CASES = [
    Case(
        name="docker-rerun",
        description="`exp run -c docker` after editing the script "
        "vs `docker run --rm IMAGE python -c pass`",
        setup=_project,
        commands=[
            Command(
                "docker run --rm IMAGE python -c pass",
                lambda ws: ["docker", "run", "--rm", ws.data["image"], "python", "-c", "pass"],
            ),
            Command(
                "exp run -c docker trivial.py (edited)",
                lambda ws: [ws.data["exp"], "run", "-c", "docker", "trivial.py"],
                before=_edit_script,
            ),
        ],
        target=Target(max_overhead_s=0.4),
    ),
    Case(
        name="docker-warm-prepare",
        description="`exp prepare -c docker` with the environment already built (a tag lookup)",
        setup=_project,
        commands=[
            Command(
                "exp prepare -c docker (warm)",
                lambda ws: [ws.data["exp"], "prepare", "-c", "docker"],
            ),
        ],
        target=Target(max_seconds=0.3),
    ),
    Case(
        name="docker-cold-prepare",
        description="cold `exp prepare --rebuild` (both layers) vs `docker build --no-cache` "
        "of the same Dockerfile",
        setup=_project,
        commands=[
            Command(
                "docker build --no-cache (equivalent Dockerfile)",
                lambda ws: [
                    "docker",
                    "build",
                    "-q",
                    "--no-cache",
                    "-t",
                    f"expkit-bench-plain:{ws.data['plain']}",
                    ".",
                ],
                before=_next_plain_tag,
            ),
            Command(
                "exp prepare -c docker --force",
                lambda ws: [ws.data["exp"], "prepare", "-c", "docker", "--rebuild"],
            ),
        ],
        target=Target(max_ratio=1.15),
        teardown=_remove_images,
    ),
]
