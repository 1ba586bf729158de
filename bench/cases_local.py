"""Local-target cases: what tracking a run costs over running the script yourself."""

from __future__ import annotations

import sys
from pathlib import Path

from benchlib import Case, Command, Target, Workspace, clean_env, exp_executable, python_executable

TRIVIAL = 'print("trivial")\n'


def _project(root: Path) -> Workspace:
    """A project with a Workbench-style local target whose pythonLocation is this Python."""
    project = root / "project"
    (project / "aml_config").mkdir(parents=True)
    (project / "aml_config" / "local.compute").write_text(
        f'type: "local"\npythonLocation: "{python_executable()}"\n'
    )
    (project / "aml_config" / "local.runconfig").write_text(
        'ArgumentVector:\n  - "$file"\nTarget: "local"\nFramework: "Python"\n'
        "EnvironmentVariables: {}\nPrepareEnvironment: false\nTrackedRun: true\n"
    )
    (project / "trivial.py").write_text(TRIVIAL)
    return Workspace(root=root, cwd=project, env=clean_env(root), data={"exp": exp_executable()})


def _managed_project(root: Path) -> Workspace:
    """The same project in managed mode: runs use a cached venv (built during warm-up)."""
    ws = _project(root)
    aml = ws.cwd / "aml_config"
    (aml / "local.compute").write_text(
        f'type: "local"\npythonLocation: "{python_executable()}"\nuserManagedEnvironment: false\n'
    )
    major, minor = sys.version_info[:2]
    (aml / "conda_dependencies.yml").write_text(f"dependencies:\n  - python={major}.{minor}\n")
    with (aml / "local.runconfig").open("a") as handle:
        handle.write('CondaDependenciesFile: "aml_config/conda_dependencies.yml"\n')
    return ws


CASES = [
    Case(
        name="local-run",
        description="tracked `exp run -c local trivial.py` vs plain `python trivial.py`",
        setup=_project,
        commands=[
            Command("python trivial.py", [python_executable(), "trivial.py"]),
            Command(
                "exp run -c local trivial.py",
                lambda ws: [ws.data["exp"], "run", "-c", "local", "trivial.py"],
            ),
        ],
        target=Target(max_overhead_s=0.15),
    ),
    Case(
        name="local-managed-run",
        description="`exp run -c local` in managed mode (cached venv) vs plain `python trivial.py`",
        setup=_managed_project,
        commands=[
            Command("python trivial.py", [python_executable(), "trivial.py"]),
            Command(
                "exp run -c local trivial.py (venv)",
                lambda ws: [ws.data["exp"], "run", "-c", "local", "trivial.py"],
            ),
        ],
        target=Target(max_overhead_s=0.15),
    ),
    Case(
        name="cli-startup",
        description="`exp --version` and `exp runs list` vs `python -c pass` (no target)",
        setup=_project,
        commands=[
            Command("python -c pass", [python_executable(), "-c", "pass"]),
            Command("exp --version", lambda ws: [ws.data["exp"], "--version"]),
            Command("exp runs list", lambda ws: [ws.data["exp"], "runs", "list"]),
        ],
    ),
]
