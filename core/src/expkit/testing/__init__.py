"""The conformance kit: the contract every expkit target plugin runs from its own tests.

A target plugin, first-party or third-party, proves it plays by the hook
contract (expkit.hookspecs) by subclassing :class:`TargetContract` in its test
suite. pytest then collects a fixed set of real checks against the *installed*
plugin, found through its entry point::

    # tests/test_contract.py of a plugin
    from expkit.testing import TargetContract

    class TestLocalContract(TargetContract):
        target_type = "local"              # the .compute `type:` under test (name or alias)
        entry_point = "local"              # its name in the `expkit` entry-point group
        compute = {"type": "local"}        # .compute contents of a working target
        bad_options = [{"address": "x"}]   # attach options the type must reject
        runs_scripts = True                # False for placeholder plugins

Install the kit's test dependency with ``pip install "expkit[testing]"``.

What is checked
---------------
1. **Discovery**: the entry point exists in group ``expkit`` and loads; its
   ``expkit_target_types()`` declares ``target_type`` with a ``package`` equal
   to the distribution that ships the entry point; ``available`` is False
   exactly when ``runs_scripts`` is False; attach/prepare/submit/collect are
   implemented.
2. **Foreign types ignored**: every implementation of ``expkit_attach``,
   ``expkit_prepare``, ``expkit_submit``, ``expkit_collect``,
   ``expkit_list_environments`` and ``expkit_remove_environment`` is called
   *directly* (not through firstresult) for the type ``no-such-type-xyz`` and
   must return None without touching the run folder.
3. **Attach**: a valid AttachRequest gives an AttachResult whose ``.compute``
   has the right ``type`` and whose ``.runconfig`` has ``Target`` equal to the
   target name, holds plain JSON-able data and never a password; each entry of
   ``bad_options`` (AttachRequest fields) raises ConfigError with a message.
4. **Runs** (``runs_scripts = True``), each in a fresh project/snapshot built by
   :func:`make_run_context`: prepare (twice: same ``env_id``; once with
   ``progress=None``, once with a recording Progress) -> submit -> wait ->
   collect. A script that prints to stdout and stderr, writes
   ``outputs/result.txt``, logs metrics with ``from expkit import log`` and
   exits 0 must: deliver its output to ``on_output`` one line per call
   (newline included, order kept), return 0, get its arguments literally
   (spaces, quotes, ``$(...)``, newlines, unicode) and its
   EnvironmentVariables and ``EXPKIT_RUN_ID``, have ``outputs/`` collected
   into ``run.outputs_dir`` and metrics in ``run.metrics_file``, and leave the
   project folder untouched. The same script exiting 3 returns 3 and is still
   collected. A sleeping script is stopped by ``cancel()`` (called twice:
   idempotent) within ``cancel_timeout`` with a non-zero code, and collect
   still works. ``expkit_list_environments`` returns a list for the type and
   removing an unknown id returns False. A script named like an option
   (``HOSTILE_SCRIPT_NAMES``: ``-cprint("NAME-AS-CODE")``, ``--version; ...``)
   runs as a file: its own code runs and its name is never read as
   interpreter or spark-submit options.
5. **Placeholders** (``runs_scripts = False``): prepare and submit raise
   TargetNotAvailableError whose message contains "not available yet".

Customising
-----------
Class attributes: ``target_type``, ``entry_point``, ``compute``,
``attach_options`` (fields of a valid AttachRequest), ``bad_options``,
``runs_scripts``, ``run_timeout``, ``prepare_timeout``, ``cancel_timeout``.
Fixtures to override when values need files or services (define them as
methods with ``@pytest.fixture`` in the subclass):

- ``compute_data(self, tmp_path)`` -> ``.compute`` mapping or a ComputeTarget;
- ``attach_request(self, tmp_path)`` -> AttachRequest (e.g. with a key file);
- ``environment_spec(self)`` -> EnvironmentSpec or None for the contract runs;
- ``contract_plugin(self, contract_entry_point)`` -> the plugin object.

Extra checks in the subclass can drive the plugin as the run checks do, with
the ``contract_runs`` fixture (``expkit.testing.run_checks.ContractRuns``:
``new_run(script, **make_run_context options)``, ``prepare``, ``submit``,
``start`` = all three, ``collect``).

To skip the run checks when an engine is absent, add an autouse fixture to the
subclass that skips (or fails, on CI) before the tests run. The runs use a
registry holding only the plugin under test, and ``EXPKIT_CACHE_DIR`` points at
a per-session temporary folder unless already set.

Helpers for a plugin's own tests (they need no engine and no package beyond the core):

- :func:`make_run_context` -> RunContext: project, snapshot and run folder
  laid out as ``exp run`` does; :func:`compute_from_mapping`: ``.compute``
  contents -> ComputeTarget;
- :func:`wait_for`: ``Execution.wait`` with a timeout; :func:`read_metrics`;
- ``build_wheel(folder, name, version, module_source, *, console_scripts=None)
  -> Path``: a tiny pure-Python wheel (same input, same bytes), to prepare an
  environment from a local file with no package index;
- ``process_alive(pid) -> bool`` and ``wait_gone(*pids, timeout=10.0) ->
  bool`` (True once none of them runs): e.g. to check that ``cancel()``
  stopped the processes a script started.

This package imports pytest and must only be imported from tests; it never
imports docker or paramiko.
"""

from __future__ import annotations

import pytest

# Detailed assertion messages for the checks, as for a plugin's own test modules.
pytest.register_assert_rewrite(
    "expkit.testing.plugin_checks", "expkit.testing.run_checks", "expkit.testing.runs"
)

from expkit.testing.contract import TargetContract
from expkit.testing.processes import process_alive, wait_gone
from expkit.testing.runs import (
    WaitTimeout,
    compute_from_mapping,
    make_run_context,
    new_run_id,
    tree_digest,
    wait_for,
)
from expkit.testing.support import (
    CONTRACT_ARGS,
    CONTRACT_SCRIPT,
    FOREIGN_TYPE,
    HOSTILE_SCRIPT_NAMES,
    SLEEP_SCRIPT,
    RecordingProgress,
    find_entry_point,
    read_metrics,
)
from expkit.testing.wheels import build_wheel

__all__ = [
    "CONTRACT_ARGS",
    "CONTRACT_SCRIPT",
    "FOREIGN_TYPE",
    "HOSTILE_SCRIPT_NAMES",
    "SLEEP_SCRIPT",
    "RecordingProgress",
    "TargetContract",
    "WaitTimeout",
    "build_wheel",
    "compute_from_mapping",
    "find_entry_point",
    "make_run_context",
    "new_run_id",
    "process_alive",
    "read_metrics",
    "tree_digest",
    "wait_for",
    "wait_gone",
]
