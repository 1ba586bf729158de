"""The run history: records, numbering under concurrency, lookups, lost runs, metrics."""

from __future__ import annotations

import dataclasses
import json
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from expkit.errors import ConfigError, UsageError
from expkit.history import History, from_dict, list_outputs, read_metrics, to_dict
from expkit.history.owner import Owner, current, is_alive


@pytest.fixture
def history(tmp_path: Path):
    with History(tmp_path) as opened:
        yield opened


def test_create_numbers_and_record_json(history: History, record_fields: list[str]) -> None:
    first = history.create(
        target="local", runconfig="local", script="train.py", args=["--lr", "0.1"]
    )
    second = history.create(target="docker", runconfig="docker", script="train.py")
    assert (first.number, second.number) == (1, 2)
    assert first.status == "preparing" and first.started is not None
    assert first.id < second.id  # ids sort by creation time
    on_disk = json.loads((history.run_dir(first.id) / "record.json").read_text())
    assert sorted(on_disk) == sorted(record_fields)
    assert on_disk["args"] == ["--lr", "0.1"] and on_disk["status"] == "preparing"
    assert (history.store / ".gitignore").read_text() == "*\n"


def test_json_shape_is_exactly_the_record_fields(
    history: History, record_fields: list[str]
) -> None:
    record = history.create(target="local", runconfig="local", script="s.py")
    record = history.save(
        dataclasses.replace(
            record,
            status="completed",
            metrics={"acc": 0.9},
            series={"acc": (0.5, 0.9)},
            outputs=("model.pkl",),
            packages=("numpy==2.0",),
            exit_code=0,
        )
    )
    data = to_dict(record)
    assert list(data) == record_fields
    assert json.loads(json.dumps(data)) == data
    assert from_dict(data) == record
    assert to_dict(history.get(record.id)) == data


def test_lookup_by_number_id_and_prefix(history: History) -> None:
    runs = [history.create(target="local", runconfig="local", script="s.py") for _ in range(3)]
    assert history.get("2").id == runs[1].id
    assert history.get(runs[2].id).number == 3
    assert history.get(runs[0].id[:-1]).id == runs[0].id  # unique thanks to the random suffix
    with pytest.raises(UsageError, match="ambiguous") as info:
        history.get(runs[0].id[:8])  # the date: every run matches
    assert all(r.id in str(info.value) for r in runs)
    with pytest.raises(UsageError, match="no run '7'"):
        history.get("7")
    with pytest.raises(UsageError, match="no run 'zzz'"):
        history.get("zzz")


def test_list_filters_and_order(history: History) -> None:
    for target, status in [("local", "completed"), ("docker", "failed"), ("local", "failed")]:
        record = history.create(target=target, runconfig=target, script="s.py")
        history.save(dataclasses.replace(record, status=status))
    assert [r.number for r in history.list()] == [3, 2, 1]
    assert [r.number for r in history.list(status="failed")] == [3, 2]
    assert [r.number for r in history.list(target="local")] == [3, 1]
    assert [r.number for r in history.list(last=2)] == [3, 2]
    with pytest.raises(ConfigError, match="did you mean 'failed'"):
        history.list(status="faild")


def test_lost_index_is_rebuilt_from_run_folders(tmp_path: Path) -> None:
    with History(tmp_path) as history:
        record = history.create(target="local", runconfig="local", script="s.py")
        history.save(dataclasses.replace(record, status="completed", exit_code=0))
    for name in ("index.sqlite", "index.sqlite-wal", "index.sqlite-shm"):
        (tmp_path / ".exp" / name).unlink(missing_ok=True)
    with History(tmp_path) as history:
        assert history.get("1").status == "completed"
        assert history.create(target="local", runconfig="local", script="s.py").number == 2


CREATE_MANY = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    from expkit.history import History
    with History(Path(sys.argv[1])) as history:
        for _ in range(int(sys.argv[2])):
            history.create(target="local", runconfig="local", script="s.py")
    """
)


def test_concurrent_processes_never_share_a_number(tmp_path: Path) -> None:
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", CREATE_MANY, str(tmp_path), "25"],
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(3)
    ]
    for proc in procs:
        _, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
    with History(tmp_path) as history:
        records = history.list()
    assert sorted(r.number for r in records) == list(range(1, 76))
    assert len({r.id for r in records}) == 75
    for record in records:
        assert (
            json.loads((tmp_path / ".exp/runs" / record.id / "record.json").read_text())["number"]
            == record.number
        )


OWN_A_RUN = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from expkit.history import History
    history = History(Path(sys.argv[1]))
    record = history.create(target="local", runconfig="local", script="s.py")
    (history.run_dir(record.id) / "metrics.jsonl").write_text('{"name": "loss", "value": 1.5}\\n')
    print(record.id, flush=True)
    time.sleep(600)
    """
)


def test_run_of_a_killed_owner_is_marked_lost(tmp_path: Path) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-c", OWN_A_RUN, str(tmp_path)], stdout=subprocess.PIPE, text=True
    )
    try:
        run_id = proc.stdout.readline().strip()
        with History(tmp_path) as history:
            assert history.reap_lost() == []  # the owner is alive: still preparing
            assert history.get(run_id).status == "preparing"
            proc.send_signal(signal.SIGKILL)
            proc.wait(timeout=30)
            [reaped] = history.reap_lost()
            assert reaped.id == run_id
            record = history.get(run_id)
    finally:
        proc.kill()
        proc.wait()
    assert record.status == "failed" and record.error == "lost"
    assert record.ended is not None and record.metrics == {"loss": 1.5}
    on_disk = json.loads((tmp_path / ".exp/runs" / run_id / "record.json").read_text())
    assert on_disk["status"] == "failed" and on_disk["error"] == "lost"


def test_reused_pid_does_not_keep_a_run_alive(history: History) -> None:
    me = current()
    assert is_alive(me)
    assert not is_alive(Owner(me.pid, me.host, start="1"))  # same pid, another process start
    assert is_alive(Owner(me.pid, "another-host", start="1"))  # cannot tell: assume alive
    record = history.create(target="local", runconfig="local", script="s.py")
    assert history.reap_lost() == []
    history.conn.execute("UPDATE runs SET owner_start = '1' WHERE id = ?", (record.id,))
    assert [r.id for r in history.reap_lost()] == [record.id]


def test_finished_runs_are_never_reaped(history: History) -> None:
    record = history.create(target="local", runconfig="local", script="s.py")
    history.save(dataclasses.replace(record, status="completed"))
    history.conn.execute("UPDATE runs SET owner_pid = 999999999 WHERE id = ?", (record.id,))
    assert history.reap_lost() == []
    assert history.get("1").status == "completed"


def test_read_metrics(tmp_path: Path) -> None:
    path = tmp_path / "metrics.jsonl"
    lines = [
        {"name": "acc", "value": 0.5, "time": 1},
        {"name": "loss", "value": [3, 2, 1], "time": 2},
        {"name": "acc", "value": 0.75, "time": 3},
        {"name": "note", "value": "hé", "time": 4},
    ]
    text = (
        "\n".join(json.dumps(line) for line in lines) + "\nnot json\n[1]\n" + '{"name": "acc", "val'
    )
    path.write_text(text, encoding="utf-8")
    metrics, series = read_metrics(path)
    assert metrics == {"acc": 0.75, "loss": [3, 2, 1], "note": "hé"}
    assert series == {"acc": (0.5, 0.75), "loss": ([3, 2, 1],), "note": ("hé",)}
    assert read_metrics(tmp_path / "missing.jsonl") == ({}, {})


def test_list_outputs(tmp_path: Path) -> None:
    (tmp_path / "out/sub").mkdir(parents=True)
    (tmp_path / "out/b.txt").write_text("")
    (tmp_path / "out/sub/a.txt").write_text("")
    assert list_outputs(tmp_path / "out") == ("b.txt", "sub/a.txt")
    assert list_outputs(tmp_path / "none") == ()


def test_list_outputs_lists_regular_files_only(tmp_path: Path) -> None:
    """Links are neither listed nor followed: the list is what `exp runs download` writes."""
    out = tmp_path / "out"
    (out / "sub").mkdir(parents=True)
    (out / "sub/a.txt").write_text("a")
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "elsewhere/secret.txt").write_text("s")
    os.symlink(tmp_path / "elsewhere", out / "dirlink")
    os.symlink("sub/a.txt", out / "filelink")
    os.symlink("/etc/passwd", out / "passwd")
    os.mkfifo(out / "fifo")
    assert list_outputs(out) == ("sub/a.txt",)
    os.symlink(out, tmp_path / "outlink")
    assert list_outputs(tmp_path / "outlink") == ()


def test_records_with_undecodable_names_are_stored_and_read_back(history: History) -> None:
    """A name that is not valid UTF-8 (held as lone surrogates) survives the index and
    record.json byte for byte."""
    name = os.fsdecode(b"model_\xff.bin")
    record = history.create(target="local", runconfig="local", script="s.py", args=[name])
    record = history.save(dataclasses.replace(record, status="completed", outputs=(name,)))
    again = history.get(record.id)
    assert os.fsencode(again.outputs[0]) == b"model_\xff.bin" and again.args == (name,)
    on_disk = json.loads((history.run_dir(record.id) / "record.json").read_bytes())
    assert os.fsencode(on_disk["outputs"][0]) == b"model_\xff.bin"


def test_rebuilt_index_keeps_the_owner_of_active_runs(tmp_path: Path) -> None:
    """Deleting the index while a run is active must not make the run look lost."""
    with History(tmp_path) as history:
        record = history.create(target="local", runconfig="local", script="s.py")
        owner = history.owner_of(record.id)
    assert owner == current()
    for name in ("index.sqlite", "index.sqlite-wal", "index.sqlite-shm"):
        (tmp_path / ".exp" / name).unlink(missing_ok=True)
    with History(tmp_path) as history:
        assert history.owner_of(record.id) == owner
        assert history.reap_lost() == []
        assert history.get(record.id).status == "preparing"


def test_rebuilt_run_without_any_owner_is_never_reaped(tmp_path: Path) -> None:
    with History(tmp_path) as history:
        record = history.create(target="local", runconfig="local", script="s.py")
    (tmp_path / ".exp/runs" / record.id / "owner.json").unlink()
    (tmp_path / ".exp/index.sqlite").unlink()
    with History(tmp_path) as history:
        assert history.owner_of(record.id) is None
        assert history.reap_lost() == []
        assert history.get(record.id).status == "preparing"


def test_rebuilt_run_of_a_dead_owner_is_still_reaped(tmp_path: Path) -> None:
    with History(tmp_path) as history:
        record = history.create(target="local", runconfig="local", script="s.py")
    owner_file = tmp_path / ".exp/runs" / record.id / "owner.json"
    data = json.loads(owner_file.read_text())
    owner_file.write_text(json.dumps({**data, "start": "1"}))  # another process's start time
    (tmp_path / ".exp/index.sqlite").unlink()
    with History(tmp_path) as history:
        assert [r.id for r in history.reap_lost()] == [record.id]


def test_the_end_of_a_run_reaches_an_index_replaced_under_it(tmp_path: Path) -> None:
    """A run's exp writes its final record into the index that exists now, not into
    the deleted file its connection opened."""
    with History(tmp_path) as running:
        record = running.create(target="local", runconfig="local", script="s.py")
        running.save(dataclasses.replace(record, status="running"))
        for name in ("index.sqlite", "index.sqlite-wal", "index.sqlite-shm"):
            (tmp_path / ".exp" / name).unlink(missing_ok=True)
        with History(tmp_path) as other:
            assert other.get(record.id).status == "running"  # rebuilt, owner alive
            running.save(dataclasses.replace(record, status="completed", exit_code=0))
            assert other.get(record.id).status == "completed"


def test_a_run_whose_end_only_reached_record_json_is_not_marked_lost(tmp_path: Path) -> None:
    with History(tmp_path) as history:
        record = history.create(target="local", runconfig="local", script="s.py")
        history.conn.execute("UPDATE runs SET owner_start = '1' WHERE id = ?", (record.id,))
        done = dataclasses.replace(record, status="completed", exit_code=0)
        history._write_record(done)  # its exp wrote record.json, then lost the index
        assert history.reap_lost() == []
        assert history.get(record.id).status == "completed"


def test_owner_start_time_is_read_from_proc() -> None:
    if not os.path.exists("/proc/self/stat"):
        pytest.skip("no /proc")
    me = current()
    assert me.pid == os.getpid() and me.start.isdigit()


def test_reading_an_empty_history_creates_nothing(tmp_path: Path) -> None:
    with History(tmp_path) as history:
        assert history.list() == [] and history.reap_lost() == []
        with pytest.raises(UsageError, match="no run '1'"):
            history.get("1")
    assert not (tmp_path / ".exp").exists()
