"""Canonical pip entries of a conda environment file's ``pip:`` list.

Called by expkit.environment.conda for each entry. Requirement strings are
parsed with ``packaging`` (PEP 508) and rewritten with PEP 503 names, sorted
extras and sorted specifiers, so ``Foo_Bar >= 1.0`` and ``foo-bar>=1.0`` are
one requirement; version strings are kept as written (``1.0`` and ``1.0.0``
stay distinct: expkit does not second-guess what the user pinned).

Local files (``./wheels/x.whl``, ``file:`` URLs, ``name @ file:...``) become
``./<path relative to the project root>`` (or an absolute path outside the
project) and their content is hashed, so replacing a wheel changes the id.
Remote URLs are kept verbatim: their content cannot be known without a download.

The canonical form of a requirement string is cached by its text in expkit's
cache (``environment/pip-requirements.json``), so a run whose pip list did not
change does not import packaging at all.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from pathlib import Path

from expkit.errors import ConfigError

ErrorFactory = Callable[..., ConfigError]

_ARCHIVE_SUFFIXES = (".whl", ".tar.gz", ".tgz", ".tar.bz2", ".zip")
_URL_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]*://")

_OPTION_HINTS = {
    "-r": "list the requirements directly in the pip: list.",
    "--requirement": "list the requirements directly in the pip: list.",
    "-e": "an editable install cannot be cached by content: build a wheel "
    "(`pip wheel ./pkg -w wheels`) and list ./wheels/<file>.whl.",
    "--editable": "an editable install cannot be cached by content: build a wheel "
    "(`pip wheel ./pkg -w wheels`) and list ./wheels/<file>.whl.",
}
_INDEX_HINT = (
    "set package indexes in the host's pip configuration (pip.conf, PIP_INDEX_URL, "
    "PIP_EXTRA_INDEX_URL), which targets pass to their builds; see docs/environments.md."
)


def canonical_pip_entry(
    entry: str, root: Path, error: ErrorFactory, conda_dir: Path | None = None
) -> tuple[str, tuple[str, str] | None]:
    """(canonical entry, (local file key, sha256) or None) for one ``pip:`` item.

    ``root`` is the project root relative paths are resolved against;
    ``error(message, hint=...)`` builds the ConfigError pointing at the entry.
    """
    text = " ".join(entry.split())
    if text.startswith("-"):
        option = text.split(" ", 1)[0].split("=", 1)[0]
        raise error(
            f"pip options are not supported in the pip: list ({option})",
            hint=_OPTION_HINTS.get(option, _INDEX_HINT),
        )
    path = _local_path(text, error)
    if path is not None:
        return _local_entry(path, root, error, conda_dir)
    if _URL_SCHEME.match(text):
        return text, None
    return _requirement(text, root, error, conda_dir)


def _requirement(
    text: str, root: Path, error: ErrorFactory, conda_dir: Path | None
) -> tuple[str, tuple[str, str] | None]:
    known = _known().get(text)
    if known is not None:
        return known, None
    canonical, local = _parse_requirement(text, root, error, conda_dir)
    if local is None:  # a pure function of the text: worth remembering
        _remember(text, canonical)
    return canonical, local


# Canonical forms of requirement strings, cached by their text: parsing needs
# packaging, whose import (~30 ms) would be a third of a tracked run's budget,
# while a project's pip list rarely changes between runs.
_CACHE_SCHEMA = 1
_CACHE_LIMIT = 2000
_cache: dict[str, str] | None = None


def _cache_path() -> Path:
    from expkit.paths import cache_dir

    return cache_dir() / "environment" / "pip-requirements.json"


def _known() -> dict[str, str]:
    global _cache
    if _cache is None:
        import json

        from expkit import __version__

        try:
            stored = json.loads(_cache_path().read_text(encoding="utf-8"))
            valid = stored.get("schema") == _CACHE_SCHEMA and stored.get("expkit") == __version__
            entries = stored.get("entries") if valid else None
            _cache = dict(entries) if isinstance(entries, dict) else {}
        except (OSError, ValueError, AttributeError, TypeError):
            _cache = {}
    return _cache


def _remember(text: str, canonical: str) -> None:
    import json

    from expkit import __version__
    from expkit.fsutil import atomic_write_text

    entries = _known()
    entries[text] = canonical
    while len(entries) > _CACHE_LIMIT:  # the oldest first
        del entries[next(iter(entries))]
    data = {"schema": _CACHE_SCHEMA, "expkit": __version__, "entries": entries}
    path = _cache_path()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_text(path, json.dumps(data), durable=False)
    except OSError:
        pass  # an unwritable cache only costs speed


def _parse_requirement(
    text: str, root: Path, error: ErrorFactory, conda_dir: Path | None
) -> tuple[str, tuple[str, str] | None]:
    from packaging.requirements import InvalidRequirement, Requirement
    from packaging.utils import canonicalize_name

    try:
        req = Requirement(text)
    except InvalidRequirement as exc:
        raise error(
            f"not a valid pip requirement: {text!r} ({exc})",
            hint="write NAME, NAME==VERSION, NAME>=VERSION, a URL or a ./path to a wheel.",
        ) from None
    if req.url and req.url.lower().startswith("file:"):
        # The file's own name says what it is; the content hash is what matters.
        return _local_entry(_file_url_path(req.url, error), root, error, conda_dir)
    name = canonicalize_name(req.name)
    extras = sorted({canonicalize_name(e) for e in req.extras})
    out = name + (f"[{','.join(extras)}]" if extras else "")
    if req.url:
        out += f" @ {req.url}"
        return out + (f" ; {req.marker}" if req.marker else ""), None
    out += str(req.specifier)
    return out + (f"; {req.marker}" if req.marker else ""), None


def _local_path(text: str, error: ErrorFactory) -> str | None:
    """The path ``text`` names when it is a local file (path or file: URL), else None."""
    if text.lower().startswith("file:"):
        return _file_url_path(text, error)
    if _URL_SCHEME.match(text) or " " in text or "@" in text:
        return None
    if text.startswith((".", "/", "~")) or "/" in text or text.lower().endswith(_ARCHIVE_SUFFIXES):
        return text
    return None


def _file_url_path(url: str, error: ErrorFactory) -> str:
    from urllib.parse import unquote, urlsplit
    from urllib.request import url2pathname

    parts = urlsplit(url)
    if parts.netloc not in ("", "localhost"):
        raise error(f"a file: URL must name a local file, not one on {parts.netloc!r}: {url}")
    return url2pathname(unquote(parts.path))


def _local_entry(
    raw: str, root: Path, error: ErrorFactory, conda_dir: Path | None
) -> tuple[str, tuple[str, str]]:
    root = Path(os.path.normpath(Path(root).absolute()))
    path = Path(raw).expanduser()
    full = Path(os.path.normpath(path if path.is_absolute() else root / path))
    if full.is_dir():
        raise error(
            f"{raw} is a folder: environments are cached by content, so pip entries must be files",
            hint="build a wheel (`pip wheel ./pkg -w wheels`) and list ./wheels/<file>.whl.",
        )
    if not full.is_file():
        hint = f"relative paths in the pip: list are relative to the project root ({root})."
        if conda_dir is not None and not path.is_absolute() and (conda_dir / path).is_file():
            beside = Path(os.path.normpath(conda_dir / path))
            hint += f" Found {beside}: write ./{_relative(beside, root) or beside}."
        raise error(f"local file not found: {raw}", hint=hint)
    rel = _relative(full, root)
    key = rel if rel is not None else full.as_posix()
    canonical = f"./{rel}" if rel is not None else key
    return canonical, (key, _sha256(full))


def _relative(path: Path, root: Path) -> str | None:
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        return None


def _sha256(path: Path) -> str:
    from expkit.digest import sha256_stream

    digest = sha256_stream()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


__all__ = ["canonical_pip_entry"]
