"""The hard-link farm (farm.py): its plan, and its shell script run here on a local store.

The script is plain sh + GNU tar, the same on the VM as here, so these tests run it
for real against a temporary store; the overlay over it is tested end to end in
tests/remote (it needs the engine to mount it).
"""

from __future__ import annotations

import os
import subprocess
import tempfile
import time
from pathlib import Path

import pytest
from expkit_remotedocker import farm
from expkit_remotedocker.store import Objects, add_tree

SPEC = {"trees": [], "argv": ["python", "x.py"]}


def _project(root: Path, files: dict[str, str], executable: tuple[str, ...] = ()) -> Path:
    for path, text in files.items():
        target = root / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)
        if path in executable:
            target.chmod(0o755)
    return root


def _submit(store: Path, project: Path, memory: farm.FarmMemory, run: str,
            *, known: frozenset[str] = frozenset(),
            seed_max: int = farm.SEED_MAX) -> tuple[int, str, farm.Plan]:  # fmt: skip
    """What submit.py does for one run, with this store standing in for the VM's."""
    objects = Objects()
    tree = add_tree(project, objects)
    new = farm.listing(tree, objects)
    base, old = memory.load()
    plan = farm.plan(tree, new, base, old, seed_max)
    have = (
        {p.name for p in (store / "objects").iterdir()} if (store / "objects").exists() else set()
    )
    missing = sorted(objects.names() - have - known)
    with tempfile.TemporaryFile() as stream:
        gzipped = farm.pack(stream, "tok" + run, objects, missing, plan, f"runs/{run}", SPEC)
        derive = "" if plan.seed else plan.base
        done = subprocess.run(["sh", "-c", farm.SCRIPT, "sh", str(store), plan.mounted, derive,
                               "tok" + run, f"runs/{run}", "", gzipped], stdin=stream,
                              capture_output=True)  # fmt: skip
    if done.returncode == 0 and not plan.seed:
        memory.save(tree, new)
    return done.returncode, done.stderr.decode(), plan


@pytest.fixture
def store(tmp_path: Path) -> Path:
    return tmp_path / "store"


def _inode(path: Path) -> int:
    return path.stat().st_ino


def test_a_farm_links_every_file_to_its_object_and_copies_executables(store, tmp_path) -> None:
    project = _project(tmp_path / "p", {"a.py": "A\n", "pkg/b.py": "B\n", "run.sh": "echo\n",
                                        "pkg/empty/.keep": ""}, executable=("run.sh",))  # fmt: skip
    (project / "link").symlink_to("a.py")
    memory = farm.FarmMemory(tmp_path / "farm.json")
    code, err, plan = _submit(store, project, memory, "r1")
    assert code == 0, err
    built = store / "farms" / plan.tree
    objects = store / "objects"
    for path in ("a.py", "pkg/b.py"):
        target = built / path
        assert target.read_text() == (project / path).read_text()
        linked = [o for o in objects.iterdir() if _inode(o) == _inode(target)]
        assert len(linked) == 1, f"{path} is not a link to its object"
    exe = built / "run.sh"
    assert exe.read_text() == "echo\n" and exe.stat().st_mode & 0o777 == 0o755
    assert all(_inode(o) != _inode(exe) for o in objects.iterdir())  # its own copy
    assert os.readlink(built / "link") == "a.py"
    assert (built / "pkg" / "empty" / ".keep").is_file()
    # The run's folder, and no temporary names left behind.
    run = store / "runs" / "r1"
    assert (run / "farm").read_text() == plan.tree + "\n"
    assert {p.name for p in run.iterdir()} >= {
        "spec.json",
        "log.txt",
        "metrics.jsonl",
        "upper",
        "work",
        "lib",
        "home",
        "farm",
    }
    assert [p.name for p in (store / "farms").iterdir()] == [plan.tree]
    assert not [p for p in objects.iterdir() if p.name.startswith(".")]


def test_the_next_farm_derives_from_the_last_with_only_the_change_sent(store, tmp_path) -> None:
    files = {f"src/m{i}.py": f"{i}\n" for i in range(50)} | {"gone/x.py": "x\n", "k.py": "k\n"}
    project = _project(tmp_path / "p", files)
    memory = farm.FarmMemory(tmp_path / "farm.json")
    assert _submit(store, project, memory, "r1")[0] == 0
    first = memory.load()[0]
    (project / "src" / "m7.py").write_text("edited\n")
    (project / "gone" / "x.py").unlink()
    (project / "gone").rmdir()
    (project / "k.py").chmod(0o755)
    code, err, plan = _submit(store, project, memory, "r2")
    assert code == 0, err
    assert plan.base == first
    assert [p for p, _, _ in plan.links] == ["k.py", "src/m7.py"]
    assert plan.delete == ("gone", "gone/x.py") and plan.folders == ("src",)
    built = store / "farms" / plan.tree
    assert (built / "src" / "m7.py").read_text() == "edited\n"
    assert (built / "src" / "m8.py").read_text() == "8\n"
    assert not (built / "gone").exists()
    assert (built / "k.py").stat().st_mode & 0o111
    # The first farm is intact: a derived farm never changes the one it came from.
    old = store / "farms" / first
    assert (old / "src" / "m7.py").read_text() == "7\n" and (old / "gone" / "x.py").is_file()
    assert not (old / "k.py").stat().st_mode & 0o111


def test_a_kind_change_makes_the_farm_from_nothing(tmp_path) -> None:
    old = {"a": ("f", "1" * 64, 0o644)}
    new = {"a": ("d", "2" * 64, 0), "a/b": ("f", "1" * 64, 0o644)}
    plan = farm.plan("t", new, "base", old)
    assert plan.base == "" and plan.delete == () and plan.folders == ("a",)


def test_a_lost_base_farm_or_object_is_reported_for_a_retry(store, tmp_path) -> None:
    project = _project(tmp_path / "p", {"a.py": "A\n"})
    memory = farm.FarmMemory(tmp_path / "farm.json")
    assert _submit(store, project, memory, "r1")[0] == 0
    base = memory.load()[0]
    subprocess.run(["rm", "-rf", str(store / "farms" / base)], check=True)
    (project / "a.py").write_text("B\n")
    code, _, plan = _submit(store, project, memory, "r2")
    assert (code, plan.base) == (farm.NO_BASE, base)
    memory.forget()
    # The VM lost an object this machine thinks it sent: the link fails, exit BAD_LINK.
    objects = Objects()
    add_tree(project, objects)
    for name in objects.blobs:
        (store / "objects" / name).unlink(missing_ok=True)
    code, _, _ = _submit(store, project, memory, "r3", known=frozenset(objects.names()))
    assert code == farm.BAD_LINK
    assert not [p for p in (store / "farms").iterdir() if p.name.startswith(".")]


def test_old_farms_are_pruned_unless_a_run_still_uses_them(store, tmp_path) -> None:
    project = _project(tmp_path / "p", {"a.py": "0\n"})
    memory = farm.FarmMemory(tmp_path / "farm.json")
    trees = []
    for i in range(farm.KEEP_FARMS + 3):
        (project / "a.py").write_text(f"{i}\n")
        code, err, plan = _submit(store, project, memory, f"r{i}", seed_max=0)
        assert code == 0, err
        trees.append(plan.tree)
        if i != 0:  # run r0 is never collected: its folder (and farm) stay
            subprocess.run(["rm", "-rf", str(store / "runs" / f"r{i}")], check=True)
        os.utime(store / "farms" / plan.tree, (1000 + i, 1000 + i))  # ls -t order
    wanted = {trees[0], *trees[-farm.KEEP_FARMS :]}
    deadline = time.monotonic() + 20  # removed in the background
    while {p.name for p in (store / "farms").iterdir()} != wanted:
        assert time.monotonic() < deadline, sorted(p.name for p in (store / "farms").iterdir())
        time.sleep(0.05)


def test_a_few_changes_are_copied_into_the_runs_upper_layer_over_the_last_farm(
    store, tmp_path
) -> None:
    files = {f"src/m{i}.py": f"{i}\n" for i in range(20)}
    project = _project(tmp_path / "p", files)
    memory = farm.FarmMemory(tmp_path / "farm.json")
    assert _submit(store, project, memory, "r1")[0] == 0
    first = memory.load()[0]
    (project / "src" / "m3.py").write_text("edited\n")
    _project(project, {"new/tool.sh": "echo\n"}, executable=("new/tool.sh",))
    code, err, plan = _submit(store, project, memory, "r2")
    assert code == 0, err
    assert plan.seed and plan.mounted == first and memory.load()[0] == first
    upper = store / "runs" / "r2" / "upper"
    for path, text in (("src/m3.py", "edited\n"), ("new/tool.sh", "echo\n")):
        copy = upper / path
        assert copy.read_text() == text
        # A copy: the script writes it in place, and no object may change with it.
        assert copy.stat().st_nlink == 1
    assert (upper / "new" / "tool.sh").stat().st_mode & 0o777 == 0o755
    assert sorted(str(p.relative_to(upper)) for p in upper.rglob("*") if p.is_file()) == [
        "new/tool.sh", "src/m3.py"
    ]  # fmt: skip
    assert not (store / "runs" / "r2" / "seed").exists()
    assert (store / "runs" / "r2" / "farm").read_text() == first + "\n"
    assert (store / "farms" / first / "src" / "m3.py").read_text() == "3\n"
    # The farm it seeds from is gone: NO_BASE, and the upper layer is left empty.
    subprocess.run(["rm", "-rf", str(store / "farms" / first)], check=True)
    (project / "src" / "m4.py").write_text("edited too\n")
    code, _, plan = _submit(store, project, memory, "r3")
    assert (code, plan.seed) == (farm.NO_BASE, True)
    assert list((store / "runs" / "r3" / "upper").iterdir()) == []
    # submit.py tries again from nothing, in the same run folder.
    memory.forget()
    code, err, plan = _submit(store, project, memory, "r3")
    assert (code, plan.seed, plan.base) == (0, False, ""), err
    assert (store / "farms" / plan.tree / "src" / "m4.py").read_text() == "edited too\n"
    assert list((store / "runs" / "r3" / "upper").iterdir()) == []


class _FakeSsh:
    """Answers farm.SCRIPT with the exit codes given, in order; records each call."""

    label = "fake-vm"

    def __init__(self, codes: list[int]) -> None:
        self.codes, self.calls, self.removed = codes, [], []

    def script(self, script: str, *args: str, **kw):
        from expkit.ssh.connection import Result

        assert script == farm.SCRIPT
        self.calls.append(args)
        return Result(self.codes.pop(0), b"", b"boom" if self.codes == [] else b"")

    def run(self, argv, **kw):
        self.removed.append(argv[-1])


class _FakeSession:
    def __init__(self, tmp_path: Path, codes: list[int]) -> None:
        from expkit_remotedocker.store import KnownObjects

        self.ssh = _FakeSsh(codes)
        self.run_id = ""
        self.store = "/home/u/.cache/expkit-remote"
        self.objects = f"{self.store}/objects"
        self._known = KnownObjects(tmp_path / "known")
        self._memory = farm.FarmMemory(tmp_path / "farm.json")

    def run_folder(self, run_id: str) -> str:
        return f"{self.store}/runs/{run_id}"

    def known(self):
        return self._known

    def farm_memory(self):
        return self._memory


def _upload(tmp_path: Path, codes: list[int], base: str = "") -> tuple[_FakeSession, object]:
    from expkit.testing import compute_from_mapping, make_run_context
    from expkit_remotedocker import submit

    run = make_run_context(tmp_path, compute_from_mapping("vm", {"type": "remotedocker"}), "x\n")
    project = _project(tmp_path / "p", {"a.py": "A\n", "b.py": "B\n"})
    objects = Objects()
    trees = submit.Trees(add_tree(project, objects), "lib", "launcher", ("python", "a.py"))
    remote = _FakeSession(tmp_path, codes)
    remote.run_id = run.run_id
    remote._known.add(objects.names())  # nothing to ask the VM
    if base:  # a farm made earlier, with a.py different
        listing = farm.listing(trees.project, objects)
        remote._memory.save(base, {**listing, "a.py": ("f", "0" * 64, 0o644)})
    try:
        return remote, submit._upload(remote, run, objects, trees, True)  # type: ignore[arg-type]
    except Exception as exc:  # noqa: BLE001 - the test looks at it
        return remote, exc


def test_upload_seeds_then_starts_over_when_the_last_farm_is_gone(tmp_path) -> None:
    remote, result = _upload(tmp_path, [farm.NO_BASE, 0], base="f" * 64)
    (seeded, first), (full, second) = [(c[1], c[2]) for c in remote.ssh.calls]
    assert (seeded, first) == ("f" * 64, "")  # mounts the last farm, derives nothing
    assert full != "f" * 64 and second == ""  # a farm of its own, from nothing
    assert result == (full, 0, 0)
    assert remote._memory.load()[0] == full


def test_upload_resends_then_copies_when_links_keep_failing(tmp_path) -> None:
    remote, result = _upload(tmp_path, [farm.BAD_LINK, farm.BAD_LINK, 0])
    # The launcher copies the working copy; what this machine knew was forgotten after the
    # first failure, so every object (a tree, two files) went again.
    assert result[:2] == (None, 3)
    assert remote.ssh.calls[-1][1] == ""  # no farm at all on the last attempt


def test_upload_fails_clearly_and_leaves_no_run_folder(tmp_path) -> None:
    remote, result = _upload(tmp_path, [3])
    assert isinstance(result, Exception) and "exit 3" in str(result)
    assert remote.ssh.removed == [remote.run_folder(remote.run_id)]
