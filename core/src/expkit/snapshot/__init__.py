"""Project snapshots: the exact code a run executed, content-addressed.

A snapshot holds every project file that the ignore rules keep (see
expkit.snapshot.walk; ``.exp/``, root ``outputs/``, ``.git/`` and
``__pycache__/`` are always left out). Each file is stored once under
``.exp/objects/<sha[:2]>/<sha>``; the manifest (path -> sha, mode, size;
symlink -> target) is stored as ``.exp/snapshots/<snapshot_id>.json``, the id
being the manifest's own sha256. Identical files across runs are stored once.

Nothing secret is copied: files that usually hold secrets are left out by
default (expkit.snapshot.walk, with one note), and a ``.compute`` or
``.runconfig`` file is stored (and copied into an untracked run's working
copy) with its secret-bearing keys removed (expkit.secrets).

The total size is limited (``EXPKIT_SNAPSHOT_LIMIT_MB``, default 25; 0 for no
limit) so a data folder is not copied on every run by mistake.
"""

from __future__ import annotations

import errno
import json
import os
import shutil
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from expkit.digest import sha256_hex, sha256_stream
from expkit.errors import ConfigError, InfrastructureError, UsageError
from expkit.secrets import is_config_copy, redact_config_text
from expkit.snapshot.walk import Entry, MemoryCache, ScanCache, save_cache, scan

#: The snapshot this process took last, by (store, id): Snapshot values are immutable.
_recent: dict[tuple[str, str], Snapshot] = {}
LIMIT_ENV = "EXPKIT_SNAPSHOT_LIMIT_MB"
DEFAULT_LIMIT_MB = 25.0
_SMALL = 8 << 20


@dataclass(frozen=True)
class Snapshot:
    id: str | None
    entries: tuple[Entry, ...]
    #: Things left out that the user should hear about (symlinks leaving the project).
    notes: tuple[str, ...] = ()
    paths: frozenset[str] = field(default=frozenset(), repr=False)

    @property
    def total_size(self) -> int:
        return sum(e.size for e in self.entries)

    def __contains__(self, path: object) -> bool:
        return path in self.paths


def limit_bytes() -> int | None:
    """The snapshot size limit from ``EXPKIT_SNAPSHOT_LIMIT_MB`` (0 means none)."""
    raw = os.environ.get(LIMIT_ENV, "").strip()
    try:
        mb = float(raw) if raw else DEFAULT_LIMIT_MB
    except ValueError:
        mb = -1.0
    if mb < 0:
        raise ConfigError(f"must be a number of MiB (0 for no limit), got {raw!r}", key=LIMIT_ENV)
    return None if mb == 0 else int(mb * 1024 * 1024)


def _mib(n: int) -> str:
    return f"{n / (1 << 20):.1f} MiB"


def _check_limit(root: Path, entries: list[Entry], limit: int | None) -> None:
    total = sum(e.size for e in entries)
    if limit is None or total <= limit:
        return
    largest = sorted(entries, key=lambda e: e.size, reverse=True)[:5]
    listing = "\n".join(f"    {e.path}  {_mib(e.size)}" for e in largest)
    raise UsageError(
        f"the snapshot of {root} is {_mib(total)}, over the {_mib(limit)} limit.\n"
        f"  largest files:\n{listing}\n"
        "  exclude data and build files from snapshots in .amlignore at the project root\n"
        "  (gitignore syntax, e.g. `data/` or `*.csv`), keep large inputs outside the\n"
        f"  project, or raise the limit: {LIMIT_ENV}=100 (0 = no limit)."
    )


def _object_path(store: Path, sha: str) -> Path:
    return store / "objects" / sha[:2] / sha


def _hash_and_store(store: Path, source: Path, redacted: bool = False) -> str:
    """Hash ``source`` and store its content as an object unless already present.

    ``redacted``: store the content with its secret-bearing keys removed
    (expkit.secrets; the copy of a ``.compute`` or ``.runconfig`` file).
    """
    with open(source, "rb") as handle:
        data = redact_config_text(handle.read()) if redacted else handle.read(_SMALL + 1)
        small: bytes | None = data  # kept in memory, else copied from the file
        if redacted or len(data) <= _SMALL:
            sha = sha256_hex(data)
        else:
            digest = sha256_stream(data)
            for chunk in iter(lambda: handle.read(1 << 20), b""):
                digest.update(chunk)
            sha, small = digest.hexdigest(), None
    target = _object_path(store, sha)
    if target.exists():
        return sha
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{sha}.{os.getpid()}.tmp")
    try:
        if small is not None:
            tmp.write_bytes(small)
        else:
            shutil.copyfile(source, tmp)
        # Renaming makes the object appear whole or not at all, also with concurrent runs.
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)
    return sha


def _manifest(entries: Iterable[Entry]) -> bytes:
    files = {
        e.path: {"sha": e.sha, "mode": e.mode, "size": e.size} for e in entries if e.link is None
    }
    links = {e.path: e.link for e in entries if e.link is not None}
    return json.dumps(
        {"format": 1, "files": files, "links": links}, sort_keys=True, separators=(",", ":")
    ).encode()


def take_snapshot(root: Path, store: Path, cache: ScanCache | None = None) -> Snapshot:
    """Snapshot ``root`` into ``store`` (the project's ``.exp``); refuse oversize ones."""
    root, store = Path(root), Path(store)
    cache = cache if cache is not None else MemoryCache()
    result = scan(root, cache)
    _check_limit(root, result.entries, limit_bytes())
    hashed: dict[str, str] = {}
    done: list[Entry] = []
    # Strings, not Paths: this check runs for every file of every tracked run.
    objects = os.path.join(store, "objects")
    exists = os.path.exists
    for entry in result.entries:
        if entry.link is None and (
            entry.sha is None or not exists(f"{objects}/{entry.sha[:2]}/{entry.sha}")
        ):
            try:
                sha = _hash_and_store(store, root / entry.path, is_config_copy(entry.path))
            except FileNotFoundError:  # deleted since the scan
                continue
            except OSError as exc:
                raise UsageError(
                    f"cannot snapshot {root / entry.path}: {exc.strerror}\n"
                    "  fix the file (or the disk space), or exclude it in .amlignore\n"
                    "  at the project root."
                ) from None
            hashed[entry.path] = sha
            entry = Entry(entry.path, entry.size, entry.mode, sha)
        done.append(entry)
    data = _manifest(done)
    snapshot_id = sha256_hex(data)
    path = store / "snapshots" / f"{snapshot_id}.json"
    if not path.exists():
        from expkit.fsutil import atomic_write_bytes

        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_bytes(path, data)
    save_cache(cache, result, hashed)
    snapshot = Snapshot(snapshot_id, tuple(done), tuple(result.notes),
                        frozenset(e.path for e in done))  # fmt: skip
    _recent.clear()
    _recent[(os.fspath(store), snapshot_id)] = snapshot
    return snapshot


def scan_only(root: Path, cache: ScanCache | None = None) -> Snapshot:
    """The entries a snapshot of ``root`` would hold, without storing anything (untracked runs)."""
    cache = cache if cache is not None else MemoryCache()
    result = scan(root, cache)
    _check_limit(Path(root), result.entries, limit_bytes())
    save_cache(cache, result, {})
    entries = result.entries
    return Snapshot(None, tuple(entries), tuple(result.notes), frozenset(e.path for e in entries))


def load_snapshot(store: Path, snapshot_id: str) -> Snapshot:
    """The stored snapshot ``snapshot_id``: the one this process just took is not read
    back (a target reads the manifest of the run it submits)."""
    found = _recent.get((os.fspath(store), snapshot_id))
    if found is not None:
        return Snapshot(snapshot_id, found.entries, (), found.paths)
    path = Path(store) / "snapshots" / f"{snapshot_id}.json"
    try:
        data = json.loads(path.read_bytes())
    except FileNotFoundError:
        raise InfrastructureError(f"snapshot {snapshot_id} is missing from {path.parent}") from None
    entries = [Entry(p, f["size"], f["mode"], f["sha"]) for p, f in data["files"].items()]
    entries += [Entry(p, link=t) for p, t in data.get("links", {}).items()]
    entries.sort(key=lambda e: e.path)
    return Snapshot(snapshot_id, tuple(entries), (), frozenset(e.path for e in entries))


def _safe_dest(dest: Path, relpath: str) -> Path:
    parts = relpath.split("/")
    if relpath.startswith("/") or ".." in parts or "" in parts:
        raise InfrastructureError(f"refusing unsafe path {relpath!r} in a snapshot")
    return dest.joinpath(*parts)


def _copy_file(source: Path, target: Path, mode: int) -> None:
    """Copy one file with as few system calls as possible (runs copy many small files)."""
    src = os.open(source, os.O_RDONLY)
    try:
        dst = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            os.fchmod(dst, mode)
            offset = 0
            try:
                while sent := os.sendfile(dst, src, offset, 1 << 30):
                    offset += sent
            except OSError as exc:
                if exc.errno not in (errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP) or offset:
                    raise
                while chunk := os.read(src, 1 << 20):
                    os.write(dst, chunk)
        finally:
            os.close(dst)
    finally:
        os.close(src)


def _write_redacted(source: Path, target: Path, mode: int) -> None:
    data = redact_config_text(source.read_bytes())
    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.fchmod(fd, mode)
        os.write(fd, data)
    finally:
        os.close(fd)


def _write_entries(snapshot: Snapshot, dest: Path, source_of, root_of=None) -> None:
    # Into a new folder (a run's working copy) nothing can be in the way: skip the checks.
    fresh = not dest.exists()
    dest.mkdir(parents=True, exist_ok=True)
    made = {dest}
    for entry in snapshot.entries:
        target = _safe_dest(dest, entry.path)
        try:
            if target.parent not in made:
                target.parent.mkdir(parents=True, exist_ok=True)
                made.add(target.parent)
            if not fresh and (target.is_symlink() or (entry.link is not None and target.exists())):
                target.unlink()
            if entry.link is None:
                source = source_of(entry)
                if source is None:  # an unstored snapshot's redacted config file
                    _write_redacted(root_of(entry), target, entry.mode)
                else:
                    _copy_file(source, target, entry.mode)
                continue
            resolved = os.path.normpath(os.path.join(target.parent, entry.link))
            if not (resolved + os.sep).startswith(str(dest) + os.sep):
                raise InfrastructureError(f"refusing symlink {entry.path} leaving the snapshot")
            os.symlink(entry.link, target)
        except OSError as exc:
            raise InfrastructureError(f"cannot write {target}: {exc.strerror}") from None


def materialize(store: Path, snapshot_id: str, dest: Path) -> Snapshot:
    """Write snapshot ``snapshot_id`` from ``store`` into ``dest`` (a run's working copy,
    ``exp runs restore``); existing files of the same name are overwritten."""
    store = Path(store)
    snapshot = load_snapshot(store, snapshot_id)
    _write_entries(snapshot, Path(dest).absolute(), lambda e: _object_path(store, e.sha))
    return snapshot


def copy_snapshot(root: Path, snapshot: Snapshot, dest: Path) -> None:
    """Write ``snapshot``'s files straight from the project (an unstored snapshot)."""
    root = Path(root)
    _write_entries(
        snapshot,
        Path(dest).absolute(),
        lambda e: None if is_config_copy(e.path) else root / e.path,
        lambda e: root / e.path,
    )
