"""One run in one container: start, live output, exit code, cancel, results.

The container is created from the environment image, the run's files are
copied in, the output stream is attached *before* the container starts (so
no early line is lost), and then it starts (containers.py, the sequence a
layer build shares). ``wait`` hands on the lines of
stdout and stderr as they arrive (expkit.streams: live, also unfinished ones
once they waited a moment) and returns the exit code.

``cancel`` (safe inside a signal handler: no locks, each call its own
connection, errors swallowed) kills the container, keeps the outputs
written so far in memory, and removes the container. ``results`` then hands
them to collect; without a cancel, collect reads them from the stopped
container and removes it. Metrics need no copy: the run's metrics file is
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
import io
from collections.abc import Callable, Mapping
from typing import Any

from expkit.errors import InfrastructureError

from expkit_docker.containers import Attached, start_attached
from expkit_docker.engine import Engine, EngineError, NotFound
from expkit_docker.names import CONTAINER_OUTPUTS

#: Exit code reported for a canceled run whose container is already gone (128 + SIGKILL).
KILLED = 137

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

    def __init__(self, attached: Attached, outputs_path: str = CONTAINER_OUTPUTS) -> None:
        self.engine = attached.engine
        self.container = attached.container
        self.outputs_path = outputs_path
        self.canceled = False
        self.removed = False
        self._fetched = False
        self._saved: bytes | None = None
        self._attached = attached
        _live[self.container] = self.engine

    @classmethod
    def start(
        cls,
        engine: Engine,
        config: Mapping[str, Any],
        archive: bytes | None,
        *,
        name: str | None,
        config_hint: str,
    ) -> DockerExecution:
        """Create the container, copy ``archive`` in at ``/``, attach, start."""
        cmd = [str(part) for part in config.get("Cmd") or []]
        attached = start_attached(
            engine,
            config,
            archive,
            what="the run's container",
            name=name,
            start_error=lambda exc: start_error(exc, cmd, config_hint),
        )
        return cls(attached)

    # ------------------------------------------------------------------ Execution protocol

    def wait(self, on_output: Callable[[str], None]) -> int:
        try:
            self._attached.read(on_output)
        except OSError:
            if not self.canceled:
                raise
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
            self._saved, self._fetched = self._fetch(self.outputs_path), True
        except Exception:  # noqa: BLE001 - never raise out of a signal handler
            pass
        self.remove()

    # ------------------------------------------------------------------ results

    def _fetch(self, path: str) -> bytes | None:
        try:
            reply = self.engine.stream(
                "GET",
                f"/containers/{self.container}/archive",
                params={"path": path},
                what="reading results",
            )
        except NotFound:
            return None
        try:
            return reply.read()
        finally:
            reply.close()

    def results(self) -> io.BytesIO | None:
        """The outputs folder as a tar stream (None when there is none), for collect."""
        if not self._fetched and not self.removed:
            self._saved, self._fetched = self._fetch(self.outputs_path), True
        return io.BytesIO(self._saved) if self._saved else None

    def remove(self) -> None:
        if self.removed:
            return
        try:
            self.engine.remove_container(self.container)
            self.removed = True
            _live.pop(self.container, None)
        except Exception:  # noqa: BLE001 - the atexit hook tries again
            pass
