"""Fixtures for the local target's end-to-end tests: Workbench-shaped projects, real `exp`."""

from __future__ import annotations

import pytest

from local_e2e import LOCAL_COMPUTE, LOCAL_RUNCONFIG


@pytest.fixture
def local_project(project):
    """``project`` (tests/conftest.py) with local.compute and local.runconfig, Workbench style."""
    project.write("aml_config/local.compute", LOCAL_COMPUTE)
    project.write("aml_config/local.runconfig", LOCAL_RUNCONFIG)
    return project
