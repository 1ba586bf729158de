"""Tar archives in and out of containers: what a run gets, what it gives back.

Into a container (``put_archive``): the snapshot and the ``expkit`` metrics
shim, in one archive. Out of it (``get_archive``): the outputs folder,
extracted without path traversal (absolute names and ``..`` refused by
tarfile's ``data`` filter where available, the same checks by hand on older
Pythons), as a stream (never whole in memory), within the run's collection
bound (expkit.collectlimits), its symbolic links settled by outlinks' rule
(stored once when they stay inside outputs/, dropped with a note otherwise,
never followed out), and
owned by the user who ran ``exp`` (``SUDO_UID`` when it ran under sudo),
never by the container's root.
"""

from __future__ import annotations

import copy
import io
import os
import posixpath
import tarfile
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import IO, Protocol, cast

from expkit.collectlimits import Budget
from expkit.errors import is_disk_full
from expkit.outputs import NOT_REGULAR, OUTPUTS_IS_A_LINK, left_out

from expkit_docker import outlinks

_HAS_FILTERS = hasattr(tarfile, "data_filter")


class Readable(Protocol):
    """A byte stream read front to back (an engine reply, a file)."""

    def read(self, size: int = -1, /) -> bytes: ...


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
        # The shim's packages: expkit/ and the azureml/ compatibility module.
        for package in sorted(p for p in shim.iterdir() if p.is_dir()):
            tar.addfile(_dir_entry(posixpath.join(top, "lib", package.name), 0o755))
            for path in sorted(package.glob("*.py")):
                name = posixpath.join(top, "lib", package.name, path.name)
                tar.addfile(*_file_entry(name, path.read_bytes()))
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


def extract(
    stream: Readable,
    dest: Path,
    strip: str,
    *,
    source: str | None = None,
    note: Callable[[str], None] | None = None,
) -> list[str]:
    """Extract the tar ``stream`` of a collected folder (``get_archive``) into ``dest``.

    Member names start with ``strip`` (the archived folder's own name), which
    is removed; ``source`` is that folder's path in the container (default
    ``/<strip>``), which relative and absolute link texts are read against.
    Files and folders are extracted without path traversal; symbolic links
    follow outlinks' rule (stored once when they stay inside, else dropped,
    each drop and each special file told to ``note``). What is extracted is
    bounded (expkit.collectlimits; one note when a bound cuts). The stream is
    read once, front to back, a member at a time: memory stays flat whatever
    the outputs weigh. Returns the regular files now under ``dest``, relative
    POSIX paths, sorted.
    """
    tell = note or (lambda _message: None)
    budget = Budget(note=tell)
    source = posixpath.normpath(source or "/" + strip)
    dest.mkdir(parents=True, exist_ok=True)
    prefix = strip.rstrip("/") + "/"
    links: list[tuple[str, str]] = []
    # tarfile's stream mode only calls read(n): any Readable will do.
    with tarfile.open(fileobj=cast(IO[bytes], stream), mode="r|") as tar:
        for member in tar:
            if member.name.rstrip("/") == strip and member.issym():
                tell(left_out("", OUTPUTS_IS_A_LINK, member.linkname))
            if not member.name.startswith(prefix):
                continue
            item = copy.copy(member)
            item.name = member.name[len(prefix) :].rstrip("/")
            if _unsafe(item.name):
                continue
            if member.issym():
                links.append((item.name, member.linkname))  # written once all folders exist
                continue
            if member.islnk():
                if not member.linkname.startswith(prefix):
                    continue
                item.linkname = member.linkname[len(prefix) :]
                if not budget.take(item.name, 0):
                    continue
            elif member.isfile():
                if not budget.take(item.name, member.size):
                    continue  # tarfile skips its data when the next member is read
            elif not member.isdir():
                tell(left_out(item.name, NOT_REGULAR))
                continue
            _extract_one(tar, item, dest)
    _place_links(dest, links, source, tell)
    outlinks.settle(str(os.path.realpath(dest)), dict(links), tell, budget)
    budget.close()
    found = outlinks.files_under(str(dest))
    owner = _owner()
    if owner is not None:
        for name in found:
            os.lchown(dest / name, *owner)
        for folder, dirs, _files in os.walk(dest):
            for name in dirs:
                os.lchown(os.path.join(folder, name), *owner)
        os.chown(dest, *owner)
    return found


def _extract_one(tar: tarfile.TarFile, item: tarfile.TarInfo, dest: Path) -> None:
    try:
        if _HAS_FILTERS:
            tar.extract(item, dest, filter="data")
        else:
            checked = _checked(item, dest)
            if checked is not None:
                tar.extract(checked, dest, set_attrs=True)
    except tarfile.TarError:
        pass  # a refused member: keep the rest
    except OSError as exc:
        # Never a part of it: a file cut short (a full disk) must not pass for the output.
        partial = dest / item.name  # a checked name (_unsafe): inside dest
        if item.isfile() and partial.is_file() and not partial.is_symlink():
            partial.unlink()
        if is_disk_full(exc):
            raise  # collecting failed, and the run's record says so
        # an unwritable member otherwise: keep the rest


def _place_links(
    dest: Path, links: list[tuple[str, str]], source: str, note: Callable[[str], None]
) -> None:
    """Write the links that stay inside ``source`` (in the container) as relative links."""
    real_dest = os.path.realpath(dest)
    for name, linkname in links:
        text = outlinks.placed(name, linkname, source)
        if text is None:
            note(left_out(name, outlinks.OUTSIDE, linkname))
            continue
        # Never write through a link: the folder must be a plain folder of dest.
        parent = os.path.join(real_dest, os.path.dirname(name))
        if os.path.realpath(parent) != os.path.normpath(parent):
            note(left_out(name, "a link in its folder's path", linkname))
            continue
        try:
            os.makedirs(parent, exist_ok=True)
            os.symlink(text, os.path.join(real_dest, name))
        except OSError as exc:
            note(left_out(name, str(exc.strerror or exc), linkname))
