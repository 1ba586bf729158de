"""Fixtures shared by the core's own tests."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def record_fields() -> list[str]:
    """The keys of a run record (record.json, ``exp runs ... --json``), in their written order.

    Spelled out, not read from expkit.history: renaming, adding or reordering a
    field changes what users' scripts parse, and must show up as a test change.
    """
    return [
        "id",
        "number",
        "status",
        "target",
        "runconfig",
        "script",
        "args",
        "exit_code",
        "started",
        "ended",
        "duration_s",
        "env_id",
        "snapshot_id",
        "git_commit",
        "git_dirty",
        "metrics",
        "series",
        "outputs",
        "packages",
        "error",
        "name",
        "tags",
        "note",
        "params",
        "steps",
        "timings",
    ]
