"""Printing helpers shared by commands: JSON, tables, notes."""

from __future__ import annotations

import dataclasses
import json
import sys
from collections.abc import Iterable, Sequence
from types import MappingProxyType
from typing import Any

import typer


def to_plain(value: Any) -> Any:
    """Frozen dataclasses, mapping proxies, tuples and paths as JSON-ready values."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: to_plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, (dict, MappingProxyType)):
        return {str(k): to_plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        items = [to_plain(v) for v in value]
        return sorted(items) if isinstance(value, (set, frozenset)) else items
    if hasattr(value, "__fspath__"):
        return str(value)
    return value


def print_json(value: Any) -> None:
    typer.echo(json.dumps(to_plain(value), indent=2, ensure_ascii=False, sort_keys=False))


def print_table(headers: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
    """A plain aligned table (no colour: it is read by people and by grep)."""
    text_rows = [["" if c is None else str(c) for c in row] for row in rows]
    widths = [len(h) for h in headers]
    for row in text_rows:
        for i, cell in enumerate(row):
            widths[i] = max(widths[i], len(cell))
    line = "  ".join(h.upper().ljust(w) for h, w in zip(headers, widths))
    typer.echo(line.rstrip())
    for row in text_rows:
        typer.echo("  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip())


def note(message: str) -> None:
    """A side remark for people; on stderr so stdout stays machine-readable."""
    print(f"exp: note: {message}", file=sys.stderr)
