"""The bodies of ``exp run`` and ``exp prepare``, free of typer.

Both the Typer commands (expkit.cli.run) and the start-up fast path
(expkit.launcher) call these, so the two spellings cannot drift apart.
"""

from __future__ import annotations

import sys
from pathlib import Path

from expkit.errors import UsageError


def check_script_word(script: str) -> None:
    if script.startswith("-") and not Path(script).exists():
        raise UsageError(
            f"no such option: {script}\n"
            "  options of `exp run` go before SCRIPT; everything after SCRIPT is passed\n"
            "  to the script."
        )


def print_record(record) -> None:
    from expkit.history import to_dict
    from expkit.jsonio import print_json

    print_json(to_dict(record))


def summary(record) -> str:
    took = f" in {record.duration_s:.2f} s" if record.duration_s is not None else ""
    code = f", exit code {record.exit_code}" if record.exit_code is not None else ""
    text = f"run {record.number} {record.status}{took}{code}"
    if record.error:
        text += f": {record.error.splitlines()[0]}"
    return text + f"  (exp runs show {record.number})"


def run_script(
    runconfig: str, script: str, args: list[str], *, as_json: bool, force_prepare: bool
) -> int:
    """Resolve ``runconfig``, run ``script`` and return ``exp``'s exit code."""
    from expkit.config import Project
    from expkit.errors import ExpkitError
    from expkit.plugins import get_registry
    from expkit.progress import make_progress
    from expkit.runner import exit_code_of, run_experiment

    check_script_word(script)
    registry = get_registry()
    resolved = Project.find().resolve(runconfig, registry)
    try:
        record = run_experiment(
            resolved,
            script,
            args,
            registry=registry,
            terminal=sys.stderr if as_json else sys.stdout,
            progress=make_progress(sys.stderr),
            force_prepare=force_prepare,
        )
    except ExpkitError as exc:
        failed = getattr(exc, "run_record", None)
        if as_json and failed is not None:
            print_record(failed)
        raise
    if as_json:
        print_record(record)
    else:
        print(f"exp: {summary(record)}", file=sys.stderr, flush=True)
    return exit_code_of(record)


def prepare_only(runconfig: str, *, force: bool, as_json: bool) -> None:
    from expkit.config import Project
    from expkit.plugins import get_registry
    from expkit.progress import make_progress
    from expkit.runner import prepare_environment

    registry = get_registry()
    resolved = Project.find().resolve(runconfig, registry)
    for message in resolved.notes:
        print(f"exp: note: {message}", file=sys.stderr)
    prepared = prepare_environment(
        resolved, registry=registry, force=force, progress=make_progress(sys.stderr)
    )
    if as_json:
        from expkit.jsonio import print_json

        print_json(prepared)
        return
    state = "cached" if prepared.cached else "prepared"
    ident = prepared.env_id or "user-managed"
    print(f"environment {ident} {state}: {prepared.location}", flush=True)
