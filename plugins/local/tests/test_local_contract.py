"""expkit's conformance suite (expkit.testing.TargetContract) for the local target.

Named test_local_contract.py, not test_contract.py: every plugin has one, and
test modules must have unique basenames under pytest's default import mode.
"""

from __future__ import annotations

from expkit.testing import TargetContract


class TestLocalContract(TargetContract):
    target_type = "local"
    entry_point = "local"
    compute = {"type": "local", "pythonLocation": "python"}
    bad_options = (
        {"address": "127.0.0.1"},
        {"username": "someone"},
        {"port": 22},
        {"key_file": "~/.ssh/id_rsa"},
        {"base_image": "python:3.11-slim"},
    )
    run_timeout = 60.0
    cancel_timeout = 10.0


class TestLocalManagedContract(TargetContract):
    """The same contract in managed mode: runs happen in a cached venv."""

    target_type = "local"
    entry_point = "local"
    compute = {"type": "local", "pythonLocation": "python", "userManagedEnvironment": False}
    bad_options = ({"address": "127.0.0.1"},)
    run_timeout = 60.0
    cancel_timeout = 10.0
