"""Azure ML Workbench's ``azureml.logging``, for scripts written for Workbench.

Workbench samples open with::

    from azureml.logging import get_azureml_logger
    run_logger = get_azureml_logger()
    run_logger.log("Accuracy", accuracy)

Inside a run this module is ``azureml.logging`` (expkit.runenv.runtime_dir
puts it on the script's path), and ``run_logger.log(name, value)`` records an
expkit metric, exactly as ``from expkit import log; log(name, value)`` does.
It is a compatibility feature: an environment that installs a real
``azureml`` package gets that package instead (see ``_real_module``).

Standard library only, like expkit.tracking, which it finds beside it.
"""

from __future__ import annotations

import importlib.util
import os
import sys

__all__ = ["get_azureml_logger"]


class _RunLogger:
    """What ``get_azureml_logger()`` returned in Workbench: a metrics logger."""

    def log(self, name, value, description=""):
        """Record metric ``name`` with a scalar or list ``value`` (an expkit metric)."""
        from expkit import log

        log(name, value, description)


def get_azureml_logger():
    """The run's logger: ``get_azureml_logger().log("accuracy", 0.93)``."""
    return _RunLogger()


def _real_module():
    """A real ``azureml.logging`` later on the namespace path, or None.

    This module's folder is a namespace portion of ``azureml``; a real
    ``azureml`` package with an ``__init__.py`` hides it outright, but a real
    namespace portion found after it would be hidden by it. Load that one.
    """
    here = os.path.dirname(os.path.abspath(__file__))
    package = sys.modules.get("azureml")
    for folder in list(getattr(package, "__path__", ())):
        if os.path.abspath(folder) == here:
            continue
        for candidate in ("logging.py", os.path.join("logging", "__init__.py")):
            path = os.path.join(folder, candidate)
            if os.path.isfile(path):
                spec = importlib.util.spec_from_file_location(__name__, path)
                if spec is None or spec.loader is None:
                    continue
                module = importlib.util.module_from_spec(spec)
                sys.modules[__name__] = module
                spec.loader.exec_module(module)
                return module
    return None


if __name__ == "azureml.logging":
    # The import returns whatever sys.modules holds under this name once it ends.
    _real_module()
