"""Helpers for expkit-local's tests (a uniquely named module: test folders share sys.path)."""

from __future__ import annotations

import textwrap
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from expkit.model import ComputeTarget, PrepareRequest, RunConfig, RunContext
from expkit.testing import build_wheel  # noqa: F401 - the wheel builder the tests import here


@dataclass
class Lines:
    """An on_output callback that records lines and can act on a trigger line."""

    seen: list[str] = field(default_factory=list)
    triggers: dict[str, Any] = field(default_factory=dict)

    def __call__(self, line: str) -> None:
        self.seen.append(line)
        action = self.triggers.pop(line.strip(), None)
        if action is not None:
            action()

    @property
    def text(self) -> str:
        return "".join(self.seen)


def make_run(
    tmp_path: Path,
    script: str,
    *,
    args: tuple[str, ...] = (),
    env: dict[str, str] | None = None,
    compute: ComputeTarget | None = None,
    runconfig: RunConfig | None = None,
    name: str = "main.py",
    **kw,
) -> RunContext:
    """A RunContext over a fresh snapshot folder holding ``script`` as ``name``."""
    snapshot = tmp_path / "snapshot"
    snapshot.mkdir(parents=True, exist_ok=True)
    (snapshot / name).write_text(textwrap.dedent(script).lstrip("\n"), encoding="utf-8")
    run_dir = tmp_path / "run"
    run_dir.mkdir(parents=True, exist_ok=True)
    compute = compute or ComputeTarget(name="local", type="local")
    runconfig = runconfig or RunConfig(name="local", target="local")
    environment = {"PYTHONUNBUFFERED": "1", "EXPKIT_RUN_ID": "r-test", **(env or {})}
    return RunContext(
        run_id="r-test",
        number=1,
        project=tmp_path,
        snapshot=snapshot,
        run_dir=run_dir,
        script=name,
        argv=(name, *args),
        environment=environment,
        compute=compute,
        runconfig=runconfig,
        **kw,
    )


def prepare_request(project: Path, compute: ComputeTarget | None = None, **kw) -> PrepareRequest:
    compute = compute or ComputeTarget(name="local", type="local")
    kw.setdefault("runconfig", RunConfig(name="local", target="local"))
    kw.setdefault("environment", None)
    kw.setdefault("spark", None)
    return PrepareRequest(project=project, compute=compute, **kw)
