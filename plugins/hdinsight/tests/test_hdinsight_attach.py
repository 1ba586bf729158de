"""``exp target attach --type cluster``: what is accepted, written and refused."""

from __future__ import annotations

from pathlib import Path

import pytest
from expkit.errors import ConfigError, TargetNotAvailableError
from expkit.model import AttachRequest, ComputeTarget, PrepareRequest, RunConfig
from expkit_hdinsight.hooks import plugin


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "proj"
    (root / "aml_config").mkdir(parents=True)
    return root


def attach(project: Path, **options) -> tuple[dict, dict]:
    options.setdefault("type", "cluster")
    result = plugin.expkit_attach(AttachRequest(name="myhdi", project=project, **options))
    assert result is not None
    return dict(result.compute), dict(result.runconfig)


def test_attach_writes_a_pyspark_cluster_target(project: Path) -> None:
    (project / "aml_config" / "spark_dependencies.yml").write_text("configuration: {}\n")
    compute, runconfig = attach(project, address="myhdi-ssh.azurehdinsight.net", username="sshuser")
    assert compute == {
        "type": "cluster",
        "address": "myhdi-ssh.azurehdinsight.net",
        "port": 22,
        "username": "sshuser",
        "sparkSubmitLocation": "spark-submit",
    }
    assert runconfig["Framework"] == "PySpark"
    assert runconfig["Target"] == "myhdi"
    assert runconfig["SparkDependenciesFile"] == "aml_config/spark_dependencies.yml"
    assert "CondaDependenciesFile" not in runconfig


def test_hdinsight_alias_and_key_file(project: Path, tmp_path: Path) -> None:
    key = tmp_path / "id_rsa"
    key.write_text("k")
    compute, _ = attach(project, type="hdinsight", address="127.0.0.1", port=2022,
                        username="sshuser", key_file=str(key))  # fmt: skip
    assert compute["port"] == 2022
    assert compute["keyFile"] == str(key)


@pytest.mark.parametrize(
    ("options", "key", "words"),
    [
        ({"username": "sshuser"}, "--address", "needs --address"),
        ({"address": "h.example.com"}, "--username", "needs --username"),
        ({"address": "h.example.com", "username": "u", "port": 65536}, "--port", "1 to 65535"),
        (
            {"address": "h.example.com", "username": "u", "base_image": "python:3.11"},
            "--base-image",
            "does not apply",
        ),  # fmt: skip
        (
            {"address": "myhdi.azurehdinsight.net", "username": "u"},
            "--address",
            "myhdi-ssh.azurehdinsight.net",
        ),  # fmt: skip
        (
            {"address": "h.example.com", "username": "u", "key_file": "/nonexistent/k"},
            "--key-file",
            "not found",
        ),  # fmt: skip
    ],
)
def test_bad_options_are_refused_clearly(project: Path, options, key, words) -> None:
    with pytest.raises(ConfigError) as info:
        attach(project, **options)
    assert info.value.key == key
    assert words in str(info.value)


def test_key_file_inside_project_is_refused(project: Path) -> None:
    inside = project / "id_rsa"
    inside.write_text("secret")
    with pytest.raises(ConfigError, match="inside the project folder"):
        attach(project, address="h.example.com", username="u", key_file=str(inside))


def test_foreign_type_is_not_answered(project: Path) -> None:
    assert plugin.expkit_attach(AttachRequest(name="x", type="local", project=project)) is None


def test_running_says_not_available_and_what_to_use(project: Path) -> None:
    compute = ComputeTarget(name="myhdi", type="cluster", address="h", username="u")
    request = PrepareRequest(
        project=project, compute=compute,
        runconfig=RunConfig(name="myhdi", target="myhdi", framework="PySpark"),
        environment=None, spark=None,
    )  # fmt: skip
    with pytest.raises(TargetNotAvailableError) as info:
        plugin.expkit_prepare(request)
    assert "not available yet" in str(info.value)
    assert "-c local" in str(info.value)
