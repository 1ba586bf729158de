"""``exp target attach --type cluster`` and the ``.compute`` keys: what is accepted,
written and refused. Attaching connects to the head node (the remote test host)."""

from __future__ import annotations

from pathlib import Path

import pytest
from expkit.errors import ConfigError
from expkit.model import AttachRequest, ComputeTarget
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


def test_attach_checks_the_head_node_and_writes_a_pyspark_cluster_target(
    project: Path, remote, ssh_home: Path, capfd
) -> None:
    (project / "aml_config" / "spark_dependencies.yml").write_text("configuration: {}\n")
    compute, runconfig = attach(project, address=remote.address, username=remote.user)
    assert compute == {
        "type": "cluster",
        "address": remote.address,
        "port": 22,
        "username": remote.user,
        "master": "yarn",
        "deployMode": "client",
        "sparkSubmitLocation": "spark-submit",
    }
    assert runconfig["Framework"] == "PySpark"
    assert runconfig["Target"] == "myhdi"
    assert runconfig["SparkDependenciesFile"] == "aml_config/spark_dependencies.yml"
    assert "CondaDependenciesFile" not in runconfig
    # The test head node has no spark-submit on PATH: said, with what to set.
    assert "sparkSubmitLocation" in capfd.readouterr().err


def test_attach_refuses_an_unknown_head_node(project: Path, remote, ssh_home: Path) -> None:
    from expkit.ssh import HostKeyUnknown

    (ssh_home / ".ssh" / "known_hosts").write_text("")
    with pytest.raises(HostKeyUnknown, match="SHA256:") as info:
        attach(project, address=remote.address, username=remote.user)
    # Trusting the fingerprint the user checked attaches, and remembers the host.
    compute, _ = attach(project, address=remote.address, username=remote.user,
                        trust_host_key=info.value.fingerprint)  # fmt: skip
    assert compute["address"] == remote.address
    assert remote.address in (ssh_home / ".ssh" / "known_hosts").read_text()


def test_hdinsight_alias_and_key_file(project: Path, remote, ssh_home: Path) -> None:
    key = ssh_home / ".ssh" / "id_ed25519"
    compute, _ = attach(project, type="hdinsight", address=remote.address, port=remote.port,
                        username=remote.user, key_file=str(key))  # fmt: skip
    assert compute["port"] == remote.port
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


def _compute(**options) -> ComputeTarget:
    return ComputeTarget(name="myhdi", type="cluster", address="h", username="u",
                         options=options)  # fmt: skip


def test_settings_defaults_and_standalone() -> None:
    from expkit_hdinsight.settings import settings

    default = settings(_compute())
    assert (default.master, default.deploy_mode, default.spark_submit, default.python) == (
        "yarn", "client", "spark-submit", "python3",
    )  # fmt: skip
    standalone = settings(_compute(master="spark://head:7077,head2:7077"))
    assert standalone.standalone and standalone.master == "spark://head:7077,head2:7077"


@pytest.mark.parametrize(
    ("options", "key", "words"),
    [
        ({"master": "local[*]"}, "master", "not a cluster manager"),
        ({"master": "spark://head"}, "master", "not a cluster manager"),
        ({"deployMode": "remote"}, "deployMode", "client or cluster"),
        ({"master": "spark://h:7077", "deployMode": "cluster"}, "deployMode", "standalone"),
        ({"master": ""}, "master", "non-empty"),
    ],
)
def test_bad_compute_keys_are_refused_clearly(options, key, words) -> None:
    from expkit_hdinsight.settings import settings

    with pytest.raises(ConfigError) as info:
        settings(_compute(**options))
    assert info.value.key == key
    assert words in str(info.value)


def test_a_workbench_password_is_kept_in_memory_only() -> None:
    from dataclasses import replace

    from expkit_hdinsight.settings import settings, ssh_target

    compute = replace(_compute(), password="hunter2")
    settings(compute)  # read (and noted by the core), not refused
    target = ssh_target(compute)
    assert target.password == "hunter2"  # tried after the keys, as for remote Docker
    assert "hunter2" not in repr(target)


def test_conda_packages_and_a_wrong_python_are_config_errors() -> None:
    from expkit.model import EnvironmentSpec
    from expkit_hdinsight.envs import HeadPython, check_spec

    head = HeadPython("/usr/bin/python3.11", "3.11.2")
    check_spec(EnvironmentSpec(python="3.11", pip=("requests",)), head, "python3", None)
    with pytest.raises(ConfigError, match="conda packages"):
        check_spec(EnvironmentSpec(conda=("numpy",)), head, "python3", None)
    with pytest.raises(ConfigError, match="Python 3.11.2"):
        check_spec(EnvironmentSpec(python="3.12"), head, "python3", None)
    with pytest.raises(ConfigError):
        check_spec(EnvironmentSpec(python="3.1"), head, "python3", None)
