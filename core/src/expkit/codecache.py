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
up first. It evaluates nothing: the text dataclasses generates defines one
function, ``__create_fn__``, and the stand-in makes that function from its
cached code object (``types.FunctionType``, what a ``def`` statement does)
and puts it where executing the text would have; dataclasses then calls it
as before. It is installed only on the Pythons whose ``dataclasses`` calls
``exec`` for that text alone (3.10 to 3.13). The file is
private to the user (like the rest of the cache), keyed by the interpreter's
bytecode version, written atomically, and ignored when unreadable.
"""

from __future__ import annotations

import marshal
import os
import re
import sys
from types import CodeType, FunctionType

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


#: The first line of the text dataclasses generates (CPython 3.10-3.13 ``_create_fn`` and
#: ``_FuncBuilder``): a function of plain parameter names (no defaults, no annotations).
_GENERATED = re.compile(r"def __create_fn__\((?:\w+(?:, \w+)*)?\):\n")
_NAME = "__create_fn__"


class UnexpectedText(RuntimeError):
    """dataclasses handed over text of another shape than the one it generates."""


def _define_create_fn(source, globals=None, locals=None, /):  # noqa: A002 - exec's names
    """Stands for ``exec`` inside ``dataclasses``: defines ``__create_fn__`` in ``locals``
    as running ``source`` would, from the code object compiled once for that text.

    Runs no code: it only makes the function the text's single ``def`` makes.
    No user input, configuration value or ``--filter`` expression reaches it
    (those are parsed: expkit.history.filter).
    """
    global _dirty
    if not (isinstance(source, str) and _GENERATED.match(source) and isinstance(locals, dict)):
        raise UnexpectedText(
            "expkit.codecache: dataclasses asked to run text it does not generate; "
            "please report this with your Python version"
        )
    code = _codes.get(source)
    if code is None:
        # dont_inherit: the text is compiled as dataclasses would, without this
        # module's __future__ flags (annotations would turn into strings).
        code = compile(source, "<string>", "exec", dont_inherit=True)
        if _function_code(code) is None:
            raise UnexpectedText(f"expkit.codecache: not a single {_NAME} definition")
        _codes[source] = code
        _dirty = True
    _used.add(source)
    function = _function_code(code)
    if function is None:  # a damaged cache entry: compile the text again
        del _codes[source]
        return _define_create_fn(source, globals, locals)
    if globals is None:  # exec's default: the caller's, the dataclasses module's
        import dataclasses

        globals = vars(dataclasses)  # noqa: A001
    locals[_NAME] = FunctionType(function, globals, _NAME)
    return None


def _function_code(module: CodeType) -> CodeType | None:
    """The code of the one function a module-level text defines, when that is all it does."""
    found = [c for c in module.co_consts if isinstance(c, CodeType)]
    if module.co_names != (_NAME,) or len(found) != 1 or found[0].co_name != _NAME:
        return None
    return found[0]


def install(folder: str) -> None:
    """Route ``dataclasses``' compiling through the cache in ``folder`` (idempotent)."""
    global _path
    import dataclasses

    if _path is not None or not (3, 10) <= sys.version_info[:2] <= (3, 13):
        return
    _path = cache_file(folder)
    _codes.update(_load(_path))
    dataclasses.exec = _define_create_fn  # type: ignore[attr-defined]


def uninstall() -> None:
    """Give ``dataclasses`` its own ``exec`` back and forget the cache (tests)."""
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
