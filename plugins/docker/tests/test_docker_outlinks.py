"""Symbolic links in collected outputs (archives.extract + outlinks): copied when they stay
inside outputs/, dropped with a note otherwise, never followed out."""

from __future__ import annotations

from pathlib import Path

from docker_helpers import tar_stream
from expkit_docker import archives

SOURCE = "/expkit/project/outputs"


def _extract(tmp_path: Path, entries) -> tuple[Path, list[str], list[str]]:
    dest = tmp_path / "run" / "outputs"
    notes: list[str] = []
    found = archives.extract(tar_stream(entries), dest, "outputs", source=SOURCE, note=notes.append)
    return dest, found, notes


def test_links_staying_inside_outputs_are_copied_and_listed(tmp_path):
    dest, found, notes = _extract(tmp_path, [
        ("outputs", "dir", None),
        ("outputs/data.txt", "file", b"data"),
        ("outputs/sub", "dir", None),
        ("outputs/sub/deep.txt", "file", b"deep"),
        ("outputs/latest", "symlink", "data.txt"),
        ("outputs/sub/up", "symlink", "../data.txt"),
        ("outputs/chain", "symlink", "latest"),
        ("outputs/folder", "symlink", "sub"),
        ("outputs/roundabout", "symlink", "../outputs/data.txt"),
        # Absolute, but inside outputs/ in the container: what it means there.
        ("outputs/absolute", "symlink", f"{SOURCE}/sub/deep.txt"),
    ])  # fmt: skip
    assert notes == []
    assert found == [
        "absolute", "chain", "data.txt", "folder/deep.txt", "folder/up", "latest",
        "roundabout", "sub/deep.txt", "sub/up",
    ]  # fmt: skip
    for name in found:
        assert not (dest / name).is_symlink(), name
    assert (dest / "latest").read_bytes() == b"data"
    assert (dest / "chain").read_bytes() == b"data"
    assert (dest / "sub" / "up").read_bytes() == b"data"
    assert (dest / "folder" / "up").read_bytes() == b"data"
    assert (dest / "absolute").read_bytes() == b"deep"


def test_links_leaving_outputs_are_dropped_with_a_note_and_never_followed(tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("host secret")
    dest, found, notes = _extract(tmp_path, [
        ("outputs", "dir", None),
        ("outputs/ok.txt", "file", b"ok"),
        ("outputs/passwd", "symlink", "/etc/passwd"),
        ("outputs/secret", "symlink", str(secret)),
        ("outputs/up", "symlink", "../../../secret.txt"),
        ("outputs/sibling", "symlink", "../train.py"),
        ("outputs/self", "symlink", "."),
        ("outputs/via", "symlink", "passwd"),  # inside, but through a dropped link
        ("outputs/gone", "symlink", "missing.txt"),
        ("outputs/loop", "dir", None),
        ("outputs/loop/back", "symlink", ".."),
        ("outputs/pipe", "fifo", None),
    ])  # fmt: skip
    assert found == ["ok.txt"]
    assert sorted(p.name for p in dest.iterdir()) == ["loop", "ok.txt"]
    assert list((dest / "loop").iterdir()) == []
    text = "\n".join(notes)
    for name, target in [
        ("passwd", "/etc/passwd"), ("secret", str(secret)), ("up", "../../../secret.txt"),
        ("sibling", "../train.py"), ("self", "."), ("via", "passwd"), ("gone", "missing.txt"),
        ("loop/back", ".."),
    ]:  # fmt: skip
        assert f"left out outputs/{name} -> {target}" in text, (name, text)
    assert "outputs/pipe: not a regular file or folder" in text
    assert "points outside outputs/ (never followed)" in text
    assert secret.read_text() == "host secret"  # never read, never touched


def test_an_outputs_folder_that_is_itself_a_link_is_not_collected(tmp_path):
    dest, found, notes = _extract(tmp_path, [("outputs", "symlink", "/etc")])
    assert found == [] and list(dest.iterdir()) == []
    assert notes == ["left out outputs -> /etc: outputs/ itself is a link (never followed)"]


def test_no_link_is_written_through_a_linked_folder(tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    dest, found, notes = _extract(tmp_path, [
        ("outputs", "dir", None),
        ("outputs/real", "dir", None),
        ("outputs/d", "symlink", "real"),
        # A hostile archive: a member below a linked folder.
        ("outputs/d/evil", "symlink", "../x"),
    ])  # fmt: skip
    assert found == [] and list(outside.iterdir()) == []
    assert any("outputs/d/evil" in n for n in notes)
    assert list((dest / "real").iterdir()) == []
