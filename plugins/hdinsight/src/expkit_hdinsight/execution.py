"""A run on the head node, detached: it survives a dropped connection and ``exp`` itself.

Layout of a run (relative to the SSH user's home)::

    .expkit/runs/<run id>/project/    the snapshot; the driver's working directory
    .expkit/runs/<run id>/lib/        the ``expkit`` logging shim (first on PYTHONPATH)
    .expkit/runs/<run id>/run.sh      the run's variables and command (mode 700)
    .expkit/runs/<run id>/log.txt     stdout + stderr of spark-submit (or python)
    .expkit/runs/<run id>/pid         the run's process group (its own session)
    .expkit/runs/<run id>/exit_code   written when the command ends: the driver's code

The command starts under ``setsid`` with every stream redirected, so it is
tied to no SSH session. ``wait`` follows ``log.txt`` by offset over SFTP.
When the connection drops it reconnects for a short while and continues
from the same byte (a network blip costs nothing); past that it raises
RunDetached, and the core's detached-run machinery (expkit.runner.detached)
takes over: the run stays ``running``, ``exp runs logs -f`` re-attaches
(``ClusterTarget.reattach`` builds a ClusterExecution from the run id and the
log already copied), any ``exp runs`` command collects it once it has ended,
``exp runs cancel`` stops it. ``cancel`` signals the whole process group:
spark-submit's JVM and the Python driver stop, which ends the Spark
application, and the cluster manager removes its executors.
"""

from __future__ import annotations

import shlex
import sys
import threading
import time
from collections.abc import Callable, Mapping, Sequence

from expkit.model import ComputeTarget

RUNS = ".expkit/runs"
POLL_S = 0.2
#: How long ``wait`` tries to reconnect before handing the run to ``exp runs logs -f``.
RECONNECT_S = 20.0
GRACE_S = 10.0
#: When the process group is gone without writing its code (SIGKILL): 128 + 9.
KILLED = 137

#: $1 run dir, holding run.sh (the variables and the command). Prints the process group id.
LAUNCH = r"""
set -eu
R=$(cd "$1" && pwd)
cd "$R/project"
mkdir -p outputs
rm -f "$R/pid" "$R/exit_code"
setsid sh -c '
  R=$1
  # Caught (not ignored: the command must still die of them), so the code is written.
  trap : TERM INT HUP
  echo $$ > "$R/pid.part" && mv "$R/pid.part" "$R/pid"
  sh "$R/run.sh" > "$R/log.txt" 2>&1 < /dev/null
  echo $? > "$R/exit_code.part" && mv "$R/exit_code.part" "$R/exit_code"
' sh "$R" > /dev/null 2>&1 < /dev/null &
i=0
while [ ! -s "$R/pid" ]; do
  i=$((i + 1)); [ $i -gt 200 ] && { echo "the run did not start" >&2; exit 1; }
  sleep 0.05
done
cat "$R/pid"
"""

#: $1 run dir. TERM to the group now, KILL after a grace period, in the background.
CANCEL = r"""
R=$1; G=$2
[ -s "$R/pid" ] || exit 0
P=$(cat "$R/pid")
kill -TERM "-$P" 2>/dev/null || exit 0
( i=0
  while kill -0 "-$P" 2>/dev/null; do
    i=$((i + 1)); [ "$i" -gt "$G" ] && { kill -KILL "-$P" 2>/dev/null; break; }
    sleep 0.25
  done ) > /dev/null 2>&1 < /dev/null &
"""

#: $1 run dir: is the process group still alive? (exit 0 when it is)
ALIVE = r'[ -s "$1/pid" ] && kill -0 "-$(cat "$1/pid")" 2>/dev/null'


def run_dir(run_id: str) -> str:
    safe = "".join(c if c.isalnum() or c in "_.-" else "-" for c in run_id)
    return f"{RUNS}/{safe}"


def run_script(env: Mapping[str, str], argv: Sequence[str]) -> str:
    """``run.sh``: the run's variables and command, every value quoted for sh.

    A file readable by the SSH user only, not command-line arguments: a
    process's arguments are visible to every user of the head node (``ps``),
    and the run's variables may hold secrets.
    """
    lines = [f"export {name}={shlex.quote(value)}" for name, value in sorted(env.items())]
    return "\n".join([*lines, "exec " + shlex.join(argv), ""])


def launch(conn, folder: str, env: Mapping[str, str], argv: Sequence[str]) -> int:
    """Start ``argv`` with ``env`` detached in the run's folder; its process group id."""
    conn.write_file(f"{folder}/run.sh", run_script(env, argv).encode("utf-8"), mode=0o700)
    result = conn.run(["sh", "-c", LAUNCH, "sh", folder], check=True,
                      what="starting the run on the head node")  # fmt: skip
    return int(result.text().strip())


def kill_run(conn, folder: str) -> None:
    conn.run(["sh", "-c", CANCEL, "sh", folder, str(int(GRACE_S / 0.25))])


class ClusterExecution:
    """A run started on the head node (see the module docstring): the core's Execution
    protocol plus ``poll``; ``detachable`` hands a lost connection to the core."""

    detachable = True

    def __init__(
        self, compute: ComputeTarget, folder: str, offset: int = 0, *, reattached: bool = False
    ) -> None:
        self.compute = compute
        self.folder = folder
        #: Bytes of the remote log already handed on.
        self.offset = offset
        self.canceled = False
        #: Re-attached by a later `exp runs` command: cancel waits for the run to end,
        #: since that command collects right after.
        self.reattached = reattached
        self._cancel_lock = threading.Lock()

    def _conn(self):
        from expkit_hdinsight.settings import connect

        return connect(self.compute)

    # ------------------------------------------------------------------ state

    def _exit_code(self, conn) -> int | None:
        data = conn.read_file(f"{self.folder}/exit_code", limit=64)
        if data is None or not data.strip():
            return None
        try:
            return int(data.strip())
        except ValueError:
            return None

    def poll(self) -> int | None:
        """The exit code once the run has ended (KILLED when its group died without
        one); None while it runs."""
        conn = self._conn()
        code = self._exit_code(conn)
        if code is not None or conn.script(ALIVE, self.folder).ok:
            return code
        code = self._exit_code(conn)  # written just before the group ended
        return KILLED if code is None else code

    # ------------------------------------------------------------------ wait

    def wait(self, on_output: Callable[[str], None]) -> int:
        from expkit.ssh import SshError
        from expkit.streams import LineSplitter

        lines = LineSplitter(on_output)
        log = f"{self.folder}/log.txt"
        conn = self._conn()
        try:
            while True:
                try:
                    data = conn.read_file(log, self.offset)
                    if data:
                        self.offset += len(data)
                        lines.feed(data)
                        continue
                    lines.flush()  # quiet: pass on an unfinished line (a progress bar)
                    code = self._exit_code(conn)
                    if code is not None:
                        tail = conn.read_file(log, self.offset) or b""
                        self.offset += len(tail)
                        lines.feed(tail)
                        return code
                    if self.canceled and not conn.script(ALIVE, self.folder).ok:
                        code = self._exit_code(conn)
                        return KILLED if code is None else code
                    time.sleep(POLL_S)
                except SshError as exc:
                    conn = self._reconnect(exc)
        finally:
            lines.close()

    def _reconnect(self, exc: Exception):
        """A new connection to the head node, or RunDetached: the run goes on there."""
        from expkit.errors import RunDetached
        from expkit.ssh import SshError

        if self.canceled:
            raise RunDetached(f"exp: lost the connection to the head node while canceling: {exc}")
        sys.stderr.write(
            f"exp: note: lost the connection to the head node ({_first_line(exc)}); the run "
            f"goes on there; reconnecting for up to {RECONNECT_S:g} s\n"
        )
        deadline = time.monotonic() + RECONNECT_S
        while True:
            try:
                conn = self._conn()
                conn.read_file(f"{self.folder}/pid", limit=64)
            except SshError as again:
                if time.monotonic() > deadline:
                    raise RunDetached(
                        f"exp: could not reconnect to the head node ({_first_line(again)}); "
                        "the run goes on there."
                    ) from None
                time.sleep(2.0)
                continue
            sys.stderr.write("exp: note: reconnected; following the run's output again\n")
            return conn

    # ------------------------------------------------------------------ cancel

    def cancel(self) -> None:
        """Signal the run's process group on the head node.

        Quick and safe from a signal handler: in a live ``exp run`` the SSH
        round trip runs in a thread and ``wait`` returns once the group is
        gone. Re-attached (``exp runs cancel``), it waits for the run to end.
        """
        with self._cancel_lock:
            if self.canceled:
                return
            self.canceled = True
        if not self.reattached:
            threading.Thread(target=self._kill, daemon=True).start()
            return
        self._kill()
        deadline = time.monotonic() + GRACE_S + 5
        while time.monotonic() < deadline and self.poll() is None:
            time.sleep(POLL_S)

    def _kill(self) -> None:
        try:
            kill_run(self._conn(), self.folder)
        except Exception as exc:  # noqa: BLE001 - reported, wait() keeps following
            sys.stderr.write(f"exp: could not cancel the run on the head node: {exc}\n")


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
