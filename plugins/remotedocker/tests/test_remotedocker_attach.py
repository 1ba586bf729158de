"""``exp target attach --type remotedocker``: what is accepted, written and refused."""

from __future__ import annotations

from pathlib import Path

import pytest
from expkit.errors import ConfigError
from expkit.model import AttachRequest
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


def test_attach_connects_and_writes_workbench_keys(project: Path, remote_home) -> None:
    remote, home = remote_home
    files = attach(project, address=remote.address, username=remote.user)
    assert files["compute"] == {
        "type": "remotedocker",
        "address": remote.address,
        "port": 22,
        "username": remote.user,
        "baseDockerImage": DEFAULT_BASE_IMAGE,
        "sharedVolumes": False,
        "nvidiaDocker": False,
    }
    assert files["runconfig"]["Target"] == "gpuvm"
    assert files["runconfig"]["ArgumentVector"] == ["$file"]
    assert files["runconfig"]["Framework"] == "Python"
    # No dependency file exists yet, so none is named (it would not load).
    assert "CondaDependenciesFile" not in files["runconfig"]
    text = repr(files)
    assert "password" not in text.lower()
    assert (home / ".ssh" / "id_ed25519").read_text() not in text


def test_alias_and_dependency_files(project: Path, remote_home) -> None:
    remote, _home = remote_home
    (project / "aml_config" / "conda_dependencies.yml").write_text("dependencies: [python=3.11]\n")
    files = attach(project, type="remote", address=f"{remote.address}:22", username=remote.user,
                   base_image="registry.example.com:5000/team/img:1.0")  # fmt: skip
    assert files["compute"]["port"] == 22
    assert files["compute"]["address"] == remote.address
    assert files["compute"]["baseDockerImage"] == "registry.example.com:5000/team/img:1.0"
    assert files["runconfig"]["CondaDependenciesFile"] == "aml_config/conda_dependencies.yml"


def test_key_file_outside_project_is_written_absolute(project: Path, remote_home,
                                                      monkeypatch) -> None:  # fmt: skip
    remote, home = remote_home
    monkeypatch.chdir(home / ".ssh")
    files = attach(project, address=remote.address, username=remote.user, key_file="id_ed25519")
    assert files["compute"]["keyFile"] == str(home / ".ssh" / "id_ed25519")


def test_unknown_host_is_refused_until_its_fingerprint_is_given(project: Path, remote_home) -> None:
    from expkit.ssh import HostKeyUnknown

    remote, home = remote_home
    (home / ".ssh" / "known_hosts").unlink()
    with pytest.raises(HostKeyUnknown) as info:
        attach(project, address=remote.address, username=remote.user)
    files = attach(project, address=remote.address, username=remote.user,
                   trust_host_key=info.value.fingerprint)  # fmt: skip
    assert files["compute"]["address"] == remote.address


@pytest.mark.parametrize(
    ("answer", "code", "words"),
    [
        ("sh: 1: docker: not found", 127, "install Docker"),
        ("permission denied while trying to connect to the Docker daemon socket", 1,
         "usermod -aG docker"),
        ("Cannot connect to the Docker daemon. Is the docker daemon running?", 1,
         "systemctl start docker"),
    ],
)  # fmt: skip
def test_no_usable_engine_is_a_clear_error(remote_home, answer, code, words) -> None:
    from expkit.errors import InfrastructureError
    from expkit.ssh import SshTarget, connect
    from expkit_remotedocker.session import read_facts

    remote, _home = remote_home
    ssh = connect(SshTarget(remote.address, username=remote.user))
    fake = f"docker() {{ echo '{answer}' >&2; return {code}; }}; "

    class VmWithoutEngine:  # the same VM, where `docker` answers as on a broken one
        label = ssh.label
        username = ssh.username

        def script(self, script, *args, **kw):
            return ssh.script(fake + script, *args, **kw)

    with pytest.raises(InfrastructureError) as info:
        read_facts(VmWithoutEngine())  # type: ignore[arg-type]
    assert "no usable Docker engine" in str(info.value) and words in str(info.value)


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
