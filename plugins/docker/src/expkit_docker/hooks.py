"""Registers the ``docker`` target with expkit (entry point ``expkit: docker``).

Every hook answers only for ``type: docker`` (or its alias ``localdocker``)
and returns None otherwise, so other plugins' targets are never touched.
The work is in expkit_docker.target.DockerTarget; this module and that one
import nothing heavy, since ``exp`` loads every plugin at start-up.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from expkit.hookspecs import hookimpl

from expkit_docker.target import DockerTarget

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

_target = DockerTarget()


@hookimpl
def expkit_target_types() -> list[TargetType]:
    return [_target.target_type()]


@hookimpl
def expkit_attach(request: AttachRequest) -> AttachResult | None:
    return _target.attach(request) if _target.owns(request.type) else None


@hookimpl
def expkit_prepare(request: PrepareRequest) -> PreparedEnvironment | None:
    return _target.prepare(request) if _target.owns(request.compute.type) else None


@hookimpl
def expkit_submit(run: RunContext, environment: PreparedEnvironment) -> Execution | None:
    return _target.submit(run, environment) if _target.owns(run.compute.type) else None


@hookimpl
def expkit_collect(run: RunContext, execution: Execution) -> Collected | None:
    return _target.collect(run, execution) if _target.owns(run.compute.type) else None


@hookimpl
def expkit_list_environments(compute: ComputeTarget) -> list[EnvironmentInfo] | None:
    return _target.list_environments() if _target.owns(compute.type) else None


@hookimpl
def expkit_remove_environment(compute: ComputeTarget, env_id: str) -> bool | None:
    return _target.remove_environment(env_id) if _target.owns(compute.type) else None
