"""expkit's conformance contract for the remotedocker placeholder.

runs_scripts = False: discovery, foreign types, attach (valid and rejected
options) and "prepare/submit fail with TargetNotAvailableError" are checked;
nothing ever pretends to run.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from expkit.model import AttachRequest
from expkit.testing import TargetContract


class TestRemoteDockerContract(TargetContract):
    target_type = "remotedocker"
    entry_point = "remotedocker"
    runs_scripts = False
    compute = {
        "type": "remotedocker",
        "address": "127.0.0.1",
        "port": 2222,
        "username": "expkit",
        "baseDockerImage": "python:3.11-slim",
    }
    attach_options = {"address": "127.0.0.1:2222", "username": "expkit"}
    bad_options = (
        {"address": None},
        {"username": None},
        {"port": 70000},
        {"address": "ssh://127.0.0.1"},
        {"username": "-oProxyCommand=touch /tmp/pwned"},
        {"key_file": "/nonexistent/id_rsa"},
        {"base_image": "image; rm -rf /"},
    )

    @pytest.fixture
    def attach_request(self, tmp_path: Path) -> AttachRequest:
        project = tmp_path / "attach-project"
        (project / "aml_config").mkdir(parents=True)
        key = tmp_path / "keys" / "id_ed25519"
        key.parent.mkdir()
        key.write_text("not a real key\n")
        return AttachRequest(name="contract", type=self.target_type, project=project,
                             key_file=str(key), **self.attach_options)  # fmt: skip
