"""Files to and from the head node: the run's snapshot up, its outputs and metrics back.

Both ways are one tar stream over one SSH command. What comes back is
extracted with tarfile's ``data`` filter (no absolute paths, no ``..``, no
links leaving the folder, no devices); a member it refuses is left out with
a note instead of failing the whole collection.
"""

from __future__ import annotations

import io
import os
import tarfile
from collections.abc import Callable
from pathlib import Path

from expkit.outputs import left_out

#: Refuse to bring back more than this from a run's outputs/ in one collection.
MAX_OUTPUTS = 2 << 30


def upload_tree(conn, folder: str, trees: dict[str, Path]) -> None:
    """Copy each local folder ``trees[name]`` to ``folder/name`` on the head node."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for name, path in trees.items():
            tar.add(str(path), arcname=name, filter=_portable)
    buf.seek(0)
    conn.run(["sh", "-c", 'mkdir -p "$1" && tar -x -m -C "$1"', "sh", folder], input=buf,
             check=True, what="copying the run's snapshot to the head node")  # fmt: skip


def _portable(info: tarfile.TarInfo) -> tarfile.TarInfo:
    info.uid = info.gid = 0
    info.uname = info.gname = ""
    return info


def download_outputs(conn, folder: str, dest: Path, note: Callable[[str], None]) -> list[str]:
    """The driver's ``folder/project/outputs`` into ``dest``; the paths collected.

    The same command then deletes the run's snapshot on the head node (its
    log and exit code stay): one round trip for both.
    """
    script = (
        'cd "$1/project" 2>/dev/null && [ -d outputs ] && tar -c -f - outputs; s=$?; '
        'rm -rf "$1/project" "$1/lib" "$1/run.sh"; [ "$s" -le 1 ] || exit "$s"'
    )
    result = conn.run(["sh", "-c", script, "sh", folder], check=True,
                      what="collecting outputs/ from the head node")  # fmt: skip
    if not result.stdout:
        return []
    if len(result.stdout) > MAX_OUTPUTS:
        note(f"outputs/ is over {MAX_OUTPUTS >> 30} GiB: not collected")
        return []
    return extract(result.stdout, dest, note)


def extract(data: bytes, dest: Path, note: Callable[[str], None]) -> list[str]:
    dest.mkdir(parents=True, exist_ok=True)
    found = []
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:") as tar:
        for member in tar:
            name = member.name
            if name == "outputs" or not name.startswith("outputs/"):
                continue
            member.name = name[len("outputs/") :]
            try:
                safe = tarfile.data_filter(member, str(dest))
            except tarfile.FilterError as exc:
                note(left_out(member.name, str(exc)))
                continue
            tar.extract(safe, str(dest), filter="fully_trusted")
            if safe.isfile():
                found.append(safe.name)
    return sorted(found)


def append_metrics(conn, folder: str, metrics_file: Path) -> None:
    data = conn.read_file(f"{folder}/metrics.jsonl", limit=64 << 20)
    if not data:
        return
    metrics_file.parent.mkdir(parents=True, exist_ok=True)
    with open(metrics_file, "ab") as out:
        out.write(data if data.endswith(b"\n") else data + b"\n")
        out.flush()
        os.fsync(out.fileno())
