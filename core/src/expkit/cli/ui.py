"""``exp ui``: the run history in the browser (expkit.ui, imported only by this command)."""

from __future__ import annotations

import typer

DEFAULT_PORT = 8765


def ui_command(
    port: int = typer.Option(
        DEFAULT_PORT,
        "--port",
        metavar="N",
        min=0,
        max=65535,
        help="Port to listen on (0: any free port). A busy default port falls back to a free one.",
    ),
    host: str = typer.Option(
        "127.0.0.1",
        "--host",
        metavar="ADDRESS",
        help="Address to listen on. Anything but loopback lets others read your runs.",
    ),
    no_browser: bool = typer.Option(False, "--no-browser", help="Do not open a browser."),
) -> None:
    """Open a local, read-only web page over this project's runs: table, charts, compare."""
    import errno

    from expkit.config import find_project_root
    from expkit.errors import UsageError
    from expkit.ui.server import is_loopback, serve

    root = find_project_root()
    if not is_loopback(host):
        typer.echo(
            f"exp ui: warning: listening on {host}: anyone who can reach this address can read "
            "this project's code, logs, metrics and outputs (there is no login).",
            err=True,
        )
    try:
        serve(root, host, port, open_browser=not no_browser, echo=typer.echo)
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE and port == DEFAULT_PORT:
            typer.echo(f"exp ui: port {port} is busy; using a free one", err=True)
            serve(root, host, 0, open_browser=not no_browser, echo=typer.echo)
        elif exc.errno in (errno.EADDRINUSE, errno.EADDRNOTAVAIL, errno.EACCES):
            raise UsageError(f"cannot listen on {host}:{port}: {exc.strerror}") from None
        else:
            raise


def register(app: typer.Typer) -> None:
    app.command("ui")(ui_command)
