"""Local-target cases: what tracking a run costs over running the script yourself."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from pathlib import Path

from benchlib import (
    Case,
    Command,
    Skip,
    Target,
    Workspace,
    clean_env,
    exp_executable,
    python_executable,
)

#: Another revision's ``exp`` (``bench/before.sh REV`` installs one and prints its path).
BEFORE_ENV = "EXPKIT_BENCH_BEFORE"

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


CONDA_DEPENDENCIES = """\
# A Workbench project's environment file, as the samples have it.
name: project_environment
channels:
  - conda-forge
dependencies:
  - python=3.11
  - scikit-learn
  - pandas>=1.5
  - pip:
    - matplotlib==3.8.2
    - azureml-logging==0.1.0a1
    - requests[socks]>=2.31
"""


def _real_project(root: Path) -> Workspace:
    """A project as users have them: a git repository with history, a conda file, a few
    dozen source and data files, ignore rules; a user-managed local target."""
    import subprocess

    ws = _project(root)
    project = ws.cwd
    aml = project / "aml_config"
    (aml / "conda_dependencies.yml").write_text(CONDA_DEPENDENCIES)
    spark = "configuration: {}\nrepositories: []\npackages: []\n"
    (aml / "spark_dependencies.yml").write_text(spark)
    with (aml / "local.runconfig").open("a") as handle:
        handle.write('CondaDependenciesFile: "aml_config/conda_dependencies.yml"\n')
        handle.write('SparkDependenciesFile: "aml_config/spark_dependencies.yml"\n')
    (project / ".gitignore").write_text("__pycache__/\n*.pyc\ndata/raw/\n.ipynb_checkpoints/\n")
    (project / ".amlignore").write_text("docs/\n")
    for i in range(24):
        package = project / "src" / f"pkg{i // 6}"
        package.mkdir(parents=True, exist_ok=True)
        (package / f"module{i}.py").write_text(f"VALUE = {i}\n" + "# padding\n" * 200)
    (project / "data" / "raw").mkdir(parents=True)
    (project / "data" / "raw" / "big.csv").write_bytes(b"x,y\n" * 100_000)
    (project / "data" / "iris.csv").write_bytes(b"5.1,3.5,1.4,0.2,setosa\n" * 150)
    (project / "docs").mkdir()
    (project / "docs" / "notes.md").write_text("# notes\n")
    (project / "README.md").write_text("# a project\n")
    git = ["git", "-c", "user.name=bench", "-c", "user.email=bench@example.invalid"]
    subprocess.run([*git, "init", "-q"], cwd=project, check=True)
    subprocess.run([*git, "add", "-A"], cwd=project, check=True)
    subprocess.run([*git, "commit", "-q", "-m", "initial"], cwd=project, check=True)
    (project / "README.md").write_text("# a project, edited\n")  # a dirty working tree
    return ws


CASES.append(
    Case(
        name="local-real-project",
        description="tracked run in a real project (git repository, conda_dependencies.yml, "
        "a user-managed local target) vs plain `python trivial.py`",
        setup=_real_project,
        commands=[
            Command("python trivial.py", [python_executable(), "trivial.py"]),
            Command(
                "exp run -c local trivial.py (real project)",
                lambda ws: [ws.data["exp"], "run", "-c", "local", "trivial.py"],
            ),
        ],
        target=Target(max_overhead_s=0.09),
    )
)


# --------------------------------------------------------------------------- before and after
# "No slower than before" needs both builds measured side by side, on the same machine
# at the same moment: a figure from an earlier session was taken on other hardware.


def _before_exp() -> str:
    path = os.environ.get(BEFORE_ENV, "")
    if not path:
        raise Skip(f"set {BEFORE_ENV} to another revision's exp (bench/before.sh REV prints one)")
    if not os.access(path, os.X_OK):
        raise Skip(f"{BEFORE_ENV}={path} is not an executable")
    return path


def _two_projects(make: Callable[[Path], Workspace]) -> Callable[[Path], Workspace]:
    """The project made twice, one per build: their histories must not meet (an older
    expkit refuses an index written by a newer one)."""

    def setup(root: Path) -> Workspace:
        before = _before_exp()
        (root / "before").mkdir()
        (root / "now").mkdir()
        old, new = make(root / "before"), make(root / "now")
        # And their caches: each build's entry-point cache is keyed by its own sys.path.
        new.data.update(before=before, before_cwd=old.cwd, before_cache=root / "before-cache")
        new.data.update(now_cwd=new.cwd, now_cache=root / "now-cache")
        return new

    return setup


def _in(build: str, exe_key: str) -> Callable[[Workspace], list[str]]:
    def argv(ws: Workspace) -> list[str]:
        # env: both builds start the same way, each in its own project and cache.
        folder, cache = ws.data[f"{build}_cwd"], ws.data[f"{build}_cache"]
        exe = ws.data[exe_key]
        return ["env", "-C", str(folder), f"EXPKIT_CACHE_DIR={cache}", exe, "run", "-c", "local",
                "trivial.py"]  # fmt: skip

    return argv


for _name, _make, _what in (
    ("local-run-before", _project, "the trivial project"),
    ("local-real-project-before", _real_project, "the real project"),
):
    CASES.append(
        Case(
            name=_name,
            description=f"`exp run -c local` in {_what}: this build vs ${BEFORE_ENV} "
            "(another revision, bench/before.sh REV); target: no slower",
            setup=_two_projects(_make),
            commands=[
                Command("exp run (before)", _in("before", "before")),
                Command("exp run (this build)", _in("now", "exp")),
            ],
            target=Target(max_ratio=1.0),
        )
    )
