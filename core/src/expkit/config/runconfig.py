"""``aml_config/<name>.runconfig``: how a run executes.

Keys are Workbench's. ``UseSampling``, ``DataSourceSettings`` and
``DataSourceSubstitutions`` configured Workbench's data-preparation service,
which expkit does not have: they are accepted so existing projects load, and
each one that is actually set gets a note.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from expkit.config.fields import NAME_RULE, Fields, is_safe_name
from expkit.model import RunConfig, frozen_map
from expkit.yamlio import YamlDoc

FRAMEWORKS = ("Python", "PySpark")
FILE_KEYS = ("CondaDependenciesFile", "SparkDependenciesFile")
IGNORED_KEYS = ("UseSampling", "DataSourceSettings", "DataSourceSubstitutions")
KNOWN_KEYS = frozenset(
    {
        "ArgumentVector",
        "Target",
        "EnvironmentVariables",
        "Framework",
        *FILE_KEYS,
        "PrepareEnvironment",
        "TrackedRun",
        *IGNORED_KEYS,
    }
)
EXAMPLE = "Target: local   (the name of a .compute file in aml_config/)"


def parse_runconfig(
    doc: YamlDoc, name: str, project: Path, *, check_files: bool = True
) -> RunConfig:
    """Validate a parsed ``.runconfig`` document and build its RunConfig.

    ``check_files``: a referenced dependency file that does not exist is an
    error (off when validating what ``exp target attach`` is about to write).
    """
    fields = Fields.top(doc, "run configuration", EXAMPLE)
    fields.reject_unknown(KNOWN_KEYS)
    target = fields.string(
        "Target",
        required=True,
        hint="name the compute target this runs on, e.g. `Target: local` "
        "(a file aml_config/local.compute).",
    )
    assert target is not None
    target = target.strip()
    if not is_safe_name(target):
        raise fields.error(
            f"{target!r} is not a compute target name", "Target", hint=f"names use {NAME_RULE}."
        )
    argv = fields.text_list("ArgumentVector")
    if argv is not None and not argv:
        raise fields.error(
            "must not be empty", "ArgumentVector", hint='use ["$file"] to run the submitted script.'
        )
    env = fields.text_map("EnvironmentVariables") or {}
    for var in env:
        if "=" in var or not var.strip():
            raise fields.doc.error(
                "is not a valid environment variable name (no '=', not blank)",
                "EnvironmentVariables",
                var,
            )
    files = {key: _dependency_file(fields, key, project, check_files) for key in FILE_KEYS}
    prepare = fields.boolean("PrepareEnvironment")
    tracked = fields.boolean("TrackedRun")
    return RunConfig(
        name=name,
        target=target,
        framework=fields.choice("Framework", FRAMEWORKS, "Python"),
        argument_vector=argv if argv is not None else ("$file",),
        environment_variables=frozen_map(env),
        conda_dependencies_file=files["CondaDependenciesFile"],
        spark_dependencies_file=files["SparkDependenciesFile"],
        prepare_environment=True if prepare is None else prepare,
        tracked_run=True if tracked is None else tracked,
        ignored_keys=tuple(k for k in IGNORED_KEYS if _is_set(doc.data.get(k))),
        source=doc.path,
    )


def _is_set(value: Any) -> bool:
    # ``UseSampling: false`` or an empty map asks for nothing, so nothing is ignored.
    return value is not None and value is not False and value != {} and value != []


def _dependency_file(fields: Fields, key: str, project: Path, check: bool) -> str | None:
    """A project-relative path as written (Windows separators normalised)."""
    raw = fields.string(key)
    if raw is None:
        return None
    relpath = raw.strip().replace("\\", "/")
    if check:
        resolved = project / relpath
        if not resolved.is_file():
            state = "is a folder, not a file" if resolved.is_dir() else "does not exist"
            raise fields.error(
                f"the referenced file {relpath!r} {state} (looked for {resolved})",
                key,
                hint="paths are relative to the project root "
                f"({project}); fix the path, create the file, or remove the key.",
            )
    return relpath


def runconfig_notes(runconfig: RunConfig) -> list[str]:
    where = runconfig.source or f"{runconfig.name}.runconfig"
    notes = [
        f"{where}: {key} is accepted for compatibility with Azure ML Workbench and ignored."
        for key in runconfig.ignored_keys
    ]
    if runconfig.spark_dependencies_file and runconfig.framework != "PySpark":
        notes.append(
            f"{where}: SparkDependenciesFile is ignored with Framework: {runconfig.framework} "
            "(only spark-submit uses it); set Framework: PySpark to run the script with Spark."
        )
    return notes


def runconfig_data(runconfig: RunConfig) -> dict[str, Any]:
    """The run configuration as Workbench keys, for display and for writing."""
    data: dict[str, Any] = {
        "ArgumentVector": list(runconfig.argument_vector),
        "Target": runconfig.target,
        "Framework": runconfig.framework,
        "EnvironmentVariables": dict(runconfig.environment_variables),
        "PrepareEnvironment": runconfig.prepare_environment,
        "TrackedRun": runconfig.tracked_run,
    }
    if runconfig.conda_dependencies_file:
        data["CondaDependenciesFile"] = runconfig.conda_dependencies_file
    if runconfig.spark_dependencies_file:
        data["SparkDependenciesFile"] = runconfig.spark_dependencies_file
    return data
