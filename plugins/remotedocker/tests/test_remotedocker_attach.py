"""``exp target attach --type remotedocker``: what is accepted, written and refused."""

from __future__ import annotations

from pathlib import Path

import pytest
from expkit.errors import ConfigError, TargetNotAvailableError
from expkit.model import AttachRequest, ComputeTarget, PrepareRequest, RunConfig
from expkit_remotedocker.hooks import plugin
from expkit_remotedocker.target import DEFAULT_BASE_IMAGE


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "proj"
    (root / "aml_config").mkdir(parents=True)
    return root


@pytest.fixture
def key(tmp_path: Path) -> Path:
    path = tmp_path / "keys" / "id_ed25519"
    path.parent.mkdir()
    path.write_text("-----BEGIN OPENSSH PRIVATE KEY-----\nnot a real key\n")
    return path


def attach(project: Path, **options) -> dict:
    options.setdefault("type", "remotedocker")
    result = plugin.expkit_attach(AttachRequest(name="gpuvm", project=project, **options))
    assert result is not None
    return {"compute": dict(result.compute), "runconfig": dict(result.runconfig)}


def test_minimal_attach_writes_workbench_keys(project: Path) -> None:
    files = attach(project, address="gpuvm.example.com", username="alice")
    assert files["compute"] == {
        "type": "remotedocker",
        "address": "gpuvm.example.com",
        "port": 22,
        "username": "alice",
        "baseDockerImage": DEFAULT_BASE_IMAGE,
        "sharedVolumes": False,
        "nvidiaDocker": False,
    }
    assert files["runconfig"]["Target"] == "gpuvm"
    assert files["runconfig"]["ArgumentVector"] == ["$file"]
    assert files["runconfig"]["Framework"] == "Python"
    # No dependency file exists yet, so none is named (it would not load).
    assert "CondaDependenciesFile" not in files["runconfig"]


def test_alias_and_dependency_files(project: Path) -> None:
    (project / "aml_config" / "conda_dependencies.yml").write_text("dependencies: [python=3.11]\n")
    files = attach(project, type="remote", address="127.0.0.1:2222", username="bob",
                   base_image="registry.example.com:5000/team/img:1.0")  # fmt: skip
    assert files["compute"]["port"] == 2222
    assert files["compute"]["address"] == "127.0.0.1"
    assert files["compute"]["baseDockerImage"] == "registry.example.com:5000/team/img:1.0"
    assert files["runconfig"]["CondaDependenciesFile"] == "aml_config/conda_dependencies.yml"


def test_ipv6_address_in_brackets(project: Path) -> None:
    files = attach(project, address="[::1]:2200", username="bob")
    assert files["compute"]["address"] == "[::1]"
    assert files["compute"]["port"] == 2200


def test_key_file_outside_project_is_written_absolute(
    project: Path, key: Path, monkeypatch
) -> None:
    monkeypatch.chdir(key.parent)
    files = attach(project, address="h.example.com", username="u", key_file="id_ed25519")
    assert files["compute"]["keyFile"] == str(key)


def test_no_secret_is_ever_written(project: Path, key: Path) -> None:
    files = attach(project, address="h.example.com", username="u", key_file=str(key))
    text = repr(files)
    assert "password" not in text.lower()
    assert "not a real key" not in text


@pytest.mark.parametrize(
    ("options", "key", "words"),
    [
        ({"username": "u"}, "--address", "needs --address"),
        ({"address": "h.example.com"}, "--username", "needs --username"),
        ({"address": "h.example.com", "username": "u", "port": 0}, "--port", "1 to 65535"),
        ({"address": "h.example.com", "username": "u", "port": 70000}, "--port", "1 to 65535"),
        ({"address": "h.example.com:99999", "username": "u"}, "--address", "1 to 65535"),
        ({"address": "h.example.com:22", "username": "u", "port": 2222}, "--port", "once"),
        ({"address": "ssh://h.example.com", "username": "u"}, "--address", "without scheme"),
        ({"address": "alice@h.example.com", "username": "u"}, "--address", "without scheme"),
        ({"address": "bad host", "username": "u"}, "--address", "not a host name"),
        ({"address": "[::1", "username": "u"}, "--address", "IPv6"),
        ({"address": "h.example.com", "username": "-oProxyCommand=x"}, "--username", "not valid"),
        (
            {"address": "h.example.com", "username": "u", "key_file": "/nonexistent/k"},
            "--key-file",
            "not found",
        ),  # fmt: skip
        (
            {"address": "h.example.com", "username": "u", "base_image": "img; rm -rf /"},
            "--base-image",
            "not a Docker image",
        ),  # fmt: skip
    ],
)
def test_bad_options_are_refused_clearly(project: Path, options, key, words) -> None:
    with pytest.raises(ConfigError) as info:
        attach(project, **options)
    assert info.value.key == key
    assert words in str(info.value)


def test_key_file_inside_project_is_refused(project: Path) -> None:
    inside = project / "secrets" / "id_rsa"
    inside.parent.mkdir()
    inside.write_text("secret")
    with pytest.raises(ConfigError) as info:
        attach(project, address="h.example.com", username="u", key_file=str(inside))
    message = str(info.value)
    assert "inside the project folder" in message and "~/.ssh" in message


def test_key_file_symlinked_into_project_is_refused(project: Path, key: Path) -> None:
    link = project / "id"
    link.symlink_to(key)
    with pytest.raises(ConfigError, match="inside the project folder"):
        attach(project, address="h.example.com", username="u", key_file=str(link))


def test_foreign_type_is_not_answered(project: Path) -> None:
    request = AttachRequest(name="x", type="docker", project=project)
    assert plugin.expkit_attach(request) is None


def test_running_says_not_available_and_what_to_use(project: Path) -> None:
    compute = ComputeTarget(name="gpuvm", type="remotedocker", address="h", username="u")
    request = PrepareRequest(
        project=project, compute=compute, runconfig=RunConfig(name="gpuvm", target="gpuvm"),
        environment=None, spark=None,
    )  # fmt: skip
    with pytest.raises(TargetNotAvailableError) as info:
        plugin.expkit_prepare(request)
    assert "not available yet" in str(info.value)
    assert "-c docker" in str(info.value)
