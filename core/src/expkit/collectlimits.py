"""How much one run may collect: a bound on files and bytes, the same on every target.

A script decides what lands in ``outputs/``; without a bound, a runaway loop
(or a maze of links, see expkit.outputs) fills the disk of the machine that
collects. Every target counts what it collects with a :class:`Budget` and
stops taking files once a bound is reached; what is left out is summed up in
one note, which says how to raise the bound.

The bounds come from the environment of ``exp`` (documented in
docs/configuration.md): ``EXPKIT_OUTPUTS_LIMIT_FILES`` (default 100000) and
``EXPKIT_OUTPUTS_LIMIT_MB`` (MiB, default 20480); 0 means no bound.

Standard library only; imported when a run's outputs are collected.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping

LIMIT_FILES_ENV = "EXPKIT_OUTPUTS_LIMIT_FILES"
LIMIT_MB_ENV = "EXPKIT_OUTPUTS_LIMIT_MB"
DEFAULT_FILES = 100_000
DEFAULT_MB = 20_480


def _mib(n: int) -> str:
    return f"{n / (1 << 20):.1f} MiB"


class Limits:
    """At most ``files`` files and ``bytes`` bytes per run; None is no bound.

    A plain class, not a dataclass: this is imported on every run, and making
    a dataclass costs more than the rest of the module.
    """

    __slots__ = ("bytes", "files")

    def __init__(self, files: int | None = DEFAULT_FILES, bytes: int | None = DEFAULT_MB << 20):
        self.files = files
        self.bytes = bytes

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Limits):
            return NotImplemented
        return (self.files, self.bytes) == (other.files, other.bytes)

    def __hash__(self) -> int:
        return hash((self.files, self.bytes))

    def __repr__(self) -> str:
        return f"Limits(files={self.files!r}, bytes={self.bytes!r})"

    @classmethod
    def from_env(
        cls, environ: Mapping[str, str] | None = None, warn: Callable[[str], None] | None = None
    ) -> Limits:
        """The bounds set in ``environ`` (default ``os.environ``).

        A value that is not a whole number >= 0 is reported to ``warn`` and
        the default used: collecting must never fail over a setting.
        """
        env = os.environ if environ is None else environ
        files = _read(env, LIMIT_FILES_ENV, DEFAULT_FILES, warn)
        mib = _read(env, LIMIT_MB_ENV, DEFAULT_MB, warn)
        return cls(files=files or None, bytes=(mib << 20) or None)


def _read(
    env: Mapping[str, str], name: str, default: int, warn: Callable[[str], None] | None
) -> int:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        value = -1
    if value < 0:
        if warn is not None:
            warn(f"{name}={raw!r} is not a whole number >= 0 (0 = no limit); using {default}")
        return default
    return value


class Budget:
    """Counts what one collect takes; ``take`` says whether one more file fits.

    ``note`` receives one summary from :meth:`close` when a bound cut.
    """

    def __init__(self, limits: Limits | None = None, note: Callable[[str], None] | None = None):
        self.note = note or (lambda _message: None)
        self.limits = limits if limits is not None else Limits.from_env(warn=self.note)
        self.files = 0
        self.bytes = 0
        self.left_files = 0
        self.left_bytes = 0
        self.first_left: str | None = None
        self.reason: str | None = None

    def take(self, name: str, size: int) -> bool:
        """Count file ``name`` (relative to ``outputs/``) of ``size`` bytes, if it fits.

        A file that does not fit is counted as left out, and so is every file
        after it: what a run collects is a prefix of what it wrote, never a
        patchwork.
        """
        limits = self.limits
        if self.reason is None:
            if limits.files is not None and self.files + 1 > limits.files:
                self.reason = f"{limits.files} files ({LIMIT_FILES_ENV})"
            elif limits.bytes is not None and self.bytes + size > limits.bytes:
                self.reason = f"{_mib(limits.bytes)} ({LIMIT_MB_ENV})"
            else:
                self.files += 1
                self.bytes += size
                return True
        self.left_files += 1
        self.left_bytes += size
        if self.first_left is None:
            self.first_left = name
        return False

    @property
    def cut(self) -> bool:
        return self.reason is not None

    def close(self) -> None:
        """Tell ``note`` what a bound left out (nothing when none cut)."""
        if self.reason is None:
            return
        self.note(
            f"outputs cut at the collection limit of {self.reason}: kept {self.files} files "
            f"({_mib(self.bytes)}); left out {self.left_files} more ({_mib(self.left_bytes)}), "
            f"from outputs/{self.first_left} on. Raise the limit for a run with "
            f"{LIMIT_FILES_ENV}=N or {LIMIT_MB_ENV}=N (0 = no limit)."
        )


__all__ = [
    "DEFAULT_FILES", "DEFAULT_MB", "LIMIT_FILES_ENV", "LIMIT_MB_ENV", "Budget", "Limits",
]  # fmt: skip
