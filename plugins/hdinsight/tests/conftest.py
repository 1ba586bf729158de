"""Fixtures of the cluster plugin's tests: the remote test host (scripts/remote/up.sh) as
the head node. ``remote`` and ``ssh_home`` (a HOME whose ~/.ssh trusts it) are the
remote tests' own fixtures (tests/remote/conftest.py), loaded from there."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[3]
sys.path.insert(0, str(REPO / "tests" / "remote"))

_spec = importlib.util.spec_from_file_location(
    "remote_fixtures", REPO / "tests" / "remote" / "conftest.py"
)
assert _spec is not None and _spec.loader is not None
_fixtures = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_fixtures)
remote = _fixtures.remote
ssh_home = _fixtures.ssh_home
