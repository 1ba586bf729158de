"""Bringing a remote run back: the rest of its log, metrics, outputs; then cleanup.

Outputs come as a tar stream of ``<run folder>/project/outputs`` (``tar``
on the VM, over the SSH connection, to a temporary file here) and are
extracted by expkit_docker.archives: no member lands outside the run's
``outputs/`` (``../x``, absolute names, links out and special files are
refused, each with a note). The container and the run's folder on the VM
are removed afterwards (see the cleanup policy in target.py).
"""

from __future__ import annotations

import posixpath
import tempfile

from expkit.model import Collected, RunContext
from expkit_docker.archives import extract
from expkit_docker.names import CONTAINER_OUTPUTS

from expkit_remotedocker.execution import RemoteExecution


def _log_tail(run: RunContext, execution: RemoteExecution) -> None:
    """What the run wrote after the last part copied (a run collected without following)."""
    if execution.followed:
        return
    log = run.run_dir / "log.txt"
    offset = log.stat().st_size if log.exists() else 0
    with open(log, "ab") as out:
        while data := execution.ssh.read_file(execution.run.log, offset=offset):
            out.write(data)
            offset += len(data)


def collect(run: RunContext, execution: RemoteExecution) -> Collected:
    ssh, folder = execution.ssh, execution.run.folder
    notes: list[str] = []
    _log_tail(run, execution)
    metrics = ssh.read_file(posixpath.join(folder, "metrics.jsonl"), limit=1 << 30)
    if metrics:
        run.metrics_file.parent.mkdir(parents=True, exist_ok=True)
        run.metrics_file.write_bytes(metrics)
    found: list[str] = []
    with tempfile.TemporaryFile() as archive:
        result = ssh.run(["tar", "-C", posixpath.join(folder, "project"), "-cf", "-", "outputs"],
                         stdout=archive)  # fmt: skip
        if result.ok:
            archive.seek(0)
            found = extract(archive, run.outputs_dir, strip="outputs",
                            source=CONTAINER_OUTPUTS, note=notes.append)  # fmt: skip
        elif b"No such file" not in result.stderr:
            notes.append(f"could not read the run's outputs on the VM: {result.error_text()}")
    # The container and the run's folder (cleanup policy: target.py), in the background
    # on the VM: removing a big working copy must not hold up `exp`.
    ssh.script('setsid sh -c \'docker rm -f "$1"; rm -rf -- "$2"\' sh "$1" "$2" '
               '>/dev/null 2>&1 </dev/null &', execution.run.container, folder)  # fmt: skip
    return Collected(outputs=tuple(found), notes=tuple(notes))
