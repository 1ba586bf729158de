"""The same PySpark script, unchanged, on the local target and in Docker — real Spark.

Small to big without editing the script: one project, one job.py, one
conda_dependencies.yml (pyspark plus a tiny ``wcutil`` wheel the executors
import) and one spark_dependencies.yml, run with ``exp run -c local`` (a
managed venv, spark-submit in local mode) and ``exp run -c docker``
(spark-submit ``local[*]`` in the container, Java and pyspark in the
environment's system layer). Each run is a real Spark application.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from spark_jobs import check_wordcount, runconfig, wcutil_wheel, write_job

pytestmark = [pytest.mark.slow, pytest.mark.docker]

#: Docker runs keep their expkit cache here, out of the session's temp folder,
#: so the PySpark image (Java + pyspark, ~1 GB, minutes to build) is not among
#: the images the docker session removes at its end: a rerun finds it.
DOCKER_CACHE = (
    Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "expkit-ci" / "exp-spark"
)


def test_same_script_runs_on_local_and_in_docker(project, pyspark_wheel, tmp_path):
    import docker_helpers

    docker_helpers.require_engine()
    wheels = tmp_path / "wheels"
    wcutil = wcutil_wheel(wheels)
    write_job(project, pip=[str(pyspark_wheel), str(wcutil)])
    project.write("aml_config/local.compute", 'type: "local"\nuserManagedEnvironment: false\n')
    project.write("aml_config/local.runconfig", runconfig("local"))
    project.write(
        "aml_config/docker.compute",
        f'type: "docker"\nbaseDockerImage: "{docker_helpers.BASE_IMAGE}"\n',
    )
    project.write("aml_config/docker.runconfig", runconfig("docker"))

    local = project.exp("run", "-c", "local", "job.py", "small", timeout=600)
    assert local.returncode == 0, local.output
    assert "counted 80 words; args ['small']" in local.stdout
    check_wordcount(project, _record(project, "1"))

    docker = project.exp(
        "run",
        "-c",
        "docker",
        "job.py",
        "small",
        timeout=1200,
        env={"EXPKIT_CACHE_DIR": str(DOCKER_CACHE)},
    )
    assert docker.returncode == 0, docker.output
    assert "counted 80 words; args ['small']" in docker.stdout
    record = _record(project, "2")
    check_wordcount(project, record)
    # Spark really ran in the container, with the environment's interpreter.
    assert "executor pythons ['/opt/expkit/env/bin/python']" in docker.stdout
    assert any(p.split()[0].split("==")[0] == "pyspark" for p in record["packages"]), record


def _record(project, ref: str) -> dict:
    result = project.exp("runs", "show", ref, "--json")
    assert result.returncode == 0, result.output
    return json.loads(result.stdout)
