"""The compiled methods of dataclasses, kept across ``exp`` starts.

``dataclasses`` writes each class's ``__init__``, ``__repr__``, ``__eq__``,
``__hash__`` and frozen ``__setattr__``/``__delattr__`` as source text and
compiles it, every time the class is defined: for the two dozen frozen values
an ``exp run`` imports, compiling is about a quarter of the run's whole
overhead over plain ``python`` (measured in instructions; bench/README.md).
The text depends only on the class definition, so its code object can be
kept, like the interpreter keeps ``.pyc`` files for modules.

:func:`install` (called by the ``exp`` console script only, never on import of
the library) gives the ``dataclasses`` module an ``exec`` that looks the text
up first. Nothing else changes: the same code object the text compiles to is
executed with the same globals and namespace. A Python whose ``dataclasses``
stops calling ``exec`` by name simply never consults the cache. The file is
private to the user (like the rest of the cache), keyed by the interpreter's
bytecode version, written atomically, and ignored when unreadable.
"""

from __future__ import annotations

import marshal
import os
import sys
from types import CodeType

#: Beyond this many entries, a save keeps only what the saving process used: texts of
#: older class definitions (an upgrade) do not pile up.
MAX_ENTRIES = 4000
_TAG = f"{sys.implementation.cache_tag}-{sys.hexversion:x}"

_codes: dict[str, CodeType] = {}
_used: set[str] = set()
_path: str | None = None
_dirty = False


def cache_file(folder: str) -> str:
    return os.path.join(folder, f"dataclass-code-{_TAG}.marshal")


def _load(path: str) -> dict[str, CodeType]:
    try:
        with open(path, "rb") as handle:
            data = marshal.loads(handle.read())
    except (OSError, EOFError, ValueError, TypeError):
        return {}
    if not isinstance(data, dict):
        return {}
    return {k: v for k, v in data.items() if isinstance(k, str) and isinstance(v, CodeType)}


#: How dataclasses' generated text begins (CPython 3.10-3.12 ``_create_fn``); any other
#: text passes through untouched.
_GENERATED = "def __create_fn__("


def _cached_exec(source, globals=None, locals=None, /):  # noqa: A002 - exec's own names
    """The ``exec`` dataclasses calls on the methods it generated: the same text, the
    same globals and namespace, its compiled code reused across processes.

    Not an evaluator of anything else: this replaces ``exec`` only inside the
    ``dataclasses`` module, caches only text that module generated from class
    definitions, and hands any other call to the builtin unchanged. No user input,
    configuration value or ``--filter`` expression reaches it (those are parsed:
    expkit.history.filter).
    """
    global _dirty
    if not (isinstance(source, str) and source.startswith(_GENERATED)):
        return exec(source, globals, locals)  # exactly the call dataclasses made
    code = _codes.get(source)
    if code is None:
        # dont_inherit: the text is compiled as dataclasses would, without this
        # module's __future__ flags (annotations would turn into strings).
        code = _codes[source] = compile(source, "<string>", "exec", dont_inherit=True)
        _dirty = True
    _used.add(source)
    return exec(code, globals, locals)  # dataclasses' own text, compiled once


def install(folder: str) -> None:
    """Route ``dataclasses``' compiling through the cache in ``folder`` (idempotent)."""
    global _path
    import dataclasses

    if _path is not None:
        return
    _path = cache_file(folder)
    _codes.update(_load(_path))
    dataclasses.exec = _cached_exec  # type: ignore[attr-defined]


def uninstall() -> None:
    """Give ``dataclasses`` back the builtin ``exec`` and forget the cache (tests)."""
    global _path, _dirty
    import dataclasses

    dataclasses.__dict__.pop("exec", None)
    _path, _dirty = None, False
    _codes.clear()
    _used.clear()


def save() -> None:
    """Write what this process compiled; a no-op when nothing new was compiled."""
    global _dirty
    if not _dirty or _path is None:
        return
    _dirty = False
    if len(_codes) > MAX_ENTRIES:  # stale entries of older class definitions: keep today's
        for stale in set(_codes) - _used:
            del _codes[stale]
    folder = os.path.dirname(_path)
    tmp = f"{_path}.{os.getpid()}.tmp"
    try:
        os.makedirs(folder, mode=0o700, exist_ok=True)
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(marshal.dumps(_codes))
        os.replace(tmp, _path)
    except (OSError, ValueError):
        try:
            os.unlink(tmp)
        except OSError:
            pass
