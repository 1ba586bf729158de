"""``exp run`` / ``exp prepare`` / ``exp runs ...`` through the real CLI in a subprocess,
with the fake target: exit codes, JSON, signals, killed CLIs, concurrency."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
from pathlib import Path

import pytest
from fake_target import exp, exp_popen, pid_alive, wait_for, write_project

TRAIN = """\
import json, os, sys
from expkit import log
print("argv=" + json.dumps(sys.argv[1:]), flush=True)
log("accuracy", 0.9)
os.makedirs("outputs", exist_ok=True)
open("outputs/model.txt", "w").write("m")
sys.exit(int(sys.argv[1]) if len(sys.argv) > 1 and sys.argv[1].isdigit() else 0)
"""

# Starts a grandchild, reports both pids, logs and writes an output, then waits to be cancelled.
LONG = """\
import os, subprocess, sys, time
from expkit import log
child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
log("step", 1)
os.makedirs("outputs", exist_ok=True)
open("outputs/partial.txt", "w").write("so far")
print("started", flush=True)
open(os.environ["PIDS_FILE"], "w").write(f"{os.getpid()} {child.pid}")
time.sleep(600)
"""


@pytest.fixture
def proj(tmp_path: Path) -> Path:
    return write_project(tmp_path / "proj", files={"train.py": TRAIN, "long.py": LONG})


@pytest.fixture
def cache(tmp_path: Path) -> Path:
    return tmp_path / "cache"


def show(proj: Path, cache: Path, ref: str) -> dict:
    result = exp(proj, cache, "runs", "show", ref, "--json")
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_exit_code_and_output(proj: Path, cache: Path) -> None:
    ok = exp(proj, cache, "run", "-c", "fake", "train.py")
    assert ok.returncode == 0, ok.stderr
    assert "argv=[]" in ok.stdout and "run 1 completed" in ok.stderr
    failed = exp(proj, cache, "run", "-c", "fake", "train.py", "5")
    assert failed.returncode == 5
    assert show(proj, cache, "2")["status"] == "failed"


def test_everything_after_script_goes_to_the_script(proj: Path, cache: Path) -> None:
    args = ["--lr", "0.1", "-c", "other", "--json", "--", "a b", "$(x)", "ünï"]
    result = exp(proj, cache, "run", "-c", "fake", "train.py", *args)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout.split("argv=", 1)[1].splitlines()[0]) == args
    via_dashes = exp(proj, cache, "run", "-c", "fake", "--", "train.py", "-c")
    assert json.loads(via_dashes.stdout.split("argv=", 1)[1].splitlines()[0]) == ["-c"]
    unknown = exp(proj, cache, "run", "--bogus", "train.py")
    assert unknown.returncode == 2 and "no such option: --bogus" in unknown.stderr


def test_json_mode_prints_only_the_record_on_stdout(
    proj: Path, cache: Path, record_fields: list[str]
) -> None:
    result = exp(proj, cache, "run", "-c", "fake", "--json", "train.py", "3")
    assert result.returncode == 3
    record = json.loads(result.stdout)
    assert set(record) == set(record_fields)
    assert record["status"] == "failed" and record["exit_code"] == 3
    assert record["metrics"] == {"accuracy": 0.9} and record["outputs"] == ["model.txt"]
    assert 'argv=["3"]' in result.stderr


def test_workbench_aliases_and_prepare(proj: Path, cache: Path) -> None:
    submitted = exp(
        proj, cache, "experiment", "submit", "--run-configuration", "fake", "train.py", "-c", "x"
    )
    assert submitted.returncode == 0, submitted.stderr
    assert show(proj, cache, "1")["args"] == ["-c", "x"]
    prepared = exp(proj, cache, "prepare", "-c", "fake", "--rebuild", "--json")
    assert prepared.returncode == 0, prepared.stderr
    assert json.loads(prepared.stdout)["env_id"] == "fakeenv-forced"
    assert "building fake environment" in prepared.stderr  # progress: on stderr, plain lines
    alias = exp(proj, cache, "experiment", "prepare", "-c", "fake")
    assert alias.returncode == 0 and "environment fakeenv cached" in alias.stdout


@pytest.mark.parametrize(
    ("args", "deprecated"),
    [
        (["prepare", "-c", "fake", "--rebuild"], None),
        (["prepare", "-c", "fake", "--force"], "exp prepare --force"),
        (["run", "-c", "fake", "--rebuild", "train.py"], None),
        (["run", "-c", "fake", "--prepare", "train.py"], "exp run --prepare"),
        (["experiment", "submit", "-c", "fake", "--rebuild", "train.py"], None),
    ],
)
def test_rebuild_is_one_spelling_for_run_and_prepare(
    proj: Path, cache: Path, args: list[str], deprecated: str | None
) -> None:
    result = exp(proj, cache, *args)
    assert result.returncode == 0, result.stderr
    assert "building fake environment" in result.stderr  # the plugin was asked to rebuild
    if args[0] != "prepare":
        assert show(proj, cache, "1")["env_id"] == "fakeenv-forced"
    note = f"exp: note: {deprecated} is deprecated: use --rebuild (same meaning)."
    assert (note in result.stderr) is (deprecated is not None)


def test_help_shows_rebuild_not_the_old_spellings(proj: Path, cache: Path) -> None:
    for command in (["run"], ["prepare"]):
        text = exp(proj, cache, *command, "--help").stdout
        assert "--rebuild" in text
        assert "--force" not in text and "--prepare" not in text


def test_configuration_errors_exit_2(proj: Path, cache: Path) -> None:
    missing = exp(proj, cache, "run", "-c", "nope", "train.py")
    assert (
        missing.returncode == 2 and "nope" in missing.stderr and "Traceback" not in missing.stderr
    )
    no_script = exp(proj, cache, "run", "-c", "fake", "absent.py")
    assert no_script.returncode == 2 and "absent.py" in no_script.stderr


def test_prepare_failure_exits_3_and_is_recorded(proj: Path, cache: Path) -> None:
    result = exp(
        proj, cache, "run", "-c", "fake", "--json", "train.py", env={"FAKE_PREPARE": "fail"}
    )
    assert result.returncode == 3
    assert "fake build failed" in result.stderr
    assert json.loads(result.stdout)["status"] == "failed"


def _start_long(proj: Path, cache: Path, tmp_path: Path):
    pids_file = tmp_path / "pids"
    proc = exp_popen(proj, cache, "run", "-c", "fake", "long.py", env={"PIDS_FILE": str(pids_file)})
    text = wait_for(
        lambda: pids_file.exists() and pids_file.read_text(), what="the script to start"
    )
    return proc, [int(p) for p in text.split()]


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_signal_cancels_the_run_and_its_process_tree(
    proj: Path, cache: Path, tmp_path: Path, signum
) -> None:
    proc, pids = _start_long(proj, cache, tmp_path)
    proc.send_signal(signum)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert "run 1 canceled" in err and "started" in out
    wait_for(
        lambda: not any(pid_alive(p) for p in pids),
        timeout=10,
        what="the script's processes to end",
    )
    record = show(proj, cache, "1")
    assert record["status"] == "canceled"
    assert record["outputs"] == ["partial.txt"] and record["metrics"] == {"step": 1}


def test_runs_cancel_and_logs_follow(proj: Path, cache: Path, tmp_path: Path) -> None:
    proc, pids = _start_long(proj, cache, tmp_path)
    follower = exp_popen(proj, cache, "runs", "logs", "1", "-f")
    assert show(proj, cache, "1")["status"] == "running"
    canceled = exp(proj, cache, "runs", "cancel", "1")
    assert canceled.returncode == 0 and "run 1 canceled" in canceled.stdout
    assert proc.wait(timeout=30) == 130
    followed, _ = follower.communicate(timeout=30)  # ends by itself once the run ended
    assert "started" in followed
    assert not any(pid_alive(p) for p in pids)
    again = exp(proj, cache, "runs", "cancel", "1")
    assert again.returncode == 0 and "not active" in again.stderr


def test_ctrl_c_during_prepare_leaves_a_canceled_record(
    proj: Path, cache: Path, tmp_path: Path
) -> None:
    marker = tmp_path / "preparing"
    proc = exp_popen(
        proj,
        cache,
        "run",
        "-c",
        "fake",
        "train.py",
        env={"FAKE_PREPARE": "block", "FAKE_PREPARE_MARKER": str(marker)},
    )
    wait_for(marker.exists, what="prepare to start")
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 130, err
    record = show(proj, cache, "1")
    assert record["status"] == "canceled" and record["exit_code"] is None and record["ended"]


def test_killed_cli_shows_as_lost_not_running(proj: Path, cache: Path, tmp_path: Path) -> None:
    proc, pids = _start_long(proj, cache, tmp_path)
    try:
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
        listed = exp(proj, cache, "runs", "list", "--json")
        [record] = json.loads(listed.stdout)
        assert record["status"] == "failed" and record["error"] == "lost"
        assert record["metrics"] == {"step": 1}
    finally:
        for pid in pids:  # the script outlives a SIGKILLed exp: clean it up
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass


def test_two_concurrent_runs(proj: Path, cache: Path) -> None:
    procs = [exp_popen(proj, cache, "run", "-c", "fake", "--json", "train.py") for _ in range(2)]
    records = []
    for proc in procs:
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
        records.append(json.loads(out))
    assert sorted(r["number"] for r in records) == [1, 2]
    assert all(r["status"] == "completed" for r in records)
    assert records[0]["snapshot_id"] == records[1]["snapshot_id"]


def test_runs_list_show_compare(proj: Path, cache: Path, record_fields: list[str]) -> None:
    for args in (["train.py"], ["train.py", "4"], ["train.py", "--x"]):
        exp(proj, cache, "run", "-c", "fake", *args)
    listed = json.loads(exp(proj, cache, "runs", "list", "--json").stdout)
    assert [r["number"] for r in listed] == [3, 2, 1] and all(
        set(r) == set(record_fields) for r in listed
    )
    failed = json.loads(exp(proj, cache, "runs", "list", "--status", "failed", "--json").stdout)
    assert [r["number"] for r in failed] == [2]
    assert [
        r["number"]
        for r in json.loads(exp(proj, cache, "runs", "list", "--last", "1", "--json").stdout)
    ] == [3]
    table = exp(proj, cache, "runs", "list")
    assert table.returncode == 0 and "failed" in table.stdout
    header = table.stdout.splitlines()[0].split()
    assert header == ["RUN", "STATUS", "X", "ARG1", "ACCURACY", "TOOK"]
    human = exp(proj, cache, "runs", "show", listed[0]["id"][:-1])
    assert re.search(r"^number:\s+3$", human.stdout, re.M)
    assert re.search(r"^  accuracy\s+0.9$", human.stdout, re.M)
    phases = re.search(r"^phases:\s+(.*)$", human.stdout, re.M)
    assert phases, human.stdout  # each phase's seconds, as --json's timings
    assert set(re.findall(r"(\w+) \d+\.\d\ds", phases.group(1))) == set(listed[0]["timings"])
    compared = json.loads(exp(proj, cache, "runs", "compare", "1", "2", "--json").stdout)
    assert [r["number"] for r in compared["runs"]] == [1, 2]
    rows = {row["name"]: row for row in compared["rows"]}
    assert rows["args"]["values"] == [[], ["4"]] and rows["exit_code"]["values"] == [0, 4]
    assert rows["arg1"] == {"name": "arg1", "kind": "param", "values": [None, 4], "best": []}
    assert "accuracy" not in rows  # equal: shown only with --all
    everything = json.loads(exp(proj, cache, "runs", "compare", "1", "2", "--all", "--json").stdout)
    assert {r["name"]: r["values"] for r in everything["rows"]}["accuracy"] == [0.9, 0.9]
    text = exp(proj, cache, "runs", "compare", "1", "2")
    assert "RUN 1" in text.stdout and "arg1" in text.stdout
    bad = exp(proj, cache, "runs", "show", "42")
    assert bad.returncode == 2 and "no run '42'" in bad.stderr


def test_runs_download_and_restore(proj: Path, cache: Path, tmp_path: Path) -> None:
    exp(proj, cache, "run", "-c", "fake", "train.py")
    (proj / "train.py").write_text("print('edited later')\n")
    dest = tmp_path / "dl"
    downloaded = exp(proj, cache, "runs", "download", "1", "--to", str(dest))
    assert downloaded.returncode == 0, downloaded.stderr
    assert (dest / "model.txt").read_text() == "m"
    refused = exp(proj, cache, "runs", "download", "1", "--to", str(dest))
    assert refused.returncode == 2 and "not empty" in refused.stderr
    assert exp(proj, cache, "runs", "download", "1", "--to", str(dest), "--force").returncode == 0
    # By default beside the project, never inside it: the next snapshot would take it in.
    restored = exp(proj / "aml_config", cache, "runs", "restore", "1")
    assert restored.returncode == 0, restored.stderr
    code = tmp_path / "proj-run-1-code"
    assert restored.stdout.strip().endswith(f"written to {code}")
    assert (code / "train.py").read_text() == TRAIN
    assert (code / "aml_config" / "fake.runconfig").exists()
    assert not (code / ".exp").exists()
    again = exp(proj, cache, "runs", "restore", "1")
    assert again.returncode == 2 and "not empty" in again.stderr and "--force" in again.stderr
    outputs = exp(proj, cache, "runs", "download", "1")
    assert outputs.returncode == 0, outputs.stderr
    assert (tmp_path / "proj-run-1-outputs" / "model.txt").read_text() == "m"
    assert sorted(p.name for p in proj.iterdir()) == [".exp", "aml_config", "long.py", "train.py"]
    # So a later run's snapshot holds the project's files only.
    exp(proj, cache, "run", "-c", "fake", "train.py")
    later = tmp_path / "later"
    assert exp(proj, cache, "runs", "restore", "2", "--to", str(later)).returncode == 0
    assert sorted(p.name for p in later.iterdir()) == ["aml_config", "long.py", "train.py"]


def test_runs_commands_outside_a_project(tmp_path: Path, cache: Path) -> None:
    result = exp(tmp_path, cache, "runs", "list")
    assert result.returncode == 2 and "not inside an expkit project" in result.stderr


def test_exp_process_handles_a_closed_stdout(proj: Path, cache: Path) -> None:
    script = "import sys\nfor i in range(20000): print('line', i)\n"
    (proj / "chatty.py").write_text(script)
    proc = exp_popen(proj, cache, "run", "-c", "fake", "chatty.py")
    proc.stdout.readline()
    proc.stdout.close()  # like `exp run ... | head -1`
    proc.wait(timeout=60)
    assert proc.returncode == 0
    record = show(proj, cache, "1")
    assert record["status"] == "completed"
    log = subprocess.run(
        ["wc", "-l"],
        input=exp(proj, cache, "runs", "logs", "1").stdout,
        capture_output=True,
        text=True,
    )
    assert log.stdout.strip() == "20000"


@pytest.mark.parametrize(
    "how", [["--debug"], ["env:EXPKIT_DEBUG=1"]], ids=["--debug", "EXPKIT_DEBUG"]
)
@pytest.mark.parametrize(
    "command",
    [
        ["run", "-c", "nope", "train.py"],  # the start-up fast path
        ["run", "-c", "fake", "absent.py"],
        ["runconfig", "show", "nope"],  # the full CLI
        ["run", "-c", "fake", "--json", "train.py"],  # an infrastructure error: exit 3
    ],
)
def test_exit_code_never_depends_on_debug(
    proj: Path, cache: Path, how: list[str], command: list[str]
) -> None:
    env = {"FAKE_PREPARE": "fail"} if "--json" in command else {}
    plain = exp(proj, cache, *command, env=env)
    assert plain.returncode in (2, 3), plain.stderr
    assert "Traceback" not in plain.stderr
    if how == ["--debug"]:
        debug = exp(proj, cache, "--debug", *command, env=env)
    else:
        debug = exp(proj, cache, *command, env={**env, "EXPKIT_DEBUG": "1"})
    assert debug.returncode == plain.returncode, debug.stderr
    assert "Traceback (most recent call last)" in debug.stderr
    error = [line for line in plain.stderr.splitlines() if line.startswith("exp: error:")]
    assert error and error[0] in debug.stderr.splitlines()
