"""expkit-remotedocker: Docker on a remote Linux VM over SSH.

Environments are built on the VM's engine with expkit-docker's builder,
a run's files travel content-addressed, and runs are detached: they go on
when the connection drops and are collected by a later command.
"""

from __future__ import annotations

__version__ = "0.1.0"
