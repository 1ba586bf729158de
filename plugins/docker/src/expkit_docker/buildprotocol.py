"""The layer-build protocol: what a build container prints and exits with, and its reading.

A build script (buildscripts.py) and the helpers it runs in the container
(incontainer/*.py) talk to the builder (builder.py) through their output
only: lines that start with a marker, and the script's exit code. Both
sides take them from here. The in-container helpers run on the image's own
Python without expkit, so they spell the markers out; a unit test holds
them to this module.

Markers (each at the start of a line):

- ``##[expkit-step] TEXT``: a new step begins (a failure is reported "at step TEXT");
- ``##[expkit-python] VERSION EXECUTABLE``: the interpreter the layer uses;
- ``##[expkit-conda] NAME=VERSION=BUILD CHANNEL``: a conda package installed;
- ``##[expkit-error] TEXT``: why the script is about to fail;
- ``##[expkit-freeze-begin]`` ... ``##[expkit-freeze-end]``: the package list, one
  per line of stdout.
"""

from __future__ import annotations

import collections
from collections.abc import Callable
from dataclasses import dataclass, field

#: The build folder in the container: the script, the host's pip settings and CA
#: bundle. The script's last act deletes it, so no committed layer holds them.
BUILD_DIR = "/tmp/expkit-build"
#: A docker volume mounted at builds: pip's and rattler's download caches survive them.
CACHE_VOLUME = "expkit-build-cache"
CACHE_MOUNT = "/var/cache/expkit-build"

STEP = "##[expkit-step] "
PYTHON = "##[expkit-python] "
CONDA = "##[expkit-conda] "
ERROR = "##[expkit-error] "
FREEZE_BEGIN = "##[expkit-freeze-begin]"
FREEZE_END = "##[expkit-freeze-end]"

#: Exit codes of a build script that mean "the configuration asks for what the
#: base image cannot give" (layers.py turns them into configuration errors).
EXIT_NO_INSTALLER = 96
EXIT_NO_PYTHON = 97
EXIT_PYTHON_MISMATCH = 98
#: The conda packages cannot be solved from the channels given (rattler_install.py
#: prints one ``UNSOLVABLE`` line per package that fails on its own).
EXIT_UNSOLVABLE = 95
UNSOLVABLE = "##[expkit-unsolvable] "
#: Framework: PySpark, and the image has no java and no apt-get to install it (sparklayer.py).
EXIT_NO_JAVA = 94

#: Lines of output kept to show with a failure (those of the failing step).
TAIL_LINES = 25


def _ignore(_text: str) -> None:
    pass


@dataclass
class BuildLog:
    """What the build printed, parsed as it streams.

    :meth:`feed` takes the pieces an output reader passes on (whole lines
    mostly, but an unfinished line may come in parts): markers are read from
    whole lines only.
    """

    step: str = "start the build container"
    python: str | None = None
    packages: list[str] = field(default_factory=list)
    conda: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    tail: collections.deque[str] = field(
        default_factory=lambda: collections.deque(maxlen=TAIL_LINES)
    )
    #: Everything the build printed, as it came (the build log file).
    lines: list[str] = field(default_factory=list)
    on_step: Callable[[str], None] = _ignore
    on_line: Callable[[str], None] = _ignore
    _in_freeze: bool = False
    _partial: dict[int, str] = field(default_factory=dict)

    def feed(self, piece: str, stream: int = 1) -> None:
        """Take the next piece of output of ``stream`` (1 stdout, 2 stderr); parse the
        lines it completes. Each stream's unfinished line waits for its own end."""
        self.lines.append(piece)
        for part in (self._partial.pop(stream, "") + piece).splitlines(keepends=True):
            if part.endswith(("\n", "\r")):
                self._line(part.rstrip("\r\n"), stream)
            else:
                self._partial[stream] = part

    def close(self) -> None:
        """The output ended: parse the last lines that had no line end."""
        for stream in sorted(self._partial):
            self._line(self._partial.pop(stream), stream)

    def _line(self, text: str, stream: int) -> None:
        if text.startswith(STEP):
            self.step = text[len(STEP) :]
            self.tail.clear()
            self.on_step(self.step)
        elif text == FREEZE_BEGIN:
            self._in_freeze = True
        elif text == FREEZE_END:
            self._in_freeze = False
        elif self._in_freeze and stream == 1:  # a warning on stderr is no package
            if text.strip():
                self.packages.append(text.strip())
        elif text.startswith(PYTHON):
            self.python = _first_word(text[len(PYTHON) :]) or self.python
        elif text.startswith(CONDA):
            package = _first_word(text[len(CONDA) :])
            if package:
                self.conda.append(package)
        elif text.startswith(ERROR):
            self.errors.append(text[len(ERROR) :])
            self.tail.append(text)
        else:
            self.tail.append(text)
            self.on_line(text)


def _first_word(text: str) -> str | None:
    words = text.split()
    return words[0] if words else None


def failure_message(what: str, code: int, log: BuildLog, log_file: object | None) -> str:
    """``what`` failed at which step, with the last lines of that step and the log's path."""
    lines = [f"{what} failed at step: {log.step} (exit code {code})"]
    tail = [t for t in log.tail if t.strip()]
    if tail:
        lines.append("  last lines of its output:")
        lines += [f"  | {t}" for t in tail[-15:]]
    if log_file is not None:
        lines.append(f"  full build log: {log_file}")
    return "\n".join(lines)
