"""The runs table read column by column (expkit.history.columns, expkit.history.table,
expkit.cli.textview): the same columns, cells and cuts as one run at a time, on
awkward data."""

from __future__ import annotations

import dataclasses
import json
import math
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from expkit.cli.textview import cell, cells, column_lines, fit, table_lines
from expkit.history import History
from expkit.history import table as runs_table
from expkit.history.columns import READ_FIELDS, RunColumns, table_columns
from expkit.history.params import REDACTED
from expkit.history.query import SUMMARY_TABLE, Summary, summaries
from expkit.model import frozen_map

#: Parameters of eight runs (oldest first): missing, null, 1 / 1.0 / True / "1", lists,
#: maps in two key orders, floats one ulp apart, -0.0 and 0.0, huge ints, escapes.
PARAMS: list[dict[str, Any]] = [
    {"a": 1, "b": 1, "c": None, "d": "x", "e": [1, 2], "pw": REDACTED, "\x1b]0;t\x07k": "v\x1b[2J"},
    {"a": 1.0, "b": 1, "d": "x", "e": [1, 2], "pw": REDACTED, "f": True},
    {"a": True, "b": 1, "c": None, "d": "x", "e": {"k": 1}, "pw": REDACTED, "f": 1},
    {"a": "1", "b": 1, "d": "x", "e": [1, 2], "pw": REDACTED, "g": None, "h": 0.1 + 0.2},
    {"b": 1, "d": "x", "e": [1, 2], "pw": REDACTED, "h": 0.3, "big": 10**20},
    {"b": 1, "d": "x", "e": [1, 2], "pw": REDACTED, "big": 10**20 + 1, "n": {"b": 2, "a": 1}},
    {"b": 1, "d": "x", "e": [1, 2], "pw": REDACTED, "n": {"a": 1, "b": 2}, "z": -0.0},
    {"b": 1, "d": "x", "e": [1, 2], "pw": REDACTED, "z": 0.0, "tiny": 1e-9, "huge": 123456.0},
]
METRICS: list[dict[str, Any]] = [
    {"acc": 0.5, "loss": [1, 2], "m\x1b[31m": 1},
    {"acc": 0.6, "loss": 0.2, "only_old": 3},
    {"acc": None, "loss": 0.1, "x": {"a": 1}},
    {"acc": 1, "big": 1e300, "neg": -12345.678},
    {},
    {"acc": 0.99999},
    {"acc": 12345.6, "later": 1, "first": 2},
    {"first": 1e-05, "later": 2},
]


def _varying_one_run_at_a_time(rows: list[Summary]) -> list[str]:
    """The definition: a parameter varies unless every run has the same (type, value)."""
    names: dict[str, None] = {}
    for r in rows:
        for n in r.params:
            names.setdefault(n)
    out = []
    for n in names:
        values = [r.params.get(n) for r in rows]
        try:
            same = len({(type(v), v) for v in values}) <= 1
        except TypeError:
            same = len({repr(v) for v in values}) <= 1
        if not same:
            out.append(n)
    return out


def _metrics_one_run_at_a_time(rows: list[Summary]) -> list[str]:
    counts: dict[str, int] = {}
    for r in rows:
        for n, v in r.metrics.items():
            if not isinstance(v, (list, dict)):
                counts[n] = counts.get(n, 0) + 1
    return sorted(counts, key=lambda n: -counts[n])


@pytest.fixture
def history(tmp_path: Path):
    with History(tmp_path) as opened:
        for i, (params, metrics) in enumerate(zip(PARAMS, METRICS, strict=True)):
            record = opened.create(
                target="local" if i % 3 else "docker",
                runconfig="local",
                script="t.py" if i < 6 else "u\x1b[1m.py",
                args=["--x", str(i)],
            )
            opened.save(
                dataclasses.replace(
                    record,
                    status="completed" if i % 2 else "failed",
                    exit_code=0,
                    duration_s=[0.5, 61, 3700, None, 2, 3, 4, 5][i],
                    name=None if i % 3 else f"n\x1b[0m{i}",
                    tags=frozen_map({"team": "ab"[i % 2]} if i % 4 else {"o": "\x1b]8;;x\x07"}),
                    params=frozen_map(params),
                    metrics=frozen_map(metrics),
                )
            )
        yield opened


def _same_fields(runs: RunColumns, rows: list[Summary]) -> None:
    assert len(runs) == len(rows)
    # The arguments are read when asked for, or when the runs ran different scripts.
    fields = READ_FIELDS if len({r.script for r in rows}) > 1 else READ_FIELDS - {"args"}
    for field in fields:
        got, want = list(runs.field(field)), [getattr(r, field) for r in rows]
        assert json.dumps(got) == json.dumps(want), field  # also tells 1 from 1.0 and True


@pytest.mark.parametrize(
    ("where", "limit"),
    [({}, None), ({}, 3), ({"status": "failed"}, None), ({"target": "docker"}, 1)],
)
def test_columns_read_from_the_index_are_the_summaries(history: History, where, limit) -> None:
    runs, total = table_columns(history, limit=limit, **where)
    rows = summaries(history, **where)
    assert total == len(rows)
    _same_fields(runs, rows[:limit])
    runs, _ = table_columns(history, limit=limit, args=True, **where)
    assert list(runs.field("args")) == [r.args for r in rows[:limit]]


def test_varying_params_and_metric_names_match_the_definition(history: History) -> None:
    rows = summaries(history)
    for listed in (rows, rows[:1], rows[:2], rows[2:5], rows[::2], []):
        runs = RunColumns.of(listed)
        assert runs_table.varying_params(runs) == _varying_one_run_at_a_time(listed)
        assert runs_table.metric_names(runs) == _metrics_one_run_at_a_time(listed)
    varying = runs_table.varying_params(RunColumns.of(rows))
    # A secret recorded as the same placeholder never varies; null and missing are alike.
    assert "pw" not in varying and "b" not in varying and "c" not in varying
    assert {"a", "e", "h", "big", "n", "z", "\x1b]0;t\x07k"} <= set(varying)
    # Ties keep the order first seen as a scalar: newest run first, then the run's order.
    assert runs_table.metric_names(RunColumns.of(rows))[:3] == ["acc", "first", "later"]


def _value(summary: Summary, name: str) -> Any:
    """The definition: what a name in --filter, --sort or --columns means for one run."""
    field = runs_table.FIELDS.get(name)
    if field is not None:
        return getattr(summary, field)
    head, dot, rest = name.partition(".")
    if dot and head in ("tag", "param", "metric"):
        return getattr(summary, {"tag": "tags", "param": "params", "metric": "metrics"}[head]).get(
            rest
        )
    return summary.params[name] if name in summary.params else summary.metrics.get(name)


def _pick_one_run_at_a_time(rows: list[Summary], test, keys) -> list[Summary]:
    """The definition: filter each run, then a stable sort per key (last key first),
    runs without the value last in either direction."""
    if test is not None:
        rows = [r for r in rows if test.matches(lambda name, r=r: _value(r, name))]
    for name, descending in reversed(keys):
        present = [r for r in rows if _value(r, name) is not None]
        missing = [r for r in rows if _value(r, name) is None]
        present.sort(key=lambda r: runs_table._sort_key(_value(r, name)), reverse=descending)
        rows = present + missing
    return rows


@pytest.mark.parametrize(
    ("expression", "sort"),
    [
        (None, "acc"),
        (None, "-acc"),
        (None, "a,-took"),
        (None, "-status,param.h,name"),
        ("acc > 0.55", None),
        ('a == 1 or d ~ "x"', "-run"),
        ("not acc", "tag.team,-acc"),
        ('tag.team == "a" and took < 100', "-big"),
        ("1 == 1", "e"),
        ("metric.loss != null", "-loss,run"),
    ],
)
def test_filter_and_sort_column_by_column_as_one_run_at_a_time(
    history: History, expression: str | None, sort: str | None
) -> None:
    from expkit.history.filter import compile_filter

    test = compile_filter(expression) if expression else None
    keys = runs_table.parse_sort(sort) if sort else []
    rows = summaries(history)
    runs, _ = table_columns(history)
    picked = runs_table.select(runs, test, keys)
    want = _pick_one_run_at_a_time(rows, test, keys)
    assert [runs.field("id")[i] for i in picked] == [r.id for r in want]
    _same_fields(runs.take(picked), want)


def test_default_and_chosen_columns(history: History) -> None:
    runs, _ = table_columns(history)
    names = [c.name for c in runs_table.default_columns(runs)]
    assert names[:5] == ["run", "name", "status", "target", "script"]
    assert names[5:7] == ["tag.o", "tag.team"] and names[-1] == "took"
    chosen = runs_table.chosen_columns("acc,a,tag.team,script", runs)
    assert [c.name for c in chosen] == ["run", "metric.acc", "param.a", "tag.team", "script"]
    values = runs_table.column_values(chosen[-1], runs)
    assert values[0] == "u\x1b[1m.py --x 7" and values[-1] == "t.py --x 0"
    assert runs_table.column_values(chosen[2], runs)[-4:] == ["1", True, 1.0, 1]
    with pytest.raises(Exception, match="did you mean acc"):
        runs_table.chosen_columns("acx", runs)


def test_fields_a_table_needs_beyond_the_index_columns_are_named() -> None:
    assert runs_table.fields_named(["lr", "acc", "took", "tag.team"]) <= READ_FIELDS
    assert "started" in runs_table.fields_named(["lr", " started"])
    assert {"script", "args"} <= runs_table.fields_named(["script"])
    with pytest.raises(KeyError, match="started"):
        RunColumns(1, {}).field("started")


def test_old_records_without_newer_fields_read_as_empty(history: History) -> None:
    with history._transaction() as conn:
        text = conn.execute("SELECT record FROM runs WHERE number = 1").fetchone()[0]
        record = json.loads(text)
        for key in ("tags", "params", "metrics", "args"):
            del record[key]
        conn.execute("UPDATE runs SET record = ? WHERE number = 1", (json.dumps(record),))
    runs, _ = table_columns(history, args=True)
    assert runs.params[-1] == {} and runs.tags[-1] == {} and runs.metrics[-1] == {}
    assert runs.field("args")[-1] == []
    _same_fields(runs, summaries(history))


def test_an_active_run_shows_what_it_logged_so_far(history: History) -> None:
    record = history.create(target="local", runconfig="local", script="t.py")
    history.save(dataclasses.replace(record, status="running", params=frozen_map({"a": 5})))
    lines = [{"name": "acc", "value": 0.7}, {"param": "lr", "value": 0.01}]
    (history.run_dir(record.id) / "metrics.jsonl").write_text(
        "".join(json.dumps(line) + "\n" for line in lines)
    )
    runs, _ = table_columns(history)
    assert runs.field("status")[0] == "running"
    assert runs.metrics[0]["acc"] == 0.7 and runs.params[0] == {"a": 5, "lr": 0.01}
    _same_fields(runs, summaries(history))


def test_an_index_of_the_previous_shape_is_rebuilt(history: History) -> None:
    table_columns(history)
    conn = history.conn
    old = "run_summary5"
    conn.execute(f"DROP TABLE {SUMMARY_TABLE}")
    conn.execute(f"CREATE TABLE {old} (id TEXT PRIMARY KEY, summary TEXT)")
    conn.execute(f"CREATE TRIGGER {old}_delete AFTER DELETE ON runs BEGIN SELECT 1; END")
    for name in ("insert", "update", "delete"):
        conn.execute(f"DROP TRIGGER IF EXISTS {SUMMARY_TABLE}_{name}")
    runs, total = table_columns(history)
    assert total == len(PARAMS) and len(runs) == len(PARAMS)
    tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master")}
    assert SUMMARY_TABLE in tables and old not in tables and f"{old}_delete" not in tables


def test_an_unreadable_row_is_read_from_its_record(history: History) -> None:
    history.conn.execute("UPDATE runs SET record = 'not json' WHERE number = 2")
    notes: list[str] = []
    history.note = notes.append  # type: ignore[method-assign]
    runs, total = table_columns(history)
    assert total == len(PARAMS) and 2 in runs.field("number")
    assert any("read from" in n for n in notes)


def test_empty_history(tmp_path: Path) -> None:
    with History(tmp_path) as empty:
        runs, total = table_columns(empty)
    assert (len(runs), total) == (0, 0)
    assert [c.name for c in runs_table.default_columns(runs)] == ["run", "status", "took"]
    assert not (tmp_path / ".exp" / "index.sqlite").exists()


AWKWARD: list[Any] = [
    0.1,
    0.30000000000000004,
    -0.0,
    0.0,
    1e-4,
    9.99e-5,
    9999.5,
    1e4,
    -1e4,
    1e300,
    math.nan,
    math.inf,
    -math.inf,
    10**20,
    True,
    False,
    None,
    "plain",
    "esc\x1b[2J",
    "bad\udcff",
    [1, "\x1b"],
    {"k": 0.5},
    3,
]


@pytest.mark.parametrize("size", [1, 2, 3, len(AWKWARD)])
def test_cells_of_a_column_are_each_values_cell(size: int) -> None:
    for start in range(len(AWKWARD)):
        column = (AWKWARD[start:] + AWKWARD[:start])[:size]
        assert cells(column) == [cell(v) for v in column], column
    for same_type in ([0.5, 0.25, 1e-4], [0.5, math.nan], [math.nan, 0.5], [0.5, math.inf]):
        assert cells(same_type) == [cell(v) for v in same_type]
    assert cells(["a", "b\x07"]) == ["a", "b\\x07"] and cells([1, 2]) == ["1", "2"]


def _fit_one_row_at_a_time(headers, rows, width, keep):
    """The definition: drop or narrow the least informative column first."""
    widths = [max([len(h), *(len(r[i]) for r in rows)]) for i, h in enumerate(headers)]

    def information(values):
        counts: dict[str, int] = {}
        for v in values:
            counts[v] = counts.get(v, 0) + 1
        total = len(values) or 1
        return -sum(c / total * math.log2(c / total) for c in counts.values())

    alive = list(range(len(headers)))
    dropped = []
    order = sorted(
        (i for i in alive if not keep[i]),
        key=lambda i: (information([r[i] for r in rows]), -widths[i]),
    )
    for i in order:
        excess = sum(widths[j] for j in alive) + 2 * (len(alive) - 1) - width
        if excess <= 0:
            break
        floor = min(widths[i], max(len(headers[i]), 8))
        if widths[i] - excess >= floor:
            widths[i] -= excess
        else:
            alive.remove(i)
            dropped.append(headers[i])

    def cut(text, w):
        return text if len(text) <= w else text[: max(w - 1, 0)] + "…"

    return (
        [cut(headers[i], widths[i]) for i in alive],
        [[cut(r[i], widths[i]) for i in alive] for r in rows],
        dropped,
    )


@pytest.mark.parametrize("width", [10, 30, 45, 60, 80, 200])
def test_narrow_terminals_cut_as_one_row_at_a_time(width: int) -> None:
    headers = ["run", "status", "lr", "note", "same", "long"]
    rows = [
        [str(n), "completed" if n % 3 else "failed", f"0.{n}", "x" * n, "s", "abcdefghijkl" * 2]
        for n in range(1, 12)
    ]
    keep = [True, False, False, False, False, False]
    columns = [list(c) for c in zip(*rows, strict=True)]
    got_headers, got_columns, got_dropped = fit(headers, columns, width, keep)
    want_headers, want_rows, want_dropped = _fit_one_row_at_a_time(headers, rows, width, keep)
    assert (got_headers, got_dropped) == (want_headers, want_dropped)
    assert [list(r) for r in zip(*got_columns, strict=True)] == want_rows
    assert column_lines(got_headers, got_columns) == table_lines(want_headers, want_rows)
    assert fit(headers, columns, None, keep) == (headers, columns, [])


def test_lines_are_aligned_without_trailing_blanks() -> None:
    assert column_lines(["run", "name"], [["1", "10"], ["a", ""]]) == [
        "RUN  NAME",
        "1    a",
        "10",
    ]
    assert column_lines(["run", "status"], [[], []]) == ["RUN  STATUS"]


def test_the_summary_table_is_kept_by_triggers(history: History) -> None:
    table_columns(history)
    conn = history.conn
    (count,) = conn.execute(f"SELECT count(*) FROM {SUMMARY_TABLE}").fetchone()
    assert count == len(PARAMS)
    conn.execute("DELETE FROM runs WHERE number = 3")
    (count,) = conn.execute(f"SELECT count(*) FROM {SUMMARY_TABLE}").fetchone()
    assert count == len(PARAMS) - 1
    with pytest.raises(sqlite3.IntegrityError):
        conn.execute(f"INSERT INTO {SUMMARY_TABLE} (id) VALUES ('x')")


@pytest.mark.parametrize("tty", [False, True])
def test_csv_cells_of_a_column_are_each_values_exact_text(tty: bool) -> None:
    from expkit.cli.runtable import _csv_cells, _plain
    from expkit.cli.textview import shown

    def one(v: Any) -> str:
        if v is None:
            return ""
        text = v if isinstance(v, str) else _plain(v)
        return shown(text) if tty else text

    for size in (1, 2, len(AWKWARD)):
        for start in range(len(AWKWARD)):
            column = (AWKWARD[start:] + AWKWARD[:start])[:size]
            assert _csv_cells(list(column), tty) == [one(v) for v in column], column
    assert _csv_cells([0.1, 0.30000000000000004], tty) == ["0.1", "0.30000000000000004"]


def test_same_value_is_same_type_and_equal_value() -> None:
    import itertools

    def definition(values: list[Any]) -> bool:
        try:
            return len({(type(v), v) for v in values}) <= 1
        except TypeError:
            return len({repr(v) for v in values}) <= 1

    awkward = [*AWKWARD, 1, 1.0, [1, 2], [1.0, 2.0], {"k": 0.5}, "1"]
    for size in (1, 2, 3):
        for values in itertools.product(awkward, repeat=size):
            assert runs_table._same(list(values)) == definition(list(values)), values
    nan = math.nan
    assert runs_table._same([nan, nan]) and not runs_table._same([nan, float("nan")])
