"""TargetContract: the tests every target plugin must pass (see expkit.testing)."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from importlib.metadata import EntryPoint
from pathlib import Path
from typing import Any, ClassVar

import pytest

from expkit.model import AttachRequest, ComputeTarget, EnvironmentSpec
from expkit.plugins import Registry, make_plugin_manager
from expkit.testing.plugin_checks import PluginChecks
from expkit.testing.run_checks import PLACEHOLDER_TESTS, RUN_TESTS, RunChecks
from expkit.testing.runs import compute_from_mapping
from expkit.testing.support import find_entry_point


class TargetContract(PluginChecks, RunChecks):
    """Subclass as ``class TestMyContract(TargetContract)`` and set the class attributes."""

    #: The ``type:`` value under test (a TargetType name or alias).
    target_type: ClassVar[str] = ""
    #: The entry-point name in the ``expkit`` group.
    entry_point: ClassVar[str] = ""
    #: ``.compute`` contents of a working target (Workbench keys);
    #: default ``{"type": target_type}``.
    #: Override the ``compute_data`` fixture when it needs paths or a running service.
    compute: ClassVar[Mapping[str, Any] | None] = None
    #: AttachRequest fields for a valid ``exp target attach`` (address, username, ...).
    #: Override the ``attach_request`` fixture when they need files.
    attach_options: ClassVar[Mapping[str, Any]] = {}
    #: AttachRequest fields (merged over attach_options) the type must reject with ConfigError.
    bad_options: ClassVar[Sequence[Mapping[str, Any]]] = ()
    #: False for placeholders: prepare/submit must then raise TargetNotAvailableError.
    runs_scripts: ClassVar[bool] = True
    #: Seconds a trivial run may take end to end (prepare excluded).
    run_timeout: ClassVar[float] = 120.0
    #: Seconds ``prepare`` may take (a cold docker build is slow; later ones are cached).
    prepare_timeout: ClassVar[float] = 600.0
    #: Seconds within which ``wait`` must return after ``cancel()``.
    cancel_timeout: ClassVar[float] = 20.0

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        # A placeholder has nothing to run and a real target no placeholder
        # errors to show: leave out the checks that do not apply instead of
        # skipping them, so a skip in a plugin's suite always means something.
        for name in PLACEHOLDER_TESTS if cls.runs_scripts else RUN_TESTS:
            setattr(cls, name, None)

    # ------------------------------------------------------------------ fixtures

    def pytest_generate_tests(self, metafunc: pytest.Metafunc) -> None:
        if "bad_option" in metafunc.fixturenames:
            options = list(self.bad_options)
            if options:
                ids = [",".join(f"{k}={v}" for k, v in o.items())[:60] for o in options]
                metafunc.parametrize("bad_option", options, ids=ids)
            else:
                # Rejecting bad options clearly is part of the contract: say so.
                metafunc.parametrize("bad_option", [None], ids=["none-declared"])

    @pytest.fixture(autouse=True)
    def _contract_cache_dir(self, monkeypatch: pytest.MonkeyPatch, tmp_path_factory) -> None:
        # Keep runtime shims and environment caches out of the user's real cache.
        if not os.environ.get("EXPKIT_CACHE_DIR"):
            cache = tmp_path_factory.getbasetemp() / "expkit-contract-cache"
            cache.mkdir(exist_ok=True)
            monkeypatch.setenv("EXPKIT_CACHE_DIR", str(cache))

    @pytest.fixture
    def contract_entry_point(self) -> EntryPoint:
        assert self.entry_point, "set TargetContract.entry_point"
        return find_entry_point(self.entry_point)

    @pytest.fixture
    def contract_plugin(self, contract_entry_point: EntryPoint) -> object:
        return contract_entry_point.load()

    @pytest.fixture
    def contract_registry(
        self, contract_entry_point: EntryPoint, contract_plugin: object
    ) -> Registry:
        """A registry holding only the plugin under test."""
        registry = Registry(make_plugin_manager(entry_points=False))
        registry.register(contract_plugin, name=contract_entry_point.name)
        return registry

    @pytest.fixture
    def compute_data(self, tmp_path: Path) -> Mapping[str, Any] | ComputeTarget:
        return dict(self.compute) if self.compute is not None else {"type": self.target_type}

    @pytest.fixture
    def contract_compute(self, compute_data: Mapping[str, Any] | ComputeTarget) -> ComputeTarget:
        return compute_from_mapping("contract", compute_data)

    @pytest.fixture
    def attach_request(self, tmp_path: Path) -> AttachRequest:
        project = tmp_path / "attach-project"
        (project / "aml_config").mkdir(parents=True, exist_ok=True)
        return AttachRequest(
            name="contract", type=self.target_type, project=project, **dict(self.attach_options)
        )

    @pytest.fixture
    def environment_spec(self) -> EnvironmentSpec | None:
        """The environment prepared for contract runs (None: no conda file)."""
        return None


__all__ = ["TargetContract"]
