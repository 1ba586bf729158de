"""Errors that reach the user, and the exit codes they map to.

Every error a user can cause or meet is an :class:`ExpkitError`; the CLI prints
its message (no traceback unless ``--debug``) and exits with its ``exit_code``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

#: Exit codes of ``exp`` besides the script's own exit code (documented in docs/cli.md).
EXIT_USAGE = 2  # bad command line or configuration
EXIT_INFRASTRUCTURE = 3  # engine unreachable, build failed, target unavailable
EXIT_CANCELED = 130  # the run was canceled (Ctrl-C, SIGTERM, `exp runs cancel`)
#: ``exp run`` lost its connection to a remote run that goes on (EX_TEMPFAIL: try again
#: later); `exp runs logs -f RUN` follows it, any later `exp runs` command collects it.
EXIT_DETACHED = 75


class ExpkitError(Exception):
    """Base of all errors meant for the user; ``str()`` is the full message."""

    exit_code: int = EXIT_INFRASTRUCTURE


class UsageError(ExpkitError):
    """The command line asks for something that cannot be done as written."""

    exit_code = EXIT_USAGE


@dataclass
class ConfigError(ExpkitError):
    """A configuration file (or option) is wrong.

    The message names the file, the line where known, the key, what is allowed
    and, where one is close, the key the user probably meant.
    """

    message: str
    file: Path | str | None = None
    line: int | None = None
    key: str | None = None
    allowed: Iterable[str] | None = None
    hint: str | None = None
    got: str | None = field(default=None)
    exit_code: int = EXIT_USAGE

    def __post_init__(self) -> None:
        super().__init__(self.message)
        if self.allowed is not None:
            self.allowed = tuple(self.allowed)

    def __str__(self) -> str:
        where = ""
        if self.file is not None:
            where = str(self.file)
            if self.line is not None:
                where += f":{self.line}"
            where += ": "
        text = where
        if self.key:
            text += f"{self.key}: "
        text += self.message
        if self.allowed:
            text += "\n  allowed: " + ", ".join(str(a) for a in self.allowed)
            if self.got is not None:
                from difflib import get_close_matches  # only for a message: not at start-up

                close = get_close_matches(self.got, [str(a) for a in self.allowed], n=1)
                if close:
                    text += f"\n  did you mean {close[0]!r}?"
        if self.hint:
            text += f"\n  {self.hint}"
        return text


class TargetNotAvailableError(ExpkitError):
    """A target type is declared but this version of its plugin cannot run it yet."""

    exit_code = EXIT_USAGE


class InfrastructureError(ExpkitError):
    """Something outside the user's config failed: an engine, a build, a connection."""

    exit_code = EXIT_INFRASTRUCTURE


class RunDetached(ExpkitError):
    """Raised by ``Execution.wait`` of a detachable run when the connection to it is lost
    while the run goes on (expkit.runner.detached); the message says how to follow it."""

    exit_code = EXIT_DETACHED


class RunCanceled(ExpkitError):
    exit_code = EXIT_CANCELED
