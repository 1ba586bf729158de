"""A newcomer's first hour: the README's first screen, `make example`'s set-up, PATH."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
FIRST_PARTY = ["docker", "hdinsight", "local", "remotedocker"]


def _first_screen() -> str:
    return (REPO / "README.md").read_text(encoding="utf-8").split("\n---\n", 1)[0]


def test_readme_first_screen_has_exactly_two_commands_for_a_fresh_machine() -> None:
    screen = _first_screen()
    blocks = re.findall(r"```bash\n(.*?)```", screen, re.S)
    fresh = [line.split("#")[0].strip() for line in blocks[0].splitlines() if line.strip()]
    assert fresh == ["make example", "make test"]


def test_readme_says_how_to_get_exp_on_path() -> None:
    screen = _first_screen()
    assert "source .venv/bin/activate" in screen and "PATH" in screen


def test_make_example_installs_every_first_party_plugin(tmp_path: Path) -> None:
    """`scripts/bootstrap.sh example` (what `make example` runs), into a fresh venv."""
    uv = shutil.which("uv") or shutil.which("uv", path=str(Path(sys.executable).parent))
    assert uv, "uv is needed: run scripts/bootstrap.sh (it installs uv)"
    venv = tmp_path / "venv"
    env = {**os.environ, "EXPKIT_VENV": str(venv)}
    env["PATH"] = str(Path(uv).parent) + os.pathsep + env.get("PATH", "")
    done = subprocess.run(
        ["bash", str(REPO / "scripts" / "bootstrap.sh"), "example"],
        env=env, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"source {venv}/bin/activate" in done.stdout
    listed = subprocess.run(
        [str(venv / "bin" / "exp"), "plugins", "--json"],
        capture_output=True, text=True, timeout=120, cwd=tmp_path,
    )  # fmt: skip
    assert listed.returncode == 0, listed.stderr
    assert sorted(p["name"] for p in json.loads(listed.stdout)) == FIRST_PARTY
    # No test tooling in a user's set-up.
    assert not (venv / "bin" / "pytest").exists()
    plugins = sorted(p.parent.name for p in (REPO / "plugins").glob("*/pyproject.toml"))
    assert plugins == FIRST_PARTY


def test_makefile_example_points_to_path() -> None:
    text = (REPO / "Makefile").read_text(encoding="utf-8")
    recipe = text.split("\nexample:\n", 1)[1].split("\n\n", 1)[0]
    assert "scripts/bootstrap.sh example" in recipe and "bin/activate" in recipe
