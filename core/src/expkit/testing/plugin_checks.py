"""Contract checks that need no engine: discovery, foreign types, attach."""

from __future__ import annotations

import dataclasses
import json
from importlib.metadata import EntryPoint
from pathlib import Path
from typing import Any, ClassVar

import pytest

from expkit.errors import ConfigError, UsageError
from expkit.model import (
    AttachRequest,
    AttachResult,
    ComputeTarget,
    PreparedEnvironment,
    PrepareRequest,
)
from expkit.plugins import Registry, check_hooks, make_plugin_manager
from expkit.testing.runs import make_run_context
from expkit.testing.support import (
    FOREIGN_TYPE,
    OWNED_HOOKS,
    UntouchableExecution,
    call_impls,
    has_password,
)


class PluginChecks:
    """Discovery, foreign-type and attach tests (mixed into TargetContract)."""

    target_type: ClassVar[str]
    runs_scripts: ClassVar[bool]

    # ------------------------------------------------------------------ discovery

    def test_entry_point_loads(self, contract_entry_point: EntryPoint) -> None:
        plugin = contract_entry_point.load()
        assert hasattr(plugin, "expkit_target_types"), (
            f"entry point {contract_entry_point.value!r} has no expkit_target_types hook"
        )

    def test_declares_target_type(
        self, contract_registry: Registry, contract_entry_point: EntryPoint
    ) -> None:
        types = contract_registry.types
        assert self.target_type in types, (
            f"expkit_target_types() does not declare {self.target_type!r} "
            f"(declares: {', '.join(sorted(types)) or 'nothing'})"
        )
        ttype = types[self.target_type]
        assert ttype.package, "TargetType.package must name the distribution that provides it"
        dist = contract_entry_point.dist
        if dist is not None:
            from packaging.utils import canonicalize_name

            assert canonicalize_name(ttype.package) == canonicalize_name(dist.metadata["name"]), (
                f"TargetType.package is {ttype.package!r} but the entry point comes from "
                f"{dist.metadata['name']!r}: `exp` tells users to install TargetType.package"
            )
        assert ttype.available == self.runs_scripts, (
            "TargetType.available must be False exactly for placeholders (runs_scripts = False)"
        )

    def test_implements_only_known_hooks(
        self, contract_entry_point: EntryPoint, contract_plugin: object
    ) -> None:
        """pluggy's ``check_pending``: a misspelled hook name would silently never be called."""
        pm = make_plugin_manager(entry_points=False)
        pm.register(contract_plugin, name=contract_entry_point.name)
        try:
            check_hooks(pm)
        except UsageError as exc:
            pytest.fail(str(exc), pytrace=False)

    def test_implements_the_target_hooks(self, contract_registry: Registry) -> None:
        for hook in OWNED_HOOKS:
            assert getattr(contract_registry.hook, hook).get_hookimpls(), (
                f"{hook} is not implemented"
            )

    def test_foreign_types_are_ignored(self, contract_registry: Registry, tmp_path: Path) -> None:
        foreign = ComputeTarget(name="foreign", type=FOREIGN_TYPE)
        run = make_run_context(tmp_path, foreign, "print('never run')\n")
        calls: dict[str, dict[str, Any]] = {
            "expkit_attach": {
                "request": AttachRequest(name="foreign", type=FOREIGN_TYPE, project=run.project)
            },
            "expkit_prepare": {
                "request": PrepareRequest(
                    project=run.project,
                    compute=foreign,
                    runconfig=run.runconfig,
                    environment=None,
                    spark=None,
                )
            },
            "expkit_submit": {
                "run": run,
                "environment": PreparedEnvironment(
                    env_id=None, location="nowhere", python="python"
                ),
            },
            "expkit_collect": {"run": run, "execution": UntouchableExecution()},
            "expkit_list_environments": {"compute": foreign},
            "expkit_remove_environment": {"compute": foreign, "env_id": "0" * 16},
            "expkit_stop_orphan": {
                "compute": foreign,
                "run_id": run.run_id,
                "run_dir": run.run_dir,
            },
        }
        for hook, kwargs in calls.items():
            for plugin, result in call_impls(contract_registry, hook, **kwargs):
                assert result is None, (
                    f"{plugin}.{hook} returned {result!r} for target type {FOREIGN_TYPE!r}: "
                    "return None for types the plugin does not own"
                )
        assert not any(run.run_dir.iterdir()), "a foreign-type call wrote into the run folder"

    # ------------------------------------------------------------------ attach

    def test_attach_writes_matching_files(
        self, contract_registry: Registry, attach_request: AttachRequest
    ) -> None:
        result = contract_registry.hook.expkit_attach(request=attach_request)
        assert isinstance(result, AttachResult), f"expkit_attach returned {result!r}"
        ttype = contract_registry.types[self.target_type]
        assert result.compute.get("type") in (ttype.name, *ttype.aliases)
        assert result.runconfig.get("Target") == attach_request.name
        assert not has_password(dict(result.compute)) and not has_password(
            dict(result.runconfig)
        ), "attach results are written to the project folder: never a password"
        json.dumps({"compute": dict(result.compute), "runconfig": dict(result.runconfig)})

    def test_attach_rejects_bad_options(
        self, contract_registry: Registry, attach_request: AttachRequest, bad_option
    ) -> None:
        assert bad_option is not None, (
            "declare bad_options: attach options this type must reject (e.g. an address "
            "for a local target, a port out of range)"
        )
        try:
            request = dataclasses.replace(attach_request, **bad_option)
        except TypeError as exc:
            pytest.fail(f"bad_options entry {bad_option!r} is not AttachRequest fields: {exc}")
        with pytest.raises(ConfigError) as info:
            contract_registry.hook.expkit_attach(request=request)
        assert str(info.value).strip(), "the ConfigError needs a message saying what is wrong"
