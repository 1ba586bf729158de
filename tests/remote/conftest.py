"""Fixtures for tests against the remote test host (scripts/remote/up.sh)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

import remotehost  # noqa: E402


@pytest.fixture(scope="session")
def remote() -> remotehost.RemoteHost:
    return remotehost.host()


@pytest.fixture
def ssh_home(tmp_path: Path, remote, monkeypatch) -> Path:
    """HOME (for this process) with ~/.ssh trusting the remote host; connections reset."""
    import expkit.ssh

    yield remotehost.use_home(tmp_path / "home", remote, monkeypatch)
    expkit.ssh.close_all()
