"""A damaged history through the real CLI: the run folders are the truth.

A truncated or scribbled ``.exp/index.sqlite`` is set aside and rebuilt from
the records with a note; one bad index row or one bad ``record.json`` is
skipped (or read from its folder) with a warning naming it, never failing the
whole list; run numbers are never handed out twice, even after the newest
run's folder was lost and the index rebuilt.
"""

from __future__ import annotations

import json
import sqlite3

import pytest
from local_e2e import run_record, runs_list


def _three_runs(project) -> list[dict]:
    project.write("job.py", "import sys\nprint('job', sys.argv[1:])\n")
    for n in range(3):
        result = project.exp("run", "-c", "local", "job.py", str(n))
        assert result.returncode == 0, result.output
    records = runs_list(project)
    assert [r["number"] for r in records] == [3, 2, 1]
    return records


def _index(project):
    return project.root / ".exp" / "index.sqlite"


def _truncate(path):
    size = path.stat().st_size
    assert size > 8192, "the index should span several pages"
    with open(path, "r+b") as handle:
        handle.truncate(size // 2 + 100)


def _scribble_header(path):
    with open(path, "r+b") as handle:
        handle.write(b"this is not sqlite at all, it was scribbled over!!!" * 2)


def _scribble_pages(path):
    with open(path, "r+b") as handle:
        handle.seek(4096)
        handle.write(bytes(range(256)) * 32)


@pytest.mark.parametrize("damage", [_truncate, _scribble_header, _scribble_pages])
def test_damaged_index_is_set_aside_and_rebuilt_from_the_records(local_project, damage):
    before = _three_runs(local_project)
    damage(_index(local_project))

    listed = local_project.exp("runs", "list", "--json")
    assert listed.returncode == 0, listed.output
    assert "Traceback" not in listed.output
    assert json.loads(listed.stdout) == before
    assert "damaged" in listed.stderr and "rebuilt from 3 run record" in listed.stderr
    aside = list((local_project.root / ".exp").glob("index.sqlite.damaged-*"))
    assert len(aside) == 1 and aside[0].name in listed.stderr

    # A note once: the rebuilt index is healthy.
    again = local_project.exp("runs", "list")
    assert again.returncode == 0 and "damaged" not in again.stderr
    ran = local_project.exp("run", "-c", "local", "job.py", "x")
    assert ran.returncode == 0, ran.output
    assert run_record(local_project, "4")["args"] == ["x"]


def test_damaged_index_during_exp_run_is_rebuilt_too(local_project):
    _three_runs(local_project)
    _scribble_header(_index(local_project))
    ran = local_project.exp("run", "-c", "local", "job.py", "y")
    assert ran.returncode == 0, ran.output
    assert "damaged" in ran.stderr
    assert [r["number"] for r in runs_list(local_project)] == [4, 3, 2, 1]


def _set_row(project, number: int, record_text: str) -> None:
    with sqlite3.connect(_index(project)) as conn:
        conn.execute("UPDATE runs SET record = ? WHERE number = ?", (record_text, number))
    conn.close()


def test_bad_row_is_read_from_its_record_with_a_warning(local_project):
    before = _three_runs(local_project)
    _set_row(local_project, 2, "{not json")
    listed = local_project.exp("runs", "list", "--json")
    assert listed.returncode == 0, listed.output
    assert json.loads(listed.stdout) == before
    assert f"run {before[1]['id']}" in listed.stderr and "index row" in listed.stderr
    assert run_record(local_project, "2") == before[1]


def test_bad_row_and_bad_record_skip_only_that_run(local_project):
    before = _three_runs(local_project)
    _set_row(local_project, 2, '{"id": 5}')
    bad = local_project.root / ".exp" / "runs" / before[1]["id"] / "record.json"
    bad.write_text("{truncated", encoding="utf-8")
    listed = local_project.exp("runs", "list", "--json")
    assert listed.returncode == 0, listed.output
    assert [r["number"] for r in json.loads(listed.stdout)] == [3, 1]
    assert before[1]["id"] in listed.stderr and "skipped" in listed.stderr
    table = local_project.exp("runs", "list")
    assert table.returncode == 0 and "Traceback" not in table.output
    shown = local_project.exp("runs", "show", "2")
    assert shown.returncode == 2 and "Traceback" not in shown.output


def test_bad_record_is_skipped_when_rebuilding(local_project):
    before = _three_runs(local_project)
    bad = local_project.root / ".exp" / "runs" / before[0]["id"] / "record.json"
    bad.write_bytes(b"\x00\xff garbage")
    _index(local_project).unlink()
    listed = local_project.exp("runs", "list", "--json")
    assert listed.returncode == 0, listed.output
    assert [r["number"] for r in json.loads(listed.stdout)] == [2, 1]
    assert str(bad.relative_to(local_project.root)) in listed.stderr
    assert "skipped" in listed.stderr


def test_run_numbers_are_never_reused_after_a_lost_record(local_project):
    import shutil

    before = _three_runs(local_project)
    shutil.rmtree(local_project.root / ".exp" / "runs" / before[0]["id"])
    _index(local_project).unlink()
    assert [r["number"] for r in runs_list(local_project)] == [2, 1]
    ran = local_project.exp("run", "-c", "local", "job.py", "again")
    assert ran.returncode == 0, ran.output
    assert [r["number"] for r in runs_list(local_project)] == [4, 2, 1]
