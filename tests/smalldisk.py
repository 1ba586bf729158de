"""A real, small file system for full-disk tests (tests run as root here): a tmpfs.

Shared by the local and docker end-to-end tests (a uniquely named module).
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import uuid
from pathlib import Path

import pytest

REQUIRE_ENGINES = os.environ.get("EXPKIT_REQUIRE_ENGINES") == "1" or os.environ.get("CI") == "true"
DISK_BYTES = 4 * 1024 * 1024


@contextlib.contextmanager
def mounted_small_disk(mount: Path, size: int = DISK_BYTES):
    """A ``size``-byte tmpfs at ``mount`` for the block; skipped (failed under CI or
    EXPKIT_REQUIRE_ENGINES=1) only where mounting is impossible."""
    mount.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size},mode=0755", "tmpfs", str(mount)],
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        why = f"cannot mount a small tmpfs here: {done.stderr.strip() or done.returncode}"
        if REQUIRE_ENGINES:
            pytest.fail(why)
        pytest.skip(why)
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], capture_output=True)


def nearly_fill(disk: Path, leave: int = 0) -> None:
    """Fill ``disk`` until only about ``leave`` bytes are free."""
    with open(disk / f"filler-{uuid.uuid4().hex}", "wb") as handle:
        try:
            while True:
                st = os.statvfs(disk)
                free = st.f_bavail * st.f_frsize - leave
                if free <= 0:
                    break
                handle.write(bytes(min(free, 1 << 20)))
                handle.flush()
        except OSError:
            pass
