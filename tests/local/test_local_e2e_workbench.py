"""Workbench's names inside a local run: ``azureml.logging`` and the native share folder."""

from __future__ import annotations

import json
import pickle
import shutil
import uuid

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


# --- PrepareEnvironment, and what a user-managed target says ------------------------------


def test_prepare_environment_false_fails_at_once_until_exp_prepare(project):
    from test_local_e2e_environments import managed_project

    pkg = f"greet_{uuid.uuid4().hex[:8]}"
    managed_project(project, pkg)
    rc = project.root / "aml_config" / "local.runconfig"
    rc.write_text(rc.read_text().replace("PrepareEnvironment: true", "PrepareEnvironment: false"))
    refused = project.exp("run", "-c", "local", "use.py")
    assert refused.returncode == 2, refused.output
    error = next(line for line in refused.stderr.splitlines() if line.startswith("exp: error:"))
    assert error.startswith(f"exp: error: {rc}: PrepareEnvironment: is false, and the run's")
    assert "venv" in error and "is not built" in error
    assert "prepare it first with `exp prepare -c local`" in refused.stderr
    assert pkg not in refused.stdout  # the script never ran
    assert run_record(project)["status"] == "failed"

    prepared = project.exp("prepare", "-c", "local", "--json")
    assert prepared.returncode == 0, prepared.output
    env_id = json.loads(prepared.stdout)["env_id"]
    ran = project.exp("run", "-c", "local", "use.py")
    assert ran.returncode == 0, ran.output
    assert f"hello from {pkg}" in ran.stdout
    assert run_record(project, "2")["env_id"] == env_id


def test_user_managed_target_says_once_that_the_conda_file_is_not_applied(project):
    project.write("aml_config/local.compute", LOCAL_COMPUTE)
    project.write(
        "aml_config/local.runconfig",
        LOCAL_RUNCONFIG + 'CondaDependenciesFile: "aml_config/conda_dependencies.yml"\n',
    )
    project.write("aml_config/conda_dependencies.yml", "dependencies:\n  - python=3\n")
    project.write("hi.py", "print('hi')\n")
    result = project.exp("run", "-c", "local", "hi.py")
    assert result.returncode == 0, result.output
    notes = [line for line in result.stderr.splitlines() if "is not applied" in line]
    python = shutil.which("python", path=project.env["PATH"])
    assert notes == [
        "exp: note: aml_config/conda_dependencies.yml is not applied: this local target is "
        f"user-managed and runs {python} as it is (set userManagedEnvironment: false in "
        f"{project.root / 'aml_config' / 'local.compute'} to build a venv from it)."
    ]
    # Without a conda file there is nothing to say.
    project.write("aml_config/local.runconfig", LOCAL_RUNCONFIG)
    quiet = project.exp("run", "-c", "local", "hi.py")
    assert quiet.returncode == 0 and "is not applied" not in quiet.stderr
