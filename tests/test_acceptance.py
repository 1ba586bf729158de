"""Issue 2 "Done when", through the real installed ``exp`` and its real entry points.

No fake registry here: ``exp`` is the console script of the dev venv, and the
plugins it lists are the first-party distributions installed there. Each
subprocess gets the ``project`` fixture's isolated environment (its own
``EXPKIT_CACHE_DIR``, no inherited ``EXPKIT_*`` variables).
"""

from __future__ import annotations

import json
import textwrap
from importlib.metadata import version
from pathlib import Path

import pytest

FIRST_PARTY = {
    # plugin (entry point) name -> (package, primary target type, aliases)
    "local": ("expkit-local", "local", []),
    "docker": ("expkit-docker", "docker", ["localdocker"]),
    "remotedocker": ("expkit-remotedocker", "remotedocker", ["remote"]),
    "hdinsight": ("expkit-hdinsight", "cluster", ["hdinsight"]),
}


def assert_clean_failure(result, code: int) -> None:
    assert result.returncode == code, result.output
    assert "Traceback" not in result.output
    assert "internal error" not in result.output


@pytest.fixture
def workbench(project):
    """A project made by ``exp init``, with a trivial script."""
    result = project.exp("init")
    assert result.returncode == 0, result.output
    project.write("x.py", "print('hello from x')\n")
    return project


def test_plugins_json_lists_the_four_first_party_target_types(project):
    result = project.exp("plugins", "--json")
    assert result.returncode == 0, result.output
    plugins = {p["name"]: p for p in json.loads(result.stdout)}
    assert set(plugins) == set(FIRST_PARTY)
    for name, (package, type_name, aliases) in FIRST_PARTY.items():
        plugin = plugins[name]
        assert plugin["package"] == package
        assert plugin["version"] == version(package)
        assert [t["name"] for t in plugin["types"]] == [type_name]
        assert plugin["types"][0]["aliases"] == aliases
    all_types = {t["name"] for p in plugins.values() for t in p["types"]}
    assert all_types == {"local", "docker", "remotedocker", "cluster"}


def test_plain_plugins_shows_them_too(project):
    result = project.exp("plugins")
    assert result.returncode == 0, result.output
    rows = {line.split()[0]: line for line in result.stdout.splitlines()[1:] if line.strip()}
    assert set(rows) == set(FIRST_PARTY)
    for name, (package, type_name, _aliases) in FIRST_PARTY.items():
        cells = rows[name].split()
        assert cells[1:4] == [package, version(package), type_name]


def test_version(project):
    result = project.exp("--version")
    assert result.returncode == 0, result.output
    assert version("expkit") in result.stdout
    assert "exp" in result.stdout


def test_disabled_docker_plugin_gives_a_clear_error(workbench):
    # Warm the session's entry-point cache with docker enabled first: the cache
    # holds the entries, and the disabled run below must still drop docker
    # when it reads them back from it.
    assert workbench.exp("plugins", "--json").returncode == 0
    cache = Path(workbench.env["EXPKIT_CACHE_DIR"]) / "entry-points.json"
    cached = json.loads(cache.read_text(encoding="utf-8"))
    assert "docker" in {entry[0] for entry in cached["entries"]}

    result = workbench.exp("run", "-c", "docker", "x.py", env={"EXPKIT_DISABLE_PLUGINS": "docker"})
    assert_clean_failure(result, 2)
    err = result.stderr
    assert str(Path("aml_config") / "docker.compute") in err
    assert "type:" in err
    assert "unknown target type 'docker'" in err
    assert "installed target types: cluster, local, remotedocker." in err
    assert "expkit-docker is installed but disabled by EXPKIT_DISABLE_PLUGINS" in err
    assert "hello from x" not in result.output
    # The cache was used as it was, not rewritten without docker.
    assert json.loads(cache.read_text(encoding="utf-8")) == cached

    # `exp plugins` under the same variable agrees: docker is not loaded.
    listed = workbench.exp("plugins", "--json", env={"EXPKIT_DISABLE_PLUGINS": "docker"})
    assert "docker" not in {p["name"] for p in json.loads(listed.stdout)}


def test_disabled_run_creates_no_run_record(workbench):
    result = workbench.exp("run", "-c", "docker", "x.py", env={"EXPKIT_DISABLE_PLUGINS": "docker"})
    assert_clean_failure(result, 2)
    runs = workbench.exp("runs", "list", "--json")
    assert runs.returncode == 0, runs.output
    assert json.loads(runs.stdout) == []

    # A control: a run that does happen is listed, so the empty list above means
    # nothing was recorded rather than nothing being listable.
    local = workbench.exp("run", "-c", "local", "x.py")
    assert local.returncode == 0, local.output
    records = json.loads(workbench.exp("runs", "list", "--json").stdout)
    assert [(r["runconfig"], r["status"]) for r in records] == [("local", "completed")]


def test_workbench_localdocker_spelling_disabled_too(workbench):
    """Workbench wrote ``type: localdocker``; disabling docker covers the alias."""
    workbench.write(
        "aml_config/docker.compute",
        """
        type: "localdocker"
        baseDockerImage: python:3.11-slim
        """,
    )
    result = workbench.exp("run", "-c", "docker", "x.py", env={"EXPKIT_DISABLE_PLUGINS": "docker"})
    assert_clean_failure(result, 2)
    assert "unknown target type 'localdocker'" in result.stderr
    assert "expkit-docker is installed but disabled by EXPKIT_DISABLE_PLUGINS" in result.stderr


def third_party_plugin(root: Path) -> Path:
    """A plugin installed beside the first-party ones that also claims ``local``."""
    site = root / "third-party"
    (site / "expkit_dupe-0.1.dist-info").mkdir(parents=True)
    (site / "expkit_dupe.py").write_text(
        textwrap.dedent(
            """
            from expkit.hookspecs import hookimpl
            from expkit.model import TargetType

            class Plugin:
                @hookimpl
                def expkit_target_types(self):
                    return [TargetType(name="native", aliases=("local",), package="expkit-dupe")]

            plugin = Plugin()
            """
        ),
        encoding="utf-8",
    )
    (site / "expkit_dupe-0.1.dist-info" / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: expkit-dupe\nVersion: 0.1\n", encoding="utf-8"
    )
    (site / "expkit_dupe-0.1.dist-info" / "entry_points.txt").write_text(
        "[expkit]\ndupe = expkit_dupe:plugin\n", encoding="utf-8"
    )
    return site


def test_two_installed_plugins_claiming_one_type_name_both(project, tmp_path):
    site = third_party_plugin(tmp_path)
    result = project.exp("plugins", env={"PYTHONPATH": str(site)})
    # A clean error exit (2 or 3), not an internal error (1) or a traceback.
    assert result.returncode in (2, 3), result.output
    assert "Traceback" not in result.output and "internal error" not in result.output
    err = result.stderr
    assert "two plugins claim target type 'local'" in err
    assert "dupe (expkit-dupe)" in err and "local (expkit-local)" in err
    assert "EXPKIT_DISABLE_PLUGINS=" in err

    resolved = project.exp(
        "plugins", "--json", env={"PYTHONPATH": str(site), "EXPKIT_DISABLE_PLUGINS": "dupe"}
    )
    assert resolved.returncode == 0, resolved.output
    assert {p["name"] for p in json.loads(resolved.stdout)} == set(FIRST_PARTY)
