"""The plugin manager: entry-point discovery and the target-type registry."""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass

import pluggy

from expkit import hookspecs
from expkit.errors import ConfigError, ExpkitError, UsageError
from expkit.model import TargetType

ENTRY_POINT_GROUP = "expkit"
DISABLE_ENV = "EXPKIT_DISABLE_PLUGINS"

#: Which distribution provides each well-known ``type:`` value, to say what to install.
KNOWN_PROVIDERS = {
    "local": "expkit-local",
    "docker": "expkit-docker",
    "localdocker": "expkit-docker",
    "remotedocker": "expkit-remotedocker",
    "remote": "expkit-remotedocker",
    "cluster": "expkit-hdinsight",
    "hdinsight": "expkit-hdinsight",
}


@dataclass(frozen=True)
class PluginInfo:
    name: str
    package: str | None
    version: str | None
    types: tuple[str, ...]


def disabled_plugins() -> set[str]:
    raw = os.environ.get(DISABLE_ENV, "")
    return {part.strip() for part in raw.split(",") if part.strip()}


class Registry:
    """A plugin manager plus the target types its plugins declared."""

    def __init__(self, pm: pluggy.PluginManager) -> None:
        self.pm = pm
        self.hook = pm.hook
        self._types: dict[str, TargetType] = {}
        self._owners: dict[str, str] = {}
        self._collect_types()

    def _collect_types(self) -> None:
        for impl in self.pm.hook.expkit_target_types.get_hookimpls():
            owner = self.pm.get_name(impl.plugin) or repr(impl.plugin)
            for ttype in impl.function() or ():
                for name in (ttype.name, *ttype.aliases):
                    if name in self._owners and self._owners[name] != owner:
                        first = self._owners[name]
                        raise UsageError(
                            f"two plugins claim target type {name!r}: "
                            f"{first} ({self._types[name].package}) and "
                            f"{owner} ({ttype.package}).\n"
                            f"  Uninstall one of them, or disable one with "
                            f"{DISABLE_ENV}={first} or {DISABLE_ENV}={owner}."
                        )
                    self._owners[name] = owner
                    self._types[name] = ttype

    def register(self, plugin: object, name: str | None = None) -> None:
        """Register a plugin object (tests, embedding) and re-read its types."""
        registered = self.pm.register(plugin, name=name)
        try:
            self._refresh()
        except ExpkitError:
            # A conflicting plugin must not stay half-registered.
            self.pm.unregister(plugin, name=registered)
            self._refresh()
            raise

    def unregister(self, name: str) -> None:
        self.pm.unregister(name=name)
        self._refresh()

    def _refresh(self) -> None:
        self._types.clear()
        self._owners.clear()
        self._collect_types()

    @property
    def types(self) -> dict[str, TargetType]:
        """Every declared type name and alias -> its TargetType."""
        return dict(self._types)

    def primary_types(self) -> list[TargetType]:
        seen: dict[str, TargetType] = {}
        for ttype in self._types.values():
            seen.setdefault(ttype.name, ttype)
        return sorted(seen.values(), key=lambda t: t.name)

    def owner(self, type_name: str) -> str | None:
        return self._owners.get(type_name)

    def resolve(self, type_name: str, *, source: object = None) -> TargetType:
        """The TargetType for ``type_name``, or a clear error saying what to install."""
        if type_name in self._types:
            return self._types[type_name]
        installed = sorted(t.name for t in self.primary_types())
        from expkit.installhint import install_command

        if not installed:
            example = install_command("expkit-local")
            hint = f"no target plugins are installed: install one, e.g. `{example}`."
        else:
            hint = "installed target types: " + ", ".join(installed) + "."
        provider = KNOWN_PROVIDERS.get(type_name)
        if provider:
            plugin_name = provider.removeprefix("expkit-")
            if plugin_name in disabled_plugins() and _has_entry_point(plugin_name):
                hint += f"\n  {provider} is installed but disabled by {DISABLE_ENV}."
            else:
                hint += f"\n  install {provider} to use it: `{install_command(provider)}`."
        raise ConfigError(
            f"unknown target type {type_name!r}",
            file=source if source is not None else None,
            key="type",
            hint=hint,
        )

    def plugins(self) -> list[PluginInfo]:
        infos = []
        dists = dict(self.pm.list_plugin_distinfo())
        for name, plugin in self.pm.list_name_plugin():
            if plugin is None or name == hookspecs.__name__:
                continue
            dist = dists.get(plugin)
            types = tuple(t for t, o in self._owners.items() if o == name)
            infos.append(
                PluginInfo(
                    name=name,
                    package=dist.project_name if dist else None,
                    version=dist.version if dist else None,
                    types=types,
                )
            )
        return sorted(infos, key=lambda p: p.name)


def load_entry_points(pm: pluggy.PluginManager, disabled: Iterable[str] = ()) -> None:
    """Register every ``expkit`` entry point except the disabled ones.

    Reads the group through a small cache validated by the mtimes of the
    ``sys.path`` folders; on a hit, importlib.metadata (tens of milliseconds
    of imports) is not touched at all: start-up cost is part of every run.
    """
    blocked = set(disabled)
    for name, value, dist_name, dist_version in _expkit_entry_points():
        if name in blocked or pm.get_plugin(name) is not None or pm.is_blocked(name):
            continue
        try:
            plugin = _load_object(value)
        except Exception as exc:  # a broken third-party plugin must not break exp
            import warnings

            warnings.warn(f"expkit plugin {name!r} failed to load: {exc}", stacklevel=2)
            continue
        pm.register(plugin, name=name)
        if dist_name:
            pm._plugin_distinfo.append((plugin, _DistFacade(dist_name, dist_version)))  # noqa: SLF001


def _has_entry_point(name: str) -> bool:
    """Whether an ``expkit`` entry point called ``name`` is installed (cached lookup)."""
    return any(entry[0] == name for entry in _expkit_entry_points())


def _load_object(value: str) -> object:
    """What an entry point ``module[:attr.attr]`` value names (EntryPoint.load, without its imports)."""
    import importlib

    module_name, _, attrs = value.partition(":")
    obj = importlib.import_module(module_name.strip())
    for attr in filter(None, attrs.strip().split(".")):
        obj = getattr(obj, attr)
    return obj


def _path_stamp() -> list:
    """What invalidates the entry-point cache: sys.path, and the mtimes of the
    folders that hold distributions (an install or uninstall renames a
    ``*.dist-info`` folder inside one of them)."""
    import sys

    stamp: list = [list(sys.path)]
    for entry in sys.path:
        if os.path.basename(entry) not in ("site-packages", "dist-packages"):
            continue
        try:
            stamp.append([entry, os.stat(entry).st_mtime_ns])
        except OSError:
            stamp.append([entry, None])
    return stamp


def _expkit_entry_points() -> list:
    """[name, value, distribution name, version] for the ``expkit`` group, cached."""
    import json

    from expkit.paths import cache_dir

    cache = cache_dir() / "entry-points.json"
    stamp = _path_stamp()
    try:
        data = json.loads(cache.read_text(encoding="utf-8"))
        if data.get("stamp") == stamp:
            return data["entries"]
    except (OSError, ValueError, KeyError, TypeError):
        pass
    from importlib.metadata import entry_points

    entries = []
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        dist = ep.dist
        entries.append(
            [
                ep.name,
                ep.value,
                dist.metadata["name"] if dist else None,
                dist.version if dist else None,
            ]
        )
    try:
        from expkit.fsutil import atomic_write_text

        cache.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_text(cache, json.dumps({"stamp": stamp, "entries": entries}), durable=False)
    except OSError:
        pass  # a read-only cache only costs speed
    return entries


class _DistFacade:
    """What pluggy's ``list_plugin_distinfo`` expects of a distribution."""

    def __init__(self, name: str, version: str | None) -> None:
        self.project_name = name
        self.version = version


def make_plugin_manager(*, entry_points: bool = True) -> pluggy.PluginManager:
    pm = pluggy.PluginManager(hookspecs.PROJECT)
    pm.add_hookspecs(hookspecs)
    if entry_points:
        load_entry_points(pm, disabled_plugins())
    return pm


_registry: Registry | None = None


def get_registry() -> Registry:
    """The process-wide registry, built on first use."""
    global _registry
    if _registry is None:
        _registry = Registry(make_plugin_manager())
    return _registry


def set_registry(registry: Registry | None) -> None:
    """Replace (or with None, reset) the process-wide registry; for tests."""
    global _registry
    _registry = registry


def require_available(ttype: TargetType) -> None:
    if not ttype.available:
        from expkit.errors import TargetNotAvailableError

        raise TargetNotAvailableError(
            f"target type {ttype.name!r} ({ttype.package}) is not available yet: "
            "this version validates its configuration but cannot run it."
        )


__all__ = [
    "ENTRY_POINT_GROUP",
    "Registry",
    "UsageError",
    "get_registry",
    "make_plugin_manager",
    "set_registry",
]
