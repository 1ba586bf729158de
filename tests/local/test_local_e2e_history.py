"""The run history over real local runs: list filters, logs, restore, download."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest
from local_e2e import LOCAL_COMPUTE, LOCAL_RUNCONFIG, runs_list, shared_conftest


@pytest.fixture(scope="module")
def history_project(request, tmp_path_factory, exp_cache):
    """Four runs: three on `local` (completed, failed, completed), one on a second local target.

    Built once for the module (the tests only read it), in an environment set up
    as tests/conftest.py's ``project`` fixture does.
    """
    Project = shared_conftest(request.config).Project  # noqa: N806 - a class
    root = tmp_path_factory.mktemp("history") / "proj"
    root.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith("EXPKIT_")}
    env["EXPKIT_CACHE_DIR"] = str(exp_cache)
    env["PATH"] = str(Path(sys.executable).parent) + os.pathsep + env.get("PATH", "")
    env.pop("PYTHONPATH", None)
    local_project = Project(root=root, env=env)
    local_project.write("aml_config/local.compute", LOCAL_COMPUTE)
    local_project.write("aml_config/local.runconfig", LOCAL_RUNCONFIG)
    local_project.write("aml_config/other.compute", LOCAL_COMPUTE)
    local_project.write("aml_config/other.runconfig", LOCAL_RUNCONFIG.replace('"local"', '"other"'))
    local_project.write(
        "job.py",
        """
        import os, sys
        from expkit import log
        version = open("version.txt").read().strip()
        log("version", version)
        os.makedirs("outputs", exist_ok=True)
        open("outputs/result.txt", "w").write(f"result of {version} {sys.argv[1:]}")
        print(f"job {version} says {sys.argv[1:]}")
        sys.exit(int(sys.argv[1]))
    """,
    )
    runs = [("local", "v1", "0"), ("local", "v2", "3"), ("other", "v3", "0"), ("local", "v4", "0")]
    for runconfig, version, code in runs:
        local_project.write("version.txt", version)
        result = local_project.exp("run", "-c", runconfig, "job.py", code)
        assert result.returncode == int(code), result.output
    return local_project


def test_list_is_newest_first_and_filters(history_project):
    everything = runs_list(history_project)
    assert [r["number"] for r in everything] == [4, 3, 2, 1]
    assert [r["metrics"]["version"] for r in everything] == ["v4", "v3", "v2", "v1"]
    assert [r["number"] for r in runs_list(history_project, "--status", "failed")] == [2]
    assert [r["number"] for r in runs_list(history_project, "--status", "completed")] == [4, 3, 1]
    assert [r["number"] for r in runs_list(history_project, "--target", "other")] == [3]
    assert [r["number"] for r in runs_list(history_project, "--last", "2")] == [4, 3]
    both = runs_list(history_project, "--target", "local", "--status", "completed", "--last", "1")
    assert [r["number"] for r in both] == [4]
    table = history_project.exp("runs", "list")
    assert table.returncode == 0
    assert table.stdout.index("v4") < table.stdout.index("v1")


def test_record_fields_are_exactly_named(history_project):
    (record,) = runs_list(history_project, "--last", "1")
    required = {
        "id",
        "number",
        "status",
        "target",
        "runconfig",
        "script",
        "args",
        "exit_code",
        "started",
        "ended",
        "duration_s",
        "env_id",
        "snapshot_id",
        "git_commit",
        "git_dirty",
        "metrics",
        "outputs",
    }
    assert required <= set(record)
    assert record["script"] == "job.py" and record["args"] == ["0"]
    assert record["ended"] >= record["started"] and record["duration_s"] >= 0


def test_logs_of_each_run(history_project):
    for number, version, code in ((1, "v1", "0"), (2, "v2", "3")):
        result = history_project.exp("runs", "logs", str(number))
        assert result.returncode == 0, result.output
        assert result.stdout.strip() == f"job {version} says ['{code}']"


def test_restore_gives_back_the_code_each_run_executed(history_project, tmp_path):
    for number, version in ((1, "v1"), (3, "v3")):
        target = tmp_path / f"code-{number}"
        result = history_project.exp("runs", "restore", str(number), "--to", str(target))
        assert result.returncode == 0, result.output
        assert (target / "version.txt").read_text().strip() == version
        assert (target / "job.py").read_text() == (history_project.root / "job.py").read_text()
        assert (target / "aml_config" / "local.compute").exists()
        assert not (target / ".exp").exists()


def test_download_gives_back_each_runs_outputs(history_project, tmp_path):
    target = tmp_path / "out-2"
    result = history_project.exp("runs", "download", "2", "--to", str(target))
    assert result.returncode == 0, result.output
    assert (target / "result.txt").read_text() == "result of v2 ['3']"
    again = history_project.exp("runs", "download", "2", "--to", str(target))
    assert again.returncode != 0, "a non-empty folder needs --force"
    forced = history_project.exp("runs", "download", "2", "--to", str(target), "--force")
    assert forced.returncode == 0


def test_compare_shows_runs_side_by_side(history_project):
    result = history_project.exp("runs", "compare", "1", "4")
    assert result.returncode == 0, result.output
    assert "v1" in result.stdout and "v4" in result.stdout


def test_unknown_run_is_a_clear_error(history_project):
    result = history_project.exp("runs", "show", "99")
    assert result.returncode == 2, result.output
    assert "99" in result.stderr and "Traceback" not in result.output
