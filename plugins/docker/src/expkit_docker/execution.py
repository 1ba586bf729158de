"""One run in one container: start, live output, exit code, cancel, results.

The container is created from the environment image, the run's files are
copied in, the output stream is attached *before* the container starts (so
no early line is lost), and then it starts. ``wait`` hands on the lines of
stdout and stderr as they arrive (expkit.streams: live, also unfinished ones
once they waited a moment) and returns the exit code.

``cancel`` (safe inside a signal handler: no locks, each call its own
connection, errors swallowed) kills the container, saves the outputs
written so far to an unnamed file on disk, and removes the container.
``results`` then hands them to collect; without a cancel, collect streams
them from the stopped container and removes it. Neither holds the archive
in memory. Metrics need no copy: the run's metrics file is
bind-mounted into the container, so logged values land in the run folder as
they are written (each archive request costs the engine a mount of the
container's file system, 50-150 ms here, which a run should pay once).
An ``atexit`` hook removes a container that nothing else did (a crash
between submit and collect), so runs never leave containers behind; each
carries the label ``expkit.run=<run id>``, by which ``DockerTarget.stop_orphan``
finds and removes them when ``exp`` was killed outright (no hook runs then).
"""

from __future__ import annotations

import atexit
import tempfile
from collections.abc import Callable, Mapping
from typing import IO

from expkit.errors import InfrastructureError
from expkit.streams import IDLE_S, LineSplitter

from expkit_docker.engine import Engine, EngineError, NotFound
from expkit_docker.wire import IDLE, Reply, frames

#: Where things are inside a run's container (documented in the README).
ROOT = "/expkit"
PROJECT_DIR = "/expkit/project"
OUTPUTS_DIR = "/expkit/project/outputs"
METRICS_FILE = "/expkit/metrics.jsonl"
LIB_DIR = "/expkit/lib"
SHARED_DIR = "/expkit/shared"
RUN_LABEL = "expkit.run"
#: Exit code reported for a canceled run whose container is already gone (128 + SIGKILL).
KILLED = 137
_CHUNK = 1 << 20

_live: dict[str, Engine] = {}


@atexit.register
def _remove_leftovers() -> None:
    for container, engine in list(_live.items()):
        try:
            engine.remove_container(container)
        except Exception:  # noqa: BLE001 - best effort at interpreter exit
            pass


def start_error(exc: EngineError, cmd: list[str], config_hint: str) -> InfrastructureError:
    """A clear message for the ways a container fails to start."""
    message = exc.engine_message
    if "device driver" in message or "nvidia" in message.lower():
        return InfrastructureError(
            f"the container needs GPUs (nvidiaDocker: true) but the Docker engine cannot "
            f"provide them: {message}\n  install the NVIDIA Container Toolkit on this machine, "
            f"or set nvidiaDocker: false in {config_hint}."
        )
    if "executable file not found" in message or "no such file or directory" in message:
        return InfrastructureError(
            f"the environment image has no {cmd[0]!r} to start the run with: {message}"
        )
    return InfrastructureError(f"starting the run's container failed: {message}")


class DockerExecution:
    """A run's container; see the module docstring for its life cycle."""

    def __init__(self, engine: Engine, container: str, outputs_path: str = OUTPUTS_DIR) -> None:
        self.engine = engine
        self.container = container
        self.outputs_path = outputs_path
        self.canceled = False
        self.removed = False
        self._fetched = False
        self._saved: IO[bytes] | None = None
        self._stream: Reply | None = None  # the attach stream, until wait() has read it
        self._pending = b""
        _live[container] = engine

    @classmethod
    def start(
        cls,
        engine: Engine,
        config: Mapping[str, object],
        archive: bytes,
        *,
        name: str | None,
        config_hint: str,
    ) -> DockerExecution:
        """Create the container, copy ``archive`` in at ``/``, attach, start."""
        container = engine.request(
            "POST",
            "/containers/create",
            params={"name": name},
            body=dict(config),
            what="creating the run's container",
        ).json()["Id"]
        execution = cls(engine, container)
        try:
            engine.put_archive(container, "/", archive)
            execution._stream, execution._pending = engine.hijack(
                f"/containers/{container}/attach", {"stream": 1, "stdout": 1, "stderr": 1}
            )
            try:
                engine.start(container, "starting the run's container")
            except EngineError as exc:
                raise start_error(exc, list(config.get("Cmd") or []), config_hint) from None  # type: ignore[arg-type]
        except BaseException:
            execution.remove()
            raise
        return execution

    # ------------------------------------------------------------------ Execution protocol

    def wait(self, on_output: Callable[[str], None]) -> int:
        streams = {1: LineSplitter(on_output), 2: LineSplitter(on_output)}
        attached = self._stream
        if attached is not None:
            try:
                for stream, data in frames(attached, self._pending, idle=IDLE_S):
                    if stream == IDLE:  # quiet: show an unfinished line (a progress bar)
                        for lines in streams.values():
                            lines.flush()
                        continue
                    streams.get(stream, streams[1]).feed(data)
                    # A busy stream must not hold back the other's unfinished line.
                    for lines in streams.values():
                        lines.flush_if_due()
            except OSError:
                if not self.canceled:
                    raise
            finally:
                attached.close()
                self._stream = None
        for lines in streams.values():
            lines.close()
        try:
            return self.engine.wait(self.container)
        except NotFound:
            if self.canceled:
                return KILLED
            raise

    def cancel(self) -> None:
        """Kill and remove the container, keeping what it wrote. Quick and idempotent."""
        if self.canceled:
            return
        self.canceled = True
        try:
            self.engine.kill(self.container)
            self._saved, self._fetched = self._spool(self.outputs_path), True
        except Exception:  # noqa: BLE001 - never raise out of a signal handler
            pass
        self.remove()

    # ------------------------------------------------------------------ results

    def _open(self, path: str) -> Reply | None:
        """The engine's tar stream of ``path`` in the container (None when it has none)."""
        try:
            return self.engine.stream(
                "GET",
                f"/containers/{self.container}/archive",
                params={"path": path},
                what="reading results",
            )
        except NotFound:
            return None

    def _spool(self, path: str) -> IO[bytes] | None:
        """The archive of ``path`` copied to an unnamed file on disk, before the container
        goes: never whole in memory, however much the run wrote."""
        reply = self._open(path)
        if reply is None:
            return None
        from expkit.paths import cache_dir

        folder = cache_dir()
        folder.mkdir(parents=True, exist_ok=True)
        spool = tempfile.TemporaryFile(dir=folder)  # noqa: SIM115 - handed to results()
        try:
            while chunk := reply.read(_CHUNK):
                spool.write(chunk)
        except BaseException:
            spool.close()
            raise
        finally:
            reply.close()
        spool.seek(0)
        return spool

    def results(self) -> IO[bytes] | None:
        """The outputs folder as a tar stream (None when there is none), for collect.

        Read front to back and close it: it comes straight from the engine
        (or, after a cancel, from the file it was saved to), never whole in
        memory.
        """
        if self._fetched:
            saved, self._saved = self._saved, None
            return saved
        self._fetched = True
        if self.removed:
            return None
        return self._open(self.outputs_path)

    def remove(self) -> None:
        if self.removed:
            return
        try:
            self.engine.remove_container(self.container)
            self.removed = True
            _live.pop(self.container, None)
        except Exception:  # noqa: BLE001 - the atexit hook tries again
            pass
