"""Fixtures for expkit-local's own tests: hooks called directly, on real processes."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

# The test modules import local_helpers by name; make that work under any pytest
# import mode, not only the default one that puts this folder on sys.path.
if str(Path(__file__).parent) not in sys.path:
    sys.path.insert(0, str(Path(__file__).parent))


@pytest.fixture(scope="session")
def cache_root(tmp_path_factory) -> Path:
    """One expkit cache for the session, so venvs built once are reused by later tests."""
    return tmp_path_factory.mktemp("expkit-cache")


@pytest.fixture(autouse=True)
def _isolated_cache(cache_root, monkeypatch) -> None:
    monkeypatch.setenv("EXPKIT_CACHE_DIR", str(cache_root))
    # `python` must mean this interpreter, as it does for a user inside their venv.
    monkeypatch.setenv("PATH", str(Path(sys.executable).parent) + os.pathsep + os.environ["PATH"])
