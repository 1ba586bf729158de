"""``exp``'s error handling works with the lowest and the highest typer the core allows.

typer vendored click (``typer._click``) inside the allowed range, and its
vendored exceptions module has no ``Abort``: an error handler written against
one typer crashed with a second traceback on another. Each end of the range
gets a fresh venv (uv, from its cache) with the core's wheel and that typer,
and a buggy third-party plugin whose hook raises: the unexpected error must
end as ``exp: internal error`` (exit 1, no traceback), a usage error as exit 2.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest
from kit_venvs import REPO, make_venv

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib


def typer_range() -> tuple[str, str]:
    """(lowest, highest) allowed typer as pip requirements, from core/pyproject.toml."""
    data = tomllib.loads((REPO / "core" / "pyproject.toml").read_text(encoding="utf-8"))
    (spec,) = [d for d in data["project"]["dependencies"] if d.startswith("typer")]
    low = re.search(r">=\s*([\w.]+)", spec)
    high = re.search(r"<\s*([\w.]+)", spec)
    assert low and high, f"typer needs both bounds in core/pyproject.toml, got {spec!r}"
    return f"typer=={low.group(1)}", f"typer>={low.group(1)},<{high.group(1)}"


BUGGY_PLUGIN = """
import pluggy

hookimpl = pluggy.HookimplMarker("expkit")


@hookimpl
def expkit_target_types():
    raise RuntimeError("boom from a buggy plugin")
"""


def _install_buggy_plugin(venv_root: Path) -> None:
    """A plugin as an installer lays it down: a module plus a dist-info with its entry point."""
    (site,) = venv_root.glob("lib/python3*/site-packages")
    (site / "expkit_buggy.py").write_text(BUGGY_PLUGIN, encoding="utf-8")
    info = site / "expkit_buggy-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: expkit-buggy\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text("[expkit]\nbuggy = expkit_buggy\n")


@pytest.mark.slow
@pytest.mark.parametrize("end", ["lowest", "highest"])
def test_error_handler_across_the_typer_range(end, wheels, tmp_path):
    requirement = typer_range()[("lowest", "highest").index(end)]
    venv = make_venv(tmp_path / "venv", [wheels["core"], requirement])
    version = venv.run(venv.bin("python"), "-c", "import typer; print(typer.__version__)")
    assert version.returncode == 0, version.output

    usage = venv.exp("runs", "list", "--no-such-option", cwd=tmp_path)
    assert usage.returncode == 2, usage.output
    assert "no-such-option" in usage.output and "Traceback" not in usage.output

    _install_buggy_plugin(venv.root)
    crashed = venv.exp("plugins", cwd=tmp_path)
    assert crashed.returncode == 1, f"typer {version.stdout}{crashed.output}"
    assert "exp: internal error: RuntimeError: boom from a buggy plugin" in crashed.stderr
    assert "Traceback" not in crashed.output, f"typer {version.stdout}{crashed.output}"

    debug = venv.exp("--debug", "plugins", cwd=tmp_path)
    assert debug.returncode == 1
    assert "Traceback" in debug.stderr and "RuntimeError: boom" in debug.stderr
    assert "AttributeError" not in debug.stderr
