"""Each first-party plugin installs alone next to the core, and works there.

For every plugin: a fresh venv with only the core's wheel, that plugin's
wheel and its test requirements; ``exp plugins`` lists exactly its types; the
plugin's own test suite (which runs the expkit.testing contract) passes there.
A core-only venv says clearly that no target plugin is installed.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from kit_venvs import REPO, make_venv, write_project

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

#: plugin -> the primary target types it must declare, and nothing else.
PLUGINS = {
    "local": {"local"},
    "docker": {"docker"},
    "remotedocker": {"remotedocker"},
    "hdinsight": {"cluster"},
}
#: plugin -> the first-party plugins it depends on (installed with it, types listed too).
DEPENDS = {"remotedocker": ("docker",)}


def test_requirements(name: str) -> list[str]:
    """What the plugin's tests need besides pytest: its ``test`` extra or dependency group."""
    data = tomllib.loads((REPO / "plugins" / name / "pyproject.toml").read_text())
    extra = data.get("project", {}).get("optional-dependencies", {}).get("test", [])
    group = data.get("dependency-groups", {}).get("test", [])
    return [r for r in [*extra, *group] if isinstance(r, str)]


test_requirements.__test__ = False  # a helper, not a test


@pytest.mark.parametrize("name", sorted(PLUGINS))
def test_plugin_alone_with_the_core(name: str, wheels: dict[str, str], tmp_path: Path) -> None:
    needed = (name, *DEPENDS.get(name, ()))
    venv = make_venv(
        tmp_path / "venv",
        [wheels["core"], *(wheels[n] for n in needed), "pytest>=8", *test_requirements(name)],
    )
    assert venv.plugin_types() == {n: PLUGINS[n] for n in needed}, "exactly these types"

    # Its own tests, importing the installed wheel (not the source tree).
    tests = REPO / "plugins" / name / "tests"
    result = venv.pytest(str(tests), "-q", "-x", "-p", "no:cacheprovider", cwd=tmp_path)
    assert result.returncode == 0, (
        f"plugins/{name}/tests failed alone with the core:\n{result.output}"
    )
    assert " passed" in result.stdout
    where = venv.run(
        venv.bin("python"), "-c", f"import expkit_{name}; print(expkit_{name}.__file__)"
    )
    assert str(venv.root) in where.check().stdout


def test_core_alone_says_no_target_plugins(wheels: dict[str, str], tmp_path: Path) -> None:
    venv = make_venv(tmp_path / "venv", [wheels["core"]])
    listed = venv.exp("plugins")
    assert listed.returncode == 0
    assert "no target plugins installed" in listed.output
    assert "expkit-local" in listed.output
    assert json.loads(venv.exp("plugins", "--json").check().stdout) == []

    project = write_project(
        tmp_path / "proj",
        {
            "aml_config/local.compute": 'type: "local"\npythonLocation: "python"\n',
            "aml_config/local.runconfig": 'ArgumentVector: ["$file"]\nTarget: "local"\n'
            'Framework: "Python"\n',
            "train.py": "print('hello')\n",
        },
    )
    run = venv.exp("run", "-c", "local", "train.py", cwd=project)
    assert run.returncode == 2, run.output
    assert "expkit-local" in run.stderr
    assert "pip install expkit-local" in run.stderr
    assert "Traceback" not in run.output
