"""expkit-remotedocker: Docker on a remote Linux machine over SSH (placeholder).

This version validates ``exp target attach --type remotedocker`` options and
writes the target's files, so Workbench projects keep working unchanged; it
cannot run scripts yet and says so clearly instead of pretending.
"""

from __future__ import annotations

__version__ = "0.1.0"
