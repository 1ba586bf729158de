"""Building blocks for driving a target plugin by hand, as the runner would.

Reusable from a plugin's own tests, not only through TargetContract:
:func:`make_run_context` lays out a project, a snapshot and a run folder the
way ``exp run`` does; :func:`compute_from_mapping` turns ``.compute`` contents
into a ComputeTarget; :func:`wait_for` runs ``Execution.wait`` with a timeout
so a hanging plugin fails a test instead of hanging it.
"""

from __future__ import annotations

import secrets
import shutil
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from expkit.model import ComputeTarget, EnvironmentSpec, Execution, RunConfig, RunContext
from expkit.runenv import base_environment
from expkit.runner.argv import build_argv

#: ``.compute`` keys (Workbench spelling) -> ComputeTarget field. Anything else goes to ``options``.
COMPUTE_FIELDS = {
    "type": "type",
    "address": "address",
    "username": "username",
    "port": "port",
    "keyFile": "key_file",
    "password": "password",
    "baseDockerImage": "base_docker_image",
    "sharedVolumes": "shared_volumes",
    "nvidiaDocker": "nvidia_docker",
    "nativeSharedDirectory": "native_shared_directory",
    "userManagedEnvironment": "user_managed_environment",
    "pythonLocation": "python_location",
    "sparkSubmitLocation": "spark_submit_location",
}


def compute_from_mapping(name: str, data: Mapping[str, Any] | ComputeTarget) -> ComputeTarget:
    """A ComputeTarget from ``.compute`` contents (Workbench key spelling).

    No validation: that is the config loader's job. Unknown keys land in
    ``options``, as declared third-party keys do. A ComputeTarget passes through.
    """
    if isinstance(data, ComputeTarget):
        return data
    fields: dict[str, Any] = {}
    options: dict[str, Any] = {}
    for key, value in data.items():
        if key in COMPUTE_FIELDS:
            fields[COMPUTE_FIELDS[key]] = value
        else:
            options[key] = value
    if "type" not in fields:
        raise ValueError(f"compute data for {name!r} has no 'type'")
    return ComputeTarget(name=name, options=options, **fields)


def new_run_id() -> str:
    """A sortable run id like the history's: UTC time plus a random suffix."""
    return time.strftime("%Y%m%dT%H%M%SZ", time.gmtime()) + "-" + secrets.token_hex(3)


def make_run_context(
    tmp_path: Path,
    compute: ComputeTarget,
    script: str,
    *,
    script_name: str = "script.py",
    args: Sequence[str] = (),
    env: Mapping[str, str] | None = None,
    files: Mapping[str, str] | None = None,
    runconfig: RunConfig | None = None,
    environment_spec: EnvironmentSpec | None = None,
    run_id: str | None = None,
    number: int = 1,
) -> RunContext:
    """A RunContext for ``script`` (its source text) as ``exp run`` would build it.

    Layout under ``tmp_path``: ``project/`` (the script and ``files``),
    ``snapshot-<run_id>/`` (an isolated copy: the script's working directory)
    and ``project/.exp/runs/<run_id>/`` (the run folder, created empty; the
    plugin creates ``outputs/`` and ``metrics.jsonl`` in it). ``env`` is added
    to the run configuration's EnvironmentVariables; argv is what ``exp run``
    passes (expkit.runner.build_argv: ArgumentVector with ``$file`` replaced
    by ``script_name`` as a path, then ``args``). Several contexts
    may share one ``tmp_path``.
    """
    run_id = run_id or new_run_id()
    project = Path(tmp_path) / "project"
    sources = {script_name: script, **(files or {})}
    for rel, text in sources.items():
        path = project / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    snapshot = Path(tmp_path) / f"snapshot-{run_id}"
    snapshot.mkdir(parents=True)
    for rel in sources:
        (snapshot / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(project / rel, snapshot / rel)
    run_dir = project / ".exp" / "runs" / run_id
    run_dir.mkdir(parents=True)
    if runconfig is None:
        runconfig = RunConfig(name=compute.name, target=compute.name)
    argv = build_argv(runconfig.argument_vector, script_name, args)
    variables = {**runconfig.environment_variables, **(env or {})}
    return RunContext(
        run_id=run_id,
        number=number,
        project=project,
        snapshot=snapshot,
        run_dir=run_dir,
        script=script_name,
        argv=argv,
        environment=base_environment(run_id, number, compute.name, variables),
        compute=compute,
        runconfig=runconfig,
        environment_spec=environment_spec,
    )


class WaitTimeout(AssertionError):
    """``Execution.wait`` did not return in time (the execution was canceled)."""


def wait_for(
    execution: Execution,
    timeout: float,
    on_output: Callable[[str], None] | None = None,
) -> tuple[int, list[str]]:
    """Run ``execution.wait`` in a thread: (exit code, every ``on_output`` item).

    Raises WaitTimeout after canceling the execution when ``wait`` has not
    returned within ``timeout`` seconds; re-raises what ``wait`` raised.
    """
    lines: list[str] = []
    outcome: dict[str, Any] = {}

    def record(line: str) -> None:
        lines.append(line)
        if on_output is not None:
            on_output(line)

    def target() -> None:
        try:
            outcome["code"] = execution.wait(record)
        except BaseException as exc:  # noqa: BLE001 - handed to the test thread
            outcome["error"] = exc

    thread = threading.Thread(target=target, name="expkit-contract-wait", daemon=True)
    thread.start()
    thread.join(timeout)
    if thread.is_alive():
        execution.cancel()
        thread.join(10)
        raise WaitTimeout(f"Execution.wait() did not return within {timeout:g} s")
    if "error" in outcome:
        raise outcome["error"]
    return outcome["code"], lines


def tree_digest(root: Path, exclude: Sequence[str] = (".exp",)) -> dict[str, bytes]:
    """Relative path -> content of every file under ``root`` (to prove nothing changed)."""
    out: dict[str, bytes] = {}
    for path in sorted(Path(root).rglob("*")):
        rel = path.relative_to(root)
        if rel.parts and rel.parts[0] in exclude:
            continue
        if path.is_file():
            out[rel.as_posix()] = path.read_bytes()
    return out


__all__ = [
    "COMPUTE_FIELDS",
    "WaitTimeout",
    "compute_from_mapping",
    "make_run_context",
    "new_run_id",
    "tree_digest",
    "wait_for",
]
