"""Steps, parameters, name and tags recorded the same way on the docker target."""

from __future__ import annotations

import pytest
from docker_e2e import record

pytestmark = pytest.mark.docker

SCRIPT = """
from expkit import log, log_param, log_params
log_param("optimizer", "adam")
log_params({"layers": 2})
for loss in (0.9, 0.5):
    log("loss", loss)
log("val", 0.7, step=10)
"""


def test_steps_params_name_and_tags_in_a_container(docker_project):
    docker_project.write("train.py", SCRIPT)
    result = docker_project.exp(
        "run",
        "--name",
        "in-docker",
        "--tag",
        "where=container",
        "-c",
        "docker",
        "train.py",
        "--lr",
        "0.01",
        "fast",
    )
    assert result.returncode == 0, result.output
    rec = record(docker_project)
    assert (rec["name"], rec["tags"]) == ("in-docker", {"where": "container"})
    assert rec["params"]["lr"] == 0.01 and rec["params"]["arg1"] == "fast"
    assert rec["params"]["optimizer"] == "adam" and rec["params"]["layers"] == 2
    assert rec["series"]["loss"] == [0.9, 0.5] and rec["steps"]["loss"] == [0, 1]
    assert rec["steps"]["val"] == [10]
    shown = docker_project.exp("runs", "show", "in-docker")
    assert shown.returncode == 0 and "optimizer: adam" in shown.stdout
