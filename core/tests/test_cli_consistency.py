"""One meaning per flag, the same metavars in --help and docs/cli.md, shell completion.

Through the installed ``exp`` console script, as a user's shell calls it.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
EXP = str(Path(sys.executable).with_name("exp"))


def _exp(cwd: Path, *args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("EXPKIT_", "_EXP_"))}
    base["EXPKIT_CACHE_DIR"] = str(cwd / ".cache")
    return subprocess.run(
        [EXP, *args], cwd=cwd, env={**base, **(env or {})},
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "aml_config").mkdir()
    for name in ("local", "docker", "gpu-box"):
        (tmp_path / "aml_config" / f"{name}.runconfig").write_text(f"Target: {name}\n")
    return tmp_path


def _complete(cwd: Path, words: str) -> list[str]:
    """What bash completion offers for the last of ``words`` (Typer's protocol)."""
    parts = words.split(" ")
    env = {"_EXP_COMPLETE": "complete_bash", "COMP_WORDS": words, "COMP_CWORD": str(len(parts) - 1)}
    result = _exp(cwd, env=env)
    assert result.returncode == 0, result.stderr
    return result.stdout.split()


def test_shell_completion_completes_commands_and_run_configurations(project: Path) -> None:
    assert _complete(project, "exp ru") == ["run", "runconfig", "runs"]
    assert _complete(project, "exp env pr") == ["prune"]
    assert _complete(project, "exp run -c ") == ["docker", "gpu-box", "local"]
    assert _complete(project, "exp prepare -c g") == ["gpu-box"]
    assert _complete(project, "exp env list -c d") == ["docker"]
    assert _complete(project.parent, "exp run -c ") == []  # outside a project: nothing


def test_completion_installs_the_typer_way(project: Path) -> None:
    helped = _exp(project, "--help")
    assert "--install-completion" in helped.stdout and "--show-completion" in helped.stdout
    script = _exp(project, "--show-completion", "bash", env={"SHELL": "/bin/bash"})
    assert script.returncode == 0, script.stderr
    assert "_EXP_COMPLETE=complete_bash" in script.stdout and "complete " in script.stdout


def test_completion_costs_no_import_at_start_up(project: Path) -> None:
    """Typer imports its completion support anyway; turning it on adds no module."""
    probe = (
        "import sys; from expkit.cli import main; main(['--version']); "
        "print(' '.join(sorted(sys.modules)))"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, cwd=project
    ).stdout
    loaded = set(out.splitlines()[-1].split())
    assert "typer.completion" in loaded
    for heavy in ("docker", "paramiko", "rich", "requests", "yaml"):
        assert heavy not in loaded, f"`exp --version` imports {heavy}"


def test_t_means_target_wherever_it_is_accepted(project: Path) -> None:
    attach = _exp(project, "target", "attach", "--help").stdout
    assert re.search(r"^\s+--type TYPE\b", attach, re.M) and "-t," not in attach
    create = _exp(project, "runconfig", "create", "--help").stdout
    assert re.search(r"^\s+-t, --target TARGET\b", create, re.M)
    refused = _exp(project, "target", "attach", "-n", "x", "-t", "docker")
    assert refused.returncode == 2 and "No such option: -t" in refused.stderr


@pytest.mark.parametrize(
    "command",
    [["run"], ["prepare"], ["target", "attach"], ["runconfig", "create"], ["env", "prune"]],
)
def test_help_and_docs_show_the_same_usage_and_metavars(project: Path, command) -> None:
    helped = _exp(project, *command, "--help").stdout
    docs = (REPO / "docs" / "cli.md").read_text(encoding="utf-8")
    section = docs.split(f"# `exp {' '.join(command)}`\n", 1)[1].split("\n#", 1)[0]
    usage = re.search(r"^Usage: (.*)$", helped, re.M)
    assert usage and f"\n{usage.group(1)}\n" in section  # the usage line, verbatim
    # Every "--option METAVAR" of --help is in the docs with the same metavar.
    for opts, metavar in re.findall(r"^\s+((?:-\w, )?--[\w-]+) ([A-Z_=<>a-z]+)\s", helped, re.M):
        long = opts.split(", ")[-1]
        row = rf"`{re.escape(long)}`(?:, `-\w`)? {re.escape(metavar)} \|"
        assert re.search(row, section), (long, metavar)
