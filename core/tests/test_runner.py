"""The run lifecycle in process, with the fake target: statuses, outputs, metrics, errors."""

from __future__ import annotations

import io
import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
from expkit.errors import InfrastructureError, UsageError
from expkit.history import History
from expkit.hookspecs import hookimpl
from expkit.progress import PlainProgress
from expkit.runner import build_argv, exit_code_of, run_experiment
from expkit.runner.lifecycle import submit_phases
from fake_target import cache_env, fake_registry, resolved_run  # noqa: F401 - fixtures

SCRIPT = """\
import json, os, sys
from expkit import log
print("argv=" + json.dumps(sys.argv[1:]))
names = ("GREETING", "EXPKIT_RUN_NUMBER", "EXPKIT_TARGET")
print("env=" + json.dumps({k: os.environ.get(k) for k in names}))
print("to stderr", file=sys.stderr, flush=True)
log("accuracy", 0.5)
log("accuracy", 0.93)
log("curve", [1, 2, 3])
os.makedirs("outputs/sub", exist_ok=True)
open("outputs/model.txt", "w").write("weights")
open("outputs/sub/extra.txt", "w").write("x")
open("scratch.txt", "w").write("written in the working copy only")
sys.exit(int(os.environ.get("EXIT_WITH", "0")))
"""


class Events:
    """Records lifecycle events; optionally fails in them."""

    def __init__(self, fail: bool = False) -> None:
        self.seen: list[tuple[str, str]] = []
        self.fail = fail

    @hookimpl
    def expkit_run_started(self, record):
        self.seen.append(("started", record.status))
        if self.fail:
            raise RuntimeError("tracker is down")

    @hookimpl
    def expkit_run_finished(self, record):
        self.seen.append(("finished", record.status))
        if self.fail:
            raise RuntimeError("tracker is down")


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "proj"
    (root / "aml_config").mkdir(parents=True)
    (root / "train.py").write_text(SCRIPT, encoding="utf-8")
    return root


def run(project: Path, *args: str, **kw):
    terminal = io.StringIO()
    notes: list[str] = []
    runconfig = kw.pop("runconfig", {})
    record = run_experiment(
        resolved_run(project, **runconfig),
        kw.pop("script", "train.py"),
        args,
        cwd=project,
        terminal=terminal,
        note=notes.append,
        **kw,
    )
    return record, terminal.getvalue(), notes


def test_a_plugins_submit_steps_are_recorded_before_submit(project: Path, fake_registry,
                                                            cache_env) -> None:  # fmt: skip
    """Execution.phases splits the submit: each step's seconds, in order, still adding
    up to the run's duration."""
    _, plugin = fake_registry
    plugin.submit_phases = lambda: {"upload": time.time(), "container": time.time()}
    record, _, _ = run(project)
    assert list(record.timings) == [
        "snapshot", "prepare", "upload", "container", "submit", "run", "collect"
    ]  # fmt: skip
    assert all(t >= 0 for t in record.timings.values())
    assert abs(sum(record.timings.values()) - record.duration_s) < 0.05


@pytest.mark.parametrize(
    "phases",
    [
        {"submit": 0.5},  # a core phase's name
        {"upload": 0.5, "start": 0.4},  # out of order
        {"upload": 2.0},  # after the submit returned
        {"upload": 0.0},  # before the prepare ended
        {"up load": 0.5},  # not a name
        {"upload": "0.5"},  # not a time
        {"upload": True},
        [("upload", 0.5)],  # not a mapping
    ],
)
def test_submit_steps_that_make_no_sense_are_dropped(phases) -> None:
    class Execution:
        pass

    execution = Execution()
    execution.phases = phases  # type: ignore[attr-defined]
    assert submit_phases(execution, 0.1, 1.0) == {}


def test_submit_steps_kept_as_given() -> None:
    class Execution:
        phases = {"upload": 0.2, "start": 0.2, "mount": 0.9}

    assert submit_phases(Execution(), 0.1, 1.0) == {"upload": 0.2, "start": 0.2, "mount": 0.9}
    assert submit_phases(object(), 0.1, 1.0) == {}


def test_completed_run(project: Path, fake_registry, cache_env) -> None:
    registry, plugin = fake_registry
    events = Events()
    registry.register(events, "events")
    record, out, _ = run(
        project, "--lr", "0.1", runconfig={"environment_variables": {"GREETING": "hi"}}
    )
    assert record.status == "completed" and record.exit_code == 0 and exit_code_of(record) == 0
    assert events.seen == [("started", "preparing"), ("finished", "completed")]
    assert plugin.calls == ["prepare", "submit", "collect"]
    assert (record.number, record.target, record.runconfig, record.script) == (
        1,
        "fake",
        "fake",
        "train.py",
    )
    assert record.args == ("--lr", "0.1")
    assert record.metrics == {"accuracy": 0.93, "curve": [1, 2, 3]}
    assert record.series == {"accuracy": (0.5, 0.93), "curve": ([1, 2, 3],)}
    assert record.outputs == ("model.txt", "sub/extra.txt")
    assert record.env_id == "fakeenv" and record.packages == ("fake==1.0",)
    assert record.snapshot_id and record.ended >= record.started and record.duration_s >= 0
    # Each phase's time, in order, adding up to the run's duration.
    assert list(record.timings) == ["snapshot", "prepare", "submit", "run", "collect"]
    assert all(t >= 0 for t in record.timings.values())
    assert abs(sum(record.timings.values()) - record.duration_s) < 0.05
    assert 'argv=["--lr", "0.1"]' in out and "to stderr" in out
    assert 'env={"GREETING": "hi", "EXPKIT_RUN_NUMBER": "1", "EXPKIT_TARGET": "fake"}' in out
    with History(project) as history:
        assert history.get("1") == record
        run_dir = history.run_dir(record.id)
    assert (run_dir / "log.txt").read_text() == out
    assert (run_dir / "outputs/model.txt").read_text() == "weights"
    # The user's project is never written to by a run; the working copy is gone.
    assert not (project / "scratch.txt").exists() and not (project / "outputs").exists()
    assert not any((cache_env / "work").iterdir())


def test_failed_script_keeps_outputs_and_exit_code(
    project: Path, fake_registry, cache_env, monkeypatch
) -> None:
    monkeypatch.setenv("EXIT_WITH", "7")
    record, _, _ = run(project)
    assert record.status == "failed" and record.exit_code == 7 and exit_code_of(record) == 7
    assert record.error is None
    assert record.outputs == ("model.txt", "sub/extra.txt")
    assert record.metrics["accuracy"] == 0.93


HOSTILE = [
    "two words",
    'it\'s "quoted"',
    "$(touch /tmp/expkit-pwned)",
    "`id`",
    "a\nnew line",
    "ünïcødé ✓",
    "",
    "--flag",
    "-c",
    "x;y|z&",
    "*",
]


def test_hostile_args_and_env_values_pass_literally(
    project: Path, fake_registry, cache_env
) -> None:
    env_value = "$(echo no) ; 'q' \"qq\" \n ✓"
    record, out, _ = run(
        project, *HOSTILE, runconfig={"environment_variables": {"GREETING": env_value}}
    )
    assert record.args == tuple(HOSTILE)
    lines = dict(
        line.split("=", 1) for line in out.splitlines() if line.startswith(("argv=", "env="))
    )
    assert json.loads(lines["argv"]) == HOSTILE
    assert json.loads(lines["env"])["GREETING"] == env_value
    assert not Path("/tmp/expkit-pwned").exists()


def test_argument_vector(project: Path, fake_registry, cache_env) -> None:
    assert build_argv(("-u", "$file", "--x"), "a b.py", ["1"]) == ("-u", "a b.py", "--x", "1")
    assert build_argv(("$file",), "s.py", ["$file"]) == (
        "s.py",
        "$file",
    )  # CLI args are never substituted
    record, out, _ = run(project, "tail", runconfig={"argument_vector": ("$file", "fixed arg")})
    assert json.loads(out.splitlines()[0].split("=", 1)[1]) == ["fixed arg", "tail"]


def test_script_in_a_subfolder_run_from_there(project: Path, fake_registry, cache_env) -> None:
    (project / "src").mkdir()
    shutil.move(project / "train.py", project / "src" / "train.py")
    record = run_experiment(
        resolved_run(project), "train.py", (), cwd=project / "src", terminal=io.StringIO()
    )
    assert record.script == "src/train.py" and record.status == "completed"


def test_missing_or_outside_script_is_refused_before_any_record(
    project: Path, tmp_path: Path, fake_registry, cache_env
) -> None:
    with pytest.raises(
        UsageError, match=r"script 'nope.py' not found: .*nope.py does not exist \(project root: "
    ):
        run(project, script="nope.py")
    (tmp_path / "elsewhere.py").write_text("")
    with pytest.raises(UsageError, match="outside the project"):
        run(project, script=str(tmp_path / "elsewhere.py"))
    assert not (project / ".exp").exists()


def test_ignored_script_fails_the_run_clearly(project: Path, fake_registry, cache_env) -> None:
    (project / ".amlignore").write_text("train.py\n")
    with pytest.raises(UsageError, match="excluded from the project snapshot") as info:
        run(project)
    record = info.value.run_record
    assert record.status == "failed" and "excluded" in record.error
    with History(project) as history:
        assert history.get("1").status == "failed"


def test_prepare_failure_is_recorded_and_raised(
    project: Path, fake_registry, cache_env, monkeypatch
) -> None:
    registry, plugin = fake_registry
    events = Events()
    registry.register(events, "events")
    monkeypatch.setenv("FAKE_PREPARE", "fail")
    with pytest.raises(InfrastructureError, match="fake build failed") as info:
        run(project)
    record = info.value.run_record
    assert record.status == "failed" and "step 2/3" in record.error and record.exit_code is None
    assert record.snapshot_id  # the code that was about to run is kept
    assert exit_code_of(record) == 3
    assert plugin.calls == ["prepare"]
    assert events.seen == [("started", "preparing"), ("finished", "failed")]


def test_failing_event_hooks_only_warn(project: Path, fake_registry, cache_env) -> None:
    registry, _ = fake_registry
    registry.register(Events(fail=True), "events")
    record, _, notes = run(project)
    assert record.status == "completed"
    assert len([n for n in notes if "tracker is down" in n and "'events'" in n]) == 2


def test_untracked_run_keeps_a_minimal_record(project: Path, fake_registry, cache_env) -> None:
    record, _, _ = run(project, runconfig={"tracked_run": False})
    assert record.status == "completed" and record.snapshot_id is None and record.git_commit is None
    assert record.outputs and record.metrics
    assert not (project / ".exp" / "snapshots").exists()


def test_target_without_a_local_working_copy(
    project: Path, fake_registry, cache_env, monkeypatch
) -> None:
    """TargetType.local_working_copy=False: a tracked run gets none (the target reads
    the stored snapshot); an untracked one, which has no stored snapshot, still does."""
    import dataclasses

    import fake_target

    registry, plugin = fake_registry
    seen: list[bool] = []
    submit = plugin.expkit_submit

    def spy(run, environment):
        seen.append(run.snapshot.exists())
        run.snapshot.mkdir(parents=True, exist_ok=True)  # the fake runs locally anyway
        shutil.copy(project / "train.py", run.snapshot / "train.py")
        return submit(run, environment)

    for impl in registry.pm.hook.expkit_submit.get_hookimpls():
        monkeypatch.setattr(impl, "function", spy)
    plain = fake_target.resolved_run

    def no_copy(root, **runconfig):
        resolved = plain(root, **runconfig)
        ttype = dataclasses.replace(resolved.target_type, local_working_copy=False)
        return dataclasses.replace(resolved, target_type=ttype)

    monkeypatch.setattr(sys.modules[__name__], "resolved_run", no_copy)
    tracked, _, _ = run(project)
    untracked, _, _ = run(project, runconfig={"tracked_run": False})
    assert tracked.status == untracked.status == "completed"
    assert seen == [False, True]


def test_forced_prepare_reports_progress(project: Path, fake_registry, cache_env) -> None:
    stream = io.StringIO()
    record, _, _ = run(project, progress=PlainProgress(stream), force_prepare=True)
    assert record.env_id == "fakeenv-forced"
    lines = stream.getvalue().splitlines()
    assert lines[0].endswith("] building fake environment") and lines[1].endswith(
        "  | pretend build output"
    )


def test_notes_of_the_resolved_run_are_shown(project: Path, fake_registry, cache_env) -> None:
    import dataclasses

    notes: list[str] = []
    resolved = dataclasses.replace(resolved_run(project), notes=("UseSampling is ignored",))
    run_experiment(resolved, "train.py", (), cwd=project, terminal=io.StringIO(), note=notes.append)
    assert notes == ["UseSampling is ignored"]


@pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")
def test_git_commit_and_dirty_state(project: Path, fake_registry, cache_env) -> None:
    def git(*args: str) -> str:
        return subprocess.run(
            ["git", "-c", "user.name=t", "-c", "user.email=t@example.invalid", *args],
            cwd=project,
            check=True,
            capture_output=True,
            text=True,
        ).stdout.strip()

    git("init", "-q")
    git("add", "-A")
    git("commit", "-q", "-m", "initial")
    head = git("rev-parse", "HEAD")
    record, _, _ = run(project)
    # The history store ignores itself, so running does not dirty the tree.
    assert (record.git_commit, record.git_dirty) == (head, False)
    (project / "train.py").write_text(SCRIPT + "\n# edited\n", encoding="utf-8")
    record, _, _ = run(project)
    assert (record.git_commit, record.git_dirty) == (head, True)


def test_no_git_repository_means_no_git_fields(project: Path, fake_registry, cache_env) -> None:
    record, _, _ = run(project)
    assert record.git_commit is None and record.git_dirty is None


class WarmUp:
    """Records expkit_warm_up calls: which compute, on which thread, while what ran."""

    def __init__(self, fail: bool = False) -> None:
        self.calls: list[tuple[str, bool]] = []
        self.fail = fail

    @hookimpl
    def expkit_warm_up(self, compute):
        import threading

        self.calls.append((compute.name, threading.current_thread() is threading.main_thread()))
        if self.fail:
            raise RuntimeError("the VM is asleep")


@pytest.mark.parametrize("fail", [False, True])
def test_warm_up_runs_once_beside_the_run_and_never_fails_it(
    project: Path, fake_registry, cache_env, fail: bool
) -> None:
    registry, plugin = fake_registry
    warm = WarmUp(fail=fail)
    registry.register(warm, "warm")
    record, _out, notes = run(project)
    assert record.status == "completed", notes
    import time

    deadline = time.monotonic() + 10  # a daemon thread: on a loaded machine it may lag
    while not warm.calls and time.monotonic() < deadline:
        time.sleep(0.01)
    assert warm.calls == [("fake", False)]  # the run's compute, off the main thread
    assert plugin.calls == ["prepare", "submit", "collect"]
    assert not any("asleep" in n for n in notes)  # ignored: prepare reports real failures
