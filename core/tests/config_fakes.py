"""Fixtures for the configuration tests: a fake target plugin and real projects.

No target plugin needs to be installed: a fake plugin object declaring the
well-known types is registered on a registry without entry points, installed
as the process-wide registry for the test and reset after (llm/datasette style).
Imported by test_config.py and test_cli_config.py; it holds no tests itself.
"""

from __future__ import annotations

import shutil
import textwrap
from dataclasses import dataclass
from pathlib import Path

import pytest
from expkit.cli import main
from expkit.errors import ConfigError
from expkit.hookspecs import hookimpl
from expkit.model import AttachRequest, AttachResult, TargetType
from expkit.plugins import Registry, make_plugin_manager, set_registry

WORKBENCH = Path(__file__).resolve().parents[2] / "tests" / "fixtures" / "workbench"
#: A value that must never appear in anything expkit writes or prints.
SECRET = "hunter2-Sup3rSecret"


class FakeTargets:
    """Declares local, docker (alias localdocker), remotedocker and a third-party
    ``slurm`` type with its own compute keys and no attach support."""

    @hookimpl
    def expkit_target_types(self) -> list[TargetType]:
        return [
            TargetType("local", "expkit-local"),
            TargetType("docker", "expkit-docker", aliases=("localdocker",)),
            TargetType("remotedocker", "expkit-remotedocker", aliases=("remote",)),
            TargetType("slurm", "expkit-slurm", compute_keys=frozenset({"partition", "nodes"})),
        ]

    @hookimpl
    def expkit_attach(self, request: AttachRequest) -> AttachResult | None:
        if request.type == "docker":
            return AttachResult(
                compute={
                    "type": "docker",
                    "baseDockerImage": request.base_image or "python:3.11-slim",
                },
                runconfig={
                    "Target": request.name,
                    "Framework": "Python",
                    "PrepareEnvironment": True,
                    "CondaDependenciesFile": "aml_config/conda_dependencies.yml",
                },
            )
        if request.type == "remotedocker":
            if not request.address:
                raise ConfigError("an address is required for a remote target", key="--address")
            compute = {
                "type": "remotedocker",
                "address": request.address,
                "username": request.username or "root",
                "keyFile": request.key_file,
                # A careless plugin: the core must still never write it.
                "password": SECRET,
            }
            if request.port:
                compute["port"] = request.port
            return AttachResult(compute=compute, runconfig={"Target": request.name})
        if request.type == "local":
            return AttachResult(
                compute={"type": "local", "pythonLocation": "python"},
                runconfig={"Target": request.name},
            )
        return None


@pytest.fixture
def registry():
    reg = Registry(make_plugin_manager(entry_points=False))
    reg.register(FakeTargets(), name="fake")
    set_registry(reg)
    yield reg
    set_registry(None)


@pytest.fixture
def workbench(tmp_path: Path, registry, monkeypatch) -> Path:
    """A copy of tests/fixtures/workbench, as the working directory."""
    root = tmp_path / "iris"
    shutil.copytree(WORKBENCH, root)
    monkeypatch.chdir(root)
    return root


@pytest.fixture
def empty_project(tmp_path: Path, registry, monkeypatch) -> Path:
    root = tmp_path / "proj"
    root.mkdir()
    monkeypatch.chdir(root)
    return root


def write(root: Path, relpath: str, text: str) -> Path:
    path = root / relpath
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    return path


@dataclass
class CliResult:
    code: int
    out: str
    err: str

    @property
    def output(self) -> str:
        return self.out + self.err


@pytest.fixture
def exp(capsys):
    """Run ``exp ARGS`` in-process through the real entry point (expkit.cli.main)."""

    def run(*args: str) -> CliResult:
        capsys.readouterr()
        code = main(list(args))
        captured = capsys.readouterr()
        return CliResult(code, captured.out, captured.err)

    return run
