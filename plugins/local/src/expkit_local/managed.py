"""prepare for managed mode: check the spec against the interpreter, then reuse or build."""

from __future__ import annotations

import shutil
from typing import Any

from expkit.errors import ConfigError
from expkit.model import EnvironmentSpec, PreparedEnvironment, PrepareRequest

from expkit_local.interpreter import Interpreter, probe


def check_spec(spec: EnvironmentSpec, interpreter: Interpreter, compute_source: Any) -> None:
    """Refuse, clearly, what a local venv built from ``interpreter`` cannot provide."""
    from expkit_local.pins import satisfies

    if spec.conda:
        raise ConfigError(
            "local managed environments install pip packages only; these conda packages "
            "cannot be installed: " + ", ".join(spec.conda),
            file=spec.source,
            key="dependencies",
            hint="move them to the pip: list if they exist on PyPI, or run on the docker "
            "target (`exp run -c docker ...`), which installs conda packages.",
        )
    if spec.python:
        try:
            ok = satisfies(interpreter.version, spec.python)
        except ValueError:
            raise ConfigError(
                f"cannot read the Python version pin {spec.python!r}",
                file=spec.source,
                key="dependencies",
                hint="write it as python=3.11 or python=3.11.7.",
            ) from None
        if not ok:
            where = f" (pythonLocation in {compute_source})" if compute_source else ""
            raise ConfigError(
                f"python={spec.python} is pinned, but the local interpreter "
                f"{interpreter.path}{where} is Python {interpreter.version}",
                file=spec.source,
                key="dependencies",
                hint=f"point pythonLocation at a Python {spec.python} interpreter, change the "
                "pin, or run on the docker target, whose base image provides the Python.",
            )


def prepare_managed(
    request: PrepareRequest, python: str, details: dict[str, Any]
) -> PreparedEnvironment:
    """The venv for the request's environment: a cache hit, or built now."""
    from expkit.environment import environment_id

    from expkit_local import venvs

    interpreter = probe(python)
    spec = request.environment if request.environment is not None else EnvironmentSpec()
    check_spec(spec, interpreter, request.compute.source)
    layers = environment_id(spec, interpreter.identity)
    env_id = layers.id
    details.update(mode="managed", python_version=interpreter.version)

    def prepared(env: venvs.ManagedEnv, cached: bool) -> PreparedEnvironment:
        return PreparedEnvironment(
            env_id=env_id,
            location=str(env.path),
            python=str(env.python),
            cached=cached,
            layers=layers,
            packages=env.packages,
            details={**details, "installer": env.details.get("installer")},
        )

    if not request.force:
        hit = venvs.lookup(env_id)
        if hit is not None:
            return prepared(hit, cached=True)
    if not request.build:
        from expkit.target import not_prepared

        raise not_prepared(request, f"venv {venvs.env_path(env_id)} is not built")
    progress = request.progress

    def waiting() -> None:
        if progress is not None:
            progress.step(f"waiting for another expkit process building environment {env_id}")

    with venvs.env_lock(env_id, on_wait=waiting) as lock:
        if not request.force:
            hit = venvs.lookup(env_id)
            if hit is not None:  # another process built it while we waited
                return prepared(hit, cached=True)
        path = venvs.env_path(env_id)
        if path.exists():  # half-built by a crashed process, or forced
            shutil.rmtree(path)
        try:
            from expkit_local.builder import build_venv

            installer = build_venv(
                path, interpreter.executable, spec.pip, cwd=request.project, progress=progress
            )
            frozen = probe(str(venvs.venv_python(path)), refresh=True)
            env = venvs.write_marker(
                path,
                env_id,
                layers,
                frozen.packages,
                {
                    "installer": installer,
                    "python": interpreter.version,
                    "interpreter": interpreter.identity,
                    "requirements": list(spec.pip),
                },
            )
        except BaseException:
            shutil.rmtree(path, ignore_errors=True)
            # No environment, so no lock to keep for it (still held: safe to delete).
            lock.unlink(missing_ok=True)
            raise
    return prepared(env, cached=False)
