"""Base classes for target plugins: write a target, not nine hook functions.

The hook contract (expkit.hookspecs) asks every target plugin for nine
hooks: ``expkit_target_types`` and eight *firstresult* target hooks, each
starting with "is this type mine?".
That check and the forwarding are the same in every plugin, so they live
here, once::

    # expkit_slurm/target.py
    class SlurmTarget(Target):
        target_type = TargetType(name="slurm", package="expkit-slurm")

        def attach(self, request): ...
        def prepare(self, request): ...
        def submit(self, run, environment): ...
        def collect(self, run, execution): ...

    # expkit_slurm/hooks.py   -- entry point: slurm = "expkit_slurm.hooks:plugin"
    plugin = TargetPlugin(SlurmTarget())

A plugin whose target module is heavy declares its type in ``hooks.py`` and
names the class, so ``exp`` imports it only for a command that uses it::

    TARGET_TYPE = TargetType(name="slurm", package="expkit-slurm")
    plugin = TargetPlugin.deferred(TARGET_TYPE, "expkit_slurm.target:SlurmTarget")

:class:`TargetPlugin` is the object pluggy registers: its methods carry the
``hookimpl`` markers, answer for the target's name and aliases, and return
None for every other type. The raw hooks stay the contract; a plugin may
still implement them itself.

Imported by every ``exp`` start through the plugins' hooks modules: standard
library and expkit's light modules only.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from expkit.errors import ConfigError
from expkit.hookspecs import hookimpl
from expkit.model import AttachResult, TargetType

if TYPE_CHECKING:
    from expkit.model import (
        AttachRequest,
        Collected,
        ComputeTarget,
        EnvironmentInfo,
        Execution,
        PreparedEnvironment,
        PrepareRequest,
        RunContext,
    )

#: Dependency files a run configuration names when they exist at attach time.
_DEPENDENCY_FILES = (
    ("CondaDependenciesFile", "conda_dependencies.yml"),
    ("SparkDependenciesFile", "spark_dependencies.yml"),
)


def workbench_runconfig(
    request: AttachRequest, *, framework: str = "Python", prepare_environment: bool = True
) -> dict[str, Any]:
    """The ``.runconfig`` contents Workbench wrote on attach, for ``request``.

    A dependency file is named only when it exists: a run configuration that
    names a missing file does not load.
    """
    runconfig: dict[str, Any] = {
        "ArgumentVector": ["$file"],
        "Target": request.name,
        "Framework": framework,
        "EnvironmentVariables": {},
    }
    aml_config = Path(request.project) / "aml_config"
    for key, filename in _DEPENDENCY_FILES:
        if (aml_config / filename).is_file():
            runconfig[key] = f"aml_config/{filename}"
    runconfig.update({"PrepareEnvironment": prepare_environment, "TrackedRun": True})
    return runconfig


def not_prepared(request: PrepareRequest, what: str) -> ConfigError:
    """The error for a run whose environment is not ready when ``request.build`` is False.

    ``what`` says what is missing (``image expkit-env:1f2e... is not built``).
    Raise it instead of building when the run configuration says
    ``PrepareEnvironment: false``; it points the user to ``exp prepare``.
    """
    runconfig = request.runconfig
    return ConfigError(
        f"is false, and the run's environment is not prepared: {what}",
        file=runconfig.source or f"aml_config/{runconfig.name}.runconfig",
        key="PrepareEnvironment",
        hint=f"prepare it first with `exp prepare -c {runconfig.name}`, or set "
        "PrepareEnvironment: true to prepare it as part of each run.",
    )


class Target(ABC):
    """A compute target: subclass, set ``target_type``, implement the four steps.

    Each method is called only for this target's own type (name or alias),
    so none of them checks the type. Keep module-level imports light and
    import SDKs inside the methods: ``exp`` creates every installed target at
    start-up.
    """

    #: The ``type:`` this target answers for (its name and aliases).
    target_type: ClassVar[TargetType]

    def owns(self, type_name: str) -> bool:
        """Whether ``type_name`` (a ``.compute`` ``type:``) is this target's name or alias."""
        return type_name == self.target_type.name or type_name in self.target_type.aliases

    @abstractmethod
    def attach(self, request: AttachRequest) -> AttachResult:
        """Validate ``exp target attach`` options; say what to write (see ``expkit_attach``)."""

    @abstractmethod
    def prepare(self, request: PrepareRequest) -> PreparedEnvironment:
        """Make the environment ready, cheaply on a cache hit (see ``expkit_prepare``)."""

    @abstractmethod
    def submit(self, run: RunContext, environment: PreparedEnvironment) -> Execution:
        """Start the script without waiting (see ``expkit_submit``)."""

    @abstractmethod
    def collect(self, run: RunContext, execution: Execution) -> Collected:
        """Bring back outputs and metrics, also for a failed run (see ``expkit_collect``)."""

    def list_environments(self, compute: ComputeTarget) -> list[EnvironmentInfo]:
        """The cached environments; a target that keeps no cache has none."""
        return []

    def remove_environment(self, compute: ComputeTarget, env_id: str) -> bool:
        """Delete one cached environment; False when it did not exist."""
        return False

    def stop_orphan(self, compute: ComputeTarget, run_id: str, run_dir: Path) -> bool:
        """Stop what a run whose ``exp`` died left running (see ``expkit_stop_orphan``)."""
        return False

    def reattach(self, run: RunContext) -> Execution | None:
        """An Execution for a detached run (see ``expkit_reattach``); only targets whose
        Executions are ``detachable`` have any."""
        return None

    def warm_up(self, compute: ComputeTarget) -> None:  # noqa: B027 - optional, no-op default
        """Start slow, idempotent work early, in a background thread (see ``expkit_warm_up``)."""

    def __repr__(self) -> str:
        return f"{type(self).__name__}({getattr(self, 'target_type', None)!r})"


class TargetPlugin:
    """The pluggy plugin object for one Target: each hook answers for the
    target's type (name or alias) and returns None for every other type, as
    the firstresult contract requires.

    ``TargetPlugin(MyTarget())`` holds a ready target. :meth:`deferred` holds
    only the target's type and where its class is: ``exp`` loads every
    installed plugin at each start, and a target's module (with what it
    imports) is then imported only by a command that uses that type.
    """

    def __init__(self, target: Target) -> None:
        self._target: Target | None = target
        self._where = f"{type(target).__module__}:{type(target).__qualname__}"
        self.target_type = _declared_type(target, self._where)

    @classmethod
    def deferred(cls, target_type: TargetType, where: str) -> TargetPlugin:
        """A plugin for ``target_type`` whose ``Target`` subclass, named ``module:Class``
        by ``where``, is imported and created on the first hook call for that type.

        The class must declare the same ``target_type`` (checked when it loads).
        """
        if not isinstance(target_type, TargetType):
            raise TypeError(f"target_type must be an expkit.model.TargetType, got {target_type!r}")
        plugin = cls.__new__(cls)
        plugin._target, plugin._where, plugin.target_type = None, where, target_type
        return plugin

    @property
    def target(self) -> Target:
        """The target, created on first use for a deferred plugin."""
        if self._target is None:
            import importlib

            module, _, name = self._where.partition(":")
            target = getattr(importlib.import_module(module), name)()
            if _declared_type(target, self._where) != self.target_type:
                raise TypeError(
                    f"{self._where}.target_type is {target.target_type!r}, but its plugin "
                    f"declares {self.target_type!r}: declare one TargetType and use it in both"
                )
            self._target = target
        return self._target

    def owns(self, type_name: str) -> bool:
        """Whether ``type_name`` is this plugin's type (name or alias), without loading it."""
        return type_name == self.target_type.name or type_name in self.target_type.aliases

    def __repr__(self) -> str:
        return f"TargetPlugin({self._target!r})" if self._target else f"TargetPlugin({self._where})"

    @hookimpl
    def expkit_target_types(self) -> list[TargetType]:
        return [self.target_type]

    @hookimpl
    def expkit_attach(self, request: AttachRequest) -> AttachResult | None:
        return self.target.attach(request) if self.owns(request.type) else None

    @hookimpl
    def expkit_prepare(self, request: PrepareRequest) -> PreparedEnvironment | None:
        return self.target.prepare(request) if self.owns(request.compute.type) else None

    @hookimpl
    def expkit_submit(self, run: RunContext, environment: PreparedEnvironment) -> Execution | None:
        return self.target.submit(run, environment) if self.owns(run.compute.type) else None

    @hookimpl
    def expkit_collect(self, run: RunContext, execution: Execution) -> Collected | None:
        return self.target.collect(run, execution) if self.owns(run.compute.type) else None

    @hookimpl
    def expkit_list_environments(self, compute: ComputeTarget) -> list[EnvironmentInfo] | None:
        return self.target.list_environments(compute) if self.owns(compute.type) else None

    @hookimpl
    def expkit_remove_environment(self, compute: ComputeTarget, env_id: str) -> bool | None:
        if not self.owns(compute.type):
            return None
        return self.target.remove_environment(compute, env_id)

    @hookimpl
    def expkit_stop_orphan(self, compute: ComputeTarget, run_id: str, run_dir: Path) -> bool | None:
        if not self.owns(compute.type):
            return None
        return self.target.stop_orphan(compute, run_id, run_dir)

    @hookimpl
    def expkit_reattach(self, run: RunContext) -> Execution | None:
        return self.target.reattach(run) if self.owns(run.compute.type) else None

    @hookimpl
    def expkit_warm_up(self, compute: ComputeTarget) -> None:
        if self.owns(compute.type):
            self.target.warm_up(compute)


def _declared_type(target: object, where: str) -> TargetType:
    ttype = getattr(target, "target_type", None)
    if not isinstance(ttype, TargetType):
        # Caught when the plugin module is imported (or a deferred target loads).
        raise TypeError(f"{where}.target_type must be an expkit.model.TargetType, got {ttype!r}")
    return ttype


__all__ = ["Target", "TargetPlugin", "workbench_runconfig"]
