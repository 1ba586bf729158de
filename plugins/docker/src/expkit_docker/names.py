"""Everything the plugin names on the engine: images, labels, and paths inside containers.

One module owns them so the run path, the builder, ``exp env`` and the
clean-up of lost runs can never disagree (and the README's table of
container paths has one source). Values, not behaviour: importing this is free.
"""

from __future__ import annotations

# ----------------------------------------------------------------------------- images

#: Repository of every environment image: ``expkit-env:<env id>``, ``expkit-env:sys-<system id>``.
REPO = "expkit-env"
#: Where the environment lives inside its image, and its interpreter.
ENV_PREFIX = "/opt/expkit/env"
ENV_PYTHON = f"{ENV_PREFIX}/bin/python"

# ----------------------------------------------------------------------------- labels

#: Present on every environment image (value "1"); ``exp env`` lists images by it.
LABEL = "org.expkit.env"
#: On every run container: the run id, so a leaked container is easy to find
#: (``DockerTarget.stop_orphan`` removes a lost run's containers by it).
RUN_LABEL = "expkit.run"
#: On every run container: the project folder the run belongs to.
PROJECT_LABEL = "expkit.project"
#: On every build container: the image it builds.
BUILD_LABEL = "expkit.build"

# ----------------------------------------------------------------------------- run containers
# Paths as the script sees them (documented in the README). Named CONTAINER_*
# so that none shares a name with the EXPKIT_* variable that carries it
# (expkit.runenv holds the variable names).

#: The top folder of everything expkit copies into a run's container.
CONTAINER_ROOT = "/expkit"
#: The run's working copy and working directory.
CONTAINER_PROJECT = "/expkit/project"
#: What collect brings back.
CONTAINER_OUTPUTS = "/expkit/project/outputs"
#: The run's metrics file, bind-mounted from the run folder.
CONTAINER_METRICS = "/expkit/metrics.jsonl"
#: The dependency-free ``expkit`` module, first on PYTHONPATH.
CONTAINER_LIB = "/expkit/lib"
#: Where a ``nativeSharedDirectory`` is mounted.
CONTAINER_SHARED = "/expkit/shared"


def label(name: str) -> str:
    """``org.expkit.env.<name>``: layer ids, python, packages, conda, inputs, base-image."""
    return f"{LABEL}.{name}"


def system_tag(system_id: str) -> str:
    return f"{REPO}:sys-{system_id}"


def env_tag(env_id: str) -> str:
    return f"{REPO}:{env_id}"


def container_name(run_id: str) -> str:
    """The name of a run's container: ``expkit-run-<run id>`` (unsafe characters as ``-``)."""
    safe = "".join(c if c.isalnum() or c in "_.-" else "-" for c in run_id)
    return f"expkit-run-{safe}"
