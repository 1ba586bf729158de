"""``expkit_prepare`` for docker: content-hashed environment images, one per layer.

Ids come from expkit.environment (base = the base image's id, so a re-pulled
base makes new environments). Tags:

- ``expkit-env:sys-<system id>``: python (+ conda packages) on the base image;
- ``expkit-env:<pip id>``: the environment itself (pip requirements on top),
  the image runs start from. With no pip requirements it is the system
  image under a second tag.

A warm prepare is two image inspects (the base, then the environment tag)
and no build; a pip-only change finds the system tag and builds the pip
layer only. The images' labels carry the layer ids, the interpreter path,
the package list and the hashed layer inputs (``exp env show``).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from expkit.errors import ConfigError, InfrastructureError
from expkit.model import EnvironmentId, PreparedEnvironment, PrepareRequest

from expkit_docker import usage
from expkit_docker.engine import Engine
from expkit_docker.names import ENV_PYTHON, LABEL, REPO, env_tag, label, system_tag

if TYPE_CHECKING:
    from expkit_docker.sparklayer import SparkSystem

DEFAULT_BASE_IMAGE = "python:3.11-slim"


def base_image_ref(compute) -> str:
    return compute.base_docker_image or DEFAULT_BASE_IMAGE


def find_base(engine: Engine, request: PrepareRequest) -> dict[str, Any]:
    """The base image's inspect, pulling it when the engine lacks it."""
    ref = base_image_ref(request.compute)
    found = engine.image(ref)
    if found is None and not request.build:
        from expkit.target import not_prepared

        raise not_prepared(request, f"base image {ref} is not on this engine")
    if found is None:
        from expkit_docker.pull import pull

        pull(ref, request.progress, request.compute.source)
        found = engine.image(ref)
        if found is None:  # pragma: no cover - the engine stored it under another name
            raise InfrastructureError(f"base image {ref} is still missing after a pull")
    return found


def _details(image: Mapping[str, Any], base_ref: str) -> dict[str, Any]:
    config = image.get("Config") or {}
    return {
        "image_id": image["Id"],
        "base_image": base_ref,
        "image_env": list(config.get("Env") or []),
        "user": config.get("User") or "",
    }


def prepared(
    image: Mapping[str, Any], ids: EnvironmentId, *, cached: bool, base_ref: str
) -> PreparedEnvironment:
    labels = (image.get("Config") or {}).get("Labels") or {}
    packages = tuple(p for p in (labels.get(label("packages")) or "").splitlines() if p)
    return PreparedEnvironment(
        env_id=ids.id,
        location=env_tag(ids.id),
        python=labels.get(label("python"), ENV_PYTHON),
        cached=cached,
        layers=ids,
        packages=packages,
        details={**_details(image, base_ref), "system_tag": system_tag(ids.system)},
    )


def prepare(request: PrepareRequest, engine: Engine) -> PreparedEnvironment:
    base = find_base(engine, request)
    base_ref = base_image_ref(request.compute)
    if request.compute.user_managed_environment:
        # As Workbench did: run in the base image as it is; the spec is not applied.
        return PreparedEnvironment(
            env_id=None,
            location=base_ref,
            python=request.compute.python_location or "python3",
            cached=True,
            details={**_details(base, base_ref), "mode": "user-managed"},
        )
    from expkit.environment import environment_id

    from expkit_docker.sparklayer import spark_system, system_extra

    spark = spark_system(request.runconfig.framework, request.environment)
    ids = environment_id(request.environment, base["Id"], system_extra(spark))
    if not request.force:
        found = engine.image(env_tag(ids.id))
        if found is not None:
            usage.touch(ids.id, image=env_tag(ids.id))
            return prepared(found, ids, cached=True, base_ref=base_ref)
    if not request.build and not request.force:
        from expkit.target import not_prepared

        raise not_prepared(request, f"image {env_tag(ids.id)} is not built")
    replaced = _image_ids(engine, ids) if request.force else []
    image = _build(request, engine, base, base_ref, ids, spark)
    current = _image_ids(engine, ids)
    for old in replaced:  # the environment first: the system image is its parent
        if old not in current:
            _remove_if_unused(engine, old)
    usage.touch(ids.id, image=env_tag(ids.id))
    return prepared(image, ids, cached=False, base_ref=base_ref)


def _image_ids(engine: Engine, ids: EnvironmentId) -> list[str]:
    found = (engine.image(env_tag(ids.id)), engine.image(system_tag(ids.system)))
    return list(dict.fromkeys(image["Id"] for image in found if image is not None))


def _remove_if_unused(engine: Engine, image_id: str) -> None:
    """Drop an image a forced rebuild replaced, unless something still uses it."""
    from expkit_docker.engine import EngineError

    try:
        # noprune: its untagged parent may be a user's base image, not ours to delete.
        engine.remove_image(image_id, noprune=True)
    except EngineError:
        pass  # still tagged elsewhere or used by a container: leave it


def _build(
    request: PrepareRequest,
    engine: Engine,
    base: Mapping[str, Any],
    base_ref: str,
    ids: EnvironmentId,
    spark: SparkSystem | None = None,
) -> dict[str, Any]:
    from expkit.environment import layer_inputs

    from expkit_docker.builder import BuildFailed, build_layer
    from expkit_docker.buildscripts import pip_layer, system_layer
    from expkit_docker.pipconfig import host_build_network
    from expkit_docker.sparklayer import system_extra

    network = host_build_network()
    if request.progress is not None:
        for note in network.notes:
            request.progress.line(f"note: {note}")
    inputs = layer_inputs(request.environment, base["Id"], system_extra(spark))
    common = {
        LABEL: "1", label("base"): ids.base, label("system"): ids.system,
        label("base-image"): base_ref, label("python"): ENV_PYTHON,
    }  # fmt: skip
    options: dict[str, Any] = {
        "progress": request.progress,
        "log_dir": usage.state_dir() / "logs",
        "default_cmd": [ENV_PYTHON],
        "project": request.project,
    }
    spec = request.environment
    try:
        from expkit_docker.sparklayer import pip_entries

        has_pip = bool(spec and pip_entries(spec, spark))
        system = None if request.force else engine.image(system_tag(ids.system))
        if system is None:
            labels = {
                **common,
                label("layer"): "system",
                # Listing packages costs a step; a pip layer on top lists them anyway.
                label("frozen"): "0" if has_pip else "1",
                label("inputs"): json.dumps({k: inputs[k] for k in ("base", "system")}),
            }
            build = system_layer(spec, network, request.project, freeze=not has_pip, spark=spark)
            image_id, _log = build_layer(
                engine, base, build, repo=REPO, tag=f"sys-{ids.system}", labels=labels, **options
            )
            system = _inspect(engine, image_id)
        system_labels = (system.get("Config") or {}).get("Labels") or {}
        if not has_pip and system_labels.get(label("frozen")) == "1":
            # Nothing to add: the system image is the environment, under its id too.
            engine.tag(system["Id"], REPO, ids.id)
            return _inspect(engine, env_tag(ids.id))
        labels = {
            **common,
            label("layer"): "pip",
            label("frozen"): "1",
            label("pip"): ids.pip,
            label("inputs"): json.dumps(inputs),
        }
        build = pip_layer(spec, network, request.project, spark=spark)
        image_id, _log = build_layer(
            engine, system, build, repo=REPO, tag=ids.id, labels=labels, **options
        )
    except BuildFailed as exc:
        raise _user_error(exc, request, base_ref) from None
    return _inspect(engine, image_id)


def _inspect(engine: Engine, ref: str) -> dict[str, Any]:
    found = engine.image(ref)
    if found is None:  # pragma: no cover - removed between commit and inspect
        raise InfrastructureError(f"image {ref} vanished right after it was built")
    return found


def _user_error(exc, request: PrepareRequest, base_ref: str) -> Exception:
    """Problems of configuration (no python, wrong python) as ConfigError; the rest as is."""
    from expkit_docker.buildprotocol import (
        EXIT_NO_INSTALLER,
        EXIT_NO_JAVA,
        EXIT_NO_PYTHON,
        EXIT_PYTHON_MISMATCH,
        EXIT_UNSOLVABLE,
    )

    spec = request.environment
    compute_file = request.compute.source
    have = exc.log.python
    if exc.code == EXIT_PYTHON_MISMATCH:
        return ConfigError(
            f"the environment asks for python={spec.python if spec else '?'}, but base image "
            f"{base_ref} provides Python {have or '(unknown version)'}",
            file=spec.source if spec else None,
            key="dependencies",
            hint=f"pin python={'.'.join((have or '3').split('.')[:2])} in the environment file, "
            "or set "
            f"baseDockerImage in {compute_file or 'the .compute file'} to an image with the Python "
            "you need (e.g. python:X.Y-slim).",
        )
    if exc.code == EXIT_NO_PYTHON:
        return ConfigError(
            f"base image {base_ref} has no python3 (or python) on its PATH",
            file=compute_file,
            key="baseDockerImage",
            hint="use an image with Python (e.g. python:3.11-slim or expkit-base:bookworm), "
            "or set userManagedEnvironment: true and pythonLocation to run the image as it is.",
        )
    if exc.code == EXIT_UNSOLVABLE:
        return _unsolvable(exc, spec, base_ref)
    if exc.code == EXIT_NO_JAVA:
        return ConfigError(
            f"Framework: PySpark needs Java, but base image {base_ref} has no java and no "
            "apt-get to install it",
            file=compute_file,
            key="baseDockerImage",
            hint="use a Debian/Ubuntu based image (e.g. python:3.11-slim or "
            "expkit-base:bookworm) or one with Java 17+ on its PATH, or set Framework: Python.",
        )
    if exc.code == EXIT_NO_INSTALLER:
        return ConfigError(
            f"the environment lists conda packages, but base image {base_ref} has no conda, "
            "mamba or micromamba, and no python to bring py-rattler with",
            file=spec.source if spec else None,
            key="dependencies",
            hint="use a base image with micromamba (e.g. mambaorg/micromamba) or with python3, "
            "or move the packages to the pip: list.",
        )
    return exc


def _unsolvable(exc, spec, base_ref: str) -> ConfigError:
    """Conda packages no channel provides: a configuration error naming them."""
    from expkit_docker.buildprotocol import UNSOLVABLE

    # log.lines holds the output as it arrived: pieces that may carry several lines.
    lines = "".join(exc.log.lines).splitlines()
    named = list(
        dict.fromkeys(  # once each, however often the log says it
            line.strip()[len(UNSOLVABLE) :] for line in lines if line.startswith(UNSOLVABLE)
        )
    )
    packages = named or list(spec.conda if spec else ())
    listed = ", ".join(spec.channels) if spec and spec.channels else ""
    where = f"in the channels listed ({listed})" if listed else "(the file lists no channels:)"
    solver = exc.log.errors[-1].split(": ", 1)[-1] if exc.log.errors else ""
    return ConfigError(
        f"no channel provides conda package {', '.join(packages)} {where}"
        + (f"\n  the solver said: {solver}" if solver else ""),
        file=spec.source if spec else None,
        key="dependencies",
        hint="add a channel that has it under channels: (a name, URL or local channel folder), "
        "move it to the pip: list if it is on PyPI, or pin a version that exists "
        f"(python=X.Y must match what base image {base_ref} provides).",
    )
