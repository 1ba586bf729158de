"""The local target's hooks, called through pluggy with values built here."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import expkit
import pytest
from expkit.errors import ConfigError
from expkit.model import AttachRequest, ComputeTarget, RunConfig, SparkSpec
from expkit.plugins import Registry, make_plugin_manager
from expkit_local import interpreter
from expkit_local.hooks import plugin
from local_helpers import Lines, make_run, prepare_request

HOSTILE = (
    "two words",
    'it\'s "quoted"',
    "$(touch pwned)",
    "`touch pwned`",
    "a\nb",
    "ünïcødé ✓",
    "*",
    "--flag",
    "",
)


@pytest.fixture
def hook():
    pm = make_plugin_manager(entry_points=False)
    registry = Registry(pm)
    registry.register(plugin, name="local")
    return registry.hook


def run_to_end(hook, run, **prepare_kw):
    env = hook.expkit_prepare(request=prepare_request(run.project, run.compute, **prepare_kw))
    execution = hook.expkit_submit(run=run, environment=env)
    lines = Lines()
    code = execution.wait(lines)
    collected = hook.expkit_collect(run=run, execution=execution)
    return code, lines, collected


def test_declares_the_local_type(hook):
    (types,) = hook.expkit_target_types()
    assert types[0].name == "local"
    assert types[0].package == "expkit-local"
    keys = {"pythonLocation", "userManagedEnvironment", "sparkSubmitLocation"}
    assert keys <= types[0].compute_keys


def test_foreign_types_get_none(hook, tmp_path):
    other = ComputeTarget(name="d", type="docker")
    request = AttachRequest(name="d", type="docker", project=tmp_path)
    assert hook.expkit_attach(request=request) is None
    assert hook.expkit_prepare(request=prepare_request(tmp_path, other)) is None
    run = make_run(tmp_path, "print(1)", compute=other)
    assert hook.expkit_submit(run=run, environment=None) is None
    assert hook.expkit_collect(run=run, execution=None) is None
    assert hook.expkit_list_environments(compute=other) is None
    assert hook.expkit_remove_environment(compute=other, env_id="x") is None


def test_attach_writes_workbench_shaped_files(hook, tmp_path):
    (tmp_path / "aml_config").mkdir()
    (tmp_path / "aml_config" / "conda_dependencies.yml").write_text("dependencies: []\n")
    result = hook.expkit_attach(request=AttachRequest(name="mine", type="local", project=tmp_path))
    assert dict(result.compute) == {"type": "local", "pythonLocation": "python"}
    assert dict(result.runconfig) == {
        "ArgumentVector": ["$file"],
        "Target": "mine",
        "Framework": "Python",
        "CondaDependenciesFile": "aml_config/conda_dependencies.yml",
        "EnvironmentVariables": {},
        "PrepareEnvironment": False,
        "TrackedRun": True,
    }


@pytest.mark.parametrize(
    ("option", "value", "flag"),
    [
        ("address", "10.0.0.1", "--address"),
        ("username", "me", "--username"),
        ("port", 22, "--port"),
        ("key_file", "~/.ssh/id", "--key-file"),
        ("base_image", "python:3.11", "--base-image"),
    ],
)
def test_attach_rejects_remote_options(hook, tmp_path, option, value, flag):
    request = AttachRequest(name="l", type="local", project=tmp_path, **{option: value})
    with pytest.raises(ConfigError) as err:
        hook.expkit_attach(request=request)
    assert flag in str(err.value)
    assert "runs on this machine" in str(err.value)


def test_run_args_env_outputs_metrics_and_exit_code(hook, tmp_path):
    run = make_run(
        tmp_path,
        """
        import json, os, sys
        from expkit import log
        log("accuracy", 0.93)
        with open(os.path.join("outputs", "args.json"), "w") as f:
            json.dump({"argv": sys.argv[1:], "env": os.environ["HOSTILE"],
                       "outputs": os.environ["EXPKIT_OUTPUTS_DIR"], "cwd": os.getcwd()}, f)
        os.makedirs("outputs/sub", exist_ok=True)
        open("outputs/sub/deep.txt", "w").write("x")
        print("failing on purpose", file=sys.stderr)
        sys.exit(7)
    """,
        args=HOSTILE,
        env={"HOSTILE": HOSTILE[3] + HOSTILE[4]},
    )
    code, lines, collected = run_to_end(hook, run)
    assert code == 7
    assert "failing on purpose\n" in lines.seen
    assert collected.outputs == ("args.json", "sub/deep.txt")
    seen = json.loads((run.outputs_dir / "args.json").read_text())
    assert seen["argv"] == list(HOSTILE)
    assert seen["env"] == HOSTILE[3] + HOSTILE[4]
    assert seen["cwd"] == str(run.snapshot)
    assert seen["outputs"] == str(run.snapshot / "outputs")
    assert not (run.snapshot / "pwned").exists()
    (metric,) = [json.loads(x) for x in run.metrics_file.read_text().splitlines()]
    assert (metric["name"], metric["value"]) == ("accuracy", 0.93)


def test_expkit_is_importable_from_any_interpreter(hook, tmp_path):
    """The shim dir on PYTHONPATH, not the installed expkit, answers `import expkit`."""
    run = make_run(
        tmp_path,
        """
        import expkit, sys
        print(expkit.__file__)
        print(sys.executable)
    """,
    )
    code, lines, _ = run_to_end(hook, run)
    assert code == 0
    assert "runtime" in lines.seen[0]
    assert lines.seen[1].strip() == str(Path(sys.executable).parent / "python")


def test_user_managed_prepare_records_packages_and_caches_the_probe(hook, tmp_path, monkeypatch):
    env = hook.expkit_prepare(request=prepare_request(tmp_path))
    assert env.env_id is None and env.cached
    assert env.python == str(Path(sys.executable).parent / "python")
    assert any(p.lower().startswith("expkit==") for p in env.packages)

    def no_process(*args, **kw):
        raise AssertionError("a warm prepare must not start a process")

    monkeypatch.setattr(subprocess, "run", no_process)
    monkeypatch.setattr(subprocess, "Popen", no_process)
    again = hook.expkit_prepare(request=prepare_request(tmp_path))
    assert again.packages == env.packages


def test_probe_goes_stale_when_site_packages_change(tmp_path):
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = str(venv / "bin" / "python")
    first = interpreter.probe(python)
    assert interpreter.cached_probe(python) == first
    (site,) = first.site_dirs[:1]
    dist = Path(site) / "fresh-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: fresh\nVersion: 1.0\n")
    assert interpreter.cached_probe(python) is None
    assert "fresh==1.0" in interpreter.probe(python).packages


def test_missing_python_is_a_clear_error(hook, tmp_path):
    compute = ComputeTarget(
        name="local",
        type="local",
        python_location="/nope/python9",
        source=tmp_path / "aml_config" / "local.compute",
    )
    with pytest.raises(ConfigError) as err:
        hook.expkit_prepare(request=prepare_request(tmp_path, compute))
    text = str(err.value)
    assert "pythonLocation" in text and "/nope/python9" in text and "local.compute" in text


def test_python_location_may_name_another_interpreter(hook, tmp_path):
    venv = tmp_path / "other"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    compute = ComputeTarget(
        name="local", type="local", python_location=str(venv / "bin" / "python")
    )
    run = make_run(tmp_path, "import sys; print(sys.prefix)", compute=compute)
    code, lines, _ = run_to_end(hook, run)
    assert code == 0 and lines.seen == [f"{venv}\n"]


def test_pyspark_without_spark_submit_is_a_clear_error(hook, tmp_path):
    compute = ComputeTarget(
        name="local",
        type="local",
        spark_submit_location="/nope/spark-submit",
        source=tmp_path / "local.compute",
    )
    runconfig = RunConfig(name="local", target="local", framework="PySpark")
    with pytest.raises(ConfigError) as err:
        hook.expkit_prepare(request=prepare_request(tmp_path, compute, runconfig=runconfig))
    text = str(err.value)
    assert "sparkSubmitLocation" in text and "pip install pyspark" in text


def test_pyspark_runs_through_spark_submit(hook, tmp_path):
    """A stand-in spark-submit shows the exact command line and interpreter handed over."""
    fake = tmp_path / "bin" / "spark-submit"
    fake.parent.mkdir()
    fake.write_text(
        f"#!{sys.executable}\nimport json, os, sys\n"
        "print(json.dumps([sys.argv[1:], os.environ['PYSPARK_PYTHON']]))\n"
    )
    fake.chmod(0o755)
    compute = ComputeTarget(name="local", type="local", spark_submit_location=str(fake))
    runconfig = RunConfig(name="local", target="local", framework="PySpark")
    spark = SparkSpec(
        configuration={"spark.executor.memory": "1g"}, repositories=("https://repo.example/maven",)
    )
    run = make_run(
        tmp_path, "print(1)", args=("--n", "3"), compute=compute, runconfig=runconfig, spark=spark
    )
    code, lines, _ = run_to_end(hook, run, runconfig=runconfig, spark=spark)
    assert code == 0
    argv, pyspark_python = json.loads(lines.text)
    assert argv == [
        "--master",
        "local[*]",
        "--conf",
        "spark.executor.memory=1g",
        "--repositories",
        "https://repo.example/maven",
        "main.py",
        "--n",
        "3",
    ]
    assert pyspark_python == str(Path(sys.executable).parent / "python")


def test_collect_after_cancel_keeps_outputs_written_so_far(hook, tmp_path):
    run = make_run(
        tmp_path,
        """
        import time
        open("outputs/partial.txt", "w").write("so far")
        print("ready")
        time.sleep(600)
    """,
    )
    env = hook.expkit_prepare(request=prepare_request(run.project))
    execution = hook.expkit_submit(run=run, environment=env)
    code = execution.wait(Lines(triggers={"ready": execution.cancel}))
    assert code == 143
    collected = hook.expkit_collect(run=run, execution=execution)
    assert collected.outputs == ("partial.txt",)
    assert (run.outputs_dir / "partial.txt").read_text() == "so far"


def test_outputs_symlink_is_not_followed(hook, tmp_path):
    secret = tmp_path / "secret"
    secret.mkdir()
    (secret / "key").write_text("private")
    run = make_run(
        tmp_path,
        f"""
        import os, shutil
        shutil.rmtree("outputs")
        os.symlink({str(secret)!r}, "outputs")
    """,
    )
    code, _, collected = run_to_end(hook, run)
    assert code == 0
    assert collected.outputs == ()
    assert (secret / "key").exists()


def test_outputs_links_inside_are_copied_and_links_outside_dropped(hook, tmp_path):
    """The rule for links in outputs/: content inside outputs/ is copied in their place;
    anything else is dropped unread and named in the run's log."""
    secret = tmp_path / "secret"
    secret.mkdir()
    (secret / "key").write_text("private")
    run = make_run(
        tmp_path,
        f"""
        import os
        os.chdir("outputs")
        open("real.txt", "w").write("content")
        os.makedirs("dir/sub")
        open("dir/sub/a.txt", "w").write("a")
        os.symlink("real.txt", "copy.txt")
        os.symlink(os.path.abspath("real.txt"), "absolute.txt")
        os.symlink("dir", "dirlink")
        os.symlink("../../real.txt", "dir/sub/up.txt")
        os.symlink({str(secret / "key")!r}, "key")
        os.symlink({str(secret)!r}, "secretdir")
        os.symlink("/etc/passwd", "passwd")
        os.symlink("../main.py", "outside_relative")
        os.symlink("missing", "dangling")
        os.symlink(".", "loop")
        os.symlink("..", "dir/up")
        os.mkfifo("fifo")
    """,
    )
    run.run_dir.mkdir(exist_ok=True)
    code, _, collected = run_to_end(hook, run)
    assert code == 0
    assert collected.outputs == (
        "absolute.txt",
        "copy.txt",
        "dir/sub/a.txt",
        "dir/sub/up.txt",
        "dirlink/sub/a.txt",
        "dirlink/sub/up.txt",
        "real.txt",
    )
    links = [p for p in run.outputs_dir.rglob("*") if p.is_symlink()]
    assert links == []
    assert (run.outputs_dir / "copy.txt").read_text() == "content"
    assert (run.outputs_dir / "dirlink/sub/up.txt").read_text() == "content"
    assert (run.outputs_dir / "dirlink/sub/a.txt").read_text() == "a"
    # The notes travel in what collect returns; the core writes them to the run's log.
    assert not (run.run_dir / "log.txt").exists()
    log = "\n".join(collected.notes)
    for name in (
        "key",
        "secretdir",
        "passwd",
        "outside_relative",
        "dangling",
        "loop",
        "dir/up",
        "fifo",
    ):
        assert f"left out outputs/{name}" in log, name
    assert "private" not in "".join(
        p.read_text() for p in run.outputs_dir.rglob("*") if p.is_file()
    )
    assert (secret / "key").read_text() == "private"


def test_local_keeps_no_environment_cache_by_default(hook, tmp_path):
    compute = ComputeTarget(name="local", type="local")
    listed = hook.expkit_list_environments(compute=compute)
    assert isinstance(listed, list)
    assert hook.expkit_remove_environment(compute=compute, env_id="0123456789abcdef") is False
    with pytest.raises(Exception, match="not an environment id"):
        hook.expkit_remove_environment(compute=compute, env_id="../../etc")


def test_env_of_the_user_is_kept(hook, tmp_path, monkeypatch):
    monkeypatch.setenv("FROM_USER_SHELL", "kept")
    monkeypatch.setenv("PYTHONPATH", "/somewhere/else")
    run = make_run(
        tmp_path,
        """
        import os
        print(os.environ["FROM_USER_SHELL"])
        print(os.environ["PYTHONPATH"])
    """,
    )
    code, lines, _ = run_to_end(hook, run)
    assert code == 0
    assert lines.seen[0] == "kept\n"
    first, rest = lines.seen[1].strip().split(os.pathsep, 1)
    assert first.endswith(os.path.join("runtime", expkit.__version__)) and rest == "/somewhere/else"
