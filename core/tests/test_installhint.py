"""Install hints name where expkit came from, never an index that does not have it."""

from __future__ import annotations

import shlex
import sys

import pytest
from expkit import installhint


@pytest.fixture
def pip(monkeypatch):
    monkeypatch.setattr(installhint, "_installer", lambda: "PY -m pip install")


def _origin(monkeypatch, data):
    monkeypatch.setattr(installhint, "_origin", lambda: data)


def test_editable_source_tree_names_the_plugin_folder(pip, monkeypatch, tmp_path):
    (tmp_path / "src tree" / "plugins" / "docker").mkdir(parents=True)
    core = tmp_path / "src tree" / "core"
    _origin(monkeypatch, {"url": core.as_uri(), "dir_info": {"editable": True}})
    folder = shlex.quote(str(tmp_path / "src tree" / "plugins" / "docker"))
    assert installhint.install_command("expkit-docker") == f"PY -m pip install -e {folder}"


def test_plain_folder_install_is_not_editable(pip, monkeypatch, tmp_path):
    (tmp_path / "plugins" / "local").mkdir(parents=True)
    _origin(monkeypatch, {"url": (tmp_path / "core").as_uri(), "dir_info": {}})
    expected = f"PY -m pip install {tmp_path / 'plugins' / 'local'}"
    assert installhint.install_command("expkit-local") == expected


def test_git_url_names_the_same_commit_and_the_plugin_subdirectory(pip, monkeypatch):
    _origin(
        monkeypatch,
        {
            "url": "https://git.example/expkit.git",
            "vcs_info": {"vcs": "git", "commit_id": "abc123"},
            "subdirectory": "core",
        },
    )
    assert installhint.install_command("expkit-docker") == (
        "PY -m pip install 'git+https://git.example/expkit.git@abc123#subdirectory=plugins/docker'"
    )


def test_wheel_install_says_to_use_the_same_wheel_folder(pip, monkeypatch):
    _origin(monkeypatch, {"url": "file:///w/expkit-0.1.0-py3-none-any.whl", "archive_info": {}})
    hint = installhint.install_command("expkit-docker")
    assert hint.startswith("PY -m pip install expkit-docker --find-links DIR")
    assert "plugins/docker" in hint


def test_index_install_and_third_party_packages_use_the_index(pip, monkeypatch):
    _origin(monkeypatch, None)
    assert installhint.install_command("expkit-docker") == "PY -m pip install expkit-docker"
    _origin(monkeypatch, {"url": "file:///x/core", "dir_info": {}})
    assert installhint.install_command("expkit-slurm") == "PY -m pip install expkit-slurm"


def test_the_installer_is_this_interpreter(monkeypatch):
    assert shlex.quote(sys.executable) in installhint._installer()
