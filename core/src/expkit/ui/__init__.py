"""``exp ui``: a local, read-only web page over a project's run history.

The standard library's HTTP server serves a static page (``static/``: the
app's own JavaScript and CSS, and uPlot vendored as a pinned, built file with
its licence) and a small JSON API over expkit.history. Nothing is fetched
from the network; nothing is written. Not imported by ``exp run`` (the
tracked-run overhead is measured): only ``exp ui`` loads this package.
See docs/results.md for what it shows and why it is built this way.
"""

from __future__ import annotations

from expkit.ui.server import serve

__all__ = ["serve"]
