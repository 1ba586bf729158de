"""Managed venvs (built once, then cached), interpreter and spark-submit errors, real PySpark."""

from __future__ import annotations

import json
import os
import shutil
import signal
import sys
import time
import uuid
from pathlib import Path

import pytest
from local_e2e import (
    REQUIRE_ENGINES,
    build_wheel,
    kill_quietly,
    python_version,
    run_record,
    wait_gone,
)

MANAGED_COMPUTE = """
type: "local"
pythonLocation: "python"
userManagedEnvironment: false
"""

RUNCONFIG_WITH_ENV = """
ArgumentVector: ["$file"]
Target: "local"
Framework: "Python"
CondaDependenciesFile: "aml_config/conda_dependencies.yml"
PrepareEnvironment: true
TrackedRun: true
"""


def managed_project(project, pkg: str, pin: str | None = None):
    build_wheel(project.root / "wheels", pkg, "1.0", f"GREETING = 'hello from {pkg}'\n")
    pin = pin or f"{sys.version_info.major}.{sys.version_info.minor}"
    project.write("aml_config/local.compute", MANAGED_COMPUTE)
    project.write("aml_config/local.runconfig", RUNCONFIG_WITH_ENV)
    project.write(
        "aml_config/conda_dependencies.yml",
        f"""
        name: project_environment
        dependencies:
          - python={pin}
          - pip:
            - ./wheels/{pkg}-1.0-py3-none-any.whl
    """,
    )
    project.write(
        "use.py",
        f"""
        import sys, {pkg}
        from expkit import log  # not installed in the venv: the run's shim provides it
        log("greeting", {pkg}.GREETING)
        print({pkg}.GREETING)
        print(sys.prefix)
    """,
    )
    return project


def marker(cache: Path, env_id: str) -> Path:
    return cache / "envs" / "local" / env_id / "expkit-env.json"


def test_managed_venv_is_built_once_then_reused(project, exp_cache, tmp_path):
    pkg = f"greet_{uuid.uuid4().hex[:8]}"
    managed_project(project, pkg)
    first = project.exp("run", "-c", "local", "use.py")
    assert first.returncode == 0, first.output
    record = run_record(project)
    env_id = record["env_id"]
    prepared = json.loads(project.exp("prepare", "-c", "local", "--json").stdout)
    assert (prepared["env_id"], prepared["cached"]) == (env_id, True)
    assert f"{pkg}==1.0" in record["packages"]
    assert not any(p.lower().startswith("expkit") for p in record["packages"])
    assert record["metrics"] == {"greeting": f"hello from {pkg}"}
    built = marker(exp_cache, env_id)
    assert first.stdout.splitlines()[:2] == [f"hello from {pkg}", str(built.parent)]
    created = json.loads(built.read_text())["created"]
    stamp = (built.stat().st_mtime_ns, built.stat().st_ino, created)

    second = project.exp("run", "-c", "local", "use.py")
    assert second.returncode == 0, second.output
    assert run_record(project, "2")["env_id"] == env_id
    assert (
        built.stat().st_mtime_ns,
        built.stat().st_ino,
        json.loads(built.read_text())["created"],
    ) == stamp, "the venv was rebuilt"

    prepared = project.exp("prepare", "-c", "local", "--json")
    assert prepared.returncode == 0, prepared.output
    assert json.loads(prepared.stdout)["cached"] is True

    # Another project asking for the same environment shares the venv.
    other = type(project)(root=tmp_path / "other", env=project.env)
    other.root.mkdir()
    managed_project(other, pkg)
    assert other.exp("run", "-c", "local", "use.py").returncode == 0
    assert run_record(other)["env_id"] == env_id
    assert json.loads(built.read_text())["created"] == stamp[2]


def test_python_pin_the_interpreter_cannot_meet(project):
    managed_project(project, f"pin_{uuid.uuid4().hex[:8]}", pin="3.5.2")
    result = project.exp("run", "-c", "local", "use.py")
    assert result.returncode == 2, result.output
    assert "python=3.5.2" in result.stderr
    assert python_version() in result.stderr
    assert "python" in result.stderr and "conda_dependencies.yml" in result.stderr
    assert "Traceback" not in result.output


def test_conda_packages_in_managed_mode_point_to_docker(project):
    managed_project(project, f"conda_{uuid.uuid4().hex[:8]}")
    project.write(
        "aml_config/conda_dependencies.yml",
        """
        dependencies:
          - scikit-learn
          - pip:
            - requests
    """,
    )
    result = project.exp("run", "-c", "local", "use.py")
    assert result.returncode == 2, result.output
    assert "pip packages only" in result.stderr and "scikit-learn" in result.stderr
    assert "docker" in result.stderr


def test_user_managed_mode_ignores_the_environment_file(project):
    managed_project(project, f"ignored_{uuid.uuid4().hex[:8]}", pin="3.5.2")
    project.write("aml_config/local.compute", 'type: "local"\npythonLocation: "python"\n')
    project.write("plain.py", "import sys; print(sys.version_info[0])\n")
    result = project.exp("run", "-c", "local", "plain.py")
    assert result.returncode == 0, result.output
    assert run_record(project)["env_id"] is None


SPARK_RUNCONFIG = """
ArgumentVector: ["$file"]
Target: "local"
Framework: "PySpark"
SparkDependenciesFile: "aml_config/spark_dependencies.yml"
EnvironmentVariables:
  SPARK_LOCAL_IP: "127.0.0.1"
"""

SPARK_DEPENDENCIES = """
configuration:
  "spark.app.name": "expkit e2e"
  "spark.ui.enabled": "false"
"""


def test_pyspark_without_spark_submit_is_a_clear_error(project):
    project.write(
        "aml_config/local.compute",
        'type: "local"\nsparkSubmitLocation: "spark-submit-not-installed"\n',
    )
    project.write("aml_config/local.runconfig", SPARK_RUNCONFIG)
    project.write("aml_config/spark_dependencies.yml", SPARK_DEPENDENCIES)
    project.write("job.py", "print('never runs')\n")
    result = project.exp("run", "-c", "local", "job.py")
    assert result.returncode == 2, result.output
    assert "sparkSubmitLocation" in result.stderr and "pip install pyspark" in result.stderr
    assert "Traceback" not in result.output


def _spark_submit() -> tuple[str, str] | None:
    """(spark-submit, python with pyspark): EXPKIT_TEST_SPARK_SUBMIT, else next to this Python."""
    configured = os.environ.get("EXPKIT_TEST_SPARK_SUBMIT")
    if configured:
        python = Path(configured).parent / "python"
        return configured, str(python if python.exists() else sys.executable)
    beside = Path(sys.executable).parent / "spark-submit"
    if beside.exists() and shutil.which("java"):
        return str(beside), sys.executable
    return None


@pytest.mark.slow
def test_pyspark_job_runs_through_spark_submit_in_local_mode(project):
    found = _spark_submit()
    if found is None:
        message = "pyspark (spark-submit) is not installed in the test environment"
        if REQUIRE_ENGINES:
            pytest.fail(message)
        pytest.skip(message)
    spark_submit, python = found
    project.write(
        "aml_config/local.compute",
        f"""
        type: "local"
        pythonLocation: "{python}"
        sparkSubmitLocation: "{spark_submit}"
    """,
    )
    project.write("aml_config/local.runconfig", SPARK_RUNCONFIG)
    project.write("aml_config/spark_dependencies.yml", SPARK_DEPENDENCIES)
    project.write(
        "job.py",
        """
        import sys
        from pyspark.sql import SparkSession
        from expkit import log
        spark = SparkSession.builder.getOrCreate()
        total = spark.sparkContext.parallelize(range(100), 4).map(lambda x: x * x).sum()
        log("sum_of_squares", total)
        log("app_name", spark.conf.get("spark.app.name"))
        print("sum", total, "args", sys.argv[1:])
        spark.stop()
    """,
    )
    result = project.exp("run", "-c", "local", "job.py", "--n", "100", timeout=240)
    assert result.returncode == 0, result.output
    assert "sum 328350 args ['--n', '100']" in result.stdout
    record = run_record(project)
    assert record["metrics"] == {"sum_of_squares": 328350, "app_name": "expkit e2e"}


def test_env_list_and_prune_manage_local_venvs(project, exp_cache):
    managed_project(project, f"prune_{uuid.uuid4().hex[:8]}")
    assert project.exp("run", "-c", "local", "use.py").returncode == 0
    env_id = run_record(project)["env_id"]
    listed = project.exp("env", "list", "-c", "local", "--json")
    assert listed.returncode == 0, listed.output
    assert env_id in listed.stdout
    pruned = project.exp("env", "prune", env_id, "-c", "local")
    assert pruned.returncode == 0, pruned.output
    assert not marker(exp_cache, env_id).parent.exists()
    # Nothing of it is left behind, not even its build lock.
    assert [p.name for p in (exp_cache / "envs" / "local").iterdir() if env_id in p.name] == []
    again = project.exp("run", "-c", "local", "use.py")
    assert again.returncode == 0, again.output
    assert marker(exp_cache, env_id).is_file(), "the next run builds it again"


def test_ctrl_c_during_a_build_leaves_nothing_half_built(project, exp_cache, tmp_path):
    """A stand-in `uv` that hangs: SIGINT stops it, the run is canceled, no venv is kept."""
    fake_bin = tmp_path / "fake-bin"
    fake_bin.mkdir()
    pid_file = tmp_path / "uv.pid"
    (fake_bin / "uv").write_text(
        f"#!{sys.executable}\nimport os, sys, time\n"
        f"open({str(pid_file)!r}, 'w').write(str(os.getpid()))\n"
        "print('fake uv: working', flush=True)\ntime.sleep(600)\n"
    )
    (fake_bin / "uv").chmod(0o755)
    managed_project(project, f"hang_{uuid.uuid4().hex[:8]}")
    env = {"PATH": str(fake_bin) + os.pathsep + project.env["PATH"]}
    proc = project.popen("run", "-c", "local", "use.py", env=env)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            text = pid_file.read_text() if pid_file.exists() else ""
            if text.strip():
                break
            time.sleep(0.02)
        assert text.strip(), "the build never started"
        uv_pid = int(text)
        proc.send_signal(signal.SIGINT)
        proc.communicate(timeout=60)
    finally:
        kill_quietly(proc.pid)
    assert proc.returncode == 130
    assert wait_gone(uv_pid), "the installer survived the cancel"
    record = run_record(project)
    assert record["status"] == "canceled"
    envs = exp_cache / "envs" / "local"
    half_built = [p for p in envs.iterdir() if p.is_dir() and not (p / "expkit-env.json").exists()]
    assert half_built == []
    # Nor the build's lock: only complete environments keep one.
    complete = {p.name for p in envs.iterdir() if p.is_dir()}
    assert [p.name for p in envs.glob("*.lock") if p.stem not in complete] == []


def test_managed_build_installs_from_the_machines_pip_settings(project, tmp_path):
    """uv reads no pip configuration: the build hands it the machine's pip index
    settings. A package that exists only in a wheel folder named by PIP_FIND_LINKS
    (no index at all: PIP_NO_INDEX) installs by name, through uv."""
    pkg = f"onlyhere_{uuid.uuid4().hex[:8]}"
    folder = tmp_path / "private-wheels"
    build_wheel(folder, pkg, "1.0", "WHERE = 'private folder'\n")
    project.write("aml_config/local.compute", MANAGED_COMPUTE)
    project.write("aml_config/local.runconfig", RUNCONFIG_WITH_ENV)
    pin = f"{sys.version_info.major}.{sys.version_info.minor}"
    project.write(
        "aml_config/conda_dependencies.yml",
        f"dependencies:\n  - python={pin}\n  - pip:\n    - {pkg}==1.0\n",
    )
    project.write("where.py", f"import {pkg}; print('from', {pkg}.WHERE)\n")
    env = {
        "PIP_CONFIG_FILE": os.devnull,  # only the settings below
        "PIP_FIND_LINKS": str(folder),
        "PIP_NO_INDEX": "1",
        **{name: "" for name in os.environ if name.startswith("UV_")},
    }
    prepared = project.exp("prepare", "-c", "local", "--json", env=env, timeout=240)
    assert prepared.returncode == 0, prepared.output
    assert json.loads(prepared.stdout)["details"]["installer"] == "uv"
    result = project.exp("run", "-c", "local", "where.py", env=env)
    assert result.returncode == 0, result.output
    assert "from private folder" in result.stdout
    assert f"{pkg}==1.0" in run_record(project)["packages"]
