"""plugin_template/ renders a third-party plugin that installs, is discovered,
passes the conformance contract and runs a script through ``exp run``.

The rendered package is installed into a fresh venv next to the core's wheel
only (no first-party plugin), exactly as a plugin author's CI would.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml
from kit_venvs import REPO, Venv, make_venv, write_project

TEMPLATE = REPO / "plugin_template"
ANSWERS = {
    "target_type": "scratch",
    "plugin_name": "acme-expkit-scratch",
    "author_name": "Ada Lovelace",
    "author_email": "ada@example.com",
    "python_min": "3.10",
}


def render(dest: Path, answers: dict[str, str]) -> Path:
    import copier

    copier.run_copy(str(TEMPLATE), dest, data=answers, defaults=True, quiet=True)
    return dest


@pytest.fixture(scope="module")
def rendered(tmp_path_factory) -> Path:
    return render(tmp_path_factory.mktemp("render") / "acme-expkit-scratch", ANSWERS)


@pytest.fixture(scope="module")
def plugin_venv(rendered: Path, wheels: dict[str, str], tmp_path_factory) -> Venv:
    # The rendered plugin's own pyproject says what its tests need (the `test` extra).
    return make_venv(tmp_path_factory.mktemp("venv") / "v", [wheels["core"], f"{rendered}[test]"])


def test_defaults_render_a_complete_package(tmp_path: Path) -> None:
    out = render(tmp_path / "p", {})
    files = {p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()}
    assert {
        "pyproject.toml", "README.md", ".copier-answers.yml", ".github/workflows/test.yml",
        "src/expkit_tmpdir/__init__.py", "src/expkit_tmpdir/hooks.py",
        "src/expkit_tmpdir/target.py", "tests/test_contract.py", "tests/test_target.py",
    } <= files  # fmt: skip
    pyproject = (out / "pyproject.toml").read_text()
    assert '[project.entry-points.expkit]\ntmpdir = "expkit_tmpdir.hooks:plugin"' in pyproject
    # `${{ ... }}` is GitHub Actions syntax and meant to stay; any other `{{` is unrendered Jinja.
    leftovers = [f for f in files if re.search(r"(?<!\$)\{\{|\{%", (out / f).read_text())]
    assert not leftovers, f"unrendered Jinja in {leftovers}"


def test_answers_are_validated(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="target_type"):
        render(tmp_path / "bad", {"target_type": "Bad-Name"})
    assert not (tmp_path / "bad").exists()


def test_rendered_answers_and_ci_workflow(rendered: Path) -> None:
    pyproject = (rendered / "pyproject.toml").read_text()
    assert 'name = "acme-expkit-scratch"' in pyproject
    assert 'scratch = "acme_expkit_scratch.hooks:plugin"' in pyproject
    assert "Ada Lovelace" in pyproject
    workflow = yaml.safe_load((rendered / ".github/workflows/test.yml").read_text())
    steps = workflow["jobs"]["test"]["steps"]
    assert any("pytest" in step.get("run", "") for step in steps)
    assert "${{ matrix.python-version }}" in str(steps)
    assert workflow["jobs"]["test"]["strategy"]["matrix"]["python-version"][0] == "3.10"


def test_discovered_alone_next_to_the_core(plugin_venv: Venv) -> None:
    assert plugin_venv.plugin_types() == {"scratch": {"scratch"}}
    table = plugin_venv.exp("plugins").check().stdout
    assert "acme-expkit-scratch" in table and "scratch" in table


def test_its_contract_and_own_tests_pass(plugin_venv: Venv, rendered: Path) -> None:
    result = plugin_venv.pytest("-q", "-p", "no:cacheprovider", cwd=rendered)
    assert result.returncode == 0, result.output
    passed = re.search(r"(\d+) passed", result.stdout)
    assert passed and int(passed.group(1)) >= 15, result.stdout  # the contract and its own tests
    assert "failed" not in result.stdout


def test_exp_run_on_the_rendered_target(plugin_venv: Venv, tmp_path: Path) -> None:
    project = write_project(
        tmp_path / "proj",
        {
            "aml_config/.keep": "",
            "train.py": (
                "import os, sys\n"
                "from expkit import log\n"
                "rate = float(sys.argv[1])\n"
                "print(f'training with rate {rate} in', os.getcwd())\n"
                "os.makedirs('outputs', exist_ok=True)\n"
                "open('outputs/model.txt', 'w').write(str(rate))\n"
                "log('accuracy', 0.5 + rate)\n"
                "sys.exit(int(sys.argv[2]) if len(sys.argv) > 2 else 0)\n"
            ),
        },
    )
    plugin_venv.exp(
        "target", "attach", "--name", "scratch", "--type", "scratch", cwd=project
    ).check()
    compute = yaml.safe_load((project / "aml_config" / "scratch.compute").read_text())
    assert compute == {"type": "scratch", "interpreter": "python3"}

    ok = plugin_venv.exp("run", "--json", "-c", "scratch", "train.py", "0.25", cwd=project)
    assert ok.returncode == 0, ok.output
    # With --json the script's output goes to stderr, the record to stdout.
    line = next(x for x in ok.stderr.splitlines() if x.startswith("training with rate 0.25 in "))
    workdir = Path(line.rsplit(" in ", 1)[1])
    assert project not in (workdir, *workdir.parents), "ran in a fresh temporary directory"
    assert not workdir.exists(), "the temporary directory is removed after the run"
    # Not a terminal: no progress-bar redraws or colour codes, only lines.
    assert "\r" not in ok.output and "\x1b[" not in ok.output
    record = json.loads(ok.stdout)
    assert record["status"] == "completed" and record["target"] == "scratch"
    assert record["metrics"] == {"accuracy": 0.75}
    assert record["outputs"] == ["model.txt"]
    assert not (project / "outputs").exists(), "the project folder is never written by a run"

    failed = plugin_venv.exp("run", "-c", "scratch", "train.py", "0.1", "5", cwd=project)
    assert failed.returncode == 5, failed.output
    listed = json.loads(plugin_venv.exp("runs", "list", "--json", cwd=project).check().stdout)
    assert [r["status"] for r in listed] == ["failed", "completed"]
