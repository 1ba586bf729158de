"""One run, end to end: record, snapshot, prepare, submit, stream, collect, record.

``run_experiment`` is what ``exp run`` calls once ``-c NAME`` is resolved
(expkit.config). It owns the run's record from ``preparing`` to its final
status whatever happens in between: a plugin error, a script failure, Ctrl-C
or ``exp runs cancel`` (SIGTERM) all end in a consistent record, with the
outputs and metrics collected so far. A run whose ``exp`` process is killed
outright is marked ``failed`` ("lost"), stopped and collected by the next
``exp`` command that opens the history (expkit.runner.orphans).

``TrackedRun: false`` runs the same way and still gets a record (status, exit
code, log, metrics, outputs), so exit codes, cancelling and lost-run
detection behave alike; but its code snapshot is not stored (the working copy
is copied straight from the project) and no git state is recorded.

Start-up cost matters here (the tracked-run overhead is measured): only
standard-library modules and expkit's light ones are imported.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable, Sequence
from pathlib import Path

from expkit.errors import (
    EXIT_CANCELED,
    EXIT_DETACHED,
    EXIT_INFRASTRUCTURE,
    DiskFullError,
    ExpkitError,
    RunDetached,
)
from expkit.model import PreparedEnvironment, RunRecord
from expkit.runner.argv import build_argv, script_argument, script_path
from expkit.runner.detached import follow_hint as detached_hint
from expkit.runner.lifecycle import Lifecycle, prepare_request
from expkit.runner.signals import CancelSignals, Interrupted


def _reconcile(history, note: Callable[[str], None]) -> None:
    """A run whose `exp` was killed is found, stopped and collected by the next `exp`
    that opens the history: this one. One query when nothing is lost (the usual case):
    expkit.runner.orphans, the configuration and plugins load only when something is."""
    import sqlite3  # loaded by the history already

    try:
        lost = history.reap_lost()
    except (OSError, ExpkitError, sqlite3.Error):
        return  # a full or read-only disk: creating the run says so, clearly
    if lost:
        from expkit.runner.orphans import clean_up

        clean_up(history, lost, note)


def _with_start_facts(record: RunRecord, args, resolved, annotations) -> RunRecord:
    """``record`` with its parameters and the user's annotations; saved with the run's
    next state change (``running``), so this costs the run no extra write."""
    import dataclasses

    from expkit.history.params import run_params
    from expkit.model import frozen_map

    params = run_params(args, resolved.runconfig.environment_variables)
    record = dataclasses.replace(record, params=frozen_map(params))
    return annotations.apply(record) if annotations is not None else record


def _stderr_note(message: str) -> None:
    print(f"exp: note: {message}", file=sys.stderr)


def refuse_unavailable(resolved, registry) -> None:
    """Stop before any run record exists when the target type cannot run yet.

    The owning plugin is asked first (its expkit_prepare raises an error that
    says what to use instead); the core's generic message is the fallback.
    """
    from expkit.plugins import require_available

    if resolved.target_type.available:
        return
    registry.prepare(prepare_request(resolved))
    require_available(resolved.target_type)


def prepare_environment(
    resolved, *, registry=None, force: bool = False, progress=None
) -> PreparedEnvironment:
    """``exp prepare``: make ``resolved``'s environment ready (rebuilt when ``force``)."""
    from expkit.plugins import get_registry
    from expkit.progress import close_progress

    registry = registry or get_registry()
    refuse_unavailable(resolved, registry)
    request = prepare_request(resolved, force=force, progress=progress)
    try:
        return registry.prepare(request)
    finally:
        close_progress(progress)


def run_experiment(
    resolved,
    script: str,
    args: Sequence[str] = (),
    *,
    registry=None,
    cwd: Path | None = None,
    terminal=None,
    progress=None,
    note: Callable[[str], None] | None = None,
    force_prepare: bool = False,
    annotations=None,
) -> RunRecord:
    """Run ``script`` (relative to ``cwd``) with ``args`` as ``resolved`` says.

    :param resolved: an expkit.config.ResolvedRun (project root, runconfig,
        compute target, target type, environment and Spark specs, notes).
    :param terminal: where the script's output lines go besides the log
        (default stdout; ``exp run --json`` passes stderr).
    :param progress: an expkit.model.Progress for the prepare step.
    :param note: receives remarks for the user (default: stderr).
    :param force_prepare: rebuild the environment even when cached.
    :param annotations: the run's name, tags and note
        (expkit.history.annotations.Annotations).
    :return: the final record. A canceled run returns normally with status
        ``canceled``. An ExpkitError that failed the run (a missing plugin, a
        failed build) is raised after the record was written, with the record
        attached as its ``run_record`` attribute.
    """
    from expkit.history import History
    from expkit.plugins import get_registry

    registry = registry or get_registry()
    note = note or _stderr_note
    terminal = sys.stdout if terminal is None else terminal
    refuse_unavailable(resolved, registry)
    # A connection to the target opens while the run is set up and its snapshot taken.
    threading.Thread(target=registry.warm_up, args=(resolved.compute,), daemon=True).start()
    root = Path(resolved.project)
    rel_script = script_path(root, Path.cwd() if cwd is None else Path(cwd), script)
    for message in resolved.notes:
        note(message)
    history = History(root, note=note)
    with CancelSignals() as signals, history:
        _reconcile(history, note)
        record = history.create(
            target=resolved.compute.name,
            runconfig=resolved.runconfig.name,
            script=rel_script,
            args=args,
        )
        record = _with_start_facts(record, args, resolved, annotations)
        registry.run_started(record, note)
        life = Lifecycle(history, registry, resolved, record, signals, note)
        failure: BaseException | None = None
        try:
            life.execute(rel_script, tuple(args), terminal, progress, force_prepare)
        except Interrupted:
            life.canceled = True
        except RunDetached as exc:
            life.detached = True
            note(f"{exc}\n  {detached_hint(record.number)}")
        except BaseException as exc:
            life.fail(exc)
            failure = exc
        signals.raising = False
        record = life.finish()
        if not life.detached:  # a detached run finishes later (expkit.runner.detached)
            registry.run_finished(record, note)
        if life.disk_full is not None and not isinstance(failure, ExpkitError):
            what, cause = life.disk_full
            code = "" if record.exit_code is None else f", script exit code {record.exit_code}"
            failure = DiskFullError(
                f"run {record.number} {record.status}{code}, but {what}", history.store, cause
            )
    if failure is not None and not isinstance(failure, KeyboardInterrupt):
        try:
            failure.run_record = record  # type: ignore[attr-defined]
        except AttributeError:
            pass
        raise failure
    return record


def exit_code_of(record: RunRecord) -> int:
    """What ``exp run`` exits with: the script's own code; 130 when canceled; 3 when the
    run failed outside the script (lost, collect failed) with no failing script code."""
    if record.status == "canceled":
        return EXIT_CANCELED
    if record.status == "running":  # detached: it goes on (expkit.runner.detached)
        return EXIT_DETACHED
    if record.status == "completed":
        return 0
    if record.exit_code:
        return record.exit_code
    return EXIT_INFRASTRUCTURE


__all__ = [
    "build_argv",
    "exit_code_of",
    "prepare_environment",
    "run_experiment",
    "script_argument",
    "script_path",
]
