"""A project: the folder holding ``aml_config/``, and what ``-c NAME`` resolves to.

``Project.resolve`` is the first step of every run: run configuration ->
its ``Target``'s ``.compute`` -> the plugin-declared target type -> the
environment and Spark specs. Every failure on that path is a ConfigError
that names the file, line and key to fix.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from expkit.config.compute import clean_compute_data, compute_notes, parse_compute, resolve_type
from expkit.config.fields import check_name, is_safe_name
from expkit.config.runconfig import parse_runconfig, runconfig_notes
from expkit.config.spark import load_spark_file
from expkit.errors import ConfigError
from expkit.model import ComputeTarget, EnvironmentSpec, RunConfig, SparkSpec, TargetType
from expkit.paths import AML_CONFIG
from expkit.yamlio import YamlDoc, dump_yaml, load_yaml

if TYPE_CHECKING:
    from expkit.plugins import Registry

COMPUTE_SUFFIX = ".compute"
RUNCONFIG_SUFFIX = ".runconfig"
#: Written at the top of files expkit writes: they are meant to be edited.
WRITTEN_HEADER = "# Written by `exp {command}`; edit freely (docs/configuration.md).\n"


def find_project_root(start: Path | None = None) -> Path:
    """The nearest folder, from ``start`` (default: the working directory) upwards,
    that holds ``aml_config/``."""
    origin = Path(start if start is not None else os.getcwd()).resolve()
    for folder in (origin, *origin.parents):
        if (folder / AML_CONFIG).is_dir():
            return folder
    raise ConfigError(
        f"not inside an expkit project: no {AML_CONFIG}/ folder in {origin} or any folder above it",
        hint="run `exp init` in the project's root folder to create one "
        "(or cd into an existing Azure ML Workbench project).",
    )


@dataclass(frozen=True)
class ResolvedRun:
    """Everything ``-c NAME`` stands for, validated."""

    project: Path
    runconfig: RunConfig
    compute: ComputeTarget
    target_type: TargetType
    environment: EnvironmentSpec | None
    spark: SparkSpec | None
    #: User-facing notes (ignored keys, an unused password), printed by the CLI.
    notes: tuple[str, ...] = ()


class Project:
    """The project rooted at ``root``; reads and writes its ``aml_config/`` files."""

    def __init__(self, root: Path, registry: Registry | None = None) -> None:
        self.root = Path(root).resolve()
        self._registry = registry

    @classmethod
    def find(cls, start: Path | None = None) -> Project:
        return cls(find_project_root(start))

    def __repr__(self) -> str:
        return f"Project({str(self.root)!r})"

    @property
    def config_dir(self) -> Path:
        return self.root / AML_CONFIG

    def registry(self, registry: Registry | None = None) -> Registry:
        if registry is not None:
            return registry
        if self._registry is None:
            from expkit.plugins import get_registry

            self._registry = get_registry()
        return self._registry

    # ------------------------------------------------------------------ names

    def _names(self, suffix: str) -> list[str]:
        if not self.config_dir.is_dir():
            return []
        return sorted(
            p.name[: -len(suffix)]
            for p in self.config_dir.iterdir()
            if p.name.endswith(suffix) and is_safe_name(p.name[: -len(suffix)]) and p.is_file()
        )

    def runconfig_names(self) -> list[str]:
        return self._names(RUNCONFIG_SUFFIX)

    def compute_names(self) -> list[str]:
        return self._names(COMPUTE_SUFFIX)

    def compute_path(self, name: str) -> Path:
        return self.config_dir / (check_name(name, what="compute target name") + COMPUTE_SUFFIX)

    def runconfig_path(self, name: str) -> Path:
        return self.config_dir / (
            check_name(name, what="run configuration name") + RUNCONFIG_SUFFIX
        )

    def existing_file(self, name: str, kind: str) -> Path:
        """The path of ``name``'s file of ``kind``; a missing one lists those that exist."""
        if kind == "runconfig":
            path, names = self.runconfig_path(name), self.runconfig_names()
            what = "run configuration"
            create = "`exp runconfig create --name NAME --target TARGET`"
        else:
            path, names = self.compute_path(name), self.compute_names()
            what = "compute target"
            create = "`exp target attach --name NAME --type TYPE`"
        if path.is_file():
            return path
        hint = f"create one with {create}" + (" or `exp init`." if not names else ".")
        raise ConfigError(
            f"no {what} named {name!r} (no file {path.name})",
            file=self.config_dir,
            allowed=names or None,
            got=name,
            hint=hint,
        )

    # ------------------------------------------------------------------ loading

    def load_runconfig(self, name: str, *, check_files: bool = True) -> RunConfig:
        doc = load_yaml(self.existing_file(name, "runconfig"))
        return parse_runconfig(doc, name, self.root, check_files=check_files)

    def load_compute(self, name: str, registry: Registry | None = None) -> ComputeTarget:
        doc = load_yaml(self.existing_file(name, "compute"))
        return parse_compute(doc, name, self.registry(registry))

    def load_environment(self, runconfig: RunConfig) -> EnvironmentSpec | None:
        """The canonical conda environment of ``runconfig``; None when it names none."""
        if not runconfig.conda_dependencies_file:
            return None
        from expkit.environment import load_conda_file

        return load_conda_file(self.root / runconfig.conda_dependencies_file, project=self.root)

    def load_spark(self, runconfig: RunConfig) -> SparkSpec | None:
        """The Spark spec of a PySpark run (empty when no file is named); None for Python."""
        if runconfig.framework != "PySpark":
            return None
        if not runconfig.spark_dependencies_file:
            return SparkSpec()
        return load_spark_file(self.root / runconfig.spark_dependencies_file)

    def resolve(self, runconfig_name: str, registry: Registry | None = None) -> ResolvedRun:
        registry = self.registry(registry)
        runconfig = self.load_runconfig(runconfig_name)
        if not self.compute_path(runconfig.target).is_file():
            raise self._missing_target(runconfig)
        compute = self.load_compute(runconfig.target, registry)
        target_type = resolve_type(registry, compute.type, None)
        notes = [*runconfig_notes(runconfig), *compute_notes(compute)]
        return ResolvedRun(
            project=self.root,
            runconfig=runconfig,
            compute=compute,
            target_type=target_type,
            environment=self.load_environment(runconfig),
            spark=self.load_spark(runconfig),
            notes=tuple(notes),
        )

    def _missing_target(self, runconfig: RunConfig) -> ConfigError:
        assert runconfig.source is not None
        doc = load_yaml(runconfig.source)
        names = self.compute_names()
        return ConfigError(
            f"names compute target {runconfig.target!r}, but "
            f"{self.compute_path(runconfig.target)} does not exist",
            file=runconfig.source,
            line=doc.line("Target"),
            key="Target",
            allowed=names or None,
            got=runconfig.target,
            hint="fix `Target`, or create the target with "
            f"`exp target attach --name {runconfig.target} --type TYPE`.",
        )

    # ------------------------------------------------------------------ writing

    def check_compute_data(
        self, name: str, data: Mapping[str, Any], registry: Registry | None = None
    ) -> ComputeTarget:
        """Validate ``.compute`` contents before they are written."""
        doc = YamlDoc(data=clean_compute_data(name, data), path=self.compute_path(name))
        return parse_compute(doc, name, self.registry(registry))

    def check_runconfig_data(self, name: str, data: Mapping[str, Any]) -> RunConfig:
        """Validate ``.runconfig`` contents before they are written (files may not exist yet)."""
        doc = YamlDoc(data=dict(data), path=self.runconfig_path(name))
        return parse_runconfig(doc, name, self.root, check_files=False)

    def write_compute(
        self, name: str, data: Mapping[str, Any], *, command: str = "target attach"
    ) -> Path:
        """Write ``<name>.compute`` atomically; a ``password`` key is never written."""
        path = self.compute_path(name)
        self._write(path, clean_compute_data(name, data), command)
        return path

    def write_runconfig(
        self, name: str, data: Mapping[str, Any], *, command: str = "runconfig create"
    ) -> Path:
        path = self.runconfig_path(name)
        self._write(path, dict(data), command)
        return path

    def _write(self, path: Path, data: dict[str, Any], command: str) -> None:
        # fsutil pulls in tempfile: only commands that write pay for it.
        from expkit.fsutil import atomic_write_text

        self.config_dir.mkdir(parents=True, exist_ok=True)
        atomic_write_text(path, WRITTEN_HEADER.format(command=command) + dump_yaml(data))
