"""Issue 8 through the real CLI on the local target: hostile script names, secrets kept
out of everything exp writes, hard-linked and link-amplified outputs, collection bounds."""

from __future__ import annotations

import json
from pathlib import Path

from expkit.testing.hostile import LINK_MAZE_SCRIPT, stored_bytes
from local_e2e import run_record, runs_list

HOSTILE = '-cprint("NAME-AS-CODE")'


def test_a_script_named_like_an_option_runs_as_a_file(local_project):
    local_project.write(HOSTILE, "import sys\nprint('ran as a file', sys.argv[1:])\n")
    result = local_project.exp("run", "-c", "local", f"./{HOSTILE}", "--x")
    assert "NAME-AS-CODE" not in result.stdout, result.output
    assert "ran as a file ['--x']" in result.stdout, result.output
    assert result.returncode == 0, result.output
    record = run_record(local_project)
    assert record["script"] == HOSTILE and record["status"] == "completed"
    assert json.dumps(record["args"]) == '["--x"]'


# ----------------------------------------------------------------------------- outputs

HARDLINK = """
import os
os.makedirs("outputs", exist_ok=True)
os.link(os.environ["OUTSIDE_FILE"], "outputs/linked.txt")
"""


def test_a_hard_link_to_a_file_outside_is_collected_as_an_independent_copy(local_project, tmp_path):
    outside = tmp_path / "outside.txt"
    outside.write_text("original")
    local_project.write("hardlink.py", HARDLINK)
    result = local_project.exp(
        "run", "-c", "local", "hardlink.py", env={"OUTSIDE_FILE": str(outside)}
    )
    assert result.returncode == 0, result.output
    record = run_record(local_project)
    collected = local_project.root / ".exp" / "runs" / record["id"] / "outputs" / "linked.txt"
    assert record["outputs"] == ["linked.txt"]
    assert collected.stat().st_ino != outside.stat().st_ino
    assert collected.stat().st_nlink == 1
    outside.write_text("changed later")
    assert collected.read_text() == "original"


def test_nested_links_to_folders_store_each_real_file_once(local_project):
    local_project.write("maze.py", LINK_MAZE_SCRIPT)
    result = local_project.exp("run", "-c", "local", "maze.py", "12")
    assert result.returncode == 0, result.output
    record = run_record(local_project)
    outputs = local_project.root / ".exp" / "runs" / record["id"] / "outputs"
    assert "d12/a/b/a/b/a/b/a/b/a/b/a/b/data.bin" in record["outputs"]
    assert len(record["outputs"]) == 2**13 - 1
    assert stored_bytes(outputs) == 12000, "each real file must be stored once"
    assert "outputs cut" not in result.stderr


def test_collection_bounds_cut_with_one_clear_note(local_project):
    local_project.write("maze.py", LINK_MAZE_SCRIPT)
    result = local_project.exp(
        "run", "-c", "local", "maze.py", "14", env={"EXPKIT_OUTPUTS_LIMIT_FILES": "500"}
    )
    assert result.returncode == 0, result.output
    record = run_record(local_project)
    assert 0 < len(record["outputs"]) <= 500
    notes = [line for line in result.stderr.splitlines() if "outputs cut" in line]
    assert len(notes) == 1, result.stderr
    assert "collection limit of 500 files (EXPKIT_OUTPUTS_LIMIT_FILES)" in notes[0]
    assert "EXPKIT_OUTPUTS_LIMIT_FILES=N" in notes[0]
    log = local_project.root / ".exp" / "runs" / record["id"] / "log.txt"
    assert notes[0] in log.read_text()


def test_collection_bound_on_bytes(local_project):
    local_project.write(
        "big.py",
        """
        import os
        os.makedirs("outputs", exist_ok=True)
        for n in range(4):
            with open(f"outputs/part{n}.bin", "wb") as handle:
                handle.write(b"x" * (600 << 10))
        """,
    )
    result = local_project.exp("run", "-c", "local", "big.py", env={"EXPKIT_OUTPUTS_LIMIT_MB": "1"})
    assert result.returncode == 0, result.output
    assert run_record(local_project)["outputs"] == ["part0.bin"]
    assert "collection limit of 1.0 MiB (EXPKIT_OUTPUTS_LIMIT_MB)" in result.stderr
    assert "left out 3 more (1.8 MiB), from outputs/part1.bin on" in result.stderr


# ----------------------------------------------------------------------------- secrets

USES_TOKEN = """
import os
assert os.environ["API_TOKEN"].endswith("-token"), "the script still gets its variable"
print("token ok")
"""


def _snapshot_paths(project) -> list[str]:
    """The files in the snapshot of the project's latest run."""
    latest = max(r["number"] for r in runs_list(project))
    snapshot_id = run_record(project, str(latest))["snapshot_id"]
    manifest = project.root / ".exp" / "snapshots" / f"{snapshot_id}.json"
    return sorted(json.loads(manifest.read_text())["files"])


def test_no_secret_is_written_anywhere_and_secret_files_stay_out(local_project, tmp_path):
    from expkit.testing.secrets import SECRET_FILES, find_marker, plant_secrets

    marker = plant_secrets(local_project.root, "local")
    local_project.write("train.py", USES_TOKEN)
    first = local_project.exp("run", "-c", "local", "train.py")
    assert first.returncode == 0, first.output
    assert "token ok" in first.stdout
    second = local_project.exp("run", "-c", "local", "train.py")  # from the warm caches
    assert second.returncode == 0, second.output
    cache = Path(local_project.env["EXPKIT_CACHE_DIR"])
    assert find_marker([local_project.root / ".exp", cache], marker) == []
    for result in (first, second):
        notes = [line for line in result.stderr.splitlines() if "likely secrets" in line]
        assert len(notes) == 1, result.stderr
        for name in SECRET_FILES:
            shown = ".ssh/" if name.startswith(".ssh/") else name
            assert shown in notes[0]
        assert "add a negation rule to .amlignore" in notes[0]
    kept = _snapshot_paths(local_project)
    assert "aml_config/local.compute" in kept and "aml_config/local.runconfig" in kept
    assert not set(kept) & {*SECRET_FILES, ".ssh/id_rsa"}
    yaml_cache = cache / "yaml"
    assert yaml_cache.stat().st_mode & 0o777 == 0o700
    assert all(p.stat().st_mode & 0o777 == 0o600 for p in yaml_cache.iterdir())

    # Included on purpose: a negation rule in .amlignore.
    local_project.write(".amlignore", "!deploy.pem\n")
    third = local_project.exp("run", "-c", "local", "train.py")
    assert third.returncode == 0, third.output
    assert "deploy.pem" in _snapshot_paths(local_project)
    assert "deploy.pem" not in next(
        line for line in third.stderr.splitlines() if "likely secrets" in line
    )


def test_git_info_exclude_and_core_excludes_file_are_honoured(local_project, tmp_path):
    root = local_project.root
    (root / ".git" / "info").mkdir(parents=True)
    (root / ".git" / "info" / "exclude").write_text("scratch/\n")
    home = tmp_path / "home"
    home.mkdir()
    (home / ".gitconfig").write_text('[core]\n\texcludesFile = "~/global-ignore"\n')
    (home / "global-ignore").write_text("*.tmp\n")
    local_project.write("scratch/notes.txt", "x")
    local_project.write("big.tmp", "x")
    local_project.write("keep.txt", "x")
    local_project.write("train.py", "print('ok')\n")
    result = local_project.exp("run", "-c", "local", "train.py", env={"HOME": str(home)})
    assert result.returncode == 0, result.output
    kept = _snapshot_paths(local_project)
    assert "keep.txt" in kept and "train.py" in kept
    assert "big.tmp" not in kept and "scratch/notes.txt" not in kept
