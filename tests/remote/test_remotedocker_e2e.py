"""``exp`` against the remote test host: Docker on a "VM" over SSH, end to end.

The host (scripts/remote/up.sh) is a network namespace with its own sshd and
its own dockerd: images and containers these tests make live there, never on
this machine's engine.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import uuid
from pathlib import Path

import pytest
import remotehost
from e2e import (
    assert_cleaned_up,
    fingerprints,
    record,
    release,
    run_containers,
    setup_project,
    ssh_client_ports,
    started,
    wait_until,
)

pytestmark = pytest.mark.slow

TRAIN = """
import json, os, sys
from expkit import log
print("started", flush=True)
print(json.dumps({"argv": sys.argv[1:], "env": os.environ.get("HOSTILE")}), flush=True)
log("accuracy", 0.93)
os.makedirs("outputs", exist_ok=True)
with open("outputs/model.txt", "w") as f:
    f.write("weights\\n")
print("finished", flush=True)
"""
#: slow.py [CODE]: "started"; waits for the test to create ``go`` in the run's folder
#: on the VM (release()), at most 120 s; outputs and a metric, "finished", exit CODE.
SLOW = """
import os, sys, time
from expkit import log
print("started", flush=True)
deadline = time.time() + 120
while not os.path.exists("/expkit/run/go") and time.time() < deadline:
    time.sleep(0.1)
log("accuracy", 0.93)
os.makedirs("outputs", exist_ok=True)
with open("outputs/model.txt", "w") as f:
    f.write("weights\\n")
print("finished", flush=True)
sys.exit(int(sys.argv[1]) if len(sys.argv) > 1 else 0)
"""
HOSTILE = ["a b", "it's", 'say "hi"', "$(touch /tmp/pwned-expkit)", "`id`", "; rm -rf ~",
           "two\nlines", "ünïcødé", "*", "-n", ""]  # fmt: skip


@pytest.fixture
def vm(project, remote, tmp_path):
    setup_project(project, remote, tmp_path)
    project.write("train.py", TRAIN)
    project.write("slow.py", SLOW)
    return project


def test_run_on_the_vm_builds_there_and_passes_everything_literally(vm, remote) -> None:
    (vm.root / "aml_config" / "conda_dependencies.yml").write_text(
        "dependencies:\n  - python=3.11\n  - pip:\n    - six==1.16.0\n"
    )
    vm.write(
        "aml_config/gpuvm.runconfig",
        """
        ArgumentVector: ["$file"]
        Target: gpuvm
        CondaDependenciesFile: aml_config/conda_dependencies.yml
        EnvironmentVariables:
          HOSTILE: "$(id); x\\n'y'"
    """,
    )
    result = vm.exp("run", "-c", "gpuvm", "train.py", *HOSTILE)
    assert result.returncode == 0, result.output
    seen = json.loads(next(line for line in result.stdout.splitlines() if line.startswith("{")))
    assert seen["argv"] == HOSTILE
    assert seen["env"] == "$(id); x\n'y'"
    assert not os.path.exists("/tmp/pwned-expkit")
    run = record(vm, "1")
    assert run["status"] == "completed" and run["metrics"] == {"accuracy": 0.93}
    assert run["outputs"] == ["model.txt"]
    assert any(p.startswith("six==") for p in run["packages"])
    # The environment image is on the VM's engine; the run left nothing there.
    tag = f"expkit-env:{run['env_id']}"
    assert remote.docker("image", "inspect", tag).returncode == 0
    assert_cleaned_up(remote, run["id"])
    listed = vm.exp("env", "list", "-c", "gpuvm", "--json")
    assert listed.returncode == 0 and run["env_id"] in listed.stdout

    # A second run after a one-line edit sends only that file (and its trees).
    vm.write("train.py", TRAIN + f"\n# edited {uuid.uuid4()}\n")  # new to the VM's store
    again = vm.exp("run", "-c", "gpuvm", "train.py")
    assert again.returncode == 0, again.output
    assert "building" not in again.output  # the warm environment: a tag lookup
    assert "sent 2 new file(s)" in again.stderr


def test_cut_connection_detaches_and_logs_follow_collects(vm, remote) -> None:
    proc = vm.popen("run", "-c", "gpuvm", "slow.py", "3")
    folder = started(vm)
    for port in ssh_client_ports(proc.pid, remote):
        remotehost.kill_session(remote, port)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 75, out + err
    assert "goes on" in err and "exp runs logs -f 1" in err
    assert record(vm, "1")["status"] == "running"
    assert run_containers(remote, folder.name), "the run goes on on the VM"

    release(remote, folder.name)
    follow = vm.exp("runs", "logs", "-f", "1")
    assert follow.returncode == 0, follow.output
    assert "finished" in follow.stdout
    run = record(vm, "1")
    assert run["status"] == "failed" and run["exit_code"] == 3
    assert run["outputs"] == ["model.txt"] and run["metrics"] == {"accuracy": 0.93}
    log = (folder / "log.txt").read_text()
    assert log.count("started") == 1 and log.count("finished") == 1
    assert_cleaned_up(remote, run["id"])


def test_killed_exp_then_runs_list_collects_when_the_run_ends(vm, remote) -> None:
    proc = vm.popen("run", "-c", "gpuvm", "slow.py")
    folder = started(vm)
    proc.kill()
    proc.wait(timeout=30)
    listed = vm.exp("runs", "list")
    assert listed.returncode == 0 and "running" in listed.stdout, listed.output
    assert run_containers(remote, folder.name), "the run goes on on the VM"
    release(remote, folder.name)

    def collected():
        vm.exp("runs", "list")
        return record(vm, "1")["status"] != "running"

    wait_until(collected, 60, "the run to be collected by `exp runs list`")
    run = record(vm, "1")
    assert run["status"] == "completed" and run["outputs"] == ["model.txt"]
    assert "finished" in (folder / "log.txt").read_text()
    assert run_containers(remote, run["id"]) == []


def test_ctrl_c_kills_the_container_on_the_vm(vm, remote) -> None:
    proc = vm.popen("run", "-c", "gpuvm", "slow.py")
    folder = started(vm)
    assert run_containers(remote, folder.name)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, out + err
    assert record(vm, "1")["status"] == "canceled"
    assert_cleaned_up(remote, folder.name)


def test_runs_cancel_stops_a_detached_run_on_the_vm(vm, remote) -> None:
    proc = vm.popen("run", "-c", "gpuvm", "slow.py")
    folder = started(vm)
    proc.kill()  # nobody follows it any more
    proc.wait(timeout=30)
    canceled = vm.exp("runs", "cancel", "1")
    assert canceled.returncode == 0, canceled.output
    assert record(vm, "1")["status"] == "canceled"
    assert_cleaned_up(remote, folder.name)


def test_host_keys_unknown_and_changed_are_refused(project, remote, tmp_path) -> None:
    setup_project(project, remote, tmp_path, attach=False)
    home = tmp_path / "home"
    (home / ".ssh" / "known_hosts").unlink()
    args = ("target", "attach", "--name", "gpuvm", "--type", "remotedocker",
            "--address", remote.address, "--username", remote.user)  # fmt: skip
    unknown = project.exp(*args)
    assert unknown.returncode == 2 and "Traceback" not in unknown.stderr
    offered = remotehost.host_fingerprint(remote)
    assert set(fingerprints(unknown.stderr)) == {offered} and "--trust-host-key" in unknown.stderr
    assert not (project.root / "aml_config" / "gpuvm.compute").exists()
    trusted = project.exp(*args, "--trust-host-key", offered)
    assert trusted.returncode == 0, trusted.output

    other = tmp_path / "other"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(other)], check=True)
    key = " ".join((tmp_path / "other.pub").read_text().split()[:2])
    (home / ".ssh" / "known_hosts").write_text(f"{remote.address} {key}\n")
    project.write("train.py", "print('never runs')\n")
    changed = project.exp("run", "-c", "gpuvm", "train.py")
    assert changed.returncode == 2, changed.output
    assert "CHANGED" in changed.stderr
    assert set(fingerprints(changed.stderr)) >= {offered, remotehost.host_fingerprint_of(
        f"{other}.pub")}  # fmt: skip


def test_workbench_password_works_with_a_warning_and_goes_nowhere(project, remote,
                                                                    tmp_path) -> None:  # fmt: skip
    setup_project(project, remote, tmp_path, attach=False)
    (tmp_path / "home" / ".ssh" / "id_ed25519").unlink()  # the password is the only way in
    secret = remote.password
    project.write("aml_config/gpuvm.compute", f"""
        type: remotedocker
        address: {remote.address}
        username: {remote.password_user}
        password: {secret}
        baseDockerImage: {remote.base_image}
    """)  # fmt: skip
    project.write("aml_config/gpuvm.runconfig", 'ArgumentVector: ["$file"]\nTarget: gpuvm\n')
    project.write("train.py", "print('ran with a password')\n")
    result = project.exp("run", "-c", "gpuvm", "train.py")
    assert result.returncode == 0, result.output
    assert "ran with a password" in result.stdout
    assert "password" in result.stderr and "keyFile" in result.stderr  # how to move to keys
    assert secret not in result.output
    # Nothing expkit wrote holds it: the history (records, index, snapshot objects) and
    # the user cache (parsed-YAML cache, working copies, the VM's object cache).
    from expkit.testing.secrets import find_marker

    cache = Path(project.env["EXPKIT_CACHE_DIR"])
    assert find_marker([project.root / ".exp", cache], secret) == []
    remote_home = f"/home/{remote.password_user}"
    found = subprocess.run(["grep", "-rl", secret, remote_home], capture_output=True, text=True)
    assert found.stdout == "", f"the password reached the VM: {found.stdout}"
