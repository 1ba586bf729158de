"""Names shared by the plugin's modules: image repository, labels."""

from __future__ import annotations

#: Repository of every environment image: ``expkit-env:<env id>``, ``expkit-env:sys-<system id>``.
REPO = "expkit-env"
#: Present on every environment image (value "1"); ``exp env`` lists images by it.
LABEL = "org.expkit.env"
#: On every run container: the run id, so a leaked container is easy to find.
RUN_LABEL = "expkit.run"
#: Where the environment lives inside its image, and its interpreter.
ENV_PREFIX = "/opt/expkit/env"
ENV_PYTHON = f"{ENV_PREFIX}/bin/python"
#: On every build container: the image it builds.
BUILD_LABEL = "expkit.build"
#: On every build container: the folder of the expkit cache the build logs to.
BUILD_CACHE_LABEL = "expkit.build.cache"


def label(name: str) -> str:
    """``org.expkit.env.<name>``: layer ids, python, packages, conda, inputs, base-image."""
    return f"{LABEL}.{name}"


def system_tag(system_id: str) -> str:
    return f"{REPO}:sys-{system_id}"


def env_tag(env_id: str) -> str:
    return f"{REPO}:{env_id}"


def layer_comment(layer: str) -> str:
    """The comment of every image expkit commits (``docker image inspect .Comment``).

    Labels are inherited by any image built FROM an environment image; the
    comment is not, so it tells the images expkit built from everyone else's.
    """
    return f"expkit {layer} layer"


def built_by_expkit(image: dict) -> bool:
    """Is ``image`` (an inspect) a layer expkit committed, not a user's image?"""
    return image.get("Comment") in (layer_comment("system"), layer_comment("pip"))
