"""Metrics and parameters for scripts: ``from expkit import log; log("accuracy", 0.93)``.

This module must stay dependency-free (standard library only) and
self-contained: the core copies its source into every run as the module
``expkit`` (see expkit.runenv.runtime_dir), so a script can import it on any
target without installing anything. Values are appended as JSON lines to the
file named by ``EXPKIT_METRICS_FILE``; outside a run they go to stderr.

A metric line is ``{"name", "value", "step", "time"}``; a parameter line is
``{"param", "value", "time"}`` (no ``name`` key, so readers of metrics
written before parameters existed skip it).
"""

from __future__ import annotations

import json
import math
import os
import sys
import time

METRICS_ENV = "EXPKIT_METRICS_FILE"

#: Next automatic step per metric name, in this process.
_next_step = {}  # type: dict[str, int]


def _plain(value):
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    item = getattr(value, "item", None)  # numpy scalars, without importing numpy
    if callable(item):
        try:
            return _plain(item())
        except (TypeError, ValueError):
            pass
    tolist = getattr(value, "tolist", None)
    if callable(tolist):
        return _plain(tolist())
    raise TypeError(f"expkit.log: cannot log a value of type {type(value).__name__}")


def _write(entry):
    line = json.dumps(entry, ensure_ascii=False)
    path = os.environ.get(METRICS_ENV)
    if not path:
        print(f"[expkit metric] {line}", file=sys.stderr)
        return
    # One write of one line with O_APPEND: lines from threads or child
    # processes interleave whole, never torn.
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, (line + "\n").encode("utf-8"))
    finally:
        os.close(fd)


def log(name, value, step=None, description=""):
    """Record metric ``name`` (a string) with a scalar or list ``value``.

    Logging the same name again appends to its series; the run record keeps
    the last value and the full series. ``step`` (an int or float, e.g. the
    epoch) places the value on the x axis of the metric's chart; without it a
    repeated metric gets the next step automatically (0, 1, 2, ...), counted
    from the last step given. Every value is timestamped with the current time.
    """
    if not isinstance(name, str) or not name:
        raise TypeError("expkit.log: name must be a non-empty string")
    if isinstance(step, str) and not description:
        step, description = None, step  # Workbench order: log(name, value, description)
    if step is None:
        step = _next_step.get(name, 0)
    else:
        step = _plain(step)
        if isinstance(step, bool) or not isinstance(step, (int, float)):
            raise TypeError("expkit.log: step must be a number")
    _next_step[name] = (int(step) + 1) if float(step).is_integer() else step + 1
    entry = {"name": name, "value": _plain(value), "step": step, "time": time.time()}
    if description:
        entry["description"] = str(description)
    _write(entry)


def log_param(name, value):
    """Record parameter ``name`` of the run (a string, number, bool or None).

    Parameters are what a run was asked to do (``lr``, ``layers``); they are
    shown beside the parameters parsed from the script's arguments, and win
    over those when both name the same thing.
    """
    if not isinstance(name, str) or not name:
        raise TypeError("expkit.log_param: name must be a non-empty string")
    _write({"param": name, "value": _plain(value), "time": time.time()})


def log_params(params):
    """``log_param`` for each item of the mapping ``params``."""
    for name, value in dict(params).items():
        log_param(name, value)


def get_run_id():
    """The id of the current run, or None outside expkit."""
    return os.environ.get("EXPKIT_RUN_ID")


def outputs_dir():
    """Where to write files that should be kept with the run (``outputs/``)."""
    return os.environ.get("EXPKIT_OUTPUTS_DIR", "outputs")
