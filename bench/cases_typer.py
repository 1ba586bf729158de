"""Why core/pyproject.toml pins ``typer<0.29``: the start-up cost of typer 0.29 on ``exp``.

typer 0.29 imports pydantic to parse options. Two throwaway venvs (uv, from
its cache) get the same expkit core and its dependencies, one with the highest
allowed typer and one with typer 0.29: every ``exp`` command that builds the
full CLI pays the difference. The case is diagnostic (no target): when its
``vs baseline`` column shrinks to noise, the pin can go.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from benchlib import Case, Command, Skip, Workspace, clean_env

REPO = Path(__file__).resolve().parents[1]
#: The core's run-time dependencies besides typer (core/pyproject.toml).
_DEPS = ["pluggy>=1.3", "pyyaml>=6", "rich>=13", "pathspec>=0.12", "platformdirs>=4", "packaging"]
TYPERS = {"allowed": "typer>=0.28,<0.29", "0.29": "typer>=0.29,<0.30"}


def _uv() -> str:
    found = shutil.which("uv", path=str(Path(sys.executable).parent)) or shutil.which("uv")
    if not found:
        raise Skip("uv is not installed (scripts/bootstrap.sh installs it)")
    return found


def _venv(uv: str, root: Path, typer: str) -> Path:
    subprocess.run([uv, "venv", "--quiet", "--python", sys.executable, str(root)], check=True)
    python = str(root / "bin" / "python")
    install = [uv, "pip", "install", "--quiet", "--python", python]
    # --no-deps for the core: its own metadata refuses typer 0.29.
    subprocess.run([*install, typer, *_DEPS], check=True)
    subprocess.run([*install, "--no-deps", str(REPO / "core")], check=True)
    return root / "bin" / "exp"


def _setup(root: Path) -> Workspace:
    uv = _uv()
    exes = {name: str(_venv(uv, root / f"venv-{name}", spec)) for name, spec in TYPERS.items()}
    project = root / "project"
    (project / "aml_config").mkdir(parents=True)
    return Workspace(root=root, cwd=project, env=clean_env(root), data=exes)


CASES = [
    Case(
        name="typer-pin",
        description="`exp runs list` with the highest allowed typer vs with typer 0.29",
        setup=_setup,
        commands=[
            Command("exp runs list (typer <0.29)", lambda ws: [ws.data["allowed"], "runs", "list"]),
            Command("exp runs list (typer 0.29)", lambda ws: [ws.data["0.29"], "runs", "list"]),
        ],
    ),
]
