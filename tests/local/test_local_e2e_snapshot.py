"""What a local run sees of the project: the snapshot's ignore rules, dedup and size limit."""

from __future__ import annotations

import json
import os

from local_e2e import run_record

LIST_FILES = """
import json, os
found = sorted(os.path.relpath(os.path.join(d, f), ".").replace(os.sep, "/")
               for d, _, files in os.walk(".") for f in files)
os.makedirs("outputs", exist_ok=True)
json.dump(found, open("outputs/files.json", "w"))
"""


def files_seen(project, ref: str) -> list[str]:
    folder = project.root.parent / f"seen-{ref}"
    assert project.exp("runs", "download", ref, "--to", str(folder)).returncode == 0
    return json.loads((folder / "files.json").read_text())


def test_ignore_rules_shape_the_working_copy(local_project):
    project = local_project
    project.write("list.py", LIST_FILES)
    project.write(".gitignore", "*.log\ndata/raw/\n")
    project.write(".amlignore", "secrets.txt\n")
    project.write("keep.txt", "kept")
    project.write("debug.log", "ignored by .gitignore")
    project.write("data/raw/big.csv", "ignored folder")
    project.write("data/clean.csv", "kept")
    project.write("secrets.txt", "ignored by .amlignore")
    project.write("outputs/old_result.txt", "the project's own outputs/ is never copied")
    result = project.exp("run", "-c", "local", "list.py")
    assert result.returncode == 0, result.output
    seen = files_seen(project, "1")
    assert {"list.py", "keep.txt", "data/clean.csv", ".gitignore", ".amlignore"} <= set(seen)
    left_out = {"debug.log", "data/raw/big.csv", "secrets.txt", "outputs/old_result.txt"}
    assert not left_out & set(seen)
    assert not [p for p in seen if p.startswith(".exp/")]
    restored = project.root.parent / "restored"
    assert project.exp("runs", "restore", "1", "--to", str(restored)).returncode == 0
    assert (restored / "keep.txt").is_file() and not (restored / "secrets.txt").exists()


def test_identical_files_are_stored_once_across_runs(local_project):
    project = local_project
    project.write("list.py", LIST_FILES)
    project.write("data/table.csv", "x,y\n" * 2000)
    for _ in range(2):
        assert project.exp("run", "-c", "local", "list.py").returncode == 0
    first, second = run_record(project, "1"), run_record(project, "2")
    assert first["snapshot_id"] == second["snapshot_id"]
    objects = [
        p
        for p in (project.root / ".exp").rglob("*")
        if p.is_file() and p.read_bytes() == b"x,y\n" * 2000
    ]
    assert len(objects) == 1, objects
    project.write("list.py", LIST_FILES + "\n# edited\n")
    assert project.exp("run", "-c", "local", "list.py").returncode == 0
    assert run_record(project, "3")["snapshot_id"] != first["snapshot_id"]


def test_oversize_snapshot_is_refused_naming_the_largest_files(local_project):
    project = local_project
    project.write("list.py", LIST_FILES)
    (project.root / "huge.bin").write_bytes(b"\0" * (2 * 1024 * 1024))
    result = project.exp("run", "-c", "local", "list.py", env={"EXPKIT_SNAPSHOT_LIMIT_MB": "1"})
    assert result.returncode == 2, result.output
    assert "huge.bin" in result.stderr and "EXPKIT_SNAPSHOT_LIMIT_MB" in result.stderr
    assert "Traceback" not in result.output
    ok = project.exp("run", "-c", "local", "list.py", env={"EXPKIT_SNAPSHOT_LIMIT_MB": "10"})
    assert ok.returncode == 0, ok.output


BYTES_SCRIPT = """
import os
names = sorted(n for n in os.listdir(b".") if n not in (b"outputs",))
with open(b"data_\\xff.txt", "rb") as f:
    content = f.read()
os.makedirs("outputs", exist_ok=True)
with open(b"outputs/result_\\xfe.bin", "wb") as f:
    f.write(content + b"!")
print(names)
"""


def test_file_names_that_are_not_utf8_are_carried_byte_exact(local_project):
    """A project file (and an output) whose name is not valid UTF-8 is run, recorded,
    restored and downloaded with its exact bytes instead of crashing every run."""
    project = local_project
    project.write("bytes.py", BYTES_SCRIPT)
    root = bytes(project.root)
    with open(root + b"/data_\xff.txt", "wb") as handle:
        handle.write(b"payload")
    for ref in ("1", "2"):  # the second run reads the names back from the scan cache
        result = project.exp("run", "-c", "local", "bytes.py")
        assert result.returncode == 0, result.output
        assert "b'data_\\xff.txt'" in result.stdout
        record = run_record(project, ref)
        assert record["status"] == "completed"
        assert [os.fsencode(name) for name in record["outputs"]] == [b"result_\xfe.bin"]
    shown = project.exp("runs", "show", "2")
    assert shown.returncode == 0 and "result_\\xfe.bin" in shown.stdout
    restored = project.root.parent / "restored"
    assert project.exp("runs", "restore", "2", "--to", str(restored)).returncode == 0
    with open(bytes(restored) + b"/data_\xff.txt", "rb") as handle:
        assert handle.read() == b"payload"
    downloaded = project.root.parent / "downloaded"
    assert project.exp("runs", "download", "2", "--to", str(downloaded)).returncode == 0
    assert os.listdir(bytes(downloaded)) == [b"result_\xfe.bin"]
