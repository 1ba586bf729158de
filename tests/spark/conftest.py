"""Fixtures of the Spark end-to-end tests: real Spark (pyspark's), real `exp`.

The pyspark wheel the Docker images install is repacked once from this venv's
own pyspark (scripts/spark/wheelhouse.py) into ~/.cache/expkit-ci/wheels: no
second ~300 MB download, and no build of pyspark's sdist inside a container.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(0, str(REPO / "plugins" / "docker" / "tests"))

from conftest_engines import require  # noqa: E402


@pytest.fixture(scope="session")
def pyspark_wheel() -> Path:
    """This venv's pyspark as a wheel file (cached across sessions)."""
    require(shutil.which("java") is not None, "java (Java 17+) is not installed")
    out = subprocess.run(
        [sys.executable, str(REPO / "scripts" / "spark" / "wheelhouse.py"), "pyspark"],
        capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    require(out.returncode == 0, f"pyspark is not installed in this venv: {out.stderr.strip()}")
    return Path(out.stdout.strip())


# ---------------------------------------------------------------------- the Spark cluster

sys.path.insert(0, str(REPO / "tests" / "remote"))
STANDALONE = REPO / "scripts" / "spark" / "standalone.sh"


@dataclass(frozen=True)
class SparkCluster:
    """A standalone master + worker inside the remote test host's namespace."""

    remote: Any  # remotehost.RemoteHost
    master: str  # spark://ADDR:7077
    spark_submit: str  # on the head node (the namespace shares this file system)

    def master_json(self) -> dict:
        out = subprocess.run([str(STANDALONE), "status", "--netns", self.remote.netns],
                             capture_output=True, text=True, timeout=30)  # fmt: skip
        assert out.returncode == 0, out.stderr
        return json.loads(out.stdout)

    def compute(self, home: Path, **extra: str) -> str:
        lines = {
            "type": "cluster", "address": self.remote.address, "port": self.remote.port,
            "username": self.remote.user, "keyFile": str(home / ".ssh" / "id_ed25519"),
            "master": self.master, "deployMode": "client",
            "sparkSubmitLocation": self.spark_submit, **extra,
        }  # fmt: skip
        return "".join(f"{k}: {json.dumps(v)}\n" for k, v in lines.items())


@pytest.fixture(scope="session")
def spark_cluster() -> SparkCluster:
    """The remote test host (scripts/remote/up.sh) with a Spark master and worker in it
    (scripts/spark/standalone.sh start: idempotent, quick when they are up)."""
    import pyspark
    import remotehost

    remote = remotehost.host()
    require(shutil.which("java") is not None, "java (Java 17+) is not installed")
    out = subprocess.run(
        [str(STANDALONE), "start", "--netns", remote.netns, "--host", remote.address,
         "--python", sys.executable],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    require(out.returncode == 0, f"the Spark master did not start: {out.stderr[-2000:]}")
    spark_submit = Path(pyspark.__file__).parent / "bin" / "spark-submit"
    return SparkCluster(remote, out.stdout.strip().splitlines()[-1], str(spark_submit))


@pytest.fixture
def cluster_project(project, spark_cluster, tmp_path):
    """``project`` with a cluster target ``myhdi`` on the test cluster, and a HOME whose
    ~/.ssh trusts the head node (the exp subprocesses use it)."""
    import remotehost

    home = remotehost.make_home(tmp_path / "home", spark_cluster.remote)
    project.env["HOME"] = str(home)
    project.env.pop("SSH_AUTH_SOCK", None)
    project.write("aml_config/myhdi.compute", spark_cluster.compute(home))
    return project
