"""The run's working folder on the VM: an overlay over the snapshot's hard-link farm.

A script that rewrites or deletes its own files must change neither the VM's
object store nor the farm the next run of the same snapshot mounts; what the
overlay leaves root-owned in the run's folder goes with it.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from pathlib import Path

import pytest
from e2e import assert_cleaned_up, record, run_folder, run_volumes, setup_project

pytestmark = pytest.mark.slow

MUTATE = """
import json, os
from pathlib import Path
seen = {
    "data": Path("data.txt").read_text(),
    "keep": Path("sub/keep.txt").exists(),
    "other": Path("sub/other.txt").read_text(),
    "exe": bool(os.stat("tool.sh").st_mode & 0o111),
    "link": os.readlink("link.txt"),
}
print("SEEN " + json.dumps(seen), flush=True)
with open("data.txt", "a") as f:         # in place: a hard link would change the object
    f.write("written by the run\\n")
with open("sub/other.txt", "r+") as f:   # overwritten in place, same inode
    f.write("XXXXX")
if seen["keep"]:
    os.remove("sub/keep.txt")            # a whiteout (root's) in the run's upper layer
os.remove("tool.sh")
os.makedirs("outputs/deep", exist_ok=True)
Path("outputs/deep/result.txt").write_text(seen["data"])
"""
DATA, OTHER, KEEP = "original data\n", "other file\n", "keep me\n"


def _seen(output: str) -> dict:
    return json.loads(next(line[5:] for line in output.splitlines() if line.startswith("SEEN ")))


def _store(remote) -> Path:
    return run_folder(remote, "x").parent.parent


def _object(remote, text: str) -> Path:
    return _store(remote) / "objects" / hashlib.sha256(text.encode()).hexdigest()


def _files(project, remote, tmp_path) -> None:
    setup_project(project, remote, tmp_path)
    project.write("mutate.py", MUTATE)
    project.write("data.txt", DATA)
    project.write("sub/keep.txt", KEEP)
    project.write("sub/other.txt", OTHER)
    project.write("sub/token.txt", uuid.uuid4().hex)  # new trees on the VM, every time
    project.write("tool.sh", "#!/bin/sh\necho tool\n").chmod(0o755)
    (project.root / "link.txt").symlink_to("data.txt")


def test_a_script_changing_its_files_leaves_the_store_and_the_next_run_alone(
    project, remote, tmp_path
) -> None:
    _files(project, remote, tmp_path)

    first = project.exp("run", "-c", "gpuvm", "mutate.py")
    assert first.returncode == 0, first.output
    expected = {"data": DATA, "keep": True, "other": OTHER, "exe": True, "link": "data.txt"}
    assert _seen(first.stdout) == expected
    run = record(project, "1")
    assert run["status"] == "completed" and run["outputs"] == ["deep/result.txt"]
    outputs = project.root / ".exp" / "runs" / run["id"] / "outputs"
    assert (outputs / "deep" / "result.txt").read_text() == DATA
    # The objects are untouched, and the snapshot's farm links them (no copies made).
    for text in (DATA, OTHER, KEEP):
        assert _object(remote, text).read_text() == text
    farms = [p for p in (_store(remote) / "farms").iterdir() if not p.name.startswith(".")]
    farm = next(
        p
        for p in farms
        if (p / "mutate.py").exists()
        and (p / "data.txt").stat().st_ino == _object(remote, DATA).stat().st_ino
    )
    assert (farm / "sub" / "other.txt").read_text() == OTHER
    assert (farm / "sub" / "keep.txt").is_file() and (farm / "tool.sh").is_file()
    # Whiteouts and the overlay's work folder are root's: all of the run's folder goes.
    assert_cleaned_up(remote, run["id"])

    # The same snapshot again: the same farm, as it was.
    second = project.exp("run", "-c", "gpuvm", "mutate.py")
    assert second.returncode == 0, second.output
    assert _seen(second.stdout) == expected
    assert "sent" not in second.stderr  # nothing new to send

    # An edit and a deletion here: the next farm (derived from the last) has them.
    edited = f"edited {uuid.uuid4().hex}\n"
    project.write("data.txt", edited)
    (project.root / "sub" / "keep.txt").unlink()
    third = project.exp("run", "-c", "gpuvm", "mutate.py")
    assert third.returncode == 0, third.output
    assert _seen(third.stdout) == {**expected, "data": edited, "keep": False}
    assert "sent 3 new file(s)" in third.stderr  # data.txt and two trees
    for number in ("2", "3"):
        ended = record(project, number)
        assert ended["outputs"] == ["deep/result.txt"]
        assert_cleaned_up(remote, ended["id"])
        assert not run_volumes(remote, ended["id"])
    assert _object(remote, DATA).read_text() == DATA

    # A one-file edit more: that run mounts the last farm, the edit copied into its own
    # upper layer; the script's in-place write goes to that copy, not the object.
    again = f"again {uuid.uuid4().hex}\n"
    project.write("data.txt", again)
    fourth = project.exp("run", "-c", "gpuvm", "mutate.py")
    assert fourth.returncode == 0, fourth.output
    assert _seen(fourth.stdout) == {**expected, "data": again, "keep": False}
    assert _object(remote, again).read_text() == again
    assert (project.root / ".exp" / "runs" / record(project, "4")["id"] / "outputs" / "deep"
            / "result.txt").read_text() == again  # fmt: skip
    assert_cleaned_up(remote, record(project, "4")["id"])


def test_without_overlay_the_run_copies_its_files_and_still_leaves_the_store_alone(
    project, remote, tmp_path
) -> None:
    """A VM whose engine cannot mount an overlay (a fact kept with the VM's facts):
    the launcher makes the working copy, outputs come from there."""
    _files(project, remote, tmp_path)
    cache = Path(project.env["EXPKIT_CACHE_DIR"])
    facts_files = list(cache.glob("remotedocker/*/facts.json"))  # from attach
    assert facts_files
    try:
        for path in facts_files:
            facts = json.loads(path.read_text())
            path.write_text(json.dumps({**facts, "overlay": False}))
        result = project.exp("run", "-c", "gpuvm", "mutate.py")
        assert result.returncode == 0, result.output
        assert _seen(result.stdout) == {
            "data": DATA, "keep": True, "other": OTHER, "exe": True, "link": "data.txt"
        }  # fmt: skip
        run = record(project, "1")
        saved = json.loads((project.root / ".exp" / "runs" / run["id"] / "remote.json").read_text())
        assert saved["outputs_in"] == "project"
        assert run["outputs"] == ["deep/result.txt"]
        assert _object(remote, DATA).read_text() == DATA
        assert list(run["timings"]) == ["snapshot", "prepare", "upload", "submit", "run", "collect"]
        assert_cleaned_up(remote, run["id"])
    finally:
        for path in facts_files:
            path.unlink(missing_ok=True)
