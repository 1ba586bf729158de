"""The conformance suite tested on itself.

A tiny but real fake target plugin (it runs scripts with ``sys.executable`` in
the snapshot) is installed into a temporary site folder with a real
``.dist-info`` and entry point, so discovery goes through importlib.metadata
exactly as for a pip-installed plugin. The contract must pass for it, and must
fail, on exactly the right checks, for deliberately broken variants.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from expkit.model import ComputeTarget
from expkit.testing import TargetContract, compute_from_mapping, make_run_context
from expkit.testing.run_checks import PLACEHOLDER_TESTS, RUN_TESTS

pytest_plugins = ["pytester"]

FAKE_PLUGIN = '''
"""A fake target plugin for expkit's own tests: runs scripts with this interpreter."""
from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys

from expkit.errors import ConfigError, TargetNotAvailableError
from expkit.hookspecs import hookimpl
from expkit.model import AttachResult, Collected, PreparedEnvironment, TargetType
from expkit.runenv import path_variables, runtime_dir, with_pythonpath

TYPES = ("fake", "fake-alias")
PACKAGE = {package!r}
GREEDY = {greedy!r}            # claims every target type: a contract violation
FIXED_EXIT = {fixed_exit!r}    # wait() returns this instead of the real code
COLLECT_FAILED = {collect_failed!r}
REJECT = {reject!r}            # attach options this type refuses
PLACEHOLDER = {placeholder!r}


def mine(type_name):
    return GREEDY or type_name in TYPES


def not_available():
    return TargetNotAvailableError("target type 'fake' is not available yet: use local")


@hookimpl
def expkit_target_types():
    return [TargetType(name="fake", aliases=("fake-alias",), package=PACKAGE,
                       description="runs scripts with the test interpreter",
                       available=not PLACEHOLDER)]


@hookimpl
def expkit_attach(request):
    if not mine(request.type):
        return None
    for option in REJECT:
        if getattr(request, option) is not None:
            raise ConfigError(f"the fake target runs on this machine; {{option}} is not an option",
                              key=option)
    return AttachResult(compute={{"type": "fake"}},
                        runconfig={{"ArgumentVector": ["$file"], "Target": request.name,
                                   "Framework": "Python"}})


@hookimpl
def expkit_prepare(request):
    if not mine(request.compute.type):
        return None
    if PLACEHOLDER:
        raise not_available()
    if request.progress is not None:
        request.progress.step("nothing to prepare")
    return PreparedEnvironment(env_id=None, location=sys.executable, python=sys.executable)


class Execution:
    def __init__(self, proc):
        self.proc = proc

    def wait(self, on_output):
        for line in self.proc.stdout:
            on_output(line)
        code = self.proc.wait()
        code = 128 - code if code < 0 else code
        return code if FIXED_EXIT is None else FIXED_EXIT

    def cancel(self):
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass


@hookimpl
def expkit_submit(run, environment):
    if not mine(run.compute.type):
        return None
    if PLACEHOLDER:
        raise not_available()
    env = {{**os.environ, **run.environment}}
    env.update(path_variables(outputs_dir=str(run.snapshot / "outputs"),
                              metrics_file=str(run.metrics_file)))
    env = with_pythonpath(env, str(runtime_dir()), os.environ.get("PYTHONPATH"))
    proc = subprocess.Popen([environment.python, *run.argv], cwd=run.snapshot, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            encoding="utf-8", start_new_session=True)
    return Execution(proc)


@hookimpl
def expkit_collect(run, execution):
    if not mine(run.compute.type):
        return None
    if PLACEHOLDER:
        raise not_available()
    source = run.snapshot / "outputs"
    if not source.is_dir() or (execution.proc.returncode != 0 and not COLLECT_FAILED):
        return Collected()
    shutil.copytree(source, run.outputs_dir, dirs_exist_ok=True)
    files = sorted(p.relative_to(run.outputs_dir).as_posix()
                   for p in run.outputs_dir.rglob("*") if p.is_file())
    return Collected(outputs=tuple(files))


@hookimpl
def expkit_list_environments(compute):
    return [] if mine(compute.type) else None


@hookimpl
def expkit_remove_environment(compute, env_id):
    return False if mine(compute.type) else None
'''

GOOD = {
    "greedy": False,
    "fixed_exit": None,
    "collect_failed": True,
    "reject": ("address", "username", "port", "key_file", "base_image"),
    "placeholder": False,
}


def install_fake(site: Path, module: str, entry_point: str, package: str, **flags) -> None:
    """Write ``module`` and a dist-info declaring it as entry point ``entry_point``."""
    options = {**GOOD, **flags}
    site.mkdir(parents=True, exist_ok=True)
    (site / f"{module}.py").write_text(
        FAKE_PLUGIN.format(package=package, **options), encoding="utf-8"
    )
    info = site / f"{module}-0.1.dist-info"
    info.mkdir(exist_ok=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {package}\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text(f"[expkit]\n{entry_point} = {module}\n")


@pytest.fixture(scope="session")
def fake_site(tmp_path_factory) -> Path:
    site = tmp_path_factory.mktemp("fake-site")
    install_fake(site, "expkit_fake_target", "fake-contract", "expkit-fake-target")
    install_fake(
        site,
        "expkit_fake_placeholder",
        "fake-placeholder",
        "expkit-fake-placeholder",
        placeholder=True,
    )
    return site


@pytest.fixture
def fake_installed(fake_site, monkeypatch) -> Path:
    monkeypatch.syspath_prepend(str(fake_site))
    return fake_site


@pytest.mark.usefixtures("fake_installed")
class TestFakeContract(TargetContract):
    target_type = "fake"
    entry_point = "fake-contract"
    bad_options = ({"address": "127.0.0.1"}, {"base_image": "img"}, {"port": 22})
    run_timeout = 30


@pytest.mark.usefixtures("fake_installed")
class TestFakeAliasContract(TargetContract):
    """The same plugin addressed by its alias, with compute given as a fixture."""

    target_type = "fake-alias"
    entry_point = "fake-contract"
    bad_options = ({"address": "127.0.0.1"},)
    run_timeout = 30

    @pytest.fixture
    def compute_data(self, tmp_path):
        return ComputeTarget(name="aliased", type="fake-alias")


@pytest.mark.usefixtures("fake_installed")
class TestFakePlaceholderContract(TargetContract):
    target_type = "fake"
    entry_point = "fake-placeholder"
    runs_scripts = False
    bad_options = ({"username": "me"},)


# --------------------------------------------------------------------------- the kit's helpers


def test_make_run_context_layout(tmp_path):
    compute = compute_from_mapping("t", {"type": "fake", "pythonLocation": "python3", "extra": 1})
    assert compute.python_location == "python3" and dict(compute.options) == {"extra": 1}
    run = make_run_context(
        tmp_path,
        compute,
        "print(1)\n",
        script_name="src/s.py",
        args=["a b"],
        env={"K": "v"},
        files={"data/x.txt": "x"},
    )
    assert (run.project / "src/s.py").is_file() and (run.snapshot / "data/x.txt").is_file()
    assert run.snapshot != run.project and run.run_dir == run.project / ".exp/runs" / run.run_id
    assert run.run_dir.is_dir() and not any(run.run_dir.iterdir())
    assert run.argv == ("src/s.py", "a b") and run.script == "src/s.py"
    assert run.environment["K"] == "v" and run.environment["EXPKIT_RUN_ID"] == run.run_id
    second = make_run_context(tmp_path, compute, "print(2)\n")
    assert second.run_id != run.run_id and second.snapshot != run.snapshot


# --------------------------------------------------------------------------- broken plugins fail


BROKEN = {
    "greedy": ({"greedy": True}, {"test_foreign_types_are_ignored"}),
    "wrong-exit-code": (
        {"fixed_exit": 0},
        {"test_failing_run_returns_its_code_and_keeps_outputs", "test_cancel_stops_the_run"},
    ),
    "no-outputs-on-failure": (
        {"collect_failed": False},
        {"test_failing_run_returns_its_code_and_keeps_outputs"},
    ),
    "wrong-package": ({}, {"test_declares_target_type"}),
    "accepts-bad-options": ({"reject": ()}, {"test_attach_rejects_bad_options"}),
}


@pytest.mark.parametrize("variant", sorted(BROKEN))
def test_contract_catches_a_broken_plugin(pytester, variant):
    flags, expected = BROKEN[variant]
    module = "expkit_broken_" + variant.replace("-", "_")
    package = "expkit-somebody-else" if variant == "wrong-package" else module.replace("_", "-")
    site = pytester.path / "site"
    install_fake(site, module, f"broken-{variant}", package, **flags)
    # The dist-info must name a different package than TargetType.package to break the check.
    if variant == "wrong-package":
        metadata = site / f"{module}-0.1.dist-info" / "METADATA"
        metadata.write_text(metadata.read_text().replace(package, "expkit-real-name"))
    pytester.syspathinsert(site)
    pytester.makepyfile(
        test_broken=textwrap.dedent(
            f"""
            from expkit.testing import TargetContract

            class TestBroken(TargetContract):
                target_type = "fake"
                entry_point = "broken-{variant}"
                bad_options = [{{"address": "127.0.0.1"}}]
                run_timeout = 30
            """
        )
    )
    reprec = pytester.inline_run("-p", "no:cacheprovider")
    passed, skipped, failed = reprec.listoutcomes()
    failed_names = {rep.nodeid.split("::")[-1].split("[")[0] for rep in failed}
    assert failed_names == expected
    # Everything else still passes: the contract pinpoints the violation.
    assert len(passed) + len(skipped) + len(failed) == len(TEST_NAMES) and passed


def _contract_tests() -> set[str]:
    """The checks a contract for a target that runs scripts collects."""
    return {name for name in dir(TargetContract) if name.startswith("test_")} - set(
        PLACEHOLDER_TESTS
    )


TEST_NAMES = _contract_tests()


def test_missing_entry_point_is_a_clear_failure(pytester):
    pytester.makepyfile(
        test_missing="""
        from expkit.testing import TargetContract

        class TestMissing(TargetContract):
            target_type = "nothing"
            entry_point = "no-such-entry-point"
        """
    )
    result = pytester.runpytest("-p", "no:cacheprovider", "-k", "entry_point_loads")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*no entry point 'no-such-entry-point' in group 'expkit'*"])


def test_only_the_checks_that_apply_are_collected():
    runnable = {
        n for n in dir(TestFakeContract) if n.startswith("test_") and getattr(TestFakeContract, n)
    }
    placeholder = {
        n
        for n in dir(TestFakePlaceholderContract)
        if n.startswith("test_") and getattr(TestFakePlaceholderContract, n)
    }
    assert set(RUN_TESTS) <= runnable and not set(PLACEHOLDER_TESTS) & runnable
    assert set(PLACEHOLDER_TESTS) <= placeholder and not set(RUN_TESTS) & placeholder


def test_a_contract_without_bad_options_fails(pytester, fake_site):
    pytester.syspathinsert(fake_site)
    pytester.makepyfile(
        test_lazy="""
        from expkit.testing import TargetContract

        class TestLazy(TargetContract):
            target_type = "fake"
            entry_point = "fake-contract"
        """
    )
    result = pytester.runpytest("-p", "no:cacheprovider", "-k", "bad_options")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*declare bad_options*"])
