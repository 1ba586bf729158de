"""expkit.target: a Target subclass becomes a plugin whose hooks answer for its type only.

The fakes here are plain Target subclasses (no engine); the hooks are called
through a real pluggy manager, as ``exp`` calls them.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from expkit.model import (
    AttachRequest,
    AttachResult,
    Collected,
    ComputeTarget,
    PreparedEnvironment,
    PrepareRequest,
    RunConfig,
    TargetType,
)
from expkit.plugins import Registry, make_plugin_manager
from expkit.target import Target, TargetPlugin, workbench_runconfig
from expkit.testing import make_run_context


class Execution:
    def wait(self, on_output) -> int:
        return 0

    def cancel(self) -> None:
        pass


class EchoTarget(Target):
    """Records each call, so a test can tell which method was reached."""

    target_type = TargetType(name="echo", package="expkit-echo", aliases=("echo2",))

    def __init__(self) -> None:
        self.calls: list[str] = []

    def attach(self, request: AttachRequest) -> AttachResult:
        self.calls.append("attach")
        return AttachResult(compute={"type": "echo"}, runconfig=workbench_runconfig(request))

    def prepare(self, request: PrepareRequest) -> PreparedEnvironment:
        self.calls.append("prepare")
        return PreparedEnvironment(env_id=None, location="here", python="python3")

    def submit(self, run, environment) -> Execution:
        self.calls.append("submit")
        return Execution()

    def collect(self, run, execution) -> Collected:
        self.calls.append("collect")
        return Collected(outputs=("a.txt",))


class LaterTarget(EchoTarget):
    """A type its plugin declares but marks unavailable (``TargetType.available`` False)."""

    target_type = TargetType(name="later", package="expkit-later", available=False)


def registry_with(*plugins: TargetPlugin) -> Registry:
    registry = Registry(make_plugin_manager(entry_points=False))
    for index, plugin in enumerate(plugins):
        registry.register(plugin, name=f"p{index}")
    return registry


def prepare_request(project: Path, compute: ComputeTarget) -> PrepareRequest:
    return PrepareRequest(project=project, compute=compute, environment=None, spark=None,
                          runconfig=RunConfig(name="r", target=compute.name))  # fmt: skip


def test_each_hook_reaches_the_target_that_owns_the_type(tmp_path: Path) -> None:
    echo = EchoTarget()
    registry = registry_with(TargetPlugin(echo), TargetPlugin(LaterTarget()))
    assert registry.owner("echo") == registry.owner("echo2") == "p0"
    assert registry.owner("later") == "p1" and not registry.types["later"].available

    hook = registry.hook
    attached = hook.expkit_attach(request=AttachRequest(name="e", type="echo2", project=tmp_path))
    assert attached.compute == {"type": "echo"} and attached.runconfig["Target"] == "e"
    compute = ComputeTarget(name="e", type="echo")
    run = make_run_context(tmp_path, compute, "print(1)\n")
    environment = hook.expkit_prepare(request=prepare_request(run.project, compute))
    execution = hook.expkit_submit(run=run, environment=environment)
    assert hook.expkit_collect(run=run, execution=execution).outputs == ("a.txt",)
    assert echo.calls == ["attach", "prepare", "submit", "collect"]
    # The defaults of a target that keeps no environment cache.
    assert hook.expkit_list_environments(compute=compute) == []
    assert hook.expkit_remove_environment(compute=compute, env_id="0" * 16) is False


def test_foreign_types_get_none_from_every_hook(tmp_path: Path) -> None:
    echo = EchoTarget()
    plugin = TargetPlugin(echo)
    other = ComputeTarget(name="o", type="other")
    run = make_run_context(tmp_path, other, "print(1)\n")
    assert plugin.expkit_attach(AttachRequest(name="o", type="other", project=tmp_path)) is None
    assert plugin.expkit_prepare(prepare_request(tmp_path, other)) is None
    assert plugin.expkit_submit(run, PreparedEnvironment(None, "x", "python3")) is None
    assert plugin.expkit_collect(run, Execution()) is None
    assert plugin.expkit_list_environments(other) is None
    assert plugin.expkit_remove_environment(other, "0" * 16) is None
    assert echo.calls == [], "a foreign type reached the target"


def test_a_target_must_declare_its_type_and_implement_the_steps() -> None:
    class Untyped(EchoTarget):
        target_type = None  # type: ignore[assignment]

    with pytest.raises(TypeError, match="Untyped.target_type must be an expkit.model.TargetType"):
        TargetPlugin(Untyped())

    class Incomplete(Target):
        target_type = TargetType(name="x", package="x")

        def attach(self, request):
            raise NotImplementedError

    with pytest.raises(TypeError, match="abstract"):
        Incomplete()  # type: ignore[abstract]


def test_workbench_runconfig_names_only_existing_dependency_files(tmp_path: Path) -> None:
    request = AttachRequest(name="t", type="x", project=tmp_path)
    assert workbench_runconfig(request, prepare_environment=False) == {
        "ArgumentVector": ["$file"], "Target": "t", "Framework": "Python",
        "EnvironmentVariables": {}, "PrepareEnvironment": False, "TrackedRun": True,
    }  # fmt: skip
    (tmp_path / "aml_config").mkdir()
    (tmp_path / "aml_config" / "conda_dependencies.yml").write_text("dependencies: []\n")
    named = workbench_runconfig(request)
    assert named["CondaDependenciesFile"] == "aml_config/conda_dependencies.yml"
    assert "SparkDependenciesFile" not in named and named["PrepareEnvironment"] is True


# A module the deferred plugin names; imported only when a hook needs the target.
DEFERRED_TYPE = EchoTarget.target_type


def test_a_deferred_plugin_loads_its_target_only_for_its_own_type(tmp_path: Path) -> None:
    plugin = TargetPlugin.deferred(DEFERRED_TYPE, f"{__name__}:EchoTarget")
    other = ComputeTarget(name="o", type="other")
    assert plugin.expkit_target_types() == [DEFERRED_TYPE]
    assert plugin.expkit_prepare(prepare_request(tmp_path, other)) is None
    assert plugin.expkit_list_environments(other) is None
    assert plugin._target is None, "a foreign type or the type list loaded the target"
    mine = ComputeTarget(name="e", type="echo2")  # an alias owns it too
    assert plugin.expkit_prepare(prepare_request(tmp_path, mine)).location == "here"
    assert isinstance(plugin.target, EchoTarget) and plugin.target.calls == ["prepare"]


def test_a_deferred_plugin_through_pluggy_and_the_registry(tmp_path: Path) -> None:
    plugin = TargetPlugin.deferred(DEFERRED_TYPE, f"{__name__}:EchoTarget")
    registry = registry_with(plugin)
    assert plugin._target is None, "registering looked at the target"
    compute = ComputeTarget(name="e", type="echo")
    registry.prepare(prepare_request(tmp_path, compute))
    assert plugin.target.calls == ["prepare"]


def test_a_deferred_target_must_declare_the_same_type() -> None:
    declared = TargetType(name="echo", package="expkit-other")
    plugin = TargetPlugin.deferred(declared, f"{__name__}:EchoTarget")
    with pytest.raises(TypeError, match="declares"):
        _ = plugin.target
    with pytest.raises(TypeError, match="must be an expkit.model.TargetType"):
        TargetPlugin.deferred("echo", f"{__name__}:EchoTarget")  # type: ignore[arg-type]


def test_first_party_plugins_import_no_target_module_at_start_up() -> None:
    """`exp` registers every installed plugin at each start; their target modules
    (and what those import) wait for a command that uses the type."""
    import subprocess
    import sys

    code = (
        "import sys\n"
        "from expkit.plugins import make_plugin_manager\n"
        "make_plugin_manager()\n"
        "print(sorted(m for m in sys.modules if m.endswith('.target') and m != 'expkit.target'))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
