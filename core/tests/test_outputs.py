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


# ----------------------------------------------------------------------------- bounds


def test_limits_from_the_environment():
    from expkit.collectlimits import DEFAULT_FILES, DEFAULT_MB, Limits

    assert Limits.from_env({}) == Limits(DEFAULT_FILES, DEFAULT_MB << 20)
    env = {"EXPKIT_OUTPUTS_LIMIT_FILES": "0", "EXPKIT_OUTPUTS_LIMIT_MB": " 5 "}
    assert Limits.from_env(env) == Limits(None, 5 << 20)
    warnings: list[str] = []
    bad = {"EXPKIT_OUTPUTS_LIMIT_FILES": "-1", "EXPKIT_OUTPUTS_LIMIT_MB": "lots"}
    assert Limits.from_env(bad, warnings.append) == Limits(DEFAULT_FILES, DEFAULT_MB << 20)
    assert len(warnings) == 2 and "'lots' is not a whole number >= 0" in warnings[1]


def test_budget_keeps_a_prefix_and_notes_once():
    from expkit.collectlimits import Budget, Limits

    notes: list[str] = []
    budget = Budget(Limits(files=None, bytes=100), notes.append)
    assert budget.take("a", 60) and budget.take("b", 40)
    assert not budget.take("c", 1)
    assert not budget.take("d", 0), "once cut, everything after is left out"
    budget.close()
    assert budget.cut and budget.files == 2 and budget.left_files == 2
    assert len(notes) == 1 and "from outputs/c on" in notes[0]
    quiet: list[str] = []
    Budget(Limits(None, None), quiet.append).close()
    assert quiet == []


def test_linked_folders_store_each_file_once_within_the_budget(tmp_path):
    from expkit.collectlimits import Budget, Limits

    root = tmp_path / "outputs"
    (root / "d0").mkdir(parents=True)
    (root / "d0" / "f").write_bytes(b"x" * 100)
    links = {}
    for k in range(1, 6):
        (root / f"d{k}").mkdir()
        for name in "ab":
            os.symlink(f"../d{k - 1}", root / f"d{k}" / name)
            links[f"d{k}/{name}"] = f"../d{k - 1}"
    settle(str(root), links, [].append, Budget(Limits(None, None)))
    files = [p for p in root.rglob("*") if p.is_file()]
    assert len(files) == 2**6 - 1 and not any(p.is_symlink() for p in root.rglob("*"))
    assert len({p.stat().st_ino for p in files}) == 1
    notes: list[str] = []
    budget = Budget(Limits(files=10, bytes=None), notes.append)
    fresh = tmp_path / "again"
    (fresh / "d0").mkdir(parents=True)
    (fresh / "d0" / "f").write_bytes(b"x")
    for k in range(1, 6):
        (fresh / f"d{k}").mkdir()
        for name in "ab":
            os.symlink(f"../d{k - 1}", fresh / f"d{k}" / name)
    settle(str(fresh), links, notes.append, budget)
    budget.close()
    assert budget.files == 10 and len(notes) == 1 and "10 files" in notes[0]
