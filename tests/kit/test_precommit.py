"""A repository gates commits on an experiment through expkit's pre-commit hook.

Real ``pre-commit`` over real git repositories: a hook repository holding this
repo's ``.pre-commit-hooks.yaml`` (the working-tree version, committed into a
temporary repo so uncommitted edits are what is tested), and a project that
uses its ``exp-run`` hook to run a smoke script on the local target.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from kit_venvs import REPO, write_project

GIT_ENV = {
    "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com",
    "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.com",
    "GIT_CONFIG_GLOBAL": os.devnull, "GIT_CONFIG_NOSYSTEM": "1",
}  # fmt: skip

SMOKE = """\
import sys
from expkit import log
print("smoke: training one epoch")
log("loss", 0.5)
if len(sys.argv) > 1 and sys.argv[1] == "fail":
    print("smoke: loss exploded", file=sys.stderr)
    sys.exit(7)
"""


def git(cwd: Path, *args: str) -> str:
    proc = subprocess.run(
        ["git", *args], cwd=cwd, env={**os.environ, **GIT_ENV},
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    return proc.stdout.strip()


@pytest.fixture(scope="module")
def hook_repo(tmp_path_factory) -> tuple[Path, str]:
    root = tmp_path_factory.mktemp("hook-repo")
    shutil.copy(REPO / ".pre-commit-hooks.yaml", root / ".pre-commit-hooks.yaml")
    git(root, "init", "-q")
    git(root, "add", ".")
    git(root, "commit", "-q", "-m", "hooks")
    return root, git(root, "rev-parse", "HEAD")


@pytest.fixture(scope="module")
def pre_commit_home(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("pre-commit-home")


def make_repo(root: Path, hook_repo: tuple[Path, str], args: str) -> Path:
    repo_path, rev = hook_repo
    write_project(
        root,
        {
            "aml_config/local.compute": 'type: "local"\npythonLocation: "python"\n',
            "aml_config/local.runconfig": 'ArgumentVector: ["$file"]\nTarget: "local"\n'
            'Framework: "Python"\nTrackedRun: true\n',
            "smoke_train.py": SMOKE,
            ".pre-commit-config.yaml": f"repos:\n  - repo: {repo_path}\n    rev: {rev}\n"
            f"    hooks:\n      - id: exp-run\n        args: {args}\n",
        },
    )
    git(root, "init", "-q")
    git(root, "add", ".")
    return root


def pre_commit(repo: Path, home: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("EXPKIT_")}
    env.update(GIT_ENV)
    # The hook is `language: system`: `exp` and `python` come from the PATH,
    # here the development venv (core + expkit-local), as in a project's CI.
    env["PATH"] = str(Path(sys.executable).parent) + os.pathsep + env.get("PATH", "")
    env["PRE_COMMIT_HOME"] = str(home)
    env["EXPKIT_CACHE_DIR"] = str(home / "expkit-cache")
    return subprocess.run(
        [sys.executable, "-m", "pre_commit", "run", "--all-files", "--color", "never"],
        cwd=repo, env=env, capture_output=True, text=True, timeout=300,
        stdin=subprocess.DEVNULL,
    )  # fmt: skip


def test_hook_passes_when_the_experiment_succeeds(tmp_path, hook_repo, pre_commit_home) -> None:
    repo = make_repo(tmp_path / "ok", hook_repo, "[-c, local, smoke_train.py]")
    result = pre_commit(repo, pre_commit_home)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "expkit experiment run" in result.stdout and "Passed" in result.stdout
    # The hook made a real, recorded run in the project.
    assert any((repo / ".exp").rglob("*")), "no run history was written"


def test_hook_fails_when_the_script_fails(tmp_path, hook_repo, pre_commit_home) -> None:
    repo = make_repo(tmp_path / "bad", hook_repo, "[-c, local, smoke_train.py, fail]")
    result = pre_commit(repo, pre_commit_home)
    assert result.returncode != 0
    assert "Failed" in result.stdout
    assert "exit code: 7" in result.stdout  # pre-commit reports the hook's exit code
    # The script's own output is shown to the committer.
    assert "smoke: loss exploded" in result.stdout


def test_manifest_is_valid_for_pre_commit() -> None:
    checked = subprocess.run(
        [sys.executable, "-m", "pre_commit", "validate-manifest",
         str(REPO / ".pre-commit-hooks.yaml")],
        capture_output=True, text=True, stdin=subprocess.DEVNULL,
    )  # fmt: skip
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "warning" not in (checked.stdout + checked.stderr).lower()


def test_documented_recipes_pin_a_rev_that_exists() -> None:
    """A `rev:` in a recipe names a placeholder to fill in, or a tag/commit this repository has."""
    import re

    revs = []
    for doc in (REPO / ".pre-commit-hooks.yaml", REPO / "docs" / "cli.md", REPO / "README.md"):
        revs += re.findall(r"^[#\s]*rev:\s*(\S+)", doc.read_text(encoding="utf-8"), re.M)
    assert revs, "the recipes say what to pin"
    for rev in revs:
        if rev.startswith("<"):
            continue
        found = subprocess.run(
            ["git", "-C", str(REPO), "rev-parse", "--verify", "--quiet", f"{rev}^{{commit}}"],
            capture_output=True,
        )
        assert found.returncode == 0, f"rev: {rev} names no commit or tag of this repository"
