"""Tar archives in and out of containers: what a run gets, what it gives back.

Into a container (``put_archive``): the snapshot and the ``expkit`` metrics
shim, in one archive. Out of it (``get_archive``): the outputs folder,
extracted without path traversal —
absolute names, ``..`` and links leading outside the destination are
refused (tarfile's ``data`` filter where available, the same checks by hand
on older Pythons) — and owned by the user who ran ``exp`` (``SUDO_UID`` when
it ran under sudo), never by the container's root.
"""

from __future__ import annotations

import copy
import io
import os
import posixpath
import tarfile
from pathlib import Path
from typing import IO, Iterable

_HAS_FILTERS = hasattr(tarfile, "data_filter")


def _dir_entry(name: str, mode: int = 0o777) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type = tarfile.DIRTYPE
    info.mode = mode
    return info


def _file_entry(name: str, data: bytes, mode: int = 0o644) -> tuple[tarfile.TarInfo, io.BytesIO]:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mode = mode
    return info, io.BytesIO(data)


def _open_up(info: tarfile.TarInfo) -> tarfile.TarInfo:
    # The script may run as the image's non-root user: let it write its working
    # copy and outputs/. The container is thrown away after the run.
    info.uid = info.gid = 0
    info.uname = info.gname = ""
    if info.isdir():
        info.mode = 0o777
    elif info.isfile():
        info.mode |= 0o666
    return info


def run_archive(root: str, *, snapshot: Path | None, project: str, shim: Path) -> bytes:
    """The archive unpacked at ``/`` before a run starts.

    ``root`` and ``project`` are the in-container paths (POSIX, absolute);
    ``snapshot`` is None when it is bind-mounted (sharedVolumes).
    """
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
        top = root.strip("/")
        tar.addfile(_dir_entry(top))
        tar.addfile(_dir_entry(posixpath.join(top, "lib")))
        shim_pkg = shim / "expkit"
        tar.addfile(_dir_entry(posixpath.join(top, "lib", "expkit"), 0o755))
        for path in sorted(shim_pkg.glob("*.py")):
            tar.addfile(
                *_file_entry(posixpath.join(top, "lib", "expkit", path.name), path.read_bytes())
            )
        if snapshot is not None:
            tar.add(snapshot, arcname=project.strip("/"), recursive=True, filter=_open_up)
            if not (snapshot / "outputs").exists():
                tar.addfile(_dir_entry(posixpath.join(project.strip("/"), "outputs")))
    return buf.getvalue()


def files_archive(files: Iterable[tuple[str, bytes, int]], top: str) -> bytes:
    """An archive of in-memory files ``(relative name, data, mode)`` under folder ``top``."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
        tar.addfile(_dir_entry(top.strip("/"), 0o700))
        made = {top.strip("/")}
        for name, data, mode in files:
            full = posixpath.join(top.strip("/"), name)
            parent = posixpath.dirname(full)
            missing = []
            while parent and parent not in made:
                missing.append(parent)
                parent = posixpath.dirname(parent)
            for folder in reversed(missing):
                tar.addfile(_dir_entry(folder, 0o755))
                made.add(folder)
            tar.addfile(*_file_entry(full, data, mode))
    return buf.getvalue()


# ----------------------------------------------------------------------------- extraction


def _owner() -> tuple[int, int] | None:
    """Whom collected files should belong to, when that is not us (root under sudo)."""
    if os.geteuid() != 0:
        return None  # files we create are ours already
    uid, gid = os.environ.get("SUDO_UID"), os.environ.get("SUDO_GID")
    if uid and uid.isdigit():
        return int(uid), int(gid) if gid and gid.isdigit() else int(uid)
    return None


def _unsafe(name: str) -> bool:
    parts = name.split("/")
    return name.startswith("/") or ".." in parts or name == ""


def _checked(member: tarfile.TarInfo, dest: Path) -> tarfile.TarInfo | None:
    """Older Pythons (no extraction filters): the same refusals as the ``data`` filter."""
    if _unsafe(member.name) or not (member.isfile() or member.isdir()):
        return None  # links and devices are skipped rather than trusted
    member.mode = (member.mode & 0o755) | (0o600 if member.isfile() else 0o700)
    member.uid = member.gid = None  # type: ignore[assignment]
    member.uname = member.gname = None  # type: ignore[assignment]
    return member


def extract(stream: IO[bytes], dest: Path, strip: str) -> list[str]:
    """Extract the tar ``stream`` (from ``get_archive``) into ``dest``.

    Member names start with ``strip`` (the archived folder's own name),
    which is removed. Returns the paths extracted (files and links), relative
    to ``dest``; unsafe members are skipped.
    """
    dest.mkdir(parents=True, exist_ok=True)
    owner = _owner()
    found: list[str] = []
    prefix = strip.rstrip("/") + "/"
    with tarfile.open(fileobj=stream, mode="r|") as tar:
        for member in tar:
            if not member.name.startswith(prefix):
                continue
            item = copy.copy(member)
            item.name = member.name[len(prefix) :]
            if member.islnk():
                if not member.linkname.startswith(prefix):
                    continue
                item.linkname = member.linkname[len(prefix) :]
            if _unsafe(item.name):
                continue
            try:
                if _HAS_FILTERS:
                    tar.extract(item, dest, filter="data")
                else:
                    checked = _checked(item, dest)
                    if checked is None:
                        continue
                    tar.extract(checked, dest, set_attrs=True)
            except (tarfile.TarError, OSError):
                continue  # a refused or unwritable member: keep the rest
            if owner is not None:
                os.lchown(dest / item.name, *owner)
            if not item.isdir():
                found.append(item.name)
    if owner is not None:
        os.chown(dest, *owner)
    return sorted(found)
