"""A run's parameters: its arguments parsed, its environment variables, what it logged.

Parameters are what a run was asked to do. They are read from three places,
later ones winning on the same name:

- the script's arguments: ``--lr 0.1``, ``--lr=0.1`` and ``-e 5`` give
  ``lr`` and ``e``; an option followed by another option (or nothing) is a
  flag (``True``); positionals are ``arg1``, ``arg2``... in order; after
  ``--`` everything is positional;
- the run configuration's ``EnvironmentVariables``, as ``env.NAME``;
- ``log_param(name, value)`` / ``log_params(dict)`` inside the script
  (expkit.tracking), read back from the run's ``metrics.jsonl``.

Values that read as numbers become numbers, so ``--sort lr`` and
``--filter 'lr < 0.5'`` compare them as numbers.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

_NUMBER = re.compile(r"[-+]?(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?")


def typed(text: str) -> Any:
    """``"5"`` -> 5, ``"0.1"`` -> 0.1; anything else stays the string it is."""
    if _NUMBER.fullmatch(text):
        try:
            return int(text)
        except ValueError:
            return float(text)
    return text


def _is_option(token: str) -> bool:
    return token.startswith("-") and len(token) > 1 and not _NUMBER.fullmatch(token)


def parse_args(args: Iterable[str]) -> dict[str, Any]:
    """Parameters from a script's arguments (see the module docstring)."""
    params: dict[str, Any] = {}
    tokens = list(args)
    positional = 0
    i = 0
    only_positionals = False
    while i < len(tokens):
        token = tokens[i]
        i += 1
        if not only_positionals and token == "--":
            only_positionals = True
            continue
        if only_positionals or not _is_option(token):
            positional += 1
            params[f"arg{positional}"] = typed(token)
            continue
        name = token.lstrip("-")
        if "=" in name:
            name, value = name.split("=", 1)
            params[name] = typed(value)
        elif i < len(tokens) and not _is_option(tokens[i]) and tokens[i] != "--":
            params[name] = typed(tokens[i])
            i += 1
        else:
            params[name] = True
    return {k: v for k, v in params.items() if k}


def run_params(args: Iterable[str], environment: Mapping[str, str]) -> dict[str, Any]:
    """Parameters known when a run starts: parsed arguments, then ``env.NAME`` variables.

    A variable named like a secret (expkit.secrets) is listed without its value:
    the record and the index must never hold one.
    """
    from expkit.secrets import is_secret_name

    params = parse_args(args)
    params.update(
        {
            f"env.{k}": REDACTED if is_secret_name(k) else typed(str(v))
            for k, v in environment.items()
        }
    )
    return params


#: What a parameter named like a secret shows instead of its value.
REDACTED = "(secret, not recorded)"


@dataclass
class MetricsFile:
    """What a run's ``metrics.jsonl`` holds, as the record keeps it."""

    metrics: dict[str, Any] = field(default_factory=dict)
    series: dict[str, tuple[Any, ...]] = field(default_factory=dict)
    steps: dict[str, tuple[Any, ...]] = field(default_factory=dict)
    params: dict[str, Any] = field(default_factory=dict)


def read_lines(path: Path, offset: int = 0) -> tuple[list[dict[str, Any]], int]:
    """Complete JSON lines of ``path`` from byte ``offset``, and the offset after them.

    A last line without its newline (being written) is left for the next call;
    lines that are not JSON objects are skipped.
    """
    try:
        with open(path, "rb") as handle:
            handle.seek(offset)
            data = handle.read()
    except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
        return [], offset
    end = data.rfind(b"\n") + 1
    entries = []
    for line in data[:end].splitlines():
        try:
            entry = json.loads(line.decode("utf-8", "replace"))
        except ValueError:
            continue
        if isinstance(entry, dict):
            entries.append(entry)
    return entries, offset + end


def read_metrics_file(path: Path) -> MetricsFile:
    """Metrics with their steps and logged parameters from a run's ``metrics.jsonl``.

    Lines written before steps existed get their position in the series as step.
    """
    values: dict[str, list[Any]] = {}
    steps: dict[str, list[Any]] = {}
    params: dict[str, Any] = {}
    entries, _ = read_lines(path)
    for entry in entries:
        name = entry.get("name")
        if isinstance(name, str) and "value" in entry:
            series = values.setdefault(name, [])
            step = entry.get("step")
            if isinstance(step, bool) or not isinstance(step, (int, float)):
                step = len(series)
            series.append(entry["value"])
            steps.setdefault(name, []).append(step)
        elif isinstance(entry.get("param"), str) and entry["param"] and "value" in entry:
            params[entry["param"]] = entry["value"]
    return MetricsFile(
        metrics={k: v[-1] for k, v in values.items()},
        series={k: tuple(v) for k, v in values.items()},
        steps={k: tuple(v) for k, v in steps.items()},
        params=params,
    )
