"""The start-up fast path of `exp run`: which command lines it takes, and which it leaves."""

from __future__ import annotations

import pytest
from expkit.launcher import parse_fast_run


def test_rebuild_is_the_fast_paths_spelling() -> None:
    opts = parse_fast_run(["run", "-c", "docker", "--rebuild", "train.py", "--rebuild"])
    assert opts is not None
    assert (opts["runconfig"], opts["force_prepare"]) == ("docker", True)
    assert opts["script"] == "train.py"
    assert opts["args"] == ["--rebuild"]  # after SCRIPT: the script's


@pytest.mark.parametrize(
    "argv",
    [
        ["run", "--prepare", "train.py"],  # deprecated: the full CLI says so
        ["run", "--help"],
        ["run", "-c", "docker"],
        ["runs", "list"],
    ],
)
def test_other_command_lines_go_to_the_full_cli(argv: list[str]) -> None:
    assert parse_fast_run(argv) is None
