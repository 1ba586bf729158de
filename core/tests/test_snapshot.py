"""Snapshots: ignore rules, content addressing, the size limit, the scan cache, materializing."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest
from expkit.errors import ConfigError, InfrastructureError, UsageError
from expkit.snapshot import (
    LIMIT_ENV,
    MemoryCache,
    load_snapshot,
    materialize,
    scan_only,
    take_snapshot,
)


def make(root: Path, files: dict[str, str | bytes]) -> Path:
    for rel, content in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")
    return root


def paths(snapshot) -> set[str]:
    return {e.path for e in snapshot.entries}


def age(path: Path, seconds: float = 60) -> None:
    """Make ``path`` look modified a while ago (past the racy-mtime window)."""
    stamp = time.time() - seconds
    os.utime(path, (stamp, stamp))


@pytest.fixture
def root(tmp_path: Path) -> Path:
    project = tmp_path / "proj"
    project.mkdir()
    return project


def test_always_excluded_and_aml_config_included(root: Path) -> None:
    make(
        root,
        {
            "train.py": "print(1)",
            "aml_config/local.compute": "type: local",
            ".exp/runs/x/record.json": "{}",
            "outputs/model.pkl": "m",
            "sub/outputs/kept.txt": "nested outputs/ is ordinary data",
            ".git/HEAD": "ref",
            "sub/.git": "gitdir: elsewhere",
            "pkg/__pycache__/m.cpython-311.pyc": "x",
            "pkg/m.py": "",
        },
    )
    snap = scan_only(root)
    assert paths(snap) == {
        "train.py",
        "aml_config/local.compute",
        "sub/outputs/kept.txt",
        "pkg/m.py",
    }


def test_gitignore_amlignore_and_nested_rules(root: Path) -> None:
    make(
        root,
        {
            ".gitignore": "*.log\n!keep.log\nbuild/\n/data\n",
            ".amlignore": "secret.txt\n!important.log\n",
            "a.log": "",
            "keep.log": "",
            "important.log": "",
            "build/x.py": "",
            "src/build/y.py": "",
            "data/big.csv": "",
            "src/data/small.csv": "",
            "secret.txt": "",
            "train.py": "",
            "src/.gitignore": "*.tmp\n!train.log\n",
            "src/a.tmp": "",
            "src/train.log": "",
            "src/b.py": "",
            "other/c.tmp": "",
        },
    )
    snap = scan_only(root)
    assert paths(snap) == {
        ".gitignore",
        ".amlignore",
        "keep.log",
        "important.log",
        "train.py",
        "src/.gitignore",
        "src/data/small.csv",
        "src/train.log",
        "src/b.py",
        "other/c.tmp",
    }


def test_ignored_folder_is_not_descended(root: Path, monkeypatch) -> None:
    from expkit.snapshot import walk

    make(root, {".gitignore": "venv/\n", "venv/lib/x.py": "", "train.py": ""})
    listed: list[str] = []
    real = os.scandir

    def spying(path):
        listed.append(os.path.relpath(path, root))
        return real(path)

    monkeypatch.setattr(walk.os, "scandir", spying)
    snap = scan_only(root)
    assert paths(snap) == {".gitignore", "train.py"}
    assert listed == ["."]


def test_content_addressed_and_deduplicated(root: Path, tmp_path: Path) -> None:
    store = tmp_path / "store"
    make(root, {"a.py": "same", "b/a_copy.py": "same", "c.py": "other"})
    first = take_snapshot(root, store)
    objects = [p for p in (store / "objects").rglob("*") if p.is_file()]
    assert len(objects) == 2  # "same" is stored once
    again = take_snapshot(root, store)
    assert again.id == first.id
    assert len([p for p in (store / "objects").rglob("*") if p.is_file()]) == 2
    (root / "c.py").write_text("changed")
    changed = take_snapshot(root, store)
    assert changed.id != first.id
    assert len([p for p in (store / "objects").rglob("*") if p.is_file()]) == 3
    manifest = json.loads((store / "snapshots" / f"{first.id}.json").read_text())
    assert set(manifest["files"]) == {"a.py", "b/a_copy.py", "c.py"}
    entry = manifest["files"]["a.py"]
    assert set(entry) == {"sha", "mode", "size"} and entry["size"] == 4
    assert (store / "objects" / entry["sha"][:2] / entry["sha"]).read_text() == "same"


def test_materialize_round_trip_with_modes_and_links(root: Path, tmp_path: Path) -> None:
    store = tmp_path / "store"
    make(
        root, {"run.sh": "#!/bin/sh\necho hi\n", "pkg/mod.py": "x = 'ü'\n", "data.bin": b"\x00\xff"}
    )
    os.chmod(root / "run.sh", 0o755)
    os.symlink("pkg/mod.py", root / "link.py")
    os.symlink("/etc/passwd", root / "outside")
    snap = take_snapshot(root, store)
    assert "link.py" in snap and "outside" not in snap
    assert any("outside" in note and "outside the project" in note for note in snap.notes)
    dest = tmp_path / "copy"
    materialize(store, snap.id, dest)
    assert (dest / "pkg/mod.py").read_text(encoding="utf-8") == "x = 'ü'\n"
    assert (dest / "data.bin").read_bytes() == b"\x00\xff"
    assert os.stat(dest / "run.sh").st_mode & 0o777 == 0o755
    assert os.stat(dest / "pkg/mod.py").st_mode & 0o777 == 0o644
    assert os.readlink(dest / "link.py") == "pkg/mod.py"
    assert not (dest / "outside").exists()
    # The working copy is a copy: writing to it leaves the stored objects intact.
    (dest / "pkg/mod.py").write_text("clobbered")
    again = tmp_path / "again"
    materialize(store, snap.id, again)
    assert (again / "pkg/mod.py").read_text(encoding="utf-8") == "x = 'ü'\n"


def test_materialize_refuses_unsafe_paths(tmp_path: Path) -> None:
    store = tmp_path / "store"
    (store / "snapshots").mkdir(parents=True)
    bad = {
        "format": 1,
        "files": {"../escape.py": {"sha": "0" * 64, "mode": 420, "size": 1}},
        "links": {},
    }
    (store / "snapshots" / "bad.json").write_text(json.dumps(bad))
    with pytest.raises(InfrastructureError, match="unsafe path"):
        materialize(store, "bad", tmp_path / "dest")
    assert not (tmp_path / "escape.py").exists()
    links = {"format": 1, "files": {}, "links": {"l": "../../etc"}}
    (store / "snapshots" / "links.json").write_text(json.dumps(links))
    with pytest.raises(InfrastructureError, match="leaving the snapshot"):
        materialize(store, "links", tmp_path / "dest2")


def test_missing_snapshot_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(InfrastructureError, match="snapshot nope is missing"):
        load_snapshot(tmp_path, "nope")


def test_oversize_snapshot_names_the_largest_files(root: Path, monkeypatch) -> None:
    monkeypatch.setenv(LIMIT_ENV, "1")
    sizes = {
        "data/a.csv": 600_000,
        "data/b.csv": 500_000,
        "c.bin": 100_000,
        "d.bin": 50_000,
        "e.bin": 40_000,
        "f.bin": 30_000,
        "tiny.py": 10,
    }
    make(root, {rel: b"x" * n for rel, n in sizes.items()})
    with pytest.raises(UsageError) as info:
        scan_only(root)
    text = str(info.value)
    assert "over the 1.0 MiB limit" in text and ".amlignore" in text and LIMIT_ENV in text
    for rel in ("data/a.csv", "data/b.csv", "c.bin", "d.bin", "e.bin"):
        assert rel in text
    assert "f.bin" not in text and "tiny.py" not in text
    # Excluding them is the documented way out.
    (root / ".amlignore").write_text("data/\n")
    assert "data/a.csv" not in scan_only(root)


@pytest.mark.parametrize("value, ok", [("0", True), ("2.5", True), ("lots", False), ("-1", False)])
def test_limit_variable(root: Path, monkeypatch, value: str, ok: bool) -> None:
    monkeypatch.setenv(LIMIT_ENV, value)
    make(root, {"big.bin": b"x" * 2_000_000})
    if ok:
        assert "big.bin" in scan_only(root)
    else:
        with pytest.raises(ConfigError, match=LIMIT_ENV):
            scan_only(root)


def test_unchanged_files_are_not_rehashed(root: Path, tmp_path: Path, monkeypatch) -> None:
    import expkit.snapshot as snapshot_module

    store, cache = tmp_path / "store", MemoryCache()
    make(root, {"a.py": "a", "b.py": "b"})
    for name in ("a.py", "b.py"):
        age(root / name)
    hashed: list[Path] = []
    real = snapshot_module._hash_and_store

    def counting(store_dir, source, redacted=False):
        hashed.append(Path(source).name)
        return real(store_dir, source, redacted)

    monkeypatch.setattr(snapshot_module, "_hash_and_store", counting)
    first = take_snapshot(root, store, cache)
    assert sorted(hashed) == ["a.py", "b.py"]
    hashed.clear()
    assert take_snapshot(root, store, cache).id == first.id
    assert hashed == []
    # Same size, new content and mtime: detected by the stat key, rehashed.
    (root / "a.py").write_text("A")
    age(root / "a.py", 30)
    third = take_snapshot(root, store, cache)
    assert hashed == ["a.py"] and third.id != first.id
    # A file modified just now is hashed again next time (its mtime may not change on a rewrite).
    hashed.clear()
    (root / "b.py").write_text("B")
    take_snapshot(root, store, cache)
    take_snapshot(root, store, cache)
    assert hashed == ["b.py", "b.py"]


def test_ignore_decisions_are_cached_until_rules_change(root: Path, monkeypatch) -> None:
    from expkit.snapshot import walk as scan_module

    cache = MemoryCache()
    make(
        root,
        {
            ".gitignore": "*.log\n",
            "a.log": "",
            "a.py": "",
            "sub/.gitignore": "*.tmp\n",
            "sub/x.tmp": "",
        },
    )
    assert paths(scan_only(root, cache)) == {".gitignore", "a.py", "sub/.gitignore"}
    calls: list[str] = []
    real = scan_module._Rules.ignored

    def spying(self, relpath, is_dir):
        calls.append(relpath)
        return real(self, relpath, is_dir)

    monkeypatch.setattr(scan_module._Rules, "ignored", spying)
    scan_only(root, cache)
    assert calls == []  # every decision came from the cache
    (root / "sub/.gitignore").write_text("")  # only sub/'s decisions depend on it
    assert paths(scan_only(root, cache)) == {".gitignore", "a.py", "sub/.gitignore", "sub/x.tmp"}
    assert sorted(calls) == ["sub/.gitignore", "sub/x.tmp"]
    calls.clear()
    (root / ".gitignore").write_text("")
    assert "a.log" in scan_only(root, cache)
    assert "a.log" in calls


def test_deleted_objects_are_restored_from_the_project(root: Path, tmp_path: Path) -> None:
    store, cache = tmp_path / "store", MemoryCache()
    make(root, {"a.py": "a"})
    age(root / "a.py")
    snap = take_snapshot(root, store, cache)
    for obj in (store / "objects").rglob("*"):
        if obj.is_file():
            obj.unlink()
    assert take_snapshot(root, store, cache).id == snap.id
    materialize(store, snap.id, tmp_path / "dest")
    assert (tmp_path / "dest/a.py").read_text() == "a"


def test_undecodable_file_names_are_snapshotted_byte_exact(root: Path, tmp_path: Path) -> None:
    """Names that are not valid UTF-8 go through the SQLite scan cache (twice: the second
    snapshot reads them back from it) and are materialized with their exact bytes."""
    from expkit.history import History

    raw = os.fsencode(root)
    with open(raw + b"/data_\xff.txt", "wb") as handle:
        handle.write(b"x")
    os.mkdir(raw + b"/dir_\xfe")
    with open(raw + b"/dir_\xfe/.gitignore", "wb") as handle:
        handle.write(b"skip_\xfd.txt\n")
    for name in (b"keep_\xfc.txt", b"skip_\xfd.txt"):
        with open(raw + b"/dir_\xfe/" + name, "wb") as handle:
            handle.write(name)
    age(root / os.fsdecode(b"data_\xff.txt"))
    with History(tmp_path / "history") as history:
        first = take_snapshot(root, history.store, history.scan_cache())
        second = take_snapshot(root, history.store, history.scan_cache())
    assert first.id == second.id
    dest = tmp_path / "dest"
    materialize(tmp_path / "history" / ".exp", first.id, dest)
    found = sorted(
        os.path.relpath(os.path.join(folder, name), os.fsencode(dest))
        for folder, _, names in os.walk(os.fsencode(dest))
        for name in names
    )
    assert found == [b"data_\xff.txt", b"dir_\xfe/.gitignore", b"dir_\xfe/keep_\xfc.txt"]
    with open(os.fsencode(dest) + b"/dir_\xfe/keep_\xfc.txt", "rb") as handle:
        assert handle.read() == b"keep_\xfc.txt"


def test_the_snapshot_just_taken_is_loaded_without_reading_it_back(
    root: Path, tmp_path: Path, monkeypatch
) -> None:
    """A target reads the manifest of the run it submits: in the process that took it,
    that is the snapshot in memory, the same as the stored one."""
    import expkit.snapshot as snapshots

    store = tmp_path / "store"
    make(root, {"a.py": "a", "pkg/b.py": "b", "run.sh": "#!/bin/sh\n"})
    (root / "run.sh").chmod(0o755)
    os.symlink("a.py", root / "link.py")
    snap = take_snapshot(root, store, MemoryCache())
    reads: list[Path] = []
    real = Path.read_bytes
    monkeypatch.setattr(Path, "read_bytes", lambda p: reads.append(p) or real(p))
    kept = load_snapshot(store, snap.id)
    assert reads == []
    snapshots._recent.clear()
    stored = load_snapshot(store, snap.id)
    assert reads
    assert (kept.id, kept.entries, kept.paths) == (stored.id, stored.entries, stored.paths)
    # Another store, or an older snapshot, is read from disk.
    take_snapshot(root, tmp_path / "other", MemoryCache())
    make(root, {"a.py": "changed"})
    take_snapshot(root, store, MemoryCache())
    reads.clear()
    assert load_snapshot(store, snap.id).entries == stored.entries and reads
