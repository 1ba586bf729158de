"""The steps of one run between its creation and its final record.

:class:`Lifecycle` holds what a run has reached so far (snapshot, working
copy, execution), so that :meth:`Lifecycle.finish` can always write a
consistent final record: after success, a failed step, a script failure or
a cancel, with whatever outputs and metrics exist by then.
"""

from __future__ import annotations

import dataclasses
import shutil
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from expkit.errors import DiskFullError, ExpkitError, RunDetached, UsageError, is_disk_full
from expkit.model import PrepareRequest, RunContext, RunRecord, frozen_map

if TYPE_CHECKING:
    from expkit.history.gitinfo import GitProbe


class Output:
    """Each line of the script's output to the terminal and to the run's ``log.txt``.

    A log that cannot be written (a full disk) stops being written, with a
    note: the script keeps running and its output keeps reaching the terminal.
    """

    def __init__(self, log_path: Path, terminal, note: Callable[[str], None]) -> None:
        self.log = open(log_path, "ab")  # noqa: SIM115 - closed by close()
        self.terminal, self.warn = terminal, note
        self.failed: OSError | None = None

    def __call__(self, line: str) -> None:
        if self.failed is None:
            try:
                self.log.write(line.encode("utf-8", "surrogateescape"))
                self.log.flush()  # `exp runs logs -f` follows the file live
            except OSError as exc:
                self.failed = exc
                self.warn(f"warning: the run's log stops here, it cannot be written: {exc}")
        if self.terminal is not None:
            try:
                self.terminal.write(line)
                self.terminal.flush()
            except (OSError, ValueError, UnicodeEncodeError):
                self.terminal = None  # closed pipe (`exp run ... | head`): keep logging

    def note(self, message: str) -> None:
        """A remark about the run (a plugin's collect note) at the end of the log."""
        self.log.write(f"exp: note: {message}\n".encode("utf-8", "surrogateescape"))
        self.log.flush()

    def close(self) -> None:
        try:
            self.log.close()
        except OSError as exc:  # the last buffered bytes found no space
            self.failed = self.failed or exc


def _exit_status(code: int) -> int:
    """A signal-killed script (negative code) as a shell would report it: 128 + signal."""
    return 128 - code if code < 0 else code


#: The phases the core itself times (RunRecord.timings); a plugin's may not reuse them.
CORE_PHASES = frozenset({"snapshot", "prepare", "submit", "run", "collect"})


def submit_phases(execution: object, after: float, before: float) -> dict[str, float]:
    """The steps of the submit an Execution timed (its optional ``phases``: name ->
    time.time() when it ended), kept only when they make sense: a plugin's slip
    must not cost the run its record, so anything else is dropped, not raised."""
    phases = getattr(execution, "phases", None)
    if not isinstance(phases, dict):
        return {}
    found: dict[str, float] = {}
    last = after
    for name, at in phases.items():
        if (
            not isinstance(name, str) or not name.isidentifier() or name in CORE_PHASES
            or isinstance(at, bool) or not isinstance(at, (int, float)) or not last <= at <= before
        ):  # fmt: skip
            return {}
        found[name] = last = float(at)
    return found


def prepare_request(
    resolved, *, force: bool = False, progress=None, build: bool = True
) -> PrepareRequest:
    """The expkit_prepare request for a resolved run configuration."""
    return PrepareRequest(
        project=Path(resolved.project),
        compute=resolved.compute,
        runconfig=resolved.runconfig,
        environment=resolved.environment,
        spark=resolved.spark,
        force=force,
        progress=progress,
        build=build,
    )


class Lifecycle:
    """One run from ``preparing`` to its final status (see expkit.runner)."""

    def __init__(
        self, history, registry, resolved, record: RunRecord, signals, note: Callable[[str], None]
    ) -> None:
        self.history, self.registry, self.resolved = history, registry, resolved
        self.record, self.signals, self.note = record, signals, note
        self.canceled = False
        self.error: str | None = None
        self.exit_code: int | None = None
        self.context: RunContext | None = None
        self.execution = None
        self.workdir: Path | None = None
        self.output: Output | None = None
        self.git: GitProbe | None = None
        self.snapshot_id: str | None = None
        #: What could not be recorded for lack of space, and the error that said so.
        self.disk_full: tuple[str, BaseException] | None = None
        #: The connection to a detachable run dropped; it goes on (expkit.runner.detached).
        self.detached = False
        #: Phase -> when it ended (time.time()); RunRecord.timings.
        self.marks: dict[str, float] = {}

    def _mark(self, phase: str) -> None:
        self.marks[phase] = time.time()

    def _timings(self) -> dict[str, float]:
        last, found = self.record.started, {}
        for phase, at in self.marks.items():
            if last is not None:
                found[phase] = round(at - last, 3)
            last = at
        return found

    # ------------------------------------------------------------------ steps

    def execute(
        self, script: str, args: tuple[str, ...], terminal, progress, force_prepare: bool
    ) -> None:
        self.signals.arm()
        snapshot = self._snapshot(script)
        self._mark("snapshot")
        context = self._context(script, args)
        prepared = self._prepare(progress, force_prepare)
        self._mark("prepare")
        self.record = self.history.save(
            dataclasses.replace(
                self.record,
                status="running",
                snapshot_id=snapshot.id,
                env_id=prepared.env_id,
                packages=tuple(prepared.packages),
            )
        )
        self.output = Output(context.run_dir / "log.txt", terminal, self.note)
        # A signal while the plugin starts the script must not lose the handle to it.
        self.signals.raising = False
        execution = self.registry.submit(context, prepared)
        self.marks.update(submit_phases(execution, self.marks["prepare"], time.time()))
        self._mark("submit")
        self.execution = execution
        if getattr(execution, "detachable", False):
            from expkit.runner import detached

            detached.mark(context.run_dir, context.compute.name)
        self.signals.attach(execution)
        try:
            self.exit_code = _exit_status(int(execution.wait(self.output)))
            self._mark("run")
        except RunDetached:
            raise  # the run goes on by design (expkit.runner.detached): never cancel it
        except BaseException:
            # Whatever broke the wait must not leave the script running unwatched.
            execution.cancel()
            raise

    def _snapshot(self, script: str):
        from expkit.snapshot import copy_snapshot, materialize, scan_only, take_snapshot

        root = Path(self.resolved.project)
        cache = self.history.scan_cache()
        if self.resolved.runconfig.tracked_run:
            from expkit.history.gitinfo import GitProbe

            self.git = GitProbe.start(root)
            snapshot = take_snapshot(root, self.history.store, cache)
        else:
            snapshot = scan_only(root, cache)
        self.snapshot_id = snapshot.id
        for message in snapshot.notes:
            self.note(message)
        if script not in snapshot:
            raise UsageError(
                f"script {script!r} is excluded from the project snapshot by an ignore rule "
                f"(.gitignore or .amlignore in {root}); remove the rule or move the script."
            )
        from expkit.paths import work_dir

        self.workdir = work_dir(self.record.id)
        if snapshot.id is not None and not self.resolved.target_type.local_working_copy:
            pass  # the target reads the stored snapshot itself
        elif snapshot.id is not None:
            materialize(self.history.store, snapshot.id, self.workdir)
        else:
            copy_snapshot(root, snapshot, self.workdir)
        return snapshot

    def _context(self, script: str, args: tuple[str, ...]) -> RunContext:
        from expkit.runenv import base_environment
        from expkit.runner.argv import build_argv

        resolved, record = self.resolved, self.record
        runconfig = resolved.runconfig
        self.context = RunContext(
            run_id=record.id,
            number=record.number,
            project=Path(resolved.project),
            snapshot=self._workdir(),
            run_dir=self.history.run_dir(record.id),
            script=script,
            argv=build_argv(runconfig.argument_vector, script, args),
            environment=base_environment(
                record.id, record.number, resolved.compute.name, runconfig.environment_variables
            ),
            compute=resolved.compute,
            runconfig=runconfig,
            environment_spec=resolved.environment,
            spark=resolved.spark,
        )
        return self.context

    def _workdir(self) -> Path:
        if self.workdir is None:  # pragma: no cover - _snapshot() always runs first
            raise RuntimeError("the run's working copy was not made")
        return self.workdir

    def _prepare(self, progress, force: bool):
        from expkit.progress import close_progress

        # PrepareEnvironment: false - a run uses a ready environment or fails (Workbench).
        build = force or self.resolved.runconfig.prepare_environment
        request = prepare_request(self.resolved, force=force, progress=progress, build=build)
        try:
            prepared = self.registry.prepare(request)
        finally:
            close_progress(progress)
        for message in prepared.notes:
            self.note(message)
        return prepared

    # ------------------------------------------------------------------ outcome

    def fail(self, exc: BaseException) -> None:
        if isinstance(exc, KeyboardInterrupt):
            self.canceled = True
        elif is_disk_full(exc):
            self.disk_full = ("it could not be run", exc)
            self.error = f"no space left on the disk holding {self.history.store} ({exc})"
        elif isinstance(exc, ExpkitError):
            self.error = str(exc)
        else:
            self.error = f"{type(exc).__name__}: {exc}"

    def _collect(self) -> None:
        from expkit.plugins import NoOwnerError

        try:
            collected = self.registry.collect(self.context, self.execution)
        except NoOwnerError as exc:
            self.error = self.error or str(exc)
            return
        except Exception as exc:  # the run's own outcome is still recorded
            detail = str(exc) if isinstance(exc, ExpkitError) else f"{type(exc).__name__}: {exc}"
            if is_disk_full(exc):
                self.disk_full = ("its outputs could not be collected", exc)
                detail = f"no space left on the disk holding {self.history.store} ({exc})"
            self.error = self.error or f"collecting outputs failed: {detail}"
            self.note(f"warning: collecting the run's outputs failed: {detail}")
            return
        for message in collected.notes:
            if self.output is not None:
                self.output.note(message)
            self.note(message)

    def finish(self) -> RunRecord:
        """Collect (also after a failure or cancel), then write the final record."""
        from expkit.history import list_outputs
        from expkit.history.annotations import carry
        from expkit.history.params import read_metrics_file

        try:
            if self.execution is not None and not self.detached:
                self._collect()
                if "run" in self.marks:
                    self._mark("collect")
        finally:
            if self.output is not None:
                self.output.close()
                if self.output.failed is not None and self.disk_full is None:
                    self.disk_full = ("its log could not be written", self.output.failed)
                    self.error = self.error or f"the run's log is incomplete: {self.output.failed}"
            if self.workdir is not None:
                shutil.rmtree(self.workdir, ignore_errors=True)
        run_dir = self.history.run_dir(self.record.id)
        if not self.detached:
            from expkit.runner.detached import MARKER

            (run_dir / MARKER).unlink(missing_ok=True)
        logged = read_metrics_file(run_dir / "metrics.jsonl")
        commit, dirty = self.git.result() if self.git is not None else (None, None)
        if self.detached:
            status = "running"  # collected later (expkit.runner.detached)
        elif self.canceled or self.signals.received:
            status = "canceled"
        elif self.error is not None or self.exit_code != 0:
            status = "failed"
        else:
            status = "completed"
        ended = time.time()
        started = self.record.started or ended
        record = carry(self.history, self.record)
        self.record = self._save(
            dataclasses.replace(
                record,
                status=status,
                exit_code=self.exit_code,
                ended=None if self.detached else ended,
                duration_s=None if self.detached else round(ended - started, 3),
                snapshot_id=self.snapshot_id,
                git_commit=commit,
                git_dirty=dirty,
                metrics=frozen_map(logged.metrics),
                series=frozen_map(logged.series),
                steps=frozen_map(logged.steps),
                params=frozen_map({**record.params, **logged.params}),
                outputs=list_outputs(run_dir / "outputs"),
                error=self.error,
                timings=frozen_map(self._timings()),
            )
        )
        return self.record

    def _save(self, record: RunRecord) -> RunRecord:
        try:
            return self.history.save(record)
        except OSError as exc:
            if not is_disk_full(exc):
                raise
            raise DiskFullError(
                f"run {record.number} ended ({record.status}, exit code {record.exit_code}) "
                "but its record could not be written",
                self.history.store,
                exc,
            ) from None
