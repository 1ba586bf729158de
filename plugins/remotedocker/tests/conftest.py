"""expkit-remotedocker's tests: validation needs nothing; the rest the remote test host
(scripts/remote/up.sh; tests/remote/remotehost.py)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[3] / "tests" / "remote"))

import remotehost  # noqa: E402


@pytest.fixture
def remote_home(tmp_path: Path, monkeypatch):
    """(remote host, HOME trusting it) for tests that connect."""
    import expkit.ssh

    remote = remotehost.host()
    home = remotehost.use_home(tmp_path / "home", remote, monkeypatch)
    yield remote, home
    expkit.ssh.close_all()
