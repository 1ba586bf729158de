"""A run's container on the VM: followed, canceled, polled, re-attached.

The container runs detached (incontainer/launch.py writes the script's
output to ``log.txt`` and its exit code to ``exit_code`` in the run's
remote folder), so the run does not depend on the SSH connection. ``wait``
reads the log over SFTP from where it left, polling quickly while output
flows and backing off to a quarter second when quiet; it ends on the exit
code file, or on the container's own state when it died without writing
one (killed, out of memory). A connection that drops raises RunDetached:
the run goes on and a later ``exp runs ...`` picks it up (``reattach``).
"""

from __future__ import annotations

import posixpath
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from expkit.errors import ExpkitError, InfrastructureError, RunDetached
from expkit.ssh import SshError
from expkit.streams import LineSplitter
from expkit_docker.engine import EngineUnreachable, NotFound

from expkit_remotedocker.engine import RemoteEngine

if TYPE_CHECKING:
    from expkit.ssh import Link

#: Exit code reported for a run whose container was killed or vanished (128 + SIGKILL).
KILLED = 137
#: incontainer/launch.py: the VM's object store lacked a file of the run.
MISSING_OBJECT = 97
_FAST, _SLOW = 0.05, 0.25
#: How often (seconds) the container's state is read while its log is quiet.
_STATE_EVERY = 1.0
#: sh -c script: remove a run's container ($1, with its overlay volume) and folder ($2).
#: The overlay leaves root-owned bits in the folder: its empty work/work (rmdir works
#: where ``rm -r`` cannot list it) and whiteouts (unlinked like any file); anything
#: else root-owned is removed by a root container of the run's image.
REMOVE = (
    'img=$(docker inspect -f "{{.Image}}" "$1" 2>/dev/null); docker rm -f -v "$1"; '
    'rmdir "$2/work/work" 2>/dev/null; rm -rf -- "$2" 2>/dev/null; '
    'if [ -e "$2" ] && [ -n "$img" ]; then docker run --rm --user 0 --network none '
    '--entrypoint rm -v "$2:/x" "$img" -rf /x/upper /x/work /x/project; rm -rf -- "$2"; fi'
)


@dataclass(frozen=True)
class RemoteRun:
    """Where a run lives on the VM (saved as ``remote.json`` in the run's folder)."""

    container: str
    folder: str
    #: The folder of the run's folder holding ``outputs/`` once the run ended:
    #: ``upper`` (the overlay's upper layer) or ``project`` (a copied working copy).
    outputs_in: str = "project"

    @property
    def log(self) -> str:
        return posixpath.join(self.folder, "log.txt")

    @property
    def exit_file(self) -> str:
        return posixpath.join(self.folder, "exit_code")


class RemoteExecution:
    """See the module docstring; the core's Execution protocol plus ``poll``."""

    #: The run goes on without this process (expkit.runner.detached).
    detachable = True

    def __init__(
        self,
        ssh: Link,
        engine: RemoteEngine,
        run: RemoteRun,
        offset: int = 0,
        on_missing: Callable[[], None] | None = None,
    ) -> None:
        self.ssh = ssh
        self.engine = engine
        self.run = run
        #: Bytes of the remote log already handed on.
        self.offset = offset
        self.canceled = False
        self.followed = False
        self._on_missing = on_missing
        self._last_state = time.monotonic()  # the exit code file says more, and sooner
        #: Steps of the submit, timed (Execution.phases): ``upload`` (submit.py).
        self.phases: dict[str, float] = {}

    # ------------------------------------------------------------------ state

    def _exit_code(self) -> int | None:
        data = self.ssh.read_file(self.run.exit_file, limit=64)
        if data is None:
            return None
        try:
            return int(data.strip() or b"-1")
        except ValueError:
            return None

    def poll(self) -> int | None:
        """The exit code once the run has ended; None while it runs."""
        code = self._exit_code()
        if code is not None:
            return code
        try:
            info = self.engine.request(
                "GET", f"/containers/{self.run.container}/json", what="inspecting the run"
            ).json()
        except NotFound:
            # Removed (canceled, or by hand): the exit code file may have come meanwhile.
            code = self._exit_code()
            return KILLED if code is None else code
        state = info.get("State") or {}
        if state.get("Running") or state.get("Status") in ("created", "restarting"):
            return None
        code = self._exit_code()  # written just before the container ended
        return int(state.get("ExitCode", KILLED)) if code is None else code

    # ------------------------------------------------------------------ Execution protocol

    def wait(self, on_output: Callable[[str], None]) -> int:
        lines = LineSplitter(on_output)
        self.followed = True
        try:
            code = self._follow(lines)
        except Exception as exc:
            lines.close()
            if self.canceled:
                return KILLED
            # The log's reads fail as SshError, the engine's requests as EngineUnreachable.
            if self.ssh.alive() and not isinstance(exc, (SshError, EngineUnreachable)):
                raise
            raise RunDetached(
                f"exp: lost the connection to {self.ssh.label} ({_first_line(exc)}); "
                "the run goes on there."
            ) from None
        lines.close()
        if code == MISSING_OBJECT and self._on_missing is not None:
            self._on_missing()
        return code

    def _follow(self, lines: LineSplitter) -> int:
        delay = _FAST
        log = self.ssh.tail(self.run.log)
        try:
            while True:
                data = log.read(self.offset) or b""
                if data:
                    self.offset += len(data)
                    lines.feed(data)
                    lines.flush_if_due()
                    delay = _FAST
                    continue
                lines.flush()  # quiet: pass on an unfinished line (a progress bar)
                code = self._exit_code()
                if code is None and (self.canceled or time.monotonic() - self._last_state
                                     > _STATE_EVERY):  # fmt: skip
                    self._last_state = time.monotonic()
                    code = self.poll()
                if code is not None:
                    while rest := log.read(self.offset):  # what came after our last read
                        self.offset += len(rest)
                        lines.feed(rest)
                    return code
                time.sleep(delay)
                delay = min(delay * 1.5, _SLOW)
        finally:
            log.close()

    def cancel(self) -> None:
        """Kill the container (its files stay in the run's folder for collect)."""
        if self.canceled:
            return
        self.canceled = True
        try:
            self.engine.kill(self.run.container)
        except Exception:  # noqa: BLE001 - never raise out of a signal handler
            pass

    def rebound(self, ssh: Link, engine: RemoteEngine) -> RemoteExecution:
        """The same run over another connection (the first one dropped)."""
        other = RemoteExecution(ssh, engine, self.run, self.offset, self._on_missing)
        other.followed, other.canceled = self.followed, self.canceled
        return other

    def remove(self) -> None:
        try:
            self.engine.remove_container(self.run.container)
        except ExpkitError:
            pass


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def missing_engine(label: str, detail: str) -> InfrastructureError:
    return InfrastructureError(f"no usable Docker engine on {label}: {detail}")
