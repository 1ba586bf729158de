"""Issue 8 through the real CLI on the docker target: hostile script names, link
amplification and collection bounds, collecting large outputs."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from docker_e2e import record
from expkit.testing.hostile import LINK_MAZE_SCRIPT, stored_bytes

pytestmark = pytest.mark.docker

HOSTILE = '-cprint("NAME-AS-CODE")'


def test_a_script_named_like_an_option_runs_as_a_file(docker_project):
    docker_project.write(HOSTILE, "import sys\nprint('ran as a file', sys.argv[1:])\n")
    result = docker_project.exp("run", "-c", "docker", f"./{HOSTILE}", "--x")
    assert "NAME-AS-CODE" not in result.stdout, result.output
    assert "ran as a file ['--x']" in result.stdout, result.output
    assert result.returncode == 0, result.output
    rec = record(docker_project)
    assert rec["script"] == HOSTILE and rec["status"] == "completed"


def test_nested_links_to_folders_store_each_real_file_once_and_are_bounded(docker_project):
    docker_project.write("maze.py", LINK_MAZE_SCRIPT)
    result = docker_project.exp("run", "-c", "docker", "maze.py", "12")
    assert result.returncode == 0, result.output
    rec = record(docker_project)
    outputs = docker_project.root / ".exp" / "runs" / rec["id"] / "outputs"
    assert "d12/a/b/a/b/a/b/a/b/a/b/a/b/data.bin" in rec["outputs"]
    assert len(rec["outputs"]) == 2**13 - 1
    assert stored_bytes(outputs) == 12000, "each real file must be stored once"

    cut = docker_project.exp(
        "run", "-c", "docker", "maze.py", "14", env={"EXPKIT_OUTPUTS_LIMIT_FILES": "500"}
    )
    assert cut.returncode == 0, cut.output
    assert 0 < len(record(docker_project, "2")["outputs"]) <= 500
    notes = [line for line in cut.stderr.splitlines() if "outputs cut" in line]
    assert len(notes) == 1, cut.stderr
    assert "collection limit of 500 files (EXPKIT_OUTPUTS_LIMIT_FILES)" in notes[0]


def test_collection_bound_on_bytes(docker_project):
    docker_project.write(
        "big.py",
        """
        import os
        os.makedirs("outputs", exist_ok=True)
        for n in range(4):
            with open(f"outputs/part{n}.bin", "wb") as handle:
                handle.write(b"x" * (600 << 10))
        """,
    )
    result = docker_project.exp(
        "run", "-c", "docker", "big.py", env={"EXPKIT_OUTPUTS_LIMIT_MB": "1"}
    )
    assert result.returncode == 0, result.output
    assert record(docker_project)["outputs"] == ["part0.bin"]
    assert "collection limit of 1.0 MiB (EXPKIT_OUTPUTS_LIMIT_MB)" in result.stderr


PEAK_RSS = """
import resource, subprocess, sys
code = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL).returncode
print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, code)
"""


def test_collecting_large_outputs_streams_to_disk(docker_project):
    """exp's memory stays flat: 400 MiB of outputs are never held whole (it was 2x that)."""
    docker_project.write(
        "write.py",
        """
        import os
        os.makedirs("outputs", exist_ok=True)
        block = b"x" * (1 << 20)
        for n in range(4):
            with open(f"outputs/part{n}.bin", "wb") as handle:
                for _ in range(100):
                    handle.write(block)
        """,
    )
    exe = shutil.which("exp", path=str(Path(sys.executable).parent)) or "exp"
    probe = subprocess.run(
        [sys.executable, "-c", PEAK_RSS, exe, "run", "-c", "docker", "write.py"],
        cwd=docker_project.root, env=docker_project.env, capture_output=True, text=True,
        timeout=600,
    )  # fmt: skip
    kib, code = probe.stdout.split()
    assert code == "0", probe.stderr
    rec = record(docker_project)
    outputs = docker_project.root / ".exp" / "runs" / rec["id"] / "outputs"
    assert rec["outputs"] == [f"part{n}.bin" for n in range(4)]
    assert all((outputs / name).stat().st_size == 100 << 20 for name in rec["outputs"])
    assert int(kib) < 100 * 1024, f"exp peaked at {int(kib) // 1024} MiB collecting 400 MiB"


def test_no_secret_is_written_anywhere_and_secret_files_stay_out(docker_project):
    from expkit.testing.secrets import find_marker, plant_secrets

    marker = plant_secrets(docker_project.root, "docker")
    docker_project.write(
        "train.py",
        """
        import os
        assert os.environ["API_TOKEN"].endswith("-token")
        assert not os.path.exists(".env") and not os.path.exists(".ssh")
        assert "PLANTED-SECRET" not in open("aml_config/docker.compute").read()
        print("token ok")
        """,
    )
    for _ in range(2):  # the second run from the warm caches
        result = docker_project.exp("run", "-c", "docker", "train.py")
        assert result.returncode == 0, result.output
        assert "token ok" in result.stdout
        assert sum("likely secrets" in line for line in result.stderr.splitlines()) == 1
    cache = Path(docker_project.env["EXPKIT_CACHE_DIR"])
    assert find_marker([docker_project.root / ".exp", cache], marker) == []
