"""The root command group loads a command's module only when that command is used."""

from __future__ import annotations

import importlib
import subprocess
import sys

import typer
import typer.main
from expkit import cli


def test_the_command_table_names_what_the_modules_register() -> None:
    """Every module's register(app), run eagerly as before, defines exactly the table's
    commands, in the same order (`exp --help` lists them in that order)."""
    eager = typer.Typer()
    eager.callback()(lambda: None)
    for module in dict.fromkeys(module for _, module in cli.COMMANDS):
        importlib.import_module(f"expkit.cli.{module}").register(eager)
    assert list(typer.main.get_group(eager).commands) == [name for name, _ in cli.COMMANDS]


def test_a_command_imports_only_its_own_module() -> None:
    code = (
        "import sys\n"
        "from expkit.cli import main\n"
        "code = main(['runs', 'list', '--help'])\n"
        "loaded = sorted(m for m in sys.modules if m.startswith('expkit.cli.'))\n"
        "print('LOADED', code, ' '.join(loaded))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    last = out.stdout.strip().splitlines()[-1]
    marker, code_text, loaded = last.split(" ", 2)
    assert marker == "LOADED"
    assert code_text == "0"
    assert "expkit.cli.runs" in loaded.split()
    for other in ("run", "target", "env", "plugins", "ui"):
        assert f"expkit.cli.{other}" not in loaded.split(), loaded


def test_unknown_commands_and_root_help_still_answer(capsys) -> None:
    assert cli.main(["nosuch"]) == 2
    assert "No such command 'nosuch'" in capsys.readouterr().err
    assert cli.main(["--help"]) == 0
    listed = capsys.readouterr().out
    assert all(f"  {name} " in listed for name, _ in cli.COMMANDS)


def test_runs_list_takes_the_fast_path_without_typer(tmp_path) -> None:
    """`exp runs list` through the console script's entry point never imports Typer."""
    (tmp_path / "aml_config").mkdir()
    code = (
        "import sys\n"
        "from expkit.launcher import main\n"
        "code = main(['runs', 'list', '--all'])\n"
        "print('TYPER', code, 'typer' in sys.modules)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=tmp_path
    )
    assert out.stdout.strip().splitlines()[-1] == "TYPER 0 False"
    assert "no runs yet" in out.stderr
