"""Registry dispatch: typed calls with one "no owner" rule, pluggy's check of hook names,
and event hooks called through pluggy (wrappers included), a failing one only a warning."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from expkit.errors import UsageError
from expkit.hookspecs import hookimpl
from expkit.model import (
    AttachRequest,
    ComputeTarget,
    PreparedEnvironment,
    PrepareRequest,
    RunConfig,
    RunRecord,
    TargetType,
)
from expkit.plugins import NoOwnerError, Registry, make_plugin_manager
from expkit.runner import run_experiment
from fake_target import cache_env, fake_registry, resolved_run  # noqa: F401 - fixtures


@pytest.fixture
def registry() -> Registry:
    return Registry(make_plugin_manager(entry_points=False))


class Declares:
    """Declares type ``mine`` and answers nothing else (every target hook returns None)."""

    @hookimpl
    def expkit_target_types(self):
        return [TargetType(name="mine", package="expkit-mine")]

    @hookimpl
    def expkit_prepare(self, request):
        return None


def _record() -> RunRecord:
    return RunRecord(
        id="r1", number=1, status="completed", target="t", runconfig="t", script="s.py"
    )


# ---------------------------------------------------------------------- target hooks


def test_required_hooks_no_plugin_answered_raise_no_owner(registry, tmp_path):
    registry.register(Declares(), "declares")
    compute = ComputeTarget(name="m", type="mine")
    request = PrepareRequest(
        project=tmp_path, compute=compute, runconfig=RunConfig(name="m", target="m"),
        environment=None, spark=None,
    )  # fmt: skip
    with pytest.raises(NoOwnerError, match="no installed plugin prepares environments for "
                       "target type 'mine'.*expkit_prepare") as caught:  # fmt: skip
        registry.prepare(request)
    assert caught.value.hook == "expkit_prepare" and caught.value.type_name == "mine"
    with pytest.raises(NoOwnerError, match="attaches targets"):
        registry.attach(AttachRequest(name="m", type="mine", project=tmp_path))
    with pytest.raises(NoOwnerError, match="stops runs"):
        registry.stop_orphan(compute, "r1", tmp_path)


def test_optional_hooks_no_plugin_answered_give_their_default(registry):
    compute = ComputeTarget(name="m", type="mine")
    assert registry.list_environments(compute) == []
    assert registry.remove_environment(compute, "abc") is False


def test_the_owner_answers_through_the_typed_call(registry, tmp_path):
    prepared = PreparedEnvironment(env_id=None, location="here", python="python3")

    class Owner(Declares):
        @hookimpl
        def expkit_prepare(self, request):
            return prepared if request.compute.type == "mine" else None

    registry.register(Owner(), "owner")
    request = PrepareRequest(
        project=tmp_path, compute=ComputeTarget(name="m", type="mine"),
        runconfig=RunConfig(name="m", target="m"), environment=None, spark=None,
    )  # fmt: skip
    assert registry.prepare(request) is prepared


# ---------------------------------------------------------------------- check_pending


class Misspelled(Declares):
    @hookimpl
    def expkit_sumbit(self, run, environment):  # never called: pluggy knows no such hook
        return None


def test_a_misspelled_hook_is_refused_by_name(registry):
    with pytest.raises(UsageError) as caught:
        registry.register(Misspelled(), "typo")
    message = str(caught.value)
    assert "plugin 'typo' implements a hook expkit does not define: expkit_sumbit" in message
    assert "expkit_sumbit -> expkit_submit?" in message
    assert "EXPKIT_DISABLE_PLUGINS=typo" in message
    assert registry.pm.get_plugin("typo") is None  # not left half-registered
    assert "mine" not in registry.types


def test_an_optional_hook_outside_the_specs_is_allowed(registry):
    class Extra(Declares):
        @hookimpl(optionalhook=True)
        def expkit_future_hook(self):
            return None

    registry.register(Extra(), "extra")
    assert "mine" in registry.types


# ---------------------------------------------------------------------- events


class OldStyleWrapper:
    def __init__(self) -> None:
        self.seen: list[str] = []

    @hookimpl(hookwrapper=True)
    def expkit_run_finished(self, record):
        self.seen.append(f"before {record.status}")
        outcome = yield
        self.seen.append(f"after, raised={outcome.exception is not None}")


class NewStyleWrapper:
    def __init__(self) -> None:
        self.seen: list[str] = []

    @hookimpl(wrapper=True)
    def expkit_run_finished(self, record):
        self.seen.append("before")
        result = yield
        self.seen.append("after")
        return result


class Fails:
    @hookimpl
    def expkit_run_finished(self, record):
        raise RuntimeError("tracker is down")


class Counts:
    def __init__(self) -> None:
        self.calls = 0

    @hookimpl
    def expkit_run_finished(self, record):
        self.calls += 1


def test_events_go_through_pluggy_wrappers_included(registry):
    old, new, counts = OldStyleWrapper(), NewStyleWrapper(), Counts()
    # Registered last, Fails is called first: the others must still be called.
    for name, plugin in (("old", old), ("new", new), ("counts", counts), ("fails", Fails())):
        registry.register(plugin, name)
    notes: list[str] = []
    registry.run_finished(_record(), notes.append)
    assert old.seen == ["before completed", "after, raised=False"]
    assert new.seen == ["before", "after"]
    assert counts.calls == 1
    assert notes == [
        "warning: plugin 'fails' failed in expkit_run_finished: RuntimeError: tracker is down"
    ]
    # A second registry over the same plugins guards each function once only.
    registry.register(Counts(), "counts2")
    notes.clear()
    registry.run_finished(_record(), notes.append)
    assert counts.calls == 2 and len(notes) == 1


def test_a_failing_wrapper_is_only_a_warning(registry):
    class BadWrapper:
        @hookimpl(wrapper=True)
        def expkit_run_started(self, record):
            yield
            raise ValueError("wrapper broke")

    registry.register(BadWrapper(), "bad")
    notes: list[str] = []
    registry.run_started(_record(), notes.append)
    assert notes == ["warning: a plugin failed in expkit_run_started: ValueError: wrapper broke"]


def _run(tmp_path: Path) -> tuple[RunRecord, list[str], Path]:
    project = tmp_path / "proj"
    (project / "aml_config").mkdir(parents=True)
    (project / "train.py").write_text("print('hi')\n", encoding="utf-8")
    notes: list[str] = []
    record = run_experiment(
        resolved_run(project), "train.py", (), cwd=project, terminal=io.StringIO(),
        note=notes.append,
    )  # fmt: skip
    return record, notes, project / ".exp" / "runs" / record.id / "log.txt"


def test_a_run_fires_its_events_through_wrappers(tmp_path: Path, fake_registry, cache_env):
    registry, _plugin = fake_registry
    wrapper = OldStyleWrapper()
    registry.register(wrapper, "wrapper")
    registry.register(Fails(), "fails")
    record, notes, _log = _run(tmp_path)
    assert record.status == "completed"
    assert wrapper.seen == ["before completed", "after, raised=False"]
    assert any("'fails' failed in expkit_run_finished" in n for n in notes)


# ---------------------------------------------------------------------- the notes channel


def test_collect_notes_reach_the_user_and_the_runs_log(tmp_path: Path, fake_registry, cache_env):
    _registry, plugin = fake_registry
    plugin.collect_notes = ("left out outputs/key -> /etc/passwd: it points outside outputs/",)
    record, notes, log = _run(tmp_path)
    assert record.status == "completed"
    assert notes[-1] == plugin.collect_notes[0]  # the runner's note() adds "exp: note: "
    assert log.read_text().splitlines() == [
        "hi",
        "exp: note: left out outputs/key -> /etc/passwd: it points outside outputs/",
    ]
