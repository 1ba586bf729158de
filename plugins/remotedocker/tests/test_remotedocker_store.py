"""The object store's trees: hashing a folder and reading a snapshot manifest agree."""

from __future__ import annotations

import json
from pathlib import Path

from expkit.snapshot import take_snapshot
from expkit_remotedocker.store import Objects, add_entries, add_tree
from expkit_remotedocker.submit import _target_file


def test_manifest_and_folder_give_the_same_tree(tmp_path: Path) -> None:
    project = tmp_path / "proj"
    (project / "src" / "deep").mkdir(parents=True)
    (project / "aml_config").mkdir()
    (project / "train.py").write_text("print('x')\n")
    (project / "run.sh").write_text("#!/bin/sh\n")
    (project / "run.sh").chmod(0o755)
    (project / "src" / "deep" / "ünï code.py").write_text("y = 2\n")
    (project / "aml_config" / "vm.compute").write_text("password: secret\n")
    (project / "aml_config" / "vm.runconfig").write_text("Target: vm\n")
    snapshot = take_snapshot(project, tmp_path / "store")
    work = tmp_path / "work"
    import shutil

    shutil.copytree(project, work)
    from_folder, from_manifest = Objects(), Objects()
    root = add_tree(work, from_folder, skip=_target_file)
    blobs = tmp_path / "store" / "objects"
    entries = [(e.path, e.sha, e.mode, e.link) for e in snapshot.entries]
    assert add_entries(entries, from_manifest, lambda s: blobs / s[:2] / s, _target_file) == root
    assert from_manifest.names() == from_folder.names()
    # The target files never enter a tree: a Workbench one may hold a password.
    text = b"".join(from_folder.trees.values())
    assert b"vm.compute" not in text and b"vm.runconfig" in text
    top = json.loads(from_folder.trees[root])
    assert ["run.sh", "f"] == top[1][:2] and top[1][3] == 0o755


def test_launcher_rebuilds_a_private_working_copy(tmp_path: Path, monkeypatch) -> None:
    """incontainer/launch.py: the tree's files and modes, each a copy of its own (a
    script rewriting a file in place leaves the object store as it was)."""
    import os

    from expkit_remotedocker.incontainer import launch

    project = tmp_path / "proj"
    (project / "src").mkdir(parents=True)
    (project / "src" / "mod.py").write_bytes(b"x = 1\n" * 50_000)
    (project / "run.sh").write_text("#!/bin/sh\n")
    (project / "run.sh").chmod(0o755)
    (project / "empty.txt").write_text("")
    (project / "link").symlink_to("src/mod.py")
    objects = Objects()
    root = add_tree(project, objects)
    store = tmp_path / "objects"
    store.mkdir()
    for name, data in objects.trees.items():
        (store / name).write_bytes(data)
    for name, path in objects.blobs.items():
        (store / name).write_bytes(path.read_bytes())
    monkeypatch.setattr(launch, "OBJECTS", str(store))
    work = tmp_path / "work"
    launch.materialise(root, str(work))
    assert (work / "src" / "mod.py").read_bytes() == (project / "src" / "mod.py").read_bytes()
    assert (work / "empty.txt").read_bytes() == b""
    assert os.readlink(work / "link") == "src/mod.py"
    assert (work / "run.sh").stat().st_mode & 0o777 == 0o755
    assert (work / "src" / "mod.py").stat().st_mode & 0o777 == 0o644
    with open(work / "src" / "mod.py", "r+b") as handle:  # rewritten in place
        handle.write(b"changed")
    assert all((store / name).read_bytes() == path.read_bytes()
               for name, path in objects.blobs.items())  # fmt: skip
