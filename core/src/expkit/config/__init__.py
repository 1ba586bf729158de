"""Configuration: an Azure ML Workbench ``aml_config/`` folder, read unchanged.

``Project.find().resolve("docker")`` turns ``-c docker`` into validated,
immutable values (expkit.model) or one clear ConfigError (exit code 2)
naming the file, line, key, what is allowed and how to fix it.

Modules: ``fields`` (typed checks), ``compute`` / ``runconfig`` / ``spark``
(one file format each), ``project`` (finding, resolving, writing),
``scaffold`` (``exp init``). The conda environment file belongs to
expkit.environment.
"""

from __future__ import annotations

from expkit.config.compute import compute_data, compute_notes, parse_compute
from expkit.config.fields import NAME_RULE, check_name, is_safe_name
from expkit.config.project import Project, ResolvedRun, find_project_root
from expkit.config.runconfig import FRAMEWORKS, parse_runconfig, runconfig_data, runconfig_notes
from expkit.config.spark import load_spark_file, parse_spark

__all__ = [
    "FRAMEWORKS",
    "NAME_RULE",
    "Project",
    "ResolvedRun",
    "check_name",
    "compute_data",
    "compute_notes",
    "find_project_root",
    "is_safe_name",
    "load_spark_file",
    "parse_compute",
    "parse_runconfig",
    "parse_spark",
    "runconfig_data",
    "runconfig_notes",
]
