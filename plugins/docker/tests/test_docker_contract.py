"""expkit's conformance suite (expkit.testing.TargetContract) for the docker target.

The runs need a Docker engine and the base image (scripts/docker/): without
them they skip, or fail where engines are required (CI).
"""

from __future__ import annotations

import pytest
from docker_helpers import BASE_IMAGE, require_engine
from expkit.testing.contract import TargetContract


class TestDockerContract(TargetContract):
    target_type = "docker"
    entry_point = "docker"
    compute = {"type": "docker", "baseDockerImage": BASE_IMAGE}
    attach_options = {"base_image": BASE_IMAGE}
    bad_options = (
        {"address": "127.0.0.1"},
        {"username": "someone"},
        {"port": 22},
        {"key_file": "~/.ssh/id_rsa"},
    )
    run_timeout = 120.0
    cancel_timeout = 15.0

    @pytest.fixture(autouse=True)
    def _engine(self, request):
        # The checks of RunChecks start containers; discovery and attach need no engine.
        from expkit.testing.run_checks import RunChecks

        if getattr(RunChecks, request.node.originalname, None) is not None:
            require_engine()


class TestLocaldockerAliasContract(TestDockerContract):
    """The Workbench spelling ``type: localdocker`` is the same target."""

    target_type = "localdocker"
    compute = {"type": "localdocker", "baseDockerImage": BASE_IMAGE}
