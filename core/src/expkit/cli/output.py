"""Printing helpers shared by commands: JSON (expkit.jsonio), tables, notes."""

from __future__ import annotations

import sys
from collections.abc import Iterable, Sequence
from typing import Any

import typer

from expkit.jsonio import print_json, to_plain

__all__ = ["note", "print_json", "print_table", "to_plain"]


def print_table(headers: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
    """A plain aligned table (no colour: it is read by people and by grep)."""
    text_rows = [["" if c is None else str(c) for c in row] for row in rows]
    widths = [len(h) for h in headers]
    for row in text_rows:
        for i, cell in enumerate(row):
            widths[i] = max(widths[i], len(cell))
    line = "  ".join(h.upper().ljust(w) for h, w in zip(headers, widths, strict=True))
    typer.echo(line.rstrip())
    for row in text_rows:
        typer.echo("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip())


def note(message: str) -> None:
    """A side remark for people; on stderr so stdout stays machine-readable."""
    print(f"exp: note: {message}", file=sys.stderr)
