"""Registers the ``local`` target with expkit (entry point ``expkit: local``).

Every hook answers only for ``type: local`` and returns None otherwise, so
other plugins' targets are never touched. The work is in
expkit_local.target.LocalTarget.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from expkit.hookspecs import hookimpl

from expkit_local.target import NAME, LocalTarget

if TYPE_CHECKING:
    from expkit.model import (
        AttachRequest,
        AttachResult,
        Collected,
        ComputeTarget,
        EnvironmentInfo,
        Execution,
        PreparedEnvironment,
        PrepareRequest,
        RunContext,
        TargetType,
    )

_target = LocalTarget()


@hookimpl
def expkit_target_types() -> list[TargetType]:
    return [_target.target_type()]


@hookimpl
def expkit_attach(request: AttachRequest) -> AttachResult | None:
    return _target.attach(request) if request.type == NAME else None


@hookimpl
def expkit_prepare(request: PrepareRequest) -> PreparedEnvironment | None:
    return _target.prepare(request) if request.compute.type == NAME else None


@hookimpl
def expkit_submit(run: RunContext, environment: PreparedEnvironment) -> Execution | None:
    return _target.submit(run, environment) if run.compute.type == NAME else None


@hookimpl
def expkit_collect(run: RunContext, execution: Execution) -> Collected | None:
    return _target.collect(run) if run.compute.type == NAME else None


@hookimpl
def expkit_list_environments(compute: ComputeTarget) -> list[EnvironmentInfo] | None:
    return _target.list_environments() if compute.type == NAME else None


@hookimpl
def expkit_remove_environment(compute: ComputeTarget, env_id: str) -> bool | None:
    return _target.remove_environment(env_id) if compute.type == NAME else None
