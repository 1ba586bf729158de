"""Where expkit keeps things outside the project."""

from __future__ import annotations

import os
from pathlib import Path


def cache_dir() -> Path:
    """The user cache dir (``EXPKIT_CACHE_DIR`` overrides, e.g. in tests)."""
    override = os.environ.get("EXPKIT_CACHE_DIR")
    if override:
        return Path(override)
    from platformdirs import user_cache_path

    return user_cache_path("expkit", appauthor=False)


HISTORY_DIRNAME = ".exp"
AML_CONFIG = "aml_config"
