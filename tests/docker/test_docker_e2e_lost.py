"""A docker run whose `exp` was killed (SIGKILL): its container is stopped, and only its own."""

from __future__ import annotations

import subprocess

import pytest
from docker_e2e import containers_with_label, kill_exp_mid_run, record, unique
from docker_helpers import BASE_IMAGE

pytestmark = pytest.mark.docker

SLEEPER = """
print("started", flush=True)
import time
time.sleep(300)
"""


def _kill_exp_mid_run(project) -> str:
    """Start a sleeping run, SIGKILL its `exp`; return the run id (its container still runs)."""
    run_id = kill_exp_mid_run(project, "sleep.py", SLEEPER).name
    running = subprocess.run(
        ["docker", "ps", "-q", "--filter", f"label=expkit.run={run_id}"],
        capture_output=True, text=True, check=True,
    ).stdout.split()  # fmt: skip
    assert running, "the run's container should outlive a SIGKILLed exp"
    return run_id


@pytest.fixture
def decoy():
    """A container labelled as another run's: stop_orphan must leave it alone."""
    run_id = unique("decoy")
    subprocess.run(
        ["docker", "create", "--label", f"expkit.run={run_id}", BASE_IMAGE, "true"],
        capture_output=True, check=True,
    )  # fmt: skip
    yield run_id
    subprocess.run(
        ["docker", "rm", "-f", *containers_with_label(f"expkit.run={run_id}")],
        capture_output=True,
    )


def test_stop_orphan_hook_removes_exactly_the_lost_runs_containers(docker_project, decoy):
    from expkit.model import ComputeTarget
    from expkit.plugins import get_registry

    run_id = _kill_exp_mid_run(docker_project)
    hook = get_registry().hook.expkit_stop_orphan
    compute = ComputeTarget(name="docker", type="localdocker")
    run_dir = docker_project.root / ".exp" / "runs" / run_id
    assert hook(compute=compute, run_id=run_id, run_dir=run_dir) is True
    assert containers_with_label(f"expkit.run={run_id}") == []
    assert len(containers_with_label(f"expkit.run={decoy}")) == 1
    # Nothing left: said so, and still nothing else touched.
    assert hook(compute=compute, run_id=run_id, run_dir=run_dir) is False
    assert len(containers_with_label(f"expkit.run={decoy}")) == 1


def test_runs_list_after_a_killed_exp_stops_the_container(docker_project):
    run_id = _kill_exp_mid_run(docker_project)
    listed = docker_project.exp("runs", "list")
    assert listed.returncode == 0, listed.output
    assert containers_with_label(f"expkit.run={run_id}") == []
    assert "stopped what it left running" in listed.stderr
    rec = record(docker_project)
    assert rec["status"] == "failed" and rec["error"] == "lost"
