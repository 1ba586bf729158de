"""Starting a container whose output is read live: the sequence builds and runs share.

Create it, copy files in at ``/``, attach to its output *before* it starts
(so no early line is lost, whatever the engine's log driver), start it, then
read the attach stream to its end, one expkit.streams.LineSplitter per
stream (stdout, stderr). A failure on the way removes the container again:
nothing half-started is left on the engine.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from expkit.streams import IDLE_S, LineSplitter

from expkit_docker.engine import Engine, EngineError
from expkit_docker.wire import IDLE, Reply, frames

_ATTACH = {"stream": 1, "stdout": 1, "stderr": 1}


class Attached:
    """A started container and its attached output stream (read it once, with :meth:`read`)."""

    def __init__(self, engine: Engine, container: str, stream: Reply, pending: bytes) -> None:
        self.engine = engine
        self.container = container
        self._stream: Reply | None = stream
        self._pending = pending

    def read(
        self,
        on_output: Callable[[str], None],
        *,
        on_stderr: Callable[[str], None] | None = None,
        idle: float | None = IDLE_S,
    ) -> None:
        """Hand the container's output to ``on_output`` until the stream ends, then close it.

        Pieces as expkit.streams describes (whole lines; an unfinished line
        once it waited, or the stream was quiet for ``idle`` seconds). With
        ``on_stderr``, stderr's pieces go there instead. Socket errors
        propagate (a canceled run's stream breaks off).
        """
        stream = self._stream
        if stream is None:
            return
        self._stream = None
        splitters = {1: LineSplitter(on_output), 2: LineSplitter(on_stderr or on_output)}
        try:
            for which, data in frames(stream, self._pending, idle=idle):
                if which == IDLE:  # quiet: show an unfinished line (a progress bar)
                    for lines in splitters.values():
                        lines.flush()
                    continue
                splitters.get(which, splitters[1]).feed(data)
                # A busy stream must not hold back the other's unfinished line.
                for lines in splitters.values():
                    lines.flush_if_due()
        finally:
            stream.close()
            for lines in splitters.values():
                lines.close()

    def close(self) -> None:
        """Drop the output stream unread (the container goes on)."""
        if self._stream is not None:
            self._stream.close()
            self._stream = None


def start_attached(
    engine: Engine,
    config: Mapping[str, Any],
    archive: bytes | None,
    *,
    what: str,
    name: str | None = None,
    start_error: Callable[[EngineError], Exception] | None = None,
) -> Attached:
    """Create a container from ``config``, unpack ``archive`` at ``/``, attach, start it.

    ``what`` names the container in messages ("the run's container");
    ``start_error`` turns the engine's refusal to start it into the error to
    raise (the start is where a bad image or command shows). On any failure
    the container is removed before the error propagates.
    """
    container = engine.create_container(config, f"creating {what}", name=name)
    try:
        if archive is not None:
            engine.put_archive(container, "/", archive)
        stream, pending = engine.hijack(f"/containers/{container}/attach", _ATTACH)
        try:
            engine.start(container, f"starting {what}")
        except BaseException as exc:
            stream.close()
            if isinstance(exc, EngineError) and start_error is not None:
                raise start_error(exc) from None
            raise
    except BaseException:
        try:
            engine.remove_container(container)
        except Exception:  # noqa: BLE001 - the error that stopped the start matters more
            pass
        raise
    return Attached(engine, container, stream, pending)
