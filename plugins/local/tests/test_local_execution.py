"""LocalExecution on real processes: streaming, exit codes, cancel of the whole tree."""

from __future__ import annotations

import os
import signal
import sys
import textwrap
import time
from pathlib import Path

import pytest
from expkit.streams import MAX_LINE
from expkit.testing import process_alive, wait_gone
from expkit_local import execution
from expkit_local.execution import LocalExecution, exit_status
from local_helpers import Lines


def start(tmp_path: Path, source: str, *args: str) -> LocalExecution:
    script = tmp_path / "s.py"
    script.write_text(textwrap.dedent(source), encoding="utf-8")
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    return LocalExecution([sys.executable, str(script), *args], cwd=str(tmp_path), env=env)


def test_first_line_arrives_while_the_script_still_runs(tmp_path):
    gate = tmp_path / "gate"
    ex = start(
        tmp_path,
        f"""
        import os, time
        print("first")
        while not os.path.exists({str(gate)!r}):  # released by the reader only
            time.sleep(0.01)
        print("second")
    """,
    )
    lines = Lines(triggers={"first": gate.touch})
    assert ex.wait(lines) == 0
    assert lines.seen == ["first\n", "second\n"]


def test_stdout_and_stderr_keep_their_order(tmp_path):
    ex = start(
        tmp_path,
        """
        import sys
        for i in range(50):
            (sys.stdout if i % 2 else sys.stderr).write(f"line {i}\\n")
    """,
    )
    lines = Lines()
    assert ex.wait(lines) == 0
    assert lines.seen == [f"line {i}\n" for i in range(50)]


def test_carriage_returns_and_unterminated_last_line(tmp_path):
    ex = start(
        tmp_path,
        r"""
        import sys
        sys.stdout.write("10%\r50%\r100%\r\ndone")
    """,
    )
    lines = Lines()
    assert ex.wait(lines) == 0
    assert lines.seen == ["10%\r", "50%\r", "100%\r\n", "done"]


def test_a_trailing_carriage_return_is_passed_on_at_once(tmp_path):
    """A progress update reaches the reader before the script writes the next one."""
    gates = [tmp_path / f"gate{i}" for i in range(3)]
    ex = start(
        tmp_path,
        f"""
        import os, sys, time
        for gate in {[str(g) for g in gates]!r}:
            sys.stdout.write("progress\\r")
            sys.stdout.flush()
            deadline = time.time() + 30
            while not os.path.exists(gate):  # opened by the reader only
                if time.time() > deadline:
                    sys.exit(5)
                time.sleep(0.01)
        sys.stdout.write("\\n")
    """,
    )
    opened = iter(gates)
    seen = []

    def on_output(piece):
        seen.append(piece)
        if piece == "progress\r":
            next(opened).touch()

    assert ex.wait(on_output) == 0
    assert seen == ["progress\r"] * 3 + ["\n"]


def test_unfinished_text_is_passed_on_after_a_short_idle(tmp_path):
    gate = tmp_path / "gate"
    ex = start(
        tmp_path,
        f"""
        import os, sys, time
        sys.stdout.write("your name? ")
        sys.stdout.flush()
        deadline = time.time() + 30
        while not os.path.exists({str(gate)!r}) and time.time() < deadline:
            time.sleep(0.01)
        print("ok" if os.path.exists({str(gate)!r}) else "gate never opened")
    """,
    )
    lines = Lines(triggers={"your name?": gate.touch})
    assert ex.wait(lines) == 0
    assert lines.seen == ["your name? ", "ok\n"]


def test_a_huge_single_line_is_fast_and_intact(tmp_path):
    size = 20 << 20
    ex = start(
        tmp_path,
        f"""
        import sys
        sys.stdout.write("é" + "x" * {size} + "\\nend\\n")
    """,
    )
    pieces = []
    started = time.monotonic()
    assert ex.wait(pieces.append) == 0
    took = time.monotonic() - started
    assert "".join(pieces) == "é" + "x" * size + "\nend\n"
    assert took < 10, f"{took:.1f} s for one {size >> 20} MiB line"
    # Bounded memory: a long line is passed on in pieces, never held whole.
    assert len(pieces) > 10 and max(map(len, pieces)) <= MAX_LINE + 65536


def test_unicode_and_undecodable_bytes(tmp_path):
    ex = start(
        tmp_path,
        r"""
        import sys
        sys.stdout.buffer.write("héllo ✓ 日本\n".encode() + b"bad \xff byte\n")
    """,
    )
    lines = Lines()
    assert ex.wait(lines) == 0
    assert lines.seen == ["héllo ✓ 日本\n", "bad \ufffd byte\n"]


@pytest.mark.parametrize("code", [0, 1, 3, 255])
def test_exit_code_is_the_scripts(tmp_path, code):
    assert start(tmp_path, f"raise SystemExit({code})").wait(Lines()) == code


def test_killed_by_a_signal_reports_128_plus_signal(tmp_path):
    ex = start(tmp_path, "import os, signal; os.kill(os.getpid(), signal.SIGKILL)")
    assert ex.wait(Lines()) == 128 + signal.SIGKILL
    assert exit_status(-15) == 143


def test_cancel_stops_the_script_and_its_grandchild(tmp_path):
    pidfile = tmp_path / "child.pid"
    ex = start(
        tmp_path,
        f"""
        import subprocess, sys, time
        child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
        open({str(pidfile)!r}, "w").write(str(child.pid))
        print("ready")
        time.sleep(600)
    """,
    )
    lines = Lines(triggers={"ready": ex.cancel})
    started = time.monotonic()
    code = ex.wait(lines)
    assert code == 128 + signal.SIGTERM
    assert time.monotonic() - started < 10
    assert ex.canceled
    assert wait_gone(int(pidfile.read_text()))
    assert not process_alive(ex.pid)
    ex.cancel()  # idempotent, also after the end


def test_cancel_escalates_to_sigkill(tmp_path, monkeypatch):
    monkeypatch.setattr(execution, "KILL_GRACE", 0.2)
    ex = start(
        tmp_path,
        """
        import signal, time
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        print("ready")
        time.sleep(600)
    """,
    )
    code = ex.wait(Lines(triggers={"ready": ex.cancel}))
    assert code == 128 + signal.SIGKILL


def test_leftover_background_process_does_not_keep_the_run_open(tmp_path):
    pidfile = tmp_path / "bg.pid"
    ex = start(
        tmp_path,
        f"""
        import subprocess, sys
        bg = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
        open({str(pidfile)!r}, "w").write(str(bg.pid))
        print("bye")
    """,
    )
    started = time.monotonic()
    assert ex.wait(Lines()) == 0
    assert time.monotonic() - started < execution.LINGER + 5
    assert wait_gone(int(pidfile.read_text()))


def test_stdin_is_closed(tmp_path):
    ex = start(tmp_path, "import sys; print(repr(sys.stdin.read()))")
    lines = Lines()
    assert ex.wait(lines) == 0
    assert lines.seen == ["''\n"]
