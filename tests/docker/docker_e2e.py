"""Helpers of the docker end-to-end tests."""

from __future__ import annotations

import json
import subprocess
import uuid
from pathlib import Path

from docker_helpers import BASE_IMAGE

DOCKER_RUNCONFIG = """
ArgumentVector:
  - "$file"
Target: "docker"
EnvironmentVariables:
  "EXAMPLE_ENV_VAR": "Example Value"
Framework: "Python"
CondaDependenciesFile: "aml_config/conda_dependencies.yml"
PrepareEnvironment: true
TrackedRun: true
"""


def docker_compute(**extra: object) -> str:
    lines = ['type: "localdocker"', f'baseDockerImage: "{BASE_IMAGE}"']
    lines += [f"{key}: {json.dumps(value)}" for key, value in extra.items()]
    return "\n".join(lines) + "\n"


def unique(prefix: str = "pkg") -> str:
    """A package name no earlier session used: forces a cold build of its layer."""
    return f"{prefix}_{uuid.uuid4().hex[:10]}"


def conda_file(
    pip: list[str] = (), conda: list[str] = (), channels: list[str] = (), python: str = "3.11"
) -> str:
    out = ["name: test"]
    if channels:
        out.append("channels:")
        out += [f"  - {c}" for c in channels]
    out.append("dependencies:")
    out.append(f"  - python={python}")
    out += [f"  - {c}" for c in conda]
    out.append("  - pip:")
    out += [f"    - {p}" for p in pip] if pip else []
    if not pip:
        out[-1] = "  - pip: []"
    return "\n".join(out) + "\n"


def record(project, ref: str = "1") -> dict:
    result = project.exp("runs", "show", ref, "--json")
    assert result.returncode == 0, result.output
    return json.loads(result.stdout)


def prepare_json(project, *args: str) -> dict:
    result = project.exp("prepare", "-c", "docker", "--json", *args)
    assert result.returncode == 0, result.output
    return json.loads(result.stdout)


def engine_events(since: float, until: float) -> list[dict]:
    """The engine's container and image events between two times (``docker events``)."""
    out = subprocess.run(
        ["docker", "events", "--since", f"{since:.3f}", "--until", f"{until:.3f}",
         "--format", "{{json .}}"],
        capture_output=True, text=True, check=True, timeout=60,
    ).stdout  # fmt: skip
    return [json.loads(line) for line in out.splitlines() if line.strip()]


def containers_with_label(label: str) -> list[str]:
    out = subprocess.run(
        ["docker", "ps", "-aq", "--filter", f"label={label}"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return out.split()


def kill_exp_mid_run(project, script: str, text: str) -> Path:
    """`exp run -c docker SCRIPT` (``text``, which prints "started" first) SIGKILLed once
    started; returns the run's folder (its container outlives exp)."""
    project.write(script, text)
    proc = project.popen("run", "-c", "docker", script)
    try:
        line = proc.stdout.readline()
        assert line.strip() == "started", line + proc.stderr.read()
    finally:
        proc.kill()  # SIGKILL: no handler, no atexit hook runs
        proc.communicate(timeout=30)
    (run_dir,) = (project.root / ".exp" / "runs").iterdir()
    return run_dir
