"""What a lost run left behind: its script (or container) and its working copy.

A run is *lost* when its ``exp`` process died without ending it (SIGKILL, a
crash, a closed terminal): expkit.history marks it failed ("lost") at the
next ``exp runs`` command. The script may still be running then (locally it
runs in its own session, so it survives ``exp``), and the run's working copy
under ``<cache>/work/<run id>`` is still on disk. :func:`clean_up` asks the
target's plugin to stop the script (``expkit_stop_orphan``) and deletes the
working copy.

Only the rare path (some run was just found lost) loads the configuration
and calls plugins; ``exp runs list`` with nothing lost costs one query.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Collection
from dataclasses import dataclass
from pathlib import Path

from expkit.model import RunRecord


@dataclass(frozen=True)
class Cleanup:
    """What :func:`stop_orphan` did for one lost run."""

    record: RunRecord
    #: True: the plugin stopped something; False: nothing was left running;
    #: None: nobody could be asked (compute not loadable, no plugin, plugin error).
    stopped: bool | None
    #: Why ``stopped`` is None, for the user.
    problem: str | None = None


def clean_up(
    history, lost: list[RunRecord], note: Callable[[str], None], *, quiet: Collection[str] = ()
) -> list[Cleanup]:
    """Clean up after each run History.reap_lost just marked lost, telling ``note``
    about each (except the runs in ``quiet``, which the caller reports itself)."""
    done = []
    for record in lost:
        cleanup = stop_orphan(history, record)
        done.append(cleanup)
        if record.id not in quiet:
            note(describe(cleanup))
    return done


def describe(cleanup: Cleanup) -> str:
    record = cleanup.record
    head = f"run {record.number} was lost (the `exp` process running it died)"
    if cleanup.stopped:
        return f"{head}; stopped what it left running on target {record.target!r}."
    if cleanup.stopped is False:
        return f"{head}; nothing of it was still running."
    return f"{head}; could not stop what it may have left running: {cleanup.problem}"


def stop_orphan(history, record: RunRecord) -> Cleanup:
    """Ask the plugin of ``record``'s target to stop the run, then delete its working copy.

    Never raises: it runs inside ``exp runs list``, which must keep working
    whatever became of the run's target or plugin since.
    """
    try:
        stopped, problem = _ask_plugin(history.root, record, history.run_dir(record.id))
    finally:
        _remove_working_copy(record.id)
    return Cleanup(record, stopped, problem)


def _ask_plugin(root: Path, record: RunRecord, run_dir: Path) -> tuple[bool | None, str | None]:
    from expkit.config import Project
    from expkit.errors import ExpkitError
    from expkit.plugins import NoOwnerError, get_registry

    try:
        registry = get_registry()
        compute = Project(root, registry).load_compute(record.target, registry)
    except ExpkitError as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        return None, f"its compute target {record.target!r} cannot be loaded ({first})"
    except Exception as exc:  # a broken configuration or plugin must not break `exp runs`
        return None, f"loading compute target {record.target!r} failed: {type(exc).__name__}: {exc}"
    try:
        return registry.stop_orphan(compute, record.id, run_dir), None
    except NoOwnerError:
        return None, f"no installed plugin stops runs of target type {compute.type!r}"
    except Exception as exc:  # third-party code
        return None, f"the {compute.type!r} plugin failed: {type(exc).__name__}: {exc}"


def _remove_working_copy(run_id: str) -> None:
    from expkit.paths import cache_dir

    if not run_id or run_id in (".", "..") or "/" in run_id or "\0" in run_id:
        return  # not an id expkit made (a hand-edited record): touch nothing
    # The same path expkit.runner.lifecycle created; it deletes it itself when
    # the run ends normally.
    shutil.rmtree(cache_dir() / "work" / run_id, ignore_errors=True)
