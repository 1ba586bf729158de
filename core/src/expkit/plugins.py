"""The plugin manager: entry-point discovery, the target-type registry, and hook dispatch.

The core calls plugins through :class:`Registry`'s typed methods (``attach``,
``prepare``, ``submit``, ``collect``, ``list_environments``,
``remove_environment``, ``stop_orphan``, ``run_started``, ``run_finished``),
never through ``pm.hook`` directly: the rule for a call that no plugin
answered (:class:`NoOwnerError`, or the documented default of an optional
hook) and the isolation of event-hook failures live here, once.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import pluggy

from expkit import hookspecs
from expkit.entrypoints import (
    DISABLE_ENV,
    ENTRY_POINT_GROUP,
    check_hooks,
    disabled_plugins,
    has_entry_point,
    load_entry_points,
)
from expkit.errors import ConfigError, ExpkitError, InfrastructureError, UsageError
from expkit.model import TargetType

if TYPE_CHECKING:
    from expkit.model import (
        AttachRequest,
        AttachResult,
        Collected,
        ComputeTarget,
        EnvironmentInfo,
        Execution,
        PreparedEnvironment,
        PrepareRequest,
        RunContext,
        RunRecord,
    )


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


#: Event hooks: every implementation is called; a failing one is only a warning.
EVENT_HOOKS = ("expkit_run_started", "expkit_run_finished")
#: What the plugin owning a type does in each target hook, for "no plugin ..." messages.
_DUTIES = {
    "expkit_attach": "attaches targets",
    "expkit_prepare": "prepares environments",
    "expkit_submit": "runs scripts",
    "expkit_collect": "collects outputs",
    "expkit_stop_orphan": "stops runs",
    "expkit_reattach": "re-attaches detached runs",
}


class NoOwnerError(InfrastructureError):
    """No installed plugin answered a target hook for a type (every one returned None)."""

    def __init__(self, hook: str, type_name: str) -> None:
        duty = _DUTIES.get(hook, f"handles {hook}")
        super().__init__(
            f"no installed plugin {duty} for target type {type_name!r} "
            f"(every plugin returned nothing for {hook}); see `exp plugins`."
        )
        self.hook = hook
        self.type_name = type_name


class Registry:
    """A plugin manager plus the target types its plugins declared."""

    def __init__(self, pm: pluggy.PluginManager) -> None:
        self.pm = pm
        self.hook = pm.hook
        self._types: dict[str, TargetType] = {}
        self._owners: dict[str, str] = {}
        #: Where event-hook failures go during an event call (see _guard_events).
        self._event_note: Callable[[str], None] | None = None
        self._collect_types()
        self._guard_events()

    def _collect_types(self) -> None:
        for impl in self.pm.hook.expkit_target_types.get_hookimpls():
            owner = self.pm.get_name(impl.plugin) or repr(impl.plugin)
            declared = cast("list[TargetType]", impl.function() or [])
            for ttype in declared:
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
        """Register a plugin object (tests, embedding) and re-read its types.

        A plugin that implements a hook the specs do not know (a misspelled
        name) or declares a type another plugin owns is refused.
        """
        registered = self.pm.register(plugin, name=name)
        try:
            check_hooks(self.pm)
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
        self._guard_events()

    # ------------------------------------------------------------------ target hooks
    # One plugin owns each call (firstresult). A required hook no plugin
    # answered raises NoOwnerError; an optional one returns its documented default.

    def _owned(self, hook: str, type_name: str, **kwargs: Any) -> Any:
        result = getattr(self.pm.hook, hook)(**kwargs)
        if result is None:
            raise NoOwnerError(hook, type_name)
        return result

    def attach(self, request: AttachRequest) -> AttachResult:
        """``expkit_attach``: what ``exp target attach`` writes for ``request.type``."""
        return self._owned("expkit_attach", request.type, request=request)

    def prepare(self, request: PrepareRequest) -> PreparedEnvironment:
        """``expkit_prepare``: the run's environment, ready."""
        return self._owned("expkit_prepare", request.compute.type, request=request)

    def submit(self, run: RunContext, environment: PreparedEnvironment) -> Execution:
        """``expkit_submit``: the started script's handle."""
        return self._owned("expkit_submit", run.compute.type, run=run, environment=environment)

    def collect(self, run: RunContext, execution: Execution) -> Collected:
        """``expkit_collect``: the run's outputs and notes, brought back."""
        return self._owned("expkit_collect", run.compute.type, run=run, execution=execution)

    def stop_orphan(self, compute: ComputeTarget, run_id: str, run_dir: Path) -> bool:
        """``expkit_stop_orphan``: whether something a lost run left was stopped."""
        return bool(
            self._owned(
                "expkit_stop_orphan", compute.type, compute=compute, run_id=run_id, run_dir=run_dir
            )
        )

    def reattach(self, run: RunContext) -> Execution:
        """``expkit_reattach``: a detached run's handle again (expkit.runner.detached)."""
        return self._owned("expkit_reattach", run.compute.type, run=run)

    def warm_up(self, compute: ComputeTarget) -> None:
        """``expkit_warm_up``: slow early work for a run on ``compute``; never raises (the
        step that needs the work reports its failure)."""
        try:
            self.pm.hook.expkit_warm_up(compute=compute)
        except Exception:  # noqa: BLE001 - by contract: prepare reports the same failure
            pass

    def list_environments(self, compute: ComputeTarget) -> list[EnvironmentInfo]:
        """``expkit_list_environments``; empty when no plugin keeps environments for the type."""
        return list(self.pm.hook.expkit_list_environments(compute=compute) or ())

    def remove_environment(self, compute: ComputeTarget, env_id: str) -> bool:
        """``expkit_remove_environment``; False when no plugin removed it."""
        return bool(self.pm.hook.expkit_remove_environment(compute=compute, env_id=env_id))

    # ------------------------------------------------------------------ event hooks

    def run_started(self, record: RunRecord, note: Callable[[str], None]) -> None:
        """``expkit_run_started``, through pluggy (wrappers included); failures go to ``note``."""
        self._event("expkit_run_started", record, note)

    def run_finished(self, record: RunRecord, note: Callable[[str], None]) -> None:
        """``expkit_run_finished``, as :meth:`run_started`."""
        self._event("expkit_run_finished", record, note)

    def _event(self, hook: str, record: RunRecord, note: Callable[[str], None]) -> None:
        self._event_note = note
        try:
            getattr(self.pm.hook, hook)(record=record)
        except Exception as exc:  # a wrapper failed: third-party code never changes the run
            note(f"warning: a plugin failed in {hook}: {type(exc).__name__}: {exc}")
        finally:
            self._event_note = None

    def _guard_events(self) -> None:
        """Make each event implementation's failure a warning that does not stop the others.

        pluggy stops a hook call at the first implementation that raises; an
        event must still reach every plugin. So each (non-wrapper)
        implementation's function is wrapped, once, in a guard that reports
        the failure to the current call's ``note`` and returns None. Wrappers
        see every call as a normal one.
        """
        for hook in EVENT_HOOKS:
            for impl in getattr(self.pm.hook, hook).get_hookimpls():
                if impl.hookwrapper or impl.wrapper or hasattr(impl.function, "__expkit_guarded__"):
                    continue
                setattr(impl, "function", self._guarded(impl.function, impl.plugin_name, hook))  # noqa: B010 - a Final attribute of pluggy's

    def _guarded(self, function: Callable[..., Any], plugin: str, hook: str) -> Callable[..., Any]:
        def guarded(*args: Any, **kwargs: Any) -> Any:
            try:
                return function(*args, **kwargs)
            except Exception as exc:  # third-party code must not change the run's outcome
                note = self._event_note
                if note is not None:
                    note(
                        f"warning: plugin {plugin!r} failed in {hook}: {type(exc).__name__}: {exc}"
                    )
                return None

        guarded.__expkit_guarded__ = True  # type: ignore[attr-defined]
        return guarded

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

    def resolve(self, type_name: str, *, source: Path | str | None = None) -> TargetType:
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
            if plugin_name in disabled_plugins() and has_entry_point(plugin_name):
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


def make_plugin_manager(*, entry_points: bool = True) -> pluggy.PluginManager:
    pm = pluggy.PluginManager(hookspecs.PROJECT)
    pm.add_hookspecs(hookspecs)
    if entry_points:
        load_entry_points(pm, disabled_plugins())
        check_hooks(pm)
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
    "DISABLE_ENV",
    "EVENT_HOOKS",
    "NoOwnerError",
    "Registry",
    "check_hooks",
    "disabled_plugins",
    "UsageError",
    "get_registry",
    "make_plugin_manager",
    "set_registry",
]
