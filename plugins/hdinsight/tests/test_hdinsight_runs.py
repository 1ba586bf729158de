"""Detached runs on a real head node, without Spark (``Framework: Python``): what is
left running when ``exp`` dies is found and stopped by run id; a run's files are
where the docs say."""

from __future__ import annotations

import time
from pathlib import Path

from expkit.model import ComputeTarget, PrepareRequest
from expkit.testing import SLEEP_SCRIPT
from expkit.testing.runs import make_run_context
from expkit_hdinsight.execution import ALIVE, run_dir
from expkit_hdinsight.hooks import plugin
from expkit_hdinsight.settings import connect

SECRET = "s3cr3t-'quoted' $(not run) value"


def _compute(remote, home: Path) -> ComputeTarget:
    return ComputeTarget(
        name="myhdi", type="cluster", address=remote.address, port=remote.port,
        username=remote.user, key_file=str(home / ".ssh" / "id_ed25519"),
    )  # fmt: skip


def test_stop_orphan_stops_a_run_whose_exp_died(remote, ssh_home: Path, tmp_path: Path) -> None:
    compute = _compute(remote, ssh_home)
    target = plugin.target
    run = make_run_context(tmp_path, compute, SLEEP_SCRIPT, env={"API_TOKEN": SECRET})
    request = PrepareRequest(project=run.project, compute=compute, runconfig=run.runconfig,
                             environment=None, spark=None)  # fmt: skip
    execution = target.submit(run, target.prepare(request))
    conn = connect(compute)
    folder = run_dir(run.run_id)
    deadline = time.monotonic() + 30
    while b"contract: sleeping" not in (conn.read_file(f"{folder}/log.txt") or b""):
        assert time.monotonic() < deadline, "the run did not start"
        time.sleep(0.2)
    # The run's variables are in a file only its user reads, not in any process's arguments.
    assert SECRET not in conn.run(["ps", "-eo", "args"]).text()
    assert conn.run(["stat", "-c", "%a", f"{folder}/run.sh"]).text().strip() == "700"
    # `exp` is gone (nothing calls wait or cancel): the history asks the plugin by run id.
    assert conn.script(ALIVE, folder).ok
    assert target.stop_orphan(compute, run.run_id, run.run_dir) is True
    deadline = time.monotonic() + 20
    while conn.script(ALIVE, folder).ok:
        assert time.monotonic() < deadline, "the run's process group is still alive"
        time.sleep(0.2)
    assert target.stop_orphan(compute, run.run_id, run.run_dir) is False
    # Its log and exit code stay in the remote run folder (a signal: 128 + 15).
    assert conn.read_file(f"{folder}/exit_code").strip() == b"143"
    assert execution.poll() == 143


def test_run_script_quotes_every_value() -> None:
    from expkit_hdinsight.execution import run_script

    text = run_script({"B": "it's $HOME", "A": "x\ny"}, ["spark-submit", "a b", "--conf", "k=v;rm"])
    assert text == (
        "export A='x\ny'\nexport B='it'\"'\"'s $HOME'\nexec spark-submit 'a b' --conf 'k=v;rm'\n"
    )
