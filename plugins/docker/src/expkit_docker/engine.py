"""A small Docker Engine API client on the standard library, for the run path.

Why not the docker SDK here: importing it costs 0.3-0.5 s (requests, urllib3,
and paramiko when installed), more than the whole overhead budget of a
tracked run (0.4 s over ``docker run``) or of a warm ``exp prepare`` (0.3 s).
A run needs a dozen plain Engine API calls (inspect, create, archive, attach,
start, wait, remove), which ``http.client`` carries over the engine's unix
socket or TCP (+TLS) for about 25 ms of import. The SDK is still used where
it adds what a small client should not redo: pulling images with the user's
registry credentials (pull.py).

Each request opens its own connection (a unix socket connect costs ~50 us),
so ``cancel()`` from a signal handler can never interleave with a request in
flight on the same connection. Connections come from the factory the Engine
is built with: a unix socket or TCP (+TLS) here, any stream to the engine
elsewhere (``Engine.over``: e.g. an SSH channel running ``docker system
dial-stdio`` on the engine's host), so the calls below are the same for
an engine on another machine.

Container output comes from ``attach``, made before the container starts so
no early line is lost, and independent of the engine's log driver (``logs``
would need one that can be read back). The engine answers it with ``101
UPGRADED`` and then sends the raw multiplexed stream on the same connection;
``hijack`` hands that stream over and wire.frames splits it.

Engine location follows the docker CLI's variables: ``DOCKER_HOST``
(``unix://`` or ``tcp://``; default ``unix:///var/run/docker.sock``),
``DOCKER_TLS_VERIFY`` and ``DOCKER_CERT_PATH``.
"""

from __future__ import annotations

import http.client
import json
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlencode, urlsplit

from expkit.errors import InfrastructureError

from expkit_docker.wire import Reply, SocketConnection, SocketOpener, unix_socket

if TYPE_CHECKING:
    import ssl

DEFAULT_HOST = "unix:///var/run/docker.sock"
#: Seconds to wait for a connection; requests themselves may take long (builds, waits).
CONNECT_TIMEOUT = 10.0
_START_HINT = (
    "start it (`sudo systemctl start docker`, or run `dockerd` as root where there is no "
    "service manager) or point DOCKER_HOST at a running engine."
)
_CHECK_HINT = "check that DOCKER_HOST points at a Docker engine and that `docker info` works."


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


#: Makes a new, not yet connected, HTTP connection to the engine (one per request).
ConnectionFactory = Callable[[], http.client.HTTPConnection]


class Engine:
    """One Docker engine, reached through ``connect`` (a new connection per request).

    ``where`` names the engine in messages (``unix:///var/run/docker.sock``,
    ``ssh://user@host``). ``start_hint`` says what to do when it cannot be
    reached, ``check_hint`` when something that is not an engine answers.
    Build one with :meth:`at` (a ``unix://`` or ``tcp://`` address),
    :meth:`from_env` (the docker CLI's variables) or :meth:`over` (any stream
    to the engine, e.g. an SSH channel).
    """

    def __init__(
        self,
        connect: ConnectionFactory,
        where: str,
        *,
        start_hint: str = _START_HINT,
        check_hint: str = _CHECK_HINT,
    ) -> None:
        self._connect = connect
        self.host = where
        self.start_hint = start_hint
        self.check_hint = check_hint

    @classmethod
    def over(cls, opener: SocketOpener, where: str, **hints: str) -> Engine:
        """The engine at the other end of the streams ``opener`` opens (see wire.SocketOpener)."""
        return cls(lambda: SocketConnection(opener, CONNECT_TIMEOUT), where, **hints)

    @classmethod
    def at(cls, host: str = DEFAULT_HOST, tls: ssl.SSLContext | None = None) -> Engine:
        """The engine at a docker CLI address: ``unix://PATH`` or ``tcp://HOST:PORT`` (+ TLS)."""
        parts = urlsplit(host)
        if parts.scheme == "unix":
            return cls.over(unix_socket(parts.path or "/var/run/docker.sock"), host)
        if parts.scheme in ("tcp", "http", "https"):
            address = parts.hostname or "localhost"
            port = parts.port or (2376 if tls else 2375)
            if tls is not None:
                context = tls
                return cls(
                    lambda: http.client.HTTPSConnection(
                        address, port, timeout=CONNECT_TIMEOUT, context=context
                    ),
                    host,
                )
            return cls(
                lambda: http.client.HTTPConnection(address, port, timeout=CONNECT_TIMEOUT), host
            )
        hint = (
            "a docker target talks to an engine on this machine (unix://) or over tcp://; "
            "for a Docker host reached over SSH use a remotedocker target."
        )
        raise EngineUnreachable(
            f"DOCKER_HOST={host}: unsupported scheme {parts.scheme!r}.\n  {hint}"
        )

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Engine:
        """The engine the docker CLI would use: ``DOCKER_HOST``, ``DOCKER_TLS_VERIFY``..."""
        env = os.environ if env is None else env
        host = env.get("DOCKER_HOST") or DEFAULT_HOST
        tls = None
        if env.get("DOCKER_TLS_VERIFY") or host.startswith("https://"):
            import ssl  # only for TLS engines: its import is not free

            certs = env.get("DOCKER_CERT_PATH") or os.path.join(os.path.expanduser("~"), ".docker")
            tls = ssl.create_default_context(cafile=os.path.join(certs, "ca.pem"))
            tls.load_cert_chain(os.path.join(certs, "cert.pem"), os.path.join(certs, "key.pem"))
        return cls.at(host, tls)

    # ------------------------------------------------------------------ connections

    def unreachable(self, exc: OSError) -> EngineUnreachable:
        reason = exc.strerror or str(exc) or type(exc).__name__
        if isinstance(exc, PermissionError):
            extra = "\n  add your user to the `docker` group (then log in again), or run as root."
        else:
            extra = "\n  " + self.start_hint
        return EngineUnreachable(f"cannot reach the Docker engine at {self.host}: {reason}.{extra}")

    def _failure(self, exc: Exception) -> EngineUnreachable:
        """The error for a request that got no usable answer (``exc`` from socket or parser)."""
        if isinstance(exc, TimeoutError):
            return EngineUnreachable(
                f"the Docker engine at {self.host} did not answer in time ({exc})."
            )
        if isinstance(exc, http.client.RemoteDisconnected):
            return EngineUnreachable(
                f"the Docker engine at {self.host} closed the connection without an answer.\n"
                f"  {self.check_hint}"
            )
        if isinstance(exc, OSError):
            return self.unreachable(exc)
        return EngineUnreachable(
            f"the Docker engine at {self.host} sent a broken answer "
            f"({type(exc).__name__}: {exc}).\n  {self.check_hint}"
        )

    def _open(
        self,
        method: str,
        path: str,
        params: Mapping[str, Any] | None,
        body: Any,
        headers: Mapping[str, str] | None,
        timeout: float | None,
    ) -> Reply:
        """Send one request on a fresh connection and read the response head.

        ``timeout`` bounds each wait for the engine once connected (None: no
        limit, for builds and waits); connecting itself gives up after CONNECT_TIMEOUT.
        """
        # Connection: close makes http.client hand the socket to the response, which
        # Reply.close() closes; a hijack overrides it with Connection: Upgrade.
        url, body, all_headers = encode(
            path, params, body, {"Connection": "close", **(headers or {})}
        )
        conn = self._connect()
        try:
            conn.connect()
            conn.sock.settimeout(timeout)
            conn.request(method, url, body=body, headers=all_headers)
            response = conn.getresponse()
        except (OSError, http.client.HTTPException) as exc:
            conn.close()
            raise self._failure(exc) from None
        return Reply(conn, response, self._failure)

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
        reply = self._open(method, path, params, body, headers, timeout)
        _check(reply, what or f"{method} {path}")
        try:
            return Response(reply.status, reply.read())
        finally:
            reply.close()

    def stream(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        body: Any = None,
        what: str | None = None,
        timeout: float | None = None,
    ) -> Reply:
        """A request whose response body the caller reads (``.read(n)``); close it when done."""
        reply = self._open(method, path, params, body, None, timeout)
        return _check(reply, what or f"{method} {path}")

    def hijack(self, path: str, params: Mapping[str, Any]) -> tuple[Reply, bytes]:
        """POST ``path`` and take over the connection (container attach).

        Returns the upgraded stream (``.recv(n[, timeout])``, for wire.frames;
        close it when done) and the stream bytes already read past the
        response head (they came in the same packet).
        """
        upgrade = {"Connection": "Upgrade", "Upgrade": "tcp"}
        what = f"attaching to container {path.split('/')[2]}"
        reply = _check(self._open("POST", path, params, None, upgrade, None), what)
        # 101 from current engines; 200 and then the raw stream from old API versions.
        if reply.status not in (101, 200):
            reply.close()
            raise EngineError(reply.status, "unexpected answer to an attach", what)
        return reply, reply.upgrade()

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

    def create_container(
        self, config: Mapping[str, Any], what: str, *, name: str | None = None
    ) -> str:
        """``POST /containers/create`` (named ``name`` when given); the new container's id."""
        return self.request(
            "POST", "/containers/create", params={"name": name}, body=dict(config), what=what
        ).json()["Id"]

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

    def remove_image(self, ref: str, *, noprune: bool = False) -> bool:
        """``docker rmi``; ``noprune``: never also delete untagged parents (the
        engine's default does, and a parent may be someone else's image)."""
        try:
            self.request(
                "DELETE",
                f"/images/{path_arg(ref)}",
                params={"noprune": 1} if noprune else None,
                what=f"removing image {ref}",
                timeout=None,
            )
        except NotFound:
            return False
        return True


def encode(
    path: str, params: Mapping[str, Any] | None, body: Any, headers: Mapping[str, str]
) -> tuple[str, Any, dict[str, str]]:
    """A request's URL (``path`` and its query), body (a dict or list as JSON) and headers."""
    query = urlencode({k: _param(v) for k, v in (params or {}).items() if v is not None})
    all_headers = dict(headers)
    if isinstance(body, (dict, list)):
        body = json.dumps(body).encode("utf-8")
        all_headers.setdefault("Content-Type", "application/json")
    return (f"{path}?{query}" if query else path), body, all_headers


def _param(value: Any) -> str:
    if isinstance(value, bool):
        return "1" if value else "0"
    return str(value)


def _check(reply: Reply, what: str) -> Reply:
    """``reply``, or (when its status is an error) EngineError with the engine's message."""
    if reply.status < 400:
        return reply
    try:
        data = reply.read()
    finally:
        reply.close()
    raise _error(reply.status, data, what)


def _error(status: int, data: bytes, what: str) -> EngineError:
    try:
        message = json.loads(data).get("message", "")
    except (ValueError, AttributeError):
        message = data.decode("utf-8", "replace").strip()
    cls = NotFound if status == 404 else Conflict if status == 409 else EngineError
    return cls(status, message or "(no message)", what)
