"""A small Docker Engine API client on the standard library, for the run path.

Why not the docker SDK here: importing it costs 0.3-0.5 s (requests, urllib3,
and paramiko when installed), more than the whole overhead budget of a
tracked run (0.4 s over ``docker run``) or of a warm ``exp prepare`` (0.3 s).
A run needs a dozen plain Engine API calls (inspect, create, archive, attach,
start, wait, remove): a few lines of HTTP/1.1 over the engine's socket, which
import in about a millisecond (``http.client`` alone costs 20 ms). The SDK
is still used where it adds what a small client should not redo: pulling
images with the user's registry credentials (pull.py).

Each request opens its own connection (a unix socket connect costs ~50 us),
so ``cancel()`` from a signal handler can never interleave with a request in
flight on the same connection.

Engine location follows the docker CLI's variables: ``DOCKER_HOST``
(``unix://`` or ``tcp://``; default ``unix:///var/run/docker.sock``),
``DOCKER_TLS_VERIFY`` and ``DOCKER_CERT_PATH``.
"""

from __future__ import annotations

import json
import os
import socket
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Mapping
from urllib.parse import quote, urlencode, urlsplit

from expkit.errors import InfrastructureError

from expkit_docker.wire import Body, Reply, read_head

if TYPE_CHECKING:
    import ssl

DEFAULT_HOST = "unix:///var/run/docker.sock"
#: Seconds to wait for a connection; requests themselves may take long (builds, waits).
CONNECT_TIMEOUT = 10.0
_START_HINT = (
    "start it (scripts/docker/ensure-engine.sh on a dev machine, `sudo systemctl start docker` "
    "elsewhere) or point DOCKER_HOST at a running engine."
)


class EngineUnreachable(InfrastructureError):
    """The engine does not answer at all (not running, wrong DOCKER_HOST, no permission)."""


class EngineError(InfrastructureError):
    """The engine answered a request with an error status."""

    def __init__(self, status: int, message: str, what: str) -> None:
        super().__init__(f"{what}: the Docker engine said ({status}): {message}")
        self.status = status
        self.engine_message = message


class NotFound(EngineError):
    pass


class Conflict(EngineError):
    pass


@dataclass
class Response:
    status: int
    data: bytes

    def json(self) -> Any:
        return json.loads(self.data or b"null")


def path_arg(value: str) -> str:
    """An image or container name as one URL path segment (image names contain ``/`` and ``:``)."""
    return quote(value, safe="/:@")


class Engine:
    """One Docker engine, addressed like the docker CLI addresses it."""

    def __init__(self, host: str = DEFAULT_HOST, tls: "ssl.SSLContext | None" = None) -> None:
        self.host = host
        self._tls = tls
        parts = urlsplit(host)
        self._scheme = parts.scheme
        if parts.scheme == "unix":
            self._unix_path = parts.path or "/var/run/docker.sock"
        elif parts.scheme in ("tcp", "http", "https"):
            self._address = (parts.hostname or "localhost", parts.port or (2376 if tls else 2375))
        else:
            hint = (
                "a docker target talks to an engine on this machine (unix://) or over tcp://; "
                "for a Docker host reached over SSH use a remotedocker target."
            )
            raise EngineUnreachable(
                f"DOCKER_HOST={host}: unsupported scheme {parts.scheme!r}.\n  {hint}"
            )

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Engine:
        env = os.environ if env is None else env
        host = env.get("DOCKER_HOST") or DEFAULT_HOST
        tls = None
        if env.get("DOCKER_TLS_VERIFY") or host.startswith("https://"):
            import ssl  # only for TLS engines: its import is not free

            certs = env.get("DOCKER_CERT_PATH") or os.path.join(os.path.expanduser("~"), ".docker")
            tls = ssl.create_default_context(cafile=os.path.join(certs, "ca.pem"))
            tls.load_cert_chain(os.path.join(certs, "cert.pem"), os.path.join(certs, "key.pem"))
        return cls(host, tls)

    # ------------------------------------------------------------------ connections

    def unreachable(self, exc: OSError) -> EngineUnreachable:
        reason = exc.strerror or str(exc) or type(exc).__name__
        if isinstance(exc, PermissionError):
            extra = "\n  add your user to the `docker` group (then log in again), or run as root."
        else:
            extra = "\n  " + _START_HINT
        return EngineUnreachable(f"cannot reach the Docker engine at {self.host}: {reason}.{extra}")

    def _send(
        self,
        method: str,
        path: str,
        params: Mapping[str, Any] | None,
        body: Any,
        headers: Mapping[str, str] | None,
        timeout: float | None,
    ) -> Reply:
        """One HTTP/1.1 exchange on a fresh connection (``Connection: close``)."""
        url = path
        if params:
            url += "?" + urlencode({k: _param(v) for k, v in params.items() if v is not None})
        all_headers = {"Host": "docker", "Connection": "close", **(headers or {})}
        if isinstance(body, (dict, list)):
            body = json.dumps(body).encode("utf-8")
            all_headers.setdefault("Content-Type", "application/json")
        body = body or b""
        all_headers["Content-Length"] = str(len(body))
        head = f"{method} {url} HTTP/1.1\r\n" + "".join(
            f"{k}: {v}\r\n" for k, v in all_headers.items()
        )
        try:
            sock = self._raw_socket()
        except socket.timeout as exc:
            raise EngineUnreachable(
                f"the Docker engine at {self.host} did not answer in time ({exc})."
            ) from None
        except OSError as exc:
            raise self.unreachable(exc) from None
        try:
            sock.settimeout(timeout)
            sock.sendall(head.encode("latin-1") + b"\r\n" + body)
            status, headers_in, rest = read_head(sock)
        except socket.timeout as exc:
            sock.close()
            raise EngineUnreachable(
                f"the Docker engine at {self.host} did not answer in time ({exc})."
            ) from None
        except (OSError, EOFError) as exc:
            sock.close()
            raise self.unreachable(exc if isinstance(exc, OSError) else OSError(str(exc))) from None
        return Reply(status, headers_in, Body(sock, rest, headers_in), sock)

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
        """One request, fully read; an error status raises EngineError (NotFound, Conflict)."""
        reply = self._send(method, path, params, body, headers, timeout)
        try:
            data = reply.read()
        finally:
            reply.close()
        if reply.status >= 400:
            raise _error(reply.status, data, what or f"{method} {path}")
        return Response(reply.status, data)

    def stream(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        body: Any = None,
        what: str | None = None,
        timeout: float | None = None,
    ):
        """A request whose response body the caller reads (``.read(n)``); close it when done."""
        reply = self._send(method, path, params, body, None, timeout)
        if reply.status >= 400:
            data = reply.read()
            reply.close()
            raise _error(reply.status, data, what or f"{method} {path}")
        return reply

    def hijack(self, path: str, params: Mapping[str, Any]) -> tuple[socket.socket, bytes]:
        """POST ``path`` and take over the raw connection (container attach).

        Returns the socket and any stream bytes read past the response headers.
        """
        query = urlencode({k: _param(v) for k, v in params.items()})
        request = (
            f"POST {path}?{query} HTTP/1.1\r\nHost: docker\r\nContent-Length: 0\r\n"
            "Connection: Upgrade\r\nUpgrade: tcp\r\n\r\n"
        ).encode("ascii")
        try:
            sock = self._raw_socket()
            sock.sendall(request)
        except OSError as exc:
            raise self.unreachable(exc) from None
        try:
            status, _headers, rest = read_head(sock)
        except (OSError, EOFError) as exc:
            sock.close()
            raise self.unreachable(exc if isinstance(exc, OSError) else OSError(str(exc))) from None
        if status not in (101, 200):
            body = rest + sock.recv(65536)
            sock.close()
            raise _error(status, body, f"attaching to container {path.split('/')[2]}")
        return sock, rest

    def _raw_socket(self) -> socket.socket:
        if self._scheme == "unix":
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            sock.settimeout(CONNECT_TIMEOUT)
            sock.connect(self._unix_path)
        else:
            sock = socket.create_connection(self._address, timeout=CONNECT_TIMEOUT)
            if self._tls is not None:
                sock = self._tls.wrap_socket(sock, server_hostname=self._address[0])
        sock.settimeout(None)
        return sock

    # ------------------------------------------------------------------ calls used by the plugin

    def ping(self) -> None:
        self.request("GET", "/_ping", what="checking the Docker engine", timeout=CONNECT_TIMEOUT)

    def image(self, ref: str) -> dict[str, Any] | None:
        """``docker image inspect``; None when the engine has no such image."""
        try:
            return self.request(
                "GET", f"/images/{path_arg(ref)}/json", what=f"inspecting image {ref}"
            ).json()
        except NotFound:
            return None

    def images(self, label: str) -> list[dict[str, Any]]:
        filters = json.dumps({"label": [label]})
        return (
            self.request(
                "GET", "/images/json", params={"filters": filters}, what="listing images"
            ).json()
            or []
        )

    def containers(self, label: str) -> list[dict[str, Any]]:
        filters = json.dumps({"label": [label]})
        return (
            self.request(
                "GET",
                "/containers/json",
                params={"all": 1, "filters": filters},
                what="listing containers",
            ).json()
            or []
        )

    def create_container(self, config: Mapping[str, Any], what: str) -> str:
        return self.request("POST", "/containers/create", body=dict(config), what=what).json()["Id"]

    def put_archive(self, container: str, path: str, data: bytes) -> None:
        self.request(
            "PUT",
            f"/containers/{container}/archive",
            params={"path": path},
            body=data,
            headers={"Content-Type": "application/x-tar"},
            what="copying files into the container",
            timeout=None,
        )

    def start(self, container: str, what: str) -> None:
        self.request("POST", f"/containers/{container}/start", what=what)

    def wait(self, container: str) -> int:
        result = self.request(
            "POST", f"/containers/{container}/wait", what="waiting for the container", timeout=None
        ).json()
        return int(result.get("StatusCode", -1))

    def kill(self, container: str) -> None:
        try:
            self.request(
                "POST",
                f"/containers/{container}/kill",
                what="stopping the container",
                timeout=CONNECT_TIMEOUT,
            )
        except (NotFound, Conflict):
            pass  # already gone, or not running any more

    def remove_container(self, container: str) -> None:
        try:
            self.request(
                "DELETE",
                f"/containers/{container}",
                params={"force": 1, "v": 1},
                what="removing the container",
                timeout=60.0,
            )
        except NotFound:
            pass
        except Conflict as exc:
            if "already in progress" not in exc.engine_message:
                raise

    def commit(
        self, container: str, repo: str, tag: str, config: Mapping[str, Any], comment: str = ""
    ) -> str:
        result = self.request(
            "POST",
            "/commit",
            params={
                "container": container,
                "repo": repo,
                "tag": tag,
                "pause": 0,
                "comment": comment,
            },
            body=dict(config),
            what=f"saving image {repo}:{tag}",
            timeout=None,
        )
        return result.json()["Id"]

    def tag(self, image: str, repo: str, tag: str) -> None:
        self.request(
            "POST",
            f"/images/{path_arg(image)}/tag",
            params={"repo": repo, "tag": tag},
            what=f"tagging {repo}:{tag}",
        )

    def remove_image(self, ref: str) -> bool:
        try:
            self.request(
                "DELETE", f"/images/{path_arg(ref)}", what=f"removing image {ref}", timeout=None
            )
        except NotFound:
            return False
        return True


def _param(value: Any) -> str:
    if isinstance(value, bool):
        return "1" if value else "0"
    return str(value)


def _error(status: int, data: bytes, what: str) -> EngineError:
    try:
        message = json.loads(data).get("message", "")
    except (ValueError, AttributeError):
        message = data.decode("utf-8", "replace").strip()
    cls = NotFound if status == 404 else Conflict if status == 409 else EngineError
    return cls(status, message or "(no message)", what)
