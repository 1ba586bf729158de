"""Python pins (conda syntax) and the pip index settings handed to uv."""

from __future__ import annotations

import pytest
from expkit_local.pins import satisfies
from expkit_local.pipconf import pip_index_settings, uv_index_args


@pytest.mark.parametrize(
    ("version", "pin", "expected"),
    [
        ("3.11.7", "3.11", True),
        ("3.11.7", "3.11.*", True),
        ("3.11.7", "3.11.7", True),
        ("3.11.7", "3.11.6", False),
        ("3.11.7", "3.1", False),  # not a string prefix: 3.1 is not 3.11
        ("3.11.7", "3.5.2", False),
        ("3.11.7", "3", True),
        ("3.11.7", ">=3.9", True),
        ("3.11.7", ">=3.9,<3.11", False),
        ("3.11.7", "3.10|3.11", True),
        ("3.11.7", "==3.11", True),
        ("3.11.7", "!=3.11", False),
        ("3.11.7", "~=3.10", True),
        ("3.12.0rc1", "3.12", True),
    ],
)
def test_satisfies(version, pin, expected):
    assert satisfies(version, pin) is expected


@pytest.mark.parametrize("pin", ["", "banana", ">=", "3.x"])
def test_unreadable_pins(pin):
    with pytest.raises(ValueError):
        satisfies("3.11.7", pin)


def test_pip_settings_from_files_and_environment(tmp_path):
    xdg = tmp_path / "xdg"
    (xdg / "pip").mkdir(parents=True)
    (xdg / "pip" / "pip.conf").write_text(
        "[global]\nindex-url = https://example.invalid/simple\n"
        "find-links = /opt/wheels\n[install]\nextra-index-url = file:///a file:///b\n"
    )
    env = {
        "XDG_CONFIG_DIRS": str(xdg),
        "XDG_CONFIG_HOME": str(tmp_path / "none"),
        "PIP_FIND_LINKS": "/other/wheels",
    }
    settings = pip_index_settings(env)
    assert settings["index-url"] == "https://example.invalid/simple"
    assert settings["find-links"] == "/other/wheels"  # the variable wins over the file
    args = uv_index_args(env)
    assert args[args.index("--index-url") + 1] == "https://example.invalid/simple"
    assert [args[i + 1] for i, a in enumerate(args) if a == "--extra-index-url"] == [
        "file:///a",
        "file:///b",
    ]
    assert args[args.index("--find-links") + 1] == "/other/wheels"


def test_uv_settings_of_its_own_win(tmp_path):
    env = {
        "XDG_CONFIG_DIRS": str(tmp_path),
        "XDG_CONFIG_HOME": str(tmp_path),
        "PIP_INDEX_URL": "https://example.invalid/simple",
        "UV_INDEX_URL": "https://example.invalid/uv",
    }
    assert uv_index_args(env) == []
