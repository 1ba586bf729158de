"""expkit's conformance suite (expkit.testing.TargetContract) for remotedocker, against
the remote test host: attach connects, runs go through the VM's own engine."""

from __future__ import annotations

from pathlib import Path

import pytest
from expkit.model import AttachRequest
from expkit.testing.contract import TargetContract


class TestRemoteDockerContract(TargetContract):
    target_type = "remotedocker"
    entry_point = "remotedocker"
    bad_options = (
        {"address": None},
        {"username": None},
        {"port": 70000},
        {"address": "ssh://127.0.0.1"},
        {"username": "-oProxyCommand=touch /tmp/pwned"},
        {"key_file": "/nonexistent/id_rsa"},
        {"base_image": "image; rm -rf /"},
    )
    run_timeout = 120.0
    cancel_timeout = 20.0

    @pytest.fixture(autouse=True)
    def _host(self, remote_home):
        self.remote, self.home = remote_home

    @pytest.fixture
    def compute_data(self, tmp_path: Path):
        return {"type": self.target_type, "address": self.remote.address,
                "port": self.remote.port, "username": self.remote.user,
                "baseDockerImage": self.remote.base_image}  # fmt: skip

    @pytest.fixture
    def attach_request(self, tmp_path: Path) -> AttachRequest:
        project = tmp_path / "attach-project"
        (project / "aml_config").mkdir(parents=True)
        return AttachRequest(name="contract", type=self.target_type, project=project,
                             address=self.remote.address, username=self.remote.user,
                             key_file=str(self.home / ".ssh" / "id_ed25519"),
                             base_image=self.remote.base_image)  # fmt: skip


class TestRemoteAliasContract(TestRemoteDockerContract):
    """The Workbench spelling ``type: remote`` is the same target."""

    target_type = "remote"
