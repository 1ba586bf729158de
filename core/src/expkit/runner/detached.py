"""Detached runs: runs that go on without the ``exp`` that started them.

A target whose Execution says ``detachable = True`` (remotedocker: a
container on a VM, writing its output to a log file there) keeps running
when ``exp run`` loses its connection, is closed, or is killed. The core
then:

- writes ``detached.json`` in the run's folder when the run starts, so the
  run is never taken for a lost one (expkit.history.lost skips it) and its
  target is never asked to kill it as an orphan;
- when ``wait`` raises RunDetached (the connection dropped), leaves the run
  ``running``, tells the user how to follow it and exits with EXIT_DETACHED;
- once no live ``exp run`` owns it, lets any later command finish it:
  :func:`settle` (every ``exp runs`` command) collects runs that have ended,
  :func:`follow` (``exp runs logs -f``) streams the rest of the output and
  collects, :func:`cancel` (``exp runs cancel``) stops it on the target.

Whoever finishes a run holds an exclusive lock on its ``detached.json``
(released by the kernel if that process dies), so two commands never
collect the same run twice.
"""

from __future__ import annotations

import dataclasses
import fcntl
import json
import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from expkit.errors import ExpkitError
from expkit.model import RunContext, RunRecord, frozen_map

MARKER = "detached.json"
#: Left by `exp runs cancel` for the process that finishes the run.
CANCELED = "cancel-requested"
#: Touched when settle looked at the run: it looks again CHECK_EVERY seconds later.
CHECKED = "detached.checked"
CHECK_EVERY = 5.0
#: Seconds settle waits for one run's target before going on without it.
SETTLE_WAIT = 10.0


def mark(run_dir: Path, target: str) -> None:
    from expkit.fsutil import atomic_write_text

    atomic_write_text(run_dir / MARKER, json.dumps({"target": target, "since": time.time()}))


def is_detached(run_dir: Path) -> bool:
    return (run_dir / MARKER).is_file()


def follow_hint(number: int) -> str:
    return (
        f"run {number} goes on on its target; follow it with `exp runs logs -f {number}` "
        f"(any `exp runs` command collects it once it has ended; `exp runs cancel {number}` "
        "stops it)."
    )


@contextmanager
def claim(run_dir: Path, *, wait: bool = False) -> Iterator[bool]:
    """Hold the run's finishing lock; yields False when another process holds it."""
    try:
        fd = os.open(run_dir / MARKER, os.O_RDONLY)
    except FileNotFoundError:
        yield False
        return
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
        except BlockingIOError:
            yield False
            return
        # Finished by another process between our look and the lock.
        yield (run_dir / MARKER).is_file()
    finally:
        os.close(fd)


def unowned(history, record: RunRecord) -> bool:
    from expkit.history.owner import is_alive

    owner = history.owner_of(record.id)
    return owner is None or not is_alive(owner)


def pending(history) -> list[RunRecord]:
    """Active detached runs no live ``exp run`` looks after."""
    from expkit.history.records import ACTIVE

    if history._empty():
        return []
    rows = history.conn.execute(
        "SELECT id FROM runs WHERE status IN (?, ?)", ACTIVE
    ).fetchall()  # fmt: skip
    found = []
    for (run_id,) in rows:
        if is_detached(history.run_dir(run_id)):
            record = history.get(run_id)
            if unowned(history, record):
                found.append(record)
    return found


def _context(history, record: RunRecord) -> tuple[object, RunContext]:
    from expkit.config import Project
    from expkit.model import RunConfig
    from expkit.plugins import get_registry

    registry = get_registry()
    compute = Project(history.root, registry).load_compute(record.target, registry)
    run_dir = history.run_dir(record.id)
    context = RunContext(
        run_id=record.id, number=record.number, project=Path(history.root),
        snapshot=run_dir / "snapshot-gone", run_dir=run_dir, script=record.script,
        argv=tuple(record.args), environment=frozen_map({}), compute=compute,
        runconfig=RunConfig(name=record.runconfig, target=record.target),
    )  # fmt: skip
    return registry, context


def _execution(registry, context: RunContext):
    return registry.reattach(context)


def _collect(registry, context: RunContext, execution) -> str | None:
    """Collect a detached run's outputs and notes; the error text when that failed."""
    try:
        collected = registry.collect(context, execution)
    except Exception as exc:  # the run's own outcome is still recorded
        detail = str(exc) if isinstance(exc, ExpkitError) else f"{type(exc).__name__}: {exc}"
        return f"collecting outputs failed: {detail}"
    if collected.notes:
        with open(context.run_dir / "log.txt", "ab") as log:
            for message in collected.notes:
                log.write(f"exp: note: {message}\n".encode("utf-8", "surrogateescape"))
    return None


def _record(
    history, registry, context: RunContext, record: RunRecord, code: int | None,
    *, canceled: bool = False, error: str | None = None,
) -> RunRecord:  # fmt: skip
    """Write the final record of a collected run, as expkit.runner.lifecycle does."""
    from expkit.history import list_outputs, read_metrics

    metrics, series = read_metrics(context.run_dir / "metrics.jsonl")
    if canceled or (context.run_dir / CANCELED).exists():
        status = "canceled"
    elif error is not None or code != 0:
        status = "failed"
    else:
        status = "completed"
    ended = time.time()
    started = record.started or ended
    final = history.save(
        dataclasses.replace(
            record, status=status, exit_code=code, ended=ended,
            duration_s=round(ended - started, 3), metrics=frozen_map(metrics),
            series=frozen_map(series), outputs=list_outputs(context.run_dir / "outputs"),
            error=error,
        )
    )  # fmt: skip
    for name in (MARKER, CANCELED, CHECKED):
        (context.run_dir / name).unlink(missing_ok=True)
    registry.run_finished(final, lambda _message: None)
    return final


def _finish(
    history, registry, context: RunContext, record: RunRecord, execution, code: int | None,
    *, canceled: bool = False,
) -> RunRecord:  # fmt: skip
    error = _collect(registry, context, execution)
    return _record(history, registry, context, record, code, canceled=canceled, error=error)


def settle(history, note: Callable[[str], None]) -> list[RunRecord]:
    """Collect the detached runs that have ended; leave the others running.

    Never raises and never holds a command up for long (it runs inside every
    ``exp runs`` command): each run is looked at most every CHECK_EVERY
    seconds, and a target that does not answer within SETTLE_WAIT seconds (a
    closed laptop's lost network) is tried again by a later command. The
    target is asked in a thread; the history is written here, under the
    run's lock.
    """
    import threading

    done: list[RunRecord] = []
    for record in pending(history):
        run_dir = history.run_dir(record.id)
        checked = run_dir / CHECKED
        try:
            if time.time() - checked.stat().st_mtime < CHECK_EVERY:
                continue
        except OSError:
            pass
        with claim(run_dir) as mine:
            if not mine:
                continue  # `logs -f` or another command is finishing it
            checked.touch()
            state: dict[str, object] = {}
            polled = threading.Event()
            worker = threading.Thread(target=_ask_target, args=(history, record, state, polled),
                                      daemon=True)  # fmt: skip
            worker.start()
            if not polled.wait(SETTLE_WAIT):
                note(f"run {record.number} is detached; its target did not answer in time.")
                continue
            if "code" in state and state["code"] is not None:
                worker.join()  # collecting: let it finish, however long it takes
            if "problem" in state:
                note(f"run {record.number} is detached and could not be checked now: "
                     f"{state['problem']}")  # fmt: skip
                continue
            if state.get("code") is None:
                continue
            context = state["context"]
            assert isinstance(context, RunContext) and isinstance(state["code"], int)
            error = state.get("error")
            final = _record(history, state["registry"], context, record, state["code"],
                            error=error if isinstance(error, str) else None)  # fmt: skip
        note(f"run {record.number} (detached) ended: {final.status}, collected.")
        done.append(final)
    return done


def _ask_target(history, record: RunRecord, state: dict, polled) -> None:
    """settle's remote half: poll the run; when it has ended, collect it."""
    try:
        registry, context = _context(history, record)
        state["registry"], state["context"] = registry, context
        execution = _execution(registry, context)
        state["code"] = execution.poll()
        polled.set()
        if state["code"] is not None:
            state["error"] = _collect(registry, context, execution)
    except Exception as exc:  # noqa: BLE001 - `exp runs` must keep working
        state.pop("code", None)
        state["problem"] = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    finally:
        polled.set()


def follow(history, record: RunRecord, on_output: Callable[[str], None]) -> RunRecord | None:
    """Stream a detached run's remaining output to ``on_output`` and the run's log, then
    collect it. None when another process is already finishing it (follow its log.txt)."""
    from expkit.runner.lifecycle import Output

    run_dir = history.run_dir(record.id)
    with claim(run_dir) as mine:
        if not mine:
            return None
        registry, context = _context(history, record)
        execution = _execution(registry, context)
        output = Output(run_dir / "log.txt", None)
        try:

            def both(text: str) -> None:
                output(text)
                on_output(text)

            code = execution.wait(both)
        finally:
            output.close()
        return _finish(history, registry, context, record, execution, int(code))


def cancel(history, record: RunRecord) -> RunRecord:
    """Stop a detached run on its target, collect what it wrote, record it canceled."""
    run_dir = history.run_dir(record.id)
    with claim(run_dir) as mine:
        registry, context = _context(history, record)
        if not mine:
            # `logs -f` is finishing it: stop the run; that process records the cancel.
            (run_dir / CANCELED).touch()
            _execution(registry, context).cancel()
            return record
        execution = _execution(registry, context)
        execution.cancel()
        return _finish(history, registry, context, record, execution, execution.poll(),
                       canceled=True)  # fmt: skip
