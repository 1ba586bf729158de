"""The HTTP side of ``exp ui``: the standard library's threading server, GET only.

Routes::

    /                               the page (static/index.html)
    /static/NAME                    the page's scripts, styles and uPlot
    /api/token                      changes when any run changes (the page polls it)
    /api/runs                       every run's summary (the table)
    /api/match?filter=EXPR          ids of the runs matching EXPR (the --filter language)
    /api/run/REF                    one run: record, metric points, outputs, snapshot files
    /api/run/REF/log?offset=N       log text from byte N
    /api/run/REF/metrics?offset=N   metric points logged after byte N of metrics.jsonl
    /api/run/REF/output/PATH        an output file, as a download
    /api/run/REF/file/PATH          a file of the run's code snapshot, as plain text
    /api/compare?runs=A,B&metric=M  one metric's points for several runs

Everything is read-only. Each request opens the history afresh (it is a few
SQLite reads), so runs started by other ``exp`` processes appear at once.
Requests whose Host header is not the address served are refused, so a web
page elsewhere cannot read the history through DNS rebinding; every answer
carries a Content-Security-Policy that allows only the page's own files.
"""

from __future__ import annotations

import ipaddress
import json
import mimetypes
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

STATIC = Path(__file__).with_name("static")
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; font-src 'self'; base-uri 'none'; form-action 'none'; "
    "frame-ancestors 'none'"
)
_STATIC_TYPES = {
    ".js": "text/javascript",
    ".css": "text/css",
    ".html": "text/html",
    ".txt": "text/plain",
    ".png": "image/png",
    ".svg": "image/svg+xml",
}


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class Handler(BaseHTTPRequestHandler):
    server_version = "expkit-ui"
    sys_version = ""
    #: Keep-alive: the page's files and its polls reuse one connection.
    protocol_version = "HTTP/1.1"
    #: Set on the subclass made by make_server.
    root: Path
    allowed_hosts: frozenset[str]
    quiet: bool = True

    # ------------------------------------------------------------------ plumbing

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib name
        if not self.quiet:
            super().log_message(format, *args)

    def _headers(self, status: int, content_type: str, length: int, extra: dict | None = None):
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(length))
        self.send_header("Content-Security-Policy", CSP)
        self.send_header("X-Content-Type-Options", "nosniff")
        self.send_header("X-Frame-Options", "DENY")
        self.send_header("Referrer-Policy", "no-referrer")
        self.send_header("Cache-Control", "no-store")
        for key, value in (extra or {}).items():
            self.send_header(key, value)
        self.end_headers()

    def _send(self, status: int, body: bytes, content_type: str, extra: dict | None = None):
        self._headers(status, content_type, len(body), extra)
        if self.command != "HEAD":
            self.wfile.write(body)

    def _json(self, data: Any, status: int = 200) -> None:
        body = json.dumps(
            data, ensure_ascii=True, separators=(",", ":"), allow_nan=False, default=str
        ).encode()
        self._send(status, body, "application/json")

    def _error(self, status: int, message: str) -> None:
        self._json({"error": message}, status)

    def _file(self, path: Path, content_type: str, extra: dict | None = None) -> None:
        try:
            size = path.stat().st_size
            handle = open(path, "rb")  # noqa: SIM115 - closed below
        except OSError:
            self._error(404, "not found")
            return
        with handle:
            self._headers(200, content_type, size, extra)
            if self.command == "HEAD":
                return
            while chunk := handle.read(1 << 16):
                self.wfile.write(chunk)

    def _host_ok(self) -> bool:
        host = (self.headers.get("Host") or "").strip().lower()
        return host in self.allowed_hosts

    # ------------------------------------------------------------------ methods

    def do_GET(self) -> None:  # noqa: N802 - stdlib name
        if not self._host_ok():
            self._error(403, "unexpected Host header (exp ui answers its own address only)")
            return
        url = urlsplit(self.path)
        query = {k: v[-1] for k, v in parse_qs(url.query).items()}
        parts = [unquote(p) for p in url.path.split("/")[1:]]
        try:
            self._route(parts, query)
        except BrokenPipeError:
            pass
        except Exception as exc:  # noqa: BLE001 - the page shows it, the server keeps serving
            from expkit.errors import ExpkitError

            status = 404 if isinstance(exc, ExpkitError) else 500
            message = str(exc) if isinstance(exc, ExpkitError) else f"{type(exc).__name__}: {exc}"
            try:
                self._error(status, message)
            except OSError:
                pass

    do_HEAD = do_GET  # noqa: N815

    def _refuse(self) -> None:
        self._error(405, "exp ui is read-only")

    do_POST = do_PUT = do_DELETE = do_PATCH = _refuse  # noqa: N815

    # ------------------------------------------------------------------ routes

    def _route(self, parts: list[str], query: dict[str, str]) -> None:
        if parts in ([""], ["index.html"]):
            self._file(STATIC / "index.html", "text/html; charset=utf-8")
            return
        if parts[0] == "static" and len(parts) == 2 and "/" not in parts[1]:
            name = parts[1]
            path = STATIC / name
            if name.startswith(".") or not path.is_file():
                self._error(404, "not found")
                return
            kind = _STATIC_TYPES.get(path.suffix, "application/octet-stream")
            charset = "; charset=utf-8" if kind.startswith("text/") else ""
            self._file(path, kind + charset)
            return
        if parts[0] != "api" or len(parts) < 2:
            self._error(404, "not found")
            return
        from expkit.history import History
        from expkit.ui import api

        with History(self.root) as history:
            what = parts[1]
            if what == "token" and len(parts) == 2:
                from expkit.history.query import change_token

                self._json({"token": change_token(history)})
            elif what == "runs" and len(parts) == 2:
                self._send(200, api.runs_table_json(history), "application/json")
            elif what == "match" and len(parts) == 2:
                self._json(api.matching(history, query.get("filter", "")))
            elif what == "compare" and len(parts) == 2:
                refs = [r for r in query.get("runs", "").split(",") if r]
                self._json(api.compare_series(history, refs, query.get("metric", "")))
            elif what == "run" and len(parts) >= 3:
                self._run(history, parts[2], parts[3:], query)
            else:
                self._error(404, "not found")

    def _run(self, history, ref: str, rest: list[str], query: dict[str, str]) -> None:
        from expkit.ui import api

        offset = int(query.get("offset", "0") or 0)
        if not rest:
            self._json(api.run_detail(history, ref))
        elif rest == ["log"]:
            self._json(api.log_since(history, ref, offset))
        elif rest == ["metrics"]:
            counts = json.loads(query.get("counts", "{}") or "{}")
            self._json(api.metrics_since(history, ref, offset, counts))
        elif rest[0] == "output" and len(rest) > 1:
            relpath = "/".join(rest[1:])
            path = api.output_file(history, ref, relpath)
            # Always a download, never rendered here: an HTML output must not run as this page.
            name = Path(relpath).name.replace('"', "")
            ascii_name = name.encode("ascii", "replace").decode().replace("?", "_")
            from urllib.parse import quote

            disposition = f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(name)}"
            self._file(path, "application/octet-stream", {"Content-Disposition": disposition})
        elif rest[0] == "file" and len(rest) > 1:
            path = api.snapshot_file(history, ref, "/".join(rest[1:]))
            kind = mimetypes.guess_type(rest[-1])[0] or "text/plain"
            kind = "text/plain; charset=utf-8" if not kind.startswith("image/png") else kind
            self._file(path, kind, {"Content-Security-Policy": "default-src 'none'; sandbox"})
        else:
            self._error(404, "not found")


def make_server(root: Path, host: str = "127.0.0.1", port: int = 0) -> ThreadingHTTPServer:
    """A server for the project at ``root`` bound to ``host:port`` (0: any free port)."""
    server = ThreadingHTTPServer((host, port), Handler)
    server.daemon_threads = True
    bound = server.server_address[1]
    names = {host, "localhost", "127.0.0.1", "[::1]"} if is_loopback(host) else {host}
    allowed = frozenset(f"{n}:{bound}".lower() for n in names)
    server.RequestHandlerClass = type(
        "BoundHandler", (Handler,), {"root": Path(root), "allowed_hosts": allowed}
    )
    return server


def url_of(server: ThreadingHTTPServer) -> str:
    host, port = server.server_address[:2]
    if isinstance(host, bytes):
        host = host.decode()
    shown = "127.0.0.1" if host in ("0.0.0.0", "") else host
    return f"http://{shown}:{port}/"


def serve(root: Path, host: str, port: int, *, open_browser: bool, echo=print) -> None:
    """Serve until interrupted (Ctrl-C)."""
    server = make_server(root, host, port)
    url = url_of(server)
    echo(f"exp ui: serving the runs of {root} at {url}  (Ctrl-C stops)")
    if open_browser:
        import webbrowser

        threading.Thread(target=webbrowser.open, args=(url,), daemon=True).start()
    try:
        server.serve_forever(poll_interval=0.2)
    except KeyboardInterrupt:
        echo("exp ui: stopped")
    finally:
        server.server_close()
    sys.stdout.flush()
