"""SHA digests of small inputs (ids, cache keys) without loading OpenSSL.

``import hashlib`` loads OpenSSL's libraries: about 12 M instructions, some 3 %
of a whole tracked run, although a warm run hashes only a few short strings
(its snapshot's manifest, its environment's id, cache keys). CPython's own
builtin implementations, the ones hashlib itself falls back to, load in a
tenth of that but hash about eight times slower, so they serve inputs up to
:data:`SMALL` bytes and OpenSSL (imported then) everything larger and every
stream. The digests are the same either way.
"""

from __future__ import annotations

from typing import Any


def _builtin(*candidates: tuple[str, str]) -> Any:
    """The first of CPython's builtin hash constructors that exists (None elsewhere)."""
    import importlib

    for module, name in candidates:
        try:
            return getattr(importlib.import_module(module), name)
        except (ImportError, AttributeError):
            continue
    return None


# _sha2 from CPython 3.12, _sha256 before it.
_builtin_sha256 = _builtin(("_sha2", "sha256"), ("_sha256", "sha256"))
_builtin_sha1 = _builtin(("_sha1", "sha1"))

#: Inputs up to this size use the builtin implementation (milliseconds at most).
SMALL = 64 * 1024


def sha256_hex(data: bytes) -> str:
    """The SHA-256 of ``data``, as hex."""
    if _builtin_sha256 is not None and len(data) <= SMALL:
        return _builtin_sha256(data).hexdigest()
    import hashlib

    return hashlib.sha256(data).hexdigest()


def sha1_hex(data: bytes) -> str:
    """The SHA-1 of ``data``, as hex (cache keys only: never for integrity)."""
    if _builtin_sha1 is not None and len(data) <= SMALL:
        return _builtin_sha1(data).hexdigest()
    import hashlib

    return hashlib.sha1(data).hexdigest()


def sha256_stream(data: bytes = b"") -> Any:
    """A ``hashlib.sha256`` object for data that comes in chunks (files of any size)."""
    import hashlib

    return hashlib.sha256(data)


__all__ = ["SMALL", "sha1_hex", "sha256_hex", "sha256_stream"]
