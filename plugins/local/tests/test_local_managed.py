"""Managed mode: a venv per environment id, built once, then a cache hit that starts nothing."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import threading
import uuid
from pathlib import Path

import pytest
from expkit.environment import load_conda_file
from expkit.errors import ConfigError, InfrastructureError
from expkit.model import ComputeTarget, EnvironmentSpec
from expkit_local import builder, venvs
from expkit_local.target import LocalTarget
from local_helpers import Lines, build_wheel, make_run, prepare_request

MANAGED = ComputeTarget(name="local", type="local", user_managed_environment=False)


class Recorder:
    """A Progress that remembers what it was told."""

    def __init__(self) -> None:
        self.steps: list[str] = []
        self.lines: list[str] = []

    def step(self, message: str) -> None:
        self.steps.append(message)

    def line(self, text: str) -> None:
        self.lines.append(text)

    def advance(self, done: float, total: float | None = None) -> None:
        pass


def project_with_wheel(root: Path, pkg: str, extra: str = "") -> EnvironmentSpec:
    """A project whose conda file pins this Python and lists a wheel it ships."""
    build_wheel(root / "wheels", pkg, "1.0", f"GREETING = 'hello from {pkg}'\n")
    conda = root / "aml_config" / "conda_dependencies.yml"
    conda.parent.mkdir(parents=True, exist_ok=True)
    major_minor = f"{sys.version_info.major}.{sys.version_info.minor}"
    conda.write_text(
        textwrap.dedent(f"""
        name: project_environment
        dependencies:
          - python={major_minor}
          - pip:
            - ./wheels/{pkg}-1.0-py3-none-any.whl
        {extra}
    """)
    )
    return load_conda_file(conda, root)


def prepare(root: Path, spec: EnvironmentSpec, **kw):
    return LocalTarget().prepare(prepare_request(root, MANAGED, environment=spec, **kw))


def unique(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex[:8]}"


def test_builds_once_then_hits_the_cache_without_any_process(tmp_path, monkeypatch):
    pkg = unique("hello")
    spec = project_with_wheel(tmp_path, pkg)
    progress = Recorder()
    first = prepare(tmp_path, spec, progress=progress)
    assert not first.cached
    assert first.env_id and first.layers.id == first.env_id
    assert f"{pkg}==1.0" in first.packages
    assert Path(first.python).is_file()
    assert any("uv" in s or "pip" in s for s in progress.steps)
    env_dir = venvs.envs_root() / first.env_id
    assert (env_dir / venvs.MARKER).is_file()
    assert f"{pkg}==1.0" in (env_dir / "expkit-freeze.txt").read_text()

    def no_process(*args, **kw):
        raise AssertionError("a cache hit must not start a process")

    with monkeypatch.context() as m:
        m.setattr(subprocess, "run", no_process)
        m.setattr(subprocess, "Popen", no_process)
        second = prepare(tmp_path, spec)
    assert second.cached and second.env_id == first.env_id
    assert second.packages == first.packages

    # Another project with the same environment shares the venv.
    other = tmp_path / "other"
    other_spec = project_with_wheel(other, pkg)
    assert prepare(other, other_spec).env_id == first.env_id

    run = make_run(
        tmp_path, f"import {pkg}, sys; print({pkg}.GREETING); print(sys.prefix)", compute=MANAGED
    )
    execution = LocalTarget().submit(run, second)
    lines = Lines()
    assert execution.wait(lines) == 0
    assert lines.seen == [f"hello from {pkg}\n", f"{env_dir}\n"]

    listed = {info.env_id: info for info in LocalTarget().list_environments(MANAGED)}
    assert listed[first.env_id].size_bytes > 0
    assert listed[first.env_id].details["packages"] >= 1


def test_user_managed_run_does_not_see_the_managed_package(tmp_path):
    pkg = unique("private")
    spec = project_with_wheel(tmp_path, pkg)
    prepare(tmp_path, spec)
    run = make_run(tmp_path, f"import {pkg}")
    env = LocalTarget().prepare(prepare_request(tmp_path, environment=spec))
    assert env.env_id is None
    assert "not applied" in env.details["note"]
    assert LocalTarget().submit(run, env).wait(Lines()) == 1


def test_force_rebuilds_and_remove_deletes(tmp_path):
    spec = project_with_wheel(tmp_path, unique("forced"))
    first = prepare(tmp_path, spec)
    rebuilt = prepare(tmp_path, spec, force=True)
    assert not rebuilt.cached and rebuilt.env_id == first.env_id
    assert LocalTarget().remove_environment(MANAGED, first.env_id) is True
    assert not (venvs.envs_root() / first.env_id).exists()
    assert LocalTarget().remove_environment(MANAGED, first.env_id) is False


def test_concurrent_builders_build_once(tmp_path):
    spec = project_with_wheel(tmp_path, unique("race"))
    results, errors = [], []

    def worker() -> None:
        try:
            results.append(prepare(tmp_path, spec))
        except BaseException as exc:  # noqa: BLE001 - reported by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)
    assert not errors
    assert sorted(r.cached for r in results) == [False, True]
    assert len({r.env_id for r in results}) == 1


def test_half_built_venv_is_never_used(tmp_path):
    spec = project_with_wheel(tmp_path, unique("half"))
    first = prepare(tmp_path, spec)
    env_dir = venvs.envs_root() / first.env_id
    (env_dir / venvs.MARKER).unlink()  # as if the builder died before finishing
    again = prepare(tmp_path, spec)
    assert not again.cached
    assert (env_dir / venvs.MARKER).is_file()


def test_failed_install_shows_the_installer_error_and_caches_nothing(tmp_path):
    broken = tmp_path / "wheels" / "broken-1.0-py3-none-any.whl"
    broken.parent.mkdir()
    broken.write_text("not a zip archive")
    spec = EnvironmentSpec(
        pip=("./wheels/broken-1.0-py3-none-any.whl",),
        local_files={"wheels/broken-1.0-py3-none-any.whl": "0" * 64},
    )
    with pytest.raises(InfrastructureError) as err:
        prepare(tmp_path, spec, progress=Recorder())
    text = str(err.value)
    print(text)
    assert "broken-1.0-py3-none-any.whl" in text and "nothing was cached" in text
    assert not [
        p for p in venvs.envs_root().iterdir() if p.is_dir() and not (p / venvs.MARKER).exists()
    ]


def test_python_pin_the_interpreter_cannot_meet(tmp_path):
    spec = EnvironmentSpec(python="3.5.2", source=tmp_path / "conda_dependencies.yml")
    with pytest.raises(ConfigError) as err:
        prepare(tmp_path, spec)
    text = str(err.value)
    version = ".".join(map(str, sys.version_info[:3]))
    assert "python=3.5.2" in text and version in text
    assert str(Path(sys.executable).parent / "python") in text


def test_conda_packages_are_refused_with_a_way_out(tmp_path):
    spec = EnvironmentSpec(conda=("numpy=1.26",), source=tmp_path / "conda_dependencies.yml")
    with pytest.raises(ConfigError) as err:
        prepare(tmp_path, spec)
    text = str(err.value)
    assert "pip packages only" in text and "numpy=1.26" in text and "docker" in text


@pytest.mark.slow
def test_without_uv_venv_and_pip_build_it(tmp_path, monkeypatch):
    monkeypatch.setattr(builder, "installer", lambda: None)
    pkg = unique("pipbuilt")
    spec = project_with_wheel(tmp_path, pkg)
    env = prepare(tmp_path, spec)
    assert not env.cached and f"{pkg}==1.0" in env.packages
    marker = venvs.lookup(env.env_id)
    assert marker.details["installer"] == "pip"


def test_a_lock_deleted_by_its_holder_is_not_shared(tmp_path, monkeypatch):
    """remove_env deletes the lock file it holds. A process that was waiting on that
    file then holds a lock nobody else can see: it must move to the new file, so a
    newcomer still waits for it."""
    import threading

    from expkit_local import venvs

    monkeypatch.setenv("EXPKIT_CACHE_DIR", str(tmp_path))
    acquired, release, entered = threading.Event(), threading.Event(), threading.Event()
    contended: list[bool] = []

    def waiter() -> None:
        with venvs.env_lock("e1"):
            acquired.set()
            release.wait(10)

    def newcomer() -> None:
        with venvs.env_lock("e1", on_wait=lambda: contended.append(True)):
            entered.set()

    with venvs.env_lock("e1") as lock:
        first = threading.Thread(target=waiter)
        first.start()
        assert not acquired.wait(0.3)  # blocked on this very file
        lock.unlink()  # as remove_env does, still holding it
    assert acquired.wait(10)
    second = threading.Thread(target=newcomer)
    second.start()
    assert not entered.wait(0.5), "two holders of one environment's lock"
    release.set()
    assert entered.wait(10)
    first.join(10)
    second.join(10)
    assert contended == [True]
    assert venvs.lock_path("e1").exists()  # the lock the holders shared in the end
