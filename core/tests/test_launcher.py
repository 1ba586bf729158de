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


# --------------------------------------------------------------------------- exp runs list

from expkit.launcher import parse_fast_list  # noqa: E402


def _typer_list_params(argv: list[str]) -> dict:
    """What the Typer command `exp runs list` receives for ``argv`` (after ``runs list``)."""
    from expkit.cli import module_commands

    command = module_commands("runs")["runs"].get_command(None, "list")
    return dict(command.make_context("list", list(argv)).params)


@pytest.mark.parametrize(
    "argv",
    [
        [],
        ["--all"],
        ["--json"],
        ["--csv", "--limit", "3"],
        ["--last", "007"],
        ["--sort", "-accuracy,lr", "--filter", "accuracy > 0.9 and tag.team == 'a'"],
        ["--columns", "lr,tag.team", "--status", "completed", "--target", "local"],
        ["--sort", "lr", "--sort", "-lr"],  # repeated: the last one counts, as in click
        ["--filter", "--all"],  # an option's value may look like an option
    ],
)
def test_the_fast_list_parse_is_typers(argv: list[str]) -> None:
    fast = parse_fast_list(["runs", "list", *argv])
    assert fast is not None
    assert fast.pop("debug") is False
    expected = {k: v for k, v in _typer_list_params(argv).items() if v not in (None, False)}
    assert fast == expected


@pytest.mark.parametrize(
    "argv",
    [
        ["runs", "list", "--help"],
        ["runs", "list", "--limit", "0"],  # Typer's refusal, with its message
        ["runs", "list", "--limit", "x"],
        ["runs", "list", "--limit"],  # a value is missing
        ["runs", "list", "--sort=lr"],
        ["runs", "list", "extra"],
        ["runs", "show", "1"],
        ["runs"],
    ],
)
def test_other_runs_command_lines_go_to_the_full_cli(argv: list[str]) -> None:
    assert parse_fast_list(argv) is None


def test_debug_before_runs_list() -> None:
    assert parse_fast_list(["--debug", "runs", "list", "--all"]) == {
        "debug": True,
        "show_all": True,
    }
