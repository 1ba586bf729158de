"""A cluster target's ``.compute`` keys, checked: how to reach the head node, what to submit to.

Keys (Workbench spelling), besides ``type: cluster`` (alias ``hdinsight``):

- ``address``, ``port``, ``username``, ``keyFile``: the head node's SSH
  endpoint (expkit.ssh: ``~/.ssh/config``, known_hosts, agent);
- ``master``: ``yarn`` (default; HDInsight, EMR, Dataproc) or
  ``spark://host:port`` of a standalone master (comma-separated for HA);
- ``deployMode``: ``client`` (default: the driver runs on the head node,
  so its ``outputs/`` and metrics are collected) or ``cluster`` (YARN only);
- ``sparkSubmitLocation``: spark-submit on the head node (default: on PATH);
- ``pythonLocation``: the head node's Python the environment is built from
  (default ``python3``);
- ``userManagedEnvironment``: true runs with ``pythonLocation`` as it is,
  building and shipping nothing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from expkit.errors import ConfigError
from expkit.model import ComputeTarget
from expkit.sparksubmit import DEPLOY_MODES

DEFAULT_MASTER = "yarn"
DEFAULT_DEPLOY_MODE = "client"
DEFAULT_SPARK_SUBMIT = "spark-submit"
DEFAULT_PYTHON = "python3"
_STANDALONE = re.compile(r"^spark://[^\s,/:]+:\d{1,5}(,[^\s,/:]+:\d{1,5})*$")


@dataclass(frozen=True)
class ClusterSettings:
    master: str
    deploy_mode: str
    spark_submit: str
    python: str
    user_managed: bool

    @property
    def standalone(self) -> bool:
        return self.master.startswith("spark://")


def _text(compute: ComputeTarget, key: str, default: str) -> str:
    value = compute.options.get(key, default)
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(
            f"{key} must be a non-empty text, got {value!r}", file=compute.source, key=key
        )
    return value.strip()


def settings(compute: ComputeTarget) -> ClusterSettings:
    """The checked settings of ``compute``; ConfigError names the key and what is allowed."""
    if not compute.address or not compute.username:
        key = "address" if not compute.address else "username"
        raise ConfigError(
            f"a cluster target needs {key}: the head node's SSH endpoint",
            file=compute.source,
            key=key,
            hint="re-attach with `exp target attach --type cluster --address HEAD --username U`.",
        )
    master = _text(compute, "master", DEFAULT_MASTER)
    if master != "yarn" and not _STANDALONE.match(master) and not master.startswith("k8s://"):
        raise ConfigError(
            f"master {master!r} is not a cluster manager expkit can submit to",
            file=compute.source,
            key="master",
            allowed=["yarn", "spark://HOST:PORT", "k8s://..."],
            got=master,
        )
    mode = _text(compute, "deployMode", DEFAULT_DEPLOY_MODE)
    if mode not in DEPLOY_MODES:
        raise ConfigError(
            f"deployMode must be client or cluster, got {mode!r}",
            file=compute.source,
            key="deployMode",
            allowed=list(DEPLOY_MODES),
            got=mode,
        )
    if mode == "cluster" and master.startswith("spark://"):
        raise ConfigError(
            "a standalone master cannot run a Python driver in cluster deploy mode "
            "(a Spark limitation)",
            file=compute.source,
            key="deployMode",
            hint="use deployMode: client (the driver then runs on the head node).",
        )
    return ClusterSettings(
        master=master,
        deploy_mode=mode,
        spark_submit=compute.spark_submit_location or DEFAULT_SPARK_SUBMIT,
        python=compute.python_location or DEFAULT_PYTHON,
        user_managed=bool(compute.user_managed_environment),
    )


def ssh_target(compute: ComputeTarget):
    """Where expkit.ssh connects, as for remote Docker: a Workbench ``password`` is held
    in memory (tried only after the keys); port 22, what attach writes by default,
    lets a ``Port`` of ``~/.ssh/config`` for the host win."""
    from expkit.ssh import SshTarget

    port = compute.port if compute.port not in (None, 22) else None
    return SshTarget(
        host=(compute.address or "").strip("[]"),
        port=port,
        username=compute.username,
        key_file=compute.key_file,
        password=compute.password,
    )


def connect(compute: ComputeTarget, *, trust: str | None = None):
    """The (shared, reused) SSH connection to the head node; ``trust`` is a host key
    fingerprint the user confirmed (``exp target attach --trust-host-key``)."""
    from expkit.ssh import connect as ssh_connect

    return ssh_connect(ssh_target(compute), trust=trust)
