"""The plugin manager: type collisions, disabling, unknown types, the entry-point cache.

Collision and resolve tests register small fake plugin objects on a registry
built without entry points (the datasette / llm pattern), so they do not
depend on which plugins happen to be installed. The cache tests run a fresh
interpreter each time, because "importlib.metadata was not imported" can only
be observed in a process that has not imported it yet.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from expkit.errors import ConfigError, ExpkitError
from expkit.hookspecs import hookimpl
from expkit.model import TargetType
from expkit.plugins import DISABLE_ENV, Registry, disabled_plugins, make_plugin_manager


class FakePlugin:
    """A plugin object that declares the given target types and nothing else."""

    def __init__(self, *types: TargetType) -> None:
        self._types = types

    @hookimpl
    def expkit_target_types(self) -> list[TargetType]:
        return list(self._types)


@pytest.fixture
def registry():
    """An empty registry; every plugin a test registers is removed afterwards."""
    reg = Registry(make_plugin_manager(entry_points=False))
    yield reg
    # Straight through pluggy: Registry.unregister re-reads the types, which
    # raises again while a colliding pair is still registered.
    for name, plugin in reg.pm.list_name_plugin():
        if plugin is not None and name != "expkit.hookspecs":
            reg.pm.unregister(name=name)


def local_type(package: str = "expkit-local", **kw) -> TargetType:
    return TargetType(name=kw.pop("name", "local"), package=package, **kw)


# --- two plugins, one target type --------------------------------------------------


def assert_names_both(exc: ExpkitError, type_name: str) -> None:
    message = str(exc)
    assert f"two plugins claim target type {type_name!r}" in message
    assert "first (expkit-local)" in message
    assert "second (expkit-otherlocal)" in message
    assert "Uninstall one of them" in message
    assert f"{DISABLE_ENV}=second" in message


def test_two_plugins_declaring_the_same_type_is_an_error_naming_both(registry):
    registry.register(FakePlugin(local_type()), name="first")
    with pytest.raises(ExpkitError) as info:
        registry.register(FakePlugin(local_type("expkit-otherlocal")), name="second")
    assert_names_both(info.value, "local")


def test_an_alias_colliding_with_another_plugins_name_is_an_error(registry):
    registry.register(FakePlugin(local_type()), name="first")
    other = local_type("expkit-otherlocal", name="mylocal", aliases=("local",))
    with pytest.raises(ExpkitError) as info:
        registry.register(FakePlugin(other), name="second")
    assert_names_both(info.value, "local")


def test_a_name_colliding_with_another_plugins_alias_is_an_error(registry):
    registry.register(FakePlugin(local_type(name="native", aliases=("local",))), name="first")
    with pytest.raises(ExpkitError) as info:
        registry.register(FakePlugin(local_type("expkit-otherlocal")), name="second")
    assert_names_both(info.value, "local")


def test_plugins_with_distinct_types_coexist_and_unregister_removes_types(registry):
    registry.register(FakePlugin(local_type(aliases=("native",))), name="first")
    registry.register(
        FakePlugin(TargetType(name="fake", package="expkit-fake", aliases=("fk",))), name="second"
    )
    assert set(registry.types) == {"local", "native", "fake", "fk"}
    assert registry.owner("native") == "first" and registry.owner("fk") == "second"
    assert [t.name for t in registry.primary_types()] == ["fake", "local"]

    registry.unregister("second")
    assert set(registry.types) == {"local", "native"}
    # With the conflicting plugin gone, the other may now claim its names.
    registry.register(FakePlugin(local_type("expkit-otherlocal", name="fk")), name="third")
    assert registry.owner("fk") == "third"


def test_one_plugin_repeating_its_own_type_is_not_a_collision(registry):
    registry.register(FakePlugin(local_type(), local_type(aliases=("local",))), name="first")
    assert registry.resolve("local").package == "expkit-local"


# --- EXPKIT_DISABLE_PLUGINS -------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("", set()),
        ("docker", {"docker"}),
        ("docker,hdinsight", {"docker", "hdinsight"}),
        (" docker , hdinsight ", {"docker", "hdinsight"}),
        (",docker,,  ,local,", {"docker", "local"}),
        ("   ", set()),
    ],
)
def test_disabled_plugins_parses_commas_and_spaces(monkeypatch, raw, expected):
    monkeypatch.setenv(DISABLE_ENV, raw)
    assert disabled_plugins() == expected


def test_disabled_plugins_when_unset(monkeypatch):
    monkeypatch.delenv(DISABLE_ENV, raising=False)
    assert disabled_plugins() == set()


def test_disabled_entry_points_are_not_registered(monkeypatch, tmp_path):
    """Real installed entry points: the first-party plugins of the dev venv."""
    monkeypatch.setenv("EXPKIT_CACHE_DIR", str(tmp_path))
    monkeypatch.setenv(DISABLE_ENV, " docker , hdinsight")
    reg = Registry(make_plugin_manager())
    assert reg.pm.get_plugin("docker") is None and reg.pm.get_plugin("hdinsight") is None
    assert reg.pm.get_plugin("local") is not None
    assert "docker" not in reg.types and "localdocker" not in reg.types
    assert "local" in reg.types and "remotedocker" in reg.types

    with pytest.raises(ConfigError) as info:
        reg.resolve("localdocker")
    message = str(info.value)
    assert "installed target types: local, remotedocker." in message
    assert "expkit-docker is installed but disabled by EXPKIT_DISABLE_PLUGINS" in message

    # The same cache, read back without the variable: nothing stays disabled.
    monkeypatch.delenv(DISABLE_ENV)
    reg = Registry(make_plugin_manager())
    assert {"docker", "cluster", "local", "remotedocker"} <= set(reg.types)


# --- unknown target types ---------------------------------------------------------


def test_resolve_unknown_type_with_no_plugins(registry, tmp_path):
    source = tmp_path / "aml_config" / "gpu.compute"
    with pytest.raises(ConfigError) as info:
        registry.resolve("quantum", source=source)
    err = info.value
    assert err.exit_code == 2
    assert err.key == "type" and err.file == source
    message = str(err)
    assert "unknown target type 'quantum'" in message
    assert "no target plugins are installed" in message
    assert "pip install expkit-local" in message


def test_resolve_unknown_type_lists_installed_types(registry):
    registry.register(FakePlugin(local_type(aliases=("native",))), name="first")
    registry.register(FakePlugin(TargetType(name="fake", package="expkit-fake")), name="second")
    with pytest.raises(ConfigError) as info:
        registry.resolve("quantum")
    # Primary names only, sorted; aliases are not separate types.
    assert "installed target types: fake, local." in str(info.value)


@pytest.mark.parametrize(
    ("type_name", "provider"),
    [
        ("docker", "expkit-docker"),
        ("localdocker", "expkit-docker"),
        ("remote", "expkit-remotedocker"),
        ("cluster", "expkit-hdinsight"),
    ],
)
def test_resolve_known_provider_not_installed_says_what_to_install(
    registry, monkeypatch, type_name, provider
):
    monkeypatch.delenv(DISABLE_ENV, raising=False)
    registry.register(FakePlugin(local_type()), name="first")
    with pytest.raises(ConfigError) as info:
        registry.resolve(type_name)
    message = str(info.value)
    assert "installed target types: local." in message
    assert f"install {provider} to use it: `pip install {provider}`" in message
    assert "disabled" not in message


def test_resolve_known_provider_disabled_says_so(registry, monkeypatch):
    monkeypatch.setenv(DISABLE_ENV, "local, hdinsight")
    with pytest.raises(ConfigError) as info:
        registry.resolve("hdinsight")
    message = str(info.value)
    assert "expkit-hdinsight is installed but disabled by EXPKIT_DISABLE_PLUGINS" in message
    assert "pip install expkit-hdinsight" not in message


# --- the entry-point cache --------------------------------------------------------

PROBE = textwrap.dedent(
    """
    import json, sys
    from expkit.entrypoints import expkit_entry_points as _expkit_entry_points
    entries = _expkit_entry_points()
    print(json.dumps({"metadata": "importlib.metadata" in sys.modules, "entries": entries}))
    """
)


def probe(cache: Path, *extra_path: Path) -> dict:
    """Read the entry points in a fresh interpreter; did it need importlib.metadata?"""
    env = {k: v for k, v in os.environ.items() if not k.startswith("EXPKIT_")}
    env["EXPKIT_CACHE_DIR"] = str(cache)
    env["PYTHONPATH"] = os.pathsep.join(str(p) for p in extra_path)
    proc = subprocess.run(
        [sys.executable, "-c", PROBE],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def names(result: dict) -> set[str]:
    return {entry[0] for entry in result["entries"]}


FIRST_PARTY = {"local", "docker", "remotedocker", "hdinsight"}


def install_fake_dist(site: Path) -> None:
    """A ``.dist-info`` with an ``expkit`` entry point, as pip would leave it."""
    info = site / "expkit_extra-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: expkit-extra\nVersion: 0.1\n", encoding="utf-8"
    )
    (info / "entry_points.txt").write_text(
        "[expkit]\nextra = expkit_extra:plugin\n", encoding="utf-8"
    )


def set_mtime(path: Path, seconds: int) -> None:
    # Explicit mtimes: an install within one coarse clock tick of the previous
    # read would otherwise leave the folder's mtime unchanged and the test flaky.
    os.utime(path, ns=(seconds * 10**9, seconds * 10**9))


def test_second_load_with_unchanged_stamp_skips_importlib_metadata(tmp_path):
    cache = tmp_path / "cache"
    first = probe(cache)
    assert first["metadata"] is True
    assert FIRST_PARTY <= names(first)
    assert (cache / "entry-points.json").is_file()

    second = probe(cache)
    assert second["metadata"] is False
    assert second["entries"] == first["entries"]


def test_changed_site_packages_mtime_refreshes_the_cache(tmp_path):
    cache = tmp_path / "cache"
    site = tmp_path / "site-packages"
    site.mkdir()
    set_mtime(site, 1_000_000_000)
    assert "extra" not in names(probe(cache, site))
    assert probe(cache, site)["metadata"] is False

    install_fake_dist(site)
    set_mtime(site, 1_000_000_100)
    installed = probe(cache, site)
    assert installed["metadata"] is True
    assert ["extra", "expkit_extra:plugin", "expkit-extra", "0.1"] in installed["entries"]
    assert FIRST_PARTY <= names(installed)
    again = probe(cache, site)
    assert again["metadata"] is False and again["entries"] == installed["entries"]

    # An uninstall renames/removes the .dist-info folder: the same mechanism.
    for child in (site / "expkit_extra-0.1.dist-info").iterdir():
        child.unlink()
    (site / "expkit_extra-0.1.dist-info").rmdir()
    set_mtime(site, 1_000_000_200)
    removed = probe(cache, site)
    assert removed["metadata"] is True
    assert "extra" not in names(removed)


def test_changed_sys_path_refreshes_the_cache(tmp_path):
    cache = tmp_path / "cache"
    probe(cache)
    assert probe(cache)["metadata"] is False
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    assert probe(cache, elsewhere)["metadata"] is True
    assert probe(cache, elsewhere)["metadata"] is False


def test_corrupt_cache_is_rebuilt(tmp_path):
    cache = tmp_path / "cache"
    cache.mkdir()
    (cache / "entry-points.json").write_text("{not json", encoding="utf-8")
    result = probe(cache)
    assert result["metadata"] is True and FIRST_PARTY <= names(result)
    assert json.loads((cache / "entry-points.json").read_text(encoding="utf-8"))["entries"]
    assert probe(cache)["metadata"] is False


def test_two_sys_paths_keep_their_own_cached_listing(tmp_path):
    # `exp` and `python -m ...` see different sys.paths: neither evicts the other.
    cache = tmp_path / "cache"
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    probe(cache)
    probe(cache, elsewhere)
    assert probe(cache)["metadata"] is False
    assert probe(cache, elsewhere)["metadata"] is False
