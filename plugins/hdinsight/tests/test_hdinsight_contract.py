"""expkit's conformance contract for the cluster target, against a real head node.

The head node is the remote test host (its own sshd in a network namespace).
The contract's runs are ``Framework: Python`` (the script runs with the
environment's Python on the head node, detached, as a PySpark run does
through spark-submit); Spark itself is exercised by tests/spark.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from expkit.model import AttachRequest
from expkit.testing import TargetContract


class TestClusterContract(TargetContract):
    target_type = "cluster"
    entry_point = "hdinsight"
    bad_options = (
        {"address": None},
        {"username": None},
        {"port": 0},
        {"address": "myhdi.azurehdinsight.net"},
        {"base_image": "python:3.11"},
        {"key_file": "/nonexistent/id_rsa"},
    )

    @pytest.fixture
    def compute_data(self, remote, ssh_home: Path):
        return {
            "type": "cluster", "address": remote.address, "port": remote.port,
            "username": remote.user, "keyFile": str(ssh_home / ".ssh" / "id_ed25519"),
            "master": "yarn", "deployMode": "client",
        }  # fmt: skip

    @pytest.fixture
    def attach_request(self, tmp_path: Path, remote, ssh_home: Path) -> AttachRequest:
        project = tmp_path / "attach-project"
        (project / "aml_config").mkdir(parents=True, exist_ok=True)
        return AttachRequest(
            name="contract", type="cluster", project=project, address=remote.address,
            port=remote.port, username=remote.user,
        )  # fmt: skip
