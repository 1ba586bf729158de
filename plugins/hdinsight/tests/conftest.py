"""Fixtures of the cluster plugin's tests: the remote test host (scripts/remote/up.sh)
as the head node, with a HOME whose ~/.ssh trusts it."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]
sys.path.insert(0, str(REPO / "tests" / "remote"))

import remotehost  # noqa: E402


@pytest.fixture(scope="session")
def remote() -> remotehost.RemoteHost:
    return remotehost.host()


@pytest.fixture
def head_home(tmp_path: Path, remote, monkeypatch) -> Path:
    """HOME (for this process) with ~/.ssh trusting the head node; connections reset."""
    import expkit.ssh

    home = remotehost.make_home(tmp_path / "home", remote)
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.delenv("SSH_AUTH_SOCK", raising=False)
    expkit.ssh.close_all()
    yield home
    expkit.ssh.close_all()
