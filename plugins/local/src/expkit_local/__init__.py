"""expkit-local: the ``local`` compute target (this machine, your Python or a cached venv)."""

from __future__ import annotations

__version__ = "0.1.0"
