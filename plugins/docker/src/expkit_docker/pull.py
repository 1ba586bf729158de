"""Pulling a base image the engine does not have, with the docker SDK.

The SDK is imported here only: it reads the user's registry credentials
(``~/.docker/config.json``, credential helpers), which a pull of a private
base image needs, and its import cost only matters on the hot path, where
nothing is pulled.
"""

from __future__ import annotations

from expkit.errors import InfrastructureError

#: Without a registry, a base image can be made from a Debian mirror (what
#: docs/environments.md describes); every step is a command the user has.
BUILD_HINT = (
    "`docker pull IMAGE` where a registry is reachable; without one, make a base image "
    "from a Debian mirror: `debootstrap --variant=minbase "
    "--include=python3,python3-venv,python3-pip bookworm ROOT` then "
    "`tar -C ROOT -c . | docker import - expkit-base:bookworm`"
)


def pull(ref: str, progress, source) -> None:
    """Pull ``ref``; a failure says how to get a base image some other way."""
    import docker
    from docker.errors import DockerException

    if progress is not None:
        progress.step(f"pulling base image {ref}")
    from docker.utils import parse_repository_tag

    repo, tag = parse_repository_tag(ref)
    try:
        client = docker.from_env()
        for event in client.api.pull(repo, tag=tag or "latest", stream=True, decode=True):
            if "error" in event:
                raise InfrastructureError(event["error"])
            if progress is not None and event.get("status") and not event.get("progressDetail"):
                progress.line(f"{event.get('id', '')} {event['status']}".strip())
    except (DockerException, InfrastructureError) as exc:
        where = f" (baseDockerImage in {source})" if source else ""
        raise InfrastructureError(
            f"base image {ref}{where} is not on this machine and could not be pulled: {exc}\n"
            f"  {BUILD_HINT.replace('IMAGE', ref)}; or set baseDockerImage to an image you have "
            "(`docker images`)."
        ) from None
