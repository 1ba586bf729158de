"""expkit.pipconfig: pip's configuration files and PIP_* variables, read as pip reads them.

Every test builds its own files under tmp_path and passes its own environment;
the system folder (/etc) is pointed at tmp_path too, so the machine's own pip
configuration never leaks in.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from expkit import pipconfig
from expkit.pipconfig import host_pip_settings, pip_config_files

KEYS = ("index-url", "extra-index-url", "find-links", "trusted-host", "no-index", "cert")


class Machine:
    """A fake host's configuration folders, all under one temporary folder."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.home = root / "home"
        self.etc = root / "etc"
        self.env: dict[str, str] = {
            "HOME": str(self.home),
            "XDG_CONFIG_DIRS": f"{root / 'xdg1'}{os.pathsep}{root / 'xdg2'}",
        }

    def write(self, relative: str, text: str) -> Path:
        path = self.root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        return path

    def settings(self, **extra: str) -> dict[str, str]:
        return host_pip_settings(KEYS, {**self.env, **extra})


@pytest.fixture
def machine(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Machine:
    fake = Machine(tmp_path)
    monkeypatch.setattr(pipconfig, "SYSTEM_FOLDER", str(fake.etc))
    return fake


def test_files_in_pip_order(machine: Machine):
    root, home = machine.root, machine.home
    assert pip_config_files(machine.env) == [
        root / "xdg1/pip/pip.conf",
        root / "xdg2/pip/pip.conf",
        machine.etc / "pip.conf",
        home / ".pip/pip.conf",
        home / ".config/pip/pip.conf",
    ]
    env = {**machine.env, "XDG_CONFIG_HOME": str(root / "cfg"), "PIP_CONFIG_FILE": "/missing"}
    assert pip_config_files(env)[-2:] == [root / "cfg/pip/pip.conf", Path("/missing")]


def test_empty_xdg_variables_mean_their_defaults(machine: Machine):
    files = pip_config_files({"HOME": str(machine.home), "XDG_CONFIG_DIRS": " ",
                              "XDG_CONFIG_HOME": ""})  # fmt: skip
    assert files[0] == Path("/etc/xdg/pip/pip.conf")
    assert files[-1] == machine.home / ".config/pip/pip.conf"


def test_later_files_win(machine: Machine):
    machine.write("xdg1/pip/pip.conf", "[global]\nindex-url = https://one.invalid\ncert = /a\n")
    machine.write("xdg2/pip/pip.conf", "[global]\nindex-url = https://two.invalid\n")
    assert machine.settings() == {"index-url": "https://two.invalid", "cert": "/a"}
    machine.write("etc/pip.conf", "[global]\nindex-url = https://etc.invalid\n")
    machine.write("home/.pip/pip.conf", "[global]\nindex-url = https://legacy.invalid\n")
    assert machine.settings()["index-url"] == "https://legacy.invalid"
    machine.write("home/.config/pip/pip.conf", "[global]\nindex-url = https://user.invalid\n")
    assert machine.settings()["index-url"] == "https://user.invalid"
    named = machine.write("named.conf", "[global]\nindex-url = https://named.invalid\n")
    assert machine.settings(PIP_CONFIG_FILE=str(named))["index-url"] == "https://named.invalid"


def test_an_existing_named_file_replaces_the_users_files(machine: Machine):
    machine.write("home/.config/pip/pip.conf", "[global]\ntrusted-host = user.invalid\n")
    named = machine.write("named.conf", "[global]\nindex-url = https://named.invalid\n")
    assert machine.settings(PIP_CONFIG_FILE=str(named)) == {"index-url": "https://named.invalid"}
    missing = str(machine.root / "missing.conf")
    assert machine.settings(PIP_CONFIG_FILE=missing) == {"trusted-host": "user.invalid"}


def test_devnull_reads_no_file_but_keeps_variables(machine: Machine):
    machine.write("etc/pip.conf", "[global]\nindex-url = https://etc.invalid\n")
    machine.write("home/.config/pip/pip.conf", "[global]\ntrusted-host = user.invalid\n")
    env = {**machine.env, "PIP_CONFIG_FILE": os.devnull}
    assert pip_config_files(env) == []
    assert host_pip_settings(KEYS, {**env, "PIP_CERT": "/ca.pem"}) == {"cert": "/ca.pem"}


def test_install_section_beats_global_of_any_file(machine: Machine):
    machine.write("etc/pip.conf", "[install]\nindex-url = https://install.invalid\n")
    machine.write(
        "home/.config/pip/pip.conf",
        "[global]\nindex-url = https://global.invalid\n[freeze]\nfind-links = /not/install\n",
    )
    assert machine.settings() == {"index-url": "https://install.invalid"}
    assert host_pip_settings(KEYS, machine.env, command="freeze") == {
        "index-url": "https://global.invalid", "find-links": "/not/install",
    }  # fmt: skip


def test_variables_beat_files_and_names_are_normalized(machine: Machine):
    machine.write(
        "home/.config/pip/pip.conf",
        "[global]\nIndex_URL = https://file.invalid\nextra-index-url =\n"
        "  https://a.invalid\n  https://b.invalid\ntimeout = 5\n",
    )
    settings = machine.settings(PIP_TRUSTED_HOST="a.invalid", PIP_INDEX_URL="https://env.invalid")
    assert settings == {
        "index-url": "https://env.invalid",
        "extra-index-url": "\nhttps://a.invalid\nhttps://b.invalid",
        "trusted-host": "a.invalid",
    }
    assert settings["extra-index-url"].split() == ["https://a.invalid", "https://b.invalid"]


def test_empty_values(machine: Machine):
    machine.write("etc/pip.conf", "[global]\nindex-url = https://etc.invalid\ncert = /ca\n")
    machine.write("home/.config/pip/pip.conf", "[global]\nindex-url =\n")
    # An empty value in a later file of the same section clears the earlier one...
    assert machine.settings() == {"cert": "/ca"}
    # ...an empty variable is ignored, as pip ignores it.
    assert machine.settings(PIP_CERT="") == {"cert": "/ca"}


def test_unreadable_files_are_skipped(machine: Machine):
    machine.write("xdg1/pip/pip.conf", "no section header\n")
    (machine.root / "xdg2/pip").mkdir(parents=True)
    (machine.root / "xdg2/pip/pip.conf").write_bytes(b"[global]\nindex-url = \xff\n")
    machine.write("etc/pip.conf", "[global]\ncert = /ca\n")
    assert machine.settings() == {"cert": "/ca"}


def test_default_environment_is_the_process_one(machine: Machine, monkeypatch):
    for name in list(os.environ):
        if name.startswith(("PIP_", "XDG_")):
            monkeypatch.delenv(name)
    for name, value in machine.env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("PIP_FIND_LINKS", "/wheels")
    assert host_pip_settings(KEYS) == {"find-links": "/wheels"}
    assert pip_config_files()[-1] == machine.home / ".config/pip/pip.conf"
