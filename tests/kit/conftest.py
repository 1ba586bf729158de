"""Fixtures of the kit tests; the helpers live in kit_venvs.py (a unique module
name: every test folder of the suite has its own conftest.py)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from kit_venvs import REPO


@pytest.fixture(scope="session")
def wheels() -> dict[str, str]:
    """Wheels of the core and the four first-party plugins, built once per source change."""
    proc = subprocess.run(
        [sys.executable, str(REPO / "scripts" / "wheels.py")],
        capture_output=True, text=True, stdin=subprocess.DEVNULL,
    )  # fmt: skip
    assert proc.returncode == 0, f"scripts/wheels.py failed:\n{proc.stderr}"
    return json.loads(proc.stdout)
