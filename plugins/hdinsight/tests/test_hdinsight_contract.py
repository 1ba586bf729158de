"""expkit's conformance contract for the cluster (HDInsight) placeholder.

runs_scripts = False: discovery, foreign types, attach (valid and rejected
options) and "prepare/submit fail with TargetNotAvailableError" are checked;
nothing ever pretends to run.
"""

from __future__ import annotations

from expkit.testing import TargetContract


class TestClusterContract(TargetContract):
    target_type = "cluster"
    entry_point = "hdinsight"
    runs_scripts = False
    compute = {
        "type": "cluster",
        "address": "127.0.0.1",
        "username": "sshuser",
        "sparkSubmitLocation": "spark-submit",
    }
    attach_options = {"address": "myhdi-ssh.azurehdinsight.net", "username": "sshuser"}
    bad_options = (
        {"address": None},
        {"username": None},
        {"port": 0},
        {"address": "myhdi.azurehdinsight.net"},
        {"base_image": "python:3.11"},
        {"key_file": "/nonexistent/id_rsa"},
    )
