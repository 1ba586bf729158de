"""Runs on the docker target through the real `exp` CLI and a real dockerd."""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import signal
import time

import pytest
from docker_e2e import containers_with_label, docker_compute, prepare_json, record

pytestmark = pytest.mark.docker

SCRIPT = """
import json, os, sys
from expkit import log
print("hello from", sys.executable, flush=True)
print("to stderr", file=sys.stderr, flush=True)
os.makedirs("outputs/sub", exist_ok=True)
with open("outputs/sub/result.txt", "w") as f:
    f.write("result\\n")
log("accuracy", 0.5)
log("accuracy", 0.93)
sys.exit(int(sys.argv[1]))
"""


def test_run_streams_output_collects_outputs_and_metrics(docker_project):
    docker_project.write("train.py", SCRIPT)
    result = docker_project.exp("run", "-c", "docker", "train.py", "0")
    assert result.returncode == 0, result.output
    assert "hello from /opt/expkit/env/bin/python" in result.stdout
    assert "to stderr" in result.stdout
    rec = record(docker_project)
    assert rec["status"] == "completed" and rec["exit_code"] == 0
    assert rec["metrics"] == {"accuracy": 0.93}
    assert rec["series"] == {"accuracy": [0.5, 0.93]}
    assert rec["outputs"] == ["sub/result.txt"]
    # The environment the run used is the one `exp prepare` reports, with its packages.
    prepared = prepare_json(docker_project)
    assert prepared["cached"] is True
    assert (rec["env_id"], rec["packages"]) == (prepared["env_id"], prepared["packages"])
    assert len(rec["env_id"]) == 16 and int(rec["env_id"], 16) >= 0
    out = docker_project.root / ".exp" / "runs" / rec["id"] / "outputs" / "sub" / "result.txt"
    assert out.read_text() == "result\n"
    assert out.stat().st_uid == os.getuid()
    # The user's own files are never touched by a run.
    assert not (docker_project.root / "outputs").exists()


def test_failing_script_outputs_collected_and_exit_code_returned(docker_project):
    docker_project.write("train.py", SCRIPT)
    result = docker_project.exp("run", "-c", "docker", "train.py", "7")
    assert result.returncode == 7, result.output
    rec = record(docker_project)
    assert rec["status"] == "failed" and rec["exit_code"] == 7
    assert rec["outputs"] == ["sub/result.txt"]
    assert rec["metrics"] == {"accuracy": 0.93}


HOSTILE_ARGS = [
    "two words",
    'it\'s "quoted"',
    "$(touch /tmp/pwned)",
    "`id`",
    "a\nb",
    "ünï ☃",
    "--lr",
    "-c",
    "",
]


def test_hostile_args_and_env_values_reach_the_script_literally(docker_project):
    docker_project.write(
        "aml_config/docker.runconfig",
        """
        ArgumentVector: ["$file", "--fixed", "$(echo no)"]
        Target: docker
        EnvironmentVariables:
          HOSTILE: "$(rm -rf /) `id` 'q' \\"dq\\" ☃"
        Framework: Python
        CondaDependenciesFile: aml_config/conda_dependencies.yml
    """,
    )
    docker_project.write(
        "echo.py",
        """
        import json, os, sys
        with open("outputs/args.json", "w", encoding="utf-8") as f:
            json.dump({"argv": sys.argv[1:], "env": os.environ["HOSTILE"]}, f)
    """,
    )
    result = docker_project.exp("run", "-c", "docker", "echo.py", *HOSTILE_ARGS)
    assert result.returncode == 0, result.output
    rec = record(docker_project)
    seen = json.loads(
        (docker_project.root / ".exp/runs" / rec["id"] / "outputs/args.json").read_text("utf-8")
    )
    assert seen["argv"] == ["--fixed", "$(echo no)", *HOSTILE_ARGS]
    assert seen["env"] == "$(rm -rf /) `id` 'q' \"dq\" ☃"


def test_shared_volumes_mount_the_snapshot(docker_project):
    docker_project.write("aml_config/docker.compute", docker_compute(sharedVolumes=True))
    docker_project.write(
        "check.py",
        """
        import os
        mounts = open("/proc/self/mountinfo").read()
        print("mounted:", " /expkit/project " in mounts)
        with open("outputs/where.txt", "w") as f:
            f.write(os.getcwd())
    """,
    )
    result = docker_project.exp("run", "-c", "docker", "check.py")
    assert result.returncode == 0, result.output
    assert "mounted: True" in result.stdout
    rec = record(docker_project)
    assert rec["outputs"] == ["where.txt"]


def test_native_shared_directory_is_mounted_and_named_by_env_var(docker_project, tmp_path):
    shared = tmp_path / "share"
    shared.mkdir()
    (shared / "from_host.txt").write_text("host data")
    docker_project.write(
        "aml_config/docker.compute", docker_compute(nativeSharedDirectory=str(shared))
    )
    docker_project.write(
        "share.py",
        """
        import os
        d = os.environ["EXPKIT_SHARED_DIR"]
        print("read:", open(os.path.join(d, "from_host.txt")).read())
        open(os.path.join(d, "from_run.txt"), "w").write("run data")
    """,
    )
    result = docker_project.exp("run", "-c", "docker", "share.py")
    assert result.returncode == 0, result.output
    assert "read: host data" in result.stdout
    assert (shared / "from_run.txt").read_text() == "run data"


def test_ctrl_c_streams_live_then_kills_and_removes_the_container(docker_project):
    docker_project.write(
        "slow.py",
        """
        import time
        open("outputs/partial.txt", "w").write("written before the cancel")
        print("started", flush=True)
        time.sleep(120)
        print("never")
    """,
    )
    proc = docker_project.popen("run", "-c", "docker", "slow.py")
    try:
        started = time.monotonic()
        line = proc.stdout.readline()
        # Live: the first line arrives while the script still sleeps.
        assert line.strip() == "started", line + proc.stderr.read()
        # This run's container (not any run's): labelled with this run's id.
        run_id = record(docker_project)["id"]
        assert len(containers_with_label(f"expkit.run={run_id}")) == 1
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130, out + err
    assert time.monotonic() - started < 30
    rec = record(docker_project)
    assert rec["status"] == "canceled" and rec["id"] == run_id
    assert rec["outputs"] == ["partial.txt"]
    assert containers_with_label(f"expkit.run={run_id}") == []
    assert "never" not in out


def test_missing_script_is_a_clear_error(docker_project):
    result = docker_project.exp("run", "-c", "docker", "nope.py")
    assert result.returncode == 2, result.output
    assert "nope.py" in result.stderr
    assert "Traceback" not in result.output


def test_nvidia_docker_requests_gpus_from_the_engine(docker_project):
    # No GPU here: the engine refuses the device request, and says so clearly.
    docker_project.write("aml_config/docker.compute", docker_compute(nvidiaDocker=True))
    docker_project.write("gpu.py", "print('ran')\n")
    result = docker_project.exp("run", "-c", "docker", "gpu.py")
    assert result.returncode == 3, result.output
    assert "nvidiaDocker" in result.stderr and "NVIDIA Container Toolkit" in result.stderr
    assert "Traceback" not in result.output


def test_engine_unreachable_is_a_clear_error(docker_project, tmp_path):
    docker_project.write("x.py", "print('x')\n")
    dead = tmp_path / "dead.sock"
    result = docker_project.exp(
        "run", "-c", "docker", "x.py", env={"DOCKER_HOST": f"unix://{dead}"}
    )
    assert result.returncode == 3, result.output
    assert f"cannot reach the Docker engine at unix://{dead}" in result.stderr
    assert "systemctl start docker" in result.stderr and "DOCKER_HOST" in result.stderr
    assert "scripts/" not in result.stderr  # only a clone of the repository has those
    assert "Traceback" not in result.output


ODD_NAME = "pd:x ü ☃"  # ":" broke "host:container" bind strings; a space and unicode too


def test_colon_space_and_unicode_in_host_paths_mount_cleanly(docker_project, tmp_path):
    """The project, its run folder (metrics mount), sharedVolumes and nativeSharedDirectory."""
    root = tmp_path / ODD_NAME / "project"
    shutil.copytree(docker_project.root, root)
    project = dataclasses.replace(docker_project, root=root)
    shared = tmp_path / f"share {ODD_NAME}"
    shared.mkdir()
    (shared / "in.txt").write_text("host data")
    project.write(
        "odd.py",
        """
        import os
        from expkit import log
        print("read:", open(os.path.join(os.environ["EXPKIT_SHARED_DIR"], "in.txt")).read())
        open("outputs/out.txt", "w").write(os.getcwd())
        log("ok", 1)
    """,
    )
    for number, shared_volumes in enumerate((True, False), start=1):
        project.write(
            "aml_config/docker.compute",
            docker_compute(sharedVolumes=shared_volumes, nativeSharedDirectory=str(shared)),
        )
        result = project.exp("run", "-c", "docker", "odd.py")
        assert result.returncode == 0, result.output
        assert "read: host data" in result.stdout
        rec = record(project, str(number))
        assert rec["status"] == "completed", rec
        assert rec["metrics"] == {"ok": 1} and rec["outputs"] == ["out.txt"]
