"""The remote VM's Docker engine, driven by expkit-docker's own client over SSH.

Each HTTP connection of expkit_docker.engine.Engine is an SSH exec channel
running ``docker system dial-stdio`` on the VM (what the docker CLI and SDK
do for ``ssh://`` hosts), bridged to a local socket: the same client,
layers and builder as ``-c docker``, images keyed by the same environment
ids, on the VM's engine. All channels share the target's one SSH connection.

Each channel starts a docker CLI process on the VM (~0.1 s), so plain
requests (``request``) keep their connection alive and the next one reuses
it; a connection is used by one request at a time (a request made from a
signal handler, e.g. cancel's kill, opens its own). Streams, builds and
attaches still get their own connection each.
"""

from __future__ import annotations

import http.client
import socket
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from expkit.errors import InfrastructureError
from expkit_docker.engine import CONNECT_TIMEOUT, Engine, Response, _check, encode
from expkit_docker.wire import Reply, SocketConnection

if TYPE_CHECKING:
    from expkit.ssh import Link

DIAL = ("docker", "system", "dial-stdio")


class RemoteEngine(Engine):
    """expkit_docker's Engine whose connections are SSH channels to the VM's engine."""

    def __init__(self, ssh: Link, *, build_network: str | None = None) -> None:
        def dial(timeout: float | None) -> socket.socket:
            sock = ssh.open_socket(DIAL)
            sock.settimeout(timeout)
            return sock

        check = f"check that `docker version` works on {ssh.label} for {ssh.username}."
        super().__init__(
            lambda: SocketConnection(dial, CONNECT_TIMEOUT), f"ssh://{ssh.label}",
            start_hint=f"start it there (`sudo systemctl start docker`); {check}",
            check_hint=check,
        )  # fmt: skip
        self.ssh = ssh
        self.build_network = build_network
        #: Image inspects already made by this process (each costs a round trip and a
        #: docker CLI start on the VM); forgotten when images change.
        self._images: dict[str, dict[str, Any]] = {}
        #: Kept-alive connections not in use (list.pop/append: safe from a signal handler).
        self._idle: list[http.client.HTTPConnection] = []
        self._requested = False

    def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        body: Any = None,
        headers: Mapping[str, str] | None = None,
        what: str | None = None,
        timeout: float | None = 120.0,
    ) -> Response:
        """Engine.request over a kept-alive connection (see the module docstring)."""
        self._requested = True
        url, body, all_headers = encode(path, params, body, headers or {})
        while True:
            conn = self._idle.pop() if self._idle else None
            reused = conn is not None
            sent = False
            try:
                if conn is None:
                    conn = self._connect()
                    conn.connect()
                conn.sock.settimeout(timeout)
                conn.request(method, url, body=body, headers=all_headers)
                sent = True
                response = conn.getresponse()
                if response.status >= 400:
                    _check(Reply(conn, response, self._failure), what or f"{method} {path}")
                data = response.read()
            except (OSError, http.client.HTTPException) as exc:
                if conn is not None:
                    conn.close()
                # A kept connection the VM closed meanwhile: the request never reached
                # the engine (or it only reads), so a fresh connection may send it again.
                stale = isinstance(exc, (http.client.RemoteDisconnected, BrokenPipeError,
                                         ConnectionResetError))  # fmt: skip
                if reused and stale and (not sent or method == "GET"):
                    continue
                raise self._failure(exc) from None
            if response.will_close:
                conn.close()
            else:
                self._idle.append(conn)
            return Response(response.status, data)

    def warm(self) -> None:
        """Open one kept-alive connection ahead of the first request (the warm-up, while
        the core takes the snapshot): its docker CLI starts on the VM meanwhile."""
        if self._idle or self._requested:
            return
        conn = self._connect()
        try:
            conn.connect()
        except (OSError, InfrastructureError):
            conn.close()
            return  # the first request dials again and reports the failure
        self._idle.append(conn)

    def image(self, ref: str) -> dict[str, Any] | None:
        found = self._images.get(ref)
        if found is None:
            found = super().image(ref)
            if found is not None:
                self._images[ref] = found
        return found

    def tag(self, image: str, repo: str, tag: str) -> None:
        self._images.clear()
        super().tag(image, repo, tag)

    def remove_image(self, ref: str, *, noprune: bool = False) -> bool:
        self._images.clear()
        return super().remove_image(ref, noprune=noprune)

    def commit(self, *args: Any, **kwargs: Any) -> str:
        self._images.clear()
        return super().commit(*args, **kwargs)

    def create_container(
        self, config: Mapping[str, Any], what: str, *, name: str | None = None
    ) -> str:
        # Only image builds create containers through this method (runs post their own
        # create): a VM that reaches the package index only through a proxy on its own
        # loopback needs its build containers on the host's network (`buildNetwork: host`).
        if self.build_network:
            host = dict(config.get("HostConfig") or {})
            host["NetworkMode"] = self.build_network
            config = {**config, "HostConfig": host}
        return super().create_container(config, what, name=name)

    def pull(self, ref: str, progress) -> None:
        """``docker pull`` on the VM, with its progress as plain lines."""
        import json

        repo, _, tag = ref.rpartition(":") if ":" in ref.rsplit("/", 1)[-1] else (ref, "", "")
        if progress is not None:
            progress.step(f"pulling base image {ref} on {self.ssh.label}")
        reply = self.stream("POST", "/images/create",
                            params={"fromImage": repo, "tag": tag or "latest"},
                            what=f"pulling {ref}")  # fmt: skip
        try:
            for raw in _lines(reply):
                try:
                    event = json.loads(raw)
                except ValueError:
                    continue
                if "error" in event:
                    raise InfrastructureError(
                        f"base image {ref} is not on {self.ssh.label} and could not be pulled "
                        f"there: {event['error']}\n  pull or load it on the VM (docker pull / "
                        "docker load), or set baseDockerImage to an image the VM has."
                    )
                if progress is not None and event.get("status") and not event.get("progressDetail"):
                    progress.line(f"{event.get('id', '')} {event['status']}".strip())
        finally:
            reply.close()


def _lines(reply):
    buf = b""
    while chunk := reply.read(65536):
        buf += chunk
        *lines, buf = buf.split(b"\n")
        yield from lines
    if buf.strip():
        yield buf
