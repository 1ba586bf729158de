"""Hook specifications: the whole contract between the core and target plugins.

A target plugin implements ``expkit_target_types`` and, for the types it
declares, the target hooks: ``expkit_attach``, ``expkit_prepare``,
``expkit_submit`` and ``expkit_collect`` (required), and
``expkit_list_environments``, ``expkit_remove_environment``,
``expkit_stop_orphan`` (when it caches environments or can find a lost
run's leftovers) and ``expkit_reattach`` (when its runs go on without
``exp``: expkit.runner.detached), and ``expkit_warm_up`` (when a run's first step
on the target is slow to begin, as an SSH connection is). All but the last are
*firstresult*: the core calls the
implementations until one returns a value, so an implementation **returns
None for a target type it does not own** and never raises for it. The core
calls them through expkit.plugins.Registry, which says what happens when no
plugin answers.

Anyone may implement the event hooks (``expkit_run_started``,
``expkit_run_finished``) to add tracking, notifications or CI behaviour:
every implementation is called, wrappers included, and a failing one is
only a warning.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import pluggy

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
        TargetType,
    )

PROJECT = "expkit"
hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


@hookspec
def expkit_target_types() -> list[TargetType]:
    """Declare the compute target types this plugin provides.

    Called once when the plugin manager is built, before any other hook.
    Return a list of :class:`~expkit.model.TargetType`; two plugins declaring
    the same name (or alias) is an error that names both.
    """


@hookspec(firstresult=True)
def expkit_attach(request: AttachRequest) -> AttachResult | None:
    """Validate ``exp target attach`` options and say what to write.

    Called by ``exp target attach --name N --type T``.

    :param request: the target name, type, project root and the options given.
    :return: the ``.compute`` and ``.runconfig`` contents, or None when
        ``request.type`` is not this plugin's. Raise
        :class:`~expkit.errors.ConfigError` for options the type rejects.
        The core writes both files; secrets must never be part of the result.
    """


@hookspec(firstresult=True)
def expkit_prepare(request: PrepareRequest) -> PreparedEnvironment | None:
    """Make the run's execution environment ready, reusing a cached one.

    Called before every run (and by ``exp prepare``). A cache hit must be
    cheap: no build, no package-manager call.

    :param request: compute target, run configuration, canonical environment
        spec (None when the run configuration names none), Spark spec,
        ``force`` (rebuild even when cached), ``build`` (False when the run
        configuration says ``PrepareEnvironment: false``: raise
        ``expkit.target.not_prepared`` instead of building) and a progress reporter.
    :return: the prepared environment, or None when ``request.compute.type``
        is not this plugin's.
    """


@hookspec(firstresult=True)
def expkit_submit(run: RunContext, environment: PreparedEnvironment) -> Execution | None:
    """Start the run's script and return a handle to it without waiting.

    Called after ``expkit_prepare`` with the environment it returned.

    :param run: the run: id, snapshot, script, argv, environment variables,
        compute target, run configuration and where collected files go.
    :param environment: the environment ``expkit_prepare`` returned.
    :return: an :class:`~expkit.model.Execution` (``wait`` streams output
        and returns the exit code, ``cancel`` stops the run), or None when
        ``run.compute.type`` is not this plugin's.
    """


@hookspec(firstresult=True)
def expkit_collect(run: RunContext, execution: Execution) -> Collected | None:
    """Bring back the run's ``outputs/`` and metrics, also when it failed.

    Called once the execution's ``wait`` returned (or after a cancel).
    Write output files under ``run.outputs_dir`` and metric lines to
    ``run.metrics_file``; extract archives without path traversal.

    :return: the collected output paths, or None when ``run.compute.type`` is
        not this plugin's.
    """


@hookspec(firstresult=True)
def expkit_list_environments(compute: ComputeTarget) -> list[EnvironmentInfo] | None:
    """List the cached environments of ``compute``'s target type.

    Called by ``exp env list`` and ``exp env prune``. Return None when the
    type is not this plugin's, an empty list when it keeps no cache.
    """


@hookspec(firstresult=True)
def expkit_remove_environment(compute: ComputeTarget, env_id: str) -> bool | None:
    """Delete one cached environment (``exp env prune``).

    Return True when it was removed, False when it did not exist, None when
    ``compute.type`` is not this plugin's.
    """


@hookspec(firstresult=True)
def expkit_stop_orphan(compute: ComputeTarget, run_id: str, run_dir: Path) -> bool | None:
    """Stop what a run left behind when its ``exp`` process died without ending it.

    Called when the history finds a run whose owning ``exp`` process is gone
    (killed with SIGKILL, a crash, a closed terminal) while the run was still
    preparing or running, and by ``exp runs cancel`` for such a run. Stop the
    script and everything it started (a process group, a container), bring
    what it wrote to ``outputs/`` into ``run_dir / "outputs"`` as collect
    would (it is the run's result, not litter), and free what the run held;
    never touch another run's resources.

    :param compute: the run's compute target, as configured now.
    :param run_id: the run's id (containers, processes may carry it as a label).
    :param run_dir: the run's folder in the history, where ``expkit_submit``
        may have left what it needs to find the run again.
    :return: True when something was stopped, False when nothing was left,
        None when ``compute.type`` is not this plugin's.
    """


@hookspec(firstresult=True)
def expkit_reattach(run: RunContext) -> Execution | None:
    """An Execution for a detached run started by an earlier ``exp`` process.

    Called for a run whose Execution was ``detachable`` (it goes on without
    ``exp``: a container on a remote VM) when that ``exp`` is gone: by ``exp
    runs logs -f``, ``exp runs cancel`` and any ``exp runs`` command that
    settles detached runs (expkit.runner.detached). The returned object
    follows the Execution protocol (``wait`` streams only the output after
    the ``run.run_dir / "log.txt"`` already copied, then returns the exit
    code; ``cancel`` stops the run) plus ``poll() -> int | None``: the exit
    code when the run has ended, None while it runs, without waiting.
    ``expkit_collect`` is then called with it as for any run.

    :param run: rebuilt from the run's record: ``run_id``, ``run_dir``,
        ``compute`` (as configured now), ``script`` and ``argv`` are set;
        ``snapshot`` is not (the working copy is gone).
    :return: None when ``run.compute.type`` is not this plugin's.
    """


@hookspec
def expkit_warm_up(compute: ComputeTarget) -> None:
    """Begin slow work a run on ``compute`` will need, while the core sets the run up
    and takes the snapshot.

    Called once per ``exp run``, in a background thread, as soon as the run's
    configuration is resolved (before its record is created and the snapshot
    taken); ``expkit_prepare`` follows in the main thread, maybe before this
    returns. For work that is safe to start early and to do twice, such as
    opening (and caching) a connection: whatever ``expkit_prepare`` needs must
    still work when this did nothing, and must wait for (not duplicate) what
    this started. The result is ignored; exceptions are ignored (the same
    failure is reported by the step that needs it). A plugin returns at once
    for a type it does not own.

    :param compute: the run's compute target, as configured.
    """


@hookspec
def expkit_run_started(record: RunRecord) -> None:
    """Event: a run was created and is about to be prepared.

    ``record.status`` is ``preparing``. Exceptions are reported as warnings and
    never stop the run.
    """


@hookspec
def expkit_run_finished(record: RunRecord) -> None:
    """Event: a run ended (``completed``, ``failed`` or ``canceled``).

    Called after outputs and metrics were collected and the record written.
    Exceptions are reported as warnings and never change the run's outcome.
    """
