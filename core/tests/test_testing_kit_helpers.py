"""The testing kit's helpers that plugin authors reuse: wheels and process watching."""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

from expkit.testing import build_wheel, process_alive, wait_gone


def test_build_wheel_installs_and_runs(tmp_path):
    wheel = build_wheel(
        tmp_path / "wheels",
        "kit_demo",
        "1.2.3",
        "def main():\n    print('kit demo ran')\nVALUE = 42\n",
        console_scripts={"kit-demo": "kit_demo:main"},
    )
    assert wheel.name == "kit_demo-1.2.3-py3-none-any.whl"
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        entry_points = archive.read("kit_demo-1.2.3.dist-info/entry_points.txt").decode()
    assert "kit_demo/__init__.py" in names and "kit_demo-1.2.3.dist-info/RECORD" in names
    assert "kit-demo = kit_demo:main" in entry_points
    # Deterministic: the same input gives the same bytes.
    again = build_wheel(tmp_path / "again", "kit_demo", "1.2.3",
                        "def main():\n    print('kit demo ran')\nVALUE = 42\n",
                        console_scripts={"kit-demo": "kit_demo:main"})  # fmt: skip
    assert again.read_bytes() == wheel.read_bytes()
    try:
        build_wheel(tmp_path / "bad", "not-importable", "1", "")
    except ValueError as exc:
        assert "importable" in str(exc)
    else:
        raise AssertionError("a non-importable name must be refused")
    target = tmp_path / "site"
    # The dev venv is made by uv and has no pip: install the way it was built.
    uv = shutil.which("uv") or str(Path(sys.executable).with_name("uv"))
    subprocess.run(
        [uv, "pip", "install", "--quiet", "--no-deps", "--offline", "--python", sys.executable,
         "--target", str(target), str(wheel)],
        check=True,
    )  # fmt: skip
    out = subprocess.run(
        [sys.executable, "-c", "import kit_demo; print(kit_demo.VALUE)"],
        env={"PYTHONPATH": str(target)},
        capture_output=True,
        text=True,
        check=True,
    )
    assert out.stdout.strip() == "42"


def test_process_alive_and_wait_gone_follow_a_real_process():
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        assert process_alive(proc.pid)
        assert not wait_gone(proc.pid, timeout=0.2)
        proc.terminate()
        # Not reaped yet: a zombie already counts as gone.
        assert wait_gone(proc.pid, timeout=10)
        assert not process_alive(proc.pid)
    finally:
        proc.kill()
        proc.wait()
