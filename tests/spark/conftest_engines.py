"""Missing engines: a skip on a developer machine, a failure in CI (EXPKIT_REQUIRE_ENGINES)."""

from __future__ import annotations

import os

import pytest

REQUIRE_ENGINES = os.environ.get("EXPKIT_REQUIRE_ENGINES") == "1" or os.environ.get("CI") == "true"


def require(ok: bool, message: str) -> None:
    if ok:
        return
    if REQUIRE_ENGINES:
        pytest.fail(message)
    pytest.skip(message)
