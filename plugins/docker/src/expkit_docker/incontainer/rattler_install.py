"""Run inside a build container: install conda packages into a prefix with py-rattler.

Used when the base image has no conda, mamba or micromamba. Solves the specs
against the channels (local channel folders are indexed first) and installs
the solution into ``--prefix``.

When no channel provides ``python``, the image's own interpreter is offered
as one: a stub ``python`` package (a venv-shaped prefix whose
``bin/pythonX.Y`` links to it, plus ``pyvenv.cfg``) in a channel of lowest
priority. So noarch python packages and a ``python=X.Y`` pin resolve against
the python the image has, and the prefix works as a venv.

Usage: python rattler_install.py --prefix DIR [--channel CH]... -- SPEC...
Prints one line per installed package: ``##[expkit-conda] name=version=build channel``.
"""

import argparse
import asyncio
import hashlib
import io
import json
import os
import platform
import sys
import tarfile
import time
from pathlib import Path

SUBDIRS = {"x86_64": "linux-64", "aarch64": "linux-aarch64", "ppc64le": "linux-ppc64le"}


def _add(tar, name, data):
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mtime = int(time.time())
    tar.addfile(info, io.BytesIO(data))


def stub_python_channel(root: Path, subdir: str) -> Path:
    """A channel holding a ``python`` package that stands for this interpreter."""
    version = platform.python_version()
    xy = "{}.{}".format(*sys.version_info[:2])
    real = os.path.realpath(getattr(sys, "_base_executable", sys.executable))
    for folder in (subdir, "noarch"):
        (root / folder).mkdir(parents=True, exist_ok=True)
    cfg = (
        f"home = {os.path.dirname(real)}\ninclude-system-site-packages = false\n"
        f"version = {version}\n"
    ).encode()
    links = [
        (f"bin/python{xy}", real),
        ("bin/python3", f"python{xy}"),
        ("bin/python", f"python{xy}"),
    ]
    index = {
        "name": "python",
        "version": version,
        "build": "expkit_0",
        "build_number": 0,
        "depends": [],
        "subdir": subdir,
        "platform": "linux",
        "arch": platform.machine(),
        "license": "PSF-2.0",
        "timestamp": int(time.time() * 1000),
    }
    paths = [
        {
            "_path": "pyvenv.cfg",
            "path_type": "hardlink",
            "sha256": hashlib.sha256(cfg).hexdigest(),
            "size_in_bytes": len(cfg),
        }
    ]
    paths += [{"_path": name, "path_type": "softlink"} for name, _ in links]
    with tarfile.open(root / subdir / f"python-{version}-expkit_0.tar.bz2", "w:bz2") as tar:
        _add(tar, "pyvenv.cfg", cfg)
        for name, target in links:
            info = tarfile.TarInfo(name)
            info.type = tarfile.SYMTYPE
            info.linkname = target
            tar.addfile(info)
        _add(tar, "info/index.json", json.dumps(index).encode())
        _add(tar, "info/paths.json", json.dumps({"paths": paths, "paths_version": 1}).encode())
        _add(tar, "info/files", ("\n".join(p["_path"] for p in paths) + "\n").encode())
    return root


async def main() -> None:
    import rattler
    from rattler.exceptions import SolverError
    from rattler.index import index_fs

    parser = argparse.ArgumentParser()
    parser.add_argument("--prefix", required=True)
    parser.add_argument("--channel", action="append", default=[])
    parser.add_argument("--cache", default=None)
    parser.add_argument("--unsolvable-exit", type=int, default=1)
    parser.add_argument("specs", nargs="*")
    args = parser.parse_args()
    subdir = SUBDIRS.get(platform.machine(), "linux-64")
    # Beside this script, in the build folder the build deletes before the layer is saved.
    stub = stub_python_channel(Path(__file__).resolve().parent / "stub-channel", subdir)
    channels = []
    for name in [*args.channel, str(stub)]:
        if name.startswith("/"):
            await index_fs(Path(name))
        channels.append(rattler.Channel(name))
    platforms = [subdir, "noarch"]
    try:
        records = await rattler.solve(channels, args.specs, platforms=platforms)
    except SolverError as exc:
        # A configuration problem: say which packages, so the user can fix the file.
        alone = []
        for spec in args.specs:
            try:
                await rattler.solve(channels, [spec], platforms=platforms)
            except SolverError:
                alone.append(spec)
        for spec in alone:
            print(f"##[expkit-unsolvable] {spec}", flush=True)
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        print(
            f"##[expkit-error] cannot solve {' '.join(args.specs)} from "
            f"{', '.join(args.channel) or '(no channels)'}: {first}",
            flush=True,
        )
        _exit(args.unsolvable_exit)
    except Exception as exc:  # noqa: BLE001 - the solver's own words are the message
        print(
            f"##[expkit-error] cannot solve {' '.join(args.specs)} from "
            f"{', '.join(args.channel) or '(no channels)'}: {exc}",
            flush=True,
        )
        _exit(1)
    for record in records:
        print(
            f"##[expkit-conda] {record.name.normalized}={record.version}={record.build} "
            f"{record.channel}",
            flush=True,
        )
    kwargs = {"cache_dir": Path(args.cache)} if args.cache else {}
    await rattler.install(records, target_prefix=args.prefix, show_progress=False, **kwargs)


def _exit(code: int) -> None:
    """Exit now with ``code``, skipping the interpreter's finalization: the library's
    threads can crash it (signal 11, exit 139), which would hide the exit code that
    says what happened (95: unsolvable, the user's to fix)."""
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


if __name__ == "__main__":
    asyncio.run(main())
    _exit(0)
