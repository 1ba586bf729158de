"""Lost runs: the core asks the target's plugin to stop what they left, and deletes
their working copy (expkit.runner.orphans, `exp runs list` / `exp runs cancel`)."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from expkit.history import History
from expkit.hookspecs import hookimpl
from expkit.runner.orphans import clean_up
from fake_target import cache_env, exp, fake_registry, write_project  # noqa: F401 - fixtures

# Creates a run owned by this process, prints its id, then waits to be killed.
OWN_A_RUN = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from expkit.history import History
    history = History(Path(sys.argv[1]))
    record = history.create(target=sys.argv[2], runconfig="fake", script="s.py")
    print(record.id, flush=True)
    time.sleep(600)
    """
)


class Stopper:
    """An expkit_stop_orphan implementation that records its calls."""

    def __init__(self, result: bool | None = True, error: Exception | None = None) -> None:
        self.calls: list[tuple[str, str, str, Path]] = []
        self.result, self.error = result, error

    @hookimpl
    def expkit_stop_orphan(self, compute, run_id, run_dir):
        if compute.type != "fake":
            return None
        self.calls.append((compute.name, compute.type, run_id, run_dir))
        if self.error is not None:
            raise self.error
        return self.result


def lost_run(root: Path, target: str = "fake") -> str:
    """The id of a run whose owning process was SIGKILLed (so it is lost)."""
    proc = subprocess.Popen(
        [sys.executable, "-c", OWN_A_RUN, str(root), target], stdout=subprocess.PIPE, text=True
    )
    try:
        run_id = proc.stdout.readline().strip()
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
        proc.stdout.close()
    assert run_id
    return run_id


@pytest.fixture
def root(tmp_path: Path) -> Path:
    return write_project(tmp_path / "proj")


def working_copy(cache: Path, run_id: str) -> Path:
    folder = cache / "work" / run_id
    folder.mkdir(parents=True)
    (folder / "train.py").write_text("print(1)\n")
    return folder


def reap(root: Path) -> tuple[list, list[str]]:
    notes: list[str] = []
    with History(root) as history:
        done = clean_up(history, history.reap_lost(), notes.append)
    return done, notes


def test_lost_run_is_stopped_by_its_plugin_and_its_working_copy_deleted(
    root: Path, fake_registry, cache_env
) -> None:
    registry, _ = fake_registry
    stopper = Stopper(result=True)
    registry.register(stopper, "stopper")
    run_id = lost_run(root)
    work = working_copy(cache_env, run_id)
    [cleanup], notes = reap(root)
    assert cleanup.stopped is True and cleanup.record.id == run_id
    assert cleanup.record.status == "failed" and cleanup.record.error == "lost"
    [(name, ttype, called_id, run_dir)] = stopper.calls
    assert (name, ttype, called_id) == ("fake", "fake", run_id)
    assert run_dir == root / ".exp" / "runs" / run_id
    assert not work.exists()
    assert notes == [
        f"run {cleanup.record.number} was lost (the `exp` process running it died); "
        "stopped what it left running on target 'fake'."
    ]
    # Marked once: a second look finds nothing new and calls nobody.
    assert reap(root) == ([], [])
    assert len(stopper.calls) == 1


def test_compute_that_cannot_be_loaded_is_noted_and_the_rest_goes_on(
    root: Path, fake_registry, cache_env
) -> None:
    registry, _ = fake_registry
    stopper = Stopper()
    registry.register(stopper, "stopper")
    run_id = lost_run(root, target="gone")
    work = working_copy(cache_env, run_id)
    [cleanup], [note] = reap(root)
    assert cleanup.stopped is None and "'gone' cannot be loaded" in cleanup.problem
    assert "could not stop what it may have left running" in note
    assert stopper.calls == []
    assert not work.exists()


def test_a_failing_plugin_never_breaks_the_reaping(root: Path, fake_registry, cache_env) -> None:
    registry, _ = fake_registry
    registry.register(Stopper(error=RuntimeError("engine down")), "stopper")
    run_id = lost_run(root)
    [cleanup], _ = reap(root)
    assert cleanup.stopped is None
    assert "RuntimeError: engine down" in cleanup.problem
    with History(root) as history:
        assert history.get(run_id).error == "lost"


def test_runs_list_with_nothing_lost_reads_no_configuration(root: Path, cache_env) -> None:
    """The fast path: a broken aml_config does not matter while no run is lost."""
    (root / "train.py").write_text("print('ok')\n")
    assert exp(root, cache_env, "run", "-c", "fake", "train.py").returncode == 0
    (root / "aml_config" / "fake.compute").write_text("type: [unclosed\n")
    listed = exp(root, cache_env, "runs", "list", "--json")
    assert listed.returncode == 0, listed.stderr
    assert [r["status"] for r in json.loads(listed.stdout)] == ["completed"]
    assert listed.stderr == ""


def test_runs_list_survives_a_lost_run_with_a_broken_configuration(root: Path, cache_env) -> None:
    run_id = lost_run(root)
    (root / "aml_config" / "fake.compute").write_text("type: [unclosed\n")
    listed = exp(root, cache_env, "runs", "list", "--json")
    assert listed.returncode == 0, listed.stderr
    [record] = json.loads(listed.stdout)
    assert record["id"] == run_id and record["error"] == "lost"
    assert "run 1 was lost" in listed.stderr and "cannot be loaded" in listed.stderr


def test_cancel_of_a_run_without_a_known_owner_stops_it_as_lost(root: Path, cache_env) -> None:
    with History(root) as history:
        record = history.create(target="fake", runconfig="fake", script="s.py")
        history.conn.execute("UPDATE runs SET owner_pid = NULL WHERE id = ?", (record.id,))
        assert history.reap_lost() == []  # no owner known: never reaped on its own
    result = exp(root, cache_env, "runs", "cancel", "1", "--wait", "5")
    assert result.returncode == 0, result.stderr
    assert "run 1 was lost" in result.stdout
    shown = json.loads(exp(root, cache_env, "runs", "show", "1", "--json").stdout)
    assert shown["status"] == "failed" and shown["error"] == "lost"
