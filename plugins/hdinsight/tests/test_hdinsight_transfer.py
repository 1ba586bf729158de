"""What comes back from the head node is extracted safely: a hostile outputs/ archive
writes nothing outside the run's folder, and says what it left out."""

from __future__ import annotations

import io
import tarfile
from pathlib import Path

from expkit_hdinsight.transfer import extract


def _archive(members: list[tuple[tarfile.TarInfo, bytes]]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        for info, data in members:
            info.size = len(data) if info.isfile() else 0
            tar.addfile(info, io.BytesIO(data) if info.isfile() else None)
    return buf.getvalue()


def _file(name: str) -> tarfile.TarInfo:
    return tarfile.TarInfo(name)


def _link(name: str, target: str, kind: bytes = tarfile.SYMTYPE) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type = kind
    info.linkname = target
    return info


def test_hostile_members_are_left_out_with_a_note(tmp_path: Path) -> None:
    dest = tmp_path / "run" / "outputs"
    data = _archive([
        (_file("outputs/ok.txt"), b"fine\n"),
        (_file("outputs/sub/deep.txt"), b"deep\n"),
        (_file("outputs/../../escape.txt"), b"x"),
        (_link("outputs/etc", "/etc"), b""),
        (_link("outputs/up", "../../.."), b""),
        (_file("elsewhere.txt"), b"not under outputs/"),
    ])  # fmt: skip
    notes: list[str] = []
    found = extract(data, dest, notes.append)
    assert found == ["ok.txt", "sub/deep.txt"]
    assert (dest / "ok.txt").read_text() == "fine\n"
    assert not (tmp_path / "escape.txt").exists() and not (tmp_path.parent / "escape.txt").exists()
    assert not (dest / "etc").exists() and not (dest / "up").exists()
    assert not (dest.parent / "elsewhere.txt").exists()
    assert len(notes) == 3 and all(n.startswith("left out outputs/") for n in notes), notes
