"""Fixtures for the docker target's end-to-end tests: a real dockerd, the real `exp` CLI.

The engine and the offline base image come from scripts/docker/ (``make
engines``). Without them these tests skip, or fail when engines are required
(CI, ``EXPKIT_REQUIRE_ENGINES=1``). At the end of the session no container a
run or a build started may be left, and the environment images the session
built are removed again; images that were there before, and images another
user of the same engine builds meanwhile, are left alone.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "plugins" / "docker" / "tests"))

import docker_helpers  # noqa: E402
from docker_e2e import DOCKER_RUNCONFIG, docker_compute  # noqa: E402
from expkit_docker import names  # noqa: E402


@pytest.fixture(scope="session")
def docker_ready(tmp_path_factory):
    """The engine and base image are there; afterwards nothing is left behind."""
    docker_helpers.require_engine()
    before = set(_env_images())
    yield
    basetemp = tmp_path_factory.getbasetemp()
    leftovers = docker_helpers.run_containers(under=basetemp)
    if leftovers:
        subprocess.run(["docker", "rm", "-f", *leftovers], capture_output=True)
    _remove_session_images(basetemp, before)
    assert leftovers == [], f"containers left behind by runs or builds: {leftovers}"


def _env_images() -> dict[str, str]:
    """``repository:tag`` -> image id of every environment image on the engine."""
    listing = subprocess.run(
        ["docker", "images", "--no-trunc", "--filter", f"label={names.LABEL}",
         "--format", "{{.Repository}}:{{.Tag}} {{.ID}}"],
        capture_output=True, text=True, check=True, timeout=60,
    )  # fmt: skip
    pairs = (line.split() for line in listing.stdout.splitlines())
    return {ref: image for ref, image in pairs if not ref.endswith(":<none>")}


def _session_state(basetemp: Path) -> tuple[set[str], set[str]]:
    """(tags this session's builds made, environment tags its prepares used).

    Read from the expkit caches of this session's commands, which all lie
    under its base temp folder (tests point EXPKIT_CACHE_DIR there): the
    docker target writes a log of each layer build, named
    ``<tag>-<system|pip>.log``, and records each environment a prepare used
    in ``usage.json``. The engine alone cannot tell them apart from images
    another user of the same engine builds meanwhile.
    """
    built: set[str] = set()
    used: set[str] = set()
    for state in basetemp.glob("**/envs/docker"):
        for log in state.glob("logs/*.log"):
            tag, _, layer = log.name.removesuffix(".log").rpartition("-")
            if layer in ("system", "pip") and tag:
                built.add(names.env_tag(tag))
        try:
            usage = json.loads((state / "usage.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        used.update(names.env_tag(env_id) for env_id in usage if isinstance(env_id, str))
    return built, used


def _remove_session_images(basetemp: Path, before: set[str]) -> None:
    """Remove the environment images this session built, and only those.

    Ours: a tag one of this session's builds made, or an environment tag its
    prepares used that names an image it built (an environment without pip
    requirements is its system image under a second tag). Tags that existed
    when the session started are left alone, whoever made them, as is
    everything another user built meanwhile. ``docker rmi`` of a tag only
    deletes the image when no other tag or container still refers to it.
    """
    built, used = _session_state(basetemp)
    images = _env_images()
    ours = {ref for ref in images if ref in built and ref not in before}
    our_ids = {images[ref] for ref in ours}
    ours |= {ref for ref in images if ref in used and ref not in before and images[ref] in our_ids}
    # Environment tags before system tags: the system image is the parent.
    refs = sorted(ours, key=lambda ref: (ref.startswith(f"{names.REPO}:sys-"), ref))
    if refs:
        subprocess.run(["docker", "rmi", *refs], capture_output=True, timeout=300)


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
