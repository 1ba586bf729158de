"""Contract checks that run scripts (or, for placeholders, refuse to)."""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import pytest

from expkit.errors import TargetNotAvailableError
from expkit.model import (
    Collected,
    ComputeTarget,
    EnvironmentInfo,
    EnvironmentSpec,
    Execution,
    PreparedEnvironment,
    PrepareRequest,
    RunContext,
)
from expkit.plugins import Registry
from expkit.testing.runs import make_run_context, tree_digest, wait_for
from expkit.testing.support import (
    CONTRACT_ARGS,
    CONTRACT_SCRIPT,
    CONTRACT_VALUE,
    SLEEP_SCRIPT,
    RecordingProgress,
    read_metrics,
)


@dataclass(frozen=True)
class ContractRuns:
    """The plugin under test, driven as the runner drives it (the ``contract_runs`` fixture).

    new run -> prepare -> submit -> collect; each step asserts the type of what
    its hook returned, so a wrong return value is reported with the hook's name.
    """

    registry: Registry
    compute: ComputeTarget
    spec: EnvironmentSpec | None
    tmp_path: Path
    prepare_timeout: float

    def new_run(self, script: str, **options: Any) -> RunContext:
        """A fresh project, snapshot and run folder for ``script`` (make_run_context options)."""
        return make_run_context(
            self.tmp_path, self.compute, script, environment_spec=self.spec, **options
        )

    def prepare(self, run: RunContext, progress: Any = None) -> PreparedEnvironment:
        request = PrepareRequest(
            project=run.project,
            compute=run.compute,
            runconfig=run.runconfig,
            environment=self.spec,
            spark=None,
            progress=progress,
        )
        started = time.monotonic()
        prepared = self.registry.hook.expkit_prepare(request=request)
        assert isinstance(prepared, PreparedEnvironment), f"expkit_prepare returned {prepared!r}"
        assert prepared.python, "PreparedEnvironment.python must name the interpreter to start"
        assert time.monotonic() - started < self.prepare_timeout
        return prepared

    def submit(self, run: RunContext, prepared: PreparedEnvironment) -> Execution:
        execution = self.registry.hook.expkit_submit(run=run, environment=prepared)
        assert isinstance(execution, Execution), f"expkit_submit returned {execution!r}"
        return execution

    def start(self, script: str, **options: Any) -> tuple[RunContext, Execution]:
        """``new_run``, ``prepare`` and ``submit`` in one: a run that is under way."""
        run = self.new_run(script, **options)
        return run, self.submit(run, self.prepare(run))

    def collect(self, run: RunContext, execution: Execution) -> Collected:
        collected = self.registry.hook.expkit_collect(run=run, execution=execution)
        assert isinstance(collected, Collected), f"expkit_collect returned {collected!r}"
        return collected


class RunChecks:
    """prepare -> submit -> wait -> collect on trivial scripts (mixed into TargetContract)."""

    runs_scripts: ClassVar[bool]
    run_timeout: ClassVar[float]
    prepare_timeout: ClassVar[float]
    cancel_timeout: ClassVar[float]

    @pytest.fixture
    def contract_runs(
        self,
        contract_registry: Registry,
        contract_compute: ComputeTarget,
        environment_spec: EnvironmentSpec | None,
        tmp_path: Path,
    ) -> ContractRuns:
        return ContractRuns(
            contract_registry, contract_compute, environment_spec, tmp_path, self.prepare_timeout
        )

    # ------------------------------------------------------------------ runs

    def test_run_succeeds(self, contract_runs: ContractRuns) -> None:
        runs = contract_runs
        run = runs.new_run(
            CONTRACT_SCRIPT, args=CONTRACT_ARGS, env={"CONTRACT_VAR": CONTRACT_VALUE}
        )
        before = tree_digest(run.project)
        prepared = runs.prepare(run)
        again = runs.prepare(run, progress=RecordingProgress())
        assert again.env_id == prepared.env_id, (
            "preparing the same environment twice changed its id"
        )
        execution = runs.submit(run, prepared)
        code, lines = wait_for(execution, self.run_timeout)
        text = "".join(lines)
        assert code == 0, f"exit code {code}; output:\n{text}"
        for line in lines:
            assert line.endswith("\n") and line.count("\n") == 1, (
                f"on_output must get one line at a time, newline included: {line!r}"
            )
        assert "contract: to stderr\n" in lines, "stderr must reach on_output too"
        assert "contract: line one\n" in lines and "contract: line two\n" in lines
        assert lines.index("contract: line one\n") < lines.index("contract: line two\n")
        collected = runs.collect(run, execution)
        assert {"result.txt", "seen.json"} <= set(collected.outputs), collected.outputs
        assert (run.outputs_dir / "result.txt").read_text(encoding="utf-8") == "contract result\n"
        seen = json.loads((run.outputs_dir / "seen.json").read_text(encoding="utf-8"))
        assert seen["argv"] == list(CONTRACT_ARGS), "arguments must reach the script literally"
        assert seen["var"] == CONTRACT_VALUE, "EnvironmentVariables must reach the script"
        assert seen["run_id"] == run.run_id, "EXPKIT_RUN_ID must reach the script"
        metrics = read_metrics(run.metrics_file)
        assert metrics.get("contract_metric") == [0.5], f"metrics file: {metrics}"
        assert metrics.get("contract_series") == [[1, 2, 3]]
        assert tree_digest(run.project) == before, "a run must never write into the project folder"

    def test_failing_run_returns_its_code_and_keeps_outputs(
        self, contract_runs: ContractRuns
    ) -> None:
        run, execution = contract_runs.start(CONTRACT_SCRIPT, env={"CONTRACT_EXIT_CODE": "3"})
        code, lines = wait_for(execution, self.run_timeout)
        assert code == 3, f"the script exited 3, wait() returned {code}; output:\n{''.join(lines)}"
        collected = contract_runs.collect(run, execution)
        assert "result.txt" in collected.outputs, "outputs must be collected from failed runs too"
        assert (run.outputs_dir / "result.txt").is_file()
        assert read_metrics(run.metrics_file).get("contract_metric") == [0.5]

    def test_cancel_stops_the_run(self, contract_runs: ContractRuns) -> None:
        run, execution = contract_runs.start(SLEEP_SCRIPT)
        sleeping = threading.Event()
        outcome: dict[str, Any] = {}

        def on_output(line: str) -> None:
            if "contract: sleeping" in line:
                sleeping.set()

        def waiter() -> None:
            try:
                outcome["result"] = wait_for(execution, self.run_timeout, on_output)
            except BaseException as exc:  # noqa: BLE001 - reported below
                outcome["error"] = exc

        thread = threading.Thread(target=waiter, daemon=True)
        thread.start()
        if not sleeping.wait(self.run_timeout):
            execution.cancel()
            pytest.fail(f"the script's first line did not arrive within {self.run_timeout:g} s")
        started = time.monotonic()
        execution.cancel()
        execution.cancel()  # idempotent
        thread.join(self.cancel_timeout)
        elapsed = time.monotonic() - started
        assert not thread.is_alive(), (
            f"wait() still running {self.cancel_timeout:g} s after cancel()"
        )
        if "error" in outcome:
            raise outcome["error"]
        code, _ = outcome["result"]
        assert code != 0, "a canceled run must not report success"
        assert elapsed < self.cancel_timeout
        contract_runs.collect(run, execution)

    def test_lists_its_environments(
        self, contract_registry: Registry, contract_compute: ComputeTarget
    ) -> None:
        listed = contract_registry.hook.expkit_list_environments(compute=contract_compute)
        assert isinstance(listed, list), (
            "expkit_list_environments must return a list for its own type "
            "(empty when it keeps no cache)"
        )
        assert all(isinstance(info, EnvironmentInfo) for info in listed)
        removed = contract_registry.hook.expkit_remove_environment(
            compute=contract_compute, env_id="contract-no-such-env"
        )
        assert removed is False, "removing an environment that does not exist must return False"

    # ------------------------------------------------------------------ placeholders

    def test_placeholder_prepare_is_not_available(self, contract_runs: ContractRuns) -> None:
        run = contract_runs.new_run(CONTRACT_SCRIPT)
        with pytest.raises(TargetNotAvailableError, match="not available yet"):
            contract_runs.prepare(run)

    def test_placeholder_submit_is_not_available(self, contract_runs: ContractRuns) -> None:
        run = contract_runs.new_run(CONTRACT_SCRIPT)
        prepared = PreparedEnvironment(env_id=None, location="nowhere", python="python")
        with pytest.raises(TargetNotAvailableError, match="not available yet"):
            contract_runs.submit(run, prepared)


#: Checks for targets that run scripts, and for placeholders (runs_scripts = False).
#: TargetContract keeps only the set that applies, so nothing is skipped.
RUN_TESTS = (
    "test_run_succeeds",
    "test_failing_run_returns_its_code_and_keeps_outputs",
    "test_cancel_stops_the_run",
    "test_lists_its_environments",
)
PLACEHOLDER_TESTS = (
    "test_placeholder_prepare_is_not_available",
    "test_placeholder_submit_is_not_available",
)
