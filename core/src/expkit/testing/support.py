"""Shared pieces of the conformance suite: the trivial scripts and small checkers."""

from __future__ import annotations

import json
from collections.abc import Mapping
from importlib.metadata import EntryPoint, entry_points
from pathlib import Path
from typing import Any

import pytest

from expkit.plugins import ENTRY_POINT_GROUP, Registry

FOREIGN_TYPE = "no-such-type-xyz"
#: The hooks a plugin must answer with None for a type it does not own.
OWNED_HOOKS = ("expkit_attach", "expkit_prepare", "expkit_submit", "expkit_collect")
OPTIONAL_HOOKS = ("expkit_list_environments", "expkit_remove_environment")
#: Passed literally to the script: quoting bugs in a target show up here.
CONTRACT_ARGS = ("plain", "with space", "quote'\"", "$(echo not-expanded)", "new\nline", "ünïcødé")
CONTRACT_VALUE = "välue with spaces; $HOME `x`"

CONTRACT_SCRIPT = """\
import json, os, sys
from expkit import log

print("contract: line one")
print("contract: to stderr", file=sys.stderr)
print("contract: line two")
os.makedirs("outputs", exist_ok=True)
with open(os.path.join("outputs", "result.txt"), "w", encoding="utf-8") as handle:
    handle.write("contract result\\n")
seen = {"argv": sys.argv[1:], "var": os.environ.get("CONTRACT_VAR"),
        "run_id": os.environ.get("EXPKIT_RUN_ID")}
with open(os.path.join("outputs", "seen.json"), "w", encoding="utf-8") as handle:
    json.dump(seen, handle)
log("contract_metric", 0.5)
log("contract_series", [1, 2, 3])
sys.exit(int(os.environ.get("CONTRACT_EXIT_CODE", "0")))
"""

#: Script names a target must run as files, never read as interpreter or
#: spark-submit options (``python -cprint(...)`` would run the name as code).
HOSTILE_SCRIPT_NAMES = ('-cprint("NAME-AS-CODE")', "--version; $(echo x) 'q'.py")
HOSTILE_SCRIPT = """\
import sys
print("contract: ran as a file:", sys.argv[0])
"""

SLEEP_SCRIPT = """\
import os, time
os.makedirs("outputs", exist_ok=True)
with open(os.path.join("outputs", "partial.txt"), "w") as handle:
    handle.write("partial\\n")
print("contract: sleeping", flush=True)
time.sleep(600)
"""


def find_entry_point(name: str) -> EntryPoint:
    """The ``expkit`` entry point called ``name``; fails the test listing the ones found."""
    found = {ep.name: ep for ep in entry_points(group=ENTRY_POINT_GROUP)}
    if name not in found:
        pytest.fail(
            f"no entry point {name!r} in group {ENTRY_POINT_GROUP!r} (found: "
            f"{', '.join(sorted(found)) or 'none'}). Declare it in pyproject.toml under "
            f"[project.entry-points.{ENTRY_POINT_GROUP}] and reinstall the package.",
            pytrace=False,
        )
    return found[name]


def call_impls(registry: Registry, hook: str, **kwargs: Any) -> list[tuple[str, Any]]:
    """Call every implementation of ``hook`` directly (no firstresult): [(plugin name, result)]."""
    results = []
    for impl in getattr(registry.hook, hook).get_hookimpls():
        if impl.hookwrapper or getattr(impl, "wrapper", False):
            continue
        args = {name: kwargs[name] for name in impl.argnames}
        results.append((impl.plugin_name, impl.function(**args)))
    return results


def has_password(value: Any) -> bool:
    if isinstance(value, Mapping):
        return any("password" in str(k).lower() or has_password(v) for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return any(has_password(v) for v in value)
    return False


class UntouchableExecution:
    """Handed to ``expkit_collect`` for a foreign type: using it is a contract violation."""

    def wait(self, on_output):  # pragma: no cover - only reached by a broken plugin
        raise AssertionError("expkit_collect used the execution of a foreign target type")

    def cancel(self):  # pragma: no cover
        raise AssertionError("expkit_collect used the execution of a foreign target type")


def read_metrics(path: Path) -> dict[str, list[Any]]:
    series: dict[str, list[Any]] = {}
    if path.exists():
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                entry = json.loads(line)
                series.setdefault(entry["name"], []).append(entry["value"])
    return series


class RecordingProgress:
    """A Progress that records what a plugin reports."""

    def __init__(self) -> None:
        self.events: list[tuple[str, Any]] = []

    def step(self, message: str) -> None:
        self.events.append(("step", message))

    def line(self, text: str) -> None:
        self.events.append(("line", text))

    def advance(self, done: float, total: float | None = None) -> None:
        self.events.append(("advance", (done, total)))


__all__ = [
    "CONTRACT_ARGS",
    "CONTRACT_SCRIPT",
    "CONTRACT_VALUE",
    "FOREIGN_TYPE",
    "HOSTILE_SCRIPT",
    "HOSTILE_SCRIPT_NAMES",
    "OWNED_HOOKS",
    "SLEEP_SCRIPT",
    "RecordingProgress",
    "UntouchableExecution",
    "call_impls",
    "find_entry_point",
    "has_password",
    "read_metrics",
]
