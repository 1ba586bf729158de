"""Helpers of the `exp ui` browser tests (a uniquely named module)."""

from __future__ import annotations

import json
import time

#: A name that would run script if the page ever inserted it as HTML.
XSS = "<img src=x onerror=alert(1)>"


def records(project) -> list[dict]:
    result = project.exp("runs", "list", "--json")
    assert result.returncode == 0, result.output
    return json.loads(result.stdout)


def wait_for(predicate, timeout: float = 20.0, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")
