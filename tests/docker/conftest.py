"""Fixtures for the docker target's end-to-end tests: a real dockerd, the real `exp` CLI.

The engine and the offline base image come from scripts/docker/ (``make
engines``). Without them these tests skip, or fail when engines are required
(CI, ``EXPKIT_REQUIRE_ENGINES=1``). At the end of the session no container a
run or a build started may be left, and the environment images the session
built are removed again (images built before it are left alone).
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "plugins" / "docker" / "tests"))

import docker_helpers  # noqa: E402
from docker_e2e import DOCKER_RUNCONFIG, docker_compute  # noqa: E402


@pytest.fixture(scope="session")
def docker_ready(tmp_path_factory):
    """The engine and base image are there; afterwards nothing is left behind."""
    docker_helpers.require_engine()
    started = time.time()
    yield
    leftovers = docker_helpers.run_containers(under=tmp_path_factory.getbasetemp())
    if leftovers:
        subprocess.run(["docker", "rm", "-f", *leftovers], capture_output=True)
    _remove_images_since(started)
    assert leftovers == [], f"containers left behind by runs or builds: {leftovers}"


def _remove_images_since(started: float) -> None:
    listing = subprocess.run(
        ["docker", "images", "--filter", "label=org.expkit.env",
         "--format", "{{.ID}} {{.Repository}}:{{.Tag}}"],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    for line in listing.stdout.splitlines():
        image, ref = line.split()
        created = subprocess.run(
            ["docker", "image", "inspect", "--format", "{{.Created}}", image],
            capture_output=True,
            text=True,
        ).stdout.strip()
        from datetime import datetime

        try:
            when = datetime.fromisoformat(created[:26].rstrip("Z") + "+00:00").timestamp()
        except ValueError:
            continue
        if when >= started - 1:
            subprocess.run(["docker", "rmi", ref], capture_output=True)


@pytest.fixture
def docker_project(project, docker_ready):
    """``project`` with a Workbench-shaped docker target (``type: localdocker``), base image."""
    project.write("aml_config/docker.compute", docker_compute())
    project.write("aml_config/docker.runconfig", DOCKER_RUNCONFIG)
    project.write(
        "aml_config/conda_dependencies.yml",
        """
        name: project_environment
        dependencies:
          - python=3.11
          - pip: []
    """,
    )
    return project
