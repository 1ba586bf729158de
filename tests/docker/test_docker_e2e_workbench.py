"""A script written as the Workbench samples are runs unchanged in a container."""

from __future__ import annotations

import pickle
import shutil
from pathlib import Path

from docker_e2e import docker_compute, record

SAMPLE = Path(__file__).resolve().parents[1] / "fixtures" / "workbench" / "share_folder_sample.py"


def test_workbench_sample_runs_unchanged_with_its_logger_and_share_folder(docker_project, tmp_path):
    share = tmp_path / "share"
    docker_project.write(
        "aml_config/docker.compute", docker_compute(nativeSharedDirectory=str(share))
    )
    shutil.copy(SAMPLE, docker_project.root / "sample.py")
    result = docker_project.exp("run", "-c", "docker", "sample.py", "0.05")
    assert result.returncode == 0, result.output
    # Workbench's variable ends with a separator: the samples append file names to it.
    assert "native share folder: /expkit/shared/\n" in result.stdout
    assert "Predicted class is setosa" in result.stdout
    rec = record(docker_project)
    assert rec["status"] == "completed"
    assert rec["metrics"] == {"Regularization Rate": 0.05, "Accuracy": 1.0, "Sizes": [6, 3]}
    # Written in the container, kept in the host folder nativeSharedDirectory names.
    with open(share / "model.pkl", "rb") as handle:
        assert set(pickle.load(handle)) == {"setosa", "versicolor", "virginica"}
