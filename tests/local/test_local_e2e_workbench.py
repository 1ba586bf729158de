"""Workbench's names inside a local run: ``azureml.logging`` and the native share folder."""

from __future__ import annotations

import pickle
import shutil

import pytest
from local_e2e import LOCAL_COMPUTE, LOCAL_RUNCONFIG, REPO, run_record

SAMPLE = REPO / "tests" / "fixtures" / "workbench" / "share_folder_sample.py"
#: What the sample logs with reg 0.05 (it classifies its six points right).
SAMPLE_METRICS = {"Regularization Rate": 0.05, "Accuracy": 1.0, "Sizes": [6, 3]}


def _workbench_project(project, share) -> None:
    project.write("aml_config/local.compute", LOCAL_COMPUTE + f'nativeSharedDirectory: "{share}"\n')
    project.write("aml_config/local.runconfig", LOCAL_RUNCONFIG)
    shutil.copy(SAMPLE, project.root / "sample.py")


def test_workbench_sample_runs_unchanged_with_its_logger_and_share_folder(project, tmp_path):
    share = tmp_path / "share"  # created by the run: it does not exist yet
    _workbench_project(project, share)
    result = project.exp("run", "-c", "local", "sample.py", "0.05")
    assert result.returncode == 0, result.output
    assert f"native share folder: {share}/\n" in result.stdout
    assert "Predicted class is setosa" in result.stdout
    record = run_record(project)
    assert record["status"] == "completed"
    assert record["metrics"] == SAMPLE_METRICS
    assert record["series"]["Accuracy"] == [1.0]
    # The model went to the share folder on this machine, not into the run.
    with open(share / "model.pkl", "rb") as handle:
        assert set(pickle.load(handle)) == {"setosa", "versicolor", "virginica"}
    assert record["outputs"] == []


def test_expkit_names_the_share_folder_too(project, tmp_path):
    share = tmp_path / "shared"
    _workbench_project(project, share)
    project.write(
        "names.py",
        """
        import os
        print("expkit:", os.environ["EXPKIT_SHARED_DIR"])
        print("workbench:", os.environ["AZUREML_NATIVE_SHARE_DIRECTORY"])
        """,
    )
    result = project.exp("run", "-c", "local", "names.py")
    assert result.returncode == 0, result.output
    assert f"expkit: {share}\n" in result.stdout
    assert f"workbench: {share}/\n" in result.stdout


def test_no_share_folder_variables_without_native_shared_directory(project):
    project.write("aml_config/local.compute", LOCAL_COMPUTE)
    project.write("aml_config/local.runconfig", LOCAL_RUNCONFIG)
    project.write(
        "names.py",
        """
        import os
        print(sorted(k for k in os.environ if "SHARE" in k))
        """,
    )
    result = project.exp("run", "-c", "local", "names.py")
    assert result.returncode == 0, result.output
    assert "[]\n" in result.stdout


@pytest.mark.parametrize("regular", [True, False], ids=["regular-package", "namespace-package"])
def test_a_real_azureml_package_in_the_environment_wins(project, tmp_path, regular):
    """The compatibility module stands in only when the environment has no azureml.logging."""
    site = tmp_path / "site"
    (site / "azureml").mkdir(parents=True)
    if regular:
        (site / "azureml" / "__init__.py").write_text("")
    (site / "azureml" / "logging.py").write_text(
        "class _L:\n"
        "    def log(self, name, value):\n"
        "        print('real azureml logged', name, value)\n"
        "def get_azureml_logger():\n"
        "    return _L()\n"
    )
    project.write("aml_config/local.compute", LOCAL_COMPUTE)
    project.write(
        "aml_config/local.runconfig",
        LOCAL_RUNCONFIG.replace('"EXAMPLE_ENV_VAR": "Example Value"', f'"PYTHONPATH": "{site}"'),
    )
    project.write(
        "logs.py",
        """
        from azureml.logging import get_azureml_logger
        get_azureml_logger().log("Accuracy", 0.5)
        """,
    )
    result = project.exp("run", "-c", "local", "logs.py")
    assert result.returncode == 0, result.output
    assert "real azureml logged Accuracy 0.5" in result.stdout
    assert run_record(project)["metrics"] == {}
