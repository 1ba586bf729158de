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
    return YamlDoc(data=data, path=path, lines=lines)


def load_yaml(path: Path) -> YamlDoc:
    """Read and parse a YAML file; a missing or unreadable file is a ConfigError.

    Parsed files are cached (marshal, keyed by path, size, mtime and inode):
    importing and running the YAML parser costs more than a tracked run may.
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
    cached = _cache_get(stamp)
    if cached is not None:
        return YamlDoc(data=cached[0], path=path, lines=cached[1])
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ConfigError(f"not UTF-8 text ({exc.reason})", file=path) from None
    doc = parse_yaml(text, path)
    _cache_put(stamp, doc)
    return doc


def _cache_file(stamp: tuple) -> Path:
    import hashlib

    from expkit.paths import cache_dir

    digest = hashlib.sha1(stamp[0].encode("utf-8")).hexdigest()
    return cache_dir() / "yaml" / f"{digest}.marshal"


def _cache_get(stamp: tuple) -> tuple | None:
    import marshal

    try:
        stored_stamp, data, lines = marshal.loads(_cache_file(stamp).read_bytes())
    except (OSError, ValueError, EOFError, TypeError):
        return None
    return (data, lines) if stored_stamp == stamp else None


def _cache_put(stamp: tuple, doc: YamlDoc) -> None:
    import marshal

    try:
        blob = marshal.dumps((stamp, doc.data, doc.lines))
    except ValueError:
        return  # values marshal cannot hold (dates): parse every time
    target = _cache_file(stamp)
    try:
        from expkit.fsutil import atomic_write_bytes

        target.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_bytes(target, blob, durable=False)
    except OSError:
        pass  # an unwritable cache only costs speed


def dump_yaml(data: Any) -> str:
    """YAML text for ``data``, keys in the given order, unicode kept."""
    import yaml

    dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
    return yaml.dump(
        data, Dumper=dumper, sort_keys=False, allow_unicode=True, default_flow_style=False
    )
