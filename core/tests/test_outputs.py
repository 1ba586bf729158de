"""expkit.outputs: the link rule for collected outputs/, and the notes it writes."""

from __future__ import annotations

import os
from pathlib import Path

from expkit.outputs import OUTSIDE, inside, left_out, settle, settle_tree


def test_note_text():
    assert left_out("a/b", "why") == "left out outputs/a/b: why"
    assert left_out("key", OUTSIDE, "/etc/passwd") == (
        "left out outputs/key -> /etc/passwd: it points outside outputs/ (never followed)"
    )
    assert left_out("", "x", "/etc") == "left out outputs -> /etc: x"


def test_inside_is_by_path_components():
    assert inside("/o", "/o") and inside("/o/a", "/o") and inside("/o/a", "/o/")
    assert not inside("/other", "/o") and not inside("/", "/o")
    assert inside("/anything", "/", "/")


def _tree(root: Path, secret: Path) -> None:
    (root / "dir/sub").mkdir(parents=True)
    (root / "real.txt").write_text("content")
    os.chmod(root / "real.txt", 0o640)
    (root / "dir/sub/a.txt").write_text("a")
    os.symlink("real.txt", root / "copy.txt")
    os.symlink("dir", root / "alias")  # sorted first: copied while dir still holds its links
    os.symlink("../../real.txt", root / "dir/sub/up.txt")
    os.symlink("/etc/passwd", root / "dir/passwd")  # named by its own text in alias/ too
    os.symlink(str(secret), root / "key")
    os.symlink(".", root / "self")
    os.symlink("..", root / "dir/up")
    os.symlink("missing", root / "dangling")
    os.symlink("/dev/null", root / "device")
    os.mkfifo(root / "fifo")


def test_settle_tree_copies_links_inside_and_drops_the_rest_unread(tmp_path):
    root, secret = tmp_path / "outputs", tmp_path / "secret"
    secret.write_text("private")
    root.mkdir()
    _tree(root, secret)
    notes: list[str] = []
    settle_tree(str(root), notes.append)
    assert not [p for p in root.rglob("*") if p.is_symlink()]
    assert sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file()) == [
        "alias/sub/a.txt", "alias/sub/up.txt", "copy.txt",
        "dir/sub/a.txt", "dir/sub/up.txt", "real.txt",
    ]  # fmt: skip
    assert (root / "copy.txt").read_text() == "content"
    assert (root / "copy.txt").stat().st_mode & 0o777 == 0o640
    assert (root / "alias/sub/up.txt").read_text() == "content"
    assert sorted(notes) == sorted([
        "left out outputs/alias/passwd -> /etc/passwd: " + OUTSIDE,
        "left out outputs/alias/up -> ..: a link to outputs/ itself is a loop",
        "left out outputs/dangling -> missing: its target does not exist",
        "left out outputs/device -> /dev/null: " + OUTSIDE,
        "left out outputs/dir/passwd -> /etc/passwd: " + OUTSIDE,
        "left out outputs/dir/up -> ..: a link to outputs/ itself is a loop",
        "left out outputs/fifo: not a regular file or folder",
        f"left out outputs/key -> {secret}: " + OUTSIDE,
        "left out outputs/self -> .: a link to outputs/ itself is a loop",
    ])  # fmt: skip
    assert secret.read_text() == "private"


def test_a_link_to_a_folder_that_contains_it_is_a_loop(tmp_path):
    root = tmp_path / "outputs"
    (root / "a/b").mkdir(parents=True)
    os.symlink("..", root / "a/b/back")
    notes: list[str] = []
    settle_tree(str(root), notes.append)
    assert notes == [
        "left out outputs/a/b/back -> ..: a link to a folder that contains it is a loop"
    ]
    assert list((root / "a/b").iterdir()) == []


def test_settle_names_the_link_texts_the_script_wrote(tmp_path):
    # As a target writes them from an archive: relative links, the script's texts aside.
    root = tmp_path / "outputs"
    root.mkdir()
    (root / "data.txt").write_text("data")
    os.symlink("data.txt", root / "latest")
    os.symlink("gone.txt", root / "gone")
    notes: list[str] = []
    settle(str(root), {"latest": "/in/container/data.txt", "gone": "/in/container/gone.txt",
                       "absent": "x"}, notes.append)  # fmt: skip
    assert (root / "latest").read_text() == "data" and not (root / "latest").is_symlink()
    assert notes == ["left out outputs/gone -> /in/container/gone.txt: its target does not exist"]
