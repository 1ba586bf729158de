"""YAML in and out, with line numbers for error messages.

Workbench files are small; parsing twice (values, then the node tree for
line numbers) costs far less than a confusing error message.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from expkit.errors import ConfigError


def _loader():
    import yaml

    return getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@dataclass(frozen=True)
class YamlDoc:
    """A parsed YAML file: its data and the line of every key and list item."""

    data: Any
    path: Path
    #: (key, key, index, ...) path -> 1-based line where that key or item starts.
    lines: dict[tuple, int] = field(default_factory=dict)

    def line(self, *keys: Any) -> int | None:
        """The line of the deepest known prefix of ``keys``."""
        for end in range(len(keys), -1, -1):
            found = self.lines.get(tuple(keys[:end]))
            if found is not None:
                return found
        return None

    def error(self, message: str, *keys: Any, **kw: Any) -> ConfigError:
        """A ConfigError pointing at ``keys`` in this file."""
        key = ".".join(str(k) for k in keys) if keys else kw.pop("key", None)
        return ConfigError(message, file=self.path, line=self.line(*keys), key=key, **kw)


def _index_lines(node: Any, prefix: tuple, lines: dict[tuple, int], path: Path) -> None:
    import yaml

    if isinstance(node, yaml.MappingNode):
        seen: dict[str, int] = {}
        for key_node, value_node in node.value:
            key = key_node.value if isinstance(key_node, yaml.ScalarNode) else str(key_node)
            line = key_node.start_mark.line + 1
            if key in seen:
                # PyYAML keeps the last value silently; a user who wrote a key
                # twice meant one of them, so say which.
                raise ConfigError(
                    f"key written twice (first on line {seen[key]})",
                    file=path,
                    line=line,
                    key=".".join(str(k) for k in prefix + (key,)),
                    hint="keep one of them.",
                )
            seen[key] = line
            keypath = prefix + (key,)
            lines.setdefault(keypath, line)
            _index_lines(value_node, keypath, lines, path)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            itempath = prefix + (i,)
            lines.setdefault(itempath, item.start_mark.line + 1)
            _index_lines(item, itempath, lines, path)


def parse_yaml(text: str, path: Path) -> YamlDoc:
    """Parse ``text`` (read from ``path``); malformed YAML is a ConfigError with its line."""
    return _parse(text, path)[0]


def _parse(text: str, path: Path) -> tuple[YamlDoc, Any]:
    import yaml

    try:
        data = yaml.load(text, Loader=_loader())  # noqa: S506 - a safe loader
        node = yaml.compose(text, Loader=_loader())
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        raise ConfigError(
            f"not valid YAML: {exc.problem or exc.context}",
            file=path,
            line=mark.line + 1 if mark else None,
            hint="check indentation, colons and quotes around that line.",
        ) from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"not valid YAML: {exc}", file=path) from None
    lines: dict[tuple, int] = {}
    if node is not None:
        lines[()] = node.start_mark.line + 1
        _index_lines(node, (), lines, path)
    return YamlDoc(data=data, path=path, lines=lines), node


def load_yaml(path: Path) -> YamlDoc:
    """Read and parse a YAML file; a missing or unreadable file is a ConfigError.

    Parsed files are cached (marshal, keyed by path, size, mtime and inode):
    importing and running the YAML parser costs more than a tracked run may.
    The cache never holds a secret: a value whose key is named like one
    (expkit.secrets) is kept as its place in the file, and read from the
    file itself (unchanged, as the key says) when the cache is used.
    """
    path = Path(path)
    try:
        raw = path.read_bytes()
        st = path.stat()
    except FileNotFoundError:
        raise ConfigError("file not found", file=path) from None
    except IsADirectoryError:
        raise ConfigError("is a folder, not a file", file=path) from None
    except OSError as exc:
        raise ConfigError(f"cannot read: {exc.strerror}", file=path) from None
    stamp = (str(path.resolve()), st.st_size, st.st_mtime_ns, st.st_ino)
    cached = _cache_get(stamp, raw)
    if cached is not None:
        return YamlDoc(data=cached[0], path=path, lines=cached[1])
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ConfigError(f"not UTF-8 text ({exc.reason})", file=path) from None
    doc, node = _parse(text, path)
    _cache_put(stamp, doc, node, text)
    return doc


# ----------------------------------------------------------------------------- the cache

_FORMAT = "expkit-yaml/2"


def _cache_file(stamp: tuple) -> Path:
    from expkit.digest import sha1_hex
    from expkit.paths import cache_dir

    digest = sha1_hex(stamp[0].encode("utf-8"))
    return cache_dir() / "yaml" / f"{digest}.marshal"


def _cache_get(stamp: tuple, raw: bytes) -> tuple | None:
    import marshal

    target = _cache_file(stamp)
    try:
        stored = marshal.loads(target.read_bytes())
    except (OSError, ValueError, EOFError, TypeError):
        return None
    if not (isinstance(stored, tuple) and stored and stored[0] == _FORMAT):
        # Written by an older expkit, which kept secret values in the cache.
        target.unlink(missing_ok=True)
        return None
    _format, stored_stamp, data, lines, spans = stored
    if stored_stamp != stamp:
        return None
    if spans:
        text = raw.decode("utf-8-sig", errors="replace")
        for keypath, start, end in spans:
            _put(data, keypath, text[start:end])
    return data, lines


def _put(data: Any, keypath: tuple, value: Any) -> None:
    for key in keypath[:-1]:
        data = data[key]
    data[keypath[-1]] = value


def _get(data: Any, keypath: tuple) -> Any:
    for key in keypath:
        data = data[key]
    return data


def _secret_spans(node: Any, keypath: tuple, out: list) -> bool:
    """Collect (keypath, start, end) of every value named like a secret; False when
    one cannot be read back from the file as it is (not a plain or simply quoted string)."""
    import yaml

    from expkit.secrets import is_secret_name

    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            key = key_node.value if isinstance(key_node, yaml.ScalarNode) else None
            if key is None:
                continue
            if is_secret_name(key):
                if not isinstance(value_node, yaml.ScalarNode):
                    return False
                start, end = value_node.start_mark.index, value_node.end_mark.index
                if value_node.style in ("'", '"'):
                    start, end = start + 1, end - 1
                elif value_node.style:  # None or "" (the C parser's) for a plain scalar
                    return False  # a block scalar: its text is not the value
                out.append(((*keypath, key), start, end))
            elif not _secret_spans(value_node, (*keypath, key), out):
                return False
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            if not _secret_spans(item, (*keypath, i), out):
                return False
    return True


def _cache_put(stamp: tuple, doc: YamlDoc, node: Any, text: str) -> None:
    import marshal

    from expkit.secrets import redact

    spans: list = []
    data, removed = doc.data, redact(doc.data)[1]
    if removed:
        readable = _secret_spans(node, (), spans) and sorted(p for p, _s, _e in spans) == sorted(
            removed
        )
        # Each value must read back exactly (a string, no escapes): else never cached.
        if not readable or any(
            _get(doc.data, p) != text[s:e] or not isinstance(_get(doc.data, p), str)
            for p, s, e in spans
        ):
            _cache_file(stamp).unlink(missing_ok=True)
            return
    try:
        if spans:
            data = marshal.loads(marshal.dumps(data))  # a copy: the caller keeps the values
            for keypath, _start, _end in spans:
                _put(data, keypath, None)
        blob = marshal.dumps((_FORMAT, stamp, data, doc.lines, tuple(spans)))
    except ValueError:
        return  # values marshal cannot hold (dates): parse every time
    target = _cache_file(stamp)
    try:
        from expkit.fsutil import atomic_write_bytes
        from expkit.paths import private_cache_dir

        private_cache_dir("yaml")
        atomic_write_bytes(target, blob, 0o600, durable=False)
    except OSError:
        pass  # an unwritable cache only costs speed


def dump_yaml(data: Any) -> str:
    """YAML text for ``data``, keys in the given order, unicode kept."""
    import yaml

    dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
    return yaml.dump(
        data, Dumper=dumper, sort_keys=False, allow_unicode=True, default_flow_style=False
    )
