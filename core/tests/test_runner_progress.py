"""Progress displays: live on a terminal, plain timestamped lines elsewhere and in CI."""

from __future__ import annotations

import io
import re

import pytest
from expkit.progress import LiveProgress, NullProgress, PlainProgress, close_progress, make_progress


class FakeTerminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_plain_lines_when_not_a_terminal(monkeypatch) -> None:
    monkeypatch.delenv("CI", raising=False)
    stream = io.StringIO()
    progress = make_progress(stream)
    assert isinstance(progress, PlainProgress)
    progress.step("building system layer")
    progress.line("Collecting numpy\n")
    for done in range(0, 101, 5):
        progress.advance(done, 100)
    close_progress(progress)
    lines = stream.getvalue().splitlines()
    assert re.fullmatch(r"\[\d\d:\d\d:\d\d\] building system layer", lines[0])
    assert lines[1].endswith("]   | Collecting numpy")
    assert [line.split("] ")[1] for line in lines[2:]] == [f"  {p}%" for p in range(0, 101, 10)]
    assert "\r" not in stream.getvalue() and "\x1b" not in stream.getvalue()


@pytest.mark.parametrize("ci", ["true", "1"])
def test_ci_gets_plain_lines_even_on_a_terminal(monkeypatch, ci: str) -> None:
    monkeypatch.setenv("CI", ci)
    assert isinstance(make_progress(FakeTerminal()), PlainProgress)


def test_live_display_on_a_terminal(monkeypatch) -> None:
    monkeypatch.delenv("CI", raising=False)
    monkeypatch.setenv("TERM", "xterm")
    stream = FakeTerminal()
    progress = make_progress(stream)
    assert isinstance(progress, LiveProgress)
    progress.step("building system layer")
    progress.line("Solving environment")
    progress.advance(1, 2)
    progress.step("building pip layer [numpy[extra]]")
    close_progress(progress)
    text = stream.getvalue()
    # Finished steps stay on screen with their duration.
    assert re.search(r"building system layer .*\(\d+\.\ds\)", text)
    assert re.search(r"building pip layer \[numpy\[extra\]\] .*\(\d+\.\ds\)", text)


def test_nothing_is_imported_or_drawn_until_something_is_reported(monkeypatch) -> None:
    monkeypatch.delenv("CI", raising=False)
    stream = FakeTerminal()
    progress = make_progress(stream)
    close_progress(progress)
    assert stream.getvalue() == ""


def test_null_progress_and_closing_anything() -> None:
    progress = NullProgress()
    progress.step("x")
    progress.line("y")
    progress.advance(1)
    close_progress(progress)
    close_progress(object())  # a plugin's own Progress without close()
