"""Through the real ``exp`` command: attach writes the files, a run is refused clearly."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml


def exp(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    found = shutil.which("exp", path=str(Path(sys.executable).parent)) or shutil.which("exp")
    assert found, "the `exp` console script is not installed next to this Python"
    env = {k: v for k, v in os.environ.items() if k != "EXPKIT_DISABLE_PLUGINS"}
    env["EXPKIT_CACHE_DIR"] = str(cwd.parent / "cache")
    return subprocess.run([found, *args], cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=60, stdin=subprocess.DEVNULL)  # fmt: skip


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "proj"
    (root / "aml_config").mkdir(parents=True)
    (root / "train.py").write_text("print('never runs')\n")
    return root


def test_attach_then_run_is_refused_with_what_to_use(project: Path, tmp_path: Path) -> None:
    key = tmp_path / "id_ed25519"
    key.write_text("not a real key\n")
    attached = exp(
        project,
        "target",
        "attach",
        "--name",
        "gpuvm",
        "--type",
        "remote",
        "--address",
        "127.0.0.1:2222",
        "--username",
        "expkit",
        "--key-file",
        str(key),
    )
    assert attached.returncode == 0, attached.stderr
    compute = yaml.safe_load((project / "aml_config" / "gpuvm.compute").read_text())
    assert compute["type"] == "remotedocker" and compute["port"] == 2222
    assert compute["keyFile"] == str(key)
    assert "not a real key" not in (project / "aml_config" / "gpuvm.compute").read_text()

    run = exp(project, "run", "-c", "gpuvm", "train.py")
    assert run.returncode == 2, run.stderr
    # The core refuses before preparing (TargetType.available is False); the
    # plugin's own hooks would say the same, with what to use instead.
    assert "not available yet" in run.stderr and "remotedocker" in run.stderr
    assert "never runs" not in run.stdout + run.stderr
    assert "Traceback" not in run.stderr


def test_key_file_inside_the_project_is_refused(project: Path) -> None:
    (project / "id_rsa").write_text("secret\n")
    attached = exp(
        project,
        "target",
        "attach",
        "--name",
        "gpuvm",
        "--type",
        "remotedocker",
        "--address",
        "gpuvm.example.com",
        "--username",
        "u",
        "--key-file",
        "id_rsa",
    )
    assert attached.returncode == 2
    assert "inside the project folder" in attached.stderr
    assert not (project / "aml_config" / "gpuvm.compute").exists()
