"""Reading results through the real CLI over real local runs (issue 12 points 1-5).

Steps and parameters, name/tags/note, the runs table (varying parameters,
latest metrics, --columns/--sort/--filter/--limit/--all/--csv/--json, width),
compare, rm/gc, sparklines and `runs plot`; terminal escapes printed safely.
"""

from __future__ import annotations

import csv
import io
import json
import sys
from pathlib import Path

import pytest
from local_e2e import LOCAL_COMPUTE, LOCAL_RUNCONFIG, module_project, run_record, runs_list

TRAIN = """
import argparse
from expkit import log, log_param, log_params
p = argparse.ArgumentParser()
p.add_argument("--lr", type=float, default=0.1)
p.add_argument("-e", "--epochs", type=int, default=3)
p.add_argument("--fast", action="store_true")
a, rest = p.parse_known_args()
log_param("optimizer", "sgd")
log_params({"layers": 3, "lr": a.lr})
for epoch in range(a.epochs):
    log("loss", round(a.lr * 10 / (epoch + 1), 4))
log("accuracy", round(1 - a.lr, 4))
log("curve", [1, 2, 3])
log("custom", 0.5, step=10)
log("custom", 0.25, step=20)
"""

RUNCONFIG = LOCAL_RUNCONFIG.replace('"EXAMPLE_ENV_VAR": "Example Value"', '"MODE": "fast"')


@pytest.fixture(scope="module")
def results(request, tmp_path_factory, exp_cache):
    """Four real runs of TRAIN with different arguments, names and tags."""
    project = module_project(request, tmp_path_factory, exp_cache, "results")
    project.write("aml_config/local.compute", LOCAL_COMPUTE)
    project.write("aml_config/local.runconfig", RUNCONFIG)
    project.write("train.py", TRAIN)
    for options, args in (
        (["--name", "baseline", "--tag", "team=a", "--note", "first try"], ["--lr", "0.1"]),
        (["--tag", "team=b"], ["--lr=0.3", "-e", "4", "data.csv"]),
        (["--name", "small", "--tag", "team=a"], ["--lr", "0.05", "-e", "5", "--fast"]),
        ([], ["--lr", "0.2", "-e", "2"]),
    ):
        result = project.exp("run", *options, "-c", "local", "train.py", *args)
        assert result.returncode == 0, result.output
    return project


def test_steps_timestamps_and_params_are_recorded(results):
    record = run_record(results, "3")
    assert record["series"]["loss"] == [0.5, 0.25, 0.1667, 0.125, 0.1]
    assert record["steps"]["loss"] == [0, 1, 2, 3, 4]
    assert record["steps"]["custom"] == [10, 20] and record["metrics"]["custom"] == 0.25
    assert record["metrics"]["curve"] == [1, 2, 3]  # a list logged at once, as in Workbench
    lines = (results.root / ".exp" / "runs" / record["id"] / "metrics.jsonl").read_text()
    entries = [json.loads(line) for line in lines.splitlines()]
    metric_times = [e["time"] for e in entries if "name" in e]
    assert metric_times == sorted(metric_times)
    assert record["started"] <= metric_times[0] <= record["ended"]
    assert record["params"] == {
        "lr": 0.05,
        "e": 5,
        "fast": True,
        "env.MODE": "fast",
        "optimizer": "sgd",
        "layers": 3,
    }
    assert run_record(results, "2")["params"]["arg1"] == "data.csv"
    assert record["name"] == "small" and record["tags"] == {"team": "a"}
    assert run_record(results, "1")["note"] == "first try"


def test_table_shows_varying_params_and_latest_metrics(results):
    out = results.exp("runs", "list")
    assert out.returncode == 0, out.output
    lines = out.stdout.splitlines()
    header = lines[0].split()
    assert header[:3] == ["RUN", "NAME", "STATUS"]
    for column in ("TAG.TEAM", "LR", "E", "ARG1", "FAST", "LOSS", "ACCURACY", "CUSTOM", "TOOK"):
        assert column in header, header
    # the same in every run: not a column (and a list metric is no table cell)
    for column in ("OPTIMIZER", "LAYERS", "ENV.MODE", "CURVE"):
        assert column not in header
    assert [line.split()[0] for line in lines[1:]] == ["4", "3", "2", "1"]
    assert lines[2].split()[1:3] == ["small", "completed"]


def test_sort_filter_columns_limit(results):
    def numbers(*args):
        out = results.exp("runs", "list", "--columns", "lr,accuracy", *args)
        assert out.returncode == 0, out.output
        return [line.split()[0] for line in out.stdout.splitlines()[1:]]

    assert numbers("--sort", "accuracy") == ["2", "4", "1", "3"]
    assert numbers("--sort", "-accuracy") == ["3", "1", "4", "2"]
    assert numbers("--sort", "-accuracy", "--limit", "2") == ["3", "1"]
    assert numbers("--filter", 'accuracy > 0.75 and lr < 0.2 and tag.team == "a"') == ["3", "1"]
    assert numbers("--filter", "name ~ 'base' or arg1 == 'data.csv'") == ["2", "1"]
    chosen = results.exp("runs", "list", "--columns", "lr,accuracy,tag.team")
    assert chosen.stdout.splitlines()[0].split() == ["RUN", "LR", "ACCURACY", "TAG.TEAM"]
    typo = results.exp("runs", "list", "--sort", "acuracy")
    assert typo.returncode == 2 and "did you mean accuracy" in typo.stderr
    listed = runs_list(results, "--filter", "e >= 4", "--sort", "e")
    assert [r["number"] for r in listed] == [2, 3]


def test_malformed_filter_exits_2_with_the_position(results):
    bad = results.exp("runs", "list", "--filter", "accuracy > 0.9 and and lr < 1")
    assert bad.returncode == 2
    assert "at position 20" in bad.stderr and "Traceback" not in bad.stderr
    assert "    " + " " * 19 + "^" in bad.stderr.splitlines()


def test_csv_and_json_have_exact_values(results):
    out = results.exp("runs", "list", "--csv", "--sort", "run")
    rows = list(csv.DictReader(io.StringIO(out.stdout)))
    assert [r["run"] for r in rows] == ["1", "2", "3", "4"]
    assert rows[2]["loss"] == "0.1" and rows[2]["lr"] == "0.05" and rows[2]["fast"] == "true"
    listed = runs_list(results, "--limit", "1")
    assert len(listed) == 1 and listed[0]["number"] == 4 and listed[0]["params"]["e"] == 2


def test_narrow_terminal_cuts_the_least_informative_column_first(results):
    """On a terminal too narrow for the table, the column that tells runs apart the
    least (here STATUS: the same for all) goes first; the run number always stays."""
    script = (
        "import os, pty, sys\n"
        "os.environ['COLUMNS'] = '60'\n"
        "pid, fd = pty.fork()\n"
        "if pid == 0:\n"
        "    os.execvp(sys.argv[1], sys.argv[1:])\n"
        "out = b''\n"
        "while True:\n"
        "    try:\n"
        "        data = os.read(fd, 65536)\n"
        "    except OSError:\n"
        "        break\n"
        "    if not data:\n"
        "        break\n"
        "    out += data\n"
        "os.waitpid(pid, 0)\n"
        "sys.stdout.write(out.decode())\n"
    )
    import shutil
    import subprocess

    exe = shutil.which("exp", path=str(Path(sys.executable).parent))
    proc = subprocess.run(
        [sys.executable, "-c", script, exe, "runs", "list"],
        cwd=results.root,
        env=results.env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    lines = [line for line in proc.stdout.splitlines() if line.strip()]
    table = [line for line in lines if not line.startswith("(")]
    assert all(len(line) <= 60 for line in table), lines
    header = table[0].split()
    assert header[0] == "RUN" and "STATUS" not in header and "ACCURACY" in header
    assert any("not shown for the terminal's width" in line for line in lines)


def test_no_match_is_not_no_runs_yet(results):
    for args in (("--target", "nosuch"), ("--status", "canceled"), ("--filter", "lr > 9")):
        out = results.exp("runs", "list", *args)
        assert out.returncode == 0 and out.stdout == ""
        assert "no runs match" in out.stderr and "no runs yet" not in out.stderr


def test_compare_marks_the_best_and_takes_two_or_more(results):
    one = results.exp("runs", "compare", "1")
    assert one.returncode == 2 and "two or more" in one.stderr
    data = json.loads(results.exp("runs", "compare", "1", "2", "3", "--json").stdout)
    rows = {row["name"]: row for row in data["rows"]}
    assert rows["accuracy"]["values"] == [0.9, 0.7, 0.95] and rows["accuracy"]["best"] == [2]
    assert rows["loss (last)"]["values"] == [0.3333, 0.75, 0.1]
    assert rows["loss (last)"]["best"] == [2]  # a loss: lower is better
    assert rows["loss (max)"]["values"] == [1.0, 3.0, 0.5]
    assert "optimizer" not in rows  # equal everywhere
    text = results.exp("runs", "compare", "baseline", "2", "small").stdout
    accuracy = next(line for line in text.splitlines() if line.startswith("accuracy"))
    assert accuracy.split() == ["accuracy", "0.9", "0.7", "0.95", "*"]
    everything = json.loads(results.exp("runs", "compare", "1", "2", "--all", "--json").stdout)
    assert "optimizer" in {row["name"] for row in everything["rows"]}


def test_show_draws_series_and_plot_overlays_runs(results):
    shown = results.exp("runs", "show", "small")
    assert shown.returncode == 0, shown.output
    loss = next(line for line in shown.stdout.splitlines() if line.strip().startswith("loss"))
    assert "█" in loss and "▁" in loss and "5 values" in loss
    assert "exit_code:    0" in shown.stdout
    plotted = results.exp("runs", "plot", "loss", "1", "3")
    assert plotted.returncode == 0, plotted.output
    assert "run 1 baseline" in plotted.stdout and "run 3 small" in plotted.stdout
    assert "●" in plotted.stdout and "x" in plotted.stdout
    missing = results.exp("runs", "plot", "nosuch")
    assert missing.returncode == 2 and "no run logged a metric named 'nosuch'" in missing.stderr


def test_tag_note_rename(results):
    assert results.exp("runs", "tag", "4", "team=c", "owner=me").returncode == 0
    assert results.exp("runs", "tag", "4", "--remove", "owner").returncode == 0
    assert results.exp("runs", "note", "4", "short run").returncode == 0
    assert results.exp("runs", "rename", "4", "quick").returncode == 0
    record = run_record(results, "quick")
    assert (record["number"], record["tags"], record["note"]) == (4, {"team": "c"}, "short run")
    on_disk = json.loads(
        (results.root / ".exp" / "runs" / record["id"] / "record.json").read_text()
    )
    assert on_disk["name"] == "quick"
    bad = results.exp("runs", "tag", "4", "nokey")
    assert bad.returncode == 2 and "KEY=VALUE" in bad.stderr
    assert results.exp("runs", "rename", "4", "12").returncode == 2


def test_terminal_escapes_are_printed_safely_and_kept_exact_in_json(local_project):
    osc, csi = "\x1b]0;pwned\x07", "\x1b[2J"
    local_project.write(
        "esc.py",
        f"from expkit import log\nlog({('acc' + csi)!r}, 1)\n",
    )
    run = local_project.exp("run", "--name", "n" + osc, "-c", "local", "esc.py", "--x" + osc)
    assert run.returncode == 0, run.output
    for command in (("runs", "list"), ("runs", "show", "1"), ("runs", "list", "--all")):
        out = local_project.exp(*command)
        assert out.returncode == 0, out.output
        assert "\x1b" not in out.stdout and "\x07" not in out.stdout, command
        assert "\\x1b]0;pwned\\x07" in out.stdout or "\\x1b[2J" in out.stdout
    record = run_record(local_project)
    assert record["args"] == ["--x" + osc] and record["name"] == "n" + osc
    assert "acc" + csi in record["metrics"]


def test_rm_and_gc_never_touch_a_running_run(local_project):
    from local_e2e import write_gated_script

    local_project.write("quick.py", "print('quick')\n")
    for _ in range(2):
        assert local_project.exp("run", "-c", "local", "quick.py").returncode == 0
    first = run_record(local_project, "1")
    gate = write_gated_script(local_project, "slow.py", "started", "done")
    running = local_project.popen("run", "-c", "local", "slow.py")
    try:
        from local_e2e import read_until

        read_until(running.stdout, lambda line: "started" in line)
        refused = local_project.exp("runs", "rm", "3", "2", "--yes")
        assert refused.returncode == 2 and "run 3 is running" in refused.stderr
        assert [r["number"] for r in runs_list(local_project)] == [3, 2, 1]
        removed = local_project.exp("runs", "rm", "1", "--yes")
        assert removed.returncode == 0, removed.output
        assert not (local_project.root / ".exp" / "runs" / first["id"]).exists()
        gc = local_project.exp("runs", "gc")
        assert gc.returncode == 0 and "still active" in gc.stderr
        gate.write_text("go")
        running.communicate(timeout=60)
    finally:
        running.kill()
    assert running.returncode == 0
    assert [r["number"] for r in runs_list(local_project)] == [3, 2]
    # The snapshot of run 1 is unused now only if runs 2 and 3 took another one.
    (local_project.root / "quick.py").write_text("print('changed')\n")
    assert local_project.exp("run", "-c", "local", "quick.py").returncode == 0
    assert local_project.exp("runs", "rm", "2", "3", "4", "--yes").returncode == 0
    gc = local_project.exp("runs", "gc")
    assert gc.returncode == 0, gc.output
    assert "deleted 3 snapshot(s)" in gc.stdout
    assert not list((local_project.root / ".exp" / "snapshots").glob("*.json"))
    again = local_project.exp("runs", "list")
    assert "no runs yet" in again.stderr
    nothing = local_project.exp("runs", "rm", "1", "--yes")
    assert nothing.returncode == 2


def test_exit_code_of_a_run_whose_script_never_ran_is_explained(local_project):
    local_project.write(
        "aml_config/broken.compute", 'type: "local"\npythonLocation: "/nonexistent/python"\n'
    )
    local_project.write(
        "aml_config/broken.runconfig",
        LOCAL_RUNCONFIG.replace('Target: "local"', 'Target: "broken"'),
    )
    local_project.write("quick.py", "print('quick')\n")
    run = local_project.exp("run", "-c", "broken", "quick.py")
    assert run.returncode != 0
    record = run_record(local_project)
    assert record["exit_code"] is None
    shown = local_project.exp("runs", "show", "1").stdout
    assert "None" not in shown
    assert "exit_code:    (none: the script did not run)" in shown


def test_ui_warns_before_listening_beyond_loopback(local_project):
    # 192.0.2.1 (TEST-NET-1) is not an address of this machine: nothing is sent,
    # binding fails, and the warning comes first.
    out = local_project.exp("ui", "--host", "192.0.2.1", "--port", "0", "--no-browser")
    assert out.returncode == 2, out.output
    assert "warning: listening on 192.0.2.1" in out.stderr
    assert "cannot listen on 192.0.2.1:0" in out.stderr and "Traceback" not in out.stderr


def test_a_damaged_index_row_is_read_from_its_record_with_a_warning(local_project):
    import sqlite3

    local_project.write("quick.py", "from expkit import log\nlog('x', 1)\n")
    for _ in range(2):
        assert local_project.exp("run", "-c", "local", "quick.py").returncode == 0
    assert local_project.exp("runs", "list").returncode == 0  # the summaries exist
    conn = sqlite3.connect(local_project.root / ".exp" / "index.sqlite")
    with conn:
        conn.execute("UPDATE runs SET record = '{scribbled' WHERE number = 1")
    conn.close()
    listed = local_project.exp("runs", "list")
    assert listed.returncode == 0, listed.output
    # The records are the truth (docs/history.md): the row is read back and repaired.
    assert [line.split()[0] for line in listed.stdout.splitlines()[1:]] == ["2", "1"]
    assert "index row is unreadable" in listed.stderr and "repaired" in listed.stderr
    again = local_project.exp("runs", "list")
    assert again.returncode == 0 and "unreadable" not in again.stderr
    assert local_project.exp("run", "-c", "local", "quick.py").returncode == 0
    numbers = local_project.exp("runs", "list", "--columns", "x").stdout.split()
    assert numbers[:1] == ["RUN"] and "3" in numbers


def test_exp_run_never_imports_the_ui_or_the_table_code(local_project):
    """The tracked-run overhead is measured (bench/): `exp run` loads none of this feature's
    reading side (the UI, the table, the filter language)."""
    import subprocess

    local_project.write("quick.py", "from expkit import log\nlog('x', 1)\n")
    probe = (
        "import sys\n"
        "from expkit.launcher import main\n"
        "code = main(['run', '--name', 'n', '--tag', 'k=v', '-c', 'local', 'quick.py'])\n"
        "heavy = sorted(m for m in sys.modules if m.startswith(('expkit.ui', 'expkit.cli',"
        " 'expkit.history.filter', 'expkit.history.table', 'expkit.history.query')))\n"
        "print('LOADED', heavy, code)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe],
        cwd=local_project.root,
        env=local_project.env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert "LOADED [] 0" in out.stdout, out.stdout + out.stderr
