"""The ``exp`` command line; the root Typer app and ``main`` are in expkit.cli.root.

Nothing is imported here: ``exp runs list``'s fast path (expkit.launcher) uses
expkit.cli.runslist and the table modules beside it without loading Typer.
``from expkit.cli import app, main`` still works.
"""

from __future__ import annotations

from typing import Any

_ROOT_NAMES = ("app", "main", "COMMANDS", "module_commands", "debug_enabled")


def __getattr__(name: str) -> Any:
    if name in _ROOT_NAMES:
        from expkit.cli import root

        return getattr(root, name)
    raise AttributeError(f"module 'expkit.cli' has no attribute {name!r}")
