"""Container output as lines (expkit_docker.lines): whole, live, and linear in the output."""

from __future__ import annotations

import time

from expkit_docker.lines import MAX_LINE, LineSplitter


def _splitter() -> tuple[list[str], LineSplitter]:
    seen: list[str] = []
    return seen, LineSplitter(seen.append)


def test_lines_stay_whole_across_frames_and_bytes_stay_exact():
    seen, lines = _splitter()
    chunks = (b"hel", b"lo\nwor", b"ld\r", b"\n50%\r60%\r", b"a\r\nb\n", b"tail")
    for chunk in chunks:
        lines.feed(chunk)
    lines.close()
    # A "\r" is passed on at once; the "\n" opening the next frame follows by itself,
    # so what the log and the terminal receive is exactly what the script wrote.
    assert seen == ["hello\n", "world\r", "\n", "50%\r", "60%\r", "a\r\n", "b\n", "tail"]
    assert "".join(seen) == b"".join(chunks).decode()


def test_a_progress_update_ending_in_cr_is_passed_on_at_once():
    seen, lines = _splitter()
    lines.feed(b"epoch 1: 10%\r")
    assert seen == ["epoch 1: 10%\r"]
    lines.feed(b"epoch 1: 20%\r")
    assert seen[-1] == "epoch 1: 20%\r"


def test_flush_passes_on_an_unfinished_line_when_the_stream_goes_quiet():
    seen, lines = _splitter()
    lines.feed(b"\rbar 50%")  # tqdm's style: the "\r" first, the bar's text unended
    assert seen == ["\r"]
    lines.flush()
    assert seen == ["\r", "bar 50%"]
    lines.flush()  # nothing new: nothing passed on
    lines.feed(b"\rbar 60%")
    lines.close()
    assert seen == ["\r", "bar 50%", "\r", "bar 60%"]


def test_a_character_cut_by_a_frame_or_a_flush_is_never_mangled():
    seen, lines = _splitter()
    snow = "☃".encode()
    lines.feed(b"a" + snow[:1])
    lines.flush()  # the cut character waits for its remaining bytes
    lines.feed(snow[1:] + b"b\n\xff\n")
    lines.close()
    assert "".join(seen) == "a☃b\n\ufffd\n"
    assert "\ufffd" not in "".join(seen[:-1])


def test_a_20_mib_line_arrives_whole_in_bounded_pieces_and_fast():
    seen, lines = _splitter()
    frame = bytes(range(33, 127)) * 170  # ~16 KiB, no line end
    total = 20 * 1024 * 1024
    count = total // len(frame) + 1
    started = time.perf_counter()
    for _ in range(count):
        lines.feed(frame)
    lines.feed(b"\n")
    lines.close()
    elapsed = time.perf_counter() - started
    text = "".join(seen)
    assert len(text) == count * len(frame) + 1 and text.endswith("\n")
    assert text[: len(frame)] == frame.decode()
    # Passed on once the bound is reached, not held until the newline.
    assert len(seen) > 1 and all(len(piece) < MAX_LINE + len(frame) for piece in seen)
    # Linear: re-joining the pending line on every frame took ~14 s here (quadratic).
    assert elapsed < 3.0, f"{elapsed:.1f} s for a 20 MiB line"
