"""Settings for every test of the repository (loaded first, from the rootdir)."""

from __future__ import annotations

import os

# expkit.ssh leaves a connection keeper behind each command that connected
# (expkit.ssh.keeper). Tests whose commands share a host would share one too,
# and a keeper outliving pytest would hold a connection for minutes: off,
# except in the keeper's own tests (tests/remote/test_ssh_keeper.py).
os.environ["EXPKIT_SSH_KEEP"] = "0"
