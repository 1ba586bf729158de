"""Finding, loading and checking the ``expkit`` entry points, fast.

Every ``exp`` start loads the installed target plugins, so the group is read
through a small cache validated by the mtimes of the ``sys.path`` folders;
on a hit, importlib.metadata (tens of milliseconds of imports) is not
touched at all.
"""

from __future__ import annotations

import os
from collections.abc import Iterable

import pluggy

from expkit import hookspecs
from expkit.errors import UsageError

ENTRY_POINT_GROUP = "expkit"
DISABLE_ENV = "EXPKIT_DISABLE_PLUGINS"


def disabled_plugins() -> set[str]:
    raw = os.environ.get(DISABLE_ENV, "")
    return {part.strip() for part in raw.split(",") if part.strip()}


def load_entry_points(pm: pluggy.PluginManager, disabled: Iterable[str] = ()) -> None:
    """Register every ``expkit`` entry point except the disabled ones.

    Reads the group through a small cache validated by the mtimes of the
    ``sys.path`` folders; on a hit, importlib.metadata (tens of milliseconds
    of imports) is not touched at all: start-up cost is part of every run.
    """
    blocked = set(disabled)
    for name, value, dist_name, dist_version in expkit_entry_points():
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
            facade = _DistFacade(dist_name, dist_version)
            pm._plugin_distinfo.append((plugin, facade))  # type: ignore[arg-type]  # noqa: SLF001


def has_entry_point(name: str) -> bool:
    """Whether an ``expkit`` entry point called ``name`` is installed (cached lookup)."""
    return any(entry[0] == name for entry in expkit_entry_points())


def _load_object(value: str) -> object:
    """What an entry point value ``module[:attr.attr]`` names (EntryPoint.load's job,
    without importlib.metadata)."""
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


def expkit_entry_points() -> list:
    """[name, value, distribution name, version] for the ``expkit`` group, cached."""
    import json

    from expkit.paths import cache_dir

    cache = cache_dir() / "entry-points.json"
    stamp = _path_stamp()
    # The newest listing on top ("stamp", "entries"); a few for other sys.paths
    # (``exp`` and ``python -m ...`` see different ones) under "others".
    others: list = []
    try:
        data = json.loads(cache.read_text(encoding="utf-8"))
        others = [{"stamp": data["stamp"], "entries": data["entries"]}]
        others += [o for o in data.get("others", ()) if isinstance(o, dict)]
        for known in others:
            if known.get("stamp") == stamp:
                return known["entries"]
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        others = []
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

        kept = [o for o in others if o.get("stamp") != stamp][:3]
        text = json.dumps({"stamp": stamp, "entries": entries, "others": kept})
        cache.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_text(cache, text, durable=False)
    except OSError:
        pass  # a read-only cache only costs speed
    return entries


class _DistFacade:
    """What pluggy's ``list_plugin_distinfo`` expects of a distribution."""

    def __init__(self, name: str, version: str | None) -> None:
        self.project_name = name
        self.version = version


def check_hooks(pm: pluggy.PluginManager) -> None:
    """pluggy's ``check_pending``: every implemented hook has a spec (or is marked optional).

    Without it a misspelled hook (``expkit_sumbit``) is silently never called.
    The error names the plugin, the hook and the spelling it probably meant.
    """
    try:
        pm.check_pending()
    except pluggy.PluginValidationError as exc:
        import difflib

        plugin = pm.get_name(exc.plugin) or repr(exc.plugin)
        unknown = [
            name
            for name in dir(pm.hook)
            if name.startswith("expkit_")
            and not getattr(pm.hook, name).has_spec()
            and any(impl.plugin is exc.plugin for impl in getattr(pm.hook, name).get_hookimpls())
        ]
        known = [name for name in dir(hookspecs) if name.startswith("expkit_")]
        hints = []
        for name in unknown or ["?"]:
            close = difflib.get_close_matches(name, known, n=1)
            if close:
                hints.append(f"{name} -> {close[0]}?")
        raise UsageError(
            f"plugin {plugin!r} implements a hook expkit does not define: "
            f"{', '.join(unknown) or exc}"
            + (f" (did you mean: {'; '.join(hints)})" if hints else "")
            + f".\n  Fix the plugin, or disable it with {DISABLE_ENV}={plugin}."
        ) from None
