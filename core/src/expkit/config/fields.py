"""Typed reads of YAML mappings, each failure a ConfigError pointing at the line.

Every Workbench file is a mapping of known keys to scalars, lists and small
maps; the checks here are shared by the ``.compute``, ``.runconfig`` and
``spark_dependencies.yml`` parsers so that every file reports errors the
same way: file, line, key, what is allowed, did-you-mean, how to fix.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from expkit.errors import ConfigError
from expkit.yamlio import YamlDoc

#: A compute target / run configuration name is a file stem in aml_config/:
#: no separators, no leading dot (hidden files, ``..``), bounded length.
_SAFE_NAME = re.compile(r"[A-Za-z0-9_-][A-Za-z0-9_.-]{0,99}")
NAME_RULE = "letters, digits, '_', '-' and '.', not starting with '.' (at most 100 characters)"

_BOOL_WORDS = {"true": True, "false": False}


def is_safe_name(name: object) -> bool:
    return isinstance(name, str) and _SAFE_NAME.fullmatch(name) is not None


def check_name(name: str, *, what: str = "name", option: str | None = None) -> str:
    """``name`` if it is a safe file stem, else a ConfigError (no path traversal)."""
    if not is_safe_name(name):
        raise ConfigError(
            f"{what} {name!r} is not allowed",
            key=option,
            hint=f"names use {NAME_RULE}.",
        )
    return name


def describe(value: Any) -> str:
    """How a YAML value reads to a person, for 'expected X, got Y' messages."""
    if value is None:
        return "nothing (null)"
    if isinstance(value, bool):
        return f"the boolean {str(value).lower()}"
    if isinstance(value, (int, float)):
        return f"the number {value!r}"
    if isinstance(value, str):
        return f"the text {value!r}"
    if isinstance(value, Mapping):
        return "a mapping"
    if isinstance(value, (list, tuple)):
        return "a list"
    return type(value).__name__


def scalar_text(value: Any) -> str | None:
    """A YAML scalar as the string a program would see; None for non-scalars."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (str, int, float)):
        return str(value)
    if value is None:
        return ""
    return None


class Fields:
    """A mapping inside a YAML document, read key by key with checks.

    ``path`` is where the mapping sits in the document (``()`` for the top),
    so that errors for nested keys carry the right line and dotted key.
    """

    def __init__(self, doc: YamlDoc, data: Mapping[Any, Any], path: tuple = ()) -> None:
        self.doc = doc
        self.data = data
        self.path = path

    @classmethod
    def top(cls, doc: YamlDoc, what: str, example: str) -> Fields:
        """The document's top-level mapping; an empty file or a list is an error."""
        if doc.data is None:
            raise ConfigError(
                f"the file is empty; a {what} needs at least: {example}", file=doc.path
            )
        if not isinstance(doc.data, Mapping):
            raise ConfigError(
                f"expected a mapping of keys to values, got {describe(doc.data)}",
                file=doc.path,
                line=doc.line(),
                hint=f"a {what} looks like: {example}",
            )
        return cls(doc, doc.data)

    # ------------------------------------------------------------------ errors

    def error(self, message: str, key: Any = None, **kw: Any) -> ConfigError:
        keys = self.path + ((key,) if key is not None else ())
        return self.doc.error(message, *keys, **kw)

    def reject_unknown(self, allowed: Iterable[str], *, hint: str | None = None) -> None:
        allowed = sorted(set(allowed))
        for key in self.data:
            if key not in allowed:
                raise self.error(
                    "unknown key",
                    str(key),
                    allowed=allowed,
                    got=str(key),
                    hint=hint or "remove it, or fix its spelling (keys are case-sensitive).",
                )

    # ------------------------------------------------------------------ reads

    def has(self, key: str) -> bool:
        return key in self.data and self.data[key] is not None

    def string(self, key: str, *, required: bool = False, hint: str | None = None) -> str | None:
        """A non-empty string; numbers are not silently turned into text."""
        value = self.data.get(key)
        if value is None:
            if required:
                if key in self.data:
                    raise self.error("needs a value", key, hint=hint)
                raise self.error("required key is missing", key, hint=hint)
            return None
        if not isinstance(value, str):
            raise self.error(f"must be text, got {describe(value)}", key, hint=hint)
        if not value.strip():
            if required:
                raise self.error("must not be empty", key, hint=hint)
            return None
        if "\0" in value:
            raise self.error("must not contain a NUL character", key)
        return value

    def boolean(self, key: str) -> bool | None:
        """true/false; Workbench sometimes quoted them, so "True"/"false" are accepted."""
        value = self.data.get(key)
        if value is None or isinstance(value, bool):
            return value
        if isinstance(value, str) and value.strip().lower() in _BOOL_WORDS:
            return _BOOL_WORDS[value.strip().lower()]
        raise self.error(
            f"must be true or false, got {describe(value)}",
            key,
            allowed=("true", "false"),
            got=str(value).lower(),
        )

    def integer(self, key: str, low: int, high: int) -> int | None:
        value = self.data.get(key)
        if value is None:
            return None
        if isinstance(value, str) and value.strip().isdigit():
            value = int(value.strip())
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.error(
                f"must be a whole number from {low} to {high}, got {describe(value)}", key
            )
        if not low <= value <= high:
            raise self.error(f"must be from {low} to {high}, got {value}", key)
        return value

    def choice(self, key: str, choices: Iterable[str], default: str) -> str:
        """One of ``choices`` compared case-insensitively; returns the canonical spelling."""
        choices = tuple(choices)
        value = self.data.get(key)
        if value is None:
            return default
        if isinstance(value, str):
            for choice in choices:
                if value.strip().lower() == choice.lower():
                    return choice
        raise self.error(
            f"{describe(value)} is not allowed",
            key,
            allowed=choices,
            got=str(value),
        )

    def text_list(self, key: str) -> tuple[str, ...] | None:
        """A list of scalars as strings (numbers are stringified, null items are not)."""
        value = self.data.get(key)
        if value is None:
            return None
        if isinstance(value, str):
            raise self.error(
                f"must be a list, got {describe(value)}",
                key,
                hint=f'write it as a list: {key}: ["{value}"]',
            )
        if not isinstance(value, list):
            raise self.error(f"must be a list of text items, got {describe(value)}", key)
        items = []
        for i, item in enumerate(value):
            if isinstance(item, bool) or item is None or not isinstance(item, (str, int, float)):
                raise self.doc.error(
                    f"list items must be text, got {describe(item)}",
                    *self.path,
                    key,
                    i,
                    hint="quote the item if it is meant as text.",
                )
            items.append(str(item))
        return tuple(items)

    def mapping(self, key: str) -> Fields | None:
        value = self.data.get(key)
        if value is None:
            return None
        if not isinstance(value, Mapping):
            raise self.error(f"must be a mapping of names to values, got {describe(value)}", key)
        return Fields(self.doc, value, self.path + (key,))

    def text_map(self, key: str, *, allow_null: bool = True) -> dict[str, str] | None:
        """A mapping of names to scalars, values as strings (null -> "" when allowed)."""
        section = self.mapping(key)
        if section is None:
            return None
        result: dict[str, str] = {}
        for name, value in section.data.items():
            if not isinstance(name, str) or not name:
                raise section.error(f"names must be text, got {describe(name)}", str(name))
            text = scalar_text(value)
            if text is None or (value is None and not allow_null):
                raise section.error(
                    f"must be a single value (text, number or true/false), got {describe(value)}",
                    name,
                )
            if "\0" in name or "\0" in text:
                raise section.error("must not contain a NUL character", name)
            result[name] = text
        return result
