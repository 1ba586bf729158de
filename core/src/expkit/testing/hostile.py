"""Hostile outputs for a target's own end-to-end tests: a maze of links, and how to weigh it.

:data:`LINK_MAZE_SCRIPT` (argument: the depth K) writes one 12,000-byte file
in ``outputs/d0`` and folders ``d1``..``dK``, each holding two links to the
previous one: copied as trees that is ``2**(K+1) - 1`` files and
``12,000 * (2**(K+1) - 1)`` bytes. Collected as expkit.outputs says, every
name is there but :func:`stored_bytes` of the record stays 12,000.
"""

from __future__ import annotations

import os
from pathlib import Path

LINK_MAZE_SCRIPT = """\
import os, sys
depth = int(sys.argv[1])
os.makedirs("outputs/d0", exist_ok=True)
with open("outputs/d0/data.bin", "wb") as handle:
    handle.write(b"x" * 12000)
for k in range(1, depth + 1):
    os.makedirs(f"outputs/d{k}")
    os.symlink(f"../d{k - 1}", f"outputs/d{k}/a")
    os.symlink(f"../d{k - 1}", f"outputs/d{k}/b")
"""


def stored_bytes(folder: Path) -> int:
    """Bytes the files under ``folder`` take, each inode once (hard links share one)."""
    seen: dict[int, int] = {}
    for dirpath, _dirs, files in os.walk(folder):
        for name in files:
            info = os.lstat(os.path.join(dirpath, name))
            if not os.path.islink(os.path.join(dirpath, name)):
                seen[info.st_ino] = info.st_size
    return sum(seen.values())


__all__ = ["LINK_MAZE_SCRIPT", "stored_bytes"]
