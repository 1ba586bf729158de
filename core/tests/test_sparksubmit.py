"""expkit.sparksubmit: the spark-submit command line every target runs.

YARN cannot run on these machines, so its lines are checked here, exactly.
"""

from __future__ import annotations

import pytest
from expkit.model import SparkPackage, SparkSpec
from expkit.sparksubmit import (
    ShippedEnvironment,
    SparkSubmit,
    driver_environment,
    effective_deploy_mode,
    effective_master,
    submit_command,
)

SPEC = SparkSpec(
    configuration={"spark.ui.enabled": "false", "spark.driver.extraJavaOptions": "-Da=1 -Db=2 x"},
    repositories=("https://repo1.maven.org/maven2", "file:///opt/m2"),
    packages=(SparkPackage("com.example", "lib_2.12", "0.10"), SparkPackage("o", "a", "1")),
)
SPEC_ARGS = [
    "--conf", "spark.driver.extraJavaOptions=-Da=1 -Db=2 x",
    "--conf", "spark.ui.enabled=false",
    "--repositories", "https://repo1.maven.org/maven2,file:///opt/m2",
    "--packages", "com.example:lib_2.12:0.10,o:a:1",
]  # fmt: skip
ARGV = ("job.py", "--n", "3")


def test_local_mode_is_the_default():
    assert submit_command(SparkSubmit("spark-submit"), ARGV) == [
        "spark-submit", "--master", "local[*]", "job.py", "--n", "3",
    ]  # fmt: skip


def test_spark_dependencies_become_conf_repositories_and_packages():
    cmd = submit_command(SparkSubmit("/x/spark-submit", spark=SPEC), ARGV)
    assert cmd == ["/x/spark-submit", "--master", "local[*]", *SPEC_ARGS, *ARGV]


def test_the_users_master_and_deploy_mode_win_over_the_targets():
    spec = SparkSpec(
        configuration={"spark.master": "local[2]", "spark.submit.deployMode": "client"}
    )
    submit = SparkSubmit("spark-submit", master="yarn", deploy_mode="cluster", spark=spec)
    cmd = submit_command(submit, ARGV)
    assert "--master" not in cmd and "--deploy-mode" not in cmd
    assert effective_master(submit) == "local[2]"
    assert effective_deploy_mode(submit) == "client"


def test_yarn_client_mode_ships_the_environment_to_the_executors():
    shipped = ShippedEnvironment("/home/u/.expkit/envs/abc/env.tar.gz")
    submit = SparkSubmit("spark-submit", master="yarn", deploy_mode="client", shipped=shipped,
                         spark=SPEC, conf={"spark.app.name": "expkit 3"},
                         driver_python="/home/u/.expkit/envs/abc/venv/bin/python")  # fmt: skip
    assert submit_command(submit, ARGV) == [
        "spark-submit", "--master", "yarn", "--deploy-mode", "client",
        "--conf", "spark.app.name=expkit 3",
        *SPEC_ARGS,
        "--archives", "/home/u/.expkit/envs/abc/env.tar.gz#environment",
        "--conf", "spark.executorEnv.PYSPARK_PYTHON=./environment/bin/python",
        "--conf", "spark.pyspark.driver.python=/home/u/.expkit/envs/abc/venv/bin/python",
        "--conf", "spark.pyspark.python=./environment/bin/python",
        *ARGV,
    ]  # fmt: skip


def test_yarn_cluster_mode_also_sets_the_application_masters_python():
    shipped = ShippedEnvironment("hdfs:///user/u/env.tar.gz")
    submit = SparkSubmit("spark-submit", master="yarn", deploy_mode="cluster", shipped=shipped,
                         driver_python="/not/used/in/cluster/mode")  # fmt: skip
    assert submit_command(submit, ARGV) == [
        "spark-submit", "--master", "yarn", "--deploy-mode", "cluster",
        "--archives", "hdfs:///user/u/env.tar.gz#environment",
        "--conf", "spark.executorEnv.PYSPARK_PYTHON=./environment/bin/python",
        "--conf", "spark.pyspark.driver.python=./environment/bin/python",
        "--conf", "spark.pyspark.python=./environment/bin/python",
        "--conf", "spark.yarn.appMasterEnv.PYSPARK_PYTHON=./environment/bin/python",
        *ARGV,
    ]  # fmt: skip


def test_user_archives_and_python_settings_are_kept():
    spec = SparkSpec(configuration={"spark.archives": "data.zip#data", "spark.pyspark.python": "p"})
    submit = SparkSubmit(
        "s", master="spark://h:7077", shipped=ShippedEnvironment("e.tgz"), spark=spec
    )
    cmd = submit_command(submit, ARGV)
    assert cmd[cmd.index("--archives") + 1] == "e.tgz#environment,data.zip#data"
    assert "spark.pyspark.python=./environment/bin/python" not in cmd
    assert "spark.pyspark.python=p" in cmd


def test_target_conf_never_overrides_the_users():
    spec = SparkSpec(configuration={"spark.app.name": "mine"})
    cmd = submit_command(SparkSubmit("s", spark=spec, conf={"spark.app.name": "expkit"}), ())
    assert cmd == ["s", "--master", "local[*]", "--conf", "spark.app.name=mine"]


@pytest.mark.parametrize("shipped", [None, ShippedEnvironment("e.tgz")])
def test_driver_environment(shipped):
    env = driver_environment({"A": "1"}, "/venv/bin/python", shipped=shipped)
    assert env["PYSPARK_DRIVER_PYTHON"] == "/venv/bin/python"
    executors = "./environment/bin/python" if shipped else "/venv/bin/python"
    assert env["PYSPARK_PYTHON"] == executors and env["A"] == "1"
    assert driver_environment({"PYSPARK_PYTHON": "mine"}, "p")["PYSPARK_PYTHON"] == "mine"


def test_spark_dependencies_are_ignored_with_a_note_for_framework_python():
    from expkit.config.runconfig import runconfig_notes
    from expkit.model import RunConfig

    python = RunConfig(name="local", target="local", framework="Python",
                       spark_dependencies_file="aml_config/spark_dependencies.yml")  # fmt: skip
    (note,) = runconfig_notes(python)
    assert "SparkDependenciesFile is ignored with Framework: Python" in note
    spark = RunConfig(name="local", target="local", framework="PySpark",
                      spark_dependencies_file="aml_config/spark_dependencies.yml")  # fmt: skip
    assert runconfig_notes(spark) == []
