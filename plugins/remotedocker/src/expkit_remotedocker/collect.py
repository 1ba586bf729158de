"""Bringing a remote run back: the rest of its log, metrics, outputs; then cleanup.

Outputs come as a tar stream of ``<run folder>/upper/outputs`` (the overlay's
upper layer; ``project/outputs`` for a copied working copy) (``tar``
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

from expkit_remotedocker.execution import REMOVE, RemoteExecution


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
        where = posixpath.join(folder, execution.run.outputs_in)
        result = ssh.run(["tar", "-C", where, "-cf", "-", "outputs"], stdout=archive)
        if result.ok:
            archive.seek(0)
            found = extract(archive, run.outputs_dir, strip="outputs",
                            source=CONTAINER_OUTPUTS, note=notes.append)  # fmt: skip
        elif b"No such file" not in result.stderr:
            notes.append(f"could not read the run's outputs on the VM: {result.error_text()}")
    # The container and the run's folder (cleanup policy: target.py), in the background
    # on the VM: removing a big working copy must not hold up `exp`.
    ssh.script('setsid sh -c "$1" sh "$2" "$3" >/dev/null 2>&1 </dev/null &', REMOVE,
               execution.run.container, folder)  # fmt: skip
    return Collected(outputs=tuple(found), notes=tuple(notes))
