"""expkit.streams.LineSplitter: the on_output contract every target meets.

Whole lines, a trailing ``\\r`` at once, unfinished text after a short idle,
long lines in bounded pieces, characters never cut, bytes never lost, and
linear in the output. Idle behaviour runs on a fake clock: no sleeps.
"""

from __future__ import annotations

import time

import pytest
from expkit.streams import IDLE_S, MAX_LINE, LineSplitter


class Clock:
    """A monotonic clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _splitter(**kw) -> tuple[list[str], LineSplitter, Clock]:
    seen: list[str] = []
    clock = Clock()
    return seen, LineSplitter(seen.append, clock=clock, **kw), clock


def split(chunks, **kw) -> list[str]:
    seen, lines, _clock = _splitter(**kw)
    for chunk in chunks:
        lines.feed(chunk)
    lines.close()
    return seen


# --------------------------------------------------------------------------- line ends


def test_lines_stay_whole_across_reads_and_bytes_stay_exact():
    chunks = (b"hel", b"lo\nwor", b"ld\r", b"\n50%\r60%\r", b"a\r\nb\n", b"tail")
    seen = split(chunks)
    # A "\r" is passed on at once; the "\n" opening the next read follows by itself,
    # so what the log and the terminal receive is exactly what the script wrote.
    assert seen == ["hello\n", "world\r", "\n", "50%\r", "60%\r", "a\r\n", "b\n", "tail"]
    assert "".join(seen) == b"".join(chunks).decode()


def test_line_ends_in_any_chunking():
    data = b"a\nb\r\nc\rd\n\ne"
    assert split([data]) == ["a\n", "b\r\n", "c\r", "d\n", "\n", "e"]
    for cut in range(1, len(data)):
        pieces = split([data[:cut], data[cut:]])
        assert "".join(pieces) == data.decode()  # never a byte lost, added or reordered
    # A \r\n cut between its bytes: the \r goes on at once, its \n follows alone.
    assert split([b"50%\r", b"\ndone\n"]) == ["50%\r", "\n", "done\n"]


def test_only_cr_and_lf_end_a_line():
    # Form feed, vertical tab, file separator, NEL: str.splitlines would cut there.
    data = "a\x0bb\x0cc\x1cd\x85e\n".encode()
    assert split([data]) == ["a\x0bb\x0cc\x1cd\x85e\n"]


def test_a_progress_update_ending_in_cr_is_passed_on_at_once():
    seen, lines, _clock = _splitter()
    lines.feed(b"epoch 1: 10%\r")
    assert seen == ["epoch 1: 10%\r"]
    lines.feed(b"epoch 1: 20%\r")
    assert seen[-1] == "epoch 1: 20%\r"


# --------------------------------------------------------------------------- idle


def test_flush_passes_on_an_unfinished_line_when_the_stream_goes_quiet():
    seen, lines, _clock = _splitter()
    lines.feed(b"\rbar 50%")  # tqdm's style: the "\r" first, the bar's text unended
    assert seen == ["\r"]
    lines.flush()
    assert seen == ["\r", "bar 50%"]
    lines.flush()  # nothing new: nothing passed on
    lines.feed(b"\rbar 60%")
    lines.close()
    assert seen == ["\r", "bar 50%", "\r", "bar 60%"]


def test_unfinished_text_waits_at_most_the_idle_time():
    seen, lines, clock = _splitter()
    assert lines.timeout(0.25) == 0.25  # nothing held: block as long as the reader likes
    lines.feed(b"your name? ")
    assert seen == []
    assert lines.timeout(0.25) == pytest.approx(IDLE_S)
    clock.now += IDLE_S / 2
    assert lines.timeout(0.25) == pytest.approx(IDLE_S / 2)
    lines.flush_if_due()
    assert seen == []  # not due yet
    clock.now += IDLE_S
    assert lines.timeout(0.25) == 0.0
    lines.flush_if_due()
    assert seen == ["your name? "]
    assert lines.timeout(0.25) == 0.25
    lines.feed(b"ok\n")  # the rest of the line follows as a piece of its own
    assert seen == ["your name? ", "ok\n"]


def test_a_trickle_without_line_ends_is_passed_on_while_it_flows():
    # A dot every 1/16 s never leaves the stream quiet; the dots still show up,
    # each piece once its oldest dot waited the idle time (1/4 s here).
    seen, lines, clock = _splitter(idle=0.25)
    for _ in range(12):
        lines.feed(b".")
        clock.now += 0.0625
    assert seen == [".....", "....."]
    lines.close()
    assert seen == [".....", ".....", ".."]


def test_the_idle_time_is_the_oldest_bytes_wait():
    seen, lines, clock = _splitter(idle=1.0)
    lines.feed(b"a")
    clock.now += 0.75
    lines.feed(b"b")  # arriving later does not restart the wait of "a"
    assert lines.timeout(5.0) == 0.25
    clock.now += 0.25
    lines.flush_if_due()
    assert seen == ["ab"]


# --------------------------------------------------------------------------- characters


def test_a_character_cut_by_a_read_or_a_flush_is_never_mangled():
    seen, lines, _clock = _splitter()
    snow = "☃".encode()
    lines.feed(b"a" + snow[:1])
    lines.flush()  # the cut character waits for its remaining bytes
    lines.feed(snow[1:] + b"b\n\xff\n")
    lines.close()
    assert "".join(seen) == "a☃b\n\ufffd\n"
    assert "\ufffd" not in "".join(seen[:-1])


def test_a_character_cut_by_the_size_bound_is_not_garbled():
    pieces = split([b"ab", "é".encode()[:1], "é".encode()[1:] + b"cd\n"], max_line=3)
    assert pieces == ["ab", "écd\n"]  # "ab" + half an "é" reached the bound


def test_an_incomplete_character_at_the_end_becomes_a_replacement_character():
    assert "".join(split([b"ok " + "☃".encode()[:2]])) == "ok \ufffd"


# --------------------------------------------------------------------------- size


def test_a_20_mib_line_arrives_whole_in_bounded_pieces_and_fast():
    seen, lines, _clock = _splitter()
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
    # Linear: re-joining the pending line on every read took ~14 s here (quadratic).
    assert elapsed < 3.0, f"{elapsed:.1f} s for a 20 MiB line"


def test_many_short_lines_are_fast():
    line = b"epoch 12 step 3456 loss 0.123456 acc 0.987\n"
    chunk = line * (65536 // len(line))
    seen, lines, _clock = _splitter()
    started = time.perf_counter()
    for _ in range(320):  # ~20 MiB
        lines.feed(chunk)
    lines.close()
    elapsed = time.perf_counter() - started
    assert len(seen) == 320 * (65536 // len(line)) and set(seen) == {line.decode()}
    assert elapsed < 3.0, f"{elapsed:.1f} s for 20 MiB of short lines"
