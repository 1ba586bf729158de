"""Repack an installed distribution (pyspark) into a wheel file, cached under ~/.cache.

PyPI ships pyspark as a ~300 MB source distribution; the dev venv already
holds it, built and installed by uv. The Docker PySpark tests need it as a
wheel file to install in the image, and downloading it a second time (then
building it again inside a container) would double the slowest part of the
suite. An installed distribution is an unpacked wheel plus a RECORD listing
every file, so packing the RECORD's files back (scripts into
``<name>-<version>.data/scripts``, a fresh RECORD) gives an equivalent wheel.

    python scripts/spark/wheelhouse.py [DIST] [--out DIR]   # prints the wheel's path

Idempotent: an existing wheel for the installed version is reused.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import os
import sys
import tempfile
import zipfile
from importlib import metadata
from pathlib import Path

DEFAULT_OUT = (
    Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "expkit-ci" / "wheels"
)
#: What installers add to a dist-info; not part of the wheel.
_INSTALLER_FILES = {"INSTALLER", "REQUESTED", "RECORD", "direct_url.json", "uv_build.json"}


def _record_hash(data: bytes) -> str:
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=")
    return "sha256=" + digest.decode("ascii")


def _tags(dist: metadata.Distribution) -> str:
    wheel = dist.read_text("WHEEL") or ""
    tags = [line.split(":", 1)[1].strip() for line in wheel.splitlines() if line.startswith("Tag:")]
    if not tags:
        return "py3-none-any"
    pythons = ".".join(dict.fromkeys(t.split("-")[0] for t in tags))
    rest = {"-".join(t.split("-")[1:]) for t in tags}
    if len(rest) != 1:
        raise SystemExit(f"wheelhouse: cannot name a wheel for tags {tags}")
    return f"{pythons}-{rest.pop()}"


def repack(name: str, out: Path) -> Path:
    dist = metadata.distribution(name)
    dist_name = dist.metadata["Name"].replace("-", "_")
    version = dist.version
    wheel = out / f"{dist_name}-{version}-{_tags(dist)}.whl"
    if wheel.is_file():
        return wheel
    site = Path(dist.locate_file(""))
    dist_info = f"{dist_name}-{version}.dist-info"
    data_dir = f"{dist_name}-{version}.data"
    out.mkdir(parents=True, exist_ok=True)
    records = []
    fd, tmp = tempfile.mkstemp(dir=out, suffix=".part")
    os.close(fd)
    try:
        with zipfile.ZipFile(tmp, "w") as zf:
            for entry in dist.files or ():
                posix = entry.as_posix()
                if posix.endswith(".pyc") or "__pycache__" in posix:
                    continue
                top = posix.split("/", 1)[0]
                if top.endswith(".dist-info") and Path(posix).name in _INSTALLER_FILES:
                    continue
                if posix.startswith("../"):
                    parts = Path(os.path.normpath(site / posix)).parts
                    if "bin" not in parts:
                        raise SystemExit(f"wheelhouse: {posix} is outside site-packages and bin/")
                    arcname = f"{data_dir}/scripts/{parts[-1]}"
                else:
                    arcname = posix
                path = Path(os.path.normpath(site / posix))
                data = path.read_bytes()
                info = zipfile.ZipInfo(arcname, date_time=(2020, 1, 1, 0, 0, 0))
                info.external_attr = (path.stat().st_mode & 0o777 | 0o100000) << 16
                # Jars are compressed already: storing them is as small and far faster.
                jar = arcname.endswith((".jar", ".zip"))
                info.compress_type = zipfile.ZIP_STORED if jar else zipfile.ZIP_DEFLATED
                zf.writestr(info, data)
                records.append(f"{arcname},{_record_hash(data)},{len(data)}")
            records.append(f"{dist_info}/RECORD,,")
            zf.writestr(f"{dist_info}/RECORD", "\n".join(records) + "\n")
        os.chmod(tmp, 0o644)
        os.replace(tmp, wheel)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return wheel


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dist", nargs="?", default="pyspark")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args(argv)
    try:
        print(repack(args.dist, args.out))
    except metadata.PackageNotFoundError:
        print(f"wheelhouse: {args.dist} is not installed in {sys.executable}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
