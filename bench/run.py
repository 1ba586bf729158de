"""Run benchmark cases and print their medians side by side.

    .venv/bin/python bench/run.py                 # every case, 15 rounds each
    .venv/bin/python bench/run.py --repeat 30 local-run
    .venv/bin/python bench/run.py --list

Cases come from ``bench/cases_*.py`` (each exposes ``CASES``, a list of
benchlib.Case); the interface is described in bench/README.md. Exit code 0
when every target is met, 1 when one is missed, 2 for bad arguments.
"""

from __future__ import annotations

import argparse
import fnmatch
import importlib.util
import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from benchlib import BENCH, Case, Command, Skip, Workspace  # noqa: E402


@dataclass
class Timing:
    case: str
    label: str
    samples: list[float]
    #: CPU seconds (user + system) of the command and its children, per run: far
    #: less sensitive than wall time to other work on a shared machine.
    cpu: list[float]

    @property
    def median(self) -> float:
        return statistics.median(self.samples)

    @property
    def best(self) -> float:
        return min(self.samples)

    @property
    def cpu_median(self) -> float:
        return statistics.median(self.cpu)


def discover() -> tuple[list[Case], list[str]]:
    """Every case of every ``cases_*.py``; modules that fail to import are reported."""
    cases: list[Case] = []
    problems: list[str] = []
    for path in sorted(BENCH.glob("cases_*.py")):
        spec = importlib.util.spec_from_file_location(f"bench_{path.stem}", path)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        try:
            spec.loader.exec_module(module)
        except Exception as exc:  # one broken module must not hide the others
            problems.append(f"{path.name}: cannot load: {type(exc).__name__}: {exc}")
            continue
        cases.extend(getattr(module, "CASES", []))
    return cases, problems


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def timed(command: Command, ws: Workspace) -> tuple[float, float]:
    """(wall seconds, CPU seconds) of one run of ``command``."""
    if command.before is not None:
        command.before(ws)
    argv = command.resolve(ws)
    cpu = _children_cpu()
    started_at = time.time()
    start = time.perf_counter()
    proc = subprocess.run(
        argv,
        cwd=ws.cwd,
        env=ws.env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    elapsed = time.perf_counter() - start
    cpu = _children_cpu() - cpu
    if proc.returncode not in command.ok_codes:
        tail = proc.stdout.decode("utf-8", "replace")[-2000:]
        raise RuntimeError(f"{command.label!r} exited with {proc.returncode}:\n{tail}")
    if command.measure is not None:
        elapsed = command.measure(ws, started_at)
    return elapsed, cpu


def run_case(case: Case, repeat: int, warmup: int) -> list[Timing]:
    with tempfile.TemporaryDirectory(prefix=f"expkit-bench-{case.name}-") as tmp:
        ws = case.setup(Path(tmp))
        try:
            for _ in range(warmup):
                for command in case.commands:
                    timed(command, ws)
            timings = [Timing(case.name, c.label, [], []) for c in case.commands]
            for _ in range(repeat):
                # Interleaved, so a slow minute on the machine hits every command alike.
                for command, timing in zip(case.commands, timings, strict=True):
                    wall, cpu = timed(command, ws)
                    timing.samples.append(wall)
                    timing.cpu.append(cpu)
            return timings
        finally:
            if case.teardown is not None:
                case.teardown(ws)


def table(rows: list[list[str]]) -> str:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = []
    for n, row in enumerate(rows):
        lines.append("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())
        if n == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


def report(results: list[tuple[Case, list[Timing]]]) -> tuple[str, bool]:
    rows = [["case", "command", "median", "min", "cpu", "vs baseline", "target", "result"]]
    all_ok = True
    for case, timings in results:
        base = timings[0].median if len(timings) > 1 else None
        for i, timing in enumerate(timings):
            diff = "(baseline)" if i == 0 and base is not None else ""
            if i > 0 and base is not None:
                diff = f"{timing.median - base:+.3f}s ({timing.median / base:.2f}x)"
            target = verdict = ""
            if case.target is not None and i == len(timings) - 1:
                target = case.target.describe()
                ok = case.target.met(base, timing.median)
                all_ok &= ok
                verdict = "PASS" if ok else "FAIL"
            rows.append(
                [
                    case.name if i == 0 else "",
                    timing.label,
                    f"{timing.median:.3f}s",
                    f"{timing.best:.3f}s",
                    f"{timing.cpu_median:.3f}s",
                    diff,
                    target,
                    verdict,
                ]
            )
    return table(rows), all_ok


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "cases", nargs="*", metavar="CASE", help="case names or globs (default: all)"
    )
    parser.add_argument("--repeat", type=int, default=15, help="timed rounds per case (default 15)")
    parser.add_argument("--warmup", type=int, default=1, help="untimed rounds first (default 1)")
    parser.add_argument("--list", action="store_true", help="list the cases and exit")
    parser.add_argument("--json", metavar="FILE", help="also write every sample as JSON")
    args = parser.parse_args(argv)
    if args.repeat < 1 or args.warmup < 0:
        parser.error("--repeat must be at least 1 and --warmup at least 0")

    cases, problems = discover()
    for problem in problems:
        print(f"bench: {problem}", file=sys.stderr)
    if args.list:
        for case in cases:
            target = f"  [target {case.target.describe()}]" if case.target else ""
            print(f"{case.name:24} {case.description}{target}")
        return 0
    if args.cases:
        chosen = [c for c in cases if any(fnmatch.fnmatch(c.name, p) for p in args.cases)]
        if not chosen:
            parser.error("no case matches " + " ".join(args.cases) + " (see --list)")
        cases = chosen

    results: list[tuple[Case, list[Timing]]] = []
    failed = False
    for case in cases:
        print(f"bench: {case.name}: {case.description} ({args.repeat} rounds)", file=sys.stderr)
        try:
            results.append((case, run_case(case, args.repeat, args.warmup)))
        except Skip as exc:
            print(f"bench: {case.name}: skipped: {exc}", file=sys.stderr)
        except RuntimeError as exc:
            failed = True
            print(f"bench: {case.name}: failed: {exc}", file=sys.stderr)
    if not results:
        print("bench: no case ran", file=sys.stderr)
        return 1
    text, ok = report(results)
    print(text)
    if args.json:
        Path(args.json).write_text(
            json.dumps(
                [
                    {
                        "case": t.case,
                        "command": t.label,
                        "median": t.median,
                        "min": t.best,
                        "cpu_median": t.cpu_median,
                        "samples": t.samples,
                        "cpu": t.cpu,
                    }
                    for _, ts in results
                    for t in ts
                ],
                indent=2,
            )
            + "\n"
        )
    return 0 if ok and not failed else 1


if __name__ == "__main__":
    sys.exit(main())
