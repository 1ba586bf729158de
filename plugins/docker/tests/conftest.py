"""expkit-docker's own tests: unit tests need nothing; contract runs need dockerd + base image."""

from __future__ import annotations

import shutil
import sys
import tempfile
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from expkit_docker.engine import Engine  # noqa: E402
from fake_engine import FakeEngine  # noqa: E402


@pytest.fixture
def fake_engine():
    """A scripted engine on a unix socket, and an Engine client talking to it."""
    folder = Path(tempfile.mkdtemp(prefix="xk-", dir="/tmp"))  # short: socket paths max 107 bytes
    fake = FakeEngine(folder)
    yield fake, Engine.at(fake.url)
    fake.stop()
    shutil.rmtree(folder, ignore_errors=True)
