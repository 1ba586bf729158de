"""JSON out, for every layer: run records, ``--json`` output, plugin-provided values.

Beside yamlio.py (YAML in and out) and as light: standard library only, no
typer, so the history, the runner and the CLI all print and store JSON the
same way without importing up the layers.
"""

from __future__ import annotations

import dataclasses
import json
import sys
from types import MappingProxyType
from typing import IO, Any


def to_plain(value: Any) -> Any:
    """Frozen dataclasses, mappings, tuples, sets and paths as JSON-ready values.

    Dataclass fields keep their declaration order; a set becomes a sorted list.
    """
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


def dumps(data: Any, **options: Any) -> str:
    """JSON text that can always be encoded as UTF-8.

    Readable non-ASCII text is kept as is. A file name or argument that was
    not valid UTF-8 reaches Python with lone surrogates (PEP 383); then the
    whole text is written with ``\\uXXXX`` escapes, which json.loads turns
    back into the same string, so the name's bytes survive (os.fsencode).
    """
    text = json.dumps(data, ensure_ascii=False, **options)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        text = json.dumps(data, ensure_ascii=True, **options)
    return text


def print_json(value: Any, stream: IO[str] | None = None) -> None:
    """``value`` (see :func:`to_plain`) as indented JSON on stdout, flushed."""
    out = sys.stdout if stream is None else stream
    out.write(dumps(to_plain(value), indent=2) + "\n")
    out.flush()


__all__ = ["dumps", "print_json", "to_plain"]
