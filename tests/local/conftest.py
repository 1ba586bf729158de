"""Fixtures for the local target's end-to-end tests: Workbench-shaped projects, real `exp`."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

# The test modules import their helpers (local_e2e) by name; make that work under
# any pytest import mode, not only the default one that puts this folder on sys.path.
if str(Path(__file__).parent) not in sys.path:
    sys.path.insert(0, str(Path(__file__).parent))

from local_e2e import LOCAL_COMPUTE, LOCAL_RUNCONFIG  # noqa: E402


@pytest.fixture
def local_project(project):
    """``project`` (tests/conftest.py) with local.compute and local.runconfig, Workbench style."""
    project.write("aml_config/local.compute", LOCAL_COMPUTE)
    project.write("aml_config/local.runconfig", LOCAL_RUNCONFIG)
    return project
