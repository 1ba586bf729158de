"""The git commit and dirty state of the project, for the run record.

One ``git status`` subprocess at most, started when the snapshot is taken and
read when the run ends, so it costs the run nothing in wall time. No git
repository (found by looking for ``.git`` upwards, no subprocess) or no
``git`` executable means both fields stay None.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

_TIMEOUT_S = 10.0


def _in_repository(root: Path) -> bool:
    for folder in (root, *root.parents):
        if os.path.exists(os.path.join(folder, ".git")):
            return True
    return False


class GitProbe:
    """A running ``git status``; :meth:`result` gives (commit, dirty)."""

    def __init__(self, proc: subprocess.Popen | None) -> None:
        self._proc = proc

    @classmethod
    def start(cls, root: Path) -> GitProbe:
        root = Path(root)
        git = shutil.which("git")
        if git is None or not _in_repository(root):
            return cls(None)
        # No optional locks: never contend with the user's own git commands.
        env = {**os.environ, "GIT_OPTIONAL_LOCKS": "0", "LC_ALL": "C"}
        try:
            proc = subprocess.Popen(
                [
                    git,
                    # Counting commits ahead of the upstream can take long and is not
                    # recorded (a key older gits ignore, unlike --no-ahead-behind).
                    "-c",
                    "status.aheadBehind=false",
                    "-C",
                    str(root),
                    "status",
                    "--porcelain=v2",
                    "--branch",
                    "--untracked-files=normal",
                ],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
                env=env,
            )
        except OSError:
            return cls(None)
        return cls(proc)

    def result(self) -> tuple[str | None, bool | None]:
        proc, self._proc = self._proc, None
        if proc is None:
            return None, None
        try:
            out, _ = proc.communicate(timeout=_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.communicate()
            return None, None
        if proc.returncode != 0:
            return None, None
        commit, dirty = None, False
        for line in out.decode("utf-8", "replace").splitlines():
            if line.startswith("# branch.oid "):
                oid = line.split()[-1]
                commit = None if oid == "(initial)" else oid
            elif line and not line.startswith("#"):
                dirty = True
        return commit, dirty

    def cancel(self) -> None:
        if self._proc is not None and self._proc.poll() is None:
            self._proc.kill()
            self._proc.wait()
        self._proc = None
