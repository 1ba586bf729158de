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
    """Read and parse a YAML file; a missing or unreadable file is a ConfigError."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise ConfigError("file not found", file=path) from None
    except UnicodeDecodeError as exc:
        raise ConfigError(f"not UTF-8 text ({exc.reason})", file=path) from None
    except OSError as exc:
        raise ConfigError(f"cannot read: {exc.strerror}", file=path) from None
    return parse_yaml(text, path)


def dump_yaml(data: Any) -> str:
    """YAML text for ``data``, keys in the given order, unicode kept."""
    import yaml

    dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
    return yaml.dump(data, Dumper=dumper, sort_keys=False, allow_unicode=True, default_flow_style=False)
