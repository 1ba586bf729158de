"""A snapshot's files on the VM without copying them: a hard-link farm under an overlay.

Per snapshot (its root tree), ``<store>/farms/<tree>/`` holds the project's
folders with each file a hard link to its object (store.py): a ``link()``
per file, no bytes copied. A new farm is derived from the previous one when
this machine knows it (``cp -al`` of the previous farm, then only what
changed is re-linked or deleted), so a one-file edit sends a few hundred
bytes of tar headers, not a listing of the whole project.

The run's container never sees the farm directly: its working directory
is an overlay mount (a Docker volume of the local driver, mounted by the
engine as root) whose lower layer is the farm and whose upper layer is the
run's own ``upper/``. A script that rewrites or deletes one of its files
changes the upper layer only (copy-up), never the object behind it.

Executable files are the exception to linking (a link shares its object's
mode): they are copied, mode 0755, when linked into a farm.

Everything happens in one SSH round trip (submit.py): the objects the VM
lacks, the farm's links and the run's folder travel as one tar stream,
unpacked by :data:`SCRIPT`.
"""

from __future__ import annotations

import gzip
import io
import json
import os
import tarfile
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, cast

from expkit_remotedocker.store import Objects

#: path -> (kind, object or link text, mode); kind ``f`` file, ``d`` folder, ``l`` symlink.
Listing = Mapping[str, tuple[str, str, int]]
#: How many farms the VM keeps beyond those of runs that still have a folder there.
KEEP_FARMS = 3
#: At most this many changed entries (and none deleted) since the last farm: the run
#: mounts that farm with the changes copied into its upper layer (no new farm).
SEED_MAX = 64
#: Streams with less than this many bytes of objects are gzipped (pack).
COMPRESS_BELOW = 4 << 20
#: Exit codes of SCRIPT the caller acts on.
NO_BASE, BAD_LINK = 5, 4

#: sh -c script, run in the store ($1). stdin: a tar of ``objects/.in-$4/<name>`` (new
#: objects), ``farms/.new-$4/...`` (the farm, hard links to objects), ``farms/.new-$4.meta/``
#: (NUL-separated lists ``delete`` and ``exec``) and the run's folder ``runs/<id>/...``.
#: $2: the farm's tree ("" : no farm); $3: the farm it derives from ("" : none); $4: a
#: unique token; $5: the run's folder (relative); $6: a shared folder to create ("" : none);
#: $7: "z" when the stream is gzipped.
#: A farm that exists already (another run of the same snapshot) is not unpacked again.
#: A seeded run (Plan.seed) brings its changes as links under ``runs/<id>/upper/`` and
#: their list in ``runs/<id>/seed`` (``seedexec``: the executable ones): each becomes a
#: copy. Whatever happens, the run's upper layer never keeps a link to an object: the
#: script would write through it into the store. A failure empties it.
SCRIPT = r"""
set -u; mkdir -p "$1" && cd "$1" && mkdir -p objects farms runs || exit 3
new="farms/.new-$4"; meta="$new.meta"; in="objects/.in-$4"; farm="farms/$2"; up="$5/upper"
trap 'c=$?; rm -rf "$new" "$meta" "$in"; [ $c = 0 ] || { rm -rf "$up"; mkdir -p "$up"; }' EXIT
rm -f "$5/seed" "$5/seedexec"  # an earlier attempt's
if [ -n "$2" ] && [ ! -d "$farm" ] && [ -n "$3" ]; then
  if [ -d "farms/$3" ] && cp -al "farms/$3" "$new"; then :; else cat >/dev/null; exit 5; fi
fi
skip=.none; if [ -n "$2" ] && [ -d "$farm" ]; then skip="$new*"; fi
tar -x -f - ${7:+-z} --exclude="$skip" || exit 4
if [ -d "$in" ]; then find "$in" -type f -exec mv -f -t objects {} + || exit 3; fi
if [ -e "$5/seed" ]; then
  [ -d "$farm" ] || exit 5
  xargs -0 -r sh -c 'for p do cp -P -- "$p" "$p.x~" && mv -f -- "$p.x~" "$p" || exit 4
    done' sh < "$5/seed" || exit 4
  xargs -0 -r chmod 755 -- < "$5/seedexec" || exit 4
  rm -f "$5/seed" "$5/seedexec"
fi
[ -z "$(find "$up" -type f -links +1 2>/dev/null | head -n 1)" ] || exit 4
if [ -n "$2" ] && [ ! -d "$farm" ]; then
  if [ -s "$meta/delete" ]; then xargs -0 rm -rf -- < "$meta/delete"; fi
  if [ -s "$meta/exec" ]; then
    xargs -0 sh -c 'for p do cp -P -- "$p" "$p.x~" && chmod 755 -- "$p.x~" &&
      mv -f -- "$p.x~" "$p" || exit 4; done' sh < "$meta/exec" || exit 4
  fi
  mv -T "$new" "$farm" 2>/dev/null || [ -d "$farm" ] || exit 3
  touch "$farm"
  printf '%s\n' "$2" > "$5/farm"
  # Old farms go in the background: removing thousands of links must not hold up the run.
  setsid sh -c '
    keep=$(cat runs/*/farm 2>/dev/null; echo)
    ls -t farms | tail -n +$(($1 + 1)) | while IFS= read -r old; do
      case " $(echo $keep) " in *" $old "*) ;; *) rm -rf "farms/$old" ;; esac
    done' sh KEEP >/dev/null 2>&1 </dev/null &
elif [ -n "$2" ]; then
  touch "$farm"; printf '%s\n' "$2" > "$5/farm"
fi
if [ -n "$6" ]; then mkdir -p "$6"; fi
""".replace("KEEP", str(KEEP_FARMS))


def listing(tree: str, objects: Objects) -> dict[str, tuple[str, str, int]]:
    """The flat listing of the tree ``tree`` (its tree objects are in ``objects``)."""
    found: dict[str, tuple[str, str, int]] = {}

    def walk(name: str, prefix: str) -> None:
        for entry, kind, ref, mode in json.loads(objects.trees[name]):
            path = prefix + entry
            found[path] = (kind, ref, mode)
            if kind == "d":
                walk(ref, path + "/")

    walk(tree, "")
    return found


@dataclass(frozen=True)
class Plan:
    """What to send to make the farm of ``tree`` from the farm ``base`` ("": from nothing);
    or, ``seed``, to run on the farm ``base`` with the changes in the run's upper layer."""

    tree: str
    base: str
    links: tuple[tuple[str, str, int], ...]  # (path, object, mode) to link
    folders: tuple[str, ...]
    symlinks: tuple[tuple[str, str], ...]
    delete: tuple[str, ...]
    seed: bool = False

    @property
    def mounted(self) -> str:
        """The farm the run's overlay mounts."""
        return self.base if self.seed else self.tree


def plan(
    tree: str, new: Listing, base: str = "", old: Listing | None = None, seed_max: int = SEED_MAX
) -> Plan:
    """The changes from ``old`` (the listing of the farm ``base``) to ``new``; all of
    ``new`` without a base. A path whose kind changed (a file became a folder) makes
    it a plan from nothing: SCRIPT deletes after unpacking, which only works for paths
    that are gone. At most ``seed_max`` changes and no deletion: a seeded plan (a
    deletion would need a whiteout, which only root can make)."""
    old = old if base and old is not None else {}
    if any(path in new and new[path][0] != entry[0] for path, entry in old.items()):
        base, old = "", {}
    links, folders, symlinks = [], [], []
    for path, entry in new.items():
        if old.get(path) == entry:
            continue
        kind, ref, mode = entry
        if kind == "d":
            folders.append(path)
        elif kind == "l":
            symlinks.append((path, ref))
        else:
            links.append((path, ref, mode))
    delete = sorted(path for path in old if path not in new)
    seed = bool(base) and not delete and len(links) + len(folders) + len(symlinks) <= seed_max
    return Plan(tree, base, tuple(links), tuple(sorted(folders)), tuple(symlinks),
                tuple(delete), seed)  # fmt: skip


def _member(name: str, kind: bytes, now: float, mode: int = 0o755) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    # Whole seconds: a fractional mtime costs each member an extended (pax) header.
    info.type, info.mode, info.mtime = kind, mode, int(now)
    return info


def _add_bytes(tar: tarfile.TarFile, name: str, data: bytes, now: float) -> None:
    info = _member(name, tarfile.REGTYPE, now, 0o644)
    info.size = len(data)
    tar.addfile(info, io.BytesIO(data))


def add_objects(tar: tarfile.TarFile, objects: Objects, names: list[str], token: str) -> None:
    """The objects ``names`` under ``objects/.in-<token>/`` (SCRIPT moves them in)."""
    now = time.time()  # an object's age on the VM is its upload time (prune_objects)
    for name in names:
        member = f"objects/.in-{token}/{name}"
        if name in objects.trees:
            _add_bytes(tar, member, objects.trees[name], now)
            continue
        with open(objects.blobs[name], "rb") as handle:
            info = _member(member, tarfile.REGTYPE, now, 0o644)
            info.size = os.fstat(handle.fileno()).st_size
            tar.addfile(info, handle)


def add_farm(
    tar: tarfile.TarFile, farm: Plan, token: str, new_objects: frozenset[str], folder: str
) -> None:
    """The farm's members (SCRIPT's layout), or a seeded plan's in the run's ``folder``;
    a link to an object sent in the same tar points at its incoming name (the same
    inode once moved in)."""
    now = time.time()
    root = f"{folder}/upper" if farm.seed else f"farms/.new-{token}"
    if not farm.base:
        tar.addfile(_member(root, tarfile.DIRTYPE, now))
    for path in farm.folders:
        tar.addfile(_member(f"{root}/{path}", tarfile.DIRTYPE, now))
    executables = []
    for path, sha, mode in farm.links:
        info = _member(f"{root}/{path}", tarfile.LNKTYPE, now, 0o644)
        info.linkname = f"objects/.in-{token}/{sha}" if sha in new_objects else f"objects/{sha}"
        tar.addfile(info)
        if mode & 0o111:
            executables.append(f"{root}/{path}")
    for path, target in farm.symlinks:
        info = _member(f"{root}/{path}", tarfile.SYMTYPE, now, 0o777)
        info.linkname = target
        tar.addfile(info)
    if farm.seed:
        _add_bytes(tar, f"{folder}/seed", _nul([f"{root}/{p}" for p, _, _ in farm.links]), now)
        _add_bytes(tar, f"{folder}/seedexec", _nul(executables), now)
        return
    meta = f"{root}.meta"
    tar.addfile(_member(meta, tarfile.DIRTYPE, now))
    _add_bytes(tar, f"{meta}/delete", _nul(f"{root}/{p}" for p in farm.delete), now)
    _add_bytes(tar, f"{meta}/exec", _nul(executables), now)


def add_run(tar: tarfile.TarFile, folder: str, spec: Mapping[str, Any]) -> None:
    """The run's folder: spec.json, empty log and metrics, and its working folders."""
    now = time.time()
    for sub in ("", "/lib", "/home", "/project", "/upper", "/work"):
        tar.addfile(_member(folder + sub, tarfile.DIRTYPE, now))
    _add_bytes(tar, f"{folder}/spec.json", json.dumps(spec).encode(), now)
    _add_bytes(tar, f"{folder}/log.txt", b"", now)
    _add_bytes(tar, f"{folder}/metrics.jsonl", b"", now)


def pack(
    stream: IO[bytes],
    token: str,
    objects: Objects,
    missing: list[str],
    farm: Plan | None,
    folder: str,
    spec: Mapping[str, Any],
) -> str:
    """SCRIPT's stdin into ``stream`` (left at its start): the objects ``missing``, the
    farm ``farm`` (if any) and the run's ``folder`` (relative to the store) with ``spec``.

    Returns SCRIPT's $7: a small stream (a re-submit: tar headers, JSON trees) is
    gzipped, a big one (a first upload, data files) is not: compressing it would cost
    more time here than it saves on the wire.
    """
    small = objects.size(missing) <= COMPRESS_BELOW
    out: IO[bytes] = (
        cast(IO[bytes], gzip.GzipFile(fileobj=stream, mode="wb", mtime=0)) if small else stream
    )
    with tarfile.open(fileobj=out, mode="w", format=tarfile.PAX_FORMAT) as tar:
        add_objects(tar, objects, missing, token)
        if farm is not None:
            add_farm(tar, farm, token, frozenset(missing), folder)
        add_run(tar, folder, spec)
    if small:
        out.close()  # the gzip trailer; ``stream`` stays open
    stream.seek(0)
    return "z" if small else ""


def _nul(paths: Iterator[str] | list[str]) -> bytes:
    return b"".join(p.encode("utf-8", "surrogateescape") + b"\0" for p in paths)


class FarmMemory:
    """The last farm this machine made on one VM, and its listing (to derive the next)."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def load(self) -> tuple[str, dict[str, tuple[str, str, int]]]:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
            return data["tree"], {k: tuple(v) for k, v in data["listing"].items()}
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            return "", {}

    def save(self, tree: str, found: Listing) -> None:
        from expkit.fsutil import atomic_write_text

        self.path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_text(self.path, json.dumps({"tree": tree, "listing": found},
                                                separators=(",", ":")))  # fmt: skip

    def forget(self) -> None:
        self.path.unlink(missing_ok=True)
